"""The spatial layers over HTTP: GeoJSON in and out, scoping, versions, history."""

from __future__ import annotations

import pytest
from pyproj import Transformer

from geo.enums import Role
from tests.api.conftest import login
from tests.factories import ORIGIN, make_community, make_precinct, make_user

TO_LONLAT = Transformer.from_crs(3826, 4326, always_xy=True)


def lonlat(dx=250.0, dy=250.0):
    """A point inside the first factory square (metres from its corner)."""
    return list(TO_LONLAT.transform(ORIGIN[0] + dx, ORIGIN[1] + dy))


@pytest.fixture
def world(db, client):
    p1, p2 = make_precinct(db), make_precinct(db)
    c1 = make_community(db, precinct=p1)
    c2 = make_community(db, precinct=p2)
    make_user(db, role=Role.community, username="org1", organisation_id=c1.organisation_id)
    make_user(db, role=Role.community, username="org2", organisation_id=c2.organisation_id)
    make_user(db, role=Role.precinct, username="pol1", precinct_id=p1.id)
    make_user(db, role=Role.precinct, username="pol2", precinct_id=p2.id)
    make_user(db, role=Role.leader, username="boss")
    return {
        "c1": c1,
        "c2": c2,
        "org1": login(client, "org1"),
        "org2": login(client, "org2"),
        "pol1": login(client, "pol1"),
        "pol2": login(client, "pol2"),
        "boss": login(client, "boss"),
    }


def centre_of(db, community):
    from geoalchemy2.shape import to_shape

    c = to_shape(community.geom).centroid
    return list(TO_LONLAT.transform(c.x, c.y))


def hazard(community_id, coords, **props):
    return {
        "type": "Feature",
        "geometry": {"type": "Point", "coordinates": coords},
        "properties": {
            "community_id": community_id,
            "category": "poor_lighting",
            "severity": 3,
            **props,
        },
    }


def test_community_draws_a_hazard_and_reads_it_back(client, db, world):
    c1 = world["c1"]
    pt = centre_of(db, c1)
    r = client.post(
        "/api/hazards", json=hazard(c1.id, pt, description="巷口路燈不亮"), headers=world["org1"]
    )
    assert r.status_code == 201, r.text
    assert r.headers["ETag"] == '"1"'
    body = r.json()
    assert (
        body["properties"]["status"] == "open"
        and body["properties"]["description"] == "巷口路燈不亮"
    )
    got = client.get(r.headers["Location"]).json()  # hazards are public
    assert got["geometry"]["type"] == "Point"
    assert got["geometry"]["coordinates"] == pytest.approx(pt, abs=1e-6)


def test_hazard_lines_and_polygons(client, db, world):
    c1 = world["c1"]
    x, y = centre_of(db, c1)
    line = {"type": "LineString", "coordinates": [[x, y], [x + 0.0005, y + 0.0003]]}
    poly = {
        "type": "Polygon",
        "coordinates": [
            [[x, y], [x + 0.0004, y], [x + 0.0004, y + 0.0004], [x, y + 0.0004], [x, y]]
        ],
    }
    for geom, category in ((line, "blind_spot"), (poly, "abandoned_building")):
        f = {
            "type": "Feature",
            "geometry": geom,
            "properties": {"community_id": c1.id, "category": category},
        }
        r = client.post("/api/hazards", json=f, headers=world["org1"])
        assert r.status_code == 201, r.text
        assert r.json()["geometry"]["type"] == geom["type"]


@pytest.mark.parametrize(
    ("props", "needle"),
    [
        ({"category": "ufo"}, "類別"),
        ({"severity": 9}, "嚴重程度"),
        ({"severity": "high"}, "嚴重程度"),
        ({"time_of_day": "noon"}, "時段"),
        ({"colour": "red"}, "不認得的欄位"),
        ({"status": "fixed"}, "待處理"),
    ],
)
def test_bad_hazard_properties_are_400_in_zh_tw(client, db, world, props, needle):
    c1 = world["c1"]
    r = client.post(
        "/api/hazards", json=hazard(c1.id, centre_of(db, c1), **props), headers=world["org1"]
    )
    assert r.status_code == 400, r.text
    assert r.json()["error"]["code"] == "invalid_input"
    assert needle in r.json()["error"]["message"]


