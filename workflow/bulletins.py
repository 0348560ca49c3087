"""社區警政治安「e話」 and community safety bulletins (plan 伍、一、(八) 「持續發行社區警政治安
「e 話」電子報」, 伍、四、(八) 「發行社區治安簡訊」, 陸、一、(五) 「適時發行社區治安報導…提供
社區學童及民眾治安訊息，防止被害事件發生」).

An issue covers one month of one community or one district. Its facts are generated from the
data - hazards fixed, new cameras (a count: camera positions are police information), safety
meetings, incident trends as monthly counts, promotion events, patrols and what comes next
month - and its texts (introduction, notes, anti-fraud tips, closing) are editable. Once
published an issue is frozen and public, the archive of the bulletin.

Nothing here reads protection referrals or care visits, and households of anti-theft
consultations appear only as a count of visits in the whole area.
"""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

from sqlalchemy import Date, Text, and_, cast, func, literal, or_, select, union_all
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.orm import Session, aliased

from data import reference_text
from geo.enums import CameraStatus, HazardStatus
from geo.enums_services import (
    BulletinScope,
    BulletinStatus,
    ConsultationStatus,
    DisasterRequestStatus,
    DisasterTopic,
    PromotionTopic,
)
from geo.errors import InvalidInput, NotFound
from geo.layers import VersionConflict, VersionRequired
from geo.models import (
    Camera,
    Community,
    District,
    Hazard,
    Incident,
    Precinct,
    SafetyMeeting,
    community_villages,
)
from geo.models_services import (
    BulletinIssue,
    Consultation,
    DisasterRequest,
    PatrolLog,
    PromotionEvent,
    WatchTeam,
)

from . import service_states as states
from .access import Actor, get_community, require_signed_in
from .consultations import suppress
from .layers import hazard_categories
from .roc import add_months, month_end, roc_month
from .services_access import (
    bulletin_edit_filter,
    bulletin_read_filter,
    check_district_editor,
    require_bulletin_editor,
)

LOCAL_TZ = "Asia/Taipei"
TREND_MONTHS = 6
MAX_LISTED = 10
TEXT_KEYS = ("intro", "notes", "anti_fraud_tips", "closing")
TEXT_LIMIT = 5000

DEFAULT_ANTI_FRAUD_TIPS = """\
一、接到自稱檢警、法院或銀行的電話要求轉帳、提款或交付存摺，一定是詐騙。
二、網路購物或解除分期付款，對方要您操作 ATM 或網路銀行，一定是詐騙。
三、投資保證獲利、穩賺不賠，或要您加入不明群組，一定是詐騙。
四、有疑問請撥打 165 反詐騙諮詢專線，或就近向派出所查證。"""

DEFAULT_CLOSING = (
    "遇有緊急狀況請撥 110 報案；婦幼保護請撥 113 保護專線；疑似詐騙請撥 165 反詐騙諮詢專線。"
)


class _Area:
    """The communities, and the place, an issue covers."""

    def __init__(self, session: Session, issue: BulletinIssue):
        self.scope = issue.scope
        if issue.scope is BulletinScope.community:
            community = session.get(Community, issue.community_id)
            district = session.get(District, community.district_id)
            precinct = session.get(Precinct, community.precinct_id)
            self.name = community.name
            self.district = district.name
            self.precinct = precinct.name
            self.precinct_phone = precinct.phone
            self.community_ids = select(literal(community.id))
            self.geom = select(Community.geom).where(Community.id == community.id)
            self.villages = select(community_villages.c.village_id).where(
                community_villages.c.community_id == community.id
            )
        else:
            district = session.get(District, issue.district_id)
            self.name = district.name
            self.district = district.name
            self.precinct = None
            self.precinct_phone = None
            self.community_ids = select(Community.id).where(Community.district_id == district.id)
            self.geom = select(District.geom).where(District.id == district.id)
            self.villages = None
            self.district_id = district.id


def _local_date(col):
    return cast(func.timezone(LOCAL_TZ, col), Date)


def _between(col, start: dt.date, end: dt.date):
    return and_(col >= start, col <= end)


