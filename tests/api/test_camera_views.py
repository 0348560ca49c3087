"""Camera views over HTTP: edits through the API keep the stored view (migration 0012) equal to
what ``safemap_camera_view`` computes, records carry it as ``view`` beside the nominal
``sector``, and the web maps draw it: the sector less what buildings hide."""

from __future__ import annotations

import numpy as np
import pytest
import shapely
from pyproj import Transformer
from shapely.geometry import Point as shape_point
from shapely.geometry import box as shape_box
from shapely.geometry import shape
from sqlalchemy import text

from tests.api.test_layers import centre_of, world  # noqa: F401 - fixture
from tests.geo.test_camera_views import kept, stale
from tests.maps.conftest import near, scene  # noqa: F401 - the shared map fixture

from .conftest import login

TO_TM2 = Transformer.from_crs(4326, 3826, always_xy=True)


def _building(db, x0, y0, x1, y1):
    db.execute(
        text(
            "INSERT INTO buildings (geom) VALUES "
            "(ST_Multi(ST_MakeEnvelope(:x0, :y0, :x1, :y1, 3826)))"
        ),
        {"x0": x0, "y0": y0, "x1": x1, "y1": y1},
    )
    db.flush()


def test_api_camera_edits_keep_the_view_and_records_serve_it(client, db, world):  # noqa: F811
    c1, pol = world["c1"], world["pol1"]
    lon, lat = centre_of(db, c1)
    x, y = TO_TM2.transform(lon, lat)
    _building(db, x + 20, y - 5, x + 30, y + 5)  # 20-30 m east of the camera
    cam = {
        "type": "Feature",
        "geometry": {"type": "Point", "coordinates": [lon, lat]},
        "properties": {"community_id": c1.id, "bearing_deg": 90, "fov_deg": 90, "range_m": 50},
    }
    r = client.post("/api/cameras", json=cam, headers=pol)
    assert r.status_code == 201, r.text
    url, tag = r.headers["Location"], r.headers["ETag"]
    cid = int(url.rsplit("/", 1)[1])
    assert stale(db) == [] and cid in kept(db)
    props = r.json()["properties"]
    view, sector = shape(props["view"]), shape(props["sector"])
    # inside the sector, up to the 6 decimals (≈ 0.1 m) served
    assert view.area < 0.9 * sector.area and view.difference(sector).area < 1e-4 * sector.area

    # turned away from the building: the view is the sector again, and no row is kept
    r = client.patch(
        url, json={"properties": {"bearing_deg": 270}}, headers={**pol, "If-Match": tag}
    )
    assert r.status_code == 200, r.text
    tag = r.headers["ETag"]
    assert stale(db) == [] and cid not in kept(db)
    props = client.get(url, headers=pol).json()["properties"]
    assert props["view"] == props["sector"]

    # moved 40 m west and turned east again: the building is now 60-70 m away, past its range;
    # a longer range reaches it
    moved = list(TO_TM2.transform(x - 40, y, direction="INVERSE"))
    r = client.patch(
        url,
        json={
            "geometry": {"type": "Point", "coordinates": moved},
            "properties": {"bearing_deg": 90},
        },
        headers={**pol, "If-Match": tag},
    )
    assert r.status_code == 200, r.text
    tag = r.headers["ETag"]
    assert stale(db) == [] and cid not in kept(db)
    r = client.patch(url, json={"properties": {"range_m": 90}}, headers={**pol, "If-Match": tag})
    assert r.status_code == 200, r.text
    tag = r.headers["ETag"]
    assert stale(db) == [] and cid in kept(db)

    # list pages carry the view only with the extras, like the sector
    plain = client.get("/api/cameras", headers=pol).json()["features"]
    extra = client.get("/api/cameras", headers=pol, params={"with_extras": "true"}).json()
    assert "view" not in next(f for f in plain if f["id"] == cid)["properties"]
    listed = next(f for f in extra["features"] if f["id"] == cid)["properties"]
    assert shape(listed["view"]).area == pytest.approx(
        shape(client.get(url, headers=pol).json()["properties"]["view"]).area, rel=1e-9
    )
    assert shape(listed["view"]).area < 0.95 * shape(listed["sector"]).area

    r = client.delete(url, headers={**pol, "If-Match": tag})
    assert r.status_code == 204, r.text
    assert cid not in kept(db) and stale(db) == []


