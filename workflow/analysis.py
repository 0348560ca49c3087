"""Who may run and read the analyses, over which area.

Hot spots, blind spots and placement results are police information: a public blind-spot
map would guide burglars. Police run them within their jurisdiction; the bureau, admins and
city leaders city-wide (leaders read only).
"""

from __future__ import annotations

import datetime as dt
import json

from sqlalchemy import func, select, text, true
from sqlalchemy.orm import Session

from geo import blindspots, buildings, coverage
from geo.blindspots import Scope
from geo.enums import Role
from geo.errors import InvalidInput, NotFound, PermissionDenied
from geo.models import (
    AnalysisRun,
    BlindSpot,
    Community,
    District,
    HotspotCell,
    Village,
    precinct_villages,
    station_villages,
)
from geo.queries import feature_collection, web_geom

from .access import Actor, community_filter, require_signed_in

RUNNERS = frozenset({Role.station, Role.precinct, Role.city_police, Role.admin})
READERS = RUNNERS | {Role.leader}
CITY_WIDE = frozenset({Role.city_police, Role.admin, Role.leader})


def _require(actor: Actor, roles: frozenset[Role]) -> None:
    require_signed_in(actor)
    if actor.role not in roles:
        raise PermissionDenied(
            "分析結果屬警察機關資料，您的角色不能查看或執行。", detail=f"{actor.role} analysis"
        )


def _jurisdiction_wkb(session: Session, actor: Actor) -> tuple[str, int | None, bytes | None]:
    """The actor's own area: (scope kind, id, EPSG:3826 WKB) — None area for city-wide roles."""
    if actor.role in CITY_WIDE:
        return "city", None, None
    if actor.role is Role.precinct:
        q = (
            select(func.ST_AsBinary(func.ST_Union(Village.geom)))
            .join(precinct_villages, precinct_villages.c.village_id == Village.id)
            .where(precinct_villages.c.precinct_id == actor.precinct_id)
        )
        return "precinct", actor.precinct_id, _bytes(session.scalar(q))
    if actor.role is Role.station:
        q = (
            select(func.ST_AsBinary(func.ST_Union(Village.geom)))
            .join(station_villages, station_villages.c.village_id == Village.id)
            .where(station_villages.c.station_id == actor.station_id)
        )
        return "precinct", actor.precinct_id, _bytes(session.scalar(q))
    raise PermissionDenied(detail="no jurisdiction")


def _bytes(value) -> bytes:
    if value is None:
        raise NotFound("您的轄區沒有村里資料。", detail="empty jurisdiction")
    return bytes(value)


def resolve_scope(
    session: Session, actor: Actor, *, district: str | None = None, community_id: int | None = None
) -> Scope:
    """The area of an analysis: a district or community inside the actor's jurisdiction, or
    the whole jurisdiction (the city for city-wide roles)."""
    _require(actor, READERS)
    kind, sid, own = _jurisdiction_wkb(session, actor)
    if community_id is not None:
        row = session.execute(
            select(Community.id, func.ST_AsBinary(Community.geom)).where(
                Community.id == community_id, community_filter(actor)
            )
        ).first()
        if row is None:
            raise NotFound("找不到此社區，或不在您的轄區。", detail=f"community {community_id}")
        return Scope("community", row[0], bytes(row[1]))
    if district is not None:
        row = session.execute(
            select(District.id, func.ST_AsBinary(District.geom)).where(
                (District.code == district) | (District.name == district),
                District.retired_at.is_(None),
            )
        ).first()
        if row is None:
            raise NotFound(f"找不到行政區「{district}」。", detail=district)
        area = bytes(row[1])
        if own is not None:
            # Police see only the part of the district inside their jurisdiction.
            area = bytes(
                session.scalar(
                    select(
                        func.ST_AsBinary(
                            func.ST_Intersection(
                                func.ST_GeomFromWKB(area, 3826), func.ST_GeomFromWKB(own, 3826)
                            )
                        )
                    )
                )
            )
        return Scope("district", row[0], area)
    return Scope(kind, sid, own)


def run_hotspots(
    session: Session,
    actor: Actor,
    scope: Scope,
    *,
    cell: float = 100.0,
    types: list[str] | None = None,
    start: dt.datetime | None = None,
    end: dt.datetime | None = None,
    weights: str = "queen",
    fdr: bool = True,
) -> AnalysisRun:
    _require(actor, RUNNERS)
    if not 20 <= cell <= 2000:
        raise InvalidInput("網格大小須在 20 到 2000 公尺之間。", detail=f"cell {cell}")
    if weights not in ("queen", "rook", "distance"):
        raise InvalidInput("鄰近關係須為 queen、rook 或 distance。", detail=weights)
    return blindspots.run_hotspots(
        session,
        scope,
        cell=cell,
        types=types,
        start=start,
        end=end,
        weights=weights,
        fdr=fdr,
        created_by=actor.user_id,
    )


def run_blind_spots(
    session: Session, actor: Actor, scope: Scope, *, hotspot_run_id: int | None = None, **kw
) -> AnalysisRun:
    _require(actor, RUNNERS)
    if hotspot_run_id is None:
        hotspot_run_id = run_hotspots(session, actor, scope).id
    else:
        get_run(session, actor, hotspot_run_id)
    return blindspots.run_blind_spots(
        session, scope, hotspot_run_id=hotspot_run_id, created_by=actor.user_id, **kw
    )


