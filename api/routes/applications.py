"""Program years, applications (附件1) and their review, files, notifications, the roster
(附件2) and selection advice. Thin: parse, call one service, return JSON."""

from __future__ import annotations

from typing import Annotated
from urllib.parse import quote

from fastapi import APIRouter, File, Form, Header, Query, Response, UploadFile
from fastapi.encoders import jsonable_encoder
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field

from geo.enums import ApplicationStatus
from workflow import applications as service
from workflow import files, notifications

from ..deps import SessionDep, SignedInActor
from .layers import parse_if_match

router = APIRouter(tags=["年度作業：申請與審查"])

IdempotencyKey = Annotated[
    str | None,
    Header(
        alias="Idempotency-Key",
        description="同一識別碼重送時，回傳第一次的結果而不重複執行",
    ),
]
IfMatch = Annotated[str | None, Header(alias="If-Match")]


def ok(body, status: int = 200, headers: dict | None = None) -> JSONResponse:
    return JSONResponse(jsonable_encoder(body), status_code=status, headers=headers)


# --------------------------------------------------------------------------- program years
@router.get("/program-years", summary="計畫年度清單")
def list_years(session: SessionDep, actor: SignedInActor) -> JSONResponse:
    return ok(service.list_years(session, actor))


@router.post("/program-years", summary="開辦計畫年度（市府）", status_code=201)
def open_year(body: service.YearCreate, session: SessionDep, actor: SignedInActor) -> JSONResponse:
    return ok(service.open_year(session, actor, body), 201)


@router.get("/program-years/{year}", summary="計畫年度：名額、申請統計與設定")
def read_year(year: int, session: SessionDep, actor: SignedInActor) -> JSONResponse:
    return ok(service.read_year(session, actor, year))


@router.patch("/program-years/{year}", summary="調整名額、申請期間或年度設定（市府）")
def update_year(
    year: int, body: service.YearUpdate, session: SessionDep, actor: SignedInActor
) -> JSONResponse:
    return ok(service.update_year(session, actor, year, body))


@router.get("/program-years/{year}/roster", summary="年度名冊（附件2）資料")
def roster(year: int, session: SessionDep, actor: SignedInActor) -> JSONResponse:
    return ok(service.roster(session, actor, year))


@router.get(
    "/program-years/{year}/selection-advice",
    summary="遴選建議：申請數超過名額時，依每元涵蓋風險排序並保障各區（僅供參考）",
)
def selection_advice(year: int, session: SessionDep, actor: SignedInActor) -> JSONResponse:
    return ok(service.selection_advice(session, actor, year))


# --------------------------------------------------------------------------- applications
@router.get("/application-transitions", summary="申請案狀態與各角色可執行的動作")
def transitions(actor: SignedInActor) -> JSONResponse:
    return ok(service.transitions_table())


@router.get("/applications", summary="我可查看的申請案")
def list_applications(
    session: SessionDep,
    actor: SignedInActor,
    year: int | None = None,
    status: ApplicationStatus | None = None,
    precinct_id: int | None = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 200,
    offset: Annotated[int, Query(ge=0)] = 0,
) -> JSONResponse:
    return ok(
        service.list_applications(
            session, actor, year=year, status=status, precinct_id=precinct_id, limit=limit,
            offset=offset,
        )
    )  # fmt: skip


@router.post("/applications", summary="新增申請（草稿，附件1）", status_code=201)
def create_application(
    body: service.ApplicationCreate,
    session: SessionDep,
    actor: SignedInActor,
    idempotency_key: IdempotencyKey = None,
) -> JSONResponse:
    out = service.create_application(session, actor, body, idempotency_key=idempotency_key)
    return ok(
        out, 201, {"Location": f"/api/applications/{out['id']}", "ETag": f'"{out["version"]}"'}
    )


@router.get("/applications/{application_id}", summary="申請案：申請表、範圍、審查紀錄")
def read_application(
    application_id: int, session: SessionDep, actor: SignedInActor
) -> JSONResponse:
    out = service.application_json(session, actor, application_id)
    return ok(out, headers={"ETag": f'"{out["version"]}"'})


@router.put("/applications/{application_id}/form", summary="儲存申請表（草稿或退回補正時）")
def save_form(
    application_id: int,
    body: service.ApplicationFormIn,
    session: SessionDep,
    actor: SignedInActor,
    if_match: IfMatch = None,
) -> JSONResponse:
    out = service.save_form(session, actor, application_id, body, if_match=parse_if_match(if_match))
    return ok(out, headers={"ETag": f'"{out["version"]}"'})


@router.post(
    "/applications/{application_id}/transitions",
    summary="送出、退回、不予受理、轉報、核定、撤回…（依狀態與角色）",
)
def move(
    application_id: int,
    body: service.MoveIn,
    session: SessionDep,
    actor: SignedInActor,
    idempotency_key: IdempotencyKey = None,
) -> JSONResponse:
    return ok(service.move(session, actor, application_id, body, idempotency_key=idempotency_key))


# --------------------------------------------------------------------------- files
@router.post(
    "/applications/{application_id}/files", summary="上傳附件、佐證或憑證", status_code=201
)
async def upload_file(
    application_id: int,
    session: SessionDep,
    actor: SignedInActor,
    file: Annotated[UploadFile, File(description="PDF、圖片、Word 或 Excel，10 MB 以內")],
    purpose: Annotated[str, Form(description="evidence、receipt 或 attachment")] = "attachment",
) -> JSONResponse:
    data = await file.read(files.MAX_FILE_BYTES + 1)
    out = files.add_file(session, actor, application_id, purpose, file.filename or "file", data)
    return ok(out, 201, {"Location": out["href"]})


@router.get("/applications/{application_id}/files", summary="申請案的檔案")
def list_files(application_id: int, session: SessionDep, actor: SignedInActor) -> JSONResponse:
    return ok(files.list_files(session, actor, application_id))


@router.get(
    "/applications/{application_id}/files/{file_id}", summary="下載檔案", response_class=Response
)
def get_file(
    application_id: int, file_id: int, session: SessionDep, actor: SignedInActor
) -> Response:
    data, content_type, filename = files.get_file(session, actor, application_id, file_id)
    return Response(
        data,
        media_type=content_type,
        headers={
            "Content-Disposition": f"attachment; filename*=UTF-8''{quote(filename)}",
            "X-Content-Type-Options": "nosniff",
            "Cache-Control": "private, no-store",
        },
    )


# --------------------------------------------------------------------------- notifications
class ReadIn(BaseModel):
    ids: list[int] | None = Field(default=None, description="省略則全部標為已讀")


@router.get("/notifications", summary="我的通知", tags=["通知"])
def my_notifications(
    session: SessionDep, actor: SignedInActor, unread: bool = False
) -> JSONResponse:
    return ok(notifications.list_mine(session, actor, unread_only=unread))


@router.post("/notifications/read", summary="標為已讀", tags=["通知"])
def read_notifications(body: ReadIn, session: SessionDep, actor: SignedInActor) -> JSONResponse:
    return ok({"marked": notifications.mark_read(session, actor, body.ids)})


__all__ = ["IdempotencyKey", "IfMatch", "ok", "router"]
