"""Storage of the spatial layers: one description per layer, SQL that builds GeoJSON in
PostGIS, and writes guarded by a version number (the ETag of the API).

Who may read or write which rows is decided in ``workflow.layers``; this module takes the
resulting SQL filter as an argument and never decides access itself.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import shapely
from geoalchemy2 import Geometry
from geoalchemy2.shape import from_shape
from sqlalchemy import (
    JSON,
    ColumnElement,
    Select,
    Table,
    Text,
    cast,
    delete,
    func,
    select,
    text,
    true,
    update,
)
from sqlalchemy.orm import Session

from .buildings import view_column
from .errors import NotFound, SafemapError
from .models import (
    STORAGE_SRID,
    WEB_SRID,
    Adopter,
    Base,
    Camera,
    Hazard,
    Incident,
    LayerHistory,
    PatrolBlock,
    PatrolRoute,
    SafetyAudit,
    SafetyMeeting,
)
from .queries import COORD_DECIMALS, Page, cached_page, feature_collection, page


class VersionConflict(SafemapError):
    code = "version_conflict"
    message = "這筆資料已被其他人修改，請重新載入後再編輯。"


class VersionRequired(SafemapError):
    code = "version_required"
    message = "修改或刪除資料時必須附上版本（If-Match 標頭）。"


@dataclass(frozen=True)
class LayerSpec:
    """What the platform knows about one layer table.

    ``geometry_types`` are GeoJSON type names the layer accepts; ``properties`` are the
    columns served as GeoJSON properties (the geometry, ``id`` and ``version`` are added).
    """

    name: str
    model: type[Base]
    title: str
    geometry_types: tuple[str, ...]
    properties: tuple[str, ...]
    date_column: str | None = None
    category_column: str | None = None
    status_column: str | None = None
    community_scoped: bool = True
    extra_geometries: tuple[str, ...] = field(default=())
    # Secondary geometries that are not columns of the table: name -> its SQL expression over
    # the table, served like ``extra_geometries``.
    derived_geometries: tuple[tuple[str, Callable[[Table], ColumnElement]], ...] = ()
    geometry_required: bool = True
    # The table keeps each record's list-form Feature in a ``feature`` column (migration
    # 0010): list pages then concatenate stored text instead of building JSON per row.
    cached_feature: bool = False

    @property
    def table(self):
        return self.model.__table__

    def column(self, name: str):
        return self.table.c[name]


HAZARDS = LayerSpec(
    name="hazards",
    model=Hazard,
    title="安全檢測地圖（問題點）",
    geometry_types=("Point", "LineString", "Polygon", "MultiLineString", "MultiPolygon"),
    properties=(
        "community_id", "title", "category", "severity", "time_of_day", "description", "status",
        "agency", "meeting_id", "dismissed_reason", "reported_at", "assigned_at", "fixed_at",
        "updated_at",
    ),
    date_column="reported_at",
    category_column="category",
    status_column="status",
    cached_feature=True,
)  # fmt: skip

CAMERAS = LayerSpec(
    name="cameras",
    model=Camera,
    title="錄影監視器",
    geometry_types=("Point",),
    properties=(
        "community_id", "precinct_id", "name", "status", "owner", "bearing_deg", "fov_deg",
        "range_m", "height_m", "application_id", "note", "installed_at", "updated_at",
    ),
    date_column="updated_at",
    status_column="status",
    community_scoped=False,
    extra_geometries=("sector",),
    # What the camera sees: the sector less what buildings hide (equal to the sector without
    # footprints); maps draw it, the sector stays the camera's nominal field.
    derived_geometries=(("view", view_column),),
    cached_feature=True,
)  # fmt: skip

INCIDENTS = LayerSpec(
    name="incidents",
    model=Incident,
    title="案件（分析用）",
    geometry_types=("Point",),
    properties=("type", "occurred_at", "precision_m", "precinct_id", "source"),
    date_column="occurred_at",
    category_column="type",
    community_scoped=False,
    cached_feature=True,
)

PATROL_BLOCKS = LayerSpec(
    name="patrol_blocks",
    model=PatrolBlock,
    title="治安區塊",
    geometry_types=("Polygon",),
    properties=("community_id", "name", "risk", "source", "updated_at"),
    date_column="updated_at",
)

ADOPTERS = LayerSpec(
    name="adopters",
    model=Adopter,
    title="認養單位",
    geometry_types=("Point",),
    geometry_required=False,  # its location, when known, is used for pairing by distance
    properties=(
        "community_id", "name", "kind", "guards", "hours", "term_start", "term_end",
        "contact_name", "phone",
    ),
)  # fmt: skip

PATROL_ROUTES = LayerSpec(
    name="patrol_routes",
    model=PatrolRoute,
    title="巡守路線",
    geometry_types=("LineString", "MultiLineString"),
    properties=("community_id", "team_name", "name", "schedule", "updated_at"),
    date_column="updated_at",
)

SAFETY_MEETINGS = LayerSpec(
    name="safety_meetings",
    model=SafetyMeeting,
    title="社區治安會議",
    geometry_types=("Point",),
    properties=("community_id", "held_on", "place", "attendees", "attendee_names", "minutes"),
    date_column="held_on",
    geometry_required=False,
)

SAFETY_AUDITS = LayerSpec(
    name="safety_audits",
    model=SafetyAudit,
    title="婦幼安全檢測（步行稽核）",
    geometry_types=("LineString", "MultiLineString", "Polygon", "MultiPolygon"),
    properties=(
        "community_id", "place_name", "period", "audited_on", "auditors", "lighting",
        "openness", "visibility", "people", "security", "walk_path", "transport",
        "gender_usage", "feeling", "score", "follow_up_of", "notes",
    ),
    date_column="audited_on",
    status_column="period",
)  # fmt: skip

LAYERS: dict[str, LayerSpec] = {
    spec.name: spec
    for spec in (
        HAZARDS,
        CAMERAS,
        INCIDENTS,
        PATROL_BLOCKS,
        ADOPTERS,
        PATROL_ROUTES,
        SAFETY_MEETINGS,
        SAFETY_AUDITS,
    )
}


@dataclass
class ListQuery:
    """Filters of a list request. ``bbox`` is lon/lat (EPSG:4326)."""

    bbox: tuple[float, float, float, float] | None = None
    categories: list[str] | None = None
    statuses: list[str] | None = None
    date_from: dt.datetime | dt.date | None = None
    date_to: dt.datetime | dt.date | None = None
    community_id: int | None = None
    limit: int = 100
    offset: int = 0
    extras: bool = False


def set_actor(session: Session, actor_id: int | None) -> None:
    """Name the user behind this transaction's writes for the history trigger."""
    session.execute(
        text("SELECT set_config('safemap.actor_id', :v, true)"),
        {"v": "" if actor_id is None else str(actor_id)},
    )


