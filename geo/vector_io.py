"""Reading vector files the way Taiwanese government data arrives.

Shapefiles (a folder or a .zip, often Big5 attributes without a .cpg), GeoPackage, GeoJSON
and TopoJSON, in TWD97 (EPSG:3826), TWD67 (EPSG:3828) or lon/lat. Everything goes through
GDAL via pyogrio; this module only decides *what* to open and *how to decode it*, and turns
GDAL's failures into zh-TW errors.
"""

from __future__ import annotations

import logging
import zipfile
import zlib
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

import geopandas as gpd
import pyogrio
from pyproj import CRS

from .crs import TAIWAN_LONLAT, TAIWAN_TM2
from .crs import inside as _inside
from .errors import ImportEmpty, ImportFileError, ImportMissingColumns, UnknownCRS

log = logging.getLogger(__name__)

VECTOR_SUFFIXES = (".shp", ".gpkg", ".geojson", ".json", ".topojson", ".kml", ".fgb")


@dataclass
class Source:
    """A dataset GDAL can open, and how to decode its attributes."""

    gdal_path: str
    encoding: str | None
    description: str


def _dbf_encoding(raw: bytes) -> str:
    """Guess the text encoding of a DBF's records: UTF-8 when it decodes, else Big5 (cp950).

    Taiwanese shapefiles without a .cpg are almost always Big5; a .dbf that is valid UTF-8
    is, in practice, UTF-8 (Big5 text with high bytes is essentially never valid UTF-8).
    """
    if len(raw) < 32:
        raise ImportFileError(
            "屬性檔（.dbf）不完整或已損毀。", detail="dbf shorter than its header"
        )
    header_len = int.from_bytes(raw[8:10], "little")
    body = raw[header_len:]
    try:
        body.decode("utf-8")
        return "UTF-8"
    except UnicodeDecodeError:
        return "CP950"


def _pick_shapefile(names: Iterable[str]) -> list[str]:
    return sorted(n for n in names if n.lower().endswith(".shp") and not n.startswith("__MACOSX"))


def resolve(path: str | Path) -> Source:
    """Work out what GDAL should open for ``path`` (a file, a shapefile folder or a .zip)."""
    p = Path(path)
    if not p.exists():
        raise ImportFileError(f"找不到檔案：{p}", detail=f"no such file: {p}")
    if p.is_dir():
        shps = _pick_shapefile(f.name for f in p.iterdir())
        others = sorted(
            f.name
            for f in p.iterdir()
            if f.suffix.lower() in (".gpkg", ".geojson", ".json", ".topojson")
        )
        if shps:
            shp = p / shps[0]
            return Source(str(shp), _shapefile_encoding_from_dir(shp), f"{p.name}/{shps[0]}")
        if others:
            return resolve(p / others[0])
        raise ImportEmpty(
            "資料夾中找不到 Shapefile、GeoPackage 或 GeoJSON 檔案。", detail=f"{p}: no vector file"
        )
    if p.stat().st_size == 0:
        raise ImportEmpty("檔案是空的。", detail=f"{p}: empty file")
    if p.suffix.lower() in (".zip", ".kmz") or zipfile.is_zipfile(p):
        return _resolve_zip(p)
    if p.suffix.lower() == ".shp":
        return Source(str(p), _shapefile_encoding_from_dir(p), p.name)
    return Source(str(p), None, p.name)


def _shapefile_encoding_from_dir(shp: Path) -> str | None:
    dbf = next((shp.with_suffix(s) for s in (".dbf", ".DBF") if shp.with_suffix(s).exists()), None)
    if dbf is None:
        raise ImportFileError("Shapefile 缺少屬性檔（.dbf）。", detail=f"{shp}: no .dbf")
    cpg = shp.with_suffix(".cpg")
    if not cpg.exists():
        cpg = shp.with_suffix(".CPG")
    if cpg.exists():
        return None  # GDAL honours the .cpg itself
    return _dbf_encoding(dbf.read_bytes())


