"""Concurrency through the HTTP layer, on committed data: fifty simultaneous approvals against
a quota of 33 approve exactly 33; ten simultaneous retries with one Idempotency-Key act once."""

from __future__ import annotations

import threading

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from api.app import create_app
from api.settings import AppSettings, AuthSettings
from geo.db import make_engine, make_sessionmaker
from geo.enums import ApplicationStatus as S
from geo.enums import Role
from geo.models import (
    Application,
    ApplicationEvent,
    Community,
    Organisation,
    ProgramYear,
    User,
    precinct_villages,
)
from geo.models_workflow import IdempotencyKey
from geo.settings import DatabaseSettings
from tests.api.conftest import TEST_SECRET, login
from tests.factories import make_community, make_precinct, make_user
from workflow.settings import default_settings

YEAR = 2095
N = 50


@pytest.fixture(scope="module")
def engine(scratch_engine):
    # Committed data lives in a database of this module's own.
    return scratch_engine


@pytest.fixture
def committed(engine, db_settings):
    with Session(engine) as s, s.begin():
        s.add(ProgramYear(year=YEAR, quota=33, settings=default_settings().model_dump(mode="json")))
        precinct = make_precinct(s)
        ids = []
        for _ in range(N):
            c = make_community(s, precinct=precinct, village=precinct.villages[0])
            app = Application(year=YEAR, community_id=c.id, status=S.forwarded, plan={})
            s.add(app)
            s.flush()
            ids.append(app.id)
        city = make_user(s, role=Role.city_police, username="concurrent-city")
        ids_city, precinct_id = city.id, precinct.id
    # Enough connections for every request at once: the requests, not the pool, must race.
    wide = make_engine(
        DatabaseSettings(DATABASE_URL=engine.url.render_as_string(hide_password=False)),
        pool_size=N + 5,
    )
    app = create_app(AppSettings(environment="test", auth=AuthSettings(secret_key=TEST_SECRET)))
    app.state.sessionmaker = make_sessionmaker(wide)
    try:
        with TestClient(app) as client:
            yield client, ids
    finally:
        wide.dispose()
        with Session(engine) as s, s.begin():
            community_ids = s.scalars(
                select(Application.community_id).where(Application.year == YEAR)
            ).all()
            org_ids = s.scalars(
                select(Community.organisation_id).where(Community.id.in_(community_ids))
            ).all()
            s.execute(delete(ApplicationEvent).where(ApplicationEvent.application_id.in_(ids)))
            s.execute(delete(Application).where(Application.year == YEAR))
            s.execute(delete(Community).where(Community.id.in_(community_ids)))
            s.execute(delete(Organisation).where(Organisation.id.in_(org_ids)))
            s.execute(delete(IdempotencyKey).where(IdempotencyKey.owner == f"user:{ids_city}"))
            s.execute(delete(User).where(User.id == ids_city))
            s.execute(
                delete(precinct_villages).where(precinct_villages.c.precinct_id == precinct_id)
            )
            s.execute(delete(ProgramYear).where(ProgramYear.year == YEAR))


