"""Reading communities within the caller's jurisdiction."""

from __future__ import annotations

import json

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from geo import queries
from geo.models import Community, District

from .access import Actor, community_filter, require_signed_in


def list_communities_geojson(
    session: Session,
    actor: Actor,
    *,
    limit: int = 100,
    offset: int = 0,
    district_code: str | None = None,
    simplify_m: float | None = None,
) -> str:
    """A page of the communities the actor may read, as a GeoJSON FeatureCollection with
    OGC API-style ``numberMatched`` and ``numberReturned``."""
    require_signed_in(actor)
    scope = community_filter(actor)
    stmt = queries.communities_stmt(scope, district_code=district_code, simplify_m=simplify_m)
    total_stmt = select(func.count()).select_from(Community).where(scope)
    if district_code:
        total_stmt = total_stmt.join(District, District.id == Community.district_id).where(
            District.code == district_code
        )
    result = queries.page(session, stmt, total_stmt, limit, offset)
    return result.with_members(limit=limit, offset=offset)


def community_feature(session: Session, actor: Actor, community_id: int) -> str:
    """One community as a GeoJSON Feature, if the actor may read it."""
    from .access import get_community

    community = get_community(session, actor, community_id)
    stmt = queries.communities_stmt(Community.id == community.id)
    collection = json.loads(queries.feature_collection(session, stmt))
    return json.dumps(collection["features"][0], ensure_ascii=False)
