"""Hazard photos and walk-audit comparisons: the parts of the layers that are not plain rows."""

from __future__ import annotations

from sqlalchemy import delete, func, or_, select
from sqlalchemy.orm import Session

from geo import layers as store
from geo.errors import InvalidInput, NotFound
from geo.layers import HAZARDS, SAFETY_AUDITS
from geo.models import AUDIT_PARAMETERS, HazardPhoto, SafetyAudit

from .access import Actor, require_signed_in
from .layers import AUDIT_LABELS, read_scope, row_scope, write_scope

MAX_PHOTO_BYTES = 10 * 1024 * 1024
PHOTOS_PER_HAZARD = 20
# Recognised by their first bytes, not by the name or the type the browser claims.
IMAGE_SIGNATURES = {
    b"\xff\xd8\xff": "image/jpeg",
    b"\x89PNG\r\n\x1a\n": "image/png",
    b"RIFF": "image/webp",
}


def _sniff(data: bytes) -> str | None:
    for magic, kind in IMAGE_SIGNATURES.items():
        if data.startswith(magic) and (kind != "image/webp" or data[8:12] == b"WEBP"):
            return kind
    if data[4:12] in (b"ftypheic", b"ftypheix", b"ftypmif1"):
        return "image/heic"
    return None


def add_photo(
    session: Session, actor: Actor, hazard_id: int, filename: str, data: bytes, caption: str | None
) -> dict:
    store.row_in_scope(session, HAZARDS, write_scope(HAZARDS, actor), hazard_id)
    if not data:
        raise InvalidInput("照片檔案是空的。", detail="empty upload")
    if len(data) > MAX_PHOTO_BYTES:
        raise InvalidInput("照片檔案太大（上限 10 MB）。", detail=f"{len(data)} bytes")
    kind = _sniff(data)
    if kind is None:
        raise InvalidInput(
            "只接受 JPEG、PNG、WebP 或 HEIC 照片。", detail=f"unrecognised upload {filename!r}"
        )
    count = session.scalar(select(func.count()).where(HazardPhoto.hazard_id == hazard_id))
    if count >= PHOTOS_PER_HAZARD:
        raise InvalidInput(f"每個問題點最多 {PHOTOS_PER_HAZARD} 張照片。", detail="too many photos")
    photo = HazardPhoto(
        hazard_id=hazard_id,
        filename=(filename or "photo")[:255],
        content_type=kind,
        size_bytes=len(data),
        data=data,
        caption=(caption or None) and caption[:255],
        uploaded_by=actor.user_id,
    )
    session.add(photo)
    session.flush()
    return _photo_json(photo)


def _photo_json(p: HazardPhoto) -> dict:
    return {
        "id": p.id,
        "hazard_id": p.hazard_id,
        "filename": p.filename,
        "content_type": p.content_type,
        "size_bytes": p.size_bytes,
        "caption": p.caption,
        "uploaded_at": p.uploaded_at.isoformat() if p.uploaded_at else None,
        "href": f"/api/hazards/{p.hazard_id}/photos/{p.id}",
    }


def _readable_hazard(session: Session, actor: Actor, hazard_id: int) -> None:
    # Photos may show faces and number plates: signed-in readers in scope only, even though
    # the hazard itself is on the public map.
    require_signed_in(actor)
    read_scope(HAZARDS, actor)
    store.row_in_scope(session, HAZARDS, row_scope(HAZARDS, actor), hazard_id)


def list_photos(session: Session, actor: Actor, hazard_id: int) -> list[dict]:
    _readable_hazard(session, actor, hazard_id)
    photos = session.scalars(
        select(HazardPhoto).where(HazardPhoto.hazard_id == hazard_id).order_by(HazardPhoto.id)
    ).all()
    return [_photo_json(p) for p in photos]


def get_photo(
    session: Session, actor: Actor, hazard_id: int, photo_id: int
) -> tuple[bytes, str, str]:
    _readable_hazard(session, actor, hazard_id)
    photo = session.scalar(
        select(HazardPhoto).where(HazardPhoto.id == photo_id, HazardPhoto.hazard_id == hazard_id)
    )
    if photo is None:
        raise NotFound("找不到此照片。", detail=f"photo {photo_id}")
    return photo.data, photo.content_type, photo.filename


def delete_photo(session: Session, actor: Actor, hazard_id: int, photo_id: int) -> None:
    store.row_in_scope(session, HAZARDS, write_scope(HAZARDS, actor), hazard_id)
    gone = session.execute(
        delete(HazardPhoto)
        .where(HazardPhoto.id == photo_id, HazardPhoto.hazard_id == hazard_id)
        .returning(HazardPhoto.id)
    ).scalar()
    if gone is None:
        raise NotFound("找不到此照片。", detail=f"photo {photo_id}")


