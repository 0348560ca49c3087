"""Residents' safety-concern reports over HTTP: the anonymous form and API, their spam guards,
the scoping of triage, the nearby duplicates and the three triage moves (issue #7, item 6)."""

from __future__ import annotations

import re
from dataclasses import dataclass

import pytest
from geoalchemy2.shape import from_shape
from shapely.geometry import Point
from sqlalchemy import event, func, select

from geo.enums import ApplicationStatus, HazardStatus, Role, TimeOfDay
from geo.models import (
    STORAGE_SRID,
    Application,
    Community,
    Hazard,
    LayerHistory,
    ProgramYear,
    station_villages,
)
from geo.models_reports import ResidentReport
from geo.models_services import ServiceEvent
from tests.api.conftest import login
from tests.factories import make_community, make_precinct, make_station, make_user
from workflow import resident_reports as rr

CONTACT_NAME = "王小明聯絡人"
CONTACT_PHONE = "0912-345-678"
CONTACT_EMAIL = "resident.secret@example.com"
YEAR = 2026


@dataclass
class World:
    c1: Community
    c2: Community
    x1: float  # centre of c1, EPSG:3826
    y1: float


def _centre(db, community: Community) -> tuple[float, float]:
    c = func.ST_Centroid(Community.geom)
    return db.execute(select(func.ST_X(c), func.ST_Y(c)).where(Community.id == community.id)).one()


def lonlat(db, x: float, y: float) -> tuple[float, float]:
    p = func.ST_Transform(func.ST_SetSRID(func.ST_MakePoint(x, y), STORAGE_SRID), 4326)
    lon, lat = db.execute(select(func.ST_X(p), func.ST_Y(p))).one()
    return round(lon, 8), round(lat, 8)


@pytest.fixture
def world(db) -> World:
    p1 = make_precinct(db)
    p2 = make_precinct(db)
    c1 = make_community(db, p1)
    c2 = make_community(db, p2)
    station = make_station(db, p1)
    db.execute(
        station_villages.insert().values(station_id=station.id, village_id=c1.villages[0].id)
    )
    make_user(db, Role.community, username="rr-c1", organisation_id=c1.organisation_id)
    make_user(db, Role.community, username="rr-c2", organisation_id=c2.organisation_id)
    make_user(db, Role.precinct, username="rr-p1", precinct_id=p1.id)
    make_user(db, Role.precinct, username="rr-p2", precinct_id=p2.id)
    make_user(db, Role.station, username="rr-s1", station_id=station.id)
    make_user(db, Role.leader, username="rr-leader")
    make_user(db, Role.city_police, username="rr-city")
    x1, y1 = _centre(db, c1)
    return World(c1, c2, x1, y1)


def body(db, world: World, dx: float = 0.0, dy: float = 0.0, **over) -> dict:
    lon, lat = lonlat(db, world.x1 + dx, world.y1 + dy)
    return {
        "lon": lon,
        "lat": lat,
        "category": "poor_lighting",
        "time_of_day": "night",
        "description": "巷口路燈壞了兩個星期，晚上很暗很危險",
        "place": "國小後門旁的小巷",
        **over,
    }


def submit(client, payload: dict) -> dict:
    r = client.post("/api/resident-reports", json=payload)
    assert r.status_code == 201, r.text
    return r.json()


def reports(db) -> int:
    return db.scalar(select(func.count()).select_from(ResidentReport))


def hazard(db, world: World, dx: float, dy: float, category: str = "poor_lighting") -> Hazard:
    h = Hazard(
        community_id=world.c1.id,
        category=category,
        severity=3,
        time_of_day=TimeOfDay.night,
        description="既有問題點",
        status=HazardStatus.open,
        title=f"既有 {dx:.0f}m",
        geom=from_shape(Point(world.x1 + dx, world.y1 + dy), srid=STORAGE_SRID),
    )
    db.add(h)
    db.flush()
    return h


def csrf(client) -> str:
    client.get("/public/report")
    return client.cookies.get("safemap_csrf")


