"""ORM models of the spatial domain.

Every geometry is stored in TWD97 / TM2 zone 121 (EPSG:3826, metres) with a GiST index;
web output is transformed to WGS84 (EPSG:4326) in SQL when it is served.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from geoalchemy2 import Geometry
from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    Column,
    Computed,
    Date,
    DateTime,
    Enum,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    Numeric,
    String,
    Table,
    Text,
    UniqueConstraint,
    func,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

from .crs import STORAGE_SRID, WEB_SRID  # noqa: F401  (re-exported: most code imports them from here)
from .enums import (
    ApplicationStatus,
    CameraOwner,
    CameraStatus,
    HazardStatus,
    OrganisationKind,
    Role,
    TimeOfDay,
)

NAMING_CONVENTION = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


def _enum(enum_cls, name: str) -> Enum:
    # Store the enum's values (not member names) in a native PostgreSQL enum type.
    return Enum(enum_cls, name=name, values_callable=lambda e: [m.value for m in e])


def _now() -> Mapped[dt.datetime]:
    return mapped_column(DateTime(timezone=True), server_default=func.now(), nullable=False)


def _version() -> Mapped[int]:
    # Optimistic-locking counter behind the ETag of every editable record.
    return mapped_column(Integer, default=1, server_default=text("1"))


def _geom(geometry_type: str, nullable: bool = False) -> Mapped[Any]:
    return mapped_column(
        Geometry(geometry_type, srid=STORAGE_SRID, spatial_index=True), nullable=nullable
    )


# --------------------------------------------------------------------------- geography
class District(Base):
    """A district (鄉鎮市區), dissolved from its villages. ``geom``: MultiPolygon, EPSG:3826."""

    __tablename__ = "districts"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(16), unique=True, comment="TOWNCODE, e.g. 65000010")
    name: Mapped[str] = mapped_column(String(32))
    name_en: Mapped[str | None] = mapped_column(String(64))
    town_id: Mapped[str | None] = mapped_column(String(8), comment="TOWNID, e.g. F05")
    county_code: Mapped[str] = mapped_column(String(8))
    county_name: Mapped[str] = mapped_column(String(16))
    geom = _geom("MULTIPOLYGON")
    retired_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    updated_at: Mapped[dt.datetime] = _now()

    villages: Mapped[list[Village]] = relationship(back_populates="district")


class Village(Base):
    """A village (村里). ``geom``: MultiPolygon, EPSG:3826.

    Villages are upserted by their official code and never deleted, so communities that
    reference one keep working when a newer boundary file drops or renames it
    (``retired_at`` is set instead).
    """

    __tablename__ = "villages"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(16), unique=True, comment="VILLCODE, 11 digits")
    name: Mapped[str] = mapped_column(String(32))
    name_en: Mapped[str | None] = mapped_column(String(64))
    district_id: Mapped[int] = mapped_column(ForeignKey("districts.id"), index=True)
    geom = _geom("MULTIPOLYGON")
    retired_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    updated_at: Mapped[dt.datetime] = _now()

    district: Mapped[District] = relationship(back_populates="villages")


# --------------------------------------------------------------------------- police
precinct_villages = Table(
    "precinct_villages",
    Base.metadata,
    # One precinct per village: a village's primary key here makes the jurisdiction a partition.
    Column("village_id", ForeignKey("villages.id", ondelete="CASCADE"), primary_key=True),
    Column(
        "precinct_id", ForeignKey("precincts.id", ondelete="CASCADE"), nullable=False, index=True
    ),
)

station_villages = Table(
    "station_villages",
    Base.metadata,
    Column("village_id", ForeignKey("villages.id", ondelete="CASCADE"), primary_key=True),
    Column(
        "station_id",
        ForeignKey("police_stations.id", ondelete="CASCADE"),
        nullable=False,
        index=True,
    ),
)


class Precinct(Base):
    """A police precinct (警察分局); its jurisdiction is the set of villages it polices."""

    __tablename__ = "precincts"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(32), unique=True)
    phone: Mapped[str | None] = mapped_column(String(32))
    address: Mapped[str | None] = mapped_column(String(128))

    villages: Mapped[list[Village]] = relationship(secondary=precinct_villages)
    stations: Mapped[list[PoliceStation]] = relationship(back_populates="precinct")


class PoliceStation(Base):
    """A police station (派出所／分駐所). ``geom``: Point, EPSG:3826, when known."""

    __tablename__ = "police_stations"
    __table_args__ = (UniqueConstraint("precinct_id", "name"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    precinct_id: Mapped[int] = mapped_column(ForeignKey("precincts.id"), index=True)
    name: Mapped[str] = mapped_column(String(32))
    station_type: Mapped[str] = mapped_column(String(16), default="派出所")
    address: Mapped[str | None] = mapped_column(String(128))
    geom = _geom("POINT", nullable=True)

    precinct: Mapped[Precinct] = relationship(back_populates="stations")
    villages: Mapped[list[Village]] = relationship(secondary=station_villages)


# --------------------------------------------------------------------------- people
class Organisation(Base):
    """A community organisation, agency, school or company."""

    __tablename__ = "organisations"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(128))
    kind: Mapped[OrganisationKind] = mapped_column(_enum(OrganisationKind, "organisation_kind"))
    registration_no: Mapped[str | None] = mapped_column(String(32))
    contact_name: Mapped[str | None] = mapped_column(String(64))
    phone: Mapped[str | None] = mapped_column(String(32))
    email: Mapped[str | None] = mapped_column(String(128))
    address: Mapped[str | None] = mapped_column(String(256))
    district_id: Mapped[int | None] = mapped_column(ForeignKey("districts.id"))
    is_demo: Mapped[bool] = mapped_column(Boolean, default=False, server_default=text("false"))
    created_at: Mapped[dt.datetime] = _now()


class User(Base):
    """A person who signs in. Jurisdiction columns apply according to ``role``."""

    __tablename__ = "users"

    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(String(64), unique=True)
    display_name: Mapped[str] = mapped_column(String(64))
    email: Mapped[str | None] = mapped_column(String(128))
    password_hash: Mapped[str] = mapped_column(String(256), comment="argon2id")
    role: Mapped[Role] = mapped_column(_enum(Role, "user_role"))
    organisation_id: Mapped[int | None] = mapped_column(ForeignKey("organisations.id"))
    precinct_id: Mapped[int | None] = mapped_column(ForeignKey("precincts.id"))
    station_id: Mapped[int | None] = mapped_column(ForeignKey("police_stations.id"))
    district_id: Mapped[int | None] = mapped_column(ForeignKey("districts.id"))
    is_active: Mapped[bool] = mapped_column(Boolean, default=True, server_default=text("true"))
    created_at: Mapped[dt.datetime] = _now()
    last_login_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))

    __table_args__ = (
        # A jurisdiction-bound role without its jurisdiction would see nothing or, worse,
        # be mistaken for a city-wide account; the database refuses such rows.
        CheckConstraint(
            "role <> 'precinct' OR precinct_id IS NOT NULL", name="precinct_has_precinct"
        ),
        CheckConstraint("role <> 'station' OR station_id IS NOT NULL", name="station_has_station"),
        CheckConstraint(
            "role <> 'district_office' OR district_id IS NOT NULL",
            name="district_office_has_district",
        ),
        CheckConstraint(
            "role <> 'community' OR organisation_id IS NOT NULL", name="community_has_organisation"
        ),
    )

    organisation: Mapped[Organisation | None] = relationship()
    precinct: Mapped[Precinct | None] = relationship()
    station: Mapped[PoliceStation | None] = relationship()
    district: Mapped[District | None] = relationship()


community_villages = Table(
    "community_villages",
    Base.metadata,
    Column("community_id", ForeignKey("communities.id", ondelete="CASCADE"), primary_key=True),
    Column("village_id", ForeignKey("villages.id"), primary_key=True, index=True),
)


class Community(Base):
    """A community (社區): its boundary and the villages it covers.

    ``geom``: MultiPolygon, EPSG:3826 (the union of its villages or a drawn polygon).
    ``precinct_id`` is the precinct that receives its applications and counsels it.
    """

    __tablename__ = "communities"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(128))
    organisation_id: Mapped[int] = mapped_column(ForeignKey("organisations.id"), index=True)
    district_id: Mapped[int] = mapped_column(ForeignKey("districts.id"), index=True)
    precinct_id: Mapped[int] = mapped_column(ForeignKey("precincts.id"), index=True)
    station_id: Mapped[int | None] = mapped_column(ForeignKey("police_stations.id"), index=True)
    geom = _geom("MULTIPOLYGON")
    is_demo: Mapped[bool] = mapped_column(Boolean, default=False, server_default=text("false"))
    created_at: Mapped[dt.datetime] = _now()
    updated_at: Mapped[dt.datetime] = _now()

    organisation: Mapped[Organisation] = relationship()
    district: Mapped[District] = relationship()
    precinct: Mapped[Precinct] = relationship()
    villages: Mapped[list[Village]] = relationship(secondary=community_villages)


# --------------------------------------------------------------------------- program years
class ProgramYear(Base):
    """One program period (a calendar year) and its settings.

    ``quota`` is a column because the database enforces it; the other numbers of the plan
    (evaluation threshold, certified counts, award tiers, reward rules) are validated JSON,
    see ``workflow.settings.ProgramSettings``.
    """

    __tablename__ = "program_years"

    year: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    quota: Mapped[int] = mapped_column(Integer)
    settings: Mapped[dict] = mapped_column(JSONB, default=dict)
    application_opens: Mapped[dt.date | None] = mapped_column(Date)
    application_closes: Mapped[dt.date | None] = mapped_column(Date)

    __table_args__ = (CheckConstraint("quota >= 0", name="quota_non_negative"),)


class Application(Base):
    """A community's application for a program year (附件1)."""

    __tablename__ = "applications"

    id: Mapped[int] = mapped_column(primary_key=True)
    year: Mapped[int] = mapped_column(ForeignKey("program_years.year"), index=True)
    community_id: Mapped[int] = mapped_column(ForeignKey("communities.id"), index=True)
    status: Mapped[ApplicationStatus] = mapped_column(
        _enum(ApplicationStatus, "application_status"), default=ApplicationStatus.draft
    )
    plan: Mapped[dict] = mapped_column(JSONB, default=dict, comment="work items, schedule, budget")
    budget_total: Mapped[int] = mapped_column(Integer, default=0, comment="NT$")
    version: Mapped[int] = _version()
    is_demo: Mapped[bool] = mapped_column(Boolean, default=False, server_default=text("false"))
    created_at: Mapped[dt.datetime] = _now()
    updated_at: Mapped[dt.datetime] = _now()

    community: Mapped[Community] = relationship()

    __table_args__ = (
        # One application per community and year: the one-subsidy-a-year rule starts here.
        UniqueConstraint("year", "community_id"),
    )


