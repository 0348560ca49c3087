"""Protection referrals and care visits cannot be reached by any other role through ANY endpoint.

Every GET route of the application - found by walking ``app.routes``, so routes added later
are swept too - is called as every role but social affairs and anonymously, with its path
ids filled from the records created here. No response may contain the secret marker texts
written into the protection records (a victim's name and address, a family's situation).
The OGC API, vector tiles, the community export in every format, the bulletins (generated
for the very community the referral came from) and the map pages are among the routes swept,
and are also called explicitly. Every read by social affairs writes an audit row, the filer
reads their own submission only until it is received, and no log line carries a marker.
"""

from __future__ import annotations

import datetime as dt
import io
import itertools
import json
import logging
import math
import re
import zipfile

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from geo.enums import Role
from geo.layers import LAYERS
from geo.models import AuditLog
from tests.services.conftest import ACCOUNTS, lonlat_in, point_in
from workflow import catalogue
from workflow.access import ANONYMOUS

# The marker texts: each protection record carries its own, so a leak names its source.
RECEIVED_REFERRAL = "祕密被害人甲乙丙"
RECEIVED_ADDRESS = "祕密路九九九號"
OPEN_REFERRAL = "祕密被害人丁戊己"
RECEIVED_VISIT = "祕密家庭庚辛"
OPEN_VISIT = "祕密家庭壬癸"
MARKERS = (RECEIVED_REFERRAL, RECEIVED_ADDRESS, OPEN_REFERRAL, RECEIVED_VISIT, OPEN_VISIT)
# Still submitted: their filer (org1) may read them, nobody else.
FILER_MAY_READ = (OPEN_REFERRAL, OPEN_VISIT)

TODAY = dt.date.today()
PARAM = re.compile(r"{(\w+)(?::\w+)?}")


def referral(name: str, address: str, community_id: int) -> dict:
    return {
        "kind": "domestic_violence",
        "community_id": community_id,
        "subject_name": name,
        "subject_address": address,
        "contact_phone": "0900-000-000",
        "observed_on": TODAY.isoformat(),
        "description": f"{name} 疑似遭同住家人毆打，鄰居多次聽到求救聲。",
        "immediate_danger": True,
        "reporter_name": "巡守員",
    }


def care_visit(name: str, community_id: int) -> dict:
    return {
        "community_id": community_id,
        "family_name": name,
        "address": f"{name}的住址",
        "visited_on": TODAY.isoformat(),
        "visitors": "志工",
        "situation": f"{name} 經濟困難，疑有家庭暴力。",
        "resources_offered": "轉介社工",
        "needs_follow_up": True,
    }


def feature(geometry, **props) -> dict:
    return {"type": "Feature", "geometry": geometry, "properties": props}


def ok(r, status=(200, 201)):
    assert r.status_code in status, r.text
    return r.json()