# --------------------------------------------------------------------------- submitting
def test_anonymous_resident_submits_the_form_and_gets_a_reference(client, db, world):
    form = {k: str(v) for k, v in body(db, world).items()}
    page = client.get(f"/public/report?community={world.c1.id}")
    assert page.status_code == 200
    assert world.c1.name in page.text and "不會出現在任何公開網頁" in page.text
    form.update(csrf=client.cookies.get("safemap_csrf"), community_id=str(world.c1.id))
    form.update(contact_name=CONTACT_NAME, contact_phone=CONTACT_PHONE)
    png = b"\x89PNG\r\n\x1a\n" + b"\0" * 64
    r = client.post(
        "/public/report",
        data=form,
        files={"photo": ("lamp.png", png, "image/png")},
        follow_redirects=False,
    )
    assert r.status_code == 303, r.text
    ref = r.headers["location"].split("ref=")[1]
    thanks = client.get(r.headers["location"])
    assert ref in thanks.text and "感謝您的回報" in thanks.text

    report = db.scalar(select(ResidentReport).order_by(ResidentReport.id.desc()))
    assert rr.reference(report.id, report.created_at) == ref
    # The database placed it: community, its precinct, the village; the address is hashed.
    assert report.community_id == world.c1.id
    assert report.precinct_id == world.c1.precinct_id
    assert report.village_id == world.c1.villages[0].id
    assert report.status is rr.S.new and report.photo_type == "image/png"
    assert "testclient" not in report.ip_hash and len(report.ip_hash) == 64


def test_api_submit_without_account(client, db, world):
    out = submit(client, body(db, world))
    assert re.fullmatch(r"\d{3}-\d{5}", out["reference"])
    assert out["status"] == "new" and out["status_label"] == "新回報"


@pytest.mark.parametrize(
    "change,field,code,message",
    [
        ({"lon": None}, "location", "report_location_missing", "請在地圖上點選"),
        ({"lon": "abc"}, "location", "report_location_missing", "請在地圖上點選"),
        ({"lon": 120.0, "lat": 23.0}, "location", "report_location_outside", "不在新北市範圍內"),
        ({"category": "ufo"}, "category", "report_category_invalid", "請選擇問題類別"),
        ({"time_of_day": ""}, "time_of_day", "report_time_invalid", "什麼時段"),
        ({"description": "太暗"}, "description", "report_description_short", "至少 10 個字"),
        ({"description": "暗" * 1001}, "description", "report_description_long", "上限 1000 字"),
        ({"contact_phone": "call me"}, "contact_phone", "report_contact_phone_invalid", "電話"),
        ({"contact_email": "a@b"}, "contact_email", "report_contact_email_invalid", "電子郵件"),
        ({"place": "巷" * 129}, "place", "report_place_long", "地點說明最多"),
    ],
)
def test_bad_input_is_refused_in_zh_tw_and_nothing_is_stored(
    client, db, world, change, field, code, message
):
    before = reports(db)
    r = client.post("/api/resident-reports", json={**body(db, world), **change})
    assert r.status_code == 400, r.text
    assert r.json()["error"]["code"] == code
    assert message in r.json()["error"]["message"]
    assert reports(db) == before

    # The form says the same next to the field and keeps everything that was typed.
    form = {k: "" if v is None else str(v) for k, v in {**body(db, world), **change}.items()}
    form.update(csrf=csrf(client), contact_name=CONTACT_NAME)
    page = client.post("/public/report", data=form)
    assert page.status_code == 400
    assert message in page.text and "回報還沒有送出" in page.text
    assert CONTACT_NAME in page.text
    if field != "description":
        assert "巷口路燈壞了兩個星期" in page.text
    assert reports(db) == before


def test_several_problems_are_named_together(client, db, world):
    r = client.post(
        "/api/resident-reports", json={**body(db, world), "category": "", "description": "短"}
    )
    assert r.status_code == 400
    assert r.json()["error"]["code"] == "report_category_invalid"
    assert "請選擇問題類別" in r.json()["error"]["message"]
    assert "至少 10 個字" in r.json()["error"]["message"]


def test_a_photo_that_is_not_an_image_is_refused(client, db, world):
    form = {k: str(v) for k, v in body(db, world).items()}
    form["csrf"] = csrf(client)
    r = client.post("/public/report", data=form, files={"photo": ("x.png", b"MZ not a picture")})
    assert r.status_code == 400 and "只接受 JPEG、PNG" in r.text
    assert reports(db) == 0


