"""Who sees what in the plan's other services, built on the primitives of ``workflow.access``.

- Anti-theft consultations (防竊達人) are police records: the household, its address and its
  precise location are for the police in whose jurisdiction it lies. Every other reader
  gets village-level counts only (``consultation_area_filter``).
- Disaster-prevention requests, promotion events and watch teams belong to a community and
  are read through ``community_filter`` (the fire bureau and social affairs are city-wide
  readers of communities already).
- Protection referrals and care visits (plan 陸、三) are read by social affairs alone, and by
  the person who filed one only until it is received; nothing else, administrators included.
- Bulletins: drafts by their editors, published issues by everyone.

Out-of-scope records are reported as not found, which does not reveal that they exist.
"""

from __future__ import annotations

from sqlalchemy import ColumnElement, and_, false, or_, select, true
from sqlalchemy.orm import Session

from geo.enums import Role
from geo.enums_services import BulletinScope, BulletinStatus, ProtectionStatus
from geo.errors import NotFound, PermissionDenied
from geo.models import Community, community_villages, station_villages
from geo.models_services import (
    BulletinIssue,
    CareVisit,
    Consultation,
    ProtectionReferral,
)

from .access import (
    POLICE_ROLES,
    Actor,
    community_filter,
    get_community,
    require_role,
    require_signed_in,
)

# --------------------------------------------------------------------------- consultations
# Plan 陸、一、(六): households apply 「向警察機關」; community organisations may file for a
# resident (their consultation service, 伍、四、(十)), and police take requests at the desk.
CONSULTATION_FILERS = frozenset({Role.community, Role.station, Role.precinct, Role.city_police})
CONSULTATION_OFFICERS = frozenset({Role.station, Role.precinct, Role.city_police})


def consultation_filter(actor: Actor) -> ColumnElement[bool]:
    """Rows of ``consultations`` the actor may read in full (police in their jurisdiction)."""
    match actor.role:
        case Role.city_police:
            return true()
        case Role.precinct:
            return Consultation.precinct_id == actor.precinct_id
        case Role.station:
            beat = select(station_villages.c.village_id).where(
                station_villages.c.station_id == actor.station_id
            )
            return or_(
                Consultation.station_id == actor.station_id, Consultation.village_id.in_(beat)
            )
    # Administrators run the system, they do not read households' security weaknesses.
    return false()


def consultation_area_filter(actor: Actor) -> ColumnElement[bool]:
    """Rows of ``consultations`` the actor may count (never read) by village and district."""
    require_signed_in(actor)
    if actor.role in POLICE_ROLES and actor.role is not Role.admin:
        return consultation_filter(actor)
    match actor.role:
        case Role.district_office:
            return Consultation.district_id == actor.district_id
        case Role.community:
            villages = (
                select(community_villages.c.village_id)
                .join(Community, Community.id == community_villages.c.community_id)
                .where(community_filter(actor))
            )
            return Consultation.village_id.in_(villages)
        case Role.leader | Role.counselling | Role.fire_bureau | Role.social_affairs | Role.admin:
            return true()
    return false()


def require_consultation_officer(actor: Actor) -> None:
    require_role(actor, *CONSULTATION_OFFICERS)


def get_consultation(
    session: Session, actor: Actor, consultation_id: int, *, for_update: bool = False
) -> Consultation:
    """The consultation if the actor may read it in full; otherwise NotFound."""
    require_signed_in(actor)
    stmt = select(Consultation).where(
        Consultation.id == consultation_id, consultation_filter(actor)
    )
    if for_update:
        stmt = stmt.with_for_update()
    record = session.scalar(stmt)
    if record is None:
        raise NotFound(
            "找不到此防竊諮詢案件，或您沒有權限查看。",
            detail=f"consultation {consultation_id} out of scope",
        )
    return record


# --------------------------------------------------------------------------- communities
def community_for_write(
    session: Session, actor: Actor, community_id: int, roles: frozenset[Role]
) -> Community:
    """The community, if the actor's role may write this service and it is in their scope.

    City leaders, the counselling team and social affairs read; they never write here.
    """
    require_role(actor, *roles)
    return get_community(session, actor, community_id)


def community_ids_in_scope(actor: Actor):
    return select(Community.id).where(community_filter(actor))


# --------------------------------------------------------------------------- protection
# Plan 陸、三、(三)(四): volunteers and watch-team members (through their community
# organisation's account) report; police and district offices also meet such families.
PROTECTION_FILERS = frozenset(
    {Role.community, Role.station, Role.precinct, Role.district_office, Role.social_affairs}
)
PROTECTION_READER = Role.social_affairs


def referral_filter(actor: Actor) -> ColumnElement[bool]:
    """Referrals the actor may read: all for social affairs; the filer's own until received."""
    return _protection_filter(actor, ProtectionReferral)


def care_visit_filter(actor: Actor) -> ColumnElement[bool]:
    return _protection_filter(actor, CareVisit)


def _protection_filter(actor: Actor, model) -> ColumnElement[bool]:
    if actor.anonymous:
        return false()
    if actor.role is PROTECTION_READER:
        return true()
    if actor.role in PROTECTION_FILERS and actor.user_id is not None:
        return and_(model.filed_by == actor.user_id, model.status == ProtectionStatus.submitted)
    return false()


def require_protection_reader(actor: Actor) -> None:
    require_role(actor, PROTECTION_READER)


def require_protection_filer(actor: Actor) -> None:
    require_role(actor, *PROTECTION_FILERS)


# --------------------------------------------------------------------------- bulletins
# Plan 伍、四、(八) the community issues its own bulletin; 伍、三、(七) precincts (and their
# stations) help; 伍、二、(七) district offices help with the city's 「e話」; the bureau runs it.
COMMUNITY_BULLETIN_EDITORS = frozenset(
    {Role.community, Role.station, Role.precinct, Role.city_police}
)
DISTRICT_BULLETIN_EDITORS = frozenset({Role.district_office, Role.city_police})


def bulletin_edit_filter(actor: Actor) -> ColumnElement[bool]:
    """Issues the actor may edit (and so read as drafts)."""
    if actor.anonymous:
        return false()
    conditions = []
    if actor.role in COMMUNITY_BULLETIN_EDITORS:
        conditions.append(
            and_(
                BulletinIssue.scope == BulletinScope.community,
                BulletinIssue.community_id.in_(community_ids_in_scope(actor)),
            )
        )
    if actor.role is Role.city_police:
        conditions.append(BulletinIssue.scope == BulletinScope.district)
    elif actor.role is Role.district_office:
        conditions.append(
            and_(
                BulletinIssue.scope == BulletinScope.district,
                BulletinIssue.district_id == actor.district_id,
            )
        )
    return or_(*conditions) if conditions else false()


def bulletin_read_filter(actor: Actor) -> ColumnElement[bool]:
    """Published issues are public (plan 伍、一、(八): the 「e話」 reaches every resident)."""
    return or_(BulletinIssue.status == BulletinStatus.published, bulletin_edit_filter(actor))


def require_bulletin_editor(actor: Actor, scope: BulletinScope) -> None:
    roles = (
        COMMUNITY_BULLETIN_EDITORS
        if scope is BulletinScope.community
        else DISTRICT_BULLETIN_EDITORS
    )
    require_role(actor, *roles)


def check_district_editor(actor: Actor, district_id: int) -> None:
    if actor.role is Role.district_office and actor.district_id != district_id:
        raise PermissionDenied(
            "區公所只能編輯本行政區的「e話」。", detail=f"district {district_id} out of scope"
        )
