"""Test fixtures: a real PostGIS database, migrated once per run, isolated per test.

Without ``DATABASE_URL`` the private cluster in ``.safemap/`` is started (as ``make test``
does). The suite uses its own database (``safemap_test``, or ``SAFEMAP_TEST_DB``), recreated
at the start of every run, and each test runs inside a transaction that is rolled back.
If PostGIS cannot be reached the suite fails; it never skips.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session

from geo import migrate
from geo.db import make_engine
from geo.settings import DatabaseSettings

SHARED_DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"
TEST_DB = os.environ.get("SAFEMAP_TEST_DB", "safemap_test")


def _recreate(settings: DatabaseSettings) -> None:
    admin = make_engine(settings, database="postgres", isolation_level="AUTOCOMMIT", pool_size=1)
    with admin.connect() as conn:
        conn.execute(
            text(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                "WHERE datname = :db AND pid <> pg_backend_pid()"
            ),
            {"db": TEST_DB},
        )
        conn.execute(text(f'DROP DATABASE IF EXISTS "{TEST_DB}"'))
        conn.execute(text(f'CREATE DATABASE "{TEST_DB}"'))
    admin.dispose()


@pytest.fixture(scope="session")
def db_settings() -> DatabaseSettings:
    return DatabaseSettings()


@pytest.fixture(scope="session")
def engine(db_settings: DatabaseSettings) -> Iterator[Engine]:
    _recreate(db_settings)
    eng = make_engine(db_settings, database=TEST_DB)
    assert make_url(str(eng.url)).database == TEST_DB
    migrate.upgrade(eng)
    yield eng
    eng.dispose()


@pytest.fixture
def db(engine: Engine) -> Iterator[Session]:
    """A session whose work is rolled back after the test, commits included."""
    conn = engine.connect()
    trans = conn.begin()
    session = Session(bind=conn, join_transaction_mode="create_savepoint", expire_on_commit=False)
    try:
        yield session
    finally:
        session.close()
        trans.rollback()
        conn.close()


@pytest.fixture
def shared_data() -> Path:
    """The real boundary files of ../shared/data; tests using it skip on a clone without it."""
    if not SHARED_DATA.exists():
        pytest.skip("../shared/data is not present on this machine")
    return SHARED_DATA
