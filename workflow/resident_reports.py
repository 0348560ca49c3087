"""Residents' safety-concern reports (issue #7, item 6): the public form's rules and triage.

A resident with no account marks a spot, picks a category and describes the concern; a
honeypot field and a per-address hourly limit keep scripted spam out. The community whose
boundary holds the spot and the police of that jurisdiction (``access.resident_report_filter``)
then triage each new report, with the hazards and other reports within
``DUPLICATE_RADIUS_M`` suggested as duplicates (PostGIS, EPSG:3826 metres):

- accept: it becomes a hazard of the safety map, written through ``workflow.layers`` (so the
  hazard's own rules, scope and ``layer_history`` apply), with the report's photo;
- merge: it is a duplicate of a hazard already on the map;
- dismiss: with a reason.

Each move is one transaction (the request's), goes through ``service_states.transition`` and
is journalled in ``service_events``. The reporter's contact details never leave this module
except to the triaging community and police: hazards made from reports carry no contact.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import json
import math
import re
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Numeric, case, cast, func, select, text
from sqlalchemy.dialects.postgresql import aggregate_order_by
from sqlalchemy.orm import Session, aliased

from geo import layers as store
from geo.enums import HazardStatus, Role, TimeOfDay
from geo.errors import InvalidInput, NotFound, SafemapError
from geo.layers import HAZARDS
from geo.models import STORAGE_SRID, WEB_SRID, Community, Hazard, Precinct, User, Village
from geo.models_reports import ResidentReport, ResidentReportStatus

from . import extras, layers
from .access import Actor, require_role, resident_report_filter
from .roc import roc_year
from .service_states import StateTable, _m, transition

S = ResidentReportStatus
R = ResidentReport

RATE_LIMIT = 5  # reports per sender address per hour: plenty for a person, little for a script
RATE_WINDOW = dt.timedelta(hours=1)
DUPLICATE_RADIUS_M = 50.0
DESCRIPTION_MIN = 10
DESCRIPTION_MAX = 1000
PLACE_MAX = 128
REASON_MAX = 500
MAX_PHOTO_BYTES = 5 * 1024 * 1024  # a phone photo; the form says so
HONEYPOT = "website"  # the form's hidden field: people never see it, form-filling scripts do

# Who triages (the community and police of the spot; the city police anywhere).
TRIAGE_ROLES = (Role.community, Role.station, Role.precinct, Role.city_police, Role.admin)

STATES = StateTable(
    "resident_reports",
    (
        _m(S.new, S.accepted, "列為問題點", *TRIAGE_ROLES),
        _m(S.new, S.merged, "併入既有問題點", *TRIAGE_ROLES),
        _m(S.new, S.dismissed, "不予處理", *TRIAGE_ROLES),
    ),
)
ACTIONS = {"accept": S.accepted, "merge": S.merged, "dismiss": S.dismissed}


# --------------------------------------------------------------------------- errors
@dataclass(frozen=True)
class FieldProblem:
    field: str
    code: str
    message: str


class ReportInvalid(InvalidInput):
    """One or more fields of a report are wrong; ``context["problems"]`` holds them all, the
    error's code is the first one's so clients can tell them apart."""

    code = "report_invalid"
    message = "回報內容有誤。"

    def __init__(self, problems: list[FieldProblem]):
        super().__init__(
            "；".join(p.message.rstrip("。") for p in problems) + "。",
            detail=", ".join(p.code for p in problems),
        )
        self.code = problems[0].code
        self.problems = problems

    @property
    def fields(self) -> dict[str, str]:
        return {p.field: p.message for p in self.problems}


class SpamSuspected(InvalidInput):
    code = "report_rejected"
    message = "無法受理這份回報。若您是親自填寫，請重新整理頁面後再送出。"


class RateLimited(SafemapError):
    """Too many reports from one address within the hour (HTTP 429)."""

    code = "rate_limited"
    message = f"同一網路位址每小時最多送出 {RATE_LIMIT} 份回報，請稍後再試。"


# --------------------------------------------------------------------------- the public form
@dataclass
class ReportInput:
    """What the form or the API sends, as text (the form keeps it to show back on errors)."""

    lon: Any = None
    lat: Any = None
    category: str = ""
    time_of_day: str = ""
    description: str = ""
    place: str = ""
    contact_name: str = ""
    contact_phone: str = ""
    contact_email: str = ""
    community_id: Any = None
    website: str = ""  # the honeypot
    photo: bytes | None = None
    photo_name: str | None = None


PHONE = re.compile(r"^\+?[0-9][0-9 ()#-]{6,18}[0-9]$")
EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


def _number(value: Any) -> float | None:
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return number if math.isfinite(number) else None


def _text(value: Any) -> str:
    return str(value or "").strip()


def validate(session: Session, data: ReportInput) -> dict[str, Any]:
    """The report's column values; raises ``ReportInvalid`` naming every wrong field."""
    problems: list[FieldProblem] = []

    def bad(field: str, code: str, message: str) -> None:
        problems.append(FieldProblem(field, code, message))

    lon, lat = _number(data.lon), _number(data.lat)
    if lon is None or lat is None or not (-180 <= lon <= 180 and -90 <= lat <= 90):
        bad("location", "report_location_missing", "請在地圖上點選您擔心的地點。")
        lon = lat = None
    elif not _in_new_taipei(session, lon, lat):
        bad(
            "location",
            "report_location_outside",
            "您選的地點不在新北市範圍內，請在地圖上重新點選。",
        )
    category = _text(data.category)
    if category not in layers.hazard_categories():
        bad("category", "report_category_invalid", "請選擇問題類別。")
    time_of_day = _text(data.time_of_day)
    if time_of_day not in TimeOfDay.labels():
        bad("time_of_day", "report_time_invalid", "請選擇什麼時段最令人擔心。")
    description = _text(data.description)
    if len(description) < DESCRIPTION_MIN:
        bad(
            "description",
            "report_description_short",
            f"請描述您擔心的情形（至少 {DESCRIPTION_MIN} 個字）。",
        )
    elif len(description) > DESCRIPTION_MAX:
        bad(
            "description",
            "report_description_long",
            f"說明太長了（上限 {DESCRIPTION_MAX} 字，目前 {len(description)} 字）。",
        )
    place = _text(data.place)
    if len(place) > PLACE_MAX:
        bad("place", "report_place_long", f"地點說明最多 {PLACE_MAX} 字。")
    name, phone, email = (
        _text(data.contact_name),
        _text(data.contact_phone),
        _text(data.contact_email),
    )
    if len(name) > 64:
        bad("contact_name", "report_contact_name_long", "稱呼最多 64 字。")
    if phone and not PHONE.match(phone):
        bad(
            "contact_phone",
            "report_contact_phone_invalid",
            "電話號碼只能包含數字、空格、括號與連字號（例如 02-2960-3456）。",
        )
    if email and (len(email) > 128 or not EMAIL.match(email)):
        bad(
            "contact_email",
            "report_contact_email_invalid",
            "電子郵件格式不正確（例如 name@example.com）。",
        )
    photo_type = None
    if data.photo:
        if len(data.photo) > MAX_PHOTO_BYTES:
            bad("photo", "report_photo_too_large", "照片太大了（上限 5 MB）。")
        else:
            photo_type = extras._sniff(data.photo)  # by the first bytes, as for hazard photos
            if photo_type is None:
                bad("photo", "report_photo_invalid", "只接受 JPEG、PNG、WebP 或 HEIC 照片。")
    if problems:
        raise ReportInvalid(problems)
    community_id = _number(data.community_id)
    return {
        "lon": lon,
        "lat": lat,
        "category": category,
        "time_of_day": TimeOfDay(time_of_day),
        "description": description,
        "place": place or None,
        "contact_name": name or None,
        "contact_phone": phone or None,
        "contact_email": email or None,
        "community_id": int(community_id) if community_id and community_id.is_integer() else None,
        "photo": data.photo if photo_type else None,
        "photo_type": photo_type,
        "photo_name": (data.photo_name or "photo")[:255] if photo_type else None,
    }


