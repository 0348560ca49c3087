"""The kept camera views (``camera_views``, migration 0012) always say what
``safemap_camera_view`` computes from the cameras and buildings as they are now: after plain
SQL writes to either table, imports, deletes and concurrent transactions; and coverage and
blind spots read from them give the results the per-query function gave."""

from __future__ import annotations

import datetime as dt
import threading

import numpy as np
import pytest
from geoalchemy2.shape import from_shape
from shapely.geometry import LineString, MultiPolygon, Point, box
from sqlalchemy import text

from geo import blindspots, buildings, coverage
from geo.buildings import import_buildings
from geo.db import make_sessionmaker, transaction
from geo.errors import ImportEmpty
from geo.models import STORAGE_SRID, Camera, Hazard, Incident, StreetSegment
from geo.models_buildings import Building
from tests.factories import make_community, make_district, make_precinct

from .test_buildings import _file

X0, Y0 = 310_000.0, 2_775_000.0
WHEN = dt.datetime(2026, 10, 1, 14, 0, tzinfo=dt.UTC)

# Cameras whose kept view is not the function's (an empty view equals an empty one), or that
# have a row without a building in their sector or lack one with a building in it.
STALE = """
    SELECT c.id FROM cameras c
    LEFT JOIN camera_views cv ON cv.camera_id = c.id
    CROSS JOIN LATERAL (SELECT coalesce(cv.geom, c.sector) AS kept,
                               safemap_camera_view(c.geom, c.sector, c.range_m) AS fresh) v
    WHERE NOT ((ST_IsEmpty(v.kept) AND ST_IsEmpty(v.fresh)) OR ST_Equals(v.kept, v.fresh))
       OR (cv.camera_id IS NOT NULL) <> EXISTS (
              SELECT 1 FROM buildings b WHERE b.geom && c.sector AND ST_Intersects(b.geom, c.sector))
    ORDER BY c.id
"""


def stale(conn) -> list[int]:
    return list(conn.execute(text(STALE)).scalars())


def kept(conn) -> dict[int, bytes]:
    rows = conn.execute(text("SELECT camera_id, ST_AsEWKB(geom) FROM camera_views"))
    return {int(i): bytes(g) for i, g in rows}


def _camera_sql(conn, precinct_id, x, y, bearing=90.0, fov=90.0, rng=50.0) -> int:
    return conn.execute(
        text(
            "INSERT INTO cameras (precinct_id, status, owner, geom, bearing_deg, fov_deg, range_m) "
            "VALUES (:p, 'existing', 'police', ST_SetSRID(ST_MakePoint(:x, :y), 3826), :b, :f, :r) "
            "RETURNING id"
        ),
        {"p": precinct_id, "x": x, "y": y, "b": bearing, "f": fov, "r": rng},
    ).scalar_one()


def _building_sql(conn, x0, y0, x1, y1) -> int:
    return conn.execute(
        text(
            "INSERT INTO buildings (geom) VALUES "
            "(ST_Multi(ST_MakeEnvelope(:x0, :y0, :x1, :y1, 3826))) RETURNING id"
        ),
        {"x0": x0, "y0": y0, "x1": x1, "y1": y1},
    ).scalar_one()


def test_views_follow_plain_sql_writes_to_cameras(db):
    p = make_precinct(db).id
    _building_sql(db, X0 + 20, Y0 - 5, X0 + 30, Y0 + 5)
    east = _camera_sql(db, p, X0, Y0, bearing=90)  # looks at the building
    west = _camera_sql(db, p, X0, Y0, bearing=270)  # looks away from it
    assert stale(db) == [] and set(kept(db)) == {east}
    assert db.scalar(
        text("SELECT ST_Area(v.geom) < 0.9 * ST_Area(c.sector) FROM camera_views v "
             "JOIN cameras c ON c.id = v.camera_id")
    )  # fmt: skip
    # turned towards the building, turned away, moved, its range or field of view changed
    db.execute(text("UPDATE cameras SET bearing_deg = 80 WHERE id = :id"), {"id": west})
    db.execute(text("UPDATE cameras SET bearing_deg = 180 WHERE id = :id"), {"id": east})
    assert stale(db) == [] and set(kept(db)) == {west}
    db.execute(
        text("UPDATE cameras SET geom = ST_Translate(geom, 0, 3) WHERE id = :id"), {"id": west}
    )
    db.execute(text("UPDATE cameras SET range_m = 15 WHERE id = :id"), {"id": west})
    assert stale(db) == [] and kept(db) == {}  # 15 m no longer reaches the building
    db.execute(text("UPDATE cameras SET range_m = 40, fov_deg = 30 WHERE id = :id"), {"id": west})
    assert stale(db) == [] and set(kept(db)) == {west}
    # a write that leaves the view's inputs alone keeps the row as it was
    before = db.scalar(
        text("SELECT xmin::text FROM camera_views WHERE camera_id = :id"), {"id": west}
    )
    db.execute(
        text("UPDATE cameras SET name = '轉角', bearing_deg = bearing_deg WHERE id = :id"),
        {"id": west},
    )
    after = db.scalar(
        text("SELECT xmin::text FROM camera_views WHERE camera_id = :id"), {"id": west}
    )
    assert after == before
    # several cameras in one statement, then deleted: rows go with them
    db.execute(
        text(
            "INSERT INTO cameras (precinct_id, status, owner, geom, bearing_deg, fov_deg, range_m) "
            "SELECT :p, 'existing', 'police', ST_SetSRID(ST_MakePoint(:x + i, :y - 20), 3826), 0, 90, 60 "
            "FROM generate_series(0, 9) i"
        ),
        {"p": p, "x": X0 + 20, "y": Y0},
    )
    assert stale(db) == [] and len(kept(db)) == 11
    db.execute(text("DELETE FROM cameras WHERE id <> :id"), {"id": west})
    assert stale(db) == [] and set(kept(db)) == {west}


