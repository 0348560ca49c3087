"""merge workflow, analysis and services

Revision ID: 0008
Revises: 0003, 0006, 0007
Create Date: 2026-11-29 10:54:48.263433
"""

from alembic import op
import geoalchemy2
import sqlalchemy as sa


revision = '0008'
down_revision = ('0003', '0006', '0007')
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
