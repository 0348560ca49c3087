"""Server default for the version columns created in 0001, so plain SQL inserts work.

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-29
"""

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

TABLES = ("hazards", "cameras")


def upgrade() -> None:
    for table in TABLES:
        op.alter_column(table, "version", server_default=sa.text("1"))


def downgrade() -> None:
    for table in TABLES:
        op.alter_column(table, "version", server_default=None)