def test_views_follow_the_orm_and_every_kind_of_building_write(db):
    p = make_precinct(db).id
    cams = [_camera_sql(db, p, X0 + 100 * i, Y0, bearing=90, fov=120, rng=60) for i in range(4)]
    assert kept(db) == {}
    # the ORM's insert of several rows (one INSERT ... VALUES)
    for i in (0, 1):
        db.add(
            Building(
                geom=from_shape(
                    MultiPolygon([box(X0 + 100 * i + 30, Y0 - 5, X0 + 100 * i + 40, Y0 + 5)]),
                    srid=STORAGE_SRID,
                ),
                source="orm",
            )
        )
    db.flush()
    assert stale(db) == [] and set(kept(db)) == set(cams[:2])
    # moved out of one camera's sector into another's
    db.execute(
        text("UPDATE buildings SET geom = ST_Translate(geom, 200, 0) WHERE source = 'orm' "
             "AND ST_XMin(geom) < :x"),
        {"x": X0 + 50},
    )  # fmt: skip
    assert stale(db) == [] and set(kept(db)) == {cams[1], cams[2]}
    # a second building in a camera that already has one: its view loses both
    one = set(kept(db).items())
    _building_sql(db, X0 + 225, Y0 + 20, X0 + 235, Y0 + 30)
    assert stale(db) == [] and kept(db)[cams[2]] != dict(one)[cams[2]]
    assert kept(db)[cams[1]] == dict(one)[cams[1]]  # untouched by the insert
    db.execute(text("DELETE FROM buildings WHERE ST_YMin(geom) > :y"), {"y": Y0 + 10})
    assert stale(db) == [] and set(kept(db)) == {cams[1], cams[2]}
    db.execute(text("DELETE FROM buildings WHERE ST_XMin(geom) < :x"), {"x": X0 + 200})
    assert stale(db) == [] and set(kept(db)) == {cams[2]}
    db.execute(text("TRUNCATE buildings"))
    assert stale(db) == [] and kept(db) == {}


def test_views_follow_building_imports_with_and_without_replace(db, tmp_path):
    p = make_precinct(db).id
    cams = [_camera_sql(db, p, X0 + 100 * i, Y0, bearing=90, fov=120, rng=60) for i in range(3)]
    first = _file(tmp_path, [box(X0 + 30, Y0 - 5, X0 + 40, Y0 + 5)])
    import_buildings(db, first)
    assert stale(db) == [] and set(kept(db)) == {cams[0]}
    second = tmp_path / "more.geojson"
    _file(tmp_path, [box(X0 + 130, Y0 - 5, X0 + 140, Y0 + 5)]).rename(second)
    import_buildings(db, second)
    assert stale(db) == [] and set(kept(db)) == {cams[0], cams[1]}
    third = tmp_path / "third.geojson"
    _file(
        tmp_path,
        [box(X0 + 230, Y0 - 5, X0 + 240, Y0 + 5), box(X0 + 240, Y0 + 20, X0 + 250, Y0 + 30)],
    ).rename(third)
    report = import_buildings(db, third, replace=True)
    assert report.replaced == 2
    assert stale(db) == [] and set(kept(db)) == {cams[2]}


