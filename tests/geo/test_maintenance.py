"""`safemap db optimise`: large layers rewritten in the order of their geometry index."""

from __future__ import annotations

from sqlalchemy import text
from typer.testing import CliRunner

from cli.main import app
from geo.maintenance import LARGE_LAYERS, cluster_layers, geometry_index
from tests.conftest import fresh_database
from tests.factories import ORIGIN, make_precinct


def _cameras(db, precinct_id: int, n: int) -> None:
    # Inserted in id order but scattered in space, as a city-wide import would be.
    db.execute(
        text(
            """
            INSERT INTO cameras (precinct_id, status, owner, bearing_deg, fov_deg, range_m, geom)
            SELECT :p, 'existing', 'police', 0, 90, 30,
                   ST_SetSRID(ST_MakePoint(:x + (i * 7919) % 1000, :y + (i * 104729) % 1000), 3826)
              FROM generate_series(1, :n) i
            """
        ),
        {"p": precinct_id, "x": ORIGIN[0], "y": ORIGIN[1], "n": n},
    )


def test_large_layers_are_clustered_on_their_geometry_index(db):
    assert set(LARGE_LAYERS) == {"cameras", "hazards", "incidents"}
    _cameras(db, make_precinct(db).id, 300)
    conn = db.connection()
    seen: list[str] = []
    rows = cluster_layers(conn, ("cameras",), progress=seen.append)
    assert seen == ["cameras"] and rows["cameras"] >= 300
    index = geometry_index(conn, "cameras")
    assert index is not None
    clustered = conn.execute(
        text("SELECT indisclustered FROM pg_index WHERE indexrelid = CAST(:i AS regclass)"),
        {"i": index},
    ).scalar_one()
    assert clustered
    # The rows still carry their cached features after the rewrite.
    assert conn.execute(text("SELECT count(*) FROM cameras WHERE feature IS NULL")).scalar() == 0


def test_cli_optimise_and_its_errors(db_settings, monkeypatch):
    url = fresh_database(db_settings, "optimise")
    monkeypatch.setenv("DATABASE_URL", url)
    runner = CliRunner()
    ok = runner.invoke(app, ["db", "optimise"])
    assert ok.exit_code == 0, ok.output
    assert "cameras" in ok.output and "依空間順序重排" in ok.output
    bad = runner.invoke(app, ["db", "optimise", "--table", "users"])
    assert bad.exit_code != 0 and "不是大型圖層" in bad.output
