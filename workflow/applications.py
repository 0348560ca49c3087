"""Program years and applications (附件1): open a year, apply (save a draft, resume, submit),
review through ``workflow.states.transition()``, the year's roster (附件2) and selection advice.

Rules from the plan quoted where they apply:

- 貳、三「自 110 年起，每年補助 1 次，年度補助 33 個為原則，並視經費狀況酌以增減」: one
  application per community and year (a unique constraint), the quota per year
  (``program_years.quota``, enforced by ``transition()`` under the year's row lock).
- 拾壹、二「社區組織參與治安營造應填具申請表（如附件 1），送交所在地警察分局層轉本府核定輔導
  期程（…名冊如附件 2）」: the community submits to its precinct, the precinct forwards, the
  city approves and sets the counselling period (``approved_start`` / ``approved_end``).
"""

from __future__ import annotations

import datetime as dt
import json
from decimal import Decimal
from typing import Any

from geoalchemy2.shape import from_shape
from pydantic import BaseModel, Field, field_validator
from shapely.geometry import MultiPolygon
from sqlalchemy import delete, func, insert, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from geo.enums import ApplicationStatus as S
from geo.enums import Role
from geo.enums_workflow import WorkItem
from geo.errors import InvalidInput, NotFound
from geo.models import (
    STORAGE_SRID,
    Application,
    ApplicationEvent,
    Community,
    District,
    Incident,
    Organisation,
    Precinct,
    ProgramYear,
    Village,
    community_villages,
    precinct_villages,
    station_villages,
)
from geo.models import Hazard as HazardRow
from geo.models_workflow import (
    ApplicationForm,
    ApplicationWorkItem,
    BudgetLine,
    DivisionOfLabour,
    application_villages,
)
from geo.validation import check_geometry

from . import idempotency
from .access import (
    Actor,
    application_filter,
    community_filter,
    get_application,
    get_community,
    require_applicant,
    require_role,
    require_signed_in,
)
from .errors import (
    ApplicationWindowClosed,
    DuplicateApplication,
    IncompleteSubmission,
    NotEditable,
    QuotaBelowApproved,
    VersionMismatch,
    YearExists,
)
from .roc import month_end, roc_date, roc_month, roc_year
from .selection import Candidate, advise
from .settings import ProgramSettings, default_settings
from .states import SUBSIDISED, TRANSITIONS, allowed_moves, transition

CITY_ADMIN = (Role.city_police, Role.admin)
EDITABLE = (S.draft, S.returned)  # the community edits its form only while it holds it


# --------------------------------------------------------------------------- inputs
class OrganisationIn(BaseModel):
    name: str | None = Field(default=None, max_length=128)
    registration_no: str | None = Field(default=None, max_length=32)
    representative: str | None = Field(default=None, max_length=64)
    address: str | None = Field(default=None, max_length=256)


class ContactIn(BaseModel):
    name: str = Field(default="", max_length=64)
    title: str | None = Field(default=None, max_length=64)
    phone: str = Field(default="", max_length=32)
    mobile: str | None = Field(default=None, max_length=32)
    email: str | None = Field(default=None, max_length=128)


class WorkItemIn(BaseModel):
    item: WorkItem
    description: str = Field(default="", max_length=4000)
    start_month: dt.date | None = None
    end_month: dt.date | None = None
    target: str | None = Field(default=None, max_length=255)


class BudgetLineIn(BaseModel):
    item: WorkItem | None = None
    name: str = Field(min_length=1, max_length=128)
    unit: str = Field(default="式", max_length=16)
    quantity: Decimal = Field(default=Decimal(1), gt=0, max_digits=10, decimal_places=2)
    unit_price: int = Field(ge=0, le=10_000_000)
    note: str | None = Field(default=None, max_length=255)


class ApplicationFormIn(BaseModel):
    """The application form (附件1); a draft may leave parts empty, submitting may not."""

    organisation: OrganisationIn = Field(default_factory=OrganisationIn)
    contact: ContactIn = Field(default_factory=ContactIn)
    village_codes: list[str] | None = Field(
        default=None, max_length=50, description="VILLCODE of the villages the community covers"
    )
    boundary: dict[str, Any] | None = Field(
        default=None, description="drawn boundary: GeoJSON Polygon/MultiPolygon, EPSG:4326"
    )
    boundary_note: str | None = Field(default=None, max_length=2000)
    summary: str = Field(default="", max_length=8000)
    goals: str = Field(default="", max_length=8000)
    expected_results: str = Field(default="", max_length=8000)
    period_start: dt.date | None = None
    period_end: dt.date | None = None
    work_items: list[WorkItemIn] = Field(default_factory=list, max_length=len(WorkItem))
    budget: list[BudgetLineIn] = Field(default_factory=list, max_length=200)
    self_funding: int = Field(default=0, ge=0)
    disaster_community: bool = False

    @field_validator("work_items")
    @classmethod
    def _unique_items(cls, v: list[WorkItemIn]) -> list[WorkItemIn]:
        if len({w.item for w in v}) != len(v):
            raise ValueError("each work item at most once")
        return v