SAME_PLACE_M = 25.0  # audits whose lines lie within this Hausdorff distance describe one place


def compare_audits(session: Session, actor: Actor, audit_id: int) -> dict:
    """An audit beside the other period's audit of the same place and its re-audits.

    Same place: same community and a geometry within 25 m (Hausdorff) or the same place name.
    """
    scope = read_scope(SAFETY_AUDITS, actor)
    this = store.row_in_scope(session, SAFETY_AUDITS, scope, audit_id)
    same_place = or_(
        func.ST_HausdorffDistance(
            SafetyAudit.geom,
            select(SafetyAudit.geom).where(SafetyAudit.id == audit_id).scalar_subquery(),
        )
        <= SAME_PLACE_M,
        SafetyAudit.place_name == this["place_name"],
    )
    others = session.scalars(
        select(SafetyAudit)
        .where(
            SafetyAudit.community_id == this["community_id"],
            SafetyAudit.id != audit_id,
            same_place,
            scope,
        )
        .order_by(SafetyAudit.audited_on, SafetyAudit.id)
    ).all()

    def summary(a) -> dict:
        get = a.get if isinstance(a, dict) else lambda k: getattr(a, k)
        return {
            "id": get("id"),
            "period": getattr(get("period"), "value", get("period")),
            "audited_on": get("audited_on").isoformat(),
            "score": float(get("score")),
            "scores": {p: get(p) for p in AUDIT_PARAMETERS},
            "follow_up_of": get("follow_up_of"),
        }

    me = summary(this)
    other_period = "night" if me["period"] == "day" else "day"
    counterpart = next(
        (summary(a) for a in reversed(others) if a.period.value == other_period), None
    )
    reaudits = [
        summary(a) for a in others if a.follow_up_of == audit_id or a.id == this["follow_up_of"]
    ]
    differences = None
    if counterpart:
        differences = [
            {
                "parameter": p,
                "label": AUDIT_LABELS[p],
                me["period"]: me["scores"][p],
                other_period: counterpart["scores"][p],
                "difference": me["scores"][p] - counterpart["scores"][p],
            }
            for p in AUDIT_PARAMETERS
        ]
    return {
        "audit": me,
        "place_name": this["place_name"],
        "counterpart": counterpart,
        "differences": differences,
        "reaudits": reaudits,
        "history": [summary(a) for a in others],
    }


def adopt_block(session: Session, actor: Actor, block_id: int, adopter_id: int) -> dict:
    """Record that an adopter's guards patrol a block (both of the same community)."""
    from geo.layers import ADOPTERS, PATROL_BLOCKS
    from geo.models import block_adoptions

    block = store.row_in_scope(session, PATROL_BLOCKS, write_scope(PATROL_BLOCKS, actor), block_id)
    adopter = store.row_in_scope(session, ADOPTERS, write_scope(ADOPTERS, actor), adopter_id)
    if adopter["community_id"] != block["community_id"]:
        raise InvalidInput("認養單位與區塊須屬於同一社區。", detail="community mismatch")
    exists = session.execute(
        select(block_adoptions).where(
            block_adoptions.c.block_id == block_id, block_adoptions.c.adopter_id == adopter_id
        )
    ).first()
    if exists is None:
        session.execute(block_adoptions.insert().values(block_id=block_id, adopter_id=adopter_id))
    return {"block_id": block_id, "adopter_id": adopter_id}


def release_block(session: Session, actor: Actor, block_id: int, adopter_id: int) -> None:
    from geo.layers import PATROL_BLOCKS
    from geo.models import block_adoptions

    store.row_in_scope(session, PATROL_BLOCKS, write_scope(PATROL_BLOCKS, actor), block_id)
    gone = session.execute(
        delete(block_adoptions)
        .where(block_adoptions.c.block_id == block_id, block_adoptions.c.adopter_id == adopter_id)
        .returning(block_adoptions.c.block_id)
    ).first()
    if gone is None:
        raise NotFound("此區塊沒有這個認養單位。", detail=f"{block_id}/{adopter_id}")


def block_adopters(session: Session, actor: Actor, block_id: int) -> list[dict]:
    from geo.layers import PATROL_BLOCKS
    from geo.models import Adopter, block_adoptions

    store.row_in_scope(session, PATROL_BLOCKS, read_scope(PATROL_BLOCKS, actor), block_id)
    rows = session.execute(
        select(Adopter.id, Adopter.name, Adopter.kind, Adopter.guards, Adopter.hours)
        .join(block_adoptions, block_adoptions.c.adopter_id == Adopter.id)
        .where(block_adoptions.c.block_id == block_id)
        .order_by(Adopter.id)
    ).all()
    return [
        {"id": r.id, "name": r.name, "kind": r.kind.value, "guards": r.guards, "hours": r.hours}
        for r in rows
    ]
