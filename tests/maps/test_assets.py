"""Offline assets and the basemap setting."""

from __future__ import annotations

from maps import assets
from maps.style import classify


def test_only_listed_npm_files_are_served():
    assert assets.vendor_path("leaflet/dist/leaflet.js").is_file()
    assert assets.vendor_path("leaflet.heat/dist/leaflet-heat.js").is_file()
    assert assets.vendor_path("leaflet/package.json") is None
    assert assets.vendor_path("../package.json") is None
    assert assets.app_path("safemap-maps.js").is_file()
    assert assets.app_path("../base.py") is None


def test_copy_assets_puts_every_file_beside_the_maps(tmp_path):
    copied = assets.copy_assets(tmp_path)
    assert (tmp_path / "static/vendor/leaflet/dist/leaflet.js").is_file()
    assert (tmp_path / "static/vendor/leaflet/dist/images/layers.png").is_file()
    assert (tmp_path / "static/maps/safemap-maps.css").is_file()
    assert len(copied) == len(assets.VENDOR_FILES) + len(assets.APP_FILES)


def test_basemap_default_none_and_custom(monkeypatch):
    b = assets.Basemap.from_settings()
    assert b.url == assets.NLSC_EMAP and "國土測繪中心" in b.attribution
    assert b.origin == "https://wmts.nlsc.gov.tw"
    assert assets.Basemap.parse("none").url is None
    monkeypatch.setenv("SAFEMAP_BASEMAP_URL", "none")
    assert assets.Basemap.from_settings().url is None
    monkeypatch.setenv("SAFEMAP_BASEMAP_URL", "https://tiles.example.org/{z}/{x}/{y}.png")
    assert assets.Basemap.from_settings().origin == "https://tiles.example.org"


def test_csp_allows_the_app_and_the_tile_host_only():
    csp = assets.content_security_policy(assets.Basemap.from_settings())
    assert "default-src 'self'" in csp and "img-src 'self' data: https://wmts.nlsc.gov.tw" in csp
    assert "wmts" not in assets.content_security_policy(assets.Basemap.none())


def test_classes_from_mapclassify():
    c = classify([0.1, 0.2, 0.25, 0.5, 0.7, 0.9, 0.95, float("nan")], kind="pct")
    assert c.scheme == "FisherJenks" and len(c.bins) == 5
    assert c.yb[-1] == -1 and (c.yb[:-1] >= 0).all()
    assert c.labels[0].endswith("%")
    few = classify([0, 0, 1, 2], kind="int")
    assert few.scheme == "UserDefined" and few.labels == ["0", "1", "2"]
