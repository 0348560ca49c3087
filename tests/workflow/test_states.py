"""Application states: every (state, target, role) combination, the audit row, the quota."""

from __future__ import annotations

import itertools
import threading

import pytest
from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from geo.enums import ApplicationStatus as S
from geo.enums import Role
from geo.errors import NotFound
from geo.models import (
    Application,
    ApplicationEvent,
    Community,
    Organisation,
    ProgramYear,
    precinct_villages,
)
from tests.factories import make_community, make_precinct
from workflow.access import Actor
from workflow.settings import default_settings
from workflow.states import TRANSITIONS, InvalidTransition, QuotaExceeded, transition

YEAR = 2091


def _year(db, quota=33):
    if db.get(ProgramYear, YEAR) is None:
        db.add(
            ProgramYear(year=YEAR, quota=quota, settings=default_settings().model_dump(mode="json"))
        )
        db.flush()


def _application(db, community, status=S.draft):
    app = Application(year=YEAR, community_id=community.id, status=status, plan={})
    db.add(app)
    db.flush()
    return app


def _actor(role: Role, community: Community) -> Actor:
    return Actor(
        user_id=None,
        role=role,
        precinct_id=community.precinct_id,
        organisation_id=community.organisation_id,
    )


ALLOWED = {(m.source, m.target, role) for m in TRANSITIONS for role in m.roles}
CASES = [
    (source, target, role)
    for source, target in itertools.product(S, S)
    if source != target
    for role in (Role.community, Role.precinct, Role.city_police, Role.leader, Role.station)
]


@pytest.mark.parametrize(("source", "target", "role"), CASES, ids=lambda v: getattr(v, "value", v))
def test_every_transition_follows_the_table(db, source, target, role):
    _year(db)
    community = make_community(db)
    app = _application(db, community, status=source)
    actor = _actor(role, community)
    if (source, target, role) in ALLOWED:
        event = transition(db, app, target, actor, comment="ok")
        assert app.status is target
        assert (event.from_status, event.to_status, event.actor_role) == (
            source.value,
            target.value,
            role.value,
        )
        assert event.comment == "ok"
    else:
        with pytest.raises(InvalidTransition) as info:
            transition(db, app, target, actor)
        assert info.value.code == "invalid_transition"
        assert app.status is source
        assert db.scalar(select(func.count()).where(ApplicationEvent.application_id == app.id)) == 0


def test_repeating_a_move_is_harmless(db):
    _year(db)
    community = make_community(db)
    app = _application(db, community)
    actor = _actor(Role.community, community)
    assert transition(db, app, S.submitted, actor) is not None
    assert transition(db, app, S.submitted, actor) is None
    assert db.scalar(select(func.count()).where(ApplicationEvent.application_id == app.id)) == 1


def test_a_precinct_cannot_move_another_precincts_application(db):
    _year(db)
    community = make_community(db)
    app = _application(db, community, status=S.submitted)
    stranger = Actor(user_id=None, role=Role.precinct, precinct_id=make_precinct(db).id)
    with pytest.raises(NotFound):
        transition(db, app, S.forwarded, stranger)
    assert app.status is S.submitted


def test_quota_is_enforced(db):
    _year(db, quota=2)
    city = Actor(user_id=None, role=Role.city_police)
    apps = [_application(db, make_community(db), status=S.forwarded) for _ in range(3)]
    transition(db, apps[0], S.approved, city)
    transition(db, apps[1], S.approved, city)
    with pytest.raises(QuotaExceeded) as info:
        transition(db, apps[2], S.approved, city)
    assert "115" not in info.value.message and "名額" in info.value.message
    assert apps[2].status is S.forwarded


def test_fifty_concurrent_approvals_against_a_quota_of_33_approve_exactly_33(scratch_engine):
    engine = scratch_engine
    """The quota holds under real concurrency: 50 sessions approve at once."""
    year = 2092
    with Session(engine) as s, s.begin():
        s.add(ProgramYear(year=year, quota=33, settings=default_settings().model_dump(mode="json")))
        precinct = make_precinct(s)
        precinct_id = precinct.id
        ids = []
        for _ in range(50):
            c = make_community(s, precinct=precinct, village=precinct.villages[0])
            app = Application(year=year, community_id=c.id, status=S.forwarded, plan={})
            s.add(app)
            s.flush()
            ids.append(app.id)
    city = Actor(user_id=None, role=Role.city_police)
    barrier = threading.Barrier(50)
    outcomes: list[str] = []

    def approve(app_id: int) -> None:
        with Session(engine) as s:
            barrier.wait()
            try:
                with s.begin():
                    transition(s, s.get(Application, app_id), S.approved, city)
                outcomes.append("approved")
            except QuotaExceeded:
                outcomes.append("quota")

    threads = [threading.Thread(target=approve, args=(i,)) for i in ids]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    try:
        assert outcomes.count("approved") == 33 and outcomes.count("quota") == 17
        with Session(engine) as s:
            approved = s.scalar(
                select(func.count()).where(
                    Application.year == year, Application.status == S.approved
                )
            )
            assert approved == 33
    finally:
        with Session(engine) as s, s.begin():
            community_ids = s.scalars(
                select(Application.community_id).where(Application.year == year)
            ).all()
            org_ids = s.scalars(
                select(Community.organisation_id).where(Community.id.in_(community_ids))
            ).all()
            s.execute(delete(ApplicationEvent).where(ApplicationEvent.application_id.in_(ids)))
            s.execute(delete(Application).where(Application.year == year))
            s.execute(delete(Community).where(Community.id.in_(community_ids)))
            s.execute(delete(Organisation).where(Organisation.id.in_(org_ids)))
            s.execute(
                delete(precinct_villages).where(precinct_villages.c.precinct_id == precinct_id)
            )
            s.execute(delete(ProgramYear).where(ProgramYear.year == year))
