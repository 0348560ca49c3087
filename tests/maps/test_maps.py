"""Maps built for a caller: layers by role, no sensitive coordinates on public maps, incidents
only as suppressed grid counts, local assets only, figures from SQL."""

from __future__ import annotations

import math
import re

import pytest
from shapely.geometry import LineString
from sqlalchemy import text, true

from geo import coverage
from geo import mapdata as md
from geo.errors import NotFound, PermissionDenied
from geo.models import StreetSegment
from maps import assets
from maps.base import js_json
from workflow import maps as service
from workflow.access import ANONYMOUS, Actor

from .conftest import X0, Y0, YEAR, _g, near

OPTIONS = service.MapOptions(basemap=assets.Basemap.from_settings(), year=YEAR)
CAMERA_LAYERS = ("監視器（既有／已裝設）", "監視器（建議設置／已核准）")


def _actor(scene, who: str) -> Actor:
    return Actor.from_user(scene.users[who])


def _district_page(db, scene, actor, **kw) -> str:
    return service.html(service.district_map_for(db, actor, "測試地圖區", OPTIONS, **kw))


def _layers(page: str) -> list[str]:
    """Overlay names of the page's layer control (folium writes them as JSON keys)."""
    block = re.search(r"overlays :\s*\{(.*?)\},\s*\};", page, re.S)
    assert block, "no layer control"
    return [
        json_str.encode().decode("unicode_escape")
        for json_str in re.findall(r'"((?:[^"\\]|\\.)*)" :', block.group(1))
    ]


def test_police_district_map_has_every_layer(db, scene):
    page = _district_page(db, scene, _actor(scene, "city"))
    names = " ".join(_layers(page))
    for expected in (
        "村里界",
        "行政區界",
        "參與社區",
        *CAMERA_LAYERS,
        "監視器涵蓋街道",
        "治安死角（1）",
        "已認養治安區塊（1）",
        "未認養治安區塊（1）",
        "巡守路線（1）",
        "案件熱區",
        "安全檢測問題點（待處理／已分派）（1）",
        "已改善問題點（1）",
    ):
        assert expected in names, expected
    # every camera's position is on the police map
    assert near(page, *scene.camera_p1, 1.5)
    assert near(page, *scene.camera_p2, 1.5)


def test_public_district_map_has_no_camera_incident_or_blind_spot_coordinates(db, scene):
    page = _district_page(db, scene, ANONYMOUS, public=True)
    names = " ".join(_layers(page))
    for closed in ("監視器", "案件", "治安死角", "治安區塊", "巡守"):
        assert closed not in names
    # nothing drawn anywhere near a camera (its sector reaches 40 m), an incident or a blind spot
    for x, y in (scene.camera_p1, scene.camera_p2):
        assert near(page, x, y, 60) == []
    for x, y in (*scene.cluster, scene.lone_incident):
        assert near(page, x, y, 10) == []
    for centre in ((X0 + 1300.0, Y0 + 1300.0), (X0 + 1700.0, Y0 + 300.0)):  # their grid cells
        assert near(page, *centre, 1.5) == []
    assert near(page, *scene.blind_spot, 60) == []
    # hazards are public, and shown
    assert near(page, *scene.hazard_open, 1.5)
    assert "公開版" in page


def test_signed_in_caller_asking_for_the_public_map_gets_the_public_one(db, scene):
    page = _district_page(db, scene, _actor(scene, "city"), public=True)
    assert near(page, *scene.camera_p1, 60) == []


def test_incidents_only_as_grid_counts_with_small_cells_left_out(db, scene):
    page = _district_page(db, scene, _actor(scene, "city"))
    for x, y in scene.cluster:
        assert near(page, x, y, 1.0) == []  # no incident where it happened
    cell_centre = (X0 + 1300.0, Y0 + 1300.0)
    assert near(page, *cell_centre, 1.5), "the cell of five incidents is on the heat layer"
    lone_cell_centre = (X0 + 1700.0, Y0 + 300.0)
    assert near(page, *lone_cell_centre, 1.5) == [], "a cell of one incident is left out"
    assert near(page, *scene.lone_incident, 10) == []


def test_precinct_sees_its_own_jurisdiction(db, scene):
    page = _district_page(db, scene, _actor(scene, "p1"))
    assert near(page, *scene.camera_p1, 1.5)
    assert near(page, *scene.camera_p2, 60) == []  # the other precinct's camera
    # incidents of precinct 2 do not reach precinct 1's heat layer
    assert near(page, X0 + 1300.0, Y0 + 1300.0, 1.5) == []


def test_leader_sees_cameras_and_incident_heat_but_not_blind_spots(db, scene):
    names = " ".join(_layers(_district_page(db, scene, _actor(scene, "leader"))))
    assert "監視器（既有／已裝設）" in names and "案件熱區" in names
    assert "治安死角" not in names


