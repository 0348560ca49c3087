"""社區警政治安「e話」: generated from the data, edited, published, archived and public; printable
and e-mail-ready HTML."""

from __future__ import annotations

import datetime as dt
import re

from tests.services.conftest import point_in
from workflow.roc import add_months

TODAY = dt.date.today()
MONTH = TODAY.strftime("%Y-%m")
NEXT = add_months(TODAY, 1)


def feature(geometry, **props):
    return {"type": "Feature", "geometry": geometry, "properties": props}


def seed_month(client, world):
    """A month of work in community c1: a hazard fixed, a camera installed, a meeting held,
    incidents, a talk, and a disaster-prevention course next month."""
    h = client.post(
        "/api/hazards",
        json=feature(point_in(world.v1, 10, 10), community_id=world.c1.id, category="poor_lighting",
                     severity=3, title="和平路巷口路燈"),
        headers=world.h("org1"),
    )  # fmt: skip
    assert h.status_code == 201, h.text
    r = client.patch(
        f"/api/hazards/{h.json()['id']}", json={"properties": {"status": "fixed"}},
        headers={**world.h("pol1"), "If-Match": h.headers["ETag"]},
    )  # fmt: skip
    assert r.status_code == 200, r.text
    cam = client.post(
        "/api/cameras",
        json=feature(point_in(world.v1, -30, 5), community_id=world.c1.id, status="installed",
                     owner="police", bearing_deg=90, fov_deg=60, range_m=40,
                     installed_at=TODAY.isoformat(), name="祕密鏡頭 A-17"),
        headers=world.h("pol1"),
    )  # fmt: skip
    assert cam.status_code == 201, cam.text
    m = client.post(
        "/api/safety_meetings",
        json=feature(None, community_id=world.c1.id, held_on=TODAY.isoformat(), place="甲一活動中心", attendees=25),
        headers=world.h("org1"),
    )  # fmt: skip
    assert m.status_code == 201, m.text
    client.post(
        "/api/safety_meetings",
        json=feature(None, community_id=world.c1.id, held_on=(NEXT + dt.timedelta(days=2)).isoformat(), place="里民活動中心"),
        headers=world.h("org1"),
    )  # fmt: skip
    for when, kind in ((TODAY, "burglary"), (TODAY, "fraud"), (add_months(TODAY, -1), "burglary")):
        r = client.post(
            "/api/incidents",
            json=feature(point_in(world.v1, 5, -5), type=kind,
                         occurred_at=dt.datetime.combine(when, dt.time(1, 0), tzinfo=dt.UTC).isoformat()),
            headers=world.h("pol1"),
        )  # fmt: skip
        assert r.status_code == 201, r.text
    client.post(
        "/api/promotion-events",
        json={"community_id": world.c1.id, "topic": "anti_fraud", "occasion": "meeting",
              "held_on": TODAY.isoformat(), "title": "防詐宣導", "audience": "居民", "attendance": 30,
              "speaker_unit": "甲派出所"},
        headers=world.h("st1"),
    )  # fmt: skip
    course = client.post(
        "/api/disaster-requests",
        json={"community_id": world.c1.id, "topics": ["earthquake"], "content": "地震避難",
              "requested_date": (NEXT + dt.timedelta(days=4)).isoformat(), "start_time": "09:00",
              "place": "甲一國小", "expected_attendance": 50, "contact_name": "林幹事",
              "contact_phone": "02-1"},
        headers=world.h("org1"),
    ).json()  # fmt: skip
    client.post(
        f"/api/disaster-requests/{course['id']}/accept", json={"instructors": ["張教官"]},
        headers=world.h("fire"),
    )  # fmt: skip


