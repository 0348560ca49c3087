"""CCTV placement for a precinct or community from the database: demand from incidents and
open hazards, candidates along the streets plus community proposals, existing cameras
counted as already seeing; results saved as a run and, on request, as proposed cameras for
precinct review.
"""

from __future__ import annotations

import datetime as dt
import time

import geopandas as gpd
import numpy as np
import shapely
from geoalchemy2.shape import from_shape
from scipy.spatial import cKDTree
from sqlalchemy import text
from sqlalchemy.orm import Session

from geo.analysis.placement import CoveragePlanner
from geo.blindspots import Scope, area_clause, scope_params
from geo.buildings import camera_view_sql
from geo.errors import InvalidInput
from geo.layers import set_actor
from geo.models import STORAGE_SRID, AnalysisRun, Camera
from geo.streets import candidate_sites

from .access import Actor
from .analysis import RUNNERS, _require

HAZARD_WEIGHT = 2.0  # per severity point: residents marked the place at a safety meeting


def _points(session: Session, sql: str, params: dict) -> gpd.GeoDataFrame:
    """Rows of (id, weight, x, y[, seen]) as points; ``seen`` when the query gives it."""
    rows = session.execute(text(sql), params).all()
    if not rows:
        return gpd.GeoDataFrame({"weight": [], "id": [], "seen": []}, geometry=[], crs=STORAGE_SRID)
    return gpd.GeoDataFrame(
        {
            "id": [r[0] for r in rows],
            "weight": [float(r[1]) for r in rows],
            "seen": [bool(r[4]) if len(r) > 4 else False for r in rows],
        },
        geometry=shapely.points([(r[2], r[3]) for r in rows]),
        crs=STORAGE_SRID,
    )


def _seen_sql(point: str, session: Session) -> str:
    """Whether a working camera already sees ``point`` (a qualified column: ``cameras`` has a
    ``geom`` of its own): inside its view, the sector less what
    buildings hide, exactly as coverage and blind spots count it (not a circle of the plan's
    radius around the camera, which would credit cameras with what they face away from)."""
    view = camera_view_sql(session, "cam")
    return f"""EXISTS (
        SELECT 1 FROM cameras cam
        WHERE cam.status::text IN ('existing', 'installed')
          AND cam.sector && {point} AND ST_Intersects({view}, {point}))"""