def test_rate_limit_per_sender(client, db, world):
    for i in range(rr.RATE_LIMIT):
        submit(client, body(db, world, dx=i))
    r = client.post("/api/resident-reports", json=body(db, world))
    assert r.status_code == 429
    assert r.json()["error"]["code"] == "rate_limited"
    assert "每小時最多" in r.json()["error"]["message"]
    form = {k: str(v) for k, v in body(db, world).items()}
    form["csrf"] = csrf(client)
    page = client.post("/public/report", data=form)
    assert page.status_code == 429 and "每小時最多" in page.text
    assert "巷口路燈壞了兩個星期" in page.text  # what was typed is still there
    assert reports(db) == rr.RATE_LIMIT


def test_honeypot_stores_nothing(client, db, world):
    r = client.post("/api/resident-reports", json={**body(db, world), "website": "http://spam"})
    assert r.status_code == 400 and r.json()["error"]["code"] == "report_rejected"
    form = {k: str(v) for k, v in body(db, world).items()}
    form.update(csrf=csrf(client), website="http://spam")
    page = client.post("/public/report", data=form)
    assert page.status_code == 400 and "無法受理" in page.text
    assert reports(db) == 0


def test_form_needs_its_csrf_token(client, db, world):
    form = {k: str(v) for k, v in body(db, world).items()}
    r = client.post("/public/report", data=form)
    assert r.status_code == 403
    assert reports(db) == 0


# --------------------------------------------------------------------------- who sees what
def test_scoping_of_triage(client, db, world):
    mine = submit(client, body(db, world, contact_name=CONTACT_NAME))
    ids = lambda user: [  # noqa: E731
        i["id"]
        for i in client.get("/api/resident-reports", headers=login(client, user)).json()["items"]
    ]
    assert ids("rr-c1") == [mine["id"]]
    assert ids("rr-p1") == [mine["id"]]
    assert ids("rr-s1") == [mine["id"]]
    assert mine["id"] in ids("rr-city")
    assert ids("rr-c2") == []
    assert ids("rr-p2") == []
    for user in ("rr-p2", "rr-c2"):
        h = login(client, user)
        assert client.get(f"/api/resident-reports/{mine['id']}", headers=h).status_code == 404
        r = client.post(
            f"/api/resident-reports/{mine['id']}/triage",
            headers=h,
            json={"action": "dismiss", "reason": "不是我們的"},
        )
        assert r.status_code == 404
        page = client.get("/app/triage", headers=h)
        assert page.status_code == 200 and CONTACT_NAME not in page.text
    assert client.get("/api/resident-reports").status_code == 401
    r = client.get("/api/resident-reports", headers=login(client, "rr-leader"))
    assert r.status_code == 403
    # The triaging community sees the contact, on the page too.
    got = client.get(f"/api/resident-reports/{mine['id']}", headers=login(client, "rr-c1")).json()
    assert got["contact"]["name"] == CONTACT_NAME
    page = client.get("/app/triage", headers=login(client, "rr-c1"))
    assert CONTACT_NAME in page.text and mine["reference"] in page.text


def test_report_outside_communities_goes_to_the_village_precinct(client, db, world):
    # A spot in precinct 2's village that no community covers.
    c2 = world.c2
    x, y = _centre(db, c2)
    db.execute(
        Community.__table__.update()
        .where(Community.id == c2.id)
        .values(
            geom=func.ST_Multi(
                func.ST_Buffer(func.ST_SetSRID(func.ST_MakePoint(x, y), STORAGE_SRID), 5)
            )
        )
    )
    lon, lat = lonlat(db, x + 100, y + 100)
    out = submit(client, {**body(db, world), "lon": lon, "lat": lat})
    report = db.get(ResidentReport, out["id"])
    db.refresh(report)
    assert report.community_id is None
    assert report.precinct_id == c2.precinct_id
    items = client.get("/api/resident-reports", headers=login(client, "rr-p2")).json()["items"]
    assert [i["id"] for i in items] == [out["id"]]
    # Accepting needs a community to put the hazard on; nothing is written without it.
    h = login(client, "rr-p2")
    r = client.post(
        f"/api/resident-reports/{out['id']}/triage", headers=h, json={"action": "accept"}
    )
    assert r.status_code == 400 and "不在任何社區範圍內" in r.json()["error"]["message"]
    assert db.scalar(select(func.count()).select_from(Hazard)) == 0
    r = client.post(
        f"/api/resident-reports/{out['id']}/triage",
        headers=h,
        json={"action": "accept", "community_id": c2.id},
    )
    assert r.status_code == 200 and r.json()["status"] == "accepted"


