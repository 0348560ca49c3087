"""What is waiting for each person: the items of their home page, by role and jurisdiction."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from geo.enums import ApplicationStatus, HazardStatus, Role
from geo.models import AnalysisRun, Application, Community, Hazard, ProgramYear

from . import resident_reports, service_states
from .access import Actor, community_filter
from .evaluation_service import pending_sheets
from .states import SUBSIDISED


@dataclass(frozen=True)
class Item:
    """One line of the home page: a count, what it is, and where to go."""

    label: str
    count: int
    href: str
    urgent: bool = False


def _apps(session: Session, actor: Actor, status: ApplicationStatus, year: int) -> int:
    return session.scalar(
        select(func.count())
        .select_from(Application)
        .join(Community, Community.id == Application.community_id)
        .where(Application.status == status, Application.year == year, community_filter(actor))
    )


def _hazards(session: Session, actor: Actor, *statuses: HazardStatus) -> int:
    return session.scalar(
        select(func.count())
        .select_from(Hazard)
        .join(Community, Community.id == Hazard.community_id)
        .where(Hazard.status.in_(statuses), community_filter(actor))
    )


def current_year(session: Session) -> int | None:
    return session.scalar(select(func.max(ProgramYear.year)))


def waiting(session: Session, actor: Actor) -> list[Item]:
    """The actor's waiting items, most urgent first."""
    year = current_year(session)
    items: list[Item] = []
    role = actor.role
    if year is not None and role is Role.community:
        for status, label in (
            (ApplicationStatus.returned, "申請案退回補正"),
            (ApplicationStatus.draft, "尚未送出的申請草稿"),
        ):
            n = _apps(session, actor, status, year)
            if n:
                items.append(
                    Item(label, n, "/app/applications", urgent=status is ApplicationStatus.returned)
                )
    if year is not None and role in (Role.precinct, Role.station, Role.district_office):
        n = _apps(session, actor, ApplicationStatus.submitted, year)
        items.append(Item("待初審的申請案", n, "/app/applications", urgent=n > 0))
    if year is not None and role is Role.city_police:
        n = _apps(session, actor, ApplicationStatus.forwarded, year)
        items.append(Item("待複審核定的申請案", n, "/app/applications", urgent=n > 0))
        program = session.get(ProgramYear, year)
        used = session.scalar(
            select(func.count()).where(Application.year == year, Application.status.in_(SUBSIDISED))
        )
        items.append(
            Item(f"民國 {year - 1911} 年度已核定／名額 {program.quota}", used, "/app/applications")
        )
    if role in (Role.community, Role.station, Role.precinct, Role.district_office):
        open_ = _hazards(session, actor, HazardStatus.open)
        assigned = _hazards(session, actor, HazardStatus.assigned)
        items.append(
            Item(
                "待處理的安全檢測問題點",
                open_,
                "/app/map",
                urgent=open_ > 0 and role is not Role.community,
            )
        )
        items.append(Item("已分派、改善中的問題點", assigned, "/app/map"))
    if role in (Role.community, Role.station, Role.precinct):
        n = resident_reports.count_new(session, actor)
        items.append(Item("新的民眾回報", n, "/app/triage", urgent=n > 0))
    if year is not None and role in (Role.counselling, Role.city_police):
        n = pending_sheets(session, actor, year)
        items.append(Item("待評分的評鑑表", n, "/app/evaluation", urgent=n > 0))
    for label, n, href, urgent in service_states.waiting(session, actor):
        items.append(Item(label, n, href, urgent=urgent))
    if role in (Role.precinct, Role.station, Role.city_police, Role.admin, Role.leader):
        runs = session.scalar(
            select(func.count()).select_from(AnalysisRun).where(AnalysisRun.kind == "blind_spots")
        )
        items.append(Item("治安死角分析（歷次）", runs, "/app/analysis"))
    return sorted(items, key=lambda i: (not i.urgent, -i.count))
