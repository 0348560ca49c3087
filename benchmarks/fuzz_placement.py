"""Correctness fuzzing of ``geo.analysis.placement`` against independent exact references.

Run from the checkout (``nice`` it on a shared machine)::

    nice -n 10 .venv/bin/python benchmarks/fuzz_placement.py --n 200            # all families
    nice -n 10 .venv/bin/python benchmarks/fuzz_placement.py --family budget --n 30
    nice -n 10 .venv/bin/python benchmarks/fuzz_placement.py --family tiny --seed 7 --n 1
    nice -n 10 .venv/bin/python benchmarks/fuzz_placement.py --cli 8 --n 0      # CLI only

Every instance is generated from its family and its seed alone (instance ``i`` of a run
gets seed ``--seed + i // F`` for F families taken in turn), so the line printed for it
carries the exact command that rebuilds it (``--family FAM --seed S --n 1``);
``--dump DIR`` also saves the arrays of every failing instance to ``DIR/FAM-S.npz``.

The reference is independent of the planner's machinery:

- coverage by brute force: dense numpy distances ``sqrt(dx² + dy²) <= radius`` (inclusive,
  as the planner documents), and for sectors the compass angle within ±fov/2 (a point at
  the camera itself is always seen);
- the compact MCLP built directly for HiGHS (``highspy``) without any row or column
  merging: ``max Σ w_i y_i``, ``y_i <= Σ_{j covers i} x_j``, ``Σ x_j <= K`` and/or
  ``Σ c_j x_j <= B``, one bearing per site for sectors, ``x`` binary, ``0 <= y <= 1``;
  rows already seen (existing cameras, ``seen``) count as covered and are dropped, as are
  zero-weight rows and rows no column can cover (constants either way); weights are
  divided by their maximum (a scaling that leaves the optimal plans unchanged) and
  ``mip_rel_gap = mip_abs_gap = 0``; the reference value is the brute-force covered
  weight of the reference's own plan (so it is always achievable);
- for cardinality circle models with K <= number of candidates, spopt's MCLP with CBC on a
  subset of instances (``--spopt-every``), on the same brute-force distance matrix.

Checks on the planner (``method="milp"``), with its plan re-evaluated by brute force:

- the reported ``covered_weight`` equals the recomputed one (relative 1e-9);
- plan feasibility: at most K cameras, cost within the budget, distinct sites, each
  chosen bearing one of its site's bearings;
- the recomputed weight never exceeds the reference optimum (else the reference is
  suspect, reported separately as ``REF``);
- ``status == "optimal"`` => recomputed == reference optimum (relative 1e-9, absolute 1e-9
  at zero) and ``gap == 0``;
- ``objective_bound >= reference optimum`` (a proven bound), ``>= covered_weight``;
- ``gap == (objective_bound - covered_weight) / (covered_weight - existing_weight)``;
- marginal gains sum to the weight the new cameras add and are non-increasing;
- the greedy preview (``method="greedy"``) is feasible, reports its own weight truly, and
  is not above the optimum.

``--cli N`` also runs N instances through ``safemap plan cameras`` (GeoJSON in EPSG:4326
written with pyproj from EPSG:3826 near x=296000, y=2770000), checking the plan file the
same way against a reference computed on the coordinates the command reads back.

Exit status 1 when any check failed.
"""

from __future__ import annotations

import argparse
import json
import logging
import math
import os
import subprocess
import sys
import tempfile
import time
import warnings
import zlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import ClassVar

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from geo.analysis.placement import CoveragePlanner  # noqa: E402

CENTRE = np.array([296_000.0, 2_770_000.0])
REL = 1e-9


class _PathLog(logging.Handler):
    """Remembers which of the planner's exact paths a solve went through (its debug log)."""

    TAGS: ClassVar[dict[str, str]] = {
        "smoothed dual": "lagrangian",
        "branch and bound": "b&b",
        "window search": "window",
    }

    def __init__(self):
        super().__init__(logging.DEBUG)
        self.seen: set[str] = set()

    def emit(self, record):
        msg = record.getMessage()
        for key, tag in self.TAGS.items():
            if msg.startswith(key) or msg.startswith(key.capitalize()):
                self.seen.add(tag)
        if msg.startswith("Lagrangian"):
            self.seen.add("lagrangian")


PATHS = _PathLog()
_plog = logging.getLogger("geo.analysis.placement")
_plog.setLevel(logging.DEBUG)
_plog.addHandler(PATHS)
_plog.propagate = False


# --------------------------------------------------------------------------- instances
@dataclass
class Instance:
    family: str
    seed: int
    demand: np.ndarray
    weights: np.ndarray
    cand: np.ndarray
    radius: float
    k: int | None = None
    budget: float | None = None
    costs: np.ndarray | None = None
    bearings: object = None  # None, one list for all sites, or one list per site
    fov: float = 90.0
    existing_xy: np.ndarray | None = None
    existing_radius: float | None = None
    existing_bearings: np.ndarray | None = None
    existing_fov: float | None = None
    seen: np.ndarray | None = None
    notes: dict = field(default_factory=dict)

    def kwargs(self) -> dict:
        kw = {"radius": self.radius, "k": self.k}
        if self.budget is not None:
            kw.update(budget=self.budget, costs=self.costs)
        if self.bearings is not None:
            kw.update(bearings=self.bearings, fov=self.fov)
        if self.existing_xy is not None:
            kw["existing_xy"] = self.existing_xy
            if self.existing_radius is not None:
                kw["existing_radius"] = self.existing_radius
            if self.existing_bearings is not None:
                kw["existing_bearings"] = self.existing_bearings
            if self.existing_fov is not None:
                kw["existing_fov"] = self.existing_fov
        if self.seen is not None:
            kw["seen"] = self.seen
        return kw

    def describe(self) -> str:
        parts = [
            f"n={len(self.demand)}",
            f"m={len(self.cand)}",
            f"K={self.k}",
            f"r={self.radius:.6g}",
            f"w={self.notes.get('weights')}",
        ]
        if self.budget is not None:
            parts.append(f"budget={self.budget:.6g}({self.notes.get('costs')})")
        if self.bearings is not None:
            parts.append(f"sector(fov={self.fov:g},{self.notes.get('bearings')})")
        if self.existing_xy is not None:
            er = "r" if self.existing_radius is None else f"{self.existing_radius:.4g}"
            eb = "" if self.existing_bearings is None else ",sector"
            parts.append(f"existing={len(self.existing_xy)}(r={er}{eb})")
        if self.seen is not None:
            parts.append(f"seen={int(self.seen.sum())}")
        for key in ("geometry", "L", "origin", "r_factor"):
            if key in self.notes:
                v = self.notes[key]
                parts.append(f"{key}={v:.4g}" if isinstance(v, float) else f"{key}={v}")
        return " ".join(parts)


