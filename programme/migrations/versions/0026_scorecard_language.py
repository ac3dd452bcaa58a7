"""The language a scorecard's template texts were copied in: scorecards.language, "en", "es" or "pt" (the texts of
a scorecard started before are English)

Revision ID: 0026
Revises: 0025
Create Date: 2026-12-07 01:00:00

"""
import sqlalchemy as sa
from alembic import op


revision = '0026'
down_revision = '0025'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('scorecards', schema=None) as batch_op:
        batch_op.add_column(sa.Column('language', sa.String(length=5), nullable=False, server_default='en'))


def downgrade():
    with op.batch_alter_table('scorecards', schema=None) as batch_op:
        batch_op.drop_column('language')
