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

from decimal import Decimal

from pydantic import BaseModel, Field
from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from geo.enums import Role
from geo.errors import InvalidInput, NotFound
from geo.models import Application, Community, Precinct, ProgramYear, User
from geo.models_workflow import EvaluationResult, Nomination, RosterMember, ScoreItem, ScoreSheet

from . import evaluation as rules
from . import idempotency, notifications
from .access import Actor, application_filter, get_application, require_role, require_signed_in
from .applications import get_year, year_settings
from .errors import EvaluationFinalised, NotSubsidised
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
