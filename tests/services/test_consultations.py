"""防竊達人 end to end: a household asks, the station assigns, visits, follows up; the
precise place stays with the police and everyone else sees village counts."""

from __future__ import annotations

import datetime as dt

from tests.services.conftest import point_in

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64

CHECKLIST = {
    "doors": {"rating": "fair", "note": "後門門栓老舊"},
    "windows": {"rating": "poor", "note": "一樓氣窗無鐵窗"},
    "locks": {"rating": "poor", "note": "建議更換防撬鎖"},
    "lighting": {"rating": "fair", "note": ""},
    "sightlines": {"rating": "good", "note": ""},
    "alarms": {"rating": "absent", "note": "建議裝設感應燈"},
}


def request_body(world, **kw):
    return {
        "reason": "burgled",
        "household_name": "王小明",
        "phone": "0912-000-111",
        "address": "新北市測試甲區和平路１２號",
        "location": point_in(world.v1),
        "burgled_on": (dt.date.today() - dt.timedelta(days=3)).isoformat(),
        **kw,
    }


def test_station_takes_a_request_assigns_visits_and_closes(client, world):
    r = client.post("/api/consultations", json=request_body(world), headers=world.h("st1"))
    assert r.status_code == 201, r.text
    receipt = r.json()
    assert receipt["village"] == "甲一里" and receipt["status"] == "requested"
    assert "household_name" not in receipt and "address" not in receipt
    cid = receipt["id"]

    got = client.get(f"/api/consultations/{cid}", headers=world.h("st1")).json()
    assert got["station"] == "甲派出所" and got["household_name"] == "王小明"
    assert got["location"]["coordinates"][0] > 121
    assert [m["target"] for m in got["moves"]] == ["assigned", "cancelled"]

    r = client.post(
        f"/api/consultations/{cid}/assign",
        json={"consultant_name": "陳防竊顧問", "scheduled_for": dt.date.today().isoformat()},
        headers=world.h("st1"),
    )
    assert r.status_code == 200 and r.json()["status"] == "assigned"

    follow = dt.date.today() + dt.timedelta(days=7)
    r = client.post(
        f"/api/consultations/{cid}/visit",
        json={
            "visited_on": dt.date.today().isoformat(),
            "checklist": CHECKLIST,
            "advice": "加裝一樓鐵窗與感應燈，更換防撬鎖。",
            "follow_up_on": follow.isoformat(),
        },
        headers=world.h("st1"),
    )
    assert r.status_code == 200, r.text
    assert r.json()["checklist"]["locks"]["rating"] == "poor"

    r = client.post(
        f"/api/consultations/{cid}/photos",
        files={"file": ("window.png", PNG, "image/png")},
        data={"caption": "一樓氣窗"},
        headers=world.h("st1"),
    )
    assert r.status_code == 201, r.text
    photo = client.get(r.headers["Location"], headers=world.h("st1"))
    assert photo.content == PNG and photo.headers["Cache-Control"] == "private, no-store"
    assert client.get(r.headers["Location"], headers=world.h("org1")).status_code == 403

    due = client.get("/api/consultations/reminders", headers=world.h("st1")).json()
    assert [d["id"] for d in due] == [cid]

    r = client.post(
        f"/api/consultations/{cid}/follow-up",
        json={"followed_up_on": follow.isoformat(), "note": "已加裝鐵窗，住戶滿意。"},
        headers=world.h("pol1"),
    )
    assert r.status_code == 200 and r.json()["status"] == "closed"
    history = r.json()["history"]
    assert [e["to_status"] for e in history] == ["requested", "assigned", "visited", "closed"]

    # A closed case cannot be visited again.
    r = client.post(
        f"/api/consultations/{cid}/cancel", json={"comment": "x"}, headers=world.h("st1")
    )
    assert r.status_code == 409 and r.json()["error"]["code"] == "service_invalid_transition"


def test_a_community_files_for_a_resident_and_sees_only_a_receipt(client, world):
    body = request_body(world, reason="general", burgled_on=None, community_id=world.c1.id)
    r = client.post("/api/consultations", json=body, headers=world.h("org1"))
    assert r.status_code == 201, r.text
    cid = r.json()["id"]
    mine = client.get("/api/consultations/mine", headers=world.h("org1")).json()
    assert [m["id"] for m in mine] == [cid] and "address" not in mine[0]
    for who in ("org1", "boss", "dist1", "fire", "social", "counsel", "admin", "public"):
        r = client.get(f"/api/consultations/{cid}", headers=world.h(who))
        assert r.status_code in (401, 403), (who, r.status_code)
        assert "王小明" not in r.text
    # Another precinct's police do not see it either.
    assert client.get(f"/api/consultations/{cid}", headers=world.h("pol2")).status_code == 404
    assert client.get(f"/api/consultations/{cid}", headers=world.h("st2")).status_code == 404
    assert client.get("/api/consultations", headers=world.h("pol2")).json()["total"] == 0
    # A community must name its community; the place must be in New Taipei's villages.
    r = client.post(
        "/api/consultations", json=request_body(world, reason="general", burgled_on=None),
        headers=world.h("org1"),
    )  # fmt: skip
    assert r.status_code == 400


