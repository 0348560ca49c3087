"""City-scale camera coverage: 30,000 cameras over 200,000 street segments.

Builds a scratch database (``safemap_bench_coverage`` on the private cluster, or on the
server of ``DATABASE_URL``) with a street lattice of 100 m blocks over a 31.6 km square in
EPSG:3826, 30,000 cameras on it with random bearings, fields of view and ranges, and 30
districts tiling the square; then times

* the whole-network covered length (``geo.coverage.city_street_coverage``), and
* coverage figures per district (``geo.coverage.by_area('district')``),

and checks the covered length against an independent computation with shapely.

Target (issue "Spatial analysis"): under 10 s for the city-scale coverage.

Run: ``.venv/bin/python benchmarks/bench_coverage.py [--segments 200000] [--cameras 30000]``
"""

from __future__ import annotations

import argparse
import math
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


def build(engine, n_segments: int, n_cameras: int, seed: int = 7) -> None:
    side = int(math.sqrt(n_segments / 2)) + 1  # a lattice of side² nodes has ≈ 2·side² edges
    spacing = 100.0
    with engine.begin() as conn:
        conn.execute(
            text("TRUNCATE street_segments, cameras, districts, precincts RESTART IDENTITY CASCADE")
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


def independent_check(engine, sample: int = 2000, seed: int = 1) -> float:
    """Covered length of a random sample of segments recomputed with shapely; returns the
    largest absolute difference from PostGIS (metres)."""
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
        sql = coverage.SEGMENT_COVERAGE + " AND s.id = ANY(:ids)"
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
                        "SELECT ST_AsBinary(sector) FROM cameras WHERE sector && ST_GeomFromWKB(:g, 3826) AND status IN ('existing', 'installed')"
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
    ap.add_argument("--skip-build", action="store_true")
    args = ap.parse_args()
    settings = DatabaseSettings()
    engine = make_engine(settings, database=DB)
    migrate.upgrade(engine)
    if not args.skip_build:
        t = time.perf_counter()
        build(engine, args.segments, args.cameras)
        print(f"built in {time.perf_counter() - t:.1f} s")
    factory = make_sessionmaker(engine)
    with factory() as s:
        n_seg, n_cam, km = s.execute(
            text(
                "SELECT (SELECT count(*) FROM street_segments), (SELECT count(*) FROM cameras), (SELECT sum(length_m) / 1000 FROM street_segments)"
            )
        ).one()
        print(f"{platform.node()}: {n_seg:,} segments ({km:,.0f} km), {n_cam:,} cameras")
        t = time.perf_counter()
        total, covered = coverage.city_street_coverage(s)
        t_city = time.perf_counter() - t
        t = time.perf_counter()
        rows = coverage.by_area(s, "district")
        t_dist = time.perf_counter() - t
    print(
        f"city coverage:      {t_city:6.2f} s  ({covered / 1000:,.1f} of {total / 1000:,.1f} km = {covered / total:.2%})"
    )
    print(
        f"per-district (30):  {t_dist:6.2f} s  (sum of districts {sum(r.covered_m for r in rows) / 1000:,.1f} km)"
    )
    worst = independent_check(engine)
    print(f"independent check (2,000 segments vs shapely): largest difference {worst:.6f} m")
    print(f"target < 10 s: {'met' if max(t_city, t_dist) < 10 else 'MISSED'}")


if __name__ == "__main__":
    main()
