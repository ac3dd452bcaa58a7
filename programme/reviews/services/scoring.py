"""Scoring: a reviewer's reviews and calls, opening a review, saving a draft or submitting it, a manager
reopening a submitted review, the co-reviewers' scores shown after submission; for managers, every review of
a proposal and the panel's consensus score that replaces the mean on a criterion."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import lazyload, selectinload

from programme.calls.models import Call
from programme.core import audit
from programme.core.access import AccessDenied, Actor, NotFound, Role, RuleViolation, require_role
from programme.core.i18n import speaking_to
from programme.core.notifications import notify
from programme.core.texts import gettext as _
from programme.core.texts import lazy_gettext as _l
from programme.extensions import db
from programme.proposals.models import Proposal, ProposalVersion
from programme.reviews.domain import ScoreError, check_review
from programme.reviews.models import CallReviewer, ConsensusScore, Review, ReviewScore, ReviewStatus
from programme.reviews.services._common import (
    IN_REVIEW,
    brief_proposals,
    refresh_proposal_status,
    require_manager,
    require_open_for_results,
    require_reviewing,
    scoring_of,
)
from programme.reviews.services.reviewer_pool import is_conflicted


class ReviewIncomplete(RuleViolation):
    """A review cannot be submitted: ``problems`` says what is missing, per criterion key."""

    def __init__(self, problems: Mapping[str, str]):
        keys = ", ".join(problems)
        super().__init__(_("The review cannot be submitted yet: see %(keys)s.", keys=keys),
                         field=next(iter(problems), None))
        self.problems = dict(problems)


# ---------------------------------------------------------------------------------------------
# The reviewer's side


def reviews_of(actor: Actor, *, call: Call | None = None, with_proposals: bool = False) -> list[Review]:
    """The reviewer's reviews (without their scores), newest call first; ``with_proposals`` loads their proposals
    and groups with them (one query more, none per review)."""
    require_role(actor, Role.REVIEWER)
    # The reviewer is the actor: not joined again on every row (nor its roles loaded again).
    query = select(Review).where(Review.reviewer_id == actor.id).options(lazyload(Review.scores),
                                                                         lazyload(Review.reviewer))
    if call is not None:
        query = query.where(Review.call_id == call.id)
    if with_proposals:
        query = query.options(*brief_proposals(selectinload(Review.proposal)))
    return list(db.session.scalars(query.join(Call, Call.id == Review.call_id)
                                   .order_by(Call.id.desc(), Review.id)))


def calls_of_reviewer(actor: Actor) -> list[Call]:
    require_role(actor, Role.REVIEWER)
    return list(db.session.scalars(
        select(Call).join(CallReviewer, CallReviewer.call_id == Call.id)
        .where(CallReviewer.user_id == actor.id).order_by(Call.id.desc())
    ))


def get_review(review_id: int, *, actor: Actor) -> Review:
    """A review its reviewer (or a manager) may open. Anyone else, and a reviewer now in conflict with the
    proposal, gets 404: the review's existence is not theirs to know."""
    review = db.session.get(Review, review_id)
    if review is None or not review.can_view(actor):
        raise NotFound("no such review")
    if review.is_reviewer(actor) and is_conflicted(review.call, actor.id, review.proposal_id):
        raise NotFound("no such review")
    return review


def reviewed_version(review: Review) -> ProposalVersion:
    version = db.session.scalar(select(ProposalVersion).where(ProposalVersion.proposal_id == review.proposal_id,
                                                              ProposalVersion.number == review.version_number))
    if version is None:  # pragma: no cover - a review is only made for a submitted version
        raise NotFound("the reviewed version is missing")
    return version


