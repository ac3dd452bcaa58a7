"""The language each person chose (issue 19): users.language, "en", "es" or "pt" (empty: the browser's)

Revision ID: 0024
Revises: 0023
Create Date: 2026-12-11 11:00:00

"""
import sqlalchemy as sa
from alembic import op


revision = '0024'
down_revision = '0023'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.add_column(sa.Column('language', sa.String(length=5), nullable=True))


def downgrade():
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.drop_column('language')
