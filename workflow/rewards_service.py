"""Staff rewards (plan 玖) from the database: which units counselled which subsidised
communities in a year, and with what facts, fed to ``workflow.rewards.compute_rewards()``.

- A station counsels the communities of its beat (``communities.station_id``), a precinct
  those of its jurisdiction, the bureau all of them; the fire bureau (防災社區輔導機關) those
  whose application marks them 防災社區.
- 「完成核銷程序」: the application is closed (結案), which happens when the city closes its last
  expense claim (``workflow.claims``).
- 「審核(初審)」 / 「審核(複審)」: the precinct forwarded the application / the city approved it,
  as the audit rows show.
- 「未曾申請本項補助之里社區」: a community with a village that no application of an earlier
  year covered (by its form's villages or its community's villages).
"""

from __future__ import annotations

from pydantic import BaseModel, Field
from sqlalchemy import exists, select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.orm import Session

from geo.enums import ApplicationStatus as S
from geo.enums import Role
from geo.errors import InvalidInput
from geo.models import (
    Application,
    ApplicationEvent,
    AuditLog,
    Community,
    PoliceStation,
    Precinct,
    User,
    community_villages,
)
from geo.models_workflow import ApplicationForm, EvaluationResult, RewardHeadcount

from .access import Actor, require_role
from .applications import get_year, year_settings
from .rewards import CounselledCommunity, Unit, UnitKind, compute_rewards, evaluation_staff_rewards
from .roc import roc_year
from .settings import Post
from .states import SUBSIDISED

BUREAU = "警察局"
FIRE = "消防局"


class HeadcountIn(BaseModel):
    unit_kind: UnitKind
    unit_id: int
    post: Post
    persons: int = Field(ge=0, le=1000)


def _communities(session: Session, year: int) -> list[tuple]:
    earlier = (
        select(community_villages.c.village_id)
        .join(Application, Application.community_id == community_villages.c.community_id)
        .where(Application.year < year, Application.status != S.draft)
    )
    new_village = exists(
        select(1).where(
            community_villages.c.community_id == Community.id,
            community_villages.c.village_id.not_in(earlier),
        )
    )

    def reviewed(status: S):
        return exists(
            select(1).where(
                ApplicationEvent.application_id == Application.id,
                ApplicationEvent.to_status == status.value,
            )
        )

    return session.execute(
        select(
            Community.id,
            Community.name,
            Community.station_id,
            Community.precinct_id,
            Application.status,
            reviewed(S.forwarded).label("first_review"),
            reviewed(S.approved).label("city_review"),
            new_village.label("new_village"),
            ApplicationForm.disaster_community,
        )
        .join(Community, Community.id == Application.community_id)
        .outerjoin(ApplicationForm, ApplicationForm.application_id == Application.id)
        .where(Application.year == year, Application.status.in_(SUBSIDISED))
        .order_by(Community.id)
    ).all()


def units_for(session: Session, year: int) -> list[Unit]:
    rows = _communities(session, year)
    headcounts: dict[tuple[str, int], dict[Post, int]] = {}
    for h in session.scalars(select(RewardHeadcount).where(RewardHeadcount.year == year)):
        headcounts.setdefault((h.unit_kind, h.unit_id), {})[Post(h.post)] = h.persons

    def cc(r, reviewed: bool) -> CounselledCommunity:
        return CounselledCommunity(
            community_id=r.id,
            name=r.name,
            subsidised=True,
            closure_completed=r.status is S.completed,
            reviewed=reviewed,
            never_applied_village=bool(r.new_village),
            disaster=bool(r.disaster_community),
        )

    units: list[Unit] = []
    stations = dict(session.execute(select(PoliceStation.id, PoliceStation.name)).all())
    precincts = dict(session.execute(select(Precinct.id, Precinct.name)).all())
    for sid in sorted({r.station_id for r in rows if r.station_id is not None}):
        mine = tuple(cc(r, True) for r in rows if r.station_id == sid)
        units.append(
            Unit(sid, stations[sid], UnitKind.station, mine, headcounts.get(("station", sid), {}))
        )
    for pid in sorted({r.precinct_id for r in rows}, key=lambda p: precincts[p]):
        mine = tuple(cc(r, bool(r.first_review)) for r in rows if r.precinct_id == pid)
        units.append(
            Unit(
                pid, precincts[pid], UnitKind.precinct, mine, headcounts.get(("precinct", pid), {})
            )
        )
    disaster = tuple(cc(r, bool(r.city_review)) for r in rows if r.disaster_community)
    if disaster:
        units.append(Unit(0, FIRE, UnitKind.disaster_agency, disaster, {}))
    units.append(
        Unit(0, BUREAU, UnitKind.bureau, tuple(cc(r, bool(r.city_review)) for r in rows), {})
    )
    return units


