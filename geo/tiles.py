"""Mapbox Vector Tiles assembled by PostGIS (ST_AsMVT)."""

from __future__ import annotations

from sqlalchemy import ColumnElement, Table, func, literal_column, select
from sqlalchemy.orm import Session

from .models import STORAGE_SRID

EXTENT = 4096
BUFFER = 64
MAX_ZOOM = 22


def tile(
    session: Session,
    table: Table,
    layer_name: str,
    columns: list[str],
    scope: ColumnElement[bool],
    z: int,
    x: int,
    y: int,
) -> bytes:
    """One MVT tile of ``table`` (geometry column ``geom``, EPSG:3826) with ``columns`` as
    attributes and ``id`` as the feature id. Empty tiles are empty bytes."""
    envelope = func.ST_TileEnvelope(z, x, y)
    # The stored geometries are indexed in EPSG:3826; the tile's envelope is transformed and
    # widened a little, since a Web Mercator square is not a square in TM2.
    search = func.ST_Expand(
        func.ST_Transform(envelope, STORAGE_SRID), literal_column("40075016.0") / (2**z) * 0.05
    )
    mvt_geom = func.ST_AsMVTGeom(
        func.ST_Transform(table.c.geom, 3857), envelope, EXTENT, BUFFER, True
    ).label("geom")
    rows = (
        select(table.c.id, *(table.c[c] for c in columns), mvt_geom)
        .where(table.c.geom.op("&&")(search), scope)
        .subquery("mvt")
    )
    query = select(
        func.ST_AsMVT(literal_column("mvt"), layer_name, EXTENT, "geom", "id")
    ).select_from(rows)
    data = session.execute(query).scalar()
    return bytes(data) if data else b""
