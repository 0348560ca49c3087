"""Helpers shared by the `safemap` sub-command modules (console, errors, sessions, progress)."""

from __future__ import annotations

import functools

import typer
from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

from geo.errors import SafemapError

console = Console()
err = Console(stderr=True)


def handle_errors(fn):
    """Print domain errors as a zh-TW message and exit non-zero (no traceback for users)."""

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        try:
            return fn(*args, **kwargs)
        except SafemapError as exc:
            err.print(f"[bold red]錯誤[/]：{exc.message}")
            if exc.detail:
                err.print(f"[dim]{exc.code}: {_escape(exc.detail)}[/]")
            raise typer.Exit(code=1) from None

    return wrapper


def _escape(s: str) -> str:
    from rich.markup import escape

    return escape(s[:2000])


def _sessionmaker():
    from geo.db import make_engine, make_sessionmaker
    from geo.settings import DatabaseSettings

    return make_sessionmaker(make_engine(DatabaseSettings(), pool_size=2))


def _progress() -> Progress:
    return Progress(
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        TextColumn("{task.percentage:>3.0f}%"),
        TimeElapsedColumn(),
        console=err,
        transient=False,
    )


def _cli_actor(session, username: str | None):
    """The account a CLI job acts as: ``--user`` or, by default, a system administrator."""
    from sqlalchemy import select

    from geo.enums import Role
    from geo.errors import InvalidInput
    from geo.models import User
    from workflow.access import Actor

    if username is None:
        return Actor(user_id=None, role=Role.admin)
    user = session.scalar(select(User).where(User.username == username))
    if user is None:
        raise InvalidInput(f"找不到帳號：{username}", detail=username)
    return Actor.from_user(user)
