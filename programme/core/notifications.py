"""The notification outbox: every notification is a row, visible in the app; SMTP sends it if enabled."""

from __future__ import annotations

import smtplib
from datetime import datetime
from email.message import EmailMessage

from sqlalchemy import ForeignKey, Index, String, Text, false, select
from sqlalchemy.orm import Mapped, Session, mapped_column

from programme.core.db import Base, utcnow


class Notification(Base):
    __tablename__ = "notifications"
    # A person's unread count on every page they open: counted from this index alone.
    __table_args__ = (Index("ix_notifications_user_unread", "user_id", "read_at"),)

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


def send_pending(session: Session, config: dict, limit: int = 100) -> int:
    """Send unsent notifications by SMTP. Returns how many were sent; does nothing when mail is off."""
    if not config.get("MAIL_ENABLED"):
        return 0
    pending = session.scalars(
        select(Notification).where(Notification.sent_at.is_(None)).order_by(Notification.id).limit(limit)
    ).all()
    if not pending:
        return 0
    sent = 0
    with smtplib.SMTP(config["MAIL_SERVER"], config["MAIL_PORT"], timeout=30) as smtp:
        if config.get("MAIL_USE_TLS"):
            smtp.starttls()
        if config.get("MAIL_USERNAME"):
            smtp.login(config["MAIL_USERNAME"], config["MAIL_PASSWORD"] or "")
        for note in pending:
            message = EmailMessage()
            message["From"] = config["MAIL_SENDER"]
            message["To"] = note.email
            message["Subject"] = note.subject
            message.set_content(note.body + (f"\n\n{note.link}" if note.link else ""))
            try:
                smtp.send_message(message)
            except smtplib.SMTPException as exc:
                note.send_error = str(exc)[:500]
                continue
            note.sent_at = utcnow()
            sent += 1
    return sent
