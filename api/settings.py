"""Application settings (environment variables prefixed SAFEMAP_), passed to ``create_app``."""

from __future__ import annotations

import secrets
from typing import Literal

from pydantic import Field, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from geo import embedded
from geo.settings import DatabaseSettings


class AuthSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="SAFEMAP_", extra="ignore")

    secret_key: str | None = None
    token_minutes: int = Field(default=8 * 60, ge=1, description="a working day")


class AppSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="SAFEMAP_", extra="ignore")

    environment: Literal["development", "test", "production"] = "development"
    title: str = "safemap 新北市社區治安營造 GIS 平台"
    auth: AuthSettings = Field(default_factory=AuthSettings)
    database: DatabaseSettings = Field(default_factory=DatabaseSettings)

    @model_validator(mode="after")
    def _secret(self) -> AppSettings:
        if self.auth.secret_key:
            return self
        if self.environment == "production":
            # A development default must never sign production tokens.
            raise ValueError("SAFEMAP_SECRET_KEY must be set in production")
        self.auth.secret_key = _development_secret()
        return self


def _development_secret() -> str:
    """A random key kept beside the private cluster, so restarts keep sessions valid."""
    path = embedded.home() / "secret_key"
    try:
        if path.exists():
            return path.read_text().strip()
        path.parent.mkdir(parents=True, exist_ok=True)
        key = secrets.token_urlsafe(48)
        path.write_text(key)
        path.chmod(0o600)
        return key
    except OSError:
        return secrets.token_urlsafe(48)