def _vsizip(archive: Path, member: str) -> str:
    # The braces let GDAL open an archive whatever its name ends with; without them only
    # .zip/.kmz names work, and zips recognised by content (downloads, uploads) would not.
    return f"/vsizip/{{{archive}}}/{member}"


def _resolve_zip(p: Path) -> Source:
    try:
        zf = zipfile.ZipFile(p)
    except (zipfile.BadZipFile, OSError) as exc:
        raise ImportFileError("壓縮檔已損毀或不是 ZIP 格式。", detail=f"{p}: {exc}") from exc
    with zf:
        try:
            bad = zf.testzip()
        # truncated archives end here; a damaged deflate stream raises zlib.error
        except (zipfile.BadZipFile, OSError, EOFError, zlib.error) as exc:
            raise ImportFileError("壓縮檔已損毀或不完整。", detail=f"{p}: {exc}") from exc
        except (RuntimeError, NotImplementedError) as exc:  # encrypted, or Deflate64 and the like
            raise ImportFileError(
                "壓縮檔有密碼保護或使用不支援的壓縮方式，請解壓縮後重新壓成一般 ZIP 檔。",
                detail=f"{p}: {exc}",
            ) from exc
        if bad is not None:
            raise ImportFileError(f"壓縮檔中的「{bad}」已損毀。", detail=f"{p}: bad CRC in {bad}")
        names = zf.namelist()
        shps = _pick_shapefile(names)
        if shps:
            shp = shps[0]
            stem = shp[: -len(".shp")]
            lower = {n.lower(): n for n in names}
            if (stem + ".dbf").lower() not in lower:
                raise ImportFileError(
                    "壓縮檔中的 Shapefile 缺少屬性檔（.dbf）。", detail=f"{p}: no .dbf"
                )
            if (stem + ".cpg").lower() in lower:
                encoding = None
            else:
                encoding = _dbf_encoding(zf.read(lower[(stem + ".dbf").lower()]))
            return Source(_vsizip(p, shp), encoding, f"{p.name}/{shp}")
        others = sorted(
            n
            for n in names
            if Path(n).suffix.lower() in VECTOR_SUFFIXES and not n.startswith("__MACOSX")
        )
        if not others:
            raise ImportEmpty(
                "壓縮檔中找不到可匯入的圖層檔案。", detail=f"{p}: no vector file inside"
            )
        return Source(_vsizip(p, others[0]), None, f"{p.name}/{others[0]}")


def list_layers(source: Source) -> list[str]:
    try:
        return [str(name) for name, _ in pyogrio.list_layers(source.gdal_path)]
    except Exception as exc:  # GDAL raises several classes; all mean "not a readable dataset"
        raise ImportFileError(
            "無法讀取檔案：格式不正確或檔案已損毀。", detail=f"{source.description}: {exc}"
        ) from exc


def layer_fields(source: Source, layer: str) -> list[str]:
    return layer_info(source, layer)[0]


def layer_info(source: Source, layer: str) -> tuple[list[str], int]:
    """Field names and feature count of ``layer`` (-1 when the driver cannot count cheaply)."""
    try:
        info = pyogrio.read_info(source.gdal_path, layer=layer, encoding=source.encoding)
    except Exception as exc:  # see list_layers
        raise ImportFileError(
            "無法讀取檔案：格式不正確或檔案已損毀。", detail=f"{source.description}: {exc}"
        ) from exc
    return [str(f) for f in info["fields"]], int(info.get("features", -1))


