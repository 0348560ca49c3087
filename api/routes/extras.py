"""Hazard photos and walk-audit comparisons."""

from __future__ import annotations

from typing import Annotated
from urllib.parse import quote

from fastapi import APIRouter, File, Form, UploadFile
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel

from workflow import extras

from ..deps import ActorDep, SessionDep

router = APIRouter(tags=["安全檢測地圖（問題點）"])


@router.post("/hazards/{hazard_id}/photos", summary="上傳問題點照片", status_code=201)
async def upload_photo(
    hazard_id: int,
    session: SessionDep,
    actor: ActorDep,
    file: Annotated[UploadFile, File(description="JPEG、PNG、WebP 或 HEIC，10 MB 以內")],
    caption: Annotated[str | None, Form()] = None,
) -> JSONResponse:
    data = await file.read(extras.MAX_PHOTO_BYTES + 1)
    photo = extras.add_photo(session, actor, hazard_id, file.filename or "photo", data, caption)
    return JSONResponse(photo, status_code=201, headers={"Location": photo["href"]})


@router.get("/hazards/{hazard_id}/photos", summary="問題點照片清單")
def photos(hazard_id: int, session: SessionDep, actor: ActorDep) -> JSONResponse:
    return JSONResponse(extras.list_photos(session, actor, hazard_id))


@router.get("/hazards/{hazard_id}/photos/{photo_id}", summary="問題點照片", response_class=Response)
def photo(hazard_id: int, photo_id: int, session: SessionDep, actor: ActorDep) -> Response:
    data, content_type, filename = extras.get_photo(session, actor, hazard_id, photo_id)
    return Response(
        data,
        media_type=content_type,
        headers={
            "Content-Disposition": f"inline; filename*=UTF-8''{quote(filename)}",
            "Cache-Control": "private, max-age=3600",
            "X-Content-Type-Options": "nosniff",
        },
    )


@router.delete("/hazards/{hazard_id}/photos/{photo_id}", summary="刪除問題點照片", status_code=204)
def remove_photo(hazard_id: int, photo_id: int, session: SessionDep, actor: ActorDep) -> Response:
    extras.delete_photo(session, actor, hazard_id, photo_id)
    return Response(status_code=204)


@router.get(
    "/safety_audits/{audit_id}/compare",
    summary="同一地點的日夜稽核比較與複查紀錄",
    tags=["婦幼安全檢測（步行稽核）"],
)
def compare(audit_id: int, session: SessionDep, actor: ActorDep) -> JSONResponse:
    return JSONResponse(extras.compare_audits(session, actor, audit_id))


class Adoption(BaseModel):
    adopter_id: int


@router.get("/patrol_blocks/{block_id}/adoptions", summary="區塊的認養單位", tags=["治安區塊"])
def block_adoptions(block_id: int, session: SessionDep, actor: ActorDep) -> JSONResponse:
    return JSONResponse(extras.block_adopters(session, actor, block_id))


@router.post(
    "/patrol_blocks/{block_id}/adoptions",
    summary="登錄區塊認養",
    status_code=201,
    tags=["治安區塊"],
)
def adopt(block_id: int, body: Adoption, session: SessionDep, actor: ActorDep) -> JSONResponse:
    return JSONResponse(
        extras.adopt_block(session, actor, block_id, body.adopter_id), status_code=201
    )


@router.delete(
    "/patrol_blocks/{block_id}/adoptions/{adopter_id}",
    summary="取消區塊認養",
    status_code=204,
    tags=["治安區塊"],
)
def release(block_id: int, adopter_id: int, session: SessionDep, actor: ActorDep) -> Response:
    extras.release_block(session, actor, block_id, adopter_id)
    return Response(status_code=204)
