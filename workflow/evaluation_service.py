"""The evaluation year in the database (評鑑, plan 捌): nominations, score sheets, the ranking
``workflow.evaluation.evaluate()`` computes from them, and the published results with award
amounts and certificate numbers.

- 捌、一「由本府警察局所屬各分局辦理遴(初)選 1 個治安社區，參與本府(複)評鑑」: a precinct
  nominates its own subsidised communities, at most ``settings.nominations_per_precinct``
  (1); the limit is taken under the program year's row lock, with a unique (year, precinct,
  slot) behind it, so it holds under concurrent requests.
- The panel: the year's counselling-team roster members (附件6) who have an account; without
  such members, everyone who handed in a sheet.
- 捌、四「獎勵金發放，視當年度預算編列情形，依層級頒發」: the amount is the city's decision
  within the tier's range; publishing sets each to the tier's lower bound until the city
  changes it.
"""

from __future__ import annotations

from decimal import Decimal, InvalidOperation

from pydantic import BaseModel, Field
from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from geo.enums import Role
from geo.errors import InvalidInput, NotFound
from geo.models import Application, AuditLog, Community, Precinct, ProgramYear, User
from geo.models_workflow import EvaluationResult, Nomination, RosterMember, ScoreItem, ScoreSheet

from . import evaluation as rules
from . import idempotency, notifications
from .access import Actor, application_filter, get_application, require_role, require_signed_in
from .applications import get_year, year_settings
from .errors import EvaluationFinalised, NotSubsidised, WorkflowConflict
from .roc import roc_year
from .states import SUBSIDISED


class NominationIn(BaseModel):
    application_id: int
    preliminary_score: Decimal = Field(ge=0, le=100, max_digits=5, decimal_places=2)
    reason: str = Field(default="", max_length=4000)


class SheetIn(BaseModel):
    scores: dict[str, Decimal] = Field(description="criterion code → points")
    comments: dict[str, str] = Field(default_factory=dict)
    comment: str = Field(default="", max_length=4000)
    submit: bool = Field(default=True, description="false keeps it a draft")


class AwardIn(BaseModel):
    amount: int = Field(ge=0)


class FinaliseIn(BaseModel):
    amounts: dict[int, int] = Field(default_factory=dict, description="community id → NT$")


def rubric_for(program: ProgramYear) -> rules.Rubric:
    return rules.load_rubric((program.settings or {}).get("rubric"))


def _finalised(session: Session, year: int) -> bool:
    return bool(session.scalar(select(func.count()).where(EvaluationResult.year == year)))


def _guard_open(session: Session, year: int) -> None:
    if _finalised(session, year):
        raise EvaluationFinalised(detail=f"year {year} finalised")


# --------------------------------------------------------------------------- nominations
def nominate(
    session: Session,
    actor: Actor,
    year: int,
    body: NominationIn,
    *,
    idempotency_key: str | None = None,
) -> dict:
    def act() -> dict:
        require_role(actor, Role.precinct)
        program = session.execute(
            select(ProgramYear).where(ProgramYear.year == year).with_for_update()
        ).scalar_one_or_none()
        if program is None:
            get_year(session, year)
        _guard_open(session, year)
        application = get_application(session, actor, body.application_id)
        if application.year != year or application.status not in SUBSIDISED:
            raise NotSubsidised(
                "只能推薦本年度接受補助的治安社區。",
                detail=f"{application.year} {application.status}",
            )
        community = application.community
        if session.scalar(
            select(func.count()).where(
                Nomination.year == year, Nomination.community_id == community.id
            )
        ):
            raise rules.DuplicateNomination(
                f"「{community.name}」已經推薦。", detail=str(community.id)
            )
        limit = year_settings(program).nominations_per_precinct
        taken = session.scalar(
            select(func.count()).where(
                Nomination.year == year, Nomination.precinct_id == community.precinct_id
            )
        )
        if taken >= limit:
            precinct = session.get(Precinct, community.precinct_id)
            raise rules.TooManyNominations(
                f"{precinct.name}本年度已推薦 {taken} 個社區，每分局以 {limit} 個為限（計畫捌、一）。",
                detail=f"precinct {community.precinct_id} {taken}/{limit}",
            )
        nomination = Nomination(
            year=year,
            application_id=application.id,
            community_id=community.id,
            precinct_id=community.precinct_id,
            slot=taken + 1,
            preliminary_score=body.preliminary_score,
            reason=body.reason,
            nominated_by=actor.user_id,
        )
        session.add(nomination)
        session.flush()
        notifications.notify(
            session,
            ("city", "counselling", "community"),
            community,
            kind="nomination",
            title=f"「{community.name}」獲推薦參加民國 {roc_year(year)} 年度評鑑。",
            link=f"/api/program-years/{year}/evaluation/nominations",
            application_id=application.id,
        )
        return _nomination_json(session, nomination)

    return idempotency.run(
        session, actor, idempotency_key, f"nominate:{year}", body.model_dump(mode="json"), act
    )


