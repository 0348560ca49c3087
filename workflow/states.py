"""Application states: one enum, one table of allowed moves, one audited ``transition()``.

No code anywhere else assigns ``Application.status``. ``transition()`` also stores the
move's attachments with its audit row, tells the next actor in the app
(``workflow.notifications``) and, given an idempotency key, acts once per key.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from geo.enums import ApplicationStatus as S
from geo.enums import Role
from geo.errors import SafemapError
from geo.models import Application, ApplicationEvent, ProgramYear

from . import files, idempotency, notifications
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
    # The city may send a forwarded application back to the precinct's queue for another
    # initial review (層轉: the precinct, not the community, answers the city).
    _m(S.forwarded, S.submitted, "退回分局重新審查", Role.city_police),
    _m(S.forwarded, S.withdrawn, "撤回", Role.community),
    _m(S.forwarded, S.approved, "核定補助", Role.city_police),
    _m(S.forwarded, S.not_selected, "未獲核定", Role.city_police),
    # A seat given up or added (「視經費狀況酌以增減」) goes to an application not selected;
    # the quota is checked again as for any approval.
    _m(S.not_selected, S.approved, "備取遞補核定", Role.city_police),
    _m(S.approved, S.withdrawn, "放棄補助", Role.community),
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
    idempotency_key: str | None = None,
    notify: bool = True,
) -> ApplicationEvent | None:
    """Move ``application`` to ``target`` on behalf of ``actor`` and audit it.

    Repeating a move that has already happened is harmless and returns None (a double
    click or a retried request must not fail or write twice). With ``idempotency_key`` the
    same key returns the first move's event even after later moves.

    ``attachments``: ids of files uploaded to the application (``workflow.files``), or
    ready-made descriptions (dicts); they are kept with the audit row.

    Raises
    ------
    InvalidTransition : the move is not in the table for this state and role.
    QuotaExceeded : approving would pass the year's quota.
    NotFound : the application's community is outside the actor's jurisdiction.
    """
    if idempotency_key is not None:
        scope = f"transition:{application.id}"
        payload = {"target": target.value, "comment": comment, "attachments": attachments}
        first = idempotency.run(
            session,
            actor,
            idempotency_key,
            scope,
            payload,
            lambda: _event_ref(
                transition(
                    session,
                    application,
                    target,
                    actor,
                    comment=comment,
                    attachments=attachments,
                    notify=notify,
                )
            ),
        )
        return session.get(ApplicationEvent, first["event_id"]) if first.get("event_id") else None
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
    described = _attachments(session, application.id, attachments)  # checked before any change
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
        attachments=described,
    )
    session.add(event)
    session.flush()
    if notify:
        _notify_next(session, application, source, target, comment)
    return event


def _event_ref(event: ApplicationEvent | None) -> dict:
    return {"event_id": event.id if event is not None else None}


def _attachments(session: Session, application_id: int, attachments: list | None) -> list:
    ids = [a for a in attachments or [] if isinstance(a, int)]
    described = [a for a in attachments or [] if not isinstance(a, int)]
    found = files.checked_files(session, application_id, ids)
    return [
        {k: v for k, v in files.file_json(f).items() if k != "sha256"} for f in found
    ] + described


# Who acts next after each move (PROGRAM.md, the yearly cycle), and who is told the outcome.
NEXT_ACTOR: dict[S, tuple[str, ...]] = {
    S.submitted: ("precinct",),
    S.returned: ("community",),
    S.rejected: ("community",),
    S.forwarded: ("city",),
    S.approved: ("community", "precinct", "station"),
    S.not_selected: ("community", "precinct"),
    S.in_progress: ("precinct", "station"),
    S.completed: ("community", "precinct", "station"),
    S.withdrawn: ("precinct",),
}
NOTICE: dict[S, str] = {
    S.submitted: "「{c}」民國 {y} 年度申請案已送達，請受理初審。",
    S.returned: "「{c}」民國 {y} 年度申請案退回補正，請修正後重新送出。",
    S.rejected: "「{c}」民國 {y} 年度申請案不予受理。",
    S.forwarded: "「{c}」民國 {y} 年度申請案經分局初審通過並轉報，請複審核定。",
    S.approved: "「{c}」民國 {y} 年度申請案經市府核定補助。",
    S.not_selected: "「{c}」民國 {y} 年度申請案未獲核定。",
    S.in_progress: "「{c}」民國 {y} 年度計畫開始執行，請按月管考。",
    S.completed: "「{c}」民國 {y} 年度計畫已結案。",
    S.withdrawn: "「{c}」民國 {y} 年度申請案已撤回。",
}


def _notify_next(
    session: Session, application: Application, source: S, target: S, comment: str | None
) -> None:
    community = application.community
    audiences = set(NEXT_ACTOR.get(target, ()))
    if target is S.submitted and source is S.forwarded:
        title = "「{c}」民國 {y} 年度申請案經市府退回分局重新審查。"
    else:
        title = NOTICE[target]
    if target is S.returned and source is S.forwarded:
        audiences.add("precinct")  # the city skipped the precinct: it must know too
    if target is S.withdrawn and source in (S.forwarded, S.approved):
        audiences.add("city")
    if target is S.withdrawn and source is S.draft:
        return  # nobody else ever saw the draft
    notifications.notify(
        session,
        audiences,
        community,
        kind=f"application_{target.value}",
        title=title.format(c=community.name, y=application.year - 1911),
        body=comment or "",
        link=f"/api/applications/{application.id}",
        application_id=application.id,
    )


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