def _point(lon: float, lat: float):
    return func.ST_Transform(func.ST_SetSRID(func.ST_MakePoint(lon, lat), WEB_SRID), STORAGE_SRID)


def _in_new_taipei(session: Session, lon: float, lat: float) -> bool:
    # New Taipei is the villages on record: a spot outside every village has no community
    # or precinct to triage it.
    return bool(
        session.scalar(
            select(
                select(Village.id)
                .where(Village.retired_at.is_(None), Village.geom.ST_Covers(_point(lon, lat)))
                .exists()
            )
        )
    )


def sender_hash(address: str, secret: str) -> str:
    """A keyed hash of the sender's address: enough to count their reports, not to find them."""
    return hmac.new(secret.encode(), address.encode(), hashlib.sha256).hexdigest()


def _check_rate(session: Session, ip_hash: str) -> None:
    # One sender's submissions queue on a lock, so parallel requests cannot all pass the count.
    session.execute(text("SELECT pg_advisory_xact_lock(hashtextextended(:k, 9))"), {"k": ip_hash})
    recent = session.scalar(
        select(func.count())
        .select_from(R)
        .where(R.ip_hash == ip_hash, R.created_at > func.now() - RATE_WINDOW)
    )
    if recent >= RATE_LIMIT:
        raise RateLimited(detail=f"{recent} reports within the hour")


