"""City-scale camera coverage: 30,000 cameras over 200,000 street segments.

Builds a scratch database (``safemap_bench_coverage`` on the private cluster, or on the
server of ``DATABASE_URL``) with a street lattice of 100 m blocks over a 31.6 km square in
EPSG:3826, 30,000 cameras on it with random bearings, fields of view and ranges, and 30
districts tiling the square; then times

* the whole-network covered length (``geo.coverage.city_street_coverage``), and
* coverage figures per district (``geo.coverage.by_area('district')``),

and checks the covered length against an independent computation with shapely.

With ``--buildings-per-block K`` it also loads synthetic building footprints, in one INSERT
(as ``safemap import buildings`` does): each 100 m block's four quadrants hold a building
with probability K/4 (26-44 m a side), set back 3-15 m from the street centrelines, so cameras on the streets
look past them into the blocks and along the cross streets. Coverage then counts what each
camera's view sees (its sector less what buildings hide), and the independent check computes
the views afresh with ``safemap_camera_view``. The load time includes the refresh of the
kept views (``camera_views``, migration 0012) on a schema that has them.

Target (issue "Spatial analysis"): under 10 s for the city-scale coverage.

Run: ``.venv/bin/python benchmarks/bench_coverage.py [--segments 200000] [--cameras 30000]
[--buildings-per-block 2] [--db NAME] [--skip-build] [--rounds N]``
"""

from __future__ import annotations

import argparse
import math
import os
import platform
import time

import numpy as np
import shapely
from sqlalchemy import text

from geo import coverage, migrate
from geo.db import make_engine, make_sessionmaker
from geo.settings import DatabaseSettings

DB = "safemap_bench_coverage"
X0, Y0 = 290_000.0, 2_750_000.0


def _side(n_segments: int) -> int:
    return int(math.sqrt(n_segments / 2)) + 1  # a lattice of side² nodes has ≈ 2·side² edges


SPACING = 100.0


def build(engine, n_segments: int, n_cameras: int, seed: int = 7) -> None:
    side = _side(n_segments)
    spacing = SPACING
    with engine.begin() as conn:
        conn.execute(
            text(
                "TRUNCATE street_segments, cameras, districts, precincts, buildings "
                "RESTART IDENTITY CASCADE"
            )
        )
        conn.execute(text("INSERT INTO precincts (name) VALUES ('測試分局')"))
        # horizontal and vertical edges of the lattice, in SQL
        conn.execute(
            text(
                """
                INSERT INTO street_segments (geom)
                SELECT ST_SetSRID(ST_MakeLine(ST_MakePoint(:x0 + i * :s, :y0 + j * :s),
                                              ST_MakePoint(:x0 + (i + 1) * :s, :y0 + j * :s)), 3826)
                FROM generate_series(0, :n - 2) i, generate_series(0, :n - 1) j
                UNION ALL
                SELECT ST_SetSRID(ST_MakeLine(ST_MakePoint(:x0 + i * :s, :y0 + j * :s),
                                              ST_MakePoint(:x0 + i * :s, :y0 + (j + 1) * :s)), 3826)
                FROM generate_series(0, :n - 1) i, generate_series(0, :n - 2) j
                """
            ),
            {"x0": X0, "y0": Y0, "s": spacing, "n": side},
        )
        size = (side - 1) * spacing
        conn.execute(
            text(
                """
                INSERT INTO districts (code, name, county_code, county_name, geom)
                SELECT 'B' || lpad((i * 5 + j)::text, 3, '0'), '測試' || (i * 5 + j) || '區', '65000', '新北市',
                       ST_Multi(ST_MakeEnvelope(:x0 + j * :w, :y0 + i * :h, :x0 + (j + 1) * :w, :y0 + (i + 1) * :h, 3826))
                FROM generate_series(0, 5) i, generate_series(0, 4) j
                """
            ),
            {"x0": X0, "y0": Y0, "w": size / 5, "h": size / 6},
        )
        conn.execute(text("ALTER TABLE cameras DISABLE TRIGGER cameras_history"))
        conn.execute(text("SELECT setseed(0.42)"))
        conn.execute(
            text(
                """
                INSERT INTO cameras (precinct_id, status, owner, geom, bearing_deg, fov_deg, range_m)
                SELECT 1, 'existing', 'police',
                       ST_SetSRID(ST_MakePoint(:x0 + floor(random() * :n) * :s + (random() < 0.5)::int * random() * :s,
                                               :y0 + floor(random() * :n) * :s), 3826),
                       floor(random() * 72) * 5, 60 + floor(random() * 4) * 15, 30 + floor(random() * 6) * 10
                FROM generate_series(1, :k)
                """
            ),
            {"x0": X0, "y0": Y0, "s": spacing, "n": side - 1, "k": n_cameras},
        )
        conn.execute(text("ALTER TABLE cameras ENABLE TRIGGER cameras_history"))
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(text("VACUUM ANALYZE street_segments"))
        conn.execute(text("VACUUM ANALYZE cameras"))


