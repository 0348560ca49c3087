"""Demo data of the plan's other services, on top of ``data.demo``: anti-theft consultations in
the demo station's beat (one household burgled twice, follow-ups due and overdue), the demo
community's disaster-prevention requests at every stage, a protection referral and a care
visit (one received by social affairs), promotion events, a watch team with members, shifts,
patrols and an observation, and a published 「e話」. Deterministic; labelled 示範.

Everything goes through the services (``workflow.consultations`` etc.) as the demo accounts,
so states, journals and the protection audit rows are the ones real use leaves.
"""

from __future__ import annotations

import datetime as dt
import logging
from zoneinfo import ZoneInfo

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from geo.models import WEB_SRID, Community, User, Village, community_villages, station_villages
from workflow import bulletins, consultations, disaster, promotion, protection, watch_teams
from workflow.access import Actor

log = logging.getLogger(__name__)

DEMO = "（示範）"
LOCAL = ZoneInfo("Asia/Taipei")
CHECKLIST = {
    "doors": ("fair", "後門門栓老舊"),
    "windows": ("poor", "一樓氣窗未裝鐵窗"),
    "locks": ("poor", "喇叭鎖易被撬開，建議更換"),
    "lighting": ("fair", "門口無感應燈"),
    "sightlines": ("good", ""),
    "alarms": ("absent", "未設置"),
}
HOUSEHOLDS = (
    # name, address suffix, reason, days ago requested, stage
    ("王示範", "中山路一段 10 號", "burgled", 60, "closed"),
    ("王示範", "中山路一段10號", "burgled", 25, "visited_overdue"),
    ("李示範", "民生路 25 巷 3 號", "burgled", 12, "visited_due"),
    ("陳示範", "文化路二段 88 號", "general", 8, "assigned"),
    ("林示範", "四川路 120 號", "general", 3, "requested"),
    ("張示範", "館前東路 5 號", "burgled", 1, "requested"),
)


def load_services(session: Session, users: dict[str, User]) -> dict[str, int]:
    """Add the services' demo to a session where ``data.demo`` has built its set. Counts."""
    actors = {name: Actor.from_user(u) for name, u in users.items()}
    community = session.scalar(
        select(Community)
        .where(Community.organisation_id == users["demo-community"].organisation_id)
        .order_by(Community.id)
    )
    if community is None:
        log.warning("demo services: the demo community account has no community")
        return {}
    today = dt.date.today()
    counts = {
        "consultations": _consultations(session, actors, community, today),
        "disaster_requests": _disaster(session, actors, community, today),
        "protection_records": _protection(session, actors, community, today),
        "promotion_events": _promotion(session, actors, community, today),
        "watch_teams": _watch(session, actors, community, today),
    }
    counts["bulletins"] = _bulletins(session, actors, community, today)
    session.flush()
    return counts


def _places(session: Session, community: Community, n: int, station_id=None) -> list[dict]:
    """``n`` points (seeded, so the same every load) inside the community's villages, or
    inside the station's beat when ``station_id`` is given and the station has one."""
    beat = select(station_villages.c.village_id).where(station_villages.c.station_id == station_id)
    if station_id is not None and session.scalar(select(func.count()).select_from(beat.subquery())):
        villages = Village.id.in_(beat)
    else:
        villages = Village.id.in_(
            select(community_villages.c.village_id).where(
                community_villages.c.community_id == community.id
            )
        )
    area = select(func.ST_Union(Village.geom)).where(villages).scalar_subquery()
    dumped = select(func.ST_Dump(func.ST_GeneratePoints(area, n, 815)).geom.label("g")).subquery()
    web = func.ST_Transform(dumped.c.g, WEB_SRID)
    rows = session.execute(select(func.ST_X(web), func.ST_Y(web))).all()
    return [{"type": "Point", "coordinates": [x, y]} for x, y in rows]


