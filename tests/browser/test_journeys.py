"""Journeys of each role through the web application in a real browser (Debian's Chromium
driven by Playwright) against the real server on a fresh database with the demo data.

The community draws a hazard point and an application boundary polygon on the map, saves and
submits; the precinct sees both and forwards; the city approves and the quota counter moves.
Run on a desktop and a phone-sized window; screenshots go to test-artifacts/ (git-ignored).
"""

from __future__ import annotations

import datetime as dt

import httpx
import pytest
from playwright.sync_api import expect

from tests.browser.conftest import VIEWPORTS, Person, draw_point, draw_polygon
from tests.conftest import fresh_database
from tests.live import serve, token


@pytest.fixture(scope="module")
def live(db_settings, tmp_path_factory):
    """``safemap serve`` on its own fresh database with the demo data, for this module."""
    with serve(fresh_database(db_settings, "web_journeys"), tmp_path_factory, demo=True) as base:
        yield base


def open_year(live: str, year: int) -> int:
    """Open program year ``year`` for applications today (the demo year's window has closed)."""
    city = token(live, "demo-city")
    today = dt.date.today().isoformat()
    r = httpx.post(
        f"{live}/api/program-years",
        headers={"Authorization": f"Bearer {city}"},
        json={"year": year, "application_opens": today, "application_closes": f"{year}-12-31"},
    )
    assert r.status_code in (201, 409), r.text
    return year


# The smallest file the server takes as a PDF (it sniffs the signature, not the name).
PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"


@pytest.mark.parametrize("viewport", ["desktop", "phone"])
def test_community_draws_hazards_and_the_precinct_sees_them(browser, live, viewport):
    community = Person(browser, live, "demo-community", viewport)
    page = community.page
    community.go("/app/map")
    page.wait_for_selector("#hazard-list li")
    before = page.locator("#hazard-list li").count()
    community.shot("map")

    draw_point(page)
    page.wait_for_selector("#hazard-form:not([hidden])")
    # Saving without a category is refused in zh-TW and keeps what was typed.
    page.fill("#h-title", f"{viewport} 路燈不亮的轉角")
    page.click("#h-save")
    expect(page.locator(".field-error", has_text="請選擇問題類別")).to_be_visible()
    assert page.input_value("#h-title") == f"{viewport} 路燈不亮的轉角"
    page.select_option("#h-category", "poor_lighting")
    page.select_option("#h-severity", "4")
    page.click("#h-save")
    page.wait_for_selector("#msg.notice")
    assert "已儲存問題點" in page.text_content("#msg")

    draw_polygon(page, [(0.3, 0.3), (0.45, 0.3), (0.45, 0.45), (0.3, 0.45)])
    page.wait_for_selector("#hazard-form:not([hidden])")
    page.select_option("#h-category", "blind_spot")
    page.fill("#h-title", f"{viewport} 廢棄空屋一帶")
    page.click("#h-save")
    page.wait_for_function(f"document.querySelectorAll('#hazard-list li').length === {before + 2}")
    community.shot("hazards-drawn")

    # Mark the point fixed.
    page.locator("#hazard-list li", has_text=f"{viewport} 路燈不亮的轉角").locator("button").click()
    page.wait_for_selector("#h-fixed:not([hidden])")
    page.click("#h-fixed")
    page.wait_for_selector("#hazard-list li[data-status=fixed]")
    community.close()

    precinct = Person(browser, live, "demo-precinct", viewport)
    precinct.go("/app/map")
    precinct.page.wait_for_selector("#hazard-list li")
    value = precinct.page.eval_on_selector(
        "#community", "s => [...s.options].find(o => o.text.includes('陽明里')).value"
    )
    precinct.page.select_option("#community", value)
    precinct.page.wait_for_function(
        "[...document.querySelectorAll('#hazard-list li')].some(li => li.textContent.includes('路燈不亮的轉角'))"
    )
    text = precinct.page.text_content("#hazard-list")
    assert f"{viewport} 路燈不亮的轉角（已改善）" in text
    assert f"{viewport} 廢棄空屋一帶（待處理）" in text
    precinct.shot("map-seen")
    precinct.close()

    # The other precinct's map does not offer this community at all.
    other = Person(browser, live, "demo-precinct2", viewport)
    other.go("/app/map")
    assert "陽明里" not in other.page.text_content("#community")
    other.close()


