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
