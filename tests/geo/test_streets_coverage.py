"""Street network import (noded at intersections) and camera coverage in EPSG:3826 metres."""

from __future__ import annotations

import geopandas as gpd
import pytest
from geoalchemy2.shape import from_shape
from shapely.geometry import LineString, MultiPolygon, Point, box
from sqlalchemy import func, select

from geo import coverage
from geo.errors import ImportEmpty
from geo.models import STORAGE_SRID, Camera, StreetSegment
from geo.streets import candidate_sites, import_streets
from tests.factories import make_district, make_precinct

X0, Y0 = 300_000.0, 2_770_000.0


def _streets_file(tmp_path, lines, crs=3826):
    path = tmp_path / "roads.geojson"
    gdf = gpd.GeoDataFrame(
        {"NAME": [f"路{i}" for i in range(len(lines))]}, geometry=lines, crs=3826
    ).to_crs(crs)
    gdf.to_file(path, driver="GeoJSON")
    return path


def test_import_nodes_crossing_lines_and_keeps_names(db, tmp_path):
    # a plus sign: two 200 m lines crossing in the middle become four 100 m segments
    lines = [
        LineString([(X0 - 100, Y0), (X0 + 100, Y0)]),
        LineString([(X0, Y0 - 100), (X0, Y0 + 100)]),
    ]
    report = import_streets(db, _streets_file(tmp_path, lines, crs=4326), replace=True)
    assert report.lines_read == 2 and report.segments == 4
    lengths = sorted(db.scalars(select(StreetSegment.length_m)))
    assert lengths == pytest.approx([100, 100, 100, 100], abs=0.01)
    assert set(db.scalars(select(StreetSegment.name))) == {"路0", "路1"}
    sites = candidate_sites(db, spacing_m=50)
    assert (sites.kind == "intersection").sum() == 1
    junction = sites[sites.kind == "intersection"].geometry.iloc[0]
    assert junction.distance(Point(X0, Y0)) < 0.5


def test_import_refuses_files_without_lines(db, tmp_path):
    path = tmp_path / "points.geojson"
    gpd.GeoDataFrame(geometry=[Point(X0, Y0)], crs=3826).to_file(path, driver="GeoJSON")
    with pytest.raises(ImportEmpty):
        import_streets(db, path)


def test_osm_extract(db, tmp_path):
    osm = tmp_path / "tiny.osm"
    osm.write_text(
        """<?xml version='1.0' encoding='UTF-8'?>
<osm version="0.6">
  <node id="1" lat="25.0100" lon="121.4600"/><node id="2" lat="25.0100" lon="121.4620"/>
  <node id="3" lat="25.0090" lon="121.4610"/><node id="4" lat="25.0110" lon="121.4610"/>
  <node id="5" lat="25.0120" lon="121.4630"/><node id="6" lat="25.0125" lon="121.4640"/>
  <way id="10"><nd ref="1"/><nd ref="2"/><tag k="highway" v="residential"/><tag k="name" v="文化路"/></way>
  <way id="11"><nd ref="3"/><nd ref="4"/><tag k="highway" v="service"/></way>
  <way id="12"><nd ref="5"/><nd ref="6"/><tag k="waterway" v="stream"/></way>
</osm>""",
        encoding="utf-8",
    )
    report = import_streets(db, osm, replace=True)
    assert report.lines_read == 2 and report.segments == 4
    assert "文化路" in set(db.scalars(select(StreetSegment.name)))
    assert set(db.scalars(select(StreetSegment.road_class))) == {"residential", "service"}


def _camera(db, precinct, x, y, bearing, fov=90, rng=100, status="existing"):
    c = Camera(
        precinct_id=precinct.id,
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


def test_street_coverage_is_exact_and_not_double_counted(db, tmp_path):
    district = make_district(
        db, geom=MultiPolygon([box(X0 - 1000, Y0 - 1000, X0 + 1000, Y0 + 1000)])
    )
    import_streets(
        db, _streets_file(tmp_path, [LineString([(X0 - 500, Y0), (X0 + 500, Y0)])]), replace=True
    )
    precinct = make_precinct(db)
    # looks east along the street: sees exactly 100 m of it
    _camera(db, precinct, X0, Y0, bearing=90)
    rows = {r.area_id: r for r in coverage.by_area(db, "district", area_ids=[district.id])}
    assert rows[district.id].street_m == pytest.approx(1000, abs=0.01)
    assert rows[district.id].covered_m == pytest.approx(100, abs=0.01)
    # a second camera seeing the same stretch adds nothing; one looking west adds 100 m
    _camera(db, precinct, X0 + 50, Y0, bearing=270)
    _camera(db, precinct, X0 - 1, Y0, bearing=270, rng=80)
    rows = {r.area_id: r for r in coverage.by_area(db, "district", area_ids=[district.id])}
    assert rows[district.id].covered_m == pytest.approx(181, abs=0.05)
    # proposed cameras are plans, not coverage
    _camera(db, precinct, X0 + 300, Y0, bearing=90, status="proposed")
    total, covered = coverage.city_street_coverage(db)
    assert total == pytest.approx(1000, abs=0.01)
    assert covered == pytest.approx(181, abs=0.05)
    wkb = coverage.covered_streets_wkb(
        db,
        bytes(db.scalar(select(func.ST_AsBinary(func.ST_Buffer(func.ST_MakePoint(X0, Y0), 2000))))),
    )
    import shapely

    assert shapely.from_wkb(wkb).length == pytest.approx(181, abs=0.05)