@pytest.mark.parametrize("viewport", ["desktop", "phone"])
def test_application_submit_forward_approve(browser, live, viewport, tmp_path):
    # Each window size applies for a year of its own (one application per community a year).
    year = open_year(live, dt.date.today().year + (1 if viewport == "desktop" else 2))
    community = Person(browser, live, "demo-community", viewport)
    page = community.page
    community.go("/app/applications")
    page.click(f"text=新增民國 {year - 1911} 年度申請")
    page.wait_for_selector("#map .leaflet-pm-icon-polygon")
    draw_polygon(page, [(0.35, 0.35), (0.65, 0.35), (0.65, 0.65), (0.35, 0.65)])
    assert page.text_content("#boundary-state") == "已繪製"
    page.click("#next")
    page.check("#wi-meetings")
    page.check("#wi-safety_map")
    page.click("#next")
    page.fill("#budget tbody tr:first-child .b-name", "社區治安會議")
    page.fill("#budget tbody tr:first-child .b-price", "-5")
    page.click("#next")
    # A bad price is named in zh-TW; nothing typed is lost.
    expect(page.locator(".field-error", has_text="單價須為 0 以上的整數")).to_be_visible()
    assert page.input_value("#budget tbody tr:first-child .b-name") == "社區治安會議"
    page.fill("#budget tbody tr:first-child .b-price", "30000")
    page.click("#next")
    page.fill("#contact_name", "陽理事長")
    page.fill("#phone", "abc")
    page.click("#submit")
    expect(page.locator(".field-error", has_text="聯絡電話只能包含數字")).to_be_visible()
    page.fill("#phone", "02-2960-0000")
    # A file that is not a document is refused by name, in zh-TW; the draft keeps the rest.
    notes = tmp_path / "notes.txt"
    notes.write_text("not a document")
    plan = tmp_path / "計畫書.pdf"
    plan.write_bytes(PDF)
    page.set_input_files("#attachments", str(notes))
    page.click("#submit")
    expect(page.locator(".field-error", has_text="只接受 PDF")).to_be_visible()
    assert page.input_value("#contact_name") == "陽理事長"
    page.set_input_files("#attachments", str(plan))
    community.shot("wizard")
    page.click("#submit")
    page.wait_for_url("**/app/applications/*?sent=1")
    assert page.text_content("#status") == "已送分局"
    expect(page.locator("#files a", has_text="計畫書.pdf")).to_be_visible()
    app_id = int(page.url.split("/app/applications/")[1].split("?")[0])
    community.shot("submitted")
    community.close()

    precinct = Person(browser, live, "demo-precinct", viewport)
    precinct.go("/app/review")
    row = precinct.page.locator(f"#waiting tr[data-id='{app_id}']")
    assert row.count() == 1
    row.locator("a").click()
    precinct.page.wait_for_selector("#map path.leaflet-interactive")  # the drawn boundary
    # The reviewer opens what was attached.
    href = precinct.page.get_attribute("#files a", "href")
    got = precinct.context.request.get(live + href)
    assert got.ok and got.body() == PDF
    precinct.shot("review")
    precinct.page.click("button[value=forwarded]")
    precinct.page.wait_for_selector("#msg.notice")
    assert precinct.page.text_content("#status") == "分局初審通過並轉報"
    precinct.close()

    other = Person(browser, live, "demo-precinct2", viewport)
    other.go(f"/app/applications/{app_id}")
    assert "找不到" in other.page.content() or other.page.locator("#status").count() == 0
    other.close()

    city = Person(browser, live, "demo-city", viewport)
    city.go("/app/approvals")
    used = int(city.page.text_content("#used"))
    city.page.locator(f"#forwarded tr[data-id='{app_id}'] button[data-to=approved]").click()
    city.page.wait_for_function(f"document.getElementById('used').textContent === '{used + 1}'")
    city.shot("approved")
    city.close()


@pytest.mark.parametrize("username,path,expect", [
    ("demo-leader", "/app/dashboard", "全市涵蓋情形"),
    ("demo-precinct", "/app/analysis", "治安死角與監視器規劃"),
    ("demo-city", "/app/approvals", "複審核定"),
])  # fmt: skip
def test_role_pages_on_a_phone(browser, live, username, path, expect):
    person = Person(browser, live, username, "phone")
    person.go(path)
    assert expect in person.page.text_content("h1")
    # Nothing wider than the phone's screen but the scrollable tables and maps.
    width = person.page.evaluate("document.documentElement.scrollWidth")
    assert width <= VIEWPORTS["phone"]["width"] + 1
    person.shot(path.strip("/").replace("/", "-"))
    person.close()
