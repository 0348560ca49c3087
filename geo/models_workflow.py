"""ORM models of the program's yearly workflow (migration 0003, branch "workflow").

The application itself, its status and its audit rows are ``geo.models.Application`` and
``ApplicationEvent``; this module holds what hangs off them: the application form (附件1),
idempotency keys, in-app notifications, monthly reports (管考), expense claims (經費核銷) and
claw-backs (追繳), evaluation nominations, score sheets and results (評鑑), the rosters of
附件3–8 and the headcounts behind staff rewards (玖). Files (evidence, receipts, attachments)
are stored in the database so they are saved or dropped with their records.

Geometries are EPSG:3826 (metres) with a GiST index, as everywhere else. Money is whole NT$.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    Column,
    Date,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    Numeric,
    String,
    Table,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column, relationship

from .enums_workflow import ClaimStatus, ClawbackStatus, MapItemKind, Progress, WorkItem
from .models import Base, _enum, _geom, _now, _version

ROSTER_KINDS = ("joint_team", "counselling_team", "consultant")


def _work_item(nullable: bool = False) -> Mapped[Any]:
    return mapped_column(_enum(WorkItem, "work_item"), nullable=nullable)


# --------------------------------------------------------------------------- files
class WorkflowFile(Base):
    """A file attached to an application's workflow: monthly-report evidence, a receipt, a
    review attachment. Readable by whoever may read the application."""

    __tablename__ = "workflow_files"

    id: Mapped[int] = mapped_column(primary_key=True)
    application_id: Mapped[int] = mapped_column(
        ForeignKey("applications.id", ondelete="CASCADE"), index=True
    )
    purpose: Mapped[str] = mapped_column(String(16), comment="evidence, receipt or attachment")
    filename: Mapped[str] = mapped_column(String(255))
    content_type: Mapped[str] = mapped_column(String(64))
    size_bytes: Mapped[int] = mapped_column(Integer)
    sha256: Mapped[str] = mapped_column(String(64))
    data: Mapped[bytes] = mapped_column(LargeBinary)
    uploaded_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    uploaded_at: Mapped[dt.datetime] = _now()

    __table_args__ = (
        CheckConstraint("purpose IN ('evidence', 'receipt', 'attachment')", name="purpose_known"),
    )


# --------------------------------------------------------------------------- the form (附件1)
application_villages = Table(
    "application_villages",
    Base.metadata,
    Column("application_id", ForeignKey("applications.id", ondelete="CASCADE"), primary_key=True),
    Column("village_id", ForeignKey("villages.id"), primary_key=True, index=True),
)


class ApplicationForm(Base):
    """The application form (附件1) beyond status and totals: applicant, contact, plan text,
    the proposed and the approved (核定輔導期程) periods, and the boundary.

    ``boundary``: a drawn MultiPolygon, EPSG:3826, when the community is not (only) whole
    villages; the chosen villages are ``application_villages``.
    """

    __tablename__ = "application_forms"

    application_id: Mapped[int] = mapped_column(
        ForeignKey("applications.id", ondelete="CASCADE"), primary_key=True
    )
    organisation_name: Mapped[str] = mapped_column(String(128))
    registration_no: Mapped[str | None] = mapped_column(String(32))
    representative: Mapped[str | None] = mapped_column(String(64), comment="理事長／負責人")
    contact_name: Mapped[str] = mapped_column(String(64), default="")
    contact_title: Mapped[str | None] = mapped_column(String(64))
    phone: Mapped[str] = mapped_column(String(32), default="")
    mobile: Mapped[str | None] = mapped_column(String(32))
    email: Mapped[str | None] = mapped_column(String(128))
    address: Mapped[str | None] = mapped_column(String(256))
    summary: Mapped[str] = mapped_column(Text, default="", comment="現況與問題分析")
    goals: Mapped[str] = mapped_column(Text, default="", comment="計畫目標")
    expected_results: Mapped[str] = mapped_column(Text, default="", comment="預期效益")
    period_start: Mapped[dt.date] = mapped_column(Date, comment="proposed, first day of a month")
    period_end: Mapped[dt.date] = mapped_column(Date, comment="proposed, last day of a month")
    approved_start: Mapped[dt.date | None] = mapped_column(Date, comment="核定輔導期程")
    approved_end: Mapped[dt.date | None] = mapped_column(Date)
    self_funding: Mapped[int] = mapped_column(Integer, default=0, comment="自籌款 NT$")
    disaster_community: Mapped[bool] = mapped_column(
        Boolean, default=False, server_default=text("false"), comment="防災社區 (玖、一、(二)1)"
    )
    boundary = _geom("MULTIPOLYGON", nullable=True)
    boundary_note: Mapped[str | None] = mapped_column(Text)
    updated_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    updated_at: Mapped[dt.datetime] = _now()

    __table_args__ = (
        CheckConstraint("period_end >= period_start", name="period_ordered"),
        CheckConstraint(
            "approved_start IS NULL OR approved_end >= approved_start", name="approved_ordered"
        ),
        CheckConstraint("self_funding >= 0", name="self_funding_non_negative"),
    )


class ApplicationWorkItem(Base):
    """A work item the community plans (one of the ten tasks), with its months and target."""

    __tablename__ = "application_work_items"

    id: Mapped[int] = mapped_column(primary_key=True)
    application_id: Mapped[int] = mapped_column(
        ForeignKey("applications.id", ondelete="CASCADE"), index=True
    )
    item: Mapped[WorkItem] = _work_item()
    description: Mapped[str] = mapped_column(Text, default="")
    start_month: Mapped[dt.date | None] = mapped_column(Date)
    end_month: Mapped[dt.date | None] = mapped_column(Date)
    target: Mapped[str | None] = mapped_column(String(255), comment="預期成果，e.g. 召開 4 場")

    __table_args__ = (UniqueConstraint("application_id", "item"),)


class BudgetLine(Base):
    """A budget line of the application (經費概算): quantity × unit price = amount (NT$)."""

    __tablename__ = "application_budget_lines"

    id: Mapped[int] = mapped_column(primary_key=True)
    application_id: Mapped[int] = mapped_column(
        ForeignKey("applications.id", ondelete="CASCADE"), index=True
    )
    line_no: Mapped[int] = mapped_column(Integer)
    item: Mapped[WorkItem | None] = _work_item(nullable=True)
    name: Mapped[str] = mapped_column(String(128))
    unit: Mapped[str] = mapped_column(String(16), default="式")
    quantity: Mapped[Decimal] = mapped_column(Numeric(10, 2))
    unit_price: Mapped[int] = mapped_column(Integer)
    amount: Mapped[int] = mapped_column(Integer)
    note: Mapped[str | None] = mapped_column(String(255))

    __table_args__ = (
        UniqueConstraint("application_id", "line_no"),
        CheckConstraint("quantity > 0", name="quantity_positive"),
        CheckConstraint("unit_price >= 0", name="unit_price_non_negative"),
        CheckConstraint("amount >= 0", name="amount_non_negative"),
    )


# --------------------------------------------------------------------------- plumbing
class IdempotencyKey(Base):
    """The first result of a request sent with an ``Idempotency-Key``: a retry with the same
    key (same caller) gets this result back instead of acting twice."""

    __tablename__ = "idempotency_keys"

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    owner: Mapped[str] = mapped_column(String(96), comment="user:<id>, or role and jurisdiction")
    key: Mapped[str] = mapped_column(String(128))
    scope: Mapped[str] = mapped_column(String(128), comment="what the key was used for")
    fingerprint: Mapped[str] = mapped_column(String(64), comment="sha256 of the request")
    status_code: Mapped[int] = mapped_column(Integer, default=200)
    response: Mapped[dict | None] = mapped_column(JSONB)
    created_at: Mapped[dt.datetime] = _now()

    __table_args__ = (UniqueConstraint("owner", "key"),)


class Notification(Base):
    """An in-app notice to one user: the next actor of a transition, an overdue report…"""

    __tablename__ = "notifications"

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(32))
    title: Mapped[str] = mapped_column(String(255))
    body: Mapped[str] = mapped_column(Text, default="")
    link: Mapped[str | None] = mapped_column(String(255))
    application_id: Mapped[int | None] = mapped_column(
        ForeignKey("applications.id", ondelete="CASCADE"), index=True
    )
    dedupe_key: Mapped[str | None] = mapped_column(String(128))
    created_at: Mapped[dt.datetime] = _now()
    read_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))

    __table_args__ = (
        UniqueConstraint("user_id", "dedupe_key"),
        Index("ix_notifications_user_id_read_at", "user_id", "read_at"),
    )


# --------------------------------------------------------------------------- monitoring (管考)
monthly_report_files = Table(
    "monthly_report_files",
    Base.metadata,
    Column("report_id", ForeignKey("monthly_reports.id", ondelete="CASCADE"), primary_key=True),
    Column("file_id", ForeignKey("workflow_files.id", ondelete="CASCADE"), primary_key=True),
)


class MonthlyReport(Base):
    """A community's monthly report (plan 柒「每月辦理情形及執行進度實施管考」) for ``month``
    (its first day)."""

    __tablename__ = "monthly_reports"

    id: Mapped[int] = mapped_column(primary_key=True)
    application_id: Mapped[int] = mapped_column(ForeignKey("applications.id"), index=True)
    month: Mapped[dt.date] = mapped_column(Date)
    summary: Mapped[str] = mapped_column(Text, default="")
    submitted_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    submitted_at: Mapped[dt.datetime] = _now()
    updated_at: Mapped[dt.datetime] = _now()
    version: Mapped[int] = _version()

    items: Mapped[list[MonthlyReportItem]] = relationship(
        cascade="all, delete-orphan", order_by="MonthlyReportItem.item"
    )

    __table_args__ = (
        UniqueConstraint("application_id", "month"),
        CheckConstraint("extract(day from month) = 1", name="month_first_day"),
    )


class MonthlyReportItem(Base):
    """One work item's progress in a monthly report."""

    __tablename__ = "monthly_report_items"

    report_id: Mapped[int] = mapped_column(
        ForeignKey("monthly_reports.id", ondelete="CASCADE"), primary_key=True
    )
    item: Mapped[WorkItem] = mapped_column(_enum(WorkItem, "work_item"), primary_key=True)
    progress: Mapped[Progress] = mapped_column(_enum(Progress, "work_progress"))
    percent: Mapped[int | None] = mapped_column(Integer)
    done_text: Mapped[str] = mapped_column(Text, default="", comment="本月辦理情形")

    __table_args__ = (CheckConstraint("percent BETWEEN 0 AND 100", name="percent_range"),)


