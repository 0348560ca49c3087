"""Watch teams (守望相助隊, plan 陸、一、(二)): 「由社區組織邀集熱心民眾，成立守望相助隊，以巡邏、
守望或其他方式，協助社區安全維護工作」.

A team has members, equipment and standing shifts on its patrol routes; each patrol walked
is logged with its time, who came, the track and what was noticed. An observation can
become a hazard on the safety-inspection map through ``workflow.layers.create_feature``,
so the hazard gets the same checks and history as one drawn by hand.
"""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

from geoalchemy2.shape import from_shape
from shapely.geometry import MultiLineString
from sqlalchemy import Float, and_, cast, func, select
from sqlalchemy.orm import Session

from geo.enums import Role
from geo.errors import InvalidInput, NotFound
from geo.layers import VersionConflict, VersionRequired
from geo.models import STORAGE_SRID, WEB_SRID, Community, District, PatrolRoute
from geo.models_services import (
    PatrolLog,
    PatrolObservation,
    WatchShift,
    WatchTeam,
    WatchTeamMember,
)
from geo.validation import check_geometry

from . import layers as layer_rules
from .access import Actor, community_filter, require_signed_in
from .services_access import community_for_write

WRITERS = frozenset({Role.community, Role.station, Role.precinct, Role.city_police})
# Members' phone numbers are for the team's own organisation and the police who work with it.
CONTACT_READERS = frozenset({Role.community, Role.station, Role.precinct, Role.city_police})
TEAM_FIELDS = (
    "name",
    "founded_on",
    "leader_name",
    "phone",
    "base_address",
    "equipment",
    "notes",
    "active",
)
MEMBER_FIELDS = (
    "name",
    "phone",
    "position",
    "joined_on",
    "protection_trained",
    "disaster_trained",
    "active",
)
MAX_OBSERVATIONS = 50
MAX_PATROL_HOURS = 24


def _text(value: Any, label: str, key: str, *, required: bool = True, limit: int = 128) -> str:
    if value is not None and not isinstance(value, str):
        raise InvalidInput(f"{label}格式不正確。", detail=f"{key} not text")
    text = (value or "").strip()
    if required and not text:
        raise InvalidInput(f"請填寫{label}（{key}）。", detail=f"{key} missing")
    if len(text) > limit:
        raise InvalidInput(f"{label}最多 {limit} 字。", detail=f"{key} too long")
    return text


def _equipment(value: Any) -> list[dict]:
    if value is None:
        return []
    if not isinstance(value, list):
        raise InvalidInput("裝備清單格式不正確。", detail="equipment not a list")
    out = []
    for entry in value:
        if not isinstance(entry, dict) or not isinstance(entry.get("item"), str):
            raise InvalidInput("每項裝備須有名稱（item）與數量（quantity）。", detail="bad item")
        qty = entry.get("quantity", 1)
        if not isinstance(qty, int) or isinstance(qty, bool) or qty < 0:
            raise InvalidInput("裝備數量須為 0 以上的整數。", detail="bad quantity")
        out.append({"item": _text(entry["item"], "裝備名稱", "item", limit=64), "quantity": qty})
    return out


def _team_values(values: dict, *, creating: bool) -> dict:
    unknown = sorted(set(values) - set(TEAM_FIELDS) - {"community_id"})
    if unknown:
        raise InvalidInput(f"不認得的欄位：{'、'.join(unknown)}", detail=f"unknown {unknown}")
    out: dict[str, Any] = {}
    if creating or "name" in values:
        out["name"] = _text(values.get("name"), "隊名", "name")
    for key, label, limit in (
        ("leader_name", "隊長", 64),
        ("phone", "聯絡電話", 32),
        ("base_address", "隊部地址", 256),
    ):
        if key in values:
            out[key] = _text(values.get(key), label, key, required=False, limit=limit) or None
    if "notes" in values:
        out["notes"] = _text(values.get("notes"), "備註", "notes", required=False, limit=2000)
    if "founded_on" in values:
        out["founded_on"] = values["founded_on"]
    if "equipment" in values or creating:
        out["equipment"] = _equipment(values.get("equipment"))
    if "active" in values:
        out["active"] = bool(values["active"])
    return out


