"""Personal access tokens for the JSON API (issue 19): made and revoked by their owner on the account page, stored
as their SHA-256 only, each with its scopes and its expiry

Revision ID: 0023
Revises: 0022
Create Date: 2026-12-11 10:00:00

"""
import sqlalchemy as sa
from alembic import op

import programme.core.db


revision = '0023'
down_revision = '0022'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'personal_access_tokens',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('user_id', sa.Integer(), nullable=False),
        sa.Column('name', sa.String(length=100), nullable=False),
        sa.Column('prefix', sa.String(length=16), nullable=False),
        sa.Column('token_hash', sa.String(length=64), nullable=False),
        sa.Column('scopes', sa.String(length=40), nullable=False),
        sa.Column('created_at', programme.core.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column('expires_at', programme.core.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column('last_used_at', programme.core.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column('revoked_at', programme.core.db.UTCDateTime(timezone=True), nullable=True),
        sa.CheckConstraint("scopes IN ('read', 'read write')", name=op.f('ck_personal_access_tokens_known_scopes')),
        sa.CheckConstraint('expires_at > created_at', name=op.f('ck_personal_access_tokens_expires_after_creation')),
        sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_personal_access_tokens_user_id_users'),
                                ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_personal_access_tokens')),
        sa.UniqueConstraint('token_hash', name=op.f('uq_personal_access_tokens_token_hash')),
    )
    with op.batch_alter_table('personal_access_tokens', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_personal_access_tokens_user_id'), ['user_id'], unique=False)


def downgrade():
    with op.batch_alter_table('personal_access_tokens', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_personal_access_tokens_user_id'))
    op.drop_table('personal_access_tokens')