def reference(report_id: int, created_at: dt.datetime) -> str:
    """The number a resident quotes: ROC year and the report's number, e.g. ``115-00042``."""
    return f"{roc_year(created_at.year)}-{report_id:05d}"


def submit(session: Session, data: ReportInput, *, sender: str, secret: str) -> dict:
    """Store a resident's report; returns its id and reference number.

    Raises
    ------
    SpamSuspected : the honeypot field was filled in.
    RateLimited : the sender's address sent ``RATE_LIMIT`` reports within the hour.
    ReportInvalid : a field is missing or wrong (all of them named).
    """
    if _text(data.website):
        raise SpamSuspected(detail="honeypot filled")
    ip_hash = sender_hash(sender, secret)
    _check_rate(session, ip_hash)
    values = validate(session, data)
    lon, lat = values.pop("lon"), values.pop("lat")
    report = R(geom=_point(lon, lat), status=S.new, ip_hash=ip_hash, **values)
    session.add(report)
    session.flush()
    session.refresh(report, ["created_at", "community_id", "precinct_id"])
    return {
        "id": report.id,
        "reference": reference(report.id, report.created_at),
        "status": report.status.value,
        "status_label": report.status.label,
    }


def form_options(session: Session, community_id: int | None) -> dict:
    """What the public form offers: categories, times, and the chosen community (a point on
    its surface to centre the map on), when there is such a community."""
    community = None
    if community_id is not None:
        on = func.ST_Transform(func.ST_PointOnSurface(Community.geom), WEB_SRID)
        row = session.execute(
            select(Community.id, Community.name, func.ST_Y(on), func.ST_X(on)).where(
                Community.id == community_id
            )
        ).first()
        if row is not None:
            community = {"id": row[0], "name": row[1], "center": [row[2], row[3]]}
    return {
        "categories": [
            {"code": c["code"], "label": c["label"]} for c in layers.hazard_categories().values()
        ],
        "times": TimeOfDay.labels(),
        "community": community,
    }


# --------------------------------------------------------------------------- triage: reading
def _distance(geom_a, geom_b):
    return func.round(cast(func.ST_Distance(geom_a, geom_b), Numeric), 1)


def _nearby_hazards(actor: Actor, radius: float):
    """Hazards within ``radius`` m of the outer report, nearest first, as a JSON array."""
    item = func.json_build_object(
        "kind", "hazard",
        "id", Hazard.id,
        "title", Hazard.title,
        "category", Hazard.category,
        "status", Hazard.status,
        "distance_m", _distance(Hazard.geom, R.geom),
        "lat", func.ST_Y(func.ST_Transform(func.ST_PointOnSurface(Hazard.geom), WEB_SRID)),
        "lon", func.ST_X(func.ST_Transform(func.ST_PointOnSurface(Hazard.geom), WEB_SRID)),
    )  # fmt: skip
    return (
        select(
            func.coalesce(
                func.json_agg(aggregate_order_by(item, func.ST_Distance(Hazard.geom, R.geom))),
                text("'[]'::json"),
            )
        )
        .where(
            func.ST_DWithin(Hazard.geom, R.geom, radius),
            layers.row_scope(HAZARDS, actor),
        )
        .correlate(R)
        .scalar_subquery()
    )


def _nearby_reports(actor: Actor, radius: float):
    """Other reports within ``radius`` m of the outer report that the actor may see."""
    other = aliased(R, name="other")
    item = func.json_build_object(
        "kind", "report",
        "id", other.id,
        "category", other.category,
        "status", other.status,
        "created_at", other.created_at,
        "distance_m", _distance(other.geom, R.geom),
        "lat", func.ST_Y(func.ST_Transform(other.geom, WEB_SRID)),
        "lon", func.ST_X(func.ST_Transform(other.geom, WEB_SRID)),
    )  # fmt: skip
    return (
        select(
            func.coalesce(
                func.json_agg(aggregate_order_by(item, func.ST_Distance(other.geom, R.geom))),
                text("'[]'::json"),
            )
        )
        .where(
            func.ST_DWithin(other.geom, R.geom, radius),
            other.id != R.id,
            resident_report_filter(actor, other),
        )
        .correlate(R)
        .scalar_subquery()
    )