# --------------------------------------------------------------------------- claims (經費核銷)
class ExpenseClaim(Base):
    """An expense claim of an application; several per year are allowed (分期核銷)."""

    __tablename__ = "expense_claims"

    id: Mapped[int] = mapped_column(primary_key=True)
    application_id: Mapped[int] = mapped_column(ForeignKey("applications.id"), index=True)
    title: Mapped[str] = mapped_column(String(128))
    status: Mapped[ClaimStatus] = mapped_column(
        _enum(ClaimStatus, "claim_status"), default=ClaimStatus.draft
    )
    version: Mapped[int] = _version()
    created_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[dt.datetime] = _now()
    updated_at: Mapped[dt.datetime] = _now()
    submitted_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    checked_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    closed_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))

    items: Mapped[list[ClaimItem]] = relationship(
        cascade="all, delete-orphan", order_by="ClaimItem.line_no"
    )


class ClaimItem(Base):
    """A line of a claim with its receipt, linked where possible to a budget line and to the
    map item it paid for. ``planned_geom`` / ``installed_geom``: Points, EPSG:3826."""

    __tablename__ = "claim_items"

    id: Mapped[int] = mapped_column(primary_key=True)
    claim_id: Mapped[int] = mapped_column(
        ForeignKey("expense_claims.id", ondelete="CASCADE"), index=True
    )
    line_no: Mapped[int] = mapped_column(Integer)
    budget_line_id: Mapped[int | None] = mapped_column(
        ForeignKey("application_budget_lines.id", ondelete="SET NULL"), index=True
    )
    item: Mapped[WorkItem | None] = _work_item(nullable=True)
    description: Mapped[str] = mapped_column(String(255))
    vendor: Mapped[str | None] = mapped_column(String(128))
    receipt_no: Mapped[str | None] = mapped_column(String(64))
    spent_on: Mapped[dt.date | None] = mapped_column(Date)
    amount: Mapped[int] = mapped_column(Integer)
    receipt_file_id: Mapped[int | None] = mapped_column(
        ForeignKey("workflow_files.id", ondelete="SET NULL")
    )
    map_kind: Mapped[MapItemKind | None] = mapped_column(
        _enum(MapItemKind, "map_item_kind"), nullable=True
    )
    camera_id: Mapped[int | None] = mapped_column(
        ForeignKey("cameras.id", ondelete="SET NULL"), index=True
    )
    hazard_id: Mapped[int | None] = mapped_column(
        ForeignKey("hazards.id", ondelete="SET NULL"), index=True
    )
    planned_geom = _geom("POINT", nullable=True)
    installed_geom = _geom("POINT", nullable=True)
    note: Mapped[str | None] = mapped_column(Text)

    __table_args__ = (
        UniqueConstraint("claim_id", "line_no"),
        CheckConstraint("amount > 0", name="amount_positive"),
    )


