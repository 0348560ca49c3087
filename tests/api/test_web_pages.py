"""The web application's pages over HTTP: each renders for its role, signed-out visitors go to
the sign-in page, other roles get 403 and other jurisdictions' records 404, all in zh-TW."""

from __future__ import annotations

import datetime as dt

import pytest

from geo.enums import ApplicationStatus, Role
from geo.models import Application, ProgramYear
from tests.factories import make_community, make_precinct, make_user
from workflow.settings import default_settings

from .test_pages import _sign_in

PAGES = [
    "/app/map",
    "/app/applications",
    "/app/applications/new",
    "/app/review",
    "/app/approvals",
    "/app/dashboard",
    "/app/analysis",
]


@pytest.fixture
def world(db):
    """Two precincts, a community in each, a user per role and an open program year."""
    p1, p2 = make_precinct(db), make_precinct(db)
    c1, c2 = make_community(db, precinct=p1), make_community(db, precinct=p2)
    year = 2091
    today = dt.date.today()
    db.add(
        ProgramYear(
            year=year,
            quota=33,
            settings=default_settings().model_dump(mode="json"),
            application_opens=today - dt.timedelta(days=1),
            application_closes=today + dt.timedelta(days=30),
        )
    )
    db.flush()
    a1 = Application(year=year, community_id=c1.id, status=ApplicationStatus.submitted, plan={})
    a2 = Application(year=year, community_id=c2.id, status=ApplicationStatus.forwarded, plan={})
    db.add_all([a1, a2])
    db.flush()
    users = {
        "community": make_user(
            db, role=Role.community, username="w-comm", organisation_id=c1.organisation_id
        ),
        "precinct": make_user(db, role=Role.precinct, username="w-pol", precinct_id=p1.id),
        "city": make_user(db, role=Role.city_police, username="w-city"),
        "leader": make_user(db, role=Role.leader, username="w-lead"),
    }
    return {"c1": c1, "c2": c2, "a1": a1, "a2": a2, "users": users, "year": year}


@pytest.mark.parametrize("path", PAGES)
def test_signed_out_visitors_go_to_sign_in(client, path):
    r = client.get(path, follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == f"/login?next={path}"


@pytest.mark.parametrize(
    "who,path,text",
    [
        ("community", "/app/map", "社區安全檢測地圖"),
        ("community", "/app/applications", "年度申請"),
        ("community", "/app/applications/new", "附件1 申請表"),
        ("precinct", "/app/map", "社區安全檢測地圖"),
        ("precinct", "/app/review", "申請案初審"),
        ("precinct", "/app/analysis", "治安死角與監視器規劃"),
        ("city", "/app/approvals", "複審核定"),
        ("city", "/app/dashboard", "全市涵蓋情形"),
        ("leader", "/app/dashboard", "全市涵蓋情形"),
    ],
)
def test_each_role_opens_its_pages(client, world, who, path, text):
    assert _sign_in(client, world["users"][who].username).status_code == 303
    r = client.get(path)
    assert r.status_code == 200, r.text[:500]
    assert text in r.text and 'name="viewport"' in r.text
    assert "https://cdn" not in r.text and "unpkg" not in r.text  # nothing from a CDN


@pytest.mark.parametrize(
    "who,path",
    [
        ("community", "/app/approvals"),
        ("community", "/app/dashboard"),
        ("leader", "/app/map"),
        ("leader", "/app/approvals"),
        ("precinct", "/app/approvals"),
        ("precinct", "/app/applications/new"),
    ],
)
def test_other_roles_are_refused_in_zh_tw(client, world, who, path):
    _sign_in(client, world["users"][who].username)
    r = client.get(path, headers={"Accept": "text/html"})
    assert r.status_code == 403 and "不屬於您的角色" in r.text


def test_review_lists_only_the_precincts_own_applications(client, world):
    _sign_in(client, "w-pol")
    page = client.get("/app/review").text
    assert f'data-id="{world["a1"].id}"' in page
    assert f'data-id="{world["a2"].id}"' not in page and world["c2"].name not in page
    mine = client.get(f"/app/applications/{world['a1'].id}")
    assert mine.status_code == 200 and "初審通過並轉報" in mine.text  # the move it may make
    other = client.get(f"/app/applications/{world['a2'].id}", headers={"Accept": "text/html"})
    assert other.status_code == 404 and world["c2"].name not in other.text
    # the map offers only communities of the jurisdiction
    m = client.get("/app/map").text
    assert world["c1"].name in m and world["c2"].name not in m


def test_community_sees_only_its_own_application(client, world):
    _sign_in(client, "w-comm")
    assert client.get(f"/app/applications/{world['a1'].id}").status_code == 200
    r = client.get(f"/app/applications/{world['a2'].id}", headers={"Accept": "text/html"})
    assert r.status_code == 404
    # one application per community and year: no "new application" button now
    assert "新增民國" not in client.get("/app/applications").text
    # the review page is the precinct's; a reviewer is redirected from the community list
    _sign_in(client, "w-pol")
    assert client.get("/app/applications", follow_redirects=False).headers["location"] == (
        "/app/review"
    )


def test_approvals_show_the_quota_and_exports(client, world):
    _sign_in(client, "w-city")
    page = client.get("/app/approvals").text
    assert 'id="used">0</span> / 33' in page
    assert f'data-id="{world["a2"].id}"' in page and "核定補助" in page
    assert f"/api/program-years/{world['year']}/forms/2.xlsx" in page


def test_page_scripts_and_drawing_library_are_served_locally(client):
    for name in ("web.js", "web-map.js", "web-wizard.js", "web-application.js"):
        r = client.get(f"/static/app/{name}")
        assert r.status_code == 200 and "javascript" in r.headers["content-type"]
    r = client.get("/static/vendor/@geoman-io/leaflet-geoman-free/dist/leaflet-geoman.js")
    assert r.status_code == 200