# --------------------------------------------------------------------------- teams
def create_team(session: Session, actor: Actor, data: dict) -> WatchTeam:
    if data.get("community_id") is None:
        raise InvalidInput("請指定社區（community_id）。", detail="community_id missing")
    community = community_for_write(session, actor, data["community_id"], WRITERS)
    team = WatchTeam(community_id=community.id, **_team_values(data, creating=True))
    session.add(team)
    session.flush()
    return team


def get_team(
    session: Session, actor: Actor, team_id: int, *, for_update: bool = False
) -> WatchTeam:
    require_signed_in(actor)
    stmt = (
        select(WatchTeam)
        .join(Community, Community.id == WatchTeam.community_id)
        .where(WatchTeam.id == team_id, community_filter(actor))
    )
    if for_update:
        stmt = stmt.with_for_update(of=WatchTeam)
    team = session.scalar(stmt)
    if team is None:
        raise NotFound(
            "找不到此守望相助隊，或您沒有權限查看。", detail=f"watch team {team_id} out of scope"
        )
    return team


def _writable_team(session: Session, actor: Actor, team_id: int) -> WatchTeam:
    team = get_team(session, actor, team_id, for_update=True)
    community_for_write(session, actor, team.community_id, WRITERS)
    return team


def update_team(
    session: Session, actor: Actor, team_id: int, version: int | None, data: dict
) -> WatchTeam:
    team = _writable_team(session, actor, team_id)
    if version is None:
        raise VersionRequired()
    if team.version != version:
        raise VersionConflict(detail=f"watch team {team_id}: {team.version} != {version}")
    for key, value in _team_values(data, creating=False).items():
        setattr(team, key, value)
    team.version += 1
    team.updated_at = func.now()
    session.flush()
    return team


def _hours(log=PatrolLog):
    return cast(func.extract("epoch", log.ended_at - log.started_at), Float) / 3600.0


def _team_rows(session: Session, where, year: int | None = None):
    """Teams with member, shift and patrol counts, one statement for the whole list."""
    member = WatchTeamMember
    active = and_(member.team_id == WatchTeam.id, member.active.is_(True))
    log_filter = [PatrolLog.team_id == WatchTeam.id]
    if year is not None:
        log_filter.append(func.extract("year", PatrolLog.started_at) == year)
    members = select(func.count()).where(active).scalar_subquery()
    trained = (
        select(func.count()).where(active, member.protection_trained.is_(True)).scalar_subquery()
    )
    disaster = (
        select(func.count()).where(active, member.disaster_trained.is_(True)).scalar_subquery()
    )
    shifts = select(func.count()).where(WatchShift.team_id == WatchTeam.id).scalar_subquery()
    patrols = select(func.count()).where(*log_filter).scalar_subquery()
    hours = select(func.coalesce(func.sum(_hours()), 0.0)).where(*log_filter).scalar_subquery()
    last = select(func.max(PatrolLog.started_at)).where(*log_filter).scalar_subquery()
    observations = (
        select(func.count())
        .select_from(PatrolObservation)
        .join(PatrolLog, PatrolLog.id == PatrolObservation.log_id)
        .where(*log_filter)
        .scalar_subquery()
    )
    hazards = (
        select(func.count())
        .select_from(PatrolObservation)
        .join(PatrolLog, PatrolLog.id == PatrolObservation.log_id)
        .where(*log_filter, PatrolObservation.hazard_id.is_not(None))
        .scalar_subquery()
    )
    return session.execute(
        select(
            WatchTeam,
            Community.name.label("community"),
            District.name.label("district"),
            members.label("members"),
            trained.label("protection_trained"),
            disaster.label("disaster_trained"),
            shifts.label("shifts"),
            patrols.label("patrols"),
            hours.label("patrol_hours"),
            last.label("last_patrol_at"),
            observations.label("observations"),
            hazards.label("hazards_reported"),
        )
        .join(Community, Community.id == WatchTeam.community_id)
        .join(District, District.id == Community.district_id)
        .where(*where)
        .order_by(Community.id, WatchTeam.id)
    ).all()