def save_review(review: Review, *, scores: Mapping[str, Any], justifications: Mapping[str, str], submit: bool,
                actor: Actor, now: datetime) -> Review:
    """Save the reviewer's scores and justifications as a draft, or submit them (which locks the review).

    A draft may leave scores and justifications empty, but a score given must lie on the scale. To submit,
    every criterion needs a score and a justification of the rules' minimum length.
    """
    call = review.call
    if not review.is_reviewer(actor):
        raise NotFound("no such review")
    if review.submitted:
        raise RuleViolation(_("The review is submitted and locked; a programme manager can reopen it."))
    require_reviewing(call, _l("The call is %(status)s; reviews are scored only while its review is under way."))
    if is_conflicted(call, actor.id, review.proposal_id):
        raise NotFound("no such review")
    if review.proposal.status not in IN_REVIEW:
        raise RuleViolation(_("Proposal %(reference)s is %(status)s; it is no longer reviewed.",
                              reference=review.proposal.reference, status=review.proposal.status.label.lower()))
    scoring = scoring_of(call)
    rules = call.rules.scoring
    checked: dict[str, Decimal | None] = {}
    for key in scoring.keys:
        value = scores.get(key)
        if value is None or (isinstance(value, str) and not value.strip()):
            checked[key] = None
            continue
        try:
            checked[key] = scoring.scale.check(value)
        except ScoreError as error:
            raise RuleViolation(f"{key}: {error}", field=f"score_{key}") from None
    texts = {key: (justifications.get(key) or "").strip() for key in scoring.keys}
    if submit:
        problems = check_review(checked, texts, scoring, min_length=rules.justification_min_length)
        if problems:
            raise ReviewIncomplete(problems)
    by_key = {s.criterion_key: s for s in review.scores}
    for key in scoring.keys:
        row = by_key.get(key)
        if row is None:
            row = ReviewScore(criterion_key=key)
            review.scores.append(row)
        row.score = checked[key]
        row.justification = texts[key]
    review.saved_at = now
    if submit:
        review.status = ReviewStatus.SUBMITTED
        review.submitted_at = now
        db.session.flush()
        refresh_proposal_status(review.proposal)
        call.touch_results()
        audit.record(db.session, actor, "review.submitted", review, proposal_id=review.proposal_id,
                     late=review.is_late(now),
                     scores={k: str(v) for k, v in checked.items()})
    else:
        review.status = ReviewStatus.DRAFT
        audit.record(db.session, actor, "review.draft_saved", review, proposal_id=review.proposal_id)
    return review


def reopen_review(review: Review, *, reason: str, actor: Actor, now: datetime) -> None:
    """A manager reopens a submitted review, with a reason; its scores stay as a draft for the reviewer."""
    require_manager(actor)
    if not review.submitted:
        raise RuleViolation(_("Only a submitted review can be reopened."))
    require_reviewing(review.call, _l("The call is %(status)s; a review is reopened only while its review is under "
                                      "way."))
    if not reason.strip():
        raise RuleViolation(_("Give the reason for reopening the review."), field="reason")
    submitted_at = review.submitted_at
    review.status = ReviewStatus.DRAFT
    review.submitted_at = None
    review.reopened_count += 1
    review.late_flagged_at = None
    db.session.flush()
    refresh_proposal_status(review.proposal)
    review.call.touch_results()
    audit.record(db.session, actor, "review.reopened", review, reason=reason.strip(), submitted_at=submitted_at,
                 scores={s.criterion_key: str(s.score) for s in review.scores})
    with speaking_to(review.reviewer):
        subject = _("Your review of %(reference)s is reopened", reference=review.proposal.reference)
        body = _("A programme manager reopened your review of %(reference)s: %(reason)s\nYour scores are kept as a "
                 "draft; change what is needed and submit again.", reference=review.proposal.reference,
                 reason=reason.strip())
    notify(db.session, email=review.reviewer.email, user_id=review.reviewer_id, subject=subject, body=body,
           link=f"/reviews/{review.id}")


@dataclass(frozen=True)
class CoReview:
    """Another reviewer's submitted review, shown to a reviewer after its own is submitted, without a name."""

    label: str
    scores: dict[str, Decimal | None]
    justifications: dict[str, str]


