"""Camera coverage: how much of the street network, and which hazards and incidents, the
cameras' view sectors see, per community, village, district or precinct. All in EPSG:3826
metres, all in SQL.

A street segment's covered length is the length of the union of its intersections with the
sectors that touch it (each sector less what buildings hide, when footprints are loaded:
``geo.buildings``), so overlapping cameras are not counted twice. A segment belongs to the
area that holds its midpoint, so every metre is counted in exactly one area of a partition.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import text
from sqlalchemy.orm import Session

from .buildings import camera_view_sql, has_buildings

# Cameras that see today; proposed and approved ones are planning, not coverage.
WORKING = ("existing", "installed")

AREAS = {
    "district": ("SELECT id, code, name, geom FROM districts WHERE retired_at IS NULL", "d"),
    "village": ("SELECT id, code, name, geom FROM villages WHERE retired_at IS NULL", "v"),
    "community": ("SELECT id, id::text AS code, name, geom FROM communities", "c"),
    "precinct": (
        "SELECT p.id, p.id::text AS code, p.name, ST_Multi(ST_Union(v.geom)) AS geom "
        "FROM precincts p JOIN precinct_villages pv ON pv.precinct_id = p.id "
        "JOIN villages v ON v.id = pv.village_id GROUP BY p.id, p.name",
        "p",
    ),
}


@dataclass(frozen=True)
class AreaCoverage:
    area_id: int
    code: str
    name: str
    street_m: float
    covered_m: float
    hazards: int
    hazards_covered: int
    incidents: int
    incidents_covered: int

    @property
    def street_share(self) -> float | None:
        return self.covered_m / self.street_m if self.street_m else None


def _area_sql(kind: str) -> str:
    if kind not in AREAS:
        raise ValueError(f"unknown area kind {kind!r}")
    return AREAS[kind][0]


# Camera-segment pairs first (each sector probes the street index once), then one union per
# segment that more than one camera sees: several times faster than probing cameras for
# every one of 200,000 segments, most of which no camera sees.
SEGMENT_COVERAGE = """
    WITH pairs AS (
        SELECT s.id, ST_Intersection(s.geom, c.sector) AS g
        FROM cameras c
        JOIN street_segments s ON s.geom && c.sector AND ST_Intersects(s.geom, c.sector)
        WHERE c.status::text = ANY(:statuses)
          AND (CAST(:bbox_wkb AS bytea) IS NULL OR s.geom && ST_GeomFromWKB(:bbox_wkb, 3826))
    ),
    cov AS (
        SELECT id, CASE WHEN count(*) = 1 THEN ST_Length(ST_Collect(g)) ELSE ST_Length(ST_Union(g)) END AS covered_m
        FROM pairs GROUP BY id
    )
    SELECT s.id, s.length_m, ST_LineInterpolatePoint(s.geom, 0.5) AS mid, coalesce(cov.covered_m, 0) AS covered_m
    FROM street_segments s LEFT JOIN cov ON cov.id = s.id
    WHERE CAST(:bbox_wkb AS bytea) IS NULL OR s.geom && ST_GeomFromWKB(:bbox_wkb, 3826)
