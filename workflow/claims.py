"""Expense claims (經費核銷): the community files line items with receipts, the precinct checks
and forwards them (伍、三、(二)「核(轉)報受補助社區組織經費核銷案」), the city closes them;
money claimed on untrue receipts is clawed back (拾貳、一「受補助單位申請支付款項時，應本誠信
原則，對所提出支出憑證之支付事實及真實性負責；經查明有不實者，應負相關責任並追繳該款項」).

A claim's status changes only in ``move_claim()``, from a table of allowed moves per role, with
an append-only ``claim_events`` row, as applications do in ``workflow.states``. Closing the last
open claim of an application closes the application too (結案), which is what staff rewards
count as 「完成核銷程序」.
"""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

from geoalchemy2.shape import from_shape
from pydantic import BaseModel, Field
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from geo import layers as geo_layers
from geo.enums import ApplicationStatus as S
from geo.enums import Role
from geo.enums_workflow import ClaimStatus as C
from geo.enums_workflow import ClawbackStatus, MapItemKind, WorkItem
from geo.errors import InvalidInput, NotFound
from geo.models import STORAGE_SRID, Application, Camera, Hazard
from geo.models_workflow import BudgetLine, ClaimEvent, ClaimItem, Clawback, ExpenseClaim
from geo.validation import check_geometry

from . import files, idempotency, notifications
from .access import (
    Actor,
    application_filter,
    get_application,
    require_applicant,
    require_role,
    require_signed_in,
)
from .errors import NotEditable, NotSubsidised
from .states import InvalidTransition, transition

CLAIMING = (S.approved, S.in_progress)

# Who moves a claim from where to where.
CLAIM_MOVES: dict[tuple[C, C], tuple[str, frozenset[Role]]] = {
    (C.draft, C.submitted): ("送出核銷", frozenset({Role.community})),
    (C.returned, C.submitted): ("補正後重新送出", frozenset({Role.community})),
    (C.submitted, C.returned): ("退回補正", frozenset({Role.precinct})),
    (C.submitted, C.checked): ("分局審核並核轉", frozenset({Role.precinct})),
    (C.checked, C.returned): ("退回補正", frozenset({Role.city_police})),
    (C.checked, C.closed): ("核銷結案", frozenset({Role.city_police})),
}
NEXT = {C.submitted: ("precinct",), C.returned: ("community",), C.checked: ("city",),
        C.closed: ("community", "precinct")}  # fmt: skip


class ClaimItemIn(BaseModel):
    budget_line_id: int | None = None
    item: WorkItem | None = None
    description: str = Field(min_length=1, max_length=255)
    vendor: str | None = Field(default=None, max_length=128)
    receipt_no: str | None = Field(default=None, max_length=64)
    spent_on: dt.date | None = None
    amount: int = Field(gt=0, le=10_000_000)
    receipt_file_id: int | None = None
    map_kind: MapItemKind | None = None
    camera_id: int | None = None
    hazard_id: int | None = None
    planned: dict[str, Any] | None = Field(default=None, description="GeoJSON Point, EPSG:4326")
    installed: dict[str, Any] | None = Field(default=None, description="GeoJSON Point, EPSG:4326")
    note: str | None = Field(default=None, max_length=2000)


class ClaimIn(BaseModel):
    title: str = Field(min_length=1, max_length=128)
    items: list[ClaimItemIn] = Field(min_length=1, max_length=300)


class ClaimMoveIn(BaseModel):
    to: C
    comment: str | None = Field(default=None, max_length=4000)


class ClawbackIn(BaseModel):
    amount: int = Field(gt=0)
    reason: str = Field(min_length=1, max_length=4000)
    claim_item_id: int | None = None


class RepaymentIn(BaseModel):
    repaid_amount: int = Field(ge=0)
    repaid_on: dt.date
    note: str | None = Field(default=None, max_length=2000)


