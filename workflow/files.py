"""Files of the workflow (monthly-report evidence, receipts, review attachments), kept in the
database with their application and checked by their first bytes, as hazard photos are."""

from __future__ import annotations

import hashlib

from sqlalchemy import select
from sqlalchemy.orm import Session

from geo.enums import Role
from geo.enums_workflow import FilePurpose
from geo.errors import InvalidInput, NotFound
from geo.models_workflow import WorkflowFile

from .access import Actor, get_application, require_role

MAX_FILE_BYTES = 10 * 1024 * 1024
# Those who file or review (the community, the police); readers such as leaders only read.
UPLOADERS = (Role.community, Role.station, Role.precinct, Role.city_police, Role.admin)
FILES_PER_APPLICATION = 500
# Recognised by their first bytes, not by the name or the type the browser claims.
SIGNATURES = {
    b"%PDF-": "application/pdf",
    b"\xff\xd8\xff": "image/jpeg",
    b"\x89PNG\r\n\x1a\n": "image/png",
}
OOXML = {
    "word/": "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    "xl/": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
}


def sniff(data: bytes) -> str | None:
    for magic, kind in SIGNATURES.items():
        if data.startswith(magic):
            return kind
    if data.startswith(b"RIFF") and data[8:12] == b"WEBP":
        return "image/webp"
    if data[4:12] in (b"ftypheic", b"ftypheix", b"ftypmif1"):
        return "image/heic"
    if data.startswith(b"PK\x03\x04"):
        # A Word or Excel file (scanned receipts are often pasted into one); other zips are not.
        head = data[:4096]
        for marker, kind in OOXML.items():
            if marker.encode() in head:
                return kind
    return None


def add_file(
    session: Session,
    actor: Actor,
    application_id: int,
    purpose: str,
    filename: str,
    data: bytes,
) -> dict:
    """Store an uploaded file for an application the actor may read and acts on."""
    require_role(actor, *UPLOADERS)
    get_application(session, actor, application_id)
    try:
        purpose = FilePurpose(purpose)
    except ValueError:
        raise InvalidInput(
            "檔案用途須為 evidence（管考佐證）、receipt（支出憑證）或 attachment（審查附件）。",
            detail=f"purpose {purpose!r}",
        ) from None
    if not data:
        raise InvalidInput("檔案是空的。", detail="empty upload")
    if len(data) > MAX_FILE_BYTES:
        raise InvalidInput("檔案太大（上限 10 MB）。", detail=f"{len(data)} bytes")
    kind = sniff(data)
    if kind is None:
        raise InvalidInput(
            "只接受 PDF、JPEG、PNG、WebP、HEIC、Word 或 Excel 檔案。",
            detail=f"unrecognised upload {filename!r}",
        )
    count = len(
        session.scalars(
            select(WorkflowFile.id).where(WorkflowFile.application_id == application_id)
        ).all()
    )
    if count >= FILES_PER_APPLICATION:
        raise InvalidInput(f"每個申請案最多 {FILES_PER_APPLICATION} 個檔案。", detail="too many")
    f = WorkflowFile(
        application_id=application_id,
        purpose=purpose.value,
        filename=(filename or "file")[:255],
        content_type=kind,
        size_bytes=len(data),
        sha256=hashlib.sha256(data).hexdigest(),
        data=data,
        uploaded_by=actor.user_id,
    )
    session.add(f)
    session.flush()
    return file_json(f)


def file_json(f: WorkflowFile) -> dict:
    return {
        "id": f.id,
        "application_id": f.application_id,
        "purpose": f.purpose,
        "purpose_label": FilePurpose(f.purpose).label,
        "filename": f.filename,
        "content_type": f.content_type,
        "size_bytes": f.size_bytes,
        "sha256": f.sha256,
        "href": f"/api/applications/{f.application_id}/files/{f.id}",
    }


def get_file(
    session: Session, actor: Actor, application_id: int, file_id: int
) -> tuple[bytes, str, str]:
    get_application(session, actor, application_id)
    f = session.scalar(
        select(WorkflowFile).where(
            WorkflowFile.id == file_id, WorkflowFile.application_id == application_id
        )
    )
    if f is None:
        raise NotFound("找不到此檔案。", detail=f"file {file_id}")
    return f.data, f.content_type, f.filename


def list_files(session: Session, actor: Actor, application_id: int) -> list[dict]:
    get_application(session, actor, application_id)
    rows = session.scalars(
        select(WorkflowFile)
        .where(WorkflowFile.application_id == application_id)
        .order_by(WorkflowFile.id)
    ).all()
    return [file_json(f) for f in rows]


def checked_files(
    session: Session, application_id: int, file_ids: list[int] | None, purpose: str | None = None
) -> list[WorkflowFile]:
    """The files ``file_ids`` of this application (each must belong to it)."""
    ids = list(dict.fromkeys(file_ids or []))
    if not ids:
        return []
    rows = session.scalars(
        select(WorkflowFile).where(
            WorkflowFile.id.in_(ids), WorkflowFile.application_id == application_id
        )
    ).all()
    if len(rows) != len(ids):
        missing = sorted(set(ids) - {f.id for f in rows})
        raise InvalidInput(
            f"附件 {missing} 不屬於此申請案，請先上傳到此申請案。", detail=f"files {missing}"
        )
    if purpose is not None and any(f.purpose != purpose for f in rows):
        raise InvalidInput(
            f"附件用途須為「{FilePurpose(purpose).label}」。", detail=f"purpose != {purpose}"
        )
    return sorted(rows, key=lambda f: ids.index(f.id))