def generate_facts(session: Session, issue: BulletinIssue) -> dict:
    """The month's figures for the issue's area, computed from the data now."""
    area = _Area(session, issue)
    start = issue.month
    end = month_end(start)
    next_start = add_months(start, 1)
    next_end = month_end(next_start)
    in_area = Hazard.community_id.in_(area.community_ids)
    labels = {code: c["label"] for code, c in hazard_categories().items()}

    fixed_rows = session.execute(
        select(Hazard.title, Hazard.category, _local_date(Hazard.fixed_at).label("fixed_on"))
        .where(
            in_area,
            Hazard.status == HazardStatus.fixed,
            _between(_local_date(Hazard.fixed_at), start, end),
        )
        .order_by(Hazard.fixed_at)
    ).all()
    hazards_new = session.scalar(
        select(func.count()).where(in_area, _between(_local_date(Hazard.reported_at), start, end))
    )
    hazards_open = session.scalar(
        select(func.count()).where(
            in_area, Hazard.status.in_([HazardStatus.open, HazardStatus.assigned])
        )
    )
    # Camera positions are police information: the bulletin gives a count, never a place.
    cameras = session.scalar(
        select(func.count()).where(
            Camera.status == CameraStatus.installed,
            _between(Camera.installed_at, start, end),
            or_(
                Camera.community_id.in_(area.community_ids),
                func.ST_Intersects(Camera.geom, area.geom.scalar_subquery()),
            ),
        )
    )
    meetings = session.execute(
        select(
            SafetyMeeting.held_on,
            SafetyMeeting.place,
            SafetyMeeting.attendees,
            Community.name.label("community"),
        )
        .join(Community, Community.id == SafetyMeeting.community_id)
        .where(
            SafetyMeeting.community_id.in_(area.community_ids),
            _between(SafetyMeeting.held_on, start, end),
        )
        .order_by(SafetyMeeting.held_on)
    ).all()

    trend_start = add_months(start, -(TREND_MONTHS - 1))
    incident_month = func.date_trunc("month", func.timezone(LOCAL_TZ, Incident.occurred_at))
    incident_rows = session.execute(
        select(
            cast(incident_month, Date).label("month"),
            Incident.type,
            func.count().label("n"),
        )
        .where(
            func.ST_Intersects(Incident.geom, area.geom.scalar_subquery()),
            _between(_local_date(Incident.occurred_at), trend_start, end),
        )
        .group_by(incident_month, Incident.type)
    ).all()
    incident_labels = {
        t["code"]: t["label"] for t in json.loads(reference_text("incident_types.json"))["types"]
    }
    months = [add_months(trend_start, i) for i in range(TREND_MONTHS)]
    totals = dict.fromkeys(months, 0)
    by_type: dict[str, dict] = {}
    previous = add_months(start, -1)
    for r in incident_rows:
        totals[r.month] = totals.get(r.month, 0) + r.n
        entry = by_type.setdefault(
            r.type,
            {
                "type": r.type,
                "label": incident_labels.get(r.type, r.type),
                "this_month": 0,
                "previous_month": 0,
            },
        )
        if r.month == start:
            entry["this_month"] += r.n
        elif r.month == previous:
            entry["previous_month"] += r.n

    promo = session.execute(
        select(PromotionEvent.topic, func.count().label("n"), func.sum(PromotionEvent.attendance))
        .where(
            PromotionEvent.community_id.in_(area.community_ids),
            _between(PromotionEvent.held_on, start, end),
        )
        .group_by(PromotionEvent.topic)
    ).all()
    disaster_held = session.execute(
        select(func.count(), func.coalesce(func.sum(DisasterRequest.attendance), 0)).where(
            DisasterRequest.community_id.in_(area.community_ids),
            DisasterRequest.status == DisasterRequestStatus.held,
            _between(DisasterRequest.held_on, start, end),
        )
    ).one()
    # Anti-theft visits: one number for the whole area; households are police information.
    visits_area = (
        Consultation.village_id.in_(area.villages)
        if area.villages is not None
        else Consultation.district_id == area.district_id
    )
    visits = session.scalar(
        select(func.count()).where(
            visits_area,
            Consultation.status.in_([ConsultationStatus.visited, ConsultationStatus.closed]),
            _between(Consultation.visited_on, start, end),
        )
    )
    patrols = session.execute(
        select(
            func.count(),
            func.coalesce(
                func.sum(func.extract("epoch", PatrolLog.ended_at - PatrolLog.started_at)), 0
            ),
        )
        .join(WatchTeam, WatchTeam.id == PatrolLog.team_id)
        .where(
            WatchTeam.community_id.in_(area.community_ids),
            _between(_local_date(PatrolLog.started_at), start, end),
        )
    ).one()

    upcoming = _upcoming(session, area, next_start, next_end)
    facts: dict[str, Any] = {
        "scope": area.scope.value,
        "area": area.name,
        "district": area.district,
        "precinct": area.precinct,
        "precinct_phone": area.precinct_phone,
        "month": start.isoformat(),
        "next_month": next_start.isoformat(),
        "hazards_fixed": {
            "count": len(fixed_rows),
            "items": [
                {
                    "title": r.title or labels.get(r.category, r.category),
                    "category": labels.get(r.category, r.category),
                    "fixed_on": r.fixed_on.isoformat(),
                }
                for r in fixed_rows[:MAX_LISTED]
            ],
        },
        "hazards_new": hazards_new,
        "hazards_open": hazards_open,
        "cameras_installed": cameras,
        "meetings": [
            {
                "held_on": m.held_on.isoformat(),
                "place": m.place,
                "attendees": m.attendees,
                "community": m.community,
            }
            for m in meetings
        ],
        "incidents": {
            "months": [{"month": m.isoformat(), "total": totals.get(m, 0)} for m in months],
            "by_type": sorted(by_type.values(), key=lambda e: (-e["this_month"], e["type"])),
        },
        "promotion": {
            "events": sum(r.n for r in promo),
            "attendance": int(sum(r[2] or 0 for r in promo)),
            "by_topic": [
                {"topic": r.topic.value, "label": r.topic.label, "events": r.n}
                for r in sorted(promo, key=lambda r: list(PromotionTopic).index(r.topic))
            ],
        },
        "disaster_events": {"events": disaster_held[0], "attendance": int(disaster_held[1])},
        # Public: a community's one or two visits of the month would name the households.
        "consultation_visits": suppress(visits),
        "patrols": {"count": patrols[0], "hours": round(float(patrols[1]) / 3600, 1)},
        "upcoming": upcoming,
    }
    if area.scope is BulletinScope.district:
        facts["communities"] = session.scalar(
            select(func.count()).select_from(area.community_ids.subquery())
        )
    return facts