def test_home_page_counts_new_reports(client, db, world):
    submit(client, body(db, world))
    page = client.get("/app", headers=login(client, "rr-c1"))
    assert "新的民眾回報" in page.text and "/app/triage" in page.text


# --------------------------------------------------------------------------- duplicates
def test_duplicates_are_suggested_nearest_first(client, db, world):
    far = hazard(db, world, 80, 0)
    h30 = hazard(db, world, 0, 30, category="blind_spot")
    h10 = hazard(db, world, 10, 0)
    other = submit(client, body(db, world, dx=-20))
    mine = submit(client, body(db, world))
    got = client.get(f"/api/resident-reports/{mine['id']}", headers=login(client, "rr-p1")).json()
    dups = got["duplicates"]
    assert [(d["kind"], d["id"]) for d in dups] == [
        ("hazard", h10.id),
        ("report", other["id"]),
        ("hazard", h30.id),
    ]
    assert [d["distance_m"] for d in dups] == pytest.approx([10, 20, 30], abs=0.2)
    assert [d["same_category"] for d in dups] == [True, True, False]
    assert far.id not in [d["id"] for d in dups]
    # The list carries the same suggestions, in one statement for the whole page.
    listed = client.get("/api/resident-reports", headers=login(client, "rr-p1")).json()["items"]
    assert next(i for i in listed if i["id"] == mine["id"])["duplicates"] == dups


# --------------------------------------------------------------------------- triage moves
def test_accept_makes_a_hazard_without_the_contact(client, db, world):
    if db.get(ProgramYear, YEAR) is None:
        db.add(ProgramYear(year=YEAR, quota=33))
        db.flush()
    db.add(Application(year=YEAR, community_id=world.c1.id, status=ApplicationStatus.approved))
    db.flush()
    mine = submit(
        client,
        body(
            db,
            world,
            contact_name=CONTACT_NAME,
            contact_phone=CONTACT_PHONE,
            contact_email=CONTACT_EMAIL,
        ),
    )
    h = login(client, "rr-c1")
    r = client.post(
        f"/api/resident-reports/{mine['id']}/triage",
        headers=h,
        json={"action": "accept", "severity": 4},
    )
    assert r.status_code == 200, r.text
    done = r.json()
    assert done["status"] == "accepted" and done["hazard_id"]
    assert done["triaged_by"] and done["triaged_at"]
    hz = db.get(Hazard, done["hazard_id"])
    assert hz.community_id == world.c1.id and hz.category == "poor_lighting"
    assert hz.severity == 4 and hz.time_of_day is TimeOfDay.night
    assert f"民眾回報 {mine['reference']}" in hz.description
    assert hz.title == f"民眾回報 {mine['reference']}"
    # Audited: the move in service_events, the new hazard in layer_history with its author.
    event = db.scalar(
        select(ServiceEvent).where(
            ServiceEvent.service == "resident_reports", ServiceEvent.record_id == mine["id"]
        )
    )
    assert (event.from_status, event.to_status, event.actor_role) == (
        "new",
        "accepted",
        "community",
    )
    hist = db.scalar(
        select(LayerHistory).where(LayerHistory.layer == "hazards", LayerHistory.record_id == hz.id)
    )
    assert hist.action == "insert" and hist.actor_id is not None

    # The contact appears nowhere public: hazards API, OGC, the public map, the export.
    public = [
        client.get("/api/hazards").text,
        client.get(f"/api/hazards/{hz.id}").text,
        client.get("/ogc/collections/hazards/items").text,
        client.get(f"/maps/public/community/{world.c1.id}").text,
        client.get(f"/api/communities/{world.c1.id}/export?format=kml", headers=h).text,
        client.get(f"/api/hazards/{hz.id}/history", headers=h).text,
    ]
    assert str(hz.id) in public[0]
    for text in public:
        for secret in (CONTACT_NAME, CONTACT_PHONE, CONTACT_EMAIL):
            assert secret not in text
    assert "回報治安疑慮" in public[3] and f"/public/report?community={world.c1.id}" in public[3]

    # A second move on the same report is refused and changes nothing.
    r = client.post(
        f"/api/resident-reports/{mine['id']}/triage",
        headers=login(client, "rr-p1"),
        json={"action": "dismiss", "reason": "重複"},
    )
    assert r.status_code == 409
    assert db.scalar(select(func.count()).select_from(Hazard)) == 1