class ApplicationCreate(ApplicationFormIn):
    year: int = Field(ge=2021, le=2200)
    community_id: int | None = None
    community_name: str | None = Field(default=None, max_length=128)


class YearCreate(BaseModel):
    year: int = Field(ge=2021, le=2200)
    quota: int | None = Field(default=None, ge=0)
    application_opens: dt.date | None = None
    application_closes: dt.date | None = None


class YearUpdate(BaseModel):
    quota: int | None = Field(default=None, ge=0)
    application_opens: dt.date | None = None
    application_closes: dt.date | None = None
    settings: dict[str, Any] | None = None


class MoveIn(BaseModel):
    to: S
    comment: str | None = Field(default=None, max_length=4000)
    attachments: list[int] = Field(default_factory=list, max_length=20)
    approved_start: dt.date | None = None
    approved_end: dt.date | None = None


# --------------------------------------------------------------------------- program years
def year_settings(program: ProgramYear) -> ProgramSettings:
    """The year's stored settings, the column quota winning (the database enforces it)."""
    raw = dict(program.settings or {}) or default_settings().model_dump(mode="json")
    raw["quota"] = program.quota
    return ProgramSettings.model_validate(raw)


def get_year(session: Session, year: int) -> ProgramYear:
    program = session.get(ProgramYear, year)
    if program is None:
        raise NotFound(f"民國 {roc_year(year)} 年度尚未開辦。", detail=f"program year {year}")
    return program


def _subsidised_count(session: Session, year: int) -> int:
    return session.scalar(
        select(func.count())
        .select_from(Application)
        .where(Application.year == year, Application.status.in_(SUBSIDISED))
    )


def year_json(session: Session, program: ProgramYear) -> dict:
    counts = dict(
        session.execute(
            select(Application.status, func.count())
            .where(Application.year == program.year)
            .group_by(Application.status)
        ).all()
    )
    subsidised = sum(counts.get(s, 0) for s in SUBSIDISED)
    return {
        "year": program.year,
        "roc_year": roc_year(program.year),
        "quota": program.quota,
        "subsidised": subsidised,
        "seats_left": max(program.quota - subsidised, 0),
        "application_opens": program.application_opens,
        "application_closes": program.application_closes,
        "applications": {s.value: counts.get(s, 0) for s in S},
        "settings": year_settings(program).model_dump(mode="json"),
    }


def list_years(session: Session, actor: Actor) -> list[dict]:
    require_signed_in(actor)
    years = session.scalars(select(ProgramYear).order_by(ProgramYear.year.desc())).all()
    return [year_json(session, y) for y in years]


def read_year(session: Session, actor: Actor, year: int) -> dict:
    require_signed_in(actor)
    return year_json(session, get_year(session, year))


def open_year(session: Session, actor: Actor, body: YearCreate) -> dict:
    """Open a program year with the plan's defaults (settings copied, division of labour seeded)."""
    require_role(actor, *CITY_ADMIN)
    if session.get(ProgramYear, body.year) is not None:
        raise YearExists(f"民國 {roc_year(body.year)} 年度已經開辦。", detail=str(body.year))
    settings = default_settings()
    quota = settings.quota if body.quota is None else body.quota
    program = ProgramYear(
        year=body.year,
        quota=quota,
        settings={**settings.model_dump(mode="json"), "quota": quota},
        application_opens=body.application_opens,
        application_closes=body.application_closes,
    )
    session.add(program)
    session.flush()
    seed_division_of_labour(session, body.year)
    return year_json(session, program)