class ApplicationEvent(Base):
    """Append-only audit of every application transition."""

    __tablename__ = "application_events"

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    application_id: Mapped[int] = mapped_column(ForeignKey("applications.id"), index=True)
    at: Mapped[dt.datetime] = _now()
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    actor_role: Mapped[str] = mapped_column(String(32))
    from_status: Mapped[str | None] = mapped_column(String(32))
    to_status: Mapped[str] = mapped_column(String(32))
    comment: Mapped[str | None] = mapped_column(Text)
    attachments: Mapped[list] = mapped_column(JSONB, default=list)


# --------------------------------------------------------------------------- layers
def _feature_cache():
    # The record's GeoJSON Feature as list pages serve it, kept by a database trigger
    # (migration 0010) so a page is a string_agg, not a JSON build per row. Deferred: the
    # ORM never needs it.
    return mapped_column(
        Text,
        deferred=True,
        comment="GeoJSON Feature (list form), kept by the safemap_feature_json trigger",
    )


class Hazard(Base):
    """A safety-inspection map item (安全檢測地圖). ``geom``: point, line or polygon, EPSG:3826."""

    __tablename__ = "hazards"

    id: Mapped[int] = mapped_column(primary_key=True)
    community_id: Mapped[int] = mapped_column(ForeignKey("communities.id"), index=True)
    category: Mapped[str] = mapped_column(
        String(32), comment="code in data/reference/hazard_categories.json"
    )
    severity: Mapped[int] = mapped_column(Integer)
    time_of_day: Mapped[TimeOfDay] = mapped_column(_enum(TimeOfDay, "time_of_day"))
    description: Mapped[str] = mapped_column(Text, default="")
    status: Mapped[HazardStatus] = mapped_column(_enum(HazardStatus, "hazard_status"))
    agency: Mapped[str | None] = mapped_column(String(64), comment="responsible agency")
    geom = _geom("GEOMETRY")
    version: Mapped[int] = _version()
    is_demo: Mapped[bool] = mapped_column(Boolean, default=False, server_default=text("false"))
    feature = _feature_cache()
    meeting_id: Mapped[int | None] = mapped_column(
        ForeignKey("safety_meetings.id", ondelete="SET NULL"), index=True
    )
    title: Mapped[str | None] = mapped_column(String(128))
    dismissed_reason: Mapped[str | None] = mapped_column(Text)
    created_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    reported_at: Mapped[dt.datetime] = _now()
    assigned_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    fixed_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    updated_at: Mapped[dt.datetime] = _now()

    __table_args__ = (
        CheckConstraint("severity BETWEEN 1 AND 5", name="severity_range"),
        CheckConstraint(
            "GeometryType(geom) IN ('POINT', 'LINESTRING', 'POLYGON', 'MULTILINESTRING', 'MULTIPOLYGON')",
            name="geom_kind",
        ),
    )


