"""Import of the official village boundaries (村里界圖) and the districts dissolved from them.

The import is one transaction and an upsert keyed on the official codes: importing the same
file twice changes nothing, a newer file updates names and shapes in place, and villages
missing from a newer file are retired (never deleted) so communities referencing them keep
working.
"""

from __future__ import annotations

import hashlib
import logging
from dataclasses import asdict, dataclass, field
from pathlib import Path

import geopandas as gpd
import shapely
from sqlalchemy import text
from sqlalchemy.orm import Session

from .errors import GeometryOutOfBounds, ImportEmpty, InvalidGeometry
from .models import STORAGE_SRID, AuditLog
from .vector_io import TAIWAN_LONLAT, ProgressFn, no_progress, read

log = logging.getLogger(__name__)

REQUIRED_COLUMNS = ("VILLCODE", "VILLNAME", "TOWNCODE", "TOWNNAME", "COUNTYNAME")
DEFAULT_COUNTY = "新北市"


@dataclass
class BoundaryImportReport:
    """What an import did (also written to the audit log)."""

    source: str
    county: str
    crs: str
    encoding: str | None
    sha256: str
    villages_read: int = 0
    villages_inserted: int = 0
    villages_updated: int = 0
    villages_unchanged: int = 0
    villages_retired: int = 0
    districts_inserted: int = 0
    districts_updated: int = 0
    districts_unchanged: int = 0
    districts_retired: int = 0
    unnamed_skipped: int = 0
    repaired: list[str] = field(default_factory=list)

    @property
    def changed(self) -> bool:
        return any(
            (
                self.villages_inserted,
                self.villages_updated,
                self.villages_retired,
                self.districts_inserted,
                self.districts_updated,
                self.districts_retired,
            )
        )

    def as_dict(self) -> dict:
        return asdict(self)


def _norm_county(name: str) -> str:
    # 台 and 臺 are both in everyday use; the official files write 臺.
    return name.strip().replace("台", "臺")


def _select_county(gdf: gpd.GeoDataFrame, county: str) -> gpd.GeoDataFrame:
    wanted = _norm_county(county)
    mask = gdf["COUNTYNAME"].fillna("").map(_norm_county) == wanted
    for col in ("COUNTYCODE", "COUNTYID"):
        if col in gdf.columns:
            mask |= gdf[col].fillna("").astype(str).str.strip() == county.strip()
    return gdf[mask]


def _as_multipolygon(geom: shapely.Geometry) -> tuple[shapely.Geometry | None, bool]:
    """MultiPolygon for ``geom``; the flag says whether a repair was needed."""
    if geom is None or geom.is_empty:
        return None, False
    repaired = False
    if not geom.is_valid:
        # make_valid keeps every part of a self-touching ring; only the areal parts are kept,
        # which is unambiguous for boundaries (no area is lost or invented).
        geom = shapely.make_valid(geom)
        repaired = True
    if geom.geom_type == "GeometryCollection":
        geom = shapely.unary_union(
            [g for g in geom.geoms if g.geom_type in ("Polygon", "MultiPolygon")]
        )
    if geom.geom_type == "Polygon":
        geom = shapely.MultiPolygon([geom])
    if geom.geom_type != "MultiPolygon" or geom.is_empty:
        return None, repaired
    return geom, repaired