def withdraw_nomination(session: Session, actor: Actor, nomination_id: int) -> None:
    require_role(actor, Role.precinct)
    nomination = session.get(Nomination, nomination_id, with_for_update=True)
    if nomination is None or nomination.precinct_id != actor.precinct_id:
        raise NotFound("找不到此推薦。", detail=f"nomination {nomination_id}")
    _guard_open(session, nomination.year)
    # Slots close up so the precinct may nominate another community in its place.
    session.delete(nomination)
    session.flush()


def _nomination_json(session: Session, n: Nomination) -> dict:
    community = session.get(Community, n.community_id)
    precinct = session.get(Precinct, n.precinct_id)
    sheets = session.scalar(
        select(func.count()).where(
            ScoreSheet.nomination_id == n.id, ScoreSheet.submitted_at.is_not(None)
        )
    )
    return {
        "id": n.id,
        "year": n.year,
        "application_id": n.application_id,
        "community_id": n.community_id,
        "community": community.name,
        "precinct_id": n.precinct_id,
        "precinct": precinct.name,
        "preliminary_score": float(n.preliminary_score),
        "reason": n.reason,
        "sheets_submitted": sheets,
    }


def list_nominations(session: Session, actor: Actor, year: int) -> list[dict]:
    require_signed_in(actor)
    rows = session.scalars(
        select(Nomination)
        .join(Application, Application.id == Nomination.application_id)
        .where(Nomination.year == year, application_filter(actor))
        .order_by(Nomination.precinct_id, Nomination.slot)
    ).all()
    return [_nomination_json(session, n) for n in rows]


# --------------------------------------------------------------------------- score sheets
def panel(session: Session, year: int) -> list[int] | None:
    """User ids of the year's scoring panel (附件6 members with an account), or None."""
    ids = session.scalars(
        select(RosterMember.user_id).where(
            RosterMember.year == year,
            RosterMember.roster == "counselling_team",
            RosterMember.user_id.is_not(None),
        )
    ).all()
    return sorted(set(ids)) or None