def _filters(spec: LayerSpec, scope: ColumnElement[bool], q: ListQuery) -> list[ColumnElement]:
    t = spec.table
    where: list[ColumnElement] = [scope]
    if q.bbox and "geom" in t.c:
        envelope = func.ST_Transform(func.ST_MakeEnvelope(*q.bbox, WEB_SRID), STORAGE_SRID)
        where.append(t.c.geom.op("&&")(envelope))
        where.append(func.ST_Intersects(t.c.geom, envelope))
    if q.categories and spec.category_column:
        where.append(t.c[spec.category_column].in_(q.categories))
    if q.statuses and spec.status_column:
        where.append(cast(t.c[spec.status_column], Text()).in_(q.statuses))
    if spec.date_column and q.date_from is not None:
        where.append(t.c[spec.date_column] >= q.date_from)
    if spec.date_column and q.date_to is not None:
        where.append(t.c[spec.date_column] <= q.date_to)
    if q.community_id is not None and "community_id" in t.c:
        where.append(t.c.community_id == q.community_id)
    return where


def _select(spec: LayerSpec, *, extras: bool = True) -> Select:
    """Columns served for ``spec``; ``extras`` adds secondary geometries (a camera's sector
    and its view) as GeoJSON properties — on single records and on request, not on every list,
    where they would more than double the bytes and the work of a page."""
    t = spec.table
    cols = [t.c.id, t.c.version, *(t.c[p] for p in spec.properties)]
    if "geom" in t.c:
        cols.append(func.ST_Transform(t.c.geom, WEB_SRID).label("geom"))
    else:
        cols.append(cast(None, Geometry()).label("geom"))
    geometries = [(name, t.c[name]) for name in spec.extra_geometries]
    geometries += [(name, build(t)) for name, build in spec.derived_geometries]
    for name, geom in geometries if extras else ():
        cols.append(
            func.ST_AsGeoJSON(func.ST_Transform(geom, WEB_SRID), COORD_DECIMALS)
            .cast(JSON())
            .label(name)
        )
    return select(*cols)


def list_page(
    session: Session,
    spec: LayerSpec,
    scope: ColumnElement[bool],
    q: ListQuery,
    *,
    count: bool = True,
) -> Page:
    """A page of ``spec`` (FeatureCollection built by PostGIS) and its counts."""
    where = _filters(spec, scope, q)
    count_stmt = select(func.count()).select_from(spec.table).where(*where) if count else None
    if spec.cached_feature and not q.extras:
        t = spec.table
        rows = select(t.c.id, t.c.feature).where(*where).order_by(t.c.id)
        return cached_page(session, rows, count_stmt, q.limit, q.offset)
    stmt = _select(spec, extras=q.extras).where(*where).order_by(spec.table.c.id)
    return page(session, stmt, count_stmt, q.limit, q.offset)


def list_geojson(
    session: Session, spec: LayerSpec, scope: ColumnElement[bool], q: ListQuery
) -> str:
    """A page of ``spec`` as a FeatureCollection with ``numberMatched`` and ``numberReturned``."""
    return list_page(session, spec, scope, q).with_members()


