"""Gi* benchmark: ``geo.analysis.hotspots.getis_ord`` against esda's ``G_Local``, same grid.

Run from the checkout (after ``.venv/bin/pip install -e '.[bench,test]'``)::

    .venv/bin/python benchmarks/bench_hotspots.py

100,000 seeded incidents, clustered like real ones, over New Taipei on a 100 m grid in
EPSG:3826. The city outline comes from ``../shared/data/ntpc/boundaries/ntpc_districts.geojson``
when present (otherwise a 60 km square around the city centre stands in). Two cases:

1. the whole bounding box of the city, queen contiguity, esda's weights built independently
   by ``libpysal.weights.lat2W``;
2. only the cells inside the city (a mask), a 300 m binary distance band, esda's weights
   built independently by ``libpysal.graph.Graph.build_distance_band`` on the cell centres.

esda is timed on its own call, ``G_Local(y, w, star=True, permutations=0)``, with the weights
already built (with a classic ``W`` and with a ``Graph``); ours from the incident points to the
z-scores, p-values and the FDR-adjusted classes. Values must agree to 1e-6.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
import warnings
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks.bench_placement import machine  # noqa: E402
from geo.analysis.hotspots import Grid, getis_ord  # noqa: E402

DISTRICTS = ROOT.parent / "shared" / "data" / "ntpc" / "boundaries" / "ntpc_districts.geojson"
CENTRE = np.array([296_000.0, 2_770_000.0])


def city():
    """City polygon in EPSG:3826 (or None) and its bounding box."""
    if DISTRICTS.exists():
        import geopandas as gpd

        outline = gpd.read_file(DISTRICTS).to_crs(3826).union_all()
        return outline, outline.bounds
    half = 30_000.0
    return None, (CENTRE[0] - half, CENTRE[1] - half, CENTRE[0] + half, CENTRE[1] + half)


def incidents(n: int, outline, bounds, seed: int = 7) -> np.ndarray:
    """Clustered incidents inside the city: 85 % in Pareto-sized clusters, 15 % spread."""
    import shapely

    rng = np.random.default_rng(seed)
    xmin, ymin, xmax, ymax = bounds

    def inside(pts):
        if outline is None:
            return pts
        return pts[shapely.contains_xy(outline, pts[:, 0], pts[:, 1])]

    centres = inside(rng.uniform((xmin, ymin), (xmax, ymax), (2000, 2)))[:400]
    sizes = rng.pareto(1.2, len(centres)) + 1.0
    out = []
    total = 0
    while total < n:
        lab = rng.choice(len(centres), n, p=sizes / sizes.sum())
        sd = rng.uniform(100, 600, len(centres))
        pts = centres[lab] + rng.normal(0, 1, (n, 2)) * sd[lab, None]
        bg = rng.uniform((xmin, ymin), (xmax, ymax), (n // 5, 2))
        chunk = inside(np.vstack([pts[: int(n * 0.85)], bg]))
        out.append(chunk)
        total += len(chunk)
    return np.vstack(out)[:n]


def timed(fn, repeat=3):
    best, value = np.inf, None
    for _ in range(repeat):
        t0 = time.perf_counter()
        value = fn()
        best = min(best, time.perf_counter() - t0)
    return best, value


def esda_call(y, w, transform="B"):
    from esda.getisord import G_Local

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return G_Local(y, w, transform=transform, star=True, permutations=0)


def case(name, pts, grid, mask, kind, distance, build_w, build_graph, repeat):
    def ours():
        return getis_ord(grid.count(pts), grid, weights=kind, distance=distance, mask=mask)

    t_ours, res = timed(ours, repeat)
    act = np.ones(grid.size, dtype=bool) if mask is None else mask.ravel()
    y = grid.count(pts).ravel()[act]
    row = {"case": name, "cells": int(act.sum()), "incidents": len(pts), "ours_s": t_ours}
    for label, build in (("W", build_w), ("Graph", build_graph)):
        if build is None:
            continue
        t0 = time.perf_counter()
        w = build()
        row[f"weights_{label}_build_s"] = time.perf_counter() - t0
        t_esda, theirs = timed(lambda w=w: esda_call(y, w), repeat)
        diff = float(np.abs(res.z.ravel()[act] - theirs.Zs).max())
        row[f"esda_{label}_s"] = t_esda
        row[f"max_abs_dz_{label}"] = diff
        print(
            f"{name}: {int(act.sum()):,} cells, {len(pts):,} incidents | ours {t_ours:.3f} s | "
            f"esda G_Local ({label}) {t_esda:.3f} s [weights built in "
            f"{row[f'weights_{label}_build_s']:.1f} s, not counted] | ×{t_esda / t_ours:.1f} | "
            f"max |Δz| {diff:.2e}",
            flush=True,
        )
    row["hot_cells"] = int((res.confidence > 0).sum())
    row["cold_cells"] = int((res.confidence < 0).sum())
    return row


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=100_000, help="number of incidents")
    parser.add_argument("--repeat", type=int, default=3, help="best of this many runs")
    parser.add_argument("--json", type=Path, help="write the figures to this file")
    args = parser.parse_args(argv)
    print(json.dumps(machine()))
    outline, bounds = city()
    pts = incidents(args.n, outline, bounds)
    grid = Grid.covering(extent=bounds, cell=100.0)
    rows = []

    from libpysal.graph import Graph
    from libpysal.weights import lat2W

    rows.append(
        case(
            "bounding box, queen",
            pts,
            grid,
            None,
            "queen",
            None,
            lambda: lat2W(grid.nrows, grid.ncols, rook=False),
            lambda: Graph.from_W(lat2W(grid.nrows, grid.ncols, rook=False)),
            args.repeat,
        )
    )
    if outline is not None:
        import shapely

        centres = grid.centres()
        mask = shapely.contains_xy(outline, centres[:, 0], centres[:, 1]).reshape(grid.shape)
        inside = centres[mask.ravel()]
        rows.append(
            case(
                "city mask, 300 m band",
                pts,
                grid,
                mask,
                "distance",
                300.0,
                None,
                lambda: Graph.build_distance_band(inside, 300.0, binary=True),
                args.repeat,
            )
        )
    if args.json:
        args.json.write_text(json.dumps({"machine": machine(), "cases": rows}, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
