"""Protection referrals and care visits (plan 陸、三、(三)(四)) end to end: filed by volunteers'
organisations, read by social affairs alone (and the filer until received), every read audited."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select

from geo.models import AuditLog

REFERRAL = {
    "kind": "child_protection",
    "subject_name": "陳小妹",
    "subject_age": "8 歲",
    "subject_address": "新北市測試甲區安和路 3 號 5 樓",
    "description": "巡守時多次聽到孩童哭喊與大人怒罵，孩童手臂有瘀青。",
    "immediate_danger": False,
    "reporter_name": "巡守隊員李先生",
}
VISIT = {
    "family_name": "張家",
    "address": "新北市測試甲區安和路 7 號",
    "visitors": "志工王小姐、巡守員陳先生",
    "situation": "獨力照顧兩名幼兒，經濟困難。",
    "resources_offered": "轉介急難救助與托育補助資訊。",
    "needs_follow_up": True,
}


def audit_rows(db, actor_id: int, entity: str) -> list[tuple[str, str]]:
    return [
        (a.action, a.entity_id)
        for a in db.scalars(
            select(AuditLog)
            .where(AuditLog.actor_id == actor_id, AuditLog.entity == entity)
            .order_by(AuditLog.id)
        )
    ]


def test_a_referral_goes_from_the_filer_to_social_affairs(client, db, world):
    r = client.post(
        "/api/protection/referrals", json={**REFERRAL, "community_id": world.c1.id},
        headers=world.h("org1"),
    )  # fmt: skip
    assert r.status_code == 201, r.text
    assert r.headers["Cache-Control"] == "no-store"
    ref = r.json()
    rid = ref["id"]
    assert ref["status"] == "submitted" and ref["subject_name"] == "陳小妹"
    assert "case_ref" not in ref or ref["case_ref"] is None

    # The filer follows their own submission until it is received.
    assert (
        client.get(f"/api/protection/referrals/{rid}", headers=world.h("org1")).status_code == 200
    )
    mine = client.get("/api/protection/referrals", headers=world.h("org1")).json()
    assert [i["id"] for i in mine["items"]] == [rid]
    # Nobody else but social affairs: not the police, the city, administrators, the public.
    for who in (
        "org2",
        "st1",
        "pol1",
        "city",
        "boss",
        "dist1",
        "fire",
        "counsel",
        "admin",
        "public",
    ):
        r = client.get(f"/api/protection/referrals/{rid}", headers=world.h(who))
        assert r.status_code in (401, 403, 404), who
        assert "陳小妹" not in r.text
        listed = client.get("/api/protection/referrals", headers=world.h(who))
        assert "陳小妹" not in listed.text, who

    social = world.users["social"].id
    page = client.get("/api/protection/referrals", headers=world.h("social")).json()
    assert rid in [i["id"] for i in page["items"]]
    got = client.get(f"/api/protection/referrals/{rid}", headers=world.h("social")).json()
    assert got["filed_by_name"] and got["community"] == "甲一社區"
    assert [m["target"] for m in got["moves"]] == ["received"]
    assert audit_rows(db, social, "protection_referrals")[-2:] == [
        ("protection.list", str(rid)), ("protection.read", str(rid)),
    ]  # fmt: skip

    # Other roles cannot receive it; social affairs does, with its case number.
    for who in ("org1", "city", "admin"):
        r = client.post(f"/api/protection/referrals/{rid}/receive", json={}, headers=world.h(who))
        assert r.status_code in (403, 404) and "陳小妹" not in r.text, who
    r = client.post(
        f"/api/protection/referrals/{rid}/receive", json={"case_ref": "113-0001"},
        headers=world.h("social"),
    )  # fmt: skip
    assert r.status_code == 200 and r.json()["status"] == "received"
    assert r.json()["case_ref"] == "113-0001"

    # Received: the filer no longer reads it.
    assert (
        client.get(f"/api/protection/referrals/{rid}", headers=world.h("org1")).status_code == 404
    )
    assert client.get("/api/protection/referrals", headers=world.h("org1")).json()["total"] == 0

    r = client.post(f"/api/protection/referrals/{rid}/close", headers=world.h("social"))
    assert r.json()["status"] == "closed"
    log = client.get("/api/protection/access-log", headers=world.h("social")).json()
    actions = [(e["action"], e["record_id"]) for e in log if e["entity"] == "protection_referrals"]
    assert ("protection.received", rid) in actions and ("protection.closed", rid) in actions
    assert ("protection.create", rid) in actions
    assert client.get("/api/protection/access-log", headers=world.h("admin")).status_code == 403
    # The journal holds ids and states only.
    rows = db.scalars(select(AuditLog).where(AuditLog.entity == "protection_referrals")).all()
    assert all("陳小妹" not in str(a.detail) for a in rows)


def test_a_care_visit_follows_the_same_rules(client, db, world):
    body = {**VISIT, "community_id": world.c1.id, "visited_on": dt.date.today().isoformat()}
    r = client.post("/api/protection/care-visits", json=body, headers=world.h("st1"))
    assert r.status_code == 201, r.text
    vid = r.json()["id"]
    assert (
        client.get(f"/api/protection/care-visits/{vid}", headers=world.h("st1")).status_code == 200
    )
    assert (
        client.get(f"/api/protection/care-visits/{vid}", headers=world.h("pol1")).status_code == 404
    )
    r = client.post(f"/api/protection/care-visits/{vid}/receive", headers=world.h("social"))
    assert r.json()["status"] == "received"
    assert (
        client.get(f"/api/protection/care-visits/{vid}", headers=world.h("st1")).status_code == 404
    )
    assert (
        client.get(f"/api/protection/care-visits/{vid}", headers=world.h("social")).status_code
        == 200
    )


def test_who_may_file_and_what_is_checked(client, world):
    for who in ("boss", "fire", "counsel", "city", "admin", "public"):
        r = client.post("/api/protection/referrals", json=REFERRAL, headers=world.h(who))
        assert r.status_code in (401, 403), who
    # A community files for its own community only, and must name it.
    r = client.post("/api/protection/referrals", json=REFERRAL, headers=world.h("org1"))
    assert r.status_code == 400
    r = client.post(
        "/api/protection/referrals", json={**REFERRAL, "community_id": world.c2.id},
        headers=world.h("org1"),
    )  # fmt: skip
    assert r.status_code == 404
    r = client.post(
        "/api/protection/referrals", json={**REFERRAL, "kind": "theft", "community_id": world.c1.id},
        headers=world.h("org1"),
    )  # fmt: skip
    assert r.status_code == 400 and "陳小妹" not in r.text
    # Police and district offices may file without a community (the district routes it).
    r = client.post("/api/protection/referrals", json=REFERRAL, headers=world.h("dist1"))
    assert r.status_code == 201 and r.json()["district"] == "測試甲區"


def test_protection_pages_audit_every_read(client, db, world):
    rid = client.post(
        "/api/protection/referrals", json={**REFERRAL, "community_id": world.c1.id},
        headers=world.h("org1"),
    ).json()["id"]  # fmt: skip
    social = world.users["social"].id
    before = len(audit_rows(db, social, "protection_referrals"))
    r = client.get("/services/protection", headers=world.h("social"))
    assert r.status_code == 200 and "疑似兒童及少年保護事件" in r.text
    assert r.headers["Cache-Control"] == "private, no-store"
    r = client.get(f"/services/protection/referrals/{rid}", headers=world.h("social"))
    assert r.status_code == 200 and "陳小妹" in r.text and "本次讀取已留存紀錄" in r.text
    rows = audit_rows(db, social, "protection_referrals")[before:]
    assert ("protection.list", str(rid)) in rows and ("protection.read", str(rid)) in rows
    page = db.scalars(
        select(AuditLog).where(AuditLog.actor_id == social, AuditLog.entity_id == str(rid))
    ).all()
    assert {a.detail["via"] for a in page} == {"page"}
    # The filer's page lists their own submission; other roles get nothing.
    assert "陳小妹" not in client.get("/services/protection", headers=world.h("org1")).text
    assert str(rid) in client.get("/services/protection", headers=world.h("org1")).text
    for who in ("boss", "city", "fire", "admin", "public"):
        r = client.get("/services/protection", headers=world.h(who))
        assert r.status_code in (401, 403) and "陳小妹" not in r.text, who
