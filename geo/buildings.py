"""Building footprints: imported from any vector file, they clip the cameras' views.

A camera does not see through a building. With footprints loaded, a camera's view is its
sector less every footprint inside it and the shadow each casts away from the camera
(``safemap_camera_view``, migration 0011). The database keeps each view in ``camera_views``
as cameras and buildings are written (triggers, migration 0012), so ``geo.coverage``,
``geo.blindspots`` and the maps read it instead of computing it per query. Without footprints
(the table empty or, on a database not yet migrated, absent) the sector is the view, as before.
"""

from __future__ import annotations

import json
import logging
import math
from dataclasses import asdict, dataclass
from pathlib import Path

import shapely
from sqlalchemy import ColumnElement, Table, func, select, text
from sqlalchemy.orm import Session

from .crs import TAIWAN_LONLAT, inside
from .errors import ImportEmpty, InvalidInput
from .models import STORAGE_SRID, AuditLog, Camera
from .models_buildings import CameraView
from .vector_io import ProgressFn, no_progress, read

log = logging.getLogger(__name__)

NAME_COLUMNS = ("NAME", "BLDG_NAME", "建物名稱", "名稱")
HEIGHT_COLUMNS = ("HEIGHT", "HEIGHT_M", "BLDG_HGT", "建物高度", "高度")

# Rings with less area than this (degenerate rings, slivers left by reprojection) hide nothing.
MIN_AREA_M2 = 0.01

# The camera's view in SQL, for a query where ``{alias}`` is a row of ``cameras``: the kept
# view when a building touches the sector (a primary-key probe), else the sector itself.
VIEW_SQL = (
    "coalesce((SELECT cv.geom FROM camera_views cv WHERE cv.camera_id = {alias}.id), "
    "{alias}.sector)"
)


@dataclass
class BuildingImportReport:
    source: str
    features_read: int
    buildings: int
    area_m2: float
    replaced: int

    def as_dict(self) -> dict:
        return asdict(self)


def has_buildings(session: Session) -> bool:
    """True when footprints are loaded (False on a database without the tables)."""
    return bool(
        session.execute(
            text(
                "SELECT to_regclass('buildings') IS NOT NULL "
                "AND to_regclass('camera_views') IS NOT NULL"
            )
        ).scalar()
        and session.execute(text("SELECT EXISTS (SELECT 1 FROM buildings)")).scalar()
    )


def camera_view_sql(session: Session, alias: str = "c") -> str:
    """The SQL expression of a camera's view: the kept view when buildings are loaded, else
    the stored sector (not even the probe of ``camera_views`` when there is nothing to clip)."""
    if has_buildings(session):
        return VIEW_SQL.format(alias=alias)
    return f"{alias}.sector"


def view_column(cameras: Table | None = None) -> ColumnElement:
    """A camera's view as a SQLAlchemy expression over rows of ``cameras`` (the table, or an
    alias of it): the kept view when a building touches its sector, else the sector. Without
    footprints ``camera_views`` is empty and this is the sector (one primary-key probe)."""
    t = Camera.__table__ if cameras is None else cameras
    kept = select(CameraView.geom).where(CameraView.camera_id == t.c.id).scalar_subquery()
    return func.coalesce(kept, t.c.sector)


def _column(gdf, names: tuple[str, ...]) -> str | None:
    for name in names:
        if name in gdf.columns:
            return name
    return None


