"""Mutual guarantees on loans (issue 18): loan guarantees, guarantee calls, guarantors' obligations and what is
collected on them; a loan's principal moved to its guarantors; three ledger account kinds (guarantee_receivable,
guarantee_write_offs: debit-normal; guarantor_credit: credit-normal).

Revision ID: 0022
Revises: 0021
Create Date: 2026-12-10 10:00:00

"""
import sqlalchemy as sa
from alembic import op

import programme.core.db

revision = '0022'
down_revision = '0021'
branch_labels = None
depends_on = None

MINE = ("guarantee_receivable", "guarantor_credit", "guarantee_write_offs")
MINE_DEBIT = ("guarantee_receivable", "guarantee_write_offs")


def _quoted(values):
    return ", ".join(f"'{v}'" for v in values)


def _ledger_kinds():
    """Every kind the code knows, and the debit-normal ones: read from the model, not written out here, because
    other migrations of the same issue add kinds of their own to the same check constraints."""
    from programme.ledger.models import NORMAL_SIDE, AccountKind, Side

    kinds = [kind.value for kind in AccountKind]
    debit = [kind.value for kind in AccountKind if NORMAL_SIDE[kind] is Side.DEBIT]
    return kinds, debit


def _account_kinds(kinds, debit_kinds):
    with op.batch_alter_table('ledger_accounts', schema=None) as batch_op:
        batch_op.drop_constraint(op.f('ck_ledger_accounts_kind'), type_='check')
        batch_op.drop_constraint(op.f('ck_ledger_accounts_side_of_kind'), type_='check')
        batch_op.create_check_constraint(op.f('ck_ledger_accounts_kind'), sa.text(f"kind IN ({_quoted(kinds)})"))
        batch_op.create_check_constraint(
            op.f('ck_ledger_accounts_side_of_kind'),
            sa.text(f"(kind IN ({_quoted(debit_kinds)})) = (normal_side = 'debit')"),
        )


