"""initiatives.terminated_on: the day an initiative was ended, kept by funding (its owner)

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-06 08:40:00

"""
from alembic import op
import sqlalchemy as sa


revision = '0009'
down_revision = '0008'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('initiatives', schema=None) as batch_op:
        batch_op.add_column(sa.Column('terminated_on', sa.Date(), nullable=True))
    # Initiatives terminated before: the day of their milestone review that decided it.
    op.execute(
        "UPDATE initiatives SET terminated_on = (SELECT max(m.decided_on) FROM milestone_reviews m "
        "WHERE m.initiative_id = initiatives.id AND m.decision = 'terminate') WHERE status = 'terminated'"
    )


def downgrade():
    with op.batch_alter_table('initiatives', schema=None) as batch_op:
        batch_op.drop_column('terminated_on')