def plan(
    session: Session,
    actor: Actor,
    scope: Scope,
    *,
    k: int = 10,
    radius: float = 100.0,
    method: str = "milp",
    time_limit: float = 30.0,
    spacing_m: float = 50.0,
    months: int = 12,
    bearings: list[float] | None = None,
    fov: float = 90.0,
    save_proposals: bool = False,
) -> dict:
    """Choose up to ``k`` sites maximising the covered demand; returns the run and the sites."""
    _require(actor, RUNNERS)
    if not 1 <= k <= 500:
        raise InvalidInput("設置數量 K 須在 1 到 500 之間。", detail=f"k {k}")
    if not 10 <= radius <= 500:
        raise InvalidInput("涵蓋半徑須在 10 到 500 公尺之間。", detail=f"radius {radius}")
    if method not in ("milp", "greedy"):
        raise InvalidInput("求解方法須為 milp 或 greedy。", detail=method)
    started = time.perf_counter()
    params = scope_params(scope, since=dt.datetime.now(dt.UTC) - dt.timedelta(days=30 * months))
    incidents = _points(
        session,
        f"""SELECT i.id, 1.0, ST_X(i.geom), ST_Y(i.geom), {_seen_sql("i.geom", session)}
            FROM incidents i WHERE i.occurred_at >= :since AND {area_clause("i.geom", scope)}""",
        params,
    )
    hazards = _points(
        session,
        f"""SELECT -h.id, h.severity * {HAZARD_WEIGHT}, ST_X(h.p), ST_Y(h.p), {_seen_sql("h.p", session)}
            FROM (SELECT id, severity, ST_PointOnSurface(geom) AS p FROM hazards
                  WHERE status::text IN ('open', 'assigned') AND {area_clause("geom", scope)}) h""",
        params,
    )
    demand = gpd.GeoDataFrame(
        {
            "weight": np.concatenate([incidents.weight.values, hazards.weight.values]),
            "seen": np.concatenate([incidents.seen.values, hazards.seen.values]).astype(bool),
        },
        geometry=list(incidents.geometry) + list(hazards.geometry),
        crs=STORAGE_SRID,
    )
    if demand.empty:
        raise InvalidInput("範圍內沒有案件或待處理的問題點，無法規劃。", detail="no demand")
    sites = candidate_sites(session, scope.area_wkb, spacing_m=spacing_m)
    # A site the police turned down (a camera marked 不予設置, e.g. a rejected suggestion on the
    # planning page) is not suggested again, and a street site next to a proposed camera is
    # that proposal, which is a candidate of its own: within half a spacing counts as the same.
    blocked = _points(
        session,
        f"SELECT id, 0, ST_X(geom), ST_Y(geom) FROM cameras WHERE status::text IN ('rejected', 'proposed') AND {area_clause('geom', scope)}",
        params,
    )
    excluded = 0
    if len(blocked) and len(sites):
        near, _ = cKDTree(np.column_stack([blocked.geometry.x, blocked.geometry.y])).query(
            np.column_stack([sites.geometry.x, sites.geometry.y]),
            distance_upper_bound=spacing_m / 2,
        )
        keep = ~np.isfinite(near)
        excluded = int((~keep).sum())
        sites = sites[keep].reset_index(drop=True)
    proposals = _points(
        session,
        f"SELECT id, 0, ST_X(geom), ST_Y(geom) FROM cameras WHERE status::text = 'proposed' AND {area_clause('geom', scope)}",
        params,
    )
    candidates = gpd.GeoDataFrame(
        {
            "id": [f"site-{i}" for i in sites["id"]] + [f"proposal-{i}" for i in proposals["id"]],
            "kind": list(sites["kind"]) + ["proposal"] * len(proposals),
        },
        geometry=list(sites.geometry) + list(proposals.geometry),
        crs=STORAGE_SRID,
    )
    if candidates.empty:
        raise InvalidInput(
            "範圍內沒有候選地點（請先匯入路網或提出建議位置）。", detail="no candidates"
        )
    existing = _points(
        session,
        f"SELECT id, 0, ST_X(geom), ST_Y(geom) FROM cameras WHERE status::text IN ('existing', 'installed') AND {area_clause('geom', scope)}",
        params,
    )
    # what working cameras see already counts as covered (demand["seen"], from their views
    # in the database), so the plan adds cameras where none looks
    planner = CoveragePlanner.from_geodataframes(
        demand,
        candidates,
        radius=radius,
        k=min(k, len(candidates)),
        bearings=bearings,
        fov=fov,
        seen=demand["seen"].to_numpy(),
    ).solve(method=method, time_limit=time_limit)
    chosen = [int(c) for c in planner.chosen]
    gains = [float(g) for g in planner.marginal_gain]
    # An array in sector mode, None for circles (an array has no truth value: test for None).
    bearing_of = (
        [float(b) for b in planner.chosen_bearing]
        if planner.chosen_bearing is not None
        else [None] * len(chosen)
    )
    run = AnalysisRun(
        kind="placement",
        scope_kind=scope.kind,
        scope_id=scope.id,
        params={
            "k": k,
            "radius_m": radius,
            "method": method,
            "time_limit": time_limit,
            "spacing_m": spacing_m,
            "months": months,
            "bearings": bearings,
            "fov": fov,
        },
        summary={
            "covered_weight": float(planner.covered_weight),
            "total_weight": float(planner.total_weight),
            "coverage_ratio": float(planner.covered_weight / planner.total_weight)
            if planner.total_weight
            else None,
            "gap": None if planner.gap is None else float(planner.gap),
            "status": str(planner.status),
            "demand_points": len(demand),
            "candidates": len(candidates),
            "existing_cameras": len(existing),
            "existing_weight": float(planner.existing_weight),
            "excluded_sites": excluded,
        },
        created_by=actor.user_id,
    )
    session.add(run)
    session.flush()
    to_lonlat = candidates.iloc[chosen].to_crs(4326) if chosen else candidates.iloc[[]]
    out = []
    for rank, (idx, gain, bearing) in enumerate(
        zip(chosen, gains, bearing_of, strict=False), start=1
    ):
        geom = candidates.geometry.iloc[idx]
        ll = to_lonlat.geometry.iloc[rank - 1]
        out.append(
            {
                "rank": rank,
                "candidate_id": candidates["id"].iloc[idx],
                "kind": candidates["kind"].iloc[idx],
                "marginal_gain": round(gain, 3),
                "bearing_deg": None if bearing is None else float(bearing),
                "lon": round(ll.x, 6),
                "lat": round(ll.y, 6),
                "x": round(geom.x, 1),
                "y": round(geom.y, 1),
            }
        )
    if save_proposals and out:
        precinct_id = actor.precinct_id or session.scalar(
            text(
                "SELECT pv.precinct_id FROM villages v JOIN precinct_villages pv ON pv.village_id = v.id "
                "WHERE ST_Intersects(v.geom, ST_SetSRID(ST_MakePoint(:x, :y), 3826)) LIMIT 1"
            ),
            {"x": out[0]["x"], "y": out[0]["y"]},
        )
        set_actor(session, actor.user_id)
        for site in out:
            if site["kind"] == "proposal":
                continue  # already a proposed camera
            session.add(
                Camera(
                    precinct_id=precinct_id,
                    status="proposed",
                    owner="police",
                    geom=from_shape(shapely.Point(site["x"], site["y"]), srid=STORAGE_SRID),
                    bearing_deg=(site["bearing_deg"] or 0.0) % 360,
                    fov_deg=fov if site["bearing_deg"] is not None else 360.0,
                    range_m=radius,
                    name=f"最佳化建議 #{site['rank']}",
                    plan_run_id=run.id,
                    marginal_gain=site["marginal_gain"],
                    created_by=actor.user_id,
                )
            )
        session.flush()
    run.duration_ms = int((time.perf_counter() - started) * 1000)
    session.flush()
    return {"run": {"id": run.id, **run.summary, "duration_ms": run.duration_ms}, "sites": out}
