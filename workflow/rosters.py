"""The yearly rosters and tables the plan asks for as 附件: the joint promotion team (附件3
structure, 附件4 members, 附件5 contacts), the counselling team (附件6), the consultants
(附件7) and the division of labour (附件8). Editable records: the city keeps them; every
signed-in user reads them (拾壹、三「…名冊函送本府備查，另送交社區及相關單位協調聯繫運用」).
"""

from __future__ import annotations

from pydantic import BaseModel, Field
from sqlalchemy import select
from sqlalchemy.orm import Session

from geo.enums import Role
from geo.enums_workflow import RosterKind
from geo.errors import InvalidInput, NotFound
from geo.models import User
from geo.models_workflow import DivisionOfLabour, RosterMember

from .access import Actor, require_role, require_signed_in
from .applications import get_year
from .errors import VersionMismatch

EDITORS = (Role.city_police, Role.admin)


class RosterMemberIn(BaseModel):
    roster: RosterKind
    unit: str = Field(min_length=1, max_length=128)
    team_role: str = Field(min_length=1, max_length=64)
    name: str = Field(min_length=1, max_length=64)
    job_title: str | None = Field(default=None, max_length=64)
    phone: str | None = Field(default=None, max_length=32)
    email: str | None = Field(default=None, max_length=128)
    address: str | None = Field(default=None, max_length=256)
    expertise: str | None = Field(default=None, max_length=2000)
    is_contact: bool = False
    user_id: int | None = None
    sort_order: int = 0
    note: str | None = Field(default=None, max_length=2000)


class DivisionRowIn(BaseModel):
    section: str = Field(min_length=1, max_length=64)
    task: str = Field(min_length=1, max_length=4000)
    lead: str = Field(min_length=1, max_length=128)
    assisting: str | None = Field(default=None, max_length=255)
    plan_ref: str | None = Field(default=None, max_length=32)
    sort_order: int = 0


def _member_json(m: RosterMember) -> dict:
    return {
        "id": m.id,
        "year": m.year,
        "roster": m.roster,
        "roster_label": RosterKind(m.roster).label,
        "unit": m.unit,
        "team_role": m.team_role,
        "name": m.name,
        "job_title": m.job_title,
        "phone": m.phone,
        "email": m.email,
        "address": m.address,
        "expertise": m.expertise,
        "is_contact": m.is_contact,
        "user_id": m.user_id,
        "sort_order": m.sort_order,
        "note": m.note,
        "version": m.version,
    }


def list_members(
    session: Session, actor: Actor, year: int, roster: RosterKind | None = None
) -> list[dict]:
    require_signed_in(actor)
    stmt = select(RosterMember).where(RosterMember.year == year)
    if roster is not None:
        stmt = stmt.where(RosterMember.roster == roster.value)
    stmt = stmt.order_by(RosterMember.roster, RosterMember.sort_order, RosterMember.id)
    return [_member_json(m) for m in session.scalars(stmt)]


def _check_user(session: Session, body: RosterMemberIn) -> None:
    if body.user_id is None:
        return
    user = session.get(User, body.user_id)
    if user is None:
        raise InvalidInput("找不到此帳號。", detail=f"user {body.user_id}")
    if body.roster is RosterKind.counselling_team and user.role is not Role.counselling:
        # The panel scores through this link: only counselling-team accounts may sit on it.
        raise InvalidInput("專業輔導團隊成員的帳號須為專業輔導團隊角色。", detail=str(user.role))


def add_member(session: Session, actor: Actor, year: int, body: RosterMemberIn) -> dict:
    require_role(actor, *EDITORS)
    get_year(session, year)
    _check_user(session, body)
    m = RosterMember(year=year, **{**body.model_dump(), "roster": body.roster.value})
    session.add(m)
    session.flush()
    return _member_json(m)


def _member(session: Session, year: int, member_id: int) -> RosterMember:
    m = session.get(RosterMember, member_id, with_for_update=True)
    if m is None or m.year != year:
        raise NotFound("找不到此名冊成員。", detail=f"member {member_id}")
    return m


def update_member(
    session: Session,
    actor: Actor,
    year: int,
    member_id: int,
    body: RosterMemberIn,
    *,
    if_match: int | None = None,
) -> dict:
    require_role(actor, *EDITORS)
    m = _member(session, year, member_id)
    if if_match is not None and if_match != m.version:
        raise VersionMismatch(detail=f"{m.version} != {if_match}")
    _check_user(session, body)
    for k, v in body.model_dump().items():
        setattr(m, k, v.value if isinstance(v, RosterKind) else v)
    m.version += 1
    session.flush()
    return _member_json(m)


def delete_member(session: Session, actor: Actor, year: int, member_id: int) -> None:
    require_role(actor, *EDITORS)
    session.delete(_member(session, year, member_id))
    session.flush()


def _row_json(r: DivisionOfLabour) -> dict:
    return {
        "id": r.id,
        "year": r.year,
        "section": r.section,
        "task": r.task,
        "lead": r.lead,
        "assisting": r.assisting,
        "plan_ref": r.plan_ref,
        "sort_order": r.sort_order,
        "version": r.version,
    }


def list_division(session: Session, actor: Actor, year: int) -> list[dict]:
    require_signed_in(actor)
    rows = session.scalars(
        select(DivisionOfLabour)
        .where(DivisionOfLabour.year == year)
        .order_by(DivisionOfLabour.sort_order, DivisionOfLabour.id)
    )
    return [_row_json(r) for r in rows]


def add_division_row(session: Session, actor: Actor, year: int, body: DivisionRowIn) -> dict:
    require_role(actor, *EDITORS)
    get_year(session, year)
    r = DivisionOfLabour(year=year, **body.model_dump())
    session.add(r)
    session.flush()
    return _row_json(r)


def update_division_row(
    session: Session, actor: Actor, year: int, row_id: int, body: DivisionRowIn
) -> dict:
    require_role(actor, *EDITORS)
    r = session.get(DivisionOfLabour, row_id, with_for_update=True)
    if r is None or r.year != year:
        raise NotFound("找不到此分工項目。", detail=f"row {row_id}")
    for k, v in body.model_dump().items():
        setattr(r, k, v)
    r.version += 1
    session.flush()
    return _row_json(r)


def delete_division_row(session: Session, actor: Actor, year: int, row_id: int) -> None:
    require_role(actor, *EDITORS)
    r = session.get(DivisionOfLabour, row_id)
    if r is None or r.year != year:
        raise NotFound("找不到此分工項目。", detail=f"row {row_id}")
    session.delete(r)
    session.flush()