def seed_division_of_labour(session: Session, year: int) -> int:
    """附件8 for a new year: a copy of the previous year's table, else the plan's (陸)."""
    if session.scalar(select(func.count()).where(DivisionOfLabour.year == year)):
        return 0
    previous = session.scalar(
        select(func.max(DivisionOfLabour.year)).where(DivisionOfLabour.year < year)
    )
    if previous is not None:
        rows = [
            {
                "section": r.section,
                "task": r.task,
                "lead": r.lead,
                "assisting": r.assisting,
                "plan_ref": r.plan_ref,
                "sort_order": r.sort_order,
            }
            for r in session.scalars(
                select(DivisionOfLabour).where(DivisionOfLabour.year == previous)
            )
        ]
    else:
        from data import reference_text

        rows = json.loads(reference_text("division_of_labour.json"))["rows"]
        rows = [{**r, "sort_order": i + 1} for i, r in enumerate(rows)]
    session.execute(insert(DivisionOfLabour), [{**r, "year": year} for r in rows])
    return len(rows)


def update_year(session: Session, actor: Actor, year: int, body: YearUpdate) -> dict:
    require_role(actor, *CITY_ADMIN)
    program = session.execute(
        select(ProgramYear).where(ProgramYear.year == year).with_for_update()
    ).scalar_one_or_none()
    if program is None:
        get_year(session, year)
    if body.quota is not None:
        # 「視經費狀況酌以增減」: the city may change the quota, but never below the seats given.
        given = _subsidised_count(session, year)
        if body.quota < given:
            raise QuotaBelowApproved(
                f"已核定 {given} 個社區，名額不能少於 {given} 個。", detail=f"{body.quota}<{given}"
            )
        program.quota = body.quota
    if body.application_opens is not None:
        program.application_opens = body.application_opens
    if body.application_closes is not None:
        program.application_closes = body.application_closes
    if body.settings is not None:
        merged = {**year_settings(program).model_dump(mode="json"), **body.settings}
        merged["quota"] = program.quota
        # Keys kept beside the validated settings (the year's rubric, edited through its own
        # route with its own lock) must survive a settings change.
        kept = {
            k: v
            for k, v in (program.settings or {}).items()
            if k not in ProgramSettings.model_fields
        }
        try:
            validated = ProgramSettings.model_validate(merged).model_dump(mode="json")
            program.settings = {**kept, **validated}
        except ValueError as exc:
            raise InvalidInput("年度設定有誤。", detail=str(exc)) from exc
    elif body.quota is not None:
        program.settings = {**(program.settings or {}), "quota": program.quota}
    session.flush()
    return year_json(session, program)


def _check_window(program: ProgramYear, today: dt.date | None = None) -> None:
    today = today or dt.date.today()
    y = roc_year(program.year)
    if program.application_opens and today < program.application_opens:
        raise ApplicationWindowClosed(
            f"民國 {y} 年度自{roc_date(program.application_opens)}起受理申請。",
            detail=f"{today} < {program.application_opens}",
        )
    if program.application_closes and today > program.application_closes:
        raise ApplicationWindowClosed(
            f"民國 {y} 年度申請已於{roc_date(program.application_closes)}截止。",
            detail=f"{today} > {program.application_closes}",
        )


# --------------------------------------------------------------------------- boundary
def _village_ids(session: Session, codes: list[str]) -> list[int]:
    codes = list(dict.fromkeys(c.strip() for c in codes if c.strip()))
    if not codes:
        return []
    rows = dict(
        session.execute(
            select(Village.code, Village.id).where(
                Village.code.in_(codes), Village.retired_at.is_(None)
            )
        ).all()
    )
    missing = [c for c in codes if c not in rows]
    if missing:
        raise InvalidInput(
            f"找不到村里代碼：{'、'.join(missing)}。", detail=f"unknown villages {missing}"
        )
    return [rows[c] for c in codes]


def _boundary(body: ApplicationFormIn):
    if body.boundary is None:
        return None
    checked = check_geometry(
        body.boundary, allowed_types=("Polygon", "MultiPolygon"), source_crs=4326
    )
    g = checked.geom_3826
    return g if g.geom_type == "MultiPolygon" else MultiPolygon([g])


