"""States of the services' records: one enum per record kind (``geo.enums_services``), one
table of allowed moves each, one audited ``transition()``.

No code anywhere else changes the ``status`` of a consultation, a disaster-prevention
request, a protection record or a bulletin issue (records are only created in their first
state). Consultations and requests are journalled in
``service_events`` (with the actor's comment); protection records in ``audit_log`` with
no comment at all, so no free text about a case is ever copied anywhere.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from geo.enums import Role
from geo.enums_services import BulletinStatus as B
from geo.enums_services import ConsultationStatus as C
from geo.enums_services import DisasterRequestStatus as D
from geo.enums_services import ProtectionStatus as P
from geo.errors import SafemapError
from geo.models import AuditLog, User
from geo.models_services import ServiceEvent

from .access import Actor


class InvalidServiceTransition(SafemapError):
    code = "service_invalid_transition"
    message = "此案件目前的狀態不能執行這個動作。"


@dataclass(frozen=True)
class Move:
    source: enum.Enum
    target: enum.Enum
    roles: frozenset[Role]
    label: str


def _m(source, target, label: str, *roles: Role) -> Move:
    return Move(source, target, frozenset(roles), label)


POLICE_DESK = (Role.station, Role.precinct, Role.city_police)


@dataclass(frozen=True)
class StateTable:
    """The allowed moves of one record kind; ``journal`` is where moves are written."""

    table: str
    moves: tuple[Move, ...]
    journal: str = "events"  # or "audit": audit_log rows without comments

    def move(self, source, target, role: Role | None) -> Move:
        for m in self.moves:
            if m.source == source and m.target == target and role in m.roles:
                return m
        raise InvalidServiceTransition(
            f"狀態為「{source.label}」時，{role.label if role else '訪客'}不能改為「{target.label}」。",
            detail=f"{self.table}: {source} -> {target} by {role}",
        )

    def allowed(self, source, role: Role | None) -> list[Move]:
        return [m for m in self.moves if m.source == source and role in m.roles]

    def label(self, status: str | None) -> str:
        """The zh-TW label of a state stored as text (in ``service_events``)."""
        for m in self.moves:
            for state in (m.source, m.target):
                if state.value == status:
                    return state.label
        return status or ""


# Plan 陸、一、(六): the police assign a consultant who inspects on site and advises; the
# station follows up. A request may be dropped before the visit.
CONSULTATIONS = StateTable(
    "consultations",
    (
        _m(C.requested, C.assigned, "指派防竊顧問", *POLICE_DESK),
        _m(C.assigned, C.assigned, "改派顧問或日期", *POLICE_DESK),
        _m(C.assigned, C.visited, "登錄實地勘查結果", *POLICE_DESK),
        _m(C.visited, C.closed, "追蹤完成並結案", *POLICE_DESK),
        _m(C.requested, C.cancelled, "取消申請", *POLICE_DESK),
        _m(C.assigned, C.cancelled, "取消申請", *POLICE_DESK),
    ),
)

# Plan 陸、二、(三): the community applies in writing; the fire bureau 「核派教官」, or (in
# practice) proposes another date or declines; the event is then held and recorded.
DISASTER_REQUESTS = StateTable(
    "disaster_requests",
    (
        _m(D.submitted, D.accepted, "受理並核派教官", Role.fire_bureau),
        _m(D.submitted, D.rescheduled, "建議另訂日期", Role.fire_bureau),
        _m(D.submitted, D.declined, "不予受理", Role.fire_bureau),
        _m(D.rescheduled, D.accepted, "同意改期", Role.community),
        _m(D.rescheduled, D.declined, "不予受理", Role.fire_bureau),
        _m(D.accepted, D.held, "登錄辦理情形", Role.fire_bureau, Role.community),
        _m(D.submitted, D.withdrawn, "撤回申請", Role.community),
        _m(D.rescheduled, D.withdrawn, "撤回申請", Role.community),
        _m(D.accepted, D.withdrawn, "撤回申請", Role.community),
    ),
)

# Plan 陸、三、(三): 「由志工或巡守員通報社政單位處理」 - social affairs receives and closes.
PROTECTION = StateTable(
    "protection",
    (
        _m(P.submitted, P.received, "社會局受理", Role.social_affairs),
        _m(P.received, P.closed, "結案", Role.social_affairs),
    ),
    journal="audit",
)

# An issue of the 「e話」 is published once by one of its editors (which issue an editor may
# touch is ``services_access.bulletin_edit_filter``); published issues are the archive.
BULLETINS = StateTable(
    "bulletin_issues",
    (
        _m(
            B.draft,
            B.published,
            "發布",
            Role.community,
            Role.station,
            Role.precinct,
            Role.district_office,
            Role.city_police,
        ),
    ),
)


def transition(
    session: Session,
    states: StateTable,
    record,
    target,
    actor: Actor,
    *,
    comment: str | None = None,
) -> Move:
    """Move ``record`` (already read in the actor's scope, locked) to ``target`` and journal it.

    Raises
    ------
    InvalidServiceTransition : the move is not in the table for this state and role.
    """
    source = record.status
    move = states.move(source, target, actor.role)
    record.status = target
    record.version += 1
    record.updated_at = func.now()
    if states.journal == "audit":
        session.add(
            AuditLog(
                actor_id=actor.user_id,
                action=f"protection.{target.value}",
                entity=record.__tablename__,
                entity_id=str(record.id),
                detail={"from": source.value, "to": target.value},
            )
        )
    else:
        _event(session, states, record, actor, source.value, comment)
    session.flush()
    return move


def record_filed(
    session: Session, states: StateTable, record, actor: Actor, comment: str | None = None
) -> None:
    """The first event of a consultation or a request: filed, in its initial state."""
    _event(session, states, record, actor, None, comment)


def note(session: Session, states: StateTable, record, actor: Actor, comment: str) -> None:
    """An event that changes no state (a follow-up that keeps the case open, new instructors)."""
    _event(session, states, record, actor, record.status.value, comment)


def _event(session, states, record, actor, from_status, comment) -> None:
    session.add(
        ServiceEvent(
            service=states.table,
            record_id=record.id,
            actor_id=actor.user_id,
            actor_role=actor.role.value if actor.role else "anonymous",
            from_status=from_status,
            to_status=record.status.value,
            comment=comment or None,
        )
    )


def history(session: Session, states: StateTable, record_id: int) -> list[dict]:
    """Events of one record, oldest first (the caller has checked access to the record)."""
    rows = session.execute(
        select(ServiceEvent, User.display_name)
        .outerjoin(User, User.id == ServiceEvent.actor_id)
        .where(ServiceEvent.service == states.table, ServiceEvent.record_id == record_id)
        .order_by(ServiceEvent.id)
    ).all()
    return [
        {
            "at": e.at,
            "actor": name,
            "actor_role": e.actor_role,
            "actor_role_label": Role.labels().get(e.actor_role, ""),
            "from_status": e.from_status,
            "to_status": e.to_status,
            "to_status_label": states.label(e.to_status),
            "comment": e.comment,
        }
        for e, name in rows
    ]


# --------------------------------------------------------------------------- home page
def waiting(session: Session, actor: Actor) -> list[tuple[str, int, str, bool]]:
    """The services' records waiting for the actor's move: (label, count, page, urgent), for
    the home page (``workflow.home``). Counts only; nothing is read, so nothing is audited."""
    # Imported here: the access rules import this module's neighbours, not the other way.
    import datetime as dt

    from geo.models import Community
    from geo.models_services import (
        BulletinIssue,
        CareVisit,
        Consultation,
        DisasterRequest,
        ProtectionReferral,
    )

    from .access import community_filter
    from .services_access import (
        CONSULTATION_OFFICERS,
        PROTECTION_READER,
        bulletin_edit_filter,
        consultation_filter,
    )

    def count(model, *where, join_community: bool = False) -> int:
        stmt = select(func.count()).select_from(model)
        if join_community:
            stmt = stmt.join(Community, Community.id == model.community_id)
        return session.scalar(stmt.where(*where)) or 0

    out: list[tuple[str, int, str, bool]] = []
    role = actor.role
    if role in CONSULTATION_OFFICERS:
        n = count(Consultation, consultation_filter(actor), Consultation.status == C.requested)
        out.append(("待指派防竊顧問的申請", n, "/services/consultations?status=requested", n > 0))
        today = dt.date.today()
        due = count(
            Consultation,
            consultation_filter(actor),
            Consultation.status == C.visited,
            Consultation.follow_up_on <= today + dt.timedelta(days=14),
        )
        overdue = count(
            Consultation,
            consultation_filter(actor),
            Consultation.status == C.visited,
            Consultation.follow_up_on < today,
        )
        out.append(("到期的防竊追蹤（14 天內）", due, "/services/consultations", overdue > 0))
    if role is Role.fire_bureau:
        n = count(
            DisasterRequest,
            community_filter(actor),
            DisasterRequest.status == D.submitted,
            join_community=True,
        )
        out.append(
            ("待回覆的防災宣導申請", n, "/services/disaster-requests?status=submitted", n > 0)
        )
    if role is Role.community:
        n = count(
            DisasterRequest,
            community_filter(actor),
            DisasterRequest.status == D.rescheduled,
            join_community=True,
        )
        if n:
            out.append(("消防局建議改期、待您回覆", n, "/services/disaster-requests", True))
        drafts = count(BulletinIssue, bulletin_edit_filter(actor), BulletinIssue.status == B.draft)
        if drafts:
            out.append(("尚未發布的「e話」草稿", drafts, "/services/bulletins", False))
    if role is PROTECTION_READER:
        for model, label in (
            (ProtectionReferral, "待受理的婦幼保護通報"),
            (CareVisit, "待受理的關懷訪視紀錄"),
        ):
            n = count(model, model.status == P.submitted)
            out.append((label, n, "/services/protection?status=submitted", n > 0))
    return out
