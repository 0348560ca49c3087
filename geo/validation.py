"""Checking geometries at the boundary: nothing bad gets in quietly.

Every geometry that enters the platform, drawn in the browser or read from a file, passes
through :func:`check_geometry` (one shape) or :func:`check_frame` (a whole file, vectorised).
Both apply the same rules (issue "spatial layers", item 4; STYLE.md rule 8):

- no geometry, empty geometries and NaN/infinite coordinates are refused;
- a geometry type the layer does not take is refused (a single-part multi-geometry whose one
  part fits is unwrapped and the repair reported);
- more vertices than :class:`Limits` allow are refused;
- 3D/M coordinates are dropped to 2D and that is reported;
- everything is reprojected explicitly to EPSG:3826 (TWD67 / EPSG:3828 with its datum shift,
  never a "ballpark" guess);
- coordinates outside New Taipei plus a margin are refused, and when swapping the two
  coordinates would put them inside, the error says the axes look swapped;
- only unambiguous repairs are made, each reported in zh-TW, judged on the shape as drawn
  (in its source CRS): repeated consecutive vertices dropped, polygon rings oriented
  (exterior counter-clockwise, as RFC 7946 asks), and an invalid polygon that
  ``make_valid`` turns into the same one polygon with the same area (a zero-width spike, a
  ring touching itself); anything else invalid (a bow-tie, a hole outside its shell, an
  overlap that make_valid would merge or split) is refused with why.
  Unclosed rings cannot exist in a shapely geometry; they are closed (and reported) where
  they are parsed: :func:`geometry_from_geojson` and ``geo.layer_io``.
"""

from __future__ import annotations

import functools
import math
import re
from collections.abc import Hashable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import geopandas as gpd
import numpy as np
import shapely
import shapely.errors
import shapely.geometry
from pyproj import CRS, Transformer
from pyproj.exceptions import ProjError

from .errors import (
    EmptyGeometry,
    GeometryOutOfBounds,
    InputTooLarge,
    InvalidGeometry,
    InvalidInput,
    NonFiniteCoordinates,
    SwappedCoordinates,
    TooManyFeatures,
    TooManyVertices,
    UnknownCRS,
    WrongGeometryType,
)
from .models import STORAGE_SRID, WEB_SRID

STORAGE_CRS = CRS.from_epsg(STORAGE_SRID)

# The city's extent in lon/lat (its outermost villages: 林口/八里 in the west, 貢寮 in the east,
# 烏來 in the south, 石門 in the north), and the same box in EPSG:3826, rounded outward to the
# metre (tests/geo/test_validation.py recomputes it with pyproj).
NEW_TAIPEI_LONLAT = (121.28, 24.67, 122.01, 25.30)
NEW_TAIPEI_3826 = (278_194.0, 2_729_255.0, 352_224.0, 2_799_390.0)
# Points just outside the city (a shared street on the Taoyuan or Yilan line, a coastal spot)
# are legitimate; a point 5 km out is not a slip of the mouse.
BOUNDS_MARGIN_M = 5_000.0
ACCEPTED_EXTENT_3826 = (
    NEW_TAIPEI_3826[0] - BOUNDS_MARGIN_M,
    NEW_TAIPEI_3826[1] - BOUNDS_MARGIN_M,
    NEW_TAIPEI_3826[2] + BOUNDS_MARGIN_M,
    NEW_TAIPEI_3826[3] + BOUNDS_MARGIN_M,
)

# A repaired polygon must keep its area to this relative tolerance (floating-point noise of
# GEOS's noding is far below it; any real change of shape is far above it).
AREA_RTOL = 1e-6

GEOMETRY_TYPES = (
    "Point",
    "LineString",
    "Polygon",
    "MultiPoint",
    "MultiLineString",
    "MultiPolygon",
    "GeometryCollection",
)
TYPE_LABELS = {
    "Point": "點",
    "LineString": "線",
    "LinearRing": "環",
    "Polygon": "面（多邊形）",
    "MultiPoint": "多點",
    "MultiLineString": "多條線",
    "MultiPolygon": "多個面",
    "GeometryCollection": "混合圖形集合",
}
# shapely.get_type_id → GeoJSON type name
_TYPE_BY_ID = np.array(
    [
        "Point",
        "LineString",
        "LinearRing",
        "Polygon",
        "MultiPoint",
        "MultiLineString",
        "MultiPolygon",
        "GeometryCollection",
    ],
    dtype=object,
)
_SINGLE_OF = {"MultiPoint": "Point", "MultiLineString": "LineString", "MultiPolygon": "Polygon"}
_POLYGONAL = frozenset({"Polygon", "MultiPolygon"})
_LINEAL_OR_POLYGONAL = frozenset({"LineString", "MultiLineString", "Polygon", "MultiPolygon"})

