"""Typed dependencies named for their role: the session, the caller, the caller's scope."""

from __future__ import annotations

import secrets
import time
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


class RecentActors:
    """Who a token's user is, remembered for ``ttl`` seconds per app.

    A GIS client pages through a layer with many requests in a row, and each would otherwise
    look its user up again. The price: a deactivation or a new role made outside this
    process reaches these read-only pages up to ``ttl`` seconds later (writes and every other
    route still read the user on each request). Inactive users are never remembered.
    """

    def __init__(self, ttl: float = 5.0, size: int = 10_000):
        self.ttl = ttl
        self.size = size
        self._seen: dict[int, tuple[float, Actor]] = {}

    def get(self, user_id: int) -> Actor | None:
        hit = self._seen.get(user_id)
        return hit[1] if hit is not None and hit[0] > time.monotonic() else None

    def clear(self) -> None:
        self._seen.clear()

    def put(self, actor: Actor) -> None:
        if len(self._seen) >= self.size:
            self._seen.clear()  # rare: more distinct users within ttl than size
        self._seen[actor.user_id] = (time.monotonic() + self.ttl, actor)


def read_actor(request: Request, session: Session, bearer: str | None) -> Actor:
    """The caller as an :class:`Actor` with one narrow query (or none, see
    :class:`RecentActors`), for read-only routes that run their whole work in one worker
    thread (see :func:`read_only_session`)."""
    token = _credential(request, bearer)
    if token is None:
        return ANONYMOUS
    user_id = read_token(token, request.app.state.settings.auth.secret_key or "")
    recent: RecentActors | None = getattr(request.app.state, "recent_actors", None)
    actor = recent.get(user_id) if recent is not None else None
    if actor is None:
        actor = Actor.of_user_id(session, user_id)
        if actor is None:
            raise InvalidToken(detail=f"user {user_id} missing or inactive")
        if recent is not None:
            recent.put(actor)
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
