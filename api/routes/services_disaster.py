"""Disaster-prevention promotion requests to the fire bureau (plan 陸、二、(三)) over HTTP."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from workflow import disaster as service

from ..deps import ActorDep, SessionDep, SignedInActor
from .services_schemas import (
    DisasterAccept,
    DisasterHeld,
    DisasterInstructors,
    DisasterPropose,
    DisasterReply,
    DisasterRequestCreate,
    DisasterRequestDetail,
    DisasterRequestPage,
    DisasterWithdraw,
)

router = APIRouter(prefix="/disaster-requests", tags=["防災宣導申請（消防局）"])


@router.post(
    "", summary="社區以書面申請防災宣導教官", status_code=201, response_model=DisasterRequestDetail
)
def file_request(body: DisasterRequestCreate, session: SessionDep, actor: ActorDep) -> dict:
    data = body.model_dump()
    record = service.file_request(session, actor, data.pop("community_id"), data)
    return service.get(session, actor, record.id)


@router.get("", summary="防災宣導申請（依角色與轄區）", response_model=DisasterRequestPage)
def list_requests(
    session: SessionDep,
    actor: ActorDep,
    status: str | None = None,
    community_id: int | None = None,
    year: int | None = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
    offset: Annotated[int, Query(ge=0)] = 0,
) -> dict:
    return service.list_requests(
        session, actor, status=status, community_id=community_id, year=year, limit=limit,
        offset=offset,
    )  # fmt: skip


@router.get("/figures", summary="年度防災宣導統計（依項目與行政區）")
def figures(session: SessionDep, actor: SignedInActor, year: int) -> dict:
    return service.figures(session, actor, year=year)


@router.get("/{request_id}", summary="單一申請", response_model=DisasterRequestDetail)
def get_request(request_id: int, session: SessionDep, actor: ActorDep) -> dict:
    return service.get(session, actor, request_id)


@router.post(
    "/{request_id}/accept", summary="消防局受理並核派教官", response_model=DisasterRequestDetail
)
def accept(request_id: int, body: DisasterAccept, session: SessionDep, actor: ActorDep) -> dict:
    service.accept(session, actor, request_id, **body.model_dump())
    return service.get(session, actor, request_id)


@router.post(
    "/{request_id}/propose-date", summary="消防局建議另訂日期", response_model=DisasterRequestDetail
)
def propose_date(
    request_id: int, body: DisasterPropose, session: SessionDep, actor: ActorDep
) -> dict:
    service.propose_date(session, actor, request_id, **body.model_dump())
    return service.get(session, actor, request_id)


@router.post(
    "/{request_id}/agree-date", summary="社區同意改期", response_model=DisasterRequestDetail
)
def agree_date(request_id: int, session: SessionDep, actor: ActorDep) -> dict:
    service.agree_date(session, actor, request_id)
    return service.get(session, actor, request_id)


@router.post(
    "/{request_id}/instructors", summary="變更核派教官", response_model=DisasterRequestDetail
)
def instructors(
    request_id: int, body: DisasterInstructors, session: SessionDep, actor: ActorDep
) -> dict:
    service.set_instructors(session, actor, request_id, body.instructors)
    return service.get(session, actor, request_id)


@router.post("/{request_id}/decline", summary="不予受理", response_model=DisasterRequestDetail)
def decline(request_id: int, body: DisasterReply, session: SessionDep, actor: ActorDep) -> dict:
    service.decline(session, actor, request_id, body.reply)
    return service.get(session, actor, request_id)


@router.post("/{request_id}/withdraw", summary="社區撤回申請", response_model=DisasterRequestDetail)
def withdraw(request_id: int, body: DisasterWithdraw, session: SessionDep, actor: ActorDep) -> dict:
    service.withdraw(session, actor, request_id, body.comment)
    return service.get(session, actor, request_id)


@router.post(
    "/{request_id}/held", summary="登錄辦理情形與參加人數", response_model=DisasterRequestDetail
)
def held(request_id: int, body: DisasterHeld, session: SessionDep, actor: ActorDep) -> dict:
    service.record_held(session, actor, request_id, **body.model_dump())
    return service.get(session, actor, request_id)
