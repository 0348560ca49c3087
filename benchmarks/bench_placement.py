"""CCTV placement benchmark: ``geo.analysis.placement`` against spopt's MCLP, same instances.

Run from the checkout (after ``.venv/bin/pip install -e '.[bench,test]'``)::

    .venv/bin/python benchmarks/bench_placement.py            # everything (~10 minutes)
    .venv/bin/python benchmarks/bench_placement.py --small    # only the spopt comparison
    .venv/bin/python benchmarks/bench_placement.py --large    # only 100,000 × 20,000

Instances are seeded and generated here:

- ``streets``: incidents clustered along the real street edges of Banqiao and Yonghe
  (``../shared/data/ntpc/streets/banqiao_yonghe_block_edges.geojson``), candidate sites
  spread along the same streets (the file is optional; without it these are skipped);
- ``city-uniform``: incidents in clusters over a New Taipei-sized square (296000, 2770000
  ± 15 km, EPSG:3826), candidate sites anywhere in it;
- ``city-mixed``: the same incidents, 30 % of the candidates placed near incidents (dense
  overlaps: the hardest kind for an exact solver);
- ``uniform`` / ``uniform-real``: demand points and candidate sites uniform over a 10 km
  square (no structure), weights 1–5 or real numbers in [0, 1).

``--kinds``, ``--k`` and ``--radius`` choose other instances; ``--cli`` also times
``safemap plan cameras`` end to end (GeoJSON in, a new process, the plan file out), which
is what a user waits for: process start, imports and file reading included.

The covered weight of every answer is recomputed independently with
``placement.evaluate`` (brute-force distances), for ours and spopt's alike.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time
import warnings
from pathlib import Path

import numpy as np
from scipy.spatial import cKDTree

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from geo.analysis.placement import CoveragePlanner, evaluate  # noqa: E402

STREETS = (
    ROOT.parent / "shared" / "data" / "ntpc" / "streets" / "banqiao_yonghe_block_edges.geojson"
)
CENTRE = np.array([296_000.0, 2_770_000.0])
HALF = 15_000.0


# --------------------------------------------------------------------------- instances
_street_cache: dict = {}


def _street_points(n: int, rng: np.random.Generator) -> np.ndarray:
    """``n`` points spread uniformly along the street edges (EPSG:3826)."""
    import geopandas as gpd
    import shapely

    if "lines" not in _street_cache:
        lines = gpd.read_file(STREETS).to_crs(3826).geometry.values
        _street_cache["lines"] = lines
        _street_cache["lengths"] = shapely.length(lines)
    lines, lengths = _street_cache["lines"], _street_cache["lengths"]
    idx = rng.choice(len(lines), n, p=lengths / lengths.sum())
    pts = shapely.line_interpolate_point(lines[idx], rng.uniform(0, 1, n) * lengths[idx])
    return shapely.get_coordinates(pts)


def _clustered(rng, n, centres, sd_range, background, share=0.8):
    """``share`` of the points in Gaussian clusters of Pareto-distributed sizes."""
    sizes = rng.pareto(1.2, len(centres)) + 1.0
    n_cl = int(n * share)
    lab = rng.choice(len(centres), n_cl, p=sizes / sizes.sum())
    sd = rng.uniform(*sd_range, len(centres))
    pts = centres[lab] + rng.normal(0, 1, (n_cl, 2)) * sd[lab, None]
    return np.vstack([pts, background(n - n_cl)])


def streets_instance(n_demand: int, n_cand: int, seed: int):
    rng = np.random.default_rng(seed)
    pool = _street_points(max(4 * n_demand, 50_000), rng)
    centres = pool[rng.choice(len(pool), min(max(n_demand // 100, 5), 300), replace=False)]
    raw = _clustered(rng, n_demand, centres, (60, 300), lambda m: pool[rng.choice(len(pool), m)])
    # incidents happen on streets: snap to the nearest street point, keep a little noise
    _, nearest = cKDTree(pool).query(raw)
    demand = pool[nearest] + rng.normal(0, 8, (n_demand, 2))
    weights = rng.integers(1, 6, n_demand).astype(float)
    return demand, weights, _street_points(n_cand, rng)


def city_instance(n_demand: int, n_cand: int, seed: int, near: float = 0.0):
    rng = np.random.default_rng(seed)

    def uniform(m):
        return CENTRE + rng.uniform(-HALF, HALF, (m, 2))

    centres = uniform(max(n_demand // 200, 5))
    demand = _clustered(rng, n_demand, centres, (80, 400), uniform, share=0.85)
    weights = rng.integers(1, 6, n_demand).astype(float)
    n_near = int(n_cand * near)
    cand = np.vstack(
        [
            demand[rng.choice(n_demand, n_near)] + rng.normal(0, 60, (n_near, 2)),
            uniform(n_cand - n_near),
        ]
    )
    return demand, weights, cand


def uniform_instance(n_demand: int, n_cand: int, seed: int, real: bool = False):
    """Demand points and candidate sites uniform over a 10 km square: no structure at all,
    the way a test instance is usually drawn (weights 1–5, or real numbers in [0, 1))."""
    rng = np.random.default_rng(seed)
    side = 10_000.0
    demand = CENTRE + rng.uniform(-side / 2, side / 2, (n_demand, 2))
    cand = CENTRE + rng.uniform(-side / 2, side / 2, (n_cand, 2))
    weights = rng.uniform(0, 1, n_demand) if real else rng.integers(1, 6, n_demand).astype(float)
    return demand, weights, cand


KINDS = ("streets", "city-uniform", "city-mixed", "uniform", "uniform-real")


def make(kind: str, n_demand: int, n_cand: int, seed: int):
    if kind == "uniform":
        return uniform_instance(n_demand, n_cand, seed)
    if kind == "uniform-real":
        return uniform_instance(n_demand, n_cand, seed, real=True)
    if kind == "streets":
        return streets_instance(n_demand, n_cand, seed)
    if kind == "city-uniform":
        return city_instance(n_demand, n_cand, seed, near=0.0)
    if kind == "city-mixed":
        return city_instance(n_demand, n_cand, seed, near=0.3)
    raise ValueError(kind)


# --------------------------------------------------------------------------- runners
def run_ours(demand, weights, cand, k, radius, method="milp", time_limit=60.0):
    t0 = time.perf_counter()
    planner = CoveragePlanner.from_points(demand, weights, cand, radius=radius, k=k)
    t_build = time.perf_counter() - t0
    planner.solve(method=method, time_limit=time_limit)
    total = time.perf_counter() - t0
    return {
        "covered": planner.covered_weight,
        "recomputed": evaluate(demand, weights, cand[planner.chosen], radius),
        "status": planner.status,
        "gap": planner.gap,
        "bound": planner.objective_bound,
        "chosen": len(planner.chosen),
        "build_s": t_build,
        "total_s": total,
        "model": [planner.n_model_rows, planner.n_model_columns],
        "pairs": int(planner.coverage.nnz),
    }


def run_cli(demand, weights, cand, k, radius, time_limit=60.0):
    """``safemap plan cameras`` as a user runs it: GeoJSON files in (EPSG:4326), a new
    process, the plan file out. The time is the process's wall time, start to exit."""
    import subprocess
    import tempfile

    from pyproj import Transformer

    to_lonlat = Transformer.from_crs(3826, 4326, always_xy=True)

    def write(path, xy, props):
        lon, lat = to_lonlat.transform(xy[:, 0], xy[:, 1])
        features = [
            {
                "type": "Feature",
                "properties": {name: values[i] for name, values in props.items()},
                "geometry": {"type": "Point", "coordinates": [lon[i], lat[i]]},
            }
            for i in range(len(xy))
        ]
        path.write_text(json.dumps({"type": "FeatureCollection", "features": features}))

    with tempfile.TemporaryDirectory() as tmp:
        d, c, out = Path(tmp, "D.geojson"), Path(tmp, "C.geojson"), Path(tmp, "plan.geojson")
        write(d, demand, {"weight": weights.tolist()})
        write(c, cand, {"id": list(range(len(cand)))})
        # the console script a user runs (cli.entry), not ``-m cli.main``, which goes
        # through typer first
        safemap = str(Path(sys.executable).with_name("safemap"))
        cmd = [safemap, "plan", "cameras", "--demand", str(d),
               "--candidates", str(c), "--k", str(k), "--radius", str(radius),
               "--time-limit", str(time_limit), "--out", str(out)]  # fmt: skip
        t0 = time.perf_counter()
        subprocess.run(cmd, cwd=ROOT, check=True, capture_output=True)
        total = time.perf_counter() - t0
        plan = json.loads(out.read_text())
    chosen = [int(f["properties"]["id"]) for f in plan["features"]]
    return {
        "covered": plan["summary"]["covered_weight"],
        "recomputed": evaluate(demand, weights, cand[chosen], radius),
        "status": plan["summary"]["status"],
        "total_s": total,
    }