# GEOS's validity reasons (shapely.is_valid_reason) in words a volunteer understands.
_REASONS = {
    "Self-intersection": "邊線自我交叉（例如「8」字形或蝴蝶結形）",
    "Ring Self-intersection": "環的邊線自我接觸",
    "Hole lies outside shell": "內環（洞）位於外環之外",
    "Holes are nested": "內環（洞）互相包含",
    "Interior is disconnected": "內環把面分割成不相連的部分",
    "Nested shells": "多個外環互相包含",
    "Duplicate Rings": "有重複的環",
    "Too few points in geometry component": "頂點太少，無法構成線或面",
    "Invalid Coordinate": "座標無效",
    "Ring is not closed": "環沒有閉合",
}
_REASON_RE = re.compile(r"^(?P<what>.*?)\s*\[(?P<x>\S+) (?P<y>\S+)\]\s*$")

REPAIR_UNCLOSED_RING = "已閉合未閉合的多邊形環（在最後補上與第一點相同的座標）。"


@dataclass(frozen=True)
class Limits:
    """Size limits of one upload or one import.

    The defaults fit community maps with room to spare (a busy Google My Maps safety map has
    tens to hundreds of placemarks, a village boundary a few thousand vertices) and keep one
    request's work bounded.
    """

    max_bytes: int = 20 * 1024 * 1024
    #: what a .zip/.kmz may expand to (a zip bomb is small on the wire)
    max_unpacked_bytes: int = 100 * 1024 * 1024
    max_features: int = 5_000
    max_vertices_per_feature: int = 5_000
    max_total_vertices: int = 200_000
    #: KML folders / GeoPackage tables read from one file
    max_layers: int = 50


DEFAULT_LIMITS = Limits()


@dataclass(frozen=True)
class CheckedGeometry:
    """A geometry that passed :func:`check_geometry`: 2D, EPSG:3826, valid, of an allowed type.

    ``repairs`` are zh-TW notes, one per repair made, to show the user.
    """

    geom_3826: shapely.Geometry
    repairs: list[str] = field(default_factory=list)


@dataclass
class FrameCheck:
    """Outcome of :func:`check_frame` for every row of a frame.

    Attributes
    ----------
    geometry : GeoSeries in EPSG:3826 with the frame's index; None where the row failed.
    repairs : zh-TW repair notes by index label (rows without repairs are absent).
    errors : the error of each failed row by index label (rows that passed are absent).
    """

    geometry: gpd.GeoSeries
    repairs: dict[Hashable, list[str]]
    errors: dict[Hashable, InvalidInput]

    @property
    def ok(self) -> bool:
        return not self.errors


# --------------------------------------------------------------------------- size
def check_payload_size(nbytes: int, limits: Limits = DEFAULT_LIMITS) -> None:
    """Refuse an upload of more than ``limits.max_bytes`` before anything parses it.

    Raises
    ------
    InputTooLarge
    """
    if nbytes > limits.max_bytes:
        raise InputTooLarge(
            f"檔案太大（{_mb(nbytes)}），上限為 {_mb(limits.max_bytes)}。",
            detail=f"{nbytes} bytes > {limits.max_bytes}",
            nbytes=nbytes,
            limit=limits.max_bytes,
        )


def check_unpacked_size(nbytes: int, limits: Limits = DEFAULT_LIMITS) -> None:
    """Refuse an archive whose members add up to more than ``limits.max_unpacked_bytes``."""
    if nbytes > limits.max_unpacked_bytes:
        raise InputTooLarge(
            f"壓縮檔解壓縮後太大（{_mb(nbytes)}），上限為 {_mb(limits.max_unpacked_bytes)}。",
            detail=f"{nbytes} unpacked bytes > {limits.max_unpacked_bytes}",
            nbytes=nbytes,
            limit=limits.max_unpacked_bytes,
        )


def _mb(nbytes: int) -> str:
    return f"{nbytes / (1024 * 1024):.1f} MB"


