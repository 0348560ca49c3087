"""residents' safety-concern reports

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-29 12:00:00.000000
"""

from alembic import op
import sqlalchemy as sa
from geoalchemy2 import Geometry
from sqlalchemy.dialects import postgresql

revision = '0009'
down_revision = '0008'
branch_labels = None
depends_on = None


# The community and precinct a report belongs to are facts of its point, so the database
# derives them (no writer can get them wrong): the village covering the point; the community
# the resident chose when its boundary covers the point, else the smallest community that
# does; that community's precinct, else the precinct of the village.
PLACE_FUNCTION = """
CREATE OR REPLACE FUNCTION safemap_resident_report_place() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    NEW.village_id := (
        SELECT v.id FROM villages v
        WHERE v.retired_at IS NULL AND ST_Covers(v.geom, NEW.geom)
        ORDER BY v.id LIMIT 1);
    IF NEW.community_id IS NULL OR NOT EXISTS (
        SELECT 1 FROM communities c
        WHERE c.id = NEW.community_id AND ST_Covers(c.geom, NEW.geom)) THEN
        NEW.community_id := (
            SELECT c.id FROM communities c
            WHERE ST_Covers(c.geom, NEW.geom)
            ORDER BY ST_Area(c.geom), c.id LIMIT 1);
    END IF;
    NEW.precinct_id := coalesce(
        (SELECT c.precinct_id FROM communities c WHERE c.id = NEW.community_id),
        (SELECT pv.precinct_id FROM precinct_villages pv WHERE pv.village_id = NEW.village_id));
    RETURN NEW;
END
$$
"""


def upgrade() -> None:
    postgresql.ENUM('new', 'accepted', 'merged', 'dismissed', name='resident_report_status').create(op.get_bind(), checkfirst=True)
    op.create_geospatial_table('resident_reports',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('geom', Geometry(geometry_type='POINT', srid=3826, dimension=2, spatial_index=False, from_text='ST_GeomFromEWKT', name='geometry', nullable=False), nullable=False),
    sa.Column('category', sa.String(length=32), nullable=False, comment='code in data/reference/hazard_categories.json'),
    sa.Column('time_of_day', postgresql.ENUM(name='time_of_day', create_type=False), nullable=False),
    sa.Column('place', sa.String(length=128), nullable=True, comment="the resident's words for the spot (landmark, lane), no address"),
    sa.Column('description', sa.Text(), nullable=False),
    sa.Column('photo', sa.LargeBinary(), nullable=True),
    sa.Column('photo_type', sa.String(length=64), nullable=True),
    sa.Column('photo_name', sa.String(length=255), nullable=True),
    sa.Column('contact_name', sa.String(length=64), nullable=True, comment='personal data'),
    sa.Column('contact_phone', sa.String(length=32), nullable=True, comment='personal data'),
    sa.Column('contact_email', sa.String(length=128), nullable=True, comment='personal data'),
    sa.Column('status', postgresql.ENUM('new', 'accepted', 'merged', 'dismissed', name='resident_report_status', create_type=False), nullable=False),
    sa.Column('hazard_id', sa.Integer(), nullable=True, comment='the hazard it became (accepted) or duplicates (merged)'),
    sa.Column('dismissed_reason', sa.Text(), nullable=True),
    sa.Column('triaged_by', sa.Integer(), nullable=True),
    sa.Column('triaged_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('village_id', sa.Integer(), nullable=True),
    sa.Column('community_id', sa.Integer(), nullable=True),
    sa.Column('precinct_id', sa.Integer(), nullable=True),
    sa.Column('ip_hash', sa.String(length=64), nullable=False, comment="keyed SHA-256 of the sender's address, for the rate limit only"),
    sa.Column('version', sa.Integer(), server_default=sa.text('1'), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.CheckConstraint("status <> 'dismissed' OR dismissed_reason IS NOT NULL", name=op.f('ck_resident_reports_dismissed_has_reason')),
    sa.CheckConstraint('char_length(description) <= 2000', name=op.f('ck_resident_reports_description_length')),
    sa.ForeignKeyConstraint(['community_id'], ['communities.id'], name=op.f('fk_resident_reports_community_id_communities')),
    sa.ForeignKeyConstraint(['hazard_id'], ['hazards.id'], name=op.f('fk_resident_reports_hazard_id_hazards'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['precinct_id'], ['precincts.id'], name=op.f('fk_resident_reports_precinct_id_precincts')),
    sa.ForeignKeyConstraint(['triaged_by'], ['users.id'], name=op.f('fk_resident_reports_triaged_by_users')),
    sa.ForeignKeyConstraint(['village_id'], ['villages.id'], name=op.f('fk_resident_reports_village_id_villages')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_resident_reports'))
    )
    op.create_geospatial_index('idx_resident_reports_geom', 'resident_reports', ['geom'], unique=False, postgresql_using='gist', postgresql_ops={})
    op.create_index(op.f('ix_resident_reports_community_id'), 'resident_reports', ['community_id'], unique=False)
    op.create_index(op.f('ix_resident_reports_hazard_id'), 'resident_reports', ['hazard_id'], unique=False)
    op.create_index(op.f('ix_resident_reports_precinct_id'), 'resident_reports', ['precinct_id'], unique=False)
    op.create_index(op.f('ix_resident_reports_village_id'), 'resident_reports', ['village_id'], unique=False)
    op.create_index('ix_resident_reports_ip_hash_created_at', 'resident_reports', ['ip_hash', 'created_at'], unique=False)
    op.create_index('ix_resident_reports_status', 'resident_reports', ['status'], unique=False)
    op.execute(PLACE_FUNCTION)
    op.execute(
        "CREATE TRIGGER resident_reports_place BEFORE INSERT OR UPDATE OF geom, community_id "
        "ON resident_reports FOR EACH ROW EXECUTE FUNCTION safemap_resident_report_place()"
    )


def downgrade() -> None:
    op.execute("DROP TRIGGER IF EXISTS resident_reports_place ON resident_reports")
    op.execute("DROP FUNCTION IF EXISTS safemap_resident_report_place()")
    op.drop_index('ix_resident_reports_status', table_name='resident_reports')
    op.drop_index('ix_resident_reports_ip_hash_created_at', table_name='resident_reports')
    op.drop_index(op.f('ix_resident_reports_village_id'), table_name='resident_reports')
    op.drop_index(op.f('ix_resident_reports_precinct_id'), table_name='resident_reports')
    op.drop_index(op.f('ix_resident_reports_hazard_id'), table_name='resident_reports')
    op.drop_index(op.f('ix_resident_reports_community_id'), table_name='resident_reports')
    op.drop_geospatial_index('idx_resident_reports_geom', table_name='resident_reports', postgresql_using='gist', column_name='geom')
    op.drop_geospatial_table('resident_reports')
    postgresql.ENUM(name='resident_report_status').drop(op.get_bind(), checkfirst=True)