def _upcoming(session: Session, area: _Area, start: dt.date, end: dt.date) -> list[dict]:
    """Next month's meetings, talks and disaster-prevention courses, by date."""
    topic_labels = DisasterTopic.labels()
    rows = session.execute(
        union_all(
            select(
                SafetyMeeting.held_on.label("on"),
                literal("社區治安會議").label("kind"),
                SafetyMeeting.place.label("place"),
                literal("").label("title"),
                Community.name.label("community"),
            )
            .join(Community, Community.id == SafetyMeeting.community_id)
            .where(
                SafetyMeeting.community_id.in_(area.community_ids),
                _between(SafetyMeeting.held_on, start, end),
            ),
            select(
                PromotionEvent.held_on,
                literal("犯罪預防宣導"),
                literal(""),
                PromotionEvent.title,
                Community.name,
            )
            .join(Community, Community.id == PromotionEvent.community_id)
            .where(
                PromotionEvent.community_id.in_(area.community_ids),
                _between(PromotionEvent.held_on, start, end),
            ),
            select(
                DisasterRequest.scheduled_date,
                literal("防災宣導"),
                DisasterRequest.place,
                cast(DisasterRequest.topics, Text),
                Community.name,
            )
            .join(Community, Community.id == DisasterRequest.community_id)
            .where(
                DisasterRequest.community_id.in_(area.community_ids),
                DisasterRequest.status == DisasterRequestStatus.accepted,
                _between(DisasterRequest.scheduled_date, start, end),
            ),
        ).order_by("on")
    ).all()
    out = []
    for r in rows:
        title = r.title
        if r.kind == "防災宣導":
            title = "、".join(topic_labels.get(t, t) for t in json.loads(title))
        out.append(
            {
                "date": r.on.isoformat(),
                "kind": r.kind,
                "title": title,
                "place": r.place,
                "community": r.community,
            }
        )
    return out


# --------------------------------------------------------------------------- issues
def default_texts(facts: dict, month: dt.date) -> dict:
    fixed = facts["hazards_fixed"]["count"]
    intro = (
        f"{facts['area']} {roc_month(month)}治安「e話」：本月改善 {fixed} 處治安問題點，"
        f"新增 {facts['cameras_installed']} 支監視器，召開 {len(facts['meetings'])} 場社區治安會議。"
        "感謝社區志工與巡守隊員的付出，歡迎居民一起守護社區。"
    )
    closing = DEFAULT_CLOSING
    if facts.get("precinct"):
        phone = f"（{facts['precinct_phone']}）" if facts.get("precinct_phone") else ""
        closing = f"轄區：{facts['precinct']}{phone}。" + DEFAULT_CLOSING
    return {
        "intro": intro,
        "notes": "",
        "anti_fraud_tips": DEFAULT_ANTI_FRAUD_TIPS,
        "closing": closing,
    }


