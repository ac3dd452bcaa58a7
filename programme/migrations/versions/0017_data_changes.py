"""Data changes (issue 15): one row per committed transaction that wrote, the version kept pages are read against

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-08 10:00:00

"""
import sqlalchemy as sa
from alembic import op


revision = '0017'
down_revision = '0016'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table("data_changes", sa.Column("id", sa.Integer(), nullable=False),
                    sa.PrimaryKeyConstraint("id", name=op.f("pk_data_changes")))


def downgrade():
    op.drop_table("data_changes")
