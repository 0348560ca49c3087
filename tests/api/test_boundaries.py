"""Public boundary endpoints: GeoJSON built by PostGIS, official codes and names."""

from shapely.geometry import shape

from tests.factories import make_district, make_village


def test_districts_are_a_public_feature_collection(client, db):
    d = make_district(db, code="65000999", name="測試區")
    r = client.get("/api/districts")
    assert r.status_code == 200
    assert r.headers["content-type"].startswith("application/geo+json")
    fc = r.json()
    assert fc["type"] == "FeatureCollection"
    feature = next(f for f in fc["features"] if f["properties"]["code"] == d.code)
    assert feature["properties"]["name"] == "測試區"
    geom = shape(feature["geometry"])
    assert geom.geom_type == "MultiPolygon"
    minx, miny, maxx, maxy = geom.bounds
    # served in WGS84 lon/lat, not the stored TWD97 metres
    assert 121 < minx < maxx < 122.1 and 24.5 < miny < maxy < 25.5


def test_villages_filter_by_district_and_bbox(client, db):
    d1 = make_district(db)
    d2 = make_district(db)
    v1 = make_village(db, d1, name="甲里")
    v2 = make_village(db, d2, name="乙里")
    r = client.get("/api/villages", params={"district": d1.code})
    codes = {f["properties"]["code"] for f in r.json()["features"]}
    assert v1.code in codes and v2.code not in codes
    props = next(
        f["properties"] for f in r.json()["features"] if f["properties"]["code"] == v1.code
    )
    assert props["name"] == "甲里" and props["district_code"] == d1.code
    # bbox around v1 only
    geom = shape(
        next(f["geometry"] for f in r.json()["features"] if f["properties"]["code"] == v1.code)
    )
    cx, cy = geom.centroid.x, geom.centroid.y
    r = client.get(
        "/api/villages", params={"bbox": f"{cx - 0.0005},{cy - 0.0005},{cx + 0.0005},{cy + 0.0005}"}
    )
    codes = {f["properties"]["code"] for f in r.json()["features"]}
    assert v1.code in codes and v2.code not in codes


def test_simplified_boundaries_have_fewer_vertices(client, db):
    make_district(db)
    full = client.get("/api/districts").content
    simple = client.get("/api/districts", params={"simplify": 50}).content
    assert len(simple) <= len(full)


def test_bad_bbox_is_a_400_with_a_stable_code(client):
    for bad in ("1,2,3", "a,b,c,d", "121.5,25,121.4,25.1", "200,0,201,1"):
        r = client.get("/api/villages", params={"bbox": bad})
        assert r.status_code == 400, bad
        assert r.json()["error"]["code"] == "invalid_input"
        assert "bbox" in r.json()["error"]["message"]


def test_simplify_out_of_range_is_rejected(client):
    r = client.get("/api/districts", params={"simplify": -1})
    assert r.status_code == 422
    assert r.json()["error"]["code"] == "validation_error"