def _new_community(
    session: Session, actor: Actor, body: ApplicationCreate, village_ids: list[int], boundary
) -> Community:
    """A first-time applicant's community, from the villages and polygon it chose: its
    precinct, station and district are those of the village it overlaps most."""
    if not village_ids and boundary is None:
        raise IncompleteSubmission(
            "第一次申請請選擇社區涵蓋的村里，或在地圖上畫出社區範圍。", missing=["boundary"]
        )
    pieces = []
    if village_ids:
        pieces.append(
            select(func.ST_Union(Village.geom)).where(Village.id.in_(village_ids)).scalar_subquery()
        )
    if boundary is not None:
        pieces.append(func.ST_GeomFromText(boundary.wkt, STORAGE_SRID))
    geom_expr = pieces[0] if len(pieces) == 1 else func.ST_Union(pieces[0], pieces[1])
    geom = session.scalar(select(func.ST_Multi(func.ST_CollectionExtract(geom_expr, 3))))
    best = session.execute(
        select(
            Village.id,
            Village.district_id,
            precinct_villages.c.precinct_id,
            station_villages.c.station_id,
        )
        .join(precinct_villages, precinct_villages.c.village_id == Village.id)
        .outerjoin(station_villages, station_villages.c.village_id == Village.id)
        .where(func.ST_Intersects(Village.geom, geom), Village.retired_at.is_(None))
        .order_by(func.ST_Area(func.ST_Intersection(Village.geom, geom)).desc(), Village.id)
        .limit(1)
    ).first()
    if best is None:
        raise InvalidInput(
            "社區範圍不在任何分局轄區內，請確認範圍。", detail="boundary outside jurisdictions"
        )
    org = session.get(Organisation, actor.organisation_id)
    community = Community(
        name=body.community_name or (org.name if org else "社區"),
        organisation_id=actor.organisation_id,
        district_id=best.district_id,
        precinct_id=best.precinct_id,
        station_id=best.station_id,
        geom=geom,
    )
    session.add(community)
    session.flush()
    ids = village_ids or [
        v
        for v in session.scalars(
            select(Village.id).where(
                func.ST_Area(func.ST_Intersection(Village.geom, geom))
                > 0.5 * func.ST_Area(Village.geom),
                Village.retired_at.is_(None),
            )
        )
    ]
    if ids:
        session.execute(
            insert(community_villages),
            [{"community_id": community.id, "village_id": v} for v in ids],
        )
    return community


def _resolve_community(
    session: Session, actor: Actor, body: ApplicationCreate, village_ids: list[int], boundary
) -> Community:
    if body.community_id is not None:
        return get_community(session, actor, body.community_id)
    own = session.scalars(
        select(Community).where(community_filter(actor)).order_by(Community.id)
    ).all()
    if len(own) == 1:
        return own[0]
    if len(own) > 1:
        raise InvalidInput(
            "貴單位有多個社區，請指定申請的社區（community_id）。", detail="ambiguous community"
        )
    return _new_community(session, actor, body, village_ids, boundary)


# --------------------------------------------------------------------------- the form
def _write_form(
    session: Session,
    actor: Actor,
    application: Application,
    body: ApplicationFormIn,
    village_ids: list[int] | None,
    boundary,
) -> None:
    year_start = dt.date(application.year, 1, 1)
    start = (body.period_start or year_start).replace(day=1)
    end = month_end(body.period_end or dt.date(application.year, 12, 31))
    if end < start:
        raise InvalidInput("實施期程的結束月份不能早於開始月份。", detail=f"{start}>{end}")
    community = session.get(Community, application.community_id)
    org = session.get(Organisation, community.organisation_id)
    form = session.get(ApplicationForm, application.id)
    if form is None:
        form = ApplicationForm(application_id=application.id, period_start=start, period_end=end)
        session.add(form)
    form.organisation_name = body.organisation.name or org.name
    form.registration_no = body.organisation.registration_no or org.registration_no
    form.representative = body.organisation.representative
    form.address = body.organisation.address or org.address
    form.contact_name = body.contact.name or org.contact_name or ""
    form.contact_title = body.contact.title
    form.phone = body.contact.phone or org.phone or ""
    form.mobile = body.contact.mobile
    form.email = body.contact.email or org.email
    form.summary = body.summary
    form.goals = body.goals
    form.expected_results = body.expected_results
    form.period_start, form.period_end = start, end
    form.self_funding = body.self_funding
    form.disaster_community = body.disaster_community
    form.boundary = None if boundary is None else from_shape(boundary, srid=STORAGE_SRID)
    form.boundary_note = body.boundary_note
    form.updated_by = actor.user_id
    form.updated_at = func.now()
    if village_ids is None:  # not given: those chosen before, else the community's own
        village_ids = list(
            session.scalars(
                select(application_villages.c.village_id).where(
                    application_villages.c.application_id == application.id
                )
            )
        ) or list(
            session.scalars(
                select(community_villages.c.village_id).where(
                    community_villages.c.community_id == community.id
                )
            )
        )
    session.execute(
        delete(application_villages).where(application_villages.c.application_id == application.id)
    )
    if village_ids:
        session.execute(
            insert(application_villages),
            [{"application_id": application.id, "village_id": v} for v in village_ids],
        )
    session.execute(
        delete(ApplicationWorkItem).where(ApplicationWorkItem.application_id == application.id)
    )
    for w in body.work_items:
        session.add(
            ApplicationWorkItem(
                application_id=application.id,
                item=w.item,
                description=w.description,
                start_month=w.start_month.replace(day=1) if w.start_month else None,
                end_month=w.end_month.replace(day=1) if w.end_month else None,
                target=w.target,
            )
        )
    # Budget lines keep their ids where a line number stays, so claim items linked to a line
    # stay linked when a returned application is corrected.
    existing = {
        b.line_no: b
        for b in session.scalars(
            select(BudgetLine).where(BudgetLine.application_id == application.id)
        )
    }
    total = 0
    for i, b in enumerate(body.budget, start=1):
        amount = int((b.quantity * b.unit_price).to_integral_value())
        total += amount
        line = existing.pop(i, None) or BudgetLine(application_id=application.id, line_no=i)
        line.item, line.name, line.unit = b.item, b.name, b.unit
        line.quantity, line.unit_price, line.amount, line.note = (
            b.quantity,
            b.unit_price,
            amount,
            b.note,
        )
        session.add(line)
    for gone in existing.values():
        session.delete(gone)
    application.budget_total = total
    # ``plan`` keeps the summary earlier code and the demo read (work item codes, budget).
    application.plan = {
        "work_items": [w.item.value for w in body.work_items],
        "budget": [
            {
                "item": b.item.value if b.item else None,
                "label": b.name,
                "amount": int(b.quantity * b.unit_price),
            }
            for b in body.budget
        ],
    }
    application.version += 1
    application.updated_at = func.now()
    session.flush()


