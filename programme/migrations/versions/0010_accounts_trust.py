"""Accounts for four eyes and verified addresses: users.created_by_id, users.email_verified_at, the auditor role

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-06 10:20:00

"""
from alembic import op
import sqlalchemy as sa

import programme.core.db


revision = '0010'
down_revision = '0009'
branch_labels = None
depends_on = None

OLD_ROLES = ('applicant', 'reviewer', 'programme_manager', 'fund_administrator')
NEW_ROLES = OLD_ROLES + ('auditor',)


def _roles(values):
    quoted = ", ".join(f"'{v}'" for v in values)
    with op.batch_alter_table('user_roles', schema=None) as batch_op:
        batch_op.drop_constraint(op.f('ck_user_roles_role'), type_='check')
        batch_op.create_check_constraint(op.f('ck_user_roles_role'), sa.text(f"role IN ({quoted})"))


def upgrade():
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.add_column(sa.Column('created_by_id', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('email_verified_at', programme.core.db.UTCDateTime(timezone=True),
                                      nullable=True))
        batch_op.create_foreign_key(batch_op.f('fk_users_created_by_id_users'), 'users', ['created_by_id'], ['id'])
        batch_op.create_index(batch_op.f('ix_users_created_by_id'), ['created_by_id'], unique=False)
    # Accounts that exist already were made by managers or by people who have used them: count them as verified.
    op.execute("UPDATE users SET email_verified_at = created_at")
    _roles(NEW_ROLES)


def downgrade():
    op.execute("DELETE FROM user_roles WHERE role = 'auditor'")
    _roles(OLD_ROLES)
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_users_created_by_id'))
        batch_op.drop_constraint(batch_op.f('fk_users_created_by_id_users'), type_='foreignkey')
        batch_op.drop_column('email_verified_at')
        batch_op.drop_column('created_by_id')
