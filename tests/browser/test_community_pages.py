"""The community organisation's pages in a real browser (Debian's Chromium under Playwright),
against the real server on a fresh database with the demo data, on a desktop and a 390 px
phone: a walk audit drawn as a line (a missing score is refused in zh-TW and nothing typed is
lost), a camera proposal whose view-sector preview follows the bearing, a patrol route, a
monthly report, and the GeoPackage export. Screenshots go to test-artifacts/ (git-ignored).
"""

from __future__ import annotations

import json
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import expect
from sqlalchemy import create_engine, text

from tests.browser.conftest import VIEWPORTS, Person, click_map, draw_point, draw_polygon
from tests.conftest import fresh_database
from tests.live import serve, token


@pytest.fixture(scope="module")
def live_db(db_settings):
    return fresh_database(db_settings, "community_pages")


@pytest.fixture(scope="module")
def live(live_db, tmp_path_factory):
    with serve(live_db, tmp_path_factory, demo=True) as b:
        yield b


def add_building_east_of(db_url: str, lat: float, lon: float, metres: float) -> None:
    """A 10 m square footprint ``metres`` east of the point, written to the server's database
    as an import would (the triggers keep the stored camera views)."""
    eng = create_engine(db_url)
    try:
        with eng.begin() as conn:
            conn.execute(
                text(
                    "INSERT INTO buildings (geom) SELECT ST_Multi(ST_Expand(ST_Translate("
                    "ST_Transform(ST_SetSRID(ST_MakePoint(:lon, :lat), 4326), 3826), :d, 0), 5))"
                ),
                {"lon": lon, "lat": lat, "d": metres},
            )
    finally:
        eng.dispose()


@pytest.fixture(scope="module")
def subsidised(live):
    """The demo community's application of this year, taken to 核定補助 so it reports monthly."""
    community = {"Authorization": f"Bearer {token(live, 'demo-community')}"}
    precinct = {"Authorization": f"Bearer {token(live, 'demo-precinct')}"}
    city = {"Authorization": f"Bearer {token(live, 'demo-city')}"}
    items = httpx.get(f"{live}/api/applications", headers=community).json()["items"]
    app = max(items, key=lambda a: a["year"])
    url = f"{live}/api/applications/{app['id']}/transitions"
    if app["status"] == "submitted":
        r = httpx.post(url, headers=precinct, json={"to": "forwarded"})
        assert r.status_code == 200, r.text
        app["status"] = "forwarded"
    if app["status"] == "forwarded":
        r = httpx.post(url, headers=city, json={"to": "approved"})
        if r.status_code == 409:  # the demo year's quota is full: make room for one more
            year = httpx.get(f"{live}/api/program-years/{app['year']}", headers=city).json()
            quota = year.get("quota", 33) + 1
            r = httpx.patch(
                f"{live}/api/program-years/{app['year']}", headers=city, json={"quota": quota}
            )
            assert r.status_code == 200, r.text
            r = httpx.post(url, headers=city, json={"to": "approved"})
        assert r.status_code == 200, r.text
        app["status"] = "approved"
    assert app["status"] in ("approved", "in_progress"), app
    return app


def draw_line(page, points, selector: str = "#map") -> None:
    page.click(".leaflet-pm-icon-polyline")
    for fx, fy in points:
        click_map(page, fx, fy, selector)
        page.wait_for_timeout(80)
    click_map(page, *points[-1], selector)  # clicking the last vertex again finishes the line


def no_sideways_scroll(person: Person, viewport: str) -> None:
    width = person.page.evaluate("document.documentElement.scrollWidth")
    assert width <= VIEWPORTS[viewport]["width"] + 1, f"{person.page.url} is {width}px wide"