def test_a_community_issue_is_generated_edited_and_published(client, world):
    seed_month(client, world)
    r = client.post(
        "/api/bulletins", json={"scope": "community", "month": MONTH, "community_id": world.c1.id},
        headers=world.h("org1"),
    )  # fmt: skip
    assert r.status_code == 201, r.text
    issue = r.json()
    iid, facts = issue["id"], issue["facts"]
    assert issue["status"] == "draft" and issue["title"].startswith("甲一社區｜社區警政治安「e話」")
    assert facts["hazards_fixed"]["count"] == 1
    assert facts["hazards_fixed"]["items"][0]["title"] == "和平路巷口路燈"
    assert facts["cameras_installed"] == 1 and len(facts["meetings"]) == 1
    assert facts["incidents"]["months"][-1] == {
        "month": TODAY.replace(day=1).isoformat(),
        "total": 2,
    }
    assert facts["incidents"]["months"][-2]["total"] == 1
    assert {e["label"] for e in facts["incidents"]["by_type"]} == {"住宅竊盜", "詐欺"}
    assert facts["promotion"]["events"] == 1
    assert [u["kind"] for u in facts["upcoming"]] == ["社區治安會議", "防災宣導"]
    assert facts["upcoming"][1]["title"] == "地震"
    assert "165" in issue["texts"]["anti_fraud_tips"] and "測試一分局" in issue["texts"]["closing"]
    # Camera positions and names are police information: the bulletin has a count only.
    assert "祕密鏡頭" not in r.text and "coordinates" not in r.text

    # Drafts are for editors only.
    assert client.get(f"/api/bulletins/{iid}").status_code == 404
    assert client.get(f"/api/bulletins/{iid}", headers=world.h("org2")).status_code == 404
    assert client.get(f"/api/bulletins/{iid}", headers=world.h("st1")).json()["editable"] is True

    r = client.patch(
        f"/api/bulletins/{iid}",
        json={"texts": {"notes": "本月 20 日晚間里民大會，歡迎參加。", "anti_fraud_tips": "接到「猜猜我是誰」電話先掛斷查證。"}},
        headers={**world.h("org1"), "If-Match": r.headers["ETag"]},
    )  # fmt: skip
    assert r.status_code == 200, r.text
    assert r.json()["texts"]["notes"].startswith("本月 20 日")
    # Generating the month again refreshes the figures of the same draft and keeps the texts.
    again = client.post(
        "/api/bulletins", json={"scope": "community", "month": MONTH, "community_id": world.c1.id},
        headers=world.h("st1"),
    ).json()  # fmt: skip
    assert again["id"] == iid and again["texts"]["anti_fraud_tips"].startswith("接到")

    r = client.post(f"/api/bulletins/{iid}/publish", headers=world.h("org1"))
    assert r.status_code == 200 and r.json()["status"] == "published"
    r = client.patch(
        f"/api/bulletins/{iid}", json={"title": "x"},
        headers={**world.h("org1"), "If-Match": r.headers["ETag"]},
    )  # fmt: skip
    assert r.status_code == 409
    assert (
        client.post(f"/api/bulletins/{iid}/regenerate", headers=world.h("org1")).status_code == 409
    )

    # Archived and public.
    archive = client.get("/api/bulletins").json()
    assert iid in [i["id"] for i in archive["items"]]
    assert client.get(f"/api/bulletins/{iid}").json()["texts"]["notes"].startswith("本月 20 日")


def test_the_printable_and_email_pages(client, world):
    seed_month(client, world)
    iid = client.post(
        "/api/bulletins", json={"scope": "community", "month": MONTH, "community_id": world.c1.id},
        headers=world.h("org1"),
    ).json()["id"]  # fmt: skip
    client.post(f"/api/bulletins/{iid}/publish", headers=world.h("org1"))
    page = client.get(f"/services/bulletins/{iid}")
    assert page.status_code == 200
    html = page.text
    roc = f"{TODAY.year - 1911} 年 {TODAY.month} 月"
    assert "社區警政治安「e話」" in html and roc in html and "和平路巷口路燈" in html
    assert "反詐騙小叮嚀" in html and "下月活動預告" in html and "@media print" in html
    assert not re.search(r"""(src|href)=["']?https?:""", html) and "@import" not in html

    mail = client.get(f"/services/bulletins/{iid}/email")
    assert mail.status_code == 200
    body = mail.text
    assert "<style" not in body and "<link" not in body and "<script" not in body
    assert "http" not in body and 'style="' in body and 'role="presentation"' in body
    assert roc in body and "反詐騙小叮嚀" in body and "祕密鏡頭" not in body
    archive = client.get("/services/bulletins")
    assert archive.status_code == 200 and "甲一社區" in archive.text


def test_district_issues_and_who_edits_them(client, world):
    seed_month(client, world)
    body = {"scope": "district", "month": MONTH, "district_id": world.d1.id}
    r = client.post("/api/bulletins", json=body, headers=world.h("dist1"))
    assert r.status_code == 201, r.text
    facts = r.json()["facts"]
    assert facts["area"] == "測試甲區" and facts["communities"] == 1
    assert facts["hazards_fixed"]["count"] == 1 and facts["meetings"][0]["community"] == "甲一社區"
    other = {"scope": "district", "month": MONTH, "district_id": world.d2.id}
    assert client.post("/api/bulletins", json=other, headers=world.h("dist1")).status_code == 403
    assert client.post("/api/bulletins", json=other, headers=world.h("city")).status_code == 201
    for who in ("org1", "boss", "fire", "social", "public"):
        assert client.post("/api/bulletins", json=body, headers=world.h(who)).status_code in (
            401,
            403,
        ), who
    future = {**body, "month": add_months(TODAY, 2).strftime("%Y-%m")}
    assert client.post("/api/bulletins", json=future, headers=world.h("dist1")).status_code == 400
