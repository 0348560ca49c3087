"""Typed dependencies named for their role: the session, the caller, the caller's scope."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import OAuth2PasswordBearer
from sqlalchemy.orm import Session

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


def get_user(
    session: SessionDep, settings: SettingsDep, token: Annotated[str | None, Depends(oauth2_scheme)]
) -> User | None:
    if not token:
        return None
    user_id = read_token(token, settings.auth.secret_key or "")
    user = session.get(User, user_id)
    if user is None or not user.is_active:
        raise InvalidToken(detail=f"user {user_id} missing or inactive")
    return user


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