def save_sheet(session: Session, actor: Actor, nomination_id: int, body: SheetIn) -> dict:
    """A counsellor's 複評 sheet for a nominee: a draft, or submitted when complete."""
    require_role(actor, Role.counselling)
    if actor.user_id is None:
        raise InvalidInput("評分須以個人帳號登入。", detail="no user")
    nomination = session.get(Nomination, nomination_id)
    if nomination is None:
        raise NotFound("找不到此推薦社區。", detail=f"nomination {nomination_id}")
    _guard_open(session, nomination.year)
    members = panel(session, nomination.year)
    if members is not None and actor.user_id not in members:
        raise rules.ScorerNotOnPanel(detail=str(actor.user_id))
    program = get_year(session, nomination.year)
    rubric = rubric_for(program)
    checked = rules.check_sheet(
        rubric,
        rules.ScoreSheet(actor.user_id, nomination.community_id, body.scores),
        complete=body.submit,
    )
    if body.submit:
        unexplained = [
            c.name
            for c in rubric.criteria
            if c.comment_required and not (body.comments.get(c.code) or "").strip()
        ]
        if unexplained:
            raise CommentRequired(
                f"評分表規定須填寫評語的項目：{'、'.join(unexplained)}。",
                detail=f"nomination {nomination_id}",
            )
    sheet = session.scalar(
        select(ScoreSheet)
        .where(ScoreSheet.nomination_id == nomination.id, ScoreSheet.scorer_id == actor.user_id)
        .with_for_update()
    )
    if sheet is None:
        sheet = ScoreSheet(nomination_id=nomination.id, scorer_id=actor.user_id)
        session.add(sheet)
    sheet.comment = body.comment
    sheet.items = [
        ScoreItem(criterion=code, score=score, comment=body.comments.get(code))
        for code, score in checked.items()
    ]
    sheet.submitted_at = func.now() if body.submit else None
    sheet.updated_at = func.now()
    session.flush()
    session.refresh(sheet)
    return _sheet_json(sheet, rubric)


def _sheet_json(sheet: ScoreSheet, rubric: rules.Rubric) -> dict:
    scores = {i.criterion: i.score for i in sheet.items}
    return {
        "id": sheet.id,
        "nomination_id": sheet.nomination_id,
        "scorer_id": sheet.scorer_id,
        "submitted": sheet.submitted_at is not None,
        "total": float(sum(scores.values(), Decimal(0))),
        "comment": sheet.comment,
        "items": [
            {
                "criterion": c.code,
                "name": c.name,
                "weight": c.weight,
                "score": float(scores[c.code]) if c.code in scores else None,
                "band": rubric.band(c.code, scores[c.code]).label if c.code in scores else None,
            }
            for c in rubric.criteria
        ],
    }


def my_sheets(session: Session, actor: Actor, year: int) -> list[dict]:
    require_role(actor, Role.counselling)
    rubric = rubric_for(get_year(session, year))
    sheets = session.scalars(
        select(ScoreSheet)
        .join(Nomination, Nomination.id == ScoreSheet.nomination_id)
        .where(Nomination.year == year, ScoreSheet.scorer_id == actor.user_id)
        .order_by(ScoreSheet.id)
    ).all()
    return [_sheet_json(s, rubric) for s in sheets]


# --------------------------------------------------------------------------- results
def _evaluate(session: Session, year: int) -> tuple[rules.EvaluationResult, dict[int, Nomination]]:
    program = get_year(session, year)
    settings = year_settings(program)
    noms = session.scalars(select(Nomination).where(Nomination.year == year)).all()
    names = dict(
        session.execute(
            select(Community.id, Community.name).where(
                Community.id.in_([n.community_id for n in noms])
            )
        ).all()
    )
    precincts = dict(session.execute(select(Precinct.id, Precinct.name)).all())
    sheets = session.execute(
        select(ScoreSheet.scorer_id, Nomination.community_id, ScoreItem.criterion, ScoreItem.score)
        .join(Nomination, Nomination.id == ScoreSheet.nomination_id)
        .join(ScoreItem, ScoreItem.sheet_id == ScoreSheet.id)
        .where(Nomination.year == year, ScoreSheet.submitted_at.is_not(None))
    ).all()
    by_sheet: dict[tuple[int, int], dict[str, Decimal]] = {}
    for scorer, community, criterion, score in sheets:
        by_sheet.setdefault((scorer, community), {})[criterion] = score
    scorer_names = dict(
        session.execute(
            select(User.id, User.display_name).where(User.id.in_({s for s, _ in by_sheet}))
        ).all()
    )
    result = rules.evaluate(
        rubric_for(program),
        [
            rules.Nomination(
                n.community_id, n.precinct_id, n.preliminary_score, names[n.community_id],
                precincts.get(n.precinct_id, ""),
            )
            for n in noms
        ],
        [rules.ScoreSheet(s, c, scores, scorer_names.get(s, "")) for (s, c), scores in by_sheet.items()],
        settings,
        panel=panel(session, year),
        scorer_names=scorer_names,
    )  # fmt: skip
    return result, {n.community_id: n for n in noms}


