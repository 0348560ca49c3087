"""Disaster-prevention promotion requests to the fire bureau (plan 陸、二, 本府消防局主政).

Plan 陸、二、(三): 「社區辦理宣導活動時，以書面向當地消防局或消防大隊提出申請，敘明宣導項目及
內容，由受理單位核派教官前往現地實施宣導講授」. A community files the request (and prints
the written form); the fire bureau accepts and assigns instructors, proposes another date, or
declines; the event is then recorded with its attendance.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import func, select, true
from sqlalchemy.orm import Session

from geo.enums import Role
from geo.enums_services import DisasterRequestStatus as S
from geo.enums_services import DisasterTopic
from geo.errors import InvalidInput, NotFound, PermissionDenied
from geo.models import Community, District, Organisation
from geo.models_services import DisasterRequest

from . import service_states as states
from .access import Actor, community_filter, require_signed_in
from .services_access import community_for_write

FILERS = frozenset({Role.community})
DEFAULT_FIRE_UNIT = "新北市政府消防局"
MAX_INSTRUCTORS = 20


def _text(value: Any, label: str, key: str, *, required: bool = True, limit: int = 128) -> str:
    if value is not None and not isinstance(value, str):
        raise InvalidInput(f"{label}格式不正確。", detail=f"{key} not text")
    text = (value or "").strip()
    if required and not text:
        raise InvalidInput(f"請填寫{label}（{key}）。", detail=f"{key} missing")
    if len(text) > limit:
        raise InvalidInput(f"{label}最多 {limit} 字。", detail=f"{key} too long")
    return text


def check_topics(topics: Any) -> list[str]:
    if not isinstance(topics, list) or not topics:
        raise InvalidInput(
            f"請至少選擇一項宣導項目（{'、'.join(t.label for t in DisasterTopic)}）。",
            detail="topics missing",
        )
    known = DisasterTopic.labels()
    unknown = [t for t in topics if t not in known]
    if unknown:
        raise InvalidInput(f"不認得的宣導項目：{unknown}", detail="unknown topics")
    # Keep the plan's order, once each.
    return [t.value for t in DisasterTopic if t.value in topics]


def check_instructors(instructors: Any, *, required: bool) -> list[str]:
    if instructors is None:
        instructors = []
    if not isinstance(instructors, list) or not all(isinstance(i, str) for i in instructors):
        raise InvalidInput("教官名單格式不正確。", detail="instructors not a list of names")
    names = [i.strip() for i in instructors if i.strip()]
    if required and not names:
        raise InvalidInput("請填寫核派的教官（instructors）。", detail="instructors missing")
    if len(names) > MAX_INSTRUCTORS or any(len(n) > 64 for n in names):
        raise InvalidInput("教官名單過長。", detail="too many instructors")
    return names


def file_request(session: Session, actor: Actor, community_id: int, data: dict) -> DisasterRequest:
    """A community's written request (the printable form is ``form_context``)."""
    community_for_write(session, actor, community_id, FILERS)
    requested_date = data.get("requested_date")
    if requested_date is None or requested_date <= dt.date.today():
        raise InvalidInput("宣導日期須為明天以後的日期。", detail="requested_date not future")
    start, end = data.get("start_time"), data.get("end_time")
    if start is None:
        raise InvalidInput("請填寫宣導開始時間（start_time）。", detail="start_time missing")
    if end is not None and end <= start:
        raise InvalidInput("結束時間須晚於開始時間。", detail="end before start")
    attendance = data.get("expected_attendance")
    if not isinstance(attendance, int) or isinstance(attendance, bool) or attendance < 1:
        raise InvalidInput("請填寫預估參加人數（正整數）。", detail="bad expected_attendance")
    record = DisasterRequest(
        community_id=community_id,
        status=S.submitted,
        fire_unit=_text(data.get("fire_unit"), "受理單位", "fire_unit", required=False, limit=64)
        or DEFAULT_FIRE_UNIT,
        topics=check_topics(data.get("topics")),
        content=_text(data.get("content"), "宣導內容", "content", limit=2000),
        requested_date=requested_date,
        start_time=start,
        end_time=end,
        place=_text(data.get("place"), "宣導地點", "place"),
        expected_attendance=attendance,
        contact_name=_text(data.get("contact_name"), "聯絡人", "contact_name", limit=64),
        contact_phone=_text(data.get("contact_phone"), "聯絡電話", "contact_phone", limit=32),
        instructors=[],
        filed_by=actor.user_id,
    )
    session.add(record)
    session.flush()
    states.record_filed(session, states.DISASTER_REQUESTS, record, actor)
    return record


# --------------------------------------------------------------------------- reading
def _scoped():
    return (
        select(DisasterRequest, Community.name.label("community"), District.name.label("district"))
        .join(Community, Community.id == DisasterRequest.community_id)
        .join(District, District.id == Community.district_id)
    )