@pytest.fixture
def scene(client, world):
    """Records of every kind around community c1 - the filer's community - and the four
    protection records; two of them received by social affairs."""
    h = world.h
    ids: dict[str, int] = {"c1": world.c1.id, "c2": world.c2.id}
    ids["hazard"] = ok(client.post(
        "/api/hazards",
        json=feature(point_in(world.v1, 12, 12), community_id=world.c1.id,
                     category="women_children", severity=4, title="暗巷"),
        headers=h("org1"),
    ))["id"]  # fmt: skip
    ids["camera"] = ok(client.post(
        "/api/cameras",
        json=feature(point_in(world.v1, -20, 0), community_id=world.c1.id, status="installed",
                     owner="police", bearing_deg=10, fov_deg=60, range_m=40,
                     installed_at=TODAY.isoformat()),
        headers=h("pol1"),
    ))["id"]  # fmt: skip
    ids["meeting"] = ok(client.post(
        "/api/safety_meetings",
        json=feature(None, community_id=world.c1.id, held_on=TODAY.isoformat(), place="活動中心"),
        headers=h("org1"),
    ))["id"]  # fmt: skip
    ids["incident"] = ok(client.post(
        "/api/incidents",
        json=feature(point_in(world.v1, 3, 3), type="assault",
                     occurred_at=dt.datetime.now(dt.UTC).isoformat()),
        headers=h("pol1"),
    ))["id"]  # fmt: skip
    ids["route"] = ok(client.post(
        "/api/patrol_routes",
        json=feature({"type": "LineString", "coordinates": [lonlat_in(world.v1, -50), lonlat_in(world.v1, 50)]},
                     community_id=world.c1.id, team_name="甲一隊"),
        headers=h("org1"),
    ))["id"]  # fmt: skip
    ids["consultation"] = ok(client.post(
        "/api/consultations",
        json={"reason": "burgled", "household_name": "住戶", "address": "和平路 1 號",
              "location": point_in(world.v1), "community_id": world.c1.id},
        headers=h("org1"),
    ))["id"]  # fmt: skip
    ids["disaster"] = ok(client.post(
        "/api/disaster-requests",
        json={"community_id": world.c1.id, "topics": ["fire"], "content": "防火",
              "requested_date": (TODAY + dt.timedelta(days=10)).isoformat(), "start_time": "10:00",
              "place": "活動中心", "expected_attendance": 20, "contact_name": "林",
              "contact_phone": "1"},
        headers=h("org1"),
    ))["id"]  # fmt: skip
    ids["promotion"] = ok(client.post(
        "/api/promotion-events",
        json={"community_id": world.c1.id, "topic": "women_children", "occasion": "training",
              "held_on": TODAY.isoformat(), "title": "婦幼安全", "audience": "巡守隊",
              "speaker_unit": "甲派出所"},
        headers=h("st1"),
    ))["id"]  # fmt: skip
    ids["team"] = ok(client.post(
        "/api/watch-teams", json={"community_id": world.c1.id, "name": "甲一隊"}, headers=h("org1")
    ))["id"]  # fmt: skip
    start = dt.datetime.now(dt.UTC) - dt.timedelta(hours=2)
    log = ok(client.post(
        f"/api/watch-teams/{ids['team']}/patrol-logs",
        json={"started_at": start.isoformat(), "ended_at": (start + dt.timedelta(hours=1)).isoformat(),
              "members_present": 2, "observations": [{"description": "暗巷無燈"}]},
        headers=h("org1"),
    ))  # fmt: skip
    ids["log"] = log["id"]
    ids["observation"] = log["observations"][0]["id"]

    # The protection records, filed by c1's organisation for c1.
    ids["ref_received"] = ok(client.post(
        "/api/protection/referrals",
        json={**referral(RECEIVED_REFERRAL, RECEIVED_ADDRESS, world.c1.id)}, headers=h("org1"),
    ))["id"]  # fmt: skip
    ids["ref_open"] = ok(client.post(
        "/api/protection/referrals",
        json=referral(OPEN_REFERRAL, "祕密路一號", world.c1.id), headers=h("org1"),
    ))["id"]  # fmt: skip
    ids["visit_received"] = ok(client.post(
        "/api/protection/care-visits", json=care_visit(RECEIVED_VISIT, world.c1.id), headers=h("org1")
    ))["id"]  # fmt: skip
    ids["visit_open"] = ok(client.post(
        "/api/protection/care-visits", json=care_visit(OPEN_VISIT, world.c1.id), headers=h("org1")
    ))["id"]  # fmt: skip
    # The filer reads their own submissions until social affairs receives them ...
    for path, marker in (
        (f"/api/protection/referrals/{ids['ref_received']}", RECEIVED_REFERRAL),
        (f"/api/protection/care-visits/{ids['visit_received']}", RECEIVED_VISIT),
    ):
        r = client.get(path, headers=h("org1"))
        assert r.status_code == 200 and marker in r.text
    ok(
        client.post(
            f"/api/protection/referrals/{ids['ref_received']}/receive", json={}, headers=h("social")
        )
    )
    ok(
        client.post(
            f"/api/protection/care-visits/{ids['visit_received']}/receive", headers=h("social")
        )
    )
    # ... and not after.
    for path in (
        f"/api/protection/referrals/{ids['ref_received']}",
        f"/api/protection/care-visits/{ids['visit_received']}",
    ):
        assert client.get(path, headers=h("org1")).status_code == 404

    # Bulletins of the filer's community and district, drafted and published.
    month = TODAY.strftime("%Y-%m")
    ids["bulletin"] = ok(client.post(
        "/api/bulletins", json={"scope": "community", "month": month, "community_id": world.c1.id},
        headers=h("org1"),
    ))["id"]  # fmt: skip
    ok(client.post(f"/api/bulletins/{ids['bulletin']}/publish", headers=h("org1")))
    ids["district_bulletin"] = ok(client.post(
        "/api/bulletins", json={"scope": "district", "month": month, "district_id": world.d1.id},
        headers=h("dist1"),
    ))["id"]  # fmt: skip
    return ids


