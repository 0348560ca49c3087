"""each record's GeoJSON Feature kept as text at write time, for fast list pages

Revision ID: 0010
Revises: 0009
Create Date: 2026-11-29 12:10:00

A list page of a large layer (a 1,000-camera OGC page) spent half its database time building
each feature's JSON on every read. A BEFORE trigger now keeps the Feature (the list form: no
secondary geometries such as a camera's view sector) in a ``feature`` text column, and a page
is ``string_agg`` over the rows it selects. A trigger rather than a generated column: the
JSON of a timestamp depends on the time zone setting, which a generated column may not read;
the function pins it to UTC. The properties it writes are the trigger's arguments, in the
order of ``geo.layers`` LayerSpec.properties (tests compare the cached and computed forms).
"""

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None

FEATURE_FUNCTION = """
CREATE OR REPLACE FUNCTION safemap_feature_json() RETURNS trigger
LANGUAGE plpgsql SET timezone = 'UTC' AS $$
DECLARE
    row_json json := row_to_json(NEW);
    props text;
BEGIN
    -- Compact JSON text (no blanks between members: a 1,000-feature page is ~15 % smaller
    -- than json_build_object's output). Properties are scalars, whose json text is compact;
    -- id and version first, then the layer's properties in the order the trigger names them.
    SELECT string_agg(to_json(k)::text || ':' || coalesce((row_json -> k)::text, 'null'), ','
                      ORDER BY n)
      INTO props
      FROM unnest(ARRAY['id', 'version'] || TG_ARGV) WITH ORDINALITY AS a(k, n);
    NEW.feature := '{"type":"Feature","id":' || NEW.id
        || ',"geometry":' || coalesce(ST_AsGeoJSON(ST_Transform(NEW.geom, 4326), 6), 'null')
        || ',"properties":{' || props || '}}';
    RETURN NEW;
END
$$
"""

# Layer table -> its served properties (geo.layers LayerSpec.properties, same order).
CACHED = {
    "hazards": (
        "community_id", "title", "category", "severity", "time_of_day", "description", "status",
        "agency", "meeting_id", "dismissed_reason", "reported_at", "assigned_at", "fixed_at",
        "updated_at",
    ),
    "cameras": (
        "community_id", "precinct_id", "name", "status", "owner", "bearing_deg", "fov_deg",
        "range_m", "height_m", "application_id", "note", "installed_at", "updated_at",
    ),
    "incidents": ("type", "occurred_at", "precision_m", "precinct_id", "source"),
}  # fmt: skip

HISTORY_FUNCTION = """
CREATE OR REPLACE FUNCTION safemap_layer_history() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    -- The application sets safemap.actor_id for each write transaction (geo.layers).
    actor integer := nullif(current_setting('safemap.actor_id', true), '')::integer;
BEGIN
    -- The view sector and the cached feature are derived from the other columns.
    IF TG_OP = 'DELETE' THEN
        INSERT INTO layer_history (layer, record_id, action, version, actor_id, old, new)
        VALUES (TG_TABLE_NAME, OLD.id, 'delete', OLD.version, actor,
                to_jsonb(OLD) - 'sector' - 'feature', NULL);
        RETURN OLD;
    ELSIF TG_OP = 'UPDATE' THEN
        INSERT INTO layer_history (layer, record_id, action, version, actor_id, old, new)
        VALUES (TG_TABLE_NAME, NEW.id, 'update', NEW.version, actor,
                to_jsonb(OLD) - 'sector' - 'feature', to_jsonb(NEW) - 'sector' - 'feature');
        RETURN NEW;
    END IF;
    INSERT INTO layer_history (layer, record_id, action, version, actor_id, old, new)
    VALUES (TG_TABLE_NAME, NEW.id, 'insert', NEW.version, actor, NULL,
            to_jsonb(NEW) - 'sector' - 'feature');
    RETURN NEW;
END
$$
"""

OLD_HISTORY_FUNCTION = HISTORY_FUNCTION.replace(" - 'feature'", "").replace(
    "    -- The view sector and the cached feature are derived from the other columns.\n", ""
)


def upgrade() -> None:
    op.execute(FEATURE_FUNCTION)
    op.execute(HISTORY_FUNCTION)
    for table, properties in CACHED.items():
        op.add_column(
            table,
            sa.Column(
                "feature",
                sa.Text(),
                nullable=True,
                comment="GeoJSON Feature (list form), kept by the safemap_feature_json trigger",
            ),
        )
        args = ", ".join(f"'{p}'" for p in properties)
        # "zz_": BEFORE triggers fire in name order, so this one sees every other's changes.
        op.execute(
            f"CREATE TRIGGER zz_{table}_feature BEFORE INSERT OR UPDATE ON {table} "
            f"FOR EACH ROW EXECUTE FUNCTION safemap_feature_json({args})"
        )
        # Fill existing rows without writing history entries for a derived column.
        op.execute(f"ALTER TABLE {table} DISABLE TRIGGER {table}_history")
        op.execute(f"UPDATE {table} SET feature = NULL")
        op.execute(f"ALTER TABLE {table} ENABLE TRIGGER {table}_history")


def downgrade() -> None:
    for table in CACHED:
        op.execute(f"DROP TRIGGER IF EXISTS zz_{table}_feature ON {table}")
        op.drop_column(table, "feature")
    op.execute(OLD_HISTORY_FUNCTION)
    op.execute("DROP FUNCTION IF EXISTS safemap_feature_json()")
