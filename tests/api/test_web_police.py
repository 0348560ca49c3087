"""The precinct's planning, blind-spot and nomination pages and the dashboard's monthly trends
over HTTP: who opens them, what a precinct sees of its own jurisdiction only, the zh-TW errors
of the nomination form, suggestions turned down not coming back, and trend figures checked
against rows inserted by hand month by month."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from geoalchemy2.shape import from_shape, to_shape
from shapely.geometry import LineString, Point

from geo.enums import ApplicationStatus, CameraOwner, CameraStatus, HazardStatus, Role, TimeOfDay
from geo.errors import NotFound, PermissionDenied
from geo.models import (
    STORAGE_SRID,
    AnalysisRun,
    Application,
    ApplicationEvent,
    BlindSpot,
    Camera,
    Hazard,
    Incident,
    ProgramYear,
    StreetSegment,
)
from tests.api.conftest import login
from tests.factories import make_community, make_district, make_precinct, make_user, make_village
from workflow import trends
from workflow.access import Actor
from workflow.settings import default_settings

from .test_pages import _csrf, _sign_in

PAGES = ["/app/planning", "/app/blindspots", "/app/nominations"]
TAIPEI = dt.timezone(dt.timedelta(hours=8))
YEAR = 2092


def _pt(geom, dx: float = 0, dy: float = 0):
    c = to_shape(geom).centroid
    return from_shape(Point(c.x + dx, c.y + dy), srid=STORAGE_SRID)


@pytest.fixture
def world(db):
    """Two precincts with two villages each, communities, users and a program year whose
    subsidised applications the precincts may nominate."""
    v1 = [make_village(db) for _ in range(2)]
    v2 = [make_village(db) for _ in range(2)]
    p1, p2 = make_precinct(db, villages=v1), make_precinct(db, villages=v2)
    c1 = make_community(db, precinct=p1, village=v1[0], name="甲一社區")
    c1b = make_community(db, precinct=p1, village=v1[1], name="甲二社區")
    c2 = make_community(db, precinct=p2, village=v2[0], name="乙一社區")
    db.add(ProgramYear(year=YEAR, quota=33, settings=default_settings().model_dump(mode="json")))
    db.flush()
    apps = {}
    for key, c in (("a1", c1), ("a1b", c1b), ("a2", c2)):
        apps[key] = Application(
            year=YEAR, community_id=c.id, status=ApplicationStatus.approved, plan={}
        )
        db.add(apps[key])
    db.flush()
    users = {
        "pol1": make_user(db, role=Role.precinct, username="wp-pol1", precinct_id=p1.id),
        "pol2": make_user(db, role=Role.precinct, username="wp-pol2", precinct_id=p2.id),
        "comm": make_user(
            db, role=Role.community, username="wp-comm", organisation_id=c1.organisation_id
        ),
        "city": make_user(db, role=Role.city_police, username="wp-city"),
        "leader": make_user(db, role=Role.leader, username="wp-lead"),
    }
    return {"p1": p1, "p2": p2, "c1": c1, "c1b": c1b, "c2": c2, "v1": v1, **apps, **users}


# --------------------------------------------------------------------------- gates
@pytest.mark.parametrize("path", PAGES)
def test_signed_out_visitors_go_to_sign_in(client, path):
    r = client.get(path, follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == f"/login?next={path}"


@pytest.mark.parametrize(
    "who,path",
    [
        ("comm", "/app/planning"),
        ("comm", "/app/blindspots"),
        ("comm", "/app/nominations"),
        ("leader", "/app/planning"),
        ("city", "/app/nominations"),
    ],
)
def test_other_roles_are_refused_in_zh_tw(client, world, who, path):
    _sign_in(client, world[who].username)
    r = client.get(path, headers={"Accept": "text/html"})
    assert r.status_code == 403 and "不屬於您的角色" in r.text


def test_home_links_to_the_new_pages(client, world):
    _sign_in(client, "wp-pol1")
    home = client.get("/app").text
    for path in PAGES:
        assert f'href="{path}"' in home


# --------------------------------------------------------------------------- planning
def test_planning_page_offers_only_the_jurisdiction(client, world):
    _sign_in(client, "wp-pol1")
    page = client.get("/app/planning")
    assert page.status_code == 200 and "監視器設置規劃" in page.text
    assert "甲一社區" in page.text and "乙一社區" not in page.text
    assert "/static/app/web-planning.js" in page.text and "https://cdn" not in page.text
    assert '"can_decide": true' in page.text and 'id="accept"' in page.text
    # The bureau plans city-wide but leaves accepting to the precinct.
    _sign_in(client, "wp-city")
    city = client.get("/app/planning").text
    assert "乙一社區" in city and '"can_decide": false' in city and 'id="accept"' not in city


def _streets_and_demand(db, community, n_incidents: int = 30):
    centre = to_shape(community.geom).centroid
    for dx in (-150, 0, 150):
        db.add(
            StreetSegment(
                geom=from_shape(
                    LineString([(centre.x + dx, centre.y - 240), (centre.x + dx, centre.y + 240)]),
                    srid=STORAGE_SRID,
                )
            )
        )
    for i in range(n_incidents):
        db.add(
            Incident(
                type="burglary",
                occurred_at=dt.datetime.now(dt.UTC) - dt.timedelta(days=10),
                geom=from_shape(
                    Point(centre.x - 150 + (i % 3) * 150, centre.y - 200 + (i // 3) * 40),
                    srid=STORAGE_SRID,
                ),
                precinct_id=community.precinct_id,
            )
        )
    db.flush()


def test_rejected_suggestions_are_not_suggested_again_and_accepted_ones_are_proposals(
    client, db, world
):
    _streets_and_demand(db, world["c1"])
    h1, h2 = login(client, "wp-pol1"), login(client, "wp-pol2")
    body = {"k": 2, "radius_m": 60, "method": "greedy", "spacing_m": 40}
    first = client.post("/api/analysis/placement", json=body, headers=h1)
    assert first.status_code == 201, first.text
    run = first.json()["run"]
    assert run["existing_weight"] == 0 and run["excluded_sites"] == 0
    top, second = first.json()["sites"][:2]
    # The page turns the first down and accepts the second, through the layer API.
    for site, status in ((top, "rejected"), (second, "proposed")):
        r = client.post(
            "/api/cameras",
            headers=h1,
            json={
                "type": "Feature",
                "geometry": {"type": "Point", "coordinates": [site["lon"], site["lat"]]},
                "properties": {
                    "status": status,
                    "owner": "police",
                    "bearing_deg": 0,
                    "fov_deg": 360,
                    "range_m": 60,
                    "name": f"最佳化建議 #{site['rank']}",
                },
            },
        )
        assert r.status_code == 201, r.text
    again = client.post("/api/analysis/placement", json=body, headers=h1).json()
    assert again["run"]["excluded_sites"] >= 2
    street_sites = [(s["x"], s["y"]) for s in again["sites"] if s["kind"] != "proposal"]
    for s in (top, second):
        assert all(abs(x - s["x"]) + abs(y - s["y"]) > 20 for x, y in street_sites)
    # The accepted one is a proposed camera of precinct 1; precinct 2 never sees it.
    mine = client.get("/api/cameras", params={"status": "proposed"}, headers=h1).json()
    assert any(f["properties"]["name"] == f"最佳化建議 #{second['rank']}" for f in mine["features"])
    theirs = client.get("/api/cameras", headers=h2).json()
    assert not any(
        (f["properties"].get("name") or "").startswith("最佳化建議") for f in theirs["features"]
    )
    # Sector mode: each site comes with the bearing its camera should face.
    sectors = client.post(
        "/api/analysis/placement", json={**body, "bearings": [0, 90, 180, 270]}, headers=h1
    )
    assert sectors.status_code == 201, sectors.text
    assert all(s["bearing_deg"] in (0, 90, 180, 270) for s in sectors.json()["sites"])
    # Precinct 2 has nothing to plan on: the page shows the API's zh-TW reason.
    empty = client.post("/api/analysis/placement", json=body, headers=h2)
    assert empty.status_code == 400 and "無法規劃" in empty.json()["error"]["message"]
    # Precinct 2 cannot plan in precinct 1's community either.
    r = client.post(
        "/api/analysis/placement", json={**body, "community_id": world["c1"].id}, headers=h2
    )
    assert r.status_code == 404 and "不在您的轄區" in r.json()["error"]["message"]


# --------------------------------------------------------------------------- blind spots
def _blind_run(db, precinct, user, when: dt.datetime, spots: list[tuple[str, int, list[str]]]):
    run = AnalysisRun(
        kind="blind_spots",
        scope_kind="precinct",
        scope_id=precinct.id,
        params={},
        summary={"blind_spots": len(spots), "complete": 0},
        created_by=user.id,
        created_at=when,
    )
    db.add(run)
    db.flush()
    for rank, (kind, source_id, reasons) in enumerate(spots, start=1):
        db.add(
            BlindSpot(
                run_id=run.id,
                rank=rank,
                risk=3.0,
                reasons=reasons,
                source_kind=kind,
                source_id=source_id,
                precinct_id=precinct.id,
                geom=_pt(precinct.villages[0].geom, dx=rank * 10),
            )
        )
    db.flush()
    return run


def test_blind_spot_list_compares_with_last_month_and_stays_in_the_jurisdiction(client, db, world):
    now = dt.datetime.now(dt.UTC)
    old = _blind_run(
        db,
        world["p1"],
        world["pol1"],
        now - dt.timedelta(days=40),
        [("hazard", 101, ["no_camera"]), ("hazard", 102, ["no_camera", "not_adopted"])],
    )
    new = _blind_run(
        db,
        world["p1"],
        world["pol1"],
        now,
        [
            ("hazard", 102, ["no_camera", "not_adopted"]),
            ("hazard", 103, ["not_patrolled"]),
            ("hazard", 104, ["no_camera", "not_adopted", "not_patrolled"]),
        ],
    )
    _sign_in(client, "wp-pol1")
    page = client.get("/app/blindspots")
    assert page.status_code == 200 and f'data-run="{new.id}"' in page.text
    assert re.search(r'id="total">3<', page.text)
    assert re.search(r'id="new">2<', page.text) and re.search(r'id="resolved">1<', page.text)
    assert page.text.count("<tr data-id=") == 3 and "沒有監視器拍攝" in page.text
    filtered = client.get("/app/blindspots", params={"reason": "not_patrolled"}).text
    assert filtered.count("<tr data-id=") == 2 and "2 / 3 筆" in filtered
    # Precinct 2 sees none of it: no run, no spot, and the run's features are not found.
    _sign_in(client, "wp-pol2")
    other = client.get("/app/blindspots").text
    assert 'id="no-run"' in other and f'data-run="{new.id}"' not in other
    assert "<tr data-id=" not in other
    h2 = login(client, "wp-pol2")
    assert client.get(f"/api/analysis/runs/{old.id}/features", headers=h2).status_code == 404


# --------------------------------------------------------------------------- nominations
def _post_nomination(client, **fields):
    token = _csrf(client, "/app/nominations")
    return client.post(
        "/app/nominations",
        data={"csrf": token, "year": YEAR, **fields},
        headers={"Accept": "text/html"},
        follow_redirects=False,
    )


def test_nomination_within_the_allotment_and_errors_in_zh_tw(client, world):
    _sign_in(client, "wp-pol1")
    page = client.get("/app/nominations", params={"year": YEAR}).text
    assert "甲一社區" in page and "甲二社區" in page and "乙一社區" not in page
    assert re.search(r'id="left">1<', page)
    # Bad input: every field says what is wrong, what was typed stays.
    bad = _post_nomination(client, application_id="", preliminary_score="一百", reason="理由甲")
    assert bad.status_code == 400
    assert "請選擇要推薦的社區" in bad.text and "初選成績請填 0 到 100 分" in bad.text
    assert 'value="一百"' in bad.text and "理由甲" in bad.text
    ok = _post_nomination(client, application_id=str(world["a1"].id), preliminary_score="88.5")
    assert ok.status_code == 303 and "done=nominated" in ok.headers["location"]
    listed = client.get(ok.headers["location"]).text
    assert "已送出推薦" in listed and re.search(r'id="left">0<', listed)
    assert f'data-community="{world["c1"].id}"' in listed.split('id="eligible"')[0]
    # Over the allotment (one per precinct, plan 捌、一).
    over = _post_nomination(
        client, application_id=str(world["a1b"].id), preliminary_score="90", reason="第二個"
    )
    assert over.status_code == 409 and "每分局以 1 個為限" in over.text
    assert 'value="90"' in over.text and "第二個" in over.text
    # Outside the jurisdiction: precinct 2 cannot nominate precinct 1's community.
    _sign_in(client, "wp-pol2")
    outside = _post_nomination(client, application_id=str(world["a1b"].id), preliminary_score="85")
    assert outside.status_code == 404 and "找不到" in outside.text
    assert "甲二社區" not in outside.text and 'value="85"' in outside.text


def test_nomination_can_be_withdrawn_and_needs_the_form_token(client, world):
    _sign_in(client, "wp-pol1")
    ok = _post_nomination(client, application_id=str(world["a1"].id), preliminary_score="85")
    assert ok.status_code == 303
    page = client.get(ok.headers["location"]).text
    nid = re.search(r'action="/app/nominations/(\d+)/withdraw"', page).group(1)
    forged = client.post(
        f"/app/nominations/{nid}/withdraw",
        data={"csrf": "forged", "year": YEAR},
        headers={"Accept": "text/html"},
    )
    assert forged.status_code == 403
    token = _csrf(client, "/app/nominations")
    done = client.post(
        f"/app/nominations/{nid}/withdraw",
        data={"csrf": token, "year": YEAR},
        follow_redirects=False,
    )
    assert done.status_code == 303 and "done=withdrawn" in done.headers["location"]
    assert re.search(r'id="left">1<', client.get(done.headers["location"]).text)


# --------------------------------------------------------------------------- trends
def _at(month: dt.date, day: int = 15, hour: int = 12) -> dt.datetime:
    return dt.datetime(month.year, month.month, day, hour, tzinfo=TAIPEI)


def _month(offset: int) -> dt.date:
    today = dt.date.today().replace(day=1)
    n = today.year * 12 + today.month - 1 + offset
    return dt.date(n // 12, n % 12 + 1, 1)


@pytest.fixture
def trend_rows(db, world):
    """Rows by hand in a district of their own, months counted back from this month (m0)."""
    m0, m1, m2 = _month(0), _month(-1), _month(-2)
    district = make_district(db, name="趨勢測試區")
    village = make_village(db, district=district)
    precinct = make_precinct(db, villages=[village])
    community = make_community(db, precinct=precinct, village=village)
    here = village.geom

    def hazard(reported, fixed=None):
        db.add(
            Hazard(
                community_id=community.id,
                category="poor_lighting",
                severity=3,
                time_of_day=TimeOfDay.night,
                status=HazardStatus.fixed if fixed else HazardStatus.open,
                geom=_pt(here),
                reported_at=reported,
                fixed_at=fixed,
            )
        )

    hazard(_at(m2))
    hazard(_at(m2), fixed=_at(m0))
    hazard(_at(m0))
    # The first instant of m0 in Taipei is still the previous month in UTC: counted in m0.
    hazard(_at(m0, day=1, hour=0))
    for status, when in ((CameraStatus.installed, m1), (CameraStatus.existing, m1)):
        db.add(
            Camera(
                precinct_id=precinct.id,
                status=status,
                owner=CameraOwner.police,
                geom=_pt(here),
                bearing_deg=0,
                fov_deg=90,
                range_m=50,
                installed_at=when.replace(day=20),
            )
        )
    db.add(  # proposed: not installed, not counted
        Camera(
            precinct_id=precinct.id,
            status=CameraStatus.proposed,
            owner=CameraOwner.police,
            geom=_pt(here),
            bearing_deg=0,
            fov_deg=90,
            range_m=50,
            installed_at=m1.replace(day=20),
        )
    )
    for _ in range(3):
        db.add(Incident(type="fraud", occurred_at=_at(m2), geom=_pt(here), precinct_id=None))
    db.add(Incident(type="fraud", occurred_at=_at(m0), geom=_pt(here), precinct_id=None))
    # Blind spots: two city runs in m1 (the later one counts), none in m0 or m2.
    for when, n_here, n_elsewhere in ((_at(m1, day=3), 5, 0), (_at(m1, day=25), 2, 1)):
        run = AnalysisRun(
            kind="blind_spots", scope_kind="city", params={}, summary={}, created_at=when
        )
        db.add(run)
        db.flush()
        for i in range(n_here + n_elsewhere):
            db.add(
                BlindSpot(
                    run_id=run.id,
                    rank=i + 1,
                    risk=1,
                    reasons=["no_camera"],
                    source_kind="hazard",
                    source_id=i,
                    district_id=district.id if i < n_here else world["c1"].district_id,
                    geom=_pt(here),
                )
            )
    # Applications: the month of the first submission only (returned and resubmitted later).
    app = Application(
        year=YEAR, community_id=community.id, status=ApplicationStatus.submitted, plan={}
    )
    db.add(app)
    db.flush()
    for to, when in (("submitted", _at(m2)), ("returned", _at(m1)), ("submitted", _at(m1))):
        db.add(
            ApplicationEvent(application_id=app.id, actor_role="community", to_status=to, at=when)
        )
    db.flush()
    return district


EXPECTED = {
    # m-2, m-1, m0 (the window's last three months)
    "hazards_reported": [2, 0, 2],
    "hazards_fixed": [0, 0, 1],
    "cameras_installed": [0, 2, 0],
    "incidents": [3, 0, 1],
    "blind_spots": [None, 2, None],
    "applications": [1, 0, 0],
}


def test_trend_series_match_rows_inserted_by_hand(db, trend_rows):
    leader = Actor(user_id=None, role=Role.leader)
    district = trends.monthly(db, leader, district=trend_rows.name)
    assert district["months"][-1] == _month(0) and len(district["months"]) == 12
    for key, values in EXPECTED.items():
        series = district["series"][key].values
        assert series[-3:] == values, key
        assert all(v in (0, None) for v in series[:-3]), key
    city = trends.monthly(db, leader)
    # City-wide the third blind spot (another district) counts too; the rest are the same rows.
    assert city["series"]["blind_spots"].values[-3:] == [None, 3, None]
    assert city["series"]["hazards_reported"].values[-3:] == [2, 0, 2]
    with pytest.raises(NotFound) as missing:
        trends.monthly(db, leader, district="沒有這區")
    assert "找不到行政區" in missing.value.message
    with pytest.raises(PermissionDenied) as refused:
        trends.monthly(db, Actor(user_id=None, role=Role.community))
    assert "市府內部統計" in refused.value.message


def test_dashboard_draws_trend_charts_per_district(client, world, trend_rows):
    _sign_in(client, "wp-lead")
    page = client.get("/app/dashboard", params={"district": trend_rows.name})
    assert page.status_code == 200
    assert f"逐月趨勢：{trend_rows.name}" in page.text
    assert page.text.count('<svg class="chart"') == 5 and "<polyline" in page.text
    assert "cdn" not in page.text.lower()
    m2 = _month(-2)
    label = f"{m2.year - 1911}年{m2.month}月"
    hazards = page.text.split('data-chart="hazards"')[1].split("</figure>")[0]
    assert f'<tr data-month="{label}"><td>{label}</td><td>2</td><td>0</td></tr>' in hazards
    blind = page.text.split('data-chart="blind_spots"')[1].split("</figure>")[0]
    assert f'<tr data-month="{label}"><td>{label}</td><td>—</td></tr>' in blind
    # An unknown district says so in zh-TW and shows the city instead.
    unknown = client.get("/app/dashboard", params={"district": "沒有這區"}).text
    assert "找不到行政區「沒有這區」" in unknown and "逐月趨勢：全市" in unknown