def leaks(body: bytes, markers) -> list[str]:
    """Markers found in a response body, looking inside zip containers (KMZ) too."""
    blobs = [body]
    if body[:2] == b"PK":
        with zipfile.ZipFile(io.BytesIO(body)) as z:
            blobs += [z.read(n) for n in z.namelist()]
    return [m for m in markers for b in blobs if m.encode() in b]


def get_routes(app) -> list[tuple[str, dict]]:
    """Every GET path of the app with its converters (included routers flattened)."""
    try:
        from fastapi.routing import iter_route_contexts

        routes = list(iter_route_contexts(app.routes))
    except ImportError:  # older FastAPI: app.routes is already flat
        routes = list(app.routes)
    out = []
    for r in routes:
        if "GET" in (getattr(r, "methods", None) or set()) and r.path:
            out.append((r.path, dict(getattr(r, "param_convertors", {}) or {})))
    return sorted(
        set((p, tuple(sorted((k, type(v).__name__) for k, v in c.items()))) for p, c in out)
    )


def tile_of(lon: float, lat: float, z: int) -> tuple[int, int]:
    n = 2**z
    x = int((lon + 180) / 360 * n)
    y = int((1 - math.asinh(math.tan(math.radians(lat))) / math.pi) / 2 * n)
    return x, y


def candidates(world, ids) -> tuple[dict[str, list], list]:
    """Values to try for each path parameter, by name; ``generic`` (every id created here) for
    an id parameter of any other name. The protection records' own ids are among the values
    of every id parameter: a route that looked one up by id would be caught."""
    protection = [ids["ref_received"], ids["ref_open"], ids["visit_received"], ids["visit_open"]]

    def with_protection(*keys: str) -> list[int]:
        return sorted({*protection, *(ids[k] for k in keys)})

    lon, lat = lonlat_in(world.v1)
    x, y = tile_of(lon, lat, 14)
    collections = {c.id for c in catalogue.visible(ANONYMOUS)} | set(LAYERS)
    named = {
        "community_id": [world.c1.id, world.c2.id],
        # Layer records are listed whole by their list routes; by id, the protection ids matter.
        "record_id": with_protection("hazard"),
        "feature_id": with_protection("hazard"),
        "hazard_id": with_protection("hazard"),
        "consultation_id": with_protection("consultation"),
        "request_id": with_protection("disaster"),
        "event_id": with_protection("promotion"),
        "issue_id": with_protection("bulletin", "district_bulletin"),
        "team_id": with_protection("team"),
        "log_id": with_protection("log"),
        "observation_id": with_protection("observation"),
        "referral_id": protection,
        "visit_id": protection,
        "year": [TODAY.year],
        "z": [14],
        "x": [x],
        "y": [y],
        "collection_id": sorted(collections | {"protection_referrals", "care_visits"}),
        "district": [world.d1.code, world.d1.name],
        "fmt": ["html", "csv", "xlsx"],
        "format": ["html", "csv", "json"],
        "kind": ["protection_referrals", "care_visits", "referrals", "hazards"],
        "name": ["protection_referrals", "care_visits", "safemap-maps.js"],
        "code": ["1", "2", "8"],
    }
    return named, sorted(set(ids.values()))


