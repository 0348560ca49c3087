"""Geometry checks at the boundary (geo.validation); no database.

Each rule of the issue's item 4 has a case here: what is refused (with which code and a
zh-TW message), what is repaired (and reported), and that the vectorised frame check gives
the same answers as the one-geometry check.
"""

from __future__ import annotations

import math
import re

import geopandas as gpd
import numpy as np
import pytest
import shapely
from pyproj import CRS, Transformer
from shapely.geometry import (
    GeometryCollection,
    LineString,
    MultiPoint,
    MultiPolygon,
    Point,
    Polygon,
)

from geo import errors
from geo.validation import (
    ACCEPTED_EXTENT_3826,
    NEW_TAIPEI_3826,
    NEW_TAIPEI_LONLAT,
    Limits,
    check_counts,
    check_frame,
    check_geometry,
    check_payload_size,
)
from tests.geo.layer_inputs import ABANDONED_LOT, KAOHSIUNG, LANE_CORNER, SPIKE, UNDERPASS

TO_3826 = Transformer.from_crs(4326, 3826, always_xy=True)
HAZARD_TYPES = ("Point", "LineString", "Polygon", "MultiLineString", "MultiPolygon")
CJK = re.compile(r"[\u4e00-\u9fff]")


def lonlat_to_3826(x: float, y: float) -> tuple[float, float]:
    return TO_3826.transform(x, y)


def square(x0: float, y0: float, size: float = 0.001) -> list[tuple[float, float]]:
    """A counter-clockwise lon/lat square."""
    return [(x0, y0), (x0 + size, y0), (x0 + size, y0 + size), (x0, y0 + size), (x0, y0)]


def check(geom, allowed=HAZARD_TYPES, crs=4326, **kw):
    return check_geometry(geom, allowed_types=allowed, source_crs=crs, **kw)


# --------------------------------------------------------------------------- the extent
def test_extent_is_the_city_bbox_in_twd97_rounded_outward():
    bounds = Transformer.from_crs(4326, 3826, always_xy=True).transform_bounds(
        *NEW_TAIPEI_LONLAT, densify_pts=100
    )
    for ours, exact in zip(NEW_TAIPEI_3826, bounds, strict=True):
        assert abs(ours - exact) < 1.0
    assert NEW_TAIPEI_3826[0] <= bounds[0] and NEW_TAIPEI_3826[1] <= bounds[1]
    assert NEW_TAIPEI_3826[2] >= bounds[2] and NEW_TAIPEI_3826[3] >= bounds[3]
    assert ACCEPTED_EXTENT_3826[0] == NEW_TAIPEI_3826[0] - 5_000


# --------------------------------------------------------------------------- CRS
def test_lonlat_point_is_reprojected_explicitly_to_twd97():
    checked = check(Point(LANE_CORNER))

    assert checked.geom_3826.coords[0] == pytest.approx(lonlat_to_3826(*LANE_CORNER), abs=1e-9)
    assert checked.repairs == []


def test_twd97_passes_bit_for_bit():
    x, y = 296649.845228123, 2767308.104653456

    checked = check(Point(x, y), crs=3826)

    assert checked.geom_3826.coords[0] == (x, y)


def test_twd67_gets_the_epsg_datum_shift_not_a_ballpark():
    # TWD67 TM2 and TWD97 TM2 differ by about 828 m east and 207 m south around Taipei.
    x67, y67 = 299641.8233, 2766077.5487

    x97, y97 = check(Point(x67, y67), crs=3828).geom_3826.coords[0]

    assert 800 < x97 - x67 < 850
    assert -230 < y97 - y67 < -190
    expected = Transformer.from_crs(3828, 3826, always_xy=True).transform(x67, y67)
    assert (x97, y97) == pytest.approx(expected, abs=1e-6)


def test_crs_without_an_exact_transformation_is_refused():
    # TWD67 lon/lat (EPSG:3821) reaches TWD97 only by PROJ's "ballpark" guess.
    with pytest.raises(errors.UnknownCRS) as exc:
        check(Point(121.46, 25.01), crs=3821)
    assert CJK.search(exc.value.message)


# --------------------------------------------------------------------------- refusals
lot = Polygon(ABANDONED_LOT)
bowtie = Polygon([(121.460, 25.010), (121.461, 25.011), (121.461, 25.010), (121.460, 25.011)])
hole_outside = Polygon(square(121.46, 25.01), [square(121.47, 25.02)[::-1]])
overlapping = MultiPolygon([Polygon(square(121.460, 25.010)), Polygon(square(121.4605, 25.0105))])
flat = Polygon([(121.460, 25.010), (121.461, 25.010), (121.462, 25.010), (121.460, 25.010)])
x97, y97 = lonlat_to_3826(*LANE_CORNER)

