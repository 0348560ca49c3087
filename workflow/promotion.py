"""Crime-prevention promotion events (犯罪預防宣導), counted by the evaluation.

Plan 陸、一、(七): 「社區組織於辦理社區治安會議（座談會）、相關訓練、講習、活動時，得邀請轄區
警察機關派員進行預防犯罪宣導，提供防盜、防詐騙、反毒最新訊息」, and 陸、三、(二) for women and
children's safety. Each event records its topic, date, occasion, audience and the police
unit that spoke.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from geo.enums import Role
from geo.enums_services import PromotionOccasion, PromotionTopic
from geo.errors import InvalidInput, NotFound
from geo.layers import VersionConflict, VersionRequired
from geo.models import Community, District, PoliceStation, Precinct, SafetyMeeting
from geo.models_services import PromotionEvent

from .access import Actor, community_filter, require_signed_in
from .services_access import community_for_write

WRITERS = frozenset({Role.community, Role.station, Role.precinct, Role.city_police})
FIELDS = (
    "topic", "occasion", "held_on", "title", "audience", "attendance", "speaker_unit",
    "speaker_name", "meeting_id", "notes",
)  # fmt: skip


def _text(value: Any, label: str, key: str, *, required: bool = True, limit: int = 128) -> str:
    if value is not None and not isinstance(value, str):
        raise InvalidInput(f"{label}格式不正確。", detail=f"{key} not text")
    text = (value or "").strip()
    if required and not text:
        raise InvalidInput(f"請填寫{label}（{key}）。", detail=f"{key} missing")
    if len(text) > limit:
        raise InvalidInput(f"{label}最多 {limit} 字。", detail=f"{key} too long")
    return text


def _check(session: Session, values: dict, community_id: int, *, creating: bool) -> dict:
    out: dict[str, Any] = {}
    for key, cls, label in (
        ("topic", PromotionTopic, "宣導主題"),
        ("occasion", PromotionOccasion, "宣導場合"),
    ):
        if key in values or creating:
            try:
                out[key] = cls(values.get(key))
            except ValueError:
                raise InvalidInput(
                    f"請選擇{label}（{'、'.join(m.label for m in cls)}）。", detail=f"bad {key}"
                ) from None
    if "held_on" in values or creating:
        held_on = values.get("held_on")
        if not isinstance(held_on, dt.date):
            raise InvalidInput("請填寫宣導日期（held_on）。", detail="held_on missing")
        out["held_on"] = held_on
    for key, label, required, limit in (
        ("title", "宣導名稱", True, 128),
        ("audience", "宣導對象", True, 128),
        ("speaker_unit", "宣導單位（警察機關）", True, 64),
        ("speaker_name", "宣導人員", False, 64),
        ("notes", "備註", False, 2000),
    ):
        if key in values or creating:
            out[key] = _text(values.get(key), label, key, required=required, limit=limit)
    if out.get("speaker_name") == "":
        out["speaker_name"] = None
    if "attendance" in values or creating:
        n = values.get("attendance") or 0
        if not isinstance(n, int) or isinstance(n, bool) or n < 0:
            raise InvalidInput("參加人數須為 0 以上的整數。", detail="bad attendance")
        out["attendance"] = n
    if values.get("meeting_id") is not None:
        ok = session.scalar(
            select(SafetyMeeting.id).where(
                SafetyMeeting.id == values["meeting_id"], SafetyMeeting.community_id == community_id
            )
        )
        if ok is None:
            raise InvalidInput("指定的治安會議不存在或不屬於此社區。", detail="meeting mismatch")
        out["meeting_id"] = values["meeting_id"]
    elif "meeting_id" in values:
        out["meeting_id"] = None
    return out


def create(session: Session, actor: Actor, data: dict) -> PromotionEvent:
    if data.get("community_id") is None:
        raise InvalidInput("請指定社區（community_id）。", detail="community_id missing")
    community = community_for_write(session, actor, data.get("community_id"), WRITERS)
    values = _check(session, data, community.id, creating=True)
    precinct_id, station_id = actor.precinct_id, actor.station_id
    if actor.role is Role.station and station_id is not None:
        precinct_id = session.get(PoliceStation, station_id).precinct_id
    if precinct_id is None:
        # A community records the talk of the police who serve it.
        precinct_id, station_id = community.precinct_id, community.station_id
    record = PromotionEvent(
        community_id=community.id,
        precinct_id=precinct_id,
        station_id=station_id,
        created_by=actor.user_id,
        **values,
    )
    session.add(record)
    session.flush()
    return record


def _select():
    return (
        select(
            PromotionEvent,
            Community.name.label("community"),
            District.name.label("district"),
            Precinct.name.label("precinct"),
        )
        .join(Community, Community.id == PromotionEvent.community_id)
        .join(District, District.id == Community.district_id)
        .outerjoin(Precinct, Precinct.id == PromotionEvent.precinct_id)
    )


def _json(row) -> dict:
    e: PromotionEvent = row.PromotionEvent
    return {
        "id": e.id,
        "community_id": e.community_id,
        "community": row.community,
        "district": row.district,
        "precinct": row.precinct,
        "topic": e.topic.value,
        "topic_label": e.topic.label,
        "occasion": e.occasion.value,
        "occasion_label": e.occasion.label,
        "held_on": e.held_on,
        "title": e.title,
        "audience": e.audience,
        "attendance": e.attendance,
        "speaker_unit": e.speaker_unit,
        "speaker_name": e.speaker_name,
        "meeting_id": e.meeting_id,
        "notes": e.notes,
        "version": e.version,
    }


def list_events(
    session: Session,
    actor: Actor,
    *,
    year: int | None = None,
    topic: str | None = None,
    community_id: int | None = None,
    limit: int = 100,
    offset: int = 0,
) -> dict:
    require_signed_in(actor)
    where = [community_filter(actor)]
    if year is not None:
        where.append(func.extract("year", PromotionEvent.held_on) == year)
    if topic:
        try:
            where.append(PromotionEvent.topic == PromotionTopic(topic))
        except ValueError:
            raise InvalidInput(f"未知的宣導主題：{topic}", detail="bad topic") from None
    if community_id is not None:
        where.append(PromotionEvent.community_id == community_id)
    total = session.scalar(
        select(func.count())
        .select_from(PromotionEvent)
        .join(Community, Community.id == PromotionEvent.community_id)
        .where(*where)
    )
    rows = session.execute(
        _select()
        .where(*where)
        .order_by(PromotionEvent.held_on.desc(), PromotionEvent.id.desc())
        .limit(limit)
        .offset(offset)
    ).all()
    return {"total": total, "limit": limit, "offset": offset, "items": [_json(r) for r in rows]}


def _row(session: Session, actor: Actor, event_id: int):
    require_signed_in(actor)
    row = session.execute(
        _select().where(PromotionEvent.id == event_id, community_filter(actor))
    ).first()
    if row is None:
        raise NotFound(
            "找不到此宣導活動，或您沒有權限查看。",
            detail=f"promotion event {event_id} out of scope",
        )
    return row


def get(session: Session, actor: Actor, event_id: int) -> dict:
    return _json(_row(session, actor, event_id))


def _writable(session: Session, actor: Actor, event_id: int, version: int | None) -> PromotionEvent:
    record = _row(session, actor, event_id).PromotionEvent
    community_for_write(session, actor, record.community_id, WRITERS)
    if version is None:
        raise VersionRequired()
    if record.version != version:
        raise VersionConflict(detail=f"promotion event {event_id}: {record.version} != {version}")
    return record


def update(
    session: Session, actor: Actor, event_id: int, version: int | None, data: dict
) -> PromotionEvent:
    record = _writable(session, actor, event_id, version)
    unknown = sorted(set(data) - set(FIELDS))
    if unknown:
        raise InvalidInput(f"不認得的欄位：{'、'.join(unknown)}", detail=f"unknown {unknown}")
    for key, value in _check(session, data, record.community_id, creating=False).items():
        setattr(record, key, value)
    record.version += 1
    record.updated_at = func.now()
    session.flush()
    return record


def delete(session: Session, actor: Actor, event_id: int, version: int | None) -> None:
    record = _writable(session, actor, event_id, version)
    session.delete(record)
    session.flush()


def figures(session: Session, actor: Actor, *, year: int) -> dict:
    """Events and attendance of a year per community and topic, as the evaluation counts them."""
    require_signed_in(actor)
    e = PromotionEvent
    rows = session.execute(
        select(
            Community.id.label("community_id"),
            Community.name.label("community"),
            District.name.label("district"),
            e.topic,
            func.count().label("events"),
            func.sum(e.attendance).label("attendance"),
        )
        .join(Community, Community.id == e.community_id)
        .join(District, District.id == Community.district_id)
        .where(community_filter(actor), func.extract("year", e.held_on) == year)
        .group_by(Community.id, Community.name, District.name, e.topic)
        .order_by(Community.id)
    ).all()
    communities: dict[int, dict] = {}
    totals = {t.value: {"events": 0, "attendance": 0} for t in PromotionTopic}
    for r in rows:
        c = communities.setdefault(
            r.community_id,
            {
                "community_id": r.community_id,
                "community": r.community,
                "district": r.district,
                "events": 0,
                "attendance": 0,
                "by_topic": {t.value: 0 for t in PromotionTopic},
            },
        )
        c["events"] += r.events
        c["attendance"] += int(r.attendance or 0)
        c["by_topic"][r.topic.value] += r.events
        totals[r.topic.value]["events"] += r.events
        totals[r.topic.value]["attendance"] += int(r.attendance or 0)
    return {
        "year": year,
        "topics": PromotionTopic.labels(),
        "totals": totals,
        "communities": list(communities.values()),
    }
