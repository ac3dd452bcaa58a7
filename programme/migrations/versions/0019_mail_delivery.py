"""Mail that arrives (issue 17): each notification's mail state (pending, sending, sent, uncertain, failed), its
attempts, the time of its next attempt and of its claim by a sender; the sender's index. What was mailed before is
sent; what an earlier sender failed to mail is a dead letter (a manager may send it again); the rest was shown in the
app only and stays so (a backlog, some of its links long expired, is not mailed when mail is first turned on)

Revision ID: 0019
Revises: 0018
Create Date: 2026-12-09 10:00:00

"""
import sqlalchemy as sa
from alembic import op

import programme.core.db


revision = '0019'
down_revision = '0018'
branch_labels = None
depends_on = None

STATES = ('pending', 'sending', 'sent', 'uncertain', 'failed', 'in_app_only')


def upgrade():
    with op.batch_alter_table('notifications', schema=None) as batch_op:
        batch_op.add_column(sa.Column('mail_state', sa.Enum(*STATES, name='mail_state', native_enum=False,
                                                            create_constraint=False, length=11),
                                      server_default='pending', nullable=False))
        batch_op.add_column(sa.Column('mail_attempts', sa.Integer(), server_default='0', nullable=False))
        batch_op.add_column(sa.Column('next_attempt_at', programme.core.db.UTCDateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('claimed_at', programme.core.db.UTCDateTime(timezone=True), nullable=True))
    op.execute("UPDATE notifications SET mail_state = 'sent' WHERE sent_at IS NOT NULL")
    op.execute("UPDATE notifications SET mail_state = 'failed' WHERE sent_at IS NULL AND send_error IS NOT NULL")
    op.execute("UPDATE notifications SET mail_state = 'in_app_only' WHERE sent_at IS NULL AND send_error IS NULL")
    with op.batch_alter_table('notifications', schema=None) as batch_op:
        batch_op.create_check_constraint(op.f('ck_notifications_mail_state'),
                                         "mail_state IN ('pending', 'sending', 'sent', 'uncertain', 'failed', 'in_app_only')")
        batch_op.create_check_constraint(op.f('ck_notifications_mail_attempts_not_negative'), 'mail_attempts >= 0')
        batch_op.create_check_constraint(op.f('ck_notifications_mail_sent_has_time'),
                                         "mail_state <> 'sent' OR sent_at IS NOT NULL")
        batch_op.create_check_constraint(op.f('ck_notifications_mail_sending_is_claimed'),
                                         "mail_state <> 'sending' OR claimed_at IS NOT NULL")
        batch_op.create_index('ix_notifications_mail_queue', ['mail_state', 'next_attempt_at'], unique=False)


def downgrade():
    with op.batch_alter_table('notifications', schema=None) as batch_op:
        batch_op.drop_index('ix_notifications_mail_queue')
        batch_op.drop_constraint(op.f('ck_notifications_mail_sending_is_claimed'), type_='check')
        batch_op.drop_constraint(op.f('ck_notifications_mail_sent_has_time'), type_='check')
        batch_op.drop_constraint(op.f('ck_notifications_mail_attempts_not_negative'), type_='check')
        batch_op.drop_constraint(op.f('ck_notifications_mail_state'), type_='check')
        batch_op.drop_column('claimed_at')
        batch_op.drop_column('next_attempt_at')
        batch_op.drop_column('mail_attempts')
        batch_op.drop_column('mail_state')