def test_district_office_sees_no_cameras_or_incidents(db, scene):
    page = _district_page(db, scene, _actor(scene, "district"))
    names = " ".join(_layers(page))
    assert "監視器" not in names and "案件" not in names and "治安死角" not in names
    assert near(page, *scene.camera_p1, 60) == []


def test_district_out_of_jurisdiction_is_not_found(db, scene):
    from tests.factories import make_precinct, make_user

    other = make_user(
        db, role=make_user.__globals__["Role"].precinct, precinct_id=make_precinct(db).id
    )
    with pytest.raises(NotFound):
        service.district_map_for(db, Actor.from_user(other), "測試地圖區", OPTIONS)
    with pytest.raises(NotFound):
        service.district_map_for(db, _actor(scene, "city"), "沒有這個區", OPTIONS)


def test_popups_escape_what_the_database_holds(db, scene):
    page = _district_page(db, scene, _actor(scene, "city"))
    assert "<script>alert(1)</script>" not in page
    assert "\\u003cscript\\u003ealert(1)" in page


def test_no_cdn_or_other_host_in_any_map(db, scene):
    pages = [
        _district_page(db, scene, _actor(scene, "city")),
        service.html(service.city_map_for(db, _actor(scene, "leader"), OPTIONS)),
        service.html(service.community_map_for(db, _actor(scene, "city"), scene.c1.id, OPTIONS)),
        service.html(service.cctv_map_for(db, _actor(scene, "p1"), scene.c1.id, OPTIONS)),
        service.html(service.community_map_for(db, ANONYMOUS, scene.c1.id, OPTIONS, public=True)),
    ]
    allowed = ("https://wmts.nlsc.gov.tw/", "https://maps.nlsc.gov.tw/")
    for page in pages:
        urls = re.findall(r"(?:https?:)?//[a-zA-Z0-9.-]+\.[a-z]{2,}[^\s\"'<>)]*", page)
        stray = [u for u in urls if not u.startswith(allowed)]
        assert stray == [], stray[:5]
        for cdn in ("cdn.jsdelivr", "unpkg", "cdnjs", "code.jquery", "bootstrapcdn"):
            assert cdn not in page
        assert 'src="/static/vendor/leaflet/dist/leaflet.js"' in page
        assert "jquery" not in page.lower()


def test_no_basemap_means_no_tile_request_at_all(db, scene):
    options = service.MapOptions(basemap=assets.Basemap.parse("none"), year=YEAR)
    page = service.html(service.district_map_for(db, _actor(scene, "city"), "測試地圖區", options))
    assert "tileLayer" not in page and "nlsc" not in page
    assert "村里界" in page and "行政區界" in page


def test_city_map_choropleths_legends_and_figures(db, scene):
    page = service.html(service.city_map_for(db, _actor(scene, "leader"), OPTIONS))
    names = _layers(page)
    for figure in ("受補助社區數", "治安死角數（最新分析）", "高風險區塊認養率", "核定補助金額"):
        assert f"各行政區：{figure}" in names
    assert "各村里：受補助社區數" in names
    assert "監視器位置（3）" in names
    assert "SafeMap.exclusive" in page and "SafeMap.legend" in page
    assert "全市社區治安涵蓋概況" in page and "測試地圖區" in page
    assert "尚未載入街道路網" in page  # no street network in this database: said, not invented


def test_city_map_is_for_city_wide_roles(db, scene):
    with pytest.raises(PermissionDenied):
        service.city_map_for(db, _actor(scene, "p1"), OPTIONS)
    with pytest.raises(PermissionDenied):
        service.city_map_for(db, ANONYMOUS, OPTIONS)
    # the fire bureau sees the figures but no camera positions
    page = service.html(service.city_map_for(db, _actor(scene, "fire"), OPTIONS))
    assert "監視器位置" not in page


def test_coverage_figures_from_sql(db, scene):
    f = md.coverage_figures(db, area=md.Area(district_id=scene.district.id), year=YEAR)
    row = f.table.iloc[0]
    assert row["communities"] == 1  # only c1 is approved
    assert row["subsidy"] == 120_000
    assert row["high_risk_blocks"] == 2 and row["high_risk_adopted"] == 1
    assert row["high_risk_adopted_share"] == 0.5
    assert row["blind_spots"] == 1
    assert row["cameras"] == 2 and row["cameras_planned"] == 1
    assert math.isnan(row["street_seen_share"]) and not f.streets_loaded
    # with a street through the camera's sector: 40 m of its 200 m are seen
    x, y = scene.camera_p1
    db.add(StreetSegment(name="測試路", geom=_g(LineString([(x - 100, y), (x + 100, y)]))))
    db.flush()
    f = md.coverage_figures(db, area=md.Area(district_id=scene.district.id), year=YEAR)
    row = f.table.iloc[0]
    assert f.streets_loaded
    assert row["street_km"] == pytest.approx(0.2)
    assert row["street_seen_km"] == pytest.approx(0.04, abs=0.001)
    page = _district_page(db, scene, _actor(scene, "city"))
    assert (
        "監視器涵蓋街道（0.0 公里）" in page
        or "監視器涵蓋街道（0.04" in page
        or "監視器涵蓋街道" in page
    )