def _select(actor: Actor, radius: float):
    triager = aliased(User, name="triager")
    web = func.ST_Transform(R.geom, WEB_SRID)
    return (
        select(
            R.id,
            R.category,
            R.time_of_day,
            R.place,
            R.description,
            R.contact_name,
            R.contact_phone,
            R.contact_email,
            R.status,
            R.hazard_id,
            R.dismissed_reason,
            R.triaged_at,
            R.created_at,
            R.community_id,
            R.precinct_id,
            R.photo_type,
            Community.name.label("community"),
            Precinct.name.label("precinct"),
            Village.name.label("village"),
            triager.display_name.label("triaged_by"),
            func.ST_X(web).label("lon"),
            func.ST_Y(web).label("lat"),
            _nearby_hazards(actor, radius).label("near_hazards"),
            _nearby_reports(actor, radius).label("near_reports"),
        )
        .outerjoin(Community, Community.id == R.community_id)
        .outerjoin(Precinct, Precinct.id == R.precinct_id)
        .outerjoin(Village, Village.id == R.village_id)
        .outerjoin(triager, triager.id == R.triaged_by)
        .where(resident_report_filter(actor))
    )


def _json(row) -> dict:
    cats = layers.hazard_categories()
    hazard_labels = HazardStatus.labels()
    report_labels = S.labels()
    duplicates = []
    for d in [*(row.near_hazards or []), *(row.near_reports or [])]:
        labels = hazard_labels if d["kind"] == "hazard" else report_labels
        duplicates.append(
            {
                **d,
                "category_label": cats.get(d["category"], {}).get("label", d["category"]),
                "status_label": labels.get(d["status"], d["status"]),
                "same_category": d["category"] == row.category,
            }
        )
    duplicates.sort(key=lambda d: (d["distance_m"], d["kind"] != "hazard", d["id"]))
    return {
        "id": row.id,
        "reference": reference(row.id, row.created_at),
        "category": row.category,
        "category_label": cats.get(row.category, {}).get("label", row.category),
        "time_of_day": row.time_of_day.value,
        "time_of_day_label": row.time_of_day.label,
        "place": row.place,
        "description": row.description,
        "contact": {
            "name": row.contact_name,
            "phone": row.contact_phone,
            "email": row.contact_email,
        },
        "status": row.status.value,
        "status_label": row.status.label,
        "hazard_id": row.hazard_id,
        "dismissed_reason": row.dismissed_reason,
        "triaged_by": row.triaged_by,
        "triaged_at": row.triaged_at.isoformat() if row.triaged_at else None,
        "created_at": row.created_at.isoformat(),
        "community_id": row.community_id,
        "community": row.community,
        "precinct_id": row.precinct_id,
        "precinct": row.precinct,
        "village": row.village,
        "lon": round(row.lon, 7),
        "lat": round(row.lat, 7),
        "photo": f"/api/resident-reports/{row.id}/photo" if row.photo_type else None,
        "duplicates": duplicates,
    }


def list_reports(
    session: Session,
    actor: Actor,
    *,
    status: str | None = None,
    limit: int = 200,
    radius: float = DUPLICATE_RADIUS_M,
) -> list[dict]:
    """The reports the actor triages, new ones first then the newest, each with its nearby
    duplicates: one SQL statement."""
    require_role(actor, *TRIAGE_ROLES)
    stmt = _select(actor, radius)
    if status:
        if status not in S.labels():
            raise InvalidInput(f"未知的狀態：{status}", detail=f"bad status {status!r}")
        stmt = stmt.where(R.status == S(status))
    stmt = stmt.order_by(case((R.status == S.new, 0), else_=1), R.created_at.desc(), R.id.desc())
    return [_json(row) for row in session.execute(stmt.limit(max(1, min(limit, 500))))]


def get_report(session: Session, actor: Actor, report_id: int) -> dict:
    require_role(actor, *TRIAGE_ROLES)
    row = session.execute(_select(actor, DUPLICATE_RADIUS_M).where(R.id == report_id)).first()
    if row is None:
        raise NotFound("找不到此民眾回報，或不在您的轄區。", detail=f"report {report_id}")
    return _json(row)


