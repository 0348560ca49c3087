"""Point layers for the analysis commands: coordinates in EPSG:3826 plus attribute columns.

``safemap plan cameras`` is timed by its users against other tools, and importing
GeoPandas and GDAL costs more than solving a 5,000-point plan. Plain GeoJSON point files
(the CLI contract's format) are therefore read here with ``json`` and ``pyproj`` alone;
anything else (other formats, null or non-point geometries, an unusual ``crs`` member)
goes through :func:`geo.vector_io.read`, so there is one set of rules and error messages
for what is unusual, and the fast path only ever handles the plain case. The CRS rules are
the same as ``vector_io.read``'s for GeoJSON: the ``crs`` member when present, else WGS84,
except that TM2 metres labelled (or defaulted to) WGS84 are read as EPSG:3826.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from .crs import STORAGE_SRID, TAIWAN_TM2, inside, transformer
from .errors import EmptyAnalysisInput, InvalidParameter, NotPointGeometry

GEOJSON_SUFFIXES = (".geojson", ".json")


@dataclass(frozen=True)
class PointLayer:
    """Points in EPSG:3826 metres and their attributes, one value per point."""

    label: str  # what the user calls the layer, for messages ("需求點")
    xy: np.ndarray  # (n, 2)
    columns: dict[str, np.ndarray] = field(default_factory=dict)

    def __len__(self) -> int:
        return len(self.xy)

    def column(self, name: str) -> np.ndarray | None:
        """The attribute ``name``, matched case-insensitively (None when absent)."""
        lower = {c.lower(): c for c in self.columns}
        key = lower.get(name.lower())
        return None if key is None else self.columns[key]


def read_points(path: str | Path, label: str) -> PointLayer:
    """Read a point layer from any vector file GDAL reads (GeoJSON without GDAL)."""
    p = Path(path)
    if p.suffix.lower() in GEOJSON_SUFFIXES and p.is_file():
        layer = _plain_geojson(p, label)
        if layer is not None:
            return layer
    from . import vector_io

    gdf, _ = vector_io.read(p)
    return from_geodataframe(gdf, label)


def from_geodataframe(gdf, label: str) -> PointLayer:
    """Check a GeoDataFrame is a non-empty point layer with a CRS, and reproject it."""
    if len(gdf) == 0:
        raise EmptyAnalysisInput(f"{label}圖層沒有任何圖徵。", detail=f"{label}: empty")
    if gdf.crs is None:
        raise InvalidParameter(f"{label}圖層沒有宣告座標系統。", detail=f"{label}: no CRS")
    geom = gdf.geometry
    if geom.isna().any() or geom.is_empty.any():
        bad = int((geom.isna() | geom.is_empty).sum())
        raise NotPointGeometry(f"{label}圖層有 {bad} 筆空白圖形。", detail=f"{label}: {bad} empty")
    types = geom.geom_type
    if not (types == "Point").all():
        others = sorted(set(types[types != "Point"]))
        raise NotPointGeometry(
            f"{label}圖層必須全部是點（Point），但含有：{'、'.join(others)}。",
            detail=f"{label}: {others}",
        )
    projected = geom.to_crs(STORAGE_SRID)
    xy = np.column_stack([projected.x.to_numpy(), projected.y.to_numpy()])
    columns = {str(c): gdf[c].to_numpy() for c in gdf.columns if c != gdf.geometry.name}
    return PointLayer(label, xy, columns)


def _plain_geojson(path: Path, label: str) -> PointLayer | None:
    """The layer when ``path`` is a plain FeatureCollection of points, else None."""
    try:
        doc = json.loads(path.read_bytes())
    except (ValueError, OSError):
        return None  # vector_io reports what is wrong with it
    if not isinstance(doc, dict) or doc.get("type") != "FeatureCollection":
        return None
    features = doc.get("features")
    if not isinstance(features, list) or not features:
        return None
    coords = []
    props = []
    top_ids = []
    for f in features:
        geom = f.get("geometry") if isinstance(f, dict) else None
        if not isinstance(geom, dict) or geom.get("type") != "Point":
            return None
        c = geom.get("coordinates")
        if not isinstance(c, list) or len(c) < 2:
            return None
        coords.append(c[:2])
        p = f.get("properties")
        if p is not None and not isinstance(p, dict):
            return None
        props.append(p or {})
        top_ids.append(f.get("id"))
    try:
        xy = np.asarray(coords, dtype=np.float64)
    except (TypeError, ValueError):
        return None
    crs = _declared_crs(doc)
    if crs is False:
        return None
    xy = _to_storage(xy, crs)
    names: dict[str, None] = {}
    for p in props:
        names.update(dict.fromkeys(p))
    columns = {name: _column([p.get(name) for p in props]) for name in names}
    # An id at the feature's top level (RFC 7946 §3.2) names the feature when its properties
    # carry none: plans then refer to candidate sites by the ids the user gave them.
    if not any(n.lower() == "id" for n in columns) and all(i is not None for i in top_ids):
        columns["id"] = _column(top_ids)
    return PointLayer(label, xy, columns)


def _declared_crs(doc: dict):
    """The ``crs`` member as a pyproj CRS, None when absent, False when not understood."""
    member = doc.get("crs")
    if member is None:
        return None
    try:
        name = member["properties"]["name"]
        from pyproj import CRS

        return CRS.from_user_input(name)
    except Exception:  # any malformed member: let GDAL judge it
        return False


def _to_storage(xy: np.ndarray, crs) -> np.ndarray:
    from pyproj import CRS

    if not np.isfinite(xy).all():
        return xy  # the planner refuses non-finite coordinates with its own message
    bounds = (*xy.min(axis=0), *xy.max(axis=0))
    lonlat = crs is None or crs.equals(CRS.from_epsg(4326)) or crs.equals(CRS("OGC:CRS84"))
    if lonlat and inside(bounds, TAIWAN_TM2):
        return xy  # TM2 metres labelled as lon/lat, as vector_io.read decides
    if crs is not None and crs.to_epsg() == STORAGE_SRID:
        return xy
    source = 4326 if crs is None else crs
    x, y = transformer(source, STORAGE_SRID).transform(xy[:, 0], xy[:, 1])
    return np.column_stack([x, y])


def _column(values: list) -> np.ndarray:
    """A numeric array when every value is a number (None as NaN), else an object array."""
    if all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in values):
        if all(isinstance(v, int) for v in values):
            return np.asarray(values, dtype=np.int64)
        return np.asarray(values, dtype=np.float64)
    out = np.empty(len(values), dtype=object)
    out[:] = values
    return out
