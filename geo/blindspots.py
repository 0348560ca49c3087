"""Saved analysis runs over the database: incident hot spots on a grid and the blind spots
that no camera, adopted block or patrol route covers.

The statistics are :mod:`geo.analysis.hotspots` (numpy); this module fetches the inputs with
SQL, stores the results (``analysis_runs``, ``hotspot_cells``, ``blind_spots``) and does the
coverage tests in PostGIS.
"""

from __future__ import annotations

import datetime as dt
import time
from dataclasses import dataclass

import numpy as np
from sqlalchemy import text
from sqlalchemy.orm import Session

from .analysis.hotspots import Grid, hotspots
from .buildings import camera_view_sql
from .models import AnalysisRun

# Blind-spot reasons, each a cover that is missing (the stable codes are what the API returns).
REASONS = {
    "no_camera": "沒有監視器拍攝",
    "not_adopted": "不在認養區塊內",
    "not_patrolled": "不在巡守路線範圍內",
}
WORKING_CAMERAS = ("existing", "installed")


@dataclass(frozen=True)
class Scope:
    """Where an analysis runs: an area (EPSG:3826 WKB, None for the whole city) and its label."""

    kind: str
    id: int | None
    area_wkb: bytes | None


def area_clause(column: str, scope: Scope) -> str:
    """SQL that keeps rows of ``column`` inside the scope's area (bound as ``:area``)."""
    if scope.area_wkb is None:
        return "true"
    return f"({column} && ST_GeomFromWKB(:area, 3826) AND ST_Intersects({column}, ST_GeomFromWKB(:area, 3826)))"


def scope_params(scope: Scope, **extra) -> dict:
    """Bind parameters for :func:`area_clause`, plus ``extra``."""
    params = dict(extra)
    if scope.area_wkb is not None:
        params["area"] = scope.area_wkb
    return params