# --------------------------------------------------------------------------- reading
def _claim_in_scope(
    session: Session, actor: Actor, claim_id: int, *, lock: bool = False
) -> ExpenseClaim:
    require_signed_in(actor)
    stmt = (
        select(ExpenseClaim)
        .join(Application, Application.id == ExpenseClaim.application_id)
        .where(ExpenseClaim.id == claim_id, application_filter(actor))
    )
    if lock:
        stmt = stmt.with_for_update(of=ExpenseClaim)
    claim = session.scalar(stmt)
    if claim is None:
        raise NotFound("找不到此核銷案，或您沒有權限查看。", detail=f"claim {claim_id}")
    return claim


def claim_json(session: Session, claim: ExpenseClaim) -> dict:
    geo = {
        r.id: r
        for r in session.execute(
            select(
                ClaimItem.id,
                func.ST_AsGeoJSON(func.ST_Transform(ClaimItem.planned_geom, 4326), 7).label(
                    "planned"
                ),
                func.ST_AsGeoJSON(func.ST_Transform(ClaimItem.installed_geom, 4326), 7).label(
                    "installed"
                ),
                func.ST_Distance(ClaimItem.planned_geom, ClaimItem.installed_geom).label("offset"),
            ).where(ClaimItem.claim_id == claim.id)
        )
    }
    events = session.scalars(
        select(ClaimEvent).where(ClaimEvent.claim_id == claim.id).order_by(ClaimEvent.id)
    ).all()
    clawbacks = session.scalars(
        select(Clawback).where(Clawback.claim_id == claim.id).order_by(Clawback.id)
    ).all()
    total = sum(i.amount for i in claim.items)
    return {
        "id": claim.id,
        "application_id": claim.application_id,
        "title": claim.title,
        "status": claim.status.value,
        "status_label": claim.status.label,
        "version": claim.version,
        "total": total,
        "clawed_back": sum(c.amount for c in clawbacks),
        "submitted_at": claim.submitted_at.isoformat() if claim.submitted_at else None,
        "checked_at": claim.checked_at.isoformat() if claim.checked_at else None,
        "closed_at": claim.closed_at.isoformat() if claim.closed_at else None,
        "items": [
            {
                "id": i.id,
                "line_no": i.line_no,
                "budget_line_id": i.budget_line_id,
                "item": i.item.value if i.item else None,
                "item_label": i.item.label if i.item else None,
                "description": i.description,
                "vendor": i.vendor,
                "receipt_no": i.receipt_no,
                "spent_on": i.spent_on,
                "amount": i.amount,
                "receipt_file_id": i.receipt_file_id,
                "receipt_href": f"/api/applications/{claim.application_id}/files/{i.receipt_file_id}"
                if i.receipt_file_id
                else None,
                "map_kind": i.map_kind.value if i.map_kind else None,
                "map_kind_label": i.map_kind.label if i.map_kind else None,
                "camera_id": i.camera_id,
                "hazard_id": i.hazard_id,
                "planned": json.loads(geo[i.id].planned) if geo[i.id].planned else None,
                "installed": json.loads(geo[i.id].installed) if geo[i.id].installed else None,
                "offset_m": None if geo[i.id].offset is None else round(geo[i.id].offset, 1),
                "note": i.note,
            }
            for i in claim.items
        ],
        "events": [
            {
                "at": e.at.isoformat() if e.at else None,
                "actor_id": e.actor_id,
                "actor_role": e.actor_role,
                "from": e.from_status,
                "to": e.to_status,
                "to_label": C(e.to_status).label,
                "comment": e.comment,
            }
            for e in events
        ],
        "clawbacks": [_clawback_json(c) for c in clawbacks],
    }


def _clawback_json(c: Clawback) -> dict:
    return {
        "id": c.id,
        "claim_id": c.claim_id,
        "claim_item_id": c.claim_item_id,
        "amount": c.amount,
        "reason": c.reason,
        "status": c.status.value,
        "status_label": c.status.label,
        "decided_by": c.decided_by,
        "decided_at": c.decided_at.isoformat() if c.decided_at else None,
        "repaid_amount": c.repaid_amount,
        "repaid_on": c.repaid_on,
        "note": c.note,
    }


def read_claim(session: Session, actor: Actor, claim_id: int) -> dict:
    return claim_json(session, _claim_in_scope(session, actor, claim_id))