def _team_json(row, actor: Actor) -> dict:
    t: WatchTeam = row.WatchTeam
    return {
        "id": t.id,
        "community_id": t.community_id,
        "community": row.community,
        "district": row.district,
        "name": t.name,
        "founded_on": t.founded_on,
        "leader_name": t.leader_name,
        "phone": t.phone if actor.role in CONTACT_READERS else None,
        "base_address": t.base_address,
        "equipment": list(t.equipment or []),
        "notes": t.notes,
        "active": t.active,
        "members": row.members,
        "protection_trained": row.protection_trained,
        "disaster_trained": row.disaster_trained,
        "shifts": row.shifts,
        "patrols": row.patrols,
        "patrol_hours": round(float(row.patrol_hours), 1),
        "last_patrol_at": row.last_patrol_at,
        "observations": row.observations,
        "hazards_reported": row.hazards_reported,
        "version": t.version,
    }


def list_teams(
    session: Session,
    actor: Actor,
    *,
    community_id: int | None = None,
    active: bool | None = None,
    year: int | None = None,
) -> list[dict]:
    require_signed_in(actor)
    where = [community_filter(actor)]
    if community_id is not None:
        where.append(WatchTeam.community_id == community_id)
    if active is not None:
        where.append(WatchTeam.active.is_(active))
    return [_team_json(r, actor) for r in _team_rows(session, where, year)]


def team_detail(session: Session, actor: Actor, team_id: int) -> dict:
    team = get_team(session, actor, team_id)
    row = _team_rows(session, [WatchTeam.id == team.id])[0]
    out = _team_json(row, actor)
    contacts = actor.role in CONTACT_READERS
    members = session.scalars(
        select(WatchTeamMember)
        .where(WatchTeamMember.team_id == team.id)
        .order_by(WatchTeamMember.active.desc(), WatchTeamMember.id)
    ).all()
    out["member_list"] = [_member_json(m, contacts) for m in members]
    shifts = session.execute(
        select(WatchShift, PatrolRoute.name.label("route"))
        .outerjoin(PatrolRoute, PatrolRoute.id == WatchShift.route_id)
        .where(WatchShift.team_id == team.id)
        .order_by(WatchShift.id)
    ).all()
    out["shift_list"] = [_shift_json(s, route) for s, route in shifts]
    out["recent_patrols"] = list_patrol_logs(session, actor, team.id, limit=10)
    return out


def _member_json(m: WatchTeamMember, contacts: bool) -> dict:
    return {
        "id": m.id,
        "name": m.name,
        "phone": m.phone if contacts else None,
        "position": m.position,
        "joined_on": m.joined_on,
        "protection_trained": m.protection_trained,
        "disaster_trained": m.disaster_trained,
        "active": m.active,
    }


def _shift_json(s: WatchShift, route: str | None) -> dict:
    return {
        "id": s.id,
        "weekdays": list(s.weekdays),
        "start_time": s.start_time,
        "end_time": s.end_time,
        "route_id": s.route_id,
        "route": route,
        "min_members": s.min_members,
        "note": s.note,
    }


# --------------------------------------------------------------------------- members, shifts
def _member_values(values: dict, *, creating: bool) -> dict:
    unknown = sorted(set(values) - set(MEMBER_FIELDS))
    if unknown:
        raise InvalidInput(f"不認得的欄位：{'、'.join(unknown)}", detail=f"unknown {unknown}")
    out: dict[str, Any] = {}
    if creating or "name" in values:
        out["name"] = _text(values.get("name"), "姓名", "name", limit=64)
    if "phone" in values:
        out["phone"] = _text(values.get("phone"), "電話", "phone", required=False, limit=32) or None
    if creating or "position" in values:
        out["position"] = (
            _text(values.get("position"), "職稱", "position", required=False, limit=32) or "隊員"
        )
    if "joined_on" in values:
        out["joined_on"] = values["joined_on"]
    for key in ("protection_trained", "disaster_trained", "active"):
        if key in values:
            out[key] = bool(values[key])
    return out


def add_member(session: Session, actor: Actor, team_id: int, data: dict) -> dict:
    team = _writable_team(session, actor, team_id)
    member = WatchTeamMember(team_id=team.id, **_member_values(data, creating=True))
    session.add(member)
    session.flush()
    return _member_json(member, True)