def run_spopt(demand, weights, cand, k, radius, solver="cbc", time_limit=600):
    import pulp
    from scipy.spatial.distance import cdist
    from spopt.locate import MCLP

    t0 = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model = MCLP.from_cost_matrix(
            cdist(demand, cand), weights, service_radius=radius, p_facilities=k
        )
        t_build = time.perf_counter() - t0
        if solver == "cbc":
            backend = pulp.PULP_CBC_CMD(msg=False, timeLimit=time_limit)
        else:
            backend = pulp.HiGHS(msg=False, timeLimit=time_limit, gapRel=0.0)
        model.problem.solve(backend)
    total = time.perf_counter() - t0
    status = pulp.LpStatus[model.problem.status]
    chosen = [j for j, var in enumerate(model.fac_vars) if (var.value() or 0) > 0.5]
    # CBC reports "Optimal" also after a time limit with a feasible point; the
    # solve time tells them apart
    finished = status == "Optimal" and (total - t_build) < time_limit * 0.98
    return {
        "covered": float(pulp.value(model.problem.objective)),
        "recomputed": evaluate(demand, weights, cand[chosen], radius),
        "status": status if finished else "time_limit",
        "build_s": t_build,
        "total_s": total,
    }


# --------------------------------------------------------------------------- report
def machine() -> dict:
    cpu = "unknown"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    ram = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    return {
        "nproc": os.cpu_count(),
        "cpu": cpu,
        "ram_gib": round(ram, 1),
        "python": platform.python_version(),
    }


