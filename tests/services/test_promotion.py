"""Crime-prevention promotion events: recorded by communities and police, counted per community
and topic for the evaluation."""

from __future__ import annotations

import datetime as dt

TODAY = dt.date.today()


def event(world, **kw):
    return {
        "community_id": world.c1.id,
        "topic": "anti_fraud",
        "occasion": "meeting",
        "held_on": TODAY.isoformat(),
        "title": "社區治安會議：常見詐騙手法",
        "audience": "社區長者",
        "attendance": 35,
        "speaker_unit": "甲派出所",
        "speaker_name": "林警員",
        **kw,
    }


def test_events_are_recorded_edited_and_counted(client, world):
    r = client.post("/api/promotion-events", json=event(world), headers=world.h("org1"))
    assert r.status_code == 201, r.text
    assert r.headers["ETag"] == '"1"'
    eid = r.json()["id"]
    assert r.json()["precinct"] == "測試一分局" and r.json()["topic_label"] == "防詐騙"
    r = client.post(
        "/api/promotion-events",
        json=event(
            world, topic="anti_drug", occasion="training", attendance=20, title="巡守隊訓練反毒"
        ),
        headers=world.h("st1"),
    )
    assert r.status_code == 201, r.text
    # Edits need the version read.
    r = client.patch(
        f"/api/promotion-events/{eid}", json={"attendance": 38}, headers=world.h("org1")
    )
    assert r.status_code == 428
    r = client.patch(
        f"/api/promotion-events/{eid}", json={"attendance": 38},
        headers={**world.h("org1"), "If-Match": '"1"'},
    )  # fmt: skip
    assert r.status_code == 200 and r.json()["attendance"] == 38 and r.headers["ETag"] == '"2"'

    figures = client.get(
        f"/api/promotion-events/figures?year={TODAY.year}", headers=world.h("city")
    ).json()
    c1 = next(c for c in figures["communities"] if c["community_id"] == world.c1.id)
    assert c1["events"] == 2 and c1["attendance"] == 58
    assert c1["by_topic"]["anti_fraud"] == 1 and c1["by_topic"]["anti_drug"] == 1
    assert figures["totals"]["anti_fraud"] == {"events": 1, "attendance": 38}

    # Scope: another precinct sees none of it; leaders read; they do not write.
    assert client.get("/api/promotion-events", headers=world.h("pol2")).json()["total"] == 0
    assert client.get("/api/promotion-events", headers=world.h("boss")).json()["total"] == 2
    r = client.post("/api/promotion-events", json=event(world), headers=world.h("boss"))
    assert r.status_code == 403
    r = client.post("/api/promotion-events", json=event(world), headers=world.h("org2"))
    assert r.status_code == 404
    r = client.post(
        "/api/promotion-events", json=event(world, topic="gossip"), headers=world.h("org1")
    )
    assert r.status_code == 400

    r = client.delete(
        f"/api/promotion-events/{eid}", headers={**world.h("pol1"), "If-Match": '"2"'}
    )
    assert r.status_code == 204
    assert client.get(f"/api/promotion-events/{eid}", headers=world.h("pol1")).status_code == 404


def test_promotion_page_renders(client, world):
    client.post("/api/promotion-events", json=event(world), headers=world.h("org1"))
    r = client.get("/services/promotion-events", headers=world.h("boss"))
    assert r.status_code == 200 and "犯罪預防宣導" in r.text and "甲一社區" in r.text
    assert f"{TODAY.year - 1911} 年" in r.text
    eid = r.text.split("/services/promotion-events/")[1].split('"')[0]
    r = client.get(f"/services/promotion-events/{eid}", headers=world.h("org1"))
    assert r.status_code == 200 and "社區長者" in r.text and "林警員" in r.text
    assert (
        client.get(f"/services/promotion-events/{eid}", headers=world.h("org2")).status_code == 404
    )
    assert client.get("/services/promotion-events").status_code == 401
