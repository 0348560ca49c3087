"""Request and response schemas (kept apart from the ORM models)."""

from __future__ import annotations

import datetime as dt

from pydantic import BaseModel, ConfigDict


class Health(BaseModel):
    status: str
    database: str
    postgis: str
    schema_revision: str | None


class Token(BaseModel):
    access_token: str
    token_type: str = "bearer"
    expires_in: int
    role: str
    role_label: str


class UserPublic(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    username: str
    display_name: str
    role: str
    role_label: str
    precinct_id: int | None
    station_id: int | None
    district_id: int | None
    organisation_id: int | None
    last_login_at: dt.datetime | None


class CommunityPublic(BaseModel):
    id: int
    name: str
    organisation: str
    district_code: str
    district_name: str
    precinct: str
    village_codes: list[str]
    area_km2: float
    is_demo: bool


class CommunityPage(BaseModel):
    total: int
    limit: int
    offset: int
    items: list[CommunityPublic]


class PrecinctPublic(BaseModel):
    id: int
    name: str
    village_count: int
    district_names: list[str]