def get_request(
    session: Session, actor: Actor, request_id: int, *, for_update: bool = False
) -> DisasterRequest:
    require_signed_in(actor)
    stmt = (
        select(DisasterRequest)
        .join(Community, Community.id == DisasterRequest.community_id)
        .where(DisasterRequest.id == request_id, community_filter(actor))
    )
    if for_update:
        stmt = stmt.with_for_update(of=DisasterRequest)
    record = session.scalar(stmt)
    if record is None:
        raise NotFound(
            "找不到此防災宣導申請，或您沒有權限查看。",
            detail=f"disaster request {request_id} out of scope",
        )
    return record


def _json(row) -> dict:
    r: DisasterRequest = row.DisasterRequest
    labels = DisasterTopic.labels()
    return {
        "id": r.id,
        "community_id": r.community_id,
        "community": row.community,
        "district": row.district,
        "status": r.status.value,
        "status_label": r.status.label,
        "fire_unit": r.fire_unit,
        "topics": list(r.topics),
        "topic_labels": [labels[t] for t in r.topics],
        "content": r.content,
        "requested_date": r.requested_date,
        "start_time": r.start_time,
        "end_time": r.end_time,
        "place": r.place,
        "expected_attendance": r.expected_attendance,
        "contact_name": r.contact_name,
        "contact_phone": r.contact_phone,
        "proposed_date": r.proposed_date,
        "scheduled_date": r.scheduled_date,
        "instructors": list(r.instructors),
        "reply": r.reply,
        "held_on": r.held_on,
        "attendance": r.attendance,
        "event_notes": r.event_notes,
        "created_at": r.created_at,
        "version": r.version,
    }


def list_requests(
    session: Session,
    actor: Actor,
    *,
    status: str | None = None,
    community_id: int | None = None,
    year: int | None = None,
    limit: int = 100,
    offset: int = 0,
) -> dict:
    require_signed_in(actor)
    where = [community_filter(actor)]
    if status:
        try:
            where.append(DisasterRequest.status == S(status))
        except ValueError:
            raise InvalidInput(f"未知的狀態：{status}", detail="bad status") from None
    if community_id is not None:
        where.append(DisasterRequest.community_id == community_id)
    if year is not None:
        where.append(func.extract("year", DisasterRequest.requested_date) == year)
    total = session.scalar(
        select(func.count())
        .select_from(DisasterRequest)
        .join(Community, Community.id == DisasterRequest.community_id)
        .where(*where)
    )
    rows = session.execute(
        _scoped()
        .where(*where)
        .order_by(DisasterRequest.requested_date.desc(), DisasterRequest.id.desc())
        .limit(limit)
        .offset(offset)
    ).all()
    return {"total": total, "limit": limit, "offset": offset, "items": [_json(r) for r in rows]}


def get(session: Session, actor: Actor, request_id: int) -> dict:
    record = get_request(session, actor, request_id)
    row = session.execute(_scoped().where(DisasterRequest.id == record.id)).one()
    out = _json(row)
    out["history"] = states.history(session, states.DISASTER_REQUESTS, record.id)
    out["moves"] = [
        {"target": m.target.value, "label": m.label}
        for m in states.DISASTER_REQUESTS.allowed(record.status, actor.role)
    ]
    return out


def form_context(session: Session, actor: Actor, request_id: int) -> dict:
    """What the printable written request (書面申請) shows."""
    data = get(session, actor, request_id)
    community = session.get(Community, data["community_id"])
    organisation = session.get(Organisation, community.organisation_id)
    data["organisation"] = organisation.name
    data["organisation_address"] = organisation.address
    data["representative"] = organisation.contact_name
    return data


# --------------------------------------------------------------------------- the bureau's answer
def accept(
    session: Session, actor: Actor, request_id: int, *, instructors: list, reply: str | None
) -> DisasterRequest:
    """「核派教官」: accepted on the requested date with the instructors named."""
    record = get_request(session, actor, request_id, for_update=True)
    names = check_instructors(instructors, required=True)
    states.transition(session, states.DISASTER_REQUESTS, record, S.accepted, actor, comment=reply)
    record.instructors = names
    record.scheduled_date = record.requested_date
    record.reply = _text(reply, "回覆", "reply", required=False, limit=2000) or None
    session.flush()
    return record


def propose_date(
    session: Session,
    actor: Actor,
    request_id: int,
    *,
    proposed_date: dt.date,
    instructors: list | None,
    reply: str,
) -> DisasterRequest:
    record = get_request(session, actor, request_id, for_update=True)
    if proposed_date <= dt.date.today() or proposed_date == record.requested_date:
        raise InvalidInput("建議日期須為明天以後，且不同於原申請日期。", detail="bad proposed_date")
    names = check_instructors(instructors, required=False)
    text = _text(reply, "改期說明", "reply", limit=2000)
    states.transition(session, states.DISASTER_REQUESTS, record, S.rescheduled, actor, comment=text)
    record.proposed_date = proposed_date
    record.instructors = names
    record.reply = text
    session.flush()
    return record