def warm_up() -> None:
    """Import and initialise HiGHS once, as a running service would have, before timing."""
    demand, weights, cand = city_instance(200, 40, 0)
    CoveragePlanner.from_points(demand, weights, cand, radius=100.0, k=3).solve()


def small(kinds, seeds, solvers, spopt_limit, k=50, radius=100.0, cli=False):
    warm_up()
    rows = []
    for kind in kinds:
        for seed in seeds:
            if kind == "streets" and not STREETS.exists():
                print(f"skip {kind}: {STREETS} not found")
                continue
            demand, weights, cand = make(kind, 5_000, 1_000, seed)
            load = os.getloadavg()[0]
            ours = run_ours(demand, weights, cand, k, radius)
            row = {"instance": kind, "seed": seed, "k": k, "radius": radius, "ours": ours}
            row["load_before"] = load
            line = (
                f"{kind:13s} seed {seed} K={k} r={radius:g}  ours {ours['recomputed']:.6g} "
                f"({ours['status']}) in {ours['total_s']:.3f} s"
            )
            if cli:
                row["cli"] = run_cli(demand, weights, cand, k, radius)
                line += f" | CLI {row['cli']['recomputed']:.6g} in {row['cli']['total_s']:.2f} s"
            for solver in solvers:
                peer = run_spopt(demand, weights, cand, k, radius, solver, spopt_limit)
                row[f"spopt_{solver}"] = peer
                same = abs(peer["recomputed"] - ours["recomputed"]) <= 1e-6 * max(
                    1.0, abs(peer["recomputed"])
                )
                line += (
                    f" | spopt+{solver} {peer['recomputed']:.6g} ({peer['status']}) in "
                    f"{peer['total_s']:.1f} s [build {peer['build_s']:.1f} s] | same optimum: "
                    f"{same} | ×{peer['total_s'] / ours['total_s']:.0f}"
                )
                if cli:
                    line += f" (CLI ×{peer['total_s'] / row['cli']['total_s']:.0f})"
            print(f"{line} | load {load:.1f}", flush=True)
            rows.append(row)
    return rows