def list_claims(
    session: Session,
    actor: Actor,
    *,
    application_id: int | None = None,
    year: int | None = None,
    status: C | None = None,
) -> list[dict]:
    require_signed_in(actor)
    stmt = (
        select(
            ExpenseClaim.id,
            ExpenseClaim.application_id,
            ExpenseClaim.title,
            ExpenseClaim.status,
            Application.year,
            func.coalesce(
                select(func.sum(ClaimItem.amount))
                .where(ClaimItem.claim_id == ExpenseClaim.id)
                .correlate(ExpenseClaim)
                .scalar_subquery(),
                0,
            ).label("total"),
        )
        .join(Application, Application.id == ExpenseClaim.application_id)
        .where(application_filter(actor))
        .order_by(ExpenseClaim.id)
    )
    if application_id is not None:
        stmt = stmt.where(ExpenseClaim.application_id == application_id)
    if year is not None:
        stmt = stmt.where(Application.year == year)
    if status is not None:
        stmt = stmt.where(ExpenseClaim.status == status)
    return [
        {
            "id": r.id,
            "application_id": r.application_id,
            "year": r.year,
            "title": r.title,
            "status": r.status.value,
            "status_label": r.status.label,
            "total": int(r.total),
            "href": f"/api/claims/{r.id}",
        }
        for r in session.execute(stmt)
    ]


# --------------------------------------------------------------------------- writing
def _point(obj: dict | None):
    if obj is None:
        return None
    return from_shape(
        check_geometry(obj, allowed_types=("Point",), source_crs=4326).geom_3826, srid=STORAGE_SRID
    )


def _write_items(
    session: Session, actor: Actor, application: Application, claim: ExpenseClaim, body: ClaimIn
) -> None:
    lines = {
        b.id: b
        for b in session.scalars(
            select(BudgetLine).where(BudgetLine.application_id == application.id)
        )
    }
    receipts = files.checked_files(
        session, application.id, [i.receipt_file_id for i in body.items if i.receipt_file_id]
    )
    receipt_ids = {f.id for f in receipts}
    items = []
    for n, i in enumerate(body.items, start=1):
        if i.budget_line_id is not None and i.budget_line_id not in lines:
            raise InvalidInput(
                f"第 {n} 項的經費概算項目不屬於此申請案。", detail=f"budget line {i.budget_line_id}"
            )
        planned = _point(i.planned)
        kind = i.map_kind
        if i.camera_id is not None:
            camera = session.get(Camera, i.camera_id)
            if camera is None or camera.community_id != application.community_id:
                raise InvalidInput(
                    f"第 {n} 項連結的監視器不屬於此社區。", detail=f"camera {i.camera_id}"
                )
            kind = kind or MapItemKind.camera
            if planned is None:
                planned = camera.geom  # the position the camera was planned at on the map
            if camera.application_id is None:
                # The map now shows which year's subsidy paid for the camera; the layer's
                # history trigger records who linked it, and the ETag moves on.
                geo_layers.set_actor(session, actor.user_id)
                camera.application_id = application.id
                camera.version += 1
        if i.hazard_id is not None:
            hazard = session.get(Hazard, i.hazard_id)
            if hazard is None or hazard.community_id != application.community_id:
                raise InvalidInput(
                    f"第 {n} 項連結的問題點不屬於此社區。", detail=f"hazard {i.hazard_id}"
                )
        line = lines.get(i.budget_line_id) if i.budget_line_id else None
        items.append(
            ClaimItem(
                line_no=n,
                budget_line_id=i.budget_line_id,
                item=i.item or (line.item if line else None),
                description=i.description,
                vendor=i.vendor,
                receipt_no=i.receipt_no,
                spent_on=i.spent_on,
                amount=i.amount,
                receipt_file_id=i.receipt_file_id if i.receipt_file_id in receipt_ids else None,
                map_kind=kind,
                camera_id=i.camera_id,
                hazard_id=i.hazard_id,
                planned_geom=planned,
                installed_geom=_point(i.installed),
                note=i.note,
            )
        )
    # Old lines go first: the new ones reuse their line numbers (unique per claim).
    claim.items.clear()
    session.flush()
    claim.items = items
    session.flush()


