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


def test_block_adoption_is_recorded(client, db, setup):
    c, h, _, other = setup
    from geoalchemy2.shape import to_shape
    from pyproj import Transformer
    from shapely.geometry import box

    b = to_shape(c.geom).bounds
    t = Transformer.from_crs(3826, 4326, always_xy=True)
    ring = [
        list(t.transform(x, y))
        for x, y in box(b[0] + 10, b[1] + 10, b[0] + 200, b[1] + 200).exterior.coords
    ]
    block = client.post(
        "/api/patrol_blocks",
        json={
            "type": "Feature",
            "geometry": {"type": "Polygon", "coordinates": [ring]},
            "properties": {"community_id": c.id, "name": "第 1 區塊"},
        },
        headers=h,
    )
    assert block.status_code == 201, block.text
    adopter = client.post(
        "/api/adopters",
        json={
            "type": "Feature",
            "geometry": None,
            "properties": {
                "community_id": c.id,
                "name": "某某銀行",
                "kind": "company",
                "guards": 2,
                "hours": "18:00-22:00",
            },
        },
        headers=h,
    )
    bid, aid = block.json()["id"], adopter.json()["id"]
    assert (
        client.post(
            f"/api/patrol_blocks/{bid}/adoptions", json={"adopter_id": aid}, headers=h
        ).status_code
        == 201
    )
    assert (
        client.get(f"/api/patrol_blocks/{bid}/adoptions", headers=h).json()[0]["name"] == "某某銀行"
    )
    assert (
        client.post(
            f"/api/patrol_blocks/{bid}/adoptions", json={"adopter_id": aid}, headers=other
        ).status_code
        == 404
    )
    assert client.delete(f"/api/patrol_blocks/{bid}/adoptions/{aid}", headers=h).status_code == 204
    assert client.get(f"/api/patrol_blocks/{bid}/adoptions", headers=h).json() == []
