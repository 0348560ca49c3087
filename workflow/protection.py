"""Women-and-children protection (plan 陸、三, 本府社會局主政): referrals of suspected domestic
violence or child-protection cases (陸、三、(三)) and care visits to vulnerable families
(陸、三、(四)), filed by volunteers and watch-team members through their organisation.

These are the most sensitive records in the system. The rules, all enforced here:

- read by social affairs alone, and by the person who filed a record only until social
  affairs has received it (``workflow.services_access.referral_filter``);
- no geometry, so never on a map; not in any export, bulletin, public page or analysis
  (nothing else in the code base imports this module or its models to read them);
- every read - a list counts as a read of each record it returns - writes an ``audit_log``
  row with who, when and which record id, and nothing more;
- no log line carries any detail: errors name record ids only, and this module does not log.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement, func, insert, select
from sqlalchemy.orm import Session

from geo.enums import Role
from geo.enums_services import ProtectionKind, ProtectionStatus
from geo.errors import InvalidInput, NotFound
from geo.models import AuditLog, Community, District, User
from geo.models_services import CareVisit, ProtectionReferral

from . import service_states as states
from .access import Actor, get_community, require_role, require_signed_in
from .services_access import (
    PROTECTION_FILERS,
    PROTECTION_READER,
    care_visit_filter,
    referral_filter,
    require_protection_filer,
    require_protection_reader,
)

AUDIT_ENTITIES = ("protection_referrals", "care_visits")
NAME_KEYS = ("community", "district", "filed_by_name")


@dataclass(frozen=True)
class _Kind:
    """What differs between referrals and care visits; everything else is shared."""

    model: type
    filter: Any
    title: str
    to_json: Callable[..., dict]


def _text(value: Any, label: str, key: str, *, required: bool = True, limit: int = 256) -> str:
    # Messages name the field, never its value: a value may be a victim's name.
    if value is not None and not isinstance(value, str):
        raise InvalidInput(f"{label}格式不正確。", detail=f"{key} not text")
    text = (value or "").strip()
    if required and not text:
        raise InvalidInput(f"請填寫{label}（{key}）。", detail=f"{key} missing")
    if len(text) > limit:
        raise InvalidInput(f"{label}最多 {limit} 字。", detail=f"{key} too long")
    return text


def _audit(session: Session, actor: Actor, action: str, entity: str, ids: list[int], via: str):
    """One audit row per record touched: who, when (the row's default), which id - no details."""
    if not ids:
        return
    session.execute(
        insert(AuditLog),
        [
            {
                "actor_id": actor.user_id,
                "action": action,
                "entity": entity,
                "entity_id": str(i),
                "detail": {"role": actor.role.value if actor.role else None, "via": via},
            }
            for i in ids
        ],
    )


def _placement(
    session: Session, actor: Actor, community_id: int | None
) -> tuple[int | None, int | None]:
    """The community (checked against the filer's scope) and district social affairs routes by."""
    if community_id is None:
        if actor.role is Role.community:
            raise InvalidInput("請指定社區（community_id）。", detail="community_id missing")
        return None, actor.district_id
    community = get_community(session, actor, community_id)
    return community.id, community.district_id


# --------------------------------------------------------------------------- filing
def _file(session: Session, actor: Actor, kind: _Kind, data: dict, values, via: str) -> dict:
    """File a record of ``kind``: placed by the filer's community, audited, returned to the
    filer (who may read it until it is received). ``values(data)`` checks the kind's fields."""
    require_protection_filer(actor)
    community_id, district_id = _placement(session, actor, data.get("community_id"))
    record = kind.model(
        status=ProtectionStatus.submitted,
        filed_by=actor.user_id,
        filer_role=actor.role.value,
        community_id=community_id,
        district_id=district_id,
        **values(data),
    )
    session.add(record)
    session.flush()
    _audit(session, actor, "protection.create", kind.model.__tablename__, [record.id], via)
    return kind.to_json(session, actor, record)


def _referral_values(data: dict) -> dict:
    try:
        kind = ProtectionKind(data.get("kind"))
    except ValueError:
        raise InvalidInput(
            "請選擇通報類別：疑似家庭暴力或疑似兒童及少年保護事件。", detail="bad kind"
        ) from None
    observed_on = data.get("observed_on")
    if observed_on is not None and observed_on > dt.date.today():
        raise InvalidInput("發現日期不能晚於今天。", detail="observed_on in the future")
    return {
        "kind": kind,
        "subject_name": _text(
            data.get("subject_name"), "當事人姓名或稱呼", "subject_name", limit=64
        ),
        "subject_age": _text(
            data.get("subject_age"), "年齡", "subject_age", required=False, limit=32
        )
        or None,
        "subject_address": _text(data.get("subject_address"), "地址", "subject_address"),
        "contact_phone": _text(
            data.get("contact_phone"), "聯絡電話", "contact_phone", required=False, limit=32
        )
        or None,
        "observed_on": observed_on,
        "description": _text(data.get("description"), "情形說明", "description", limit=5000),
        "immediate_danger": bool(data.get("immediate_danger")),
        "reporter_name": _text(
            data.get("reporter_name"), "通報人", "reporter_name", required=False, limit=64
        )
        or None,
    }


def _care_visit_values(data: dict) -> dict:
    visited_on = data.get("visited_on")
    if visited_on is None or visited_on > dt.date.today():
        raise InvalidInput("請填寫訪視日期（不能晚於今天）。", detail="bad visited_on")
    return {
        "family_name": _text(data.get("family_name"), "家庭稱呼", "family_name", limit=64),
        "address": _text(data.get("address"), "地址", "address"),
        "visited_on": visited_on,
        "visitors": _text(data.get("visitors"), "訪視人員", "visitors", limit=128),
        "situation": _text(data.get("situation"), "訪視情形", "situation", limit=5000),
        "resources_offered": _text(
            data.get("resources_offered"),
            "提供資源",
            "resources_offered",
            required=False,
            limit=5000,
        ),
        "needs_follow_up": bool(data.get("needs_follow_up")),
    }


def file_referral(session: Session, actor: Actor, data: dict, *, via: str = "api") -> dict:
    """A referral of a suspected case; returned to its filer, who may read it until received."""
    return _file(session, actor, REFERRALS, data, _referral_values, via)


def file_care_visit(session: Session, actor: Actor, data: dict, *, via: str = "api") -> dict:
    """A care visit to a vulnerable family (陸、三、(四))."""
    return _file(session, actor, CARE_VISITS, data, _care_visit_values, via)


# --------------------------------------------------------------------------- reading
def _names(session: Session, record) -> dict:
    community = session.get(Community, record.community_id) if record.community_id else None
    district = session.get(District, record.district_id) if record.district_id else None
    filer = session.get(User, record.filed_by)
    return {
        "community": community.name if community else None,
        "district": district.name if district else None,
        "filed_by_name": filer.display_name if filer else None,
    }


def _with_names(model):
    """Records of ``model`` with their community, district and filer names: one statement."""
    return (
        select(
            model,
            Community.name.label("community"),
            District.name.label("district"),
            User.display_name.label("filed_by_name"),
        )
        .outerjoin(Community, Community.id == model.community_id)
        .outerjoin(District, District.id == model.district_id)
        .outerjoin(User, User.id == model.filed_by)
    )


def _common(actor: Actor, record, names: dict) -> dict:
    out = {
        "id": record.id,
        "status": record.status.value,
        "status_label": record.status.label,
        "community_id": record.community_id,
        "created_at": record.created_at,
        "version": record.version,
        **names,
    }
    if actor.role is PROTECTION_READER:
        out.update(
            filer_role=record.filer_role,
            received_at=record.received_at,
            closed_at=record.closed_at,
            moves=[
                {"target": m.target.value, "label": m.label}
                for m in states.PROTECTION.allowed(record.status, actor.role)
            ],
        )
    return out


def _referral_json(
    session: Session, actor: Actor, r: ProtectionReferral, names: dict | None = None
) -> dict:
    out = _common(actor, r, names if names is not None else _names(session, r))
    out.update(
        kind=r.kind.value,
        kind_label=r.kind.label,
        subject_name=r.subject_name,
        subject_age=r.subject_age,
        subject_address=r.subject_address,
        contact_phone=r.contact_phone,
        observed_on=r.observed_on,
        description=r.description,
        immediate_danger=r.immediate_danger,
        reporter_name=r.reporter_name,
    )
    if actor.role is PROTECTION_READER:
        out["case_ref"] = r.case_ref
    return out


def _care_visit_json(
    session: Session, actor: Actor, v: CareVisit, names: dict | None = None
) -> dict:
    out = _common(actor, v, names if names is not None else _names(session, v))
    out.update(
        family_name=v.family_name,
        address=v.address,
        visited_on=v.visited_on,
        visitors=v.visitors,
        situation=v.situation,
        resources_offered=v.resources_offered,
        needs_follow_up=v.needs_follow_up,
    )
    return out


REFERRALS = _Kind(ProtectionReferral, referral_filter, "通報", _referral_json)
CARE_VISITS = _Kind(CareVisit, care_visit_filter, "關懷訪視紀錄", _care_visit_json)


def _require_reader_or_filer(actor: Actor) -> None:
    require_signed_in(actor)
    require_role(actor, PROTECTION_READER, *PROTECTION_FILERS)


def _list(
    session: Session,
    actor: Actor,
    kind: _Kind,
    status: str | None,
    limit: int,
    offset: int,
    via: str,
) -> dict:
    """A page of ``kind`` the actor may read; every record returned is an audited read."""
    _require_reader_or_filer(actor)
    model = kind.model
    where: list[ColumnElement[bool]] = [kind.filter(actor)]
    if status:
        try:
            where.append(model.status == ProtectionStatus(status))
        except ValueError:
            raise InvalidInput(f"未知的狀態：{status}", detail="bad status") from None
    total = session.scalar(select(func.count()).select_from(model).where(*where))
    rows = session.execute(
        _with_names(model).where(*where).order_by(model.id.desc()).limit(limit).offset(offset)
    ).all()
    _audit(session, actor, "protection.list", model.__tablename__, [r[0].id for r in rows], via)
    return {
        "total": total,
        "limit": limit,
        "offset": offset,
        "items": [
            kind.to_json(session, actor, r[0], {k: getattr(r, k) for k in NAME_KEYS}) for r in rows
        ],
    }


def _get(session: Session, actor: Actor, kind: _Kind, record_id: int, *, lock: bool = False):
    _require_reader_or_filer(actor)
    stmt = select(kind.model).where(kind.model.id == record_id, kind.filter(actor))
    if lock:
        stmt = stmt.with_for_update()
    record = session.scalar(stmt)
    if record is None:
        # Says nothing about whether the record exists, and the log line names only the id.
        raise NotFound(
            f"找不到此{kind.title}，或您沒有權限查看。",
            detail=f"{kind.model.__tablename__} {record_id} not readable",
        )
    return record


def _read(session: Session, actor: Actor, kind: _Kind, record_id: int, via: str) -> dict:
    record = _get(session, actor, kind, record_id)
    _audit(session, actor, "protection.read", kind.model.__tablename__, [record.id], via)
    return kind.to_json(session, actor, record)


def list_referrals(
    session: Session,
    actor: Actor,
    *,
    status: str | None = None,
    limit: int = 100,
    offset: int = 0,
    via: str = "api",
) -> dict:
    return _list(session, actor, REFERRALS, status, limit, offset, via)


def get_referral(session: Session, actor: Actor, referral_id: int, *, via: str = "api") -> dict:
    return _read(session, actor, REFERRALS, referral_id, via)


def list_care_visits(
    session: Session,
    actor: Actor,
    *,
    status: str | None = None,
    limit: int = 100,
    offset: int = 0,
    via: str = "api",
) -> dict:
    return _list(session, actor, CARE_VISITS, status, limit, offset, via)


def get_care_visit(session: Session, actor: Actor, visit_id: int, *, via: str = "api") -> dict:
    return _read(session, actor, CARE_VISITS, visit_id, via)


# --------------------------------------------------------------------------- social affairs
def _move(
    session: Session,
    actor: Actor,
    kind: _Kind,
    record_id: int,
    target: ProtectionStatus,
    case_ref: str | None = None,
) -> dict:
    require_protection_reader(actor)
    record = _get(session, actor, kind, record_id, lock=True)
    states.transition(session, states.PROTECTION, record, target, actor)
    now = dt.datetime.now(dt.UTC)
    if target is ProtectionStatus.received:
        record.received_at = now
        record.received_by = actor.user_id
        if case_ref is not None and kind is REFERRALS:
            record.case_ref = (
                _text(case_ref, "社會局案號", "case_ref", required=False, limit=64) or None
            )
    elif target is ProtectionStatus.closed:
        record.closed_at = now
    session.flush()
    return kind.to_json(session, actor, record)


def receive_referral(
    session: Session, actor: Actor, referral_id: int, case_ref: str | None = None
) -> dict:
    """Social affairs takes the case: from now on the filer no longer reads it."""
    return _move(session, actor, REFERRALS, referral_id, ProtectionStatus.received, case_ref)


def close_referral(session: Session, actor: Actor, referral_id: int) -> dict:
    return _move(session, actor, REFERRALS, referral_id, ProtectionStatus.closed)


def receive_care_visit(session: Session, actor: Actor, visit_id: int) -> dict:
    return _move(session, actor, CARE_VISITS, visit_id, ProtectionStatus.received)


def close_care_visit(session: Session, actor: Actor, visit_id: int) -> dict:
    return _move(session, actor, CARE_VISITS, visit_id, ProtectionStatus.closed)


def access_log(session: Session, actor: Actor, *, limit: int = 200) -> list[dict]:
    """Who read or changed which protection record and when (social affairs' own oversight)."""
    require_protection_reader(actor)
    rows = session.execute(
        select(AuditLog, User.display_name, User.role)
        .outerjoin(User, User.id == AuditLog.actor_id)
        .where(AuditLog.entity.in_(AUDIT_ENTITIES))
        .order_by(AuditLog.id.desc())
        .limit(limit)
    ).all()
    return [
        {
            "at": a.at,
            "actor": name,
            "actor_role": role.value if role else None,
            "action": a.action,
            "entity": a.entity,
            "record_id": int(a.entity_id) if a.entity_id else None,
        }
        for a, name, role in rows
    ]