def test_district_map_draws_the_view_less_what_a_building_hides(client, db, scene):  # noqa: F811
    # camera_p1 looks east (90°, field 90°, 40 m): its arc has a vertex straight ahead
    cx, cy = scene.camera_p1
    headers = login(client, "map-city")
    before = client.get("/maps/district/99000010", headers=headers)
    assert before.status_code == 200
    assert near(before.text, cx + 40, cy, 1.5)
    assert not near(before.text, cx + 15, cy + 10, 1.5)
    # a kiosk 15-25 m ahead hides the tip of the arc; its near corners bound the view
    _building(db, cx + 15, cy - 10, cx + 25, cy + 10)
    after = client.get("/maps/district/99000010", headers=headers)
    assert after.status_code == 200
    assert not near(after.text, cx + 40, cy, 3.0)
    assert near(after.text, cx + 15, cy + 10, 1.5) and near(after.text, cx + 15, cy - 10, 1.5)
    # the footprint's far side lies in its own shadow: not drawn
    assert not near(after.text, cx + 25, cy + 10, 1.5)


def test_preview_of_a_camera_being_drafted_is_the_view_it_would_get(client, db, world):  # noqa: F811
    """``/api/analysis/camera-view``: what the drafting form draws before anything is saved,
    the sector less what buildings hide, the same as the camera gets once stored."""
    c1, org = world["c1"], world["org1"]  # a community organiser drafts proposals
    lon, lat = centre_of(db, c1)
    x, y = TO_TM2.transform(lon, lat)
    params = {"lon": lon, "lat": lat, "bearing": 90, "fov": 90, "range_m": 50}

    # nothing in the way: the whole sector (a quarter of a 50 m disc)
    r = client.get("/api/analysis/camera-view", params=params, headers=org)
    assert r.status_code == 200, r.text
    assert r.headers["content-type"].startswith("application/geo+json")
    open_view = r.json()
    assert open_view["properties"]["hidden_by_buildings"] is False
    assert open_view["properties"]["view_m2"] == pytest.approx(3.14159 * 50**2 / 4, rel=0.01)

    # a building 20-30 m ahead: it and its shadow are taken out
    _building(db, x + 20, y - 5, x + 30, y + 5)
    r = client.get("/api/analysis/camera-view", params=params, headers=org)
    assert r.status_code == 200, r.text
    props = r.json()["properties"]
    assert props["hidden_by_buildings"] is True
    assert props["view_m2"] < 0.9 * props["sector_m2"]
    view = shape(r.json()["geometry"])
    view_tm2 = shapely.transform(view, lambda xy: np.column_stack(TO_TM2.transform(*xy.T)))
    assert view_tm2.intersection(shape_box(x + 21, y - 4, x + 29, y + 4)).area < 0.01
    assert view_tm2.contains(shape_point(x + 10, y))  # in front of the building: seen

    # turned away from it: open again; the same bearing modulo 360
    turned = client.get(
        "/api/analysis/camera-view", params={**params, "bearing": 270 + 360}, headers=org
    ).json()
    assert turned["properties"]["hidden_by_buildings"] is False

    # saved, the camera's own view is what the preview showed
    cam = {
        "type": "Feature",
        "geometry": {"type": "Point", "coordinates": [lon, lat]},
        "properties": {"community_id": c1.id, "bearing_deg": 90, "fov_deg": 90, "range_m": 50},
    }
    r = client.post("/api/cameras", json=cam, headers=world["pol1"])
    assert r.status_code == 201, r.text
    stored = shape(r.json()["properties"]["view"])
    assert stored.area == pytest.approx(view.area, rel=1e-3)


@pytest.mark.parametrize(
    ("change", "status", "words"),
    [
        ({"fov": 0}, 400, "視角"),
        ({"range_m": 900}, 400, "拍攝距離"),
        ({"lon": 10.0, "lat": 50.0}, 400, "臺灣"),
        ({"bearing": "北"}, 422, None),
    ],
)
def test_preview_refuses_bad_values_in_words(client, db, world, change, status, words):  # noqa: F811
    lon, lat = centre_of(db, world["c1"])
    params = {"lon": lon, "lat": lat, "bearing": 0, "fov": 60, "range_m": 40, **change}
    r = client.get("/api/analysis/camera-view", params=params, headers=world["org1"])
    assert r.status_code == status, r.text
    body = r.json()["error"]
    assert body["code"] and body["message"]
    if words:
        assert body["code"] == "invalid_input" and words in body["message"]


def test_preview_needs_a_signed_in_user(client, db, world):  # noqa: F811
    lon, lat = centre_of(db, world["c1"])
    r = client.get("/api/analysis/camera-view", params={"lon": lon, "lat": lat})
    assert r.status_code == 401
