"""Patrol-block adoption (治安區塊認養): candidate blocks for a community, their risk, and
suggested adopter–block pairings by distance and guard capacity.

Pairing is an assignment problem: each adopter offers ``guards × blocks_per_guard`` slots;
a slot takes at most one block and a block at most one slot. Among assignments within the
distance limit we want the riskiest blocks covered first and, between equal risks, the
nearest adopter — solved exactly with the Hungarian method (SciPy's
``linear_sum_assignment``) on the slot × block cost matrix.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.optimize import linear_sum_assignment
from sqlalchemy import text
from sqlalchemy.orm import Session

from .errors import InvalidInput

METHODS = ("grid", "streets")


def generate_blocks(
    session: Session, community_id: int, *, method: str = "grid", size_m: float = 150.0
) -> int:
    """Divide a community into candidate blocks and store them (source = ``method``).

    ``grid``: squares of ``size_m`` clipped to the boundary. ``streets``: the faces the street
    network cuts the community into (street blocks), which is how patrols think of areas.
    Census blocks and hand-drawn blocks come in through the layer import and the API.
    """
    if method not in METHODS:
        raise InvalidInput("區塊劃分方式須為 grid 或 streets。", detail=method)
    if method == "grid" and not 50 <= size_m <= 1000:
        raise InvalidInput("網格區塊大小須在 50 到 1000 公尺之間。", detail=str(size_m))
    if method == "grid":
        faces = """
            SELECT ST_CollectionExtract(ST_Intersection(g.geom, c.geom), 3) AS geom
            FROM communities c, ST_SquareGrid(:size, c.geom) g
            WHERE c.id = :cid AND ST_Intersects(g.geom, c.geom)
        """
    else:
        faces = """
            SELECT (ST_Dump(ST_Polygonize(lines.geom))).geom AS geom
            FROM (
                SELECT ST_Union(ARRAY[
                    (SELECT ST_Boundary(geom) FROM communities WHERE id = :cid),
                    (SELECT ST_Union(ST_Intersection(s.geom, c.geom)) FROM street_segments s, communities c
                     WHERE c.id = :cid AND s.geom && c.geom AND ST_Intersects(s.geom, c.geom))
                ]) AS geom
            ) lines
        """
    inserted = session.execute(
        text(
            f"""
            INSERT INTO patrol_blocks (community_id, name, risk, source, geom)
            SELECT :cid, '第 ' || row_number() OVER (ORDER BY ST_Y(ST_Centroid(f.geom)) DESC, ST_X(ST_Centroid(f.geom))) || ' 區塊',
                   0, :method, (ST_Dump(f.geom)).geom
            FROM ({faces}) f, communities c
            WHERE c.id = :cid AND ST_Area(f.geom) > 500
              AND ST_Area(ST_Intersection(f.geom, c.geom)) > 0.5 * ST_Area(f.geom)
            """
        ),
        {"cid": community_id, "size": size_m, "method": method},
    ).rowcount
    score_blocks(session, community_id)
    return inserted


def score_blocks(session: Session, community_id: int, *, months: int = 12) -> None:
    """Risk of each block: incidents of the last ``months`` plus twice the severity of the
    open hazards in it (a hazard marks a place residents worry about)."""
    session.execute(
        text(
            """
            UPDATE patrol_blocks b SET risk = sub.risk, version = b.version + 1
            FROM (
                SELECT b2.id,
                    (SELECT count(*) FROM incidents i WHERE i.geom && b2.geom AND ST_Intersects(b2.geom, i.geom)
                       AND i.occurred_at >= now() - make_interval(months => :months))
                  + coalesce((SELECT sum(2 * h.severity) FROM hazards h WHERE h.geom && b2.geom
                       AND ST_Intersects(b2.geom, ST_PointOnSurface(h.geom))
                       AND h.status::text IN ('open', 'assigned')), 0) AS risk
                FROM patrol_blocks b2 WHERE b2.community_id = :cid
            ) sub
            WHERE b.id = sub.id AND b.risk IS DISTINCT FROM sub.risk
            """
        ),
        {"cid": community_id, "months": months},
    )


@dataclass(frozen=True)
class Pairing:
    adopter_id: int
    adopter: str
    block_id: int
    block: str
    risk: float
    distance_m: float


@dataclass(frozen=True)
class AdoptionAdvice:
    pairings: list[Pairing]
    unassigned_blocks: list[int]
    adopters_without_location: list[str]
    capacity: int


def suggest(
    session: Session,
    community_id: int,
    *,
    blocks_per_guard: int = 2,
    max_distance_m: float = 2000.0,
    include_adopted: bool = False,
) -> AdoptionAdvice:
    """Suggested adopter–block pairings for the community's unadopted blocks."""
    if blocks_per_guard < 1 or max_distance_m <= 0:
        raise InvalidInput(
            "每位警衛可認養區塊數須至少 1，距離上限須大於 0。", detail="bad parameters"
        )
    adopted_filter = (
        ""
        if include_adopted
        else "AND NOT EXISTS (SELECT 1 FROM block_adoptions ba WHERE ba.block_id = b.id)"
    )
    blocks = session.execute(
        text(
            f"""
            SELECT b.id, b.name, b.risk, ST_X(ST_PointOnSurface(b.geom)), ST_Y(ST_PointOnSurface(b.geom))
            FROM patrol_blocks b WHERE b.community_id = :cid {adopted_filter} ORDER BY b.id
            """
        ),
        {"cid": community_id},
    ).all()
    adopters = session.execute(
        text(
            """
            SELECT a.id, a.name, a.guards, ST_X(a.geom), ST_Y(a.geom),
                   (SELECT count(*) FROM block_adoptions ba WHERE ba.adopter_id = a.id) AS used
            FROM adopters a WHERE a.community_id = :cid AND a.guards > 0 ORDER BY a.id
            """
        ),
        {"cid": community_id},
    ).all()
    without = [a.name for a in adopters if a[3] is None]
    located = [a for a in adopters if a[3] is not None]
    slots = [(a, k) for a in located for k in range(max(0, a.guards * blocks_per_guard - a.used))]
    if not slots or not blocks:
        return AdoptionAdvice([], [b.id for b in blocks], without, len(slots))
    sxy = np.array([[a[3], a[4]] for a, _ in slots])
    bxy = np.array([[b[3], b[4]] for b in blocks])
    risk = np.array([float(b.risk or 0) for b in blocks])
    dist = np.hypot(sxy[:, None, 0] - bxy[None, :, 0], sxy[:, None, 1] - bxy[None, :, 1])
    # Risk dominates (a kilometre never outweighs one unit of risk), distance breaks ties.
    scale = max_distance_m * 10
    cost = dist - risk[None, :] * scale
    forbidden = dist > max_distance_m
    cost[forbidden] = scale * (risk.max() + 10)
    rows, cols = linear_sum_assignment(cost)
    pairings = [
        Pairing(
            slots[r][0].id,
            slots[r][0].name,
            blocks[c].id,
            blocks[c].name,
            float(risk[c]),
            round(float(dist[r, c]), 1),
        )
        for r, c in zip(rows, cols, strict=True)
        if not forbidden[r, c]
    ]
    pairings.sort(key=lambda p: (-p.risk, p.distance_m))
    taken = {p.block_id for p in pairings}
    return AdoptionAdvice(
        pairings, [b.id for b in blocks if b.id not in taken], without, len(slots)
    )
