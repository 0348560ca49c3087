from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query
from fastapi.responses import Response

from geo import queries
from geo.errors import InvalidInput

from ..deps import SessionDep

router = APIRouter(tags=["行政界線"])

GEOJSON = "application/geo+json"
SimplifyQ = Annotated[
    float | None, Query(ge=0, le=500, description="以公尺為單位簡化圖形（EPSG:3826），預設不簡化")
]


def parse_bbox(bbox: str | None) -> tuple[float, float, float, float] | None:
    if not bbox:
        return None
    try:
        parts = tuple(float(p) for p in bbox.split(","))
    except ValueError:
        parts = ()
    if len(parts) != 4 or parts[0] >= parts[2] or parts[1] >= parts[3]:
        raise InvalidInput(
            "bbox 格式應為「最小經度,最小緯度,最大經度,最大緯度」。", detail=f"bad bbox {bbox!r}"
        )
    if not (
        -180 <= parts[0] <= 180
        and -180 <= parts[2] <= 180
        and -90 <= parts[1] <= 90
        and -90 <= parts[3] <= 90
    ):
        raise InvalidInput("bbox 經緯度超出範圍。", detail=f"bbox out of range {bbox!r}")
    return parts  # type: ignore[return-value]


@router.get(
    "/districts",
    summary="鄉鎮市區界（GeoJSON，公開）",
    response_class=Response,
    responses={
        200: {
            "content": {GEOJSON: {}},
            "description": "FeatureCollection，properties 含 code（TOWNCODE）與 name",
        }
    },
)
def districts(session: SessionDep, simplify: SimplifyQ = None) -> Response:
    return Response(
        queries.feature_collection(session, queries.districts_stmt(simplify_m=simplify)),
        media_type=GEOJSON,
    )


@router.get(
    "/villages",
    summary="村里界（GeoJSON，公開）",
    response_class=Response,
    responses={
        200: {
            "content": {GEOJSON: {}},
            "description": "FeatureCollection，properties 含 code（VILLCODE）與 name",
        }
    },
)
def villages(
    session: SessionDep,
    district: Annotated[
        str | None, Query(description="鄉鎮市區代碼（TOWNCODE），例如 65000010")
    ] = None,
    bbox: Annotated[
        str | None, Query(description="最小經度,最小緯度,最大經度,最大緯度（EPSG:4326）")
    ] = None,
    simplify: SimplifyQ = None,
) -> Response:
    stmt = queries.villages_stmt(district_code=district, bbox=parse_bbox(bbox), simplify_m=simplify)
    return Response(queries.feature_collection(session, stmt), media_type=GEOJSON)
