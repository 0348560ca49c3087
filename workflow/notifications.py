"""In-app notifications: the next actor of a transition, an overdue monthly report, a claim to
check. One row per recipient user, so each reads and clears their own."""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import func, or_, select, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.orm import Session

from geo.enums import Role
from geo.models import Community, User
from geo.models_workflow import Notification

from .access import Actor, require_signed_in

# Who an audience is, for a community: its organisation, its precinct, its station, the city.
AUDIENCES = ("community", "precinct", "station", "city", "counselling")


def recipients(session: Session, audiences: Iterable[str], community: Community) -> list[int]:
    conditions = []
    for audience in set(audiences):
        match audience:
            case "community":
                conditions.append(
                    (User.role == Role.community)
                    & (User.organisation_id == community.organisation_id)
                )
            case "precinct":
                conditions.append(
                    (User.role == Role.precinct) & (User.precinct_id == community.precinct_id)
                )
            case "station":
                if community.station_id is not None:
                    conditions.append(
                        (User.role == Role.station) & (User.station_id == community.station_id)
                    )
            case "city":
                conditions.append(User.role == Role.city_police)
            case "counselling":
                conditions.append(User.role == Role.counselling)
            case _:
                raise ValueError(audience)
    if not conditions:
        return []
    return list(
        session.scalars(
            select(User.id).where(User.is_active.is_(True), or_(*conditions)).order_by(User.id)
        )
    )


def notify(
    session: Session,
    audiences: Iterable[str],
    community: Community,
    *,
    kind: str,
    title: str,
    body: str = "",
    link: str | None = None,
    application_id: int | None = None,
    dedupe_key: str | None = None,
    exclude_user: int | None = None,
) -> int:
    """Notify every active user of the audiences; with ``dedupe_key`` a user is told once."""
    users = [u for u in recipients(session, audiences, community) if u != exclude_user]
    if not users:
        return 0
    rows = [
        {
            "user_id": u,
            "kind": kind,
            "title": title[:255],
            "body": body,
            "link": link,
            "application_id": application_id,
            "dedupe_key": dedupe_key,
        }
        for u in users
    ]
    result = session.execute(
        insert(Notification)
        .values(rows)
        .on_conflict_do_nothing(index_elements=["user_id", "dedupe_key"])
        .returning(Notification.id)
    )
    return len(result.all())


def _json(n: Notification) -> dict:
    return {
        "id": n.id,
        "kind": n.kind,
        "title": n.title,
        "body": n.body,
        "link": n.link,
        "application_id": n.application_id,
        "created_at": n.created_at.isoformat() if n.created_at else None,
        "read": n.read_at is not None,
    }


def list_mine(
    session: Session, actor: Actor, *, unread_only: bool = False, limit: int = 100
) -> dict:
    require_signed_in(actor)
    where = [Notification.user_id == actor.user_id]
    if unread_only:
        where.append(Notification.read_at.is_(None))
    rows = session.scalars(
        select(Notification).where(*where).order_by(Notification.id.desc()).limit(limit)
    ).all()
    unread = session.scalar(
        select(func.count())
        .select_from(Notification)
        .where(Notification.user_id == actor.user_id, Notification.read_at.is_(None))
    )
    return {"unread": unread, "items": [_json(n) for n in rows]}


def mark_read(session: Session, actor: Actor, ids: list[int] | None = None) -> int:
    """Mark the caller's notifications read (``ids``, or all of them)."""
    require_signed_in(actor)
    stmt = (
        update(Notification)
        .where(Notification.user_id == actor.user_id, Notification.read_at.is_(None))
        .values(read_at=func.now())
    )
    if ids:
        stmt = stmt.where(Notification.id.in_(ids))
    return session.execute(stmt.returning(Notification.id)).all().__len__()
