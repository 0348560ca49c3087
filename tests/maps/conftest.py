"""A small district with two precincts, communities and every kind of map layer, at known
EPSG:3826 coordinates, so tests can look for (or for the absence of) exact positions."""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass

import pytest
from geoalchemy2.shape import from_shape
from pyproj import Transformer
from shapely.geometry import LineString, MultiPolygon, Point, box
from sqlalchemy import insert

from geo.enums import ApplicationStatus, CameraOwner, CameraStatus, HazardStatus, Role, TimeOfDay
from geo.models import (
    STORAGE_SRID,
    Adopter,
    AnalysisRun,
    Application,
    BlindSpot,
    Camera,
    Hazard,
    Incident,
    PatrolBlock,
    PatrolRoute,
    ProgramYear,
    block_adoptions,
)
from tests.factories import (
    make_community,
    make_district,
    make_precinct,
    make_user,
    make_village,
)

X0, Y0 = 295_000.0, 2_766_000.0  # on the 200 m incident grid (multiples of 200)
TO_WGS84 = Transformer.from_crs(3826, 4326, always_xy=True)
YEAR = 2031


def _g(geom):
    return from_shape(geom, srid=STORAGE_SRID)


def lonlat(x: float, y: float) -> tuple[float, float]:
    return TO_WGS84.transform(x, y)


LONLAT = re.compile(r"\[(1[12]\d\.\d+),\s*(2[2-6]\.\d+)[,\]]")
LATLON = re.compile(r"\[(2[2-6]\.\d+),\s*(1[12]\d\.\d+)[,\]]")


def coordinates(page: str) -> list[tuple[float, float]]:
    """Every position written into a map page as (lon, lat): GeoJSON's [lon, lat] and
    Leaflet's [lat, lon, ...] (markers, heat points, labels) alike."""
    pairs = [(float(a), float(b)) for a, b in LONLAT.findall(page)]
    pairs += [(float(b), float(a)) for a, b in LATLON.findall(page)]
    return pairs


def near(page: str, x: float, y: float, metres: float) -> list[tuple[float, float]]:
    """Coordinates of the page within ``metres`` of the EPSG:3826 point (x, y)."""
    lon, lat = lonlat(x, y)
    # ~ metres per degree at 25° N
    return [
        (a, b)
        for a, b in coordinates(page)
        if ((a - lon) * 100_900) ** 2 + ((b - lat) * 110_800) ** 2 <= metres**2
    ]


@dataclass
class Scene:
    district: object
    p1: object
    p2: object
    c1: object
    c2: object
    camera_p1: tuple[float, float]
    camera_p2: tuple[float, float]
    cluster: list[tuple[float, float]]
    lone_incident: tuple[float, float]
    blind_spot: tuple[float, float]
    hazard_open: tuple[float, float]
    users: dict


