"""Disaster-prevention requests to the fire bureau end to end, and the printable form."""

from __future__ import annotations

import datetime as dt

TOMORROW = dt.date.today() + dt.timedelta(days=14)


def body(world, **kw):
    return {
        "community_id": world.c1.id,
        "topics": ["first_aid_cpr", "fire", "bleeding_control"],
        "content": "居家火災預防與 CPR、AED 操作教學",
        "requested_date": TOMORROW.isoformat(),
        "start_time": "19:00",
        "end_time": "21:00",
        "place": "甲一社區活動中心",
        "expected_attendance": 40,
        "contact_name": "林幹事",
        "contact_phone": "02-2222-3333",
        **kw,
    }


def test_community_asks_fire_bureau_accepts_and_the_event_is_recorded(client, world):
    r = client.post("/api/disaster-requests", json=body(world), headers=world.h("org1"))
    assert r.status_code == 201, r.text
    req = r.json()
    # The plan's order, whatever order they were ticked in.
    assert req["topics"] == ["fire", "first_aid_cpr", "bleeding_control"]
    assert req["status"] == "submitted" and req["fire_unit"] == "新北市政府消防局"
    rid = req["id"]

    # Only the fire bureau answers; the community cannot accept its own request.
    r = client.post(
        f"/api/disaster-requests/{rid}/accept", json={"instructors": ["張教官"]},
        headers=world.h("org1"),
    )  # fmt: skip
    assert r.status_code == 409
    r = client.post(
        f"/api/disaster-requests/{rid}/accept",
        json={"instructors": ["張教官", "李教官"], "reply": "將攜帶 AED 訓練機"},
        headers=world.h("fire"),
    )
    assert r.status_code == 200, r.text
    assert r.json()["status"] == "accepted" and r.json()["scheduled_date"] == TOMORROW.isoformat()

    # The precinct and the district office can follow it; another community cannot.
    assert client.get(f"/api/disaster-requests/{rid}", headers=world.h("pol1")).status_code == 200
    assert client.get(f"/api/disaster-requests/{rid}", headers=world.h("dist1")).status_code == 200
    assert client.get(f"/api/disaster-requests/{rid}", headers=world.h("org2")).status_code == 404
    assert client.get(f"/api/disaster-requests/{rid}", headers=world.h("public")).status_code == 401

    r = client.post(
        f"/api/disaster-requests/{rid}/held",
        json={"held_on": dt.date.today().isoformat(), "attendance": 37, "notes": "演練順利"},
        headers=world.h("org1"),
    )
    assert r.status_code == 200, r.text
    assert r.json()["status"] == "held" and r.json()["attendance"] == 37
    figures = client.get(
        f"/api/disaster-requests/figures?year={dt.date.today().year}", headers=world.h("fire")
    ).json()
    cpr = next(t for t in figures["by_topic"] if t["topic"] == "first_aid_cpr")
    assert cpr == {"topic": "first_aid_cpr", "label": "急救技能（心肺復甦術）", "requests": 1,
                   "held": 1, "attendance": 37}  # fmt: skip
    assert figures["by_district"][0]["district"] == "測試甲區"


def test_another_date_is_proposed_and_agreed(client, world):
    rid = client.post("/api/disaster-requests", json=body(world), headers=world.h("org1")).json()[
        "id"
    ]
    later = TOMORROW + dt.timedelta(days=7)
    r = client.post(
        f"/api/disaster-requests/{rid}/propose-date",
        json={"proposed_date": later.isoformat(), "reply": "原日期教官已有勤務", "instructors": []},
        headers=world.h("fire"),
    )
    assert r.status_code == 200 and r.json()["status"] == "rescheduled"
    r = client.post(f"/api/disaster-requests/{rid}/agree-date", headers=world.h("org1"))
    assert r.status_code == 200, r.text
    assert r.json()["status"] == "accepted" and r.json()["scheduled_date"] == later.isoformat()
    r = client.post(
        f"/api/disaster-requests/{rid}/instructors", json={"instructors": ["王教官"]},
        headers=world.h("fire"),
    )  # fmt: skip
    assert r.json()["instructors"] == ["王教官"]
    assert [e["to_status"] for e in r.json()["history"]] == [
        "submitted", "rescheduled", "accepted", "accepted",
    ]  # fmt: skip


def test_declined_and_withdrawn_and_bad_requests(client, world):
    rid = client.post("/api/disaster-requests", json=body(world), headers=world.h("org1")).json()[
        "id"
    ]
    r = client.post(
        f"/api/disaster-requests/{rid}/decline", json={"reply": "經費不足"}, headers=world.h("fire")
    )
    assert r.json()["status"] == "declined"
    r = client.post(f"/api/disaster-requests/{rid}/withdraw", json={}, headers=world.h("org1"))
    assert r.status_code == 409
    for bad in (
        {"topics": []},
        {"topics": ["tsunami"]},
        {"requested_date": dt.date.today().isoformat()},
        {"expected_attendance": 0},
    ):
        r = client.post("/api/disaster-requests", json=body(world, **bad), headers=world.h("org1"))
        assert r.status_code in (400, 422), bad
    # Another community's organisation, the police and the bureau itself do not file for c1.
    for who in ("org2", "pol1", "fire"):
        r = client.post("/api/disaster-requests", json=body(world), headers=world.h(who))
        assert r.status_code in (403, 404), who


def test_request_pages_and_the_printable_form(client, world):
    rid = client.post("/api/disaster-requests", json=body(world), headers=world.h("org1")).json()[
        "id"
    ]
    r = client.get(f"/services/disaster-requests/{rid}/form", headers=world.h("org1"))
    assert r.status_code == 200
    html = r.text
    assert "社區防災宣導申請表" in html and "陸、二、(三)" in html
    assert "甲一社區發展協會" in html and "受文單位" in html and "新北市政府消防局" in html
    roc = f"民國 {TOMORROW.year - 1911} 年 {TOMORROW.month} 月 {TOMORROW.day} 日"
    assert roc in html and "19:00" in html
    assert "☑ 火災" in html and "☐ 地震" in html and "☑ 急救技能（心肺復甦術）" in html
    assert "核派教官" in html and "用印" in html
    assert "http" not in html.replace("http-equiv", "")  # no CDN, no external font
    blank = client.get("/services/disaster-requests/blank-form")
    assert blank.status_code == 200 and "☐ 颱風" in blank.text
    r = client.get("/services/disaster-requests", headers=world.h("fire"))
    assert r.status_code == 200 and "甲一社區" in r.text
    r = client.get(f"/services/disaster-requests/{rid}", headers=world.h("fire"))
    assert r.status_code == 200 and "受理並核派教官" in r.text
