"""Staged calls (issue 18)

Revision ID: 0020
Revises: 0019
Create Date: 2026-12-10 10:00:00

"""
import sqlalchemy as sa
from alembic import op

import programme.core.db  # noqa: F401

revision = '0020'
down_revision = '0019'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('calls', schema=None) as batch_op:
        batch_op.add_column(sa.Column('parent_id', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('stage_index', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('stage_key', sa.String(length=40), nullable=True))
        batch_op.create_foreign_key(op.f('fk_calls_parent_id_calls'), 'calls', ['parent_id'], ['id'])
        batch_op.create_index(batch_op.f('ix_calls_parent_id'), ['parent_id'], unique=False)
        batch_op.create_unique_constraint('uq_calls_parent_stage_index', ['parent_id', 'stage_index'])
        batch_op.drop_constraint(op.f('ck_calls_budget_positive'), type_='check')
        batch_op.drop_constraint(op.f('ck_calls_cap_within_budget'), type_='check')
        batch_op.create_check_constraint(op.f('ck_calls_budget_positive'),
                                         'budget > 0 OR (parent_id IS NOT NULL AND budget = 0)')
        batch_op.create_check_constraint(
            op.f('ck_calls_cap_within_budget'),
            '(per_initiative_cap > 0 OR (parent_id IS NOT NULL AND per_initiative_cap = 0)) '
            'AND per_initiative_cap <= budget')
        batch_op.create_check_constraint(op.f('ck_calls_stage_has_key'), '(parent_id IS NULL) = (stage_key IS NULL)')
        batch_op.create_check_constraint(
            op.f('ck_calls_stage_index_in_order'),
            '(parent_id IS NULL AND (stage_index IS NULL OR stage_index = 0)) '
            'OR (parent_id IS NOT NULL AND stage_index >= 1)')
    with op.batch_alter_table('proposals', schema=None) as batch_op:
        batch_op.add_column(sa.Column('previous_proposal_id', sa.Integer(), nullable=True))
        batch_op.create_foreign_key(op.f('fk_proposals_previous_proposal_id_proposals'), 'proposals',
                                    ['previous_proposal_id'], ['id'])
        batch_op.create_unique_constraint(op.f('uq_proposals_previous_proposal_id'), ['previous_proposal_id'])


def downgrade():
    with op.batch_alter_table('proposals', schema=None) as batch_op:
        batch_op.drop_constraint(op.f('uq_proposals_previous_proposal_id'), type_='unique')
        batch_op.drop_constraint(op.f('fk_proposals_previous_proposal_id_proposals'), type_='foreignkey')
        batch_op.drop_column('previous_proposal_id')
    with op.batch_alter_table('calls', schema=None) as batch_op:
        batch_op.drop_constraint(op.f('ck_calls_stage_index_in_order'), type_='check')
        batch_op.drop_constraint(op.f('ck_calls_stage_has_key'), type_='check')
        batch_op.drop_constraint(op.f('ck_calls_cap_within_budget'), type_='check')
        batch_op.drop_constraint(op.f('ck_calls_budget_positive'), type_='check')
        batch_op.create_check_constraint(op.f('ck_calls_budget_positive'), 'budget > 0')
        batch_op.create_check_constraint(op.f('ck_calls_cap_within_budget'),
                                         'per_initiative_cap > 0 AND per_initiative_cap <= budget')
        batch_op.drop_constraint('uq_calls_parent_stage_index', type_='unique')
        batch_op.drop_index(batch_op.f('ix_calls_parent_id'))
        batch_op.drop_constraint(op.f('fk_calls_parent_id_calls'), type_='foreignkey')
        batch_op.drop_column('stage_key')
        batch_op.drop_column('stage_index')
        batch_op.drop_column('parent_id')
