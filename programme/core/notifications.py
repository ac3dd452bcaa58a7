"""The notification outbox: every notification is a row, visible in the app; the mail sender (``core.mail``) mails
it when mail is on, and its ``mail_state`` says how that went."""

from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import CheckConstraint, ForeignKey, Index, String, Text, false
from sqlalchemy.orm import Mapped, Session, mapped_column

from programme.core.db import Base, state_enum, utcnow
from programme.core.texts import lazy_gettext as _l


class MailState(enum.StrEnum):
    """Where a notification's e-mail is (``core.mail`` explains the life of a message)."""

    PENDING = "pending"      # waiting for its first attempt, or for its next one after a failure
    SENDING = "sending"      # claimed by a sender, which is talking to the mail server now
    SENT = "sent"            # the mail server accepted it
    UNCERTAIN = "uncertain"  # claimed, but the outcome is unknown (it may have arrived): never resent by itself
    FAILED = "failed"        # the dead letter: every attempt failed; a programme manager may send it again
    # Written before the programme mailed its notifications (migration 0019): shown in the app only, never mailed (a
    # backlog of old messages, some with links long expired, is not sent when mail is first turned on).
    IN_APP_ONLY = "in_app_only"

    @property
    def label(self) -> str:
        """The state in words, in the language being answered."""
        return str(MAIL_STATE_LABELS[self.value])


#: The mail states in words (the outbox page, and a refusal to send a message again).
MAIL_STATE_LABELS = {"pending": _l("waiting"), "sending": _l("being sent"), "sent": _l("sent"),
                     "uncertain": _l("outcome unknown"), "failed": _l("not delivered"),
                     "in_app_only": _l("shown in the app only")}


class Notification(Base):
    __tablename__ = "notifications"
    __table_args__ = (
        # A person's unread count on every page they open: counted from this index alone.
        Index("ix_notifications_user_unread", "user_id", "read_at"),
        # The sender's question every minute: which messages are due (migration 0019).
        Index("ix_notifications_mail_queue", "mail_state", "next_attempt_at"),
        CheckConstraint("mail_attempts >= 0", name="mail_attempts_not_negative"),
        CheckConstraint("mail_state <> 'sent' OR sent_at IS NOT NULL", name="mail_sent_has_time"),
        CheckConstraint("mail_state <> 'sending' OR claimed_at IS NOT NULL", name="mail_sending_is_claimed"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), index=True)
    email: Mapped[str] = mapped_column(String(255))
    subject: Mapped[str] = mapped_column(String(255))
    body: Mapped[str] = mapped_column(Text)
    link: Mapped[str | None] = mapped_column(String(500))
    # The link carries a secret (an enrolment, verification or reset token): it is mailed, never shown in the app.
    link_secret: Mapped[bool] = mapped_column(default=False, server_default=false())
    read_at: Mapped[datetime | None]
    # The mail: its state, how many attempts were made, when the next one is due (None: at once), when a sender
    # claimed it, when the server accepted it, and the last error.
    mail_state: Mapped[MailState] = mapped_column(state_enum(MailState, "mail_state"), default=MailState.PENDING,
                                                  server_default=MailState.PENDING.value)
    mail_attempts: Mapped[int] = mapped_column(default=0, server_default="0")
    next_attempt_at: Mapped[datetime | None]
    claimed_at: Mapped[datetime | None]
    sent_at: Mapped[datetime | None]
    send_error: Mapped[str | None] = mapped_column(String(500))


def notify(
    session: Session, *, email: str, subject: str, body: str, user_id: int | None = None,
    link: str | None = None, link_secret: bool = False,
) -> Notification:
    """Put a notification in the outbox (shown in the app; mailed when mail is enabled). A ``link_secret`` link
    (one that carries a token) goes in the mail only: the app shows that a link was mailed, not the link."""
    note = Notification(user_id=user_id, email=email, subject=subject, body=body, link=link, link_secret=link_secret)
    session.add(note)
    return note
