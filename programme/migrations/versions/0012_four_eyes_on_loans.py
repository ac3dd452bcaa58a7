"""Four eyes on loans: loan approvals (new loans, write-offs, credit refunds), bank-statement imports checked by one
person and applied by a second (status, the checked rows, the file applied once)

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-06 10:20:00

"""
from alembic import op
import sqlalchemy as sa

import programme.core.db


revision = '0012'
down_revision = '0011'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('loan_approvals',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.Enum('new_loan', 'write_off', 'credit_refund', name='kind', native_enum=False,
                              create_constraint=True), nullable=False),
    sa.Column('status', sa.Enum('pending', 'approved', 'rejected', name='status', native_enum=False,
                                create_constraint=True), nullable=False),
    sa.Column('fund_id', sa.Integer(), nullable=False),
    sa.Column('loan_id', sa.Integer(), nullable=True),
    sa.Column('funding_request_id', sa.Integer(), nullable=True),
    sa.Column('amount', sa.Numeric(precision=14, scale=2), nullable=False),
    sa.Column('on_date', sa.Date(), nullable=False),
    sa.Column('bank_reference', sa.String(length=100), nullable=True),
    sa.Column('reason', sa.Text(), nullable=False),
    sa.Column('terms', sa.JSON(), nullable=True),
    sa.Column('requested_by_id', sa.Integer(), nullable=True),
    sa.Column('requested_at', programme.core.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('decided_by_id', sa.Integer(), nullable=True),
    sa.Column('decided_at', programme.core.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('decision_note', sa.Text(), nullable=False),
    sa.Column('journal_entry_id', sa.Integer(), nullable=True),
    sa.CheckConstraint('amount > 0', name=op.f('ck_loan_approvals_amount_positive')),
    sa.CheckConstraint('length(trim(reason)) > 0', name=op.f('ck_loan_approvals_reason_given')),
    sa.CheckConstraint("kind = 'new_loan' OR loan_id IS NOT NULL", name=op.f('ck_loan_approvals_names_its_loan')),
    sa.CheckConstraint("kind <> 'new_loan' OR terms IS NOT NULL", name=op.f('ck_loan_approvals_new_loan_has_terms')),
    sa.CheckConstraint("status = 'pending' OR (decided_by_id IS NOT NULL AND decided_at IS NOT NULL)",
                       name=op.f('ck_loan_approvals_decided_by_someone')),
    sa.CheckConstraint("status <> 'rejected' OR length(trim(decision_note)) > 0",
                       name=op.f('ck_loan_approvals_rejected_has_reason')),
    sa.CheckConstraint("status <> 'approved' OR kind <> 'new_loan' OR loan_id IS NOT NULL",
                       name=op.f('ck_loan_approvals_approved_loan_is_made')),
    sa.ForeignKeyConstraint(['fund_id'], ['revolving_funds.id'], name=op.f('fk_loan_approvals_fund_id_revolving_funds')),
    sa.ForeignKeyConstraint(['loan_id'], ['loans.id'], name=op.f('fk_loan_approvals_loan_id_loans')),
    sa.ForeignKeyConstraint(['funding_request_id'], ['funding_requests.id'],
                            name=op.f('fk_loan_approvals_funding_request_id_funding_requests')),
    sa.ForeignKeyConstraint(['requested_by_id'], ['users.id'], name=op.f('fk_loan_approvals_requested_by_id_users')),
    sa.ForeignKeyConstraint(['decided_by_id'], ['users.id'], name=op.f('fk_loan_approvals_decided_by_id_users')),
    sa.ForeignKeyConstraint(['journal_entry_id'], ['journal_entries.id'],
                            name=op.f('fk_loan_approvals_journal_entry_id_journal_entries')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_loan_approvals'))
    )
    with op.batch_alter_table('loan_approvals', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_loan_approvals_status'), ['status'], unique=False)
        batch_op.create_index(batch_op.f('ix_loan_approvals_fund_id'), ['fund_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_loan_approvals_loan_id'), ['loan_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_loan_approvals_funding_request_id'), ['funding_request_id'],
                              unique=False)
        batch_op.create_index('uq_loan_approval_pending', ['loan_id', 'kind'], unique=True,
                              sqlite_where=sa.text("status = 'pending'"),
                              postgresql_where=sa.text("status = 'pending'"))

    with op.batch_alter_table('bank_statement_imports', schema=None) as batch_op:
        batch_op.add_column(sa.Column('status', sa.Enum('checked', 'applied', 'rejected', name='status',
                                                        native_enum=False, create_constraint=False),
                                      server_default='applied', nullable=False))
        batch_op.add_column(sa.Column('decided_by_id', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('decided_at', programme.core.db.UTCDateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('rejection_reason', sa.Text(), server_default='', nullable=False))
        batch_op.create_foreign_key(batch_op.f('fk_bank_statement_imports_decided_by_id_users'), 'users',
                                    ['decided_by_id'], ['id'])
    # The imports made before were checked and applied in one step by one person: they are applied, then.
    op.execute("UPDATE bank_statement_imports SET decided_by_id = imported_by_id, decided_at = imported_at")
    with op.batch_alter_table('bank_statement_imports', schema=None) as batch_op:
        batch_op.create_check_constraint(op.f('ck_bank_statement_imports_status'),
                                         sa.text("status IN ('checked', 'applied', 'rejected')"))
        batch_op.create_check_constraint(op.f('ck_bank_statement_imports_decided_has_time'),
                                         sa.text("status = 'checked' OR decided_at IS NOT NULL"))
        batch_op.create_check_constraint(op.f('ck_bank_statement_imports_rejected_has_reason'),
                                         sa.text("status <> 'rejected' OR length(trim(rejection_reason)) > 0"))
        batch_op.create_index('uq_statement_file_once', ['sha256'], unique=True,
                              sqlite_where=sa.text("status <> 'rejected'"),
                              postgresql_where=sa.text("status <> 'rejected'"))

    op.create_table('bank_statement_lines',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('import_id', sa.Integer(), nullable=False),
    sa.Column('row', sa.Integer(), nullable=False),
    sa.Column('value_date', sa.Date(), nullable=False),
    sa.Column('amount', sa.Numeric(precision=14, scale=2), nullable=False),
    sa.Column('reference', sa.String(length=100), nullable=False),
    sa.Column('loan_id', sa.Integer(), nullable=False),
    sa.Column('loan_number', sa.String(length=30), nullable=False),
    sa.Column('already_applied', sa.Boolean(), nullable=False),
    sa.CheckConstraint('amount > 0', name=op.f('ck_bank_statement_lines_amount_positive')),
    sa.ForeignKeyConstraint(['import_id'], ['bank_statement_imports.id'],
                            name=op.f('fk_bank_statement_lines_import_id_bank_statement_imports')),
    sa.ForeignKeyConstraint(['loan_id'], ['loans.id'], name=op.f('fk_bank_statement_lines_loan_id_loans')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_bank_statement_lines')),
    sa.UniqueConstraint('import_id', 'row', name='uq_statement_line_row')
    )
    with op.batch_alter_table('bank_statement_lines', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_bank_statement_lines_import_id'), ['import_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_bank_statement_lines_loan_id'), ['loan_id'], unique=False)


def downgrade():
    with op.batch_alter_table('bank_statement_lines', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_bank_statement_lines_loan_id'))
        batch_op.drop_index(batch_op.f('ix_bank_statement_lines_import_id'))
    op.drop_table('bank_statement_lines')
    # Imports checked or rejected but never applied moved no money: they go with the four-eyes step.
    op.execute("DELETE FROM bank_statement_imports WHERE status <> 'applied'")
    with op.batch_alter_table('bank_statement_imports', schema=None) as batch_op:
        batch_op.drop_index('uq_statement_file_once')
        batch_op.drop_constraint(op.f('ck_bank_statement_imports_rejected_has_reason'), type_='check')
        batch_op.drop_constraint(op.f('ck_bank_statement_imports_decided_has_time'), type_='check')
        batch_op.drop_constraint(op.f('ck_bank_statement_imports_status'), type_='check')
        batch_op.drop_constraint(batch_op.f('fk_bank_statement_imports_decided_by_id_users'), type_='foreignkey')
        batch_op.drop_column('rejection_reason')
        batch_op.drop_column('decided_at')
        batch_op.drop_column('decided_by_id')
        batch_op.drop_column('status')
    with op.batch_alter_table('loan_approvals', schema=None) as batch_op:
        batch_op.drop_index('uq_loan_approval_pending')
        batch_op.drop_index(batch_op.f('ix_loan_approvals_funding_request_id'))
        batch_op.drop_index(batch_op.f('ix_loan_approvals_loan_id'))
        batch_op.drop_index(batch_op.f('ix_loan_approvals_fund_id'))
        batch_op.drop_index(batch_op.f('ix_loan_approvals_status'))
    op.drop_table('loan_approvals')