def urls(path: str, converters: tuple, named: dict, generic: list) -> list[str]:
    params = PARAM.findall(path)
    if not params:
        return [path]
    kinds = dict(converters)
    choices = []
    for name in params:
        if name in named:
            choices.append(named[name])
        elif kinds.get(name) == "IntegerConvertor" or name.endswith("_id") or name == "id":
            # Every id for the outermost unknown id; the protection ids for nested ones.
            seen_generic = any(c is generic for c in choices)
            choices.append(named["referral_id"] if seen_generic else generic)
        else:
            choices.append(["protection_referrals", "care_visits", "1"])
    out = []
    for combo in itertools.product(*choices):
        url = path
        for name, value in zip(params, combo, strict=True):
            url = re.sub(r"{" + name + r"(?::\w+)?}", str(value), url, count=1)
        out.append(url)
    return out


def test_no_other_role_reaches_protection_records_through_any_get_route(app, world, scene, caplog):
    caplog.set_level(logging.DEBUG)
    named, generic = candidates(world, scene)
    routes = get_routes(app)
    assert any(p.startswith("/api/protection") for p, _ in routes)  # the sweep sees them
    callers = {
        name: world.h(name) for name in ACCOUNTS if ACCOUNTS[name][0] is not Role.social_affairs
    }
    callers["public"] = {}
    query = {"year": TODAY.year}
    found: list[tuple] = []
    calls = 0
    # Server errors of other parts must not stop the sweep; they are reported, not raised.
    with TestClient(app, raise_server_exceptions=False) as sweep:
        for path, converters in routes:
            if path.startswith(("/docs", "/redoc", "/openapi")):
                continue
            for url in urls(path, converters, named, generic):
                for who, headers in callers.items():
                    r = sweep.get(url, params=query, headers=headers)
                    calls += 1
                    allowed = FILER_MAY_READ if who == "org1" else ()
                    bad = leaks(r.content, [m for m in MARKERS if m not in allowed])
                    if bad:
                        found.append((who, url, r.status_code, bad))
                    if url.startswith(("/api/protection", "/services/protection")):
                        assert r.status_code < 500, (who, url, r.text)
        # The detector itself: the one role allowed does find the markers.
        allowed = sweep.get("/api/protection/referrals", headers=world.h("social")).content
        assert set(leaks(allowed, MARKERS)) == {RECEIVED_REFERRAL, RECEIVED_ADDRESS, OPEN_REFERRAL}
    assert not found, found
    assert calls > 500, calls
    _assert_no_marker_logged(caplog)