def create_claim(
    session: Session,
    actor: Actor,
    application_id: int,
    body: ClaimIn,
    *,
    idempotency_key: str | None = None,
) -> dict:
    """A draft claim of a subsidised application, by its community."""

    def act() -> dict:
        application = get_application(session, actor, application_id)
        require_applicant(actor, application.community)
        if application.status not in CLAIMING:
            raise NotSubsidised(
                f"申請案狀態為「{application.status.label}」，不能申請核銷。",
                detail=str(application.status),
            )
        claim = ExpenseClaim(
            application_id=application.id, title=body.title, created_by=actor.user_id
        )
        session.add(claim)
        session.flush()
        _write_items(session, actor, application, claim, body)
        return claim_json(session, claim)

    return idempotency.run(
        session, actor, idempotency_key, f"application:{application_id}:claim",
        body.model_dump(mode="json"), act,
    )  # fmt: skip


def update_claim(session: Session, actor: Actor, claim_id: int, body: ClaimIn) -> dict:
    claim = _claim_in_scope(session, actor, claim_id, lock=True)
    application = session.get(Application, claim.application_id)
    require_applicant(actor, application.community)
    if claim.status not in (C.draft, C.returned):
        raise NotEditable(
            f"核銷案狀態為「{claim.status.label}」，不能修改。", detail=str(claim.status)
        )
    claim.title = body.title
    claim.version += 1
    claim.updated_at = func.now()
    _write_items(session, actor, application, claim, body)
    return claim_json(session, claim)


def move_claim(
    session: Session,
    actor: Actor,
    claim_id: int,
    body: ClaimMoveIn,
    *,
    idempotency_key: str | None = None,
) -> dict:
    """The one place a claim's status changes: checked against ``CLAIM_MOVES``, audited."""

    def act() -> dict:
        claim = _claim_in_scope(session, actor, claim_id, lock=True)
        application = session.get(Application, claim.application_id)
        source, target = claim.status, body.to
        if source is target:
            return claim_json(session, claim)  # a repeated move is harmless
        move = CLAIM_MOVES.get((source, target))
        if move is None or actor.role not in move[1]:
            raise InvalidTransition(
                f"核銷案狀態為「{source.label}」時，{actor.role.label if actor.role else '訪客'}"
                f"不能執行「{target.label}」。",
                detail=f"claim {source} -> {target} by {actor.role}",
            )
        if target is C.submitted:
            _check_submittable(session, application, claim)
            if actor.role is Role.community:
                require_applicant(actor, application.community)
            claim.submitted_at = func.now()
        elif target is C.checked:
            claim.checked_at = func.now()
        elif target is C.closed:
            claim.closed_at = func.now()
        claim.status = target
        claim.version += 1
        claim.updated_at = func.now()
        session.add(
            ClaimEvent(
                claim_id=claim.id,
                actor_id=actor.user_id,
                actor_role=actor.role.value,
                from_status=source.value,
                to_status=target.value,
                comment=body.comment,
            )
        )
        session.flush()
        if target is C.closed:
            _close_application_if_done(session, actor, application)
        notifications.notify(
            session,
            NEXT.get(target, ()),
            application.community,
            kind=f"claim_{target.value}",
            title=f"「{application.community.name}」核銷案「{claim.title}」{target.label}。",
            body=body.comment or "",
            link=f"/api/claims/{claim.id}",
            application_id=application.id,
        )
        session.refresh(claim)
        return claim_json(session, claim)

    return idempotency.run(
        session, actor, idempotency_key, f"claim:{claim_id}:move", body.model_dump(mode="json"),
        act,
    )  # fmt: skip


def _check_submittable(session: Session, application: Application, claim: ExpenseClaim) -> None:
    missing = [i.line_no for i in claim.items if i.receipt_file_id is None]
    if missing:
        raise InvalidInput(
            f"第 {'、'.join(map(str, missing))} 項尚未上傳支出憑證。",
            detail=f"no receipt {missing}",
        )
    others = session.scalar(
        select(func.coalesce(func.sum(ClaimItem.amount), 0))
        .join(ExpenseClaim, ExpenseClaim.id == ClaimItem.claim_id)
        .where(
            ExpenseClaim.application_id == application.id,
            ExpenseClaim.id != claim.id,
            ExpenseClaim.status != C.draft,
        )
    )
    total = sum(i.amount for i in claim.items)
    if others + total > application.budget_total:
        raise InvalidInput(
            f"核銷金額合計 {others + total:,} 元，超過核定經費 {application.budget_total:,} 元。",
            detail=f"{others}+{total}>{application.budget_total}",
        )


