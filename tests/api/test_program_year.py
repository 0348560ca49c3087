"""A whole program year end to end through the HTTP API: apply (draft, resume, submit), the
precinct's review, the city's approval within the quota, the roster (附件2), monthly reports
and overdue flags, expense claims and a claw-back, nominations, scoring, ranking, awards,
certificates and staff rewards, each number checked against the plan's rules."""

from __future__ import annotations

import datetime as dt
import io

import pytest
from geoalchemy2.shape import from_shape
from openpyxl import load_workbook
from pyproj import Transformer
from shapely.geometry import Point
from sqlalchemy import func, select

from geo.enums import CameraOwner, CameraStatus, Role
from geo.models import STORAGE_SRID, ApplicationEvent, Camera
from tests.api.conftest import login
from tests.factories import make_community, make_precinct, make_station, make_user
from workflow.evaluation import load_rubric
from workflow.roc import roc_date

TODAY = dt.date.today()
YEAR = TODAY.year - 1  # a finished year: every month can be reported on
ROC = YEAR - 1911
TO_LONLAT = Transformer.from_crs(3826, 4326, always_xy=True)
PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"
RUBRIC = load_rubric()


def lonlat(x: float, y: float) -> dict:
    lon, lat = TO_LONLAT.transform(x, y)
    return {"type": "Point", "coordinates": [lon, lat]}


def sheet(total: float) -> dict:
    """Scores at the same share of every criterion's weight, adding up to ``total``."""
    return {c.code: round(c.weight * total / 100, 2) for c in RUBRIC.criteria}


def form(village_code: str, *, items=("meetings", "safety_map", "cctv"), amount=30_000) -> dict:
    return {
        "organisation": {"representative": "王理事長", "address": "新北市板橋區測試路 1 號"},
        "contact": {"name": "林承辦", "title": "總幹事", "phone": "02-2960-0000"},
        "village_codes": [village_code],
        "summary": "巷弄照明不足，夜間治安死角多。",
        "goals": "完成安全檢測地圖並增設監視器。",
        "expected_results": "夜間竊案減少。",
        "work_items": [
            {"item": i, "description": f"{i} 辦理內容", "target": "完成"} for i in items
        ],
        "budget": [
            {
                "item": "meetings",
                "name": "治安會議場地與餐點",
                "unit": "場",
                "quantity": 4,
                "unit_price": 2_500,
            },
            {
                "item": "cctv",
                "name": "監視器",
                "unit": "支",
                "quantity": 2,
                "unit_price": (amount - 10_000) // 2,
            },
        ],
    }


@pytest.fixture
def year_world(db, client):
    p1, p2 = make_precinct(db, name="測試甲分局"), make_precinct(db, name="測試乙分局")
    s1 = make_station(db, p1, name="測試甲派出所")
    c1 = make_community(db, precinct=p1, name="甲一社區", station_id=s1.id)
    c2 = make_community(db, precinct=p1, name="甲二社區", station_id=s1.id)
    c5 = make_community(db, precinct=p1, name="甲五社區", station_id=s1.id)
    c3 = make_community(db, precinct=p2, name="乙三社區")
    c4 = make_community(db, precinct=p2, name="乙四社區")
    users = {}
    for name, c in (("org1", c1), ("org2", c2), ("org3", c3), ("org4", c4), ("org5", c5)):
        make_user(db, role=Role.community, username=name, organisation_id=c.organisation_id)
    make_user(db, role=Role.precinct, username="pol1", precinct_id=p1.id)
    make_user(db, role=Role.precinct, username="pol2", precinct_id=p2.id)
    make_user(db, role=Role.city_police, username="city")
    make_user(db, role=Role.leader, username="boss")
    counsellors = [
        make_user(db, role=Role.counselling, username=f"counsel{i}", display_name=f"委員{i}")
        for i in (1, 2, 3, 4)
    ]
    for name in (
        "org1",
        "org2",
        "org3",
        "org4",
        "org5",
        "pol1",
        "pol2",
        "city",
        "boss",
        "counsel1",
        "counsel2",
        "counsel3",
        "counsel4",
    ):
        users[name] = login(client, name)
    camera = Camera(
        community_id=c1.id,
        precinct_id=p1.id,
        status=CameraStatus.approved,
        owner=CameraOwner.community,
        geom=from_shape(Point(295_100, 2_766_100), srid=STORAGE_SRID),
        bearing_deg=90,
        fov_deg=90,
        range_m=40,
    )
    db.add(camera)
    db.flush()
    return {
        "h": users,
        "c": {1: c1, 2: c2, 3: c3, 4: c4, 5: c5},
        "p1": p1,
        "p2": p2,
        "s1": s1,
        "camera": camera,
        "counsellors": counsellors,
        "village": {k: c.villages[0].code for k, c in {1: c1, 2: c2, 3: c3, 4: c4, 5: c5}.items()},
    }


