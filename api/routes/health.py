from __future__ import annotations

from fastapi import APIRouter

from geo import migrate
from geo.db import server_versions

from ..deps import SessionDep
from ..schemas import Health

router = APIRouter(tags=["系統"])


@router.get("/health", response_model=Health, summary="服務與資料庫狀態")
def health(session: SessionDep) -> Health:
    versions = server_versions(session)
    return Health(
        status="ok",
        database=f"PostgreSQL {versions['postgresql']}",
        postgis=versions["postgis"],
        schema_revision=migrate.current_in(session),
    )