def get_photo(session: Session, actor: Actor, report_id: int) -> tuple[bytes, str, str]:
    require_role(actor, *TRIAGE_ROLES)
    row = session.execute(
        select(R.photo, R.photo_type, R.photo_name).where(
            R.id == report_id, resident_report_filter(actor)
        )
    ).first()
    if row is None or row.photo is None:
        raise NotFound("找不到此回報的照片。", detail=f"report {report_id} photo")
    return row.photo, row.photo_type, row.photo_name


def count_new(session: Session, actor: Actor) -> int:
    """New reports waiting for the actor (home page)."""
    if actor.role not in TRIAGE_ROLES:
        return 0
    return session.scalar(
        select(func.count()).select_from(R).where(R.status == S.new, resident_report_filter(actor))
    )


# --------------------------------------------------------------------------- triage: moves
def triage(
    session: Session,
    actor: Actor,
    report_id: int,
    action: str,
    *,
    hazard_id: Any = None,
    reason: str | None = None,
    severity: Any = None,
    title: str | None = None,
    community_id: Any = None,
) -> dict:
    """Accept, merge or dismiss a new report (in the caller's transaction); returns it."""
    require_role(actor, *TRIAGE_ROLES)
    target = ACTIONS.get(action)
    if target is None:
        raise InvalidInput(
            "處理方式須為 accept（列為問題點）、merge（併入）或 dismiss（不予處理）。",
            detail=f"bad action {action!r}",
        )
    report = session.scalar(
        select(R).where(R.id == report_id, resident_report_filter(actor)).with_for_update(of=R)
    )
    if report is None:
        raise NotFound("找不到此民眾回報，或不在您的轄區。", detail=f"report {report_id}")
    STATES.move(report.status, target, actor.role)  # refuses a second triage before any write
    comment = None
    if target is S.accepted:
        report.hazard_id = _make_hazard(session, actor, report, severity, title, community_id)
        comment = f"列為問題點 #{report.hazard_id}"
    elif target is S.merged:
        hid = _int(hazard_id, "請選擇要併入的問題點（hazard_id）。")
        store.row_in_scope(session, HAZARDS, layers.row_scope(HAZARDS, actor), hid)
        report.hazard_id = hid
        comment = f"併入問題點 #{hid}"
    else:
        why = _text(reason)
        if not why:
            raise InvalidInput("不予處理時請說明理由。", detail="dismissed without reason")
        if len(why) > REASON_MAX:
            raise InvalidInput(f"理由最多 {REASON_MAX} 字。", detail="reason too long")
        report.dismissed_reason = why
        comment = why
    report.triaged_by = actor.user_id
    report.triaged_at = func.now()
    transition(session, STATES, report, target, actor, comment=comment)
    return get_report(session, actor, report_id)


def _int(value: Any, message: str) -> int:
    number = _number(value)
    if number is None or not number.is_integer():
        raise InvalidInput(message, detail=f"not an id: {value!r}")
    return int(number)


def _make_hazard(
    session: Session,
    actor: Actor,
    report: ResidentReport,
    severity: Any,
    title: str | None,
    community_id: Any,
) -> int:
    """The hazard an accepted report becomes, through the hazard layer's own rules; the
    resident's contact details stay behind."""
    cid = report.community_id if community_id in (None, "") else community_id
    if cid is None:
        raise InvalidInput(
            "此回報的地點不在任何社區範圍內，請指定要列入哪個社區的安全檢測地圖（community_id）。",
            detail="report outside every community",
        )
    ref = reference(report.id, report.created_at)
    geometry = json.loads(
        session.scalar(
            select(func.ST_AsGeoJSON(func.ST_Transform(R.geom, WEB_SRID), 9)).where(
                R.id == report.id
            )
        )
    )
    description = report.description
    if report.place:
        description += f"\n地點：{report.place}"
    description += f"\n（來源：民眾回報 {ref}）"
    if severity in (None, ""):
        severity = 3
    elif isinstance(severity, str) and severity.strip().isdigit():
        severity = int(severity)
    feature = {
        "type": "Feature",
        "geometry": geometry,
        "properties": {
            "community_id": cid,
            "title": (_text(title) or f"民眾回報 {ref}")[:128],
            "category": report.category,
            "severity": severity,
            "time_of_day": report.time_of_day.value,
            "description": description,
        },
    }
    created, _repairs = layers.create_feature(session, actor, "hazards", feature)
    hazard_id = created["id"]
    photo = session.execute(
        select(R.photo, R.photo_name).where(R.id == report.id, R.photo.is_not(None))
    ).first()
    if photo is not None:
        extras.add_photo(session, actor, hazard_id, photo.photo_name, photo.photo, "民眾回報照片")
    return hazard_id
