"""ORM models of the plan's other services (migration 0007, branch "services").

- 防竊達人 anti-theft consultations (plan 陸、一、(六)): the household's precise location is a
  Point in EPSG:3826 for the police; everywhere else it surfaces only as village counts.
- Disaster-prevention promotion requests to the fire bureau (plan 陸、二、(三)).
- Women-and-children protection referrals and care visits (plan 陸、三、(三)(四)): no geometry
  at all, so they can never be drawn on a map; read only through ``workflow.protection``.
- Crime-prevention promotion events (plan 陸、一、(七)).
- 社區警政治安「e話」 bulletin issues (plan 伍、一、(八) and 陸、一、(五)).
- Watch teams (plan 陸、一、(二)): members, shifts, patrol logs and their observations.

Every geometry is EPSG:3826 (metres) with a GiST index, as in ``geo.models``.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    Date,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
    Time,
    func,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from .enums_services import (
    BulletinScope,
    BulletinStatus,
    ConsultationReason,
    ConsultationStatus,
    DisasterRequestStatus,
    PromotionOccasion,
    PromotionTopic,
    ProtectionKind,
    ProtectionStatus,
)
from .models import Base, _enum, _geom, _now, _version


def _demo() -> Mapped[bool]:
    return mapped_column(Boolean, default=False, server_default=text("false"))


# --------------------------------------------------------------------------- events
class ServiceEvent(Base):
    """Append-only audit of every status change of a consultation or a promotion request
    (who, when, from, to, comment). Protection records are journalled in ``audit_log``
    instead, without any comment, so no free text about a case lands in a shared table."""

    __tablename__ = "service_events"

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    service: Mapped[str] = mapped_column(String(32), comment="table of the record")
    record_id: Mapped[int] = mapped_column(BigInteger)
    at: Mapped[dt.datetime] = _now()
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    actor_role: Mapped[str] = mapped_column(String(32))
    from_status: Mapped[str | None] = mapped_column(String(32))
    to_status: Mapped[str] = mapped_column(String(32))
    comment: Mapped[str | None] = mapped_column(Text)

    __table_args__ = (Index("ix_service_events_service_record", "service", "record_id"),)


# --------------------------------------------------------------------------- 防竊達人
class Consultation(Base):
    """An anti-theft consultation (防竊達人): a household's request, the consultant the police
    assign, the on-site checklist, the advice and the follow-up.

    ``geom``: the household, Point, EPSG:3826 - police information only. ``village_id`` is
    derived from it in SQL when the request is filed, and is all that other readers ever see (as counts).
    ``checklist`` maps each ``ChecklistItem`` to ``{"rating": ChecklistRating, "note": str}``.
    ``address_key`` is the address with spaces and full-width digits normalised, to find
    households burgled more than once.
    """

    __tablename__ = "consultations"

    id: Mapped[int] = mapped_column(primary_key=True)
    reason: Mapped[ConsultationReason] = mapped_column(
        _enum(ConsultationReason, "consultation_reason")
    )
    status: Mapped[ConsultationStatus] = mapped_column(
        _enum(ConsultationStatus, "consultation_status"), default=ConsultationStatus.requested
    )
    precinct_id: Mapped[int] = mapped_column(ForeignKey("precincts.id"), index=True)
    station_id: Mapped[int | None] = mapped_column(ForeignKey("police_stations.id"), index=True)
    district_id: Mapped[int] = mapped_column(ForeignKey("districts.id"), index=True)
    village_id: Mapped[int] = mapped_column(ForeignKey("villages.id"), index=True)
    community_id: Mapped[int | None] = mapped_column(ForeignKey("communities.id"), index=True)
    household_name: Mapped[str] = mapped_column(String(64))
    phone: Mapped[str | None] = mapped_column(String(32))
    address: Mapped[str] = mapped_column(String(256))
    address_key: Mapped[str] = mapped_column(String(256), index=True)
    geom = _geom("POINT")
    burgled_on: Mapped[dt.date | None] = mapped_column(Date)
    requested_on: Mapped[dt.date] = mapped_column(Date, server_default=func.current_date())
    request_note: Mapped[str] = mapped_column(Text, default="")
    consultant_name: Mapped[str | None] = mapped_column(String(64))
    consultant_user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    scheduled_for: Mapped[dt.date | None] = mapped_column(Date)
    visited_on: Mapped[dt.date | None] = mapped_column(Date)
    checklist: Mapped[dict] = mapped_column(JSONB, default=dict)
    advice: Mapped[str] = mapped_column(Text, default="")
    follow_up_on: Mapped[dt.date | None] = mapped_column(Date, index=True)
    followed_up_on: Mapped[dt.date | None] = mapped_column(Date)
    follow_up_note: Mapped[str | None] = mapped_column(Text)
    requested_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    version: Mapped[int] = _version()
    is_demo: Mapped[bool] = _demo()
    created_at: Mapped[dt.datetime] = _now()
    updated_at: Mapped[dt.datetime] = _now()


class ConsultationPhoto(Base):
    """A photo taken on a consultation visit (doors, windows, locks), kept with its record."""

    __tablename__ = "consultation_photos"

    id: Mapped[int] = mapped_column(primary_key=True)
    consultation_id: Mapped[int] = mapped_column(
        ForeignKey("consultations.id", ondelete="CASCADE"), index=True
    )
    filename: Mapped[str] = mapped_column(String(255))
    content_type: Mapped[str] = mapped_column(String(64))
    size_bytes: Mapped[int] = mapped_column(Integer)
    data: Mapped[bytes] = mapped_column(LargeBinary)
    caption: Mapped[str | None] = mapped_column(String(255))
    uploaded_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    uploaded_at: Mapped[dt.datetime] = _now()


# --------------------------------------------------------------------------- 消防局
class DisasterRequest(Base):
    """A community's written request to the fire bureau for instructors (plan 陸、二、(三):
    「以書面向當地消防局或消防大隊提出申請，敘明宣導項目及內容，由受理單位核派教官」).

    ``topics``: list of ``DisasterTopic`` values. ``instructors``: list of names.
    """

    __tablename__ = "disaster_requests"

    id: Mapped[int] = mapped_column(primary_key=True)
    community_id: Mapped[int] = mapped_column(ForeignKey("communities.id"), index=True)
    status: Mapped[DisasterRequestStatus] = mapped_column(
        _enum(DisasterRequestStatus, "disaster_request_status"),
        default=DisasterRequestStatus.submitted,
    )
    fire_unit: Mapped[str] = mapped_column(String(64), comment="受理單位：消防局或消防大隊")
    topics: Mapped[list] = mapped_column(JSONB, default=list)
    content: Mapped[str] = mapped_column(Text, default="", comment="宣導項目及內容")
    requested_date: Mapped[dt.date] = mapped_column(Date, index=True)
    start_time: Mapped[dt.time] = mapped_column(Time)
    end_time: Mapped[dt.time | None] = mapped_column(Time)
    place: Mapped[str] = mapped_column(String(128))
    expected_attendance: Mapped[int] = mapped_column(Integer)
    contact_name: Mapped[str] = mapped_column(String(64))
    contact_phone: Mapped[str] = mapped_column(String(32))
    proposed_date: Mapped[dt.date | None] = mapped_column(Date, comment="另訂日期")
    scheduled_date: Mapped[dt.date | None] = mapped_column(Date, comment="the agreed date")
    instructors: Mapped[list] = mapped_column(JSONB, default=list)
    reply: Mapped[str | None] = mapped_column(Text, comment="受理單位回覆")
    held_on: Mapped[dt.date | None] = mapped_column(Date)
    attendance: Mapped[int | None] = mapped_column(Integer)
    event_notes: Mapped[str | None] = mapped_column(Text)
    filed_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    version: Mapped[int] = _version()
    is_demo: Mapped[bool] = _demo()
    created_at: Mapped[dt.datetime] = _now()
    updated_at: Mapped[dt.datetime] = _now()

    __table_args__ = (
        CheckConstraint("expected_attendance >= 0", name="expected_attendance_non_negative"),
        CheckConstraint("attendance IS NULL OR attendance >= 0", name="attendance_non_negative"),
    )


# --------------------------------------------------------------------------- 社會局
class ProtectionReferral(Base):
    """A referral of a suspected domestic-violence or child-protection case to social affairs
    (plan 陸、三、(三)). The most sensitive record in the system: no geometry, read only by
    social affairs and, until received, by its filer; every read is written to ``audit_log``.
    """

    __tablename__ = "protection_referrals"

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[ProtectionKind] = mapped_column(_enum(ProtectionKind, "protection_kind"))
    status: Mapped[ProtectionStatus] = mapped_column(
        _enum(ProtectionStatus, "protection_status"), default=ProtectionStatus.submitted
    )
    filed_by: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    filer_role: Mapped[str] = mapped_column(String(32))
    community_id: Mapped[int | None] = mapped_column(ForeignKey("communities.id"))
    district_id: Mapped[int | None] = mapped_column(ForeignKey("districts.id"))
    subject_name: Mapped[str] = mapped_column(String(64), comment="被害人（疑似）")
    subject_age: Mapped[str | None] = mapped_column(String(32))
    subject_address: Mapped[str] = mapped_column(String(256))
    contact_phone: Mapped[str | None] = mapped_column(String(32))
    observed_on: Mapped[dt.date | None] = mapped_column(Date)
    description: Mapped[str] = mapped_column(Text)
    immediate_danger: Mapped[bool] = mapped_column(
        Boolean, default=False, server_default=text("false")
    )
    reporter_name: Mapped[str | None] = mapped_column(String(64), comment="志工／巡守員")
    case_ref: Mapped[str | None] = mapped_column(String(64), comment="社會局案號")
    received_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    received_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    closed_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    version: Mapped[int] = _version()
    created_at: Mapped[dt.datetime] = _now()
    updated_at: Mapped[dt.datetime] = _now()


class CareVisit(Base):
    """A care visit to a vulnerable or at-risk family (plan 陸、三、(四): 「關懷訪視社區脆弱及
    暴力危機家庭，提供弱勢家庭相關扶助資訊並協助取得相關資源」). Same rules as a referral."""

    __tablename__ = "care_visits"

    id: Mapped[int] = mapped_column(primary_key=True)
    status: Mapped[ProtectionStatus] = mapped_column(
        _enum(ProtectionStatus, "protection_status"), default=ProtectionStatus.submitted
    )
    filed_by: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    filer_role: Mapped[str] = mapped_column(String(32))
    community_id: Mapped[int | None] = mapped_column(ForeignKey("communities.id"))
    district_id: Mapped[int | None] = mapped_column(ForeignKey("districts.id"))
    family_name: Mapped[str] = mapped_column(String(64))
    address: Mapped[str] = mapped_column(String(256))
    visited_on: Mapped[dt.date] = mapped_column(Date)
    visitors: Mapped[str] = mapped_column(String(128), comment="訪視志工／巡守員")
    situation: Mapped[str] = mapped_column(Text, default="")
    resources_offered: Mapped[str] = mapped_column(Text, default="")
    needs_follow_up: Mapped[bool] = mapped_column(
        Boolean, default=False, server_default=text("false")
    )
    received_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    received_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    closed_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    version: Mapped[int] = _version()
    created_at: Mapped[dt.datetime] = _now()
    updated_at: Mapped[dt.datetime] = _now()


# --------------------------------------------------------------------------- 犯罪預防宣導
class PromotionEvent(Base):
    """A crime-prevention talk by the police at a community meeting, training, lecture or
    activity (plan 陸、一、(七)), counted by the evaluation."""

    __tablename__ = "promotion_events"

    id: Mapped[int] = mapped_column(primary_key=True)
    community_id: Mapped[int] = mapped_column(ForeignKey("communities.id"), index=True)
    topic: Mapped[PromotionTopic] = mapped_column(_enum(PromotionTopic, "promotion_topic"))
    occasion: Mapped[PromotionOccasion] = mapped_column(
        _enum(PromotionOccasion, "promotion_occasion")
    )
    held_on: Mapped[dt.date] = mapped_column(Date, index=True)
    title: Mapped[str] = mapped_column(String(128))
    audience: Mapped[str] = mapped_column(String(128), comment="對象，例如社區長者、巡守隊員")
    attendance: Mapped[int] = mapped_column(Integer, default=0)
    speaker_unit: Mapped[str] = mapped_column(String(64), comment="宣導單位（警察機關）")
    speaker_name: Mapped[str | None] = mapped_column(String(64))
    precinct_id: Mapped[int | None] = mapped_column(ForeignKey("precincts.id"), index=True)
    station_id: Mapped[int | None] = mapped_column(ForeignKey("police_stations.id"))
    meeting_id: Mapped[int | None] = mapped_column(
        ForeignKey("safety_meetings.id", ondelete="SET NULL")
    )
    notes: Mapped[str] = mapped_column(Text, default="")
    created_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    version: Mapped[int] = _version()
    is_demo: Mapped[bool] = _demo()
    created_at: Mapped[dt.datetime] = _now()
    updated_at: Mapped[dt.datetime] = _now()

    __table_args__ = (CheckConstraint("attendance >= 0", name="attendance_non_negative"),)


# --------------------------------------------------------------------------- 「e話」
class BulletinIssue(Base):
    """One monthly issue of a community's or a district's safety bulletin.

    ``facts`` are generated from the data (hazards fixed, new cameras as a count, meetings,
    incident trends as monthly counts, upcoming events) and frozen when the issue is
    published; ``texts`` are the editable sections (intro, notes, anti-fraud tips, closing).
    ``month`` is the first day of the month the issue covers.
    """

    __tablename__ = "bulletin_issues"

    id: Mapped[int] = mapped_column(primary_key=True)
    scope: Mapped[BulletinScope] = mapped_column(_enum(BulletinScope, "bulletin_scope"))
    community_id: Mapped[int | None] = mapped_column(ForeignKey("communities.id"), index=True)
    district_id: Mapped[int | None] = mapped_column(ForeignKey("districts.id"), index=True)
    month: Mapped[dt.date] = mapped_column(Date, index=True)
    title: Mapped[str] = mapped_column(String(128))
    status: Mapped[BulletinStatus] = mapped_column(
        _enum(BulletinStatus, "bulletin_status"), default=BulletinStatus.draft
    )
    facts: Mapped[dict] = mapped_column(JSONB, default=dict)
    texts: Mapped[dict] = mapped_column(JSONB, default=dict)
    generated_at: Mapped[dt.datetime] = _now()
    published_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    published_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    version: Mapped[int] = _version()
    is_demo: Mapped[bool] = _demo()
    updated_at: Mapped[dt.datetime] = _now()

    __table_args__ = (
        CheckConstraint(
            "(scope = 'community' AND community_id IS NOT NULL AND district_id IS NULL)"
            " OR (scope = 'district' AND district_id IS NOT NULL AND community_id IS NULL)",
            name="scope_target",
        ),
        CheckConstraint("extract(day FROM month) = 1", name="month_first_day"),
        # One issue per community (or district) and month.
        Index(
            "ux_bulletin_issues_community_month",
            "community_id",
            "month",
            unique=True,
            postgresql_where=text("community_id IS NOT NULL"),
        ),
        Index(
            "ux_bulletin_issues_district_month",
            "district_id",
            "month",
            unique=True,
            postgresql_where=text("district_id IS NOT NULL"),
        ),
    )


# --------------------------------------------------------------------------- 守望相助隊
class WatchTeam(Base):
    """A community watch team (守望相助隊, plan 陸、一、(二)). ``equipment``: a list of
    ``{"item": str, "quantity": int}`` (reflective vests, torches, radios, batons…)."""

    __tablename__ = "watch_teams"

    id: Mapped[int] = mapped_column(primary_key=True)
    community_id: Mapped[int] = mapped_column(ForeignKey("communities.id"), index=True)
    name: Mapped[str] = mapped_column(String(128))
    founded_on: Mapped[dt.date | None] = mapped_column(Date)
    leader_name: Mapped[str | None] = mapped_column(String(64))
    phone: Mapped[str | None] = mapped_column(String(32))
    base_address: Mapped[str | None] = mapped_column(String(256), comment="隊部")
    equipment: Mapped[list] = mapped_column(JSONB, default=list)
    notes: Mapped[str] = mapped_column(Text, default="")
    active: Mapped[bool] = mapped_column(Boolean, default=True, server_default=text("true"))
    version: Mapped[int] = _version()
    is_demo: Mapped[bool] = _demo()
    created_at: Mapped[dt.datetime] = _now()
    updated_at: Mapped[dt.datetime] = _now()


class WatchTeamMember(Base):
    """A watch-team member (巡守員). ``protection_trained``: has had the women-and-children
    protection training of plan 陸、三、(一); ``disaster_trained``: disaster response (陸、二、(一))."""

    __tablename__ = "watch_team_members"

    id: Mapped[int] = mapped_column(primary_key=True)
    team_id: Mapped[int] = mapped_column(
        ForeignKey("watch_teams.id", ondelete="CASCADE"), index=True
    )
    name: Mapped[str] = mapped_column(String(64))
    phone: Mapped[str | None] = mapped_column(String(32))
    position: Mapped[str] = mapped_column(String(32), default="隊員", comment="隊長、副隊長、隊員")
    joined_on: Mapped[dt.date | None] = mapped_column(Date)
    protection_trained: Mapped[bool] = mapped_column(
        Boolean, default=False, server_default=text("false")
    )
    disaster_trained: Mapped[bool] = mapped_column(
        Boolean, default=False, server_default=text("false")
    )
    active: Mapped[bool] = mapped_column(Boolean, default=True, server_default=text("true"))


class WatchShift(Base):
    """A standing patrol shift: ISO weekdays (1 = Monday), local start and end times, and the
    route walked (``patrol_routes``) when there is one. An end before the start runs past
    midnight."""

    __tablename__ = "watch_shifts"

    id: Mapped[int] = mapped_column(primary_key=True)
    team_id: Mapped[int] = mapped_column(
        ForeignKey("watch_teams.id", ondelete="CASCADE"), index=True
    )
    weekdays: Mapped[list] = mapped_column(JSONB, default=list)
    start_time: Mapped[dt.time] = mapped_column(Time)
    end_time: Mapped[dt.time] = mapped_column(Time)
    route_id: Mapped[int | None] = mapped_column(
        ForeignKey("patrol_routes.id", ondelete="SET NULL")
    )
    min_members: Mapped[int] = mapped_column(Integer, default=2)
    note: Mapped[str | None] = mapped_column(Text)

    __table_args__ = (CheckConstraint("min_members >= 1", name="min_members_positive"),)


class PatrolLog(Base):
    """One patrol walked by a team. ``geom``: the track walked, MultiLineString, EPSG:3826,
    when recorded (otherwise the planned ``route_id`` stands for it)."""

    __tablename__ = "patrol_logs"

    id: Mapped[int] = mapped_column(primary_key=True)
    team_id: Mapped[int] = mapped_column(
        ForeignKey("watch_teams.id", ondelete="CASCADE"), index=True
    )
    route_id: Mapped[int | None] = mapped_column(
        ForeignKey("patrol_routes.id", ondelete="SET NULL")
    )
    started_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), index=True)
    ended_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    members_present: Mapped[int] = mapped_column(Integer)
    member_names: Mapped[str | None] = mapped_column(Text)
    geom = _geom("MULTILINESTRING", nullable=True)
    notes: Mapped[str] = mapped_column(Text, default="")
    created_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    version: Mapped[int] = _version()
    is_demo: Mapped[bool] = _demo()
    created_at: Mapped[dt.datetime] = _now()

    __table_args__ = (
        CheckConstraint("ended_at > started_at", name="ends_after_start"),
        CheckConstraint("members_present >= 1", name="members_present_positive"),
    )


class PatrolObservation(Base):
    """Something a patrol noticed (a broken light, a hidden corner). ``geom``: Point,
    EPSG:3826, when placed; ``hazard_id`` once it has been turned into a hazard on the
    safety-inspection map."""

    __tablename__ = "patrol_observations"

    id: Mapped[int] = mapped_column(primary_key=True)
    log_id: Mapped[int] = mapped_column(
        ForeignKey("patrol_logs.id", ondelete="CASCADE"), index=True
    )
    description: Mapped[str] = mapped_column(Text)
    category: Mapped[str | None] = mapped_column(
        String(32), comment="code in data/reference/hazard_categories.json"
    )
    severity: Mapped[int] = mapped_column(Integer, default=3)
    geom = _geom("POINT", nullable=True)
    hazard_id: Mapped[int | None] = mapped_column(
        ForeignKey("hazards.id", ondelete="SET NULL"), index=True
    )
    created_at: Mapped[dt.datetime] = _now()

    __table_args__ = (CheckConstraint("severity BETWEEN 1 AND 5", name="severity_range"),)
