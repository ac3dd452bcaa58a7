"""Scoring through the services: drafts, scores on the scale, complete submissions, the lock, who may
score, other reviewers' scores (only after one's own, without names), reopening by a manager, late
submissions."""

from __future__ import annotations

import json
from datetime import timedelta
from decimal import Decimal

import pytest
from sqlalchemy import select

from programme.core.access import AccessDenied, NotFound, RuleViolation
from programme.core.audit import AuditEntry
from programme.core.notifications import Notification
from programme.extensions import db
from programme.proposals.models import ProposalStatus
from programme.reviews import services
from programme.reviews.models import ReviewStatus
from programme.reviews.services import ReviewIncomplete
from tests.reviews.world import (
    DEADLINE,
    DURING,
    GOOD,
    SHIPPED_KEYS,
    assign,
    build,
    card,
    justifications,
    submit_review,
)


def _audit(action: str) -> list[dict]:
    return [json.loads(d) for d in db.session.scalars(
        select(AuditEntry.details).where(AuditEntry.action == action).order_by(AuditEntry.id))]


@pytest.fixture
def world(app):
    world = build(proposals=1, reviewers=4)
    assign(world, world.proposals[0], *world.reviewers[:3])
    return world


def _reviews(world):
    return world.reviews_of(world.proposals[0])


def test_a_draft_keeps_partial_scores_and_justifications(world):
    review = _reviews(world)[0]
    token = world.call.results_token
    services.save_review(review, scores={"cooperation": "4.5", "composition": ""},
                         justifications={"cooperation": "  Too short for now  "}, submit=False,
                         actor=review.reviewer, now=DURING)
    db.session.flush()
    assert review.status == ReviewStatus.DRAFT and review.saved_at == DURING and review.submitted_at is None
    stored = {s.criterion_key: (s.score, s.justification) for s in review.scores}
    assert stored == {key: (None, "") for key in SHIPPED_KEYS} | {"cooperation": (Decimal("4.5"), "Too short for now")}
    assert world.proposals[0].status == ProposalStatus.UNDER_REVIEW
    assert world.call.results_token == token  # a draft counts nowhere
    assert _audit("review.draft_saved") == [{"proposal_id": world.proposals[0].id}]

    # A second draft replaces the first, row by row.
    services.save_review(review, scores={"cooperation": "3", "own_indicators": 5},
                         justifications={"own_indicators": "Later"}, submit=False, actor=review.reviewer, now=DURING)
    stored = {s.criterion_key: (s.score, s.justification) for s in review.scores}
    assert stored["cooperation"] == (Decimal("3"), "") and stored["own_indicators"] == (Decimal("5"), "Later")
    assert len(review.scores) == len(SHIPPED_KEYS)


OFF_SCALE = [
    ("3.3", "not a whole step"),
    ("6", "outside the scale"),
    ("-1", "outside the scale"),
    ("5.5", "outside the scale"),
    ("four", "a number from 0 to 5 in steps of 0.5"),
    (3.5, "as an exact number"),
    ("NaN", "a number from 0 to 5"),
]


def test_a_score_off_the_scale_is_refused_on_its_field(world):
    review = _reviews(world)[0]
    for value, detail in OFF_SCALE:
        values = {**card("4"), "market_failure": value}
        for submit in (False, True):
            with pytest.raises(RuleViolation, match=detail) as refused:
                services.save_review(review, scores=values, justifications=justifications(world.call),
                                     submit=submit, actor=review.reviewer, now=DURING)
            assert refused.value.field == "score_market_failure", value
            assert str(refused.value).startswith("market_failure: ")
            assert review.status == ReviewStatus.ASSIGNED and review.scores == []


def test_submission_needs_every_score_and_long_enough_justifications(world):
    review = _reviews(world)[0]
    values = {k: v for k, v in card("4").items() if k != "composition"}
    texts = justifications(world.call) | {"own_indicators": "x" * 49, "self_funding": "   " + "y" * 49 + "   "}
    with pytest.raises(ReviewIncomplete) as refused:
        services.save_review(review, scores=values, justifications=texts, submit=True, actor=review.reviewer,
                             now=DURING)
    problems = refused.value.problems
    assert set(problems) == {"composition", "self_funding", "own_indicators"}
    assert "a score from 0 to 5 in steps of 0.5 is needed" in problems["composition"]
    assert problems["own_indicators"] == "a justification of at least 50 characters is needed (got 49)"
    assert problems["self_funding"] == "a justification of at least 50 characters is needed (got 49)"
    assert refused.value.field == "composition"
    for key in problems:
        assert key in str(refused.value)
    assert review.status == ReviewStatus.ASSIGNED and review.submitted_at is None

    with pytest.raises(ReviewIncomplete) as empty:
        services.save_review(review, scores={}, justifications={}, submit=True, actor=review.reviewer, now=DURING)
    assert list(empty.value.problems) == list(SHIPPED_KEYS)
    assert all("score" in p and "justification" in p for p in empty.value.problems.values())


def test_a_submitted_review_is_locked_and_the_proposal_is_scored_when_all_are_in(world):
    first, second, third = _reviews(world)
    proposal = world.proposals[0]
    submit_review(first, card("4"))
    assert first.status == ReviewStatus.SUBMITTED and first.submitted_at == DURING
    assert {s.criterion_key: s.justification for s in first.scores} == {k: GOOD for k in SHIPPED_KEYS}
    assert not first.can_edit(first.reviewer)
    with pytest.raises(RuleViolation, match="submitted and locked"):
        services.save_review(first, scores=card("5"), justifications={}, submit=False, actor=first.reviewer,
                             now=DURING)
    with pytest.raises(RuleViolation, match="submitted and locked"):
        submit_review(first, card("5"))
    assert all(s.score == Decimal("4") for s in first.scores)
    assert proposal.status == ProposalStatus.UNDER_REVIEW
    submit_review(second, card("3"))
    assert proposal.status == ProposalStatus.UNDER_REVIEW
    submit_review(third, card("5"))
    assert proposal.status == ProposalStatus.SCORED
    submitted = _audit("review.submitted")
    assert [d["late"] for d in submitted] == [False, False, False]
    assert submitted[0]["scores"] == {k: "4" for k in SHIPPED_KEYS}