def create_application(
    session: Session, actor: Actor, body: ApplicationCreate, *, idempotency_key: str | None = None
) -> dict:
    """Start an application (a draft) for a program year; one per community and year."""
    require_role(actor, Role.community)

    def act() -> dict:
        program = get_year(session, body.year)
        _check_window(program)
        village_ids = _village_ids(session, body.village_codes) if body.village_codes else None
        boundary = _boundary(body)
        community = _resolve_community(session, actor, body, village_ids or [], boundary)
        application = Application(
            year=body.year, community_id=community.id, status=S.draft, plan={}, budget_total=0
        )
        try:
            with session.begin_nested():
                session.add(application)
                session.flush()
        except IntegrityError:
            raise DuplicateApplication(
                f"「{community.name}」民國 {roc_year(body.year)} 年度已提出申請；"
                "每社區每年補助 1 次。",
                detail=f"community {community.id} year {body.year}",
            ) from None
        _write_form(session, actor, application, body, village_ids, boundary)
        return application_json(session, actor, application.id)

    return idempotency.run(
        session, actor, idempotency_key, "create_application", body.model_dump(mode="json"), act
    )


def _editable(session: Session, actor: Actor, application_id: int) -> Application:
    application = get_application(session, actor, application_id)
    require_applicant(actor, application.community)
    session.refresh(application, with_for_update=True)
    if application.status not in EDITABLE:
        raise NotEditable(
            f"申請案狀態為「{application.status.label}」，不能修改；退回補正或草稿時才能修改。",
            detail=str(application.status),
        )
    return application


def save_form(
    session: Session,
    actor: Actor,
    application_id: int,
    body: ApplicationFormIn,
    *,
    if_match: int | None = None,
) -> dict:
    """Save the whole form (a draft is saved as often as wanted and resumed later)."""
    application = _editable(session, actor, application_id)
    if if_match is not None and if_match != application.version:
        raise VersionMismatch(detail=f"version {application.version} != {if_match}")
    village_ids = (
        _village_ids(session, body.village_codes) if body.village_codes is not None else None
    )
    _write_form(session, actor, application, body, village_ids, _boundary(body))
    return application_json(session, actor, application.id)


def check_complete(session: Session, application: Application) -> None:
    """What must be filled in before a submission (附件1's required parts)."""
    form = session.get(ApplicationForm, application.id)
    missing = []
    if form is None:
        raise IncompleteSubmission("請先填寫申請表。", missing=["form"])
    if not form.contact_name:
        missing.append("聯絡人")
    if not form.phone:
        missing.append("聯絡電話")
    has_villages = session.scalar(
        select(func.count()).where(application_villages.c.application_id == application.id)
    )
    if not has_villages and form.boundary is None:
        missing.append("社區範圍（村里或繪製範圍）")
    if not session.scalar(
        select(func.count()).where(ApplicationWorkItem.application_id == application.id)
    ):
        missing.append("預定辦理的工作項目")
    if application.budget_total <= 0:
        missing.append("經費概算")
    if missing:
        raise IncompleteSubmission(
            f"申請表尚未填寫：{'、'.join(missing)}。", detail=str(missing), missing=missing
        )


