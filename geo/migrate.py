"""Schema migrations (Alembic), run programmatically so no alembic.ini is needed.

Work on separate parts of the schema may branch from the same revision; ``upgrade`` applies
every head, and a merge revision joins the branches when they are done.
"""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.script import ScriptDirectory
from sqlalchemy import Engine, text

MIGRATIONS = Path(__file__).resolve().parents[1] / "migrations"


def alembic_config(engine: Engine) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    cfg.set_main_option("sqlalchemy.url", engine.url.render_as_string(hide_password=False))
    return cfg


def upgrade(engine: Engine, revision: str = "heads") -> None:
    """Bring the database to ``revision`` (every head by default), creating PostGIS first."""
    with engine.begin() as conn:
        conn.execute(text("CREATE EXTENSION IF NOT EXISTS postgis"))
        cfg = alembic_config(engine)
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, revision)


def _versions(conn) -> str | None:
    exists = conn.execute(text("SELECT to_regclass('alembic_version')")).scalar()
    if not exists:
        return None
    rows = conn.execute(text("SELECT version_num FROM alembic_version ORDER BY 1")).scalars().all()
    return "+".join(rows) or None


def current(engine: Engine) -> str | None:
    """The database's revision (several joined by ``+`` while branches are open)."""
    with engine.connect() as conn:
        return _versions(conn)


def head() -> str:
    """The code's newest revision(s), in the form :func:`current` reports."""
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    return "+".join(sorted(ScriptDirectory.from_config(cfg).get_heads()))


def current_in(session) -> str | None:
    """Schema revision seen through an open session."""
    return _versions(session)
