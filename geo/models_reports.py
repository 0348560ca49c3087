"""ORM model of residents' safety-concern reports (migration 0009; issue #7, item 6).

A resident (anonymous, no account) marks a spot on the map and describes what worries them;
the community whose boundary holds the spot and the precinct it lies in triage the report:
accepted (it becomes a hazard of the safety map), merged into a hazard already drawn, or
dismissed with a reason.

``geom`` is a Point in EPSG:3826 (metres) with a GiST index, as in ``geo.models``.
``village_id``, ``community_id`` and ``precinct_id`` are set by the database from the point
(trigger ``safemap_resident_report_place`` of migration 0009): the smallest community whose
boundary covers it (the one the resident chose, when it does), and that community's precinct,
else the precinct of the village. The reporter's contact details are personal data: they are
read only through ``workflow.resident_reports`` by the triaging community and police.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import (
    CheckConstraint,
    DateTime,
    ForeignKey,
    Index,
    LargeBinary,
    String,
    Text,
)
from sqlalchemy.orm import Mapped, deferred, mapped_column

from .enums import LabelledEnum, TimeOfDay
from .models import Base, _enum, _geom, _now, _version


class ResidentReportStatus(LabelledEnum):
    """Where a resident's report stands; moves are ``workflow.resident_reports.STATES``."""

    new = ("new", "新回報")
    accepted = ("accepted", "已列為問題點")
    merged = ("merged", "已併入既有問題點")
    dismissed = ("dismissed", "不予處理")


class ResidentReport(Base):
    """A resident's safety concern. ``geom``: Point, EPSG:3826."""

    __tablename__ = "resident_reports"

    id: Mapped[int] = mapped_column(primary_key=True)
    geom = _geom("POINT")
    category: Mapped[str] = mapped_column(
        String(32), comment="code in data/reference/hazard_categories.json"
    )
    time_of_day: Mapped[TimeOfDay] = mapped_column(_enum(TimeOfDay, "time_of_day"))
    place: Mapped[str | None] = mapped_column(
        String(128), comment="the resident's words for the spot (landmark, lane), no address"
    )
    description: Mapped[str] = mapped_column(Text)
    # The photo's bytes are only read when someone opens it (never in lists).
    photo: Mapped[bytes | None] = deferred(mapped_column(LargeBinary))
    photo_type: Mapped[str | None] = mapped_column(String(64))
    photo_name: Mapped[str | None] = mapped_column(String(255))
    contact_name: Mapped[str | None] = mapped_column(String(64), comment="personal data")
    contact_phone: Mapped[str | None] = mapped_column(String(32), comment="personal data")
    contact_email: Mapped[str | None] = mapped_column(String(128), comment="personal data")
    status: Mapped[ResidentReportStatus] = mapped_column(
        _enum(ResidentReportStatus, "resident_report_status"), default=ResidentReportStatus.new
    )
    hazard_id: Mapped[int | None] = mapped_column(
        ForeignKey("hazards.id", ondelete="SET NULL"),
        index=True,
        comment="the hazard it became (accepted) or duplicates (merged)",
    )
    dismissed_reason: Mapped[str | None] = mapped_column(Text)
    triaged_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    triaged_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    village_id: Mapped[int | None] = mapped_column(ForeignKey("villages.id"), index=True)
    community_id: Mapped[int | None] = mapped_column(ForeignKey("communities.id"), index=True)
    precinct_id: Mapped[int | None] = mapped_column(ForeignKey("precincts.id"), index=True)
    ip_hash: Mapped[str] = mapped_column(
        String(64), comment="keyed SHA-256 of the sender's address, for the rate limit only"
    )
    version: Mapped[int] = _version()
    created_at: Mapped[dt.datetime] = _now()
    updated_at: Mapped[dt.datetime] = _now()

    __table_args__ = (
        CheckConstraint(
            "status <> 'dismissed' OR dismissed_reason IS NOT NULL", name="dismissed_has_reason"
        ),
        CheckConstraint("char_length(description) <= 2000", name="description_length"),
        Index("ix_resident_reports_ip_hash_created_at", "ip_hash", "created_at"),
        Index("ix_resident_reports_status", "status"),
    )
