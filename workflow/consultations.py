"""Anti-theft consultations (防竊達人, plan 陸、一、(六)): 「社區住戶（一般住戶及失竊住戶），得向
警察機關申請指派專業防竊顧問實地勘查，實施防竊諮詢服務，檢測被害環境，強化空間設計」.

A household asks (at the desk, or through its community organisation); the station assigns
a consultant; the visit records a checklist, advice, photos and a follow-up date; the
station follows up, first where a household has been burgled more than once.

The precise location and the household are police information. Everyone else sees counts by
village and district (``figures``), never a record.
"""

from __future__ import annotations

import datetime as dt
import unicodedata
from typing import Any

from geoalchemy2.shape import from_shape
from sqlalchemy import Integer, and_, case, func, or_, select
from sqlalchemy.orm import Session, aliased

from geo.enums import Role
from geo.enums_services import (
    ChecklistItem,
    ChecklistRating,
    ConsultationReason,
    ConsultationStatus,
)
from geo.errors import InvalidInput, NotFound
from geo.models import (
    STORAGE_SRID,
    WEB_SRID,
    District,
    PoliceStation,
    User,
    Village,
    precinct_villages,
    station_villages,
)
from geo.models_services import Consultation, ConsultationPhoto
from geo.validation import check_geometry

from . import service_states as states
from .access import POLICE_ROLES, Actor, get_community, require_role
from .extras import MAX_PHOTO_BYTES, _sniff
from .services_access import (
    CONSULTATION_FILERS,
    CONSULTATION_OFFICERS,
    consultation_area_filter,
    consultation_filter,
    get_consultation,
    require_consultation_officer,
)

PHOTOS_PER_CONSULTATION = 20
# The same household: the same address once normalised, or a point within a few metres
# (a door in the same building entrance); repeat burglary of one home is what the
# follow-up reminders put first.
SAME_HOUSEHOLD_M = 5.0
REMINDER_DAYS = 14
# Small-count suppression: a village figure of 1 or 2 is shown as "<3" to every reader but
# the police of the jurisdiction. In a village of a few hundred households, neighbours know
# who was burgled last month; "1 consultation in 甲一里" would point at that door. 3 is the
# threshold official statistics commonly use for small areas (a count of 1-2 is the one
# that identifies; from 3 on, no reader can tell which household among several).
SMALL_COUNT = 3
COUNT_KEYS = ("total", "burgled", "visited")


def address_key(address: str) -> str:
    """An address compared across spellings: full-width digits and spaces, 台/臺."""
    text = unicodedata.normalize("NFKC", address)
    return "".join(text.split()).replace("台", "臺")


def _text(value: Any, label: str, key: str, *, required: bool = True, limit: int = 256) -> str:
    text = (value or "").strip() if isinstance(value, str) or value is None else None
    if text is None:
        raise InvalidInput(f"{label}格式不正確。", detail=f"{key} not text")
    if required and not text:
        raise InvalidInput(f"請填寫{label}（{key}）。", detail=f"{key} missing")
    if len(text) > limit:
        raise InvalidInput(f"{label}最多 {limit} 字。", detail=f"{key} too long")
    return text


