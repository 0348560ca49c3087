"""CCTV placement as a maximal covering location problem (MCLP).

Build, solve, read (``../shared/STYLE.md`` rule 7, after ``spopt.locate``)::

    planner = CoveragePlanner.from_points(demand_xy, weights, candidate_xy, radius=100, k=50)
    planner.solve(method="milp", time_limit=60)
    planner.chosen, planner.marginal_gain, planner.covered_weight, planner.gap

All coordinates are metres in EPSG:3826 (TWD97 / TM2 zone 121). The coverage relation is found
through a grid of cells and kept as a sparse matrix; demand points with the same set of covering
columns are merged into one weighted row before any optimisation, which is what keeps city-sized
instances small. The exact model is solved through HiGHS (``highspy``), warm-started with greedy plus
swap local search; the greedy alone gives instant previews. Cardinality models are first
solved by an LP branch and bound with HiGHS solving the node LPs (``_branch_and_bound``: on
these models it closes the tree in a few dozen nodes where HiGHS's MILP spends seconds on root
cuts), HiGHS's MILP taking over what it leaves open; budget and sector models go to HiGHS's
MILP directly. On large cardinality models (see ``LAGRANGIAN_MIN_PAIRS``) the smoothed
Lagrangian dual first supplies a proven bound near the LP bound and a second plan, then
subgradient steps fix variables that shrink what HiGHS has to solve; meanwhile a second thread
improves the plan by re-planning one neighbourhood at a time exactly (``_window_search``). The
reported gap is always against the best proven bound of all.
"""

from __future__ import annotations

import logging
import math
import os
import sys
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp

from geo.errors import (
    EmptyAnalysisInput,
    InvalidParameter,
    MissingAttribute,
)

log = logging.getLogger(__name__)

METHODS = ("milp", "greedy")
# Status values of a solved planner (also written into the plan's summary).
STATUS_OPTIMAL = "optimal"
STATUS_TIME_LIMIT = "time_limit"
STATUS_GREEDY = "greedy"
STATUS_NOT_SOLVED = "not_solved"

# A relative improvement below this is noise from summing floats, not a better plan.
_EPS = 1e-9


# --------------------------------------------------------------------------- coverage
def _as_xy(name: str, xy, *, allow_empty: bool = False) -> np.ndarray:
    arr = np.asarray(xy, dtype=np.float64)
    if arr.ndim != 2 or arr.shape[1] != 2:
        if arr.size == 0 and allow_empty:
            return np.empty((0, 2))
        raise InvalidParameter(
            f"{name}座標必須是 N×2 的公尺座標陣列。", detail=f"{name}: {arr.shape}"
        )
    if len(arr) == 0 and not allow_empty:
        raise EmptyAnalysisInput(f"{name}沒有任何點。", detail=f"{name}: empty")
    if not np.isfinite(arr).all():
        raise InvalidParameter(f"{name}座標含有空值或無限大。", detail=f"{name}: non-finite")
    return arr


def _bearing_columns(
    n_sites: int, bearings, fov: float
) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
    """Columns of the model: (site index, bearing) pairs, site-major.

    ``bearings`` is None (one circular column per site), one sequence of degrees for every
    site, or one sequence per site (ragged). Returns ``col_site``, ``col_bearing`` (NaN for
    circles) and the per-site column counts (None for circles).
    """
    if bearings is None or fov >= 360.0:
        return np.arange(n_sites), np.full(n_sites, np.nan), None
    if len(bearings) and np.ndim(bearings[0]) == 0:
        per_site = [np.asarray(bearings, dtype=np.float64)] * n_sites
    else:
        if len(bearings) != n_sites:
            raise InvalidParameter(
                "每個候選點的方位角清單數量必須與候選點數相同。",
                detail=f"{len(bearings)} bearing lists for {n_sites} sites",
            )
        per_site = [np.atleast_1d(np.asarray(b, dtype=np.float64)) for b in bearings]
    counts = np.array([len(b) for b in per_site], dtype=np.int64)
    flat = np.concatenate(per_site) if counts.sum() else np.empty(0)
    if (counts == 0).any() or not np.isfinite(flat).all():
        raise InvalidParameter("方位角必須是有限的度數，且每個候選點至少一個。")
    return np.repeat(np.arange(n_sites), counts), np.mod(flat, 360.0), counts


def _sector_filter(
    dx: np.ndarray, dy: np.ndarray, bearing: np.ndarray, fov: float, dist: np.ndarray
) -> np.ndarray:
    """True where a point at offset (dx, dy) lies within ±fov/2 of the compass ``bearing``.

    Bearings are compass degrees: 0 north (+y), 90 east (+x), clockwise. A point at the
    camera itself (distance 0) is seen whatever the bearing.
    """
    theta = np.degrees(np.arctan2(dx, dy))
    off = np.abs((theta - bearing + 180.0) % 360.0 - 180.0)
    return (off <= fov / 2.0 + 1e-9) | (dist == 0.0)


