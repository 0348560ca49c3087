"""building footprints and camera views clipped by them

Revision ID: 0011
Revises: 0010
Create Date: 2026-11-29 12:30:00.000000
"""

from alembic import op
import sqlalchemy as sa
from geoalchemy2 import Geometry


revision = '0011'
down_revision = '0010'
branch_labels = None
depends_on = None


# What a building hides from a camera at p, out to `reach` metres, besides its footprint: behind
# every wall a-b that faces the camera (outer walls and courtyard walls alike; with the rings
# oriented by ST_ForcePolygonCCW the solid lies left of every edge, so a wall faces p when p
# lies to its right), the pentagon a, b, b', m', a' whose far corners lie on the rays from p
# through b, through the bisector of the angle a-p-b and through a, all at distance D. Any
# sight line that ends behind the building enters it through a wall facing the camera, so
# these pentagons and the footprint make up the whole shadow. A wall spans less than 180
# degrees as seen from p, so each far chord spans at most 90 and keeps at least D / sqrt(2)
# from p: with D >= 1.5 * reach the pentagons cover the shadow within reach, and with
# D > 1.5 * |pa|, |pb| the far chord stays beyond the wall (a simple polygon). Worked in
# coordinates relative to p for precision.
SHADOW_FUNCTION = """
CREATE OR REPLACE FUNCTION safemap_building_shadow_parts(
    p geometry, footprint geometry, reach double precision
) RETURNS SETOF geometry
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE AS $$
    WITH e AS (
        SELECT ST_X(ST_StartPoint(s.geom)) - ST_X(p) AS ax, ST_Y(ST_StartPoint(s.geom)) - ST_Y(p) AS ay,
               ST_X(ST_EndPoint(s.geom)) - ST_X(p) AS bx, ST_Y(ST_EndPoint(s.geom)) - ST_Y(p) AS by
        FROM ST_DumpSegments(ST_ForcePolygonCCW(footprint)) s
    ), v AS (
        SELECT ax, ay, bx, by, sqrt(ax * ax + ay * ay) AS la, sqrt(bx * bx + by * by) AS lb
        FROM e
        -- walls facing p (p on their right); walls seen end-on hide nothing of their own
        WHERE ax * by - ay * bx < -1e-9 * sqrt(ax * ax + ay * ay) * sqrt(bx * bx + by * by)
    ), f AS (
        SELECT ax, ay, bx, by, la, lb, ax / la + bx / lb AS mx, ay / la + by / lb AS my,
               greatest(reach, 1.5 * greatest(la, lb) + 1.0) AS d
        FROM v
    )
    SELECT ST_SetSRID(ST_Translate(ST_MakePolygon(ST_MakeLine(ARRAY[
               ST_MakePoint(ax, ay), ST_MakePoint(bx, by),
               ST_MakePoint(bx / lb * d, by / lb * d),
               ST_MakePoint(mx / sqrt(mx * mx + my * my) * d, my / sqrt(mx * mx + my * my) * d),
               ST_MakePoint(ax / la * d, ay / la * d),
               ST_MakePoint(ax, ay)])), ST_X(p), ST_Y(p)), ST_SRID(p))
    FROM f
$$;

CREATE OR REPLACE FUNCTION safemap_building_shadow(
    p geometry, footprint geometry, reach double precision
) RETURNS geometry
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE AS $$
    SELECT ST_Union(g) FROM (
        SELECT footprint AS g
        UNION ALL SELECT safemap_building_shadow_parts(p, footprint, reach)
    ) parts
$$
"""

# A camera's view: its sector less what buildings hide. A building within 1 m of the camera
# is the one it is mounted on: only its footprint is taken away (the camera looks out from
# its wall), every other building takes its footprint and its shadow. One union of all the
# pieces per camera; without buildings in the sector the view is the sector itself.
VIEW_FUNCTION = """
CREATE OR REPLACE FUNCTION safemap_camera_view(
    p geometry, sector geometry, range_m double precision
) RETURNS geometry
LANGUAGE sql STABLE STRICT PARALLEL SAFE AS $$
    WITH near AS (
        SELECT b.geom FROM buildings b WHERE b.geom && sector AND ST_Intersects(b.geom, sector)
    )
    SELECT coalesce(
        (SELECT ST_CollectionExtract(ST_Difference(sector, ST_Union(g)), 3) FROM (
            SELECT geom AS g FROM near
            UNION ALL
            SELECT safemap_building_shadow_parts(p, geom, 1.5 * range_m) FROM near
            WHERE NOT ST_DWithin(geom, p, 1.0)
         ) parts
         HAVING count(*) > 0),
        sector)
$$
"""


def upgrade() -> None:
    op.create_geospatial_table('buildings',
    sa.Column('id', sa.BigInteger(), nullable=False),
    sa.Column('name', sa.String(length=128), nullable=True),
    sa.Column('height_m', sa.Float(), nullable=True, comment='metres, when the source has it'),
    sa.Column('source', sa.String(length=128), nullable=True, comment='file or extract it came from'),
    sa.Column('geom', Geometry(geometry_type='MULTIPOLYGON', srid=3826, dimension=2, spatial_index=False, from_text='ST_GeomFromEWKT', name='geometry', nullable=False), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_buildings'))
    )
    op.create_geospatial_index('idx_buildings_geom', 'buildings', ['geom'], unique=False, postgresql_using='gist', postgresql_ops={})
    op.execute(SHADOW_FUNCTION)
    op.execute(VIEW_FUNCTION)


def downgrade() -> None:
    op.execute("DROP FUNCTION IF EXISTS safemap_camera_view(geometry, geometry, float8)")
    op.execute("DROP FUNCTION IF EXISTS safemap_building_shadow(geometry, geometry, float8)")
    op.execute("DROP FUNCTION IF EXISTS safemap_building_shadow_parts(geometry, geometry, float8)")
    op.drop_geospatial_index('idx_buildings_geom', table_name='buildings', postgresql_using='gist', column_name='geom')
    op.drop_geospatial_table('buildings')
