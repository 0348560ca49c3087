"""Candidate patrol blocks, their risk, and adopter–block pairings."""

from __future__ import annotations

import datetime as dt

import pytest
from geoalchemy2.shape import from_shape
from shapely.geometry import LineString, MultiPolygon, Point, box
from sqlalchemy import func, select

from geo.adoption import generate_blocks, score_blocks, suggest
from geo.errors import InvalidInput
from geo.models import (
    STORAGE_SRID,
    Adopter,
    Hazard,
    Incident,
    PatrolBlock,
    StreetSegment,
    block_adoptions,
)
from tests.factories import make_community, make_precinct, make_village

X0, Y0 = 321_000.0, 2_760_000.0  # multiples of the grid sizes used, so squares align


def _g(geom):
    return from_shape(geom, srid=STORAGE_SRID)


@pytest.fixture
def community(db):
    village = make_village(db, geom=MultiPolygon([box(X0, Y0, X0 + 600, Y0 + 600)]))
    return make_community(db, precinct=make_precinct(db, villages=[village]), village=village)


def test_grid_blocks_tile_the_community(db, community):
    n = generate_blocks(db, community.id, method="grid", size_m=200)
    assert n == 9
    total = db.scalar(
        select(func.sum(func.ST_Area(PatrolBlock.geom))).where(
            PatrolBlock.community_id == community.id
        )
    )
    assert total == pytest.approx(600 * 600, rel=1e-6)
    assert set(
        db.scalars(select(PatrolBlock.source).where(PatrolBlock.community_id == community.id))
    ) == {"grid"}
    with pytest.raises(InvalidInput):
        generate_blocks(db, community.id, method="hexagons")


def test_street_blocks_follow_the_network(db, community):
    for line in (
        LineString([(X0 - 50, Y0 + 300), (X0 + 650, Y0 + 300)]),
        LineString([(X0 + 300, Y0 - 50), (X0 + 300, Y0 + 650)]),
    ):
        db.add(StreetSegment(geom=_g(line)))
    db.flush()
    assert generate_blocks(db, community.id, method="streets") == 4
    areas = db.scalars(
        select(func.ST_Area(PatrolBlock.geom)).where(PatrolBlock.community_id == community.id)
    ).all()
    assert sorted(areas) == pytest.approx([90000] * 4, rel=1e-6)


def test_risk_and_pairings(db, community):
    generate_blocks(db, community.id, method="grid", size_m=300)  # 4 blocks
    blocks = {
        b.name: b
        for b in db.scalars(select(PatrolBlock).where(PatrolBlock.community_id == community.id))
    }
    # incidents in the south-west block, an open hazard in the north-east block
    now = dt.datetime.now(dt.UTC)
    for k in range(5):
        db.add(Incident(type="burglary", occurred_at=now, geom=_g(Point(X0 + 50 + k, Y0 + 50))))
    db.add(
        Hazard(
            community_id=community.id,
            category="blind_spot",
            severity=4,
            time_of_day="night",
            status="open",
            geom=_g(Point(X0 + 500, Y0 + 500)),
        )
    )
    db.flush()
    score_blocks(db, community.id)
    db.expire_all()
    risks = {
        b.name: b.risk
        for b in db.scalars(select(PatrolBlock).where(PatrolBlock.community_id == community.id))
    }
    assert sorted(risks.values()) == [0, 0, 5, 8]
    # one adopter with one guard near the north-west corner: two slots for the two risky blocks
    near = Adopter(
        community_id=community.id,
        name="某某國小",
        kind="school",
        guards=1,
        geom=_g(Point(X0, Y0 + 600)),
    )
    far = Adopter(
        community_id=community.id,
        name="遠方公司",
        kind="company",
        guards=3,
        geom=_g(Point(X0 + 50_000, Y0)),
    )
    nowhere = Adopter(community_id=community.id, name="無地址單位", kind="company", guards=2)
    db.add_all([near, far, nowhere])
    db.flush()
    advice = suggest(db, community.id, blocks_per_guard=2, max_distance_m=2000)
    assert [p.risk for p in advice.pairings] == [8, 5]
    assert {p.adopter_id for p in advice.pairings} == {near.id}
    assert advice.adopters_without_location == ["無地址單位"]
    assert len(advice.unassigned_blocks) == 2
    # an adopted block is no longer offered
    top = next(b for b in blocks.values() if b.id == advice.pairings[0].block_id)
    db.execute(block_adoptions.insert().values(block_id=top.id, adopter_id=near.id))
    again = suggest(db, community.id, blocks_per_guard=2)
    assert top.id not in {p.block_id for p in again.pairings}
    assert len(again.pairings) == 1  # one slot of the near adopter is used by the adoption