# --------------------------------------------------------------------------- filing
def file_request(session: Session, actor: Actor, data: dict) -> Consultation:
    """File a household's request; the precinct, station and village follow from its place.

    ``data``: reason, household_name, phone, address, location (GeoJSON Point, EPSG:4326),
    burgled_on, request_note, community_id (required when a community organisation files).
    """
    require_role(actor, *CONSULTATION_FILERS)
    try:
        reason = ConsultationReason(data.get("reason") or "general")
    except ValueError:
        raise InvalidInput("申請類別須為一般住戶或失竊住戶。", detail="bad reason") from None
    community_id = data.get("community_id")
    if actor.role is Role.community and community_id is None:
        raise InvalidInput("請指定社區（community_id）。", detail="community_id missing")
    if community_id is not None:
        get_community(session, actor, community_id)
    if data.get("location") is None:
        raise InvalidInput("請在地圖上標示住家位置（location）。", detail="location missing")
    point = check_geometry(data["location"], allowed_types=("Point",), source_crs=4326).geom_3826
    place = func.ST_SetSRID(func.ST_MakePoint(point.x, point.y), STORAGE_SRID)
    village = session.execute(
        select(Village.id, Village.district_id)
        .where(Village.retired_at.is_(None), func.ST_Intersects(Village.geom, place))
        .order_by(Village.id)
        .limit(1)
    ).first()
    if village is None:
        raise InvalidInput(
            "住家位置不在新北市的村里範圍內。", detail="location outside every village"
        )
    precinct_id = session.scalar(
        select(precinct_villages.c.precinct_id).where(precinct_villages.c.village_id == village.id)
    )
    station_id = session.scalar(
        select(station_villages.c.station_id).where(station_villages.c.village_id == village.id)
    )
    if actor.role is Role.station:
        station_id = station_id or actor.station_id
    if precinct_id is None and station_id is not None:
        precinct_id = session.get(PoliceStation, station_id).precinct_id
    precinct_id = precinct_id or actor.precinct_id
    if precinct_id is None:
        raise InvalidInput(
            "住家位置不在任何警察分局的轄區內，請洽轄區派出所。",
            detail=f"village {village.id} has no precinct",
        )
    burgled_on = data.get("burgled_on")
    if reason is ConsultationReason.general and burgled_on is not None:
        raise InvalidInput("一般住戶的申請不需填寫失竊日期。", detail="burgled_on on general")
    address = _text(data.get("address"), "地址", "address")
    record = Consultation(
        reason=reason,
        status=ConsultationStatus.requested,
        precinct_id=precinct_id,
        station_id=station_id,
        district_id=village.district_id,
        village_id=village.id,
        community_id=community_id,
        household_name=_text(data.get("household_name"), "申請人姓名", "household_name", limit=64),
        phone=_text(data.get("phone"), "聯絡電話", "phone", required=False, limit=32) or None,
        address=address,
        address_key=address_key(address),
        geom=from_shape(point, srid=STORAGE_SRID),
        burgled_on=burgled_on,
        requested_on=data.get("requested_on") or dt.date.today(),
        request_note=_text(
            data.get("request_note"), "說明", "request_note", required=False, limit=2000
        ),
        requested_by=actor.user_id,
    )
    session.add(record)
    session.flush()
    states.record_filed(session, states.CONSULTATIONS, record, actor)
    return record


def filing_receipt(session: Session, record: Consultation) -> dict:
    """What the filer keeps: the case number, its state and its village - not the household."""
    village = session.get(Village, record.village_id)
    return _receipt(record, village.name if village else "")


def _receipt(record: Consultation, village: str) -> dict:
    return {
        "id": record.id,
        "status": record.status.value,
        "status_label": record.status.label,
        "reason": record.reason.value,
        "reason_label": record.reason.label,
        "village": village,
        "requested_on": record.requested_on,
    }


def list_filed_by_me(session: Session, actor: Actor) -> list[dict]:
    """The requests the caller filed, as receipts (a community follows its residents' asks)."""
    require_role(actor, *CONSULTATION_FILERS)
    rows = session.execute(
        select(Consultation, Village.name)
        .join(Village, Village.id == Consultation.village_id)
        .where(Consultation.requested_by == actor.user_id)
        .order_by(Consultation.id.desc())
        .limit(200)
    ).all()
    return [_receipt(r, village) for r, village in rows]


# --------------------------------------------------------------------------- reading
def _household_burglaries(c=Consultation):
    """Burglaries recorded for the household of ``c`` (itself included), as a subquery."""
    other = aliased(Consultation)
    return (
        select(func.count())
        .where(
            other.reason == ConsultationReason.burgled,
            or_(
                other.address_key == c.address_key,
                func.ST_DWithin(other.geom, c.geom, SAME_HOUSEHOLD_M),
            ),
        )
        .scalar_subquery()
    )


def _columns():
    web = func.ST_Transform(Consultation.geom, WEB_SRID)
    return (
        Consultation,
        Village.name.label("village"),
        District.name.label("district"),
        PoliceStation.name.label("station"),
        func.ST_X(web).label("lon"),
        func.ST_Y(web).label("lat"),
        _household_burglaries().label("household_burglaries"),
    )


