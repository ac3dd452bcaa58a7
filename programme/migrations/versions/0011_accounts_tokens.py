"""Accounts by mailed link and roles by two managers: account_tokens (enrolment, verification, reset: hashed,
expiring, single use), role_requests, users.password_hash nullable until enrolment, notifications.link_secret

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-06 10:20:00

"""
from alembic import op
import sqlalchemy as sa

import programme.core.db


revision = '0011'
down_revision = '0010'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('account_tokens',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('purpose', sa.Enum('enrol', 'verify', 'reset', name='purpose', native_enum=False,
                                 create_constraint=True, length=6), nullable=False),
    sa.Column('token_hash', sa.String(length=64), nullable=False),
    sa.Column('created_at', programme.core.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('expires_at', programme.core.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('used_at', programme.core.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('revoked_at', programme.core.db.UTCDateTime(timezone=True), nullable=True),
    sa.CheckConstraint('NOT (used_at IS NOT NULL AND revoked_at IS NOT NULL)',
                       name=op.f('ck_account_tokens_used_or_revoked')),
    sa.CheckConstraint('expires_at > created_at', name=op.f('ck_account_tokens_expires_after_creation')),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_account_tokens_user_id_users'),
                            ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_account_tokens')),
    sa.UniqueConstraint('token_hash', name=op.f('uq_account_tokens_token_hash'))
    )
    with op.batch_alter_table('account_tokens', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_account_tokens_user_id'), ['user_id'], unique=False)

    op.create_table('role_requests',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('role', sa.Enum('applicant', 'reviewer', 'programme_manager', 'fund_administrator', 'auditor',
                              name='role', native_enum=False, create_constraint=True, length=18), nullable=False),
    sa.Column('requested_by_id', sa.Integer(), nullable=True),
    sa.Column('requested_at', programme.core.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('status', sa.Enum('pending', 'approved', 'rejected', name='status', native_enum=False,
                                create_constraint=True, length=8), nullable=False),
    sa.Column('decided_by_id', sa.Integer(), nullable=True),
    sa.Column('decided_at', programme.core.db.UTCDateTime(timezone=True), nullable=True),
    sa.CheckConstraint(
        "(status = 'pending' AND decided_by_id IS NULL AND decided_at IS NULL) OR "
        "(status <> 'pending' AND decided_by_id IS NOT NULL AND decided_at IS NOT NULL)",
        name=op.f('ck_role_requests_decided_when_not_pending')),
    sa.CheckConstraint('decided_by_id IS NULL OR decided_by_id <> user_id', name=op.f('ck_role_requests_not_own_grant')),
    sa.ForeignKeyConstraint(['decided_by_id'], ['users.id'], name=op.f('fk_role_requests_decided_by_id_users')),
    sa.ForeignKeyConstraint(['requested_by_id'], ['users.id'], name=op.f('fk_role_requests_requested_by_id_users')),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_role_requests_user_id_users'),
                            ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_role_requests'))
    )
    with op.batch_alter_table('role_requests', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_role_requests_status'), ['status'], unique=False)
        batch_op.create_index(batch_op.f('ix_role_requests_user_id'), ['user_id'], unique=False)

    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.alter_column('password_hash', existing_type=sa.String(length=255), nullable=True)

    with op.batch_alter_table('notifications', schema=None) as batch_op:
        batch_op.add_column(sa.Column('link_secret', sa.Boolean(), server_default=sa.false(), nullable=False))


def downgrade():
    with op.batch_alter_table('notifications', schema=None) as batch_op:
        batch_op.drop_column('link_secret')
    # An account whose person never enrolled has no password: it cannot exist under the older schema.
    op.execute("DELETE FROM users WHERE password_hash IS NULL")
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.alter_column('password_hash', existing_type=sa.String(length=255), nullable=False)
    with op.batch_alter_table('role_requests', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_role_requests_user_id'))
        batch_op.drop_index(batch_op.f('ix_role_requests_status'))
    op.drop_table('role_requests')
    with op.batch_alter_table('account_tokens', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_account_tokens_user_id'))
    op.drop_table('account_tokens')
