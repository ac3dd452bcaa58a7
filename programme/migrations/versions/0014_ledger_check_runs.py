"""ledger_check_runs: the ledger checks' results, run by the daily job or on demand, shown by the ledger page

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-06 11:50:00

"""
from alembic import op
import sqlalchemy as sa

import programme.core.db


revision = '0014'
down_revision = '0013'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('ledger_check_runs',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('started_at', programme.core.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('finished_at', programme.core.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('ran_by', sa.String(length=255), nullable=False),
    sa.Column('last_entry_id', sa.Integer(), nullable=True),
    sa.Column('ledger_problems', sa.Text(), nullable=False),
    sa.Column('loan_problems', sa.Text(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_ledger_check_runs'))
    )
    with op.batch_alter_table('ledger_check_runs', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_ledger_check_runs_started_at'), ['started_at'], unique=False)


def downgrade():
    with op.batch_alter_table('ledger_check_runs', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_ledger_check_runs_started_at'))
    op.drop_table('ledger_check_runs')
