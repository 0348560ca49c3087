"""Passwords and tokens: argon2id hashes, signed bearer tokens."""

from __future__ import annotations

import datetime as dt

import jwt
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from geo.errors import SafemapError
from geo.models import User

_hasher = PasswordHasher()
TOKEN_ALGORITHM = "HS256"


class AuthenticationFailed(SafemapError):
    code = "authentication_failed"
    message = "帳號或密碼錯誤。"


class InvalidToken(SafemapError):
    code = "invalid_token"
    message = "登入已逾時或憑證無效，請重新登入。"


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def verify_password(password_hash: str, password: str) -> bool:
    try:
        return _hasher.verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


# Verifying against a dummy hash when the user does not exist keeps the response time the
# same, so the login form does not reveal which usernames exist.
_DUMMY_HASH = _hasher.hash("not-a-real-password")


def authenticate(session: Session, username: str, password: str) -> User:
    user = session.scalar(select(User).where(User.username == username))
    if user is None:
        verify_password(_DUMMY_HASH, password)
        raise AuthenticationFailed()
    if not user.is_active or not verify_password(user.password_hash, password):
        raise AuthenticationFailed()
    if _hasher.check_needs_rehash(user.password_hash):
        user.password_hash = hash_password(password)
    user.last_login_at = func.now()
    return user


def issue_token(user: User, secret: str, minutes: int) -> str:
    now = dt.datetime.now(dt.UTC)
    claims = {
        "sub": str(user.id),
        "role": user.role.value,
        "iat": now,
        "exp": now + dt.timedelta(minutes=minutes),
    }
    return jwt.encode(claims, secret, algorithm=TOKEN_ALGORITHM)


def read_token(token: str, secret: str) -> int:
    """User id carried by a valid, unexpired token."""
    try:
        claims = jwt.decode(
            token, secret, algorithms=[TOKEN_ALGORITHM], options={"require": ["exp", "sub"]}
        )
        return int(claims["sub"])
    except (jwt.PyJWTError, ValueError, KeyError) as exc:
        raise InvalidToken(detail=str(exc)) from exc