def _close_application_if_done(session: Session, actor: Actor, application: Application) -> None:
    # 結案 once no claim of the application is still open: the expense closure the staff
    # rewards of 玖 count (「完成核銷程序」).
    still_open = session.scalar(
        select(func.count())
        .select_from(ExpenseClaim)
        .where(ExpenseClaim.application_id == application.id, ExpenseClaim.status != C.closed)
    )
    if still_open:
        return
    if application.status is S.approved:
        transition(session, application, S.in_progress, actor, comment="核銷結案前開始執行。")
    if application.status is S.in_progress:
        transition(session, application, S.completed, actor, comment="經費核銷結案。")


def add_clawback(
    session: Session,
    actor: Actor,
    claim_id: int,
    body: ClawbackIn,
    *,
    idempotency_key: str | None = None,
) -> dict:
    """Record a claw-back (追繳) of money claimed on untrue receipts (city only)."""

    def act() -> dict:
        require_role(actor, Role.city_police)
        claim = _claim_in_scope(session, actor, claim_id, lock=True)
        if claim.status not in (C.checked, C.closed):
            raise NotEditable("核銷案須經分局核轉或結案後才能追繳。", detail=str(claim.status))
        if body.claim_item_id is not None and body.claim_item_id not in {i.id for i in claim.items}:
            raise InvalidInput("追繳的項目不屬於此核銷案。", detail=str(body.claim_item_id))
        already = session.scalar(
            select(func.coalesce(func.sum(Clawback.amount), 0)).where(Clawback.claim_id == claim.id)
        )
        ceiling = (
            next(i.amount for i in claim.items if i.id == body.claim_item_id)
            if body.claim_item_id
            else sum(i.amount for i in claim.items)
        )
        if already + body.amount > sum(i.amount for i in claim.items) or body.amount > ceiling:
            raise InvalidInput(
                "追繳金額不能超過核銷金額。", detail=f"{already}+{body.amount}>{ceiling}"
            )
        clawback = Clawback(
            claim_id=claim.id,
            claim_item_id=body.claim_item_id,
            amount=body.amount,
            reason=body.reason,
            decided_by=actor.user_id,
        )
        session.add(clawback)
        session.flush()
        application = session.get(Application, claim.application_id)
        notifications.notify(
            session,
            ("community", "precinct"),
            application.community,
            kind="clawback",
            title=f"「{application.community.name}」核銷案「{claim.title}」追繳新臺幣 {body.amount:,} 元。",
            body=body.reason,
            link=f"/api/claims/{claim.id}",
            application_id=application.id,
        )
        return _clawback_json(clawback)

    return idempotency.run(
        session, actor, idempotency_key, f"claim:{claim_id}:clawback",
        body.model_dump(mode="json"), act,
    )  # fmt: skip


def record_repayment(session: Session, actor: Actor, clawback_id: int, body: RepaymentIn) -> dict:
    require_role(actor, Role.city_police)
    clawback = session.get(Clawback, clawback_id, with_for_update=True)
    if clawback is None:
        raise NotFound("找不到此追繳紀錄。", detail=f"clawback {clawback_id}")
    _claim_in_scope(session, actor, clawback.claim_id)
    clawback.repaid_amount = body.repaid_amount
    clawback.repaid_on = body.repaid_on
    clawback.note = body.note
    if body.repaid_amount >= clawback.amount:
        clawback.status = ClawbackStatus.repaid
    session.flush()
    return _clawback_json(clawback)


def list_clawbacks(session: Session, actor: Actor, year: int) -> list[dict]:
    require_signed_in(actor)
    rows = session.scalars(
        select(Clawback)
        .join(ExpenseClaim, ExpenseClaim.id == Clawback.claim_id)
        .join(Application, Application.id == ExpenseClaim.application_id)
        .where(Application.year == year, application_filter(actor))
        .order_by(Clawback.id)
    ).all()
    return [_clawback_json(c) for c in rows]
