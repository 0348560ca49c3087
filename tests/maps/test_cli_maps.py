"""`safemap maps build` and `safemap maps briefing` as an operator runs them."""

from __future__ import annotations

import contextlib

import pytest
from typer.testing import CliRunner

from cli.main import app

from .conftest import near

runner = CliRunner()


@pytest.fixture
def cli_session(db, monkeypatch):
    """The commands run in the test's rolled-back session."""
    monkeypatch.setattr("cli.maps._sessionmaker", lambda: lambda: contextlib.nullcontext(db))
    return db


def test_build_all_writes_district_maps_city_map_and_assets(cli_session, scene, tmp_path):
    result = runner.invoke(
        app, ["maps", "build", "--out", str(tmp_path), "--all", "--basemap", "none"]
    )
    assert result.exit_code == 0, result.output
    page = (tmp_path / "district-99000010-測試地圖區.html").read_text("utf-8")
    assert near(page, *scene.camera_p1, 1.5)
    assert 'src="static/vendor/leaflet/dist/leaflet.js"' in page
    assert (tmp_path / "static/vendor/leaflet/dist/leaflet.js").is_file()
    assert (tmp_path / "city.html").is_file()
    assert "測試地圖區" in (tmp_path / "index.html").read_text("utf-8")


def test_build_public_district_has_no_police_data(cli_session, scene, tmp_path):
    result = runner.invoke(
        app, ["maps", "build", "--out", str(tmp_path), "--district", "測試地圖區", "--public"]
    )
    assert result.exit_code == 0, result.output
    assert not (tmp_path / "city.html").exists()
    page = (tmp_path / "district-99000010-測試地圖區-public.html").read_text("utf-8")
    assert near(page, *scene.camera_p1, 60) == []
    assert near(page, *scene.blind_spot, 60) == []


def test_build_for_an_account_and_errors(cli_session, scene, tmp_path):
    result = runner.invoke(
        app, ["maps", "build", "--out", str(tmp_path), "--district", "99000010", "--user", "map-p1"]
    )
    assert result.exit_code == 0, result.output
    page = (tmp_path / "district-99000010-測試地圖區.html").read_text("utf-8")
    assert near(page, *scene.camera_p2, 60) == []  # another precinct's camera
    assert not (tmp_path / "city.html").exists()  # a precinct has no city map
    bad = runner.invoke(app, ["maps", "build", "--out", str(tmp_path), "--district", "沒有這區"])
    assert bad.exit_code == 1 and "找不到此行政區" in bad.output


def test_briefing_pack(cli_session, scene, tmp_path):
    result = runner.invoke(
        app,
        [
            "maps",
            "briefing",
            "--district",
            "測試地圖區",
            "--month",
            "2031-03",
            "--out",
            str(tmp_path),
        ],
    )
    assert result.exit_code == 0, result.output
    folder = tmp_path / "99000010-測試地圖區-2031-03"
    for name in ("map.html", "layers.gpkg", "figures.csv", "figures.html"):
        assert (folder / name).is_file(), name
    assert (folder / "static/maps/safemap-maps.js").is_file()
    bad = runner.invoke(
        app,
        [
            "maps",
            "briefing",
            "--district",
            "測試地圖區",
            "--month",
            "2031/3",
            "--out",
            str(tmp_path),
        ],
    )
    assert bad.exit_code == 1 and "YYYY-MM" in bad.output