def _base_select():
    return (
        select(*_columns())
        .join(Village, Village.id == Consultation.village_id)
        .join(District, District.id == Consultation.district_id)
        .outerjoin(PoliceStation, PoliceStation.id == Consultation.station_id)
    )


def _json(row) -> dict:
    c: Consultation = row.Consultation
    return {
        "id": c.id,
        "reason": c.reason.value,
        "reason_label": c.reason.label,
        "status": c.status.value,
        "status_label": c.status.label,
        "precinct_id": c.precinct_id,
        "station_id": c.station_id,
        "station": row.station,
        "district": row.district,
        "village": row.village,
        "community_id": c.community_id,
        "household_name": c.household_name,
        "phone": c.phone,
        "address": c.address,
        "location": {"type": "Point", "coordinates": [round(row.lon, 6), round(row.lat, 6)]},
        "burgled_on": c.burgled_on,
        "requested_on": c.requested_on,
        "request_note": c.request_note,
        "consultant_name": c.consultant_name,
        "consultant_user_id": c.consultant_user_id,
        "scheduled_for": c.scheduled_for,
        "visited_on": c.visited_on,
        "checklist": c.checklist or {},
        "advice": c.advice,
        "follow_up_on": c.follow_up_on,
        "followed_up_on": c.followed_up_on,
        "follow_up_note": c.follow_up_note,
        "household_burglaries": row.household_burglaries,
        "repeat_victim": row.household_burglaries >= 2,
        "version": c.version,
    }


def list_consultations(
    session: Session,
    actor: Actor,
    *,
    status: str | None = None,
    reason: str | None = None,
    station_id: int | None = None,
    limit: int = 100,
    offset: int = 0,
) -> dict:
    """A page of the consultations in the officer's jurisdiction, newest first."""
    require_consultation_officer(actor)
    where = [consultation_filter(actor)]
    if status:
        where.append(Consultation.status == _enum(ConsultationStatus, status, "狀態"))
    if reason:
        where.append(Consultation.reason == _enum(ConsultationReason, reason, "申請類別"))
    if station_id is not None:
        where.append(Consultation.station_id == station_id)
    total = session.scalar(select(func.count()).select_from(Consultation).where(*where))
    rows = session.execute(
        _base_select()
        .where(*where)
        .order_by(Consultation.requested_on.desc(), Consultation.id.desc())
        .limit(limit)
        .offset(offset)
    ).all()
    return {"total": total, "limit": limit, "offset": offset, "items": [_json(r) for r in rows]}


def _enum(cls, value: str, label: str):
    try:
        return cls(value)
    except ValueError:
        raise InvalidInput(f"未知的{label}：{value}", detail=f"bad {cls.__name__}") from None


def get(session: Session, actor: Actor, consultation_id: int) -> dict:
    """One consultation with its photos and history (police in whose jurisdiction it lies)."""
    require_consultation_officer(actor)
    row = session.execute(
        _base_select().where(Consultation.id == consultation_id, consultation_filter(actor))
    ).first()
    if row is None:
        raise NotFound(
            "找不到此防竊諮詢案件，或您沒有權限查看。",
            detail=f"consultation {consultation_id} out of scope",
        )
    out = _json(row)
    out["photos"] = _photos(session, consultation_id)
    out["history"] = states.history(session, states.CONSULTATIONS, consultation_id)
    out["moves"] = [
        {"target": m.target.value, "label": m.label}
        for m in states.CONSULTATIONS.allowed(row.Consultation.status, actor.role)
    ]
    return out


