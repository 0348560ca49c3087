"""Reading and writing the spatial layers' files (geo.layer_io); no database.

Inputs are built in code by ``tests/geo/layer_inputs.py`` (a Google My Maps KML/KMZ, CSVs,
shapefile zips in three CRSs, a GeoPackage, a corpus of bad files) and written to
``tmp_path`` or passed as upload bytes.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
import zipfile

import geopandas as gpd
import numpy as np
import pytest
import shapely
from pyproj import Transformer

from geo import errors
from geo.layer_io import (
    LAYER_TITLES,
    ImportPlan,
    html_to_text,
    map_categories,
    read_layer_file,
    write_geopackage,
    write_kml,
    write_kmz,
)
from geo.validation import Limits
from tests.geo import layer_inputs as inputs

TO_3826 = Transformer.from_crs(4326, 3826, always_xy=True)
CJK = re.compile(r"[\u4e00-\u9fff]")
HAZARD_FOLDERS = ["照明不足", "治安死角"]


def at(lonlat: tuple[float, float]) -> shapely.Point:
    return shapely.Point(TO_3826.transform(*lonlat))


def codes(plan: ImportPlan) -> list[str]:
    return [p.code for p in plan.problems]


def by_name(plan: ImportPlan) -> dict[str, dict]:
    return {r["name"]: r for r in plan.rows.to_dict("records")}


@pytest.fixture(scope="module")
def kml_bytes() -> bytes:
    return inputs.my_maps_kml().encode("utf-8")


@pytest.fixture(scope="module")
def hazards_plan(kml_bytes) -> ImportPlan:
    return read_layer_file(kml_bytes, filename="留侯里.kml", kind="hazards", layer=HAZARD_FOLDERS)


# --------------------------------------------------------------------------- Google My Maps
def test_my_maps_kml_imports_points_lines_polygons_with_folder_categories(hazards_plan):
    plan = hazards_plan

    assert plan.ok and plan.problems == []
    assert plan.layers == HAZARD_FOLDERS
    assert plan.rows.crs.to_epsg() == 3826
    assert list(plan.rows.geometry.geom_type) == [
        "Point",
        "Point",
        "LineString",
        "Point",
        "Polygon",
    ]
    rows = by_name(plan)
    # category from the folder, or from the placemark's own 類別 (a synonym) before the folder
    assert rows["文化路一段巷口"]["category"] == "poor_lighting"
    assert rows["民族路 50 巷暗巷"]["category"] == "poor_lighting"
    assert rows["地下道出口"]["category"] == "blind_spot"
    assert rows["廢棄空地"]["category"] == "abandoned_building"
    # ExtendedData fields, and the defaults where a placemark has none
    assert rows["文化路一段巷口"]["severity"] == 4
    assert rows["文化路一段巷口"]["time_of_day"] == "night"
    assert rows["廢棄空地"]["severity"] == 5
    assert rows["地下道出口"]["severity"] == 3
    assert rows["地下道出口"]["time_of_day"] == "both"
    # HTML descriptions as text: tags gone, line breaks kept, entities decoded, images dropped
    assert rows["文化路一段巷口"]["description"] == "路燈故障\n晚上很暗，已通報 1999 & 里長"
    assert rows["公園旁步道"]["description"] == "步道燈光昏暗"
    assert [r["source_row"] for r in plan.rows.to_dict("records")] == [1, 2, 3, 1, 2]
    assert list(plan.rows["source_layer"]) == ["照明不足"] * 3 + ["治安死角"] * 2


def test_my_maps_geometries_are_placed_exactly(hazards_plan):
    rows = hazards_plan.rows.set_index("name").geometry

    assert shapely.equals_exact(rows["文化路一段巷口"], at(inputs.LANE_CORNER), tolerance=1e-6)
    alley = shapely.LineString([TO_3826.transform(*p) for p in inputs.DARK_ALLEY])
    assert shapely.equals_exact(rows["民族路 50 巷暗巷"], alley, tolerance=1e-6)
    lot = rows["廢棄空地"]
    assert lot.is_valid and lot.exterior.is_ccw
    assert 8_000 < lot.area < 10_000  # about 100 m by 90 m


def test_my_maps_repairs_are_reported(hazards_plan):
    notes = {(r.layer, r.row): [] for r in hazards_plan.repairs}
    for r in hazards_plan.repairs:
        notes[(r.layer, r.row)].append(r.note_zh)

    # every KML coordinate has an altitude of 0, dropped; the lot was drawn clockwise
    assert len(notes) == 5
    assert all(any("高度（Z）" in n for n in ns) for ns in notes.values())
    assert any("逆時針" in n for n in notes[("治安死角", 2)])


def test_kmz_reads_like_its_kml(hazards_plan):
    plan = read_layer_file(
        inputs.kmz(inputs.my_maps_kml()),
        filename="留侯里.kmz",
        kind="hazards",
        layer=HAZARD_FOLDERS,
    )

    assert plan.source == "留侯里.kmz/doc.kml"
    assert list(plan.rows["category"]) == list(hazards_plan.rows["category"])
    assert plan.rows.geometry.equals(hazards_plan.rows.geometry)


def test_whole_map_reports_the_folder_that_is_no_hazard_category(kml_bytes, tmp_path):
    path = tmp_path / "留侯里.kml"
    path.write_bytes(kml_bytes)

    plan = read_layer_file(path, kind="hazards")

    assert plan.layers == ["照明不足", "治安死角", "巡守路線"]
    assert len(plan.rows) == 5
    [problem] = plan.problems
    assert (problem.layer, problem.row, problem.code) == ("巡守路線", 1, "category_unmapped")
    assert "巡守路線" in problem.reason_zh and "對應表" in problem.reason_zh
    assert problem.where_zh == "圖層「巡守路線」第 1 筆"
    # all or nothing: the caller is told to store nothing
    with pytest.raises(errors.ImportRowsRejected) as exc:
        plan.raise_if_problems()
    assert exc.value.context["problems"] == plan.problems
    assert "整批資料都沒有儲存" in exc.value.message


def test_explicit_mapping_comes_first_and_maps_folders(kml_bytes):
    plan = read_layer_file(
        kml_bytes,
        filename="map.kml",
        kind="hazards",
        category_mapping={"巡守路線": "其他", "治安死角": "obstructed_view"},
    )

    assert plan.ok
    rows = by_name(plan)
    assert rows["夜間巡守路線"]["category"] == "other"  # a zh-TW label is accepted as target
    assert rows["地下道出口"]["category"] == "obstructed_view"  # mapping beats the exact label
    assert rows["廢棄空地"]["category"] == "abandoned_building"  # its own value comes first


def test_default_category_takes_what_maps_to_nothing(kml_bytes):
    plan = read_layer_file(kml_bytes, filename="map.kml", kind="hazards", default_category="other")

    assert plan.ok
    assert by_name(plan)["夜間巡守路線"]["category"] == "other"


def test_patrol_route_folder_imports_as_a_patrol_route(kml_bytes):
    plan = read_layer_file(kml_bytes, filename="map.kml", kind="patrol_routes", layer="巡守路線")

    assert plan.ok
    [row] = plan.rows.to_dict("records")
    assert row["team_name"] == "留侯里守望相助隊"
    assert row["name"] == "夜間巡守路線"
    assert row["geometry"].geom_type == "LineString"


def test_kml_multigeometry_of_lines_is_a_multilinestring_and_mixed_ones_are_refused():
    plan = read_layer_file(inputs.multigeometry_kml().encode(), filename="m.kml", kind="hazards")

    assert list(plan.rows.geometry.geom_type) == ["MultiLineString"]
    [problem] = plan.problems
    assert (problem.row, problem.code) == (2, "geometry_wrong_type")
    assert "拆成個別的地標" in problem.reason_zh


@pytest.mark.parametrize(
    ("data", "filename", "error", "words"),
    [
        (inputs.network_link_kml().encode(), "map.kml", errors.ImportFileError, "網路連結"),
        (inputs.kmz(inputs.network_link_kml(), icons=False), "map.kmz", errors.ImportFileError, "網路連結"),
        (inputs.entity_kml().encode(), "map.kml", errors.ImportFileError, "DTD"),
        (inputs.truncated(inputs.my_maps_kml().encode()), "map.kml", errors.ImportFileError, "不完整"),
        (inputs.truncated(inputs.kmz(inputs.my_maps_kml())), "map.kmz", errors.ImportFileError, "損毀"),
    ],
    ids=["network link", "network link kmz", "entities", "truncated kml", "truncated kmz"],
)  # fmt: skip
def test_kml_that_cannot_be_read_is_refused(data, filename, error, words):
    with pytest.raises(error) as exc:
        read_layer_file(data, filename=filename, kind="hazards")

    assert words in exc.value.message
    assert CJK.search(exc.value.message)


# --------------------------------------------------------------------------- categories
def test_map_categories_order_and_fallbacks():
    got = map_categories(
        ["路燈不亮", "poor_lighting", "治安死角", "巷口照明不足處", "車禍", None, "樹", "燈壞"],
        {"燈壞": "poor_lighting", "樹": "視線遮蔽"},
        folders=[None, None, None, None, None, "空屋", "照明不足", None],
    )

    assert got == [
        "poor_lighting",  # synonym
        "poor_lighting",  # code
        "blind_spot",  # label
        "poor_lighting",  # one category's term inside the value
        "accident_prone",
        "abandoned_building",  # no value: the folder
        "obstructed_view",  # explicit mapping (to a label) before the folder
        "poor_lighting",
    ]


def test_map_categories_leaves_unknown_and_ambiguous_unmapped_unless_defaulted():
    values = ["路邊停車", "死角暗巷", "  照明 不足 "]  # none; two categories; spacing ignored

    assert map_categories(values) == [None, None, "poor_lighting"]
    assert map_categories(values, default="other") == ["other", "other", "poor_lighting"]


def test_map_categories_refuses_a_mapping_to_something_that_is_not_ours():
    with pytest.raises(errors.UnmappedCategory) as exc:
        map_categories(["x"], {"x": "streetlights"})
    assert "streetlights" in exc.value.message
    with pytest.raises(errors.UnmappedCategory):
        map_categories(["x"], default="misc")


def test_html_to_text():
    assert html_to_text("<div>第一行<br/>第二行</div><p>&lt;注意&gt;&nbsp;x</p>") == (
        "第一行\n第二行\n<注意> x"
    )
    assert html_to_text("a < b") == "a < b"
    assert html_to_text("<script>alert(1)</script>安全") == "安全"


# --------------------------------------------------------------------------- CSV
def test_lonlat_csv_in_utf8_with_bom():
    plan = read_layer_file(inputs.lonlat_csv(), filename="安全地圖.csv", kind="hazards")

    assert plan.ok
    assert list(plan.rows["category"]) == ["poor_lighting", "poor_lighting", "blind_spot"]
    assert list(plan.rows["source_row"]) == [2, 3, 4]  # spreadsheet line numbers
    assert list(plan.rows["severity"]) == [4, 3, 2]
    assert list(plan.rows["time_of_day"]) == ["night", "both", "day"]
    assert plan.rows["description"].iloc[2] == "出口轉角,看不到人"
    assert plan.rows["source_layer"].iloc[0] == "安全地圖"
    assert shapely.equals_exact(plan.rows.geometry.iloc[0], at(inputs.LANE_CORNER), 1e-6)


def test_twd97_csv_keeps_the_metres_as_they_are():
    plan = read_layer_file(inputs.twd97_csv(), filename="points.csv", kind="hazards")

    assert plan.ok
    assert list(plan.rows["category"]) == ["accident_prone", "abandoned_building"]
    assert plan.rows.geometry.iloc[0].coords[0] == inputs.twd97(inputs.LANE_CORNER)


def test_big5_csv_is_decoded():
    plan = read_layer_file(inputs.big5_csv(), filename="excel.csv", kind="hazards")

    assert plan.ok
    assert list(plan.rows["name"]) == ["文化路一段巷口", "地下道出口"]
    assert list(plan.rows["category"]) == ["poor_lighting", "blind_spot"]


def test_cameras_csv():
    plan = read_layer_file(inputs.cameras_csv(), filename="cctv.csv", kind="cameras")

    assert plan.ok
    first, second = plan.rows.to_dict("records")
    assert (first["name"], first["status"], first["owner"]) == ("BQ-001", "existing", "police")
    assert (first["bearing_deg"], first["fov_deg"], first["range_m"]) == (90.0, 60.0, 30.0)
    assert first["height_m"] == 3.5
    assert second["bearing_deg"] == 270.0  # -90 is the same direction
    assert (second["status"], second["owner"]) == ("proposed", "community")
    assert second["height_m"] is None or np.isnan(second["height_m"])


def test_csv_with_text_in_numeric_columns_reports_each_row():
    plan = read_layer_file(inputs.csv_with_text_in_numbers(), filename="a.csv", kind="hazards")

    assert not plan.ok
    found = {(p.row, p.code, p.field) for p in plan.problems}
    assert (2, "value_not_numeric", "經度") in found
    assert (3, "value_not_numeric", "severity") in found
    assert (4, "value_missing", "緯度") in found
    assert (5, "value_out_of_range", "severity") in found  # 9 is refused, never clamped
    assert len(found) == 4  # a missing coordinate is not reported again as "no geometry"
    assert all(CJK.search(p.reason_zh) for p in plan.problems)
    assert plan.problems[0].where_zh == "圖層「a」第 2 列"
    assert len(plan.rows) == 0


def test_csv_without_coordinate_columns_is_refused():
    with pytest.raises(errors.ImportMissingColumns) as exc:
        read_layer_file(inputs.csv_without_coordinates(), filename="a.csv", kind="hazards")
    assert "經度" in exc.value.message and "TWD97" in exc.value.message


def test_swapped_csv_columns_are_named_as_swapped():
    plan = read_layer_file(inputs.swapped_csv(), filename="a.csv", kind="hazards")

    assert codes(plan) == ["geometry_swapped_coordinates"]
    assert "填反" in plan.problems[0].reason_zh


def test_csv_with_a_ragged_row_is_refused_with_its_line():
    csv = "名稱,經度,緯度\n巷口,121.4622,25.0131\n步道,121,46,25.0160\n"

    with pytest.raises(errors.ImportFileError) as exc:
        read_layer_file(csv.encode(), filename="a.csv", kind="hazards")
    assert "第 3 列" in exc.value.message


def test_dates_in_roc_years():
    csv = "會議日期,會議地點,經度,緯度,出席人數\n113/05/01,留侯里活動中心,121.4622,25.0131,25\n"

    plan = read_layer_file(csv.encode(), filename="m.csv", kind="meetings")

    assert plan.ok and plan.kind == "safety_meetings"
    assert str(plan.rows["held_on"].iloc[0]) == "2024-05-01"
    assert plan.rows["attendees"].iloc[0] == 25


def test_incidents_csv_with_types_and_taipei_times():
    csv = "案類,發生時間,經度,緯度\n住宅竊盜,113/05/01 21:30,121.4622,25.0131\n"

    plan = read_layer_file(csv.encode(), filename="i.csv", kind="incidents")

    assert plan.ok
    row = plan.rows.iloc[0]
    assert row["type"] == "burglary"
    assert row["occurred_at"].isoformat() == "2024-05-01T21:30:00+08:00"
    assert row["precision_m"] == 10.0


# --------------------------------------------------------------------------- shapefiles
@pytest.mark.parametrize("crs", [3826, 3828, 4326])
def test_big5_shapefile_zip_in_each_crs(tmp_path, crs):
    plan = read_layer_file(inputs.shapefile_zip(tmp_path, crs), kind="hazards")

    assert plan.ok
    assert list(plan.rows["name"]) == ["文化路一段巷口", "公園旁步道", "地下道出口"]
    assert list(plan.rows["category"]) == ["poor_lighting", "poor_lighting", "blind_spot"]
    expected = [at(p) for p in (inputs.LANE_CORNER, inputs.PARK_PATH, inputs.UNDERPASS)]
    for got, want in zip(plan.rows.geometry, expected, strict=True):
        assert got.distance(want) < 1e-3  # TWD67 included: its datum shift is applied exactly


def test_utf8_shapefile_and_one_without_prj(tmp_path):
    utf8 = inputs.shapefile_zip(tmp_path / "a", 3826, encoding="UTF-8", cpg=True)
    bare = inputs.shapefile_zip(tmp_path / "b", 3826, prj=False)  # TM2 metres are guessed

    for path in (utf8, bare):
        plan = read_layer_file(path, kind="hazards")
        assert plan.ok
        assert plan.rows["name"].iloc[0] == "文化路一段巷口"


def test_twd67_shapefile_without_prj_needs_the_crs_given(tmp_path):
    path = inputs.shapefile_zip(tmp_path, 3828, prj=False)

    guessed = read_layer_file(path, kind="hazards")  # read as TWD97: about 850 m off
    given = read_layer_file(path, kind="hazards", crs="EPSG:3828")

    assert guessed.rows.geometry.iloc[0].distance(at(inputs.LANE_CORNER)) > 800
    assert given.rows.geometry.iloc[0].distance(at(inputs.LANE_CORNER)) < 1e-3


# --------------------------------------------------------------------------- GeoPackage
def test_geopackage_reads_the_layer_named_after_the_kind(tmp_path):
    path = inputs.geopackage(tmp_path / "map.gpkg")

    hazards = read_layer_file(path, kind="hazards")
    cameras = read_layer_file(path, kind="cameras")
    named = read_layer_file(path, kind="cameras", layer="cameras")

    assert hazards.layers == ["hazards"] and hazards.ok
    assert sorted(hazards.rows.geometry.geom_type) == ["LineString", "Point", "Polygon"]
    assert cameras.layers == ["cameras"] and cameras.ok
    assert list(cameras.rows["bearing_deg"]) == [90.0, 270.0]
    assert named.rows.geometry.equals(cameras.rows.geometry)


def test_geopackage_all_layers_when_none_is_named_after_the_kind(tmp_path):
    path = tmp_path / "mixed.gpkg"
    frame = inputs.hazards_frame()
    write_geopackage({"照明不足": frame.iloc[:2], "廢棄空地": frame.iloc[2:]}, path)

    plan = read_layer_file(path, kind="hazards")

    assert plan.layers == ["照明不足", "廢棄空地"]
    assert len(plan.rows) == 3 and plan.ok


def test_geopackage_export_reimports_to_identical_geometries(hazards_plan, tmp_path):
    stored = hazards_plan.rows.drop(columns=["source_row", "source_layer"])
    path = write_geopackage({"hazards": stored}, tmp_path / "export.gpkg")

    again = read_layer_file(path, kind="hazards")

    assert again.ok and again.repairs == []  # nothing left to repair in what was stored
    assert len(again.rows) == len(stored)
    for before, after in zip(stored.geometry, again.rows.geometry, strict=True):
        assert shapely.equals_exact(before, after, tolerance=0)
        assert shapely.to_wkb(before) == shapely.to_wkb(after)
    columns = ["category", "severity", "time_of_day", "description", "name"]
    assert again.rows[columns].to_dict("records") == stored[columns].to_dict("records")


# --------------------------------------------------------------------------- KML export
def test_kml_export_is_my_maps_shaped_and_reads_back(hazards_plan, tmp_path):
    cameras = read_layer_file(inputs.cameras_csv(), filename="cctv.csv", kind="cameras").rows
    layers = {"hazards": hazards_plan.rows, "cameras": cameras}
    path = write_kml(layers, tmp_path / "community.kml", title="留侯里社區安全地圖")

    ns = {"k": "http://www.opengis.net/kml/2.2"}
    doc = ET.parse(path).getroot().find("k:Document", ns)
    assert doc.find("k:name", ns).text == "留侯里社區安全地圖"
    folders = [f.find("k:name", ns).text for f in doc.findall("k:Folder", ns)]
    assert folders == [LAYER_TITLES["hazards"], LAYER_TITLES["cameras"]]
    first = doc.find("k:Folder/k:Placemark", ns)
    assert first.find("k:name", ns).text == "文化路一段巷口"
    data = {d.get("name"): d for d in first.findall("k:ExtendedData/k:Data", ns)}
    assert data["category"].find("k:displayName", ns).text == "類別"
    assert data["category"].find("k:value", ns).text == "poor_lighting"
    assert first.find("k:styleUrl", ns).text == "#hazard-poor_lighting"

    back = read_layer_file(path, kind="hazards")
    cams = read_layer_file(path, kind="cameras")

    assert back.ok and back.layers == [LAYER_TITLES["hazards"]]
    columns = ["category", "severity", "time_of_day", "description", "name"]
    assert back.rows[columns].to_dict("records") == hazards_plan.rows[columns].to_dict("records")
    for before, after in zip(hazards_plan.rows.geometry, back.rows.geometry, strict=True):
        assert shapely.equals_exact(before, after, tolerance=0.01)  # lon/lat to 1e-9 degree
    assert cams.ok and list(cams.rows["name"]) == ["BQ-001", "BQ-002"]


def test_kmz_export(hazards_plan, tmp_path):
    path = write_kmz({"hazards": hazards_plan.rows}, tmp_path / "community.kmz")

    with zipfile.ZipFile(path) as zf:
        assert zf.namelist() == ["doc.kml"]
    assert len(read_layer_file(path, kind="hazards").rows) == len(hazards_plan.rows)


def test_writers_refuse_a_frame_without_crs(tmp_path):
    frame = gpd.GeoDataFrame({"name": ["x"]}, geometry=[at(inputs.LANE_CORNER)])
    with pytest.raises(ValueError, match="no CRS"):
        write_geopackage({"hazards": frame}, tmp_path / "x.gpkg")


# --------------------------------------------------------------------------- bad inputs
def test_bad_geometries_are_each_reported_and_the_good_row_kept():
    features = [(geom, {"名稱": label}) for label, geom, _ in inputs.BAD_GEOMETRIES]
    features.append((inputs.point(*inputs.LANE_CORNER), {"名稱": "ok"}))
    data = inputs.geojson(*features)

    plan = read_layer_file(data, filename="bad.geojson", kind="hazards", default_category="other")

    assert codes(plan) == [code for _, _, code in inputs.BAD_GEOMETRIES]
    assert [p.row for p in plan.problems] == list(range(1, len(inputs.BAD_GEOMETRIES) + 1))
    assert all(CJK.search(p.reason_zh) for p in plan.problems)
    assert list(plan.rows["name"]) == ["ok"]
    with pytest.raises(errors.ImportRowsRejected):
        plan.raise_if_problems()


def test_unclosed_ring_and_spike_are_repaired_and_reported():
    data = inputs.geojson(
        (inputs.UNCLOSED, {"category": "空屋"}), (inputs.SPIKE, {"category": "空屋"})
    )

    plan = read_layer_file(data, filename="lots.geojson", kind="hazards")

    assert plan.ok and len(plan.rows) == 2
    assert plan.rows.geometry.is_valid.all()
    assert any("閉合" in r.note_zh for r in plan.repairs if r.row == 1)
    assert any("修正無效" in r.note_zh for r in plan.repairs if r.row == 2)


def test_polygon_in_a_camera_layer_is_refused():
    data = inputs.geojson(
        (inputs.ring_polygon(inputs.ABANDONED_LOT), {"bearing": 0, "fov": 90, "range": 30})
    )

    plan = read_layer_file(data, filename="cams.geojson", kind="cameras")

    assert codes(plan) == ["geometry_wrong_type"]
    assert "只接受點" in plan.problems[0].reason_zh


def test_missing_required_camera_values_are_problems_unless_defaulted():
    data = inputs.geojson((inputs.point(*inputs.LANE_CORNER), {"name": "BQ-9"}))

    bare = read_layer_file(data, filename="c.geojson", kind="cameras")
    given = read_layer_file(
        data,
        filename="c.geojson",
        kind="cameras",
        defaults={"bearing_deg": 0, "fov_deg": 360, "range_m": 20, "status": "既有"},
    )

    assert sorted(p.field for p in bare.problems) == ["bearing_deg", "fov_deg", "range_m"]
    assert given.ok and given.rows["status"].iloc[0] == "existing"
    with pytest.raises(errors.InvalidInput):
        read_layer_file(data, filename="c.geojson", kind="cameras", defaults={"fov_deg": 0})


def test_too_many_features_vertices_and_bytes():
    with pytest.raises(errors.TooManyFeatures):
        read_layer_file(
            inputs.many_points_geojson(11),
            filename="p.geojson",
            kind="hazards",
            limits=Limits(max_features=10),
        )
    with pytest.raises(errors.TooManyFeatures):  # the default limit, 5,000
        read_layer_file(inputs.many_rows_csv(5_001), filename="p.csv", kind="hazards")
    lines = inputs.geojson(*[(inputs.long_line(60), {"category": "暗巷"})] * 2)
    with pytest.raises(errors.TooManyVertices):
        read_layer_file(
            lines, filename="l.geojson", kind="hazards", limits=Limits(max_total_vertices=100)
        )
    with pytest.raises(errors.InputTooLarge) as exc:
        read_layer_file(b"{" + b" " * (20 * 1024 * 1024), filename="big.geojson", kind="hazards")
    assert exc.value.code == "input_too_large"


def test_one_feature_with_too_many_vertices_is_a_row_problem():
    data = inputs.geojson((inputs.long_line(5_001), {"category": "暗巷"}))

    plan = read_layer_file(data, filename="l.geojson", kind="hazards")

    assert codes(plan) == ["input_too_many_vertices"]


def test_large_file_on_disk_is_refused_before_reading(tmp_path):
    path = tmp_path / "map.kml"
    path.write_bytes(inputs.my_maps_kml().encode())

    with pytest.raises(errors.InputTooLarge):
        read_layer_file(path, kind="hazards", limits=Limits(max_bytes=1_000))


def test_zip_bomb_is_refused_by_its_unpacked_size():
    with pytest.raises(errors.InputTooLarge) as exc:
        read_layer_file(
            inputs.zip_bomb(2 * 1024 * 1024),
            filename="hazards.zip",
            kind="hazards",
            limits=Limits(max_unpacked_bytes=1024 * 1024),
        )
    assert "解壓縮" in exc.value.message


def _truncated_gpkg(tmp_path) -> bytes:
    return inputs.truncated(inputs.geopackage(tmp_path / "t.gpkg").read_bytes(), 0.3)


def _truncated_shapefile_zip(tmp_path) -> bytes:
    return inputs.truncated(inputs.shapefile_zip(tmp_path, 3826).read_bytes())


@pytest.mark.parametrize(
    ("make", "filename", "error"),
    [
        (lambda _: inputs.truncated(inputs.geojson((inputs.point(121.46, 25.01), {}))), "a.geojson", errors.ImportFileError),
        (_truncated_shapefile_zip, "hazards.zip", errors.ImportFileError),
        (_truncated_gpkg, "map.gpkg", errors.ImportFileError),
        (lambda _: inputs.PNG_1PX, "photo.png", errors.UnsupportedFormat),
        (lambda _: inputs.PNG_1PX, "photo.csv", errors.ImportFileError),
        (lambda _: b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n1 0 obj\n", "map.pdf", errors.UnsupportedFormat),
        (lambda _: inputs.html_page(), "map.kml", errors.UnsupportedFormat),
        (lambda _: inputs.office_zip(), "map.docx", errors.ImportEmpty),
        (lambda _: b"", "empty.geojson", errors.ImportEmpty),
        (lambda _: "名稱,經度,緯度\n".encode(), "header.csv", errors.ImportEmpty),
    ],
    ids=[
        "truncated geojson", "truncated zip", "truncated gpkg", "png", "png named csv", "pdf",
        "html", "office zip", "empty file", "header-only csv",
    ],
)  # fmt: skip
def test_broken_and_foreign_files_are_refused_with_a_4xx_error(tmp_path, make, filename, error):
    with pytest.raises(error) as exc:
        read_layer_file(make(tmp_path), filename=filename, kind="hazards")

    assert isinstance(exc.value, errors.InvalidInput)  # 400/422 in api/errors.py
    assert CJK.search(exc.value.message)


def test_unknown_kind_and_missing_layer_are_refused(kml_bytes):
    with pytest.raises(errors.InvalidInput):
        read_layer_file(kml_bytes, filename="m.kml", kind="streetlights")
    with pytest.raises(errors.ImportFileError) as exc:
        read_layer_file(kml_bytes, filename="m.kml", kind="hazards", layer="路燈")
    assert "照明不足" in exc.value.message  # lists the folders there are


def test_upload_filename_cannot_escape_the_temporary_folder(kml_bytes):
    plan = read_layer_file(
        kml_bytes, filename="../../etc/passwd.kml", kind="hazards", layer="照明不足"
    )

    assert len(plan.rows) == 3
