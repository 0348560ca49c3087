"""The map pages in a real browser (Debian's Chromium driven by Playwright) against the real
server on a fresh database with the demo data: no console errors, the expected layers and
legends, and outlines still drawn with the tile server cut off. Screenshots go to
test-artifacts/ (git-ignored)."""

from __future__ import annotations

import base64
from urllib.parse import urlsplit

import httpx
import pytest

from tests.browser.conftest import ARTIFACTS
from tests.conftest import fresh_database
from tests.live import serve
from tests.live import token as sign_in

TILE_HOST = "wmts.nlsc.gov.tw"
# A 1×1 light-grey PNG standing in for the tile server when it is "reachable".
TILE = base64.b64decode(
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP4+/fvfwAJhAPSSMJh8wAAAABJRU5ErkJggg=="
)


@pytest.fixture(scope="module")
def live(db_settings, tmp_path_factory):
    """``safemap serve`` in its own process on a fresh database holding the demo data."""
    with serve(fresh_database(db_settings, "maps_browser"), tmp_path_factory, demo=True) as base:
        yield base


def _community_id(base: str, token: str) -> int:
    r = httpx.get(f"{base}/api/communities", headers={"Authorization": f"Bearer {token}"})
    return r.json()["features"][0]["id"]


class Visit:
    """One page load: console messages, page errors and every requested URL."""

    def __init__(self, browser, base: str, path: str, *, token: str | None, tiles: str):
        self.base = base
        self.page = browser.new_page(viewport={"width": 1600, "height": 1000})
        self.console: list = []
        self.errors: list[str] = []
        self.requests: list[str] = []
        self.page.on("console", lambda m: self.console.append(m))
        self.page.on("pageerror", lambda e: self.errors.append(str(e)))
        self.page.on("request", lambda r: self.requests.append(r.url))
        if token:
            # The bearer token goes to the app only, never to the tile server.
            def with_token(route):
                headers = {**route.request.headers, "authorization": f"Bearer {token}"}
                route.continue_(headers=headers)

            self.page.route(f"{base}/**", with_token)
        if tiles == "served":
            self.page.route(
                f"**/{TILE_HOST}/**",
                lambda r: r.fulfill(status=200, content_type="image/png", body=TILE),
            )
        else:
            self.page.route(f"**/{TILE_HOST}/**", lambda r: r.abort())
        self.response = self.page.goto(base + path, wait_until="load")
        self.page.wait_for_timeout(600)

    def console_errors(self, *, ignore_tiles: bool) -> list[str]:
        out = []
        for m in self.console:
            if m.type != "error":
                continue
            where = (m.location or {}).get("url", "")
            if ignore_tiles and TILE_HOST in where:
                continue  # the cut-off tile server, as intended
            out.append(f"{m.text} @ {where}")
        return out + self.errors

    def hosts(self) -> set[str]:
        return {urlsplit(u).netloc for u in self.requests if u.startswith("http")}

    def overlays(self) -> list[str]:
        return self.page.eval_on_selector_all(
            ".leaflet-control-layers-overlays label > span > span",
            "els => els.map(e => e.textContent.trim())",
        )

    def legends(self) -> list[str]:
        return self.page.eval_on_selector_all(
            ".sm-legend .sm-legend-section", "els => els.map(e => e.dataset.layer)"
        )

    def paths(self) -> int:
        """Drawn SVG paths (boundaries are SVG; point-heavy layers go on a canvas)."""
        return self.page.eval_on_selector_all(
            ".leaflet-overlay-pane svg path",
            "els => els.filter(e => (e.getAttribute('d') || '').length > 20).length",
        )

    def shot(self, name: str) -> None:
        ARTIFACTS.mkdir(exist_ok=True)
        self.page.screenshot(path=str(ARTIFACTS / f"{name}.png"))

    def close(self) -> None:
        self.page.close()