REFUSED = [
    ("none", None, HAZARD_TYPES, 4326, errors.EmptyGeometry, "沒有圖形"),
    ("empty point", Point(), HAZARD_TYPES, 4326, errors.EmptyGeometry, "空的"),
    ("empty polygon", Polygon(), HAZARD_TYPES, 4326, errors.EmptyGeometry, "空的"),
    ("NaN", Point(math.nan, 25.01), HAZARD_TYPES, 4326, errors.NonFiniteCoordinates, "NaN"),
    ("inf", Point(121.46, math.inf), HAZARD_TYPES, 4326, errors.NonFiniteCoordinates, "無限"),
    ("Kaohsiung", Point(KAOHSIUNG), HAZARD_TYPES, 4326, errors.GeometryOutOfBounds, "120.30140"),
    ("null island", Point(0, 0), HAZARD_TYPES, 4326, errors.GeometryOutOfBounds, "超出新北市"),
    (
        "line leaving the city",
        LineString([LANE_CORNER, KAOHSIUNG]),
        HAZARD_TYPES,
        4326,
        errors.GeometryOutOfBounds,
        "120.30140",
    ),
    (
        "lat/lon swapped",
        Point(LANE_CORNER[1], LANE_CORNER[0]),
        HAZARD_TYPES,
        4326,
        errors.SwappedCoordinates,
        "填反",
    ),
    ("Y/X swapped", Point(y97, x97), HAZARD_TYPES, 3826, errors.SwappedCoordinates, "X 與 Y"),
    ("polygon for cameras", lot, ("Point",), 4326, errors.WrongGeometryType, "只接受點"),
    (
        "two points for cameras",
        MultiPoint([LANE_CORNER, UNDERPASS]),
        ("Point",),
        4326,
        errors.WrongGeometryType,
        "多點",
    ),
    ("line for blocks", LineString([LANE_CORNER, UNDERPASS]), ("Polygon",), 4326, errors.WrongGeometryType, "線"),
    ("bow-tie", bowtie, HAZARD_TYPES, 4326, errors.InvalidGeometry, "自我交叉"),
    ("hole outside shell", hole_outside, HAZARD_TYPES, 4326, errors.InvalidGeometry, "外環之外"),
    ("overlapping parts", overlapping, HAZARD_TYPES, 4326, errors.InvalidGeometry, "無法確定"),
    ("no area", flat, HAZARD_TYPES, 4326, errors.InvalidGeometry, "沒有面積"),
    ("one-point line", LineString([LANE_CORNER, LANE_CORNER]), HAZARD_TYPES, 4326, errors.InvalidGeometry, "頂點太少"),
]  # fmt: skip


@pytest.mark.parametrize(
    ("geom", "allowed", "crs", "error", "words"),
    [case[1:] for case in REFUSED],
    ids=[case[0] for case in REFUSED],
)
def test_bad_geometry_is_refused_with_code_and_zh_tw_reason(geom, allowed, crs, error, words):
    with pytest.raises(error) as exc:
        check(geom, allowed, crs)

    assert type(exc.value) is error  # the most specific class, so the code is specific
    assert exc.value.code == error.code
    assert CJK.search(exc.value.message)
    assert words in exc.value.message


def test_bowtie_message_says_where_and_why():
    with pytest.raises(errors.InvalidGeometry) as exc:
        check(bowtie)

    # the crossing is at the middle of the bow-tie, given in lon/lat
    assert "經度 121.46050、緯度 25.01050" in exc.value.message
    assert "2 個部分" in exc.value.message


def test_too_many_vertices_in_one_feature():
    line = LineString([(121.46 + i * 1e-6, 25.01) for i in range(101)])

    with pytest.raises(errors.TooManyVertices) as exc:
        check(line, limits=Limits(max_vertices_per_feature=100))

    assert exc.value.code == "input_too_many_vertices"
    assert "101" in exc.value.message
    check(line, limits=Limits(max_vertices_per_feature=101))  # at the limit is fine


