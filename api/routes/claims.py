"""Expense claims (經費核銷) and claw-backs (追繳)."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import JSONResponse

from geo.enums_workflow import ClaimStatus
from workflow import claims as service

from ..deps import SessionDep, SignedInActor
from .applications import IdempotencyKey, ok

router = APIRouter(tags=["年度作業：經費核銷"])


@router.post("/applications/{application_id}/claims", summary="新增核銷案（草稿）", status_code=201)
def create_claim(
    application_id: int,
    body: service.ClaimIn,
    session: SessionDep,
    actor: SignedInActor,
    idempotency_key: IdempotencyKey = None,
) -> JSONResponse:
    out = service.create_claim(
        session, actor, application_id, body, idempotency_key=idempotency_key
    )
    return ok(out, 201, {"Location": f"/api/claims/{out['id']}"})


@router.get("/claims", summary="我可查看的核銷案")
def list_claims(
    session: SessionDep,
    actor: SignedInActor,
    application_id: int | None = None,
    year: int | None = None,
    status: ClaimStatus | None = None,
) -> JSONResponse:
    return ok(
        service.list_claims(session, actor, application_id=application_id, year=year, status=status)
    )


@router.get("/claims/{claim_id}", summary="核銷案：項目、憑證、地圖位置、審核紀錄、追繳")
def read_claim(claim_id: int, session: SessionDep, actor: SignedInActor) -> JSONResponse:
    return ok(service.read_claim(session, actor, claim_id))


@router.put("/claims/{claim_id}", summary="修改核銷案（草稿或退回補正時）")
def update_claim(
    claim_id: int, body: service.ClaimIn, session: SessionDep, actor: SignedInActor
) -> JSONResponse:
    return ok(service.update_claim(session, actor, claim_id, body))


@router.post("/claims/{claim_id}/transitions", summary="送出、退回、分局核轉、市府結案")
def move_claim(
    claim_id: int,
    body: service.ClaimMoveIn,
    session: SessionDep,
    actor: SignedInActor,
    idempotency_key: IdempotencyKey = None,
) -> JSONResponse:
    return ok(service.move_claim(session, actor, claim_id, body, idempotency_key=idempotency_key))


@router.post("/claims/{claim_id}/clawbacks", summary="追繳不實核銷款項（市府）", status_code=201)
def add_clawback(
    claim_id: int,
    body: service.ClawbackIn,
    session: SessionDep,
    actor: SignedInActor,
    idempotency_key: IdempotencyKey = None,
) -> JSONResponse:
    return ok(
        service.add_clawback(session, actor, claim_id, body, idempotency_key=idempotency_key), 201
    )


@router.patch("/clawbacks/{clawback_id}", summary="登錄追繳款繳回")
def repay(
    clawback_id: int, body: service.RepaymentIn, session: SessionDep, actor: SignedInActor
) -> JSONResponse:
    return ok(service.record_repayment(session, actor, clawback_id, body))


@router.get("/program-years/{year}/clawbacks", summary="年度追繳紀錄")
def clawbacks(year: int, session: SessionDep, actor: SignedInActor) -> JSONResponse:
    return ok(service.list_clawbacks(session, actor, year))
