"""The street network: road centrelines imported into segments noded at intersections, and
candidate camera sites along them.

Sources: any vector file GDAL reads (GeoJSON, Shapefile folder or .zip, GeoPackage) or an
OpenStreetMap extract (``.osm.pbf`` / ``.osm``, read with pyosmium). Noding is done by PostGIS
(ST_Node), so every intersection splits the lines that cross there; names and road classes
are carried over from the source line each piece lies on.
"""

from __future__ import annotations

import logging
from dataclasses import asdict, dataclass
from pathlib import Path

import geopandas as gpd
import shapely
from sqlalchemy import text
from sqlalchemy.orm import Session

from .errors import ImportEmpty, ImportFileError
from .models import STORAGE_SRID, AuditLog
from .vector_io import ProgressFn, no_progress, read

log = logging.getLogger(__name__)

# OSM highway values that carry people and vehicles (not footways inside buildings, not
# construction sites): what a camera on a street would watch.
OSM_HIGHWAYS = frozenset(
    {
        "motorway", "trunk", "primary", "secondary", "tertiary", "unclassified", "residential",
        "living_street", "service", "pedestrian", "footway", "path", "cycleway", "steps",
        "motorway_link", "trunk_link", "primary_link", "secondary_link", "tertiary_link", "track",
    }
)  # fmt: skip
NAME_COLUMNS = ("NAME", "ROADNAME", "RD_NAME", "路名", "道路名稱", "名稱")
CLASS_COLUMNS = ("HIGHWAY", "ROADCLASS", "CLASS", "FCLASS", "道路等級", "類別")


@dataclass
class StreetImportReport:
    source: str
    lines_read: int
    segments: int
    total_km: float
    replaced: int

    def as_dict(self) -> dict:
        return asdict(self)


def read_osm(path: Path) -> gpd.GeoDataFrame:
    """Ways tagged ``highway`` from an OSM extract, as lon/lat lines with name and class."""
    import osmium

    wkb = osmium.geom.WKBFactory()
    rows = []

    class Ways(osmium.SimpleHandler):
        def way(self, w):
            highway = w.tags.get("highway")
            if highway not in OSM_HIGHWAYS:
                return
            try:
                geom = shapely.from_wkb(bytes.fromhex(wkb.create_linestring(w)))
            except (RuntimeError, osmium.InvalidLocationError):
                return  # a way whose nodes are outside the extract
            rows.append({"NAME": w.tags.get("name"), "HIGHWAY": highway, "geometry": geom})

    try:
        Ways().apply_file(str(path), locations=True)
    except RuntimeError as exc:
        raise ImportFileError(
            "OpenStreetMap 檔案無法讀取或已損毀。", detail=f"{path}: {exc}"
        ) from exc
    if not rows:
        raise ImportEmpty(
            "OpenStreetMap 檔案中沒有道路（highway）。", detail=f"{path}: no highways"
        )
    return gpd.GeoDataFrame(rows, crs=4326)


def _first(gdf: gpd.GeoDataFrame, names: tuple[str, ...]) -> list:
    for name in names:
        if name in gdf.columns:
            return [None if v is None or v != v else str(v)[:128] for v in gdf[name]]
    return [None] * len(gdf)


