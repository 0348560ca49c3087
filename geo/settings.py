"""Database settings, read from the environment and passed in (nothing is built at import)."""

from __future__ import annotations

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from . import embedded


class DatabaseSettings(BaseSettings):
    """Where the database is. Without ``DATABASE_URL`` the private cluster is used."""

    model_config = SettingsConfigDict(env_prefix="", extra="ignore")

    database_url: str | None = Field(default=None, alias="DATABASE_URL")
    pool_size: int = Field(default=10, alias="SAFEMAP_DB_POOL_SIZE")

    def resolved_url(self, database: str | None = None) -> str:
        """SQLAlchemy URL, starting the private cluster when no URL is configured.

        ``database`` picks another database on the same server (tests use one of their own).
        """
        if self.database_url:
            url = normalise_url(self.database_url)
            if database:
                from sqlalchemy.engine import make_url

                url = make_url(url).set(database=database).render_as_string(hide_password=False)
            return url
        return embedded.EmbeddedCluster().ensure(database or embedded.DEFAULT_DB)


def normalise_url(url: str) -> str:
    """Accept the libpq form (postgres://, postgresql://) and name the driver we ship."""
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg2://" + url[len(prefix) :]
    return url
