"""The facilitation fund (issue 18)

Revision ID: 0021
Revises: 0020
Create Date: 2026-12-10 10:00:00

"""
import sqlalchemy as sa  # noqa: F401
from alembic import op  # noqa: F401

import programme.core.db  # noqa: F401

revision = '0021'
down_revision = '0020'
branch_labels = None
depends_on = None

OLD_KINDS = ('startup', 'matching')
NEW_KINDS = OLD_KINDS + ('facilitation',)


def _grant_kinds(values, length):
    quoted = ", ".join(f"'{v}'" for v in values)
    with op.batch_alter_table('grants', schema=None) as batch_op:
        batch_op.drop_constraint(op.f('ck_grants_kind'), type_='check')
        batch_op.alter_column('kind', existing_type=sa.String(length=12 if length == 8 else 8),
                              type_=sa.String(length=length), existing_nullable=False)
        batch_op.create_check_constraint(op.f('ck_grants_kind'), sa.text(f"kind IN ({quoted})"))


def upgrade():
    _grant_kinds(NEW_KINDS, 12)
    with op.batch_alter_table('grants', schema=None) as batch_op:
        batch_op.create_index('uq_grants_one_facilitation', ['initiative_id'], unique=True,
                              sqlite_where=sa.text("kind = 'facilitation'"),
                              postgresql_where=sa.text("kind = 'facilitation'"))
    op.create_table(
        'facilitation_claims',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('initiative_id', sa.Integer(), nullable=False),
        sa.Column('currency', sa.String(length=3), nullable=False),
        sa.Column('costs', sa.Numeric(precision=14, scale=2), nullable=False),
        sa.Column('amount', sa.Numeric(precision=14, scale=2), nullable=False),
        sa.Column('costs_from', sa.Date(), nullable=False),
        sa.Column('costs_until', sa.Date(), nullable=False),
        sa.Column('note', sa.Text(), nullable=False),
        sa.Column('status', sa.Enum('submitted', 'verified', 'refused', name='status', native_enum=False,
                                    create_constraint=True), nullable=False),
        sa.Column('submitted_by_id', sa.Integer(), nullable=True),
        sa.Column('submitted_at', programme.core.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column('verified_by_id', sa.Integer(), nullable=True),
        sa.Column('verified_at', programme.core.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column('refused_by_id', sa.Integer(), nullable=True),
        sa.Column('refused_at', programme.core.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column('refusal_reason', sa.Text(), nullable=True),
        sa.Column('grant_id', sa.Integer(), nullable=True),
        sa.Column('disbursement_id', sa.Integer(), nullable=True),
        sa.CheckConstraint('amount > 0 AND round(amount * 100) <= round(costs * 100)',
                           name=op.f('ck_facilitation_claims_amount_within_costs')),
        sa.CheckConstraint('costs_from <= costs_until', name=op.f('ck_facilitation_claims_costs_dated')),
        sa.CheckConstraint(
            "(status = 'verified') = (verified_at IS NOT NULL AND verified_by_id IS NOT NULL"
            " AND disbursement_id IS NOT NULL AND grant_id IS NOT NULL)",
            name=op.f('ck_facilitation_claims_verified_has_tranche')),
        sa.CheckConstraint(
            "(status = 'refused') = (refused_at IS NOT NULL AND length(trim(coalesce(refusal_reason, ''))) > 0)",
            name=op.f('ck_facilitation_claims_refused_has_reason')),
        sa.CheckConstraint('verified_by_id IS NULL OR submitted_by_id IS NULL OR verified_by_id <> submitted_by_id',
                           name=op.f('ck_facilitation_claims_verifier_not_submitter')),
        sa.CheckConstraint('refused_by_id IS NULL OR submitted_by_id IS NULL OR refused_by_id <> submitted_by_id',
                           name=op.f('ck_facilitation_claims_refuser_not_submitter')),
        sa.ForeignKeyConstraint(['disbursement_id'], ['disbursements.id'],
                                name=op.f('fk_facilitation_claims_disbursement_id_disbursements')),
        sa.ForeignKeyConstraint(['grant_id'], ['grants.id'], name=op.f('fk_facilitation_claims_grant_id_grants')),
        sa.ForeignKeyConstraint(['initiative_id'], ['initiatives.id'],
                                name=op.f('fk_facilitation_claims_initiative_id_initiatives')),
        sa.ForeignKeyConstraint(['refused_by_id'], ['users.id'], name=op.f('fk_facilitation_claims_refused_by_id_users')),
        sa.ForeignKeyConstraint(['submitted_by_id'], ['users.id'],
                                name=op.f('fk_facilitation_claims_submitted_by_id_users')),
        sa.ForeignKeyConstraint(['verified_by_id'], ['users.id'],
                                name=op.f('fk_facilitation_claims_verified_by_id_users')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_facilitation_claims')),
        sa.UniqueConstraint('disbursement_id', name=op.f('uq_facilitation_claims_disbursement_id')),
    )
    with op.batch_alter_table('facilitation_claims', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_facilitation_claims_grant_id'), ['grant_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_facilitation_claims_initiative_id'), ['initiative_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_facilitation_claims_status'), ['status'], unique=False)
    op.create_table(
        'facilitation_cost_items',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('claim_id', sa.Integer(), nullable=False),
        sa.Column('position', sa.Integer(), nullable=False),
        sa.Column('kind', sa.String(length=40), nullable=False),
        sa.Column('description', sa.Text(), nullable=False),
        sa.Column('incurred_on', sa.Date(), nullable=False),
        sa.Column('amount', sa.Numeric(precision=14, scale=2), nullable=False),
        sa.Column('evidence_name', sa.String(length=255), nullable=False),
        sa.Column('evidence_stored_name', sa.String(length=80), nullable=False),
        sa.Column('evidence_content_type', sa.String(length=120), nullable=False),
        sa.Column('evidence_size_bytes', sa.Integer(), nullable=False),
        sa.Column('evidence_sha256', sa.String(length=64), nullable=False),
        sa.CheckConstraint('amount > 0', name=op.f('ck_facilitation_cost_items_amount_positive')),
        sa.CheckConstraint('length(trim(description)) > 0', name=op.f('ck_facilitation_cost_items_description_given')),
        sa.ForeignKeyConstraint(['claim_id'], ['facilitation_claims.id'],
                                name=op.f('fk_facilitation_cost_items_claim_id_facilitation_claims'),
                                ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_facilitation_cost_items')),
        sa.UniqueConstraint('claim_id', 'position', name='uq_facilitation_item_position'),
        sa.UniqueConstraint('evidence_stored_name', name=op.f('uq_facilitation_cost_items_evidence_stored_name')),
    )
    with op.batch_alter_table('facilitation_cost_items', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_facilitation_cost_items_claim_id'), ['claim_id'], unique=False)


def downgrade():
    with op.batch_alter_table('facilitation_cost_items', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_facilitation_cost_items_claim_id'))
    op.drop_table('facilitation_cost_items')
    with op.batch_alter_table('facilitation_claims', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_facilitation_claims_status'))
        batch_op.drop_index(batch_op.f('ix_facilitation_claims_initiative_id'))
        batch_op.drop_index(batch_op.f('ix_facilitation_claims_grant_id'))
    op.drop_table('facilitation_claims')
    # The facilitation grants' tranches go with them (nothing else refers to a facilitation grant).
    op.execute("DELETE FROM disbursements WHERE grant_id IN (SELECT id FROM grants WHERE kind = 'facilitation')")
    op.execute("DELETE FROM grants WHERE kind = 'facilitation'")
    with op.batch_alter_table('grants', schema=None) as batch_op:
        batch_op.drop_index('uq_grants_one_facilitation')
    _grant_kinds(OLD_KINDS, 8)