def import_streets(
    session: Session,
    path: str | Path,
    *,
    replace: bool = False,
    crs: str | None = None,
    layer: str | None = None,
    progress: ProgressFn = no_progress,
) -> StreetImportReport:
    """Import centrelines from ``path`` into ``street_segments`` (one transaction with the
    caller's session). With ``replace`` the existing network is removed first."""
    p = Path(path)
    progress("讀取檔案", 0.0)
    if p.name.lower().endswith((".osm.pbf", ".osm", ".pbf")):
        gdf = read_osm(p)
        source = p.name
    else:
        gdf, src = read(p, layer=layer, crs=crs)
        source = src.description
    gdf = gdf[gdf.geometry.notna() & ~gdf.geometry.is_empty]
    gdf = gdf[gdf.geom_type.isin(["LineString", "MultiLineString"])]
    if gdf.empty:
        raise ImportEmpty("檔案中沒有道路線（LineString）。", detail=f"{source}: no lines")
    gdf = gdf.explode(index_parts=False, ignore_index=True).to_crs(STORAGE_SRID)
    progress("寫入暫存表", 0.2)
    session.execute(text("DROP TABLE IF EXISTS pg_temp._import_lines"))
    session.execute(
        text(
            "CREATE TEMP TABLE _import_lines (id serial PRIMARY KEY, name text, road_class text, "
            "geom geometry(LineString, 3826)) ON COMMIT DROP"
        )
    )
    rows = [
        {"name": n, "cls": c, "wkb": w}
        for n, c, w in zip(
            _first(gdf, NAME_COLUMNS),
            _first(gdf, CLASS_COLUMNS),
            shapely.to_wkb(gdf.geometry.values),
            strict=True,
        )
    ]
    session.execute(
        text(
            "INSERT INTO _import_lines (name, road_class, geom) VALUES (:name, :cls, ST_GeomFromWKB(:wkb, 3826))"
        ),
        rows,
    )
    session.execute(text("CREATE INDEX ON _import_lines USING gist (geom)"))
    replaced = 0
    if replace:
        replaced = session.execute(text("DELETE FROM street_segments")).rowcount
    progress("於交叉點切分", 0.4)
    # ST_Node splits every line where another crosses or touches it; each piece takes the name
    # and class of the source line under its midpoint.
    session.execute(
        text(
            """
            INSERT INTO street_segments (name, road_class, source, district_id, geom)
            SELECT src.name, src.road_class, :source, d.id, n.geom
            FROM (SELECT (ST_Dump(ST_Node(ST_Collect(geom)))).geom AS geom FROM _import_lines) n
            LEFT JOIN LATERAL (
                SELECT l.name, l.road_class FROM _import_lines l
                WHERE l.geom && ST_Expand(ST_LineInterpolatePoint(n.geom, 0.5), 0.01)
                ORDER BY ST_Distance(l.geom, ST_LineInterpolatePoint(n.geom, 0.5)) LIMIT 1
            ) src ON true
            LEFT JOIN districts d
              ON d.retired_at IS NULL AND ST_Intersects(d.geom, ST_LineInterpolatePoint(n.geom, 0.5))
            WHERE ST_Length(n.geom) > 0.01
            """
        ),
        {"source": source[:128]},
    )
    progress("統計", 0.9)
    segments, total = session.execute(
        text("SELECT count(*), coalesce(sum(length_m), 0) FROM street_segments WHERE source = :s"),
        {"s": source[:128]},
    ).one()
    report = StreetImportReport(
        source, len(gdf), int(segments), round(float(total) / 1000, 3), replaced
    )
    session.add(
        AuditLog(action="import_streets", entity="street_segments", detail=report.as_dict())
    )
    session.flush()
    progress("完成", 1.0)
    return report


def candidate_sites(
    session: Session, area_wkb: bytes | None = None, *, spacing_m: float = 50.0
) -> gpd.GeoDataFrame:
    """Candidate camera sites: street intersections (three or more segment ends meet) and
    points every ``spacing_m`` metres along segments, inside ``area`` (EPSG:3826 WKB) if given.

    Returns EPSG:3826 points with ``kind`` (intersection or along_street) and ``segment_id``.
    """
    area_sql = "ST_GeomFromWKB(:area, 3826)" if area_wkb is not None else "NULL::geometry"
    sql = f"""
        WITH area AS (SELECT {area_sql} AS g),
        segs AS (
            SELECT s.id, s.geom, s.length_m FROM street_segments s, area
            WHERE area.g IS NULL OR (s.geom && area.g AND ST_Intersects(s.geom, area.g))
        ),
        ends AS (
            SELECT ST_SnapToGrid(ST_StartPoint(geom), 0.5) AS p FROM segs
            UNION ALL SELECT ST_SnapToGrid(ST_EndPoint(geom), 0.5) FROM segs
        ),
        junctions AS (
            SELECT p AS geom, 'intersection'::text AS kind, NULL::bigint AS segment_id
            FROM ends GROUP BY p HAVING count(*) >= 3
        ),
        along AS (
            SELECT (ST_Dump(ST_LineInterpolatePoints(geom, least(1.0, :spacing / length_m)))).geom AS geom,
                   'along_street'::text AS kind, id AS segment_id
            FROM segs WHERE length_m >= :spacing
        )
        SELECT row_number() OVER () AS id, kind, segment_id, ST_AsBinary(geom) AS geom
        FROM (SELECT * FROM junctions UNION ALL SELECT * FROM along) c, area
        WHERE area.g IS NULL OR ST_Intersects(c.geom, area.g)
    """
    params = {"spacing": float(spacing_m)}
    if area_wkb is not None:
        params["area"] = area_wkb
    rows = session.execute(text(sql), params).all()
    return gpd.GeoDataFrame(
        {
            "id": [r.id for r in rows],
            "kind": [r.kind for r in rows],
            "segment_id": [r.segment_id for r in rows],
        },
        geometry=shapely.from_wkb([bytes(r.geom) for r in rows]) if rows else [],
        crs=STORAGE_SRID,
    )