class Camera(Base):
    """A CCTV camera. ``geom``: Point, EPSG:3826; bearing in degrees clockwise from north,
    field of view in degrees, range and height in metres."""

    __tablename__ = "cameras"

    id: Mapped[int] = mapped_column(primary_key=True)
    community_id: Mapped[int | None] = mapped_column(ForeignKey("communities.id"), index=True)
    precinct_id: Mapped[int] = mapped_column(ForeignKey("precincts.id"), index=True)
    status: Mapped[CameraStatus] = mapped_column(_enum(CameraStatus, "camera_status"))
    owner: Mapped[CameraOwner] = mapped_column(_enum(CameraOwner, "camera_owner"))
    geom = _geom("POINT")
    bearing_deg: Mapped[float] = mapped_column(Float)
    fov_deg: Mapped[float] = mapped_column(Float)
    range_m: Mapped[float] = mapped_column(Float)
    height_m: Mapped[float | None] = mapped_column(Float)
    # The view sector is derived in the database (safemap_camera_sector, migration 0002), so
    # every writer - API, import, SQL - gets the same polygon.
    sector = mapped_column(
        Geometry("POLYGON", srid=STORAGE_SRID, spatial_index=True),
        Computed("safemap_camera_sector(geom, bearing_deg, fov_deg, range_m)", persisted=True),
    )
    application_id: Mapped[int | None] = mapped_column(
        ForeignKey("applications.id", ondelete="SET NULL"), index=True
    )
    name: Mapped[str | None] = mapped_column(String(128))
    note: Mapped[str | None] = mapped_column(Text)
    installed_at: Mapped[dt.date | None] = mapped_column(Date)
    plan_run_id: Mapped[int | None] = mapped_column(
        ForeignKey("analysis_runs.id", ondelete="SET NULL"),
        index=True,
        comment="the placement run that suggested this camera",
    )
    marginal_gain: Mapped[float | None] = mapped_column(
        Float, comment="demand weight this camera adds to what the others already see"
    )
    created_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    version: Mapped[int] = _version()
    is_demo: Mapped[bool] = mapped_column(Boolean, default=False, server_default=text("false"))
    feature = _feature_cache()
    updated_at: Mapped[dt.datetime] = _now()

    __table_args__ = (
        CheckConstraint("bearing_deg >= 0 AND bearing_deg < 360", name="bearing_range"),
        CheckConstraint("fov_deg > 0 AND fov_deg <= 360", name="fov_range"),
        CheckConstraint("range_m > 0 AND range_m <= 500", name="range_range"),
    )