def move(
    session: Session,
    actor: Actor,
    application_id: int,
    body: MoveIn,
    *,
    idempotency_key: str | None = None,
) -> dict:
    """Review actions: every status change goes through ``transition()`` (audited, notified)."""

    def act() -> dict:
        application = get_application(session, actor, application_id)
        if body.to is S.submitted and application.status in EDITABLE:
            check_complete(session, application)
            if application.status is S.draft:
                _check_window(get_year(session, application.year))
        event = transition(
            session,
            application,
            body.to,
            actor,
            comment=body.comment,
            attachments=list(body.attachments),
        )
        if body.to is S.approved and event is not None:
            _set_approved_period(session, application, body)
        out = application_json(session, actor, application.id)
        out["event"] = _event_json(event) if event is not None else None
        return out

    return idempotency.run(
        session,
        actor,
        idempotency_key,
        f"application:{application_id}:move",
        body.model_dump(mode="json"),
        act,
    )


def _set_approved_period(session: Session, application: Application, body: MoveIn) -> None:
    # 拾壹、二「層轉本府核定輔導期程」: the city fixes the period; by default the one proposed.
    form = session.get(ApplicationForm, application.id)
    if form is None:
        return
    start = (body.approved_start or form.period_start).replace(day=1)
    end = month_end(body.approved_end or form.period_end)
    if end < start:
        raise InvalidInput("核定輔導期程的結束不能早於開始。", detail=f"{start}>{end}")
    form.approved_start, form.approved_end = start, end
    session.flush()


# --------------------------------------------------------------------------- reading
def _event_json(e: ApplicationEvent) -> dict:
    return {
        "id": e.id,
        "at": e.at.isoformat() if e.at else None,
        "actor_id": e.actor_id,
        "actor_role": e.actor_role,
        "actor_role_label": Role(e.actor_role).label,
        "from": e.from_status,
        "from_label": S(e.from_status).label if e.from_status else None,
        "to": e.to_status,
        "to_label": S(e.to_status).label,
        "comment": e.comment,
        "attachments": e.attachments or [],
    }


def application_json(session: Session, actor: Actor, application_id: int) -> dict:
    """One application with its form, boundary (GeoJSON, EPSG:4326), audit trail and the
    moves the caller may make now."""
    application = get_application(session, actor, application_id)
    community = application.community
    form = session.get(ApplicationForm, application.id)
    villages = session.execute(
        select(Village.code, Village.name)
        .join(application_villages, application_villages.c.village_id == Village.id)
        .where(application_villages.c.application_id == application.id)
        .order_by(Village.code)
    ).all()
    boundary = None
    if form is not None and form.boundary is not None:
        boundary = json.loads(
            session.scalar(
                select(
                    func.ST_AsGeoJSON(func.ST_Transform(ApplicationForm.boundary, 4326), 7)
                ).where(ApplicationForm.application_id == application.id)
            )
        )
    items = session.scalars(
        select(ApplicationWorkItem)
        .where(ApplicationWorkItem.application_id == application.id)
        .order_by(ApplicationWorkItem.id)
    ).all()
    budget = session.scalars(
        select(BudgetLine)
        .where(BudgetLine.application_id == application.id)
        .order_by(BudgetLine.line_no)
    ).all()
    events = session.scalars(
        select(ApplicationEvent)
        .where(ApplicationEvent.application_id == application.id)
        .order_by(ApplicationEvent.id)
    ).all()
    precinct = session.get(Precinct, community.precinct_id)
    district = session.get(District, community.district_id)
    return {
        "id": application.id,
        "year": application.year,
        "roc_year": roc_year(application.year),
        "status": application.status.value,
        "status_label": application.status.label,
        "version": application.version,
        "community": {
            "id": community.id,
            "name": community.name,
            "district": district.name,
            "precinct_id": community.precinct_id,
            "precinct": precinct.name,
        },
        "budget_total": application.budget_total,
        "form": _form_json(form, villages, boundary),
        "work_items": [
            {
                "item": w.item.value,
                "label": w.item.label,
                "description": w.description,
                "start_month": w.start_month,
                "end_month": w.end_month,
                "target": w.target,
            }
            for w in items
        ],
        "budget": [
            {
                "id": b.id,
                "line_no": b.line_no,
                "item": b.item.value if b.item else None,
                "name": b.name,
                "unit": b.unit,
                "quantity": float(b.quantity),
                "unit_price": b.unit_price,
                "amount": b.amount,
                "note": b.note,
            }
            for b in budget
        ],
        "events": [_event_json(e) for e in events],
        "allowed_moves": [
            {"to": m.target.value, "label": m.label}
            for m in allowed_moves(application.status, actor.role)
        ],
        "files_href": f"/api/applications/{application.id}/files",
        "created_at": application.created_at.isoformat() if application.created_at else None,
        "updated_at": application.updated_at.isoformat() if application.updated_at else None,
    }