def _maps(base: str):
    city = sign_in(base, "demo-city")
    leader = sign_in(base, "demo-leader")
    community = sign_in(base, "demo-community")
    precinct = sign_in(base, "demo-precinct")
    cid = _community_id(base, community)
    return [
        ("district", "/maps/district/板橋區", city, ["村里界", "行政區界", "參與社區", "監視器（既有／已裝設）", "監視器（建議設置／已核准）", "監視器涵蓋街道", "治安死角", "已認養治安區塊", "未認養治安區塊", "巡守路線", "案件熱區", "安全檢測問題點（待處理／已分派）", "已改善問題點"]),
        ("city", "/maps/city", leader, ["村里界", "各行政區：受補助社區數", "各行政區：核定補助金額", "各村里：高風險區塊認養率", "行政區界", "監視器位置"]),
        ("community", f"/maps/community/{cid}", community, ["村里界", "社區範圍", "監視器（既有／已裝設）", "安全檢測問題點（待處理／已分派）", "已改善問題點"]),
        ("cctv", f"/maps/community/{cid}/cctv", precinct, ["社區範圍", "監視器（既有／已裝設）", "最佳化建議設置點"]),
        ("public-district", "/maps/public/district/65000010", None, ["村里界", "行政區界", "參與社區", "安全檢測問題點（待處理／已分派）", "已改善問題點"]),
    ]  # fmt: skip


def _has(overlays: list[str], expected: str) -> bool:
    return any(o == expected or o.startswith(expected + "（") for o in overlays)


def test_maps_load_without_errors_with_layers_and_legends(live, browser):
    app_host = urlsplit(live).netloc
    for name, path, token, expected in _maps(live):
        v = Visit(browser, live, path, token=token, tiles="served")
        try:
            assert v.response.status == 200, (name, v.response.status)
            assert v.console_errors(ignore_tiles=False) == [], name
            assert v.hosts() <= {app_host, TILE_HOST}, (name, v.hosts())
            overlays = v.overlays()
            for layer in expected:
                assert _has(overlays, layer), (name, layer, overlays)
            legends = v.legends()
            assert legends, name
            visible = v.page.eval_on_selector_all(
                ".leaflet-control-layers-overlays input:checked + span",
                "els => els.map(e => e.textContent.trim())",
            )
            assert len(legends) >= min(3, len(visible)), (name, legends)
            if name.startswith("public"):
                assert not any("監視器" in o or "案件" in o or "死角" in o for o in overlays)
            v.shot(f"map-{name}")
        finally:
            v.close()


def test_outlines_render_with_the_tile_server_cut_off(live, browser):
    for name, path, token, _ in _maps(live):
        v = Visit(browser, live, path, token=token, tiles="cut")
        try:
            assert v.response.status == 200
            assert v.console_errors(ignore_tiles=True) == [], name
            # at least the village outlines and the district or community outline
            assert v.paths() >= 3, name
            note = v.page.locator(".sm-note")
            assert note.count() == 1 and "無法載入" in note.inner_text(), name
            v.shot(f"map-{name}-offline")
        finally:
            v.close()


def test_layer_toggle_and_popup(live, browser):
    token = sign_in(live, "demo-city")
    v = Visit(browser, live, "/maps/district/板橋區", token=token, tiles="cut")
    try:
        before = v.legends()
        v.page.locator(".leaflet-control-layers-overlays label", has_text="已改善問題點").click()
        v.page.wait_for_timeout(100)
        after = v.legends()
        assert "已改善問題點" in before and "已改善問題點" not in after
        # the legend folds away (so it does not cover a popup) and opens again
        v.page.locator(".sm-legend-head").click()
        assert not v.page.locator(".sm-legend-body").is_visible()
        # a hazard's popup: zh-TW fields and a link to the record
        opened = v.page.evaluate(
            """() => {
                for (const key of Object.keys(window)) {
                    const layer = window[key];
                    if (!key.startsWith('data_layer_') || !layer || !layer.getLayers) continue;
                    const hit = layer.getLayers().find(
                        (l) => l.feature && l.feature.properties.category && l.getPopup());
                    if (hit) { hit.openPopup(); return true; }
                }
                return false;
            }"""
        )
        assert opened
        popup = v.page.locator(".leaflet-popup-content .sm-popup")
        text = popup.inner_text()
        assert "類別" in text and "處理狀態" in text and "提報日期" in text
        assert popup.locator("a").get_attribute("href").startswith("/api/hazards/")
        v.page.wait_for_timeout(400)  # the popup fades in
        v.shot("map-district-popup")
    finally:
        v.close()