class Incident(Base):
    """A recorded incident, for analysis only. ``geom``: Point, EPSG:3826; ``precision_m`` is
    how far the true place may be from it. Never shown raw outside the police."""

    __tablename__ = "incidents"

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    type: Mapped[str] = mapped_column(String(32))
    occurred_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), index=True)
    geom = _geom("POINT")
    precision_m: Mapped[float] = mapped_column(Float, default=10)
    precinct_id: Mapped[int | None] = mapped_column(ForeignKey("precincts.id"), index=True)
    source: Mapped[str | None] = mapped_column(String(64), comment="where the record came from")
    version: Mapped[int] = _version()
    is_demo: Mapped[bool] = mapped_column(Boolean, default=False, server_default=text("false"))
    feature = _feature_cache()


class PatrolBlock(Base):
    """A patrol block (治安區塊) offered for adoption. ``geom``: Polygon, EPSG:3826."""

    __tablename__ = "patrol_blocks"

    id: Mapped[int] = mapped_column(primary_key=True)
    community_id: Mapped[int] = mapped_column(ForeignKey("communities.id"), index=True)
    name: Mapped[str] = mapped_column(String(64))
    risk: Mapped[float] = mapped_column(Float, default=0)
    geom = _geom("POLYGON")
    source: Mapped[str] = mapped_column(
        String(16), default="hand", server_default="hand", comment="grid, street, census or hand"
    )
    version: Mapped[int] = _version()
    is_demo: Mapped[bool] = mapped_column(Boolean, default=False, server_default=text("false"))
    updated_at: Mapped[dt.datetime] = _now()


