"""Importing layer files into a community's map and exporting a community's safety map.

Imports are all or nothing: a file with any row that cannot be placed stores nothing and
the caller gets every problem with its row; otherwise all rows go in one statement.
Exports hold only what the caller may read, and never incidents (analysis data).
"""

from __future__ import annotations

import json
import tempfile
from dataclasses import asdict
from pathlib import Path
from typing import Any

import geopandas as gpd
import shapely
from geoalchemy2.shape import from_shape
from sqlalchemy import select
from sqlalchemy.orm import Session

from geo import layer_io
from geo import layers as store
from geo.enums import CameraStatus, Role
from geo.errors import InvalidInput, PermissionDenied
from geo.layers import LAYERS, LayerSpec
from geo.models import STORAGE_SRID, Community

from .access import Actor, get_community
from .layers import read_scope, write_scope

EXPORT_LAYERS = (
    "hazards",
    "safety_meetings",
    "safety_audits",
    "patrol_blocks",
    "patrol_routes",
    "cameras",
)
EXPORT_FORMATS = {
    "gpkg": ("application/geopackage+sqlite3", ".gpkg"),
    "kml": ("application/vnd.google-earth.kml+xml", ".kml"),
    "kmz": ("application/vnd.google-earth.kmz", ".kmz"),
}
# Our column names where the file format's differ.
RENAMES_IN = {"hazards": {"name": "title"}}


def import_layer(
    session: Session,
    actor: Actor,
    kind: str,
    source: str | Path | bytes,
    *,
    filename: str | None = None,
    community_id: int | None = None,
    category_mapping: dict[str, str] | None = None,
    default_category: str | None = None,
    layer: str | None = None,
    crs: str | None = None,
    dry_run: bool = False,
) -> dict[str, Any]:
    """Read ``source`` as layer ``kind`` and store every row in one transaction.

    Raises ``ImportRowsRejected`` (with every row's problem) and stores nothing when any row
    cannot be placed.
    """
    spec = LAYERS.get(kind)
    if spec is None or kind not in layer_io.KINDS:
        raise InvalidInput(f"不能匯入「{kind}」圖層。", detail=f"bad kind {kind}")
    write_scope(spec, actor)
    community = None
    if community_id is not None:
        community = get_community(session, actor, community_id)
    elif spec.community_scoped or actor.role is Role.community:
        raise InvalidInput("請指定要匯入到哪個社區（community_id）。", detail="community missing")
    plan = layer_io.read_layer_file(
        source,
        kind=kind,
        filename=filename,
        layer=layer,
        category_mapping=category_mapping,
        default_category=default_category,
        crs=crs,
    )
    plan.raise_if_problems()
    rows = _rows(spec, plan.rows, actor, community)
    if not dry_run and rows:
        store.set_actor(session, actor.user_id)
        session.execute(spec.table.insert(), rows)
    return {
        "kind": kind,
        "source": plan.source,
        "layers": plan.layers,
        "imported": 0 if dry_run else len(rows),
        "would_import": len(rows),
        "dry_run": dry_run,
        "repairs": [asdict(r) for r in plan.repairs],
    }


def _rows(
    spec: LayerSpec, gdf: gpd.GeoDataFrame, actor: Actor, community: Community | None
) -> list[dict]:
    columns = set(spec.table.c.keys())
    renames = RENAMES_IN.get(spec.name, {})
    frame = gdf.drop(columns=[c for c in ("source_row", "source_layer") if c in gdf.columns])
    geoms = frame.geometry.values
    records = frame.drop(columns=frame.geometry.name).to_dict("records")
    out = []
    for record, geom in zip(records, geoms, strict=True):
        row = {}
        for key, value in record.items():
            key = renames.get(key, key)
            if key in columns and not _missing(value):
                row[key] = value
        row["geom"] = from_shape(shapely.force_2d(geom), srid=STORAGE_SRID)
        if community is not None and "community_id" in columns:
            row["community_id"] = community.id
        if spec.name == "cameras":
            row["precinct_id"] = community.precinct_id if community else actor.precinct_id
            if row["precinct_id"] is None:
                raise InvalidInput(
                    "匯入監視器時請指定社區或以分局帳號匯入。",
                    detail="camera import without precinct",
                )
            if (
                actor.role is Role.community
                and row.get("status", "proposed") != CameraStatus.proposed.value
            ):
                raise PermissionDenied(
                    "社區只能匯入「建議設置」的監視器。", detail="community imports decided cameras"
                )
        if spec.name == "hazards":
            row["status"] = "open"  # imported hazards start open, like drawn ones
        if spec.name == "incidents":
            row.setdefault("precinct_id", actor.precinct_id)
        if "created_by" in columns:
            row["created_by"] = actor.user_id
        out.append(row)
    return out


def _missing(value: Any) -> bool:
    try:
        return value is None or (isinstance(value, float) and value != value)
    except TypeError:
        return False


def export_community(
    session: Session, actor: Actor, community_id: int, fmt: str
) -> tuple[bytes, str, str]:
    """A community's whole safety map as (file bytes, media type, file name)."""
    if fmt not in EXPORT_FORMATS:
        raise InvalidInput("匯出格式須為 gpkg、kml 或 kmz。", detail=f"bad format {fmt}")
    community = get_community(session, actor, community_id)
    frames: dict[str, gpd.GeoDataFrame] = {}
    for name in EXPORT_LAYERS:
        spec = LAYERS[name]
        try:
            scope = read_scope(spec, actor)
        except PermissionDenied:
            continue  # e.g. cameras for roles that may not see them
        frame = _frame(session, spec, scope, community.id)
        if len(frame):
            frames[name] = frame
    if not frames:
        raise InvalidInput("此社區尚無可匯出的圖資。", detail="nothing to export")
    media_type, suffix = EXPORT_FORMATS[fmt]
    title = f"{community.name} 安全檢測地圖"
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / f"export{suffix}"
        if fmt == "gpkg":
            layer_io.write_geopackage(frames, path)
        elif fmt == "kml":
            layer_io.write_kml(frames, path, title=title)
        else:
            layer_io.write_kmz(frames, path, title=title)
        data = path.read_bytes()
    return data, media_type, f"{community.name}{suffix}"


def _frame(session: Session, spec: LayerSpec, scope, community_id: int) -> gpd.GeoDataFrame:
    t = spec.table
    cols = [t.c.id, *(t.c[p] for p in spec.properties if p not in ("sector",)), t.c.geom]
    where = [scope, t.c.community_id == community_id]
    stmt = select(*cols).where(*where).order_by(t.c.id)
    gdf = gpd.read_postgis(stmt, session.connection(), geom_col="geom", crs=STORAGE_SRID)
    if spec.name == "hazards" and "title" in gdf.columns:
        gdf = gdf.rename(columns={"title": "name"})
    for col in gdf.columns:
        if col != "geom" and gdf[col].dtype == object:
            # enums as their codes, JSON objects (patrol schedules) as text
            gdf[col] = gdf[col].map(
                lambda v: (
                    json.dumps(v, ensure_ascii=False)
                    if isinstance(v, dict | list)
                    else getattr(v, "value", v)
                )
            )
    return gdf