def count_vertices(geoms: Sequence[shapely.Geometry | None] | np.ndarray) -> np.ndarray:
    """Number of coordinates of each geometry (0 for None)."""
    return shapely.get_num_coordinates(np.asarray(geoms, dtype=object))


def check_counts(n_features: int, n_vertices: int, limits: Limits = DEFAULT_LIMITS) -> None:
    """Refuse a file with more features or vertices in all than ``limits`` allow.

    Raises
    ------
    TooManyFeatures, TooManyVertices
    """
    if n_features > limits.max_features:
        raise TooManyFeatures(
            f"檔案有 {n_features:,} 筆圖徵，超過上限 {limits.max_features:,} 筆；請分批匯入。",
            detail=f"{n_features} features > {limits.max_features}",
            count=n_features,
            limit=limits.max_features,
        )
    if n_vertices > limits.max_total_vertices:
        raise TooManyVertices(
            f"檔案的圖形共有 {n_vertices:,} 個頂點，超過上限 {limits.max_total_vertices:,} 個；"
            "請簡化圖形或分批匯入。",
            detail=f"{n_vertices} vertices > {limits.max_total_vertices}",
            count=n_vertices,
            limit=limits.max_total_vertices,
        )


# --------------------------------------------------------------------------- one geometry
def check_geometry(
    geom: shapely.Geometry | Mapping[str, Any] | None,
    *,
    allowed_types: Iterable[str],
    source_crs: CRS | str | int,
    limits: Limits = DEFAULT_LIMITS,
) -> CheckedGeometry:
    """Check one geometry and return it in EPSG:3826 with the repairs made.

    Parameters
    ----------
    geom : a shapely geometry, or a GeoJSON geometry object (a mapping; its unclosed rings
        are closed and reported, which shapely's own parser does silently).
    allowed_types : GeoJSON type names the layer takes, e.g. ``("Point",)``.
    source_crs : the CRS of ``geom`` (4326 for GeoJSON from a browser).
    limits : ``max_vertices_per_feature`` applies.

    Raises
    ------
    EmptyGeometry, NonFiniteCoordinates, WrongGeometryType, TooManyVertices,
    SwappedCoordinates, GeometryOutOfBounds, InvalidGeometry, UnknownCRS
    """
    notes: list[str] = []
    if isinstance(geom, Mapping):
        geom, notes = geometry_from_geojson(geom)
    elif geom is not None and not isinstance(geom, shapely.Geometry):
        raise InvalidGeometry("圖形格式不正確。", detail=f"not a geometry: {type(geom).__name__}")
    out, repairs, errors = _check(
        np.array([geom], dtype=object), _crs(source_crs), _allowed(allowed_types), limits
    )
    if errors[0] is not None:
        raise errors[0]
    return CheckedGeometry(out[0], notes + repairs[0])


def geometry_from_geojson(obj: Mapping[str, Any]) -> tuple[shapely.Geometry, list[str]]:
    """A GeoJSON geometry object as a shapely geometry, with unclosed rings closed (reported).

    Raises
    ------
    InvalidGeometry
        when ``obj`` is not a GeoJSON geometry.
    """
    notes: list[str] = []

    def close(ring: Any) -> Any:
        if isinstance(ring, list) and len(ring) >= 3 and ring[0] != ring[-1]:
            if REPAIR_UNCLOSED_RING not in notes:
                notes.append(REPAIR_UNCLOSED_RING)
            return [*ring, ring[0]]
        return ring

    def walk(g: Mapping[str, Any]) -> dict[str, Any]:
        kind = g.get("type")
        if kind == "GeometryCollection":
            parts = g.get("geometries")
            if not isinstance(parts, list):
                raise TypeError("geometries is not a list")
            return {"type": kind, "geometries": [walk(p) for p in parts]}
        coords = g.get("coordinates")
        if kind == "Polygon" and isinstance(coords, list):
            coords = [close(r) for r in coords]
        elif kind == "MultiPolygon" and isinstance(coords, list):
            coords = [[close(r) for r in p] if isinstance(p, list) else p for p in coords]
        return {"type": kind, "coordinates": coords}

    if not isinstance(obj.get("type"), str) or obj["type"] not in GEOMETRY_TYPES:
        raise InvalidGeometry(
            "圖形必須是 GeoJSON 幾何物件（Point、LineString、Polygon 等，含 coordinates）。",
            detail=f"not a GeoJSON geometry type: {obj.get('type')!r}",
        )
    try:
        return shapely.geometry.shape(walk(obj)), notes
    except (
        TypeError,
        ValueError,
        KeyError,
        IndexError,
        AttributeError,
        shapely.errors.ShapelyError,
    ) as exc:  # what shapely raises for malformed coordinate arrays
        raise InvalidGeometry(
            "圖形的座標格式不正確（GeoJSON）。", detail=f"cannot parse geometry: {exc}"
        ) from exc