def run_hotspots(
    session: Session,
    scope: Scope,
    *,
    cell: float = 100.0,
    types: list[str] | None = None,
    start: dt.datetime | None = None,
    end: dt.datetime | None = None,
    weights: str = "queen",
    fdr: bool = True,
    created_by: int | None = None,
) -> AnalysisRun:
    """Gi* hot spots of incidents inside ``scope`` on a ``cell``-metre grid; saved as a run.

    Cells with incidents or a significant z (after FDR when ``fdr``) are stored.
    """
    started = time.perf_counter()
    where = [area_clause("geom", scope)]
    params = scope_params(scope)
    if types:
        where.append("type = ANY(:types)")
        params["types"] = list(types)
    if start:
        where.append("occurred_at >= :start")
        params["start"] = start
    if end:
        where.append("occurred_at < :end")
        params["end"] = end
    rows = session.execute(
        text(f"SELECT ST_X(geom), ST_Y(geom) FROM incidents WHERE {' AND '.join(where)}"), params
    ).all()
    xy = np.array(rows, dtype=float).reshape(-1, 2)
    if scope.area_wkb is not None:
        bounds = session.execute(
            text(
                "SELECT ST_XMin(g), ST_YMin(g), ST_XMax(g), ST_YMax(g) FROM (SELECT ST_GeomFromWKB(:area, 3826) g) a"
            ),
            {"area": scope.area_wkb},
        ).one()
        grid = Grid.covering(extent=tuple(float(b) for b in bounds), cell=cell)
    else:
        # The city's grid spans the districts, so a run over a quiet city is not a run over
        # the few blocks where incidents happen (Gi* compares a cell with its surroundings).
        bounds = session.execute(
            text(
                "SELECT ST_XMin(e), ST_YMin(e), ST_XMax(e), ST_YMax(e) FROM "
                "(SELECT ST_Extent(geom)::geometry e FROM districts WHERE retired_at IS NULL) d"
            )
        ).one()
        grid = (
            Grid.covering(extent=tuple(float(b) for b in bounds), cell=cell)
            if bounds[0] is not None
            else None
        )
    run = AnalysisRun(
        kind="hotspots",
        scope_kind=scope.kind,
        scope_id=scope.id,
        params={
            "cell_m": cell,
            "types": types,
            "start": start.isoformat() if start else None,
            "end": end.isoformat() if end else None,
            "weights": weights,
            "fdr": fdr,
        },
        created_by=created_by,
    )
    session.add(run)
    session.flush()
    if len(xy) == 0:
        run.summary = {"incidents": 0, "cells": 0, "hot": 0, "cold": 0}
        run.duration_ms = int((time.perf_counter() - started) * 1000)
        session.flush()
        return run
    result = hotspots(xy, grid=grid, cell=cell, weights=weights, fdr=fdr)
    g = result.grid
    counts = result.values.ravel()
    conf = result.confidence.ravel()
    z = result.z.ravel()
    p = result.p_fdr.ravel()
    keep = np.flatnonzero((counts > 0) | (conf != 0))
    nrows, ncols = result.values.shape
    ii, jj = np.unravel_index(keep, (nrows, ncols))
    x0, y0 = g.x0, g.y0
    labels = {
        3: "hot99",
        2: "hot95",
        1: "hot90",
        0: "none",
        -1: "cold90",
        -2: "cold95",
        -3: "cold99",
    }
    session.execute(
        text(
            """
            INSERT INTO hotspot_cells (run_id, i, j, count, z, p, significant, cls, geom)
            SELECT :run, i, j, c, z, p, s, cls,
                   ST_MakeEnvelope(:x0 + j * :cell, :y0 + i * :cell, :x0 + (j + 1) * :cell, :y0 + (i + 1) * :cell, 3826)
            FROM unnest(CAST(:i AS int[]), CAST(:j AS int[]), CAST(:c AS int[]), CAST(:z AS float8[]),
                        CAST(:p AS float8[]), CAST(:s AS boolean[]), CAST(:cls AS text[])) AS t(i, j, c, z, p, s, cls)
            """
        ),
        {
            "run": run.id,
            "x0": float(x0),
            "y0": float(y0),
            "cell": float(g.cell),
            "i": [int(v) for v in ii],
            "j": [int(v) for v in jj],
            "c": [int(counts[k]) for k in keep],
            "z": [None if not np.isfinite(z[k]) else float(z[k]) for k in keep],
            "p": [None if not np.isfinite(p[k]) else float(p[k]) for k in keep],
            "s": [bool(conf[k] != 0) for k in keep],
            "cls": [labels[int(conf[k])] for k in keep],
        },
    )
    run.summary = {
        "incidents": len(xy),
        "cells": len(keep),
        "hot": int((conf > 0).sum()),
        "cold": int((conf < 0).sum()),
        "hot99": int((conf == 3).sum()),
        "grid": {"rows": nrows, "cols": ncols, "cell_m": float(g.cell)},
    }
    run.duration_ms = int((time.perf_counter() - started) * 1000)
    session.flush()
    return run


