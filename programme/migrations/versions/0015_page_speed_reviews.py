"""Page speed (issue 15): an index of a call's proposals by sector (the reviewer's page of a call suggests them)

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-06 13:00:00

"""
from alembic import op


revision = '0015'
down_revision = '0014'
branch_labels = None
depends_on = None


def upgrade():
    # The sectors of a call's proposals, read from the index alone (the reviewer's page of a call).
    op.create_index("ix_proposals_call_sector", "proposals", ["call_id", "sector"])


def downgrade():
    op.drop_index("ix_proposals_call_sector", table_name="proposals")