class Adopter(Base):
    """An agency, school or company whose guards patrol adopted blocks."""

    __tablename__ = "adopters"

    id: Mapped[int] = mapped_column(primary_key=True)
    community_id: Mapped[int] = mapped_column(ForeignKey("communities.id"), index=True)
    name: Mapped[str] = mapped_column(String(128))
    kind: Mapped[OrganisationKind] = mapped_column(_enum(OrganisationKind, "organisation_kind"))
    guards: Mapped[int] = mapped_column(Integer, default=1)
    hours: Mapped[str | None] = mapped_column(String(64), comment="adopted hours, e.g. 18:00-24:00")
    term_start: Mapped[dt.date | None] = mapped_column(Date)
    term_end: Mapped[dt.date | None] = mapped_column(Date)
    contact_name: Mapped[str | None] = mapped_column(String(64))
    phone: Mapped[str | None] = mapped_column(String(32))
    geom = _geom("POINT", nullable=True)  # where its guards start from, for pairing by distance
    version: Mapped[int] = _version()
    is_demo: Mapped[bool] = mapped_column(Boolean, default=False, server_default=text("false"))

    __table_args__ = (CheckConstraint("guards >= 0", name="guards_non_negative"),)


block_adoptions = Table(
    "block_adoptions",
    Base.metadata,
    Column("block_id", ForeignKey("patrol_blocks.id", ondelete="CASCADE"), primary_key=True),
    Column("adopter_id", ForeignKey("adopters.id", ondelete="CASCADE"), primary_key=True),
)


class PatrolRoute(Base):
    """A watch team's patrol route (守望相助隊巡守路線). ``geom``: (Multi)LineString, EPSG:3826.

    ``schedule`` holds the patrol times, e.g. ``{"days": [1, 3, 5], "start": "20:00",
    "end": "23:00"}`` (ISO weekdays, local time)."""

    __tablename__ = "patrol_routes"

    id: Mapped[int] = mapped_column(primary_key=True)
    community_id: Mapped[int] = mapped_column(ForeignKey("communities.id"), index=True)
    team_name: Mapped[str] = mapped_column(String(128))
    name: Mapped[str | None] = mapped_column(String(128))
    schedule: Mapped[dict] = mapped_column(JSONB, default=dict)
    geom = _geom("GEOMETRY")
    version: Mapped[int] = _version()
    is_demo: Mapped[bool] = mapped_column(Boolean, default=False, server_default=text("false"))
    updated_at: Mapped[dt.datetime] = _now()

    __table_args__ = (
        CheckConstraint(
            "GeometryType(geom) IN ('LINESTRING', 'MULTILINESTRING')", name="geom_kind"
        ),
    )


class SafetyMeeting(Base):
    """A community safety meeting (社區治安會議). ``geom``: its place (Point, EPSG:3826), if drawn."""

    __tablename__ = "safety_meetings"

    id: Mapped[int] = mapped_column(primary_key=True)
    community_id: Mapped[int] = mapped_column(ForeignKey("communities.id"), index=True)
    held_on: Mapped[dt.date] = mapped_column(Date, index=True)
    place: Mapped[str] = mapped_column(String(128))
    attendees: Mapped[int] = mapped_column(Integer, default=0)
    attendee_names: Mapped[str | None] = mapped_column(Text)
    minutes: Mapped[str] = mapped_column(Text, default="")
    geom = _geom("POINT", nullable=True)
    version: Mapped[int] = _version()
    is_demo: Mapped[bool] = mapped_column(Boolean, default=False, server_default=text("false"))
    updated_at: Mapped[dt.datetime] = _now()

    __table_args__ = (CheckConstraint("attendees >= 0", name="attendees_non_negative"),)


AUDIT_PARAMETERS = (
    "lighting",
    "openness",
    "visibility",
    "people",
    "security",
    "walk_path",
    "transport",
    "gender_usage",
    "feeling",
)


