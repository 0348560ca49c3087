"""OGC item pages of a large layer, as a GIS client pages through them: every feature once, in
id order, the page's filters honoured; who the caller is re-read within seconds."""

from __future__ import annotations

from sqlalchemy import text

from geo.enums import Role
from tests.api.conftest import login
from tests.factories import ORIGIN, make_precinct, make_user


def _scattered_cameras(db, precinct_id: int, n: int) -> None:
    # Inserted so that id order and spatial (index) order disagree.
    db.execute(
        text(
            """
            INSERT INTO cameras (precinct_id, status, owner, bearing_deg, fov_deg, range_m, geom)
            SELECT :p, 'existing', 'police', (i * 37) % 360, 90, 30,
                   ST_SetSRID(ST_MakePoint(:x + (i * 7919) % 400, :y + (i * 104729) % 400), 3826)
              FROM generate_series(1, :n) i
            """
        ),
        {"p": precinct_id, "x": ORIGIN[0] + 50, "y": ORIGIN[1] + 50, "n": n},
    )


def test_pages_come_in_id_order_without_gaps_or_repeats(client, db):
    precinct = make_precinct(db)
    other = make_precinct(db)
    _scattered_cameras(db, precinct.id, 57)
    _scattered_cameras(db, other.id, 9)  # another jurisdiction's cameras, same place
    make_user(db, role=Role.precinct, username="pager", precinct_id=precinct.id)
    headers = login(client, "pager")
    seen: list[int] = []
    url = "/ogc/collections/cameras/items?limit=10"
    while url:
        page = client.get(url, headers=headers).json()
        ids = [f["id"] for f in page["features"]]
        assert ids == sorted(ids) and page["numberReturned"] == len(ids)
        assert all(f["properties"]["precinct_id"] == precinct.id for f in page["features"])
        seen += ids
        url = next((link["href"] for link in page["links"] if link["rel"] == "next"), None)
    assert len(seen) == len(set(seen)) == 57 and seen == sorted(seen)


def test_a_deactivated_user_is_refused_once_remembered_identity_expires(client, db, app):
    user = make_user(db, role=Role.precinct, username="leaver")
    headers = login(client, "leaver")
    items = "/ogc/collections/cameras/items"
    assert client.get(items, headers=headers).status_code == 200
    db.execute(text("UPDATE users SET is_active = false WHERE id = :id"), {"id": user.id})
    db.expire_all()
    # Other routes read the user on every request ...
    assert client.get("/ogc/collections", headers=headers).status_code == 401
    # ... item pages may still answer within RecentActors.ttl (5 s), then refuse.
    assert client.get(items, headers=headers).status_code in (200, 401)
    app.state.recent_actors.clear()
    assert client.get(items, headers=headers).status_code == 401
