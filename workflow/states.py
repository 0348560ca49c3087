"""Application states: one enum, one table of allowed moves, one audited ``transition()``.

No code anywhere else assigns ``Application.status``.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from geo.enums import ApplicationStatus as S
from geo.enums import Role
from geo.errors import SafemapError
from geo.models import Application, ApplicationEvent, ProgramYear

from .access import Actor, get_community


class InvalidTransition(SafemapError):
    code = "invalid_transition"
    message = "此申請目前的狀態不能執行這個動作。"


class QuotaExceeded(SafemapError):
    code = "quota_exceeded"
    message = "本年度核定補助名額已滿。"


@dataclass(frozen=True)
class Move:
    source: S
    target: S
    roles: frozenset[Role]
    label: str


def _m(source: S, target: S, label: str, *roles: Role) -> Move:
    return Move(source, target, frozenset(roles), label)


# Who moves an application from where to where (PROGRAM.md, the yearly cycle).
TRANSITIONS: tuple[Move, ...] = (
    _m(S.draft, S.submitted, "送出申請", Role.community),
    _m(S.returned, S.submitted, "補正後重新送出", Role.community),
    _m(S.draft, S.withdrawn, "撤回", Role.community),
    _m(S.returned, S.withdrawn, "撤回", Role.community),
    _m(S.submitted, S.withdrawn, "撤回", Role.community),
    _m(S.submitted, S.returned, "退回補正", Role.precinct),
    _m(S.submitted, S.rejected, "不予受理", Role.precinct),
    _m(S.submitted, S.forwarded, "初審通過並轉報", Role.precinct),
    _m(S.forwarded, S.returned, "退回分局補正", Role.city_police),
    _m(S.forwarded, S.approved, "核定補助", Role.city_police),
    _m(S.forwarded, S.not_selected, "未獲核定", Role.city_police),
    _m(S.approved, S.in_progress, "開始執行", Role.community, Role.city_police),
    _m(S.in_progress, S.completed, "結案", Role.city_police),
)
_BY_PAIR = {(m.source, m.target): m for m in TRANSITIONS}

# States that hold one of the year's subsidies.
SUBSIDISED = (S.approved, S.in_progress, S.completed)


def allowed_moves(status: S, role: Role | None) -> list[Move]:
    return [m for m in TRANSITIONS if m.source == status and role in m.roles]


def transition(
    session: Session,
    application: Application,
    target: S,
    actor: Actor,
    *,
    comment: str | None = None,
    attachments: list | None = None,
) -> ApplicationEvent | None:
    """Move ``application`` to ``target`` on behalf of ``actor`` and audit it.

    Repeating a move that has already happened is harmless and returns None (a double
    click or a retried request must not fail or write twice).

    Raises
    ------
    InvalidTransition : the move is not in the table for this state and role.
    QuotaExceeded : approving would pass the year's quota.
    NotFound : the application's community is outside the actor's jurisdiction.
    """
    # Lock the row so two reviewers acting at once see each other's result.
    session.refresh(application, with_for_update=True)
    get_community(session, actor, application.community_id)
    source = application.status
    if source == target:
        return None
    move = _BY_PAIR.get((source, target))
    if move is None or actor.role not in move.roles:
        raise InvalidTransition(
            f"申請狀態為「{source.label}」時，{actor.role.label if actor.role else '訪客'}不能執行「{target.label}」。",
            detail=f"{source} -> {target} by {actor.role}",
        )
    if target is S.approved:
        _check_quota(session, application.year)
    application.status = target
    application.version += 1
    application.updated_at = func.now()
    event = ApplicationEvent(
        application_id=application.id,
        actor_id=actor.user_id,
        actor_role=actor.role.value,
        from_status=source.value,
        to_status=target.value,
        comment=comment,
        attachments=attachments or [],
    )
    session.add(event)
    session.flush()
    return event


def _check_quota(session: Session, year: int) -> None:
    # The program-year row is the lock: concurrent approvals queue here, so each one counts
    # the approvals committed before it and the quota holds under any concurrency.
    program = session.execute(
        select(ProgramYear).where(ProgramYear.year == year).with_for_update()
    ).scalar_one()
    approved = session.scalar(
        select(func.count())
        .select_from(Application)
        .where(Application.year == year, Application.status.in_(SUBSIDISED))
    )
    if approved >= program.quota:
        raise QuotaExceeded(
            f"民國 {year - 1911} 年度核定名額 {program.quota} 個已滿。",
            detail=f"{approved}/{program.quota}",
        )
