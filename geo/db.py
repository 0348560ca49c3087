"""Engine and session construction."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import Engine, create_engine, text
from sqlalchemy.orm import Session, sessionmaker

from .settings import DatabaseSettings


def make_engine(settings: DatabaseSettings, database: str | None = None, **kwargs) -> Engine:
    """Create the engine for ``settings`` (starting the private cluster when needed)."""
    url = settings.resolved_url(database)
    kwargs.setdefault("pool_size", settings.pool_size)
    kwargs.setdefault("pool_pre_ping", True)
    # Statement parameters can hold victims' names and addresses (protection referrals): never
    # let an error message or SQL echo carry them into a log.
    kwargs.setdefault("hide_parameters", True)
    return create_engine(url, **kwargs)


def make_sessionmaker(engine: Engine) -> sessionmaker[Session]:
    return sessionmaker(bind=engine, expire_on_commit=False)


@contextmanager
def transaction(factory: sessionmaker[Session]) -> Iterator[Session]:
    """One unit of work: commit on success, roll back everything on any error."""
    with factory() as session, session.begin():
        yield session


def server_versions(session: Session) -> dict[str, str]:
    """PostgreSQL and PostGIS versions of the connected server."""
    row = session.execute(
        text("SELECT current_setting('server_version'), postgis_full_version()")
    ).one()
    pg, postgis_full = row
    postgis = postgis_full.split('"')[1] if '"' in postgis_full else postgis_full
    return {"postgresql": pg, "postgis": postgis, "postgis_full": postgis_full}
