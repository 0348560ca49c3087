"""Hazard photos and day/night walk-audit comparisons."""

from __future__ import annotations

import pytest

from geo.enums import Role
from tests.api.conftest import login
from tests.api.test_layers import centre_of
from tests.factories import make_community, make_precinct, make_user

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64


@pytest.fixture
def setup(db, client):
    p = make_precinct(db)
    c = make_community(db, precinct=p)
    make_user(db, role=Role.community, username="photo-org", organisation_id=c.organisation_id)
    make_user(db, role=Role.community, username="photo-other")
    h = login(client, "photo-org")
    f = {
        "type": "Feature",
        "geometry": {"type": "Point", "coordinates": centre_of(db, c)},
        "properties": {"community_id": c.id, "category": "abandoned_building", "severity": 4},
    }
    hazard = client.post("/api/hazards", json=f, headers=h).json()
    return c, h, hazard["id"], login(client, "photo-other")


def test_photo_upload_list_read_delete(client, setup):
    _, h, hid, other = setup
    r = client.post(
        f"/api/hazards/{hid}/photos",
        files={"file": ("廢屋.png", PNG, "image/png")},
        data={"caption": "正面"},
        headers=h,
    )
    assert r.status_code == 201, r.text
    href = r.json()["href"]
    assert client.get(f"/api/hazards/{hid}/photos", headers=h).json()[0]["caption"] == "正面"
    got = client.get(href, headers=h)
    assert (
        got.status_code == 200 and got.content == PNG and got.headers["content-type"] == "image/png"
    )
    # photos may show people: not public, not for other communities
    assert client.get(href).status_code == 401
    assert client.get(href, headers=other).status_code == 404
    assert client.delete(href, headers=other).status_code == 404
    assert client.delete(href, headers=h).status_code == 204
    assert client.get(f"/api/hazards/{hid}/photos", headers=h).json() == []


@pytest.mark.parametrize(
    ("content", "needle"),
    [(b"", "空"), (b"MZ\x90\x00 not an image", "JPEG"), (b"<svg onload=alert(1)>", "JPEG")],
)
def test_photo_uploads_are_checked(client, setup, content, needle):
    _, h, hid, _ = setup
    r = client.post(
        f"/api/hazards/{hid}/photos", files={"file": ("x.jpg", content, "image/jpeg")}, headers=h
    )
    assert r.status_code == 400 and needle in r.json()["error"]["message"]


def test_day_and_night_audits_are_compared(client, db, setup):
    c, h, _, _ = setup
    x, y = centre_of(db, c)
    params = [
        "lighting",
        "openness",
        "visibility",
        "people",
        "security",
        "walk_path",
        "transport",
        "gender_usage",
        "feeling",
    ]
    line = {"type": "LineString", "coordinates": [[x, y], [x + 0.001, y]]}

    def audit(period, score, **extra):
        props = {
            "community_id": c.id,
            "place_name": "中山路巷道",
            "period": period,
            "audited_on": "2026-09-01",
            **dict.fromkeys(params, score),
            **extra,
        }
        r = client.post(
            "/api/safety_audits",
            json={"type": "Feature", "geometry": line, "properties": props},
            headers=h,
        )
        assert r.status_code == 201, r.text
        return r.json()["id"]

    day = audit("day", 3)
    night = audit("night", 1)
    again = audit("night", 2, follow_up_of=night)
    result = client.get(f"/api/safety_audits/{night}/compare", headers=h).json()
    assert result["counterpart"]["id"] == day
    lighting = next(d for d in result["differences"] if d["parameter"] == "lighting")
    assert lighting["night"] == 1 and lighting["day"] == 3 and lighting["difference"] == -2
    assert [a["id"] for a in result["reaudits"]] == [again]
    assert client.get(f"/api/safety_audits/{night}/compare").status_code == 401