def _form_json(form: ApplicationForm | None, villages, boundary) -> dict | None:
    if form is None:
        return None
    return {
        "organisation": {
            "name": form.organisation_name,
            "registration_no": form.registration_no,
            "representative": form.representative,
            "address": form.address,
        },
        "contact": {
            "name": form.contact_name,
            "title": form.contact_title,
            "phone": form.phone,
            "mobile": form.mobile,
            "email": form.email,
        },
        "village_codes": [v.code for v in villages],
        "village_names": [v.name for v in villages],
        "boundary": boundary,
        "boundary_note": form.boundary_note,
        "summary": form.summary,
        "goals": form.goals,
        "expected_results": form.expected_results,
        "period_start": form.period_start,
        "period_end": form.period_end,
        "approved_start": form.approved_start,
        "approved_end": form.approved_end,
        "self_funding": form.self_funding,
        "disaster_community": form.disaster_community,
    }


def list_applications(
    session: Session,
    actor: Actor,
    *,
    year: int | None = None,
    status: S | None = None,
    precinct_id: int | None = None,
    limit: int = 200,
    offset: int = 0,
) -> dict:
    """The applications the caller may read, one query, newest year first."""
    require_signed_in(actor)
    where = [application_filter(actor)]
    if year is not None:
        where.append(Application.year == year)
    if status is not None:
        where.append(Application.status == status)
    if precinct_id is not None:
        where.append(Community.precinct_id == precinct_id)
    stmt = (
        select(
            Application.id,
            Application.year,
            Application.status,
            Application.budget_total,
            Application.updated_at,
            Community.id.label("community_id"),
            Community.name.label("community"),
            District.name.label("district"),
            Precinct.name.label("precinct"),
            func.count().over().label("total"),
        )
        .join(Community, Community.id == Application.community_id)
        .join(District, District.id == Community.district_id)
        .join(Precinct, Precinct.id == Community.precinct_id)
        .where(*where)
        .order_by(Application.year.desc(), Precinct.name, Community.name, Application.id)
        .limit(limit)
        .offset(offset)
    )
    rows = session.execute(stmt).all()
    return {
        "total": rows[0].total if rows else 0,
        "limit": limit,
        "offset": offset,
        "items": [
            {
                "id": r.id,
                "year": r.year,
                "status": r.status.value,
                "status_label": r.status.label,
                "budget_total": r.budget_total,
                "community_id": r.community_id,
                "community": r.community,
                "district": r.district,
                "precinct": r.precinct,
                "updated_at": r.updated_at.isoformat() if r.updated_at else None,
                "href": f"/api/applications/{r.id}",
            }
            for r in rows
        ],
    }


def transitions_table() -> list[dict]:
    """The table of allowed moves, for clients that draw the review buttons."""
    return [
        {
            "from": m.source.value,
            "from_label": m.source.label,
            "to": m.target.value,
            "to_label": m.target.label,
            "label": m.label,
            "roles": sorted(r.value for r in m.roles),
        }
        for m in TRANSITIONS
    ]