def test_merge_into_a_hazard_in_scope(client, db, world):
    near = hazard(db, world, 10, 0)
    mine = submit(client, body(db, world))
    other_hazard = Hazard(
        community_id=world.c2.id,
        category="other",
        severity=2,
        time_of_day=TimeOfDay.day,
        status=HazardStatus.open,
        geom=from_shape(Point(world.x1, world.y1), srid=STORAGE_SRID),
    )
    db.add(other_hazard)
    db.flush()
    h = login(client, "rr-p1")
    url = f"/api/resident-reports/{mine['id']}/triage"
    # Another precinct's hazard is not found, and the report stays new.
    r = client.post(url, headers=h, json={"action": "merge", "hazard_id": other_hazard.id})
    assert r.status_code == 404
    assert db.get(ResidentReport, mine["id"]).status is rr.S.new
    r = client.post(url, headers=h, json={"action": "merge"})
    assert r.status_code == 400 and "請選擇要併入的問題點" in r.json()["error"]["message"]
    r = client.post(url, headers=h, json={"action": "merge", "hazard_id": near.id})
    assert r.status_code == 200
    assert r.json()["status"] == "merged" and r.json()["hazard_id"] == near.id
    assert db.scalar(select(func.count()).select_from(Hazard)) == 2  # nothing new


def test_dismiss_needs_a_reason(client, db, world):
    mine = submit(client, body(db, world))
    h = login(client, "rr-s1")
    url = f"/api/resident-reports/{mine['id']}/triage"
    r = client.post(url, headers=h, json={"action": "dismiss", "reason": "  "})
    assert r.status_code == 400 and "請說明理由" in r.json()["error"]["message"]
    r = client.post(url, headers=h, json={"action": "fly"})
    assert r.status_code == 400 and "處理方式" in r.json()["error"]["message"]
    r = client.post(url, headers=h, json={"action": "dismiss", "reason": "已由里長處理完畢"})
    assert r.status_code == 200
    assert r.json()["status_label"] == "不予處理"
    assert r.json()["dismissed_reason"] == "已由里長處理完畢"
    items = client.get("/api/resident-reports?status=new", headers=h).json()["items"]
    assert items == []
    page = client.get("/app/triage", headers=h)
    assert "已由里長處理完畢" in page.text


def test_landing_page_links_to_the_form(client):
    assert "/public/report" in client.get("/").text


def _statements(client, engine, path, headers) -> int:
    seen = []

    def count(conn, cursor, statement, *args):
        if not statement.lstrip().upper().startswith(("SAVEPOINT", "RELEASE", "ROLLBACK")):
            seen.append(statement)

    event.listen(engine, "before_cursor_execute", count)
    try:
        r = client.get(path, headers=headers)
        assert r.status_code == 200, r.text
    finally:
        event.remove(engine, "before_cursor_execute", count)
    return len(seen)


def test_the_list_and_its_duplicates_are_one_statement(client, db, engine, world):
    h = login(client, "rr-p1")
    submit(client, body(db, world))
    hazard(db, world, 5, 5)
    one = _statements(client, engine, "/api/resident-reports", h)
    for i in range(1, 4):
        submit(client, body(db, world, dx=i * 3))
        hazard(db, world, i * 3, 5)
    assert _statements(client, engine, "/api/resident-reports", h) == one


def test_the_photo_goes_to_triagers_only_and_with_the_accepted_hazard(client, db, world):
    form = {k: str(v) for k, v in body(db, world).items()}
    form["csrf"] = csrf(client)
    png = b"\x89PNG\r\n\x1a\n" + b"\1" * 64
    r = client.post(
        "/public/report", data=form, files={"photo": ("lamp.png", png)}, follow_redirects=False
    )
    assert r.status_code == 303
    report_id = db.scalar(select(func.max(ResidentReport.id)))
    url = f"/api/resident-reports/{report_id}/photo"
    assert client.get(url).status_code == 401
    assert client.get(url, headers=login(client, "rr-p2")).status_code == 404
    got = client.get(url, headers=login(client, "rr-c1"))
    assert got.status_code == 200 and got.content == png
    assert got.headers["content-type"] == "image/png"
    h = login(client, "rr-c1")
    done = client.post(
        f"/api/resident-reports/{report_id}/triage", headers=h, json={"action": "accept"}
    ).json()
    photos = client.get(f"/api/hazards/{done['hazard_id']}/photos", headers=h).json()
    assert len(photos) == 1 and photos[0]["content_type"] == "image/png"