def test_a_point_just_outside_the_city_is_within_the_margin():
    # 3 km west of the city's westernmost longitude: a shared street on the Taoyuan line
    x, y = NEW_TAIPEI_3826[0] - 3_000, (NEW_TAIPEI_3826[1] + NEW_TAIPEI_3826[3]) / 2
    check(Point(x, y), crs=3826)
    with pytest.raises(errors.GeometryOutOfBounds):
        check(Point(x - 2_500, y), crs=3826)


# --------------------------------------------------------------------------- repairs
def test_clean_counter_clockwise_polygon_has_no_repairs():
    checked = check(Polygon(square(121.46, 25.01)))

    assert checked.repairs == []
    assert checked.geom_3826.exterior.is_ccw


def test_unclosed_geojson_ring_is_closed_and_reported():
    ring = [list(p) for p in square(121.46, 25.01)[:-1]]

    checked = check({"type": "Polygon", "coordinates": [ring]})

    assert checked.geom_3826.geom_type == "Polygon"
    assert len(checked.geom_3826.exterior.coords) == 5
    assert any("閉合" in note for note in checked.repairs)


def test_repeated_vertices_are_dropped_and_counted():
    line = LineString([LANE_CORNER, LANE_CORNER, UNDERPASS, UNDERPASS, UNDERPASS])

    checked = check(line)

    assert len(checked.geom_3826.coords) == 2
    assert any("3 個連續重複" in note for note in checked.repairs)


def test_clockwise_polygon_is_oriented_and_reported():
    checked = check(lot)  # ABANDONED_LOT is drawn clockwise

    assert checked.geom_3826.exterior.is_ccw
    assert any("逆時針" in note for note in checked.repairs)
    assert checked.geom_3826.area == pytest.approx(
        shapely.transform(lot, lambda xy: np.column_stack(TO_3826.transform(*xy.T))).area
    )


def test_spike_is_removed_because_the_repair_is_unambiguous():
    polygon = shapely.geometry.shape(SPIKE)
    assert not polygon.is_valid

    checked = check(polygon)

    assert checked.geom_3826.is_valid
    assert checked.geom_3826.geom_type == "Polygon"
    assert any("修正無效" in note and "面積不變" in note for note in checked.repairs)


def test_ring_touching_itself_becomes_a_polygon_with_a_hole():
    # an "inverted hole": the shell dips in and touches itself at one point
    x, y, s = 121.46, 25.01, 0.001
    ring = [
        (x, y),
        (x + s, y),
        (x + s, y + s),
        (x + s / 2, y + s),
        (x + 0.7 * s, y + s / 2),
        (x + 0.3 * s, y + s / 2),
        (x + s / 2, y + s),
        (x, y + s),
        (x, y),
    ]

    checked = check(Polygon(ring))

    assert checked.geom_3826.is_valid
    assert len(checked.geom_3826.interiors) == 1
    assert any("環的邊線自我接觸" in note for note in checked.repairs)


def test_heights_and_measures_are_dropped_and_reported():
    z = check(shapely.from_wkt(f"POINT Z ({LANE_CORNER[0]} {LANE_CORNER[1]} 12.5)"))
    m = check(shapely.from_wkt(f"POINT M ({LANE_CORNER[0]} {LANE_CORNER[1]} 3)"))

    assert not z.geom_3826.has_z and not m.geom_3826.has_m
    assert any("高度（Z）" in note for note in z.repairs)
    assert any("量測值（M）" in note for note in m.repairs)


@pytest.mark.parametrize(
    ("geom", "allowed", "expected"),
    [
        (MultiPoint([LANE_CORNER]), ("Point",), "Point"),
        (GeometryCollection([Polygon(square(121.46, 25.01))]), ("Polygon",), "Polygon"),
        (MultiPolygon([Polygon(square(121.46, 25.01))]), ("Polygon",), "Polygon"),
    ],
)
def test_one_part_multi_geometry_is_unwrapped_and_reported(geom, allowed, expected):
    checked = check(geom, allowed)

    assert checked.geom_3826.geom_type == expected
    assert any("只有一個部分" in note for note in checked.repairs)


def test_geojson_that_is_not_a_geometry_is_refused():
    for bad in (
        {"type": "Feature", "geometry": None},
        {"type": "Polygon", "coordinates": "abc"},
        {"type": "Point", "coordinates": ["121.4", None]},
        {"coordinates": [121.46, 25.01]},
    ):
        with pytest.raises(errors.InvalidGeometry) as exc:
            check(bad)
        assert CJK.search(exc.value.message)


