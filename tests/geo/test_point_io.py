"""Point layers for the planner: the GeoJSON fast path reads what GDAL reads, and defers the rest."""

from __future__ import annotations

import json

import geopandas as gpd
import numpy as np
import pytest

from geo import point_io, vector_io
from geo.errors import ImportFileError, NotPointGeometry

X0, Y0 = 296_000.0, 2_770_000.0


def _via_gdal(path, label="需求點"):
    gdf, _ = vector_io.read(path)
    return point_io.from_geodataframe(gdf, label)


def _write(path, features, crs=None):
    doc = {"type": "FeatureCollection", "features": features}
    if crs:
        doc["crs"] = {"type": "name", "properties": {"name": crs}}
    path.write_text(json.dumps(doc), encoding="utf-8")
    return path


def _pt(x, y, props=None, **extra):
    return {
        "type": "Feature",
        "properties": props,
        "geometry": {"type": "Point", "coordinates": [x, y]},
        **extra,
    }


@pytest.fixture
def points():
    rng = np.random.default_rng(3)
    return rng.uniform(-3000, 3000, (40, 2)) + np.array([X0, Y0])


@pytest.mark.parametrize("crs", [None, "urn:ogc:def:crs:OGC:1.3:CRS84", "EPSG:4326"])
def test_lonlat_geojson_matches_gdal(tmp_path, points, crs):
    gdf = gpd.GeoDataFrame(
        {"weight": np.arange(40) % 5 + 1, "name": [f"點{i}" for i in range(40)]},
        geometry=gpd.points_from_xy(*points.T),
        crs=3826,
    ).to_crs(4326)
    path = tmp_path / "d.geojson"
    lonlat = np.column_stack([gdf.geometry.x, gdf.geometry.y])
    feats = [
        _pt(x, y, {"weight": int(w), "name": n})
        for (x, y), w, n in zip(lonlat, gdf["weight"], gdf["name"], strict=True)
    ]
    _write(path, feats, crs)
    fast = point_io.read_points(path, "需求點")
    slow = _via_gdal(path)
    np.testing.assert_allclose(fast.xy, slow.xy, atol=1e-6)
    np.testing.assert_allclose(fast.xy, points, atol=1e-3)  # back where they were drawn
    assert fast.column("WEIGHT").tolist() == slow.column("weight").tolist()
    assert fast.column("name").tolist() == [f"點{i}" for i in range(40)]


@pytest.mark.parametrize("crs", [None, "urn:ogc:def:crs:EPSG::3826", "EPSG:3826"])
def test_tm2_geojson_is_read_as_metres(tmp_path, points, crs):
    path = _write(
        tmp_path / "c.geojson", [_pt(x, y, {"id": i}) for i, (x, y) in enumerate(points)], crs
    )
    fast = point_io.read_points(path, "候選點")
    np.testing.assert_allclose(fast.xy, points)
    np.testing.assert_allclose(fast.xy, _via_gdal(path).xy)
    assert fast.column("id").dtype == np.int64


def test_other_declared_crs_is_reprojected(tmp_path, points):
    """TWD67 (EPSG:3828) metres land about 800 m away from the same numbers in TWD97."""
    path = _write(tmp_path / "c.geojson", [_pt(x, y) for x, y in points], "EPSG:3828")
    fast = point_io.read_points(path, "候選點")
    np.testing.assert_allclose(fast.xy, _via_gdal(path).xy, atol=1e-6)
    shift = np.hypot(*(fast.xy - points).T)
    assert (shift > 500).all() and (shift < 1200).all()


def test_top_level_ids_name_the_features(tmp_path, points):
    path = _write(
        tmp_path / "c.geojson",
        [_pt(x, y, {"cost": 1}, id=100 + i) for i, (x, y) in enumerate(points)],
    )
    layer = point_io.read_points(path, "候選點")
    assert layer.column("id").tolist() == list(range(100, 140))
    # an id among the properties wins over the feature's own
    path = _write(
        tmp_path / "c2.geojson",
        [_pt(x, y, {"ID": f"S{i}"}, id=i) for i, (x, y) in enumerate(points)],
    )
    assert point_io.read_points(path, "候選點").column("id").tolist() == [
        f"S{i}" for i in range(40)
    ]


def test_missing_and_mixed_values(tmp_path, points):
    feats = [_pt(x, y, {"weight": 2}) for x, y in points]
    feats[3]["properties"] = {}
    feats[5]["properties"] = {"weight": "3", "note": "路燈"}
    layer = point_io.read_points(_write(tmp_path / "d.geojson", feats), "需求點")
    w = layer.column("weight")
    assert w[3] is None and w[5] == "3" and w[0] == 2
    assert layer.column("note")[5] == "路燈" and layer.column("note")[0] is None


def test_unusual_files_go_through_gdal_with_its_errors(tmp_path, points):
    bad_json = tmp_path / "broken.geojson"
    bad_json.write_text('{"type": "FeatureCollection", "features": [', encoding="utf-8")
    with pytest.raises(ImportFileError):
        point_io.read_points(bad_json, "需求點")
    line = {
        "type": "Feature",
        "properties": {"weight": 1},
        "geometry": {"type": "LineString", "coordinates": [[121.4, 25.0], [121.5, 25.1]]},
    }
    mixed = _write(tmp_path / "mixed.geojson", [_pt(121.46, 25.01, {"weight": 1}), line])
    with pytest.raises(NotPointGeometry) as exc:
        point_io.read_points(mixed, "需求點")
    assert "LineString" in exc.value.message and "需求點" in exc.value.message
    null_geom = _write(
        tmp_path / "null.geojson",
        [_pt(121.46, 25.01), {"type": "Feature", "properties": {}, "geometry": None}],
    )
    with pytest.raises(NotPointGeometry):
        point_io.read_points(null_geom, "需求點")


def test_other_formats_are_read_by_gdal(tmp_path, points):
    gdf = gpd.GeoDataFrame(
        {"cost": np.arange(40)}, geometry=gpd.points_from_xy(*points.T), crs=3826
    )
    gdf.to_file(tmp_path / "c.gpkg", driver="GPKG")
    layer = point_io.read_points(tmp_path / "c.gpkg", "候選點")
    np.testing.assert_allclose(layer.xy, points)
    assert layer.column("COST").tolist() == list(range(40))


def test_lonlat_to_tm2_pipeline_is_projs_own():
    """geo.crs builds the lon/lat → TM2 transformer from a stored pipeline (no PROJ database
    search): it must be the operation PROJ itself picks, both ways."""
    from pyproj import Transformer
    from pyproj.enums import TransformDirection

    from geo.crs import LONLAT_TO_TM2, STORAGE_SRID, WEB_SRID, transformer

    projs = Transformer.from_crs(WEB_SRID, STORAGE_SRID, always_xy=True)
    assert projs.definition == LONLAT_TO_TM2
    ours = transformer(WEB_SRID, STORAGE_SRID)
    rng = np.random.default_rng(3)
    lon, lat = rng.uniform(119.3, 122.1, 500), rng.uniform(21.8, 26.4, 500)
    x, y = ours.transform(lon, lat)
    px, py = projs.transform(lon, lat)
    assert np.abs(np.array([x - px, y - py])).max() < 1e-6
    back = ours.transform(x, y, direction=TransformDirection.INVERSE)
    assert np.abs(np.array([back[0] - lon, back[1] - lat])).max() < 1e-9
    # TM2 zone 121: the central meridian 121°E is easting 250,000 m
    cx, _ = ours.transform(121.0, 25.0)
    assert cx == pytest.approx(250_000.0, abs=1e-6)