def _loguniform_int(rng, lo, hi) -> int:
    return round(math.exp(rng.uniform(math.log(lo), math.log(hi))))


def _weights(rng, n, kind):
    if kind == "int15":
        w = rng.integers(1, 6, n).astype(float)
    elif kind == "real01":
        w = rng.uniform(0, 1, n)
    elif kind == "tiny":
        if rng.random() < 0.5:
            w = 1e-6 * rng.uniform(0, 1, n)
        else:  # spread over three orders of magnitude below 1e-6
            w = np.exp(rng.uniform(math.log(1e-9), math.log(1e-6), n))
    elif kind == "large":
        c = rng.integers(0, 3)
        if c == 0:
            w = 1e6 * rng.uniform(0, 1, n)
        elif c == 1:
            w = 1e6 * rng.integers(1, 6, n).astype(float)
        else:
            w = np.exp(rng.uniform(math.log(1e5), math.log(1e7), n))
    elif kind == "zeros":
        base = _weights(rng, n, str(rng.choice(["int15", "real01"])))
        p0 = rng.choice([0.3, 0.6, 0.9, 0.97, 1.0])
        w = np.where(rng.random(n) < p0, 0.0, base)
    else:
        raise ValueError(kind)
    return w


def _geometry(rng, kind, n, m, side, r_hint):
    """Demand and candidate points relative to the origin of a square of ``side`` m."""
    if kind == "uniform":
        demand = rng.uniform(0, side, (n, 2))
        cand = rng.uniform(0, side, (m, 2))
    elif kind == "clustered":
        c = int(rng.integers(3, 31))
        centres = rng.uniform(0, side, (c, 2))
        sizes = rng.pareto(1.2, c) + 1.0
        n_cl = int(0.85 * n)
        lab = rng.choice(c, n_cl, p=sizes / sizes.sum())
        sd = side * rng.uniform(0.005, 0.06, c)
        demand = np.vstack(
            [centres[lab] + rng.normal(0, 1, (n_cl, 2)) * sd[lab, None],
             rng.uniform(0, side, (n - n_cl, 2))]
        )  # fmt: skip
        near = int(m * rng.uniform(0, 0.6))
        cand = np.vstack(
            [demand[rng.choice(n, near)] + rng.normal(0, max(r_hint, 1.0) * 0.5, (near, 2)),
             rng.uniform(0, side, (m - near, 2))]
        )  # fmt: skip
    elif kind == "duplicates":
        pool = rng.uniform(0, side, (max(3, n // int(rng.integers(2, 30))), 2))
        demand = pool[rng.choice(len(pool), n)]
        cpool = rng.uniform(0, side, (max(2, m // int(rng.integers(2, 6))), 2))
        cand = cpool[rng.choice(len(cpool), m)]
        # some candidates exactly at demand points (distance 0)
        at = rng.random(m) < 0.2
        cand[at] = demand[rng.choice(n, int(at.sum()))]
    else:
        raise ValueError(kind)
    return demand, cand


def _sector_bearings(rng, m):
    c = int(rng.integers(0, 4))
    if c == 0:
        return [0.0, 90.0, 180.0, 270.0], "4-common"
    if c == 1:
        return [float(b) for b in np.arange(0, 360, 45)], "8-common"
    if c == 2:
        return [float(rng.uniform(-360, 720))], "1-common"
    # ragged: one list per site, 1 to 5 bearings each, some duplicated within the site
    lists = []
    for _ in range(m):
        cnt = int(rng.integers(1, 6))
        b = rng.choice([0.0, 30.0, 45.0, 90.0, 135.0, 180.0, 225.0, 270.0, 315.0, 400.0], cnt)
        lists.append([float(x) for x in b])
    return lists, "ragged"


def _add_budget(rng, inst, k_too: bool):
    m = len(inst.cand)
    if rng.random() < 0.6:
        costs = 1000.0 * rng.integers(20, 151, m)
        inst.notes["costs"] = "int"
    else:
        costs = rng.uniform(1.0, 10.0, m)
        inst.notes["costs"] = "real"
    kb = max(1, min(m, _loguniform_int(rng, 1, 40)))
    if rng.random() < 0.5:
        # exactly the cost of some plan: tight budgets are where tolerances bite
        budget = float(costs[rng.choice(m, kb, replace=False)].sum())
    else:
        budget = float(rng.uniform(0.5, 1.5) * kb * costs.mean())
    if rng.random() < 0.1:
        budget = float(costs.min() * rng.uniform(0.3, 0.99))  # nothing affordable
    inst.costs, inst.budget = costs, budget
    if not k_too:
        inst.k = None


def _add_sector(rng, inst):
    inst.bearings, inst.notes["bearings"] = _sector_bearings(rng, len(inst.cand))
    inst.fov = float(rng.choice([30.0, 60.0, 90.0, 90.0, 120.0, 180.0, 270.0, 359.0, 360.0]))


def _add_existing(rng, inst, sector: bool):
    m = len(inst.cand)
    e = int(rng.integers(1, max(2, min(40, m // 3)) + 1))
    if rng.random() < 0.4:
        # some existing cameras exactly at candidate sites
        ex = inst.cand[rng.choice(m, e)].copy()
    else:
        lo, hi = inst.demand.min(axis=0), inst.demand.max(axis=0)
        ex = rng.uniform(lo, hi + 1e-9, (e, 2))
    inst.existing_xy = ex
    if rng.random() < 0.4:
        inst.existing_radius = float(inst.radius * rng.uniform(0.3, 2.0))
    if sector and rng.random() < 0.6:
        inst.existing_bearings = rng.uniform(0, 360, e)
        if rng.random() < 0.5:
            inst.existing_fov = float(rng.choice([45.0, 90.0, 180.0, 360.0]))
    if rng.random() < 0.2:
        inst.seen = rng.random(len(inst.demand)) < 0.1


def _boundary_instance(rng):
    """Candidates on a lattice; demand exactly at the radius (axes and 3-4-5 offsets, both
    exact in binary), at the site itself, at random angles on the circle, and a little
    inside and outside it."""
    q = 2.0 ** -int(rng.integers(0, 4))
    if rng.random() < 0.7:
        radius = 5.0 * q * int(rng.integers(2, 60))  # 3·r/5 and 4·r/5 exact
    else:
        radius = float(rng.uniform(1, 300))  # not dyadic: the offsets round
    m = _loguniform_int(rng, 20, 400)
    spacing = radius * float(rng.choice([0.5, 1.0, 1.5, 2.0, 3.0]))
    side_n = math.ceil(math.sqrt(m))
    ij = np.array([(i, j) for i in range(side_n) for j in range(side_n)][:m], dtype=float)
    cand = ij * spacing
    n = _loguniform_int(rng, 50, 3000)
    offsets = np.array(
        [(1, 0), (0, 1), (-1, 0), (0, -1), (0.6, 0.8), (-0.8, 0.6), (0.8, -0.6), (-0.6, -0.8),
         (0, 0)]
    )  # fmt: skip
    kinds = rng.integers(0, 4, n)
    site = rng.integers(0, m, n)
    demand = np.empty((n, 2))
    o = offsets[rng.integers(0, len(offsets), n)]
    demand[:] = cand[site] + o * radius
    ang = rng.uniform(0, 2 * np.pi, n)
    ring = cand[site] + radius * np.column_stack([np.cos(ang), np.sin(ang)])
    demand[kinds == 1] = ring[kinds == 1]
    eps = radius * rng.choice([1e-12, 1e-9, 1e-6], n) * rng.choice([-1.0, 1.0], n)
    demand[kinds == 2] = (cand[site] + o * (radius + eps[:, None]))[kinds == 2]
    span = cand.max(axis=0) + radius
    demand[kinds == 3] = rng.uniform(0, 1, (int((kinds == 3).sum()), 2)) * span
    origin_kind = int(rng.integers(0, 3))
    origin = (CENTRE, np.zeros(2), np.array([-1234.567, 89.123]))[origin_kind]
    demand, cand = demand + origin, cand + origin
    return demand, cand, radius, float(span.max()), ("centre", "zero", "odd")[origin_kind]


FAMILIES = (
    "uniform",
    "uniform-real",
    "clustered",
    "duplicates",
    "boundary",
    "tiny",
    "large",
    "zeros",
    "k-range",
    "radius-range",
    "saturated",
    "existing",
    "budget",
    "sector",
    "sector-budget",
    "dense",
)


def make_instance(family: str, seed: int) -> Instance:
    rng = np.random.default_rng([zlib.crc32(family.encode()), seed])
    notes: dict = {}
    geometry = {
        "uniform": "uniform",
        "uniform-real": "uniform",
        "clustered": "clustered",
        "duplicates": "duplicates",
    }.get(family, str(rng.choice(["uniform", "clustered", "duplicates"], p=[0.45, 0.4, 0.15])))
    wkind = {
        "uniform": "int15",
        "uniform-real": "real01",
        "tiny": "tiny",
        "large": "large",
        "zeros": "zeros",
    }.get(family, str(rng.choice(["int15", "real01", "tiny", "large", "zeros"],
                                 p=[0.35, 0.35, 0.1, 0.1, 0.1])))  # fmt: skip
    sector = family in ("sector", "sector-budget") or (
        family not in ("dense", "boundary") and rng.random() < 0.12
    )
    budget = family in ("budget", "sector-budget") or (
        family not in ("dense", "k-range") and rng.random() < 0.12
    )
    existing = family == "existing" or rng.random() < 0.25
    m_hi = 300 if sector else 600
    n = _loguniform_int(rng, 50, 3000)
    m = _loguniform_int(rng, 20, m_hi)
    k = max(1, _loguniform_int(rng, 1, 60))
    if family == "k-range":
        k = int(rng.choice([1, 2, 3, max(1, m // 4), m - 1 if m > 1 else 1, m, m + 1, m + 7]))
    if family == "boundary":
        demand, cand, radius, side, origin_name = _boundary_instance(rng)
        notes.update(geometry="lattice", L=side, origin=origin_name)
        k = min(k, len(cand))
    else:
        side = float(math.exp(rng.uniform(math.log(300), math.log(8000))))
        r_sat = side / math.sqrt(k * math.pi)
        if family == "saturated":
            factor = float(rng.uniform(0.6, 1.4))
        elif family == "radius-range":
            factor = float(rng.choice([1e-7, 1e-3, 0.02, 0.1, 0.3, 0.6, 1.0, 1.5, 3.0]))
        elif family == "dense":
            # enough coverage pairs for the planner's Lagrangian path (>= 300,000 in the
            # merged model): distinct points, each camera seeing a fifth to a third of them
            n, m = int(rng.integers(2500, 3001)), int(rng.integers(450, 601))
            k = int(rng.integers(2, 13))
            geometry = str(rng.choice(["uniform", "clustered"]))
            share = float(rng.uniform(0.3, 0.5))
            r_sat = side / math.sqrt(k * math.pi)
            factor = side * math.sqrt(share / math.pi) / r_sat
        else:
            factor = float(math.exp(rng.uniform(math.log(0.03), math.log(1.3))))
        radius = max(r_sat * factor, 1e-6)
        demand, cand = _geometry(rng, geometry, n, m, side, radius)
        origin = CENTRE if rng.random() < 0.8 else np.zeros(2)
        demand, cand = demand + origin, cand + origin
        notes.update(geometry=geometry, L=side, r_factor=factor)
    weights = _weights(rng, len(demand), wkind)
    notes["weights"] = wkind
    inst = Instance(family, seed, demand, weights, cand, float(radius), k=int(k), notes=notes)
    if sector:
        _add_sector(rng, inst)
    if budget:
        _add_budget(rng, inst, k_too=rng.random() < 0.3)
    if existing:
        _add_existing(rng, inst, sector)
    return inst


# --------------------------------------------------------------------------- brute force
def _sees(demand, cam_xy, radius, bearing=None, fov=360.0):
    """(n,) mask of demand points seen by one camera, by brute force."""
    dx = demand[:, 0] - cam_xy[0]
    dy = demand[:, 1] - cam_xy[1]
    dist = np.sqrt(dx * dx + dy * dy)
    hit = dist <= radius
    if bearing is not None and fov < 360.0:
        compass = np.degrees(np.arctan2(dx, dy))  # 0 = north, clockwise
        off = np.abs(np.mod(compass - bearing + 180.0, 360.0) - 180.0)
        hit &= (off <= fov / 2.0 + 1e-9) | (dist == 0.0)
    return hit


def columns_of(inst: Instance):
    """The (site, bearing) columns of the model; bearing None for circles."""
    m = len(inst.cand)
    if inst.bearings is None or inst.fov >= 360.0:
        return [(j, None) for j in range(m)]
    b = inst.bearings
    per_site = [list(b)] * m if np.ndim(b[0]) == 0 else [list(x) for x in b]
    return [(j, float(np.mod(bb, 360.0))) for j in range(m) for bb in per_site[j]]


def coverage_dense(inst: Instance, cols) -> np.ndarray:
    """(n, n_cols) bool matrix by brute force."""
    n = len(inst.demand)
    dx = inst.demand[:, None, 0] - inst.cand[None, :, 0]
    dy = inst.demand[:, None, 1] - inst.cand[None, :, 1]
    dist = np.sqrt(dx * dx + dy * dy)
    within = dist <= inst.radius
    sites = np.array([c[0] for c in cols], dtype=np.int64)
    a = within[:, sites] if len(cols) else np.zeros((n, 0), dtype=bool)
    if len(cols) and cols[0][1] is not None:
        brg = np.array([c[1] for c in cols])
        compass = np.degrees(np.arctan2(dx[:, sites], dy[:, sites]))
        off = np.abs(np.mod(compass - brg[None, :] + 180.0, 360.0) - 180.0)
        a &= (off <= inst.fov / 2.0 + 1e-9) | (dist[:, sites] == 0.0)
    return a, dist


def pre_covered(inst: Instance) -> np.ndarray:
    n = len(inst.demand)
    cov = np.zeros(n, dtype=bool)
    if inst.existing_xy is not None:
        er = inst.radius if inst.existing_radius is None else inst.existing_radius
        efov = 360.0
        if inst.existing_bearings is not None:
            efov = inst.fov if inst.existing_fov is None else inst.existing_fov
        for e, xy in enumerate(inst.existing_xy):
            b = None if inst.existing_bearings is None else float(inst.existing_bearings[e])
            cov |= _sees(inst.demand, xy, er, b, efov)
    if inst.seen is not None:
        cov |= inst.seen
    return cov


def recompute(inst: Instance, pre: np.ndarray, chosen, chosen_bearing) -> float:
    cov = pre.copy()
    circles = inst.bearings is None or inst.fov >= 360.0
    for t, j in enumerate(chosen):
        b = None if circles or chosen_bearing is None else float(chosen_bearing[t])
        cov |= _sees(inst.demand, inst.cand[int(j)], inst.radius, b, 360.0 if circles else inst.fov)
    return float(inst.weights[cov].sum())


# --------------------------------------------------------------------------- references
def reference_highs(inst: Instance, a: np.ndarray, cols, pre: np.ndarray, time_limit: float):
    """Exact optimum of the compact MCLP with HiGHS. Returns dict(value, plan, status, ...)."""
    import highspy
    import scipy.sparse as sp

    w = inst.weights
    free = (~pre) & (w > 0) & a.any(axis=1)
    rows = np.flatnonzero(free)
    const = float(w[pre].sum())
    t0 = time.perf_counter()
    if len(rows) == 0:
        return {"value": const, "plan": [], "status": "optimal", "bound": const,
                "time": 0.0, "rows": 0}  # fmt: skip
    nx, ny = len(cols), len(rows)
    wmax = float(w[rows].max())
    wn = w[rows] / wmax
    cov = sp.csr_matrix(a[rows].astype(np.float64))
    blocks = [[-cov, sp.identity(ny, format="csr")]]
    lo, hi = [np.full(ny, -np.inf)], [np.zeros(ny)]
    if inst.k is not None:
        blocks.append([sp.csr_matrix(np.ones((1, nx))), sp.csr_matrix((1, ny))])
        lo.append([-np.inf])
        hi.append([float(inst.k)])
    if inst.budget is not None:
        c = np.array([inst.costs[s] for s, _ in cols], dtype=np.float64)
        blocks.append([sp.csr_matrix(c.reshape(1, -1)), sp.csr_matrix((1, ny))])
        lo.append([-np.inf])
        hi.append([float(inst.budget)])
    if cols and cols[0][1] is not None:
        sites = np.array([s for s, _ in cols])
        us, inv = np.unique(sites, return_inverse=True)
        blocks.append(
            [sp.csr_matrix((np.ones(nx), (inv, np.arange(nx))), shape=(len(us), nx)),
             sp.csr_matrix((len(us), ny))]
        )  # fmt: skip
        lo.append(np.full(len(us), -np.inf))
        hi.append(np.ones(len(us)))
    mat = sp.bmat(blocks, format="csc")
    mat.sort_indices()
    lp = highspy.HighsLp()
    lp.num_col_ = nx + ny
    lp.num_row_ = mat.shape[0]
    lp.col_cost_ = np.concatenate([np.zeros(nx), wn])
    lp.col_lower_ = np.zeros(nx + ny)
    lp.col_upper_ = np.ones(nx + ny)
    lp.row_lower_ = np.concatenate([np.asarray(x, dtype=float) for x in lo])
    lp.row_upper_ = np.concatenate([np.asarray(x, dtype=float) for x in hi])
    lp.sense_ = highspy.ObjSense.kMaximize
    lp.a_matrix_.format_ = highspy.MatrixFormat.kColwise
    lp.a_matrix_.num_col_ = nx + ny
    lp.a_matrix_.num_row_ = mat.shape[0]
    lp.a_matrix_.start_ = mat.indptr.astype(np.int32)
    lp.a_matrix_.index_ = mat.indices.astype(np.int32)
    lp.a_matrix_.value_ = mat.data
    lp.integrality_ = [highspy.HighsVarType.kInteger] * nx + [highspy.HighsVarType.kContinuous] * ny
    h = highspy.Highs()
    h.setOptionValue("output_flag", False)
    h.setOptionValue("mip_rel_gap", 0.0)
    h.setOptionValue("mip_abs_gap", 0.0)
    h.setOptionValue("time_limit", float(time_limit))
    h.passModel(lp)
    h.run()
    status = h.getModelStatus()
    info = h.getInfo()
    x = np.asarray(h.getSolution().col_value[:nx])
    pick = np.flatnonzero(x > 0.5)
    plan = [cols[j] for j in pick]
    value = recompute(inst, pre, [s for s, _ in plan], [b for _, b in plan])
    return {
        "value": value,
        "plan": plan,
        "status": "optimal" if status == highspy.HighsModelStatus.kOptimal else h.modelStatusToString(status),
        "bound": const + float(info.mip_dual_bound) * wmax,
        "time": time.perf_counter() - t0,
        "rows": ny,
    }  # fmt: skip


def reference_spopt(inst: Instance, dist: np.ndarray, pre: np.ndarray, time_limit: float):
    """spopt's MCLP (CBC) on the rows not already seen; circles, cardinality only."""
    import pulp
    from spopt.locate import MCLP

    w = inst.weights
    rows = np.flatnonzero(~pre & (w > 0))
    t0 = time.perf_counter()
    if len(rows) == 0:
        return {"value": float(w[pre].sum()), "status": "optimal", "time": 0.0}
    wn = w[rows] / float(w[rows].max())
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model = MCLP.from_cost_matrix(dist[rows], wn, service_radius=inst.radius,
                                      p_facilities=int(inst.k))  # fmt: skip
        model.problem.solve(pulp.PULP_CBC_CMD(msg=False, timeLimit=time_limit, gapRel=0.0,
                                              gapAbs=0.0))  # fmt: skip
    elapsed = time.perf_counter() - t0
    status = pulp.LpStatus[model.problem.status]
    chosen = [j for j, var in enumerate(model.fac_vars) if (var.value() or 0) > 0.5]
    finished = status == "Optimal" and elapsed < time_limit * 0.95
    return {
        "value": recompute(inst, pre, chosen, None),
        "status": "optimal" if finished else f"{status}/limit?",
        "time": elapsed,
        "chosen": len(chosen),
    }


# --------------------------------------------------------------------------- checks
def close(a: float, b: float) -> bool:
    tol = REL * abs(b) if b != 0 else 1e-9
    return abs(a - b) <= tol


def check_plan(inst, pre, ref, chosen, chosen_bearing, reported, status, gap, bound,
               existing_weight, marginal, allowed, label):  # fmt: skip
    """Returns (failures, warnings, recomputed)."""
    fails, warns = [], []
    chosen = [int(c) for c in chosen]
    got = recompute(inst, pre, chosen, chosen_bearing)
    if not close(reported, got):
        fails.append(f"{label}: reported covered_weight {reported!r} != recomputed {got!r}")
    if inst.k is not None and len(chosen) > inst.k:
        fails.append(f"{label}: {len(chosen)} cameras chosen > K={inst.k}")
    if inst.budget is not None:
        cost = float(np.sum(inst.costs[chosen])) if chosen else 0.0
        if cost > inst.budget * (1 + 1e-12):
            fails.append(f"{label}: cost {cost!r} > budget {inst.budget!r}")
    if len(set(chosen)) != len(chosen):
        fails.append(f"{label}: a site chosen twice: {sorted(chosen)}")
    if chosen_bearing is not None and allowed is not None:
        for j, b in zip(chosen, chosen_bearing, strict=True):
            if not any(abs(float(b) - a) < 1e-9 for a in allowed[j]):
                fails.append(f"{label}: bearing {b} not offered at site {j} ({allowed[j]})")
    ref_ok = ref is not None and ref["status"] == "optimal"
    if ref is not None and got > ref["value"] + (REL * abs(ref["value"]) or 1e-9):
        warns.append(
            f"REF: {label} plan worth {got!r} beats the reference {ref['value']!r} "
            f"(reference status {ref['status']})"
        )
    if status is not None:
        if status not in ("optimal", "time_limit"):
            fails.append(f"{label}: unexpected status {status!r}")
        if status == "optimal" and ref_ok and not close(got, ref["value"]):
            fails.append(
                f"{label}: status optimal but covered {got!r} != reference optimum "
                f"{ref['value']!r} (diff {ref['value'] - got:.3g}, rel "
                f"{(ref['value'] - got) / max(abs(ref['value']), 1e-300):.3g})"
            )
        if bound is None:
            fails.append(f"{label}: no objective_bound")
        else:
            if ref is not None and bound < ref["value"] - (REL * abs(ref["value"]) or 1e-9):
                fails.append(f"{label}: bound {bound!r} < reference optimum {ref['value']!r}")
            if bound < reported - (REL * abs(reported) or 1e-9):
                fails.append(f"{label}: bound {bound!r} < its covered_weight {reported!r}")
        if gap is None:
            fails.append(f"{label}: no gap")
        else:
            if status == "optimal" and gap > 1e-9:
                fails.append(f"{label}: status optimal with gap {gap!r}")
            if gap < 0:
                fails.append(f"{label}: negative gap {gap!r}")
            if bound is not None and math.isfinite(bound):
                new = reported - existing_weight
                expect = max(bound - reported, 0.0) / max(new, 1e-12)
                slack = 1e-6 * expect + 1e-9 * max(abs(reported), 1e-300) / max(new, 1e-12)
                if abs(gap - expect) > slack:
                    fails.append(
                        f"{label}: gap {gap!r} inconsistent with (bound-covered)/new = {expect!r}"
                    )
            elif bound is not None and math.isfinite(gap):
                fails.append(f"{label}: infinite bound but finite gap {gap!r}")
            if status == "time_limit" and gap == 0:
                warns.append(f"{label}: status time_limit with gap 0")
    if marginal is not None:
        new = reported - existing_weight
        total = float(np.sum(marginal))
        if abs(total - new) > REL * max(abs(new), abs(reported)) + 1e-12 * max(abs(reported), 1):
            fails.append(f"{label}: marginal gains sum {total!r} != new weight {new!r}")
        if len(marginal) > 1 and np.any(np.diff(marginal) > REL * max(abs(reported), 1e-300)):
            fails.append(f"{label}: marginal gains increase: {list(marginal)[:10]}")
    return fails, warns, got


def allowed_bearings(inst):
    if inst.bearings is None or inst.fov >= 360.0:
        return None
    cols = columns_of(inst)
    out: dict[int, list[float]] = {}
    for s, b in cols:
        out.setdefault(s, []).append(b)
    return out


# --------------------------------------------------------------------------- runs
def run_instance(inst, args, do_spopt: bool):
    cols = columns_of(inst)
    a, dist = coverage_dense(inst, cols)
    pre = pre_covered(inst)
    ref = reference_highs(inst, a, cols, pre, args.ref_limit)
    fails, warns = [], []
    extra = []
    if ref["status"] != "optimal":
        warns.append(f"reference HiGHS not optimal ({ref['status']}): optimum checks skipped")
    ref_for_checks = ref if ref["status"] == "optimal" else None
    # the planner
    t0 = time.perf_counter()
    PATHS.seen.clear()
    try:
        p = CoveragePlanner.from_points(inst.demand, inst.weights, inst.cand, **inst.kwargs())
        p.solve(method="milp", time_limit=args.time_limit)
        paths = "+".join(sorted(PATHS.seen)) or "-"

    except Exception as exc:  # a crash is a finding
        fails.append(f"milp: raised {type(exc).__name__}: {exc}")
        return fails, warns, ref, None, f"CRASH {type(exc).__name__}"
    t_ours = time.perf_counter() - t0
    # the planner's coverage relation against brute force (a diagnostic for failures)
    if inst.bearings is None or inst.fov >= 360.0:
        cm = p.coverage.toarray() > 0
        if cm.shape == a.shape and (cm != a).any():
            bad = np.argwhere(cm != a)[:5].tolist()
            fails.append(f"coverage matrix differs from brute force in {(cm != a).sum()} "
                         f"pairs, e.g. (point, site) {bad}")  # fmt: skip
    elif p.coverage.shape[1] == len(cols):
        cm = p.coverage.toarray() > 0
        if (cm != a).any():
            fails.append(f"sector coverage differs from brute force in {(cm != a).sum()} pairs")
    if not close(p.existing_weight, float(inst.weights[pre].sum())):
        fails.append(
            f"existing_weight {p.existing_weight!r} != brute force {float(inst.weights[pre].sum())!r}"
        )
    f, w, got = check_plan(
        inst, pre, ref_for_checks, p.chosen, p.chosen_bearing, p.covered_weight, p.status, p.gap,
        p.objective_bound, p.existing_weight, p.marginal_gain, allowed_bearings(inst), "milp",
    )  # fmt: skip
    fails += f
    warns += w
    summ = p.summary()
    if summ["chosen"] != len(p.chosen) or summ["covered_weight"] != p.covered_weight:
        fails.append("summary() disagrees with the attributes")
    # the greedy preview
    try:
        g = CoveragePlanner.from_points(inst.demand, inst.weights, inst.cand, **inst.kwargs())
        g.solve(method="greedy", time_limit=args.time_limit)
        f, w, g_got = check_plan(
            inst, pre, ref_for_checks, g.chosen, g.chosen_bearing, g.covered_weight, None, None,
            None, g.existing_weight, g.marginal_gain, allowed_bearings(inst), "greedy",
        )  # fmt: skip
        fails += f
        warns += w
        if g.status != "greedy" or g.gap is not None:
            fails.append(f"greedy: status {g.status!r} gap {g.gap!r}")
        extra.append(f"greedy {g_got:.10g}")
    except Exception as exc:
        fails.append(f"greedy: raised {type(exc).__name__}: {exc}")
    # spopt
    if do_spopt:
        sp_ref = reference_spopt(inst, dist, pre, args.spopt_limit)
        extra.append(f"spopt {sp_ref['value']:.10g} ({sp_ref['status']}, {sp_ref['time']:.1f}s)")
        both = sp_ref["status"] == "optimal" and ref["status"] == "optimal"
        if both and not close(sp_ref["value"], ref["value"]):
            warns.append(
                f"REF: spopt+CBC optimum {sp_ref['value']!r} != HiGHS reference {ref['value']!r}"
            )
        if (
            sp_ref["status"] == "optimal"
            and p.status == "optimal"
            and not close(got, sp_ref["value"])
        ):
            fails.append(f"milp: optimal {got!r} != spopt+CBC optimum {sp_ref['value']!r}")
    gap = "n/a" if p.gap is None else f"{p.gap:.2e}"
    summary = (
        f"ref {ref['value']:.10g} ({ref['status']}, {ref['time']:.1f}s) | ours {got:.10g} "
        f"({p.status}, gap {gap}, {t_ours:.1f}s, model {p.n_model_rows}x{p.n_model_columns}, "
        f"pairs {p.coverage.nnz}, {paths}) | " + " | ".join(extra)
    )
    return fails, warns, ref, p, summary


def dump(inst: Instance, directory: Path) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / f"{inst.family}-{inst.seed}.npz"
    arrays = {"demand": inst.demand, "weights": inst.weights, "cand": inst.cand}
    for name in ("costs", "existing_xy", "existing_bearings", "seen"):
        if getattr(inst, name) is not None:
            arrays[name] = getattr(inst, name)
    meta = {
        "radius": inst.radius, "k": inst.k, "budget": inst.budget, "fov": inst.fov,
        "bearings": inst.bearings, "existing_radius": inst.existing_radius,
        "existing_fov": inst.existing_fov,
    }  # fmt: skip
    np.savez(path, meta=json.dumps(meta), **arrays)
    return path


def repro_snippet(inst: Instance) -> str:
    kw = ", ".join(
        f"{k}={v!r}" if not isinstance(v, np.ndarray) else f"{k}=<{v.shape} array>"
        for k, v in inst.kwargs().items()
        if k != "bearings"
    )
    b = "" if inst.bearings is None else f", bearings={inst.notes.get('bearings')}"
    return (
        f"inst = make_instance({inst.family!r}, {inst.seed}); "
        f"CoveragePlanner.from_points(inst.demand, inst.weights, inst.cand, **inst.kwargs())"
        f"  # {kw}{b}"
    )


# --------------------------------------------------------------------------- CLI
def run_cli_instance(idx: int, args):
    """One instance through ``safemap plan cameras``; returns (fails, warns, line)."""
    from pyproj import Transformer

    rng = np.random.default_rng([zlib.crc32(b"cli"), args.seed + idx])
    variant = ("plain", "existing", "budget", "sector")[idx % 4]
    n, m = _loguniform_int(rng, 100, 2000), _loguniform_int(rng, 20, 300)
    k = _loguniform_int(rng, 1, 40)
    side = float(rng.uniform(1000, 6000))
    radius = float(round(side / math.sqrt(k * math.pi) * rng.uniform(0.05, 1.2), 3))
    geometry = str(rng.choice(["uniform", "clustered", "duplicates"]))
    demand, cand = _geometry(rng, geometry, n, m, side, radius)
    demand, cand = demand + CENTRE - side / 2, cand + CENTRE - side / 2
    weights = _weights(rng, n, str(rng.choice(["int15", "real01"])))
    to_ll = Transformer.from_crs(3826, 4326, always_xy=True)
    to_xy = Transformer.from_crs(4326, 3826, always_xy=True)

    def write(path, xy, props):
        lon, lat = to_ll.transform(xy[:, 0], xy[:, 1])
        feats = [
            {"type": "Feature",
             "properties": {name: vals[i] for name, vals in props.items()},
             "geometry": {"type": "Point", "coordinates": [float(lon[i]), float(lat[i])]}}
            for i in range(len(xy))
        ]  # fmt: skip
        path.write_text(json.dumps({"type": "FeatureCollection", "features": feats}))
        back = np.array(
            [f["geometry"]["coordinates"] for f in json.loads(path.read_text())["features"]]
        )
        x, y = to_xy.transform(back[:, 0], back[:, 1])
        return np.column_stack([x, y])  # the coordinates the command will read

    with tempfile.TemporaryDirectory() as tmp:
        d, c, e, out = (
            Path(tmp, name) for name in ("D.geojson", "C.geojson", "E.geojson", "P.geojson")
        )
        ids = [int(v) for v in rng.permutation(10 * m)[:m] + 1000]  # ids that are not indices
        cand_props = {"id": ids}
        inst = Instance("cli", args.seed + idx, demand, weights, cand, radius, k=k,
                        notes={"weights": "cli", "geometry": geometry})  # fmt: skip
        cmd = [str(ROOT / ".venv" / "bin" / "safemap"), "plan", "cameras", "--demand", str(d),
               "--candidates", str(c), "--radius", repr(radius), "--time-limit",
               str(args.time_limit), "--out", str(out)]  # fmt: skip
        if variant == "budget":
            costs = 1000.0 * rng.integers(20, 151, m)
            inst.costs, inst.budget = (
                costs,
                float(costs[rng.choice(m, min(m, k), replace=False)].sum()),
            )
            cand_props["cost"] = costs.tolist()
            cmd += ["--budget", repr(inst.budget)]
            if rng.random() < 0.5:
                inst.k = None
        if inst.k is not None:
            cmd += ["--k", str(inst.k)]
        if variant == "sector":
            inst.bearings = [0.0, 90.0, 180.0, 270.0]
            inst.fov = float(rng.choice([60.0, 90.0, 120.0]))
            cmd += ["--bearings", "0,90,180,270", "--fov", repr(inst.fov)]
        inst.demand = write(d, demand, {"weight": weights.tolist()})
        inst.cand = write(c, cand, cand_props)
        if variant == "existing":
            ex = rng.uniform(demand.min(axis=0), demand.max(axis=0), (int(rng.integers(1, 10)), 2))
            inst.existing_xy = write(e, ex, {"name": [f"cam{i}" for i in range(len(ex))]})
            cmd += ["--existing", str(e)]
        t0 = time.perf_counter()
        proc = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True)
        elapsed = time.perf_counter() - t0
        desc = f"cli#{idx} seed={args.seed + idx} {variant} {inst.describe()}"
        if proc.returncode != 0:
            return [f"CLI exit {proc.returncode}: {proc.stderr[-800:]}"], [], desc, "CRASH"
        plan = json.loads(out.read_text())
    s = plan["summary"]
    pos = {v: i for i, v in enumerate(ids)}
    chosen = [pos[int(f["properties"]["id"])] for f in plan["features"]]
    cbear = [f["properties"]["bearing"] for f in plan["features"]] if variant == "sector" else None
    cols = columns_of(inst)
    a, _ = coverage_dense(inst, cols)
    pre = pre_covered(inst)
    ref = reference_highs(inst, a, cols, pre, args.ref_limit)
    ref_ok = ref if ref["status"] == "optimal" else None
    fails, warns, got = check_plan(
        inst, pre, ref_ok, chosen, cbear, s["covered_weight"], s["status"], s["gap"],
        s["objective_bound"], s["existing_weight"],
        [f["properties"]["marginal_gain"] for f in plan["features"]], allowed_bearings(inst), "cli",
    )  # fmt: skip
    if not close(s["total_weight"], float(weights.sum())):
        fails.append(f"cli: total_weight {s['total_weight']!r} != {float(weights.sum())!r}")
    line = (f"ref {ref['value']:.10g} ({ref['status']}) | cli {got:.10g} ({s['status']}, gap "
            f"{s['gap']}, {elapsed:.1f}s)")  # fmt: skip
    return fails, warns, desc, line


# --------------------------------------------------------------------------- main
def _quiet_highs_banner() -> None:
    """Create the first HiGHS instance with fd 1 on /dev/null (HiGHS prints a banner)."""
    import highspy

    sys.stdout.flush()
    saved = os.dup(1)
    try:
        with open(os.devnull, "w") as devnull:
            os.dup2(devnull.fileno(), 1)
            highspy.Highs()
    finally:
        os.dup2(saved, 1)
        os.close(saved)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=48,
                        help="number of instances in all (families taken in turn)")  # fmt: skip
    parser.add_argument("--seed", type=int, default=0, help="first seed")
    parser.add_argument("--family", default="all",
                        help=f"comma-separated, of: {', '.join(FAMILIES)} (default all)")  # fmt: skip
    parser.add_argument("--time-limit", type=float, default=30.0, help="planner time limit, s")
    parser.add_argument("--ref-limit", type=float, default=120.0, help="HiGHS reference limit, s")
    parser.add_argument("--spopt-every", type=int, default=4,
                        help="run spopt+CBC on every N-th eligible instance (0: never)")  # fmt: skip
    parser.add_argument("--spopt-limit", type=float, default=60.0, help="CBC time limit, s")
    parser.add_argument("--spopt-max-pairs", type=int, default=400_000,
                        help="skip spopt above this many demand×candidate pairs")  # fmt: skip
    parser.add_argument("--cli", type=int, default=0, help="also run N instances via the CLI")
    parser.add_argument("--dump", type=Path, help="save failing instances here (.npz)")
    args = parser.parse_args(argv)
    fams = FAMILIES if args.family == "all" else tuple(args.family.split(","))
    for f in fams:
        if f not in FAMILIES:
            parser.error(f"unknown family {f}")
    _quiet_highs_banner()
    print(f"fuzz_placement: n={args.n} seed={args.seed} families={','.join(fams)} "
          f"time_limit={args.time_limit} nice={os.nice(0)}", flush=True)  # fmt: skip
    n_fail = n_inst = n_warn = 0
    per_family: dict[str, list[int]] = {}
    failures: list[str] = []
    notes: list[str] = []
    eligible = 0
    t_start = time.perf_counter()
    for i in range(args.n):
        fam = fams[i % len(fams)]
        seed = args.seed + i // len(fams)
        inst = make_instance(fam, seed)
        circle_card = inst.budget is None and (inst.bearings is None or inst.fov >= 360.0)
        do_spopt = False
        if (args.spopt_every and circle_card and inst.k <= len(inst.cand)
                and len(inst.demand) * len(inst.cand) <= args.spopt_max_pairs):  # fmt: skip
            eligible += 1
            do_spopt = eligible % args.spopt_every == 1 or args.spopt_every == 1
        head = f"[{i:4d}] {fam:13s} seed={seed:<5d} {inst.describe()}"
        print(head, flush=True)
        fails, warns, _, _, line = run_instance(inst, args, do_spopt)
        n_inst += 1
        stats = per_family.setdefault(fam, [0, 0])
        stats[0] += 1
        verdict = "OK" if not fails else f"FAIL({len(fails)})"
        print(f"       {line} | {verdict}", flush=True)
        repro = f"--family {fam} --seed {seed} --n 1"
        for msg in fails:
            print(f"       FAIL: {msg}   [repro: {repro}]", flush=True)
            failures.append(f"{fam} seed={seed} ({inst.describe()}): {msg}")
        for msg in warns:
            print(f"       warn: {msg}   [repro: {repro}]", flush=True)
            notes.append(f"{fam} seed={seed}: {msg}")
        if fails:
            n_fail += 1
            stats[1] += 1
            if args.dump:
                print(f"       dumped to {dump(inst, args.dump)}; {repro_snippet(inst)}")
        n_warn += bool(warns)
    for i in range(args.cli):
        fails, warns, desc, line = run_cli_instance(i, args)
        n_inst += 1
        stats = per_family.setdefault("cli", [0, 0])
        stats[0] += 1
        print(f"[cli {i:2d}] {desc}\n       {line} | {'OK' if not fails else 'FAIL'}", flush=True)
        for msg in fails:
            print(f"       FAIL: {msg}   [repro: --cli {i + 1} --n 0 --seed {args.seed}]")
            failures.append(f"{desc}: {msg}")
        for msg in warns:
            print(f"       warn: {msg}")
            notes.append(f"{desc}: {msg}")
        if fails:
            n_fail += 1
            stats[1] += 1
    print("\n==== summary ====")
    for fam, (cnt, bad) in per_family.items():
        print(f"  {fam:13s} {cnt:4d} instances, {bad} failing")
    print(f"  notes/warnings on {n_warn} instances")
    for msg in notes:
        print(f"  note: {msg}")
    for msg in failures:
        print(f"  FAIL: {msg}")
    print(f"{n_inst} instances, {n_fail} failing ({len(failures)} failed checks), "
          f"{time.perf_counter() - t_start:.0f} s")  # fmt: skip
    return 1 if n_fail else 0


if __name__ == "__main__":
    raise SystemExit(main())