def apply_and_submit(client, w, n: int) -> int:
    h = w["h"][f"org{n}"]
    r = client.post(
        "/api/applications",
        json={"year": YEAR, "community_id": w["c"][n].id, **form(w["village"][n])},
        headers=h,
    )
    assert r.status_code == 201, r.text
    app_id = r.json()["id"]
    r = client.post(f"/api/applications/{app_id}/transitions", json={"to": "submitted"}, headers=h)
    assert r.status_code == 200, r.text
    return app_id


def move(client, headers, app_id, to, expect=200, **extra):
    r = client.post(
        f"/api/applications/{app_id}/transitions", json={"to": to, **extra}, headers=headers
    )
    assert r.status_code == expect, r.text
    return r.json()


def test_a_whole_program_year(client, db, year_world):
    w, h = year_world, year_world["h"]

    # ---------------------------------------------------------------- the city opens the year
    r = client.post(
        "/api/program-years",
        json={
            "year": YEAR,
            "application_opens": str(TODAY - dt.timedelta(days=10)),
            "application_closes": str(TODAY + dt.timedelta(days=30)),
        },
        headers=h["city"],
    )
    assert r.status_code == 201, r.text
    opened = r.json()
    # 貳、三「年度補助 33 個為原則」; 捌「初、複評成績須達 80 分」「12 個…前 6 名」
    assert opened["quota"] == 33 and opened["roc_year"] == ROC
    assert opened["settings"]["evaluation_threshold"] == 80
    assert (opened["settings"]["certified_count"], opened["settings"]["quality_count"]) == (12, 6)
    assert (
        client.post("/api/program-years", json={"year": YEAR}, headers=h["city"]).status_code == 409
    )
    assert (
        client.post("/api/program-years", json={"year": YEAR + 1}, headers=h["org1"]).status_code
        == 403
    )
    assert (
        len(client.get(f"/api/program-years/{YEAR}/division-of-labour", headers=h["boss"]).json())
        >= 15
    )

    # ---------------------------------------------------------------- 附件1: draft, resume, submit
    r = client.post(
        "/api/applications",
        json={"year": YEAR, "community_id": w["c"][1].id, "summary": "草稿"},
        headers=h["org1"],
    )
    assert r.status_code == 201, r.text
    a1 = r.json()["id"]
    assert r.json()["status"] == "draft" and r.json()["form"]["summary"] == "草稿"
    # one application per community and year (貳、三「每年補助 1 次」)
    dup = client.post(
        "/api/applications", json={"year": YEAR, "community_id": w["c"][1].id}, headers=h["org1"]
    )
    assert dup.status_code == 409 and dup.json()["error"]["code"] == "application_duplicate"
    # an incomplete draft cannot be submitted
    bad = move(client, h["org1"], a1, "submitted", expect=422)
    assert bad["error"]["code"] == "submission_incomplete" and "經費概算" in bad["error"]["message"]
    resumed = client.get(f"/api/applications/{a1}", headers=h["org1"])
    etag = resumed.headers["ETag"]
    assert resumed.json()["form"]["summary"] == "草稿"
    stale = client.put(
        f"/api/applications/{a1}/form",
        json=form(w["village"][1]),
        headers={**h["org1"], "If-Match": '"999"'},
    )
    assert stale.status_code == 409
    saved = client.put(
        f"/api/applications/{a1}/form",
        json=form(w["village"][1]),
        headers={**h["org1"], "If-Match": etag},
    )
    assert saved.status_code == 200, saved.text
    assert saved.json()["budget_total"] == 30_000
    assert [b["amount"] for b in saved.json()["budget"]] == [10_000, 20_000]
    # submitting twice with one Idempotency-Key acts once and answers the same
    key = {"Idempotency-Key": "submit-a1-0001"}
    first = client.post(
        f"/api/applications/{a1}/transitions",
        json={"to": "submitted"},
        headers={**h["org1"], **key},
    )
    again = client.post(
        f"/api/applications/{a1}/transitions",
        json={"to": "submitted"},
        headers={**h["org1"], **key},
    )
    assert first.status_code == again.status_code == 200
    assert first.json() == again.json() and first.json()["status"] == "submitted"
    reused = client.post(
        f"/api/applications/{a1}/transitions",
        json={"to": "withdrawn"},
        headers={**h["org1"], **key},
    )
    assert reused.status_code == 422 and reused.json()["error"]["code"] == "idempotency_key_reused"
    assert len(client.get(f"/api/applications/{a1}", headers=h["org1"]).json()["events"]) == 1
    # the next actor is told in the app
    notes = client.get("/api/notifications", headers=h["pol1"]).json()
    assert notes["unread"] >= 1 and any("受理初審" in n["title"] for n in notes["items"])
    assert client.get("/api/notifications", headers=h["pol2"]).json()["unread"] == 0

    # ---------------------------------------------------------------- precinct review
    assert client.get(f"/api/applications/{a1}", headers=h["pol2"]).status_code == 404
    assert move(client, h["pol2"], a1, "forwarded", expect=404)
    assert (
        move(client, h["org1"], a1, "forwarded", expect=409)["error"]["code"]
        == "invalid_transition"
    )
    # a return for changes carries an attachment (uploaded first)
    up = client.post(
        f"/api/applications/{a1}/files",
        files={"file": ("審查意見.pdf", PDF, "application/pdf")},
        data={"purpose": "attachment"},
        headers=h["pol1"],
    )
    assert up.status_code == 201, up.text
    readonly = client.post(
        f"/api/applications/{a1}/files",
        files={"file": ("x.pdf", PDF, "application/pdf")},
        headers=h["boss"],
    )
    assert readonly.status_code == 403  # leaders read only
    returned = move(
        client, h["pol1"], a1, "returned", comment="請補充經費單價。", attachments=[up.json()["id"]]
    )
    assert returned["status"] == "returned"
    assert returned["event"]["attachments"][0]["filename"] == "審查意見.pdf"
    assert client.get(up.json()["href"], headers=h["org1"]).content == PDF
    assert (
        client.put(
            f"/api/applications/{a1}/form",
            json=form(w["village"][1], amount=40_000),
            headers=h["org1"],
        ).json()["budget_total"]
        == 40_000
    )
    move(client, h["org1"], a1, "submitted", comment="已補正。")
    assert move(client, h["pol1"], a1, "forwarded", comment="初審通過。")["status"] == "forwarded"
    # the city sends it back to the precinct once, which forwards it again
    assert (
        move(client, h["city"], a1, "submitted", comment="請分局確認範圍。")["status"]
        == "submitted"
    )
    assert any(
        "退回分局重新審查" in n["title"]
        for n in client.get("/api/notifications", headers=h["pol1"]).json()["items"]
    )
    move(client, h["pol1"], a1, "forwarded")

    a2 = apply_and_submit(client, w, 2)
    assert (
        move(client, h["pol1"], a2, "rejected", comment="範圍與他案重疊。")["status"] == "rejected"
    )
    move(client, h["org2"], a2, "submitted", expect=409)
    a3, a4, a5 = (apply_and_submit(client, w, n) for n in (3, 4, 5))
    move(client, h["pol2"], a3, "forwarded")
    move(client, h["pol2"], a4, "forwarded")
    move(client, h["pol1"], a5, "forwarded")

    # ---------------------------------------------------------------- city approval, quota
    # 「視經費狀況酌以增減」: this year's budget allows 3
    assert (
        client.patch(f"/api/program-years/{YEAR}", json={"quota": 3}, headers=h["city"]).json()[
            "quota"
        ]
        == 3
    )
    advice = client.get(f"/api/program-years/{YEAR}/selection-advice", headers=h["city"]).json()
    assert advice["candidates"] == 4 and advice["seats"] == 3 and advice["exceeds_quota"]
    assert sum(i["advised"] for i in advice["items"]) == 3 and "不構成核定" in advice["notice"]
    assert (
        client.get(f"/api/program-years/{YEAR}/selection-advice", headers=h["pol1"]).status_code
        == 403
    )
    move(client, h["pol1"], a1, "approved", expect=409)  # a precinct cannot approve
    approved = move(
        client,
        h["city"],
        a1,
        "approved",
        comment="核定補助。",
        approved_start=f"{YEAR}-01-01",
        approved_end=f"{YEAR}-12-31",
    )
    assert approved["form"]["approved_start"] == f"{YEAR}-01-01"
    move(client, h["city"], a3, "approved")
    move(client, h["city"], a5, "approved")
    full = move(client, h["city"], a4, "approved", expect=409)
    assert full["error"]["code"] == "quota_exceeded"
    move(client, h["city"], a4, "not_selected", comment="名額已滿，列為備取。")
    assert (
        client.patch(f"/api/program-years/{YEAR}", json={"quota": 2}, headers=h["city"]).status_code
        == 409
    )
    year_view = client.get(f"/api/program-years/{YEAR}", headers=h["boss"]).json()
    assert (year_view["subsidised"], year_view["seats_left"]) == (3, 0)

    roster = client.get(f"/api/program-years/{YEAR}/roster", headers=h["boss"]).json()
    assert roster["count"] == 3 and roster["budget_total"] == 40_000 + 30_000 + 30_000
    assert {i["community"] for i in roster["items"]} == {"甲一社區", "乙三社區", "甲五社區"}
    assert client.get(f"/api/program-years/{YEAR}/roster", headers=h["pol2"]).json()["count"] == 1

    # ---------------------------------------------------------------- monthly monitoring (管考)
    def report(n, app_id, month, states, evidence=()):
        r = client.post(
            f"/api/applications/{app_id}/reports",
            json={
                "month": f"{YEAR}-{month:02d}-01",
                "summary": f"{month} 月辦理情形",
                "items": [
                    {"item": i, "progress": p, "done_text": "辦理完成" if p == "done" else ""}
                    for i, p in states.items()
                ],
                "evidence": list(evidence),
            },
            headers=h[f"org{n}"],
        )
        assert r.status_code == 201, r.text
        return r.json()

    photo = client.post(
        f"/api/applications/{a1}/files",
        files={"file": ("會議照片.png", b"\x89PNG\r\n\x1a\n" + b"0" * 64, "image/png")},
        data={"purpose": "evidence"},
        headers=h["org1"],
    ).json()
    first = report(1, a1, 1, {"meetings": "in_progress"}, [photo["id"]])
    assert first["evidence"][0]["filename"] == "會議照片.png"
    assert (
        client.get(f"/api/applications/{a1}", headers=h["org1"]).json()["status"] == "in_progress"
    )
    report(1, a1, 2, {"meetings": "done", "safety_map": "in_progress"})
    report(1, a1, 3, {"meetings": "done", "safety_map": "in_progress", "cctv": "not_started"})
    bad = client.post(
        f"/api/applications/{a1}/reports",
        json={"month": f"{YEAR}-03-01", "items": [{"item": "newsletter", "progress": "done"}]},
        headers=h["org1"],
    )
    assert bad.status_code == 400  # not a planned work item
    assert (
        client.post(
            f"/api/applications/{a3}/reports",
            json={"month": f"{YEAR}-01-01", "items": [{"item": "meetings", "progress": "done"}]},
            headers=h["org1"],
        ).status_code
        == 404
    )
    as_of = f"{YEAR}-04-20"  # March's report was due on 10 April (settings.monthly_report_day)
    o1 = client.get(
        f"/api/program-years/{YEAR}/monitoring/overdue", params={"as_of": as_of}, headers=h["pol1"]
    ).json()
    o2 = client.get(
        f"/api/program-years/{YEAR}/monitoring/overdue", params={"as_of": as_of}, headers=h["pol2"]
    ).json()
    # a1 filed Jan–Mar; a5 filed none (3 overdue); a3 in 乙 filed none (3 overdue)
    assert {(i["community"], i["month_label"]) for i in o1["items"]} == {
        ("甲五社區", f"{ROC} 年 {m} 月") for m in (1, 2, 3)
    }
    assert o2["count"] == 3 and {i["community"] for i in o2["items"]} == {"乙三社區"}
    sent = client.post(
        f"/api/program-years/{YEAR}/monitoring/reminders",
        params={"as_of": as_of},
        headers=h["city"],
    ).json()
    assert sent["overdue"] == 6 and sent["notifications"] > 0
    again = client.post(
        f"/api/program-years/{YEAR}/monitoring/reminders",
        params={"as_of": as_of},
        headers=h["city"],
    ).json()
    assert again["notifications"] == 0  # told once per month
    assert any(
        "逾期" in n["title"]
        for n in client.get("/api/notifications", headers=h["pol2"]).json()["items"]
    )
    progress = client.get(
        f"/api/program-years/{YEAR}/monitoring/progress", params={"as_of": as_of}, headers=h["city"]
    ).json()
    one = next(c for c in progress["communities"] if c["application_id"] == a1)
    assert (one["work_items"], one["done"], one["in_progress"], one["not_started"]) == (3, 1, 1, 1)
    assert (one["reports_due"], one["reports_filed"], one["reports_overdue"]) == (3, 3, 0)
    assert progress["city"]["communities"] == 3 and progress["city"]["reports_overdue"] == 6
    assert {p["precinct"]: p["reports_overdue"] for p in progress["precincts"]} == {
        "測試甲分局": 3,
        "測試乙分局": 3,
    }

    # ---------------------------------------------------------------- expense claims (經費核銷)
    def receipt(n, app_id):
        r = client.post(
            f"/api/applications/{app_id}/files",
            files={"file": (f"收據{n}.pdf", PDF, "application/pdf")},
            data={"purpose": "receipt"},
            headers=h[f"org{n}"],
        )
        assert r.status_code == 201, r.text
        return r.json()["id"]

    budget = client.get(f"/api/applications/{a1}", headers=h["org1"]).json()["budget"]
    cam = w["camera"]
    claim_body = {
        "title": "第一期核銷",
        "items": [
            {
                "budget_line_id": budget[1]["id"],
                "description": "監視器 1 支",
                "vendor": "測試保全",
                "receipt_no": "AB-0001",
                "spent_on": f"{YEAR}-05-02",
                "amount": 15_000,
                "camera_id": cam.id,
                "installed": lonlat(295_103, 2_766_104),
            },
            {
                "item": "safety_map",
                "description": "治安地圖告示牌",
                "amount": 8_000,
                "map_kind": "sign",
                "planned": lonlat(295_200, 2_766_200),
                "installed": lonlat(295_200, 2_766_210),
            },
        ],
    }
    r = client.post(f"/api/applications/{a1}/claims", json=claim_body, headers=h["org1"])
    assert r.status_code == 201, r.text
    claim = r.json()
    assert claim["total"] == 23_000 and claim["items"][0]["map_kind"] == "camera"
    assert claim["items"][0]["offset_m"] == pytest.approx(5.0, abs=0.1)
    assert claim["items"][1]["offset_m"] == pytest.approx(10.0, abs=0.1)
    no_receipt = client.post(
        f"/api/claims/{claim['id']}/transitions", json={"to": "submitted"}, headers=h["org1"]
    )
    assert no_receipt.status_code == 400 and "憑證" in no_receipt.json()["error"]["message"]
    for item in claim_body["items"]:
        item["receipt_file_id"] = receipt(1, a1)
    assert (
        client.put(f"/api/claims/{claim['id']}", json=claim_body, headers=h["org1"]).status_code
        == 200
    )
    cid = claim["id"]
    db.refresh(cam)
    assert cam.application_id == a1  # the funded camera is linked to the year's subsidy

    def claim_move(who, to, expect=200, claim_id=cid):
        r = client.post(
            f"/api/claims/{claim_id}/transitions", json={"to": to, "comment": to}, headers=h[who]
        )
        assert r.status_code == expect, r.text
        return r.json()

    claim_move("org1", "submitted")
    claim_move("city", "closed", expect=409)  # not before the precinct's check
    assert client.get(f"/api/claims/{cid}", headers=h["pol2"]).status_code == 404
    claim_move("pol1", "returned")
    claim_move("org1", "submitted")
    claim_move("pol1", "checked")
    closed = claim_move("city", "closed")
    assert closed["status"] == "closed" and [e["to"] for e in closed["events"]] == [
        "submitted",
        "returned",
        "submitted",
        "checked",
        "closed",
    ]
    # closing the last claim closes the case (結案): 「完成核銷程序」
    assert client.get(f"/api/applications/{a1}", headers=h["org1"]).json()["status"] == "completed"
    # a receipt found untrue is clawed back (拾貳、一「經查明有不實者…追繳該款項」)
    item2 = closed["items"][1]["id"]
    assert (
        client.post(
            f"/api/claims/{cid}/clawbacks", json={"amount": 5_000, "reason": "x"}, headers=h["pol1"]
        ).status_code
        == 403
    )
    over = client.post(
        f"/api/claims/{cid}/clawbacks",
        json={"amount": 9_000, "reason": "x", "claim_item_id": item2},
        headers=h["city"],
    )
    assert over.status_code == 400
    cb = client.post(
        f"/api/claims/{cid}/clawbacks",
        json={"amount": 8_000, "reason": "告示牌未實際設置。", "claim_item_id": item2},
        headers=h["city"],
    )
    assert cb.status_code == 201 and cb.json()["status"] == "demanded"
    repaid = client.patch(
        f"/api/clawbacks/{cb.json()['id']}",
        json={"repaid_amount": 8_000, "repaid_on": f"{YEAR}-12-01"},
        headers=h["city"],
    )
    assert repaid.json()["status"] == "repaid"
    assert (
        client.get(f"/api/program-years/{YEAR}/clawbacks", headers=h["boss"]).json()[0]["amount"]
        == 8_000
    )

    for n, app_id, who in ((5, a5, "pol1"), (3, a3, "pol2")):
        body = {
            "title": "全期核銷",
            "items": [
                {"description": "治安會議", "amount": 10_000, "receipt_file_id": receipt(n, app_id)}
            ],
        }
        c = client.post(
            f"/api/applications/{app_id}/claims", json=body, headers=h[f"org{n}"]
        ).json()
        claim_move(f"org{n}", "submitted", claim_id=c["id"])
        claim_move(who, "checked", claim_id=c["id"])
        claim_move("city", "closed", claim_id=c["id"])
    statuses = {
        a["id"]: a["status"]
        for a in client.get("/api/applications", params={"year": YEAR}, headers=h["city"]).json()[
            "items"
        ]
    }
    assert statuses == {
        a1: "completed",
        a2: "rejected",
        a3: "completed",
        a4: "not_selected",
        a5: "completed",
    }

    # ---------------------------------------------------------------- evaluation (評鑑)
    def nominate(who, app_id, score, expect=201):
        r = client.post(
            f"/api/program-years/{YEAR}/evaluation/nominations",
            json={"application_id": app_id, "preliminary_score": score},
            headers=h[who],
        )
        assert r.status_code == expect, r.text
        return r.json()

    n1 = nominate("pol1", a1, 88)
    # 捌、一「各分局辦理遴(初)選 1 個治安社區」
    assert nominate("pol1", a5, 90, expect=409)["error"]["code"] == "nominations_exceeded"
    assert nominate("pol2", a4, 90, expect=409)["error"]["code"] == "not_subsidised"
    n3 = nominate("pol2", a3, 85)
    for i, c in enumerate(w["counsellors"][:3], start=1):
        r = client.post(
            f"/api/program-years/{YEAR}/rosters",
            headers=h["city"],
            json={
                "roster": "counselling_team",
                "unit": "測試大學",
                "team_role": "委員",
                "name": f"委員{i}",
                "user_id": c.id,
                "expertise": "犯罪預防",
            },
        )
        assert r.status_code == 201, r.text
    # the three on the roster score both nominees; the same average, then 初選 decides
    for who, totals in (("counsel1", (90, 92)), ("counsel2", (88, 86)), ("counsel3", (86, 86))):
        for nom, total in zip((n1, n3), totals, strict=True):
            r = client.put(
                f"/api/nominations/{nom['id']}/sheet", json={"scores": sheet(total)}, headers=h[who]
            )
            assert r.status_code == 200, r.text
            assert r.json()["total"] == pytest.approx(total)
    assert (
        client.put(
            f"/api/nominations/{n1['id']}/sheet", json={"scores": sheet(80)}, headers=h["counsel4"]
        ).status_code
        == 403
    )
    too_high = {**sheet(80), "organisation": 11}
    assert (
        client.put(
            f"/api/nominations/{n1['id']}/sheet", json={"scores": too_high}, headers=h["counsel1"]
        ).status_code
        == 400
    )
    results = client.get(f"/api/program-years/{YEAR}/evaluation/results", headers=h["city"]).json()
    first, second = results["entries"]
    assert (first["community"], first["rank"], first["review_average"]) == ("甲一社區", 1, 88.0)
    assert (second["community"], second["rank"], second["review_average"]) == ("乙三社區", 2, 88.0)
    assert "初選成績" in second["tie_break"]
    assert first["quality"] and second["quality"] and first["tier"] == "優等（第1–2名）"
    assert {c["scorer_name"] for c in results["calibration"]} == {"委員1", "委員2", "委員3"}
    assert (
        client.post(
            f"/api/program-years/{YEAR}/evaluation/finalise", json={}, headers=h["pol1"]
        ).status_code
        == 403
    )
    bad_amount = client.post(
        f"/api/program-years/{YEAR}/evaluation/finalise",
        json={"amounts": {str(w["c"][1].id): 70_000}},
        headers=h["city"],
    )
    assert bad_amount.status_code == 400  # 優等第 1、2 名：新臺幣 4–6 萬元
    fin = client.post(
        f"/api/program-years/{YEAR}/evaluation/finalise",
        json={"amounts": {str(w["c"][1].id): 60_000}},
        headers=h["city"],
    ).json()
    assert fin["finalised"] and [e["award_amount"] for e in fin["entries"]] == [60_000, 40_000]
    assert fin["entries"][0]["certificate_no"] == f"新北治安認證{ROC}-01"
    assert (
        client.put(
            f"/api/program-years/{YEAR}/evaluation/awards/{w['c'][3].id}",
            json={"amount": 50_000},
            headers=h["city"],
        ).json()["award_amount"]
        == 50_000
    )
    assert (
        client.put(
            f"/api/nominations/{n1['id']}/sheet", json={"scores": sheet(99)}, headers=h["counsel1"]
        ).status_code
        == 409
    )
    certs = client.get(f"/api/program-years/{YEAR}/evaluation/certificates.html", headers=h["org1"])
    assert certs.status_code == 200 and "甲一社區" in certs.text and "乙三社區" not in certs.text
    assert (
        "優質治安社區" in certs.text
        and "民國" in certs.text
        and f"新北治安認證{ROC}-01" in certs.text
    )

    # ---------------------------------------------------------------- staff rewards (玖)
    rewards = client.get(f"/api/program-years/{YEAR}/rewards", headers=h["city"]).json()
    unit = {(u["kind"], u["unit"]): u for u in rewards["units"]}
    station = unit[("station", "測試甲派出所")]["clauses"][0]
    # 玖、一、(一): each closed community is one award: 甲一, 甲五 → 嘉獎二次
    assert station["award_units"] == 2
    assert {p["post"]: p["award_label"] for p in station["posts"]}["case_officer"] == "嘉獎二次"
    precinct = {c["clause"]: c for c in unit[("precinct", "測試甲分局")]["clauses"]}
    # 玖、一、(二)1: every 2 closed communities, one award
    assert precinct["precinct"]["award_units"] == 1
    # 玖、一、(二)2: 2 villages that never applied; 承辦人員 嘉獎二次 each = 4 → 記功一次、嘉獎一次
    assert precinct["new_village"]["award_units"] == 2
    assert {p["post"]: p["award_label"] for p in precinct["new_village"]["posts"]}[
        "case_officer"
    ] == "記功一次、嘉獎一次"
    assert {c["clause"]: c["award_units"] for c in unit[("precinct", "測試乙分局")]["clauses"]} == {
        "precinct": 0,
        "new_village": 1,
    }
    # 玖、一、(三): 3 closed communities < 6: no award for the bureau
    assert unit[("bureau", "警察局")]["clauses"][0]["award_units"] == 0
    assert [s["rank"] for s in rewards["evaluation_staff"]] == [1, 2]  # 玖、二 前 8 名

    # ---------------------------------------------------------------- every move audited
    audited = db.scalar(
        select(func.count())
        .select_from(ApplicationEvent)
        .where(ApplicationEvent.application_id.in_([a1, a2, a3, a4, a5]))
    )
    # a1: submit, return, submit, forward, city→precinct, forward, approve, start, close = 9
    # a2: submit, reject; a3/a5: submit, forward, approve, start, close; a4: submit, forward, not selected
    assert audited == 9 + 2 + 5 + 3 + 5
    trail = client.get(f"/api/applications/{a1}", headers=h["city"]).json()["events"]
    assert [e["to"] for e in trail] == [
        "submitted",
        "returned",
        "submitted",
        "forwarded",
        "submitted",
        "forwarded",
        "approved",
        "in_progress",
        "completed",
    ]
    assert all(e["actor_role"] and e["at"] for e in trail)

    # ---------------------------------------------------------------- forms 附件1–9 and printouts
    today_roc = roc_date(TODAY)
    page = client.get(f"/api/applications/{a1}/form.html", headers=h["org1"])
    assert page.status_code == 200 and "新北市政府加速推動社區治安營造補助計畫申請表" in page.text
    assert "附件1" in page.text and today_roc in page.text and "A4" in page.text
    assert f"民國 {ROC} 年度" in page.text and "林承辦" in page.text
    wb = load_workbook(
        io.BytesIO(client.get(f"/api/applications/{a1}/form.xlsx", headers=h["org1"]).content)
    )
    assert "申請表" in wb.active["A1"].value
    titles = {
        "2": f"新北市 {ROC} 年度加速推動社區治安營造名冊",
        "3": "新北市政府社區治安聯合推動小組架構表",
        "4": "新北市政府社區治安聯合推動小組編組名冊",
        "5": "新北市政府社區治安聯合推動小組窗口名冊",
        "6": "新北市政府社區治安專業輔導團隊名冊",
        "7": "新北市政府社區治安專業輔導團隊遴聘諮詢顧問聯繫名冊",
        "8": "新北市政府加速推動社區治安營造工作執行計畫分工表",
        "9": f"新北市政府辦理 {ROC} 年度「加速推動社區治安營造績效評鑑」出力有功人員獎勵基準表",
    }
    for code, title in titles.items():
        html = client.get(f"/api/program-years/{YEAR}/forms/{code}.html", headers=h["city"])
        assert html.status_code == 200, (code, html.text)
        assert title in html.text and f"附件{code}" in html.text and today_roc in html.text
        x = client.get(f"/api/program-years/{YEAR}/forms/{code}.xlsx", headers=h["city"])
        assert x.status_code == 200 and "attachment" in x.headers["content-disposition"]
        ws = load_workbook(io.BytesIO(x.content)).active
        assert title in ws["A1"].value
    roster_ws = load_workbook(
        io.BytesIO(client.get(f"/api/program-years/{YEAR}/forms/2.xlsx", headers=h["city"]).content)
    ).active
    rows = [
        r
        for r in roster_ws.iter_rows(values_only=True)
        if r and r[2] in {"甲一社區", "乙三社區", "甲五社區"}
    ]
    assert len(rows) == 3
    counselling_ws = load_workbook(
        io.BytesIO(client.get(f"/api/program-years/{YEAR}/forms/6.xlsx", headers=h["city"]).content)
    ).active
    assert (
        sum(
            1
            for r in counselling_ws.iter_rows(values_only=True)
            if r and r[2] and str(r[2]).startswith("委員")
        )
        == 3
    )
    for name in ("results", "rewards", "progress"):
        assert (
            client.get(
                f"/api/program-years/{YEAR}/printouts/{name}.html", headers=h["city"]
            ).status_code
            == 200
        )
        load_workbook(
            io.BytesIO(
                client.get(
                    f"/api/program-years/{YEAR}/printouts/{name}.xlsx", headers=h["city"]
                ).content
            )
        )