# --------------------------------------------------------------------------- a frame
def check_frame(
    gdf: gpd.GeoDataFrame | gpd.GeoSeries,
    *,
    allowed_types: Iterable[str],
    source_crs: CRS | str | int | None = None,
    limits: Limits = DEFAULT_LIMITS,
) -> FrameCheck:
    """Check every geometry of a frame (the rules of :func:`check_geometry`, vectorised).

    Parameters
    ----------
    gdf : the rows of one file or layer.
    allowed_types : GeoJSON type names the layer takes.
    source_crs : the CRS of the coordinates; defaults to ``gdf.crs`` (one of them is needed).
    limits : the per-file limits (features, total vertices) raise; the per-feature vertex
        limit is a row error.

    Raises
    ------
    TooManyFeatures, TooManyVertices, UnknownCRS
    """
    series = gdf.geometry if isinstance(gdf, gpd.GeoDataFrame) else gdf
    crs = source_crs if source_crs is not None else series.crs
    if crs is None:
        raise UnknownCRS(
            "無法判斷座標系統：資料沒有宣告座標系統。", detail="check_frame without a CRS"
        )
    geoms = np.asarray(series.values, dtype=object)
    check_counts(len(geoms), int(count_vertices(geoms).sum()), limits)
    out, repairs, errors = _check(geoms, _crs(crs), _allowed(allowed_types), limits)
    index = series.index
    return FrameCheck(
        geometry=gpd.GeoSeries(out, index=index, crs=STORAGE_CRS),
        repairs={index[i]: r for i, r in enumerate(repairs) if r},
        errors={index[i]: e for i, e in enumerate(errors) if e is not None},
    )


# --------------------------------------------------------------------------- the rules
def _allowed(types: Iterable[str]) -> frozenset[str]:
    if isinstance(types, str):
        types = (types,)
    by_lower = {t.lower(): t for t in GEOMETRY_TYPES}
    allowed = set()
    for t in types:
        if t.lower() not in by_lower:
            raise ValueError(f"unknown geometry type {t!r}")  # a programming error, not input
        allowed.add(by_lower[t.lower()])
    if not allowed:
        raise ValueError("allowed_types is empty")
    return frozenset(allowed)


def _crs(value: CRS | str | int) -> CRS:
    try:
        return CRS.from_user_input(value)
    except (ProjError, ValueError, TypeError) as exc:
        raise UnknownCRS(
            f"無法辨識座標系統「{value}」。", detail=f"bad CRS {value!r}: {exc}"
        ) from exc


# Cached per CRS pair; pyproj's Transformer is thread-safe since 3.1, so the API's worker
# threads may share one.
@functools.lru_cache(maxsize=32)
def _transformer(source: CRS, target: CRS) -> Transformer:
    # allow_ballpark=False: a CRS pair PROJ can only relate by a ballpark guess (hundreds of
    # metres off, e.g. TWD67 lon/lat) is refused instead of quietly shifted.
    try:
        return Transformer.from_crs(source, target, always_xy=True, allow_ballpark=False)
    except ProjError as exc:
        raise UnknownCRS(
            f"無法把座標系統「{source.name}」精確轉換為 TWD97（EPSG:3826）；"
            "請先轉成 TWD97 或 WGS84 經緯度再匯入。",
            detail=f"no non-ballpark transformation {source.to_string()} -> {target}: {exc}",
        ) from exc


def _reproject(geoms: np.ndarray, source: CRS, target: CRS = STORAGE_CRS) -> np.ndarray:
    if source.equals(target, ignore_axis_order=True):
        return geoms
    transformer = _transformer(source, target)

    def fn(xy: np.ndarray) -> np.ndarray:
        x, y = transformer.transform(xy[:, 0], xy[:, 1], errcheck=False)
        return np.column_stack([x, y])

    with np.errstate(invalid="ignore", over="ignore"):
        return shapely.transform(geoms, fn)


