"""Monthly monitoring (管考): reports, overdue flags, reminders, progress roll-ups."""

from __future__ import annotations

import datetime as dt

from fastapi import APIRouter
from fastapi.responses import JSONResponse

from workflow import monitoring as service

from ..deps import SessionDep, SignedInActor
from .applications import IdempotencyKey, ok

router = APIRouter(tags=["年度作業：管考"])


@router.post(
    "/applications/{application_id}/reports", summary="填報（或更正）月報", status_code=201
)
def submit_report(
    application_id: int,
    body: service.ReportIn,
    session: SessionDep,
    actor: SignedInActor,
    idempotency_key: IdempotencyKey = None,
) -> JSONResponse:
    out = service.submit_report(
        session, actor, application_id, body, idempotency_key=idempotency_key
    )
    return ok(out, 201)


@router.get("/applications/{application_id}/reports", summary="申請案的月報")
def list_reports(application_id: int, session: SessionDep, actor: SignedInActor) -> JSONResponse:
    return ok(service.list_reports(session, actor, application_id))


@router.get("/program-years/{year}/monitoring/overdue", summary="逾期未填報的月報（依轄區）")
def overdue(
    year: int, session: SessionDep, actor: SignedInActor, as_of: dt.date | None = None
) -> JSONResponse:
    return ok(service.overdue(session, actor, year, as_of=as_of))


@router.post("/program-years/{year}/monitoring/reminders", summary="通知分局與社區逾期月報")
def remind(
    year: int, session: SessionDep, actor: SignedInActor, as_of: dt.date | None = None
) -> JSONResponse:
    return ok(service.remind_overdue(session, actor, year, as_of=as_of))


@router.get("/program-years/{year}/monitoring/progress", summary="執行進度：社區、分局、全市")
def progress(
    year: int, session: SessionDep, actor: SignedInActor, as_of: dt.date | None = None
) -> JSONResponse:
    return ok(service.progress(session, actor, year, as_of=as_of))