def agree_date(session: Session, actor: Actor, request_id: int) -> DisasterRequest:
    """The community takes the date the bureau proposed."""
    record = get_request(session, actor, request_id, for_update=True)
    if record.status is not S.rescheduled:
        # Only a rescheduled request has a date to agree to (and the comment names it).
        raise states.InvalidServiceTransition(
            "只有消防局建議改期的申請可以同意改期。", detail=f"agree in {record.status}"
        )
    states.transition(
        session,
        states.DISASTER_REQUESTS,
        record,
        S.accepted,
        actor,
        comment=f"同意改於 {record.proposed_date.isoformat()} 辦理",
    )
    record.scheduled_date = record.proposed_date
    session.flush()
    return record


def set_instructors(
    session: Session, actor: Actor, request_id: int, instructors: list
) -> DisasterRequest:
    """Name or change the instructors of an accepted request (not a change of state)."""
    record = get_request(session, actor, request_id, for_update=True)
    if actor.role is not Role.fire_bureau:
        raise PermissionDenied("只有消防局可以核派教官。", detail="instructors by non-fire")
    if record.status is not S.accepted:
        raise states.InvalidServiceTransition(
            "只有已受理的申請可以變更教官。", detail=f"instructors in {record.status}"
        )
    names = check_instructors(instructors, required=True)
    record.instructors = names
    record.version += 1
    record.updated_at = func.now()
    states.note(session, states.DISASTER_REQUESTS, record, actor, "核派教官：" + "、".join(names))
    session.flush()
    return record


def decline(session: Session, actor: Actor, request_id: int, reply: str) -> DisasterRequest:
    record = get_request(session, actor, request_id, for_update=True)
    text = _text(reply, "不予受理原因", "reply", limit=2000)
    states.transition(session, states.DISASTER_REQUESTS, record, S.declined, actor, comment=text)
    record.reply = text
    session.flush()
    return record


def withdraw(
    session: Session, actor: Actor, request_id: int, comment: str | None
) -> DisasterRequest:
    record = get_request(session, actor, request_id, for_update=True)
    states.transition(
        session, states.DISASTER_REQUESTS, record, S.withdrawn, actor, comment=comment
    )
    return record


def record_held(
    session: Session,
    actor: Actor,
    request_id: int,
    *,
    held_on: dt.date,
    attendance: int,
    notes: str | None,
) -> DisasterRequest:
    """The event took place: its date and how many came."""
    record = get_request(session, actor, request_id, for_update=True)
    if held_on > dt.date.today():
        raise InvalidInput("辦理日期不能晚於今天。", detail="held in the future")
    if not isinstance(attendance, int) or attendance < 0:
        raise InvalidInput("參加人數須為 0 以上的整數。", detail="bad attendance")
    states.transition(
        session,
        states.DISASTER_REQUESTS,
        record,
        S.held,
        actor,
        comment=f"實到 {attendance} 人",
    )
    record.held_on = held_on
    record.attendance = attendance
    record.event_notes = _text(notes, "辦理情形", "notes", required=False, limit=5000) or None
    session.flush()
    return record


# --------------------------------------------------------------------------- figures
def figures(session: Session, actor: Actor, *, year: int) -> dict:
    """Requests and events of a year by topic and by district (within the reader's scope)."""
    require_signed_in(actor)
    r = DisasterRequest
    base = [
        community_filter(actor),
        func.extract("year", func.coalesce(r.held_on, r.scheduled_date, r.requested_date)) == year,
    ]
    topic = func.jsonb_array_elements_text(r.topics).table_valued("value").render_derived()
    by_topic = session.execute(
        select(
            topic.c.value.label("topic"),
            func.count().label("requests"),
            func.count().filter(r.status == S.held).label("held"),
            func.coalesce(func.sum(r.attendance).filter(r.status == S.held), 0).label("attendance"),
        )
        .select_from(r)
        .join(Community, Community.id == r.community_id)
        .join(topic, true())
        .where(*base)
        .group_by(topic.c.value)
    ).all()
    labels = DisasterTopic.labels()
    by_district = session.execute(
        select(
            District.name.label("district"),
            func.count().label("requests"),
            func.count().filter(r.status == S.held).label("held"),
            func.coalesce(func.sum(r.attendance).filter(r.status == S.held), 0).label("attendance"),
        )
        .select_from(r)
        .join(Community, Community.id == r.community_id)
        .join(District, District.id == Community.district_id)
        .where(*base)
        .group_by(District.name)
        .order_by(District.name)
    ).all()
    counts = {row.topic: row for row in by_topic}
    return {
        "year": year,
        "by_topic": [
            {
                "topic": t,
                "label": labels[t],
                "requests": counts[t].requests if t in counts else 0,
                "held": counts[t].held if t in counts else 0,
                "attendance": int(counts[t].attendance) if t in counts else 0,
            }
            for t in labels
        ],
        "by_district": [
            {**dict(row._mapping), "attendance": int(row.attendance)} for row in by_district
        ],
    }
