"""Sign-in with argon2 hashes and bearer tokens."""

import datetime as dt

import jwt

from geo.enums import Role
from tests.api.conftest import TEST_SECRET, login
from tests.factories import make_user


def test_token_and_me(client, db):
    user = make_user(db, role=Role.leader, username="leader1")
    assert user.password_hash.startswith("$argon2id$")
    headers = login(client, "leader1")
    me = client.get("/api/auth/me", headers=headers).json()
    assert me["username"] == "leader1"
    assert me["role"] == "leader" and me["role_label"] == "市府長官"


def test_wrong_password_and_unknown_user_get_the_same_401(client, db):
    make_user(db, username="someone")
    for username, password in (("someone", "wrong"), ("nobody", "pw-測試-123")):
        r = client.post("/api/auth/token", data={"username": username, "password": password})
        assert r.status_code == 401
        assert r.json()["error"] == {"code": "authentication_failed", "message": "帳號或密碼錯誤。"}


def test_inactive_user_cannot_sign_in(client, db):
    make_user(db, username="gone", is_active=False)
    r = client.post("/api/auth/token", data={"username": "gone", "password": "pw-測試-123"})
    assert r.status_code == 401


def test_forged_or_expired_tokens_are_refused(client, db):
    user = make_user(db)
    forged = jwt.encode(
        {"sub": str(user.id), "exp": dt.datetime.now(dt.UTC) + dt.timedelta(hours=1)},
        "another-key-that-is-long-enough-for-hs256-000",
    )
    expired = jwt.encode(
        {"sub": str(user.id), "exp": dt.datetime.now(dt.UTC) - dt.timedelta(minutes=1)}, TEST_SECRET
    )
    for token in (forged, expired, "not-a-token"):
        r = client.get("/api/auth/me", headers={"Authorization": f"Bearer {token}"})
        assert r.status_code == 401
        assert r.json()["error"]["code"] == "invalid_token"


def test_token_of_a_deactivated_user_stops_working(client, db):
    user = make_user(db, username="soon-gone")
    headers = login(client, "soon-gone")
    user.is_active = False
    db.flush()
    assert client.get("/api/auth/me", headers=headers).status_code == 401


def test_anonymous_me_is_401(client):
    r = client.get("/api/auth/me")
    assert r.status_code == 401
    assert r.json()["error"]["code"] == "not_authenticated"