def load_buildings(engine, n_segments: int, per_block: float) -> float:
    """Footprints in the lattice's blocks, in one INSERT; returns the seconds it took (with the
    refresh of the kept camera views its statement trigger does, where the schema has one)."""
    side = _side(n_segments)
    with engine.begin() as conn:
        conn.execute(text("TRUNCATE buildings RESTART IDENTITY"))
    t = time.perf_counter()
    with engine.begin() as conn:
        conn.execute(text("SELECT setseed(0.24)"))
        conn.execute(
            text(
                """
                INSERT INTO buildings (source, geom)
                SELECT 'bench', ST_Multi(ST_MakeEnvelope(
                    :x0 + i * :s + qx * :s / 2 + 3 + random() * 6,
                    :y0 + j * :s + qy * :s / 2 + 3 + random() * 6,
                    :x0 + i * :s + (qx + 1) * :s / 2 - 3 - random() * 12,
                    :y0 + j * :s + (qy + 1) * :s / 2 - 3 - random() * 12, 3826))
                FROM generate_series(0, :n - 2) i, generate_series(0, :n - 2) j,
                     generate_series(0, 1) qx, generate_series(0, 1) qy
                WHERE random() < :p
                """
            ),
            {"x0": X0, "y0": Y0, "s": SPACING, "n": side, "p": per_block / 4},
        )
    seconds = time.perf_counter() - t
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(text("VACUUM ANALYZE buildings"))
        if conn.execute(text("SELECT to_regclass('camera_views')")).scalar():
            conn.execute(text("VACUUM ANALYZE camera_views"))
    return seconds


def reimport(engine, factory) -> float:
    """The loaded footprints written to a GeoPackage and imported again with ``replace``, as
    ``safemap import buildings FILE --replace`` does (one transaction); returns the seconds."""
    import tempfile
    from pathlib import Path

    import geopandas as gpd

    from geo.buildings import import_buildings
    from geo.db import transaction

    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "footprints.gpkg"
        with engine.connect() as conn:
            gdf = gpd.read_postgis(
                text("SELECT id, height_m AS height, geom FROM buildings ORDER BY id"), conn
            )
        gdf.to_file(path, driver="GPKG")
        t = time.perf_counter()
        with transaction(factory) as s:
            import_buildings(s, path, replace=True)
        return time.perf_counter() - t