class ClaimEvent(Base):
    """Append-only audit of every claim status change (who, when, from, to, comment)."""

    __tablename__ = "claim_events"

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    claim_id: Mapped[int] = mapped_column(ForeignKey("expense_claims.id"), index=True)
    at: Mapped[dt.datetime] = _now()
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    actor_role: Mapped[str] = mapped_column(String(32))
    from_status: Mapped[str | None] = mapped_column(String(32))
    to_status: Mapped[str] = mapped_column(String(32))
    comment: Mapped[str | None] = mapped_column(Text)


class Clawback(Base):
    """A claw-back (追繳) of money claimed on untrue receipts (plan 拾貳、一「經查明有不實者，
    應負相關責任並追繳該款項」)."""

    __tablename__ = "clawbacks"

    id: Mapped[int] = mapped_column(primary_key=True)
    claim_id: Mapped[int] = mapped_column(ForeignKey("expense_claims.id"), index=True)
    claim_item_id: Mapped[int | None] = mapped_column(
        ForeignKey("claim_items.id", ondelete="SET NULL")
    )
    amount: Mapped[int] = mapped_column(Integer)
    reason: Mapped[str] = mapped_column(Text)
    status: Mapped[ClawbackStatus] = mapped_column(
        _enum(ClawbackStatus, "clawback_status"), default=ClawbackStatus.demanded
    )
    decided_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    decided_at: Mapped[dt.datetime] = _now()
    repaid_amount: Mapped[int | None] = mapped_column(Integer)
    repaid_on: Mapped[dt.date | None] = mapped_column(Date)
    note: Mapped[str | None] = mapped_column(Text)

    __table_args__ = (CheckConstraint("amount > 0", name="amount_positive"),)


