"""Monthly monitoring (管考, plan 柒「本府對於參與治安營造之社區組織，每月辦理情形及執行進度
實施管考」): a report per community and month, per work item; overdue reports flagged to the
precinct; progress rolled up per community, precinct and city.

A subsidised application reports every month of its approved period (核定輔導期程, else the
period it proposed, else the calendar year). The report on a month is due by
``settings.monthly_report_day`` (10) of the next month; after that day a missing report is
overdue.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict

from pydantic import BaseModel, Field
from sqlalchemy import Date, Integer, and_, cast, func, literal_column, select
from sqlalchemy.orm import Session

from geo.enums import ApplicationStatus as S
from geo.enums import Role
from geo.enums_workflow import ClaimStatus, Progress, WorkItem
from geo.errors import InvalidInput
from geo.models import Application, Community, District, Precinct, ProgramYear
from geo.models_workflow import (
    ApplicationForm,
    ApplicationWorkItem,
    ClaimItem,
    ExpenseClaim,
    MonthlyReport,
    MonthlyReportItem,
    WorkflowFile,
    monthly_report_files,
)

from . import files, idempotency, notifications
from .access import (
    Actor,
    application_filter,
    get_application,
    require_applicant,
    require_role,
    require_signed_in,
)
from .errors import NotSubsidised
from .roc import add_months, roc_month, roc_year
from .states import SUBSIDISED, transition

REPORTING = (S.approved, S.in_progress)  # the states in which a community files reports


class ReportItemIn(BaseModel):
    item: WorkItem
    progress: Progress
    percent: int | None = Field(default=None, ge=0, le=100)
    done_text: str = Field(default="", max_length=4000)


class ReportIn(BaseModel):
    month: dt.date = Field(description="any day of the month reported on")
    summary: str = Field(default="", max_length=8000)
    items: list[ReportItemIn] = Field(min_length=1, max_length=len(WorkItem))
    evidence: list[int] = Field(default_factory=list, max_length=50, description="file ids")


def period(session: Session, application: Application) -> tuple[dt.date, dt.date]:
    """First days of the first and last month the application reports on."""
    form = session.get(ApplicationForm, application.id)
    start = (form and (form.approved_start or form.period_start)) or dt.date(application.year, 1, 1)
    end = (form and (form.approved_end or form.period_end)) or dt.date(application.year, 12, 31)
    return start.replace(day=1), end.replace(day=1)


def due_date(month: dt.date, report_day: int) -> dt.date:
    return add_months(month, 1).replace(day=report_day)


def _report_day(session: Session, year: int) -> int:
    program = session.get(ProgramYear, year)
    return int((program.settings or {}).get("monthly_report_day", 10)) if program else 10


def _report_json(r: MonthlyReport, evidence: list[dict], report_day: int) -> dict:
    due = due_date(r.month, report_day)
    return {
        "id": r.id,
        "application_id": r.application_id,
        "month": r.month,
        "month_label": roc_month(r.month),
        "summary": r.summary,
        "submitted_at": r.submitted_at.isoformat() if r.submitted_at else None,
        "due": due,
        "late": bool(r.submitted_at and r.submitted_at.date() > due),
        "version": r.version,
        "items": [
            {
                "item": i.item.value,
                "label": i.item.label,
                "progress": i.progress.value,
                "progress_label": i.progress.label,
                "percent": i.percent,
                "done_text": i.done_text,
            }
            for i in r.items
        ],
        "evidence": evidence,
    }


def _evidence(session: Session, report_id: int) -> list[dict]:
    rows = session.scalars(
        select(WorkflowFile)
        .join(monthly_report_files, monthly_report_files.c.file_id == WorkflowFile.id)
        .where(monthly_report_files.c.report_id == report_id)
        .order_by(WorkflowFile.id)
    ).all()
    return [files.file_json(f) for f in rows]


def submit_report(
    session: Session,
    actor: Actor,
    application_id: int,
    body: ReportIn,
    *,
    idempotency_key: str | None = None,
    today: dt.date | None = None,
) -> dict:
    """File (or correct) the report on a month. The first report starts execution (開始執行)."""

    def act() -> dict:
        application = get_application(session, actor, application_id)
        require_applicant(actor, application.community)
        if application.status not in REPORTING:
            raise NotSubsidised(
                f"申請案狀態為「{application.status.label}」，不需填報月報。",
                detail=str(application.status),
            )
        month = body.month.replace(day=1)
        first, last = period(session, application)
        now = today or dt.date.today()
        if not first <= month <= last:
            raise InvalidInput(
                f"{roc_month(month)}不在核定輔導期程（{roc_month(first)}至{roc_month(last)}）內。",
                detail=f"{month} outside {first}..{last}",
            )
        if month > now.replace(day=1):
            raise InvalidInput(f"{roc_month(month)}尚未開始，不能填報。", detail=f"{month} > {now}")
        planned = set(
            session.scalars(
                select(ApplicationWorkItem.item).where(
                    ApplicationWorkItem.application_id == application.id
                )
            )
        )
        unplanned = [i.item.label for i in body.items if planned and i.item not in planned]
        if unplanned:
            raise InvalidInput(
                f"「{'、'.join(unplanned)}」不是本案預定辦理的工作項目。", detail=str(unplanned)
            )
        if len({i.item for i in body.items}) != len(body.items):
            raise InvalidInput("同一工作項目只能填報一次。", detail="duplicate items")
        evidence = files.checked_files(session, application.id, body.evidence)
        report = session.scalar(
            select(MonthlyReport)
            .where(MonthlyReport.application_id == application.id, MonthlyReport.month == month)
            .with_for_update()
        )
        if report is None:
            report = MonthlyReport(application_id=application.id, month=month)
            session.add(report)
        else:
            report.version += 1
            report.updated_at = func.now()
        report.summary = body.summary
        report.submitted_by = actor.user_id
        report.items = [
            MonthlyReportItem(
                item=i.item, progress=i.progress, percent=i.percent, done_text=i.done_text
            )
            for i in body.items
        ]
        session.flush()
        session.execute(
            monthly_report_files.delete().where(monthly_report_files.c.report_id == report.id)
        )
        if evidence:
            session.execute(
                monthly_report_files.insert(),
                [{"report_id": report.id, "file_id": f.id} for f in evidence],
            )
        if application.status is S.approved:
            transition(
                session, application, S.in_progress, actor, comment="首次填報月報，開始執行。"
            )
        notifications.notify(
            session,
            ("precinct",),
            application.community,
            kind="monthly_report",
            title=f"「{application.community.name}」已填報{roc_month(month)}月報。",
            link=f"/api/applications/{application.id}/reports",
            application_id=application.id,
            dedupe_key=f"report:{application.id}:{month}:{report.version}",
        )
        session.refresh(report)
        return _report_json(
            report, _evidence(session, report.id), _report_day(session, application.year)
        )

    return idempotency.run(
        session,
        actor,
        idempotency_key,
        f"application:{application_id}:report",
        body.model_dump(mode="json"),
        act,
    )


def list_reports(session: Session, actor: Actor, application_id: int) -> dict:
    application = get_application(session, actor, application_id)
    day = _report_day(session, application.year)
    reports = session.scalars(
        select(MonthlyReport)
        .where(MonthlyReport.application_id == application.id)
        .order_by(MonthlyReport.month)
    ).all()
    first, last = period(session, application)
    return {
        "application_id": application.id,
        "period": {"start": first, "end": last, "label": f"{roc_month(first)}至{roc_month(last)}"},
        "items": [_report_json(r, _evidence(session, r.id), day) for r in reports],
    }


# --------------------------------------------------------------------------- overdue
def _schedule(actor: Actor, year: int, as_of: dt.date):
    """One row per (subsidised application, month due by ``as_of``) with its report if any."""
    start = func.coalesce(
        ApplicationForm.approved_start,
        ApplicationForm.period_start,
        func.make_date(Application.year, 1, 1),
    )
    end = func.coalesce(
        ApplicationForm.approved_end,
        ApplicationForm.period_end,
        func.make_date(Application.year, 12, 1),
    )
    months = (
        func.generate_series(
            func.date_trunc("month", start),
            func.date_trunc("month", end),
            literal_column("interval '1 month'"),
        )
        .table_valued("m")
        .render_derived(name="months")
        .lateral()
    )
    month = cast(months.c.m, Date)
    report_day = func.coalesce(ProgramYear.settings["monthly_report_day"].astext.cast(Integer), 10)
    due = cast(
        months.c.m
        + literal_column("interval '1 month'")
        + (report_day - 1) * literal_column("interval '1 day'"),
        Date,
    )
    return (
        select(
            Application.id.label("application_id"),
            Community.id.label("community_id"),
            Community.name.label("community"),
            Community.precinct_id,
            Precinct.name.label("precinct"),
            District.name.label("district"),
            month.label("month"),
            due.label("due"),
            MonthlyReport.id.label("report_id"),
            MonthlyReport.submitted_at,
        )
        .select_from(Application)
        .join(ProgramYear, ProgramYear.year == Application.year)
        .join(Community, Community.id == Application.community_id)
        .join(Precinct, Precinct.id == Community.precinct_id)
        .join(District, District.id == Community.district_id)
        .outerjoin(ApplicationForm, ApplicationForm.application_id == Application.id)
        .join(months, literal_column("true"))
        .outerjoin(
            MonthlyReport,
            and_(MonthlyReport.application_id == Application.id, MonthlyReport.month == month),
        )
        .where(
            Application.year == year,
            Application.status.in_(SUBSIDISED),
            application_filter(actor),
            due < as_of,
        )
    )


def overdue(session: Session, actor: Actor, year: int, *, as_of: dt.date | None = None) -> dict:
    """Reports missing after their due day, for the caller's jurisdiction (one query)."""
    require_signed_in(actor)
    as_of = as_of or dt.date.today()
    sched = _schedule(actor, year, as_of).subquery()
    rows = session.execute(
        select(sched)
        .where(sched.c.report_id.is_(None))
        .order_by(sched.c.precinct, sched.c.community, sched.c.month)
    ).all()
    return {
        "year": year,
        "as_of": as_of,
        "count": len(rows),
        "items": [
            {
                "application_id": r.application_id,
                "community_id": r.community_id,
                "community": r.community,
                "precinct": r.precinct,
                "district": r.district,
                "month": r.month,
                "month_label": roc_month(r.month),
                "due": r.due,
                "days_overdue": (as_of - r.due).days,
            }
            for r in rows
        ],
    }