def results(session: Session, actor: Actor, year: int) -> dict:
    """The ranking as it stands (or as published), with calibration of the panel."""
    require_role(actor, Role.city_police, Role.admin, Role.counselling, Role.leader, Role.precinct)
    result, noms = _evaluate(session, year)
    published = {
        r.community_id: r
        for r in session.scalars(select(EvaluationResult).where(EvaluationResult.year == year))
    }
    visible = None
    if actor.role is Role.precinct:
        visible = {c for c, n in noms.items() if n.precinct_id == actor.precinct_id}
    entries = []
    for e in result.entries:
        cid = e.nomination.community_id
        if visible is not None and cid not in visible:
            continue
        stored = published.get(cid)
        entries.append(
            {
                "community_id": cid,
                "community": e.nomination.community_name,
                "precinct": e.nomination.precinct_name,
                "nomination_id": noms[cid].id,
                "preliminary_score": float(e.preliminary),
                "review_average": None if e.review_average is None else float(e.review_average),
                "scorer_totals": {str(k): float(v) for k, v in e.scorer_totals.items()},
                "criterion_averages": {k: float(v) for k, v in e.criterion_averages.items()},
                "rank": e.rank,
                "outcome": e.outcome.value,
                "outcome_label": e.outcome_label,
                "certified": e.certified,
                "quality": e.quality,
                "tier": e.tier.name if e.tier else None,
                "tier_label": e.tier_label,
                "tie_break": e.tie_break,
                "unresolved_tie": e.unresolved_tie,
                "reasons": list(e.reasons),
                "award_amount": stored.award_amount if stored else None,
                "certificate_no": stored.certificate_no if stored else None,
            }
        )
    return {
        "year": year,
        "roc_year": roc_year(year),
        "threshold": float(result.threshold),
        "finalised": bool(published),
        "entries": entries,
        "calibration": [
            {
                "scorer_id": c.scorer_id,
                "scorer_name": c.scorer_name,
                "sheets": c.sheets,
                "mean": float(c.mean),
                "panel_mean": float(c.panel_mean),
                "offset": float(c.offset),
                "spread": float(c.spread),
                "panel_spread": float(c.panel_spread),
                "label": c.label,
            }
            for c in result.calibration
        ]
        if actor.role is not Role.precinct
        else [],
        "unresolved_ties": [e.nomination.community_id for e in result.unresolved_ties],
    }


def _amount_ok(tier, amount: int | None) -> bool:
    if amount is None:
        return True
    if tier.amount_min is not None and amount < tier.amount_min:
        return False
    return not (tier.amount_max is not None and amount > tier.amount_max)


def finalise(session: Session, actor: Actor, year: int, body: FinaliseIn) -> dict:
    """Publish the ranking: store ranks, outcomes, tiers, amounts and certificate numbers."""
    require_role(actor, Role.city_police, Role.admin)
    session.execute(select(ProgramYear).where(ProgramYear.year == year).with_for_update())
    result, noms = _evaluate(session, year)
    if result.unresolved_ties:
        names = "、".join(e.nomination.community_name for e in result.unresolved_ties)
        raise InvalidInput(
            f"{names}的名次無法依比序決定，須由評審會議決定後再公布。", detail="unresolved ties"
        )
    session.execute(delete(EvaluationResult).where(EvaluationResult.year == year))
    session.flush()
    for e in result.entries:
        cid = e.nomination.community_id
        amount = body.amounts.get(cid)
        if e.tier is not None:
            amount = amount if amount is not None else e.tier.amount_min
            if not _amount_ok(e.tier, amount):
                raise InvalidInput(
                    f"「{e.nomination.community_name}」{e.tier.name}的獎勵金須在"
                    f"{rules.amount_label(e.tier)}之間。",
                    detail=f"{cid}: {amount}",
                )
        else:
            amount = None
        session.add(
            EvaluationResult(
                year=year,
                nomination_id=noms[cid].id,
                community_id=cid,
                rank=e.rank,
                preliminary_score=e.preliminary,
                review_average=e.review_average,
                outcome=e.outcome.value,
                tier_name=e.tier.name if e.tier else None,
                award_amount=amount,
                certificate_no=f"新北治安認證{roc_year(year)}-{e.rank:02d}"
                if e.certified
                else None,
                tie_break=e.tie_break,
                finalised_by=actor.user_id,
            )
        )
    session.flush()
    return results(session, actor, year)