def prepare(
    path: str | Path,
    *,
    county: str = DEFAULT_COUNTY,
    crs: str | int | None = None,
    layer: str | None = None,
) -> tuple[gpd.GeoDataFrame, BoundaryImportReport]:
    """Read, check and reproject a village boundary file. Touches no database.

    Returns villages of ``county`` in EPSG:3826 with normalised columns ``code``, ``name``,
    ``name_en``, ``town_code``, ``town_name``, ``town_en``, ``town_id``, ``county_code``,
    ``county_name``, ``named`` and ``geometry``.
    """
    gdf, source = read(path, required=REQUIRED_COLUMNS, layer=layer, crs=crs)
    digest = _sha256(path)
    report = BoundaryImportReport(
        source=source.description,
        county=county,
        crs=gdf.crs.to_string() if gdf.crs else "",
        encoding=source.encoding,
        sha256=digest,
    )
    gdf = _select_county(gdf, county)
    if gdf.empty:
        raise ImportEmpty(
            f"檔案中沒有「{county}」的村里資料（請確認 COUNTYNAME 欄位，或以 --county 指定縣市）。",
            detail=f"no rows with county {county}",
        )
    codes = gdf["VILLCODE"].fillna("").astype(str).str.strip()
    if (codes == "").any():
        raise InvalidGeometry(
            f"有 {(codes == '').sum()} 筆村里缺少代碼（VILLCODE）。", detail="blank VILLCODE"
        )
    geoms = []
    for code, geom in zip(codes, gdf.geometry, strict=True):
        fixed, repaired = _as_multipolygon(geom)
        if fixed is None:
            raise InvalidGeometry(
                f"村里 {code} 的圖形是空的或不是面（Polygon）。",
                detail=f"{code}: empty or non-areal",
                code_=code,
            )
        if repaired:
            report.repaired.append(code)
        geoms.append(fixed)
    gdf = gdf.set_geometry(gpd.GeoSeries(geoms, index=gdf.index, crs=gdf.crs))
    lonlat = gdf.to_crs(4326).total_bounds
    minx, miny, maxx, maxy = TAIWAN_LONLAT
    if not (lonlat[0] >= minx and lonlat[1] >= miny and lonlat[2] <= maxx and lonlat[3] <= maxy):
        raise GeometryOutOfBounds(
            "村里圖形座標不在臺灣範圍內；請確認檔案的座標系統（可用 --crs 指定）。",
            detail=f"bounds {tuple(lonlat)} outside Taiwan",
        )
    gdf = gdf.to_crs(STORAGE_SRID)

    def col(name: str):
        return gdf[name].fillna("").astype(str).str.strip() if name in gdf.columns else ""

    out = gpd.GeoDataFrame(
        {
            "code": codes.values,
            "name": col("VILLNAME"),
            "name_en": col("VILLENG"),
            "town_code": col("TOWNCODE"),
            "town_name": col("TOWNNAME"),
            "town_en": col("TOWNENG"),
            "town_id": col("TOWNID"),
            "county_code": col("COUNTYCODE"),
            "county_name": gdf["COUNTYNAME"].fillna("").map(_norm_county),
        },
        geometry=gdf.geometry.values,
        crs=STORAGE_SRID,
    )
    # River areas and islets carry a code but no name: they belong to their district's
    # outline but are not villages anyone can choose.
    out["named"] = out["name"] != ""
    if (out["town_code"] == "").any():
        raise InvalidGeometry("有村里缺少鄉鎮市區代碼（TOWNCODE）。", detail="blank TOWNCODE")
    # A village split over several features (rare, but seen in re-exports) is one village.
    if out["code"].duplicated().any():
        out = out.dissolve(by="code", aggfunc="first", as_index=False)
        out["geometry"] = out.geometry.map(lambda g: _as_multipolygon(g)[0])
    report.villages_read = int(out["named"].sum())
    report.unnamed_skipped = int((~out["named"]).sum())
    return out, report


def _sha256(path: str | Path) -> str:
    p = Path(path)
    h = hashlib.sha256()
    files = sorted(f for f in p.rglob("*") if f.is_file()) if p.is_dir() else [p]
    for f in files:
        h.update(f.read_bytes())
    return h.hexdigest()


# ON COMMIT DROP only fires at the real commit: a second import in the same transaction (a
# caller's savepoint, or two counties in one unit of work) must replace the staging table.
_UNSTAGE = "DROP TABLE IF EXISTS pg_temp._import_villages"

_STAGE = """
CREATE TEMP TABLE _import_villages (
    code text PRIMARY KEY, name text, name_en text, town_code text, town_name text,
    town_en text, town_id text, county_code text, county_name text, named boolean,
    geom geometry(MultiPolygon, 3826)
) ON COMMIT DROP
"""

_INSERT_STAGE = """
INSERT INTO _import_villages
VALUES (:code, :name, :name_en, :town_code, :town_name, :town_en, :town_id, :county_code,
        :county_name, :named, ST_GeomFromWKB(:wkb, 3826))
"""

# Districts are the dissolved villages (unnamed river and islet areas included), so district
# and village edges match exactly. ORDER BY makes the union deterministic: importing the
# same file twice gives the same bytes, hence "unchanged".
_UPSERT_DISTRICTS = """
WITH dissolved AS (
    SELECT town_code AS code,
           min(town_name) AS name,
           nullif(min(town_en), '') AS name_en,
           nullif(min(town_id), '') AS town_id,
           min(county_code) AS county_code,
           min(county_name) AS county_name,
           ST_Multi(ST_CollectionExtract(ST_MakeValid(ST_Union(geom ORDER BY code)), 3)) AS geom
    FROM _import_villages GROUP BY town_code
)
INSERT INTO districts AS d (code, name, name_en, town_id, county_code, county_name, geom, retired_at, updated_at)
SELECT code, name, name_en, town_id, county_code, county_name, geom, NULL, now() FROM dissolved
ON CONFLICT (code) DO UPDATE SET
    name = excluded.name, name_en = excluded.name_en, town_id = excluded.town_id,
    county_code = excluded.county_code, county_name = excluded.county_name,
    geom = excluded.geom, retired_at = NULL, updated_at = now()
WHERE (d.name, d.name_en, d.town_id, d.county_code, d.county_name, d.retired_at IS NULL)
      IS DISTINCT FROM
      (excluded.name, excluded.name_en, excluded.town_id, excluded.county_code,
       excluded.county_name, true)
   OR NOT ST_OrderingEquals(d.geom, excluded.geom)
RETURNING (xmax = 0) AS inserted
"""

