"""The services' plain HTML forms, as a browser submits them: each action succeeds with a 303
to the record's page, bad input comes back with what was typed and a zh-TW message under its
field, a role the action is not for gets 403, and another jurisdiction's record is a 404."""

from __future__ import annotations

import datetime as dt
import html
import re

from sqlalchemy import select

from geo.enums_services import ConsultationStatus, DisasterRequestStatus, ProtectionStatus
from geo.models_services import (
    BulletinIssue,
    CareVisit,
    Consultation,
    DisasterRequest,
    PatrolObservation,
    PromotionEvent,
    ProtectionReferral,
    WatchTeam,
)
from tests.services.conftest import lonlat_in

TODAY = dt.date.today()
CSRF = "form-token-123"
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64
CHECKLIST = {
    "doors": "fair",
    "windows": "poor",
    "locks": "poor",
    "lighting": "fair",
    "sightlines": "good",
    "alarms": "absent",
}


def post(client, world, who, path, data, files=None):
    """A form POST as ``who`` would send it from the page: the CSRF cookie and field."""
    return client.post(
        path,
        data={"csrf": CSRF, **data},
        files=files,
        headers={**world.h(who), "Accept": "text/html", "Cookie": f"safemap_csrf={CSRF}"},
        follow_redirects=False,
    )


def page(client, world, who, path):
    return client.get(path, headers={**world.h(who), "Accept": "text/html"})


def typed(r, value: str) -> bool:
    return (
        f'value="{html.escape(value)}"' in r.text or f">{html.escape(value)}</textarea>" in r.text
    )


def request_form(world, **kw) -> dict:
    lon, lat = lonlat_in(world.v1)
    return {
        "reason": "burgled",
        "household_name": "陳表單",
        "phone": "0912-345-678",
        "address": "新北市測試甲區表單路 8 號",
        "lon": f"{lon:.7f}",
        "lat": f"{lat:.7f}",
        "burgled_on": (TODAY - dt.timedelta(days=2)).isoformat(),
        "request_note": "後門被撬",
        **kw,
    }


# --------------------------------------------------------------------------- 防竊達人
def test_consultation_from_request_to_visit_by_forms(client, world, db):
    new = page(client, world, "st1", "/services/consultations/new")
    assert new.status_code == 200 and 'name="csrf"' in new.text and "住家位置" in new.text
    r = post(client, world, "st1", "/app/services/consultations", request_form(world))
    assert r.status_code == 303, r.text
    cid = int(r.headers["location"].rsplit("/", 1)[1])
    detail = page(client, world, "st1", f"/services/consultations/{cid}")
    assert "陳表單" in detail.text and "指派防竊顧問" in detail.text

    r = post(client, world, "st1", f"/app/services/consultations/{cid}/assign",
             {"consultant_name": "林顧問", "scheduled_for": TODAY.isoformat()})  # fmt: skip
    assert r.status_code == 303 and r.headers["location"] == f"/services/consultations/{cid}"
    visit = {f"rating_{k}": v for k, v in CHECKLIST.items()}
    visit |= {"visited_on": TODAY.isoformat(), "advice": "加裝感應燈與防撬鎖",
              "follow_up_on": (TODAY + dt.timedelta(days=30)).isoformat(), "caption": "後門"}  # fmt: skip
    r = post(client, world, "st1", f"/app/services/consultations/{cid}/visit", visit,
             files={"photo": ("door.png", PNG, "image/png")})  # fmt: skip
    assert r.status_code == 303, r.text
    record = db.get(Consultation, cid)
    db.refresh(record)
    assert record.status is ConsultationStatus.visited and record.consultant_name == "林顧問"
    assert record.checklist["windows"] == {"rating": "poor", "note": ""}
    detail = page(client, world, "st1", f"/services/consultations/{cid}")
    assert (
        "加裝感應燈與防撬鎖" in detail.text and f"/api/consultations/{cid}/photos/" in detail.text
    )
    assert "登錄追蹤" in detail.text

    r = post(client, world, "st1", f"/app/services/consultations/{cid}/follow-up",
             {"followed_up_on": TODAY.isoformat(), "follow_note": "已換鎖"})  # fmt: skip
    assert r.status_code == 303
    db.refresh(record)
    assert record.status is ConsultationStatus.closed