def test_cannot_draw_in_another_community(client, db, world):
    r = client.post(
        "/api/hazards",
        json=hazard(world["c2"].id, centre_of(db, world["c2"])),
        headers=world["org1"],
    )
    assert r.status_code == 404


def test_anonymous_cannot_write(client, db, world):
    r = client.post("/api/hazards", json=hazard(world["c1"].id, centre_of(db, world["c1"])))
    assert r.status_code == 401


def test_list_filters_and_paging(client, db, world):
    c1 = world["c1"]
    x, y = centre_of(db, c1)
    for i, cat in enumerate(["poor_lighting", "poor_lighting", "blind_spot"]):
        f = hazard(c1.id, [x + i * 0.0001, y], category=cat)
        assert client.post("/api/hazards", json=f, headers=world["org1"]).status_code == 201
    page = client.get(
        "/api/hazards", params={"community_id": c1.id, "category": "poor_lighting"}
    ).json()
    assert page["numberMatched"] == 2
    assert {f["properties"]["category"] for f in page["features"]} == {"poor_lighting"}
    page = client.get(
        "/api/hazards", params={"community_id": c1.id, "limit": 2, "offset": 2}
    ).json()
    assert page["numberMatched"] == 3 and len(page["features"]) == 1
    bbox = f"{x - 0.00005},{y - 0.00005},{x + 0.00005},{y + 0.00005}"
    near = client.get("/api/hazards", params={"bbox": bbox}).json()
    assert near["numberMatched"] == 1
    assert (
        client.get("/api/hazards", params={"community_id": c1.id, "status": "fixed"}).json()[
            "numberMatched"
        ]
        == 0
    )
    today = client.get("/api/hazards", params={"community_id": c1.id, "from": "2000-01-01"}).json()
    assert today["numberMatched"] == 3
    assert (
        client.get("/api/hazards", params={"community_id": c1.id, "to": "2000-01-01"}).json()[
            "numberMatched"
        ]
        == 0
    )


def test_two_volunteers_editing_the_same_hazard(client, db, world):
    c1 = world["c1"]
    created = client.post(
        "/api/hazards", json=hazard(c1.id, centre_of(db, c1)), headers=world["org1"]
    )
    url = created.headers["Location"]
    tag = created.headers["ETag"]
    patch = {"properties": {"description": "第一位志工的修改"}}
    assert client.patch(url, json=patch, headers=world["org1"]).status_code == 428
    first = client.patch(url, json=patch, headers={**world["org1"], "If-Match": tag})
    assert first.status_code == 200 and first.headers["ETag"] == '"2"'
    second = client.patch(
        url,
        json={"properties": {"description": "第二位"}},
        headers={**world["org1"], "If-Match": tag},
    )
    assert second.status_code == 412
    assert second.json()["error"]["code"] == "version_conflict"
    assert client.get(url).json()["properties"]["description"] == "第一位志工的修改"


def test_hazard_status_moves_and_history(client, db, world):
    c1 = world["c1"]
    created = client.post(
        "/api/hazards", json=hazard(c1.id, centre_of(db, c1)), headers=world["org1"]
    )
    url, tag = created.headers["Location"], created.headers["ETag"]
    no_agency = client.patch(
        url, json={"properties": {"status": "assigned"}}, headers={**world["pol1"], "If-Match": tag}
    )
    assert no_agency.status_code == 400 and "權責機關" in no_agency.json()["error"]["message"]
    r = client.patch(
        url,
        json={"properties": {"status": "assigned", "agency": "工務局"}},
        headers={**world["pol1"], "If-Match": tag},
    )
    assert r.status_code == 200 and r.json()["properties"]["assigned_at"]
    r = client.patch(
        url,
        json={"properties": {"status": "fixed"}},
        headers={**world["org1"], "If-Match": r.headers["ETag"]},
    )
    assert r.status_code == 200 and r.json()["properties"]["fixed_at"]
    bad = client.patch(
        url,
        json={"properties": {"status": "assigned"}},
        headers={**world["org1"], "If-Match": r.headers["ETag"]},
    )
    assert bad.status_code == 400
    history = client.get(f"{url}/history", headers=world["org1"]).json()
    assert [h["action"] for h in history] == ["update", "update", "insert"]
    assert "status" in history[0]["changed"] and history[0]["new"]["status"] == "fixed"
    assert history[-1]["actor_id"] is not None
    # the precinct of another jurisdiction cannot touch it
    other = client.patch(
        url,
        json={"properties": {"description": "x"}},
        headers={**world["pol2"], "If-Match": r.headers["ETag"]},
    )
    assert other.status_code == 404


