"""The precinct's CCTV planning, blind-spot and nomination pages and the leaders' monthly
trends in a real browser (Debian's Chromium under Playwright) against the real server on the
demo data, on a desktop and a 390 px phone; screenshots go to test-artifacts/.

The demo data has no street network, so the module first imports a small street grid around
one of 板橋分局's communities with ``safemap import streets`` (there is no street-import API).
"""

from __future__ import annotations

import json
import subprocess
import sys

import httpx
import pytest
from playwright.sync_api import expect
from sqlalchemy import create_engine, text

from tests.browser.conftest import VIEWPORTS, Person
from tests.conftest import fresh_database
from tests.live import serve, server_env, token

GRID_M = 100  # street spacing of the imported grid (metres)


@pytest.fixture(scope="module")
def live(db_settings, tmp_path_factory):
    """The demo server, with a street grid around a community of 板橋分局 (demo-precinct)."""
    url = fresh_database(db_settings, "police_pages")
    with serve(url, tmp_path_factory, demo=True) as base:
        engine = create_engine(url)
        with engine.connect() as conn:
            cid, name, x, y = conn.execute(
                text(
                    "SELECT c.id, c.name, ST_X(p), ST_Y(p) FROM communities c "
                    "JOIN precincts pr ON pr.id = c.precinct_id, "
                    "LATERAL (SELECT ST_PointOnSurface(c.geom) p) s "
                    "WHERE pr.name = '板橋分局' ORDER BY c.id LIMIT 1"
                )
            ).one()
            # A 900 m square grid in TWD97 around the community, written as lon/lat GeoJSON.
            lines = []
            for k in range(-4, 5):
                for a, b in (
                    ((x - 450, y + k * GRID_M), (x + 450, y + k * GRID_M)),
                    ((x + k * GRID_M, y - 450), (x + k * GRID_M, y + 450)),
                ):
                    lon_lat = conn.execute(
                        text(
                            "SELECT ST_AsGeoJSON(ST_Transform(ST_SetSRID("
                            "ST_MakeLine(ST_MakePoint(:ax, :ay), ST_MakePoint(:bx, :by)), 3826), 4326))"
                        ),
                        {"ax": a[0], "ay": a[1], "bx": b[0], "by": b[1]},
                    ).scalar_one()
                    lines.append(
                        {
                            "type": "Feature",
                            "properties": {"name": f"測試路{len(lines) + 1}"},
                            "geometry": json.loads(lon_lat),
                        }
                    )
        engine.dispose()
        path = tmp_path_factory.mktemp("streets") / "grid.geojson"
        path.write_text(
            json.dumps({"type": "FeatureCollection", "features": lines}), encoding="utf-8"
        )
        env = server_env(url, tmp_path_factory.mktemp("cli"))
        done = subprocess.run(
            [sys.executable, "-m", "cli.main", "import", "streets", str(path)],
            env=env,
            capture_output=True,
            text=True,
            timeout=300,
        )
        assert done.returncode == 0, done.stderr[-2000:]
        yield {"base": base, "community_id": cid, "community": name}


def _fits_the_phone(person: Person) -> None:
    width = person.page.evaluate("document.documentElement.scrollWidth")
    assert width <= VIEWPORTS["phone"]["width"] + 1


@pytest.mark.parametrize("viewport", ["desktop", "phone"])
def test_precinct_plans_cameras_and_accepts_a_suggestion(browser, live, viewport):
    base = live["base"]
    person = Person(browser, base, "demo-precinct", viewport)
    page = person.page
    person.go("/app/planning")
    page.wait_for_selector("#map.leaflet-container")
    # Bad input is named in zh-TW and what was typed stays.
    page.fill("#k", "0")
    page.fill("#radius", "5")
    page.click("#run")
    expect(
        page.locator(".field-error", has_text="監視器數量 K 請填 1 到 500 的整數")
    ).to_be_visible()
    expect(page.locator(".field-error", has_text="涵蓋半徑請填 10 到 500")).to_be_visible()
    assert page.input_value("#k") == "0"
    # The budget mode turns NT$ into a number of cameras.
    page.check("#mode-budget")
    page.fill("#budget", "180000")
    page.fill("#unit-cost", "60000")
    expect(page.locator("#budget-k")).to_have_text("預算可設置 3 支。")
    page.fill("#radius", "80")
    page.fill("#time-limit", "20")
    page.select_option("#area", f"community:{live['community_id']}")
    page.check("#sectors")
    page.click("#run")
    expect(page.locator("#pending")).to_be_visible()  # the pending state while it solves
    page.wait_for_selector("#result:not([hidden]) #sites tbody tr, #msg.error", timeout=120_000)
    assert page.locator("#msg.error").count() == 0, page.text_content("#msg")
    rows = page.locator("#sites tbody tr")
    assert 1 <= rows.count() <= 3
    assert page.locator(".site-icon").count() == rows.count()  # numbered sites on the map
    assert page.locator("#before").text_content().endswith("%")
    assert page.locator("#after").text_content().endswith("%")
    person.shot("planning-result")

    street = page.locator("#sites tbody tr:not([data-kind=proposal])")
    assert street.count() >= 1, "the imported street grid gives street sites"
    first = street.first
    rank = first.get_attribute("data-rank")
    first.locator(".pick").check()
    page.click("#accept")
    page.wait_for_selector(f"#sites tr[data-rank='{rank}'][data-state=accepted]")
    camera_id = page.locator(f"#sites tr[data-rank='{rank}']").get_attribute("data-camera-id")
    undecided = page.locator("#sites tbody tr:not([data-kind=proposal]):not([data-state])")
    if undecided.count() >= 1:  # turn the next one down (recorded as 不予設置)
        undecided.first.locator(".pick").check()
        page.click("#reject")
        page.wait_for_selector("#sites tr[data-state=rejected]")
    person.shot("planning-decided")
    if viewport == "phone":
        _fits_the_phone(person)
    person.close()

    h = {"Authorization": f"Bearer {token(base, 'demo-precinct')}"}
    cam = httpx.get(f"{base}/api/cameras/{camera_id}", headers=h).json()
    assert cam["properties"]["status"] == "proposed"
    assert cam["properties"]["name"] == f"最佳化建議 #{rank}"
    # The other precinct never sees it.
    h2 = {"Authorization": f"Bearer {token(base, 'demo-precinct2')}"}
    assert httpx.get(f"{base}/api/cameras/{camera_id}", headers=h2).status_code == 404


