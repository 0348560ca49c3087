"""Crime-prevention promotion events (plan 陸、一、(七)) over HTTP."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Header, Query, Response
from fastapi.responses import JSONResponse

from workflow import promotion as service

from ..deps import ActorDep, SessionDep, SignedInActor
from .layers import etag, parse_if_match
from .services_schemas import PromotionCreate, PromotionPage, PromotionPublic, PromotionUpdate

router = APIRouter(prefix="/promotion-events", tags=["犯罪預防宣導"])


def _with_etag(data: dict, status: int = 200) -> JSONResponse:
    body = PromotionPublic(**data).model_dump(mode="json")
    return JSONResponse(body, status_code=status, headers={"ETag": etag(data["version"])})


@router.post("", summary="登錄宣導活動", status_code=201, response_model=PromotionPublic)
def create(body: PromotionCreate, session: SessionDep, actor: ActorDep) -> JSONResponse:
    record = service.create(session, actor, body.model_dump())
    return _with_etag(service.get(session, actor, record.id), 201)


@router.get("", summary="宣導活動（依角色與轄區）", response_model=PromotionPage)
def list_events(
    session: SessionDep,
    actor: ActorDep,
    year: int | None = None,
    topic: str | None = None,
    community_id: int | None = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
    offset: Annotated[int, Query(ge=0)] = 0,
) -> dict:
    return service.list_events(
        session, actor, year=year, topic=topic, community_id=community_id, limit=limit,
        offset=offset,
    )  # fmt: skip


@router.get("/figures", summary="年度宣導場次與人數（評鑑用，依社區與主題）")
def figures(session: SessionDep, actor: SignedInActor, year: int) -> dict:
    return service.figures(session, actor, year=year)


@router.get("/{event_id}", summary="單一宣導活動（含 ETag）", response_model=PromotionPublic)
def get_event(event_id: int, session: SessionDep, actor: ActorDep) -> JSONResponse:
    return _with_etag(service.get(session, actor, event_id))


@router.patch("/{event_id}", summary="修改宣導活動（需 If-Match）", response_model=PromotionPublic)
def update(
    event_id: int,
    body: PromotionUpdate,
    session: SessionDep,
    actor: ActorDep,
    if_match: Annotated[str | None, Header()] = None,
) -> JSONResponse:
    service.update(
        session, actor, event_id, parse_if_match(if_match), body.model_dump(exclude_unset=True)
    )
    return _with_etag(service.get(session, actor, event_id))


@router.delete("/{event_id}", summary="刪除宣導活動（需 If-Match）", status_code=204)
def delete(
    event_id: int,
    session: SessionDep,
    actor: ActorDep,
    if_match: Annotated[str | None, Header()] = None,
) -> Response:
    service.delete(session, actor, event_id, parse_if_match(if_match))
    return Response(status_code=204)