def _member(session: Session, team_id: int, member_id: int) -> WatchTeamMember:
    member = session.scalar(
        select(WatchTeamMember).where(
            WatchTeamMember.id == member_id, WatchTeamMember.team_id == team_id
        )
    )
    if member is None:
        raise NotFound("找不到此隊員。", detail=f"member {member_id} of team {team_id}")
    return member


def update_member(session: Session, actor: Actor, team_id: int, member_id: int, data: dict) -> dict:
    team = _writable_team(session, actor, team_id)
    member = _member(session, team.id, member_id)
    for key, value in _member_values(data, creating=False).items():
        setattr(member, key, value)
    session.flush()
    return _member_json(member, True)


def remove_member(session: Session, actor: Actor, team_id: int, member_id: int) -> None:
    team = _writable_team(session, actor, team_id)
    session.delete(_member(session, team.id, member_id))
    session.flush()


def _check_route(session: Session, team: WatchTeam, route_id: int | None) -> int | None:
    if route_id is None:
        return None
    ok = session.scalar(
        select(PatrolRoute.id).where(
            PatrolRoute.id == route_id, PatrolRoute.community_id == team.community_id
        )
    )
    if ok is None:
        raise InvalidInput("指定的巡守路線不存在或不屬於此社區。", detail="route mismatch")
    return route_id


def add_shift(session: Session, actor: Actor, team_id: int, data: dict) -> dict:
    team = _writable_team(session, actor, team_id)
    weekdays = data.get("weekdays")
    if (
        not isinstance(weekdays, list)
        or not weekdays
        or not all(isinstance(d, int) and 1 <= d <= 7 for d in weekdays)
    ):
        raise InvalidInput("巡守日須為 1（週一）到 7（週日）的清單。", detail="bad weekdays")
    start, end = data.get("start_time"), data.get("end_time")
    if not isinstance(start, dt.time) or not isinstance(end, dt.time) or start == end:
        raise InvalidInput("請填寫巡守開始與結束時間。", detail="bad shift times")
    min_members = data.get("min_members") or 2
    if not isinstance(min_members, int) or min_members < 1:
        raise InvalidInput("每班最少人數須為正整數。", detail="bad min_members")
    shift = WatchShift(
        team_id=team.id,
        weekdays=sorted(set(weekdays)),
        start_time=start,
        end_time=end,
        route_id=_check_route(session, team, data.get("route_id")),
        min_members=min_members,
        note=_text(data.get("note"), "備註", "note", required=False, limit=500) or None,
    )
    session.add(shift)
    session.flush()
    route = session.get(PatrolRoute, shift.route_id) if shift.route_id else None
    return _shift_json(shift, route.name if route else None)


def remove_shift(session: Session, actor: Actor, team_id: int, shift_id: int) -> None:
    team = _writable_team(session, actor, team_id)
    shift = session.scalar(
        select(WatchShift).where(WatchShift.id == shift_id, WatchShift.team_id == team.id)
    )
    if shift is None:
        raise NotFound("找不到此巡守班表。", detail=f"shift {shift_id} of team {team_id}")
    session.delete(shift)
    session.flush()