def _inside(bounds: np.ndarray) -> np.ndarray:
    """Which rows of an (n, 4) bounds array lie within the accepted extent."""
    minx, miny, maxx, maxy = ACCEPTED_EXTENT_3826
    with np.errstate(invalid="ignore"):
        return (
            np.isfinite(bounds).all(axis=1)
            & (bounds[:, 0] >= minx)
            & (bounds[:, 1] >= miny)
            & (bounds[:, 2] <= maxx)
            & (bounds[:, 3] <= maxy)
        )


def _swap_xy(xy: np.ndarray) -> np.ndarray:
    return xy[:, ::-1].copy()


def _check(
    geoms: np.ndarray, crs: CRS, allowed: frozenset[str], limits: Limits
) -> tuple[np.ndarray, list[list[str]], list[InvalidInput | None]]:
    """The rules, on an object array of geometries in ``crs``; returns the geometries in
    EPSG:3826 (None where refused), the repairs and the error of each."""
    n = len(geoms)
    geoms = geoms.copy()
    notes: list[list[str]] = [[] for _ in range(n)]
    errors: list[InvalidInput | None] = [None] * n
    live = np.ones(n, dtype=bool)

    def fail(i: int, error: InvalidInput) -> None:
        errors[i] = error
        live[i] = False

    # -- something to check at all
    for i in np.flatnonzero(shapely.is_missing(geoms)):
        fail(i, EmptyGeometry("這筆資料沒有圖形（座標）。", detail="geometry is null"))
    for i in np.flatnonzero(live & shapely.is_empty(geoms)):
        fail(i, EmptyGeometry(detail="empty geometry"))

    # -- finite coordinates (a NaN point is not "empty" to GEOS)
    idx = np.flatnonzero(live)
    coords, which = shapely.get_coordinates(geoms[idx], return_index=True)
    with np.errstate(invalid="ignore"):
        bad = ~np.isfinite(coords).all(axis=1)
    for i in np.unique(idx[which[bad]]):
        fail(i, NonFiniteCoordinates(detail="NaN or infinite coordinate"))

    # -- the layer's geometry types; a one-part multi-geometry whose part fits is unwrapped
    idx = np.flatnonzero(live)
    kinds = _TYPE_BY_ID[shapely.get_type_id(geoms[idx])]
    for i, kind in zip(idx, kinds, strict=True):
        if kind in allowed:
            continue
        multi = kind in _SINGLE_OF or kind == "GeometryCollection"
        if multi and shapely.get_num_geometries(geoms[i]) == 1:
            part = shapely.get_geometry(geoms[i], 0)
            part_kind = _TYPE_BY_ID[shapely.get_type_id(part)]
            if part_kind in allowed:
                geoms[i] = part
                notes[i].append(
                    f"已將只有一個部分的{TYPE_LABELS[kind]}轉為單一的{TYPE_LABELS[part_kind]}。"
                )
                continue
        # KML's MultiGeometry holding a point and a line arrives as a GeometryCollection
        hint = "；請把其中的圖形拆成個別的地標" if kind == "GeometryCollection" else ""
        fail(
            i,
            WrongGeometryType(
                f"此圖層只接受{_type_list(allowed)}，這筆資料是{TYPE_LABELS.get(kind, kind)}{hint}。",
                detail=f"{kind} not in {sorted(allowed)}",
                geometry_type=kind,
            ),
        )

    # -- vertices per feature
    idx = np.flatnonzero(live)
    counts = shapely.get_num_coordinates(geoms[idx])
    for i, count in zip(idx, counts, strict=True):
        if count > limits.max_vertices_per_feature:
            fail(
                i,
                TooManyVertices(
                    f"這筆圖形有 {count:,} 個頂點，超過每筆 {limits.max_vertices_per_feature:,} "
                    "個的上限；請簡化後再匯入。",
                    detail=f"{count} vertices > {limits.max_vertices_per_feature}",
                    count=int(count),
                    limit=limits.max_vertices_per_feature,
                ),
            )

    # -- 2D only: the layers store XY; heights from KML (altitude 0) or GPS are dropped
    idx = np.flatnonzero(live)
    has_z = shapely.has_z(geoms[idx])
    has_m = shapely.has_m(geoms[idx])
    flat = idx[has_z | has_m]
    if len(flat):
        geoms[flat] = shapely.force_2d(geoms[flat])
    for i, z, m in zip(idx, has_z, has_m, strict=True):
        if z and m:
            notes[i].append("已移除高度（Z）與量測值（M），只保留平面座標。")
        elif z:
            notes[i].append("已移除高度（Z）座標，只保留平面座標。")
        elif m:
            notes[i].append("已移除量測值（M），只保留平面座標。")

    # -- inside New Taipei plus the margin (judged in EPSG:3826); swapped axes named as such
    idx = np.flatnonzero(live)
    projected = _reproject(geoms[idx], crs) if len(idx) else geoms[idx]
    inside = _inside(shapely.bounds(projected).reshape(-1, 4))
    outside, outside_projected = idx[~inside], projected[~inside]
    if len(outside):
        swapped = _reproject(shapely.transform(geoms[outside], _swap_xy), crs)
        swapped_inside = _inside(shapely.bounds(swapped).reshape(-1, 4))
        for i, moved, is_swapped in zip(outside, outside_projected, swapped_inside, strict=True):
            where = _first_outside(geoms[i], moved, crs)
            if is_swapped:
                fail(
                    i,
                    SwappedCoordinates(
                        f"座標的兩個數值似乎填反了：{where}不在新北市，對調後才落在新北市內。"
                        "請對調經度與緯度（或 X 與 Y）後再匯入。",
                        detail=f"swapped axes: {where}",
                    ),
                )
            else:
                fail(
                    i,
                    GeometryOutOfBounds(
                        f"座標超出新北市範圍（含周邊 {BOUNDS_MARGIN_M / 1000:.0f} 公里）：{where}。"
                        "請確認座標系統與數值是否正確。",
                        detail=f"outside extent: {where} in {crs.to_string()}",
                    ),
                )

    # -- repairs that cannot change the shape, judged on the shape as drawn (in its own CRS:
    # three collinear lon/lat points are a degenerate polygon there, though projecting them
    # to TM2 bends them into a sliver that GEOS would call valid)
    idx = np.flatnonzero(live)
    kinds = _TYPE_BY_ID[shapely.get_type_id(geoms[idx])]
    shaped = idx[np.isin(kinds, list(_LINEAL_OR_POLYGONAL))]
    if len(shaped):
        before = shapely.get_num_coordinates(geoms[shaped])
        geoms[shaped] = shapely.remove_repeated_points(geoms[shaped], 0.0)
        dropped = before - shapely.get_num_coordinates(geoms[shaped])
        for i, k in zip(shaped, dropped, strict=True):
            if k:
                notes[i].append(f"已移除 {k} 個連續重複的頂點。")

    idx = np.flatnonzero(live)
    remade: set[int] = set()
    for i in idx[~shapely.is_valid(geoms[idx])]:
        fixed, error = _repair(geoms[i], crs)
        if error is not None:
            fail(i, error)
        else:
            notes[i].append(_repair_note(fixed, geoms[i], crs))
            geoms[i] = fixed
            remade.add(i)

    # -- to EPSG:3826 (valid shapes stay valid under TM2 but for floating-point corner cases,
    # which are refused rather than repaired a second time)
    idx = np.flatnonzero(live)
    if len(idx):
        geoms[idx] = _reproject(geoms[idx], crs)
    for i in idx[~shapely.is_valid(geoms[idx])]:
        reason, raw = _reason(geoms[i], STORAGE_CRS)
        fail(
            i,
            InvalidGeometry(
                f"圖形換算到 TWD97 後無效：{reason}。請修正後再匯入。",
                detail=f"invalid after reprojection: {raw}",
            ),
        )

    # -- polygon orientation: exterior counter-clockwise, holes clockwise (RFC 7946)
    idx = np.flatnonzero(live)
    kinds = _TYPE_BY_ID[shapely.get_type_id(geoms[idx])]
    poly = idx[np.isin(kinds, list(_POLYGONAL))]
    if len(poly):
        oriented = shapely.orient_polygons(geoms[poly], exterior_cw=False)
        changed = ~shapely.equals_exact(oriented, geoms[poly], tolerance=0.0)
        for i, geom, ch in zip(poly, oriented, changed, strict=True):
            if ch and i not in remade:
                notes[i].append("已將面的外環調整為逆時針方向（內環為順時針）。")
            geoms[i] = geom

    out = np.full(n, None, dtype=object)
    out[live] = geoms[live]
    return out, notes, errors