def test_only_the_assigned_reviewer_opens_and_scores_a_review(world):
    review = _reviews(world)[0]
    other = world.reviewers[1]  # a reviewer of the same proposal
    stranger = world.reviewers[3]  # in the pool, not assigned
    for intruder in (other, stranger, world.manager, world.leads[0]):
        with pytest.raises(NotFound):
            services.save_review(review, scores=card("4"), justifications=justifications(world.call), submit=True,
                                 actor=intruder, now=DURING)
    for intruder in (other, stranger, world.leads[0]):
        with pytest.raises(NotFound):
            services.get_review(review.id, actor=intruder)
    assert services.get_review(review.id, actor=review.reviewer) is review
    assert services.get_review(review.id, actor=world.manager) is review
    assert review.status == ReviewStatus.ASSIGNED
    assert [r.id for r in services.reviews_of(stranger)] == []
    assert [r.id for r in services.reviews_of(review.reviewer, call=world.call)] == [review.id]
    assert [c.id for c in services.calls_of_reviewer(stranger)] == [world.call.id]


def test_other_reviewers_scores_only_after_ones_own_submission_and_without_names(world):
    first, second, third = _reviews(world)
    submit_review(second, card("3", cooperation="5"))
    services.save_review(third, scores=card("1"), justifications={}, submit=False, actor=third.reviewer, now=DURING)
    with pytest.raises(AccessDenied, match="once your own review is submitted"):
        services.co_reviews(first, actor=first.reviewer)
    with pytest.raises(NotFound):
        services.co_reviews(first, actor=second.reviewer)

    submit_review(first, card("4"))
    others = services.co_reviews(first, actor=first.reviewer)
    assert len(others) == 1  # the draft of the third is not shown
    assert others[0].label == "Another reviewer (1)"
    assert others[0].scores == card("3", cooperation="5")
    assert others[0].justifications == {k: GOOD for k in SHIPPED_KEYS}
    shown = repr(others)
    for reviewer in world.reviewers:
        assert reviewer.name not in shown and reviewer.email not in shown and f"={reviewer.id}," not in shown
    assert [o.label for o in services.co_reviews(second, actor=second.reviewer)] == ["Another reviewer (1)"]


def test_a_manager_reopens_a_submitted_review_with_a_reason(world):
    first, second, third = _reviews(world)
    for review, value in ((first, "5"), (second, "4"), (third, "3")):
        submit_review(review, card(value))
    proposal = world.proposals[0]
    assert proposal.status == ProposalStatus.SCORED
    results = services.call_results(world.call, actor=world.manager)
    assert results.scores[proposal.id].total == 12

    with pytest.raises(RuleViolation, match="reason") as no_reason:
        services.reopen_review(first, reason="   ", actor=world.manager, now=DURING)
    assert no_reason.value.field == "reason"
    with pytest.raises(AccessDenied):
        services.reopen_review(first, reason="Please look again", actor=first.reviewer, now=DURING)

    services.reopen_review(first, reason="  Scores contradict the justification on cooperation. ",
                           actor=world.manager, now=DURING)
    db.session.flush()
    assert first.status == ReviewStatus.DRAFT and first.submitted_at is None and first.reopened_count == 1
    assert all(s.score == Decimal("5") and s.justification == GOOD for s in first.scores)  # kept as a draft
    assert first.can_edit(first.reviewer)
    assert proposal.status == ProposalStatus.UNDER_REVIEW
    entry = db.session.scalars(select(AuditEntry).where(AuditEntry.action == "review.reopened")).one()
    assert (entry.object_type, entry.object_id, entry.actor_id) == ("Review", first.id, world.manager.id)
    details = json.loads(entry.details)
    assert details["reason"] == "Scores contradict the justification on cooperation."
    assert details["scores"] == {k: "5" for k in SHIPPED_KEYS}
    note = db.session.scalars(select(Notification).where(Notification.user_id == first.reviewer_id,
                                                         Notification.subject.like("%reopened"))).one()
    assert "Scores contradict the justification on cooperation." in note.body
    assert note.link == f"/reviews/{first.id}"
    reopened = services.call_results(world.call, actor=world.manager)
    assert reopened.token != results.token
    assert reopened.scores[proposal.id].total == Decimal("10.5")  # (4 + 3) / 2 on each criterion, x 3

    with pytest.raises(RuleViolation, match="Only a submitted review can be reopened"):
        services.reopen_review(first, reason="again", actor=world.manager, now=DURING)
    submit_review(first, card("4"))
    assert proposal.status == ProposalStatus.SCORED
    assert services.call_results(world.call, actor=world.manager).scores[proposal.id].total == 11


def test_a_submission_after_the_deadline_is_recorded_as_late(world):
    on_time, late, _ = _reviews(world)
    submit_review(on_time, card("4"), now=DEADLINE)  # at the deadline is on time
    submit_review(late, card("4"), now=DEADLINE + timedelta(hours=1))
    assert [d["late"] for d in _audit("review.submitted")] == [False, True]
    assert late.is_late(DEADLINE) and not on_time.is_late(DEADLINE + timedelta(days=9))