def test_explicit_exports_maps_ogc_tiles_and_bulletins(client, world, scene, caplog):
    caplog.set_level(logging.DEBUG)
    lon, lat = lonlat_in(world.v1)
    x, y = tile_of(lon, lat, 14)
    paths = [
        *(f"/api/communities/{world.c1.id}/export?format={f}" for f in ("gpkg", "kml", "kmz")),
        "/ogc/collections",
        *(f"/ogc/collections/{c}/items?limit=10000" for c in ("hazards", "safety_meetings", "cameras", "incidents", "patrol_routes")),
        *(f"/tiles/{c}/14/{x}/{y}.mvt" for c in ("hazards", "cameras", "incidents")),
        "/api/bulletins",
        f"/api/bulletins/{scene['bulletin']}",
        f"/api/bulletins/{scene['district_bulletin']}",
        f"/services/bulletins/{scene['bulletin']}",
        f"/services/bulletins/{scene['bulletin']}/email",
        f"/services/bulletins/{scene['district_bulletin']}",
        "/services/bulletins",
        f"/api/consultations/figures?year={TODAY.year}",
        f"/api/promotion-events/figures?year={TODAY.year}",
        f"/api/watch-teams/figures?year={TODAY.year}",
        f"/api/watch-teams/{scene['team']}",
        f"/api/patrol-logs/{scene['log']}",
        f"/api/analysis/coverage?community_id={world.c1.id}",
        "/maps/city",
        f"/maps/district/{world.d1.code}",
        f"/maps/community/{world.c1.id}",
        f"/maps/public/community/{world.c1.id}",
    ]  # fmt: skip
    everyone = [*(n for n in ACCOUNTS), "public"]
    for who in everyone:
        for path in paths:
            r = client.get(path, headers=world.h(who))
            assert not leaks(r.content, MARKERS), (who, path)
    # Regenerating the bulletins from the data now still finds nothing to leak.
    month = TODAY.strftime("%Y-%m")
    for who, body in (
        ("st1", {"scope": "community", "month": month, "community_id": world.c1.id}),
        ("city", {"scope": "district", "month": month, "district_id": world.d1.id}),
    ):
        r = client.post("/api/bulletins", json=body, headers=world.h(who))
        assert r.status_code in (200, 201, 409) and not leaks(r.content, MARKERS)
    _assert_no_marker_logged(caplog)


def test_write_endpoints_refuse_other_roles_without_revealing_anything(client, world, scene):
    ids = scene
    actions = [
        ("post", f"/api/protection/referrals/{ids['ref_open']}/receive", {}),
        ("post", f"/api/protection/referrals/{ids['ref_received']}/close", None),
        ("post", f"/api/protection/care-visits/{ids['visit_open']}/receive", None),
        ("post", f"/api/protection/care-visits/{ids['visit_received']}/close", None),
    ]
    for who in [*(n for n in ACCOUNTS if n != "social"), "public"]:
        for method, path, body in actions:
            r = getattr(client, method)(path, json=body, headers=world.h(who))
            assert r.status_code in (401, 403, 404), (who, path, r.status_code)
            assert not leaks(r.content, MARKERS), (who, path)
    # Nothing moved.
    r = client.get(f"/api/protection/referrals/{ids['ref_open']}", headers=world.h("social"))
    assert r.json()["status"] == "submitted"


def test_every_read_by_social_affairs_is_audited(client, db, world, scene):
    social = world.users["social"].id

    def rows() -> int:
        return db.scalar(
            select(func.count()).select_from(AuditLog).where(
                AuditLog.actor_id == social,
                AuditLog.entity.in_(("protection_referrals", "care_visits")),
                AuditLog.action.in_(("protection.read", "protection.list")),
            )
        )  # fmt: skip

    reads = [
        (f"/api/protection/referrals/{scene['ref_received']}", 1),
        (f"/api/protection/referrals/{scene['ref_open']}", 1),
        (f"/api/protection/care-visits/{scene['visit_received']}", 1),
        (f"/api/protection/care-visits/{scene['visit_open']}", 1),
        (f"/services/protection/referrals/{scene['ref_open']}", 1),
        (f"/services/protection/care-visits/{scene['visit_open']}", 1),
    ]
    for path, expected in reads:
        before = rows()
        r = client.get(path, headers=world.h("social"))
        assert r.status_code == 200, (path, r.text)
        assert rows() - before == expected, path
    # A list is a read of every record it returns, one row each, naming the record.
    for path in ("/api/protection/referrals", "/api/protection/care-visits"):
        before = rows()
        listed = client.get(path, headers=world.h("social")).json()["items"]
        assert rows() - before == len(listed) >= 2, path
    before = rows()
    page = client.get("/services/protection", headers=world.h("social"))
    assert page.status_code == 200 and str(scene["ref_open"]) in page.text
    assert rows() - before >= 4
    # The filer's reads are journalled too.
    filer = world.users["org1"].id
    before = db.scalar(select(func.count()).select_from(AuditLog).where(AuditLog.actor_id == filer))
    assert (
        client.get(
            f"/api/protection/referrals/{scene['ref_open']}", headers=world.h("org1")
        ).status_code
        == 200
    )
    row = db.scalars(
        select(AuditLog).where(AuditLog.actor_id == filer).order_by(AuditLog.id.desc())
    ).first()
    assert (row.action, row.entity_id) == ("protection.read", str(scene["ref_open"]))
    assert (
        db.scalar(select(func.count()).select_from(AuditLog).where(AuditLog.actor_id == filer))
        == before + 1
    )
    # The audit rows say who, when and which record - never what it says.
    for a in db.scalars(
        select(AuditLog).where(AuditLog.entity.in_(("protection_referrals", "care_visits")))
    ):
        assert a.at is not None and a.entity_id is not None
        assert not leaks(json.dumps(a.detail, ensure_ascii=False).encode(), MARKERS)