def _race(n: int, fn) -> list:
    barrier = threading.Barrier(n)
    out: list = [None] * n

    def run(i: int) -> None:
        barrier.wait()
        out[i] = fn(i)

    threads = [threading.Thread(target=run, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return out


def test_fifty_simultaneous_http_approvals_approve_exactly_33(committed, engine):
    client, ids = committed
    headers = login(client, "concurrent-city")
    codes = _race(
        N,
        lambda i: (
            client.post(
                f"/api/applications/{ids[i]}/transitions", json={"to": "approved"}, headers=headers
            ).status_code
        ),
    )
    assert codes.count(200) == 33 and codes.count(409) == 17, codes
    with Session(engine) as s:
        approved = s.scalar(
            select(func.count()).where(Application.year == YEAR, Application.status == S.approved)
        )
        events = s.scalar(
            select(func.count()).where(
                ApplicationEvent.application_id.in_(ids), ApplicationEvent.to_status == "approved"
            )
        )
    assert approved == events == 33

    # Ten retries of one request at once, with one key: one move, ten identical answers.
    left = next(i for i, code in zip(ids, codes, strict=True) if code == 409)
    key = {**headers, "Idempotency-Key": "not-selected-once"}
    answers = _race(
        10,
        lambda i: client.post(
            f"/api/applications/{left}/transitions",
            json={"to": "not_selected", "comment": "名額已滿"},
            headers=key,
        ),
    )
    assert {r.status_code for r in answers} == {200}
    # JSONB keeps the stored answer with its keys reordered: compare the values.
    assert all(r.json() == answers[0].json() for r in answers)
    with Session(engine) as s:
        moved = s.scalar(
            select(func.count()).where(
                ApplicationEvent.application_id == left,
                ApplicationEvent.to_status == "not_selected",
            )
        )
    assert moved == 1


@pytest.fixture
def nominees(engine, db_settings):
    """Committed: a precinct with five closed cases in one year, a community with none in the
    next, and the accounts that act on them."""
    year, next_year = YEAR + 10, YEAR + 11
    with Session(engine) as s, s.begin():
        for y in (year, next_year):
            s.add(
                ProgramYear(year=y, quota=33, settings=default_settings().model_dump(mode="json"))
            )
        precinct = make_precinct(s)
        ids = []
        for _ in range(5):
            c = make_community(s, precinct=precinct, village=precinct.villages[0])
            app = Application(year=year, community_id=c.id, status=S.completed, plan={})
            s.add(app)
            s.flush()
            ids.append(app.id)
        users = [
            make_user(s, role=Role.precinct, username="race-precinct", precinct_id=precinct.id),
            make_user(
                s, role=Role.community, username="race-org", organisation_id=c.organisation_id
            ),
        ]
        user_ids, precinct_id, community_id = [u.id for u in users], precinct.id, c.id
    wide = make_engine(
        DatabaseSettings(DATABASE_URL=engine.url.render_as_string(hide_password=False)),
        pool_size=15,
    )
    app = create_app(AppSettings(environment="test", auth=AuthSettings(secret_key=TEST_SECRET)))
    app.state.sessionmaker = make_sessionmaker(wide)
    try:
        with TestClient(app) as client:
            yield client, year, next_year, ids, community_id
    finally:
        wide.dispose()
        from geo.models_workflow import ApplicationForm, Nomination, Notification

        with Session(engine) as s, s.begin():
            apps = s.scalars(
                select(Application.id).where(Application.year.in_((year, next_year)))
            ).all()
            community_ids = s.scalars(
                select(Application.community_id).where(Application.year == year)
            ).all()
            org_ids = s.scalars(
                select(Community.organisation_id).where(Community.id.in_(community_ids))
            ).all()
            s.execute(delete(Nomination).where(Nomination.year == year))
            s.execute(delete(Notification).where(Notification.user_id.in_(user_ids)))
            s.execute(delete(ApplicationForm).where(ApplicationForm.application_id.in_(apps)))
            s.execute(delete(ApplicationEvent).where(ApplicationEvent.application_id.in_(apps)))
            s.execute(delete(Application).where(Application.id.in_(apps)))
            s.execute(delete(User).where(User.id.in_(user_ids)))
            s.execute(delete(Community).where(Community.id.in_(community_ids)))
            s.execute(delete(Organisation).where(Organisation.id.in_(org_ids)))
            s.execute(
                delete(precinct_villages).where(precinct_villages.c.precinct_id == precinct_id)
            )
            s.execute(delete(ProgramYear).where(ProgramYear.year.in_((year, next_year))))


def test_simultaneous_nominations_and_applications_keep_one_each(nominees, engine):
    client, year, next_year, ids, community_id = nominees
    pol, org = login(client, "race-precinct"), login(client, "race-org")
    # 捌、一「各分局辦理遴(初)選 1 個治安社區」: five at once, one is taken
    codes = _race(
        5,
        lambda i: (
            client.post(
                f"/api/program-years/{year}/evaluation/nominations",
                json={"application_id": ids[i], "preliminary_score": 85},
                headers=pol,
            ).status_code
        ),
    )
    assert sorted(codes) == [201, 409, 409, 409, 409], codes
    # 貳、三「每年補助 1 次」: five applications for one community and year at once, one stands
    codes = _race(
        5,
        lambda i: (
            client.post(
                "/api/applications",
                json={"year": next_year, "community_id": community_id},
                headers=org,
            ).status_code
        ),
    )
    assert sorted(codes) == [201, 409, 409, 409, 409], codes
    with Session(engine) as s:
        assert s.scalar(select(func.count()).where(Application.year == next_year)) == 1
