"""Block adoption for a community: who may divide it into blocks and ask for pairings."""

from __future__ import annotations

from dataclasses import asdict

from sqlalchemy.orm import Session

from geo import adoption
from geo.layers import PATROL_BLOCKS

from .access import Actor, get_community
from .layers import read_scope, write_scope


def generate(
    session: Session, actor: Actor, community_id: int, *, method: str, size_m: float
) -> dict:
    write_scope(PATROL_BLOCKS, actor)
    get_community(session, actor, community_id)
    from geo.layers import set_actor

    set_actor(session, actor.user_id)
    n = adoption.generate_blocks(session, community_id, method=method, size_m=size_m)
    return {"community_id": community_id, "method": method, "blocks": n}


def advice(
    session: Session,
    actor: Actor,
    community_id: int,
    *,
    blocks_per_guard: int,
    max_distance_m: float,
) -> dict:
    read_scope(PATROL_BLOCKS, actor)
    get_community(session, actor, community_id)
    result = adoption.suggest(
        session, community_id, blocks_per_guard=blocks_per_guard, max_distance_m=max_distance_m
    )
    return {
        "community_id": community_id,
        "capacity": result.capacity,
        "pairings": [asdict(p) for p in result.pairings],
        "unassigned_blocks": result.unassigned_blocks,
        "adopters_without_location": result.adopters_without_location,
        "note": "建議配對僅供參考，需經認養單位同意後登錄。",
    }
