"""The rules of the spatial layers: who reads and writes which rows, which values are valid,
and how a hazard's status may move. Storage is ``geo.layers``.
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass
from typing import Any

import shapely
import shapely.errors
import shapely.geometry
from sqlalchemy import ColumnElement, exists, false, select, true
from sqlalchemy.orm import Session

from data import reference_text
from geo import layers as store
from geo.enums import CameraOwner, CameraStatus, HazardStatus, Role
from geo.errors import InvalidGeometry, InvalidInput, NotFound, PermissionDenied
from geo.layers import LAYERS, LayerSpec, ListQuery
from geo.models import (
    Community,
    SafetyMeeting,
    Village,
    station_villages,
)

from .access import CITY_WIDE_ROLES, Actor, community_filter, require_signed_in

POLICE = frozenset({Role.station, Role.precinct, Role.city_police, Role.admin})

# Who may read each layer at all (then rows are narrowed to the reader's jurisdiction).
# Camera positions, raw incidents and blind spots are police information under the personal
# data law (PROGRAM.md), so they are never public; hazards are what the public map shows.
READERS: dict[str, frozenset[Role] | None] = {
    "hazards": None,  # None: public, anonymous callers included
    "cameras": frozenset(POLICE | {Role.community, Role.leader}),
    "incidents": POLICE,
    "patrol_blocks": frozenset(set(Role)),
    "adopters": frozenset(set(Role)),
    "patrol_routes": frozenset(set(Role)),
    "safety_meetings": frozenset(set(Role)),
    "safety_audits": frozenset(set(Role)),
}
WRITERS: dict[str, frozenset[Role]] = {
    "hazards": frozenset({Role.community, *POLICE}),
    "cameras": frozenset({Role.community, *POLICE}),
    "incidents": POLICE,
    "patrol_blocks": frozenset({Role.community, *POLICE}),
    "adopters": frozenset({Role.community, *POLICE}),
    "patrol_routes": frozenset({Role.community, *POLICE}),
    "safety_meetings": frozenset({Role.community, *POLICE}),
    "safety_audits": frozenset({Role.community, *POLICE}),
}

# How a hazard moves (open → assigned → fixed, or dismissed); fixed ones stay as history and
# may be reopened when the problem returns.
HAZARD_MOVES = {
    HazardStatus.open: {HazardStatus.assigned, HazardStatus.fixed, HazardStatus.dismissed},
    HazardStatus.assigned: {HazardStatus.fixed, HazardStatus.dismissed, HazardStatus.open},
    HazardStatus.fixed: {HazardStatus.open},
    HazardStatus.dismissed: {HazardStatus.open},
}
# Cameras a community may set; approving and installing are police decisions.
COMMUNITY_CAMERA_STATUSES = {CameraStatus.proposed}


def hazard_categories() -> dict[str, dict]:
    return {
        c["code"]: c for c in json.loads(reference_text("hazard_categories.json"))["categories"]
    }


def layer(name: str) -> LayerSpec:
    spec = LAYERS.get(name)
    if spec is None:
        raise NotFound(f"沒有「{name}」這個圖層。", detail=f"unknown layer {name}")
    return spec


def _communities_in_scope(actor: Actor):
    return select(Community.id).where(community_filter(actor))


def _in_station_beat(actor: Actor, geom_col) -> ColumnElement[bool]:
    return exists(
        select(1)
        .select_from(station_villages)
        .join(Village, Village.id == station_villages.c.village_id)
        .where(
            station_villages.c.station_id == actor.station_id, Village.geom.ST_Intersects(geom_col)
        )
    )


def read_scope(spec: LayerSpec, actor: Actor) -> ColumnElement[bool]:
    """Rows of ``spec`` the actor may read; raises when the layer itself is closed to them."""
    readers = READERS[spec.name]
    if readers is None:
        return true()  # public layers: everyone sees the same rows the public map shows
    else:
        require_signed_in(actor)
        if actor.role not in readers:
            raise PermissionDenied(
                f"您的角色不能查看「{spec.title}」。", detail=f"{actor.role} reads {spec.name}"
            )
    return row_scope(spec, actor)


def row_scope(spec: LayerSpec, actor: Actor) -> ColumnElement[bool]:
    t = spec.table
    if actor.role in CITY_WIDE_ROLES:
        return true()
    if actor.anonymous:
        return false()
    if spec.community_scoped:
        return t.c.community_id.in_(_communities_in_scope(actor))
    # cameras and incidents: by precinct, by the station's beat, or the community's own cameras
    match actor.role:
        case Role.precinct:
            return t.c.precinct_id == actor.precinct_id
        case Role.station:
            return _in_station_beat(actor, t.c.geom)
        case Role.community if "community_id" in t.c:
            return t.c.community_id.in_(_communities_in_scope(actor))
        case Role.district_office if "community_id" in t.c:
            return t.c.community_id.in_(_communities_in_scope(actor))
    return false()


def write_scope(spec: LayerSpec, actor: Actor) -> ColumnElement[bool]:
    require_signed_in(actor)
    if actor.role not in WRITERS[spec.name]:
        raise PermissionDenied(
            f"您的角色不能編輯「{spec.title}」。", detail=f"{actor.role} writes {spec.name}"
        )
    if actor.role in (Role.leader, Role.counselling, Role.fire_bureau, Role.social_affairs):
        raise PermissionDenied(detail="read-only role")
    return row_scope(spec, actor)


# --------------------------------------------------------------------------- validation
@dataclass
class Prepared:
    values: dict[str, Any]
    geom: shapely.Geometry | None
    repairs: list[str]


def _check_community(session: Session, actor: Actor, community_id: Any) -> int:
    if community_id is None:
        raise InvalidInput("請指定社區（community_id）。", detail="community_id missing")
    try:
        cid = int(community_id)
    except (TypeError, ValueError):
        raise InvalidInput(
            "community_id 必須是數字。", detail=f"bad community_id {community_id!r}"
        ) from None
    ok = session.scalar(select(Community.id).where(Community.id == cid, community_filter(actor)))
    if ok is None:
        raise NotFound("找不到此社區，或您沒有權限編輯。", detail=f"community {cid} out of scope")
    return cid


def prepare_values(
    session: Session,
    spec: LayerSpec,
    actor: Actor,
    props: dict[str, Any],
    *,
    existing: dict | None = None,
) -> dict[str, Any]:
    """Check and normalise client-supplied properties for a create (``existing`` None) or an edit."""
    unknown = sorted(set(props) - set(spec.properties) - {"id", "version"})
    readonly = {"score", "reported_at", "updated_at", "fixed_at", "assigned_at"}
    if unknown:
        raise InvalidInput(
            f"不認得的欄位：{'、'.join(unknown)}", detail=f"unknown properties {unknown}"
        )
    values = {k: v for k, v in props.items() if k in spec.properties and k not in readonly}
    # A new record names its community; an edit may move it to another community in scope.
    touches_community = existing is None or "community_id" in values
    needs_community = spec.community_scoped or values.get("community_id") is not None
    if "community_id" in spec.properties and touches_community and needs_community:
        values["community_id"] = _check_community(session, actor, values.get("community_id"))
    validator = _VALIDATORS.get(spec.name)
    if validator:
        validator(session, actor, values, existing)
    return values


def _hazards(session: Session, actor: Actor, v: dict, existing: dict | None) -> None:
    cats = hazard_categories()
    if (existing is None or "category" in v) and v.get("category") not in cats:
        raise InvalidInput(
            f"問題類別「{v.get('category')}」不在類別表中（可用：{'、'.join(c['label'] for c in cats.values())}）。",
            detail=f"bad category {v.get('category')!r}",
        )
    if existing is None or "severity" in v:
        sev = v.get("severity", 3)
        if not isinstance(sev, int) or isinstance(sev, bool) or not 1 <= sev <= 5:
            raise InvalidInput("嚴重程度須為 1 到 5 的整數。", detail=f"bad severity {sev!r}")
        v["severity"] = sev
    if existing is None:
        v.setdefault("time_of_day", "both")
        v.setdefault("description", "")
        status = v.setdefault("status", HazardStatus.open.value)
        if status != HazardStatus.open.value:
            raise InvalidInput("新的問題點狀態必須是「待處理」。", detail="new hazard not open")
    if "time_of_day" in v and v["time_of_day"] not in {"day", "night", "both"}:
        raise InvalidInput(
            "發生時段須為 day、night 或 both。", detail=f"bad time_of_day {v['time_of_day']!r}"
        )
    if existing is not None and "status" in v and v["status"] != existing["status"].value:
        try:
            target = HazardStatus(v["status"])
        except ValueError:
            raise InvalidInput(f"未知的狀態：{v['status']}", detail="bad status") from None
        source = existing["status"]
        if target not in HAZARD_MOVES[source]:
            raise InvalidInput(
                f"問題點不能從「{source.label}」改為「{target.label}」。",
                detail=f"hazard {source}->{target}",
            )
        now = dt.datetime.now(dt.UTC)
        if target is HazardStatus.assigned:
            if not (v.get("agency") or existing.get("agency")):
                raise InvalidInput(
                    "分派時請填寫權責機關（agency）。", detail="assigned without agency"
                )
            v["assigned_at"] = now
        if target is HazardStatus.fixed:
            v["fixed_at"] = now
        if target is HazardStatus.dismissed and not (
            v.get("dismissed_reason") or existing.get("dismissed_reason")
        ):
            raise InvalidInput(
                "不處理時請說明理由（dismissed_reason）。", detail="dismissed without reason"
            )
        if target is HazardStatus.open:
            v["fixed_at"] = None
    if v.get("meeting_id") is not None:
        community_id = v.get("community_id") or (existing or {}).get("community_id")
        ok = session.scalar(
            select(SafetyMeeting.id).where(
                SafetyMeeting.id == v["meeting_id"], SafetyMeeting.community_id == community_id
            )
        )
        if ok is None:
            raise InvalidInput("指定的治安會議不存在或不屬於此社區。", detail="meeting mismatch")


def _cameras(session: Session, actor: Actor, v: dict, existing: dict | None) -> None:
    for key, low, high, label in (
        ("bearing_deg", 0, 360, "方向角"),
        ("fov_deg", 1, 360, "視角"),
        ("range_m", 1, 500, "拍攝距離"),
        ("height_m", 0, 50, "架設高度"),
    ):
        if key in v and v[key] is not None:
            try:
                value = float(v[key])
            except (TypeError, ValueError):
                raise InvalidInput(f"{label}必須是數字。", detail=f"bad {key}") from None
            if key == "bearing_deg":
                value %= 360
            elif not low <= value <= high:
                raise InvalidInput(
                    f"{label}須在 {low} 到 {high} 之間。", detail=f"{key} out of range"
                )
            v[key] = value
    if existing is None:
        for key, label in (("bearing_deg", "方向角"), ("fov_deg", "視角"), ("range_m", "拍攝距離")):
            if v.get(key) is None:
                raise InvalidInput(f"請填寫{label}（{key}）。", detail=f"{key} missing")
    status = v.get("status") or (existing or {}).get("status") or CameraStatus.proposed
    try:
        status = CameraStatus(status)
        owner = CameraOwner(
            v.get("owner") or (existing or {}).get("owner") or CameraOwner.community
        )
    except ValueError:
        raise InvalidInput("監視器狀態或權屬不正確。", detail="bad status/owner") from None
    if actor.role is Role.community and "status" in v and status not in COMMUNITY_CAMERA_STATUSES:
        raise PermissionDenied(
            "社區只能提出「建議設置」的監視器，核准與裝設由警察機關決定。",
            detail="community camera status",
        )
    v["status"], v["owner"] = status.value, owner.value
    if existing is None:
        community_id = v.get("community_id")
        if actor.role is Role.community and community_id is None:
            raise InvalidInput(
                "請指定社區（community_id）。", detail="community camera without community"
            )
        v["precinct_id"] = _camera_precinct(session, actor, community_id)
    elif "precinct_id" in v:
        v.pop("precinct_id")  # derived, never client-set


def _camera_precinct(session: Session, actor: Actor, community_id: int | None) -> int:
    if community_id is not None:
        return session.scalar(select(Community.precinct_id).where(Community.id == community_id))
    if actor.precinct_id is not None:
        return actor.precinct_id
    raise InvalidInput(
        "警察機關的監視器請指定所屬社區或以分局帳號建立。", detail="camera without precinct"
    )


def _incidents(session: Session, actor: Actor, v: dict, existing: dict | None) -> None:
    if existing is None:
        if not v.get("type"):
            raise InvalidInput("請填寫案件類別（type）。", detail="type missing")
        if not v.get("occurred_at"):
            raise InvalidInput("請填寫發生時間（occurred_at）。", detail="occurred_at missing")
        v.setdefault("precinct_id", actor.precinct_id)


def _audits(session: Session, actor: Actor, v: dict, existing: dict | None) -> None:
    from geo.models import AUDIT_PARAMETERS

    for p in AUDIT_PARAMETERS:
        if existing is None and p not in v:
            raise InvalidInput(f"請為「{AUDIT_LABELS[p]}」評分（0–3）。", detail=f"{p} missing")
        if p in v and (not isinstance(v[p], int) or isinstance(v[p], bool) or not 0 <= v[p] <= 3):
            raise InvalidInput(
                f"「{AUDIT_LABELS[p]}」的分數須為 0 到 3 的整數。", detail=f"{p} out of range"
            )
    if "period" in v and v["period"] not in ("day", "night"):
        raise InvalidInput("稽核時段須為 day 或 night。", detail="bad period")
    if existing is None:
        for key, label in (
            ("place_name", "地點名稱"),
            ("period", "時段"),
            ("audited_on", "稽核日期"),
        ):
            if not v.get(key):
                raise InvalidInput(f"請填寫{label}（{key}）。", detail=f"{key} missing")


AUDIT_LABELS = {
    "lighting": "照明",
    "openness": "開闊度",
    "visibility": "能見度",
    "people": "人潮",
    "security": "保全／警力",
    "walk_path": "步行路徑",
    "transport": "大眾運輸",
    "gender_usage": "性別使用",
    "feeling": "安全感受",
}


def _meetings(session: Session, actor: Actor, v: dict, existing: dict | None) -> None:
    if existing is None:
        for key, label in (("held_on", "會議日期"), ("place", "會議地點")):
            if not v.get(key):
                raise InvalidInput(f"請填寫{label}（{key}）。", detail=f"{key} missing")


def _routes(session: Session, actor: Actor, v: dict, existing: dict | None) -> None:
    if existing is None and not v.get("team_name"):
        raise InvalidInput("請填寫巡守隊名稱（team_name）。", detail="team_name missing")
    if "schedule" in v and not isinstance(v["schedule"], dict):
        raise InvalidInput("巡守時間（schedule）格式不正確。", detail="schedule not an object")


def _blocks(session: Session, actor: Actor, v: dict, existing: dict | None) -> None:
    if existing is None and not v.get("name"):
        raise InvalidInput("請填寫區塊名稱（name）。", detail="name missing")


def _adopters(session: Session, actor: Actor, v: dict, existing: dict | None) -> None:
    if existing is None and not v.get("name"):
        raise InvalidInput("請填寫認養單位名稱（name）。", detail="name missing")
    if "kind" in v and v["kind"] not in ("agency", "school", "company", "ngo"):
        raise InvalidInput("認養單位類別須為 agency、school、company 或 ngo。", detail="bad kind")
    if existing is None:
        v.setdefault("kind", "company")


_VALIDATORS = {
    "hazards": _hazards,
    "cameras": _cameras,
    "incidents": _incidents,
    "safety_audits": _audits,
    "safety_meetings": _meetings,
    "patrol_routes": _routes,
    "patrol_blocks": _blocks,
    "adopters": _adopters,
}


# --------------------------------------------------------------------------- services
def check_geometry(
    spec: LayerSpec, geometry: dict | None, *, required: bool
) -> tuple[shapely.Geometry | None, list[str]]:
    """GeoJSON (EPSG:4326) from a client → a checked geometry in EPSG:3826 and repair notes."""
    if not spec.geometry_types:
        if geometry is not None:
            raise InvalidInput(
                f"「{spec.title}」不含圖形。", detail="geometry on a non-spatial layer"
            )
        return None, []
    if geometry is None:
        if required and spec.geometry_required:
            raise InvalidInput("請提供圖形（geometry）。", detail="geometry missing")
        return None, []
    if not isinstance(geometry, dict) or not isinstance(geometry.get("type"), str):
        raise InvalidGeometry(
            "圖形必須是 GeoJSON 幾何物件（含 type 與 coordinates）。",
            detail="not a GeoJSON geometry",
        )
    try:
        geom = shapely.geometry.shape(geometry)
    except (
        ValueError,
        TypeError,
        KeyError,
        IndexError,
        AttributeError,
        shapely.errors.ShapelyError,
    ) as exc:
        raise InvalidGeometry(
            "圖形格式不正確（GeoJSON）。", detail=f"cannot parse geometry: {exc}"
        ) from exc
    from geo.validation import check_geometry as check

    checked = check(geom, allowed_types=spec.geometry_types, source_crs=4326)
    return checked.geom_3826, list(checked.repairs)


def list_features(session: Session, actor: Actor, name: str, q: ListQuery) -> str:
    spec = layer(name)
    return store.list_geojson(session, spec, read_scope(spec, actor), q)


def get_feature(session: Session, actor: Actor, name: str, record_id: int) -> dict:
    spec = layer(name)
    return store.get_feature(session, spec, read_scope(spec, actor), record_id)


def create_feature(
    session: Session, actor: Actor, name: str, feature: dict
) -> tuple[dict, list[str]]:
    spec = layer(name)
    write_scope(spec, actor)
    geom, repairs = check_geometry(spec, feature.get("geometry"), required=True)
    values = prepare_values(session, spec, actor, dict(feature.get("properties") or {}))
    if spec.name == "hazards":
        values["created_by"] = actor.user_id
    if spec.name == "cameras":
        values["created_by"] = actor.user_id
    new_id = store.insert(session, spec, values, geom, actor.user_id)
    return store.get_feature(
        session, spec, row_scope(spec, actor) if not actor.anonymous else true(), new_id
    ), repairs


def update_feature(
    session: Session,
    actor: Actor,
    name: str,
    record_id: int,
    expected_version: int | None,
    feature: dict,
) -> tuple[dict, list[str]]:
    spec = layer(name)
    scope = write_scope(spec, actor)
    existing = store.row_in_scope(session, spec, scope, record_id)
    if expected_version is not None and existing["version"] != expected_version:
        from geo.layers import VersionConflict

        raise VersionConflict(
            detail=f"{name} {record_id}: version {existing['version']}, not {expected_version}"
        )
    if (
        spec.name == "cameras"
        and actor.role is Role.community
        and existing["status"] is not CameraStatus.proposed
    ):
        raise PermissionDenied(
            "已核准或已裝設的監視器只能由警察機關修改。", detail="community edits decided camera"
        )
    geom, repairs = (None, [])
    if "geometry" in feature:
        geom, repairs = check_geometry(spec, feature.get("geometry"), required=False)
    values = prepare_values(
        session, spec, actor, dict(feature.get("properties") or {}), existing=existing
    )
    store.update_versioned(
        session, spec, scope, record_id, expected_version, values, geom, actor.user_id
    )
    return store.get_feature(session, spec, scope, record_id), repairs


def delete_feature(
    session: Session, actor: Actor, name: str, record_id: int, expected_version: int | None
) -> None:
    spec = layer(name)
    scope = write_scope(spec, actor)
    if spec.name == "cameras" and actor.role is Role.community:
        existing = store.row_in_scope(session, spec, scope, record_id)
        if existing["status"] is not CameraStatus.proposed:
            raise PermissionDenied(
                "已核准或已裝設的監視器只能由警察機關刪除。", detail="community deletes camera"
            )
    store.delete_versioned(session, spec, scope, record_id, expected_version, actor.user_id)


def feature_history(session: Session, actor: Actor, name: str, record_id: int) -> list[dict]:
    spec = layer(name)
    if actor.anonymous:
        raise PermissionDenied("請先登入。", detail="anonymous history")
    store.row_in_scope(session, spec, read_scope(spec, actor), record_id)
    return store.history(session, spec, record_id)


def scope_or_none(spec: LayerSpec, actor: Actor) -> ColumnElement[bool] | None:
    """The read scope, or None when the layer is closed to the actor (OGC lists only open ones)."""
    try:
        return read_scope(spec, actor)
    except (PermissionDenied, NotFound):
        return None