def read(
    path: str | Path,
    *,
    required: Iterable[str] = (),
    layer: str | None = None,
    crs: str | int | None = None,
) -> tuple[gpd.GeoDataFrame, Source]:
    """Read one layer into a GeoDataFrame with upper-cased column names and a known CRS.

    Parameters
    ----------
    path : file, shapefile folder or .zip.
    required : columns (case-insensitive) the layer must have; with several layers, the
        first layer that has them all is read.
    layer : read this layer instead of choosing one.
    crs : the file's CRS when it declares none (or declares a wrong one).

    Raises
    ------
    ImportFileError, ImportEmpty, ImportMissingColumns, UnknownCRS
    """
    source = resolve(path)
    required = [c.upper() for c in required]
    layers = list_layers(source)
    if not layers:
        raise ImportEmpty("檔案中沒有任何圖層。", detail=f"{source.description}: no layers")
    chosen = layer
    missing: list[str] = []
    if chosen is None:
        infos = {name: layer_info(source, name) for name in layers}
        if all(count == 0 for _, count in infos.values()):
            raise ImportEmpty("檔案中沒有任何圖徵。", detail=f"{source.description}: 0 features")
        for name in layers:
            fields = {f.upper() for f in infos[name][0]}
            missing = [c for c in required if c not in fields]
            if not missing:
                chosen = name
                break
        if chosen is None:
            raise ImportMissingColumns(
                f"檔案缺少必要欄位：{'、'.join(missing)}。",
                detail=f"missing columns {missing}",
                missing=missing,
            )
    elif chosen not in layers:
        raise ImportFileError(f"檔案中沒有名為「{chosen}」的圖層。", detail=f"no layer {chosen}")
    try:
        gdf = pyogrio.read_dataframe(source.gdal_path, layer=chosen, encoding=source.encoding)
    except Exception as exc:  # see list_layers
        raise ImportFileError(
            "無法讀取檔案：格式不正確或檔案已損毀。", detail=f"{source.description}: {exc}"
        ) from exc
    gdf.columns = [c.upper() if c != gdf.geometry.name else c for c in gdf.columns]
    missing = [c for c in required if c not in gdf.columns]
    if missing:
        raise ImportMissingColumns(
            f"檔案缺少必要欄位：{'、'.join(missing)}。",
            detail=f"missing columns {missing}",
            missing=missing,
        )
    if len(gdf) == 0:
        raise ImportEmpty("檔案中沒有任何圖徵。", detail=f"{source.description}: 0 features")
    if crs is not None:
        gdf = gdf.set_crs(crs, allow_override=True)
    elif gdf.crs is None:
        gdf = gdf.set_crs(guess_crs(gdf))
    elif (
        source.gdal_path.lower().endswith((".geojson", ".json"))
        and gdf.crs.equals(CRS.from_epsg(4326))
        and _inside(tuple(gdf.total_bounds), TAIWAN_TM2)
    ):
        # GeoJSON has no CRS of its own: GDAL reads it as WGS84 (RFC 7946), but older
        # government GeoJSON carries TM2 metres. Numbers in the hundreds of thousands cannot
        # be degrees, so this is unambiguous. Formats that declare a CRS are taken at their
        # word (and refused when the coordinates contradict it).
        log.warning(
            "%s: declared lon/lat but coordinates are TM2 metres; using EPSG:3826",
            source.description,
        )
        gdf = gdf.set_crs(3826, allow_override=True)
    return gdf, source


def guess_crs(gdf: gpd.GeoDataFrame) -> CRS:
    """CRS of a file that declares none, from where its coordinates fall.

    Lon/lat over Taiwan is read as WGS84 (TWD97 geographic differs by well under a metre);
    TM2 metres are read as TWD97 (EPSG:3826), the national standard since 1997. TWD67 files
    (EPSG:3828) fall in the same range and must be declared with ``crs``.
    """
    minx, miny, maxx, maxy = gdf.total_bounds
    if _inside((minx, miny, maxx, maxy), TAIWAN_LONLAT):
        return CRS.from_epsg(4326)
    if _inside((minx, miny, maxx, maxy), TAIWAN_TM2):
        log.warning("no CRS declared; coordinates look like TM2 metres, assuming EPSG:3826")
        return CRS.from_epsg(3826)
    raise UnknownCRS(
        "無法判斷座標系統：檔案未宣告座標系統，座標也不在臺灣的經緯度或 TWD97 範圍內。請以 --crs 指定。",
        detail=f"no CRS and bounds {minx, miny, maxx, maxy} match neither lon/lat nor TM2",
    )


ProgressFn = Callable[[str, float], None]


def no_progress(step: str, fraction: float) -> None:
    """Default progress callback: does nothing."""