def _run_filter(actor: Actor):
    if actor.role in CITY_WIDE:
        return true()
    return (AnalysisRun.scope_kind != "city") & (
        (AnalysisRun.created_by == actor.user_id)
        | ((AnalysisRun.scope_kind == "precinct") & (AnalysisRun.scope_id == actor.precinct_id))
    )


def get_run(session: Session, actor: Actor, run_id: int) -> AnalysisRun:
    _require(actor, READERS)
    run = session.scalar(select(AnalysisRun).where(AnalysisRun.id == run_id, _run_filter(actor)))
    if run is None:
        raise NotFound("找不到此分析結果，或您沒有權限查看。", detail=f"run {run_id}")
    return run


def list_runs(
    session: Session, actor: Actor, kind: str | None = None, limit: int = 50
) -> list[dict]:
    _require(actor, READERS)
    q = select(AnalysisRun).where(_run_filter(actor)).order_by(AnalysisRun.id.desc()).limit(limit)
    if kind:
        q = q.where(AnalysisRun.kind == kind)
    return [run_json(r) for r in session.scalars(q)]


def run_json(run: AnalysisRun) -> dict:
    return {
        "id": run.id,
        "kind": run.kind,
        "scope_kind": run.scope_kind,
        "scope_id": run.scope_id,
        "params": run.params,
        "summary": run.summary,
        "created_at": run.created_at.isoformat() if run.created_at else None,
        "duration_ms": run.duration_ms,
    }


def run_features(session: Session, actor: Actor, run_id: int, *, limit: int = 5000) -> str:
    """A run's cells or blind spots as GeoJSON (lon/lat), built by PostGIS."""
    run = get_run(session, actor, run_id)
    if run.kind == "hotspots":
        stmt = (
            select(
                HotspotCell.id,
                HotspotCell.count,
                HotspotCell.z,
                HotspotCell.p,
                HotspotCell.cls,
                web_geom(HotspotCell.geom).label("geom"),
            )
            .where(HotspotCell.run_id == run.id)
            .order_by(HotspotCell.id)
            .limit(limit)
        )
    elif run.kind == "blind_spots":
        stmt = (
            select(
                BlindSpot.id,
                BlindSpot.rank,
                BlindSpot.risk,
                BlindSpot.reasons,
                BlindSpot.source_kind,
                BlindSpot.source_id,
                BlindSpot.community_id,
                web_geom(BlindSpot.geom).label("geom"),
            )
            .where(BlindSpot.run_id == run.id)
            .order_by(BlindSpot.rank)
            .limit(limit)
        )
    else:
        raise InvalidInput("此分析沒有圖徵。", detail=run.kind)
    return feature_collection(session, stmt)


def coverage_by_area(session: Session, actor: Actor, kind: str) -> list[dict]:
    """Coverage figures per area the actor may read (police: their jurisdiction)."""
    _require(actor, READERS)
    if kind not in coverage.AREAS:
        raise InvalidInput("區域類別須為 district、village、community 或 precinct。", detail=kind)
    ids = None
    if actor.role not in CITY_WIDE:
        _, _, own = _jurisdiction_wkb(session, actor)
        if kind == "precinct":
            ids = [actor.precinct_id]
        elif kind == "community":
            ids = list(session.scalars(select(Community.id).where(community_filter(actor))))
        else:
            # Areas that really overlap the jurisdiction (more than a hectare, or a village's
            # point on surface): one that merely touches its edge is a neighbour's.
            table = "districts" if kind == "district" else "villages"
            test = (
                "ST_Area(ST_Intersection(geom, j.g)) > 10000"
                if kind == "district"
                else "ST_Intersects(j.g, ST_PointOnSurface(geom))"
            )
            ids = list(
                session.scalars(
                    text(
                        f"SELECT id FROM {table}, (SELECT ST_GeomFromWKB(:a, 3826) g) j "
                        f"WHERE geom && j.g AND {test}"
                    ),
                    {"a": own},
                )
            )
    rows = coverage.by_area(session, kind, area_ids=ids)
    return [
        {
            "id": r.area_id,
            "code": r.code,
            "name": r.name,
            "street_m": round(r.street_m, 1),
            "covered_m": round(r.covered_m, 1),
            "street_share": None if r.street_share is None else round(r.street_share, 4),
            "hazards_open": r.hazards,
            "hazards_seen": r.hazards_covered,
            "incidents": r.incidents,
            "incidents_seen": r.incidents_covered,
        }
        for r in rows
    ]


def camera_view_preview(
    session: Session,
    actor: Actor,
    lon: float,
    lat: float,
    bearing: float,
    fov: float,
    range_m: float,
) -> dict:
    """The view a camera being drafted would have, buildings taken into account. Anyone
    signed in may ask (community members draft proposals): it is computed from the position
    typed in and from building footprints, which are public, never from police records."""
    require_signed_in(actor)
    return buildings.preview_view(session, lon, lat, bearing, fov, range_m)


def dumps(value) -> str:
    return json.dumps(value, ensure_ascii=False, default=str)
