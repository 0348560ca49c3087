"""Watch teams: team, members, shifts, patrol logs; an observation becomes a hazard through the
layer's own checks; the evaluation's figures."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select

from geo.models import LayerHistory
from tests.services.conftest import lonlat_in, point_in

LOCAL = dt.timezone(dt.timedelta(hours=8))


def test_a_team_patrols_and_an_observation_becomes_a_hazard(client, db, world):
    r = client.post(
        "/api/watch-teams",
        json={
            "community_id": world.c1.id,
            "name": "甲一社區守望相助隊",
            "founded_on": "2020-05-01",
            "leader_name": "黃隊長",
            "phone": "0922-333-444",
            "equipment": [{"item": "反光背心", "quantity": 12}, {"item": "手電筒", "quantity": 6}],
        },
        headers=world.h("org1"),
    )
    assert r.status_code == 201, r.text
    team = r.json()
    tid = team["id"]
    for name, trained in (("黃隊長", True), ("李隊員", False), ("吳隊員", True)):
        r = client.post(
            f"/api/watch-teams/{tid}/members",
            json={"name": name, "phone": "0911-000-000", "protection_trained": trained},
            headers=world.h("org1"),
        )
        assert r.status_code == 201, r.text
    route = client.post(
        "/api/patrol_routes",
        json={
            "type": "Feature",
            "geometry": {"type": "LineString", "coordinates": [lonlat_in(world.v1, -100, 0), lonlat_in(world.v1, 100, 0)]},
            "properties": {"community_id": world.c1.id, "team_name": "甲一社區守望相助隊", "name": "和平路線"},
        },
        headers=world.h("org1"),
    )  # fmt: skip
    assert route.status_code == 201, route.text
    r = client.post(
        f"/api/watch-teams/{tid}/shifts",
        json={"weekdays": [5, 1, 3], "start_time": "20:00", "end_time": "23:00",
              "route_id": route.json()["id"]},
        headers=world.h("org1"),
    )  # fmt: skip
    assert (
        r.status_code == 201
        and r.json()["weekdays"] == [1, 3, 5]
        and r.json()["route"] == "和平路線"
    )

    start = dt.datetime.now(LOCAL).replace(microsecond=0) - dt.timedelta(hours=3)
    r = client.post(
        f"/api/watch-teams/{tid}/patrol-logs",
        json={
            "route_id": route.json()["id"],
            "started_at": start.isoformat(),
            "ended_at": (start + dt.timedelta(hours=2, minutes=30)).isoformat(),
            "members_present": 3,
            "member_names": "黃隊長、李隊員、吳隊員",
            "track": {"type": "LineString", "coordinates": [lonlat_in(world.v1, -100, 0), lonlat_in(world.v1, 100, 0)]},
            "notes": "巡守正常",
            "observations": [
                {"description": "巷口路燈故障", "category": "poor_lighting", "severity": 3,
                 "location": point_in(world.v1, 20, 10)},
                {"description": "空屋門窗破損"},
            ],
        },
        headers=world.h("org1"),
    )  # fmt: skip
    assert r.status_code == 201, r.text
    log = r.json()
    assert log["hours"] == 2.5 and log["track"]["type"] == "MultiLineString"
    lit, empty = log["observations"]

    r = client.post(
        f"/api/patrol-observations/{lit['id']}/hazard", json={}, headers=world.h("org1")
    )
    assert r.status_code == 201, r.text
    hazard = r.json()
    assert hazard["properties"]["category"] == "poor_lighting"
    assert hazard["properties"]["status"] == "open"
    assert "巷口路燈故障" in hazard["properties"]["description"]
    # It went through the layer: on the public map, with its history row.
    assert client.get(f"/api/hazards/{hazard['id']}").status_code == 200
    assert (
        db.scalar(
            select(LayerHistory.action).where(
                LayerHistory.layer == "hazards", LayerHistory.record_id == hazard["id"]
            )
        )
        == "insert"
    )
    # Once only; and one without a place or a category needs them.
    assert (
        client.post(
            f"/api/patrol-observations/{lit['id']}/hazard", json={}, headers=world.h("org1")
        ).status_code
        == 400
    )
    assert (
        client.post(
            f"/api/patrol-observations/{empty['id']}/hazard", json={}, headers=world.h("org1")
        ).status_code
        == 400
    )
    # A leader reads the team but cannot draw hazards from it.
    r = client.post(
        f"/api/patrol-observations/{empty['id']}/hazard",
        json={"category": "abandoned_building", "geometry": point_in(world.v1, 40, 40)},
        headers=world.h("boss"),
    )  # fmt: skip
    assert r.status_code == 403

    detail = client.get(f"/api/watch-teams/{tid}", headers=world.h("st1")).json()
    assert detail["members"] == 3 and detail["protection_trained"] == 2
    assert detail["patrols"] == 1 and detail["hazards_reported"] == 1
    assert detail["member_list"][0]["phone"] == "0911-000-000"
    # Leaders see the team but not the volunteers' phone numbers.
    boss = client.get(f"/api/watch-teams/{tid}", headers=world.h("boss")).json()
    assert boss["phone"] is None and all(m["phone"] is None for m in boss["member_list"])
    assert client.get(f"/api/watch-teams/{tid}", headers=world.h("org2")).status_code == 404

    figures = client.get(
        f"/api/watch-teams/figures?year={start.year}", headers=world.h("city")
    ).json()
    c1 = next(c for c in figures["communities"] if c["community_id"] == world.c1.id)
    assert c1 == {
        "community_id": world.c1.id, "community": "甲一社區", "district": "測試甲區", "teams": 1,
        "active_teams": 1, "members": 3, "protection_trained": 2, "disaster_trained": 0,
        "patrols": 1, "patrol_hours": 2.5, "observations": 2, "hazards_reported": 1,
    }  # fmt: skip


def test_team_edits_and_checks(client, world):
    tid = client.post(
        "/api/watch-teams", json={"community_id": world.c1.id, "name": "甲一隊"},
        headers=world.h("pol1"),
    ).json()["id"]  # fmt: skip
    r = client.patch(
        f"/api/watch-teams/{tid}", json={"active": False},
        headers={**world.h("org1"), "If-Match": '"1"'},
    )  # fmt: skip
    assert r.status_code == 200 and r.json()["active"] is False
    r = client.patch(
        f"/api/watch-teams/{tid}",
        json={"name": "x"},
        headers={**world.h("org1"), "If-Match": '"1"'},
    )
    assert r.status_code == 412
    now = dt.datetime.now(LOCAL)
    bad_logs = [
        {"started_at": now.isoformat(), "ended_at": (now - dt.timedelta(hours=1)).isoformat(), "members_present": 2},
        {"started_at": (now + dt.timedelta(days=1)).isoformat(), "ended_at": (now + dt.timedelta(days=1, hours=1)).isoformat(), "members_present": 2},
        {"started_at": (now - dt.timedelta(hours=2)).isoformat(), "ended_at": now.isoformat(), "members_present": 2,
         "observations": [{"description": "x", "category": "ufo"}]},
    ]  # fmt: skip
    for body in bad_logs:
        r = client.post(f"/api/watch-teams/{tid}/patrol-logs", json=body, headers=world.h("org1"))
        assert r.status_code in (400, 422), body
    r = client.post(
        f"/api/watch-teams/{tid}/shifts", json={"weekdays": [8], "start_time": "20:00", "end_time": "22:00"},
        headers=world.h("org1"),
    )  # fmt: skip
    assert r.status_code in (400, 422)
    assert (
        client.post(
            "/api/watch-teams",
            json={"community_id": world.c1.id, "name": "x"},
            headers=world.h("boss"),
        ).status_code
        == 403
    )


def test_watch_team_pages_render(client, world):
    tid = client.post(
        "/api/watch-teams", json={"community_id": world.c1.id, "name": "甲一社區守望相助隊"},
        headers=world.h("org1"),
    ).json()["id"]  # fmt: skip
    client.post(f"/api/watch-teams/{tid}/members", json={"name": "黃隊長"}, headers=world.h("org1"))
    r = client.get("/services/watch-teams", headers=world.h("dist1"))
    assert r.status_code == 200 and "甲一社區守望相助隊" in r.text
    r = client.get(f"/services/watch-teams/{tid}", headers=world.h("org1"))
    assert r.status_code == 200 and "黃隊長" in r.text