class SafetyAudit(Base):
    """A women's-safety walk audit of a street segment or area. ``geom``: line or polygon, EPSG:3826.

    Each of the nine parameters is scored 0-3; ``score`` is 1 + 9 x (sum / 27), i.e. 1-10,
    computed by the database. A re-audit after fixes points at the audit it repeats.
    """

    __tablename__ = "safety_audits"

    id: Mapped[int] = mapped_column(primary_key=True)
    community_id: Mapped[int] = mapped_column(ForeignKey("communities.id"), index=True)
    place_name: Mapped[str] = mapped_column(String(128))
    period: Mapped[TimeOfDay] = mapped_column(_enum(TimeOfDay, "time_of_day"))
    audited_on: Mapped[dt.date] = mapped_column(Date)
    auditors: Mapped[str | None] = mapped_column(Text)
    lighting: Mapped[int] = mapped_column(Integer)
    openness: Mapped[int] = mapped_column(Integer)
    visibility: Mapped[int] = mapped_column(Integer)
    people: Mapped[int] = mapped_column(Integer)
    security: Mapped[int] = mapped_column(Integer)
    walk_path: Mapped[int] = mapped_column(Integer)
    transport: Mapped[int] = mapped_column(Integer)
    gender_usage: Mapped[int] = mapped_column(Integer)
    feeling: Mapped[int] = mapped_column(Integer)
    score: Mapped[float] = mapped_column(
        Numeric(4, 1),
        Computed(
            "round(1 + 9 * (lighting + openness + visibility + people + security + walk_path"
            " + transport + gender_usage + feeling)::numeric / 27, 1)",
            persisted=True,
        ),
    )
    follow_up_of: Mapped[int | None] = mapped_column(
        ForeignKey("safety_audits.id", ondelete="SET NULL"), index=True
    )
    notes: Mapped[str] = mapped_column(Text, default="")
    geom = _geom("GEOMETRY")
    version: Mapped[int] = _version()
    is_demo: Mapped[bool] = mapped_column(Boolean, default=False, server_default=text("false"))
    updated_at: Mapped[dt.datetime] = _now()

    __table_args__ = (
        *(CheckConstraint(f"{p} BETWEEN 0 AND 3", name=f"{p}_range") for p in AUDIT_PARAMETERS),
        CheckConstraint("period IN ('day', 'night')", name="period_day_or_night"),
        CheckConstraint(
            "GeometryType(geom) IN ('LINESTRING', 'MULTILINESTRING', 'POLYGON', 'MULTIPOLYGON')",
            name="geom_kind",
        ),
    )


class HazardPhoto(Base):
    """A photo of a hazard, kept in the database so it is saved or dropped with its record."""

    __tablename__ = "hazard_photos"

    id: Mapped[int] = mapped_column(primary_key=True)
    hazard_id: Mapped[int] = mapped_column(ForeignKey("hazards.id", ondelete="CASCADE"), index=True)
    filename: Mapped[str] = mapped_column(String(255))
    content_type: Mapped[str] = mapped_column(String(64))
    size_bytes: Mapped[int] = mapped_column(Integer)
    data: Mapped[bytes] = mapped_column(LargeBinary)
    caption: Mapped[str | None] = mapped_column(String(255))
    uploaded_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    uploaded_at: Mapped[dt.datetime] = _now()


class LayerHistory(Base):
    """Who changed which layer record, when, from what to what; written by a trigger on each
    layer table (migration 0002) so no writer can skip it. ``old``/``new`` hold the row as
    JSON (geometry as GeoJSON in EPSG:3826)."""

    __tablename__ = "layer_history"

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    layer: Mapped[str] = mapped_column(String(32))
    record_id: Mapped[int] = mapped_column(BigInteger)
    action: Mapped[str] = mapped_column(String(8))
    version: Mapped[int | None] = mapped_column(Integer)
    actor_id: Mapped[int | None] = mapped_column(Integer)
    at: Mapped[dt.datetime] = _now()
    old: Mapped[dict | None] = mapped_column(JSONB)
    new: Mapped[dict | None] = mapped_column(JSONB)

    __table_args__ = (Index("ix_layer_history_layer_record", "layer", "record_id"),)


