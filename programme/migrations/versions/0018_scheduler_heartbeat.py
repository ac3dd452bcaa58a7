"""scheduler_heartbeats and job_runs (issue 17): each scheduler process's heartbeat, and each job run by one

Revision ID: 0018
Revises: 0017
Create Date: 2026-12-06 17:00:00

"""
import sqlalchemy as sa
from alembic import op

import programme.core.db


revision = '0018'
down_revision = '0017'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'scheduler_heartbeats',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('node', sa.String(length=255), nullable=False),
        sa.Column('started_at', programme.core.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column('last_beat_at', programme.core.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column('holds_lock', sa.Boolean(), nullable=False),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_scheduler_heartbeats')),
        sa.UniqueConstraint('node', name=op.f('uq_scheduler_heartbeats_node')),
    )
    with op.batch_alter_table('scheduler_heartbeats', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_scheduler_heartbeats_last_beat_at'), ['last_beat_at'], unique=False)
    op.create_table(
        'job_runs',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('job', sa.String(length=100), nullable=False),
        sa.Column('node', sa.String(length=255), nullable=False),
        sa.Column('day', sa.Date(), nullable=False),
        sa.Column('daily', sa.Boolean(), nullable=False),
        sa.Column('started_at', programme.core.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column('finished_at', programme.core.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column('outcome', sa.String(length=20), nullable=False),
        sa.Column('message', sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_job_runs')),
    )
    with op.batch_alter_table('job_runs', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_job_runs_started_at'), ['started_at'], unique=False)
        batch_op.create_index('uq_job_runs_daily_done', ['job', 'day'], unique=True,
                              sqlite_where=sa.text("daily AND outcome = 'done'"),
                              postgresql_where=sa.text("daily AND outcome = 'done'"))


def downgrade():
    with op.batch_alter_table('job_runs', schema=None) as batch_op:
        batch_op.drop_index('uq_job_runs_daily_done')
        batch_op.drop_index(batch_op.f('ix_job_runs_started_at'))
    op.drop_table('job_runs')
    with op.batch_alter_table('scheduler_heartbeats', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_scheduler_heartbeats_last_beat_at'))
    op.drop_table('scheduler_heartbeats')
