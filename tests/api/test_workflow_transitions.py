"""Every application move over HTTP, for every role: allowed moves succeed and are audited;
a move out of turn, by the wrong role or outside the caller's jurisdiction changes nothing."""

from __future__ import annotations

import pytest
from sqlalchemy import delete, func, select, update

from geo.enums import ApplicationStatus as S
from geo.enums import Role
from geo.models import Application, ApplicationEvent, ProgramYear
from tests.api.conftest import login
from tests.api.test_program_year import form
from tests.factories import make_community, make_precinct, make_station, make_user
from workflow.settings import default_settings
from workflow.states import TRANSITIONS

YEAR = 2094
ALLOWED = {(m.source, m.target, role) for m in TRANSITIONS for role in m.roles}
ROLES = [r for r in Role]


@pytest.fixture
def setting(db, client):
    db.add(ProgramYear(year=YEAR, quota=33, settings=default_settings().model_dump(mode="json")))
    precinct = make_precinct(db)
    station = make_station(db, precinct)
    community = make_community(db, precinct=precinct, station_id=station.id)
    application = Application(year=YEAR, community_id=community.id, status=S.draft, plan={})
    db.add(application)
    db.flush()
    jurisdiction = {
        Role.community: {"organisation_id": community.organisation_id},
        Role.precinct: {"precinct_id": precinct.id},
        Role.station: {"station_id": station.id},
        Role.district_office: {"district_id": community.district_id},
    }
    headers = {}
    for role in Role:
        make_user(db, role=role, username=f"t-{role.value}", **jurisdiction.get(role, {}))
        headers[role] = login(client, f"t-{role.value}")
    make_user(db, role=Role.precinct, username="t-other-precinct")
    headers["other"] = login(client, "t-other-precinct")
    # A complete form, so that submitting is refused only for being out of turn.
    r = client.put(
        f"/api/applications/{application.id}/form",
        json=form(community.villages[0].code),
        headers=headers[Role.community],
    )
    assert r.status_code == 200, r.text
    return application, headers


def _events(db, app_id: int) -> int:
    return db.scalar(select(func.count()).where(ApplicationEvent.application_id == app_id))


@pytest.mark.parametrize("role", ROLES, ids=lambda r: r.value)
def test_every_move_for_a_role_follows_the_table(client, db, setting, role):
    application, headers = setting
    for source in S:
        for target in S:
            if source is target:
                continue
            # Test set-up writes the starting state directly; the move under test is the API's.
            db.execute(
                update(Application).where(Application.id == application.id).values(status=source)
            )
            db.execute(
                delete(ApplicationEvent).where(ApplicationEvent.application_id == application.id)
            )
            db.expire_all()
            r = client.post(
                f"/api/applications/{application.id}/transitions",
                json={"to": target.value, "comment": "測試"},
                headers=headers[role],
            )
            status = db.scalar(select(Application.status).where(Application.id == application.id))
            if (source, target, role) in ALLOWED:
                assert r.status_code == 200, (source, target, role, r.text)
                assert status is target
                event = db.scalar(
                    select(ApplicationEvent).where(
                        ApplicationEvent.application_id == application.id
                    )
                )
                assert (event.from_status, event.to_status, event.actor_role) == (
                    source.value,
                    target.value,
                    role.value,
                )
                assert event.comment == "測試" and event.at is not None
            else:
                assert r.status_code in (403, 404, 409, 422), (source, target, role, r.text)
                assert status is source, (source, target, role)
                assert _events(db, application.id) == 0


def test_another_precinct_sees_nothing_and_moves_nothing(client, db, setting):
    application, headers = setting
    db.execute(
        update(Application).where(Application.id == application.id).values(status=S.submitted)
    )
    r = client.post(
        f"/api/applications/{application.id}/transitions",
        json={"to": "forwarded"},
        headers=headers["other"],
    )
    assert r.status_code == 404
    assert (
        client.get(f"/api/applications/{application.id}", headers=headers["other"]).status_code
        == 404
    )
    listed = client.get("/api/applications", params={"year": YEAR}, headers=headers["other"]).json()
    assert listed["total"] == 0
    assert _events(db, application.id) == 0


def test_the_transition_table_is_published(client, setting):
    _, headers = setting
    rows = client.get("/api/application-transitions", headers=headers[Role.leader]).json()
    assert len(rows) == len(TRANSITIONS)
    assert {"from": "forwarded", "to": "submitted"}.items() <= next(
        r for r in rows if r["from"] == "forwarded" and r["to"] == "submitted"
    ).items()


def test_workflow_lists_use_a_fixed_number_of_queries(client, db, engine):
    """Lists are a fixed number of queries, whatever their length (STYLE rule 9)."""
    from sqlalchemy import event

    db.add(ProgramYear(year=YEAR, quota=33, settings=default_settings().model_dump(mode="json")))
    p = make_precinct(db)
    make_user(db, role=Role.precinct, username="wf-counter", precinct_id=p.id)
    h = login(client, "wf-counter")

    def add(n: int) -> None:
        for _ in range(n):
            c = make_community(db, precinct=p)
            db.add(Application(year=YEAR, community_id=c.id, status=S.in_progress, plan={}))
        db.flush()

    def run(path: str) -> int:
        statements = []

        def count(conn, cursor, statement, *args):
            if not statement.lstrip().upper().startswith(("SAVEPOINT", "RELEASE", "ROLLBACK")):
                statements.append(statement)

        event.listen(engine, "before_cursor_execute", count)
        try:
            assert client.get(path, headers=h).status_code == 200
        finally:
            event.remove(engine, "before_cursor_execute", count)
        return len(statements)

    paths = (
        f"/api/applications?year={YEAR}",
        f"/api/claims?year={YEAR}",
        f"/api/program-years/{YEAR}/monitoring/overdue?as_of={YEAR}-06-30",
        f"/api/program-years/{YEAR}/monitoring/progress?as_of={YEAR}-06-30",
    )
    add(1)
    one = {path: run(path) for path in paths}
    add(6)
    for path, n in one.items():
        assert run(path) == n, path
    assert one[paths[0]] <= 2  # the caller, then the page with its total