def _consultations(session: Session, actors: dict, community: Community, today) -> int:
    station = actors["demo-station"]
    places = _places(session, community, len(HOUSEHOLDS), station.station_id)
    # The repeat victim: both requests at the very same door.
    places[1] = places[0]
    district = "新北市"
    for (name, address, reason, ago, stage), place in zip(HOUSEHOLDS, places, strict=True):
        record = consultations.file_request(
            session,
            station,
            {
                "reason": reason,
                "household_name": name,
                "phone": "0900-000-000",
                "address": f"{district}{address}{DEMO}",
                "location": place,
                "burgled_on": today - dt.timedelta(days=ago + 2) if reason == "burgled" else None,
                "requested_on": today - dt.timedelta(days=ago),
                "request_note": f"{DEMO}住戶希望了解居家防竊改善方式。",
            },
        )
        if stage == "requested":
            continue
        consultations.assign(
            session,
            station,
            record.id,
            consultant_name="防竊顧問黃示範",
            scheduled_for=today - dt.timedelta(days=max(ago - 3, 0)),
        )
        if stage == "assigned":
            continue
        visited = today - dt.timedelta(days=ago - 3)
        follow = {
            "closed": visited + dt.timedelta(days=20),
            "visited_overdue": today - dt.timedelta(days=2),
            "visited_due": today + dt.timedelta(days=7),
        }[stage]
        consultations.record_visit(
            session,
            station,
            record.id,
            visited_on=visited,
            checklist={k: {"rating": r, "note": n} for k, (r, n) in CHECKLIST.items()},
            advice=f"{DEMO}更換防撬鎖、一樓氣窗加裝鐵窗、門口裝設感應燈。",
            follow_up_on=follow,
        )
        if stage == "closed":
            consultations.follow_up(
                session,
                station,
                record.id,
                followed_up_on=follow,
                note=f"{DEMO}住戶已換鎖並裝設感應燈。",
            )
    return len(HOUSEHOLDS)


def _disaster(session: Session, actors: dict, community: Community, today) -> int:
    org, fire = actors["demo-community"], actors["demo-fire"]

    def file(days: int, topics: list[str], content: str):
        return disaster.file_request(
            session,
            org,
            community.id,
            {
                "topics": topics,
                "content": f"{content}{DEMO}",
                "requested_date": today + dt.timedelta(days=days),
                "start_time": dt.time(14, 0),
                "end_time": dt.time(16, 0),
                "place": f"{community.name}活動中心",
                "expected_attendance": 40,
                "contact_name": "社區幹事（示範）",
                "contact_phone": "02-2960-0000",
            },
        )

    file(20, ["fire", "home_safety"], "住宅防火與居家安全檢視")
    accepted = file(12, ["first_aid_cpr", "bleeding_control"], "CPR 與外傷止血實作")
    disaster.accept(session, fire, accepted.id, instructors=["消防教官甲（示範）"], reply=None)
    moved = file(5, ["earthquake"], "地震避難演練")
    disaster.propose_date(
        session,
        fire,
        moved.id,
        proposed_date=today + dt.timedelta(days=9),
        instructors=["消防教官乙（示範）"],
        reply=f"{DEMO}原訂日期教官另有勤務，建議改期。",
    )
    held = file(1, ["typhoon"], "颱風防災整備")
    disaster.accept(session, fire, held.id, instructors=["消防教官丙（示範）"], reply=None)
    disaster.record_held(
        session, fire, held.id, held_on=today, attendance=36, notes=f"{DEMO}居民反應熱烈。"
    )
    return 4


def _protection(session: Session, actors: dict, community: Community, today) -> int:
    """Fictitious cases, filed and received by the demo accounts under the same rules."""
    org, social = actors["demo-community"], actors["demo-social"]
    received = protection.file_referral(
        session,
        org,
        {
            "kind": "child_protection",
            "community_id": community.id,
            "subject_name": f"兒童甲{DEMO}",
            "subject_address": f"示範巷 1 號{DEMO}",
            "observed_on": today - dt.timedelta(days=4),
            "description": f"{DEMO}巡守時發現兒童深夜獨自在巷口。",
            "reporter_name": "巡守隊員（示範）",
        },
        via="demo",
    )
    protection.receive_referral(session, social, received["id"], case_ref="示範-0001")
    protection.file_referral(
        session,
        org,
        {
            "kind": "domestic_violence",
            "community_id": community.id,
            "subject_name": f"住戶乙{DEMO}",
            "subject_address": f"示範路 2 號{DEMO}",
            "observed_on": today - dt.timedelta(days=1),
            "description": f"{DEMO}鄰居多次聽到爭吵與求救聲。",
            "immediate_danger": False,
        },
        via="demo",
    )
    protection.file_care_visit(
        session,
        org,
        {
            "community_id": community.id,
            "family_name": f"丙家{DEMO}",
            "address": f"示範街 3 號{DEMO}",
            "visited_on": today - dt.timedelta(days=2),
            "visitors": "志工二人（示範）",
            "situation": f"{DEMO}獨居長者，行動不便。",
            "resources_offered": "轉介居家服務",
            "needs_follow_up": True,
        },
        via="demo",
    )
    return 3