def _assert_no_marker_logged(caplog) -> None:
    """No log line of the application carries a marker.

    SQLAlchemy's own engine logger is left out: it logs statements only when an operator
    turns on SQL echo (off in every configuration of the project); see the report's note on
    ``hide_parameters``.
    """
    for record in caplog.records:
        if record.name.startswith("sqlalchemy"):
            continue
        text = record.getMessage() + (record.exc_text or "")
        assert not any(m in text for m in MARKERS), (record.name, text[:200])


def test_page_forms_refuse_other_roles_and_never_show_a_record(app, world, scene, caplog):
    """Every POST form route of the services' pages, with the protection records' ids in
    every id slot, as every role but social affairs: refused or unrelated, never a marker,
    and nothing moved."""
    caplog.set_level(logging.DEBUG)
    ids = scene
    protection = [ids["ref_received"], ids["ref_open"], ids["visit_received"], ids["visit_open"]]
    words = {"kind": ["referrals", "care-visits"], "move": ["receive", "close", "publish"]}
    try:
        from fastapi.routing import iter_route_contexts

        routes = list(iter_route_contexts(app.routes))
    except ImportError:  # older FastAPI: app.routes is already flat
        routes = list(app.routes)
    posts = sorted(
        {r.path for r in routes if "POST" in (getattr(r, "methods", None) or set())}
        & {r.path for r in routes if r.path.startswith("/app/services")}
    )
    assert "/app/services/protection/{kind}/{record_id}/{move}" in posts
    callers = {n: world.h(n) for n in ACCOUNTS if ACCOUNTS[n][0] is not Role.social_affairs}
    callers["public"] = {}
    found = []
    with TestClient(app, raise_server_exceptions=False) as sweep:
        for path in posts:
            params = PARAM.findall(path)
            choices = [words.get(p, protection) for p in params]
            for combo in itertools.product(*choices):
                url = path
                for name, value in zip(params, combo, strict=True):
                    url = url.replace("{" + name + "}", str(value), 1)
                for who, headers in callers.items():
                    r = sweep.post(
                        url,
                        data={"csrf": "t", "case_ref": "x", "log_id": str(ids["log"])},
                        headers={**headers, "Cookie": "safemap_csrf=t", "Accept": "text/html"},
                        follow_redirects=False,
                    )
                    if leaks(r.content, MARKERS):
                        found.append((who, url, r.status_code))
                    assert r.status_code < 500, (who, url, r.text[-300:])
                    if path.endswith("{move}") and "/protection/" in path:
                        assert r.status_code in (401, 403, 404), (who, url, r.status_code)
    assert not found, found
    r = TestClient(app).get(
        f"/api/protection/referrals/{ids['ref_open']}", headers=world.h("social")
    )
    assert r.json()["status"] == "submitted"
    _assert_no_marker_logged(caplog)