def independent_check(engine, sample: int = 2000, seed: int = 1) -> float:
    """Covered length of a random sample of segments recomputed with shapely (from each
    camera's view computed afresh by ``safemap_camera_view`` when buildings are loaded);
    returns the largest absolute difference from what ``geo.coverage`` computed (metres)."""
    rng = np.random.default_rng(seed)
    with engine.connect() as conn:
        n = conn.execute(text("SELECT max(id) FROM street_segments")).scalar()
        ids = [int(i) for i in rng.integers(1, n + 1, size=sample)]
        segs = dict(
            conn.execute(
                text("SELECT id, ST_AsBinary(geom) FROM street_segments WHERE id = ANY(:ids)"),
                {"ids": ids},
            ).all()
        )
        clipped = conn.execute(text("SELECT EXISTS (SELECT 1 FROM buildings)")).scalar()
        segments = coverage.SEGMENT_COVERAGE_CLIPPED if clipped else coverage.SEGMENT_COVERAGE
        view = "safemap_camera_view(geom, sector, range_m)" if clipped else "sector"
        sql = segments + " AND s.id = ANY(:ids)"
        ours = {
            r.id: float(r.covered_m)
            for r in conn.execute(
                text(sql), {"statuses": list(coverage.WORKING), "bbox_wkb": None, "ids": ids}
            )
        }
        worst = 0.0
        for sid, wkb in segs.items():
            seg = shapely.from_wkb(bytes(wkb))
            sectors = [
                shapely.from_wkb(bytes(g))
                for (g,) in conn.execute(
                    text(
                        f"SELECT ST_AsBinary({view}) FROM cameras WHERE sector && ST_GeomFromWKB(:g, 3826) AND status IN ('existing', 'installed')"
                    ),
                    {"g": bytes(wkb)},
                )
            ]
            theirs = (
                shapely.union_all([seg.intersection(s) for s in sectors]).length if sectors else 0.0
            )
            worst = max(worst, abs(theirs - ours[sid]))
    return worst


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--segments", type=int, default=200_000)
    ap.add_argument("--cameras", type=int, default=30_000)
    ap.add_argument(
        "--buildings-per-block",
        type=float,
        default=0.0,
        help="mean footprints per 100 m block (0 to 4; 0: no buildings)",
    )
    ap.add_argument(
        "--via-import",
        action="store_true",
        help="also time `safemap import buildings --replace` of the same footprints from a GeoPackage",
    )
    ap.add_argument("--db", default=DB, help="scratch database name")
    ap.add_argument("--rounds", type=int, default=1, help="timings repeated (the slowest counts)")
    ap.add_argument("--skip-build", action="store_true", help="reuse streets, cameras, districts")
    args = ap.parse_args()
    print(f"load average at start: {' '.join(f'{v:.2f}' for v in os.getloadavg())}")
    settings = DatabaseSettings()
    engine = make_engine(settings, database=args.db)
    migrate.upgrade(engine)
    if not args.skip_build:
        t = time.perf_counter()
        build(engine, args.segments, args.cameras)
        print(f"built in {time.perf_counter() - t:.1f} s")
    # The footprints always follow the flag (none without it), also with --skip-build.
    t_load = load_buildings(engine, args.segments, args.buildings_per_block)
    if args.buildings_per_block:
        print(f"footprints loaded in {t_load:.1f} s (one INSERT, with its triggers)")
    factory = make_sessionmaker(engine)
    if args.via_import and args.buildings_per_block:
        print(f"import of the same footprints: {reimport(engine, factory):.1f} s")
    with factory() as s:
        n_seg, n_cam, km = s.execute(
            text(
                "SELECT (SELECT count(*) FROM street_segments), (SELECT count(*) FROM cameras), (SELECT sum(length_m) / 1000 FROM street_segments)"
            )
        ).one()
        print(f"{platform.node()}: {n_seg:,} segments ({km:,.0f} km), {n_cam:,} cameras")
        n_bld = s.execute(text("SELECT count(*) FROM buildings")).scalar()
        # run against the code before migration 0012 too, for the per-query figures
        if s.execute(text("SELECT to_regclass('camera_views')")).scalar() is None:
            kept = "no camera_views table: views computed per query"
        else:
            kept = f"{s.execute(text('SELECT count(*) FROM camera_views')).scalar():,} kept views"
        print(f"{n_bld:,} building footprints ({kept})")
        t_city = t_dist = 0.0
        for n in range(1, args.rounds + 1):
            t = time.perf_counter()
            total, covered = coverage.city_street_coverage(s)
            t_round = time.perf_counter() - t
            t = time.perf_counter()
            rows = coverage.by_area(s, "district")
            d_round = time.perf_counter() - t
            t_city, t_dist = max(t_city, t_round), max(t_dist, d_round)
            print(
                f"round {n}: city coverage {t_round:6.2f} s  ({covered / 1000:,.1f} of "
                f"{total / 1000:,.1f} km = {covered / total:.2%}); per-district (30) "
                f"{d_round:6.2f} s  (sum of districts {sum(r.covered_m for r in rows) / 1000:,.1f} km)"
            )
    if args.buildings_per_block:
        # What keeping the views costs a writer: 1,000 cameras turned in one UPDATE (their
        # views recomputed by the row trigger where the schema has one), rolled back.
        with engine.connect() as conn, conn.begin() as tx:
            t = time.perf_counter()
            conn.execute(
                text(
                    "UPDATE cameras SET bearing_deg = CASE WHEN bearing_deg >= 355 "
                    "THEN bearing_deg - 355 ELSE bearing_deg + 5 END WHERE id <= 1000"
                )
            )
            print(f"1,000 cameras turned in one UPDATE: {time.perf_counter() - t:.2f} s")
            tx.rollback()
    worst = independent_check(engine)
    print(f"independent check (2,000 segments vs shapely): largest difference {worst:.6f} m")
    print(f"target < 10 s: {'met' if max(t_city, t_dist) < 10 else 'MISSED'}")
    print(f"load average at end: {' '.join(f'{v:.2f}' for v in os.getloadavg())}")


if __name__ == "__main__":
    main()