def compute(session: Session, actor: Actor, year: int) -> dict:
    """The year's commendations per unit and clause, and the 玖、二 evaluation staff list."""
    require_role(actor, Role.city_police, Role.admin, Role.leader, Role.precinct)
    settings = year_settings(get_year(session, year))
    rewards = compute_rewards(units_for(session, year), settings.rewards)
    if actor.role is Role.precinct:
        own_stations = set(
            session.scalars(
                select(PoliceStation.id).where(PoliceStation.precinct_id == actor.precinct_id)
            )
        )
        rewards = [
            r
            for r in rewards
            if (r.unit.kind is UnitKind.precinct and r.unit.unit_id == actor.precinct_id)
            or (r.unit.kind is UnitKind.station and r.unit.unit_id in own_stations)
        ]
    ranked = session.execute(
        select(EvaluationResult.community_id, EvaluationResult.rank, Community.name)
        .join(Community, Community.id == EvaluationResult.community_id)
        .where(EvaluationResult.year == year, EvaluationResult.rank.is_not(None))
    ).all()
    names = {c: n for c, _, n in ranked}
    staff = evaluation_staff_rewards([(c, r) for c, r, _ in ranked], settings.rewards)
    return {
        "year": year,
        "roc_year": roc_year(year),
        "units": [
            {
                "unit_id": r.unit.unit_id,
                "unit": r.unit.name,
                "kind": r.unit.kind.value,
                "kind_label": r.unit.kind.label,
                "communities": len(r.unit.communities),
                "clauses": [
                    {
                        "clause": c.clause.value,
                        "clause_label": c.clause.label,
                        "qualifying": [q.community_id for q in c.qualifying],
                        "qualifying_names": [q.label for q in c.qualifying],
                        "award_units": c.award_units,
                        "explanation": c.explanation,
                        "posts": [
                            {
                                "post": p.post.value,
                                "post_label": p.post.label,
                                "persons": p.persons,
                                "merits": p.award.merits,
                                "commendations": p.award.commendations,
                                "award_label": p.award.label,
                                "explanation": p.explanation,
                            }
                            for p in c.posts
                        ],
                    }
                    for c in r.clauses
                ],
            }
            for r in rewards
        ],
        "evaluation_staff": [
            {
                "community_id": s.community_id,
                "community": names.get(s.community_id, ""),
                "rank": s.rank,
                "explanation": s.explanation,
            }
            for s in staff
        ],
    }


def set_headcount(session: Session, actor: Actor, year: int, body: HeadcountIn) -> dict:
    """How many people hold a post of a unit (警勤區員警, 副所長) for 「擇優半數」 and 「正(副)所長」."""
    require_role(actor, Role.city_police, Role.admin)
    get_year(session, year)
    known = {
        UnitKind.station: PoliceStation,
        UnitKind.precinct: Precinct,
    }.get(body.unit_kind)
    if known is not None and session.get(known, body.unit_id) is None:
        raise InvalidInput("找不到此單位。", detail=f"{body.unit_kind} {body.unit_id}")
    session.execute(
        insert(RewardHeadcount)
        .values(
            year=year,
            unit_kind=body.unit_kind.value,
            unit_id=body.unit_id,
            post=body.post.value,
            persons=body.persons,
        )
        .on_conflict_do_update(
            index_elements=["year", "unit_kind", "unit_id", "post"],
            set_={"persons": body.persons},
        )
    )
    return body.model_dump(mode="json")


# --------------------------------------------------------------------------- the web pages
REWARD_COLUMNS = ("單位", "單位類別", "條款", "職務", "人數", "獎度", "依據")


def table(data: dict) -> list[list]:
    """The staff rewards (``compute()``) as one row per unit, clause and post (who, unit,
    reward level, basis) under ``REWARD_COLUMNS``; clauses that earn nothing are left out, and
    the 玖、二 communities follow with their basis."""
    rows: list[list] = []
    for unit in data["units"]:
        for clause in unit["clauses"]:
            if not clause["award_units"]:
                continue
            for post in clause["posts"]:
                rows.append(
                    [
                        unit["unit"],
                        unit["kind_label"],
                        clause["clause_label"],
                        post["post_label"],
                        "未提供" if post["persons"] is None else post["persons"],
                        post["award_label"],
                        f"{clause['explanation']} {post['explanation']}",
                    ]
                )
    for s in data["evaluation_staff"]:
        rows.append(
            [
                s["community"],
                "評鑑績優社區相關單位",
                "玖、二 評鑑前列優質治安社區",
                "工作出力有功人員",
                "依附件9",
                "依附件9獎勵基準表",
                s["explanation"],
            ]
        )
    return rows


def confirm(session: Session, actor: Actor, year: int) -> dict:
    """The city confirms the year's rewards table as computed: the table itself is kept in the
    audit log (no table of its own), so what was confirmed, by whom and when stays on record."""
    require_role(actor, Role.city_police, Role.admin)
    data = compute(session, actor, year)
    rows = table(data)
    session.add(
        AuditLog(
            actor_id=actor.user_id,
            action="rewards.confirm",
            entity="program_years",
            entity_id=str(year),
            detail={"columns": list(REWARD_COLUMNS), "rows": rows},
        )
    )
    session.flush()
    return confirmation(session, year) or {}


def confirmation(session: Session, year: int) -> dict | None:
    """The latest confirmation of the year's rewards, and whether the table changed since."""
    row = session.execute(
        select(AuditLog, User.display_name)
        .outerjoin(User, User.id == AuditLog.actor_id)
        .where(
            AuditLog.action == "rewards.confirm",
            AuditLog.entity == "program_years",
            AuditLog.entity_id == str(year),
        )
        .order_by(AuditLog.id.desc())
        .limit(1)
    ).first()
    if row is None:
        return None
    log, name = row
    return {"at": log.at, "by": name or "", "rows": log.detail.get("rows", [])}
