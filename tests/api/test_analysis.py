"""Analyses over HTTP: police run them in their jurisdiction; nobody else reads them."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pytest
import shapely
from geoalchemy2.shape import from_shape, to_shape
from shapely.geometry import Point
from sqlalchemy import text

from geo.enums import Role
from geo.models import STORAGE_SRID, Incident
from tests.api.conftest import login
from tests.factories import make_community, make_precinct, make_user, make_village


@pytest.fixture
def police(db, client):
    villages = [make_village(db) for _ in range(4)]
    p1 = make_precinct(db, villages=villages)
    p2 = make_precinct(db)
    community = make_community(db, precinct=p1, village=villages[0])
    centre = to_shape(villages[0].geom).centroid
    rng = np.random.default_rng(7)
    for x, y in rng.normal((centre.x, centre.y), 40, size=(80, 2)):
        db.add(
            Incident(
                type="burglary",
                occurred_at=dt.datetime(2026, 4, 1, tzinfo=dt.UTC),
                geom=from_shape(Point(x, y), srid=STORAGE_SRID),
                precinct_id=p1.id,
            )
        )
    for x, y in rng.uniform(
        (centre.x - 900, centre.y - 900), (centre.x + 900, centre.y + 900), size=(20, 2)
    ):
        db.add(
            Incident(
                type="fraud",
                occurred_at=dt.datetime(2026, 4, 1, tzinfo=dt.UTC),
                geom=from_shape(Point(x, y), srid=STORAGE_SRID),
                precinct_id=p1.id,
            )
        )
    db.flush()
    make_user(db, role=Role.precinct, username="ana-p1", precinct_id=p1.id)
    make_user(db, role=Role.precinct, username="ana-p2", precinct_id=p2.id)
    make_user(
        db, role=Role.community, username="ana-org", organisation_id=community.organisation_id
    )
    make_user(db, role=Role.leader, username="ana-boss")
    return (
        community,
        login(client, "ana-p1"),
        login(client, "ana-p2"),
        login(client, "ana-org"),
        login(client, "ana-boss"),
    )


def test_precinct_runs_hotspots_and_blind_spots(client, police):
    _community, h1, h2, org, boss = police
    r = client.post("/api/analysis/hotspots", json={"cell_m": 100}, headers=h1)
    assert r.status_code == 201, r.text
    run = r.json()
    assert (
        run["kind"] == "hotspots"
        and run["scope_kind"] == "precinct"
        and run["summary"]["incidents"] >= 80
    )
    cells = client.get(f"/api/analysis/runs/{run['id']}/features", headers=h1).json()
    assert cells["features"] and cells["features"][0]["geometry"]["type"] == "Polygon"
    b = client.post("/api/analysis/blind-spots", json={"hotspot_run_id": run["id"]}, headers=h1)
    assert b.status_code == 201, b.text
    spots = client.get(f"/api/analysis/runs/{b.json()['id']}/features", headers=h1).json()[
        "features"
    ]
    assert spots and {"no_camera", "not_adopted", "not_patrolled"} >= set(
        spots[0]["properties"]["reasons"]
    )
    # another precinct, a community and the public cannot read them; leaders can
    assert client.get(f"/api/analysis/runs/{run['id']}", headers=h2).status_code == 404
    assert client.get(f"/api/analysis/runs/{run['id']}", headers=org).status_code == 403
    assert client.get(f"/api/analysis/runs/{run['id']}").status_code == 401
    assert client.get(f"/api/analysis/runs/{run['id']}", headers=boss).status_code == 200
    assert (
        client.post("/api/analysis/hotspots", json={}, headers=boss).status_code == 403
    )  # leaders read only
    listed = client.get("/api/analysis/runs", headers=h1).json()
    assert {x["id"] for x in listed} >= {run["id"], b.json()["id"]}


def test_bad_parameters_are_refused(client, police):
    _, h1, *_ = police
    assert client.post("/api/analysis/hotspots", json={"cell_m": 5}, headers=h1).status_code == 422
    assert (
        client.post("/api/analysis/hotspots", json={"weights": "knn"}, headers=h1).status_code
        == 400
    )
    assert (
        client.post("/api/analysis/hotspots", json={"district": "不存在區"}, headers=h1).status_code
        == 404
    )


def test_coverage_figures_are_scoped(client, police):
    community, h1, h2, org, _boss = police
    mine = client.get("/api/analysis/coverage", params={"area": "community"}, headers=h1).json()
    assert community.id in {row["id"] for row in mine}
    theirs = client.get("/api/analysis/coverage", params={"area": "community"}, headers=h2).json()
    assert community.id not in {row["id"] for row in theirs}
    assert client.get("/api/analysis/coverage", headers=org).status_code == 403


def test_block_generation_and_adoption_advice(client, db, police):
    community, h1, h2, org, _ = police
    r = client.post(
        f"/api/communities/{community.id}/blocks/generate",
        json={"method": "grid", "size_m": 100},
        headers=org,
    )
    assert r.status_code == 201, r.text
    assert r.json()["blocks"] > 0
    a = client.post(
        "/api/adopters",
        json={
            "type": "Feature",
            "geometry": None,
            "properties": {
                "community_id": community.id,
                "name": "某某保全",
                "kind": "company",
                "guards": 1,
            },
        },
        headers=org,
    )
    assert a.status_code == 201, a.text
    advice = client.get(f"/api/communities/{community.id}/adoption-advice", headers=h1).json()
    assert advice["adopters_without_location"] == ["某某保全"] and advice["pairings"] == []
    assert (
        client.get(f"/api/communities/{community.id}/adoption-advice", headers=h2).status_code
        == 404
    )
    bad = client.post(
        f"/api/communities/{community.id}/blocks/generate", json={"method": "hex"}, headers=org
    )
    assert bad.status_code == 400


def test_camera_placement_from_the_database(client, db, police):
    from shapely.geometry import LineString

    from geo.models import StreetSegment

    community, h1, _h2, org, _boss = police
    centre = to_shape(community.geom).centroid
    for dx in (-300, 0, 300):
        db.add(
            StreetSegment(
                geom=from_shape(
                    LineString([(centre.x + dx, centre.y - 600), (centre.x + dx, centre.y + 600)]),
                    srid=STORAGE_SRID,
                )
            )
        )
    db.add(
        StreetSegment(
            geom=from_shape(
                LineString([(centre.x - 600, centre.y), (centre.x + 600, centre.y)]),
                srid=STORAGE_SRID,
            )
        )
    )
    db.flush()
    r = client.post(
        "/api/analysis/placement",
        json={"k": 3, "radius_m": 100, "save_proposals": True},
        headers=h1,
    )
    assert r.status_code == 201, r.text
    body = r.json()
    assert len(body["sites"]) == 3 and body["run"]["gap"] is not None
    gains = [s["marginal_gain"] for s in body["sites"]]
    assert gains == sorted(gains, reverse=True) and gains[0] > 0
    # the suggestions became proposed cameras for the precinct's review, with their gains
    cams = client.get("/api/cameras", params={"status": "proposed"}, headers=h1).json()["features"]
    suggested = [f for f in cams if (f["properties"].get("name") or "").startswith("最佳化建議")]
    assert len(suggested) == 3
    assert client.post("/api/analysis/placement", json={"k": 0}, headers=h1).status_code == 422
    assert client.post("/api/analysis/placement", json={"k": 3}, headers=org).status_code == 403


def test_placement_counts_what_cameras_see_through_their_views(client, db, police):
    """Points an existing camera already sees are its view's (the sector less what buildings
    hide), as coverage and blind spots count them: not a circle of the plan's radius around
    the camera, which would credit it with what it faces away from."""
    from shapely.geometry import LineString, MultiPolygon, box

    from geo.models import Camera, StreetSegment
    from geo.models_buildings import Building

    community, h1, *_ = police
    c = to_shape(community.geom).centroid
    db.add(
        StreetSegment(
            geom=from_shape(LineString([(c.x - 500, c.y), (c.x + 500, c.y)]), srid=STORAGE_SRID)
        )
    )
    camera = Camera(
        precinct_id=db.query(Incident.precinct_id).filter(Incident.type == "burglary").first()[0],
        status="existing",
        owner="police",
        geom=from_shape(Point(c.x, c.y), srid=STORAGE_SRID),
        bearing_deg=0.0,  # facing north: the southern half of the cluster is behind it
        fov_deg=90.0,
        range_m=100.0,
    )
    db.add(camera)
    db.flush()
    db.refresh(camera)
    incidents = [
        to_shape(g) for (g,) in db.query(Incident.geom).filter(Incident.type == "burglary").all()
    ]

    def run() -> float:
        r = client.post("/api/analysis/placement", json={"k": 1, "radius_m": 100}, headers=h1)
        assert r.status_code == 201, r.text
        return r.json()["run"]["existing_weight"]

    sector = to_shape(camera.sector)
    in_sector = sum(sector.intersects(p) for p in incidents)
    within_radius = sum(p.distance(Point(c.x, c.y)) <= 100 for p in incidents)
    assert 0 < in_sector < within_radius  # the test means something
    assert run() == pytest.approx(in_sector)
    # a building just north of the camera hides part of the sector and what lies behind it
    block = box(c.x - 15, c.y + 10, c.x + 15, c.y + 25)
    db.add(Building(geom=from_shape(MultiPolygon([block]), srid=STORAGE_SRID)))
    db.flush()
    (view_wkt,) = db.execute(
        text("SELECT ST_AsText(geom) FROM camera_views WHERE camera_id = :id"), {"id": camera.id}
    ).one()
    view = shapely.from_wkt(view_wkt)
    in_view = sum(view.intersects(p) for p in incidents)
    assert in_view < in_sector
    assert run() == pytest.approx(in_view)