def test_delete_needs_the_current_version(client, db, world):
    c1 = world["c1"]
    created = client.post(
        "/api/hazards", json=hazard(c1.id, centre_of(db, c1)), headers=world["org1"]
    )
    url = created.headers["Location"]
    assert client.delete(url, headers={**world["org1"], "If-Match": '"7"'}).status_code == 412
    assert (
        client.delete(
            url, headers={**world["org1"], "If-Match": created.headers["ETag"]}
        ).status_code
        == 204
    )
    assert client.get(url).status_code == 404


def test_cameras_proposed_by_a_community_and_decided_by_the_precinct(client, db, world):
    c1 = world["c1"]
    cam = {
        "type": "Feature",
        "geometry": {"type": "Point", "coordinates": centre_of(db, c1)},
        "properties": {"community_id": c1.id, "bearing_deg": 90, "fov_deg": 90, "range_m": 50},
    }
    r = client.post("/api/cameras", json=cam, headers=world["org1"])
    assert r.status_code == 201, r.text
    props = r.json()["properties"]
    assert props["status"] == "proposed" and props["owner"] == "community"
    sector = props["sector"]
    assert sector["type"] == "Polygon" and len(sector["coordinates"][0]) > 10
    url, tag = r.headers["Location"], r.headers["ETag"]
    # a community cannot approve its own proposal
    r2 = client.patch(
        url, json={"properties": {"status": "approved"}}, headers={**world["org1"], "If-Match": tag}
    )
    assert r2.status_code == 403
    r3 = client.patch(
        url, json={"properties": {"status": "approved"}}, headers={**world["pol1"], "If-Match": tag}
    )
    assert r3.status_code == 200 and r3.json()["properties"]["status"] == "approved"
    # camera positions are never public; other jurisdictions do not see them
    assert client.get("/api/cameras").status_code == 401
    assert client.get(url).status_code == 401
    assert client.get(url, headers=world["pol2"]).status_code == 404
    assert client.get(url, headers=world["boss"]).status_code == 200


def test_incidents_are_police_only(client, db, world):
    inc = {
        "type": "Feature",
        "geometry": {"type": "Point", "coordinates": centre_of(db, world["c1"])},
        "properties": {"type": "burglary", "occurred_at": "2026-10-01T22:00:00+08:00"},
    }
    r = client.post("/api/incidents", json=inc, headers=world["pol1"])
    assert r.status_code == 201, r.text
    assert client.get("/api/incidents", headers=world["org1"]).status_code == 403
    assert client.get("/api/incidents").status_code == 401
    mine = client.get("/api/incidents", headers=world["pol1"]).json()["numberMatched"]
    theirs = client.get("/api/incidents", headers=world["pol2"]).json()["numberMatched"]
    assert mine == 1 and theirs == 0


def test_safety_audit_score_is_computed(client, db, world):
    c1 = world["c1"]
    x, y = centre_of(db, c1)
    params = [
        "lighting",
        "openness",
        "visibility",
        "people",
        "security",
        "walk_path",
        "transport",
        "gender_usage",
        "feeling",
    ]
    base = {"community_id": c1.id, "place_name": "文化路二段巷口", "audited_on": "2026-10-05"}
    line = {"type": "LineString", "coordinates": [[x, y], [x + 0.0008, y]]}
    night = client.post(
        "/api/safety_audits",
        json={
            "type": "Feature",
            "geometry": line,
            "properties": {**base, "period": "night", **dict.fromkeys(params, 0)},
        },
        headers=world["org1"],
    )
    day = client.post(
        "/api/safety_audits",
        json={
            "type": "Feature",
            "geometry": line,
            "properties": {**base, "period": "day", **dict.fromkeys(params, 3)},
        },
        headers=world["org1"],
    )
    assert night.status_code == 201 and day.status_code == 201, night.text
    assert float(night.json()["properties"]["score"]) == 1.0
    assert float(day.json()["properties"]["score"]) == 10.0
    missing = client.post(
        "/api/safety_audits",
        json={
            "type": "Feature",
            "geometry": line,
            "properties": {**base, "period": "day", "lighting": 4},
        },
        headers=world["org1"],
    )
    assert missing.status_code == 400


