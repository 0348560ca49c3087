"""Patrol-block adoption: candidate blocks and suggested pairings."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field

from workflow import adoption

from ..deps import ActorDep, SessionDep

router = APIRouter(prefix="/communities/{community_id}", tags=["治安區塊認養"])


class GenerateBlocks(BaseModel):
    method: str = Field(default="grid", description="grid（方格）或 streets（依路網切分的街廓）")
    size_m: float = Field(default=150, ge=50, le=1000, description="方格邊長（公尺）")


@router.post("/blocks/generate", summary="劃分候選治安區塊", status_code=201)
def generate(
    community_id: int, body: GenerateBlocks, session: SessionDep, actor: ActorDep
) -> JSONResponse:
    return JSONResponse(
        adoption.generate(session, actor, community_id, method=body.method, size_m=body.size_m),
        status_code=201,
    )


@router.get("/adoption-advice", summary="認養單位與區塊的建議配對（依距離與警衛人力）")
def advice(
    community_id: int,
    session: SessionDep,
    actor: ActorDep,
    blocks_per_guard: Annotated[int, Query(ge=1, le=20)] = 2,
    max_distance_m: Annotated[float, Query(gt=0, le=20_000)] = 2000,
) -> JSONResponse:
    return JSONResponse(
        adoption.advice(
            session,
            actor,
            community_id,
            blocks_per_guard=blocks_per_guard,
            max_distance_m=max_distance_m,
        )
    )