# --------------------------------------------------------------------------- frames
def corpus() -> list[tuple[object, int]]:
    """(geometry, CRS) pairs covering every rule, good and bad."""
    return [
        (Point(LANE_CORNER), 4326),
        (lot, 4326),
        (LineString([LANE_CORNER, LANE_CORNER, UNDERPASS]), 4326),
        (shapely.geometry.shape(SPIKE), 4326),
        (shapely.from_wkt("POINT Z (121.46 25.01 3)"), 4326),
        *((geom, crs) for _, geom, _, crs, _, _ in REFUSED if crs in (4326,)),
    ]


def test_check_frame_gives_the_same_answers_as_check_geometry():
    geoms = [g for g, _ in corpus()]
    frame = gpd.GeoDataFrame({"n": range(len(geoms))}, geometry=geoms, crs=4326)

    result = check_frame(frame, allowed_types=HAZARD_TYPES)

    assert not result.ok
    for i, geom in enumerate(geoms):
        try:
            single = check(geom)
        except errors.InvalidInput as exc:
            assert i in result.errors
            assert result.errors[i].code == exc.code
            assert result.errors[i].message == exc.message
            assert result.geometry.iloc[i] is None
        else:
            assert i not in result.errors
            assert shapely.equals_exact(result.geometry.iloc[i], single.geom_3826, tolerance=0)
            assert result.repairs.get(i, []) == single.repairs
    assert result.geometry.crs == CRS.from_epsg(3826)


def test_check_frame_keeps_the_index_and_uses_the_frame_crs():
    x, y = lonlat_to_3826(*LANE_CORNER)
    series = gpd.GeoSeries([Point(x, y), Point(0, 0)], index=["a", "b"], crs=3826)

    result = check_frame(series, allowed_types=("Point",))

    assert list(result.geometry.index) == ["a", "b"]
    assert result.geometry["a"].coords[0] == (x, y)
    assert set(result.errors) == {"b"}


def test_check_frame_without_a_crs_is_refused():
    with pytest.raises(errors.UnknownCRS):
        check_frame(gpd.GeoSeries([Point(LANE_CORNER)]), allowed_types=("Point",))


def test_whole_frame_limits_raise():
    points = gpd.GeoSeries([Point(LANE_CORNER)] * 11, crs=4326)
    with pytest.raises(errors.TooManyFeatures) as exc:
        check_frame(points, allowed_types=("Point",), limits=Limits(max_features=10))
    assert exc.value.code == "input_too_many_features"

    lines = gpd.GeoSeries([LineString([LANE_CORNER, UNDERPASS] * 30)] * 2, crs=4326)
    with pytest.raises(errors.TooManyVertices):
        check_frame(lines, allowed_types=("LineString",), limits=Limits(max_total_vertices=100))


def test_payload_and_count_limits():
    check_payload_size(20 * 1024 * 1024)
    with pytest.raises(errors.InputTooLarge) as exc:
        check_payload_size(20 * 1024 * 1024 + 1)
    assert exc.value.code == "input_too_large"
    assert "20.0 MB" in exc.value.message

    check_counts(5_000, 200_000)
    with pytest.raises(errors.TooManyFeatures):
        check_counts(5_001, 10)
    with pytest.raises(errors.TooManyVertices):
        check_counts(10, 200_001)


def test_new_error_classes_have_unique_stable_codes_and_zh_tw_messages():
    classes = [
        errors.EmptyGeometry,
        errors.NonFiniteCoordinates,
        errors.WrongGeometryType,
        errors.SwappedCoordinates,
        errors.InputTooLarge,
        errors.TooManyFeatures,
        errors.TooManyVertices,
        errors.UnsupportedFormat,
        errors.InvalidValue,
        errors.MissingValue,
        errors.NotNumeric,
        errors.ValueOutOfRange,
        errors.UnmappedCategory,
        errors.ImportRowsRejected,
    ]
    in_module = [
        c
        for c in vars(errors).values()
        if isinstance(c, type) and issubclass(c, errors.SafemapError)
    ]
    codes = [c.code for c in in_module]
    assert len(codes) == len(set(codes))  # stable codes are unique across geo.errors
    assert set(classes) <= set(in_module)
    assert all(CJK.search(c.message) for c in classes)
    # geometry errors share the 422 of their parents in api/errors.py's table
    assert issubclass(errors.SwappedCoordinates, errors.GeometryOutOfBounds)
    assert issubclass(errors.WrongGeometryType, errors.InvalidGeometry)
