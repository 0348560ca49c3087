"""The collections a caller may read, for the OGC API – Features service and vector tiles."""

from __future__ import annotations

import json
from dataclasses import dataclass

from sqlalchemy import ColumnElement, func, select, true
from sqlalchemy.orm import Session

from geo import queries, tiles
from geo.errors import NotFound
from geo.layers import LAYERS, LayerSpec, ListQuery, list_page
from geo.layers import get_feature as layer_feature
from geo.models import District, Village
from geo.queries import Page

from . import layers as layer_rules
from .access import Actor

# Lon/lat box of New Taipei City (the 29 districts) for collection extents.
CITY_BBOX = (121.28, 24.67, 122.01, 25.30)


@dataclass(frozen=True)
class Collection:
    id: str
    title: str
    description: str
    spec: LayerSpec | None = None  # None for the boundary collections
    temporal: str | None = None


BOUNDARIES = (
    Collection(
        "districts",
        "鄉鎮市區界",
        "新北市 29 個行政區（由村里界合併）。properties：code（TOWNCODE）、name。",
    ),
    Collection(
        "villages", "村里界", "新北市村里界。properties：code（VILLCODE）、name、district_code。"
    ),
)


def visible(actor: Actor) -> list[Collection]:
    """Collections the actor may read, boundaries first."""
    out = list(BOUNDARIES)
    for spec in LAYERS.values():
        if not spec.geometry_types:
            continue  # OGC Features are spatial; adopters are served by the plain API
        if layer_rules.scope_or_none(spec, actor) is not None:
            out.append(_layer_collection(spec))
    return out


def _layer_collection(spec: LayerSpec) -> Collection:
    return Collection(
        spec.name, spec.title, f"{spec.title}（依您的角色與轄區）。", spec, spec.date_column
    )


def collection(actor: Actor, collection_id: str) -> Collection:
    for c in BOUNDARIES:
        if c.id == collection_id:
            return c
    spec = LAYERS.get(collection_id)
    # Only the asked layer's rules are consulted (a list page must not pay for every layer).
    if (
        spec is not None
        and spec.geometry_types
        and layer_rules.scope_or_none(spec, actor) is not None
    ):
        return _layer_collection(spec)
    # Closed and unknown collections look the same to the caller.
    raise NotFound(
        f"找不到圖層「{collection_id}」，或您沒有權限查看。", detail=f"collection {collection_id}"
    )


def items(session: Session, actor: Actor, collection_id: str, q: ListQuery) -> Page:
    """One page of a collection the actor may read."""
    c = collection(actor, collection_id)
    if c.spec is not None:
        # Layers can hold hundreds of thousands of rows: no count, next links by full pages.
        return list_page(session, c.spec, layer_rules.read_scope(c.spec, actor), q, count=False)
    model = District if c.id == "districts" else Village
    where = [model.retired_at.is_(None)]
    if q.bbox:
        env = func.ST_Transform(func.ST_MakeEnvelope(*q.bbox, 4326), 3826)
        where += [model.geom.op("&&")(env), func.ST_Intersects(model.geom, env)]
    base = queries.districts_stmt() if c.id == "districts" else queries.villages_stmt()
    count = select(func.count()).select_from(model).where(*where)
    return queries.page(session, base.where(*where[1:]), count, q.limit, q.offset)


def item(session: Session, actor: Actor, collection_id: str, feature_id: int) -> dict:
    c = collection(actor, collection_id)
    if c.spec is not None:
        return layer_feature(session, c.spec, layer_rules.read_scope(c.spec, actor), feature_id)
    if c.id == "districts":
        stmt = queries.districts_stmt().where(District.id == feature_id)
    else:
        stmt = queries.villages_stmt().where(Village.id == feature_id)
    features = json.loads(queries.feature_collection(session, stmt))["features"]
    if not features:
        raise NotFound(detail=f"{collection_id} {feature_id}")
    return features[0]


TILE_COLUMNS = {
    "districts": ["code", "name"],
    "villages": ["code", "name"],
}


def tile(session: Session, actor: Actor, collection_id: str, z: int, x: int, y: int) -> bytes:
    c = collection(actor, collection_id)
    scope: ColumnElement[bool]
    if c.spec is not None:
        table = c.spec.table
        scope = layer_rules.read_scope(c.spec, actor)
        columns = [
            p
            for p in c.spec.properties
            if p not in ("description", "minutes", "schedule", "attendee_names", "notes")
        ]
    else:
        model = District if c.id == "districts" else Village
        table = model.__table__
        scope = true()
        columns = TILE_COLUMNS[c.id]
    return tiles.tile(session, table, c.id, columns, scope, z, x, y)