def remind_overdue(
    session: Session, actor: Actor, year: int, *, as_of: dt.date | None = None
) -> dict:
    """Tell each precinct (and the community) about its overdue reports, once per month."""
    require_role(actor, Role.city_police, Role.precinct, Role.admin)
    found = overdue(session, actor, year, as_of=as_of)
    sent = 0
    for item in found["items"]:
        community = session.get(Community, item["community_id"])
        sent += notifications.notify(
            session,
            ("precinct", "community"),
            community,
            kind="report_overdue",
            title=f"「{community.name}」{item['month_label']}月報逾期未填報（應於 {item['due']} 前填報）。",
            link=f"/api/applications/{item['application_id']}/reports",
            application_id=item["application_id"],
            dedupe_key=f"overdue:{item['application_id']}:{item['month']}",
        )
    return {"overdue": found["count"], "notifications": sent}


# --------------------------------------------------------------------------- roll-ups
def progress(session: Session, actor: Actor, year: int, *, as_of: dt.date | None = None) -> dict:
    """Progress per community, per precinct and for the city: work items by their latest
    reported state, reports filed and overdue, money budgeted, claimed and closed."""
    require_signed_in(actor)
    as_of = as_of or dt.date.today()
    sched = _schedule(actor, year, as_of).subquery()
    due_counts = {
        r.application_id: (r.expected, r.filed)
        for r in session.execute(
            select(
                sched.c.application_id,
                func.count().label("expected"),
                func.count(sched.c.report_id).label("filed"),
            ).group_by(sched.c.application_id)
        )
    }
    apps = session.execute(
        select(
            Application.id,
            Application.status,
            Application.budget_total,
            Community.id.label("community_id"),
            Community.name.label("community"),
            Precinct.id.label("precinct_id"),
            Precinct.name.label("precinct"),
            District.name.label("district"),
        )
        .join(Community, Community.id == Application.community_id)
        .join(Precinct, Precinct.id == Community.precinct_id)
        .join(District, District.id == Community.district_id)
        .where(
            Application.year == year, Application.status.in_(SUBSIDISED), application_filter(actor)
        )
        .order_by(Precinct.name, Community.name)
    ).all()
    ids = [a.id for a in apps]
    planned: dict[int, set] = defaultdict(set)
    for app_id, item in session.execute(
        select(ApplicationWorkItem.application_id, ApplicationWorkItem.item).where(
            ApplicationWorkItem.application_id.in_(ids)
        )
    ):
        planned[app_id].add(item)
    # The latest reported state of each item: its row in the newest month reporting it.
    ranked = (
        select(
            MonthlyReport.application_id,
            MonthlyReportItem.item,
            MonthlyReportItem.progress,
            func.row_number()
            .over(
                partition_by=(MonthlyReport.application_id, MonthlyReportItem.item),
                order_by=MonthlyReport.month.desc(),
            )
            .label("rn"),
        )
        .join(MonthlyReportItem, MonthlyReportItem.report_id == MonthlyReport.id)
        .where(MonthlyReport.application_id.in_(ids))
        .subquery()
    )
    latest: dict[int, dict] = defaultdict(dict)
    for app_id, item, state in session.execute(
        select(ranked.c.application_id, ranked.c.item, ranked.c.progress).where(ranked.c.rn == 1)
    ):
        latest[app_id][item] = state
    money = {
        r.application_id: (int(r.claimed or 0), int(r.closed or 0))
        for r in session.execute(
            select(
                ExpenseClaim.application_id,
                func.sum(ClaimItem.amount)
                .filter(ExpenseClaim.status != ClaimStatus.draft)
                .label("claimed"),
                func.sum(ClaimItem.amount)
                .filter(ExpenseClaim.status == ClaimStatus.closed)
                .label("closed"),
            )
            .join(ClaimItem, ClaimItem.claim_id == ExpenseClaim.id)
            .where(ExpenseClaim.application_id.in_(ids))
            .group_by(ExpenseClaim.application_id)
        )
    }
    communities = []
    for a in apps:
        items = planned[a.id] | set(latest[a.id])
        states = {i: latest[a.id].get(i, Progress.not_started) for i in items}
        counts = {p.value: sum(1 for s in states.values() if s is p) for p in Progress}
        expected, filed = due_counts.get(a.id, (0, 0))
        claimed, closed = money.get(a.id, (0, 0))
        communities.append(
            {
                "application_id": a.id,
                "community_id": a.community_id,
                "community": a.community,
                "district": a.district,
                "precinct_id": a.precinct_id,
                "precinct": a.precinct,
                "status": a.status.value,
                "status_label": a.status.label,
                "work_items": len(items),
                **counts,
                "completion": round(counts["done"] / len(items), 4) if items else 0.0,
                "reports_due": expected,
                "reports_filed": filed,
                "reports_overdue": expected - filed,
                "budget": a.budget_total,
                "claimed": claimed,
                "closed": closed,
            }
        )

    def roll(rows: list[dict]) -> dict:
        keys = ("work_items", "done", "in_progress", "not_started", "reports_due",
                "reports_filed", "reports_overdue", "budget", "claimed", "closed")  # fmt: skip
        out = {k: sum(r[k] for r in rows) for k in keys}
        out["communities"] = len(rows)
        out["completion"] = round(out["done"] / out["work_items"], 4) if out["work_items"] else 0.0
        return out

    by_precinct: dict[tuple[int, str], list[dict]] = defaultdict(list)
    for c in communities:
        by_precinct[(c["precinct_id"], c["precinct"])].append(c)
    return {
        "year": year,
        "roc_year": roc_year(year),
        "as_of": as_of,
        "communities": communities,
        "precincts": [
            {"precinct_id": pid, "precinct": name, **roll(rows)}
            for (pid, name), rows in sorted(by_precinct.items(), key=lambda kv: kv[0][1])
        ],
        "city": roll(communities),
    }
