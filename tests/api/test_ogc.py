"""OGC API – Features at /ogc and vector tiles: structure, paging, access; and GDAL's OAPIF
driver reading a live server."""

from __future__ import annotations

import math
import os
import subprocess
import sys

import httpx
import pyogrio
import pytest
from sqlalchemy import create_engine
from sqlalchemy.orm import Session

from geo.enums import Role
from tests.api.conftest import login
from tests.conftest import fresh_database
from tests.factories import make_community, make_precinct, make_user, make_village
from tests.live import serve


def test_landing_and_conformance(client):
    landing = client.get("/ogc").json()
    rels = {link["rel"] for link in landing["links"]}
    assert {"self", "service-desc", "conformance", "data"} <= rels
    conf = client.get("/ogc/conformance").json()["conformsTo"]
    assert "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/core" in conf
    assert "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/geojson" in conf


def _ids(client, headers=None):
    return {c["id"] for c in client.get("/ogc/collections", headers=headers).json()["collections"]}


def test_anonymous_callers_see_only_public_collections(client, db):
    ids = _ids(client)
    assert ids == {"districts", "villages", "hazards"}
    for closed in ("cameras", "incidents", "patrol_blocks", "blind_spots"):
        assert client.get(f"/ogc/collections/{closed}").status_code == 404
        assert client.get(f"/ogc/collections/{closed}/items").status_code == 404
        assert client.get(f"/tiles/{closed}/12/3425/1752.mvt").status_code == 404


def test_police_see_cameras_and_incidents(client, db):
    make_user(db, role=Role.precinct, username="ogc-pol")
    ids = _ids(client, login(client, "ogc-pol"))
    assert {"cameras", "incidents", "hazards", "patrol_routes", "safety_audits"} <= ids
    make_user(db, role=Role.community, username="ogc-org")
    assert "incidents" not in _ids(client, login(client, "ogc-org"))


def test_items_paging_links_and_single_item(client, db):
    for _ in range(5):
        make_village(db)
    page = client.get("/ogc/collections/villages/items", params={"limit": 2}).json()
    assert page["type"] == "FeatureCollection" and page["numberReturned"] == 2
    assert page["numberMatched"] >= 5
    rels = {link["rel"]: link["href"] for link in page["links"]}
    assert "next" in rels and "offset=2" in rels["next"]
    second = client.get(rels["next"]).json()
    assert {f["id"] for f in second["features"]}.isdisjoint({f["id"] for f in page["features"]})
    fid = page["features"][0]["id"]
    one = client.get(f"/ogc/collections/villages/items/{fid}").json()
    assert one["type"] == "Feature" and one["id"] == fid
    assert client.get("/ogc/collections/villages/items/999999999").status_code == 404


def test_bad_parameters(client):
    assert client.get("/ogc/collections/villages/items", params={"bbox": "x"}).status_code == 400
    assert (
        client.get("/ogc/collections/hazards/items", params={"datetime": "yesterday"}).status_code
        == 400
    )
    assert client.get("/ogc/collections/villages/items", params={"limit": 0}).status_code == 422
    assert client.get("/tiles/villages/3/9/1.mvt").status_code == 400


def _tile_of(lon: float, lat: float, z: int) -> tuple[int, int]:
    n = 2**z
    x = int((lon + 180) / 360 * n)
    y = int((1 - math.asinh(math.tan(math.radians(lat))) / math.pi) / 2 * n)
    return x, y


def test_vector_tiles(client, db):
    from geoalchemy2.shape import to_shape
    from pyproj import Transformer

    village = make_village(db)
    c = to_shape(village.geom).centroid
    x, y = _tile_of(*Transformer.from_crs(3826, 4326, always_xy=True).transform(c.x, c.y), 14)
    r = client.get(f"/tiles/villages/14/{x}/{y}.mvt")
    assert r.status_code == 200
    assert r.headers["content-type"] == "application/vnd.mapbox-vector-tile"
    assert len(r.content) > 0
    empty = client.get("/tiles/villages/14/0/0.mvt")
    assert empty.status_code == 200 and empty.content == b""


# --------------------------------------------------------------------------- GDAL OAPIF
@pytest.fixture(scope="module")
def live_server(db_settings, tmp_path_factory):
    """The real server in its own process on a fresh database, so a separate client (GDAL,
    which holds the GIL while it waits for HTTP) can read it."""
    url = fresh_database(db_settings, "ogc")
    engine = create_engine(url)
    with Session(engine) as s, s.begin():
        precinct = make_precinct(s, villages=[make_village(s) for _ in range(12)])
        community = make_community(s, precinct=precinct)
        make_user(s, role=Role.precinct, username="gdal-pol", precinct_id=precinct.id)
        community_id = community.id
    engine.dispose()
    with serve(url, tmp_path_factory) as base:
        yield base, community_id


def test_gdal_oapif_lists_and_reads_layers(live_server):
    base, _ = live_server
    layers = {name for name, _ in pyogrio.list_layers(f"OAPIF:{base}/ogc")}
    assert layers == {"districts", "villages", "hazards"}
    gdf = pyogrio.read_dataframe(f"OAPIF:{base}/ogc", layer="villages")
    assert len(gdf) == 12
    assert gdf.crs.to_epsg() == 4326
    assert set(gdf.geom_type) == {"MultiPolygon"}
    assert gdf.total_bounds[0] > 121 and gdf.total_bounds[3] < 25.5


def test_gdal_reads_hazards_with_their_geometry(live_server):
    base, community_id = live_server
    token = httpx.post(
        f"{base}/api/auth/token", data={"username": "gdal-pol", "password": "pw-測試-123"}
    ).json()
    headers = {"Authorization": f"Bearer {token['access_token']}"}
    x, y = 121.4625, 25.0113
    sent = []
    for i in range(3):
        f = {
            "type": "Feature",
            "geometry": {"type": "Point", "coordinates": [x + i * 0.0002, y]},
            "properties": {"community_id": community_id, "category": "blind_spot", "severity": 2},
        }
        r = httpx.post(f"{base}/api/hazards", json=f, headers=headers)
        assert r.status_code == 201, r.text
        sent.append(f["geometry"]["coordinates"])
    gdf = pyogrio.read_dataframe(f"OAPIF:{base}/ogc", layer="hazards")
    assert len(gdf) == 3
    got = sorted((round(g.x, 6), round(g.y, 6)) for g in gdf.geometry)
    assert got == sorted((round(a, 6), round(b, 6)) for a, b in sent)
    # the police caller sees cameras through GDAL too, the anonymous one does not
    # GDAL sends the bearer token (GDAL_HTTP_AUTH=BEARER); in a fresh process, since GDAL
    # caches what it has already fetched anonymously.
    script = "import pyogrio, sys; print(' '.join(n for n, _ in pyogrio.list_layers(sys.argv[1])))"
    env = {**os.environ, "GDAL_HTTP_AUTH": "BEARER", "GDAL_HTTP_BEARER": token["access_token"]}
    out = subprocess.run(
        [sys.executable, "-c", script, f"OAPIF:{base}/ogc"], env=env, capture_output=True, text=True
    )
    authed = set(out.stdout.split())
    assert {"cameras", "incidents", "hazards"} <= authed, out.stderr
