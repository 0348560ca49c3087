"""The services' list endpoints run a fixed number of statements, however long the list
(STYLE rule 9: one query per list, not one per row)."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import event

from tests.services.conftest import point_in

TODAY = dt.date.today()


def statements(client, engine, path, headers) -> int:
    seen = []

    def count(conn, cursor, statement, *args):
        if not statement.lstrip().upper().startswith(("SAVEPOINT", "RELEASE", "ROLLBACK")):
            seen.append(statement)

    event.listen(engine, "before_cursor_execute", count)
    try:
        r = client.get(path, headers=headers)
        assert r.status_code == 200, (path, r.text)
    finally:
        event.remove(engine, "before_cursor_execute", count)
    return len(seen)


def add_records(client, world, n: int) -> None:
    h = world.h
    for i in range(n):
        assert client.post(
            "/api/consultations",
            json={"reason": "burgled", "household_name": f"住戶{i}", "address": f"和平路{i}號",
                  "location": point_in(world.v1, i * 10, 0)},
            headers=h("st1"),
        ).status_code == 201  # fmt: skip
        assert client.post(
            "/api/disaster-requests",
            json={"community_id": world.c1.id, "topics": ["fire"], "content": "防火",
                  "requested_date": (TODAY + dt.timedelta(days=5 + i)).isoformat(),
                  "start_time": "10:00", "place": "活動中心", "expected_attendance": 10,
                  "contact_name": "林", "contact_phone": "1"},
            headers=h("org1"),
        ).status_code == 201  # fmt: skip
        assert client.post(
            "/api/promotion-events",
            json={"community_id": world.c1.id, "topic": "anti_fraud", "occasion": "meeting",
                  "held_on": TODAY.isoformat(), "title": f"宣導{i}", "audience": "居民",
                  "speaker_unit": "甲派出所"},
            headers=h("st1"),
        ).status_code == 201  # fmt: skip
        assert client.post(
            "/api/watch-teams", json={"community_id": world.c1.id, "name": f"第{i}隊"},
            headers=h("org1"),
        ).status_code == 201  # fmt: skip
        for who in ("org1", "st1"):
            assert client.post(
                "/api/protection/referrals",
                json={"kind": "domestic_violence", "community_id": world.c1.id if who == "org1" else None,
                      "subject_name": "某", "subject_address": "某處", "description": "某事"},
                headers=h(who),
            ).status_code == 201  # fmt: skip


def test_list_statements_do_not_grow_with_the_list(client, engine, world):
    lists = [
        ("/api/consultations", "st1"),
        ("/api/consultations/mine", "st1"),
        ("/api/consultations/reminders", "st1"),
        ("/api/disaster-requests", "fire"),
        ("/api/promotion-events", "boss"),
        ("/api/watch-teams", "city"),
        ("/api/protection/referrals", "social"),
        ("/api/bulletins", "public"),
    ]
    add_records(client, world, 1)
    one = {path: statements(client, engine, path, world.h(who)) for path, who in lists}
    add_records(client, world, 4)
    for path, who in lists:
        assert statements(client, engine, path, world.h(who)) == one[path], path


def test_openapi_documents_the_services(client):
    paths = client.get("/openapi.json").json()["paths"]
    for path in (
        "/api/consultations",
        "/api/disaster-requests/{request_id}/accept",
        "/api/protection/referrals",
        "/api/promotion-events/figures",
        "/api/bulletins/{issue_id}/publish",
        "/api/watch-teams/{team_id}/patrol-logs",
        "/api/patrol-observations/{observation_id}/hazard",
    ):
        assert path in paths, path
    # The pages are not API operations.
    assert not any(p.startswith("/services") for p in paths)
