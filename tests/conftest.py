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
from geo.settings import DatabaseSettings, normalise_url

SHARED_DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"


def _test_db_name() -> str:
    if os.environ.get("SAFEMAP_TEST_DB"):
        return os.environ["SAFEMAP_TEST_DB"]
    if os.environ.get("DATABASE_URL"):
        # Never the configured database itself: its data must survive the tests.
        return f"{make_url(normalise_url(os.environ['DATABASE_URL'])).database}_test"
    return "safemap_test"


TEST_DB = _test_db_name()


def recreate_database(settings: DatabaseSettings, name: str) -> None:
    """Drop and create database ``name`` on the test server (empty, no extensions yet)."""
    admin = make_engine(settings, database="postgres", isolation_level="AUTOCOMMIT", pool_size=1)
    with admin.connect() as conn:
        conn.execute(
            text(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                "WHERE datname = :db AND pid <> pg_backend_pid()"
            ),
            {"db": name},
        )
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}"'))
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    admin.dispose()


def fresh_database(settings: DatabaseSettings, suffix: str) -> str:
    """A new, migrated database beside the test database; returns its URL (password shown)."""
    name = f"{TEST_DB}_{suffix}"
    recreate_database(settings, name)
    eng = make_engine(settings, database=name, pool_size=1)
    migrate.upgrade(eng)
    url = eng.url.render_as_string(hide_password=False)
    eng.dispose()
    return url


@pytest.fixture(scope="session")
def db_settings() -> DatabaseSettings:
    return DatabaseSettings()


@pytest.fixture(scope="session")
def engine(db_settings: DatabaseSettings) -> Iterator[Engine]:
    recreate_database(db_settings, TEST_DB)
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


@pytest.fixture(scope="session", autouse=True)
def fast_password_hashing():
    """argon2id with test-sized cost: the same algorithm and code path, a fraction of the
    time (production keeps argon2-cffi's recommended parameters)."""
    from argon2 import PasswordHasher

    from workflow import auth

    original = auth._hasher
    auth._hasher = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)
    yield
    auth._hasher = original


@pytest.fixture(scope="module")
def scratch_engine(db_settings, request) -> Iterator[Engine]:
    """A fresh, migrated database for tests that must commit (concurrency, live servers), so
    nothing they write can reach the shared test database other tests count on."""
    name = request.module.__name__.rsplit(".", 1)[-1][:40]
    url = fresh_database(db_settings, name)
    eng = make_engine(DatabaseSettings(DATABASE_URL=url), pool_size=60, max_overflow=10)
    yield eng
    eng.dispose()