def test_a_failed_import_leaves_buildings_and_views_as_they_were(db_settings, tmp_path):
    from geo.db import make_engine
    from geo.settings import DatabaseSettings
    from tests.conftest import fresh_database

    engine = make_engine(
        DatabaseSettings(DATABASE_URL=fresh_database(db_settings, "views_import")), pool_size=2
    )
    factory = make_sessionmaker(engine)
    try:
        with transaction(factory) as s:
            p = make_precinct(s).id
            for i in range(3):
                _camera_sql(s, p, X0 + 100 * i, Y0, bearing=90, fov=120, rng=60)
            import_buildings(
                s, _file(tmp_path, [box(X0 + 30, Y0 - 5, X0 + 40, Y0 + 5)], NAME=["舊樓"])
            )

        def state():
            with engine.connect() as conn:
                rows = conn.execute(text("SELECT id, name, ST_AsEWKB(geom) FROM buildings"))
                return sorted((i, n, bytes(g)) for i, n, g in rows), kept(conn), stale(conn)

        before = state()
        assert len(before[0]) == 1 and len(before[1]) == 1 and before[2] == []
        replacement = tmp_path / "new.geojson"
        _file(
            tmp_path,
            [box(X0 + 130, Y0 - 5, X0 + 140, Y0 + 5), box(X0 + 230, Y0 - 5, X0 + 240, Y0 + 5)],
        ).rename(replacement)

        # Interrupted after the old footprints were deleted and the new ones written (and the
        # views refreshed from them): the transaction takes all of it back.
        class Interrupted(Exception):
            pass

        def interrupt(step, fraction):
            if fraction >= 0.9:
                raise Interrupted

        with pytest.raises(Interrupted), transaction(factory) as s:
            import_buildings(s, replacement, replace=True, progress=interrupt)
        assert state() == before
        # A file with no footprints is refused before anything is written.
        with pytest.raises(ImportEmpty), transaction(factory) as s:
            import_buildings(s, _file(tmp_path, [Point(X0, Y0)]), replace=True)
        assert state() == before
        with transaction(factory) as s:
            import_buildings(s, replacement, replace=True)
        after = state()
        assert len(after[0]) == 2 and len(after[1]) == 2 and after[2] == []
    finally:
        engine.dispose()


def test_concurrent_camera_and_building_writes_leave_no_stale_view(db_settings):
    """A camera turned towards a building while another transaction adds the building: in
    either order of commits the kept view ends up as the function computes it. Without the
    lock each transaction would compute from what the other had not yet committed."""
    from geo.db import make_engine
    from geo.settings import DatabaseSettings
    from tests.conftest import fresh_database

    engine = make_engine(
        DatabaseSettings(DATABASE_URL=fresh_database(db_settings, "views_race")), pool_size=4
    )
    try:
        with engine.begin() as conn:
            p = conn.execute(
                text("INSERT INTO precincts (name) VALUES ('競態') RETURNING id")
            ).scalar()
            cam = _camera_sql(conn, p, X0, Y0, bearing=270, fov=90, rng=60)

        def add_building(conn):
            _building_sql(conn, X0 + 20, Y0 - 5, X0 + 30, Y0 + 5)

        def turn_camera(conn):
            conn.execute(text("UPDATE cameras SET bearing_deg = 90 WHERE id = :id"), {"id": cam})

        def reset(conn):
            conn.execute(text("DELETE FROM buildings"))
            conn.execute(text("UPDATE cameras SET bearing_deg = 270 WHERE id = :id"), {"id": cam})

        for first, second in ((turn_camera, add_building), (add_building, turn_camera)):
            with engine.begin() as conn:
                reset(conn)
            a, b = engine.connect(), engine.connect()
            try:
                ta, tb = a.begin(), b.begin()
                b.execute(text("SET lock_timeout = '20s'"))
                first(a)
                done = threading.Event()
                errors: list[BaseException] = []

                def run_second(conn, tx, step, done, errors):
                    try:
                        step(conn)
                        tx.commit()
                    except BaseException as exc:  # reported below
                        errors.append(exc)
                    finally:
                        done.set()

                worker = threading.Thread(target=run_second, args=(b, tb, second, done, errors))
                worker.start()
                # the second writer waits for the first one's lock on camera_views
                assert not done.wait(1.0), errors
                ta.commit()
                worker.join(30)
                assert done.is_set() and errors == []
            finally:
                a.close()
                b.close()
            with engine.connect() as conn:
                assert stale(conn) == [] and set(kept(conn)) == {cam}, (first, second)
    finally:
        engine.dispose()