# --------------------------------------------------------------------------- the visit
def assign(
    session: Session,
    actor: Actor,
    consultation_id: int,
    *,
    consultant_name: str,
    consultant_user_id: int | None = None,
    scheduled_for: dt.date | None = None,
    comment: str | None = None,
) -> Consultation:
    """Assign (or re-assign) the consultant and the visit date."""
    require_consultation_officer(actor)
    record = get_consultation(session, actor, consultation_id, for_update=True)
    name = _text(consultant_name, "防竊顧問姓名", "consultant_name", limit=64)
    if consultant_user_id is not None:
        user = session.get(User, consultant_user_id)
        if user is None or user.role not in POLICE_ROLES or not user.is_active:
            raise InvalidInput(
                "指定的防竊顧問帳號不存在或不是警察機關人員。", detail="consultant not police"
            )
    states.transition(
        session,
        states.CONSULTATIONS,
        record,
        ConsultationStatus.assigned,
        actor,
        comment=comment or f"防竊顧問：{name}",
    )
    record.consultant_name = name
    record.consultant_user_id = consultant_user_id
    record.scheduled_for = scheduled_for
    session.flush()
    return record


def check_checklist(checklist: Any) -> dict:
    """Every checklist item rated (``ChecklistRating``), with an optional note."""
    if not isinstance(checklist, dict):
        raise InvalidInput("檢測表（checklist）格式不正確。", detail="checklist not an object")
    unknown = sorted(set(checklist) - set(ChecklistItem.labels()))
    if unknown:
        raise InvalidInput(
            f"檢測表有不認得的項目：{'、'.join(unknown)}", detail=f"unknown items {unknown}"
        )
    out = {}
    for item in ChecklistItem:
        entry = checklist.get(item.value)
        if not isinstance(entry, dict) or entry.get("rating") not in ChecklistRating.labels():
            raise InvalidInput(
                f"請為檢測項目「{item.label}」評定結果（{'、'.join(r.label for r in ChecklistRating)}）。",
                detail=f"{item.value} unrated",
            )
        note = entry.get("note") or ""
        if not isinstance(note, str) or len(note) > 1000:
            raise InvalidInput(f"「{item.label}」的說明格式不正確。", detail=f"{item.value} note")
        out[item.value] = {"rating": entry["rating"], "note": note.strip()}
    return out


def record_visit(
    session: Session,
    actor: Actor,
    consultation_id: int,
    *,
    visited_on: dt.date,
    checklist: dict,
    advice: str,
    follow_up_on: dt.date | None,
    comment: str | None = None,
) -> Consultation:
    """The on-site inspection: checklist, advice and the date to follow up."""
    require_consultation_officer(actor)
    record = get_consultation(session, actor, consultation_id, for_update=True)
    checked = check_checklist(checklist)
    if visited_on > dt.date.today():
        raise InvalidInput("勘查日期不能晚於今天。", detail="visit in the future")
    if follow_up_on is not None and follow_up_on < visited_on:
        raise InvalidInput("追蹤日期不能早於勘查日期。", detail="follow-up before visit")
    states.transition(
        session, states.CONSULTATIONS, record, ConsultationStatus.visited, actor, comment=comment
    )
    record.visited_on = visited_on
    record.checklist = checked
    record.advice = _text(advice, "防竊建議", "advice", limit=5000)
    record.follow_up_on = follow_up_on
    session.flush()
    return record


def follow_up(
    session: Session,
    actor: Actor,
    consultation_id: int,
    *,
    followed_up_on: dt.date,
    note: str,
    next_follow_up_on: dt.date | None = None,
) -> Consultation:
    """A follow-up call or visit: closes the case, or sets the next follow-up date."""
    require_consultation_officer(actor)
    record = get_consultation(session, actor, consultation_id, for_update=True)
    if record.status is not ConsultationStatus.visited:
        raise states.InvalidServiceTransition(
            "尚未實地勘查的案件不能登錄追蹤。", detail=f"follow-up in {record.status}"
        )
    text = _text(note, "追蹤情形", "note", limit=2000)
    if next_follow_up_on is not None:
        if next_follow_up_on <= followed_up_on:
            raise InvalidInput("下次追蹤日期須晚於本次追蹤日期。", detail="next before this")
        # Not a change of state: the case stays open with a later reminder.
        record.follow_up_on = next_follow_up_on
        record.follow_up_note = text
        record.version += 1
        record.updated_at = func.now()
        states.note(session, states.CONSULTATIONS, record, actor, f"追蹤：{text}")
    else:
        states.transition(
            session, states.CONSULTATIONS, record, ConsultationStatus.closed, actor, comment=text
        )
        record.follow_up_note = text
    record.followed_up_on = followed_up_on
    session.flush()
    return record


