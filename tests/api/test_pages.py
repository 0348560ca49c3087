"""Sign-in and home pages as a browser meets them: forms, cookies, CSRF, redirects."""

from __future__ import annotations

import re

from geo.enums import ApplicationStatus, Role
from geo.models import Application, ProgramYear
from tests.factories import make_community, make_precinct, make_user
from workflow.settings import default_settings


def _csrf(client, path="/login"):
    page = client.get(path)
    assert page.status_code == 200
    return re.search(r'name="csrf" value="([^"]+)"', page.text).group(1)


def _sign_in(client, username, password="pw-測試-123", next_="/app"):
    token = _csrf(client)
    return client.post(
        "/login",
        data={"username": username, "password": password, "csrf": token, "next": next_},
        follow_redirects=False,
    )


def test_landing_lists_public_community_maps(client, db):
    c = make_community(db)
    page = client.get("/")
    assert page.status_code == 200 and "社區治安營造" in page.text
    assert f"/maps/public/community/{c.id}" in page.text
    assert 'name="viewport"' in page.text
    assert "https://" not in page.text  # nothing from a CDN
    css = client.get("/static/app/app.css")
    assert css.status_code == 200 and "text/css" in css.headers["content-type"]
    assert client.get("/static/app/../routes/pages.py").status_code == 404


def test_sign_in_home_and_sign_out(client, db):
    p = make_precinct(db)
    c = make_community(db, precinct=p)
    year = 2093
    db.add(ProgramYear(year=year, quota=33, settings=default_settings().model_dump(mode="json")))
    db.flush()
    db.add(Application(year=year, community_id=c.id, status=ApplicationStatus.submitted, plan={}))
    db.flush()
    make_user(db, role=Role.precinct, username="page-pol", precinct_id=p.id, display_name="王承辦")
    r = _sign_in(client, "page-pol")
    assert r.status_code == 303 and r.headers["location"] == "/app"
    cookie = r.headers["set-cookie"]
    assert (
        "safemap_session=" in cookie and "HttpOnly" in cookie and "samesite=lax" in cookie.lower()
    )
    home = client.get("/app")
    assert home.status_code == 200
    assert "王承辦" in home.text and "待初審的申請案" in home.text
    assert re.search(r'<span class="count">1</span><span>待初審的申請案', home.text)
    # the session cookie also works for the API (reads need no CSRF header)
    assert client.get("/api/auth/me").json()["username"] == "page-pol"
    # …but a cookie-authenticated write without the CSRF header is refused
    assert client.post("/api/hazards", json={}).status_code == 403
    token = re.search(r'name="csrf" value="([^"]+)"', home.text).group(1)
    out = client.post("/logout", data={"csrf": token}, follow_redirects=False)
    assert out.status_code == 303
    assert client.get("/app", follow_redirects=False).status_code == 303


def test_bad_sign_in_keeps_what_was_typed_and_says_why(client, db):
    make_user(db, username="someone")
    r = _sign_in(client, "someone", password="wrong")
    assert r.status_code == 401
    assert "帳號或密碼錯誤" in r.text and 'value="someone"' in r.text
    r = _sign_in(client, "", password="")
    assert r.status_code == 400 and "請輸入帳號" in r.text and "請輸入密碼" in r.text


def test_forms_without_the_csrf_token_are_refused(client, db):
    make_user(db, username="csrf-user")
    client.get("/login")
    r = client.post(
        "/login",
        data={"username": "csrf-user", "password": "pw-測試-123", "csrf": "forged"},
        headers={"Accept": "text/html"},
        follow_redirects=False,
    )
    assert r.status_code == 403 and "表單已過期" in r.text and "<html" in r.text


def test_next_never_leaves_the_site(client, db):
    make_user(db, username="nexter")
    r = _sign_in(client, "nexter", next_="https://evil.example/")
    assert r.headers["location"] == "/app"
    r = client.get("/app", follow_redirects=False)
    assert r.status_code == 200


def test_home_asks_anonymous_visitors_to_sign_in(client):
    r = client.get("/app", follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"].startswith("/login?next=")
