"""社區警政治安「e話」 bulletins over HTTP (the printable and e-mail pages are in
``services_pages``)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Header, Query
from fastapi.responses import JSONResponse

from workflow import bulletins as service

from ..deps import ActorDep, SessionDep
from .layers import etag, parse_if_match
from .services_schemas import BulletinCreate, BulletinPage, BulletinPublic, BulletinUpdate

router = APIRouter(prefix="/bulletins", tags=["社區警政治安「e話」"])


def _with_etag(data: dict, status: int = 200) -> JSONResponse:
    body = BulletinPublic(**data).model_dump(mode="json")
    return JSONResponse(body, status_code=status, headers={"ETag": etag(data["version"])})


@router.post(
    "",
    summary="由資料產生一期「e話」草稿（已有草稿則重新產生數據）",
    status_code=201,
    response_model=BulletinPublic,
)
def create(body: BulletinCreate, session: SessionDep, actor: ActorDep) -> JSONResponse:
    issue = service.create_issue(session, actor, **body.model_dump())
    return _with_etag(service.get(session, actor, issue.id), 201)


@router.get("", summary="「e話」（已發布者公開；編輯者另見草稿）", response_model=BulletinPage)
def list_issues(
    session: SessionDep,
    actor: ActorDep,
    status: str | None = None,
    community_id: int | None = None,
    district_id: int | None = None,
    year: int | None = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
    offset: Annotated[int, Query(ge=0)] = 0,
) -> dict:
    return service.list_issues(
        session, actor, status=status, community_id=community_id, district_id=district_id,
        year=year, limit=limit, offset=offset,
    )  # fmt: skip


@router.get("/{issue_id}", summary="單期「e話」（含 ETag）", response_model=BulletinPublic)
def get_issue(issue_id: int, session: SessionDep, actor: ActorDep) -> JSONResponse:
    return _with_etag(service.get(session, actor, issue_id))


@router.patch(
    "/{issue_id}", summary="編修標題與文字（草稿，需 If-Match）", response_model=BulletinPublic
)
def update(
    issue_id: int,
    body: BulletinUpdate,
    session: SessionDep,
    actor: ActorDep,
    if_match: Annotated[str | None, Header()] = None,
) -> JSONResponse:
    service.update_issue(
        session, actor, issue_id, parse_if_match(if_match), body.model_dump(exclude_unset=True)
    )
    return _with_etag(service.get(session, actor, issue_id))


@router.post(
    "/{issue_id}/regenerate", summary="重新由資料產生數據（草稿）", response_model=BulletinPublic
)
def regenerate(issue_id: int, session: SessionDep, actor: ActorDep) -> JSONResponse:
    service.regenerate(session, actor, issue_id)
    return _with_etag(service.get(session, actor, issue_id))


@router.post("/{issue_id}/publish", summary="發布並歸檔（公開）", response_model=BulletinPublic)
def publish(issue_id: int, session: SessionDep, actor: ActorDep) -> JSONResponse:
    service.publish(session, actor, issue_id)
    return _with_etag(service.get(session, actor, issue_id))
