"""What every browser test shares: Debian's Chromium under Playwright, signed-in people,
drawing on a Leaflet map, and screenshots kept in test-artifacts/ (git-ignored)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.live import DEMO_PASSWORD

ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / "test-artifacts"
CHROMIUM = "/usr/bin/chromium"
ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
VIEWPORTS = {"desktop": {"width": 1400, "height": 900}, "phone": {"width": 390, "height": 844}}
TILES = "**/wmts.nlsc.gov.tw/**"  # no tile server in tests: village outlines stand in


@pytest.fixture(scope="module")
def browser():
    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} is missing: make test installs Debian's chromium")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        yield b
        b.close()


class Person:
    """One signed-in browser context (or an anonymous one with ``username=None``); collects
    page errors so a journey fails on them."""

    def __init__(self, browser, base: str, username: str | None, viewport: str = "desktop"):
        self.base = base
        self.name = f"{viewport}-{username or 'anonymous'}"
        self.context = browser.new_context(viewport=VIEWPORTS[viewport], locale="zh-TW")
        self.context.route(TILES, lambda r: r.abort())
        self.page = self.context.new_page()
        self.errors: list[str] = []
        self.page.on("pageerror", lambda e: self.errors.append(str(e)))
        if username is not None:
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


def click_map(page, fx: float, fy: float, selector: str = "#map") -> None:
    """Click the map at a fraction of its box (on a phone, bring the map back into view)."""
    page.locator(selector).scroll_into_view_if_needed()
    box = page.locator(selector).bounding_box()
    page.mouse.click(box["x"] + box["width"] * fx, box["y"] + box["height"] * fy)


# The spot of the map nearest its centre where a click reaches the map itself, not a feature
# already drawn there (a click on a hazard opens that hazard instead of placing a new point).
EMPTY_SPOT = """(sel) => {
  const m = document.querySelector(sel);
  const r = m.getBoundingClientRect();
  const spots = [];
  for (let fy = 0.2; fy <= 0.81; fy += 0.05)
    for (let fx = 0.2; fx <= 0.81; fx += 0.05) spots.push([fx, fy]);
  spots.sort((a, b) => Math.hypot(a[0] - 0.5, a[1] - 0.5) - Math.hypot(b[0] - 0.5, b[1] - 0.5));
  for (const [fx, fy] of spots) {
    const el = document.elementFromPoint(r.left + r.width * fx, r.top + r.height * fy);
    if (el && m.contains(el)
        && !el.closest(".leaflet-interactive, .leaflet-marker-icon, .leaflet-control, .leaflet-popup"))
      return [fx, fy];
  }
  return [0.5, 0.5];
}"""


def draw_point(page, selector: str = "#map") -> None:
    page.locator(selector).scroll_into_view_if_needed()
    # Pages fit the map to the community once its data is in: let that zoom settle first.
    page.wait_for_timeout(400)
    page.wait_for_function(
        "(sel) => !document.querySelector(sel).classList.contains('leaflet-zoom-anim')",
        arg=selector,
    )
    fx, fy = page.evaluate(EMPTY_SPOT, selector)
    page.click(".leaflet-pm-icon-marker")
    click_map(page, fx, fy, selector)


def draw_polygon(page, corners, selector: str = "#map") -> None:
    page.click(".leaflet-pm-icon-polygon")
    for fx, fy in corners:
        click_map(page, fx, fy, selector)
        page.wait_for_timeout(80)
    click_map(page, *corners[0], selector)  # closing on the first vertex finishes the polygon