# --------------------------------------------------------------------------- patrol logs
def add_patrol_log(session: Session, actor: Actor, team_id: int, data: dict) -> dict:
    """A patrol walked: when, who, the track (GeoJSON, EPSG:4326) and what was noticed."""
    team = _writable_team(session, actor, team_id)
    started, ended = data.get("started_at"), data.get("ended_at")
    if not isinstance(started, dt.datetime) or not isinstance(ended, dt.datetime):
        raise InvalidInput("請填寫巡守開始與結束時間。", detail="times missing")
    if started.tzinfo is None or ended.tzinfo is None:
        raise InvalidInput("巡守時間須含時區，例如 2026-03-02T20:00:00+08:00。", detail="naive")
    if not started < ended <= started + dt.timedelta(hours=MAX_PATROL_HOURS):
        raise InvalidInput(
            f"結束時間須晚於開始時間，且一次巡守不超過 {MAX_PATROL_HOURS} 小時。",
            detail="bad patrol span",
        )
    if ended > dt.datetime.now(dt.UTC) + dt.timedelta(minutes=5):
        raise InvalidInput("巡守紀錄的結束時間不能晚於現在。", detail="patrol in the future")
    present = data.get("members_present")
    if not isinstance(present, int) or isinstance(present, bool) or present < 1:
        raise InvalidInput("出勤人數須為正整數。", detail="bad members_present")
    track = None
    if data.get("track") is not None:
        geom = check_geometry(
            data["track"], allowed_types=("LineString", "MultiLineString"), source_crs=4326
        ).geom_3826
        if geom.geom_type == "LineString":
            geom = MultiLineString([geom])
        track = from_shape(geom, srid=STORAGE_SRID)
    observations = data.get("observations") or []
    if not isinstance(observations, list) or len(observations) > MAX_OBSERVATIONS:
        raise InvalidInput(
            f"巡守發現事項最多 {MAX_OBSERVATIONS} 筆。", detail="bad observations list"
        )
    log = PatrolLog(
        team_id=team.id,
        route_id=_check_route(session, team, data.get("route_id")),
        started_at=started,
        ended_at=ended,
        members_present=present,
        member_names=_text(
            data.get("member_names"), "出勤人員", "member_names", required=False, limit=1000
        )
        or None,
        geom=track,
        notes=_text(data.get("notes"), "巡守紀要", "notes", required=False, limit=5000),
        created_by=actor.user_id,
    )
    session.add(log)
    session.flush()
    categories = layer_rules.hazard_categories()
    for obs in observations:
        if not isinstance(obs, dict):
            raise InvalidInput("巡守發現事項格式不正確。", detail="observation not an object")
        category = obs.get("category")
        if category is not None and category not in categories:
            raise InvalidInput(f"問題類別「{category}」不在類別表中。", detail="bad category")
        severity = obs.get("severity", 3)
        if not isinstance(severity, int) or isinstance(severity, bool) or not 1 <= severity <= 5:
            raise InvalidInput("嚴重程度須為 1 到 5 的整數。", detail="bad severity")
        point = None
        if obs.get("location") is not None:
            point = from_shape(
                check_geometry(
                    obs["location"], allowed_types=("Point",), source_crs=4326
                ).geom_3826,
                srid=STORAGE_SRID,
            )
        session.add(
            PatrolObservation(
                log_id=log.id,
                description=_text(obs.get("description"), "發現事項", "description", limit=2000),
                category=category,
                severity=severity,
                geom=point,
            )
        )
    session.flush()
    return get_patrol_log(session, actor, log.id)


def _log_select():
    return (
        select(
            PatrolLog,
            WatchTeam.name.label("team"),
            WatchTeam.community_id,
            PatrolRoute.name.label("route"),
            _hours().label("hours"),
            func.ST_AsGeoJSON(func.ST_Transform(PatrolLog.geom, WEB_SRID), 6).label("track"),
        )
        .join(WatchTeam, WatchTeam.id == PatrolLog.team_id)
        .join(Community, Community.id == WatchTeam.community_id)
        .outerjoin(PatrolRoute, PatrolRoute.id == PatrolLog.route_id)
    )


def _log_json(row, observations: list[dict] | None = None) -> dict:
    log: PatrolLog = row.PatrolLog
    out = {
        "id": log.id,
        "team_id": log.team_id,
        "team": row.team,
        "community_id": row.community_id,
        "route_id": log.route_id,
        "route": row.route,
        "started_at": log.started_at,
        "ended_at": log.ended_at,
        "hours": round(float(row.hours), 2),
        "members_present": log.members_present,
        "member_names": log.member_names,
        "track": json.loads(row.track) if row.track else None,
        "notes": log.notes,
    }
    if observations is not None:
        out["observations"] = observations
    return out


def list_patrol_logs(
    session: Session, actor: Actor, team_id: int, *, limit: int = 100, offset: int = 0
) -> list[dict]:
    team = get_team(session, actor, team_id)
    rows = session.execute(
        _log_select()
        .where(PatrolLog.team_id == team.id)
        .order_by(PatrolLog.started_at.desc())
        .limit(limit)
        .offset(offset)
    ).all()
    return [_log_json(r) for r in rows]