def set_award(session: Session, actor: Actor, year: int, community_id: int, body: AwardIn) -> dict:
    require_role(actor, Role.city_police, Role.admin)
    stored = session.scalar(
        select(EvaluationResult)
        .where(EvaluationResult.year == year, EvaluationResult.community_id == community_id)
        .with_for_update()
    )
    if stored is None or stored.tier_name is None:
        raise NotFound("此社區沒有獲獎層級。", detail=f"{year} {community_id}")
    settings = year_settings(get_year(session, year))
    tier = next(t for t in settings.award_tiers if t.name == stored.tier_name)
    if not _amount_ok(tier, body.amount):
        raise InvalidInput(
            f"{tier.name}的獎勵金須在{rules.amount_label(tier)}之間。", detail=str(body.amount)
        )
    stored.award_amount = body.amount
    session.flush()
    return {"community_id": community_id, "tier": tier.name, "award_amount": stored.award_amount}


def certificates(
    session: Session, actor: Actor, year: int, community_id: int | None = None
) -> list[dict]:
    """The published certificates (認證標章) of the year, for printing."""
    require_signed_in(actor)
    stmt = (
        select(EvaluationResult, Community.name, Precinct.name.label("precinct"))
        .join(Community, Community.id == EvaluationResult.community_id)
        .join(Precinct, Precinct.id == Community.precinct_id)
        .join(Nomination, Nomination.id == EvaluationResult.nomination_id)
        .join(Application, Application.id == Nomination.application_id)
        .where(
            EvaluationResult.year == year,
            EvaluationResult.certificate_no.is_not(None),
            application_filter(actor),
        )
        .order_by(EvaluationResult.rank)
    )
    if community_id is not None:
        stmt = stmt.where(EvaluationResult.community_id == community_id)
    settings = year_settings(get_year(session, year))
    out = []
    for r, name, precinct in session.execute(stmt):
        tier = next((t for t in settings.award_tiers if t.name == r.tier_name), None)
        out.append(
            {
                "community_id": r.community_id,
                "community": name,
                "precinct": precinct,
                "rank": r.rank,
                "title": "優質治安社區"
                if r.outcome == rules.Outcome.quality.value
                else "治安社區認證",
                "outcome_label": rules.Outcome(r.outcome).label,
                "tier": r.tier_name,
                "tier_amount_label": rules.amount_label(tier) if tier else None,
                "award_amount": r.award_amount,
                "certificate_no": r.certificate_no,
                "review_average": float(r.review_average) if r.review_average is not None else None,
                "issued_on": r.finalised_at.date() if r.finalised_at else None,
            }
        )
    if community_id is not None and not out:
        raise NotFound("此社區沒有認證證書。", detail=f"{year} {community_id}")
    return out


# --------------------------------------------------------------------------- the web pages
class CommentRequired(rules.EvaluationInputError):
    code = "comment_required"
    message = "評分表規定此項目須填寫評語。"


class RubricLocked(WorkflowConflict):
    code = "rubric_locked"
    message = "已有評審委員送出評分表，評分項目與配分不能再修改。"