# The per-query form that the kept views replace (geo.coverage and geo.buildings before
# migration 0012), to show the results did not change.
FUNCTION_VIEW = "safemap_camera_view({alias}.geom, {alias}.sector, {alias}.range_m)"
PER_QUERY_SEGMENTS = coverage.SEGMENT_COVERAGE.replace(
    """    WITH pairs AS (
        SELECT s.id, ST_Intersection(s.geom, c.sector) AS g
        FROM cameras c
        JOIN street_segments s ON s.geom && c.sector AND ST_Intersects(s.geom, c.sector)
        WHERE c.status::text = ANY(:statuses)
          AND (CAST(:bbox_wkb AS bytea) IS NULL OR s.geom && ST_GeomFromWKB(:bbox_wkb, 3826))
    ),""",
    """    WITH views AS MATERIALIZED (
        SELECT c.id, c.sector, """
    + FUNCTION_VIEW.format(alias="c")
    + """ AS g
        FROM cameras c
        WHERE c.status::text = ANY(:statuses)
          AND (CAST(:bbox_wkb AS bytea) IS NULL OR EXISTS (
              SELECT 1 FROM street_segments s0
              WHERE s0.geom && c.sector AND s0.geom && ST_GeomFromWKB(:bbox_wkb, 3826)))
    ),
    pairs AS (
        SELECT s.id, ST_Intersection(s.geom, c.g) AS g
        FROM views c
        JOIN street_segments s ON s.geom && c.sector AND ST_Intersects(s.geom, c.g)
        WHERE CAST(:bbox_wkb AS bytea) IS NULL OR s.geom && ST_GeomFromWKB(:bbox_wkb, 3826)
    ),""",
)


def test_coverage_and_blind_spots_from_kept_views_equal_the_per_query_function(db, monkeypatch):
    assert PER_QUERY_SEGMENTS != coverage.SEGMENT_COVERAGE
    rng = np.random.default_rng(12)
    size = 400.0
    district = make_district(db, geom=MultiPolygon([box(X0, Y0, X0 + size, Y0 + size)]))
    community = make_community(db)
    precinct = make_precinct(db)
    for k in range(0, 401, 50):  # a street lattice of 50 m blocks
        db.add(StreetSegment(geom=from_shape(LineString([(X0, Y0 + k), (X0 + size, Y0 + k)]), srid=STORAGE_SRID)))  # fmt: skip
        db.add(StreetSegment(geom=from_shape(LineString([(X0 + k, Y0), (X0 + k, Y0 + size)]), srid=STORAGE_SRID)))  # fmt: skip
    for bx, by in rng.uniform(5, size - 45, (50, 2)):  # footprints, some across streets
        w, h = rng.uniform(8, 35, 2)
        db.add(Building(geom=from_shape(MultiPolygon([box(X0 + bx, Y0 + by, X0 + bx + w, Y0 + by + h)]), srid=STORAGE_SRID)))  # fmt: skip
    for cx, cy in rng.uniform(0, size, (60, 2)):
        db.add(
            Camera(
                precinct_id=precinct.id,
                status=rng.choice(["existing", "installed", "proposed"]),
                owner="police",
                geom=from_shape(Point(X0 + cx, Y0 + cy), srid=STORAGE_SRID),
                bearing_deg=float(rng.integers(0, 72) * 5),
                fov_deg=float(rng.choice([60, 90, 120, 360])),
                range_m=float(rng.integers(3, 9) * 10),
            )
        )
    for hx, hy in rng.uniform(0, size, (40, 2)):
        db.add(Hazard(community_id=community.id, category="blind_spot", severity=3, time_of_day="night", status="open", geom=from_shape(Point(X0 + hx, Y0 + hy), srid=STORAGE_SRID)))  # fmt: skip
        db.add(Incident(type="burglary", occurred_at=WHEN, precinct_id=precinct.id, geom=from_shape(Point(X0 + hy, Y0 + hx), srid=STORAGE_SRID)))  # fmt: skip
    db.flush()
    assert stale(db) == [] and len(kept(db)) > 20
    area = bytes(db.scalar(text("SELECT ST_AsBinary(ST_Buffer(ST_MakePoint(:x, :y), 150))"), {"x": X0 + 200, "y": Y0 + 200}))  # fmt: skip
    scope = blindspots.Scope("city", None, None)

    def results():
        by_area = coverage.by_area(db, "district", area_ids=[district.id])
        city = coverage.city_street_coverage(db)
        streets = coverage.covered_streets_wkb(db, area)
        run = blindspots.run_blind_spots(db, scope)
        spots = db.execute(
            text("SELECT source_kind, source_id, reasons::text FROM blind_spots "
                 "WHERE run_id = :r ORDER BY source_kind, source_id"),
            {"r": run.id},
        ).all()  # fmt: skip
        return by_area, city, streets, spots

    cached = results()
    with monkeypatch.context() as m:
        m.setattr(buildings, "VIEW_SQL", FUNCTION_VIEW)
        m.setattr(coverage, "SEGMENT_COVERAGE_CLIPPED", PER_QUERY_SEGMENTS)
        per_query = results()
    (a, city_a, streets_a, spots_a), (b, city_b, streets_b, spots_b) = cached, per_query
    assert a[0].covered_m > 0 and a[0].covered_m < a[0].street_m
    assert a[0].hazards_covered > 0 and a[0].incidents_covered > 0
    assert a == b
    assert city_a == city_b
    assert streets_a == streets_b
    assert spots_a == spots_b and any("no_camera" in r for _, _, r in spots_a)
