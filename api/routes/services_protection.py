"""Women-and-children protection referrals and care visits (plan 陸、三、(三)(四)) over HTTP.

Read by social affairs alone, and by a record's filer until it is received; every read is
audit-logged by ``workflow.protection``. Responses are never cached anywhere.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Response

from workflow import protection as service

from ..deps import ActorDep, SessionDep
from .services_schemas import (
    AccessLogEntry,
    CareVisitCreate,
    CareVisitPage,
    CareVisitPublic,
    Receive,
    ReferralCreate,
    ReferralPage,
    ReferralPublic,
)

NO_STORE = {"Cache-Control": "no-store", "Pragma": "no-cache"}


def _no_store(response: Response) -> None:
    response.headers.update(NO_STORE)


router = APIRouter(prefix="/protection", tags=["婦幼安全保護（社會局）"])

LimitQ = Annotated[int, Query(ge=1, le=500)]
OffsetQ = Annotated[int, Query(ge=0)]


@router.post(
    "/referrals",
    summary="通報疑似家庭暴力或兒少保護事件（緊急危險請先撥 110 或 113）",
    status_code=201,
    response_model=ReferralPublic,
)
def file_referral(
    body: ReferralCreate, session: SessionDep, actor: ActorDep, response: Response
) -> dict:
    _no_store(response)
    return service.file_referral(session, actor, body.model_dump())


@router.get(
    "/referrals", summary="通報案件（社會局；通報人限本人未受理者）", response_model=ReferralPage
)
def referrals(
    session: SessionDep,
    actor: ActorDep,
    response: Response,
    status: str | None = None,
    limit: LimitQ = 100,
    offset: OffsetQ = 0,
) -> dict:
    _no_store(response)
    return service.list_referrals(session, actor, status=status, limit=limit, offset=offset)


@router.get("/referrals/{referral_id}", summary="單一通報", response_model=ReferralPublic)
def referral(referral_id: int, session: SessionDep, actor: ActorDep, response: Response) -> dict:
    _no_store(response)
    return service.get_referral(session, actor, referral_id)


@router.post(
    "/referrals/{referral_id}/receive", summary="社會局受理", response_model=ReferralPublic
)
def receive_referral(
    referral_id: int, body: Receive, session: SessionDep, actor: ActorDep, response: Response
) -> dict:
    _no_store(response)
    return service.receive_referral(session, actor, referral_id, body.case_ref)


@router.post("/referrals/{referral_id}/close", summary="結案", response_model=ReferralPublic)
def close_referral(
    referral_id: int, session: SessionDep, actor: ActorDep, response: Response
) -> dict:
    _no_store(response)
    return service.close_referral(session, actor, referral_id)


@router.post(
    "/care-visits", summary="登錄關懷訪視", status_code=201, response_model=CareVisitPublic
)
def file_care_visit(
    body: CareVisitCreate, session: SessionDep, actor: ActorDep, response: Response
) -> dict:
    _no_store(response)
    return service.file_care_visit(session, actor, body.model_dump())


@router.get("/care-visits", summary="關懷訪視紀錄", response_model=CareVisitPage)
def care_visits(
    session: SessionDep,
    actor: ActorDep,
    response: Response,
    status: str | None = None,
    limit: LimitQ = 100,
    offset: OffsetQ = 0,
) -> dict:
    _no_store(response)
    return service.list_care_visits(session, actor, status=status, limit=limit, offset=offset)


@router.get("/care-visits/{visit_id}", summary="單一關懷訪視紀錄", response_model=CareVisitPublic)
def care_visit(visit_id: int, session: SessionDep, actor: ActorDep, response: Response) -> dict:
    _no_store(response)
    return service.get_care_visit(session, actor, visit_id)


@router.post(
    "/care-visits/{visit_id}/receive", summary="社會局受理", response_model=CareVisitPublic
)
def receive_care_visit(
    visit_id: int, session: SessionDep, actor: ActorDep, response: Response
) -> dict:
    _no_store(response)
    return service.receive_care_visit(session, actor, visit_id)


@router.post("/care-visits/{visit_id}/close", summary="結案", response_model=CareVisitPublic)
def close_care_visit(
    visit_id: int, session: SessionDep, actor: ActorDep, response: Response
) -> dict:
    _no_store(response)
    return service.close_care_visit(session, actor, visit_id)


@router.get(
    "/access-log", summary="保護案件的讀取與異動紀錄（社會局）", response_model=list[AccessLogEntry]
)
def access_log(
    session: SessionDep, actor: ActorDep, response: Response, limit: LimitQ = 200
) -> list[dict]:
    _no_store(response)
    return service.access_log(session, actor, limit=limit)
