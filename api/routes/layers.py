"""CRUD for the spatial layers: GeoJSON in and out, edits guarded by ETag / If-Match."""

from __future__ import annotations

import datetime as dt
import json
from typing import Annotated, Any

from fastapi import APIRouter, Body, Header, Query, Response
from fastapi.responses import JSONResponse

from geo.errors import InvalidInput
from geo.layers import LAYERS, LayerSpec, ListQuery
from workflow import layers as service

from ..deps import ActorDep, SessionDep
from .boundaries import GEOJSON, parse_bbox

FeatureBody = Annotated[
    dict[str, Any],
    Body(
        description="GeoJSON Feature：geometry 為 EPSG:4326 經緯度，properties 為圖層欄位",
        examples=[
            {
                "type": "Feature",
                "geometry": {"type": "Point", "coordinates": [121.4627, 25.0117]},
                "properties": {"community_id": 1, "category": "poor_lighting", "severity": 3},
            }
        ],
    ),
]


def etag(version: int) -> str:
    return f'"{version}"'


def parse_if_match(value: str | None) -> int | None:
    """The version a client read, from ``If-Match: "3"`` (a weak ``W/`` prefix is accepted)."""
    if value is None:
        return None
    raw = value.strip().removeprefix("W/").strip('"')
    try:
        return int(raw)
    except ValueError:
        raise InvalidInput(
            "If-Match 標頭格式不正確，應為讀取時取得的 ETag。", detail=f"bad If-Match {value!r}"
        ) from None


def _feature_response(
    feature: dict, repairs: list[str], status: int = 200, location: str | None = None
) -> Response:
    body = dict(feature)
    if repairs:
        body["repairs"] = repairs  # a GeoJSON foreign member: what was fixed in the input
    headers = {"ETag": etag(feature["properties"]["version"])}
    if location:
        headers["Location"] = location
    return JSONResponse(body, status_code=status, headers=headers, media_type=GEOJSON)


def _check_feature(body: Any) -> dict:
    if not isinstance(body, dict):
        raise InvalidInput("請以 GeoJSON Feature 物件送出資料。", detail="body not an object")
    if body.get("type") not in (None, "Feature"):
        raise InvalidInput(
            "請以單一 GeoJSON Feature 送出資料（type 應為 Feature）。",
            detail=f"type {body.get('type')!r}",
        )
    if (
        "properties" in body
        and body["properties"] is not None
        and not isinstance(body["properties"], dict)
    ):
        raise InvalidInput("properties 必須是物件。", detail="properties not an object")
    return body


def _router(spec: LayerSpec) -> APIRouter:
    router = APIRouter(prefix=f"/{spec.name}", tags=[spec.title])
    name = spec.name

    @router.get(
        "",
        summary=f"{spec.title}：清單（GeoJSON）",
        response_class=Response,
        responses={200: {"content": {GEOJSON: {}}}},
    )
    def list_items(
        session: SessionDep,
        actor: ActorDep,
        bbox: Annotated[
            str | None, Query(description="最小經度,最小緯度,最大經度,最大緯度")
        ] = None,
        category: Annotated[list[str] | None, Query(description="類別代碼，可重複")] = None,
        status: Annotated[list[str] | None, Query(description="狀態代碼，可重複")] = None,
        date_from: Annotated[dt.date | None, Query(alias="from", description="起日（含）")] = None,
        date_to: Annotated[dt.date | None, Query(alias="to", description="迄日（含）")] = None,
        community_id: int | None = None,
        limit: Annotated[int, Query(ge=1, le=1000)] = 100,
        offset: Annotated[int, Query(ge=0)] = 0,
        with_extras: Annotated[
            bool, Query(description="附上次要圖形（監視器可視範圍扇形）")
        ] = False,
    ) -> Response:
        q = ListQuery(
            bbox=parse_bbox(bbox),
            categories=category,
            statuses=status,
            date_from=date_from,
            date_to=dt.datetime.combine(date_to, dt.time.max, tzinfo=dt.UTC) if date_to else None,
            community_id=community_id,
            limit=limit,
            offset=offset,
            extras=with_extras,
        )
        return Response(service.list_features(session, actor, name, q), media_type=GEOJSON)

    @router.post(
        "",
        summary=f"{spec.title}：新增",
        status_code=201,
        response_class=Response,
        responses={201: {"content": {GEOJSON: {}}}},
    )
    def create_item(session: SessionDep, actor: ActorDep, feature: FeatureBody) -> Response:
        created, repairs = service.create_feature(session, actor, name, _check_feature(feature))
        return _feature_response(created, repairs, 201, location=f"/api/{name}/{created['id']}")

    @router.get(
        "/{record_id}",
        summary=f"{spec.title}：單筆（含 ETag）",
        response_class=Response,
        responses={200: {"content": {GEOJSON: {}}}},
    )
    def get_item(record_id: int, session: SessionDep, actor: ActorDep) -> Response:
        return _feature_response(service.get_feature(session, actor, name, record_id), [])

    @router.patch(
        "/{record_id}",
        summary=f"{spec.title}：修改（需 If-Match）",
        response_class=Response,
        responses={
            200: {"content": {GEOJSON: {}}},
            412: {"description": "版本不符"},
            428: {"description": "缺少 If-Match"},
        },
    )
    def patch_item(
        record_id: int,
        session: SessionDep,
        actor: ActorDep,
        feature: FeatureBody,
        if_match: Annotated[str | None, Header()] = None,
    ) -> Response:
        updated, repairs = service.update_feature(
            session, actor, name, record_id, parse_if_match(if_match), _check_feature(feature)
        )
        return _feature_response(updated, repairs)

    @router.delete(
        "/{record_id}",
        summary=f"{spec.title}：刪除（需 If-Match）",
        status_code=204,
        responses={412: {"description": "版本不符"}, 428: {"description": "缺少 If-Match"}},
    )
    def delete_item(
        record_id: int,
        session: SessionDep,
        actor: ActorDep,
        if_match: Annotated[str | None, Header()] = None,
    ) -> Response:
        service.delete_feature(session, actor, name, record_id, parse_if_match(if_match))
        return Response(status_code=204)

    @router.get("/{record_id}/history", summary=f"{spec.title}：修改紀錄")
    def item_history(record_id: int, session: SessionDep, actor: ActorDep) -> Response:
        return Response(
            json.dumps(
                service.feature_history(session, actor, name, record_id), ensure_ascii=False
            ),
            media_type="application/json",
        )

    return router


routers = [_router(spec) for spec in LAYERS.values()]