def test_repeat_victims_come_first_in_the_reminders(client, world):
    def visit(cid, days):
        client.post(
            f"/api/consultations/{cid}/assign", json={"consultant_name": "顧問"},
            headers=world.h("city"),
        )  # fmt: skip
        r = client.post(
            f"/api/consultations/{cid}/visit",
            json={
                "visited_on": dt.date.today().isoformat(),
                "checklist": CHECKLIST,
                "advice": "加強門鎖。",
                "follow_up_on": (dt.date.today() + dt.timedelta(days=days)).isoformat(),
            },
            headers=world.h("city"),
        )
        assert r.status_code == 200, r.text

    once = client.post(
        "/api/consultations",
        json=request_body(
            world, address="新北市測試甲區中山路1號", location=point_in(world.v1, 80, 80)
        ),
        headers=world.h("st1"),
    ).json()["id"]
    first = client.post("/api/consultations", json=request_body(world), headers=world.h("st1"))
    # The same home, the address written with half-width digits and 台: burgled again.
    again = client.post(
        "/api/consultations",
        json=request_body(world, address="新北市測試甲區和平路 12 號".replace("臺", "台")),
        headers=world.h("st1"),
    ).json()["id"]
    visit(once, 1)
    visit(again, 5)
    due = client.get("/api/consultations/reminders", headers=world.h("st1")).json()
    assert [d["id"] for d in due] == [again, once]
    assert due[0]["repeat_victim"] and due[0]["household_burglaries"] == 2
    assert first.status_code == 201
    figures = client.get("/api/consultations/figures", headers=world.h("pol1")).json()
    assert figures["by_station"][0]["repeat_victims"] == 2
    assert figures["by_station"][0]["waiting"] == 1


def test_figures_are_village_counts_for_everyone_else(client, world):
    for _ in range(2):
        client.post("/api/consultations", json=request_body(world), headers=world.h("st1"))
    year = dt.date.today().year
    for who in ("boss", "dist1", "org1", "counsel"):
        r = client.get(f"/api/consultations/figures?year={year}", headers=world.h(who))
        assert r.status_code == 200, (who, r.text)
        body = r.json()
        assert [(s["station"], s["total"]) for s in body["by_station"]] == [("甲派出所", 2)]
        # Two households in one village: too few to show (see the suppression test below).
        assert body["by_village"] == [
            {"code": world.v1.code, "name": "甲一里", "district": "測試甲區", "total": None,
             "burgled": None, "visited": 0, "suppressed": ["total", "burgled"]}
        ]  # fmt: skip
        assert "王小明" not in r.text and "和平路" not in r.text
    # Another community's organisation and another district's office count nothing here.
    assert client.get("/api/consultations/figures", headers=world.h("org2")).json()["total"] == 0
    assert client.get("/api/consultations/figures", headers=world.h("public")).status_code == 401


def test_consultation_pages_render(client, world):
    cid = client.post(
        "/api/consultations", json=request_body(world), headers=world.h("st1")
    ).json()["id"]
    r = client.get("/services/consultations", headers=world.h("st1"))
    assert r.status_code == 200 and "防竊達人" in r.text and "王小明" in r.text
    r = client.get(f"/services/consultations/{cid}", headers=world.h("st1"))
    assert r.status_code == 200 and "民國" in r.text and "甲一里" in r.text
    r = client.get("/services/consultations/figures", headers=world.h("boss"))
    assert r.status_code == 200 and "甲一里" in r.text and "王小明" not in r.text
    assert client.get("/services/consultations", headers=world.h("boss")).status_code == 403


def test_small_village_counts_are_suppressed_for_everyone_but_the_police(client, world):
    """A village count of 1 or 2 would point at the household: "<3" on every page and in the
    API for readers who cannot read the records; a lone hidden cell in a district hides
    the next smallest too, or the district total would give it back."""
    for _ in range(4):
        client.post("/api/consultations", json=request_body(world), headers=world.h("st1"))
    client.post(
        "/api/consultations",
        json=request_body(world, location=point_in(world.v2), reason="general", burgled_on=None),
        headers=world.h("st1"),
    )
    year = dt.date.today().year
    body = client.get(f"/api/consultations/figures?year={year}", headers=world.h("boss")).json()
    rows = {r["name"]: r for r in body["by_village"]}
    assert rows["甲二里"]["total"] is None and "total" in rows["甲二里"]["suppressed"]
    # 甲一里's 4 is hidden too: 測試甲區's 5 minus 4 would reveal 甲二里's 1.
    assert rows["甲一里"]["total"] is None and rows["甲一里"]["burgled"] == 4
    assert rows["甲二里"]["burgled"] == 0 and rows["甲二里"]["visited"] == 0
    assert body["by_district"][0]["total"] == 5
    page = client.get(f"/services/consultations/figures?year={year}", headers=world.h("boss"))
    assert "&lt;3" in page.text and "以免從件數辨識出個別住戶" in page.text
    # The precinct reads the records anyway: its figures stay exact.
    police = client.get(f"/api/consultations/figures?year={year}", headers=world.h("pol1")).json()
    assert {r["name"]: r["total"] for r in police["by_village"]} == {"甲一里": 4, "甲二里": 1}


def test_suppression_rule():
    from workflow.consultations import SMALL_COUNT, suppress, suppress_small_counts

    assert SMALL_COUNT == 3
    assert [suppress(n) for n in (0, 1, 2, 3, None)] == [0, None, None, 3, None]
    rows = [
        {"district": "甲", "name": "a", "total": 1},
        {"district": "甲", "name": "b", "total": 7},
        {"district": "甲", "name": "c", "total": 5},
        {"district": "乙", "name": "d", "total": 2},
        {"district": "乙", "name": "e", "total": 1},
    ]
    out = {r["name"]: r["total"] for r in suppress_small_counts(rows, ("total",), group="district")}
    # a hidden, c (the smallest other) hidden with it; in 乙 two cells hide each other.
    assert out == {"a": None, "b": 7, "c": None, "d": None, "e": None}