@pytest.mark.parametrize("viewport", ["desktop", "phone"])
def test_community_pages(browser, live, live_db, subsidised, viewport):
    person = Person(browser, live, "demo-community", viewport)
    page = person.page

    # --- a walk audit, drawn as a line; a missing score is named and nothing typed is lost
    person.go("/app/audits")
    page.wait_for_selector("#map .leaflet-pm-icon-polyline")
    before = page.locator("#audit-list tbody tr").count()
    draw_line(page, [(0.3, 0.5), (0.5, 0.45), (0.7, 0.5)])
    expect(page.locator("#geom-state")).to_have_text("已畫出路段")
    place = f"{viewport} 捷運站出口暗巷"
    page.fill("#a-place", place)
    page.select_option("#a-period", "night")
    page.fill("#a-auditors", "志工 4 人")
    params = ["lighting", "openness", "visibility", "people", "security", "walk_path",
              "transport", "gender_usage"]  # fmt: skip
    for p in params:
        page.select_option(f"#s-{p}", "1")
    page.click("#a-save")
    expect(page.locator(".field-error", has_text="請為「安全感受」評分")).to_be_visible()
    assert page.input_value("#a-place") == place
    assert page.input_value("#a-auditors") == "志工 4 人"
    assert page.input_value("#a-period") == "night"
    assert all(page.input_value(f"#s-{p}") == "1" for p in params)
    person.shot("audit-error")
    page.select_option("#s-feeling", "2")
    page.click("#a-save")
    page.wait_for_url("**/app/audits?*saved=*")
    # 1 + 9 x 10/27 = 4.3: the score the database computed.
    expect(page.locator("#saved")).to_contain_text("4.3")
    assert page.locator("#audit-list tbody tr").count() == before + 1
    assert place in page.text_content("#audit-list")
    no_sideways_scroll(person, viewport)
    person.shot("audit-saved")

    # --- a camera proposal: the preview wedge follows the bearing
    person.go("/app/cameras")
    page.wait_for_selector("#map .leaflet-pm-icon-marker")
    draw_point(page)
    page.wait_for_selector("path.sector-preview")
    north = page.get_attribute("path.sector-preview", "d")
    page.fill("#c-bearing", "90")
    page.wait_for_function(
        "d => document.querySelector('path.sector-preview').getAttribute('d') !== d", arg=north
    )
    east = page.get_attribute("path.sector-preview", "d")
    assert east != north
    # the server's view replaces the browser's wedge: nothing in the way yet
    expect(page.locator("#c-view")).to_have_attribute("data-state", "open")
    expect(page.locator("#c-view")).to_contain_text("沒有建物遮蔽")
    # a building 25 m ahead: the preview loses what it hides, as the stored view will
    lat, lon = (float(v) for v in page.text_content("#c-where").split(","))
    add_building_east_of(live_db, lat, lon, 25.0)
    page.fill("#c-range", "50")
    expect(page.locator("#c-view")).to_have_attribute("data-state", "clipped")
    expect(page.locator("#c-view")).to_contain_text("建物遮住")
    page.fill("#c-range", "900")  # beyond 500 m: refused, the other values kept
    page.fill("#c-name", f"{viewport} 公園東側入口")
    page.click("#c-save")
    expect(page.locator(".field-error", has_text="拍攝距離須在 1 到 500 公尺之間")).to_be_visible()
    assert page.input_value("#c-name") == f"{viewport} 公園東側入口"
    assert page.input_value("#c-bearing") == "90"
    page.fill("#c-range", "60")
    person.shot("camera-preview")
    page.click("#c-save")
    page.wait_for_url("**/app/cameras?*saved=*")
    row = page.locator("#camera-list tr", has_text=f"{viewport} 公園東側入口")
    expect(row).to_contain_text("建議設置")
    expect(row).to_contain_text("90°")
    no_sideways_scroll(person, viewport)
    person.shot("camera-saved")

    # --- a patrol route
    person.go("/app/routes")
    page.wait_for_selector("#map .leaflet-pm-icon-polyline")
    draw_line(page, [(0.25, 0.3), (0.45, 0.6), (0.7, 0.55)])
    team = f"{viewport} 香雅守望相助隊"
    page.fill("#r-team", team)
    page.click("#r-save")  # no weekday ticked yet
    expect(page.locator(".field-error", has_text="請至少勾選一個巡守日")).to_be_visible()
    assert page.input_value("#r-team") == team
    page.check("#r-days input[value='2']")
    page.check("#r-days input[value='5']")
    page.click("#r-save")
    page.wait_for_url("**/app/routes?*saved=*")
    expect(page.locator("#route-list tr", has_text=team)).to_contain_text("每週二、五 20:00–23:00")
    no_sideways_scroll(person, viewport)
    person.shot("route-saved")

    # --- a monthly report
    person.go("/app/reports")
    form = page.locator(f"form.report-form[data-application='{subsidised['id']}']")
    expect(form).to_be_visible()
    form.locator(".rp-summary").fill(f"{viewport} 本月召開治安會議一次。")
    first = form.locator(".rp-item").first
    first.locator(".rp-progress").select_option("in_progress")
    first.locator(".rp-percent").fill("150")
    form.locator("button[type=submit]").click()
    expect(form.locator(".field-error", has_text="完成百分比須為 0 到 100 的整數")).to_be_visible()
    assert form.locator(".rp-summary").input_value() == f"{viewport} 本月召開治安會議一次。"
    person.shot("report-error")
    first.locator(".rp-percent").fill("40")
    month = form.locator(".rp-month").input_value()
    form.locator("button[type=submit]").click()
    page.wait_for_url("**/app/reports?*saved=*")
    expect(page.locator("#saved")).to_contain_text("已填報")
    assert page.get_attribute(f"li[data-month='{month}']", "data-state") in ("filed", "late")
    no_sideways_scroll(person, viewport)
    person.shot("report-filed")

    # --- the GeoPackage export
    person.go("/app/export")
    with page.expect_download() as download:
        page.click("#dl-gpkg")
    data = Path(download.value.path()).read_bytes()
    assert data.startswith(b"SQLite format 3\x00")
    assert download.value.suggested_filename.endswith(".gpkg")
    no_sideways_scroll(person, viewport)
    person.shot("export")
    person.close()