def run_blind_spots(
    session: Session,
    scope: Scope,
    *,
    hotspot_run_id: int | None = None,
    min_confidence: int = 2,
    patrol_buffer_m: float = 50.0,
    camera_share: float = 0.5,
    created_by: int | None = None,
) -> AnalysisRun:
    """Blind spots: significant hot cells (of ``hotspot_run_id``) and open hazards that a
    camera, an adopted block or a patrol route does not cover, ranked by risk with the
    missing covers as reasons.

    Covers: a camera covers a cell when working sectors see at least ``camera_share`` of its
    area, and a hazard when a sector holds its point on surface (sectors less what buildings
    hide, when footprints are loaded); an adopted block covers a
    place whose point on surface lies in a block with an adopter; a patrol route covers what
    lies within ``patrol_buffer_m`` metres of it. A place lacking all three is a complete
    blind spot; places lacking some are listed after, with fewer reasons.
    """
    started = time.perf_counter()
    run = AnalysisRun(
        kind="blind_spots",
        scope_kind=scope.kind,
        scope_id=scope.id,
        params={
            "hotspot_run_id": hotspot_run_id,
            "min_confidence": min_confidence,
            "patrol_buffer_m": patrol_buffer_m,
            "camera_share": camera_share,
        },
        created_by=created_by,
    )
    session.add(run)
    session.flush()
    # cameras see through their view: the sector less what buildings hide, when loaded, as
    # the database keeps it (camera_views, migration 0012), not recomputed here
    view = camera_view_sql(session, "cam")
    levels = {1: ("hot90", "hot95", "hot99"), 2: ("hot95", "hot99"), 3: ("hot99",)}[
        max(1, min(3, min_confidence))
    ]
    sql = f"""
        WITH candidates AS (
            SELECT 'hotspot_cell'::text AS kind, h.id AS source_id, NULL::int AS community_id, h.geom,
                   h.count * (CASE h.cls WHEN 'hot99' THEN 3 WHEN 'hot95' THEN 2 ELSE 1 END)::float8 AS base
            FROM hotspot_cells h
            WHERE h.run_id = :hrun AND h.cls = ANY(:levels) AND {area_clause("h.geom", scope)}
            UNION ALL
            SELECT 'hazard', z.id, z.community_id, z.geom, (z.severity * 2)::float8
            FROM hazards z
            WHERE z.status::text IN ('open', 'assigned') AND {area_clause("z.geom", scope)}
        ),
        tested AS (
            SELECT c.*, ST_PointOnSurface(c.geom) AS pos,
                CASE WHEN c.kind = 'hotspot_cell' THEN
                    coalesce((SELECT ST_Area(ST_Intersection(c.geom, ST_Union({view}))) FROM cameras cam
                              WHERE cam.sector && c.geom AND cam.status::text = ANY(:working)), 0)
                        >= :share * ST_Area(c.geom)
                ELSE EXISTS (SELECT 1 FROM cameras cam WHERE cam.sector && c.geom
                             AND cam.status::text = ANY(:working)
                             AND ST_Intersects({view}, ST_PointOnSurface(c.geom)))
                END AS seen,
                EXISTS (SELECT 1 FROM patrol_blocks b JOIN block_adoptions ba ON ba.block_id = b.id
                        WHERE b.geom && c.geom AND ST_Intersects(b.geom, ST_PointOnSurface(c.geom))) AS adopted,
                EXISTS (SELECT 1 FROM patrol_routes r
                        WHERE ST_DWithin(r.geom, ST_PointOnSurface(c.geom), :buffer)) AS patrolled
            FROM candidates c
        ),
        flagged AS (
            SELECT t.*, array_remove(ARRAY[
                CASE WHEN NOT seen THEN 'no_camera' END,
                CASE WHEN NOT adopted THEN 'not_adopted' END,
                CASE WHEN NOT patrolled THEN 'not_patrolled' END], NULL) AS reasons
            FROM tested t
        )
        INSERT INTO blind_spots (run_id, rank, risk, reasons, source_kind, source_id,
                                 community_id, district_id, precinct_id, geom)
        SELECT :run,
               row_number() OVER (ORDER BY cardinality(f.reasons) DESC, f.base DESC, f.kind, f.source_id),
               f.base * cardinality(f.reasons) / 3.0,
               to_jsonb(f.reasons), f.kind, f.source_id,
               coalesce(f.community_id,
                        (SELECT cm.id FROM communities cm WHERE ST_Intersects(cm.geom, f.pos) ORDER BY cm.id LIMIT 1)),
               (SELECT d.id FROM districts d WHERE d.retired_at IS NULL AND ST_Intersects(d.geom, f.pos) LIMIT 1),
               (SELECT pv.precinct_id FROM villages v JOIN precinct_villages pv ON pv.village_id = v.id
                 WHERE v.retired_at IS NULL AND ST_Intersects(v.geom, f.pos) LIMIT 1),
               f.geom
        FROM flagged f
        WHERE cardinality(f.reasons) > 0
    """
    params = scope_params(
        scope,
        run=run.id,
        hrun=hotspot_run_id if hotspot_run_id is not None else -1,
        levels=list(levels),
        working=list(WORKING_CAMERAS),
        share=camera_share,
        buffer=patrol_buffer_m,
    )
    session.execute(text(sql), params)
    stats = session.execute(
        text(
            "SELECT count(*), count(*) FILTER (WHERE jsonb_array_length(reasons) = 3), "
            "count(*) FILTER (WHERE source_kind = 'hazard') FROM blind_spots WHERE run_id = :run"
        ),
        {"run": run.id},
    ).one()
    run.summary = {
        "blind_spots": stats[0],
        "complete": stats[1],
        "hazards": stats[2],
        "cells": stats[0] - stats[2],
    }
    run.duration_ms = int((time.perf_counter() - started) * 1000)
    session.flush()
    return run