def large(kinds, seed, time_limit, radius=100.0):
    warm_up()
    rows = []
    for kind in kinds:
        if kind == "streets" and not STREETS.exists():
            continue
        demand, weights, cand = make(kind, 100_000, 20_000, seed)
        load = os.getloadavg()[0]
        greedy = run_ours(demand, weights, cand, 500, radius, "greedy", time_limit)
        exact = run_ours(demand, weights, cand, 500, radius, "milp", time_limit)
        gap = exact["gap"]
        print(
            f"{kind:13s} 100000×20000 K=500 r={radius:g}  greedy {greedy['recomputed']:.0f} in "
            f"{greedy['total_s']:.2f} s | milp {exact['recomputed']:.0f} ({exact['status']}, "
            f"gap {'n/a' if gap is None else f'{gap:.3%}'}) in {exact['total_s']:.1f} s | "
            f"pairs {exact['pairs']:,}, model {exact['model'][0]:,}×{exact['model'][1]:,} | "
            f"load {load:.1f} → {os.getloadavg()[0]:.1f}",
            flush=True,
        )
        rows.append(
            {"instance": kind, "seed": seed, "greedy": greedy, "milp": exact, "load_before": load}
        )
    return rows


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--small", action="store_true", help="only 5,000 × 1,000 vs spopt")
    parser.add_argument("--large", action="store_true", help="only 100,000 × 20,000")
    parser.add_argument("--seeds", default="1,2,3", help="seeds of the small instances")
    parser.add_argument("--spopt-limit", type=float, default=600.0, help="spopt time limit, s")
    parser.add_argument("--highs", action="store_true", help="also run spopt with PuLP+HiGHS")
    parser.add_argument("--kinds", default=None, help=f"comma-separated, of {', '.join(KINDS)}")
    parser.add_argument("--k", type=int, default=50, help="K of the small instances")
    parser.add_argument("--radius", type=float, default=100.0, help="coverage radius, m")
    parser.add_argument("--cli", action="store_true", help="also time `safemap plan cameras`")
    parser.add_argument("--json", type=Path, help="write all figures to this file")
    args = parser.parse_args(argv)
    kinds = args.kinds.split(",") if args.kinds else None
    for kind in kinds or ():
        if kind not in KINDS:
            parser.error(f"unknown kind {kind}")
    both = not (args.small or args.large)
    print(json.dumps(machine()))
    results: dict = {"machine": machine()}
    if args.small or both:
        seeds = [int(s) for s in args.seeds.split(",")]
        solvers = ["cbc", "highs"] if args.highs else ["cbc"]
        results["small"] = small(
            kinds or ["streets", "city-uniform", "city-mixed"],
            seeds,
            solvers,
            args.spopt_limit,
            k=args.k,
            radius=args.radius,
            cli=args.cli,
        )
    if args.large or both:
        results["large"] = large(
            kinds or ["city-uniform", "city-mixed", "streets"], 1, 60.0, radius=args.radius
        )
    if args.json:
        args.json.write_text(json.dumps(results, indent=1, default=float))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
