"""Analyses: hot spots, blind spots and camera coverage (police information, never public)."""

from __future__ import annotations

import datetime as dt
from typing import Annotated

from fastapi import APIRouter, Query
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel, Field

from workflow import analysis

from ..deps import ActorDep, SessionDep
from .boundaries import GEOJSON

router = APIRouter(prefix="/analysis", tags=["空間分析"])


class AreaChoice(BaseModel):
    district: str | None = Field(default=None, description="行政區代碼或名稱；省略時為您的整個轄區")
    community_id: int | None = None


class HotspotRequest(AreaChoice):
    cell_m: float = Field(default=100, ge=20, le=2000, description="網格大小（公尺，EPSG:3826）")
    types: list[str] | None = Field(default=None, description="案件類別代碼")
    start: dt.datetime | None = None
    end: dt.datetime | None = None
    weights: str = Field(default="queen", description="queen、rook 或 distance")
    fdr: bool = Field(default=True, description="以 Benjamini–Hochberg 控制偽發現率")


class BlindSpotRequest(AreaChoice):
    hotspot_run_id: int | None = Field(
        default=None, description="使用既有的熱點分析；省略時先執行一次"
    )
    patrol_buffer_m: float = Field(default=50, ge=0, le=500)
    min_confidence: int = Field(
        default=2, ge=1, le=3, description="熱點信心水準：1=90%、2=95%、3=99%"
    )


class PlacementRequest(AreaChoice):
    k: int = Field(default=10, ge=1, le=500, description="要設置的監視器數量")
    radius_m: float = Field(default=100, ge=10, le=500, description="涵蓋半徑（公尺）")
    method: str = Field(default="milp", description="milp（最佳解，回報 gap）或 greedy（即時預覽）")
    time_limit_s: float = Field(default=30, gt=0, le=300)
    spacing_m: float = Field(default=50, ge=10, le=500, description="沿街候選點間距（公尺）")
    bearings: list[float] | None = Field(default=None, description="扇形模式：每個地點可選的方向角")
    fov_deg: float = Field(default=90, gt=0, le=360)
    save_proposals: bool = Field(
        default=False, description="將建議位置存為「建議設置」監視器，交分局審查"
    )


@router.post("/placement", summary="監視器最佳設置地點（最大涵蓋選址，HiGHS）", status_code=201)
def placement(body: PlacementRequest, session: SessionDep, actor: ActorDep) -> JSONResponse:
    from workflow import placement as service

    scope = analysis.resolve_scope(
        session, actor, district=body.district, community_id=body.community_id
    )
    result = service.plan(
        session, actor, scope, k=body.k, radius=body.radius_m, method=body.method, time_limit=body.time_limit_s,
        spacing_m=body.spacing_m, bearings=body.bearings, fov=body.fov_deg, save_proposals=body.save_proposals,
    )  # fmt: skip
    return JSONResponse(result, status_code=201)


@router.post("/hotspots", summary="執行熱點分析（Getis-Ord Gi*）並儲存", status_code=201)
def hotspots(body: HotspotRequest, session: SessionDep, actor: ActorDep) -> JSONResponse:
    scope = analysis.resolve_scope(
        session, actor, district=body.district, community_id=body.community_id
    )
    run = analysis.run_hotspots(
        session, actor, scope, cell=body.cell_m, types=body.types, start=body.start, end=body.end,
        weights=body.weights, fdr=body.fdr,
    )  # fmt: skip
    return JSONResponse(analysis.run_json(run), status_code=201)


@router.post("/blind-spots", summary="執行治安死角分析並儲存", status_code=201)
def blind_spots(body: BlindSpotRequest, session: SessionDep, actor: ActorDep) -> JSONResponse:
    scope = analysis.resolve_scope(
        session, actor, district=body.district, community_id=body.community_id
    )
    run = analysis.run_blind_spots(
        session, actor, scope, hotspot_run_id=body.hotspot_run_id,
        patrol_buffer_m=body.patrol_buffer_m, min_confidence=body.min_confidence,
    )  # fmt: skip
    return JSONResponse(analysis.run_json(run), status_code=201)


@router.get("/runs", summary="歷次分析（可逐月比較）")
def runs(session: SessionDep, actor: ActorDep, kind: str | None = None) -> JSONResponse:
    return JSONResponse(analysis.list_runs(session, actor, kind))


@router.get("/runs/{run_id}", summary="單次分析的參數與摘要")
def run(run_id: int, session: SessionDep, actor: ActorDep) -> JSONResponse:
    return JSONResponse(analysis.run_json(analysis.get_run(session, actor, run_id)))


@router.get(
    "/runs/{run_id}/features",
    summary="分析結果圖徵（GeoJSON）",
    response_class=Response,
    responses={200: {"content": {GEOJSON: {}}}},
)
def run_features(
    run_id: int,
    session: SessionDep,
    actor: ActorDep,
    limit: Annotated[int, Query(ge=1, le=50_000)] = 5000,
) -> Response:
    return Response(analysis.run_features(session, actor, run_id, limit=limit), media_type=GEOJSON)


@router.get("/camera-view", summary="尚未送出的監視器的預估可視範圍（已扣除建物遮蔽）")
def camera_view(
    session: SessionDep,
    actor: ActorDep,
    lon: Annotated[float, Query(description="經度（EPSG:4326）")],
    lat: Annotated[float, Query(description="緯度（EPSG:4326）")],
    bearing: Annotated[float, Query(description="方向角（度，北方為 0，順時針）")] = 0.0,
    fov: Annotated[float, Query(description="視角（度）")] = 60.0,
    range_m: Annotated[float, Query(description="拍攝距離（公尺）")] = 40.0,
) -> JSONResponse:
    feature = analysis.camera_view_preview(session, actor, lon, lat, bearing, fov, range_m)
    return JSONResponse(feature, media_type=GEOJSON)


@router.get("/coverage", summary="監視器涵蓋率（街道長度、問題點、案件）")
def coverage(
    session: SessionDep,
    actor: ActorDep,
    area: Annotated[str, Query(pattern="^(district|village|community|precinct)$")] = "district",
) -> JSONResponse:
    return JSONResponse(analysis.coverage_by_area(session, actor, area))
