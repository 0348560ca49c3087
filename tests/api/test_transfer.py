"""Import of community map files and export of a community's safety map, over HTTP and CLI."""

from __future__ import annotations

import json

import geopandas as gpd
import pyogrio
import pytest
from sqlalchemy import func, select, text

from geo.enums import Role
from geo.models import Hazard, LayerHistory
from tests.api.conftest import login
from tests.factories import make_community, make_precinct, make_user
from tests.geo import layer_inputs as li


@pytest.fixture
def org(db, client):
    p = make_precinct(db)
    c = make_community(db, precinct=p)
    make_user(db, role=Role.community, username="mapper", organisation_id=c.organisation_id)
    make_user(db, role=Role.precinct, username="mapper-pol", precinct_id=p.id)
    return c, login(client, "mapper"), login(client, "mapper-pol")


def _upload(client, headers, name, data, **form):
    return client.post(
        f"/api/import/{form.pop('kind', 'hazards')}",
        files={"file": (name, data)},
        data={k: str(v) for k, v in form.items()},
        headers=headers,
    )


def _hazards(db, community_id):
    return db.scalar(
        select(func.count()).select_from(Hazard).where(Hazard.community_id == community_id)
    )


def test_google_my_maps_kml_imports_with_lines_polygons_and_categories(client, db, org):
    c, h, _ = org
    r = _upload(
        client,
        h,
        "社區安全地圖.kml",
        li.my_maps_kml().encode(),
        community_id=c.id,
        default_category="other",
    )
    assert r.status_code == 201, r.text
    body = r.json()
    assert body["imported"] >= 5
    kinds = dict(
        db.execute(
            text(
                "SELECT GeometryType(geom), count(*) FROM hazards WHERE community_id = :c GROUP BY 1"
            ),
            {"c": c.id},
        ).all()
    )
    assert {"POINT", "LINESTRING", "POLYGON"} <= set(kinds)
    categories = set(db.scalars(select(Hazard.category).where(Hazard.community_id == c.id)))
    assert {"poor_lighting", "blind_spot"} <= categories
    # every stored row went through the history trigger with the importer as actor
    actors = set(db.scalars(select(LayerHistory.actor_id).where(LayerHistory.layer == "hazards")))
    assert None not in actors


def test_kmz_and_an_explicit_mapping(client, db, org):
    c, h, _ = org
    mapping = json.dumps(
        {"照明不足": "poor_lighting", "治安死角": "blind_spot", "巡守路線": "other"}
    )
    r = _upload(
        client,
        h,
        "map.kmz",
        li.kmz(li.my_maps_kml()),
        community_id=c.id,
        mapping=mapping,
        default_category="other",
    )
    assert r.status_code == 201, r.text


def test_a_file_with_one_bad_row_stores_nothing_and_says_which(client, db, org):
    c, h, _ = org
    data = li.geojson(
        (li.point(*li.LANE_CORNER), {"category": "照明不足"}),
        (li.point(*li.KAOHSIUNG), {"category": "照明不足"}),
    )
    before = _hazards(db, c.id)
    r = _upload(client, h, "two.geojson", data, community_id=c.id)
    assert r.status_code == 422
    err = r.json()["error"]
    assert err["code"] == "import_rows_rejected"
    assert "整批資料都沒有儲存" in err["message"]
    assert len(err["problems"]) == 1 and err["problems"][0]["row"] == 2
    assert _hazards(db, c.id) == before


@pytest.mark.parametrize(
    ("name", "data", "status"),
    [
        (
            "bad.geojson",
            li.truncated(li.geojson((li.point(*li.LANE_CORNER), {"category": "照明不足"}))),
            400,
        ),
        ("page.kml", li.html_page(), 400),
        ("bowtie.geojson", li.geojson((li.BOWTIE, {"category": "治安死角"})), 422),
        ("swapped.csv", li.swapped_csv(), 422),
        ("empty.geojson", b"", 400),
    ],
)
def test_bad_files_are_4xx_and_store_nothing(client, db, org, name, data, status):
    c, h, _ = org
    before = _hazards(db, c.id)
    r = _upload(client, h, name, data, community_id=c.id)
    assert r.status_code == status, r.text
    assert r.json()["error"]["message"]
    assert _hazards(db, c.id) == before


