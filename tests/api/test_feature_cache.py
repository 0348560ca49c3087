"""List pages of the large layers serve each record's Feature as kept by the database trigger
(migration 0010): it must say exactly what the record itself says, after every kind of write."""

from __future__ import annotations

from sqlalchemy import text

from geo.layers import LAYERS
from tests.api.test_layers import centre_of, hazard, world  # noqa: F401 - fixture


def _listed(client, layer, headers, record_id):
    r = client.get(f"/api/{layer}", headers=headers, params={"limit": 1000})
    # Stored compact: no blanks between members (the description's own text is kept as is).
    assert '{"type":"Feature","id":' in r.text and '"type" : ' not in r.text
    return next(f for f in r.json()["features"] if f["id"] == record_id)


def _single(client, url, headers):
    feature = client.get(url, headers=headers).json()
    for extra in ("sector", "view"):  # single records add secondary geometries
        feature["properties"].pop(extra, None)
    return feature


def _same(client, layer, url, headers):
    one = _single(client, url, headers)
    listed = _listed(client, layer, headers, one["id"])
    assert listed == {k: one[k] for k in ("type", "id", "geometry", "properties")}
    assert list(listed["properties"]) == ["id", "version", *LAYERS[layer].properties]
    return listed


def test_cached_features_follow_creates_edits_and_sql_writes(client, db, world):  # noqa: F811
    c1, org, pol = world["c1"], world["org1"], world["pol1"]
    where = centre_of(db, c1)
    r = client.post(
        "/api/hazards", json=hazard(c1.id, where, description='轉角 "燈"\n壞了'), headers=org
    )
    assert r.status_code == 201, r.text
    h_url, h_tag = r.headers["Location"], r.headers["ETag"]
    cam = {
        "type": "Feature",
        "geometry": {"type": "Point", "coordinates": where},
        "properties": {"community_id": c1.id, "bearing_deg": 90, "fov_deg": 90, "range_m": 50},
    }
    r = client.post("/api/cameras", json=cam, headers=org)
    assert r.status_code == 201, r.text
    c_url = r.headers["Location"]
    inc = {
        "type": "Feature",
        "geometry": {"type": "Point", "coordinates": where},
        "properties": {"type": "burglary", "occurred_at": "2026-10-01T22:00:00+08:00"},
    }
    r = client.post("/api/incidents", json=inc, headers=pol)
    assert r.status_code == 201, r.text
    i_url = r.headers["Location"]

    first = _same(client, "hazards", h_url, org)
    assert first["properties"]["description"] == '轉角 "燈"\n壞了'
    _same(client, "cameras", c_url, pol)
    listed = _same(client, "incidents", i_url, pol)
    assert listed["properties"]["occurred_at"].startswith("2026-10-01T14:00:00")

    # An edit through the API (new version, moved geometry) ...
    moved = [where[0] + 0.0005, where[1]]
    r = client.patch(
        h_url,
        json={"geometry": {"type": "Point", "coordinates": moved}, "properties": {"severity": 5}},
        headers={**org, "If-Match": h_tag},
    )
    assert r.status_code == 200, r.text
    edited = _same(client, "hazards", h_url, org)
    assert edited["properties"]["severity"] == 5 and edited["properties"]["version"] == 2
    assert edited["geometry"] != first["geometry"]
    # ... and a write in plain SQL (an import, a DBA) both refresh the stored Feature.
    db.execute(
        text("UPDATE cameras SET name = '中正路口' WHERE id = :id"),
        {"id": int(c_url.rsplit("/", 1)[1])},
    )
    db.flush()
    assert _same(client, "cameras", c_url, pol)["properties"]["name"] == "中正路口"
    # The history keeps the record's own columns, not the derived Feature text.
    kept = db.execute(
        text("SELECT count(*), count(*) FILTER (WHERE new ? 'feature') FROM layer_history")
    ).one()
    assert kept[0] >= 5 and kept[1] == 0


def test_a_page_with_extras_still_carries_the_sectors(client, db, world):  # noqa: F811
    c1, pol = world["c1"], world["pol1"]
    cam = {
        "type": "Feature",
        "geometry": {"type": "Point", "coordinates": centre_of(db, c1)},
        "properties": {"community_id": c1.id, "bearing_deg": 0, "fov_deg": 60, "range_m": 30},
    }
    assert client.post("/api/cameras", json=cam, headers=pol).status_code == 201
    plain = client.get("/api/cameras", headers=pol).json()["features"][0]["properties"]
    extra = client.get("/api/cameras", headers=pol, params={"with_extras": "true"}).json()
    assert "sector" not in plain
    assert extra["features"][0]["properties"]["sector"]["type"] == "Polygon"
