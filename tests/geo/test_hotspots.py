"""Hotspots on a grid: Gi* against esda itself, FDR, kernel density, space-time classes."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from esda.getisord import G_Local
from libpysal.graph import Graph
from libpysal.weights import DistanceBand, W, lat2W

from geo.analysis.hotspots import (
    Grid,
    benjamini_hochberg,
    classify,
    compare_periods,
    getis_ord,
    hotspots,
    kernel_density,
    select_incidents,
    weights_matrix,
)
from geo.errors import EmptyAnalysisInput, InvalidParameter

X0, Y0 = 296_000.0, 2_770_000.0


def _incidents(seed=0, n=800):
    rng = np.random.default_rng(seed)
    a = rng.normal([X0 + 700, Y0 + 600], 150, (n // 2, 2))
    b = rng.normal([X0 + 1800, Y0 + 1300], 250, (n // 4, 2))
    bg = rng.uniform([X0, Y0], [X0 + 2500, Y0 + 2000], (n - n // 2 - n // 4, 2))
    return np.vstack([a, b, bg])


def _libpysal_weights(grid: Grid, kind: str, distance: float | None) -> W:
    """The same weights built independently by libpysal (lattice or distance band)."""
    if kind == "distance":
        return DistanceBand(grid.centres(), distance, binary=True, silence_warnings=True)
    return lat2W(grid.nrows, grid.ncols, rook=kind == "rook")


def _esda_z(y, w, transform):
    with warnings.catch_warnings():
        # esda warns that it fills the diagonal itself for row-standardised Gi*
        warnings.simplefilter("ignore")
        return G_Local(y, w, transform=transform, star=True, permutations=0).Zs


@pytest.mark.parametrize("transform", ["B", "R"])
@pytest.mark.parametrize(
    ("kind", "distance"),
    [("queen", None), ("rook", None), ("distance", 250.0), ("distance", 300.0)],
)
def test_gi_star_equals_esda(kind, distance, transform):
    grid = Grid.covering(_incidents(), cell=100)
    y = grid.count(_incidents())
    ours = getis_ord(y, grid, weights=kind, distance=distance, transform=transform)
    w = _libpysal_weights(grid, kind, distance)
    np.testing.assert_allclose(ours.z.ravel(), _esda_z(y.ravel(), w, transform), atol=1e-6)
    # and through a libpysal Graph built from our own sparse weights
    graph = Graph.from_sparse(weights_matrix(grid, kind, distance))
    np.testing.assert_allclose(ours.z.ravel(), _esda_z(y.ravel(), graph, transform), atol=1e-6)


@pytest.mark.parametrize("transform", ["B", "R"])
def test_gi_star_with_mask_equals_esda_on_the_sub_lattice(transform):
    pts = _incidents(3)
    grid = Grid.covering(pts, cell=100)
    mask = np.ones(grid.shape, dtype=bool)
    mask[: grid.nrows // 3, : grid.ncols // 2] = False  # e.g. outside the city
    y = grid.count(pts)
    ours = getis_ord(y, grid, weights="distance", distance=200.0, transform=transform, mask=mask)
    act = mask.ravel()
    w = DistanceBand(grid.centres()[act], 200.0, binary=True, silence_warnings=True)
    np.testing.assert_allclose(
        ours.z.ravel()[act], _esda_z(y.ravel()[act], w, transform), atol=1e-6
    )
    assert np.isnan(ours.z.ravel()[~act]).all()
    assert (ours.confidence.ravel()[~act] == 0).all()


@pytest.mark.parametrize(
    ("kind", "distance"), [("queen", None), ("rook", None), ("distance", 350.0)]
)
def test_weights_matrix_equals_libpysal(kind, distance):
    grid = Grid(0.0, 0.0, 100.0, 7, 9)
    ours = weights_matrix(grid, kind, distance)
    theirs = _libpysal_weights(grid, kind, distance).sparse
    assert abs(ours - theirs).sum() == 0


def test_grid_snaps_locates_and_draws():
    grid = Grid.covering([[X0 + 12, Y0 + 7], [X0 + 950, Y0 + 430]], cell=100)
    assert (grid.x0, grid.y0) == (X0, Y0)
    assert grid.shape == (5, 10)
    idx = grid.locate([[X0 + 12, Y0 + 7], [X0 + 950, Y0 + 430], [X0 - 1, Y0]])
    assert idx.tolist() == [0, 4 * 10 + 9, -1]
    counts = grid.count([[X0 + 12, Y0 + 7], [X0 + 50, Y0 + 50], [X0 + 950, Y0 + 430]])
    assert counts[0, 0] == 2 and counts[4, 9] == 1 and counts.sum() == 3
    polys = grid.polygons(np.array([0, 49]))
    assert polys[0].area == pytest.approx(10_000.0)
    assert polys[1].bounds == pytest.approx((X0 + 900, Y0 + 400, X0 + 1000, Y0 + 500))
    with pytest.raises(InvalidParameter):
        Grid.covering([[0.0, 0.0]], cell=0)


def test_hot_and_cold_spots_found_and_fdr_is_stricter():
    pts = _incidents(1, 1500)
    raw = hotspots(pts, cell=100, weights="distance", distance=200.0, fdr=False)
    adj = hotspots(pts, cell=100, weights="distance", distance=200.0, fdr=True)
    centre = raw.grid.locate([[X0 + 700, Y0 + 600]])[0]
    assert raw.confidence.ravel()[centre] == 3
    assert adj.confidence.ravel()[centre] == 3
    assert (adj.p_fdr >= adj.p - 1e-15)[adj.active].all()
    assert (np.abs(adj.confidence) > 0).sum() <= (np.abs(raw.confidence) > 0).sum()
    gdf = adj.to_geodataframe(significant_only=True)
    assert gdf.crs.to_epsg() == 3826
    assert set(gdf["confidence"]) <= {-3, -2, -1, 1, 2, 3}
    assert gdf["label"].iloc[0]


def test_benjamini_hochberg_matches_the_definition():
    p = np.array([0.01, 0.04, 0.03, 0.005, 0.2])
    # sorted: 0.005, 0.01, 0.03, 0.04, 0.2 -> p·n/rank: 0.025, 0.025, 0.05, 0.05, 0.2
    expected = np.array([0.025, 0.05, 0.05, 0.025, 0.2])
    np.testing.assert_allclose(benjamini_hochberg(p), expected)


def test_classify_bins():
    z = np.array([3.0, 2.0, 1.7, 0.5, -1.7, -2.0, -3.0])
    p = np.array([0.002, 0.04, 0.09, 0.6, 0.09, 0.04, 0.002])
    assert classify(z, p).tolist() == [3, 2, 1, 0, -1, -2, -3]


def test_filters_by_type_and_time_window():
    types = np.array(["竊盜", "車禍", "竊盜", "詐騙"])
    times = np.array(
        ["2024-01-05", "2024-02-01", "2024-03-01", "2024-02-15"], dtype="datetime64[D]"
    )
    keep = select_incidents(
        types=types, include_types={"竊盜", "詐騙"}, times=times, start="2024-02-01"
    )
    assert keep.tolist() == [False, False, True, True]
    keep = select_incidents(times=times, start="2024-02-01", end="2024-03-01")
    assert keep.tolist() == [False, True, False, True]
    with pytest.raises(InvalidParameter):
        select_incidents(4, include_types={"竊盜"})


def test_hotspots_filters_before_counting():
    pts = _incidents(2, 400)
    types = np.where(np.arange(len(pts)) % 2 == 0, "theft", "crash")
    grid = Grid.covering(pts, cell=100)
    res = hotspots(pts, grid=grid, types=types, include_types=["theft"])
    assert res.values.sum() == (types == "theft").sum()
    assert res.params["incidents"] == (types == "theft").sum()
    with pytest.raises(EmptyAnalysisInput):
        hotspots(pts, grid=grid, types=types, include_types=["arson"])


@pytest.mark.parametrize("kernel", ["quartic", "gaussian"])
def test_kernel_density_integrates_to_the_count(kernel):
    rng = np.random.default_rng(4)
    pts = rng.normal([X0 + 2000, Y0 + 2000], 200, (300, 2))
    grid = Grid.covering(extent=(X0, Y0, X0 + 4000, Y0 + 4000), cell=50)
    dens = kernel_density(pts, grid, bandwidth=300, kernel=kernel)
    area_km2 = (grid.cell / 1000) ** 2
    assert dens.density.sum() * area_km2 == pytest.approx(300, rel=0.01)
    peak = np.unravel_index(np.argmax(dens.density), grid.shape)
    assert abs(peak[0] - 40) <= 3 and abs(peak[1] - 40) <= 3
    assert len(dens.to_geodataframe()) == int((dens.density > 0).sum())


def test_quartic_kernel_value_at_a_cell_centre():
    grid = Grid(0.0, 0.0, 100.0, 5, 5)
    dens = kernel_density([[250.0, 250.0]], grid, bandwidth=200.0)
    h = 200.0
    assert dens.density[2, 2] == pytest.approx(3 / (np.pi * h * h) * 1e6)
    u = 1 - (100.0**2) / h**2  # the next cell's centre is 100 m away
    assert dens.density[2, 3] == pytest.approx(3 / (np.pi * h * h) * u * u * 1e6)
    assert dens.density[0, 2] == 0.0  # 200 m away: the kernel's edge


def _cluster(rng, cx, cy, n, sd=60.0):
    return rng.normal([X0 + cx, Y0 + cy], sd, (n, 2))


def test_space_time_classes_on_a_constructed_example():
    rng = np.random.default_rng(8)
    extent = (X0, Y0, X0 + 4000, Y0 + 4000)
    background = [rng.uniform([X0, Y0], [X0 + 4000, Y0 + 4000], (400, 2)) for _ in range(2)]
    persistent = (1000, 1000)
    intensifying = (3000, 3000)
    new = (1000, 3000)
    fading = (3000, 1000)
    before = np.vstack(
        [
            background[0],
            _cluster(rng, *persistent, 60),
            _cluster(rng, *intensifying, 25),
            _cluster(rng, *fading, 60),
        ]
    )
    after = np.vstack(
        [
            background[1],
            _cluster(rng, *persistent, 60),
            _cluster(rng, *intensifying, 120),
            _cluster(rng, *new, 60),
        ]
    )
    kw = {"extent": extent, "cell": 100, "weights": "distance", "distance": 200.0}
    st = compare_periods(hotspots(before, **kw), hotspots(after, **kw), threshold=1.0)

    def at(x, y):
        return int(st.category.ravel()[st.grid.locate([[X0 + x, Y0 + y]])[0]])

    assert at(*persistent) == 3
    assert at(*intensifying) == 2
    assert at(*new) == 1
    assert at(*fading) == 4
    counts = st.counts()
    assert all(counts[name] > 0 for name in ("new", "intensifying", "persistent", "fading"))
    gdf = st.to_geodataframe()
    assert set(gdf["category"]) == {"new", "intensifying", "persistent", "fading"}
    assert gdf.crs.to_epsg() == 3826


def test_space_time_needs_the_same_grid():
    pts = _incidents(5)
    a = hotspots(pts, cell=100)
    b = hotspots(pts, cell=200)
    with pytest.raises(InvalidParameter):
        compare_periods(a, b)