def _reason(geom: shapely.Geometry, crs: CRS) -> tuple[str, str]:
    """GEOS's reason a geometry is invalid, in zh-TW with a lon/lat location, and in English."""
    raw = shapely.is_valid_reason(geom) or "invalid"
    m = _REASON_RE.match(raw)
    if not m:
        return _REASONS.get(raw, raw), raw
    what = _REASONS.get(m["what"], m["what"])
    try:
        x, y = float(m["x"]), float(m["y"])
    except ValueError:
        return what, raw
    lon, lat = _transformer(crs, CRS.from_epsg(WEB_SRID)).transform(x, y)
    if math.isfinite(lon) and math.isfinite(lat):
        return f"{what}，位置約在經度 {lon:.5f}、緯度 {lat:.5f}", raw
    return what, raw


def _repair(
    geom: shapely.Geometry, crs: CRS
) -> tuple[shapely.Geometry | None, InvalidGeometry | None]:
    """Make an invalid geometry valid when that is unambiguous, else say why not."""
    reason, raw = _reason(geom, crs)
    kind = geom.geom_type
    if kind not in _POLYGONAL:
        return None, InvalidGeometry(
            f"{TYPE_LABELS.get(kind, kind)}無效：{reason}。請修正後再匯入。",
            detail=f"invalid {kind}: {raw}",
        )
    # "structure" rebuilds the polygon from its rings' areas, dropping zero-width spikes and
    # collapsed parts instead of returning them as lines (keep_collapsed=False).
    fixed = shapely.make_valid(geom, method="structure", keep_collapsed=False)
    area = geom.area
    same_kind = fixed.geom_type == kind and (
        kind == "Polygon" or shapely.get_num_geometries(fixed) == shapely.get_num_geometries(geom)
    )
    same_area = area > 0 and fixed.area > 0 and abs(fixed.area - area) <= AREA_RTOL * area
    if same_kind and same_area and fixed.is_valid:
        return fixed, None
    if fixed.is_empty or fixed.area == 0:
        why = "修正後沒有面積（所有頂點在同一條線上）"
    elif not same_kind:
        why = f"自動修正會把它變成{TYPE_LABELS.get(fixed.geom_type, fixed.geom_type)}"
        if shapely.get_num_geometries(fixed) > 1:
            why += f"（{shapely.get_num_geometries(fixed)} 個部分）"
    else:
        change = abs(fixed.area - area) / max(area, fixed.area)
        why = f"自動修正會改變面積（相差約 {change:.0%}）"
    return None, InvalidGeometry(
        f"{TYPE_LABELS[kind]}無效：{reason}。{why}，無法確定正確的形狀，請修正後再匯入。",
        detail=f"ambiguous invalid {kind}: {raw}; make_valid gives {fixed.geom_type} "
        f"area {fixed.area} vs {area}",
    )