# --------------------------------------------------------------------------- evaluation (評鑑)
class Nomination(Base):
    """A precinct's 初選 nomination of one subsidised community (plan 捌、一), with its score.

    ``slot`` numbers the precinct's nominations in the year (1, 2, …): taken under the
    program-year lock and unique, so the per-precinct limit holds under concurrent requests.
    """

    __tablename__ = "nominations"

    id: Mapped[int] = mapped_column(primary_key=True)
    year: Mapped[int] = mapped_column(ForeignKey("program_years.year"), index=True)
    application_id: Mapped[int] = mapped_column(ForeignKey("applications.id"), unique=True)
    community_id: Mapped[int] = mapped_column(ForeignKey("communities.id"))
    precinct_id: Mapped[int] = mapped_column(ForeignKey("precincts.id"))
    slot: Mapped[int] = mapped_column(Integer)
    preliminary_score: Mapped[Decimal] = mapped_column(Numeric(5, 2))
    reason: Mapped[str] = mapped_column(Text, default="")
    nominated_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    nominated_at: Mapped[dt.datetime] = _now()

    __table_args__ = (
        UniqueConstraint("year", "community_id"),
        UniqueConstraint("year", "precinct_id", "slot"),
        CheckConstraint("slot >= 1", name="slot_positive"),
        CheckConstraint("preliminary_score BETWEEN 0 AND 100", name="score_range"),
    )


class ScoreSheet(Base):
    """One counsellor's 複評 sheet for one nominee; ``submitted_at`` is None while a draft."""

    __tablename__ = "score_sheets"

    id: Mapped[int] = mapped_column(primary_key=True)
    nomination_id: Mapped[int] = mapped_column(
        ForeignKey("nominations.id", ondelete="CASCADE"), index=True
    )
    scorer_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    comment: Mapped[str] = mapped_column(Text, default="")
    submitted_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    updated_at: Mapped[dt.datetime] = _now()

    items: Mapped[list[ScoreItem]] = relationship(cascade="all, delete-orphan")

    __table_args__ = (UniqueConstraint("nomination_id", "scorer_id"),)


class ScoreItem(Base):
    """A criterion's points on a score sheet (criterion codes: the year's rubric)."""

    __tablename__ = "score_items"

    sheet_id: Mapped[int] = mapped_column(
        ForeignKey("score_sheets.id", ondelete="CASCADE"), primary_key=True
    )
    criterion: Mapped[str] = mapped_column(String(32), primary_key=True)
    score: Mapped[Decimal] = mapped_column(Numeric(5, 2))
    comment: Mapped[str | None] = mapped_column(Text)

    __table_args__ = (CheckConstraint("score >= 0", name="score_non_negative"),)