def test_another_precinct_does_not_see_the_community(browser, live, subsidised):
    name = subsidised["community"]
    other = Person(browser, live, "demo-precinct2", "desktop")
    for path in ("/app/audits", "/app/cameras", "/app/routes", "/app/export"):
        other.go(path)
        assert name not in other.page.content(), path
    other.go("/app/reports")
    assert "不屬於您的角色" in other.page.content()
    other.errors.clear()  # the 403 page is expected here
    other.close()


def test_blocks_claims_and_import_on_a_desktop(browser, live, subsidised):
    person = Person(browser, live, "demo-community", "desktop")
    page = person.page

    # --- a block drawn by hand, a new adopter (bad input refused first), an adoption
    person.go("/app/blocks")
    page.wait_for_selector("#map .leaflet-pm-icon-polygon")
    draw_polygon(page, [(0.42, 0.42), (0.52, 0.42), (0.52, 0.52), (0.42, 0.52)])
    expect(page.locator("#b-state")).to_have_text("已畫出")
    page.fill("#b-name", "手繪 Z1 區塊")
    page.click("#b-save")
    page.wait_for_url("**/app/blocks?*saved=*")
    block = page.locator("#block-list tr", has_text="手繪 Z1 區塊")
    expect(block).to_contain_text("尚無認養")
    block_id = block.get_attribute("data-id")
    page.fill("#ad-name", "示範便利商店陽明店")
    page.select_option("#ad-kind", "company")
    page.fill("#ad-guards", "-1")
    page.fill("#ad-hours", "22:00-06:00")
    page.click("#ad-save")
    expect(page.locator(".field-error", has_text="警衛人數須為 0 以上的整數")).to_be_visible()
    assert page.input_value("#ad-name") == "示範便利商店陽明店"
    assert page.input_value("#ad-hours") == "22:00-06:00"
    page.fill("#ad-guards", "2")
    page.click("#ad-save")
    page.wait_for_url("**/app/blocks?*saved=adopter*")
    expect(page.locator("#adopter-list tr", has_text="示範便利商店陽明店")).to_contain_text("2 人")
    page.select_option(f".adopt-pick[data-block='{block_id}']", label="示範便利商店陽明店")
    page.click(f"button.adopt[data-block='{block_id}']")
    page.wait_for_url("**/app/blocks?*saved=adoption*")
    expect(page.locator(f"#block-list tr[data-id='{block_id}']")).to_contain_text(
        "示範便利商店陽明店（2 人，22:00-06:00）"
    )
    person.shot("blocks")

    # --- an expense claim with a receipt, then sent to the precinct
    person.go("/app/claims")
    form = page.locator(f"form.claim-form[data-application='{subsidised['id']}']")
    form.locator(".cl-title").fill("第 1 期核銷")
    row = form.locator(".cl-row").first
    row.locator(".cl-desc").fill("治安會議餐盒")
    row.locator(".cl-amount").fill("0")
    row.locator(".cl-file").set_input_files(
        files=[
            {"name": "餐盒收據.pdf", "mimeType": "application/pdf", "buffer": b"%PDF-1.4\n%%EOF\n"}
        ]
    )
    form.locator("button[type=submit]").click()
    expect(form.locator(".field-error", has_text="金額須為大於 0 的整數")).to_be_visible()
    assert row.locator(".cl-desc").input_value() == "治安會議餐盒"
    row.locator(".cl-amount").fill("3000")
    form.locator("button[type=submit]").click()
    page.wait_for_url("**/app/claims?*saved=*")
    claim = page.locator("details.claim", has_text="第 1 期核銷")
    expect(claim).to_contain_text("草稿")
    expect(claim.locator("a", has_text="檢視")).to_have_count(1)  # the receipt
    claim.locator("button.submit-claim").click()
    page.wait_for_function(
        "document.getElementById('msg').className === 'error' || !document.querySelector('button.submit-claim')"
    )
    assert page.locator("#msg").is_hidden(), page.text_content("#msg")
    expect(page.locator("details.claim", has_text="第 1 期核銷")).to_contain_text("已送分局")
    expect(page.locator(f"#claimed-{subsidised['id']}")).to_have_text("3,000")
    person.shot("claims")

    # --- an import whose unknown category is listed per row, then mapped and stored
    person.go("/app/export")
    features = [
        {
            "type": "Feature",
            "geometry": {"type": "Point", "coordinates": [121.4627, 25.0117]},
            "properties": {"category": "路燈不亮", "name": "匯入一"},
        },
        {
            "type": "Feature",
            "geometry": {"type": "Point", "coordinates": [121.4631, 25.0121]},
            "properties": {"category": "社區奇怪東西", "name": "匯入二"},
        },
    ]
    geojson = json.dumps({"type": "FeatureCollection", "features": features}).encode()
    page.set_input_files(
        "#i-file",
        files=[{"name": "mymaps.geojson", "mimeType": "application/geo+json", "buffer": geojson}],
    )
    page.click("#i-send")
    expect(page.locator("#i-problems")).to_be_visible()
    expect(page.locator("#i-problems tbody tr")).to_have_count(1)
    expect(page.locator("#i-problems tbody")).to_contain_text("社區奇怪東西")
    person.shot("import-problems")
    page.locator(".i-row .i-source").first.fill("社區奇怪東西")
    page.locator(".i-row .i-target").first.select_option("other")
    page.click("#i-send")
    expect(page.locator("#i-msg")).to_have_text("已匯入 2 筆。")
    expect(page.locator("#i-problems")).to_be_hidden()
    person.close()
