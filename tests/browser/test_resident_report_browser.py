"""A resident's safety concern in a real browser (Debian's Chromium driven by Playwright)
against the real server on a fresh database with the demo data (issue #7, item 6).

An anonymous resident on a phone places the spot on the map and sends the form (first with a
missing field: the zh-TW error is shown and what was typed is kept); the demo community then
opens /app/triage on a desktop, sees the report with the hazard drawn nearby suggested as a
duplicate, accepts it, and the new hazard is on its safety map. Another precinct never sees
it. Screenshots go to test-artifacts/ (git-ignored).
"""

from __future__ import annotations

import httpx
import pytest
from playwright.sync_api import expect

from tests.browser.conftest import VIEWPORTS, Person, click_map
from tests.conftest import fresh_database
from tests.live import serve, token


@pytest.fixture(scope="module")
def live(db_settings, tmp_path_factory):
    url = fresh_database(db_settings, "resident_report_browser")
    with serve(url, tmp_path_factory, demo=True) as base:
        yield base


def test_resident_reports_and_the_community_triages(browser, live):
    community_token = token(live, "demo-community")
    auth = {"Authorization": f"Bearer {community_token}"}
    community_id = httpx.get(f"{live}/api/communities", headers=auth).json()["features"][0]["id"]

    resident = Person(browser, live, None, "phone")
    page = resident.page
    resident.go(f"/public/report?community={community_id}")
    page.wait_for_selector("#map.leaflet-container")
    lat, lon = page.evaluate(
        "(() => { const c = window.smReportMap.getCenter(); return [c.lat, c.lng]; })()"
    )

    # The community drew a hazard about 10 m from the spot the resident is about to mark.
    r = httpx.post(
        f"{live}/api/hazards",
        headers=auth,
        json={
            "type": "Feature",
            "geometry": {"type": "Point", "coordinates": [lon + 0.0001, lat]},
            "properties": {
                "community_id": community_id,
                "category": "poor_lighting",
                "severity": 3,
                "title": "既有：巷口路燈故障",
            },
        },
    )
    assert r.status_code == 201, r.text
    existing = r.json()["id"]

    click_map(page, 0.5, 0.5)
    expect(page.locator("#point-state")).to_contain_text("已選擇地點")
    page.fill("#place", "國小後門旁的小巷")
    page.fill("#description", "巷口路燈壞了兩個星期，晚上學生經過很暗")
    page.fill("#contact_name", "王小明")
    page.fill("#contact_phone", "0912-345-678")
    page.select_option("#time_of_day", "night")
    page.click("#send")  # no category yet
    expect(page.locator(".field-error", has_text="請選擇問題類別")).to_be_visible()
    assert page.input_value("#description") == "巷口路燈壞了兩個星期，晚上學生經過很暗"
    assert page.input_value("#place") == "國小後門旁的小巷"
    assert page.input_value("#contact_name") == "王小明"
    assert page.input_value("#time_of_day") == "night"
    expect(page.locator("#point-state")).to_contain_text("已選擇地點")  # the spot is kept
    assert page.evaluate("document.documentElement.scrollWidth") <= VIEWPORTS["phone"]["width"] + 1
    resident.shot("report-missing-category")

    page.select_option("#category", "poor_lighting")
    page.click("#send")
    page.wait_for_url("**/public/report/thanks**")
    reference = page.text_content("#reference")
    assert reference and "-" in reference
    resident.shot("report-thanks")
    resident.close()

    community = Person(browser, live, "demo-community", "desktop")
    community.go("/app/triage")
    card = community.page.locator("#waiting li.report", has_text=reference)
    expect(card).to_be_visible()
    expect(card.locator(".contact")).to_contain_text("王小明")
    suggestion = card.locator(f"ul.duplicates li[data-dup='{existing}']")
    expect(suggestion).to_contain_text("既有：巷口路燈故障")
    expect(suggestion).to_contain_text("公尺")
    community.shot("triage")
    card.locator("button[data-action=accept]").click()
    expect(card).to_have_attribute("data-status", "accepted")
    expect(card.locator("[data-msg]")).to_contain_text("已列為問題點")
    expect(card.locator("button[data-action]")).to_have_count(0)
    community.shot("triage-accepted")

    community.go("/app/map")
    community.page.wait_for_function(
        "[...document.querySelectorAll('#hazard-list li')].some("
        f"li => li.textContent.includes('民眾回報 {reference}'))"
    )
    community.shot("map-with-accepted-report")
    community.close()

    # Another precinct's triage page does not list it.
    other = Person(browser, live, "demo-precinct2", "desktop")
    other.go("/app/triage")
    assert reference not in other.page.content()
    assert "王小明" not in other.page.content()
    other.close()