class EvaluationResult(Base):
    """The published result of one nominee once the city finalises the year's evaluation:
    rank, averages, outcome, award tier and the amount the city grants within the tier."""

    __tablename__ = "evaluation_results"

    id: Mapped[int] = mapped_column(primary_key=True)
    year: Mapped[int] = mapped_column(ForeignKey("program_years.year"), index=True)
    nomination_id: Mapped[int] = mapped_column(
        ForeignKey("nominations.id", ondelete="CASCADE"), unique=True
    )
    community_id: Mapped[int] = mapped_column(ForeignKey("communities.id"))
    rank: Mapped[int | None] = mapped_column(Integer)
    preliminary_score: Mapped[Decimal] = mapped_column(Numeric(5, 2))
    review_average: Mapped[Decimal | None] = mapped_column(Numeric(6, 2))
    outcome: Mapped[str] = mapped_column(String(16))
    tier_name: Mapped[str | None] = mapped_column(String(64))
    award_amount: Mapped[int | None] = mapped_column(Integer, comment="NT$")
    certificate_no: Mapped[str | None] = mapped_column(String(32), unique=True)
    tie_break: Mapped[str | None] = mapped_column(Text)
    finalised_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    finalised_at: Mapped[dt.datetime] = _now()

    __table_args__ = (
        UniqueConstraint("year", "community_id"),
        UniqueConstraint("year", "rank"),
        CheckConstraint("award_amount IS NULL OR award_amount >= 0", name="amount_non_negative"),
    )


# --------------------------------------------------------------------------- rosters (附件3–8)
class RosterMember(Base):
    """A member of a yearly roster: the joint promotion team (附件3–5, ``is_contact`` marks the
    窗口 of 附件5), the counselling team (附件6) or a consultant (附件7). A member with a
    user account (``user_id``) sits on the year's evaluation panel when on the counselling team."""

    __tablename__ = "roster_members"

    id: Mapped[int] = mapped_column(primary_key=True)
    year: Mapped[int] = mapped_column(ForeignKey("program_years.year"))
    roster: Mapped[str] = mapped_column(String(16))
    unit: Mapped[str] = mapped_column(String(128), comment="機關／單位")
    team_role: Mapped[str] = mapped_column(String(64), comment="召集人、副召集人、委員、窗口…")
    name: Mapped[str] = mapped_column(String(64))
    job_title: Mapped[str | None] = mapped_column(String(64))
    phone: Mapped[str | None] = mapped_column(String(32))
    email: Mapped[str | None] = mapped_column(String(128))
    address: Mapped[str | None] = mapped_column(String(256))
    expertise: Mapped[str | None] = mapped_column(Text)
    is_contact: Mapped[bool] = mapped_column(Boolean, default=False, server_default=text("false"))
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    sort_order: Mapped[int] = mapped_column(Integer, default=0)
    note: Mapped[str | None] = mapped_column(Text)
    version: Mapped[int] = _version()

    __table_args__ = (
        Index("ix_roster_members_year_roster", "year", "roster"),
        CheckConstraint(
            "roster IN ('joint_team', 'counselling_team', 'consultant')", name="roster_known"
        ),
    )


class DivisionOfLabour(Base):
    """A row of the division-of-labour table (附件8): a task, its lead and assisting units."""

    __tablename__ = "division_of_labour"

    id: Mapped[int] = mapped_column(primary_key=True)
    year: Mapped[int] = mapped_column(ForeignKey("program_years.year"), index=True)
    section: Mapped[str] = mapped_column(String(64))
    task: Mapped[str] = mapped_column(Text)
    lead: Mapped[str] = mapped_column(String(128))
    assisting: Mapped[str | None] = mapped_column(String(255))
    plan_ref: Mapped[str | None] = mapped_column(String(32))
    sort_order: Mapped[int] = mapped_column(Integer, default=0)
    version: Mapped[int] = _version()


class RewardHeadcount(Base):
    """How many people hold a post whose number the plan leaves open (警勤區員警, 副所長) in a
    rewarded unit, for a year (玖、一、(一)「擇優半數」)."""

    __tablename__ = "reward_headcounts"

    year: Mapped[int] = mapped_column(ForeignKey("program_years.year"), primary_key=True)
    unit_kind: Mapped[str] = mapped_column(String(16), primary_key=True)
    unit_id: Mapped[int] = mapped_column(Integer, primary_key=True)
    post: Mapped[str] = mapped_column(String(32), primary_key=True)
    persons: Mapped[int] = mapped_column(Integer)

    __table_args__ = (CheckConstraint("persons >= 0", name="persons_non_negative"),)
