"""Journeys of each role through the web application in a real browser (Debian's Chromium
driven by Playwright) against the real server on a fresh database with the demo data.

The community draws a hazard point and an application boundary polygon on the map, saves and
submits; the precinct sees both and forwards; the city approves and the quota counter moves.
Run on a desktop and a phone-sized window; screenshots go to test-artifacts/ (git-ignored).
"""

from __future__ import annotations

import datetime as dt
import os
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import expect

from tests.browser.test_maps_browser import (
    ARGS,
    ARTIFACTS,
    CHROMIUM,
    DEMO_PASSWORD,
    _free_port,
    _token,
)
from tests.conftest import fresh_database

VIEWPORTS = {"desktop": {"width": 1400, "height": 900}, "phone": {"width": 390, "height": 844}}
TILES = "**/wmts.nlsc.gov.tw/**"  # no tile server in tests: village outlines stand in


@pytest.fixture(scope="module")
def live(db_settings, tmp_path_factory):
    """``safemap serve`` on its own fresh database with the demo data, for this module."""
    url = fresh_database(db_settings, "web_journeys")
    env = {
        **os.environ,
        "DATABASE_URL": url,
        "SAFEMAP_SECRET_KEY": "k" * 40,
        "SAFEMAP_HOME": str(tmp_path_factory.mktemp("home")),
        "SAFEMAP_DEMO_PASSWORD": DEMO_PASSWORD,
    }
    loaded = subprocess.run(
        [sys.executable, "-m", "cli.main", "demo", "load"],
        env=env,
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert loaded.returncode == 0, loaded.stderr[-2000:]
    port = _free_port()
    log_path = tmp_path_factory.mktemp("log") / "server.log"
    with open(log_path, "w") as log:
        proc = subprocess.Popen(
            [sys.executable, "-m", "cli.main", "serve", "--port", str(port)],
            env=env,
            stdout=log,
            stderr=log,
        )
        base = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"{base}/health", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.2)
        else:
            proc.kill()
            pytest.fail(f"server did not start: {Path(log_path).read_text()}")
        yield base
        proc.terminate()
        proc.wait(timeout=10)


@pytest.fixture(scope="module")
def browser():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        yield b
        b.close()


@pytest.fixture(scope="module")
def open_year(live):
    """A program year open for applications today (the demo year's window has closed)."""
    token = _token(live, "demo-city")
    year = dt.date.today().year + 1
    h = {"Authorization": f"Bearer {token}"}
    today = dt.date.today().isoformat()
    r = httpx.post(
        f"{live}/api/program-years",
        headers=h,
        json={"year": year, "application_opens": today, "application_closes": f"{year}-12-31"},
    )
    assert r.status_code in (201, 409), r.text
    return year


class Person:
    """One signed-in browser context; collects page errors so a journey fails on them."""

    def __init__(self, browser, base: str, username: str, viewport: str):
        self.base = base
        self.name = f"{viewport}-{username}"
        self.context = browser.new_context(viewport=VIEWPORTS[viewport], locale="zh-TW")
        self.context.route(TILES, lambda r: r.abort())
        self.page = self.context.new_page()
        self.errors: list[str] = []
        self.page.on("pageerror", lambda e: self.errors.append(str(e)))
        self.page.goto(f"{base}/login")
        self.page.fill("#username", username)
        self.page.fill("#password", DEMO_PASSWORD)
        self.page.click("button[type=submit]")
        self.page.wait_for_url(f"{base}/app")

    def go(self, path: str) -> None:
        self.page.goto(self.base + path, wait_until="load")

    def shot(self, step: str) -> None:
        ARTIFACTS.mkdir(exist_ok=True)
        self.page.screenshot(
            path=str(ARTIFACTS / f"journey-{self.name}-{step}.png"), full_page=True
        )

    def close(self) -> None:
        assert not self.errors, self.errors
        self.context.close()


def _click_map(page, fx: float, fy: float) -> None:
    # On a phone the form below the map scrolls into view after a save; bring the map back.
    page.locator("#map").scroll_into_view_if_needed()
    box = page.locator("#map").bounding_box()
    page.mouse.click(box["x"] + box["width"] * fx, box["y"] + box["height"] * fy)


def _draw_point(page) -> None:
    page.click(".leaflet-pm-icon-marker")
    _click_map(page, 0.5, 0.5)


def _draw_polygon(page, corners) -> None:
    page.click(".leaflet-pm-icon-polygon")
    for fx, fy in corners:
        _click_map(page, fx, fy)
        page.wait_for_timeout(80)
    _click_map(page, *corners[0])  # closing on the first vertex finishes the polygon


@pytest.mark.parametrize("viewport", ["desktop", "phone"])
def test_community_draws_hazards_and_the_precinct_sees_them(browser, live, viewport):
    community = Person(browser, live, "demo-community", viewport)
    page = community.page
    community.go("/app/map")
    page.wait_for_selector("#hazard-list li")
    before = page.locator("#hazard-list li").count()
    community.shot("map")

    _draw_point(page)
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

    _draw_polygon(page, [(0.3, 0.3), (0.45, 0.3), (0.45, 0.45), (0.3, 0.45)])
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


def test_application_submit_forward_approve(browser, live, open_year):
    community = Person(browser, live, "demo-community", "desktop")
    page = community.page
    community.go("/app/applications")
    page.click("text=新增民國")
    page.wait_for_selector("#map .leaflet-pm-icon-polygon")
    _draw_polygon(page, [(0.35, 0.35), (0.65, 0.35), (0.65, 0.65), (0.35, 0.65)])
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
    community.shot("wizard")
    page.click("#submit")
    page.wait_for_url("**/app/applications/*?sent=1")
    assert page.text_content("#status") == "已送分局"
    app_id = int(page.url.split("/app/applications/")[1].split("?")[0])
    community.shot("submitted")
    community.close()

    precinct = Person(browser, live, "demo-precinct", "desktop")
    precinct.go("/app/review")
    row = precinct.page.locator(f"#waiting tr[data-id='{app_id}']")
    assert row.count() == 1
    row.locator("a").click()
    precinct.page.wait_for_selector("#map path.leaflet-interactive")  # the drawn boundary
    precinct.shot("review")
    precinct.page.click("button[value=forwarded]")
    precinct.page.wait_for_selector("#msg.notice")
    assert precinct.page.text_content("#status") == "分局初審通過並轉報"
    precinct.close()

    other = Person(browser, live, "demo-precinct2", "desktop")
    other.go(f"/app/applications/{app_id}")
    assert "找不到" in other.page.content() or other.page.locator("#status").count() == 0
    other.close()

    city = Person(browser, live, "demo-city", "desktop")
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