def test_adopters_have_no_geometry(client, world):
    r = client.post(
        "/api/adopters",
        json={
            "type": "Feature",
            "geometry": None,
            "properties": {
                "community_id": world["c1"].id,
                "name": "某某國小",
                "kind": "school",
                "guards": 2,
            },
        },
        headers=world["org1"],
    )
    assert r.status_code == 201, r.text
    assert r.json()["geometry"] is None
    assert client.get("/api/adopters", headers=world["org2"]).json()["numberMatched"] == 0


BAD_GEOMETRIES = [
    (
        "out-of-bounds",
        {"type": "Point", "coordinates": [120.3014, 22.6273]},
        422,
        "geometry_out_of_bounds",
    ),
    ("null-island", {"type": "Point", "coordinates": [0, 0]}, 422, None),
    (
        "swapped",
        {"type": "Point", "coordinates": [25.0117, 121.4627]},
        422,
        "geometry_swapped_coordinates",
    ),
    ("nan", {"type": "Point", "coordinates": [float("nan"), 25.0]}, 422, None),
    ("empty", {"type": "Point", "coordinates": []}, 422, None),
    ("not-geojson", {"kind": "dot"}, 422, None),
    (
        "bowtie",
        {
            "type": "Polygon",
            "coordinates": [
                [
                    [121.46, 25.01],
                    [121.461, 25.011],
                    [121.461, 25.01],
                    [121.46, 25.011],
                    [121.46, 25.01],
                ]
            ],
        },
        422,
        None,
    ),
]


@pytest.mark.parametrize(
    ("case", "geometry", "status", "code"), BAD_GEOMETRIES, ids=[c[0] for c in BAD_GEOMETRIES]
)
def test_bad_geometries_are_refused_and_nothing_is_stored(
    client, db, world, case, geometry, status, code
):
    from sqlalchemy import func, select

    from geo.models import Hazard

    before = db.scalar(select(func.count()).select_from(Hazard))
    f = {
        "type": "Feature",
        "geometry": geometry,
        "properties": {"community_id": world["c1"].id, "category": "other"},
    }
    # NaN is not valid JSON: send it the way a careless client would
    import json as _json

    r = client.post(
        "/api/hazards",
        content=_json.dumps(f, allow_nan=True),
        headers={**world["org1"], "Content-Type": "application/json"},
    )
    assert 400 <= r.status_code < 500, (case, r.status_code, r.text)
    if status:
        assert r.status_code in (400, status), r.text
    error = r.json()["error"]
    assert error["message"] and any("\u4e00" <= ch <= "\u9fff" for ch in error["message"])
    if code:
        assert error["code"] == code
    assert db.scalar(select(func.count()).select_from(Hazard)) == before


def test_wrong_geometry_type_for_a_layer(client, db, world):
    c1 = world["c1"]
    x, y = centre_of(db, c1)
    poly = {
        "type": "Polygon",
        "coordinates": [[[x, y], [x + 0.0004, y], [x + 0.0004, y + 0.0004], [x, y]]],
    }
    cam = {
        "type": "Feature",
        "geometry": poly,
        "properties": {"community_id": c1.id, "bearing_deg": 0, "fov_deg": 90, "range_m": 40},
    }
    r = client.post("/api/cameras", json=cam, headers=world["org1"])
    assert r.status_code == 422 and r.json()["error"]["code"] == "geometry_wrong_type"


def test_too_many_vertices_and_too_large_bodies(client, db, world):
    c1 = world["c1"]
    x, y = centre_of(db, c1)
    coords = [[x + i * 1e-7, y + (i % 2) * 1e-7] for i in range(20_000)]
    f = {
        "type": "Feature",
        "geometry": {"type": "LineString", "coordinates": coords},
        "properties": {"community_id": c1.id, "category": "other"},
    }
    r = client.post("/api/hazards", json=f, headers=world["org1"])
    assert r.status_code == 413, r.text
    huge = (
        b'{"type": "Feature", "properties": {"description": "' + b"x" * (30 * 1024 * 1024) + b'"}}'
    )
    r = client.post(
        "/api/hazards", content=huge, headers={**world["org1"], "Content-Type": "application/json"}
    )
    assert r.status_code == 413
    assert r.json()["error"]["code"] == "input_too_large"