_UPSERT_VILLAGES = """
INSERT INTO villages AS v (code, name, name_en, district_id, geom, retired_at, updated_at)
SELECT s.code, s.name, nullif(s.name_en, ''), d.id, s.geom, NULL, now()
FROM _import_villages s JOIN districts d ON d.code = s.town_code
WHERE s.named
ON CONFLICT (code) DO UPDATE SET
    name = excluded.name, name_en = excluded.name_en, district_id = excluded.district_id,
    geom = excluded.geom, retired_at = NULL, updated_at = now()
WHERE (v.name, v.name_en, v.district_id, v.retired_at IS NULL)
      IS DISTINCT FROM (excluded.name, excluded.name_en, excluded.district_id, true)
   OR NOT ST_OrderingEquals(v.geom, excluded.geom)
RETURNING (xmax = 0) AS inserted
"""

_RETIRE_VILLAGES = """
UPDATE villages v SET retired_at = now(), updated_at = now()
FROM districts d
WHERE v.district_id = d.id AND d.county_name = :county AND v.retired_at IS NULL
  AND NOT EXISTS (SELECT 1 FROM _import_villages s WHERE s.code = v.code AND s.named)
"""

_RETIRE_DISTRICTS = """
UPDATE districts d SET retired_at = now(), updated_at = now()
WHERE d.county_name = :county AND d.retired_at IS NULL
  AND NOT EXISTS (SELECT 1 FROM _import_villages s WHERE s.town_code = d.code)
"""


def import_boundaries(
    session: Session,
    path: str | Path,
    *,
    county: str = DEFAULT_COUNTY,
    crs: str | int | None = None,
    layer: str | None = None,
    actor_id: int | None = None,
    progress: ProgressFn = no_progress,
) -> BoundaryImportReport:
    """Upsert the villages of ``county`` from ``path`` and the districts dissolved from them.

    Runs inside the caller's transaction; the caller commits. Any error leaves the database
    untouched once the caller rolls back (the CLI and API do).
    """
    progress("讀取檔案", 0.0)
    gdf, report = prepare(path, county=county, crs=crs, layer=layer)
    progress("寫入暫存表", 0.3)
    session.execute(text(_UNSTAGE))
    session.execute(text(_STAGE))
    wkb = shapely.to_wkb(gdf.geometry.values, hex=False)
    rows = [
        {**rec, "wkb": g}
        for rec, g in zip(gdf.drop(columns="geometry").to_dict("records"), wkb, strict=True)
    ]
    session.execute(text(_INSERT_STAGE), rows)
    progress("合併鄉鎮市區", 0.5)
    flags = [r.inserted for r in session.execute(text(_UPSERT_DISTRICTS))]
    n_districts = gdf["town_code"].nunique()
    report.districts_inserted = sum(flags)
    report.districts_updated = len(flags) - sum(flags)
    report.districts_unchanged = n_districts - len(flags)
    progress("更新村里", 0.75)
    flags = [r.inserted for r in session.execute(text(_UPSERT_VILLAGES))]
    report.villages_inserted = sum(flags)
    report.villages_updated = len(flags) - sum(flags)
    report.villages_unchanged = report.villages_read - len(flags)
    county_name = _norm_county(gdf["county_name"].iloc[0])
    report.villages_retired = session.execute(
        text(_RETIRE_VILLAGES), {"county": county_name}
    ).rowcount
    report.districts_retired = session.execute(
        text(_RETIRE_DISTRICTS), {"county": county_name}
    ).rowcount
    if report.changed:
        session.add(
            AuditLog(
                actor_id=actor_id,
                action="import_boundaries",
                entity="villages",
                entity_id=county_name,
                detail=report.as_dict(),
            )
        )
    session.flush()
    progress("完成", 1.0)
    return report
