from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query
from fastapi.responses import Response

from workflow import communities

from ..deps import SessionDep, SignedInActor
from .boundaries import GEOJSON, SimplifyQ

router = APIRouter(prefix="/communities", tags=["社區"])


@router.get(
    "",
    summary="我可查看的社區（GeoJSON，依角色與轄區）",
    response_class=Response,
    responses={200: {"content": {GEOJSON: {}}}},
)
def list_communities(
    session: SessionDep,
    actor: SignedInActor,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    offset: Annotated[int, Query(ge=0)] = 0,
    district: Annotated[str | None, Query(description="鄉鎮市區代碼（TOWNCODE）")] = None,
    simplify: SimplifyQ = None,
) -> Response:
    body = communities.list_communities_geojson(
        session, actor, limit=limit, offset=offset, district_code=district, simplify_m=simplify
    )
    return Response(body, media_type=GEOJSON)


@router.get(
    "/{community_id}",
    summary="單一社區（GeoJSON Feature）",
    response_class=Response,
    responses={200: {"content": {GEOJSON: {}}}, 404: {"description": "不存在或不在您的轄區"}},
)
def get_community(community_id: int, session: SessionDep, actor: SignedInActor) -> Response:
    return Response(communities.community_feature(session, actor, community_id), media_type=GEOJSON)
