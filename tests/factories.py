"""Small factories for tests: ``make_x(session, **overrides)``.

Geometries are squares in EPSG:3826 near Banqiao, so no test depends on real boundary data.
"""

from __future__ import annotations

import itertools

from geoalchemy2.shape import from_shape
from shapely.geometry import MultiPolygon, box

from geo.enums import OrganisationKind, Role
from geo.models import (
    STORAGE_SRID,
    Community,
    District,
    Organisation,
    PoliceStation,
    Precinct,
    User,
    Village,
    precinct_villages,
)
from workflow.auth import hash_password

_seq = itertools.count(1)
ORIGIN = (295_000.0, 2_766_000.0)  # Banqiao, EPSG:3826


def square(i: int, size: float = 500.0) -> MultiPolygon:
    """The i-th square of a 30 km lattice north-east of Banqiao: every square, however many
    tests ran before, lies well inside New Taipei's extent."""
    per_row = max(1, int(30_000 // size))
    x0 = ORIGIN[0] + (i % per_row) * size
    y0 = ORIGIN[1] + ((i // per_row) % per_row) * size
    return MultiPolygon([box(x0, y0, x0 + size, y0 + size)])


def _geom(g):
    return from_shape(g, srid=STORAGE_SRID)


def make_district(session, **kw) -> District:
    n = next(_seq)
    d = District(
        code=kw.pop("code", f"9{n:07d}"),
        name=kw.pop("name", f"測試{n}區"),
        county_code="65000",
        county_name="新北市",
        geom=_geom(kw.pop("geom", square(n, 5000))),
        **kw,
    )
    session.add(d)
    session.flush()
    return d


def make_village(session, district: District | None = None, **kw) -> Village:
    n = next(_seq)
    district = district or make_district(session)
    v = Village(
        code=kw.pop("code", f"9{n:010d}"),
        name=kw.pop("name", f"測試{n}里"),
        district_id=district.id,
        geom=_geom(kw.pop("geom", square(n))),
        **kw,
    )
    session.add(v)
    session.flush()
    return v


def make_precinct(session, villages: list[Village] | None = None, **kw) -> Precinct:
    n = next(_seq)
    p = Precinct(name=kw.pop("name", f"測試{n}分局"), **kw)
    session.add(p)
    session.flush()
    villages = villages if villages is not None else [make_village(session)]
    if villages:
        session.execute(
            precinct_villages.insert(),
            [{"precinct_id": p.id, "village_id": v.id} for v in villages],
        )
    return p


def make_station(session, precinct: Precinct | None = None, **kw) -> PoliceStation:
    n = next(_seq)
    precinct = precinct or make_precinct(session)
    s = PoliceStation(name=kw.pop("name", f"測試{n}派出所"), precinct_id=precinct.id, **kw)
    session.add(s)
    session.flush()
    return s


def make_organisation(session, **kw) -> Organisation:
    n = next(_seq)
    o = Organisation(
        name=kw.pop("name", f"測試{n}社區發展協會"),
        kind=kw.pop("kind", OrganisationKind.community_association),
        **kw,
    )
    session.add(o)
    session.flush()
    return o


def make_community(session, precinct: Precinct | None = None, **kw) -> Community:
    n = next(_seq)
    precinct = precinct or make_precinct(session)
    village = kw.pop("village", None) or (
        precinct.villages[0] if precinct.villages else make_village(session)
    )
    org = kw.pop("organisation", None) or make_organisation(session)
    c = Community(
        name=kw.pop("name", f"測試{n}社區"),
        organisation_id=org.id,
        district_id=village.district_id,
        precinct_id=precinct.id,
        geom=kw.pop("geom", village.geom),
        **kw,
    )
    c.villages = [village]
    session.add(c)
    session.flush()
    return c


def make_user(session, role: Role = Role.city_police, password: str = "pw-測試-123", **kw) -> User:
    n = next(_seq)
    if role is Role.precinct and "precinct_id" not in kw:
        kw["precinct_id"] = make_precinct(session).id
    if role is Role.community and "organisation_id" not in kw:
        kw["organisation_id"] = make_organisation(session).id
    if role is Role.station and "station_id" not in kw:
        kw["station_id"] = make_station(session).id
    if role is Role.district_office and "district_id" not in kw:
        kw["district_id"] = make_district(session).id
    u = User(
        username=kw.pop("username", f"user{n}"),
        display_name=kw.pop("display_name", f"測試使用者{n}"),
        password_hash=hash_password(password),
        role=role,
        **kw,
    )
    session.add(u)
    session.flush()
    return u
