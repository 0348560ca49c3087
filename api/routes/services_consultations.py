"""防竊達人 anti-theft consultations over HTTP (police records; others get village counts)."""

from __future__ import annotations

from typing import Annotated
from urllib.parse import quote

from fastapi import APIRouter, File, Form, Query, UploadFile
from fastapi.responses import JSONResponse, Response

from workflow import consultations as service

from ..deps import ActorDep, SessionDep, SignedInActor
from .services_schemas import (
    Comment,
    ConsultationAssign,
    ConsultationCreate,
    ConsultationDetail,
    ConsultationFigures,
    ConsultationFollowUp,
    ConsultationPage,
    ConsultationReceipt,
    ConsultationReminder,
    ConsultationVisit,
    PhotoPublic,
)

router = APIRouter(prefix="/consultations", tags=["防竊達人（防竊諮詢）"])


@router.post(
    "", summary="申請防竊諮詢（住戶、社區代為申請或派出所受理）", status_code=201,
    response_model=ConsultationReceipt,
)  # fmt: skip
def file_request(
    body: ConsultationCreate, session: SessionDep, actor: ActorDep
) -> ConsultationReceipt:
    data = body.model_dump()
    data["location"] = body.location.model_dump(exclude_none=True)
    record = service.file_request(session, actor, data)
    return service.filing_receipt(session, record)


@router.get("", summary="防竊諮詢案件（警察機關，依轄區）", response_model=ConsultationPage)
def list_consultations(
    session: SessionDep,
    actor: ActorDep,
    status: str | None = None,
    reason: str | None = None,
    station_id: int | None = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
    offset: Annotated[int, Query(ge=0)] = 0,
) -> dict:
    return service.list_consultations(
        session, actor, status=status, reason=reason, station_id=station_id, limit=limit,
        offset=offset,
    )  # fmt: skip


@router.get(
    "/mine",
    summary="我提出的申請（只含案號、狀態與村里）",
    response_model=list[ConsultationReceipt],
)
def mine(session: SessionDep, actor: ActorDep) -> list[dict]:
    return service.list_filed_by_me(session, actor)


@router.get(
    "/reminders",
    summary="待追蹤案件（重複被害住戶優先）",
    response_model=list[ConsultationReminder],
)
def reminders(
    session: SessionDep,
    actor: ActorDep,
    within_days: Annotated[int, Query(ge=0, le=365)] = service.REMINDER_DAYS,
) -> list[dict]:
    return service.reminders(session, actor, within_days=within_days)


@router.get(
    "/figures",
    summary="防竊諮詢統計（依行政區、村里；警察機關另有各派出所）",
    response_model=ConsultationFigures,
)
def figures(
    session: SessionDep, actor: SignedInActor, year: Annotated[int | None, Query()] = None
) -> dict:
    return service.figures(session, actor, year=year)


@router.get("/{consultation_id}", summary="單一案件", response_model=ConsultationDetail)
def get_consultation(consultation_id: int, session: SessionDep, actor: ActorDep) -> dict:
    return service.get(session, actor, consultation_id)


@router.post(
    "/{consultation_id}/assign", summary="指派防竊顧問與勘查日期", response_model=ConsultationDetail
)
def assign(
    consultation_id: int, body: ConsultationAssign, session: SessionDep, actor: ActorDep
) -> dict:
    service.assign(session, actor, consultation_id, **body.model_dump())
    return service.get(session, actor, consultation_id)


@router.post(
    "/{consultation_id}/visit",
    summary="登錄實地勘查（檢測表、建議、追蹤日期）",
    response_model=ConsultationDetail,
)
def visit(
    consultation_id: int, body: ConsultationVisit, session: SessionDep, actor: ActorDep
) -> dict:
    data = body.model_dump()
    service.record_visit(session, actor, consultation_id, **data)
    return service.get(session, actor, consultation_id)


@router.post(
    "/{consultation_id}/follow-up",
    summary="登錄追蹤（結案，或訂下次追蹤日期）",
    response_model=ConsultationDetail,
)
def follow_up(
    consultation_id: int, body: ConsultationFollowUp, session: SessionDep, actor: ActorDep
) -> dict:
    service.follow_up(session, actor, consultation_id, **body.model_dump())
    return service.get(session, actor, consultation_id)


@router.post("/{consultation_id}/cancel", summary="取消申請", response_model=ConsultationDetail)
def cancel(consultation_id: int, body: Comment, session: SessionDep, actor: ActorDep) -> dict:
    service.cancel(session, actor, consultation_id, body.comment)
    return service.get(session, actor, consultation_id)


@router.post(
    "/{consultation_id}/photos", summary="上傳勘查照片", status_code=201, response_model=PhotoPublic
)
async def upload_photo(
    consultation_id: int,
    session: SessionDep,
    actor: ActorDep,
    file: Annotated[UploadFile, File(description="JPEG、PNG、WebP 或 HEIC，10 MB 以內")],
    caption: Annotated[str | None, Form()] = None,
) -> JSONResponse:
    data = await file.read(service.MAX_PHOTO_BYTES + 1)
    photo = service.add_photo(
        session, actor, consultation_id, file.filename or "photo", data, caption
    )
    body = PhotoPublic(**photo).model_dump(mode="json")
    return JSONResponse(body, status_code=201, headers={"Location": photo["href"]})


@router.get("/{consultation_id}/photos", summary="勘查照片清單", response_model=list[PhotoPublic])
def photos(consultation_id: int, session: SessionDep, actor: ActorDep) -> list[dict]:
    return service.list_photos(session, actor, consultation_id)


@router.get("/{consultation_id}/photos/{photo_id}", summary="勘查照片", response_class=Response)
def photo(consultation_id: int, photo_id: int, session: SessionDep, actor: ActorDep) -> Response:
    data, content_type, filename = service.get_photo(session, actor, consultation_id, photo_id)
    return Response(
        data,
        media_type=content_type,
        headers={
            "Content-Disposition": f"inline; filename*=UTF-8''{quote(filename)}",
            # Photos of a home's weak points: never kept by shared caches.
            "Cache-Control": "private, no-store",
            "X-Content-Type-Options": "nosniff",
        },
    )
