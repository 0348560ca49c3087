"""Typed dependencies named for their role: the session, the caller, the caller's scope."""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import OAuth2PasswordBearer
from sqlalchemy.orm import Session

from geo.errors import PermissionDenied
from geo.models import User
from workflow.access import ANONYMOUS, Actor, require_signed_in
from workflow.auth import InvalidToken, read_token

from .settings import AppSettings

oauth2_scheme = OAuth2PasswordBearer(tokenUrl="/api/auth/token", auto_error=False)


def get_settings(request: Request) -> AppSettings:
    return request.app.state.settings


def get_session(request: Request) -> Iterator[Session]:
    """One transaction per request: committed when the handler returns, rolled back on error."""
    factory = request.app.state.sessionmaker
    with factory() as session, session.begin():
        yield session


SettingsDep = Annotated[AppSettings, Depends(get_settings)]
SessionDep = Annotated[Session, Depends(get_session)]


SESSION_COOKIE = "safemap_session"
CSRF_COOKIE = "safemap_csrf"
UNSAFE = frozenset({"POST", "PUT", "PATCH", "DELETE"})


def get_user(
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    token: Annotated[str | None, Depends(oauth2_scheme)],
) -> User | None:
    """The caller: a bearer token (API clients) or the signed-in browser's session cookie."""
    token = _credential(request, token)
    if token is None:
        return None
    user_id = read_token(token, settings.auth.secret_key or "")
    user = session.get(User, user_id)
    if user is None or not user.is_active:
        raise InvalidToken(detail=f"user {user_id} missing or inactive")
    return user


def _credential(request: Request, bearer: str | None) -> str | None:
    """The token the request carries: its bearer token, else the session cookie.

    A cookie travels with every request the browser makes, including ones another site
    triggers, so cookie-authenticated writes must also echo the CSRF cookie's value in a form
    field or the ``X-CSRF-Token`` header (double-submit); bearer tokens need no such check.
    """
    if bearer:
        return bearer
    token = request.cookies.get(SESSION_COOKIE)
    if not token:
        return None
    # Pages under /app check the form's token themselves (see api/routes/pages.py).
    if (
        request.method in UNSAFE
        and not request.url.path.startswith("/app/")
        and not _csrf_ok(request)
    ):
        raise PermissionDenied(
            "表單已過期或來源不明，請重新整理頁面後再送出。", detail="csrf mismatch"
        )
    return token


BearerToken = Annotated[str | None, Depends(oauth2_scheme)]


@contextmanager
def read_only_session(request: Request) -> Iterator[Session]:
    """A session for a read-only request on a hot path (OGC pages): autocommit, so reading
    costs no BEGIN and COMMIT round trips. Writes through it would not be transactional.

    An override of :func:`get_session` (the tests' rolled-back transaction) is used instead.
    """
    override = request.app.dependency_overrides.get(get_session)
    if override is not None:
        with contextmanager(override)() as session:
            yield session
        return
    engine = getattr(request.app.state, "engine", None)
    if engine is None:  # an app given a sessionmaker rather than started with an engine
        with contextmanager(get_session)(request) as session:
            yield session
        return
    with (
        engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn,
        Session(bind=conn) as session,
    ):
        yield session


def read_actor(request: Request, session: Session, bearer: str | None) -> Actor:
    """The caller as an :class:`Actor` with one narrow query, for routes that run their
    whole work in one worker thread (see :func:`read_only_session`)."""
    token = _credential(request, bearer)
    if token is None:
        return ANONYMOUS
    user_id = read_token(token, request.app.state.settings.auth.secret_key or "")
    actor = Actor.of_user_id(session, user_id)
    if actor is None:
        raise InvalidToken(detail=f"user {user_id} missing or inactive")
    return actor


def _csrf_ok(request: Request, sent: str | None = None) -> bool:
    expected = request.cookies.get(CSRF_COOKIE)
    sent = sent if sent is not None else request.headers.get("X-CSRF-Token")
    return bool(expected) and sent is not None and secrets.compare_digest(expected, sent)


OptionalUser = Annotated[User | None, Depends(get_user)]


def get_actor(user: OptionalUser) -> Actor:
    """The caller's role and jurisdiction; anonymous callers are residents."""
    return Actor.from_user(user) if user else ANONYMOUS


ActorDep = Annotated[Actor, Depends(get_actor)]


def get_signed_in_actor(actor: ActorDep) -> Actor:
    require_signed_in(actor)
    return actor


SignedInActor = Annotated[Actor, Depends(get_signed_in_actor)]


def get_current_user(user: OptionalUser) -> User:
    if user is None:
        require_signed_in(ANONYMOUS)
    assert user is not None
    return user


CurrentUser = Annotated[User, Depends(get_current_user)]
