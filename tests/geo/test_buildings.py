"""Building footprints: import, and camera views clipped by them (a camera does not see
through a building), checked against an independent line-of-sight test in shapely."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pytest
import shapely
from geoalchemy2.shape import from_shape
from shapely.geometry import LineString, MultiPolygon, Point, Polygon, box
from sqlalchemy import func, select, text

from geo import coverage
from geo.buildings import camera_views_wkb, has_buildings, import_buildings
from geo.errors import ImportEmpty
from geo.models import STORAGE_SRID, AuditLog, Camera
from geo.models_buildings import Building
from geo.streets import import_streets
from tests.factories import make_district, make_precinct

X0, Y0 = 300_000.0, 2_770_000.0


def _file(tmp_path, geoms, crs=3826, **columns):
    path = tmp_path / "buildings.geojson"
    gdf = gpd.GeoDataFrame(columns, geometry=geoms, crs=3826).to_crs(crs)
    gdf.to_file(path, driver="GeoJSON")
    return path


def _camera(db, x, y, bearing, fov=90.0, rng=60.0, status="existing"):
    c = Camera(
        precinct_id=make_precinct(db).id,
        status=status,
        owner="police",
        geom=from_shape(Point(x, y), srid=STORAGE_SRID),
        bearing_deg=bearing,
        fov_deg=fov,
        range_m=rng,
    )
    db.add(c)
    db.flush()
    return c


def _add(db, *polygons):
    for poly in polygons:
        geom = poly if isinstance(poly, MultiPolygon) else MultiPolygon([poly])
        db.add(Building(geom=from_shape(geom, srid=STORAGE_SRID), source="test"))
    db.flush()


def _sector(db, camera):
    return shapely.from_wkb(
        bytes(db.scalar(select(func.ST_AsBinary(Camera.sector)).where(Camera.id == camera.id)))
    )


def _view(db, camera):
    wkb = camera_views_wkb(db, [camera.id])[camera.id]
    return shapely.from_wkb(wkb) if wkb is not None else Polygon()


def _line_of_sight_agrees(view, sector, eye, buildings, n=3000, seed=1):
    """Random points of the sector: in the view exactly when the sight line from the camera
    misses every building's interior (points within 5 cm of an edge are not judged)."""
    rng = np.random.default_rng(seed)
    minx, miny, maxx, maxy = sector.bounds
    pts = shapely.points(rng.uniform(minx, maxx, n), rng.uniform(miny, maxy, n))
    pts = pts[shapely.contains(sector, pts)]
    edges = shapely.union_all([view.boundary, *[b.boundary for b in buildings]])
    pts = pts[shapely.distance(edges, pts) > 0.05]
    assert len(pts) > 500
    sights = shapely.linestrings(
        np.stack([np.tile([eye.x, eye.y], (len(pts), 1)), shapely.get_coordinates(pts)], axis=1)
    )
    blocked = np.zeros(len(pts), dtype=bool)
    for b in buildings:
        # the sight line crosses the interior of the building (touching a corner hides nothing)
        blocked |= shapely.relate_pattern(sights, b, "T********")
    seen = shapely.contains(view, pts)
    assert (seen == ~blocked).all(), int((seen != ~blocked).sum())
    return blocked.mean()


def test_no_buildings_means_the_view_is_the_sector(db):
    assert not has_buildings(db)
    cam = _camera(db, X0, Y0, bearing=90)
    assert _view(db, cam).equals(_sector(db, cam))


def test_views_match_line_of_sight_for_convex_concave_and_courtyard_buildings(db):
    eye = Point(X0, Y0)
    square = box(X0 + 20, Y0 - 5, X0 + 30, Y0 + 5)  # straight ahead, east
    ell = Polygon(  # an L to the north-east: concave, its notch faces the camera
        [(X0 + 15, Y0 + 20), (X0 + 35, Y0 + 20), (X0 + 35, Y0 + 40), (X0 + 28, Y0 + 40),
         (X0 + 28, Y0 + 27), (X0 + 15, Y0 + 27)]
    )  # fmt: skip
    courtyard = Polygon(  # south-east, with a courtyard: its inner walls cast shadows too
        [(X0 + 30, Y0 - 40), (X0 + 50, Y0 - 40), (X0 + 50, Y0 - 20), (X0 + 30, Y0 - 20)],
        [[(X0 + 35, Y0 - 35), (X0 + 45, Y0 - 35), (X0 + 45, Y0 - 25), (X0 + 35, Y0 - 25)]],
    )
    _add(db, square, ell, courtyard)
    assert has_buildings(db)
    cam = _camera(db, X0, Y0, bearing=90, fov=120, rng=60)
    view, sector = _view(db, cam), _sector(db, cam)
    share = _line_of_sight_agrees(view, sector, eye, [square, ell, courtyard])
    assert 0.1 < share < 0.6  # a real part of the sector is hidden, not all of it
    # directly behind the square, 40 m out: hidden; beside it: seen
    assert not view.contains(Point(X0 + 40, Y0))
    assert view.contains(Point(X0 + 40, Y0 + 12))
    # a wide view close to a long wall (it spans almost 180 degrees as seen from the camera)
    wall = box(X0 - 200, Y0 + 2, X0 + 200, Y0 + 3)
    db.execute(text("DELETE FROM buildings"))
    _add(db, wall)
    cam2 = _camera(db, X0, Y0, bearing=0, fov=360, rng=80)
    view2 = _view(db, cam2)
    _line_of_sight_agrees(view2, _sector(db, cam2), eye, [wall], seed=2)
    assert view2.area == pytest.approx(_sector(db, cam2).area / 2, rel=0.05)