def cancel(session: Session, actor: Actor, consultation_id: int, comment: str) -> Consultation:
    require_consultation_officer(actor)
    record = get_consultation(session, actor, consultation_id, for_update=True)
    states.transition(
        session,
        states.CONSULTATIONS,
        record,
        ConsultationStatus.cancelled,
        actor,
        comment=_text(comment, "取消原因", "comment", limit=500),
    )
    return record


# --------------------------------------------------------------------------- photos
def add_photo(
    session: Session,
    actor: Actor,
    consultation_id: int,
    filename: str,
    data: bytes,
    caption: str | None,
) -> dict:
    """A photo of the visit; recognised by its bytes, as hazard photos are."""
    require_consultation_officer(actor)
    get_consultation(session, actor, consultation_id)
    if not data:
        raise InvalidInput("照片檔案是空的。", detail="empty upload")
    if len(data) > MAX_PHOTO_BYTES:
        raise InvalidInput("照片檔案太大（上限 10 MB）。", detail=f"{len(data)} bytes")
    kind = _sniff(data)
    if kind is None:
        raise InvalidInput("只接受 JPEG、PNG、WebP 或 HEIC 照片。", detail="unrecognised upload")
    count = session.scalar(
        select(func.count()).where(ConsultationPhoto.consultation_id == consultation_id)
    )
    if count >= PHOTOS_PER_CONSULTATION:
        raise InvalidInput(
            f"每件諮詢最多 {PHOTOS_PER_CONSULTATION} 張照片。", detail="too many photos"
        )
    photo = ConsultationPhoto(
        consultation_id=consultation_id,
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


def _photo_json(p: ConsultationPhoto) -> dict:
    return {
        "id": p.id,
        "filename": p.filename,
        "content_type": p.content_type,
        "size_bytes": p.size_bytes,
        "caption": p.caption,
        "uploaded_at": p.uploaded_at,
        "href": f"/api/consultations/{p.consultation_id}/photos/{p.id}",
    }


def _photos(session: Session, consultation_id: int) -> list[dict]:
    photos = session.scalars(
        select(ConsultationPhoto)
        .where(ConsultationPhoto.consultation_id == consultation_id)
        .order_by(ConsultationPhoto.id)
    ).all()
    return [_photo_json(p) for p in photos]


def list_photos(session: Session, actor: Actor, consultation_id: int) -> list[dict]:
    require_consultation_officer(actor)
    get_consultation(session, actor, consultation_id)
    return _photos(session, consultation_id)


def get_photo(
    session: Session, actor: Actor, consultation_id: int, photo_id: int
) -> tuple[bytes, str, str]:
    require_consultation_officer(actor)
    get_consultation(session, actor, consultation_id)
    photo = session.scalar(
        select(ConsultationPhoto).where(
            ConsultationPhoto.id == photo_id, ConsultationPhoto.consultation_id == consultation_id
        )
    )
    if photo is None:
        raise NotFound("找不到此照片。", detail=f"consultation photo {photo_id}")
    return photo.data, photo.content_type, photo.filename


# --------------------------------------------------------------------------- reminders
def reminders(
    session: Session,
    actor: Actor,
    *,
    within_days: int = REMINDER_DAYS,
    today: dt.date | None = None,
) -> list[dict]:
    """Follow-ups due within ``within_days`` (overdue ones included), households burgled more
    than once first: repeat victimisation is the strongest predictor of the next burglary."""
    require_consultation_officer(actor)
    today = today or dt.date.today()
    burglaries = _household_burglaries()
    rows = session.execute(
        _base_select()
        .where(
            consultation_filter(actor),
            Consultation.status == ConsultationStatus.visited,
            Consultation.follow_up_on.is_not(None),
            Consultation.follow_up_on <= today + dt.timedelta(days=within_days),
        )
        .order_by((burglaries >= 2).desc(), Consultation.follow_up_on, Consultation.id)
    ).all()
    out = []
    for r in rows:
        item = _json(r)
        item["overdue_days"] = max(0, (today - r.Consultation.follow_up_on).days)
        out.append(item)
    return out


# --------------------------------------------------------------------------- figures
def figures(session: Session, actor: Actor, *, year: int | None = None) -> dict:
    """Counts for a year (all years without one) by district, village and station, for every
    signed-in reader within their area (the police: their jurisdiction).

    Village counts are the finest grain anyone but the police sees (the issue: "only ever
    aggregated (village level) anywhere else").
    """
    area = consultation_area_filter(actor)
    where = [area]
    if year is not None:
        where.append(func.extract("year", Consultation.requested_on) == year)
    c = Consultation

    def counts():
        return (
            func.count().label("total"),
            func.count().filter(c.reason == ConsultationReason.burgled).label("burgled"),
            func.count()
            .filter(c.status.in_([ConsultationStatus.visited, ConsultationStatus.closed]))
            .label("visited"),
        )

    by_district = session.execute(
        select(District.code, District.name, *counts())
        .join(District, District.id == c.district_id)
        .where(*where)
        .group_by(District.code, District.name)
        .order_by(District.code)
    ).all()
    by_village = session.execute(
        select(Village.code, Village.name, District.name.label("district"), *counts())
        .join(Village, Village.id == c.village_id)
        .join(District, District.id == c.district_id)
        .where(*where)
        .group_by(Village.code, Village.name, District.name)
        .order_by(Village.code)
    ).all()
    villages = [dict(r._mapping) for r in by_village]
    if not _reads_records(actor):
        villages = suppress_small_counts(villages, COUNT_KEYS, group="district")
    out: dict[str, Any] = {
        "year": year,
        "by_district": [dict(r._mapping) for r in by_district],
        "by_village": villages,
    }
    today = dt.date.today()
    due = and_(c.status == ConsultationStatus.visited, c.follow_up_on.is_not(None))
    station_rows = session.execute(
        select(
            PoliceStation.id.label("station_id"),
            func.coalesce(PoliceStation.name, "（未分派派出所）").label("station"),
            *counts(),
            func.count().filter(c.status == ConsultationStatus.requested).label("waiting"),
            func.count().filter(due, c.follow_up_on < today).label("follow_ups_overdue"),
            func.sum(case((_household_burglaries() >= 2, 1), else_=0))
            .cast(Integer)
            .label("repeat_victims"),
        )
        .select_from(c)
        .outerjoin(PoliceStation, PoliceStation.id == c.station_id)
        .where(*where)
        .group_by(PoliceStation.id, PoliceStation.name)
        .order_by(PoliceStation.name)
    ).all()
    out["by_station"] = [dict(r._mapping) for r in station_rows]
    out["total"] = sum(r["total"] for r in out["by_district"])
    return out


# --------------------------------------------------------------------------- suppression
def _reads_records(actor: Actor) -> bool:
    """The police of the jurisdiction read every record anyway: their figures stay exact."""
    return actor.role in CONSULTATION_OFFICERS


def suppress(count: int | None) -> int | None:
    """A count of 1 to ``SMALL_COUNT - 1`` becomes ``None`` (shown as "<3"); 0 stays 0."""
    return None if count is not None and 0 < count < SMALL_COUNT else count


def suppress_small_counts(rows: list[dict], keys: tuple[str, ...], *, group: str) -> list[dict]:
    """Rows with small counts replaced by ``None`` and named in ``suppressed``.

    Within each ``group`` (a district, whose total is published), a column with exactly one
    suppressed cell also hides its smallest other cell, or the district total minus the
    visible villages would give the hidden count back (complementary suppression).
    """
    out = [{**r, "suppressed": []} for r in rows]
    for key in keys:
        groups: dict[Any, list[dict]] = {}
        for r in out:
            groups.setdefault(r[group], []).append(r)
        for members in groups.values():
            small = [r for r in members if suppress(r[key]) is None and r[key] is not None]
            for r in small:
                r[key] = None
                r["suppressed"].append(key)
            if len(small) == 1:
                others = [r for r in members if r[key] is not None and r[key] > 0]
                if others:
                    other = min(others, key=lambda r: r[key])
                    other[key] = None
                    other["suppressed"].append(key)
    return out