def _pairs_within(
    site_xy: np.ndarray, demand_xy: np.ndarray, radius: float
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Every (site, point, distance) with distance ``<= radius``, as three arrays.

    Points are bucketed into square cells of half the radius and sorted by cell, so the points
    near a site are five runs of consecutive cells (one per column of the 5 × 5 cells around
    the site's own); the distances are then tested in bulk. A grid rather than SciPy's KD-tree:
    as fast up to a few hundred thousand pairs and about twice as slow at millions (0.3 s
    against 0.13 s for 2.6 million), but it spares every command-line run the 0.1 s import of
    ``scipy.spatial``. The test is ``sqrt(dx² + dy²) <= radius``, as in :func:`evaluate`.
    """
    m = len(site_xy)
    lo = np.minimum(site_xy.min(axis=0), demand_xy.min(axis=0))
    hi = np.maximum(site_xy.max(axis=0), demand_xy.max(axis=0))
    # cells never smaller than 2⁻²⁸ of the extent, so that cell keys fit in int64 whatever
    # the radius; a cell larger than half the radius only means more distances to test
    # A point within the radius must lie at most two cells from the site's, also after
    # rounding: the cell is a few units in the last place wider than half the radius (with
    # exactly half, a point exactly at the radius could round into the third cell).
    pad = 8.0 * float(np.spacing(np.abs(np.concatenate([lo, hi])).max()))
    cell = max(float(radius) / 2.0 * (1.0 + 1e-12) + pad, float((hi - lo).max()) / 2**28)
    d_cell = ((demand_xy - lo) // cell).astype(np.int64) + 2
    s_cell = ((site_xy - lo) // cell).astype(np.int64) + 2
    ny = int(max(d_cell[:, 1].max(), s_cell[:, 1].max())) + 4
    d_key = d_cell[:, 0] * ny + d_cell[:, 1]
    order = np.argsort(d_key, kind="stable")
    keys = d_key[order]
    # coordinates in cell order: the runs read memory in sequence
    dx_sorted, dy_sorted = demand_xy[order, 0], demand_xy[order, 1]
    sx, sy = site_xy[:, 0], site_xy[:, 1]
    found_s, found_p, found_d = [], [], []
    for off in (-2, -1, 0, 1, 2):
        base = (s_cell[:, 0] + off) * ny + s_cell[:, 1]
        start = np.searchsorted(keys, base - 2, "left")
        count = np.searchsorted(keys, base + 2, "right") - start
        total = int(count.sum())
        if total == 0:
            continue
        site = np.repeat(np.arange(m), count)
        pos = np.arange(total) - np.repeat(np.cumsum(count) - count - start, count)
        dx = dx_sorted[pos] - sx[site]
        dy = dy_sorted[pos] - sy[site]
        dist = np.sqrt(dx * dx + dy * dy)
        keep = dist <= radius
        found_s.append(site[keep])
        found_p.append(order[pos[keep]])
        found_d.append(dist[keep])
    if not found_s:
        return np.zeros(0, np.int64), np.zeros(0, np.int64), np.zeros(0)
    return np.concatenate(found_s), np.concatenate(found_p), np.concatenate(found_d)


def coverage_matrix(
    demand_xy: np.ndarray,
    site_xy: np.ndarray,
    radius: float,
    *,
    bearings=None,
    fov: float = 360.0,
) -> tuple[sp.csr_matrix, np.ndarray, np.ndarray]:
    """Sparse coverage relation between demand points (rows) and camera columns.

    Parameters
    ----------
    demand_xy, site_xy : (n, 2) and (m, 2) arrays of EPSG:3826 metres.
    radius : range of a camera in metres; a point at distance ``<= radius`` can be covered.
    bearings : None for circular coverage, else compass degrees (one list for all sites or
        one list per site); every (site, bearing) pair becomes one column.
    fov : field of view in degrees of a sector camera (ignored without ``bearings``).

    Returns
    -------
    A : scipy.sparse.csr_matrix, shape (n, n_columns), ``A[i, c] = 1`` when column ``c``
        covers point ``i``; never dense.
    col_site : (n_columns,) site index of each column.
    col_bearing : (n_columns,) bearing of each column in degrees, NaN for circles.
    """
    col_site, col_bearing, counts = _bearing_columns(len(site_xy), bearings, fov)
    n = len(demand_xy)
    if len(site_xy) == 0 or n == 0:
        return sp.csr_matrix((n, len(col_site))), col_site, col_bearing
    # inclusive of the radius, as spopt's `cost_matrix <= service_radius`
    site, point, dist = _pairs_within(site_xy, demand_xy, radius)
    if counts is None:
        cols, rows = site, point
    else:
        starts = np.concatenate([[0], np.cumsum(counts)[:-1]])
        reps = counts[site]
        # each in-range pair is tested against every bearing of its site
        pair_idx = np.repeat(np.arange(len(site)), reps)
        within = np.arange(len(pair_idx)) - np.repeat(np.cumsum(reps) - reps, reps)
        cols = starts[site[pair_idx]] + within
        rows = point[pair_idx]
        dx = demand_xy[rows, 0] - site_xy[site[pair_idx], 0]
        dy = demand_xy[rows, 1] - site_xy[site[pair_idx], 1]
        keep = _sector_filter(dx, dy, col_bearing[cols], fov, dist[pair_idx])
        cols, rows = cols[keep], rows[keep]
    data = np.ones(len(rows), dtype=np.float64)
    a = sp.csr_matrix((data, (rows, cols)), shape=(n, len(col_site)))
    a.sum_duplicates()
    a.sort_indices()
    return a, col_site, col_bearing


def covered_by(
    demand_xy: np.ndarray,
    camera_xy: np.ndarray,
    radius: float,
    *,
    bearings: np.ndarray | None = None,
    fov: float = 360.0,
) -> np.ndarray:
    """Boolean mask of the demand points seen by at least one camera (one bearing each)."""
    covered = np.zeros(len(demand_xy), dtype=bool)
    if len(camera_xy) == 0:
        return covered
    per_camera = None if bearings is None else [[b] for b in np.asarray(bearings, float)]
    a, _, _ = coverage_matrix(demand_xy, camera_xy, radius, bearings=per_camera, fov=fov)
    covered[np.diff(a.indptr) > 0] = True
    return covered


def evaluate(
    demand_xy,
    weights,
    site_xy,
    radius: float,
    *,
    bearings=None,
    fov: float = 360.0,
    existing_xy=None,
    existing_radius: float | None = None,
    existing_bearings=None,
    existing_fov: float | None = None,
) -> float:
    """Covered weight of a set of cameras, recomputed by brute force (no KD-tree, no model).

    Independent of :class:`CoveragePlanner`'s machinery on purpose: tests and benchmarks use
    it to check a plan. A point is covered when some camera (chosen or existing) is within
    ``radius`` and, for sector cameras, the point lies within ±``fov``/2 of its bearing.

    Parameters
    ----------
    demand_xy : (n, 2) EPSG:3826 metres. weights : (n,).
    site_xy : (k, 2) chosen sites. bearings : (k,) bearing of each chosen site, or None.
    existing_xy, existing_radius, existing_bearings : cameras already installed.

    Returns
    -------
    float : the total weight of the covered points.
    """
    demand = np.asarray(demand_xy, dtype=np.float64)
    w = np.asarray(weights, dtype=np.float64)
    covered = np.zeros(len(demand), dtype=bool)

    def mark(cams, r, brs, view):
        cams = np.asarray(cams, dtype=np.float64).reshape(-1, 2)
        for idx in range(len(cams)):
            dx = demand[:, 0] - cams[idx, 0]
            dy = demand[:, 1] - cams[idx, 1]
            dist = np.sqrt(dx * dx + dy * dy)
            hit = dist <= r
            if brs is not None and view < 360.0:
                theta = np.degrees(np.arctan2(dx, dy)) % 360.0
                diff = np.abs(((theta - brs[idx]) % 360.0 + 180.0) % 360.0 - 180.0)
                hit &= (diff <= view / 2.0 + 1e-9) | (dist == 0.0)
            covered[hit] = True

    mark(site_xy, radius, None if bearings is None else np.asarray(bearings, float), fov)
    if existing_xy is not None:
        mark(
            existing_xy,
            radius if existing_radius is None else existing_radius,
            None if existing_bearings is None else np.asarray(existing_bearings, float),
            fov if existing_fov is None else existing_fov,
        )
    return float(w[covered].sum())


# --------------------------------------------------------------------------- reduction
def _row_keys(a: sp.csr_matrix, extra: np.ndarray | None = None) -> np.ndarray:
    """Group rows of ``a`` with identical column sets; returns the group of each row.

    Rows are hashed by two independent random 64-bit sums of their columns, grouped, and the
    grouping is then verified exactly; on a (practically impossible) collision the exact but
    slower grouping by bytes is used instead.
    """
    n, m = a.shape
    nnz = np.diff(a.indptr)
    if n == 0:
        return np.empty(0, dtype=np.int64)
    rng = np.random.default_rng(20240601)
    keys = [nnz.astype(np.uint64)]
    if extra is not None:
        keys.append(extra.astype(np.uint64))
    for _ in range(2):
        r = rng.integers(0, np.iinfo(np.uint64).max, size=m, dtype=np.uint64, endpoint=True)
        vals = r[a.indices]
        h = np.zeros(n, dtype=np.uint64)
        nonempty = nnz > 0
        if vals.size:
            # reduceat over the starts of non-empty rows; uint64 sums wrap around, as a hash may
            h[nonempty] = np.add.reduceat(vals, a.indptr[:-1][nonempty])
        keys.append(h)
    stacked = np.stack(keys, axis=1)
    _, first, group = np.unique(stacked, axis=0, return_index=True, return_inverse=True)
    group = group.ravel()
    rep = first[group]
    # exact check: every row's column list equals its representative's
    offsets = np.arange(a.nnz) - np.repeat(a.indptr[:-1], nnz)
    row_of = np.repeat(np.arange(n), nnz)
    same = a.indices == a.indices[a.indptr[rep[row_of]] + offsets]
    same_extra = extra == extra[rep] if extra is not None else np.ones(n, dtype=bool)
    if same.all() and same_extra.all():
        return group
    log.warning("hash collision while merging coverage rows; using exact grouping")
    seen: dict[bytes, int] = {}
    out = np.empty(n, dtype=np.int64)
    for i in range(n):
        key = a.indices[a.indptr[i] : a.indptr[i + 1]].tobytes()
        if extra is not None:
            key += np.int64(extra[i]).tobytes()
        out[i] = seen.setdefault(key, len(seen))
    return out


def _merge_rows(a: sp.csr_matrix, w: np.ndarray):
    """Rows of ``a`` with the same covering columns merged into one row of their summed
    weight: returns the merged matrix in CSR and CSC form and the row weights."""
    a.sort_indices()
    group = _row_keys(a)
    n_groups = int(group.max()) + 1 if len(group) else 0
    wr = np.bincount(group, weights=w, minlength=n_groups)
    _, first = np.unique(group, return_index=True)
    b = a[first].tocsr()
    b.sort_indices()
    bc = b.tocsc()
    bc.sort_indices()
    return b, bc, wr


@dataclass
class _Model:
    """The reduced model: merged rows, deduplicated columns.

    ``b`` is (rows × columns) CSR, ``bc`` the same in CSC; ``w`` row weights; ``col`` maps a
    model column to a column of the full coverage matrix; ``site`` its site; ``cost`` its cost.
    """

    b: sp.csr_matrix
    bc: sp.csc_matrix
    w: np.ndarray
    col: np.ndarray
    site: np.ndarray
    cost: np.ndarray | None
    sectors: bool


def _reduce(
    a: sp.csr_matrix,
    weights: np.ndarray,
    free: np.ndarray,
    col_site: np.ndarray,
    col_cost: np.ndarray | None,
    sectors: bool,
) -> _Model:
    # Only points not yet seen, with weight, that some column can cover are decisions.
    nnz = np.diff(a.indptr)
    keep_rows = np.flatnonzero(free & (weights > 0) & (nnz > 0))
    a = a[keep_rows]
    w = weights[keep_rows]
    # columns: drop those covering nothing; merge identical ones (within one site for
    # sectors, where the one-bearing-per-site rule makes sites distinguishable)
    ac = a.tocsc()
    ac.sort_indices()
    col_nnz = np.diff(ac.indptr)
    useful = np.flatnonzero(col_nnz > 0)
    at = sp.csr_matrix(ac[:, useful].T)
    at.sort_indices()
    col_group = _row_keys(at, extra=col_site[useful] if sectors else None)
    if col_cost is not None:
        # keep the cheapest column of each group
        order = np.lexsort((col_cost[useful], col_group))
    else:
        order = np.argsort(col_group, kind="stable")
    grp_sorted = col_group[order]
    first = np.ones(len(order), dtype=bool)
    first[1:] = grp_sorted[1:] != grp_sorted[:-1]
    cols = useful[np.sort(order[first])]
    a = a[:, cols].tocsr()
    a.sort_indices()
    # rows: merge points with identical coverage sets into one weighted row
    b, bc, wr = _merge_rows(a, w)
    if not sectors:
        keep = ~_dominated(bc, None if col_cost is None else col_cost[cols])
        if not keep.all():
            cols = cols[keep]
            b, bc, wr = _merge_rows(b[:, np.flatnonzero(keep)].tocsr(), wr)
    return _Model(
        b=b,
        bc=bc,
        w=wr,
        col=cols,
        site=col_site[cols],
        cost=None if col_cost is None else col_cost[cols],
        sectors=sectors,
    )


# Dominance is found through the columns' co-coverage counts (a sparse Aᵀ A), whose size is
# about the sum over rows of (columns per row)²: above this many it would cost more time and
# memory than the columns it removes could save.
DOMINANCE_MAX_PRODUCTS = 3_000_000


def _dominated(bc: sp.csc_matrix, cost: np.ndarray | None) -> np.ndarray:
    """Columns that another column dominates: it sees every row they see (and costs no more).

    A plan with a dominated column ``j`` is never better than the same plan with ``j``'s
    dominator instead (or without ``j``, when the dominator is already in it), so dropping
    ``j`` keeps an optimal plan and its value; chains are safe since identical columns are
    already merged (strict inclusion is an order, and what dominates is kept). It can also
    tighten the LP bound, where the LP gave a column and its dominator more than one camera
    between them (on the streets model it does not). Not for sector models, where the
    one-bearing-per-site rule makes a column of an already used site no substitute.
    """
    n_cols = bc.shape[1]
    per_row = np.bincount(bc.indices, minlength=bc.shape[0])
    if n_cols < 2 or float(per_row @ per_row) > DOMINANCE_MAX_PRODUCTS:
        return np.zeros(n_cols, dtype=bool)
    ones = sp.csc_matrix((np.ones(bc.nnz), bc.indices, bc.indptr), shape=bc.shape)
    shared = (ones.T @ ones).tocoo()  # shared[j, j2] = rows both columns see
    size = np.diff(bc.indptr)
    inside = (shared.row != shared.col) & (shared.data == size[shared.row])
    if cost is not None:
        inside &= cost[shared.col] <= cost[shared.row]
    dominated = np.zeros(n_cols, dtype=bool)
    dominated[shared.row[inside]] = True
    return dominated


def _simple_bound(m: _Model, k: int | None) -> float:
    """A bound that needs no solver: all the weight cameras can see, and under a cardinality
    no more than the K heaviest columns see between them."""
    bound = float(m.w.sum())
    if k is not None and m.b.shape[1]:
        col_weight = np.asarray(m.bc.T @ m.w).ravel()
        top = np.sort(col_weight)[::-1][:k]
        bound = min(bound, float(top.sum()))
    return bound


def _integral(w: np.ndarray) -> bool:
    """True when every weight is a whole number: every plan's value is then an integer, which
    the searches use to stop one unit short of the bound."""
    return bool(np.all(w == np.round(w)))


def _weight_unit(w: np.ndarray) -> float:
    """The unit the model's weights are expressed in while solving (1 for integral weights).

    HiGHS's tolerances are absolute (1e-7 on reduced costs and feasibility, 1e-6 on the MIP
    gap): weights of that order (hot-spot intensities of 1e-6, say) pass for zero there, and
    HiGHS then stops with plans up to 4 % under the optimum and bounds under it (found by
    ``benchmarks/fuzz_placement.py``). Real weights are therefore divided by their median
    row weight, which puts a typical row at 1 whatever the user's scale; integral weights
    are kept, since the branch and bound prunes on their unit step.
    """
    if not len(w) or _integral(w):
        return 1.0
    positive = w[w > 0]
    unit = float(np.median(positive)) if len(positive) else 1.0
    return unit if np.isfinite(unit) and unit > 0 else 1.0


# --------------------------------------------------------------------------- heuristics
def _column_rows(m: _Model, j: int) -> np.ndarray:
    return m.bc.indices[m.bc.indptr[j] : m.bc.indptr[j + 1]]


def _greedy(m: _Model, k: int | None, budget: float | None) -> list[int]:
    """Greedy by marginal gain (per NT$ under a budget), with vectorised gain updates."""
    n_rows, n_cols = m.b.shape
    gains = m.bc.T @ m.w if n_cols else np.zeros(0)
    gains = np.asarray(gains, dtype=np.float64).copy()
    covered = np.zeros(n_rows, dtype=bool)
    available = np.ones(n_cols, dtype=bool)
    chosen: list[int] = []
    spent = 0.0
    limit = n_cols if k is None else min(k, n_cols)
    while len(chosen) < limit:
        ok = available.copy()
        if budget is not None:
            ok &= m.cost <= budget - spent + 1e-9
            score = np.where(ok, gains / m.cost, -np.inf)
        else:
            score = np.where(ok, gains, -np.inf)
        if not ok.any():
            break
        j = int(np.argmax(score))
        if gains[j] <= 0:
            break
        chosen.append(j)
        available[j] = False
        if m.sectors:
            available[m.site == m.site[j]] = False
        if budget is not None:
            spent += m.cost[j]
        rows = _column_rows(m, j)
        new = rows[~covered[rows]]
        covered[new] = True
        if len(new):
            sub = m.b[new]
            dec = np.repeat(m.w[new], np.diff(sub.indptr))
            gains -= np.bincount(sub.indices, weights=dec, minlength=n_cols)
    if budget is not None and len(chosen):
        # the ratio greedy can be arbitrarily bad for a knapsack; the best single affordable
        # column restores the classic guarantee
        affordable = np.flatnonzero(m.cost <= budget + 1e-9)
        alone = np.asarray(m.bc.T @ m.w).ravel()
        best = int(affordable[np.argmax(alone[affordable])])
        if alone[best] > _objective(m, chosen):
            chosen = [best]
    return chosen


def _objective(m: _Model, chosen) -> float:
    if len(chosen) == 0:
        return 0.0
    hit = np.zeros(m.b.shape[0], dtype=bool)
    for j in chosen:
        hit[_column_rows(m, j)] = True
    return float(m.w[hit].sum())


def _swap_search(
    m: _Model,
    chosen: list[int],
    k: int | None,
    budget: float | None,
    deadline: float,
    max_moves: int = 10_000,
) -> list[int]:
    """Improve ``chosen`` by best-improvement swaps (and additions while room is left).

    For a column ``j`` outside the plan and ``c`` inside, the change in covered weight of
    replacing ``c`` by ``j`` is ``G_j - L_c + O_jc``, where ``G_j`` is the weight ``j`` would
    newly cover, ``L_c`` the weight only ``c`` covers, and ``O_jc`` the part of ``L_c`` that
    ``j`` also covers. ``O = Bᵀ U`` is one sparse product, so a whole neighbourhood is scored
    at once.
    """
    n_rows, n_cols = m.b.shape
    if n_cols == 0 or not chosen:
        return chosen
    chosen = list(chosen)
    scale = max(float(m.w.sum()), 1.0)
    for _ in range(max_moves):
        if time.perf_counter() > deadline:
            break
        s = np.asarray(chosen)
        bs = m.bc[:, s]  # rows × |S|
        cnt = np.asarray(bs.sum(axis=1)).ravel()
        g = np.asarray(m.bc.T @ (m.w * (cnt == 0))).ravel()
        in_plan = np.zeros(n_cols, dtype=bool)
        in_plan[s] = True
        g[in_plan] = -np.inf
        bsr = bs.tocsr()
        uniq_rows = np.flatnonzero(cnt == 1)
        owner = bsr.indices[bsr.indptr[uniq_rows]]  # position in s of the only coverer
        loss = np.bincount(owner, weights=m.w[uniq_rows], minlength=len(s))
        u = sp.csr_matrix((m.w[uniq_rows], (uniq_rows, owner)), shape=(n_rows, len(s)))
        ov = (m.bc.T @ u).tocoo()  # n_cols × |S|
        spent = 0.0 if budget is None else float(m.cost[s].sum())

        # best partner c for every j: minimise L_c - O_jc over the feasible c
        site_owner = np.full(int(m.site.max()) + 1, -1, dtype=np.int64)
        if m.sectors:
            site_owner[m.site[s]] = np.arange(len(s))
        forced = site_owner[m.site] if m.sectors else np.full(n_cols, -1)
        best = np.full(n_cols, np.inf)
        best_c = np.full(n_cols, -1, dtype=np.int64)
        if budget is None:
            c0 = int(np.argmin(loss))
            best[:] = loss[c0]
            best_c[:] = c0
        else:
            # c must free enough money: cost_c >= cost_j - slack
            slack = budget - spent
            order = np.argsort(m.cost[s])
            sorted_cost = m.cost[s][order]
            suffix_min = np.minimum.accumulate(loss[order][::-1])[::-1]
            suffix_arg = _suffix_argmin(loss[order], order)
            pos = np.searchsorted(sorted_cost, m.cost - slack - 1e-9, side="left")
            ok = pos < len(s)
            best[ok] = suffix_min[pos[ok]]
            best_c[ok] = suffix_arg[pos[ok]]
        has_forced = forced >= 0
        best[has_forced] = loss[forced[has_forced]]
        best_c[has_forced] = forced[has_forced]
        if budget is not None:
            bad = has_forced & (m.cost - m.cost[s][np.maximum(forced, 0)] > budget - spent + 1e-9)
            best[bad] = np.inf
        if ov.nnz:
            j_idx, c_idx, val = ov.row, ov.col, loss[ov.col] - ov.data
            feasible = np.ones(len(j_idx), dtype=bool)
            feasible &= (forced[j_idx] < 0) | (forced[j_idx] == c_idx)
            if budget is not None:
                feasible &= m.cost[s][c_idx] >= m.cost[j_idx] - (budget - spent) - 1e-9
            j_idx, c_idx, val = j_idx[feasible], c_idx[feasible], val[feasible]
            order2 = np.lexsort((val, j_idx))
            j_s, c_s, v_s = j_idx[order2], c_idx[order2], val[order2]
            firsts = np.ones(len(j_s), dtype=bool)
            firsts[1:] = j_s[1:] != j_s[:-1]
            j_f, c_f, v_f = j_s[firsts], c_s[firsts], v_s[firsts]
            better = v_f < best[j_f]
            best[j_f[better]] = v_f[better]
            best_c[j_f[better]] = c_f[better]
        swap_delta = g - best
        # pure additions while there is room
        add_ok = np.zeros(n_cols, dtype=bool)
        if k is None or len(s) < k:
            add_ok = ~in_plan & ~has_forced
            if budget is not None:
                add_ok &= m.cost <= budget - spent + 1e-9
        add_delta = np.where(add_ok, g, -np.inf)
        j_add = int(np.argmax(add_delta))
        j_swap = int(np.argmax(swap_delta))
        if add_delta[j_add] > _EPS * scale and add_delta[j_add] >= swap_delta[j_swap]:
            chosen.append(j_add)
            continue
        if swap_delta[j_swap] > _EPS * scale and best_c[j_swap] >= 0:
            chosen[int(best_c[j_swap])] = j_swap
            continue
        break
    return chosen


def _suffix_argmin(values_sorted: np.ndarray, order: np.ndarray) -> np.ndarray:
    """For each position i, the original index (``order[p]``) of a minimum of values[i:]."""
    n = len(values_sorted)
    arg = np.empty(n, dtype=np.int64)
    best = n - 1
    for i in range(n - 1, -1, -1):
        if values_sorted[i] <= values_sorted[best]:
            best = i
        arg[i] = order[best]
    return arg


def _order_by_gain(m: _Model, chosen: Sequence[int]) -> tuple[list[int], list[float]]:
    """Chosen columns ordered greedily by marginal gain, with those gains.

    The first column is the one covering most weight alone, the next the one adding most to
    it, and so on; the gains therefore sum to the weight covered by the new cameras.
    """
    chosen = list(chosen)
    if not chosen:
        return [], []
    sub_c = m.bc[:, chosen]
    sub_r = sub_c.tocsr()
    gains = np.asarray(sub_c.T @ m.w).ravel().astype(np.float64)
    covered = np.zeros(m.b.shape[0], dtype=bool)
    left = np.ones(len(chosen), dtype=bool)
    out, out_gain = [], []
    for _ in range(len(chosen)):
        p = int(np.argmax(np.where(left, gains, -np.inf)))
        out.append(chosen[p])
        out_gain.append(float(max(gains[p], 0.0)))
        left[p] = False
        rows = sub_c.indices[sub_c.indptr[p] : sub_c.indptr[p + 1]]
        new = rows[~covered[rows]]
        covered[new] = True
        if len(new):
            part = sub_r[new]
            dec = np.repeat(m.w[new], np.diff(part.indptr))
            gains -= np.bincount(part.indices, weights=dec, minlength=len(chosen))
    return out, out_gain


# --------------------------------------------------------------------------- Lagrangian
# Below this many coverage pairs the LP branch and bound (then HiGHS's MILP) proves optimality
# faster than the dual iterations would take; above it the LP itself is what costs, and the
# smoothed Lagrangian bound with the subgradient's variable fixings comes first.
LAGRANGIAN_MIN_PAIRS = 300_000
# Share of the time left that the LP branch and bound may use before HiGHS's MILP takes over.
BB_SHARE = 0.6


@dataclass
class _Lagrangian:
    bound: float
    best: list[int]
    best_value: float
    fix0: np.ndarray
    fix1: np.ndarray
    proven: bool
    lam: np.ndarray  # the multipliers of the best bound


def _lagrangian(
    m: _Model,
    k: int,
    start: list[int],
    start_value: float,
    deadline: float,
    integral: bool,
    polish_seconds: float = 0.0,
    lam0: np.ndarray | None = None,
) -> _Lagrangian:
    r"""Lagrangian bound of the cardinality MCLP, with heuristic plans and variable fixing.

    Relaxing :math:`y_i \le \sum_j a_{ij} x_j` with multipliers :math:`0 \le \lambda_i \le w_i`
    gives :math:`L(\lambda) = \sum_i (w_i - \lambda_i) + \text{sum of the } K \text{ largest }
    v_j`, :math:`v = A^\top \lambda`, an upper bound for every :math:`\lambda`, minimised
    by projected subgradient steps (Polyak step towards the incumbent). Each top-K set is
    also a plan. At every :math:`\lambda`, a column outside the top-K set whose forced
    inclusion bounds the plan below the incumbent (:math:`L - v_{(K)} + v_j`), or inside it
    whose exclusion does (:math:`L - v_j + v_{(K+1)}`), is fixed: no better plan uses (or
    lacks) it. Finally the top-K set at the best multipliers is polished by swaps for up to
    ``polish_seconds`` (it lies in a different basin than the greedy plan, and often a better
    one), and the fixings are tested again against the improved incumbent.
    """
    n_cols = m.b.shape[1]
    kk = min(k, n_cols)
    bt = m.bc.T.tocsr()
    x = np.zeros(n_cols)
    x[start] = 1.0
    cnt = m.b @ x
    lam = np.where(cnt >= 2, 0.0, m.w) if lam0 is None else np.clip(lam0, 0.0, m.w)
    lb, best = start_value, list(start)
    ub_best = np.inf
    # a long step and patience before halving it worked best on clustered city instances
    mu, stall = 2.0, 0
    fix0 = np.zeros(n_cols, dtype=bool)
    fix1 = np.zeros(n_cols, dtype=bool)
    scale = max(float(m.w.sum()), 1.0)
    # integral weights: only plans at least one better than the incumbent are of interest
    slack = (1.0 - 1e-6) if integral else -1e-9 * scale
    proven = False
    best_lam = lam.copy()
    it = 0
    while time.perf_counter() < deadline and mu > 1e-6:
        it += 1
        v = bt @ lam
        if kk < n_cols:
            part = np.argpartition(-v, kk)
            top = part[:kk]
            t_k, t_k1 = v[top].min(), v[part[kk:]].max()
        else:
            top = np.arange(n_cols)
            t_k, t_k1 = v.min(), 0.0
        ub = float((m.w - lam).sum() + v[top].sum())
        if ub < ub_best - 1e-12 * scale:
            ub_best, stall = ub, 0
            best_lam = lam.copy()
        else:
            stall += 1
            if stall >= 60:
                mu, stall = mu / 2.0, 0
        x[:] = 0.0
        x[top] = 1.0
        cnt = m.b @ x
        if it % 3 == 1:
            value = float(m.w[cnt > 0].sum())
            if value > lb:
                lb, best = value, top.tolist()
        if ub_best < lb + slack:
            proven = True
            break
        in_top = x > 0
        fix0 |= ~in_top & (ub - t_k + v < lb + slack)
        fix1 |= in_top & (ub - v + t_k1 < lb + slack)
        if fix1.sum() > kk or (fix0 & fix1).any():
            proven = True  # the fixings contradict each other: nothing beats the incumbent
            break
        g = cnt - ((m.w - lam) > 0)
        g[(lam <= 0) & (g > 0)] = 0.0
        g[(lam >= m.w) & (g < 0)] = 0.0
        norm = float(g @ g)
        if norm == 0:
            break
        lam = np.clip(lam - mu * (ub - lb) / norm * g, 0.0, m.w)
    if not proven and polish_seconds > 0 and np.isfinite(ub_best):
        v = bt @ best_lam
        top = np.argsort(-v, kind="stable")[:kk]
        polished = _swap_search(m, top.tolist(), k, None, time.perf_counter() + polish_seconds)
        value = _objective(m, polished)
        if value > lb:
            lb, best = value, polished
        t_k = v[top].min()
        t_k1 = v[np.argsort(-v, kind="stable")[kk]] if kk < n_cols else 0.0
        in_top = np.zeros(n_cols, dtype=bool)
        in_top[top] = True
        fix0 |= ~in_top & (ub_best - t_k + v < lb + slack)
        fix1 |= in_top & (ub_best - v + t_k1 < lb + slack)
        proven = ub_best < lb + slack or fix1.sum() > kk or bool((fix0 & fix1).any())
    log.debug("Lagrangian: %d iterations, bound %.6g, incumbent %.6g", it, ub_best, lb)
    return _Lagrangian(ub_best, best, lb, fix0, fix1, proven, best_lam)


def _lagrangian_value(m: _Model, k: int, lam: np.ndarray) -> float:
    """:math:`L(\\lambda)` of :func:`_lagrangian`: an upper bound for any ``0 <= lam <= w``."""
    lam = np.clip(lam, 0.0, m.w)
    v = m.bc.T @ lam
    n_cols = len(v)
    kk = min(k, n_cols)
    top = np.partition(v, n_cols - kk)[n_cols - kk :] if kk < n_cols else v
    return float((m.w - lam).sum() + np.maximum(top, 0.0).sum())


def _smoothed_dual(
    m: _Model, k: int, deadline: float, resume: dict | None = None
) -> tuple[float, np.ndarray]:
    r"""The Lagrangian dual of :func:`_lagrangian`, minimised smoothly; returns (bound, λ).

    With :math:`\text{sum of the } K \text{ largest } v_j^+ = \min_{t \ge 0} K t +
    \sum_j (v_j - t)^+`, the dual is :math:`\min_{0 \le \lambda \le w,\, t \ge 0}
    \sum_i (w_i - \lambda_i) + K t + \sum_j (v_j - t)^+`. Replacing :math:`(\cdot)^+` by
    :math:`\mu \log(1 + e^{\cdot/\mu})` makes it smooth, and L-BFGS-B with bounds solves
    it in a few hundred products with the coverage matrix, for a shrinking :math:`\mu`.
    Subgradient steps need thousands on dense street models (one candidate every 28 m)
    and stall far above the LP bound, which this reaches. The bound returned is the exact
    :math:`L(\lambda)` at the multipliers found, so it is proven whatever the smoothing.

    ``resume``, a dict, carries the point and smoothing reached from one call to the next,
    so that a second call goes on where the first stopped.
    """
    from scipy.optimize import Bounds, minimize
    from scipy.special import expit

    n_rows, n_cols = m.b.shape
    kk = min(k, n_cols)
    bt = m.bc.T.tocsr()

    def smooth(z, mu):
        lam, t = z[:n_rows], z[n_rows]
        u = (bt @ lam - t) / mu
        sig = expit(u)
        value = (m.w - lam).sum() + kk * t + mu * np.logaddexp(0.0, u).sum()
        grad = np.empty(n_rows + 1)
        grad[:n_rows] = m.b @ sig - 1.0
        grad[n_rows] = kk - sig.sum()
        return value, grad

    def stop(intermediate_result):
        if time.perf_counter() > deadline:
            raise StopIteration

    box = Bounds(np.zeros(n_rows + 1), np.append(m.w, np.inf))
    if resume and "z" in resume:
        z, mu, best, best_lam = resume["z"], resume["mu"], resume["best"], resume["lam"]
    else:
        lam = 0.5 * m.w
        v = bt @ lam
        t0 = float(np.partition(v, n_cols - kk)[n_cols - kk]) if kk < n_cols else 0.0
        z = np.append(lam, max(t0, 0.0))
        best, best_lam = _lagrangian_value(m, k, lam), lam
        mu = max(float(np.median(m.w)), 1e-6)
    while time.perf_counter() < deadline and mu > 1e-5 * max(float(m.w.max()), 1.0):
        res = minimize(
            smooth,
            z,
            args=(mu,),
            jac=True,
            method="L-BFGS-B",
            bounds=box,
            callback=stop,
            options={"maxiter": 200},
        )
        z = res.x
        lam = np.clip(z[:n_rows], 0.0, m.w)
        value = _lagrangian_value(m, k, lam)
        if value < best:
            best, best_lam = value, lam
        if res.nit < 200 and not res.success:
            break  # stopped by the deadline: resume at this smoothing
        mu /= 4.0
    if resume is not None:
        resume.update(z=z, mu=mu, best=best, lam=best_lam)
    log.debug("smoothed dual: bound %.6g", best)
    return best, best_lam


def _restrict(m: _Model, fix0: np.ndarray, fix1: np.ndarray) -> tuple[_Model, float]:
    """The model left after fixing columns: rows seen by fixed-in columns leave with their
    weight (returned), fixed-out columns are dropped, and rows are merged again.

    The sub-model's ``col`` maps its columns to the columns of ``m``.
    """
    keep = np.flatnonzero(~fix0 & ~fix1)
    seen = np.zeros(m.b.shape[0], dtype=bool)
    if fix1.any():
        seen = np.asarray(m.bc[:, np.flatnonzero(fix1)].sum(axis=1)).ravel() > 0
    const = float(m.w[seen].sum())
    sub = m.b[~seen][:, keep].tocsr()
    w = m.w[~seen]
    nonempty = np.diff(sub.indptr) > 0
    b, bc, wr = _merge_rows(sub[nonempty], w[nonempty])
    return _Model(b, bc, wr, keep, m.site[keep], None, m.sectors), const


# --------------------------------------------------------------------------- window search
# Columns in one window of the window search: about a camera's neighbourhood a few hundred
# metres across on city instances, a model the branch and bound settles in milliseconds.
WINDOW_COLUMNS = 200
WINDOW_STRATEGY = 4


def _window_search(
    m: _Model,
    k: int,
    chosen: list[int],
    col_xy: np.ndarray,
    deadline: float,
    seed: int = 0,
    should_stop=None,
    publish=None,
) -> list[int]:
    """Improve a cardinality plan one neighbourhood at a time, each solved exactly.

    Coverage is local, so on a city-sized model swaps of one camera stall in a local optimum
    (1.3 % under the bound on 100,000 × 20,000) where re-planning a small area with the rest
    of the plan fixed still finds better plans. Around each chosen camera in turn, the
    ``WINDOW_COLUMNS`` nearest candidate columns are freed, the others kept as they are, and
    the window's cameras (as many as it holds now) are re-placed optimally by
    :func:`_branch_and_bound` on the rows that only the window can still cover. Stops at the
    deadline, after a pass that improves nothing, or when ``should_stop()`` says so;
    ``publish(plan)`` hears of every improvement.
    """
    n_cols = m.b.shape[1]
    if n_cols <= WINDOW_COLUMNS or not chosen:
        return chosen
    rng = np.random.default_rng(seed)
    x = np.zeros(n_cols, dtype=bool)
    x[chosen] = True
    improved_any = True
    while improved_any and time.perf_counter() < deadline:
        improved_any = False
        for centre in rng.permutation(np.flatnonzero(x)):
            if time.perf_counter() >= deadline or (should_stop is not None and should_stop()):
                improved_any = False
                break
            if not x[centre]:
                continue  # moved away by an earlier window of this pass
            # the nearest columns by brute force: ~0.2 ms for 20,000 columns against a
            # window's ~30 ms, and no KD-tree (whose import alone costs a command 0.1 s)
            d2 = ((col_xy - col_xy[centre]) ** 2).sum(axis=1)
            window = np.sort(np.argpartition(d2, WINDOW_COLUMNS - 1)[:WINDOW_COLUMNS])
            inside = x[window]
            k_w = int(inside.sum())
            outside = x.copy()
            outside[window] = False
            rows = np.unique(m.bc[:, window].indices)
            seen = np.asarray(m.b[rows] @ outside.astype(np.float64)).ravel() > 0
            rows = rows[~seen]
            if len(rows) == 0:
                continue
            b, bc, wr = _merge_rows(m.b[rows][:, window].tocsr(), m.w[rows])
            local = _Model(b, bc, wr, window, m.site[window], None, False)
            start = np.flatnonzero(inside).tolist()
            before = _objective(local, start)
            plan, after, _, _ = _branch_and_bound(
                local,
                k_w,
                start,
                min(deadline, time.perf_counter() + 0.5),
                0.0,
                quiet=True,
                race_root=False,
                root_strategy=WINDOW_STRATEGY,
            )
            if after > before + 1e-9 * max(float(m.w.sum()), 1.0):
                x[window] = False
                x[window[plan]] = True
                improved_any = True
                if publish is not None:
                    publish(np.flatnonzero(x).tolist())
    log.debug("window search: %.6g", _objective(m, np.flatnonzero(x).tolist()))
    return np.flatnonzero(x).tolist()


class _PlanImprover:
    """The window search in a thread of its own, always working on the best plan known.

    On large models the bound (the Lagrangian dual, in the caller's thread) and the plan
    (this) both need all the time there is; the second core gives it to both. A better plan
    found by the caller is :meth:`offer` ed and the search moves to it; :meth:`finish`
    stops it and returns the best plan of all.
    """

    def __init__(self, m: _Model, k: int, col_xy: np.ndarray, start: list[int], deadline: float):
        self.m, self.k, self.col_xy, self.deadline = m, k, col_xy, deadline
        self.lock = threading.Lock()
        self.best, self.value = list(start), _objective(m, start)
        self.stop = threading.Event()
        self.newer = threading.Event()  # the caller offered a better plan
        self.error: BaseException | None = None
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def offer(self, plan: list[int], value: float | None = None) -> None:
        value = _objective(self.m, plan) if value is None else value
        with self.lock:
            if value > self.value:
                self.best, self.value = list(plan), value
                self.newer.set()

    def current(self) -> tuple[list[int], float]:
        with self.lock:
            return list(self.best), self.value

    def finish(self) -> tuple[list[int], float]:
        self.stop.set()
        self.newer.set()  # wakes a search waiting for a better plan
        self.thread.join()
        if self.error is not None:
            raise self.error
        return self.current()

    def _publish(self, plan: list[int]) -> None:
        value = _objective(self.m, plan)
        with self.lock:
            if value > self.value:
                self.best, self.value = plan, value

    def _run(self) -> None:
        try:
            seed = 0
            while not self.stop.is_set() and time.perf_counter() < self.deadline:
                self.newer.clear()
                start, before = self.current()
                _window_search(
                    self.m,
                    self.k,
                    start,
                    self.col_xy,
                    self.deadline,
                    seed=seed,
                    should_stop=lambda: self.stop.is_set() or self.newer.is_set(),
                    publish=self._publish,
                )
                seed += 1
                if not self.newer.is_set() and self.current()[1] <= before:
                    # a whole pass found nothing: wait for a better plan from the caller
                    self.newer.wait(max(self.deadline - time.perf_counter(), 0.0))
        except BaseException as exc:  # re-raised by finish() in the caller's thread
            self.error = exc


# --------------------------------------------------------------------------- exact model
_highs_greeted = False


def _new_highs(highspy):
    """A ``Highs`` instance, without the banner HiGHS prints from C++ on the first one.

    The copyright banner goes to file descriptor 1 when the first instance is created,
    before ``output_flag`` can be set, so ``contextlib.redirect_stdout`` cannot catch it; a
    command whose stdout may carry data must not get it, hence the descriptor-level detour.
    """
    global _highs_greeted
    if _highs_greeted:
        return highspy.Highs()
    _highs_greeted = True
    try:
        sys.stdout.flush()
        saved = os.dup(1)
    except (OSError, ValueError):  # no real stdout (embedded interpreter): nothing to protect
        return highspy.Highs()
    try:
        with open(os.devnull, "w") as devnull:
            os.dup2(devnull.fileno(), 1)
            return highspy.Highs()
    finally:
        os.dup2(saved, 1)
        os.close(saved)


def _pass_model(h, highspy, m: _Model, k: int | None, budget: float | None, integer: bool):
    """Load the reduced MCLP into the HiGHS instance ``h`` in one call (columns: the model's
    columns ``x``, then one ``y`` per row); ``integer`` makes ``x`` binary, else the LP."""
    n_rows, n_cols = m.b.shape
    # constraint rows: coverage (n_rows), then cardinality, budget, one per multi-column site
    blocks_x = [-m.b]
    blocks_y = [sp.identity(n_rows, format="csr")]
    row_lo = [np.full(n_rows, -np.inf)]
    row_hi = [np.zeros(n_rows)]
    if k is not None:
        blocks_x.append(sp.csr_matrix(np.ones((1, n_cols))))
        blocks_y.append(sp.csr_matrix((1, n_rows)))
        row_lo.append([-np.inf])
        row_hi.append([float(k)])
    if budget is not None:
        blocks_x.append(sp.csr_matrix(m.cost.reshape(1, -1)))
        blocks_y.append(sp.csr_matrix((1, n_rows)))
        row_lo.append([-np.inf])
        row_hi.append([float(budget)])
    if m.sectors:
        _, site_of_col, per_site = np.unique(m.site, return_inverse=True, return_counts=True)
        multi = per_site > 1
        if multi.any():
            multi_index = np.cumsum(multi) - 1
            cols = np.flatnonzero(multi[site_of_col])
            s_rows = multi_index[site_of_col[cols]]
            n_multi = int(multi.sum())
            blocks_x.append(
                sp.csr_matrix((np.ones(len(cols)), (s_rows, cols)), shape=(n_multi, n_cols))
            )
            blocks_y.append(sp.csr_matrix((n_multi, n_rows)))
            row_lo.append(np.full(n_multi, -np.inf))
            row_hi.append(np.ones(n_multi))
    a = sp.hstack([sp.vstack(blocks_x), sp.vstack(blocks_y)], format="csc")
    a.sort_indices()
    num_col = n_cols + n_rows
    num_row = a.shape[0]
    cost = np.concatenate([np.zeros(n_cols), m.w])
    lower = np.zeros(num_col)
    upper = np.ones(num_col)
    integrality = np.concatenate(
        [np.full(n_cols, 1 if integer else 0, dtype=np.int32), np.zeros(n_rows, dtype=np.int32)]
    )  # x binary (HighsVarType.kInteger = 1); y continuous, integral at any optimum
    status = h.passModel(
        num_col,
        num_row,
        a.nnz,
        int(highspy.MatrixFormat.kColwise),
        int(highspy.ObjSense.kMaximize),
        0.0,
        cost,
        lower,
        upper,
        np.concatenate([np.asarray(r, dtype=np.float64) for r in row_lo]),
        np.concatenate([np.asarray(r, dtype=np.float64) for r in row_hi]),
        a.indptr.astype(np.int32),
        a.indices.astype(np.int32),
        a.data.astype(np.float64),
        integrality,
    )
    if status == highspy.HighsStatus.kError:
        raise RuntimeError("HiGHS refused the coverage model")


def _solve_milp(
    m: _Model,
    k: int | None,
    budget: float | None,
    start: list[int],
    time_limit: float,
    mip_rel_gap: float,
    threads: int | None,
) -> tuple[list[int] | None, float, float, str]:
    """Solve the reduced MCLP with HiGHS; returns (chosen, objective, bound, status)."""
    import highspy

    n_cols = m.b.shape[1]
    h = _new_highs(highspy)
    h.setOptionValue("output_flag", False)
    h.setOptionValue("time_limit", float(max(time_limit, 0.01)))
    h.setOptionValue("mip_rel_gap", float(mip_rel_gap))
    integral = _integral(m.w)
    if integral:
        # integral weights make every plan's value an integer: a bound less than one above
        # the incumbent already proves it optimal
        h.setOptionValue("mip_abs_gap", 1.0 - 1e-6)
    if threads:
        h.setOptionValue("threads", int(threads))
    _pass_model(h, highspy, m, k, budget, integer=True)
    if start:
        x0 = np.zeros(n_cols)
        x0[start] = 1.0
        y0 = np.minimum(m.b @ x0, 1.0)
        sol = highspy.HighsSolution()
        sol.col_value = np.concatenate([x0, y0])
        h.setSolution(sol)
    h.run()
    model_status = h.getModelStatus()
    info = h.getInfo()
    bound = float(info.mip_dual_bound)
    if np.isfinite(bound) and integral:
        bound = math.floor(bound + 1e-6)  # integral weights: the optimum is an integer too
    if model_status == highspy.HighsModelStatus.kOptimal:
        state = STATUS_OPTIMAL
    elif model_status == highspy.HighsModelStatus.kTimeLimit:
        state = STATUS_TIME_LIMIT
    else:
        state = h.modelStatusToString(model_status)
    if info.primal_solution_status == 0:  # no feasible point found by HiGHS
        return None, float("nan"), bound, state
    x = np.asarray(h.getSolution().col_value[:n_cols])
    chosen = [int(j) for j in np.flatnonzero(x > 0.5)]
    value = _objective(m, chosen)
    claimed = float(info.objective_function_value)
    if start and abs(claimed - value) > 1e-6 * max(abs(claimed), 1.0):
        # HiGHS 1.16 can report the optimum's value yet hand back the warm start's columns
        # (seen when its presolve settled a sector model): solve once more without the start
        left = time_limit - h.getRunTime()
        if left > 0.05:
            return _solve_milp(m, k, budget, [], left, mip_rel_gap, threads)
    return chosen, value, bound, state


# HiGHS simplex strategies raced on the root LP: dual (1) and primal (4). Which of the two
# solves a coverage LP fastest differs from one instance to the next by up to 15 times (dual
# 1.06 s where the primal takes 0.07 s, and 0.39 s where the primal takes 1.5 s) and cannot
# be told in advance; the node LPs after it are always dual simplex from a warm basis.
ROOT_STRATEGIES = (1, 4)
# Below this many coverage pairs the root LP takes milliseconds: starting two threads and
# two HiGHS instances would cost more than it can save.
RACE_MIN_PAIRS = 5_000


def _root_lp(highspy, m: _Model, k: int, deadline: float):
    """A HiGHS instance holding the LP relaxation, solved by whichever simplex finishes first.

    Both run at once (HiGHS releases the GIL while it solves, so each gets a core); the
    first to reach the optimum cancels the other. The instances are made in this thread:
    the first HiGHS instance prints a banner through file descriptor 1, which only one
    thread at a time may divert.
    """
    solvers = [_lp_instance(highspy, m, k) for _ in ROOT_STRATEGIES]
    winner: list[int] = []
    lock = threading.Lock()
    errors: list[BaseException] = []

    def solve(i: int) -> None:
        h = solvers[i]
        try:
            h.run()
            if h.getModelStatus() == highspy.HighsModelStatus.kOptimal:
                with lock:
                    if not winner:
                        winner.append(i)
                        for other in solvers:
                            if other is not h:
                                other.cancelSolve()
        except BaseException as exc:  # re-raised in the caller's thread
            errors.append(exc)

    for h, strategy in zip(solvers, ROOT_STRATEGIES, strict=True):
        h.setOptionValue("simplex_strategy", int(strategy))
        h.setOptionValue("time_limit", float(max(deadline - time.perf_counter(), 0.01)))
        h.HandleUserInterrupt = True  # lets the winner cancel the other's run
    threads = [threading.Thread(target=solve, args=(i,)) for i in range(len(solvers))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    if errors:
        raise errors[0]
    h = solvers[winner[0] if winner else 0]
    h.HandleUserInterrupt = False
    h.setOptionValue("simplex_strategy", 1)  # warm-started nodes: dual simplex
    return h


def _lp_instance(highspy, m: _Model, k: int):
    """A quiet HiGHS instance holding the LP relaxation of the cardinality model."""
    h = _new_highs(highspy)
    h.setOptionValue("output_flag", False)
    _pass_model(h, highspy, m, k, None, integer=False)
    return h


def _cores() -> int:
    """CPUs this process may run on (a container's or taskset's limit, not the host's)."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


# The branch and bound's second worker: a HiGHS instance of its own in a second thread (HiGHS
# releases the GIL while it solves), taking open nodes from the same heap. Started only once a
# tree has outgrown BB_PARALLEL_AFTER node LPs: most trees close in fewer, and a thread and an
# instance cost more than they save there.
BB_WORKERS = 2
BB_PARALLEL_AFTER = 12
# A plan that leaves less than this share of the weight unseen may be a few windows away from
# seeing everything, which needs no bound at all (wide radii, where CBC's heuristics find such
# a plan at once): the window search gets up to NEAR_FULL_SECONDS for it before any LP.
NEAR_FULL = 0.01
NEAR_FULL_SECONDS = 0.6


def _branch_and_bound(
    m: _Model,
    k: int,
    start: list[int],
    deadline: float,
    mip_rel_gap: float,
    quiet: bool = False,
    race_root: bool = True,
    root_strategy: int = 1,
    workers: int = 1,
    col_xy: np.ndarray | None = None,
) -> tuple[list[int], float, float, str]:
    """Exact cardinality MCLP by LP-based branch and bound, HiGHS solving the node LPs.

    On these models the LP bound is within a fraction of a percent of the optimum, and
    reduced-cost fixing against a good incumbent removes most columns at once, so a few
    dozen nodes settle what HiGHS's MILP spends seconds of root cuts and sub-MIPs on. Best
    bound first; every node LP warm-starts from the basis of the one before (HiGHS keeps
    it across bound changes); the LP point, rounded to its K largest columns and improved
    by swaps, is tried as a plan now and then. Returns (chosen, value, bound, status), the
    bound being the largest LP bound of the nodes left open (proven for the whole model).

    It branches on the fractional column with the largest ``x(1-x)`` times the weight the
    column covers (balanced children that matter: fewer nodes than the column nearest 0.5
    on most hard instances, by up to 7 times), up-branch first. A node taken from the heap
    restarts from its parent's basis (about half the simplex iterations of starting from
    the last node solved). The root LP is raced by :func:`_root_lp` (``race_root``) on
    models of ``RACE_MIN_PAIRS`` pairs or more. With ``workers`` > 1 a second worker joins
    once the tree outgrows ``BB_PARALLEL_AFTER`` node LPs; the optimum's value is the same,
    but which of several equally good plans is returned may then vary from run to run.

    When the root LP covers every row (its bound is the whole weight: K cameras may see
    everything, as with wide radii) no bound can close the tree; only a plan that covers
    every row can. Given the columns' positions (``col_xy``), the window search then looks
    for one in a second thread while the tree dives (uniform real weights, r = 1,000 m, the
    whole solve: 1.8–1.9 s → 0.7–1.0 s), and the search stops as soon as either finds it.
    """
    import heapq
    import itertools

    import highspy

    n_cols = m.b.shape[1]
    total = float(m.w.sum())
    full = total - 1e-9 * max(total, 1.0)  # a plan worth this much sees every row
    value = _objective(m, start)
    if col_xy is not None and n_cols > WINDOW_COLUMNS and full > value >= (1 - NEAR_FULL) * total:
        seen_all = threading.Event()

        def publish(plan: list[int]) -> None:
            if _objective(m, plan) >= full:
                seen_all.set()

        plan = _window_search(
            m,
            k,
            list(start),
            col_xy,
            min(deadline, time.perf_counter() + NEAR_FULL_SECONDS),
            should_stop=seen_all.is_set,
            publish=publish,
        )
        plan_value = _objective(m, plan)
        if plan_value > value:
            start, value = plan, plan_value
        if value >= full:
            log.debug("branch and bound: a plan sees every row, no LP needed")
            return list(start), value, value, STATUS_OPTIMAL
    if race_root and m.b.nnz >= RACE_MIN_PAIRS:
        h = _root_lp(highspy, m, k, deadline)
    else:
        h = _lp_instance(highspy, m, k)
        h.setOptionValue("simplex_strategy", int(root_strategy))
    idx = np.arange(n_cols, dtype=np.int32)
    integral = _integral(m.w)
    scale = max(float(m.w.sum()), 1.0)
    col_weight = np.asarray(m.bc.T @ m.w).ravel()
    # shared by the workers, changed under `cond` only
    inc = {"best": list(start), "value": value, "nodes": 0, "stop": False}
    cond = threading.Condition()
    serial = itertools.count(1)
    # heap of (-bound of the parent, tie-break, lower bounds, upper bounds of x, basis)
    heap = [(-np.inf, 0, np.zeros(n_cols), np.ones(n_cols), None)]
    busy = 0  # workers between taking a node and finishing its dive
    errors: list[BaseException] = []
    helper: list[threading.Thread] = []
    cover: list[_PlanImprover] = []  # the window search, once the root LP covers every row

    def margin() -> float:
        # a node must promise more than this above the incumbent to be worth opening: one
        # unit with integral weights (less a float allowance), else the relative gap asked
        need = (1.0 - 1e-4) if integral else 1e-9 * scale
        return max(need, float(mip_rel_gap) * inc["value"])

    def found(plan: list[int]) -> None:
        plan_value = _objective(m, plan)
        with cond:
            if plan_value > inc["value"]:
                inc["best"], inc["value"] = plan, plan_value

    def push(node) -> None:
        with cond:
            heapq.heappush(heap, node)
            cond.notify()

    def stop() -> None:
        with cond:
            inc["stop"] = True
            cond.notify_all()

    def start_helper() -> None:
        # the instance is made here, in the caller's thread (see _root_lp on HiGHS's banner)
        h2 = _lp_instance(highspy, m, k)
        h2.setOptionValue("simplex_strategy", 1)
        t = threading.Thread(target=work, args=(h2, False), daemon=True)
        helper.append(t)
        t.start()
        log.debug("branch and bound: second worker from node LP %d", inc["nodes"])

    def explore(hs, parent: float, lo, hi, main: bool) -> None:
        """Solve a node and dive: up-branch first, the sibling to the heap with this basis."""
        first = True
        while True:
            if cover:
                # the window search values its plans on this same model: no need to again
                plan, plan_value = cover[0].current()
                if plan_value > inc["value"]:
                    found(plan)
            left = deadline - time.perf_counter()
            if left <= 0 or inc["stop"]:
                push((parent, next(serial), lo, hi, None))  # left open
                stop()
                return
            if inc["value"] + margin() > total:
                with cond:
                    heap.clear()  # the plan covers every row: no node can promise more
                stop()
                return
            if -parent < inc["value"] + margin() or lo.sum() > k:
                return
            # HiGHS's time limit counts all runs of the instance together
            hs.setOptionValue("time_limit", float(hs.getRunTime() + left))
            hs.changeColsBounds(n_cols, idx, lo, hi)
            hs.run()
            if first and main and inc["nodes"] == 0 and root_strategy != 1:
                hs.setOptionValue("simplex_strategy", 1)  # warm-started nodes: dual simplex
            first = False
            status = hs.getModelStatus()
            if status == highspy.HighsModelStatus.kInfeasible:
                return
            if status != highspy.HighsModelStatus.kOptimal:
                push((parent, next(serial), lo, hi, None))  # unresolved: stays open
                stop()
                return
            with cond:
                inc["nodes"] += 1
                nodes = inc["nodes"]
            z = float(hs.getInfo().objective_function_value)
            saturated = z + margin() > total > inc["value"] + margin()
            if nodes == 1 and saturated and col_xy is not None:
                cover.append(_PlanImprover(m, k, col_xy, inc["best"], deadline))
                log.debug("branch and bound: the root LP covers every row, window search on")
            parallel = workers > 1 and not helper and not cover and heap
            if main and parallel and nodes >= BB_PARALLEL_AFTER:
                start_helper()
            if z < inc["value"] + margin():
                return
            sol = hs.getSolution()
            x = np.asarray(sol.col_value)[:n_cols]
            d = np.asarray(sol.col_dual)[:n_cols]
            frac = (x > 1e-6) & (x < 1.0 - 1e-6)
            if not frac.any():
                found(np.flatnonzero(x > 0.5).tolist())
                return
            if nodes % 5 == 1:
                # round the LP point: the K largest columns (fixed ones first), then swaps
                top = np.argsort(-(x + 2.0 * lo - 2.0 * (hi == 0)), kind="stable")[:k]
                found(_swap_search(m, top.tolist(), k, None, time.perf_counter() + 0.05))
                if z < inc["value"] + margin():
                    return
            # reduced-cost fixing for this subtree: forcing x_j away from its bound costs at
            # least |d_j| of the LP bound (HiGHS reports d_j <= 0 at 0 and >= 0 at 1 here; the
            # other sign would only fix nothing)
            cut = inc["value"] + margin()
            lo, hi = lo.copy(), hi.copy()
            free = lo < hi
            hi[free & (x < 1e-9) & (z + d < cut)] = 0.0
            lo[free & (x > 1.0 - 1e-9) & (z - d < cut)] = 1.0
            frac &= lo < hi
            parent = -z
            if not frac.any():
                continue  # re-solve with the fixings
            j = int(np.argmax(np.where(frac, x * (1.0 - x) * col_weight, -np.inf)))
            up, down = lo.copy(), hi.copy()
            up[j], down[j] = 1.0, 0.0
            # the sibling restarts from this node's basis when taken from the heap: its LP is
            # one bound away from it, where the basis left by the last node may be far off
            push((parent, next(serial), lo, down, hs.getBasis()))
            lo = up

    def work(hs, main: bool) -> None:
        nonlocal busy
        try:
            while True:
                with cond:
                    while not heap and busy and not inc["stop"]:
                        cond.wait()
                    if inc["stop"] or not heap:
                        cond.notify_all()
                        return
                    parent, _, lo, hi, basis = heapq.heappop(heap)
                    busy += 1
                try:
                    if basis is not None:
                        hs.setBasis(basis)
                    explore(hs, parent, lo, hi, main)
                finally:
                    with cond:
                        busy -= 1
                        cond.notify_all()
        except BaseException as exc:  # re-raised in the caller's thread
            errors.append(exc)
            stop()

    work(h, True)
    for t in helper:
        t.join()
    for search in cover:
        found(search.finish()[0])
    if errors:
        raise errors[0]
    best, value = inc["best"], inc["value"]
    open_bounds = [-b for b, *_ in heap if -b >= value + margin()]
    bound = max([value, *open_bounds])
    if integral and np.isfinite(bound):
        bound = math.floor(bound + 1e-6)  # every plan's value is an integer too
    if not quiet:  # the window search runs thousands of tiny ones
        log.debug(
            "branch and bound: %d node LPs, %d open, value %.6g, bound %.6g",
            inc["nodes"],
            len(open_bounds),
            value,
            bound,
        )
    return best, value, bound, (STATUS_OPTIMAL if not open_bounds else STATUS_TIME_LIMIT)


# --------------------------------------------------------------------------- planner
class CoveragePlanner:
    r"""Maximal covering location of CCTV cameras (MCLP), exact or greedy.

    The model, over the demand points :math:`i \in I` not already seen by an existing
    camera, and the columns :math:`j \in J` (a candidate site, or a (site, bearing) pair for
    sector cameras):

    .. math::

        \max \; & \sum_{i \in I} w_i y_i \\
        \text{s.t.}\; & y_i \le \sum_{j \in N_i} x_j && \forall i \in I \\
        & \sum_{j \in J} x_j \le K && \text{(cardinality, when } K \text{ is given)} \\
        & \sum_{j \in J} c_j x_j \le B && \text{(NT\$ budget, when } B \text{ is given)} \\
        & \sum_{j \in J_s} x_j \le 1 && \forall \text{ sites } s \text{ (sector cameras)} \\
        & x_j \in \{0, 1\}, \; 0 \le y_i \le 1

    where :math:`N_i` is the set of columns within ``radius`` of point :math:`i` (and, for a
    sector, within ±``fov``/2 of its bearing), :math:`w_i` the demand weight, :math:`c_j`
    the cost of the column's site and :math:`J_s` the columns of site :math:`s`. For binary
    :math:`x` the continuous :math:`y` are 0 or 1 at any optimum. Points with identical
    :math:`N_i` are merged into one row with the sum of their weights, columns covering
    nothing are dropped and identical columns merged (within a site, for sectors), which
    changes neither the optimum nor its value.

    Parameters
    ----------
    a : sparse (n_demand × n_columns) coverage matrix, see :func:`coverage_matrix`.
    Use :meth:`from_points` or :meth:`from_geodataframes` rather than the constructor.

    Attributes (after :meth:`solve`)
    --------------------------------
    chosen : (k,) int array of candidate indices, in order of marginal gain.
    chosen_bearing : (k,) bearings in degrees of the chosen sites, or None (circles).
    marginal_gain : (k,) weight each chosen site adds to those before it.
    covered_weight : weight covered by existing and chosen cameras together.
    existing_weight : weight already covered by existing cameras.
    total_weight : weight of all demand points.
    gap : proven relative gap of the exact model, ``(bound - value) / value`` on the weight
        the new cameras can add (0 when optimal); None for ``method="greedy"``.
    objective_bound : upper bound on ``covered_weight`` (None for greedy).
    status : ``"optimal"``, ``"time_limit"`` (best plan found, with ``gap``) or ``"greedy"``.
    runtime : seconds spent in :meth:`solve`.
    covered : (n_demand,) bool mask of covered demand points.
    """

    def __init__(
        self,
        a: sp.csr_matrix,
        demand_xy: np.ndarray,
        weights: np.ndarray,
        candidate_xy: np.ndarray,
        col_site: np.ndarray,
        col_bearing: np.ndarray,
        existing_covered: np.ndarray,
        *,
        radius: float,
        k: int | None,
        budget: float | None,
        costs: np.ndarray | None,
        fov: float,
        candidate_ids: np.ndarray | None = None,
        existing_xy: np.ndarray | None = None,
        existing_radius: float | None = None,
        existing_bearings: np.ndarray | None = None,
        existing_fov: float = 360.0,
    ):
        self.coverage = a
        self.existing_xy = existing_xy
        self.existing_radius = existing_radius
        self.existing_bearings = existing_bearings
        self.existing_fov = existing_fov
        self.demand_xy = demand_xy
        self.weights = weights
        self.candidate_xy = candidate_xy
        self.col_site = col_site
        self.col_bearing = col_bearing
        self.existing_covered = existing_covered
        self.radius = float(radius)
        self.k = k
        self.budget = budget
        self.costs = costs
        self.fov = float(fov)
        self.sectors = not np.isnan(col_bearing).all() if len(col_bearing) else False
        self.candidate_ids = (
            np.arange(len(candidate_xy)) if candidate_ids is None else np.asarray(candidate_ids)
        )
        self.total_weight = float(weights.sum())
        self.existing_weight = float(weights[existing_covered].sum())
        # results
        self.method: str | None = None
        self.chosen = np.empty(0, dtype=np.int64)
        self.chosen_bearing: np.ndarray | None = None
        self.marginal_gain = np.empty(0)
        self.covered_weight = self.existing_weight
        self.covered = existing_covered.copy()
        self.gap: float | None = None
        self.objective_bound: float | None = None
        self.status = STATUS_NOT_SOLVED
        self.runtime = 0.0
        self.n_model_rows = 0
        self.n_model_columns = 0

    # ---------------------------------------------------------------- build
    @classmethod
    def from_points(
        cls,
        demand_xy,
        weights,
        candidate_xy,
        *,
        radius: float,
        k: int | None = None,
        existing_xy=None,
        existing_radius: float | None = None,
        existing_bearings=None,
        existing_fov: float | None = None,
        bearings=None,
        fov: float = 90.0,
        costs=None,
        budget: float | None = None,
        candidate_ids=None,
        seen=None,
    ) -> CoveragePlanner:
        """Build the coverage relation from coordinates (EPSG:3826 metres).

        Parameters
        ----------
        demand_xy : (n, 2) demand points. weights : (n,) non-negative weights.
        candidate_xy : (m, 2) candidate sites.
        radius : camera range in metres.
        k : number of cameras to place (the cardinality constraint).
        existing_xy : (e, 2) installed cameras; what they see counts as covered already.
        existing_radius : their range (default ``radius``).
        existing_bearings : (e,) their bearings, to treat them as sectors.
        existing_fov : their field of view in degrees (default ``fov``).
        bearings : None (circular coverage), or compass degrees (0 = north, clockwise):
            one list for every site, or one list per site. Each (site, bearing) becomes a
            column; at most one bearing is chosen per site.
        fov : field of view of a sector camera, degrees.
        costs : (m,) NT$ cost of each site. budget : NT$ budget (knapsack constraint).
        candidate_ids : (m,) identifiers carried into the output.
        seen : (n,) booleans, demand points already seen by cameras as the caller knows them
            (the database's views: sectors clipped by buildings); counted like points seen
            by ``existing_xy``.
        """
        demand = _as_xy("需求點", demand_xy)
        cand = _as_xy("候選點", candidate_xy)
        w = np.asarray(weights, dtype=np.float64).ravel()
        if len(w) != len(demand):
            raise InvalidParameter(
                "權重數量與需求點數量不同。", detail=f"{len(w)} weights, {len(demand)} points"
            )
        if not np.isfinite(w).all() or (w < 0).any():
            raise InvalidParameter("需求點權重必須是非負的有限數值。")
        if not np.isfinite(radius) or radius <= 0:
            raise InvalidParameter("涵蓋半徑必須大於 0 公尺。", detail=f"radius={radius}")
        if not (0 < fov <= 360):
            raise InvalidParameter("視角必須介於 0 到 360 度之間。", detail=f"fov={fov}")
        if k is None and budget is None:
            raise InvalidParameter("請指定攝影機數量 K 或預算。")
        if k is not None and (int(k) != k or k < 1):
            raise InvalidParameter("攝影機數量 K 必須是至少 1 的整數。", detail=f"k={k}")
        cost_arr = None
        if budget is not None:
            if costs is None:
                raise MissingAttribute("以預算規劃時，每個候選點都需要設置成本（cost）。")
            cost_arr = np.asarray(costs, dtype=np.float64).ravel()
            if len(cost_arr) != len(cand):
                raise InvalidParameter("成本數量與候選點數量不同。")
            if not np.isfinite(cost_arr).all() or (cost_arr <= 0).any():
                raise InvalidParameter("候選點成本必須是正的有限數值。")
            if not np.isfinite(budget) or budget <= 0:
                raise InvalidParameter("預算必須大於 0。", detail=f"budget={budget}")
        if candidate_ids is not None and len(candidate_ids) != len(cand):
            raise InvalidParameter("候選點編號數量與候選點數量不同。")
        a, col_site, col_bearing = coverage_matrix(demand, cand, radius, bearings=bearings, fov=fov)
        existing = None
        if existing_xy is not None:
            existing = _as_xy("既有攝影機", existing_xy, allow_empty=True)
        e_radius = radius if existing_radius is None else float(existing_radius)
        e_bearings = None
        e_fov = 360.0
        if existing_bearings is not None:
            e_bearings = np.asarray(existing_bearings, dtype=np.float64).ravel()
            e_fov = float(fov if existing_fov is None else existing_fov)
            if existing is None or len(e_bearings) != len(existing):
                raise InvalidParameter("既有攝影機的方位角數量必須與攝影機數量相同。")
        covered = np.zeros(len(demand), dtype=bool)
        if existing is not None and len(existing):
            if not np.isfinite(e_radius) or e_radius <= 0:
                raise InvalidParameter("既有攝影機的涵蓋半徑必須大於 0 公尺。")
            covered = covered_by(demand, existing, e_radius, bearings=e_bearings, fov=e_fov)
        if seen is not None:
            seen = np.asarray(seen, dtype=bool).ravel()
            if len(seen) != len(demand):
                raise InvalidParameter(
                    "已涵蓋標記數量與需求點數量不同。", detail=f"{len(seen)} for {len(demand)}"
                )
            covered = covered | seen
        return cls(
            a,
            demand,
            w,
            cand,
            col_site,
            col_bearing,
            covered,
            radius=radius,
            k=None if k is None else int(k),
            budget=None if budget is None else float(budget),
            costs=cost_arr,
            fov=fov if bearings is not None else 360.0,
            candidate_ids=candidate_ids,
            existing_xy=existing,
            existing_radius=e_radius,
            existing_bearings=e_bearings,
            existing_fov=e_fov,
        )

    @classmethod
    def from_geodataframes(
        cls,
        demand,
        candidates,
        *,
        existing=None,
        **kwargs,
    ) -> CoveragePlanner:
        """Build from point GeoDataFrames in any declared CRS (reprojected to EPSG:3826).

        The same as :meth:`from_layers` (which see for the keyword arguments) after
        :func:`geo.point_io.from_geodataframe` has checked and reprojected each layer.
        """
        from geo.point_io import from_geodataframe

        return cls.from_layers(
            from_geodataframe(demand, "需求點"),
            from_geodataframe(candidates, "候選點"),
            existing=(
                from_geodataframe(existing, "既有攝影機")
                if existing is not None and len(existing)
                else None
            ),
            **kwargs,
        )

    @classmethod
    def from_layers(
        cls,
        demand,
        candidates,
        *,
        radius: float,
        k: int | None = None,
        existing=None,
        weight_col: str = "weight",
        id_col: str = "id",
        cost_col: str = "cost",
        bearings=None,
        fov: float = 90.0,
        budget: float | None = None,
        seen=None,
    ) -> CoveragePlanner:
        """Build from :class:`geo.point_io.PointLayer` s (EPSG:3826 points and attributes).

        ``demand`` must carry ``weight_col``; ``candidates`` may carry ``id_col`` (else the
        feature index is the id) and, for a budget, ``cost_col``. Column names are matched
        case-insensitively. Raises zh-TW :class:`~geo.errors.AnalysisInputError` subclasses
        for missing or non-numeric attributes.
        """
        w = _numeric_column(
            demand, weight_col, f"需求點缺少權重欄位「{weight_col}」。", "需求點的權重欄位"
        )
        if np.isnan(w).any():
            raise InvalidParameter(f"需求點的權重欄位「{weight_col}」有空值。")
        ids = candidates.column(id_col)
        if ids is None:
            ids = np.arange(len(candidates))
        costs = None
        if budget is not None:
            costs = _numeric_column(
                candidates,
                cost_col,
                f"以預算規劃時，候選點需要成本欄位「{cost_col}」。",
                "候選點的成本欄位",
            )
        e_xy = existing.xy if existing is not None and len(existing) else None
        return cls.from_points(
            demand.xy,
            w,
            candidates.xy,
            radius=radius,
            k=k,
            existing_xy=e_xy,
            bearings=bearings,
            fov=fov,
            costs=costs,
            budget=budget,
            candidate_ids=ids,
            seen=seen,
        )

    # ---------------------------------------------------------------- solve
    def solve(
        self,
        method: str = "milp",
        time_limit: float = 60.0,
        *,
        mip_rel_gap: float = 0.0,
        local_search: bool = True,
        threads: int | None = None,
    ) -> CoveragePlanner:
        """Choose the sites. Returns ``self``; read the results from the attributes.

        Parameters
        ----------
        method : ``"milp"`` (exact, HiGHS, warm-started by greedy and swaps) or
            ``"greedy"`` (greedy and swaps only: an instant preview, no bound).
        time_limit : seconds for the whole solve; on expiry the best plan is kept and its
            proven ``gap`` reported.
        mip_rel_gap : relative gap at which HiGHS may stop (0 = prove optimality).
        local_search : improve the greedy plan by swaps before (or instead of) the MILP.
        threads : HiGHS threads (default: HiGHS decides).
        """
        if method not in METHODS:
            raise InvalidParameter(
                f"未知的求解方法：{method}（可用 milp 或 greedy）。", detail=method
            )
        t0 = time.perf_counter()
        deadline = t0 + float(time_limit)
        col_cost = None if self.costs is None else self.costs[self.col_site]
        model = _reduce(
            self.coverage,
            self.weights,
            ~self.existing_covered,
            self.col_site,
            col_cost,
            self.sectors,
        )
        self.n_model_rows, self.n_model_columns = model.b.shape
        unit = _weight_unit(model.w)
        model.w = model.w / unit
        chosen = _greedy(model, self.k, self.budget)
        if local_search:
            # the swaps are a warm start for the MILP, not its substitute: keep them short there
            ls_deadline = (
                deadline if method == "greedy" else time.perf_counter() + 0.1 * float(time_limit)
            )
            chosen = _swap_search(model, chosen, self.k, self.budget, ls_deadline)
        heuristic_value = _objective(model, chosen)
        self.gap = None
        self.objective_bound = None
        self.status = STATUS_GREEDY
        if method == "milp":
            if model.b.shape[1] == 0 or model.b.shape[0] == 0:
                chosen, self.gap, self.status = [], 0.0, STATUS_OPTIMAL
                self.objective_bound = self.existing_weight
            elif heuristic_value >= (simple := _simple_bound(model, self.k)) * (1 - _EPS):
                # greedy already reaches a bound no plan can pass: one camera (the column that
                # sees the most; dense sector models of one camera once kept HiGHS's MILP busy
                # for half a minute), or every row any camera can see already seen
                self.gap, self.status = 0.0, STATUS_OPTIMAL
                self.objective_bound = self.existing_weight + heuristic_value * unit
            else:
                chosen, bound, self.status = self._exact(
                    model, chosen, heuristic_value, deadline, mip_rel_gap, threads
                )
                best = _objective(model, chosen)
                # a solver stopped before any bound of its own still leaves the simple one
                bound = max(min(bound, simple), best)
                # HiGHS's own optimality allows an absolute 1e-6 (in _weight_unit's units)
                proven = bound <= best + max(1e-6, _EPS * best)
                if proven != (self.status == STATUS_OPTIMAL):
                    # a status HiGHS gave for a plan it did not return (see _solve_milp), or
                    # a search stopped whose plan the simple bound proves
                    self.status = STATUS_OPTIMAL if proven else STATUS_TIME_LIMIT
                self.objective_bound = self.existing_weight + bound * unit
                self.gap = 0.0 if bound <= best else (bound - best) / max(best, 1e-12)
        ordered, gains = _order_by_gain(model, chosen)
        cols = model.col[np.asarray(ordered, dtype=np.int64)]
        self.chosen = self.col_site[cols].astype(np.int64)
        self.chosen_bearing = self.col_bearing[cols] if self.sectors else None
        self.marginal_gain = np.asarray(gains, dtype=np.float64) * unit
        hit = np.asarray(self.coverage[:, cols].sum(axis=1)).ravel() > 0
        self.covered = self.existing_covered | hit
        self.covered_weight = float(self.weights[self.covered].sum())
        self.method = method
        self.runtime = time.perf_counter() - t0
        return self

    def _exact(self, model, chosen, value, deadline, mip_rel_gap, threads):
        """Exact solve: Lagrangian bound and fixings on large cardinality models, then HiGHS
        on what is left. Returns (chosen model columns, upper bound, status)."""
        integral = _integral(model.w)
        lag_bound = np.inf
        sub, const = model, 0.0
        fixed_in: list[int] = []
        if self.budget is None and not self.sectors and model.b.nnz >= LAGRANGIAN_MIN_PAIRS:
            # The plan improves in a thread of its own from the start (_PlanImprover) while
            # this one works on the bound: first the LP bound, through the smoothed
            # Lagrangian dual, whose multipliers rank the columns (the K best, improved by
            # swaps, are a plan from another basin); then subgradient steps that fix columns.
            col_xy = self.candidate_xy[self.col_site[model.col]]
            improver = _PlanImprover(model, self.k, col_xy, chosen, deadline - 0.5)
            try:
                result = self._large(model, improver, deadline, integral)
            finally:
                best_plan, best_value = improver.finish()
            if result[0] == "done":
                _, bound, status = result
                chosen, value = best_plan, best_value
                if status == STATUS_OPTIMAL or bound < value + (
                    1.0 - 1e-6 if integral else 1e-9 * model.w.sum()
                ):
                    return chosen, value, STATUS_OPTIMAL
                return chosen, max(bound, value), STATUS_TIME_LIMIT
            _, lag, lag_bound = result
            chosen, value = best_plan, best_value
            fixed_in = np.flatnonzero(lag.fix1).tolist()
            sub, const = _restrict(model, lag.fix0, lag.fix1)
        k_left = None if self.k is None else self.k - len(fixed_in)
        if sub.b.shape[0] == 0 or sub.b.shape[1] == 0 or k_left == 0:
            found_sub, sub_bound, state = [], 0.0, STATUS_OPTIMAL
        else:
            # the incumbent is a warm start only where it agrees with the fixings
            start: list[int] = []
            if sub is not model:
                pos = {int(c): i for i, c in enumerate(sub.col)}
                if set(fixed_in) <= set(chosen) and all(c in pos or c in fixed_in for c in chosen):
                    start = [pos[c] for c in chosen if c in pos]
            else:
                start = list(chosen)
            found_sub, sub_bound, state = None, np.inf, STATUS_TIME_LIMIT
            if self.budget is None and not self.sectors and sub is model:
                # cardinality models small enough for HiGHS alone: LP branch and bound first
                # (see _branch_and_bound); HiGHS's MILP only gets what it leaves open
                found_sub, _, sub_bound, state = _branch_and_bound(
                    sub,
                    k_left,
                    start,
                    time.perf_counter() + BB_SHARE * 0.8 * (deadline - time.perf_counter()),
                    mip_rel_gap,
                    workers=min(BB_WORKERS, threads or _cores()),
                    col_xy=self.candidate_xy[self.col_site[sub.col]],
                )
                start = found_sub
            if state != STATUS_OPTIMAL:
                # HiGHS overruns its time limit by a few seconds on large models (it checks
                # the clock between simplex iterations); a fifth in reserve keeps the promise
                found_milp, _, milp_bound, state = _solve_milp(
                    sub,
                    k_left,
                    self.budget,
                    start,
                    0.8 * (deadline - time.perf_counter()),
                    mip_rel_gap,
                    threads,
                )
                if found_milp is not None and (
                    found_sub is None or _objective(sub, found_milp) >= _objective(sub, found_sub)
                ):
                    found_sub = found_milp
                # both bounds are proven for the same model: the lower one holds
                sub_bound = min(sub_bound, milp_bound) if np.isfinite(milp_bound) else sub_bound
                if found_sub is not None and sub_bound <= _objective(sub, found_sub):
                    state = STATUS_OPTIMAL
        if found_sub is not None:
            found = fixed_in + [int(sub.col[j]) if sub is not model else j for j in found_sub]
            found_value = _objective(model, found)
            if found_value >= value:
                chosen, value = found, found_value
        # plans breaking a fixing are worth no more than the incumbent
        bound = max(sub_bound + const, value) if np.isfinite(sub_bound) else np.inf
        return chosen, min(bound, lag_bound), state

    def _large(self, model, improver: _PlanImprover, deadline: float, integral: bool):
        """The bound side of a large cardinality model, the plan improving meanwhile.

        Returns ``("done", bound, status)`` when nothing is left for HiGHS (proven optimal,
        or what the fixings leave still too large for it), else ``("fix", lagrangian,
        bound)`` with the fixings for HiGHS to work on what is left.
        """
        slack = (1.0 - 1e-6) if integral else 1e-9 * float(model.w.sum())
        remaining = deadline - time.perf_counter()
        resume: dict = {}
        smooth_bound, lam = _smoothed_dual(
            model, self.k, time.perf_counter() + 0.4 * remaining, resume
        )
        if integral:
            smooth_bound = math.floor(smooth_bound + 1e-6)
        top = np.argsort(-(model.bc.T @ lam), kind="stable")[: self.k]
        improver.offer(
            _swap_search(model, top.tolist(), self.k, None, time.perf_counter() + 0.1 * remaining)
        )
        chosen, value = improver.current()
        if smooth_bound < value + slack:
            return "done", value, STATUS_OPTIMAL
        remaining = deadline - time.perf_counter()
        lag = _lagrangian(
            model,
            self.k,
            chosen,
            value,
            time.perf_counter() + 0.25 * remaining,
            integral,
            polish_seconds=0.1 * remaining,
            lam0=lam,
        )
        improver.offer(lag.best, lag.best_value)
        bound = min(lag.bound, smooth_bound)
        if lag.proven:
            return "done", improver.current()[1], STATUS_OPTIMAL
        fix0, fix1 = lag.fix0, lag.fix1
        kept = np.flatnonzero(~fix0 & ~fix1)
        if model.bc[:, kept].nnz < LAGRANGIAN_MIN_PAIRS:
            return "fix", lag, bound
        # What the fixings leave is still too large for HiGHS to finish even its root LP in
        # the time left (street and dense uniform models fix nothing): the smoothed dual
        # goes on where it stopped (the subgradient steps stall above it on these models).
        log.debug("fixed %d out and %d in: left to the smoothed dual", fix0.sum(), fix1.sum())
        more, _ = _smoothed_dual(model, self.k, deadline - 1.0, resume)
        if integral:
            more = math.floor(more + 1e-6)
        # the dual may have converged early: the plan search keeps the rest of the time
        improver.thread.join(timeout=max(deadline - 1.0 - time.perf_counter(), 0.0))
        return "done", min(bound, more), STATUS_TIME_LIMIT

    # ---------------------------------------------------------------- read
    @property
    def coverage_ratio(self) -> float:
        return self.covered_weight / self.total_weight if self.total_weight > 0 else 0.0

    @property
    def chosen_cost(self) -> float | None:
        return None if self.costs is None else float(self.costs[self.chosen].sum())

    def evaluate(self, chosen=None, bearings=None) -> float:
        """Covered weight of ``chosen`` (default: the solution), by :func:`evaluate`."""
        if chosen is None:
            chosen, bearings = self.chosen, self.chosen_bearing
        chosen = np.asarray(chosen, dtype=np.int64)
        return evaluate(
            self.demand_xy,
            self.weights,
            self.candidate_xy[chosen],
            self.radius,
            bearings=bearings,
            fov=self.fov,
            existing_xy=self.existing_xy,
            existing_radius=self.existing_radius,
            existing_bearings=self.existing_bearings,
            existing_fov=self.existing_fov,
        )

    def summary(self) -> dict:
        """The plan's figures, as written into the ``summary`` of a plan file."""
        return {
            "covered_weight": self.covered_weight,
            "total_weight": self.total_weight,
            "coverage_ratio": self.coverage_ratio,
            "existing_weight": self.existing_weight,
            "gap": self.gap,
            "objective_bound": self.objective_bound,
            "status": self.status,
            "k": self.k,
            "chosen": len(self.chosen),
            "budget": self.budget,
            "cost": self.chosen_cost,
            "radius": self.radius,
            "fov": self.fov if self.sectors else None,
            "runtime_s": self.runtime,
            "method": self.method,
            "model_rows": self.n_model_rows,
            "model_columns": self.n_model_columns,
        }

    def to_geodataframe(self):
        """Chosen sites as points in EPSG:3826 with ``id``, ``rank``, ``marginal_gain``
        (and ``bearing``, ``cost`` when used)."""
        import geopandas as gpd

        from geo.crs import STORAGE_SRID

        data = {
            "id": self.candidate_ids[self.chosen],
            "rank": np.arange(1, len(self.chosen) + 1),
            "marginal_gain": self.marginal_gain,
        }
        if self.chosen_bearing is not None:
            data["bearing"] = self.chosen_bearing
        if self.costs is not None:
            data["cost"] = self.costs[self.chosen]
        xy = self.candidate_xy[self.chosen]
        return gpd.GeoDataFrame(
            data, geometry=gpd.points_from_xy(xy[:, 0], xy[:, 1]), crs=STORAGE_SRID
        )

    def to_geojson(self) -> dict:
        """The plan as a GeoJSON FeatureCollection in EPSG:4326 with a top-level ``summary``
        (a foreign member, RFC 7946 §6.1).

        Built with pyproj alone: the CLI writes it, and GeoPandas would cost more to import
        than a small plan takes to solve.
        """
        from geo.crs import STORAGE_SRID, WEB_SRID, transformer

        props = {
            "id": self.candidate_ids[self.chosen].tolist(),
            "rank": list(range(1, len(self.chosen) + 1)),
            "marginal_gain": np.asarray(self.marginal_gain, dtype=np.float64).tolist(),
        }
        if self.chosen_bearing is not None:
            props["bearing"] = np.asarray(self.chosen_bearing, dtype=np.float64).tolist()
        if self.costs is not None:
            props["cost"] = self.costs[self.chosen].tolist()
        xy = self.candidate_xy[self.chosen]
        # the inverse of the transformer that read the points in: a second one would cost
        # another lookup in PROJ's database (~25 ms), more than a plan takes to write
        lon, lat = transformer(WEB_SRID, STORAGE_SRID).transform(
            xy[:, 0], xy[:, 1], direction="INVERSE"
        )
        features = [
            {
                "type": "Feature",
                "properties": {name: values[i] for name, values in props.items()},
                "geometry": {"type": "Point", "coordinates": [float(lon[i]), float(lat[i])]},
            }
            for i in range(len(xy))
        ]
        return {
            "type": "FeatureCollection",
            "features": features,
            "summary": _jsonable(self.summary()),
        }


def _jsonable(d: dict) -> dict:
    out = {}
    for key, value in d.items():
        if isinstance(value, np.generic):
            value = value.item()
        if isinstance(value, float) and not np.isfinite(value):
            value = None
        out[key] = value
    return out


def _numeric_column(layer, name: str, missing: str, what: str) -> np.ndarray:
    """``layer``'s column ``name`` as float64; ``missing`` is the message when it is absent."""
    values = layer.column(name)
    if values is None:
        raise MissingAttribute(missing, detail=f"no column {name}")
    try:
        return np.asarray(values, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise InvalidParameter(f"{what}「{name}」必須是數值。", detail=str(exc)) from exc
