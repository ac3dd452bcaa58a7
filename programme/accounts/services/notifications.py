"""A person's notification centre: their messages page by page, newest first, how many are unread, and marking
them read. A person reads and marks only their own notifications (another's id is "not found")."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select, update

from programme.core.access import Actor, NotFound
from programme.core.notifications import Notification
from programme.core.texts import gettext as _
from programme.extensions import db

PER_PAGE = 25


@dataclass(frozen=True)
class NotificationPage:
    items: list[Notification]
    count: int
    page: int
    pages: int


def _user_id(actor: Actor) -> int:
    user_id = getattr(actor, "id", None)
    if not isinstance(user_id, int):
        raise NotFound(_("No such notification."))
    return user_id


def notifications_page(*, actor: Actor, page: int, per_page: int = PER_PAGE) -> NotificationPage:
    """One page of the actor's notifications, newest first (a page past the last shows the last)."""
    user_id = _user_id(actor)
    mine = select(Notification).where(Notification.user_id == user_id)
    count = db.session.scalar(select(func.count()).select_from(mine.subquery())) or 0
    pages = max(1, -(-count // per_page))
    page = min(max(1, page), pages)
    items = list(db.session.scalars(
        mine.order_by(Notification.created_at.desc(), Notification.id.desc())
        .offset((page - 1) * per_page).limit(per_page)))
    return NotificationPage(items, count, page, pages)


def unread_count(user_id: int) -> int:
    """How many of the person's notifications are unread: one query on the (user_id, read_at) index."""
    return db.session.scalar(
        select(func.count()).select_from(Notification)
        .where(Notification.user_id == user_id, Notification.read_at.is_(None))
    ) or 0


def get_notification(notification_id: int, *, actor: Actor) -> Notification:
    """The actor's own notification; another person's (or none) is "not found"."""
    note = db.session.get(Notification, notification_id)
    if note is None or note.user_id is None or note.user_id != _user_id(actor):
        raise NotFound(_("No such notification."))
    return note


def mark_read(notification_id: int, *, actor: Actor, now: datetime) -> Notification:
    """Mark one of the actor's notifications read (already read: kept as it was). Flushes, never commits."""
    note = get_notification(notification_id, actor=actor)
    if note.read_at is None:
        note.read_at = now
        db.session.flush()
    return note


def mark_all_read(*, actor: Actor, now: datetime) -> int:
    """Mark every unread notification of the actor read; how many were. Flushes, never commits."""
    result = db.session.execute(
        update(Notification)
        .where(Notification.user_id == _user_id(actor), Notification.read_at.is_(None))
        .values(read_at=now)
        .execution_options(synchronize_session="fetch")
    )
    db.session.flush()
    return int(getattr(result, "rowcount", 0) or 0)
