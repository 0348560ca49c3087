"""A small world for the services' tests: two precincts in two districts, a station with a
beat, two communities, and one account for every role of the plan."""

from __future__ import annotations

from dataclasses import dataclass, field

import pytest
from geoalchemy2.shape import to_shape
from pyproj import Transformer

from geo.enums import Role
from geo.models import station_villages
from tests.api import conftest as api_fixtures
from tests.factories import (
    make_community,
    make_district,
    make_organisation,
    make_precinct,
    make_station,
    make_user,
    make_village,
)

# The HTTP client fixtures of tests/api, for this folder too.
app, client, login = api_fixtures.app, api_fixtures.client, api_fixtures.login

TO_LONLAT = Transformer.from_crs(3826, 4326, always_xy=True)


def lonlat_in(village, dx: float = 0.0, dy: float = 0.0) -> list[float]:
    """A lon/lat point inside a factory village (its centre, moved by metres)."""
    c = to_shape(village.geom).centroid
    return list(TO_LONLAT.transform(c.x + dx, c.y + dy))


def point_in(village, dx: float = 0.0, dy: float = 0.0) -> dict:
    return {"type": "Point", "coordinates": lonlat_in(village, dx, dy)}


@dataclass
class World:
    d1: object
    d2: object
    v1: object
    v2: object
    v3: object
    p1: object
    p2: object
    s1: object
    s2: object
    c1: object
    c2: object
    headers: dict[str, dict[str, str]] = field(default_factory=dict)
    users: dict[str, object] = field(default_factory=dict)

    def h(self, name: str) -> dict[str, str]:
        return self.headers[name]


ACCOUNTS = {
    # name: (role, jurisdiction attribute, world attribute)
    "org1": (Role.community, "organisation_id", "c1"),
    "org2": (Role.community, "organisation_id", "c2"),
    "st1": (Role.station, "station_id", "s1"),
    "st2": (Role.station, "station_id", "s2"),
    "pol1": (Role.precinct, "precinct_id", "p1"),
    "pol2": (Role.precinct, "precinct_id", "p2"),
    "dist1": (Role.district_office, "district_id", "d1"),
    "city": (Role.city_police, None, None),
    "fire": (Role.fire_bureau, None, None),
    "social": (Role.social_affairs, None, None),
    "boss": (Role.leader, None, None),
    "counsel": (Role.counselling, None, None),
    "admin": (Role.admin, None, None),
}


@pytest.fixture
def world(db, client) -> World:
    d1, d2 = make_district(db, name="測試甲區"), make_district(db, name="測試乙區")
    v1 = make_village(db, d1, name="甲一里")
    v2 = make_village(db, d1, name="甲二里")
    v3 = make_village(db, d2, name="乙一里")
    p1 = make_precinct(db, villages=[v1, v2], name="測試一分局", phone="02-1234-5678")
    p2 = make_precinct(db, villages=[v3], name="測試二分局")
    s1 = make_station(db, p1, name="甲派出所")
    s2 = make_station(db, p2, name="乙派出所")
    db.execute(
        station_villages.insert(),
        [{"station_id": s1.id, "village_id": v1.id}, {"station_id": s2.id, "village_id": v3.id}],
    )
    c1 = make_community(
        db, p1, village=v1, station_id=s1.id, name="甲一社區",
        organisation=make_organisation(db, name="甲一社區發展協會", address="新北市測試甲區一路1號"),
    )  # fmt: skip
    c2 = make_community(db, p2, village=v3, station_id=s2.id, name="乙一社區")
    w = World(d1, d2, v1, v2, v3, p1, p2, s1, s2, c1, c2)
    for name, (role, attr, target) in ACCOUNTS.items():
        kw = {}
        if attr == "organisation_id":
            kw[attr] = getattr(w, target).organisation_id
        elif attr:
            kw[attr] = getattr(w, target).id
        w.users[name] = make_user(db, role=role, username=f"svc_{name}", **kw)
        w.headers[name] = login(client, f"svc_{name}")
    w.headers["public"] = {}
    # Every call names its caller in its headers: no session cookie may linger in the client.
    client.cookies.clear()
    return w