def test_a_camera_on_a_wall_sees_out_but_not_into_its_building(db):
    home = box(X0 - 20, Y0, X0 + 20, Y0 + 15)  # the camera hangs 0.5 m below its south wall
    _add(db, home)
    out = _camera(db, X0, Y0 - 0.5, bearing=180, fov=90, rng=50)
    assert _view(db, out).area == pytest.approx(_sector(db, out).area, rel=1e-6)
    across = _camera(db, X0, Y0 - 0.5, bearing=90, fov=180, rng=50)
    view = _view(db, across)
    # the half of the sector over the building is gone, the street side stays
    assert view.intersection(home).area == pytest.approx(0, abs=1e-6)
    assert view.contains(Point(X0 + 10, Y0 - 10))


def test_coverage_counts_only_what_cameras_see_past_buildings(db, tmp_path):
    district = make_district(
        db, geom=MultiPolygon([box(X0 - 1000, Y0 - 1000, X0 + 1000, Y0 + 1000)])
    )
    import_streets(
        db, _streets(tmp_path, [LineString([(X0 - 500, Y0), (X0 + 500, Y0)])]), replace=True
    )
    # looks east along the street: sees 100 m of it
    _camera(db, X0, Y0 - 10, bearing=90, fov=360, rng=100)
    before = coverage.by_area(db, "district", area_ids=[district.id])[0].covered_m
    # a kiosk on the street 40-50 m east hides the rest of the street beyond it
    _add(db, box(X0 + 40, Y0 - 12, X0 + 50, Y0 + 2))
    after = coverage.by_area(db, "district", area_ids=[district.id])[0].covered_m
    seen = shapely.from_wkb(
        coverage.covered_streets_wkb(
            db,
            bytes(
                db.scalar(select(func.ST_AsBinary(func.ST_Buffer(func.ST_MakePoint(X0, Y0), 900))))
            ),
        )
    )
    # independent: the street points whose sight line misses the kiosk, within 100 m
    eye = Point(X0, Y0 - 10)
    kiosk = box(X0 + 40, Y0 - 12, X0 + 50, Y0 + 2)
    xs = np.arange(-500, 500, 0.05) + 0.025
    visible = [
        x
        for x in xs
        if eye.distance(Point(X0 + x, Y0)) <= 100
        and not LineString([eye, (X0 + x, Y0)]).crosses(kiosk)
        and not kiosk.contains(Point(X0 + x, Y0))
    ]
    assert before == pytest.approx(2 * np.sqrt(100**2 - 10**2), abs=0.05)
    assert after == pytest.approx(len(visible) * 0.05, abs=0.2)
    assert after < before - 50
    assert seen.length == pytest.approx(after, abs=0.05)
    _total, covered = coverage.city_street_coverage(db)
    assert covered == pytest.approx(after, abs=0.05)


def _streets(tmp_path, lines):
    path = tmp_path / "roads.geojson"
    gpd.GeoDataFrame({"NAME": ["路"] * len(lines)}, geometry=lines, crs=3826).to_file(
        path, driver="GeoJSON"
    )
    return path