"""

# With building footprints loaded, the pairs use each camera's view (its sector less what
# buildings hide) as the database keeps it (``camera_views``, migration 0012; a camera no
# building touches has no row and its sector is its view), probing the street index with the
# view's box, which lies inside the sector's. Computing the views here instead, per query,
# took 34 s for 30,000 cameras and 200,000 footprints against 3-4 s (docs/benchmarks.md).
SEGMENT_COVERAGE_CLIPPED = SEGMENT_COVERAGE.replace(
    """        SELECT s.id, ST_Intersection(s.geom, c.sector) AS g
        FROM cameras c
        JOIN street_segments s ON s.geom && c.sector AND ST_Intersects(s.geom, c.sector)""",
    """        SELECT s.id, ST_Intersection(s.geom, coalesce(cv.geom, c.sector)) AS g
        FROM cameras c
        LEFT JOIN camera_views cv ON cv.camera_id = c.id
        JOIN street_segments s ON s.geom && coalesce(cv.geom, c.sector)
             AND ST_Intersects(s.geom, coalesce(cv.geom, c.sector))""",
)
assert SEGMENT_COVERAGE_CLIPPED != SEGMENT_COVERAGE  # the replacement above matched


def _segment_coverage(session: Session) -> str:
    return SEGMENT_COVERAGE_CLIPPED if has_buildings(session) else SEGMENT_COVERAGE


def by_area(
    session: Session,
    kind: str,
    *,
    area_ids: list[int] | None = None,
    statuses: tuple[str, ...] = WORKING,
) -> list[AreaCoverage]:
    """Coverage figures for every area of ``kind`` (or only ``area_ids``)."""
    areas = _area_sql(kind)
    where = "WHERE a0.id = ANY(:ids)" if area_ids is not None else ""
    segments = _segment_coverage(session)
    view = camera_view_sql(session)
    sql = f"""
        WITH a AS (SELECT * FROM ({areas}) a0 {where}),
        extent AS (SELECT ST_AsBinary(ST_Extent(geom)::geometry) AS wkb FROM a),
        seg AS MATERIALIZED ({segments.replace("CAST(:bbox_wkb AS bytea)", "(SELECT wkb FROM extent)").replace(":bbox_wkb", "(SELECT wkb FROM extent)")}),
        assigned AS (
            -- a midpoint on a shared border belongs to one area only: the lowest id
            SELECT DISTINCT ON (seg.id) a.id AS area_id, seg.length_m, seg.covered_m
            FROM seg JOIN a ON seg.mid && a.geom AND ST_Intersects(a.geom, seg.mid)
            ORDER BY seg.id, a.id
        ),
        streets AS (
            SELECT area_id AS id, sum(length_m) AS street_m, sum(covered_m) AS covered_m
            FROM assigned GROUP BY area_id
        ),
        hz AS (
            SELECT a.id, count(*) AS n,
                   count(*) FILTER (WHERE EXISTS (
                       SELECT 1 FROM cameras c WHERE c.sector && h.geom
                         AND c.status::text = ANY(:statuses) AND ST_Intersects({view}, h.geom))) AS seen
            FROM a JOIN hazards h ON h.geom && a.geom AND ST_Intersects(a.geom, ST_PointOnSurface(h.geom))
            WHERE h.status::text IN ('open', 'assigned') GROUP BY a.id
        ),
        inc AS (
            SELECT a.id, count(*) AS n,
                   count(*) FILTER (WHERE EXISTS (
                       SELECT 1 FROM cameras c WHERE c.sector && i.geom
                         AND c.status::text = ANY(:statuses) AND ST_Intersects({view}, i.geom))) AS seen
            FROM a JOIN incidents i ON i.geom && a.geom AND ST_Intersects(a.geom, i.geom) GROUP BY a.id
        )
        SELECT a.id, a.code, a.name,
               coalesce(streets.street_m, 0), coalesce(streets.covered_m, 0),
               coalesce(hz.n, 0), coalesce(hz.seen, 0), coalesce(inc.n, 0), coalesce(inc.seen, 0)
        FROM a LEFT JOIN streets ON streets.id = a.id LEFT JOIN hz ON hz.id = a.id
        LEFT JOIN inc ON inc.id = a.id
        ORDER BY a.code
    """
    params: dict = {"statuses": list(statuses)}
    if area_ids is not None:
        params["ids"] = list(area_ids)
    rows = session.execute(text(sql), params).all()
    return [
        AreaCoverage(
            r[0], r[1], r[2], float(r[3]), float(r[4]), int(r[5]), int(r[6]), int(r[7]), int(r[8])
        )
        for r in rows
    ]


def city_street_coverage(
    session: Session, *, statuses: tuple[str, ...] = WORKING
) -> tuple[float, float]:
    """(total street metres, covered metres) over the whole network."""
    sql = f"SELECT coalesce(sum(length_m), 0), coalesce(sum(covered_m), 0) FROM ({_segment_coverage(session)}) seg"
    total, covered = session.execute(
        text(sql), {"statuses": list(statuses), "bbox_wkb": None}
    ).one()
    return float(total), float(covered)


def covered_streets_wkb(
    session: Session, area_wkb: bytes, *, statuses: tuple[str, ...] = WORKING
) -> bytes | None:
    """The covered parts of the streets inside an area (EPSG:3826 WKB, MultiLineString)."""
    view = camera_view_sql(session)
    sql = f"""
        SELECT ST_AsBinary(ST_Multi(ST_CollectionExtract(ST_Union(ST_Intersection(s.geom, v.g)), 2)))
        FROM street_segments s
        JOIN cameras c ON c.sector && s.geom AND c.status::text = ANY(:statuses)
             AND ST_Intersects(c.sector, s.geom)
        CROSS JOIN LATERAL (SELECT {view} AS g) v
        WHERE s.geom && ST_GeomFromWKB(:area, 3826) AND ST_Intersects(v.g, s.geom)
          AND ST_Intersects(ST_GeomFromWKB(:area, 3826), ST_LineInterpolatePoint(s.geom, 0.5))
    """
    value = session.execute(text(sql), {"area": area_wkb, "statuses": list(statuses)}).scalar()
    return bytes(value) if value is not None else None
