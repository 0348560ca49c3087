"""Jurisdiction scoping: a precinct never reads another precinct's communities, a community
only its own (the foundation issue's check)."""

import pytest

from geo.enums import Role
from geo.models import station_villages
from tests.api.conftest import login
from tests.factories import make_community, make_precinct, make_station, make_user, make_village


@pytest.fixture
def two_precincts(db):
    p1 = make_precinct(db)
    p2 = make_precinct(db)
    c1 = make_community(db, precinct=p1)
    c2 = make_community(db, precinct=p2)
    make_user(db, role=Role.precinct, username="p1", precinct_id=p1.id)
    make_user(db, role=Role.precinct, username="p2", precinct_id=p2.id)
    return c1, c2


def _ids(client, headers):
    r = client.get("/api/communities", headers=headers)
    assert r.status_code == 200, r.text
    return {f["properties"]["id"] for f in r.json()["features"]}


def test_precincts_cannot_read_each_others_communities(client, two_precincts):
    c1, c2 = two_precincts
    h1, h2 = login(client, "p1"), login(client, "p2")
    assert c1.id in _ids(client, h1) and c2.id not in _ids(client, h1)
    assert c2.id in _ids(client, h2) and c1.id not in _ids(client, h2)
    assert client.get(f"/api/communities/{c1.id}", headers=h1).status_code == 200
    for theirs, headers in ((c2, h1), (c1, h2)):
        r = client.get(f"/api/communities/{theirs.id}", headers=headers)
        assert r.status_code in (403, 404)
        assert r.json()["error"]["code"] == "not_found"
        # indistinguishable from a community that does not exist
        assert client.get("/api/communities/999999999", headers=headers).json() == r.json()


def test_community_user_sees_only_its_own_organisation(client, db, two_precincts):
    c1, c2 = two_precincts
    make_user(db, role=Role.community, username="org1", organisation_id=c1.organisation_id)
    h = login(client, "org1")
    assert _ids(client, h) == {c1.id}
    assert client.get(f"/api/communities/{c2.id}", headers=h).status_code == 404


def test_district_office_sees_its_district(client, db, two_precincts):
    c1, c2 = two_precincts
    make_user(db, role=Role.district_office, username="d1", district_id=c1.district_id)
    ids = _ids(client, login(client, "d1"))
    assert c1.id in ids and c2.id not in ids


def test_station_sees_communities_in_its_beat(client, db):
    precinct = make_precinct(db)
    inside = precinct.villages[0]
    other = make_village(db)
    station = make_station(db, precinct=precinct)
    db.execute(station_villages.insert().values(village_id=inside.id, station_id=station.id))
    c_in = make_community(db, precinct=precinct, village=inside)
    c_out = make_community(db, precinct=precinct, village=other)
    make_user(db, role=Role.station, username="s1", station_id=station.id)
    ids = _ids(client, login(client, "s1"))
    assert c_in.id in ids and c_out.id not in ids


@pytest.mark.parametrize("role", [Role.city_police, Role.leader, Role.counselling, Role.admin])
def test_city_wide_roles_see_every_precinct(client, db, two_precincts, role):
    c1, c2 = two_precincts
    make_user(db, role=role, username=f"city-{role.value}")
    ids = _ids(client, login(client, f"city-{role.value}"))
    assert {c1.id, c2.id} <= ids


def test_anonymous_callers_read_no_communities(client, two_precincts):
    c1, _ = two_precincts
    assert client.get("/api/communities").status_code == 401
    assert client.get(f"/api/communities/{c1.id}").status_code == 401


def test_community_feature_is_geojson_in_lon_lat(client, db, two_precincts):
    c1, _ = two_precincts
    make_user(db, role=Role.city_police, username="bureau")
    feature = client.get(f"/api/communities/{c1.id}", headers=login(client, "bureau")).json()
    assert feature["type"] == "Feature"
    assert feature["properties"]["name"] == c1.name
    lon, lat = feature["geometry"]["coordinates"][0][0][0]
    assert 121 < lon < 122.1 and 24.5 < lat < 25.5


def test_paging_reports_number_matched(client, db):
    p = make_precinct(db)
    for _ in range(3):
        make_community(db, precinct=p)
    make_user(db, role=Role.precinct, username="pager", precinct_id=p.id)
    h = login(client, "pager")
    page = client.get("/api/communities", params={"limit": 2}, headers=h).json()
    assert page["numberMatched"] == 3 and len(page["features"]) == 2
    page2 = client.get("/api/communities", params={"limit": 2, "offset": 2}, headers=h).json()
    assert len(page2["features"]) == 1


def test_list_endpoints_use_a_fixed_number_of_queries(client, db, engine):
    """Lists are one query (plus a count), whatever their length (STYLE rule 9)."""
    from sqlalchemy import event

    p = make_precinct(db)
    make_user(db, role=Role.precinct, username="counter", precinct_id=p.id)
    h = login(client, "counter")

    def run(path):
        statements = []

        def count(conn, cursor, statement, *args):
            if not statement.lstrip().upper().startswith(("SAVEPOINT", "RELEASE", "ROLLBACK")):
                statements.append(statement)

        event.listen(engine, "before_cursor_execute", count)
        try:
            assert client.get(path, headers=h).status_code == 200
        finally:
            event.remove(engine, "before_cursor_execute", count)
        return len(statements)

    make_community(db, precinct=p)
    one = {path: run(path) for path in ("/api/communities", "/api/villages", "/api/districts")}
    for _ in range(5):
        make_community(db, precinct=p)
    for path, n in one.items():
        assert run(path) == n, path
    assert one["/api/communities"] <= 3  # user, count, page