# --------------------------------------------------------------------------- 附件2 roster
def roster(session: Session, actor: Actor, year: int) -> dict:
    """The year's roster (附件2): subsidised applications the caller may read."""
    require_signed_in(actor)
    program = get_year(session, year)
    rows = session.execute(
        select(
            Application.id,
            Application.status,
            Application.budget_total,
            Community.name.label("community"),
            District.name.label("district"),
            Precinct.name.label("precinct"),
            ApplicationForm.organisation_name,
            ApplicationForm.contact_name,
            ApplicationForm.phone,
            ApplicationForm.approved_start,
            ApplicationForm.approved_end,
            ApplicationForm.period_start,
            ApplicationForm.period_end,
            Organisation.name.label("org_name"),
        )
        .join(Community, Community.id == Application.community_id)
        .join(Organisation, Organisation.id == Community.organisation_id)
        .join(District, District.id == Community.district_id)
        .join(Precinct, Precinct.id == Community.precinct_id)
        .outerjoin(ApplicationForm, ApplicationForm.application_id == Application.id)
        .where(
            Application.year == year, Application.status.in_(SUBSIDISED), application_filter(actor)
        )
        .order_by(District.name, Community.name, Application.id)
    ).all()
    items = []
    for i, r in enumerate(rows, start=1):
        start = r.approved_start or r.period_start or dt.date(year, 1, 1)
        end = r.approved_end or r.period_end or dt.date(year, 12, 31)
        items.append(
            {
                "no": i,
                "application_id": r.id,
                "district": r.district,
                "community": r.community,
                "organisation": r.organisation_name or r.org_name,
                "contact": r.contact_name or "",
                "phone": r.phone or "",
                "precinct": r.precinct,
                "budget_total": r.budget_total,
                "period": f"{roc_month(start)}至{roc_month(end)}",
                "status_label": r.status.label,
            }
        )
    return {
        "year": year,
        "roc_year": roc_year(year),
        "quota": program.quota,
        "count": len(items),
        "budget_total": sum(i["budget_total"] for i in items),
        "items": items,
    }


# --------------------------------------------------------------------------- selection advice
RISK_LOOKBACK_DAYS = 365


def selection_advice(session: Session, actor: Actor, year: int) -> dict:
    """Advice when forwarded applications exceed the seats left (advice only, never a decision).

    Risk an application covers: incidents inside its community in the year before the program
    year began, plus the severity of the community's hazards still open; the rule functions
    of ``workflow.selection`` rank by that risk per NT$ with a per-district floor.
    """
    require_role(actor, Role.city_police, Role.admin, Role.leader)
    program = get_year(session, year)
    settings = year_settings(program)
    seats = max(program.quota - _subsidised_count(session, year), 0)
    until = dt.datetime(year, 1, 1, tzinfo=dt.UTC)
    since = until - dt.timedelta(days=RISK_LOOKBACK_DAYS)
    incidents = (
        select(func.count())
        .select_from(Incident)
        .where(
            func.ST_Intersects(Incident.geom, Community.geom),
            Incident.occurred_at >= since,
            Incident.occurred_at < until,
        )
        .correlate(Community)
        .scalar_subquery()
    )
    hazards = (
        select(func.coalesce(func.sum(HazardRow.severity), 0))
        .where(HazardRow.community_id == Community.id, HazardRow.status.in_(["open", "assigned"]))
        .correlate(Community)
        .scalar_subquery()
    )
    rows = session.execute(
        select(
            Application.id,
            Application.budget_total,
            Community.id.label("community_id"),
            Community.name,
            District.name.label("district"),
            incidents.label("incidents"),
            hazards.label("hazards"),
        )
        .join(Community, Community.id == Application.community_id)
        .join(District, District.id == Community.district_id)
        .where(Application.year == year, Application.status == S.forwarded)
    ).all()
    candidates = [
        Candidate(
            application_id=r.id,
            community_id=r.community_id,
            community_name=r.name,
            district=r.district,
            budget=max(r.budget_total, 1),
            risk=float(r.incidents + r.hazards),
        )
        for r in rows
    ]
    advice = advise(candidates, settings, seats=seats)
    return {
        "year": year,
        "seats": advice.seats,
        "candidates": len(candidates),
        "exceeds_quota": len(candidates) > advice.seats,
        "notice": advice.notice,
        "districts_left_out": list(advice.districts_left_out),
        "risk_basis": f"申請社區範圍內前 {RISK_LOOKBACK_DAYS} 天之案件數，加上尚未改善之問題點嚴重度合計。",
        "items": [
            {
                "position": a.position,
                "application_id": a.candidate.application_id,
                "community": a.candidate.community_name,
                "district": a.candidate.district,
                "budget": a.candidate.budget,
                "risk": a.candidate.risk,
                "risk_per_10k": None
                if a.candidate.risk_per_10k is None
                else round(a.candidate.risk_per_10k, 4),
                "advised": a.advised,
                "basis": a.basis.value,
                "basis_label": a.basis.label,
                "merit_rank": a.merit_rank,
                "reason": a.reason,
            }
            for a in advice.items
        ],
    }