def co_reviews(review: Review, *, actor: Actor) -> list[CoReview]:
    """The other submitted reviews of the same proposal; only for a reviewer whose own review is submitted."""
    if not review.is_reviewer(actor) or is_conflicted(review.call, actor.id, review.proposal_id):
        raise NotFound("no such review")
    if not review.submitted:
        raise AccessDenied(_("other reviewers' scores are shown once your own review is submitted"))
    others = db.session.scalars(
        select(Review).where(Review.proposal_id == review.proposal_id, Review.id != review.id,
                             Review.status == ReviewStatus.SUBMITTED).order_by(Review.id)
    ).all()
    return [CoReview(_("Another reviewer (%(number)s)", number=i), {s.criterion_key: s.score for s in other.scores},
                     {s.criterion_key: s.justification for s in other.scores})
            for i, other in enumerate(others, start=1)]


# ---------------------------------------------------------------------------------------------
# A proposal's reviews and the panel's consensus, for managers


def proposal_reviews(proposal: Proposal, *, actor: Actor) -> list[Review]:
    """Every review of a proposal, with the reviewers' names: for managers."""
    require_manager(actor)
    return list(db.session.scalars(select(Review).where(Review.proposal_id == proposal.id).order_by(Review.id)))


def consensus_of(proposal: Proposal) -> dict[str, ConsensusScore]:
    return {c.criterion_key: c for c in db.session.scalars(
        select(ConsensusScore).where(ConsensusScore.proposal_id == proposal.id))}


def record_consensus(proposal: Proposal, *, criterion_key: str, score: Any, reason: str, actor: Actor,
                     now: datetime) -> ConsensusScore:
    """Record (or replace) the panel's consensus score on one criterion; it then replaces the mean."""
    require_manager(actor)
    call = proposal.call
    require_open_for_results(call)
    if proposal.status not in IN_REVIEW:
        raise RuleViolation(_("Proposal %(reference)s is not in review.", reference=proposal.reference))
    scoring = scoring_of(call)
    if criterion_key not in scoring.keys:
        raise RuleViolation(_("Choose one of the call's criteria."), field="criterion_key")
    try:
        value = scoring.scale.check(score)
    except ScoreError as error:
        raise RuleViolation(_("Consensus score: %(problem)s", problem=str(error)), field="score") from None
    if not reason.strip():
        raise RuleViolation(_("A consensus score needs the reason the panel agreed on it."), field="reason")
    if not db.session.scalar(select(func.count()).select_from(Review).where(
            Review.proposal_id == proposal.id, Review.status == ReviewStatus.SUBMITTED)):
        raise RuleViolation(_("A consensus replaces the mean of submitted reviews; none is submitted yet."))
    row = db.session.scalar(select(ConsensusScore).where(ConsensusScore.proposal_id == proposal.id,
                                                         ConsensusScore.criterion_key == criterion_key))
    previous = None if row is None else (str(row.score), row.reason)
    if row is None:
        row = ConsensusScore(proposal_id=proposal.id, criterion_key=criterion_key)
        db.session.add(row)
    row.score = value
    row.reason = reason.strip()
    row.recorded_at = now
    row.recorded_by_id = actor.id
    db.session.flush()
    call.touch_results()
    audit.record(db.session, actor, "review.consensus_recorded", proposal, criterion=criterion_key,
                 score=str(value), reason=row.reason, previous=previous)
    return row


def clear_consensus(proposal: Proposal, *, criterion_key: str, actor: Actor, now: datetime) -> None:
    require_manager(actor)
    require_open_for_results(proposal.call)
    row = db.session.scalar(select(ConsensusScore).where(ConsensusScore.proposal_id == proposal.id,
                                                         ConsensusScore.criterion_key == criterion_key))
    if row is None:
        raise NotFound("no consensus score on this criterion")
    audit.record(db.session, actor, "review.consensus_cleared", proposal, criterion=criterion_key,
                 score=str(row.score), reason=row.reason)
    db.session.delete(row)
    proposal.call.touch_results()