def _month(value: Any) -> dt.date:
    if isinstance(value, dt.date):
        month = value.replace(day=1)
    else:
        try:
            month = dt.date.fromisoformat(f"{value}-01" if len(str(value)) == 7 else str(value))
        except ValueError:
            raise InvalidInput("月份格式應為 YYYY-MM。", detail="bad month") from None
        month = month.replace(day=1)
    if month > dt.date.today().replace(day=1):
        raise InvalidInput("不能產生未來月份的「e話」。", detail="month in the future")
    return month


def create_issue(
    session: Session,
    actor: Actor,
    *,
    scope: str,
    month: Any,
    community_id: int | None = None,
    district_id: int | None = None,
) -> BulletinIssue:
    """A draft issue for a community or a district and month, generated from the data.

    Asking again for a month that has a draft regenerates that draft's figures.
    """
    try:
        scope_value = BulletinScope(scope)
    except ValueError:
        raise InvalidInput(
            "範圍須為社區（community）或行政區（district）。", detail="bad scope"
        ) from None
    require_bulletin_editor(actor, scope_value)
    month_value = _month(month)
    if scope_value is BulletinScope.community:
        if community_id is None:
            raise InvalidInput("請指定社區（community_id）。", detail="community_id missing")
        community = get_community(session, actor, community_id)
        target = {"community_id": community.id, "district_id": None}
        area_title = community.name
    else:
        if district_id is None:
            raise InvalidInput("請指定行政區（district_id）。", detail="district_id missing")
        district = session.get(District, district_id)
        if district is None:
            raise NotFound("找不到此行政區。", detail=f"district {district_id}")
        check_district_editor(actor, district.id)
        target = {"community_id": None, "district_id": district.id}
        area_title = district.name
    existing = session.scalar(
        select(BulletinIssue).where(
            BulletinIssue.scope == scope_value,
            BulletinIssue.month == month_value,
            BulletinIssue.community_id == target["community_id"]
            if target["community_id"]
            else BulletinIssue.district_id == target["district_id"],
        )
    )
    if existing is not None:
        return regenerate(session, actor, existing.id)
    # Insert-or-nothing: two editors generating the same month at once get one issue.
    new_id = session.execute(
        insert(BulletinIssue)
        .values(
            scope=scope_value,
            month=month_value,
            title=f"{area_title}｜社區警政治安「e話」{roc_month(month_value)}",
            status=BulletinStatus.draft,
            facts={},
            texts={},
            created_by=actor.user_id,
            **target,
        )
        .on_conflict_do_nothing()
        .returning(BulletinIssue.id)
    ).scalar()
    if new_id is None:
        existing = session.scalar(
            select(BulletinIssue.id).where(
                BulletinIssue.month == month_value,
                BulletinIssue.community_id == target["community_id"]
                if target["community_id"]
                else BulletinIssue.district_id == target["district_id"],
            )
        )
        return regenerate(session, actor, existing)
    issue = session.get(BulletinIssue, new_id)
    issue.facts = generate_facts(session, issue)
    issue.texts = default_texts(issue.facts, month_value)
    session.flush()
    return issue


def _editable(session: Session, actor: Actor, issue_id: int) -> BulletinIssue:
    require_signed_in(actor)
    issue = session.scalar(
        select(BulletinIssue)
        .where(BulletinIssue.id == issue_id, bulletin_edit_filter(actor))
        .with_for_update()
    )
    if issue is None:
        raise NotFound("找不到此期「e話」，或您沒有權限編輯。", detail=f"bulletin {issue_id}")
    if issue.status is not BulletinStatus.draft:
        raise states.InvalidServiceTransition(
            "已發布的「e話」已歸檔，不能再修改。", detail=f"bulletin {issue_id} published"
        )
    return issue


def regenerate(session: Session, actor: Actor, issue_id: int) -> BulletinIssue:
    """Recompute a draft's figures from the data; the edited texts are kept."""
    issue = _editable(session, actor, issue_id)
    issue.facts = generate_facts(session, issue)
    issue.generated_at = func.now()
    issue.version += 1
    issue.updated_at = func.now()
    session.flush()
    session.refresh(issue)
    return issue