def test_consultation_form_keeps_what_was_typed(client, world):
    bad = request_form(world, household_name="", lon="", lat="", burgled_on="昨天")
    r = post(client, world, "st1", "/app/services/consultations", bad)
    assert r.status_code == 400
    assert "請填寫申請人姓名" in r.text and "失竊日期格式不正確" in r.text
    assert "請在地圖上點選住家位置" in r.text
    assert typed(r, "新北市測試甲區表單路 8 號") and typed(r, "昨天") and typed(r, "後門被撬")
    # A place outside every village: the workflow's message, under the place.
    r = post(client, world, "st1", "/app/services/consultations",
             request_form(world, lon="121.0", lat="24.0"))  # fmt: skip
    assert r.status_code == 400 and 'aria-invalid="true"' in r.text
    assert typed(r, "陳表單")

    cid = int(post(client, world, "st1", "/app/services/consultations", request_form(world))
              .headers["location"].rsplit("/", 1)[1])  # fmt: skip
    post(client, world, "st1", f"/app/services/consultations/{cid}/assign",
         {"consultant_name": "林顧問"})  # fmt: skip
    visit = {f"rating_{k}": v for k, v in CHECKLIST.items() if k != "alarms"}
    visit |= {"visited_on": TODAY.isoformat(), "advice": "裝設警報器"}
    r = post(client, world, "st1", f"/app/services/consultations/{cid}/visit", visit)
    assert r.status_code == 400 and "請為「警報與監視設備」評定結果" in r.text
    assert ">裝設警報器</textarea>" in r.text and 'value="poor" checked' in r.text


def test_consultation_forms_by_role_and_jurisdiction(client, world):
    cid = int(post(client, world, "st1", "/app/services/consultations", request_form(world))
              .headers["location"].rsplit("/", 1)[1])  # fmt: skip
    assign = {"consultant_name": "某人"}
    # Another precinct's station: not found; roles outside the police: refused.
    assert post(client, world, "st2", f"/app/services/consultations/{cid}/assign",
                assign).status_code == 404  # fmt: skip
    for who in ("fire", "social", "boss", "org1"):
        assert post(client, world, who, f"/app/services/consultations/{cid}/assign",
                    assign).status_code == 403, who  # fmt: skip
    assert page(client, world, "fire", "/services/consultations/new").status_code == 403
    # A community files for a resident and follows it as a receipt, never the household.
    r = post(client, world, "org1", "/app/services/consultations",
             request_form(world, community_id=str(world.c1.id)))  # fmt: skip
    assert r.status_code == 303 and r.headers["location"] == "/services/consultations"
    mine = page(client, world, "org1", "/services/consultations")
    assert mine.status_code == 200 and "甲一里" in mine.text and "陳表單" not in mine.text
    # Without the form's CSRF field the POST is refused.
    client.cookies.set("safemap_csrf", CSRF)
    r = client.post(f"/app/services/consultations/{cid}/assign", data=assign,
                    headers=world.h("st1"), follow_redirects=False)  # fmt: skip
    client.cookies.clear()
    assert r.status_code == 403


