"""The scheduled jobs of the review: reminders before the deadline (once per reviewer with unsubmitted
reviews, within the rules' days), late reviews flagged to the managers after it (once), and a changed
deadline that starts both again."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from sqlalchemy import select

from programme.core.access import AccessDenied, Role, RuleViolation
from programme.core.audit import AuditEntry
from programme.core.notifications import Notification
from programme.extensions import db
from programme.reviews import services
from programme.reviews.models import Review
from tests.conftest import SETUP
from tests.reviews.world import DEADLINE, DURING, assign, build, card, review_of, submit_review, user

DAY = timedelta(days=1)
REMINDER = DEADLINE - 3 * DAY  # review_reminder_days = 3 in the shipped rules


def _notes(subject_like: str) -> list[Notification]:
    return list(db.session.scalars(select(Notification).where(Notification.subject.like(subject_like))
                                   .order_by(Notification.id)))


@pytest.fixture
def world(app):
    """Two proposals; reviewer 1 has two reviews (one submitted), reviewer 2 two (none submitted), reviewer 3
    one submitted, reviewer 4 none."""
    world = build(proposals=2, reviewers=4)
    p1, p2 = world.proposals
    r1, r2, r3, _ = world.reviewers
    assign(world, p1, r1, r2, r3)
    assign(world, p2, r1, r2)
    submit_review(review_of(p1, r1), card("4"))
    submit_review(review_of(p1, r3), card("4"))
    services.save_review(review_of(p2, r2), scores={"cooperation": "3"}, justifications={}, submit=False,
                         actor=r2, now=DURING)
    world.extra["second_manager"] = user("manager2@review.test", Role.PROGRAMME_MANAGER)
    return world


def test_reminders_once_per_reviewer_within_the_days_before_the_deadline(world):
    r1, r2, r3, r4 = world.reviewers
    assert services.remind_reviewers(actor=SETUP, now=REMINDER - timedelta(seconds=1), timezone="UTC") == 0
    assert _notes("Reviews due%") == []

    assert services.remind_reviewers(actor=SETUP, now=REMINDER, timezone="Africa/Johannesburg") == 3  # r1: 1, r2: 2
    notes = _notes("Reviews due%")
    assert sorted(n.user_id for n in notes) == sorted([r1.id, r2.id])
    by_user = {n.user_id: n for n in notes}
    assert by_user[r2.id].subject == f"Reviews due for {world.call.reference}"
    assert by_user[r2.id].body.startswith(f"2 of your reviews for {world.call.name} are not submitted yet")
    assert by_user[r1.id].body.startswith("1 of your reviews")
    # The deadline as pages write it, in the programme's time zone (15:00 UTC is 17:00 in Johannesburg).
    assert "deadline is 23 Mar 2027, 17:00 SAST." in by_user[r1.id].body
    assert DEADLINE.strftime("%Y-%m-%d %H:%M") == "2027-03-23 15:00"
    reminded = db.session.scalars(select(Review).where(Review.reminded_at.is_not(None))).all()
    assert {(r.reviewer_id, r.proposal_id) for r in reminded} == {
        (r1.id, world.proposals[1].id), (r2.id, world.proposals[0].id), (r2.id, world.proposals[1].id)}

    assert services.remind_reviewers(actor=SETUP, now=REMINDER + DAY, timezone="UTC") == 0
    assert len(_notes("Reviews due%")) == 2
    entry = db.session.scalars(select(AuditEntry).where(AuditEntry.action == "review.reminders_sent")).one()
    assert json.loads(entry.details) == {"reviews": 3, "reviewers": 2}
    # After the deadline there is nothing to remind of: it is late.
    assert services.remind_reviewers(actor=SETUP, now=DEADLINE + DAY, timezone="UTC") == 0


def test_late_reviews_are_flagged_once_to_every_manager(world):
    managers = [world.manager, world.extra["second_manager"]]
    assert services.flag_late_reviews(actor=SETUP, now=DEADLINE - timedelta(seconds=1)) == 0
    assert services.flag_late_reviews(actor=SETUP, now=DEADLINE) == 3
    notes = _notes("%late review%")
    assert sorted(n.user_id for n in notes) == sorted(m.id for m in managers)
    assert notes[0].subject == f"3 late review(s) in {world.call.reference}"
    assert "3 review(s) by 2 reviewer(s) not submitted" in notes[0].body
    assert notes[0].link == f"/calls/{world.call.id}/review/assignments"
    assert not any(n.user_id in {r.id for r in world.reviewers} for n in notes)
    flagged = db.session.scalars(select(Review).where(Review.late_flagged_at.is_not(None))).all()
    assert len(flagged) == 3 and all(r.late_flagged_at == DEADLINE for r in flagged)

    assert services.flag_late_reviews(actor=SETUP, now=DEADLINE + DAY) == 0
    assert len(_notes("%late review%")) == 2

    # A late submission is still taken; it is no longer counted as outstanding.
    late = review_of(world.proposals[1], world.reviewers[0])
    submit_review(late, card("4"), now=DEADLINE + DAY)
    assert json.loads(db.session.scalars(select(AuditEntry.details).where(
        AuditEntry.action == "review.submitted").order_by(AuditEntry.id.desc())).first())["late"] is True


def test_a_new_deadline_reminds_and_flags_again(world):
    assert services.remind_reviewers(actor=SETUP, now=REMINDER, timezone="UTC") == 3
    assert services.flag_late_reviews(actor=SETUP, now=DEADLINE + DAY) == 3
    submitted = review_of(world.proposals[0], world.reviewers[0])
    submitted_reminded = submitted.reminded_at

    with pytest.raises(RuleViolation, match="must be in the future") as past:
        services.change_deadline(world.call, deadline=DEADLINE, actor=world.manager, now=DEADLINE + DAY)
    assert past.value.field == "deadline"
    with pytest.raises(AccessDenied):
        services.change_deadline(world.call, deadline=DEADLINE + 10 * DAY, actor=world.reviewers[0],
                                 now=DEADLINE + DAY)
    new = DEADLINE + 10 * DAY
    services.change_deadline(world.call, deadline=new, actor=world.manager, now=DEADLINE + DAY)
    db.session.flush()
    assert world.call.review_deadline == new
    outstanding = db.session.scalars(select(Review).where(Review.submitted_at.is_(None))).all()
    assert len(outstanding) == 3
    assert all(r.reminded_at is None and r.late_flagged_at is None for r in outstanding)
    assert submitted.reminded_at == submitted_reminded

    assert services.flag_late_reviews(actor=SETUP, now=DEADLINE + 2 * DAY) == 0  # not late any more
    assert services.remind_reviewers(actor=SETUP, now=new - 4 * DAY, timezone="UTC") == 0
    assert services.remind_reviewers(actor=SETUP, now=new - 3 * DAY, timezone="UTC") == 3
    assert len(_notes("Reviews due%")) == 4
    assert services.flag_late_reviews(actor=SETUP, now=new) == 3
    assert len(_notes("%late review%")) == 4
    entry = db.session.scalars(select(AuditEntry).where(AuditEntry.action == "review.deadline_changed")).one()
    assert json.loads(entry.details)["deadline"].startswith("2027-04-02")


def test_the_jobs_leave_other_calls_alone(app):
    world = build(proposals=1, reviewers=1, start=False)  # closed, its review not started
    assert services.remind_reviewers(actor=SETUP, now=REMINDER, timezone="UTC") == 0
    assert services.flag_late_reviews(actor=SETUP, now=DEADLINE + DAY) == 0
    assert world.call.review_deadline is None