def update_issue(
    session: Session, actor: Actor, issue_id: int, version: int | None, data: dict
) -> BulletinIssue:
    """Edit the title and the texts of a draft."""
    issue = _editable(session, actor, issue_id)
    if version is None:
        raise VersionRequired()
    if issue.version != version:
        raise VersionConflict(detail=f"bulletin {issue_id}: {issue.version} != {version}")
    if "title" in data:
        title = data["title"]
        if not isinstance(title, str) or not title.strip() or len(title) > 128:
            raise InvalidInput("標題須為 1 到 128 字。", detail="bad title")
        issue.title = title.strip()
    if "texts" in data:
        texts = data["texts"]
        if not isinstance(texts, dict) or set(texts) - set(TEXT_KEYS):
            raise InvalidInput(
                f"可編輯的段落為：{'、'.join(TEXT_KEYS)}。", detail="unknown text sections"
            )
        for key, value in texts.items():
            if not isinstance(value, str) or len(value) > TEXT_LIMIT:
                raise InvalidInput(f"段落「{key}」最多 {TEXT_LIMIT} 字。", detail=f"bad {key}")
        issue.texts = {**issue.texts, **texts}
    issue.version += 1
    issue.updated_at = func.now()
    session.flush()
    return issue


def publish(session: Session, actor: Actor, issue_id: int) -> BulletinIssue:
    """Freeze the issue and make it public in the archive."""
    issue = _editable(session, actor, issue_id)
    states.transition(session, states.BULLETINS, issue, BulletinStatus.published, actor)
    issue.published_at = func.now()
    issue.published_by = actor.user_id
    session.flush()
    session.refresh(issue)
    return issue


def _issue_select():
    # A district issue names its district; a community issue the community's district.
    district = aliased(District)
    return (
        select(
            BulletinIssue,
            Community.name.label("community"),
            district.name.label("district"),
        )
        .outerjoin(Community, Community.id == BulletinIssue.community_id)
        .outerjoin(
            district,
            district.id == func.coalesce(BulletinIssue.district_id, Community.district_id),
        )
    )


def _issue_json(row, actor: Actor) -> dict:
    i: BulletinIssue = row.BulletinIssue
    return {
        "id": i.id,
        "scope": i.scope.value,
        "scope_label": i.scope.label,
        "community_id": i.community_id,
        "community": row.community,
        "district_id": i.district_id,
        "district": row.district,
        "month": i.month,
        "title": i.title,
        "status": i.status.value,
        "status_label": i.status.label,
        "facts": i.facts,
        "texts": i.texts,
        "generated_at": i.generated_at,
        "published_at": i.published_at,
        "version": i.version,
    }


def list_issues(
    session: Session,
    actor: Actor,
    *,
    status: str | None = None,
    community_id: int | None = None,
    district_id: int | None = None,
    year: int | None = None,
    limit: int = 100,
    offset: int = 0,
) -> dict:
    """Issues the caller may read: the public archive, plus drafts for their editors."""
    where = [bulletin_read_filter(actor)]
    if status:
        try:
            where.append(BulletinIssue.status == BulletinStatus(status))
        except ValueError:
            raise InvalidInput(f"未知的狀態：{status}", detail="bad status") from None
    if community_id is not None:
        where.append(BulletinIssue.community_id == community_id)
    if district_id is not None:
        where.append(
            or_(
                BulletinIssue.district_id == district_id,
                BulletinIssue.community_id.in_(
                    select(Community.id).where(Community.district_id == district_id)
                ),
            )
        )
    if year is not None:
        where.append(func.extract("year", BulletinIssue.month) == year)
    total = session.scalar(select(func.count()).select_from(BulletinIssue).where(*where))
    rows = session.execute(
        _issue_select()
        .where(*where)
        .order_by(BulletinIssue.month.desc(), BulletinIssue.id.desc())
        .limit(limit)
        .offset(offset)
    ).all()
    items = [_issue_json(r, actor) for r in rows]
    for item in items:
        item.pop("facts")
        item.pop("texts")
    return {"total": total, "limit": limit, "offset": offset, "items": items}


def get(session: Session, actor: Actor, issue_id: int) -> dict:
    row = session.execute(
        _issue_select().where(BulletinIssue.id == issue_id, bulletin_read_filter(actor))
    ).first()
    if row is None:
        raise NotFound("找不到此期「e話」。", detail=f"bulletin {issue_id} not readable")
    out = _issue_json(row, actor)
    out["editable"] = (
        row.BulletinIssue.status is BulletinStatus.draft
        and actor.role is not None
        and session.scalar(
            select(BulletinIssue.id).where(
                BulletinIssue.id == issue_id, bulletin_edit_filter(actor)
            )
        )
        is not None
    )
    return out