def _repair_note(fixed: shapely.Geometry, original: shapely.Geometry, crs: CRS) -> str:
    reason, _ = _reason(original, crs)
    return f"已修正無效的{TYPE_LABELS[fixed.geom_type]}（{reason}）：修正後仍是同一個面，面積不變。"


def _first_outside(source: shapely.Geometry, projected: shapely.Geometry, crs: CRS) -> str:
    """The first vertex outside the extent, written in the source CRS's own terms."""
    src = shapely.get_coordinates(source)
    dst = shapely.get_coordinates(projected)
    minx, miny, maxx, maxy = ACCEPTED_EXTENT_3826
    with np.errstate(invalid="ignore"):
        ok = (
            np.isfinite(dst).all(axis=1)
            & (dst[:, 0] >= minx)
            & (dst[:, 0] <= maxx)
            & (dst[:, 1] >= miny)
            & (dst[:, 1] <= maxy)
        )
    k = int(np.flatnonzero(~ok)[0]) if (~ok).any() else 0
    x, y = src[k]
    if crs.is_geographic:
        return f"（{x:.5f}, {y:.5f}）"
    return f"（X {x:,.1f}, Y {y:,.1f}）"


def _type_list(allowed: frozenset[str]) -> str:
    return "、".join(TYPE_LABELS[t] for t in GEOMETRY_TYPES if t in allowed)