# --------------------------------------------------------------------------- analysis
class StreetSegment(Base):
    """A street centreline between two intersections. ``geom``: LineString, EPSG:3826;
    ``length_m`` is computed by the database from it."""

    __tablename__ = "street_segments"

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    name: Mapped[str | None] = mapped_column(String(128))
    road_class: Mapped[str | None] = mapped_column(String(32))
    source: Mapped[str | None] = mapped_column(String(128), comment="file or extract it came from")
    district_id: Mapped[int | None] = mapped_column(ForeignKey("districts.id"), index=True)
    geom = _geom("LINESTRING")
    length_m: Mapped[float] = mapped_column(
        Float, Computed("ST_Length(geom)", persisted=True), comment="metres (EPSG:3826)"
    )


class AnalysisRun(Base):
    """One saved analysis (hotspots, blind spots, placement, coverage, adoption): its inputs,
    parameters, summary figures and when it ran, so runs can be compared month to month."""

    __tablename__ = "analysis_runs"

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(32), index=True)
    scope_kind: Mapped[str] = mapped_column(
        String(16), comment="city, district, precinct or community"
    )
    scope_id: Mapped[int | None] = mapped_column(Integer)
    params: Mapped[dict] = mapped_column(JSONB, default=dict)
    summary: Mapped[dict] = mapped_column(JSONB, default=dict)
    created_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[dt.datetime] = _now()
    duration_ms: Mapped[int | None] = mapped_column(Integer)

    __table_args__ = (
        CheckConstraint(
            "scope_kind IN ('city', 'district', 'precinct', 'community')", name="scope_kind_known"
        ),
    )


class HotspotCell(Base):
    """A grid cell of a hotspot run (EPSG:3826 square): count, Gi* z and p, FDR-adjusted
    significance and its class. Only cells with incidents or significance are kept."""

    __tablename__ = "hotspot_cells"

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    run_id: Mapped[int] = mapped_column(
        ForeignKey("analysis_runs.id", ondelete="CASCADE"), index=True
    )
    i: Mapped[int] = mapped_column(Integer)
    j: Mapped[int] = mapped_column(Integer)
    count: Mapped[int] = mapped_column(Integer)
    density: Mapped[float | None] = mapped_column(Float)
    z: Mapped[float | None] = mapped_column(Float)
    p: Mapped[float | None] = mapped_column(Float)
    significant: Mapped[bool] = mapped_column(Boolean, default=False)
    cls: Mapped[str] = mapped_column(
        String(16), comment="hot99/hot95/hot90/cold…/none, or a space-time class"
    )
    geom = _geom("POLYGON")


class BlindSpot(Base):
    """A place no camera, adopted block or patrol route covers, ranked by risk, with reasons."""

    __tablename__ = "blind_spots"

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    run_id: Mapped[int] = mapped_column(
        ForeignKey("analysis_runs.id", ondelete="CASCADE"), index=True
    )
    rank: Mapped[int] = mapped_column(Integer)
    risk: Mapped[float] = mapped_column(Float)
    reasons: Mapped[list] = mapped_column(
        JSONB, default=list, comment="no_camera, not_adopted, not_patrolled"
    )
    source_kind: Mapped[str] = mapped_column(String(16), comment="hotspot_cell or hazard")
    source_id: Mapped[int | None] = mapped_column(BigInteger)
    community_id: Mapped[int | None] = mapped_column(ForeignKey("communities.id"), index=True)
    district_id: Mapped[int | None] = mapped_column(ForeignKey("districts.id"), index=True)
    precinct_id: Mapped[int | None] = mapped_column(ForeignKey("precincts.id"), index=True)
    geom = _geom("GEOMETRY")


# --------------------------------------------------------------------------- audit
class AuditLog(Base):
    """Append-only record of who changed what (imports, logins, administrative edits)."""

    __tablename__ = "audit_log"

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    at: Mapped[dt.datetime] = _now()
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    action: Mapped[str] = mapped_column(String(64))
    entity: Mapped[str] = mapped_column(String(64))
    entity_id: Mapped[str | None] = mapped_column(String(64))
    detail: Mapped[dict] = mapped_column(JSONB, default=dict)

    __table_args__ = (Index("ix_audit_log_entity", "entity", "entity_id"),)


from . import models_workflow  # noqa: E402,F401  (workflow tables register on Base.metadata)

# isort: split
from . import models_services  # noqa: E402,F401  (service tables register on Base.metadata)

# isort: split
from . import models_reports  # noqa: E402,F401  (residents' reports register on Base.metadata)

# isort: split
from . import models_buildings  # noqa: E402,F401  (building footprints register on Base.metadata)