SCORE_PLACES = Decimal("0.01")  # score_items.score is numeric(5, 2)
COMMENT_LIMIT = 2000
SHEET_STATES = {"submitted": "已送出", "draft": "草稿", "missing": "未評分"}


def submitted_sheets(session: Session, year: int) -> int:
    return session.scalar(
        select(func.count())
        .select_from(ScoreSheet)
        .join(Nomination, Nomination.id == ScoreSheet.nomination_id)
        .where(Nomination.year == year, ScoreSheet.submitted_at.is_not(None))
    )


def parse_sheet_form(
    rubric: rules.Rubric, scores: dict[str, str], comments: dict[str, str], *, submit: bool
) -> tuple[dict[str, Decimal], dict[str, str]]:
    """What a scorer typed into the page's sheet: the scores that parse, and a zh-TW message
    per field that does not (``score_<code>``, ``comment_<code>``), so the page can say what is
    wrong beside each item and keep everything else. A draft may leave items empty."""
    out: dict[str, Decimal] = {}
    errors: dict[str, str] = {}
    for c in rubric.criteria:
        raw = (scores.get(c.code) or "").strip()
        key = f"score_{c.code}"
        if not raw:
            if submit:
                errors[key] = f"請為「{c.name}」評分（0 至 {c.weight} 分）。"
        else:
            try:
                value = Decimal(raw)
            except InvalidOperation:
                value = None
            if value is None or not value.is_finite():
                errors[key] = f"「{c.name}」的分數須為數字（0 至 {c.weight} 分）。"
            elif not 0 <= value <= c.weight:
                errors[key] = f"「{c.name}」的分數須介於 0 至 {c.weight} 分，您填的是 {raw} 分。"
            elif value != value.quantize(SCORE_PLACES):
                errors[key] = f"「{c.name}」的分數最多到小數點後 2 位。"
            else:
                out[c.code] = value
        comment = (comments.get(c.code) or "").strip()
        if len(comment) > COMMENT_LIMIT:
            errors[f"comment_{c.code}"] = f"「{c.name}」的評語最多 {COMMENT_LIMIT} 字。"
        elif submit and c.comment_required and not comment:
            errors[f"comment_{c.code}"] = f"評分表規定「{c.name}」須填寫評語。"
    return out, errors


def sheet_for(session: Session, actor: Actor, nomination_id: int) -> dict:
    """The caller's own sheet for a nominee (empty when not started), with the year's rubric."""
    require_role(actor, Role.counselling)
    nomination = session.get(Nomination, nomination_id)
    if nomination is None:
        raise NotFound("找不到此推薦社區。", detail=f"nomination {nomination_id}")
    rubric = rubric_for(get_year(session, nomination.year))
    sheet = session.scalar(
        select(ScoreSheet).where(
            ScoreSheet.nomination_id == nomination.id, ScoreSheet.scorer_id == actor.user_id
        )
    )
    members = panel(session, nomination.year)
    return {
        "nomination": _nomination_json(session, nomination),
        "rubric": rubric,
        "finalised": _finalised(session, nomination.year),
        "on_panel": members is None or actor.user_id in members,
        "submitted": sheet is not None and sheet.submitted_at is not None,
        "scores": {i.criterion: f"{i.score.normalize():f}" for i in sheet.items} if sheet else {},
        "comments": {i.criterion: i.comment or "" for i in sheet.items} if sheet else {},
        "comment": sheet.comment if sheet else "",
    }


