"""The scheduled jobs of the review: reminders before the deadline, late reviews flagged to the managers."""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime

from sqlalchemy import select

from programme.accounts.models import User, UserRole
from programme.calls.models import Call, CallStatus
from programme.core import audit
from programme.core.access import Actor, Role
from programme.core.i18n import speaking_to
from programme.core.notifications import notify
from programme.core.texts import gettext as _
from programme.core.timezone import format_local
from programme.extensions import db
from programme.reviews.models import Review, ReviewStatus


def _managers() -> list[User]:
    return list(db.session.scalars(
        select(User).join(UserRole, UserRole.user_id == User.id)
        .where(UserRole.role == Role.PROGRAMME_MANAGER, User.active.is_(True))
    ))


def remind_reviewers(*, actor: Actor, now: datetime, timezone: str) -> int:
    """Remind each reviewer once of its unsubmitted reviews when the deadline is within the rules' days (the
    deadline written in the programme's time zone, ``timezone``). Run twice, the second run sends nothing. Returns
    how many reviews were reminded."""
    reminded = 0
    calls = db.session.scalars(select(Call).where(Call.status == CallStatus.REVIEWING,
                                                  Call.review_deadline > now)).all()
    for call in calls:
        days = call.rules.scoring.review_reminder_days
        if call.review_deadline is None or (call.review_deadline - now).total_seconds() > days * 86400:
            continue
        due = db.session.scalars(
            select(Review).where(Review.call_id == call.id, Review.status != ReviewStatus.SUBMITTED,
                                 Review.reminded_at.is_(None)).order_by(Review.reviewer_id, Review.id)
            .with_for_update(skip_locked=True, of=Review)
        ).all()
        by_reviewer: dict[int, list[Review]] = defaultdict(list)
        for review in due:
            review.reminded_at = now
            by_reviewer[review.reviewer_id].append(review)
        for reviewer_id, reviews in by_reviewer.items():
            user = reviews[0].reviewer
            with speaking_to(user):  # the reviewer's language, though a scheduled job writes it
                subject = _("Reviews due for %(reference)s", reference=call.reference)
                body = _("%(count)s of your reviews for %(name)s are not submitted yet; the review deadline is "
                         "%(deadline)s.", count=len(reviews), name=call.name,
                         deadline=format_local(call.review_deadline, timezone))
            notify(db.session, email=user.email, user_id=reviewer_id, subject=subject, body=body,
                   link=f"/reviewing/calls/{call.id}")
        reminded += len(due)
        if due:
            audit.record(db.session, actor, "review.reminders_sent", call, reviews=len(due), reviewers=len(by_reviewer))
    return reminded


def flag_late_reviews(*, actor: Actor, now: datetime) -> int:
    """After the deadline, flag each unsubmitted review as late once, and tell the managers. Idempotent."""
    flagged = 0
    calls = db.session.scalars(select(Call).where(Call.status == CallStatus.REVIEWING,
                                                  Call.review_deadline <= now)).all()
    managers = _managers() if calls else []
    for call in calls:
        late = db.session.scalars(
            select(Review).where(Review.call_id == call.id, Review.status != ReviewStatus.SUBMITTED,
                                 Review.late_flagged_at.is_(None)).with_for_update(skip_locked=True, of=Review)
        ).all()
        if not late:
            continue
        for review in late:
            review.late_flagged_at = now
        flagged += len(late)
        reviewers = len({r.reviewer_id for r in late})
        for manager in managers:
            with speaking_to(manager):
                subject = _("%(count)s late review(s) in %(reference)s", count=len(late), reference=call.reference)
                body = _("The review deadline of %(name)s has passed with %(count)s review(s) by %(reviewers)s "
                         "reviewer(s) not submitted. Reassign them or extend the deadline.", name=call.name,
                         count=len(late), reviewers=reviewers)
            notify(db.session, email=manager.email, user_id=manager.id, subject=subject, body=body,
                   link=f"/calls/{call.id}/review/assignments")
        audit.record(db.session, actor, "review.late_flagged", call, reviews=len(late), reviewers=reviewers)
    return flagged
