"""Read queries whose GeoJSON is assembled by PostGIS, not feature by feature in Python."""

from __future__ import annotations

import json
from dataclasses import dataclass

from sqlalchemy import (
    JSON,
    Numeric,
    Select,
    Text,
    cast,
    func,
    literal,
    literal_column,
    null,
    select,
    text,
)
from sqlalchemy.dialects.postgresql import aggregate_order_by
from sqlalchemy.orm import Session

from .models import (
    WEB_SRID,
    Community,
    District,
    Organisation,
    Precinct,
    Village,
    community_villages,
)

COORD_DECIMALS = 6  # ~0.1 m in lon/lat: finer than any boundary we hold


def feature_collection(session: Session, stmt: Select, *, decimals: int = COORD_DECIMALS) -> str:
    """Run ``stmt`` and return an RFC 7946 FeatureCollection as JSON text built in PostGIS.

    ``stmt`` labels its geometry column ``geom`` (already in EPSG:4326) and may have an ``id``
    column, which becomes the feature's ``id`` (and stays among the properties); every other
    column becomes a property. Features keep the statement's order.
    """
    return session.execute(feature_collection_query(stmt, decimals=decimals)).scalar_one()


def feature_collection_query(stmt: Select, *, decimals: int = COORD_DECIMALS) -> Select:
    """The SELECT behind :func:`feature_collection` (one row, one text column)."""
    sub = stmt.subquery("t")
    props = []
    for col in sub.c:
        if col.name != "geom":
            props.extend([literal(col.name), col])
    feature = func.json_build_object(
        "type",
        "Feature",
        "id",
        sub.c.id if "id" in sub.c else null(),
        "geometry",
        cast(func.ST_AsGeoJSON(sub.c.geom, decimals), JSON),
        "properties",
        func.json_build_object(*props),
    )
    collection = func.json_build_object(
        "type",
        "FeatureCollection",
        "features",
        func.coalesce(func.json_agg(feature), text("'[]'::json")),
    )
    return select(cast(collection, Text)).select_from(sub)


@dataclass
class Page:
    """One page of a list: the FeatureCollection PostGIS built, and its counts."""

    body: str
    matched: int | None
    returned: int

    def with_members(self, **members) -> str:
        """The collection with extra top-level members (counts, links) spliced in front,
        without parsing the features again."""
        counts = {"numberReturned": self.returned}
        if self.matched is not None:
            counts = {"numberMatched": self.matched, **counts}
        head = json.dumps({**counts, **members}, ensure_ascii=False)
        return "{" + head[1:-1] + "," + self.body[1:]


def page(
    session: Session, stmt: Select, count_stmt: Select | None, limit: int, offset: int
) -> Page:
    """Run a list statement (paged here) and, unless ``count_stmt`` is None, its count.

    Without a count, ``matched`` is None (OGC API Features makes numberMatched optional) and
    a full page means there may be a next one: counting every match of a large bbox costs as
    much as the page itself.
    """
    if count_stmt is None:
        query = feature_collection_query(stmt.limit(limit).offset(offset))
        body, returned = session.execute(query.add_columns(func.count())).one()
        return Page(body, None, int(returned))
    matched = session.scalar(count_stmt) or 0
    body = feature_collection(session, stmt.limit(limit).offset(offset))
    return Page(body, matched, max(0, min(limit, matched - offset)))


def cached_page(
    session: Session, rows: Select, count_stmt: Select | None, limit: int, offset: int
) -> Page:
    """Like :func:`page`, for a statement selecting ``id`` and ``feature`` (each record's
    Feature JSON kept as text at write time): the collection is the stored texts joined."""
    sub = rows.limit(limit).offset(offset).subquery("t")
    # The aggregate reads the page as the subquery's sort and limit emit it, in id order; an
    # ORDER BY inside string_agg would sort the 1,000 texts a second time.
    # (tests/api/test_feature_cache.py checks the order.)
    joined = select(
        func.string_agg(sub.c.feature, literal_column("','")), func.count()
    ).select_from(sub)
    matched = None if count_stmt is None else (session.scalar(count_stmt) or 0)
    features, returned = session.execute(joined).one()
    body = '{"type":"FeatureCollection","features":[' + (features or "") + "]}"
    return Page(body, matched, int(returned))


def web_geom(geom, simplify_m: float | None = None):
    """``geom`` (EPSG:3826) for the web: optionally simplified in metres, then lon/lat."""
    if simplify_m:
        geom = func.ST_SimplifyPreserveTopology(geom, simplify_m)
    return func.ST_Transform(geom, WEB_SRID)


def _area_km2(geom):
    return func.round(cast(func.ST_Area(geom), Numeric) / 1_000_000, 3).label("area_km2")


def districts_stmt(*, simplify_m: float | None = None, include_retired: bool = False) -> Select:
    """Districts with their official code (TOWNCODE) and name."""
    stmt = select(
        District.id,
        District.code,
        District.name,
        District.name_en,
        District.county_name,
        _area_km2(District.geom),
        web_geom(District.geom, simplify_m).label("geom"),
    ).order_by(District.code)
    if not include_retired:
        stmt = stmt.where(District.retired_at.is_(None))
    return stmt


def villages_stmt(
    *,
    district_code: str | None = None,
    bbox: tuple[float, float, float, float] | None = None,
    simplify_m: float | None = None,
    include_retired: bool = False,
) -> Select:
    """Villages with their official code (VILLCODE), name and district.

    ``bbox`` is (min lon, min lat, max lon, max lat) in EPSG:4326; it is transformed once to
    EPSG:3826 so the GiST index on the stored geometry does the filtering.
    """
    stmt = (
        select(
            Village.id,
            Village.code,
            Village.name,
            Village.name_en,
            District.code.label("district_code"),
            District.name.label("district_name"),
            _area_km2(Village.geom),
            web_geom(Village.geom, simplify_m).label("geom"),
        )
        .join(District, District.id == Village.district_id)
        .order_by(Village.code)
    )
    if not include_retired:
        stmt = stmt.where(Village.retired_at.is_(None))
    if district_code:
        stmt = stmt.where(District.code == district_code)
    if bbox:
        envelope = func.ST_Transform(func.ST_MakeEnvelope(*bbox, WEB_SRID), Village.geom.type.srid)
        stmt = stmt.where(
            Village.geom.op("&&")(envelope), func.ST_Intersects(Village.geom, envelope)
        )
    return stmt


def communities_stmt(
    where, *, district_code: str | None = None, simplify_m: float | None = None
) -> Select:
    """Communities matching ``where`` (the caller's scope), with their villages' codes."""
    village_codes = (
        select(
            func.coalesce(
                func.array_agg(aggregate_order_by(Village.code, Village.code)), text("'{}'")
            )
        )
        .join(community_villages, community_villages.c.village_id == Village.id)
        .where(community_villages.c.community_id == Community.id)
        .scalar_subquery()
    )
    stmt = (
        select(
            Community.id,
            Community.name,
            Organisation.name.label("organisation"),
            District.code.label("district_code"),
            District.name.label("district_name"),
            Precinct.name.label("precinct"),
            village_codes.label("village_codes"),
            _area_km2(Community.geom),
            Community.is_demo,
            web_geom(Community.geom, simplify_m).label("geom"),
        )
        .join(Organisation, Organisation.id == Community.organisation_id)
        .join(District, District.id == Community.district_id)
        .join(Precinct, Precinct.id == Community.precinct_id)
        .where(where)
        .order_by(Community.id)
    )
    if district_code:
        stmt = stmt.where(District.code == district_code)
    return stmt