def progress(session: Session, actor: Actor, year: int) -> dict:
    """Who has scored what: each nominee against each panel member (送出, 草稿 or not yet)."""
    require_role(actor, Role.city_police, Role.admin, Role.counselling)
    noms = list_nominations(session, actor, year)
    sheets = session.execute(
        select(ScoreSheet.nomination_id, ScoreSheet.scorer_id, ScoreSheet.submitted_at)
        .join(Nomination, Nomination.id == ScoreSheet.nomination_id)
        .where(Nomination.year == year)
    ).all()
    members = panel(session, year)
    scorer_ids = members if members is not None else sorted({s for _, s, _ in sheets})
    names = dict(
        session.execute(select(User.id, User.display_name).where(User.id.in_(scorer_ids))).all()
    )
    state = {(n, s): "submitted" if at is not None else "draft" for n, s, at in sheets}
    rows = []
    for n in noms:
        cells = [
            {
                "scorer_id": s,
                "state": state.get((n["id"], s), "missing"),
                "label": SHEET_STATES[state.get((n["id"], s), "missing")],
            }
            for s in scorer_ids
        ]
        rows.append({**n, "cells": cells, "done": sum(c["state"] == "submitted" for c in cells)})
    return {
        "year": year,
        "scorers": [{"id": s, "name": names.get(s, f"委員 {s}")} for s in scorer_ids],
        "panel_defined": members is not None,
        "rows": rows,
        "complete": bool(rows)
        and bool(scorer_ids)
        and all(r["done"] == len(scorer_ids) for r in rows),
    }


def pending_sheets(session: Session, actor: Actor, year: int) -> int:
    """Sheets still to be submitted: the caller's own (a counsellor) or the whole panel's."""
    if actor.role not in (Role.counselling, Role.city_police, Role.admin):
        return 0
    if _finalised(session, year):
        return 0
    nominees = session.scalar(select(func.count()).where(Nomination.year == year))
    if not nominees:
        return 0
    members = panel(session, year)
    if actor.role is Role.counselling:
        if members is not None and actor.user_id not in members:
            return 0
        mine = session.scalar(
            select(func.count())
            .select_from(ScoreSheet)
            .join(Nomination, Nomination.id == ScoreSheet.nomination_id)
            .where(
                Nomination.year == year,
                ScoreSheet.scorer_id == actor.user_id,
                ScoreSheet.submitted_at.is_not(None),
            )
        )
        return max(nominees - mine, 0)
    if members is None:
        return session.scalar(
            select(func.count()).where(
                Nomination.year == year,
                ~select(ScoreSheet.id)
                .where(
                    ScoreSheet.nomination_id == Nomination.id, ScoreSheet.submitted_at.is_not(None)
                )
                .exists(),
            )
        )
    done = session.scalar(
        select(func.count())
        .select_from(ScoreSheet)
        .join(Nomination, Nomination.id == ScoreSheet.nomination_id)
        .where(
            Nomination.year == year,
            ScoreSheet.submitted_at.is_not(None),
            ScoreSheet.scorer_id.in_(members),
        )
    )
    return max(nominees * len(members) - done, 0)


def award_tiers(session: Session, year: int) -> dict:
    """The year's award tiers by name (amount ranges for the city's confirmation form)."""
    return {t.name: t for t in year_settings(get_year(session, year)).award_tiers}


RESULT_COLUMNS = (
    "名次", "社區", "分局", "初選成績", "複評平均", "結果", "獎項", "獎勵金（元）", "證書字號", "說明",
)  # fmt: skip


def results_table(data: dict) -> list[list]:
    """The ranking (``results()``) as rows under ``RESULT_COLUMNS``, for CSV."""
    return [
        [
            e["rank"] or "",
            e["community"],
            e["precinct"],
            e["preliminary_score"],
            "" if e["review_average"] is None else e["review_average"],
            e["outcome_label"],
            e["tier"] or "",
            "" if e["award_amount"] is None else e["award_amount"],
            e["certificate_no"] or "",
            "；".join([*e["reasons"], *([e["tie_break"]] if e["tie_break"] else [])]),
        ]
        for e in data["entries"]
    ]


# --------------------------------------------------------------------------- rubric editing
class RubricItemIn(BaseModel):
    code: str = Field(min_length=1, max_length=32, pattern=r"^[a-z][a-z0-9_]*$")
    name: str = Field(min_length=1, max_length=64)
    weight: int = Field(gt=0, le=100, description="the item's maximum points; all sum to 100")
    comment_required: bool = False
    plan_ref: str = Field(default="", max_length=128)
    descriptors: dict[str, str] | None = Field(
        default=None, description="band code → text; kept (or the band's label) when omitted"
    )


