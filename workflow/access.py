"""Who may see what: the one place that turns an actor into row filters.

Every list and every read of a jurisdiction-bound record goes through these filters, so a
precinct never reads another precinct's records and a community only its own. Records out
of scope are reported as not found, which does not reveal that they exist.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import ColumnElement, bindparam, false, or_, select, true
from sqlalchemy.orm import Session

from geo.enums import Role
from geo.errors import NotAuthenticated, NotFound, PermissionDenied
from geo.models import (
    Application,
    Community,
    User,
    community_villages,
    precinct_villages,
    station_villages,
)
from geo.models_reports import ResidentReport

# Roles that work city-wide (PROGRAM.md): the bureau, city leaders (read-only), the
# counselling team, the fire and social-affairs bureaus, and system administrators.
CITY_WIDE_ROLES = frozenset(
    {
        Role.city_police,
        Role.leader,
        Role.counselling,
        Role.fire_bureau,
        Role.social_affairs,
        Role.admin,
    }
)
POLICE_ROLES = frozenset({Role.station, Role.precinct, Role.city_police, Role.admin})


@dataclass(frozen=True)
class Actor:
    """The caller as the rules see it: a role and a jurisdiction (None for residents)."""

    user_id: int | None
    role: Role | None
    precinct_id: int | None = None
    station_id: int | None = None
    district_id: int | None = None
    organisation_id: int | None = None

    @classmethod
    def from_user(cls, user: User) -> Actor:
        return cls(
            user_id=user.id,
            role=user.role,
            precinct_id=user.precinct_id,
            station_id=user.station_id,
            district_id=user.district_id,
            organisation_id=user.organisation_id,
        )

    @classmethod
    def of_user_id(cls, session: Session, user_id: int) -> Actor | None:
        """The active user's actor with one narrow query (no ORM object): for hot read paths
        such as OGC pages. None when the user is missing or deactivated."""
        row = session.execute(_ACTOR_ROW, {"user_id": user_id}).first()
        if row is None or not row.is_active:
            return None
        return cls(
            user_id=user_id,
            role=row.role,
            precinct_id=row.precinct_id,
            station_id=row.station_id,
            district_id=row.district_id,
            organisation_id=row.organisation_id,
        )

    @property
    def anonymous(self) -> bool:
        return self.role is None

    @property
    def city_wide(self) -> bool:
        return self.role in CITY_WIDE_ROLES


ANONYMOUS = Actor(user_id=None, role=None)

# Built once: this runs on every OGC page.
_ACTOR_ROW = select(
    User.role,
    User.precinct_id,
    User.station_id,
    User.district_id,
    User.organisation_id,
    User.is_active,
).where(User.id == bindparam("user_id"))


def community_filter(actor: Actor) -> ColumnElement[bool]:
    """Rows of ``communities`` the actor may read."""
    if actor.city_wide:
        return true()
    match actor.role:
        case Role.precinct:
            return Community.precinct_id == actor.precinct_id
        case Role.station:
            beat = (
                select(community_villages.c.community_id)
                .join(
                    station_villages,
                    station_villages.c.village_id == community_villages.c.village_id,
                )
                .where(station_villages.c.station_id == actor.station_id)
            )
            return or_(Community.station_id == actor.station_id, Community.id.in_(beat))
        case Role.district_office:
            return Community.district_id == actor.district_id
        case Role.community:
            return Community.organisation_id == actor.organisation_id
    return false()


def village_in_jurisdiction(actor: Actor, village_id_col) -> ColumnElement[bool]:
    """Whether a village (given as a column) lies in the actor's jurisdiction."""
    if actor.city_wide:
        return true()
    match actor.role:
        case Role.precinct:
            return village_id_col.in_(
                select(precinct_villages.c.village_id).where(
                    precinct_villages.c.precinct_id == actor.precinct_id
                )
            )
        case Role.station:
            return village_id_col.in_(
                select(station_villages.c.village_id).where(
                    station_villages.c.station_id == actor.station_id
                )
            )
    return false()


def require_signed_in(actor: Actor) -> None:
    if actor.anonymous:
        raise NotAuthenticated(detail="anonymous caller")


def require_role(actor: Actor, *roles: Role) -> None:
    require_signed_in(actor)
    if actor.role not in roles:
        raise PermissionDenied(detail=f"role {actor.role} not in {roles}")


def get_community(session: Session, actor: Actor, community_id: int) -> Community:
    """The community if the actor may read it; otherwise NotFound (existence is not revealed)."""
    require_signed_in(actor)
    community = session.scalar(
        select(Community).where(Community.id == community_id, community_filter(actor))
    )
    if community is None:
        raise NotFound(
            "找不到此社區，或您沒有權限查看。", detail=f"community {community_id} out of scope"
        )
    return community


# --------------------------------------------------------------------------- applications
# Applications, and every workflow record hanging off one (forms, monthly reports, claims,
# files, nominations), are read through their community: the same jurisdictions as above.
def application_filter(actor: Actor) -> ColumnElement[bool]:
    """Rows of ``applications`` the actor may read."""
    if actor.city_wide:
        return true()
    return Application.community_id.in_(select(Community.id).where(community_filter(actor)))


def get_application(session: Session, actor: Actor, application_id: int) -> Application:
    """The application if the actor may read it; otherwise NotFound."""
    require_signed_in(actor)
    application = session.scalar(
        select(Application).where(Application.id == application_id, application_filter(actor))
    )
    if application is None:
        raise NotFound(
            "找不到此申請案，或您沒有權限查看。",
            detail=f"application {application_id} out of scope",
        )
    return application


def require_applicant(actor: Actor, community: Community) -> None:
    """Only the community organisation itself files its own forms, reports and claims; anyone
    else is told the record is not found (as for any record out of scope)."""
    require_role(actor, Role.community)
    if community.organisation_id != actor.organisation_id:
        raise NotFound(detail=f"community {community.id} is not the caller's")


# --------------------------------------------------------------------------- residents' reports
def resident_report_filter(actor: Actor, report=None) -> ColumnElement[bool]:
    """Rows of ``resident_reports`` (or of the alias ``report``) the actor may triage: the
    community the point falls in, the precinct and the station beat it lies in, the city
    police city-wide. Nobody else: the rows hold residents' contact details."""
    r = report if report is not None else ResidentReport
    match actor.role:
        case Role.city_police | Role.admin:
            return true()
        case Role.precinct:
            return r.precinct_id == actor.precinct_id
        case Role.station:
            beat = select(station_villages.c.village_id).where(
                station_villages.c.station_id == actor.station_id
            )
            return or_(
                r.village_id.in_(beat),
                r.community_id.in_(select(Community.id).where(community_filter(actor))),
            )
        case Role.community:
            return r.community_id.in_(select(Community.id).where(community_filter(actor)))
    return false()
