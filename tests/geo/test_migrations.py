"""The schema under Alembic: models and migrations agree; geometry columns have an SRID and a GiST index."""

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from geoalchemy2 import Geometry, alembic_helpers
from sqlalchemy import text

from geo import migrate
from geo.models import STORAGE_SRID, Base


def test_models_and_migrations_agree(engine):
    with engine.connect() as conn:
        ctx = MigrationContext.configure(
            conn,
            opts={
                "include_object": alembic_helpers.include_object,
                "compare_type": True,
                "target_metadata": Base.metadata,
            },
        )
        diff = compare_metadata(ctx, Base.metadata)
    assert diff == [], diff


def test_database_is_at_head(engine):
    assert migrate.current(engine) == migrate.head()


def test_every_geometry_column_has_an_srid_and_a_gist_index(engine):
    with engine.connect() as conn:
        columns = conn.execute(
            text(
                "SELECT f_table_name, f_geometry_column, srid FROM geometry_columns WHERE f_table_schema = 'public'"
            )
        ).all()
        expected = {
            (table.name, col.name)
            for table in Base.metadata.tables.values()
            for col in table.columns
            if isinstance(col.type, Geometry)
        }
        assert {(t, c) for t, c, _ in columns} == expected
        for table, column, srid in columns:
            assert srid == STORAGE_SRID, (table, column, srid)
            has_gist = conn.execute(
                text(
                    "SELECT count(*) FROM pg_indexes WHERE tablename = :t "
                    "AND indexdef ILIKE '%USING gist%' AND indexdef LIKE '%' || :c || '%'"
                ),
                {"t": table, "c": column},
            ).scalar()
            assert has_gist == 1, (table, column)


def test_migrating_again_is_a_no_op(engine):
    migrate.upgrade(engine)
    assert migrate.current(engine) == migrate.head()


def test_camera_views_downgrade_and_upgrade_again(db_settings):
    """0012 comes off cleanly and, put back, fills the views of footprints already loaded."""
    from alembic import command

    from geo.db import make_engine
    from geo.settings import DatabaseSettings
    from tests.conftest import fresh_database

    engine = make_engine(
        DatabaseSettings(DATABASE_URL=fresh_database(db_settings, "views_downgrade")), pool_size=1
    )
    try:
        with engine.begin() as conn:
            conn.execute(text("INSERT INTO precincts (name) VALUES ('降版')"))
            conn.execute(
                text(
                    "INSERT INTO cameras (precinct_id, status, owner, geom, bearing_deg, fov_deg, "
                    "range_m) SELECT id, 'existing', 'police', "
                    "ST_SetSRID(ST_MakePoint(300000, 2770000), 3826), 90, 90, 60 FROM precincts"
                )
            )
        with engine.begin() as conn:
            cfg = migrate.alembic_config(engine)
            cfg.attributes["connection"] = conn
            command.downgrade(cfg, "0011")
        with engine.begin() as conn:
            gone = conn.execute(
                text(
                    "SELECT to_regclass('camera_views'), "
                    "to_regprocedure('safemap_refresh_camera_views(integer[])'), "
                    "(SELECT count(*) FROM pg_trigger WHERE tgname LIKE '%camera_view%')"
                )
            ).one()
            assert tuple(gone) == (None, None, 0)
            # footprints loaded while the schema is at 0011
            conn.execute(
                text(
                    "INSERT INTO buildings (geom) VALUES "
                    "(ST_Multi(ST_MakeEnvelope(300020, 2769995, 300030, 2770005, 3826)))"
                )
            )
        migrate.upgrade(engine)
        with engine.connect() as conn:
            same = conn.execute(
                text(
                    "SELECT count(*), bool_and(ST_Equals(v.geom, "
                    "safemap_camera_view(c.geom, c.sector, c.range_m))) "
                    "FROM camera_views v JOIN cameras c ON c.id = v.camera_id"
                )
            ).one()
        assert tuple(same) == (1, True)
    finally:
        engine.dispose()