def test_street_figures_leave_out_what_buildings_hide(db, scene):
    """With footprints loaded the maps' street figures and drawn pieces count what each
    camera's view sees (sector less what buildings hide), as ``geo.coverage`` does."""
    x, y = scene.camera_p1  # looks east, 40 m
    db.add(StreetSegment(name="測試路", geom=_g(LineString([(x - 100, y), (x + 100, y)]))))
    db.flush()
    area = md.Area(district_id=scene.district.id)
    # a kiosk on the street 20-25 m ahead: the camera sees the first 20 m only
    db.execute(
        text(
            "INSERT INTO buildings (geom) VALUES "
            "(ST_Multi(ST_MakeEnvelope(:x + 20, :y - 3, :x + 25, :y + 3, 3826)))"
        ),
        {"x": x, "y": y},
    )
    row = md.coverage_figures(db, area=area, year=YEAR).table.iloc[0]
    assert row["street_seen_km"] == pytest.approx(0.02, abs=0.0005)
    pieces = md.street_coverage(db, true(), md.DISTRICT, area)
    assert len(pieces) == 1 and pieces["seen_m"].sum() == pytest.approx(20, abs=0.1)
    seen = coverage.by_area(db, "district", area_ids=[scene.district.id])[0].covered_m
    assert seen == pytest.approx(20, abs=0.01)
    assert row["street_seen_km"] == pytest.approx(seen / 1000, abs=0.0005)


def test_village_figures_cover_every_village(db, scene):
    f = md.coverage_figures(
        db, level="village", area=md.Area(district_id=scene.district.id), year=YEAR
    )
    assert len(f.table) == 4
    assert int(f.table["communities"].sum()) == 1
    assert "subsidy" not in f.table


def test_community_map_numbered_and_printable(db, scene):
    page = service.html(
        service.community_map_for(db, _actor(scene, "community"), scene.c1.id, OPTIONS)
    )
    assert "地圖一社區 安全檢測地圖" in page
    assert "SafeMap.printButton" in page and "@page" not in page  # print CSS lives in the asset
    assert "問題點清單（編號與地圖相同）" in page
    names = " ".join(_layers(page))
    assert "監視器（既有／已裝設）" in names  # a community sees its own cameras
    assert "案件" not in names  # but never incidents


def test_community_map_out_of_scope_and_public_rules(db, scene):
    with pytest.raises(NotFound):
        service.community_map_for(db, _actor(scene, "community"), scene.c2.id, OPTIONS)
    # the public map exists for communities on the roster only
    page = service.html(service.community_map_for(db, ANONYMOUS, scene.c1.id, OPTIONS, public=True))
    assert near(page, *scene.camera_p1, 60) == []
    with pytest.raises(NotFound):
        service.community_map_for(db, ANONYMOUS, scene.c2.id, OPTIONS, public=True)


def test_cctv_plan_map_suggests_sites_with_marginal_gain(db, scene):
    page = service.html(service.cctv_map_for(db, _actor(scene, "p1"), scene.c1.id, OPTIONS))
    assert "最佳化建議設置點" in page and "邊際效益" in page
    assert "建議設置" in page
    with pytest.raises(PermissionDenied):
        service.cctv_map_for(db, _actor(scene, "district"), scene.c1.id, OPTIONS)


def test_briefing_pack(db, scene, tmp_path):
    import geopandas as gpd
    import pyogrio

    pack = service.monthly(db, _actor(scene, "city"), "99000010", "2031-03", OPTIONS)
    assert "2031 年 03 月月報" in pack.html
    written = service.write_layers(pack, tmp_path / "layers.gpkg")
    assert {"村里界", "監視器", "監視器可視範圍", "治安死角", "治安區塊"} <= set(written)
    listed = {name for name, _ in pyogrio.list_layers(tmp_path / "layers.gpkg")}
    assert listed == set(written)
    cams = gpd.read_file(tmp_path / "layers.gpkg", layer="監視器")
    assert len(cams) == 3 and cams.crs.to_epsg() == 4326
    paths = service.write_figures(pack, tmp_path)
    assert (tmp_path / "figures.csv").read_text("utf-8-sig").startswith("指標,數值,顯示")
    assert any(p.name == "figures.html" for p in paths)
    assert "本月改善問題點" in set(pack.figures["指標"])


def test_grid_spec_refuses_address_level_cells():
    with pytest.raises(ValueError):
        md.GridSpec(cell_m=50)
    with pytest.raises(ValueError):
        md.GridSpec(min_count=1)


def test_js_json_cannot_close_the_script():
    assert "</script>" not in js_json({"a": "</script><b>"})