class RubricIn(BaseModel):
    name: str | None = Field(default=None, max_length=128)
    criteria: list[RubricItemIn] = Field(min_length=1, max_length=30)
    tie_break_criteria: list[str] | None = None


def _rubric_summary(rubric: rules.Rubric) -> list[dict]:
    return [
        {"code": c.code, "name": c.name, "weight": c.weight, "comment_required": c.comment_required}
        for c in rubric.criteria
    ]


def read_rubric(session: Session, actor: Actor, year: int) -> dict:
    require_signed_in(actor)
    rubric = rubric_for(get_year(session, year))
    return {
        "year": year,
        "roc_year": roc_year(year),
        "locked": bool(submitted_sheets(session, year)) or _finalised(session, year),
        "total": rules.RUBRIC_TOTAL,
        **rubric.model_dump(mode="json"),
    }


def update_rubric(session: Session, actor: Actor, year: int, body: RubricIn) -> dict:
    """The city's own rubric for a year (計畫捌、三「評鑑規定由本府另訂之」): items, maximum
    points (the weights, summing to 100) and required comments, until a sheet is submitted:
    a sheet scored on other items or points could no longer be compared with the rest."""
    require_role(actor, Role.city_police, Role.admin)
    program = session.execute(
        select(ProgramYear).where(ProgramYear.year == year).with_for_update()
    ).scalar_one_or_none()
    if program is None:
        get_year(session, year)
    _guard_open(session, year)
    n = submitted_sheets(session, year)
    if n:
        raise RubricLocked(
            f"民國 {roc_year(year)} 年度已有 {n} 份評分表送出，評分項目與配分不能再修改。",
            detail=f"year {year}: {n} submitted sheets",
        )
    current = rubric_for(program)
    codes = [i.code for i in body.criteria]
    repeated = sorted({c for c in codes if codes.count(c) > 1})
    if repeated:
        raise rules.InvalidRubric(
            f"評分項目代碼重複：{'、'.join(repeated)}。", detail=f"duplicate {repeated}"
        )
    total = sum(i.weight for i in body.criteria)
    if total != rules.RUBRIC_TOTAL:
        raise rules.InvalidRubric(
            f"各項配分合計須為 {rules.RUBRIC_TOTAL} 分，目前合計 {total} 分。", detail=str(total)
        )
    previous = {c.code: c for c in current.criteria}
    criteria = []
    for item in body.criteria:
        before = previous.get(item.code)
        descriptors = item.descriptors or (
            before.descriptors if before else {b.code: b.label for b in current.bands}
        )
        criteria.append(
            {
                "code": item.code,
                "name": item.name.strip(),
                "weight": item.weight,
                "plan_ref": item.plan_ref or (before.plan_ref if before else ""),
                "descriptors": descriptors,
                "comment_required": item.comment_required,
            }
        )
    tie_break = (
        body.tie_break_criteria
        if body.tie_break_criteria is not None
        else [c for c in current.tie_break_criteria if c in codes]
    )
    rubric = rules.load_rubric(
        {
            "name": (body.name or "").strip() or current.name,
            "bands": [b.model_dump(mode="json") for b in current.bands],
            "criteria": criteria,
            "tie_break_criteria": tie_break,
        }
    )
    base = dict(program.settings or {}) or year_settings(program).model_dump(mode="json")
    program.settings = {**base, "rubric": rubric.model_dump(mode="json")}
    session.add(
        AuditLog(
            actor_id=actor.user_id,
            action="evaluation.rubric_update",
            entity="program_years",
            entity_id=str(year),
            detail={"before": _rubric_summary(current), "after": _rubric_summary(rubric)},
        )
    )
    session.flush()
    return read_rubric(session, actor, year)