def test_signed_out_visitors_go_to_sign_in(client):
    r = client.get("/services/consultations/new", follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"].startswith("/login?next=")


# --------------------------------------------------------------------------- 消防局
def disaster_form(world, **kw) -> dict:
    return {
        "community_id": str(world.c1.id),
        "topics": ["fire", "first_aid_cpr"],
        "content": "住宅防火與 CPR",
        "requested_date": (TODAY + dt.timedelta(days=14)).isoformat(),
        "start_time": "14:00",
        "end_time": "16:00",
        "place": "甲一活動中心",
        "expected_attendance": "40",
        "contact_name": "林幹事",
        "contact_phone": "02-2222-3333",
        **kw,
    }


def test_disaster_request_accept_and_record_by_forms(client, world, db):
    assert page(client, world, "org1", "/services/disaster-requests/new").status_code == 200
    r = post(client, world, "org1", "/app/services/disaster-requests", disaster_form(world))
    assert r.status_code == 303, r.text
    rid = int(r.headers["location"].rsplit("/", 1)[1])
    fire_page = page(client, world, "fire", f"/services/disaster-requests/{rid}")
    assert "受理並核派" in fire_page.text and "建議改期" in fire_page.text
    assert (
        "受理並核派" not in page(client, world, "org1", f"/services/disaster-requests/{rid}").text
    )

    r = post(client, world, "fire", f"/app/services/disaster-requests/{rid}/accept",
             {"accept_instructors": "王教官\n李教官", "accept_reply": "準時到場"})  # fmt: skip
    assert r.status_code == 303
    record = db.get(DisasterRequest, rid)
    db.refresh(record)
    assert record.status is DisasterRequestStatus.accepted
    assert record.instructors == ["王教官", "李教官"]
    # The event: not in the future; then recorded with its attendance.
    future = (TODAY + dt.timedelta(days=1)).isoformat()
    r = post(client, world, "fire", f"/app/services/disaster-requests/{rid}/held",
             {"held_on": future, "attendance": "37", "event_notes": "反應熱烈"})  # fmt: skip
    assert r.status_code == 400 and "辦理日期不能晚於今天" in r.text and typed(r, "37")
    r = post(client, world, "fire", f"/app/services/disaster-requests/{rid}/held",
             {"held_on": TODAY.isoformat(), "attendance": "37"})  # fmt: skip
    assert r.status_code == 303
    db.refresh(record)
    assert record.status is DisasterRequestStatus.held and record.attendance == 37


def test_disaster_request_reschedule_and_bad_input(client, world, db):
    r = post(client, world, "org1", "/app/services/disaster-requests",
             disaster_form(world, topics=[], requested_date=TODAY.isoformat(), place=""))  # fmt: skip
    assert r.status_code == 400
    assert "請至少選擇一項宣導項目" in r.text and "請填寫宣導地點" in r.text
    assert typed(r, "林幹事") and typed(r, "住宅防火與 CPR")
    r = post(client, world, "org1", "/app/services/disaster-requests",
             disaster_form(world, requested_date=TODAY.isoformat()))  # fmt: skip
    assert r.status_code == 400 and "宣導日期須為明天以後" in r.text
    assert 'value="first_aid_cpr" checked' in r.text

    rid = int(post(client, world, "org1", "/app/services/disaster-requests", disaster_form(world))
              .headers["location"].rsplit("/", 1)[1])  # fmt: skip
    later = (TODAY + dt.timedelta(days=21)).isoformat()
    # Only the fire bureau answers; another community does not even see the request.
    assert post(client, world, "org1", f"/app/services/disaster-requests/{rid}/propose",
                {"proposed_date": later, "propose_reply": "x"}).status_code == 409  # fmt: skip
    assert post(client, world, "org2", f"/app/services/disaster-requests/{rid}/withdraw",
                {}).status_code == 404  # fmt: skip
    assert page(client, world, "org2", f"/services/disaster-requests/{rid}").status_code == 404
    r = post(client, world, "fire", f"/app/services/disaster-requests/{rid}/propose",
             {"proposed_date": later, "propose_reply": "教官當天另有勤務"})  # fmt: skip
    assert r.status_code == 303
    assert "同意改期" in page(client, world, "org1", f"/services/disaster-requests/{rid}").text
    assert post(client, world, "org1", f"/app/services/disaster-requests/{rid}/agree",
                {}).status_code == 303  # fmt: skip
    record = db.get(DisasterRequest, rid)
    db.refresh(record)
    assert record.status is DisasterRequestStatus.accepted
    assert record.scheduled_date.isoformat() == later


# --------------------------------------------------------------------------- 社會局
def referral_form(world, **kw) -> dict:
    return {
        "kind": "child_protection",
        "community_id": str(world.c1.id),
        "subject_name": "表單兒童甲",
        "subject_address": "表單巷 3 號",
        "observed_on": TODAY.isoformat(),
        "description": "常在夜間獨自在巷口徘徊",
        "immediate_danger": "on",
        **kw,
    }


def test_referral_filed_by_a_volunteer_and_received_by_social_affairs(client, world, db):
    assert page(client, world, "org1", "/services/protection/referrals/new").status_code == 200
    r = post(client, world, "org1", "/app/services/protection/referrals", referral_form(world))
    assert r.status_code == 303, r.text
    path = r.headers["location"]
    rid = int(path.rsplit("/", 1)[1])
    assert "表單兒童甲" in page(client, world, "org1", path).text
    # Nobody else reads it, nor moves it.
    for who in ("org2", "st1", "pol1", "fire", "city", "boss", "counsel", "admin"):
        assert "表單兒童甲" not in page(client, world, who, path).text, who
        r = post(client, world, who, f"/app/services/protection/referrals/{rid}/receive", {})
        assert r.status_code in (403, 404), who
        assert "表單兒童甲" not in r.text
    social = page(client, world, "social", path)
    assert "社會局受理" in social.text
    r = post(client, world, "social", f"/app/services/protection/referrals/{rid}/receive",
             {"case_ref": "社-115-0001"})  # fmt: skip
    assert r.status_code == 303
    record = db.get(ProtectionReferral, rid)
    db.refresh(record)
    assert record.status is ProtectionStatus.received and record.case_ref == "社-115-0001"
    # Received: the filer no longer reads it.
    assert page(client, world, "org1", path).status_code == 404


def test_care_visit_form_and_bad_input(client, world, db):
    r = post(client, world, "org1", "/app/services/protection/care-visits",
             {"community_id": str(world.c1.id), "family_name": "表單家庭", "address": "某路",
              "visited_on": (TODAY + dt.timedelta(days=3)).isoformat(), "visitors": "志工",
              "situation": "獨居長者"})  # fmt: skip
    assert r.status_code == 400 and "訪視日期" in r.text and typed(r, "表單家庭")
    assert db.scalar(select(CareVisit).where(CareVisit.family_name == "表單家庭")) is None
    r = post(client, world, "org1", "/app/services/protection/care-visits",
             {"community_id": str(world.c1.id), "family_name": "表單家庭", "address": "某路",
              "visited_on": TODAY.isoformat(), "visitors": "志工", "situation": "獨居長者",
              "needs_follow_up": "on"})  # fmt: skip
    assert r.status_code == 303
    vid = int(r.headers["location"].rsplit("/", 1)[1])
    assert post(client, world, "social", f"/app/services/protection/care-visits/{vid}/receive",
                {}).status_code == 303  # fmt: skip
    assert db.get(CareVisit, vid).status is ProtectionStatus.received
    # Roles that never file get no form.
    for who in ("fire", "boss", "counsel", "city"):
        assert page(client, world, who, "/services/protection/care-visits/new").status_code == 403


def test_referral_form_bad_input_keeps_values(client, world):
    r = post(client, world, "org1", "/app/services/protection/referrals",
             referral_form(world, kind="", description=""))  # fmt: skip
    assert r.status_code == 400
    assert "請選擇通報類別" in r.text and typed(r, "表單兒童甲")


# --------------------------------------------------------------------------- 宣導
def test_promotion_event_form(client, world, db):
    form = {"community_id": str(world.c1.id), "topic": "anti_fraud", "occasion": "meeting",
            "held_on": TODAY.isoformat(), "title": "防詐騙講座", "audience": "社區居民",
            "attendance": "45", "speaker_unit": "甲派出所"}  # fmt: skip
    r = post(client, world, "st1", "/app/services/promotion-events", {**form, "attendance": "-3"})
    assert r.status_code == 400 and "參加人數須為 0 以上" in r.text and typed(r, "防詐騙講座")
    r = post(client, world, "st1", "/app/services/promotion-events", form)
    assert r.status_code == 303
    event = db.scalar(select(PromotionEvent).where(PromotionEvent.title == "防詐騙講座"))
    assert event.attendance == 45
    assert post(client, world, "boss", "/app/services/promotion-events", form).status_code == 403
    assert post(client, world, "st2", "/app/services/promotion-events", form).status_code == 404
    assert page(client, world, "boss", "/services/promotion-events/new").status_code == 403


# --------------------------------------------------------------------------- 「e話」
def test_bulletin_generate_edit_publish_and_archive(client, world, db):
    month = (TODAY.replace(day=1) - dt.timedelta(days=1)).strftime("%Y-%m")
    r = post(client, world, "org1", "/app/services/bulletins",
             {"scope": "community", "community_id": str(world.c1.id), "month": month})  # fmt: skip
    assert r.status_code == 303, r.text
    edit_path = r.headers["location"]
    issue_id = int(edit_path.split("/")[3])
    edit = page(client, world, "org1", edit_path)
    assert edit.status_code == 200 and "發布並公開" in edit.text
    version = re.search(r'name="version" value="(\d+)"', edit.text).group(1)
    texts = {"title": "甲一社區 e話 表單版", "intro": "各位鄉親好", "notes": "里民大會週六舉行",
             "anti_fraud_tips": "不聽不信不轉帳", "closing": "平安"}  # fmt: skip
    r = post(client, world, "org1", f"/app/services/bulletins/{issue_id}",
             {**texts, "version": version, "title": ""})  # fmt: skip
    assert (
        r.status_code == 400 and "請填寫標題" in r.text and ">里民大會週六舉行</textarea>" in r.text
    )
    r = post(client, world, "org1", f"/app/services/bulletins/{issue_id}",
             {**texts, "version": str(int(version) - 1)})  # fmt: skip
    assert r.status_code == 409 and ">里民大會週六舉行</textarea>" in r.text  # someone else saved
    r = post(client, world, "org1", f"/app/services/bulletins/{issue_id}",
             {**texts, "version": version, "then": "preview"})  # fmt: skip
    assert r.status_code == 303 and r.headers["location"] == f"/services/bulletins/{issue_id}"
    # Not yet public; another community's organisation cannot edit it.
    assert client.get(f"/services/bulletins/{issue_id}").status_code == 404
    assert post(client, world, "org2", f"/app/services/bulletins/{issue_id}/publish",
                {}).status_code == 404  # fmt: skip
    r = post(client, world, "org1", f"/app/services/bulletins/{issue_id}/publish", {})
    assert r.status_code == 303
    public = client.get("/services/bulletins")
    assert "甲一社區 e話 表單版" in public.text
    issue = client.get(f"/services/bulletins/{issue_id}")
    assert "里民大會週六舉行" in issue.text and "不聽不信不轉帳" in issue.text
    # Archived: the edit page sends editors to the printable issue.
    r = page(client, world, "org1", edit_path)
    assert r.status_code == 200 and "發布並公開" not in r.text
    assert db.get(BulletinIssue, issue_id).status.value == "published"


# --------------------------------------------------------------------------- 守望相助隊
def test_watch_team_members_shifts_equipment_and_patrols(client, world, db):
    r = post(client, world, "org1", "/app/services/watch-teams",
             {"community_id": str(world.c1.id), "name": "", "equipment": "反光背心 10"})  # fmt: skip
    assert r.status_code == 400 and "請填寫隊名" in r.text and ">反光背心 10</textarea>" in r.text
    r = post(client, world, "org1", "/app/services/watch-teams",
             {"community_id": str(world.c1.id), "name": "甲一表單隊", "leader_name": "張隊長",
              "equipment": "反光背心 10\n手電筒 6\n哨子"})  # fmt: skip
    assert r.status_code == 303
    team_path = r.headers["location"]
    tid = int(team_path.rsplit("/", 1)[1])
    team = db.get(WatchTeam, tid)
    assert team.equipment == [{"item": "反光背心", "quantity": 10},
                              {"item": "手電筒", "quantity": 6}, {"item": "哨子", "quantity": 1}]  # fmt: skip
    act = f"/app/services/watch-teams/{tid}"
    assert post(client, world, "org1", f"{act}/members",
                {"member_name": "李隊員", "protection_trained": "on"}).status_code == 303  # fmt: skip
    r = post(client, world, "org1", f"{act}/shifts", {"shift_start": "20:00", "shift_end": "22:00"})
    assert r.status_code == 400 and "請勾選巡守日" in r.text and typed(r, "20:00")
    assert post(client, world, "org1", f"{act}/shifts",
                {"weekdays": ["2", "5"], "shift_start": "20:00", "shift_end": "22:00"}
                ).status_code == 303  # fmt: skip
    detail = page(client, world, "org1", team_path)
    assert "李隊員" in detail.text and "週二、週五" in detail.text
    lon, lat = lonlat_in(world.v1, 5, 5)
    yesterday = (TODAY - dt.timedelta(days=1)).isoformat()
    r = post(client, world, "org1", f"{act}/patrol-logs",
             {"patrol_date": yesterday, "patrol_start": "21:00", "patrol_end": "00:30",
              "members_present": "4", "patrol_notes": "巡守社區",
              "obs_0": "路燈不亮", "obs_0_category": "poor_lighting", "obs_0_severity": "4",
              "obs_0_lon": str(lon), "obs_0_lat": str(lat)})  # fmt: skip
    assert r.status_code == 303, r.text
    log_link = re.search(
        r'href="(/services/patrol-logs/\d+)"', page(client, world, "org1", team_path).text
    )
    log_page = page(client, world, "org1", log_link.group(1))
    assert "路燈不亮" in log_page.text and "3.5 小時" in log_page.text
    obs = db.scalar(select(PatrolObservation).where(PatrolObservation.description == "路燈不亮"))
    log_id = log_link.group(1).rsplit("/", 1)[1]
    # The observation becomes a hazard on the safety map.
    r = post(client, world, "org1", f"/app/services/patrol-observations/{obs.id}/hazard",
             {"log_id": log_id, "category": "poor_lighting", "title": "路燈不亮"})  # fmt: skip
    assert r.status_code == 303
    db.refresh(obs)
    assert obs.hazard_id is not None
    assert "已登錄為問題點" in page(client, world, "org1", log_link.group(1)).text
    # Members: removed by their team's writers; another community cannot touch the team.
    assert post(client, world, "org2", f"{act}/members", {"member_name": "x"}).status_code == 404
    assert post(client, world, "boss", f"{act}/members", {"member_name": "x"}).status_code == 403
    assert page(client, world, "org2", team_path).status_code == 404


def test_forms_are_shown_only_to_roles_that_may_use_them(client, world):
    assert "新增防竊諮詢申請" in page(client, world, "st1", "/services/consultations").text
    assert "線上申請防災宣導" in page(client, world, "org1", "/services/disaster-requests").text
    assert "線上申請防災宣導" not in page(client, world, "fire", "/services/disaster-requests").text
    assert "登錄宣導活動" not in page(client, world, "boss", "/services/promotion-events").text
    assert "成立守望相助隊" in page(client, world, "org1", "/services/watch-teams").text
    assert "成立守望相助隊" not in page(client, world, "fire", "/services/watch-teams").text
    assert "產生新一期" not in client.get("/services/bulletins").text
    assert "產生新一期" in page(client, world, "dist1", "/services/bulletins").text
    assert page(client, world, "boss", "/services/bulletins/new").status_code == 403
    assert page(client, world, "boss", "/services/watch-teams/new").status_code == 403


# --------------------------------------------------------------------------- home page
def test_home_links_and_waiting_items_per_role(client, world):
    post(client, world, "st1", "/app/services/consultations", request_form(world))
    post(client, world, "org1", "/app/services/disaster-requests", disaster_form(world))
    post(client, world, "org1", "/app/services/protection/referrals", referral_form(world))

    def home(who):
        r = client.get("/app", headers=world.h(who))
        assert r.status_code == 200, who
        return r.text

    station = home("st1")
    assert 'href="/services/consultations"' in station and "待指派防竊顧問的申請" in station
    assert re.search(r'<span class="count">1</span><span>待指派防竊顧問的申請', station)
    fire = home("fire")
    assert 'href="/services/disaster-requests"' in fire
    assert re.search(r'<span class="count">1</span><span>待回覆的防災宣導申請', fire)
    social = home("social")
    assert 'href="/services/protection"' in social
    assert re.search(r'<span class="count">1</span><span>待受理的婦幼保護通報', social)
    # Another station's jurisdiction waits for nothing here; nobody else counts referrals.
    assert re.search(r'<span class="count">0</span><span>待指派防竊顧問的申請', home("st2"))
    for who in ("org1", "st1", "fire", "boss", "counsel"):
        assert "待受理的婦幼保護通報" not in home(who), who
    assert 'href="/services"' in home("counsel")


def test_a_bad_photo_leaves_the_visit_unrecorded(client, world, db):
    """The visit and its photo are one form: a photo refused rolls the whole visit back."""
    r = post(client, world, "st1", "/app/services/consultations", request_form(world))
    cid = int(r.headers["location"].rsplit("/", 1)[1])
    post(client, world, "st1", f"/app/services/consultations/{cid}/assign",
         {"consultant_name": "林顧問"})  # fmt: skip
    visit = {f"rating_{k}": v for k, v in CHECKLIST.items()}
    visit |= {"visited_on": TODAY.isoformat(), "advice": "換鎖"}
    r = post(client, world, "st1", f"/app/services/consultations/{cid}/visit", visit,
             files={"photo": ("notes.txt", b"not a photo", "text/plain")})  # fmt: skip
    assert r.status_code == 400 and "只接受 JPEG、PNG、WebP 或 HEIC 照片" in r.text
    assert ">換鎖</textarea>" in r.text
    record = db.get(Consultation, cid)
    db.refresh(record)
    assert record.status is ConsultationStatus.assigned and record.visited_on is None
    # A photo on its own, after the visit.
    r = post(client, world, "st1", f"/app/services/consultations/{cid}/photos", {})
    assert r.status_code == 400 and "請選擇照片檔案" in r.text


def test_every_services_page_answers_every_role(client, world):
    """List, form and detail pages as every role: shown, or refused in words - never an error."""
    tid = int(post(client, world, "org1", "/app/services/watch-teams",
                   {"community_id": str(world.c1.id), "name": "甲一巡守隊"})
              .headers["location"].rsplit("/", 1)[1])  # fmt: skip
    paths = [
        "/services", "/services/consultations", "/services/consultations/new",
        "/services/consultations/figures", "/services/disaster-requests",
        "/services/disaster-requests/new", "/services/protection",
        "/services/protection/referrals/new", "/services/protection/care-visits/new",
        "/services/promotion-events", "/services/promotion-events/new", "/services/bulletins",
        "/services/bulletins/new", "/services/watch-teams", "/services/watch-teams/new",
        f"/services/watch-teams/{tid}",
    ]  # fmt: skip
    for who in [*world.headers]:
        for path in paths:
            r = client.get(path, headers={**world.h(who), "Accept": "text/html"},
                           follow_redirects=False)  # fmt: skip
            assert r.status_code in (200, 303, 401, 403, 404), (who, path, r.status_code)
            if r.status_code == 200:
                assert 'name="viewport"' in r.text