def test_blind_spot_list_with_its_map(browser, live):
    person = Person(browser, live["base"], "demo-precinct", "desktop")
    page = person.page
    person.go("/app/blindspots")
    if page.locator("#no-run").count():
        page.click("#run-analysis")
        page.wait_for_selector("#run-figures", timeout=180_000)
    assert int(page.text_content("#total")) > 0
    run_id = page.get_attribute("#run-figures", "data-run")
    spot_ids = set(
        page.locator("#spots tbody tr[data-id]").evaluate_all("rows => rows.map(r => r.dataset.id)")
    )
    page.wait_for_selector("#map path.leaflet-interactive")
    assert page.locator("#spots tbody tr[data-id]").count() > 0
    person.shot("blindspots")
    # Filter by a missing cover: every row listed lacks it.
    page.select_option("#reason", "no_camera")
    page.wait_for_url("**reason=no_camera**")
    reasons = page.locator("#spots tbody tr[data-id]").evaluate_all(
        "rows => rows.map(r => r.dataset.reasons)"
    )
    assert reasons and all("no_camera" in r.split() for r in reasons)
    person.close()

    phone = Person(browser, live["base"], "demo-precinct", "phone")
    phone.go("/app/blindspots")
    phone.page.wait_for_selector("#map path.leaflet-interactive")
    _fits_the_phone(phone)
    phone.shot("blindspots")
    phone.close()

    other = Person(browser, live["base"], "demo-precinct2", "desktop")
    other.go("/app/blindspots")
    # 海山分局 sees none of 板橋分局's run: not the run, not one of its spots.
    if other.page.locator("#run-figures").count():
        assert other.page.get_attribute("#run-figures", "data-run") != run_id
    theirs = other.page.locator("#spots tbody tr[data-id]").evaluate_all(
        "rows => rows.map(r => r.dataset.id)"
    )
    assert not spot_ids & set(theirs)
    other.close()


@pytest.mark.parametrize("viewport", ["phone"])
def test_precinct_nominates_a_community(browser, live, viewport):
    person = Person(browser, live["base"], "demo-precinct", viewport)
    page = person.page
    person.go("/app/nominations")
    options = page.locator("#application_id option:not([value=''])")
    assert options.count() >= 1, "板橋分局 has subsidised communities this year"
    # Missing fields are named in zh-TW, the reason typed stays.
    page.fill("#reason", "社區巡守隊運作穩定")
    page.click("#nominate-form button[type=submit]")
    expect(page.locator(".field-error", has_text="請選擇要推薦的社區")).to_be_visible()
    assert page.input_value("#reason") == "社區巡守隊運作穩定"
    chosen = options.first.get_attribute("value")
    page.select_option("#application_id", chosen)
    page.fill("#preliminary_score", "86")
    page.click("#nominate-form button[type=submit]")
    expect(page.locator(".notice", has_text="已送出推薦")).to_be_visible()
    assert page.locator("#nominated tbody tr[data-id]").count() == 1
    assert page.text_content("#left") == "0"
    person.shot("nominated")
    _fits_the_phone(person)
    # A second one is over the allotment: refused in zh-TW.
    left = page.locator("#application_id option:not([value=''])")
    if left.count():
        page.select_option("#application_id", left.first.get_attribute("value"))
        page.fill("#preliminary_score", "90")
        page.click("#nominate-form button[type=submit]")
        expect(page.locator(".error", has_text="每分局以 1 個為限")).to_be_visible()
        assert page.input_value("#preliminary_score") == "90"
    person.close()


@pytest.mark.parametrize("viewport", ["desktop", "phone"])
def test_leader_sees_trend_charts(browser, live, viewport):
    person = Person(browser, live["base"], "demo-leader", viewport)
    page = person.page
    person.go("/app/dashboard")
    assert page.locator("#trend-charts svg.chart").count() == 5
    assert "逐月趨勢：全市" in page.text_content("#trends")
    page.select_option("#trend-district", "板橋區")
    page.wait_for_url("**district=**")
    assert "逐月趨勢：板橋區" in page.text_content("#trends")
    assert page.locator("#trend-charts svg.chart polyline").count() >= 1
    page.locator("#trends").scroll_into_view_if_needed()
    person.shot("trends")
    if viewport == "phone":
        _fits_the_phone(person)
    person.close()