@pytest.fixture
def scene(db) -> Scene:
    district = make_district(
        db,
        name="測試地圖區",
        code="99000010",
        geom=MultiPolygon([box(X0, Y0, X0 + 2000, Y0 + 2000)]),
    )
    quads = [
        box(X0, Y0, X0 + 1000, Y0 + 1000),
        box(X0 + 1000, Y0, X0 + 2000, Y0 + 1000),
        box(X0, Y0 + 1000, X0 + 1000, Y0 + 2000),
        box(X0 + 1000, Y0 + 1000, X0 + 2000, Y0 + 2000),
    ]
    vs = [
        make_village(db, district, name=f"地圖{i}里", geom=MultiPolygon([q]))
        for i, q in enumerate(quads)
    ]
    p1 = make_precinct(db, villages=vs[:2])
    p2 = make_precinct(db, villages=vs[2:])
    c1 = make_community(db, precinct=p1, village=vs[0], name="地圖一社區")
    c2 = make_community(db, precinct=p2, village=vs[2], name="地圖二社區")
    if db.get(ProgramYear, YEAR) is None:
        db.add(ProgramYear(year=YEAR, quota=33))
        db.flush()
    db.add(
        Application(
            year=YEAR, community_id=c1.id, status=ApplicationStatus.approved, budget_total=120_000
        )
    )
    hazard_open = (X0 + 800, Y0 + 150)
    db.add_all(
        [
            Hazard(
                community_id=c1.id,
                category="poor_lighting",
                severity=4,
                time_of_day=TimeOfDay.night,
                description="路燈故障<script>alert(1)</script>",
                status=HazardStatus.open,
                geom=_g(Point(*hazard_open)),
            ),
            Hazard(
                community_id=c1.id,
                category="blind_spot",
                severity=2,
                time_of_day=TimeOfDay.both,
                description="已修剪植栽",
                status=HazardStatus.fixed,
                fixed_at=dt.datetime(2031, 3, 1, tzinfo=dt.UTC),
                geom=_g(LineString([(X0 + 700, Y0 + 800), (X0 + 760, Y0 + 820)])),
            ),
        ]
    )
    camera_p1 = (X0 + 300.0, Y0 + 300.0)
    camera_p2 = (X0 + 400.0, Y0 + 1500.0)
    for (x, y), precinct, community, status in (
        (camera_p1, p1, c1, CameraStatus.existing),
        (camera_p2, p2, c2, CameraStatus.existing),
        ((X0 + 500.0, Y0 + 500.0), p1, c1, CameraStatus.proposed),
    ):
        db.add(
            Camera(
                community_id=community.id,
                precinct_id=precinct.id,
                status=status,
                owner=CameraOwner.police,
                geom=_g(Point(x, y)),
                bearing_deg=90.0,
                fov_deg=90.0,
                range_m=40.0,
            )
        )
    # five incidents in one 200 m cell (off its centre), one alone in another
    cluster = [(X0 + 1237.0 + i, Y0 + 1261.0 + 2 * i) for i in range(5)]
    lone = (X0 + 1711.0, Y0 + 333.0)
    now = dt.datetime.now(dt.UTC) - dt.timedelta(days=10)
    db.execute(
        insert(Incident),
        [
            {"type": "burglary", "occurred_at": now, "geom": _g(Point(x, y)), "precinct_id": p2.id}
            for x, y in [*cluster, lone]
        ],
    )
    block = PatrolBlock(
        community_id=c1.id,
        name="第 1 區塊",
        risk=0.9,
        geom=_g(box(X0 + 100, Y0 + 600, X0 + 300, Y0 + 800)),
    )
    block2 = PatrolBlock(
        community_id=c1.id,
        name="第 2 區塊",
        risk=0.8,
        geom=_g(box(X0 + 400, Y0 + 600, X0 + 600, Y0 + 800)),
    )
    adopter = Adopter(community_id=c1.id, name="地圖國小", kind="school", guards=2)
    db.add_all([block, block2, adopter])
    db.flush()
    db.execute(insert(block_adoptions), [{"block_id": block.id, "adopter_id": adopter.id}])
    db.add(
        PatrolRoute(
            community_id=c1.id,
            team_name="地圖守望相助隊",
            schedule={"days": [1, 3], "start": "20:00", "end": "22:00"},
            geom=_g(LineString([(X0 + 100, Y0 + 100), (X0 + 900, Y0 + 900)])),
        )
    )
    run = AnalysisRun(kind="blind_spots", scope_kind="city", params={}, summary={})
    db.add(run)
    db.flush()
    blind = (X0 + 1300.0, Y0 + 700.0)
    db.add(
        BlindSpot(
            run_id=run.id,
            rank=1,
            risk=3.5,
            reasons=["no_camera", "not_patrolled"],
            source_kind="hazard",
            district_id=district.id,
            precinct_id=p1.id,
            geom=_g(Point(*blind).buffer(30)),
        )
    )
    db.flush()
    users = {
        "city": make_user(db, role=Role.city_police, username="map-city"),
        "leader": make_user(db, role=Role.leader, username="map-leader"),
        "p1": make_user(db, role=Role.precinct, username="map-p1", precinct_id=p1.id),
        "p2": make_user(db, role=Role.precinct, username="map-p2", precinct_id=p2.id),
        "district": make_user(
            db, role=Role.district_office, username="map-district", district_id=district.id
        ),
        "fire": make_user(db, role=Role.fire_bureau, username="map-fire"),
        "community": make_user(
            db, role=Role.community, username="map-community", organisation_id=c1.organisation_id
        ),
    }
    return Scene(
        district, p1, p2, c1, c2, camera_p1, camera_p2, cluster, lone, blind, hazard_open, users
    )
