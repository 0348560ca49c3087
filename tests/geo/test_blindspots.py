"""Hot-spot runs and blind spots over the database: every listed reason must be true."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pytest
from geoalchemy2.shape import from_shape
from shapely.geometry import LineString, Point, box
from sqlalchemy import func, select, text

from geo.blindspots import REASONS, Scope, run_blind_spots, run_hotspots
from geo.models import (
    STORAGE_SRID,
    Adopter,
    BlindSpot,
    Camera,
    Hazard,
    HotspotCell,
    Incident,
    PatrolBlock,
    PatrolRoute,
    block_adoptions,
)
from tests.factories import make_community, make_precinct

X0, Y0 = 310_000.0, 2_780_000.0
CITY = Scope("city", None, None)


def _g(geom):
    return from_shape(geom, srid=STORAGE_SRID)


def _incidents(db, centre, n, spread, seed):
    rng = np.random.default_rng(seed)
    pts = rng.normal(centre, spread, size=(n, 2))
    for x, y in pts:
        db.add(
            Incident(
                type="burglary",
                occurred_at=dt.datetime(2026, 5, 1, tzinfo=dt.UTC),
                geom=_g(Point(x, y)),
            )
        )
    db.flush()


def test_hotspots_find_the_cluster_and_are_saved(db):
    _incidents(db, (X0, Y0), 120, 40, 1)
    _incidents(db, (X0 + 3000, Y0 + 3000), 4, 800, 2)
    run = run_hotspots(db, CITY, cell=100)
    assert run.kind == "hotspots" and run.summary["incidents"] == 124
    hot = db.execute(
        select(
            HotspotCell.cls,
            func.ST_X(func.ST_Centroid(HotspotCell.geom)),
            func.ST_Y(func.ST_Centroid(HotspotCell.geom)),
        ).where(HotspotCell.run_id == run.id, HotspotCell.cls == "hot99")
    ).all()
    assert hot, "the dense cluster must be a 99% hot spot"
    assert all(abs(x - X0) < 400 and abs(y - Y0) < 400 for _, x, y in hot)
    cells = db.scalar(select(func.count()).where(HotspotCell.run_id == run.id))
    assert cells == run.summary["cells"]
    area = db.scalar(
        select(func.ST_Area(HotspotCell.geom)).where(HotspotCell.run_id == run.id).limit(1)
    )
    assert area == pytest.approx(100 * 100)


def test_time_and_type_filters(db):
    _incidents(db, (X0, Y0), 30, 30, 3)
    run = run_hotspots(db, CITY, types=["fraud"])
    assert run.summary["incidents"] == 0
    run = run_hotspots(db, CITY, start=dt.datetime(2026, 6, 1, tzinfo=dt.UTC))
    assert run.summary["incidents"] == 0


def test_blind_spot_reasons_are_true(db):
    precinct = make_precinct(db)
    community = make_community(db, precinct=precinct)
    # three open hazards: one seen by a camera, one inside an adopted block, one near a patrol route
    seen = Hazard(
        community_id=community.id,
        category="blind_spot",
        severity=5,
        time_of_day="night",
        status="open",
        geom=_g(Point(X0 + 30, Y0)),
    )
    adopted = Hazard(
        community_id=community.id,
        category="poor_lighting",
        severity=3,
        time_of_day="night",
        status="open",
        geom=_g(Point(X0 + 1000, Y0)),
    )
    patrolled = Hazard(
        community_id=community.id,
        category="deserted",
        severity=2,
        time_of_day="night",
        status="open",
        geom=_g(Point(X0 + 2000, Y0)),
    )
    fixed = Hazard(
        community_id=community.id,
        category="deserted",
        severity=5,
        time_of_day="night",
        status="fixed",
        geom=_g(Point(X0 + 3000, Y0)),
    )
    db.add_all([seen, adopted, patrolled, fixed])
    db.add(
        Camera(
            precinct_id=precinct.id,
            status="existing",
            owner="police",
            geom=_g(Point(X0, Y0)),
            bearing_deg=90,
            fov_deg=60,
            range_m=80,
        )
    )
    db.add(
        Camera(
            precinct_id=precinct.id,
            status="proposed",
            owner="police",
            geom=_g(Point(X0 + 2000, Y0)),
            bearing_deg=0,
            fov_deg=360,
            range_m=80,
        )
    )
    block = PatrolBlock(
        community_id=community.id,
        name="第一區塊",
        geom=_g(box(X0 + 900, Y0 - 100, X0 + 1100, Y0 + 100)),
    )
    adopter = Adopter(community_id=community.id, name="某某國小", kind="school", guards=2)
    db.add_all([block, adopter])
    db.flush()
    db.execute(block_adoptions.insert().values(block_id=block.id, adopter_id=adopter.id))
    db.add(
        PatrolRoute(
            community_id=community.id,
            team_name="守望相助隊",
            geom=_g(LineString([(X0 + 2000, Y0 + 30), (X0 + 2100, Y0 + 30)])),
        )
    )
    db.flush()
    run = run_blind_spots(db, CITY)
    rows = {
        r.source_id: r
        for r in db.scalars(
            select(BlindSpot).where(BlindSpot.run_id == run.id, BlindSpot.source_kind == "hazard")
        )
    }
    assert fixed.id not in rows  # fixed hazards are history, not blind spots
    assert set(rows[seen.id].reasons) == {"not_adopted", "not_patrolled"}
    assert set(rows[adopted.id].reasons) == {"no_camera", "not_patrolled"}
    # the proposed camera does not count as seeing
    assert set(rows[patrolled.id].reasons) == {"no_camera", "not_adopted"}
    assert all(r.community_id == community.id for r in rows.values())
    assert set(REASONS) == {"no_camera", "not_adopted", "not_patrolled"}


def test_hot_cells_that_nothing_covers_rank_first(db):
    _incidents(db, (X0, Y0), 150, 30, 4)
    _incidents(db, (X0 + 2000, Y0 + 2000), 30, 1500, 5)  # a sparse background around the cluster
    hot = run_hotspots(db, CITY, cell=100)
    run = run_blind_spots(db, CITY, hotspot_run_id=hot.id)
    first = db.scalars(
        select(BlindSpot).where(BlindSpot.run_id == run.id).order_by(BlindSpot.rank)
    ).first()
    assert first.source_kind == "hotspot_cell" and set(first.reasons) == set(REASONS)
    assert run.summary["complete"] >= 1
    # each reason is true: no working sector covers half of the cell, no adopted block, no route
    check = db.execute(
        text(
            "SELECT count(*) FROM blind_spots b WHERE b.run_id = :r AND b.reasons ? 'no_camera' AND EXISTS ("
            "SELECT 1 FROM cameras c WHERE c.status::text IN ('existing','installed') AND c.sector && b.geom "
            "AND ST_Area(ST_Intersection(c.sector, b.geom)) >= 0.5 * ST_Area(b.geom))"
        ),
        {"r": run.id},
    ).scalar()
    assert check == 0
