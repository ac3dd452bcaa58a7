"""The audit log page's filters: an object's, a person's and an action's entries, each with its time.

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-06 10:20:00

"""

from alembic import op

revision = '0013'
down_revision = '0012'
branch_labels = None
depends_on = None


def upgrade():
    op.create_index("ix_audit_entries_object_at", "audit_entries", ["object_type", "object_id", "at"])
    op.create_index("ix_audit_entries_actor_at", "audit_entries", ["actor_id", "at"])
    op.create_index("ix_audit_entries_action_at", "audit_entries", ["action", "at"])


def downgrade():
    op.drop_index("ix_audit_entries_action_at", table_name="audit_entries")
    op.drop_index("ix_audit_entries_actor_at", table_name="audit_entries")
    op.drop_index("ix_audit_entries_object_at", table_name="audit_entries")
