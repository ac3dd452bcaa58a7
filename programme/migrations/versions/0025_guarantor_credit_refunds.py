"""Refunds of a guarantor's credit (issue 18): guarantor_credit_refunds, asked for by one fund administrator and
posted when a second person approves (Dr guarantor_credit:obligation, Cr revolving_fund_cash:fund); a bank
reference once among the refunds not rejected, one refund waiting per obligation.

Revision ID: 0025
Revises: 0024
Create Date: 2026-12-12 00:30:00

"""
import sqlalchemy as sa
from alembic import op

import programme.core.db

revision = '0025'
down_revision = '0024'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('guarantor_credit_refunds',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('obligation_id', sa.Integer(), nullable=False),
    sa.Column('status', sa.Enum('requested', 'refunded', 'rejected', name='status', native_enum=False,
                                create_constraint=True), nullable=False),
    sa.Column('amount', sa.Numeric(precision=14, scale=2), nullable=False),
    sa.Column('value_date', sa.Date(), nullable=False),
    sa.Column('bank_reference', sa.String(length=100), nullable=False),
    sa.Column('reason', sa.Text(), nullable=False),
    sa.Column('requested_by_id', sa.Integer(), nullable=True),
    sa.Column('requested_at', programme.core.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('decided_by_id', sa.Integer(), nullable=True),
    sa.Column('decided_at', programme.core.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('decision_note', sa.Text(), nullable=False),
    sa.Column('journal_entry_id', sa.Integer(), nullable=True),
    sa.CheckConstraint('amount > 0', name=op.f('ck_guarantor_credit_refunds_amount_positive')),
    sa.CheckConstraint('length(trim(reason)) > 0', name=op.f('ck_guarantor_credit_refunds_reason_given')),
    sa.CheckConstraint("status = 'requested' OR (decided_by_id IS NOT NULL AND decided_at IS NOT NULL)",
                       name=op.f('ck_guarantor_credit_refunds_decided_by_someone')),
    sa.CheckConstraint("status <> 'rejected' OR length(trim(decision_note)) > 0",
                       name=op.f('ck_guarantor_credit_refunds_rejected_has_reason')),
    sa.CheckConstraint("(status = 'refunded') = (journal_entry_id IS NOT NULL)",
                       name=op.f('ck_guarantor_credit_refunds_refunded_is_posted')),
    sa.ForeignKeyConstraint(['obligation_id'], ['guarantee_obligations.id'],
                            name=op.f('fk_guarantor_credit_refunds_obligation_id_guarantee_obligations')),
    sa.ForeignKeyConstraint(['requested_by_id'], ['users.id'],
                            name=op.f('fk_guarantor_credit_refunds_requested_by_id_users')),
    sa.ForeignKeyConstraint(['decided_by_id'], ['users.id'], name=op.f('fk_guarantor_credit_refunds_decided_by_id_users')),
    sa.ForeignKeyConstraint(['journal_entry_id'], ['journal_entries.id'],
                            name=op.f('fk_guarantor_credit_refunds_journal_entry_id_journal_entries')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_guarantor_credit_refunds')),
    sa.UniqueConstraint('journal_entry_id', name=op.f('uq_guarantor_credit_refunds_journal_entry_id'))
    )
    with op.batch_alter_table('guarantor_credit_refunds', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_guarantor_credit_refunds_obligation_id'), ['obligation_id'], unique=False)
        batch_op.create_index('uq_guarantor_credit_refund_reference', ['bank_reference'], unique=True,
                              sqlite_where=sa.text("status <> 'rejected'"),
                              postgresql_where=sa.text("status <> 'rejected'"))
        batch_op.create_index('uq_guarantor_credit_refund_waiting', ['obligation_id'], unique=True,
                              sqlite_where=sa.text("status = 'requested'"),
                              postgresql_where=sa.text("status = 'requested'"))


def downgrade():
    with op.batch_alter_table('guarantor_credit_refunds', schema=None) as batch_op:
        batch_op.drop_index('uq_guarantor_credit_refund_waiting')
        batch_op.drop_index('uq_guarantor_credit_refund_reference')
        batch_op.drop_index(batch_op.f('ix_guarantor_credit_refunds_obligation_id'))
    op.drop_table('guarantor_credit_refunds')
