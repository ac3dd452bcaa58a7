"""Notification centre (issue 16): an index of a person's notifications by read state (the unread count in the
navigation, counted on every page they open)

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-07 10:00:00

"""
from alembic import op


revision = '0016'
down_revision = '0015'
branch_labels = None
depends_on = None


def upgrade():
    op.create_index("ix_notifications_user_unread", "notifications", ["user_id", "read_at"])


def downgrade():
    op.drop_index("ix_notifications_user_unread", table_name="notifications")
