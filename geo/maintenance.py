"""Database upkeep a city DBA runs after bulk loads: store large layers in spatial order.

A bbox page of a layer loaded in arbitrary order touches one table page per row it returns
(5,218 heap pages for a 5,218-camera box of 200,000 cameras); rows stored in the order of
their GiST index sit together, so the same page reads a few hundred. ``CLUSTER`` rewrites the
table in that order once (new rows are appended and drift out of order, so it is re-run after
large imports); it holds an exclusive lock while it runs, hence a command, not a trigger.
"""

from __future__ import annotations

from collections.abc import Callable

from sqlalchemy import Connection, text

from .layers import LAYERS

# Layers that can grow to hundreds of thousands of rows (the cached-feature ones).
LARGE_LAYERS = tuple(spec.table.name for spec in LAYERS.values() if spec.cached_feature)


def geometry_index(conn: Connection, table: str) -> str | None:
    """Name of the GiST index on ``table.geom``, if any."""
    return conn.execute(
        text(
            """
            SELECT i.relname
              FROM pg_index x
              JOIN pg_class i ON i.oid = x.indexrelid
              JOIN pg_class t ON t.oid = x.indrelid
              JOIN pg_am am ON am.oid = i.relam
              JOIN pg_attribute a ON a.attrelid = t.oid AND a.attnum = ANY (x.indkey)
             WHERE t.relname = :table AND t.relnamespace = 'public'::regnamespace
               AND am.amname = 'gist' AND a.attname = 'geom' AND x.indnatts = 1
             ORDER BY i.relname
             LIMIT 1
            """
        ),
        {"table": table},
    ).scalar()


def cluster_layers(
    conn: Connection,
    tables: tuple[str, ...] = LARGE_LAYERS,
    progress: Callable[[str], None] = lambda table: None,
) -> dict[str, int]:
    """Rewrite each table in the order of its geometry index and refresh its statistics;
    returns the rows per table."""
    done: dict[str, int] = {}
    for table in tables:
        if table not in LARGE_LAYERS:
            raise ValueError(f"not a large layer: {table}")
        index = geometry_index(conn, table)
        if index is not None:
            conn.execute(text(f'CLUSTER "{table}" USING "{index}"'))
        conn.execute(text(f'ANALYZE "{table}"'))
        done[table] = conn.execute(text(f'SELECT count(*) FROM "{table}"')).scalar_one()
        progress(table)
    return done