def get_patrol_log(session: Session, actor: Actor, log_id: int) -> dict:
    require_signed_in(actor)
    row = session.execute(
        _log_select().where(PatrolLog.id == log_id, community_filter(actor))
    ).first()
    if row is None:
        raise NotFound("找不到此巡守紀錄，或您沒有權限查看。", detail=f"patrol log {log_id}")
    web = func.ST_Transform(PatrolObservation.geom, WEB_SRID)
    obs = session.execute(
        select(
            PatrolObservation,
            func.ST_X(web).label("lon"),
            func.ST_Y(web).label("lat"),
        )
        .where(PatrolObservation.log_id == log_id)
        .order_by(PatrolObservation.id)
    ).all()
    return _log_json(row, [_observation_json(o, lon, lat) for o, lon, lat in obs])


def _observation_json(o: PatrolObservation, lon, lat) -> dict:
    return {
        "id": o.id,
        "description": o.description,
        "category": o.category,
        "severity": o.severity,
        "location": None
        if lon is None
        else {"type": "Point", "coordinates": [round(lon, 6), round(lat, 6)]},
        "hazard_id": o.hazard_id,
    }


def promote_observation(
    session: Session, actor: Actor, observation_id: int, overrides: dict
) -> dict:
    """Turn a patrol observation into a hazard on the safety-inspection map; returns the
    hazard as GeoJSON (the layer's own checks decide whether the actor may draw it)."""
    require_signed_in(actor)
    row = session.execute(
        select(
            PatrolObservation,
            WatchTeam.community_id,
            func.ST_AsGeoJSON(func.ST_Transform(PatrolObservation.geom, WEB_SRID), 7).label("geo"),
        )
        .join(PatrolLog, PatrolLog.id == PatrolObservation.log_id)
        .join(WatchTeam, WatchTeam.id == PatrolLog.team_id)
        .join(Community, Community.id == WatchTeam.community_id)
        .where(PatrolObservation.id == observation_id, community_filter(actor))
        .with_for_update(of=PatrolObservation)
    ).first()
    if row is None:
        raise NotFound("找不到此巡守發現事項。", detail=f"observation {observation_id}")
    obs: PatrolObservation = row.PatrolObservation
    if obs.hazard_id is not None:
        raise InvalidInput(
            f"此發現事項已登錄為問題點（編號 {obs.hazard_id}）。", detail="already a hazard"
        )
    if row.geo is None and overrides.get("geometry") is None:
        raise InvalidInput("此發現事項沒有位置，請在地圖上標示（geometry）。", detail="no place")
    category = overrides.get("category") or obs.category
    if not category:
        raise InvalidInput("請指定問題類別（category）。", detail="category missing")
    feature = {
        "type": "Feature",
        "geometry": overrides.get("geometry") or json.loads(row.geo),
        "properties": {
            "community_id": row.community_id,
            "category": category,
            "severity": overrides.get("severity") or obs.severity,
            "title": overrides.get("title") or obs.description[:128],
            "description": f"守望相助隊巡守發現：{obs.description}",
        },
    }
    hazard, _repairs = layer_rules.create_feature(session, actor, "hazards", feature)
    obs.hazard_id = hazard["id"]
    session.flush()
    return hazard


# --------------------------------------------------------------------------- figures
def figures(session: Session, actor: Actor, *, year: int) -> dict:
    """Per team and per community for one year: members and their training, patrols and hours,
    observations and the hazards they raised - the watch-team figures of the evaluation."""
    require_signed_in(actor)
    teams = [_team_json(r, actor) for r in _team_rows(session, [community_filter(actor)], year)]
    communities: dict[int, dict] = {}
    for t in teams:
        c = communities.setdefault(
            t["community_id"],
            {
                "community_id": t["community_id"],
                "community": t["community"],
                "district": t["district"],
                "teams": 0,
                "active_teams": 0,
                "members": 0,
                "protection_trained": 0,
                "disaster_trained": 0,
                "patrols": 0,
                "patrol_hours": 0.0,
                "observations": 0,
                "hazards_reported": 0,
            },
        )
        c["teams"] += 1
        c["active_teams"] += 1 if t["active"] else 0
        for key in (
            "members",
            "protection_trained",
            "disaster_trained",
            "patrols",
            "observations",
            "hazards_reported",
        ):
            c[key] += t[key]
        c["patrol_hours"] = round(c["patrol_hours"] + t["patrol_hours"], 1)
    for t in teams:
        t.pop("phone", None)
    return {"year": year, "teams": teams, "communities": list(communities.values())}