def get_feature(
    session: Session, spec: LayerSpec, scope: ColumnElement[bool], record_id: int
) -> dict:
    """One record as a GeoJSON Feature (dict); NotFound when absent or out of scope."""
    stmt = _select(spec).where(spec.table.c.id == record_id, scope)
    collection = json.loads(feature_collection(session, stmt))
    if not collection["features"]:
        raise NotFound(detail=f"{spec.name} {record_id} missing or out of scope")
    feature = collection["features"][0]
    feature["id"] = record_id
    return feature


def row_in_scope(
    session: Session, spec: LayerSpec, scope: ColumnElement[bool], record_id: int
) -> dict:
    row = (
        session.execute(select(spec.table).where(spec.table.c.id == record_id, scope))
        .mappings()
        .first()
    )
    if row is None:
        raise NotFound(detail=f"{spec.name} {record_id} missing or out of scope")
    return dict(row)


def _geom_value(geom: shapely.Geometry | None):
    return None if geom is None else from_shape(geom, srid=STORAGE_SRID)


def insert(
    session: Session,
    spec: LayerSpec,
    values: dict[str, Any],
    geom: shapely.Geometry | None,
    actor_id: int | None,
) -> int:
    """Insert one record; returns its id. ``geom`` is in EPSG:3826, already checked."""
    set_actor(session, actor_id)
    data = dict(values)
    if geom is not None:
        data["geom"] = _geom_value(geom)
    return session.execute(
        spec.table.insert().values(**data).returning(spec.table.c.id)
    ).scalar_one()


def update_versioned(
    session: Session,
    spec: LayerSpec,
    scope: ColumnElement[bool],
    record_id: int,
    expected_version: int | None,
    values: dict[str, Any],
    geom: shapely.Geometry | None,
    actor_id: int | None,
) -> int:
    """Apply ``values`` if the stored version is ``expected_version``; returns the new version.

    The version check and the write are one statement, so two editors cannot both win.
    """
    if expected_version is None:
        raise VersionRequired()
    set_actor(session, actor_id)
    t = spec.table
    data = dict(values)
    if geom is not None:
        data["geom"] = _geom_value(geom)
    if "updated_at" in t.c:
        data.setdefault("updated_at", func.now())
    new_version = session.execute(
        update(t)
        .where(t.c.id == record_id, t.c.version == expected_version, scope)
        .values(**data, version=t.c.version + 1)
        .returning(t.c.version)
    ).scalar()
    if new_version is None:
        current = session.scalar(select(t.c.version).where(t.c.id == record_id, scope))
        if current is None:
            raise NotFound(detail=f"{spec.name} {record_id} missing or out of scope")
        raise VersionConflict(
            detail=f"{spec.name} {record_id}: version {current}, not {expected_version}"
        )
    return new_version


def delete_versioned(
    session: Session,
    spec: LayerSpec,
    scope: ColumnElement[bool],
    record_id: int,
    expected_version: int | None,
    actor_id: int | None,
) -> None:
    if expected_version is None:
        raise VersionRequired()
    set_actor(session, actor_id)
    t = spec.table
    gone = session.execute(
        delete(t)
        .where(t.c.id == record_id, t.c.version == expected_version, scope)
        .returning(t.c.id)
    ).scalar()
    if gone is None:
        current = session.scalar(select(t.c.version).where(t.c.id == record_id, scope))
        if current is None:
            raise NotFound(detail=f"{spec.name} {record_id} missing or out of scope")
        raise VersionConflict(
            detail=f"{spec.name} {record_id}: version {current}, not {expected_version}"
        )


def history(session: Session, spec: LayerSpec, record_id: int) -> list[dict]:
    """Changes of one record, newest first (the caller has checked access to the record)."""
    rows = session.execute(
        select(
            LayerHistory.id,
            LayerHistory.action,
            LayerHistory.version,
            LayerHistory.actor_id,
            LayerHistory.at,
            LayerHistory.old,
            LayerHistory.new,
        )
        .where(LayerHistory.layer == spec.table.name, LayerHistory.record_id == record_id)
        .order_by(LayerHistory.id.desc())
    ).mappings()
    out = []
    for r in rows:
        old, new = r["old"] or {}, r["new"] or {}
        changed = sorted(
            k
            for k in set(old) | set(new)
            if old.get(k) != new.get(k) and k not in ("version", "updated_at")
        )
        out.append(
            {
                "action": r["action"],
                "version": r["version"],
                "actor_id": r["actor_id"],
                "at": r["at"].isoformat(),
                "changed": changed if r["action"] == "update" else [],
                "old": {k: old.get(k) for k in changed} if r["action"] == "update" else None,
                "new": {k: new.get(k) for k in changed} if r["action"] == "update" else None,
            }
        )
    return out


def everything(_spec: LayerSpec) -> ColumnElement[bool]:
    """The filter that lets every row through (for trusted internal callers)."""
    return true()