def _promotion(session: Session, actors: dict, community: Community, today) -> int:
    station = actors["demo-station"]
    events = (
        ("anti_fraud", "meeting", 10, "治安座談會防詐騙宣導", "社區居民", 42),
        ("anti_burglary", "lecture", 24, "居家防竊講習", "社區居民", 28),
        ("women_children", "training", 40, "婦幼安全與保護通報訓練", "守望相助隊員", 18),
        ("anti_drug", "activity", 70, "反毒宣導園遊會", "親子家庭", 120),
    )
    for topic, occasion, ago, title, audience, n in events:
        promotion.create(
            session,
            station,
            {
                "community_id": community.id,
                "topic": topic,
                "occasion": occasion,
                "held_on": today - dt.timedelta(days=ago),
                "title": f"{title}{DEMO}",
                "audience": audience,
                "attendance": n,
                "speaker_unit": "派出所（示範）",
            },
        )
    return len(events)


def _watch(session: Session, actors: dict, community: Community, today) -> int:
    org = actors["demo-community"]
    team = watch_teams.create_team(
        session,
        org,
        {
            "community_id": community.id,
            "name": f"{community.name}守望相助隊{DEMO}",
            "founded_on": today.replace(month=1, day=1),
            "leader_name": "隊長周示範",
            "phone": "0911-000-000",
            "equipment": [
                {"item": "反光背心", "quantity": 12},
                {"item": "手電筒", "quantity": 8},
                {"item": "無線電", "quantity": 4},
            ],
        },
    )
    for name, position, trained in (
        ("周示範", "隊長", True),
        ("吳示範", "副隊長", True),
        ("鄭示範", "隊員", False),
        ("謝示範", "隊員", True),
    ):
        watch_teams.add_member(
            session,
            org,
            team.id,
            {"name": name, "position": position, "protection_trained": trained},
        )
    for days, start, end in (([2, 4], dt.time(20), dt.time(22)), ([6], dt.time(21), dt.time(23))):
        watch_teams.add_shift(
            session, org, team.id, {"weekdays": days, "start_time": start, "end_time": end}
        )
    place = _places(session, community, 1)[0]
    for ago, observations in ((9, []), (2, [("巷口路燈故障，夜間昏暗（示範）", place)])):
        day = today - dt.timedelta(days=ago)
        watch_teams.add_patrol_log(
            session,
            org,
            team.id,
            {
                "started_at": dt.datetime.combine(day, dt.time(20), LOCAL),
                "ended_at": dt.datetime.combine(day, dt.time(22), LOCAL),
                "members_present": 3,
                "member_names": "周示範、吳示範、謝示範",
                "notes": f"{DEMO}例行巡守。",
                "observations": [
                    {"description": d, "category": "poor_lighting", "severity": 3, "location": p}
                    for d, p in observations
                ],
            },
        )
    return 1


def _bulletins(session: Session, actors: dict, community: Community, today) -> int:
    """Last month's community issue, published (the public archive is not empty)."""
    org = actors["demo-community"]
    last_month = (today.replace(day=1) - dt.timedelta(days=1)).replace(day=1)
    issue = bulletins.create_issue(
        session, org, scope="community", month=last_month, community_id=community.id
    )
    bulletins.update_issue(
        session,
        org,
        issue.id,
        issue.version,
        {"texts": {"notes": f"{DEMO}本月守望相助隊新增夜間巡守班次，歡迎居民加入。"}},
    )
    bulletins.publish(session, org, issue.id)
    return 1