def test_oversized_upload_is_413(client, db, org, monkeypatch):
    from geo import validation

    c, h, _ = org
    small = validation.Limits(max_bytes=1000)
    monkeypatch.setattr("api.routes.transfer.DEFAULT_LIMITS", small)
    r = _upload(client, h, "big.csv", li.many_rows_csv(200), community_id=c.id)
    assert r.status_code == 413
    assert r.json()["error"]["code"] == "input_too_large"


def test_dry_run_checks_without_storing(client, db, org):
    c, h, _ = org
    before = _hazards(db, c.id)
    r = _upload(
        client,
        h,
        "lonlat.csv",
        li.lonlat_csv(),
        community_id=c.id,
        dry_run="true",
        default_category="other",
    )
    assert r.status_code == 200 and r.json()["would_import"] > 0 and r.json()["imported"] == 0
    assert _hazards(db, c.id) == before


def test_import_into_another_community_is_refused(client, db, org):
    other = make_community(db)
    _, h, _ = org
    r = _upload(
        client, h, "lonlat.csv", li.lonlat_csv(), community_id=other.id, default_category="other"
    )
    assert r.status_code == 404


def test_geopackage_export_reimports_to_identical_geometries(client, db, org, tmp_path):
    c, h, _ = org
    assert (
        _upload(
            client,
            h,
            "map.kml",
            li.my_maps_kml().encode(),
            community_id=c.id,
            default_category="other",
        ).status_code
        == 201
    )
    r = client.get(f"/api/communities/{c.id}/export", params={"format": "gpkg"}, headers=h)
    assert r.status_code == 200
    assert "attachment" in r.headers["content-disposition"]
    path = tmp_path / "export.gpkg"
    path.write_bytes(r.content)
    assert "hazards" in {name for name, _ in pyogrio.list_layers(path)}
    stored = (
        db.execute(
            text("SELECT ST_AsBinary(geom) FROM hazards WHERE community_id = :c ORDER BY id"),
            {"c": c.id},
        )
        .scalars()
        .all()
    )
    # re-import the export into a second community of the same organisation's precinct
    c2 = make_community(db, precinct=db.get(type(c), c.id).precinct, organisation=c.organisation)
    r2 = _upload(client, h, "export.gpkg", r.content, community_id=c2.id, layer="hazards")
    assert r2.status_code == 201, r2.text
    again = (
        db.execute(
            text("SELECT ST_AsBinary(geom) FROM hazards WHERE community_id = :c ORDER BY id"),
            {"c": c2.id},
        )
        .scalars()
        .all()
    )
    assert [bytes(g) for g in again] == [bytes(g) for g in stored]


def test_kml_export_reads_back(client, db, org, tmp_path):
    c, h, _ = org
    _upload(
        client, h, "map.kml", li.my_maps_kml().encode(), community_id=c.id, default_category="other"
    )
    r = client.get(f"/api/communities/{c.id}/export", params={"format": "kml"}, headers=h)
    assert r.status_code == 200 and r.content.startswith(b"<?xml")
    path = tmp_path / "export.kml"
    path.write_bytes(r.content)
    frames = [gpd.read_file(path, layer=name) for name, _ in pyogrio.list_layers(path)]
    assert sum(len(f) for f in frames) == _hazards(db, c.id)


def test_exports_never_hold_incidents_and_respect_the_reader(client, db, org, tmp_path):
    c, h, hp = org
    inc = {
        "type": "Feature",
        "geometry": li.point(*li.LANE_CORNER),
        "properties": {"type": "burglary", "occurred_at": "2026-10-01T22:00:00+08:00"},
    }
    assert client.post("/api/incidents", json=inc, headers=hp).status_code == 201
    _upload(
        client, h, "map.kml", li.my_maps_kml().encode(), community_id=c.id, default_category="other"
    )
    r = client.get(f"/api/communities/{c.id}/export", params={"format": "gpkg"}, headers=hp)
    path = tmp_path / "police.gpkg"
    path.write_bytes(r.content)
    assert "incidents" not in {name for name, _ in pyogrio.list_layers(path)}
    other = make_community(db)
    assert client.get(f"/api/communities/{other.id}/export", headers=h).status_code == 404
    assert client.get(f"/api/communities/{c.id}/export").status_code == 401