def import_buildings(
    session: Session,
    path: str | Path,
    *,
    replace: bool = False,
    crs: str | None = None,
    layer: str | None = None,
    progress: ProgressFn = no_progress,
) -> BuildingImportReport:
    """Import footprints (Polygon or MultiPolygon features of a GeoJSON, Shapefile or
    GeoPackage) into ``buildings``, in the caller's transaction. Invalid rings are repaired
    by the database (``ST_MakeValid``); features left with less than ``MIN_AREA_M2`` are skipped. With
    ``replace`` the footprints already loaded are removed first."""
    progress("讀取檔案", 0.0)
    gdf, src = read(path, layer=layer, crs=crs)
    total = len(gdf)
    gdf = gdf[gdf.geometry.notna() & ~gdf.geometry.is_empty]
    gdf = gdf[gdf.geom_type.isin(["Polygon", "MultiPolygon"])]
    if gdf.empty:
        raise ImportEmpty("檔案中沒有建物面（Polygon）。", detail=f"{src.description}: no polygons")
    gdf = gdf.to_crs(STORAGE_SRID)
    name_col, height_col = _column(gdf, NAME_COLUMNS), _column(gdf, HEIGHT_COLUMNS)
    names = gdf[name_col].tolist() if name_col else [None] * len(gdf)
    heights = gdf[height_col].tolist() if height_col else [None] * len(gdf)
    rows = []
    for name, height in zip(names, heights, strict=True):
        try:
            h = float(height) if height is not None else None
        except (TypeError, ValueError):
            h = None
        rows.append(
            (
                None if name is None or name != name else str(name)[:128],
                h if h is not None and h == h and h > 0 else None,
            )
        )
    source = src.description[:128]
    progress("寫入資料庫", 0.3)
    replaced = session.execute(text("DELETE FROM buildings")).rowcount if replace else 0
    # One INSERT for the whole file, not one per footprint: the buildings' statement trigger
    # (migration 0012) then refreshes each camera's kept view once, in one set-based query.
    result = session.execute(
        text(
            """
            INSERT INTO buildings (name, height_m, source, geom)
            SELECT name, h, :source, g FROM (
                SELECT t.name, t.h,
                       ST_Multi(ST_CollectionExtract(ST_MakeValid(ST_GeomFromWKB(t.wkb, 3826)), 3)) AS g
                FROM unnest(CAST(:names AS text[]), CAST(:heights AS float8[]),
                            CAST(:wkbs AS bytea[])) AS t(name, h, wkb)
            ) r
            WHERE NOT ST_IsEmpty(g) AND ST_Area(g) >= :min_area
            """
        ),
        {
            "names": [r[0] for r in rows],
            "heights": [r[1] for r in rows],
            # A footprint is the building's outline on the ground: files of 3D footprints
            # (PolygonZ) give each vertex an elevation, which the 2D column does not hold; the
            # building's height is the HEIGHT column.
            "wkbs": [bytes(w) for w in shapely.to_wkb(shapely.force_2d(gdf.geometry.values))],
            "source": source,
            "min_area": MIN_AREA_M2,
        },
    )
    inserted = result.rowcount if result.rowcount is not None and result.rowcount >= 0 else 0
    progress("統計", 0.9)
    count, area = session.execute(
        text("SELECT count(*), coalesce(sum(ST_Area(geom)), 0) FROM buildings WHERE source = :s"),
        {"s": source},
    ).one()
    report = BuildingImportReport(source, total, int(count), round(float(area), 1), int(replaced))
    log.info("imported %d buildings from %s (%d rows inserted)", count, source, inserted)
    session.add(AuditLog(action="import_buildings", entity="buildings", detail=report.as_dict()))
    session.flush()
    progress("完成", 1.0)
    return report


def camera_views_wkb(session: Session, camera_ids: list[int]) -> dict[int, bytes | None]:
    """Each camera's view (EPSG:3826 WKB; None when buildings hide all of it)."""
    view = camera_view_sql(session)
    rows = session.execute(
        text(
            f"SELECT c.id, CASE WHEN ST_IsEmpty(v.g) THEN NULL ELSE ST_AsBinary(v.g) END "
            f"FROM cameras c, LATERAL (SELECT {view} AS g) v WHERE c.id = ANY(:ids)"
        ),
        {"ids": list(camera_ids)},
    ).all()
    return {int(i): (bytes(g) if g is not None else None) for i, g in rows}


def preview_view(
    session: Session, lon: float, lat: float, bearing: float, fov: float, range_m: float
) -> dict:
    """What a camera not yet saved would see: the same sector and building clipping as a
    stored camera (``safemap_camera_sector``, ``safemap_camera_view``), for the form that
    drafts one. Returns the view as GeoJSON in EPSG:4326 with the sector's and the view's
    areas in m² (equal when no building hides anything)."""
    values = (lon, lat, bearing, fov, range_m)
    if not all(isinstance(v, (int, float)) and math.isfinite(v) for v in values):
        raise InvalidInput("位置、方向角、視角與距離都必須是數字。", detail=repr(values))
    if not inside((lon, lat, lon, lat), TAIWAN_LONLAT):
        raise InvalidInput(
            "位置不在臺灣範圍內，請以經緯度（EPSG:4326）表示。", detail=f"{lon}, {lat}"
        )
    # the same bounds as the cameras table's CHECK constraints (fov_range, range_range)
    if not 0 < fov <= 360:
        raise InvalidInput("視角須在 1 到 360 度之間。", detail=f"fov={fov}")
    if not 0 < range_m <= 500:
        raise InvalidInput("拍攝距離須在 1 到 500 公尺之間。", detail=f"range={range_m}")
    clip = "safemap_camera_view(s.p, s.sector, :r)" if has_buildings(session) else "s.sector"
    row = session.execute(
        text(
            "WITH s AS (SELECT q.p, safemap_camera_sector(q.p, :b, :f, :r) AS sector FROM "
            f"(SELECT ST_Transform(ST_SetSRID(ST_MakePoint(:lon, :lat), 4326), {STORAGE_SRID})"
            " AS p) q) "
            f"SELECT ST_AsGeoJSON(ST_Transform(v.g, 4326), 7), ST_Area(v.sector), ST_Area(v.g) "
            f"FROM (SELECT s.sector, {clip} AS g FROM s) v"
        ),
        {"lon": lon, "lat": lat, "b": bearing % 360.0, "f": fov, "r": range_m},
    ).one()
    sector_m2, view_m2 = float(row[1] or 0.0), float(row[2] or 0.0)
    return {
        "type": "Feature",
        "geometry": json.loads(row[0]) if row[0] else None,
        "properties": {
            "sector_m2": round(sector_m2, 1),
            "view_m2": round(view_m2, 1),
            # "hidden" only when buildings take a visible share, not a float's worth of it
            "hidden_by_buildings": view_m2 < sector_m2 - MIN_AREA_M2,
        },
    }