def upgrade():
    kinds, debit = _ledger_kinds()
    _account_kinds(kinds, debit)
    with op.batch_alter_table('loans', schema=None) as batch_op:
        batch_op.add_column(sa.Column('guarantees_called', sa.Numeric(precision=14, scale=2), server_default='0',
                                      nullable=False))

    op.create_table('loan_guarantees',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('loan_id', sa.Integer(), nullable=False),
    sa.Column('guarantor_id', sa.Integer(), nullable=False),
    sa.Column('share', sa.Numeric(precision=7, scale=6), nullable=True),
    sa.Column('amount', sa.Numeric(precision=14, scale=2), nullable=True),
    sa.Column('status', sa.Enum('active', 'released', 'called', name='status', native_enum=False,
                                create_constraint=True), nullable=False),
    sa.Column('added_by_id', sa.Integer(), nullable=True),
    sa.Column('added_at', programme.core.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('released_by_id', sa.Integer(), nullable=True),
    sa.Column('released_at', programme.core.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('release_reason', sa.Text(), nullable=False),
    sa.CheckConstraint('(share IS NULL) <> (amount IS NULL)', name=op.f('ck_loan_guarantees_share_or_amount')),
    sa.CheckConstraint('share IS NULL OR (share > 0 AND share <= 1)', name=op.f('ck_loan_guarantees_share_within_one')),
    sa.CheckConstraint('amount IS NULL OR amount > 0', name=op.f('ck_loan_guarantees_amount_positive')),
    sa.CheckConstraint("status <> 'released' OR (released_at IS NOT NULL AND length(trim(release_reason)) > 0)",
                       name=op.f('ck_loan_guarantees_released_has_reason')),
    sa.ForeignKeyConstraint(['loan_id'], ['loans.id'], name=op.f('fk_loan_guarantees_loan_id_loans')),
    sa.ForeignKeyConstraint(['guarantor_id'], ['organisations.id'],
                            name=op.f('fk_loan_guarantees_guarantor_id_organisations')),
    sa.ForeignKeyConstraint(['added_by_id'], ['users.id'], name=op.f('fk_loan_guarantees_added_by_id_users')),
    sa.ForeignKeyConstraint(['released_by_id'], ['users.id'], name=op.f('fk_loan_guarantees_released_by_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_loan_guarantees'))
    )
    with op.batch_alter_table('loan_guarantees', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_loan_guarantees_loan_id'), ['loan_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_loan_guarantees_guarantor_id'), ['guarantor_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_loan_guarantees_status'), ['status'], unique=False)
        batch_op.create_index('uq_loan_guarantee_active', ['loan_id', 'guarantor_id'], unique=True,
                              sqlite_where=sa.text("status = 'active'"), postgresql_where=sa.text("status = 'active'"))

    op.create_table('guarantee_calls',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('loan_id', sa.Integer(), nullable=False),
    sa.Column('status', sa.Enum('requested', 'called', 'rejected', name='status', native_enum=False,
                                create_constraint=True), nullable=False),
    sa.Column('on_date', sa.Date(), nullable=False),
    sa.Column('owed_when_asked', sa.Numeric(precision=14, scale=2), nullable=False),
    sa.Column('reason', sa.Text(), nullable=False),
    sa.Column('requested_by_id', sa.Integer(), nullable=True),
    sa.Column('requested_at', programme.core.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('decided_by_id', sa.Integer(), nullable=True),
    sa.Column('decided_at', programme.core.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('decision_note', sa.Text(), nullable=False),
    sa.Column('owed', sa.Numeric(precision=14, scale=2), nullable=True),
    sa.Column('called', sa.Numeric(precision=14, scale=2), nullable=True),
    sa.Column('journal_entry_id', sa.Integer(), nullable=True),
    sa.CheckConstraint('owed_when_asked > 0', name=op.f('ck_guarantee_calls_owed_positive')),
    sa.CheckConstraint('length(trim(reason)) > 0', name=op.f('ck_guarantee_calls_reason_given')),
    sa.CheckConstraint("status = 'requested' OR (decided_by_id IS NOT NULL AND decided_at IS NOT NULL)",
                       name=op.f('ck_guarantee_calls_decided_by_someone')),
    sa.CheckConstraint("status <> 'rejected' OR length(trim(decision_note)) > 0",
                       name=op.f('ck_guarantee_calls_rejected_has_reason')),
    sa.CheckConstraint("status <> 'called' OR (journal_entry_id IS NOT NULL AND owed IS NOT NULL AND called > 0 "
                       "AND called <= owed)", name=op.f('ck_guarantee_calls_called_is_posted')),
    sa.ForeignKeyConstraint(['loan_id'], ['loans.id'], name=op.f('fk_guarantee_calls_loan_id_loans')),
    sa.ForeignKeyConstraint(['requested_by_id'], ['users.id'], name=op.f('fk_guarantee_calls_requested_by_id_users')),
    sa.ForeignKeyConstraint(['decided_by_id'], ['users.id'], name=op.f('fk_guarantee_calls_decided_by_id_users')),
    sa.ForeignKeyConstraint(['journal_entry_id'], ['journal_entries.id'],
                            name=op.f('fk_guarantee_calls_journal_entry_id_journal_entries')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_guarantee_calls')),
    sa.UniqueConstraint('journal_entry_id', name=op.f('uq_guarantee_calls_journal_entry_id'))
    )
    with op.batch_alter_table('guarantee_calls', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_guarantee_calls_loan_id'), ['loan_id'], unique=False)
        batch_op.create_index('uq_guarantee_call_live', ['loan_id'], unique=True,
                              sqlite_where=sa.text("status <> 'rejected'"),
                              postgresql_where=sa.text("status <> 'rejected'"))

    op.create_table('guarantee_obligations',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('call_id', sa.Integer(), nullable=False),
    sa.Column('guarantee_id', sa.Integer(), nullable=False),
    sa.Column('loan_id', sa.Integer(), nullable=False),
    sa.Column('guarantor_id', sa.Integer(), nullable=False),
    sa.Column('amount', sa.Numeric(precision=14, scale=2), nullable=False),
    sa.Column('collected', sa.Numeric(precision=14, scale=2), nullable=False),
    sa.Column('credit', sa.Numeric(precision=14, scale=2), nullable=False),
    sa.Column('written_off', sa.Numeric(precision=14, scale=2), nullable=False),
    sa.Column('write_off_reason', sa.Text(), nullable=False),
    sa.Column('write_off_on', sa.Date(), nullable=True),
    sa.Column('write_off_asked_by_id', sa.Integer(), nullable=True),
    sa.Column('write_off_asked_at', programme.core.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('written_off_by_id', sa.Integer(), nullable=True),
    sa.CheckConstraint('amount > 0', name=op.f('ck_guarantee_obligations_amount_positive')),
    sa.CheckConstraint('collected >= 0 AND credit >= 0 AND written_off >= 0',
                       name=op.f('ck_guarantee_obligations_parts_not_negative')),
    sa.CheckConstraint('round((collected + written_off) * 100) <= round(amount * 100)',
                       name=op.f('ck_guarantee_obligations_within_amount')),
    sa.CheckConstraint("write_off_asked_by_id IS NULL OR (length(trim(write_off_reason)) > 0 AND write_off_on "
                       "IS NOT NULL)", name=op.f('ck_guarantee_obligations_write_off_has_reason')),
    sa.ForeignKeyConstraint(['call_id'], ['guarantee_calls.id'], name=op.f('fk_guarantee_obligations_call_id_guarantee_calls')),
    sa.ForeignKeyConstraint(['guarantee_id'], ['loan_guarantees.id'],
                            name=op.f('fk_guarantee_obligations_guarantee_id_loan_guarantees')),
    sa.ForeignKeyConstraint(['loan_id'], ['loans.id'], name=op.f('fk_guarantee_obligations_loan_id_loans')),
    sa.ForeignKeyConstraint(['guarantor_id'], ['organisations.id'],
                            name=op.f('fk_guarantee_obligations_guarantor_id_organisations')),
    sa.ForeignKeyConstraint(['write_off_asked_by_id'], ['users.id'],
                            name=op.f('fk_guarantee_obligations_write_off_asked_by_id_users')),
    sa.ForeignKeyConstraint(['written_off_by_id'], ['users.id'],
                            name=op.f('fk_guarantee_obligations_written_off_by_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_guarantee_obligations')),
    sa.UniqueConstraint('guarantee_id', name=op.f('uq_guarantee_obligations_guarantee_id'))
    )
    with op.batch_alter_table('guarantee_obligations', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_guarantee_obligations_call_id'), ['call_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_guarantee_obligations_loan_id'), ['loan_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_guarantee_obligations_guarantor_id'), ['guarantor_id'], unique=False)

    op.create_table('guarantee_collections',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('obligation_id', sa.Integer(), nullable=False),
    sa.Column('amount', sa.Numeric(precision=14, scale=2), nullable=False),
    sa.Column('applied', sa.Numeric(precision=14, scale=2), nullable=False),
    sa.Column('credit', sa.Numeric(precision=14, scale=2), nullable=False),
    sa.Column('value_date', sa.Date(), nullable=False),
    sa.Column('bank_reference', sa.String(length=100), nullable=False),
    sa.Column('recorded_by_id', sa.Integer(), nullable=True),
    sa.Column('recorded_at', programme.core.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('journal_entry_id', sa.Integer(), nullable=False),
    sa.CheckConstraint('amount > 0 AND applied >= 0 AND credit >= 0',
                       name=op.f('ck_guarantee_collections_amounts_valid')),
    sa.CheckConstraint('round((applied + credit) * 100) = round(amount * 100)',
                       name=op.f('ck_guarantee_collections_parts_add_up')),
    sa.ForeignKeyConstraint(['obligation_id'], ['guarantee_obligations.id'],
                            name=op.f('fk_guarantee_collections_obligation_id_guarantee_obligations')),
    sa.ForeignKeyConstraint(['recorded_by_id'], ['users.id'], name=op.f('fk_guarantee_collections_recorded_by_id_users')),
    sa.ForeignKeyConstraint(['journal_entry_id'], ['journal_entries.id'],
                            name=op.f('fk_guarantee_collections_journal_entry_id_journal_entries')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_guarantee_collections')),
    sa.UniqueConstraint('bank_reference', name=op.f('uq_guarantee_collections_bank_reference')),
    sa.UniqueConstraint('journal_entry_id', name=op.f('uq_guarantee_collections_journal_entry_id'))
    )
    with op.batch_alter_table('guarantee_collections', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_guarantee_collections_obligation_id'), ['obligation_id'], unique=False)


def downgrade():
    op.drop_table('guarantee_collections')
    op.drop_table('guarantee_obligations')
    with op.batch_alter_table('guarantee_calls', schema=None) as batch_op:
        batch_op.drop_index('uq_guarantee_call_live')
    op.drop_table('guarantee_calls')
    with op.batch_alter_table('loan_guarantees', schema=None) as batch_op:
        batch_op.drop_index('uq_loan_guarantee_active')
    op.drop_table('loan_guarantees')
    with op.batch_alter_table('loans', schema=None) as batch_op:
        batch_op.drop_column('guarantees_called')
    kinds, debit = _ledger_kinds()
    _account_kinds([k for k in kinds if k not in MINE], [k for k in debit if k not in MINE_DEBIT])