def test_import_reads_polygons_repairs_them_and_reports(db, tmp_path):
    bowtie = Polygon([(X0, Y0), (X0 + 10, Y0 + 10), (X0 + 10, Y0), (X0, Y0 + 10)])
    path = _file(
        tmp_path,
        [
            box(X0, Y0, X0 + 20, Y0 + 10),
            bowtie,
            Point(X0, Y0),
            Polygon([(X0, Y0), (X0 + 1, Y0), (X0 + 2, Y0)]),
        ],
        crs=4326,
        NAME=["一號樓", None, "not a building", "flat"],
        HEIGHT=[12.5, "x", None, 3],
    )
    report = import_buildings(db, path)
    assert report.features_read == 4
    assert report.buildings == 2  # the point and the zero-area ring are left out
    rows = db.execute(
        select(
            Building.name,
            Building.height_m,
            func.ST_Area(Building.geom),
            func.ST_IsValid(Building.geom),
        ).order_by(Building.id)
    ).all()
    assert rows[0][0] == "一號樓" and rows[0][1] == pytest.approx(12.5)
    assert rows[0][2] == pytest.approx(200, rel=1e-3)  # through EPSG:4326 and back
    assert rows[1][1] is None and rows[1][2] == pytest.approx(50, rel=1e-3) and rows[1][3]
    assert all(r[3] for r in rows)
    assert report.area_m2 == pytest.approx(250, rel=1e-2)
    audit = db.scalars(select(AuditLog).where(AuditLog.action == "import_buildings")).one()
    assert audit.detail["buildings"] == 2
    again = import_buildings(db, path, replace=True)
    assert again.replaced == 2 and db.scalar(select(func.count(Building.id))) == 2


def test_import_takes_the_outline_of_3d_footprints(db, tmp_path):
    # PolygonZ: every vertex at its elevation; the footprint is the outline on the ground
    roof = Polygon(
        [(X0, Y0, 12.0), (X0 + 20, Y0, 12.5), (X0 + 20, Y0 + 10, 13.0), (X0, Y0 + 10, 12.0)]
    )
    report = import_buildings(db, _file(tmp_path, [roof], HEIGHT=[9.0]))
    assert report.buildings == 1 and report.area_m2 == pytest.approx(200)
    assert db.scalar(select(func.ST_NDims(Building.geom))) == 2


def test_import_refuses_a_file_without_polygons(db, tmp_path):
    path = _file(tmp_path, [Point(X0, Y0), LineString([(X0, Y0), (X0 + 1, Y0)])])
    with pytest.raises(ImportEmpty) as err:
        import_buildings(db, path)
    assert "建物" in err.value.message


def test_cli_imports_buildings(db_settings, monkeypatch, tmp_path):
    from typer.testing import CliRunner

    from cli.main import app
    from tests.conftest import fresh_database

    monkeypatch.setenv("DATABASE_URL", fresh_database(db_settings, "buildings_cli"))
    path = _file(tmp_path, [box(X0, Y0, X0 + 20, Y0 + 10), box(X0 + 30, Y0, X0 + 40, Y0 + 10)])
    runner = CliRunner()
    r = runner.invoke(app, ["import", "buildings", str(path)])
    assert r.exit_code == 0, r.output
    assert "匯入 2 棟" in r.output and "300 平方公尺" in r.output
    empty = _file(tmp_path, [Point(X0, Y0)])
    bad = runner.invoke(app, ["import", "buildings", str(empty)])
    assert bad.exit_code == 1 and "沒有建物面" in bad.output


def test_blind_spots_list_a_hazard_behind_a_building_as_unseen(db):
    from geo.blindspots import Scope, run_blind_spots
    from geo.models import BlindSpot, Hazard
    from tests.factories import make_community

    precinct = make_precinct(db)
    community = make_community(db, precinct=precinct)

    def hazard(x, y):
        h = Hazard(
            community_id=community.id,
            category="blind_spot",
            severity=4,
            time_of_day="night",
            status="open",
            geom=from_shape(Point(x, y), srid=STORAGE_SRID),
        )
        db.add(h)
        return h

    in_front, behind, beside = hazard(X0 + 15, Y0), hazard(X0 + 45, Y0), hazard(X0 + 45, Y0 + 20)
    db.add(
        Camera(
            precinct_id=precinct.id,
            status="existing",
            owner="police",
            geom=from_shape(Point(X0, Y0), srid=STORAGE_SRID),
            bearing_deg=90,
            fov_deg=90,
            range_m=80,
        )
    )
    db.flush()

    def unseen():
        run = run_blind_spots(db, Scope("city", None, None))
        rows = db.scalars(
            select(BlindSpot).where(BlindSpot.run_id == run.id, BlindSpot.source_kind == "hazard")
        )
        return {r.source_id for r in rows if "no_camera" in r.reasons}

    assert unseen() == set()
    _add(db, box(X0 + 25, Y0 - 5, X0 + 35, Y0 + 5))  # a house between camera and hazard
    assert unseen() == {behind.id}
    assert in_front.id not in unseen() and beside.id not in unseen()
