"""The review of a call and who reviews what: starting the review and moving its deadline, assigning a
reviewer by hand, removing or moving an assignment before scoring starts, automatic assignment (the
algorithm is in ``reviews.assignment_plan``), and the assignments and loads of a call."""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import selectinload

from programme.accounts.models import GroupOrganisation, Organisation
from programme.calls.models import Call, CallStatus
from programme.core import audit
from programme.core.access import Actor, NotFound, RuleViolation
from programme.core.texts import gettext as _
from programme.core.texts import lazy_gettext as _l
from programme.core.texts import ngettext
from programme.extensions import db
from programme.proposals.models import Proposal, ProposalStatus
from programme.reviews.assignment_plan import AssignmentError, ProposalToReview, ReviewerProfile, assign
from programme.reviews.models import CallReviewer, Review, ReviewStatus, split_sectors
from programme.reviews.services._common import (
    DECIDED,
    IN_REVIEW,
    drop_review,
    lock_call,
    refresh_proposal_status,
    require_manager,
    require_reviewing,
    scoring_of,
)
from programme.reviews.services.reviewer_pool import conflicts, pool

# ---------------------------------------------------------------------------------------------
# The review of a call: start and deadline


def start_review(call: Call, *, deadline: datetime, actor: Actor, now: datetime) -> int:
    """Start the review of a closed call, with the reviewers' deadline. The submitted proposals take the
    eligibility verdict stored with their last version (a manager's override stands). Returns how many
    proposals are eligible for review."""
    require_manager(actor)
    lock_call(call)
    if call.status != CallStatus.CLOSED:
        raise RuleViolation(_("The call is %(status)s; the review starts once the call is closed.",
                              status=call.status.label.lower()))
    if deadline <= now:
        raise RuleViolation(_("The review deadline must be in the future."), field="deadline")
    proposals = db.session.scalars(
        select(Proposal).where(Proposal.call_id == call.id, Proposal.status == ProposalStatus.SUBMITTED)
        .options(selectinload(Proposal.versions))
    ).all()
    for proposal in proposals:
        version = proposal.current_version
        eligible = version is not None and version.eligible
        proposal.status = ProposalStatus.ELIGIBLE if eligible else ProposalStatus.INELIGIBLE
    call.status = CallStatus.REVIEWING
    call.review_started_at = now
    call.review_deadline = deadline
    call.touch_results()
    count = db.session.scalar(
        select(func.count()).select_from(Proposal).where(Proposal.call_id == call.id,
                                                         Proposal.status == ProposalStatus.ELIGIBLE)
    )
    audit.record(db.session, actor, "review.started", call, deadline=deadline, eligible=count)
    return count


def change_deadline(call: Call, *, deadline: datetime, actor: Actor, now: datetime) -> None:
    """Move the review deadline; reviews not yet submitted are reminded and flagged again against it."""
    require_manager(actor)
    require_reviewing(call, _l("The call is %(status)s; the deadline can be changed only while its review is "
                               "under way."))
    if deadline <= now:
        raise RuleViolation(_("The review deadline must be in the future."), field="deadline")
    previous = call.review_deadline
    call.review_deadline = deadline
    for review in db.session.scalars(
        select(Review).where(Review.call_id == call.id, Review.status != ReviewStatus.SUBMITTED)
    ):
        review.reminded_at = None
        review.late_flagged_at = None
    audit.record(db.session, actor, "review.deadline_changed", call, previous=previous, deadline=deadline)


def proposals_in_review(call: Call) -> list[Proposal]:
    return list(db.session.scalars(
        select(Proposal).where(Proposal.call_id == call.id, Proposal.status.in_(IN_REVIEW + DECIDED))
        .order_by(Proposal.reference)
    ))


# ---------------------------------------------------------------------------------------------
# Assignment


def _reviewable(call: Call, proposal: Proposal) -> None:
    if proposal.call_id != call.id:
        raise NotFound("no such proposal in this call")
    if proposal.status not in IN_REVIEW:
        raise RuleViolation(_("Proposal %(reference)s is %(status)s; only eligible proposals are reviewed.",
                              reference=proposal.reference, status=proposal.status.label.lower()), field="proposal_id")


def _in_pool(call: Call, reviewer_id: int) -> CallReviewer:
    entry = db.session.scalar(select(CallReviewer).where(CallReviewer.call_id == call.id,
                                                         CallReviewer.user_id == reviewer_id))
    if entry is None:
        raise RuleViolation(_("Choose a reviewer from the call's pool."), field="reviewer_id")
    return entry


def _check_pair(call: Call, proposal: Proposal, reviewer_id: int) -> CallReviewer:
    _reviewable(call, proposal)
    entry = _in_pool(call, reviewer_id)
    reasons = conflicts(call, reviewer_ids=[reviewer_id], proposal_ids=[proposal.id]).reasons.get(
        (reviewer_id, proposal.id))
    if reasons:
        raise RuleViolation(_("%(name)s is in conflict with %(reference)s: %(reasons)s.", name=entry.user.name,
                              reference=proposal.reference, reasons="; ".join(reasons)), field="reviewer_id")
    if db.session.scalar(select(Review.id).where(Review.proposal_id == proposal.id,
                                                 Review.reviewer_id == reviewer_id)):
        raise RuleViolation(_("%(name)s already reviews %(reference)s.", name=entry.user.name,
                              reference=proposal.reference), field="reviewer_id")
    return entry


def assign_reviewer(call: Call, proposal: Proposal, reviewer_id: int, *, actor: Actor, now: datetime) -> Review:
    """Assign a reviewer to a proposal by hand."""
    require_manager(actor)
    require_reviewing(call, _l("The call is %(status)s; reviewers are assigned only while its review is under way."))
    _check_pair(call, proposal, reviewer_id)
    review = Review(call_id=call.id, proposal_id=proposal.id, reviewer_id=reviewer_id,
                    version_number=proposal.latest_version or 1, assigned_at=now, assigned_by=actor.actor_label)
    db.session.add(review)
    db.session.flush()
    refresh_proposal_status(proposal)
    call.touch_results()
    audit.record(db.session, actor, "review.assigned", review, proposal=proposal.reference, reviewer_id=reviewer_id)
    return review


def _not_started(review: Review, moved: bool) -> None:
    if review.status == ReviewStatus.ASSIGNED:
        return
    if moved:
        raise RuleViolation(_("The review has been submitted; an assignment is moved only before the reviewer starts "
                              "scoring.") if review.submitted else
                            _("The review has been started; an assignment is moved only before the reviewer starts "
                              "scoring."))
    raise RuleViolation(_("The review has been submitted; an assignment is removed only before the reviewer starts "
                          "scoring.") if review.submitted else
                        _("The review has been started; an assignment is removed only before the reviewer starts "
                          "scoring."))


def remove_assignment(review: Review, *, actor: Actor, now: datetime) -> None:
    require_manager(actor)
    require_reviewing(review.call, _l("The call is %(status)s; assignments are changed only while its review is under "
                                      "way."))
    _not_started(review, moved=False)
    audit.record(db.session, actor, "review.unassigned", review, proposal_id=review.proposal_id,
                 reviewer_id=review.reviewer_id)
    review.call.touch_results()
    drop_review(review)


def move_assignment(review: Review, reviewer_id: int, *, actor: Actor, now: datetime) -> Review:
    """Give a proposal's assignment to another reviewer of the pool, before scoring starts."""
    require_manager(actor)
    call = review.call
    require_reviewing(call, _l("The call is %(status)s; assignments are changed only while its review is under way."))
    _not_started(review, moved=True)
    proposal = review.proposal
    _check_pair(call, proposal, reviewer_id)
    previous = review.reviewer_id
    review.reviewer_id = reviewer_id
    review.assigned_at = now
    review.assigned_by = actor.actor_label
    review.reminded_at = None
    review.late_flagged_at = None
    db.session.flush()
    db.session.refresh(review, ["reviewer"])
    call.touch_results()
    audit.record(db.session, actor, "review.moved", review, proposal=proposal.reference, previous=previous,
                 reviewer_id=reviewer_id)
    return review


@dataclass(frozen=True)
class AutoAssignment:
    created: int
    kept: int
    proposals: int
    loads: dict[int, int]
    matches: int

    @property
    def spread(self) -> int:
        return max(self.loads.values(), default=0) - min(self.loads.values(), default=0)


def auto_assign(call: Call, *, actor: Actor, now: datetime, seed: int = 0) -> AutoAssignment:
    """Give every proposal in review the number of reviewers the rules ask for: no conflicts, loads within
    one of each other where the conflicts allow it, expertise preferred. Existing assignments are kept."""
    require_manager(actor)
    lock_call(call)
    require_reviewing(call, _l("The call is %(status)s; reviewers are assigned only while its review is under way."))
    k = scoring_of(call).reviewers_per_proposal
    reviewers = pool(call)
    if len(reviewers) < k:
        raise RuleViolation(_("The rules ask for %(wanted)s reviewers per proposal; the pool has %(size)s. "
                              "Add reviewers first.", wanted=k, size=len(reviewers)))
    rows = db.session.execute(
        select(Proposal.id, Proposal.sector, Proposal.latest_version)
        .where(Proposal.call_id == call.id, Proposal.status.in_(IN_REVIEW))
    ).all()
    if not rows:
        raise RuleViolation(_("No eligible proposal waits for reviewers."))
    existing = db.session.execute(
        select(Review.reviewer_id, Review.proposal_id).where(Review.call_id == call.id)
    ).all()
    per_proposal: dict[int, int] = defaultdict(int)
    for _reviewer, proposal_id in existing:
        per_proposal[proposal_id] += 1
    # A proposal to which a manager gave more reviewers than the rules ask is left as it is; the others keep
    # their reviewers and get the missing ones.
    full = {r.id for r in rows if per_proposal[r.id] > k}
    kept_in_full = len([1 for _, p in existing if p in full])
    rows = [r for r in rows if r.id not in full]
    wanted = {r.id for r in rows}
    member_sectors: dict[int, set[str]] = defaultdict(set)
    for proposal_id, sector in db.session.execute(
        select(Proposal.id, Organisation.sector)
        .join(GroupOrganisation, GroupOrganisation.group_id == Proposal.group_id)
        .join(Organisation, Organisation.id == GroupOrganisation.organisation_id)
        .where(Proposal.call_id == call.id, Proposal.status.in_(IN_REVIEW))
    ):
        member_sectors[proposal_id].update(split_sectors(sector or ""))
    proposals = [ProposalToReview(r.id, frozenset(split_sectors(r.sector or "")) | member_sectors[r.id]) for r in rows]
    profiles = [ReviewerProfile(e.user_id, e.sectors) for e in reviewers]
    keep = [(r, p) for r, p in existing if p in wanted]
    conflict_map = conflicts(call, proposal_ids=None)
    try:
        result = assign(proposals, profiles, k=k, conflicts=conflict_map.pairs, keep=keep, seed=seed)
    except AssignmentError as error:
        references = dict(db.session.execute(
            select(Proposal.id, Proposal.reference).where(Proposal.id.in_(list(error.proposal_ids)))).all())
        if error.short:
            details = "; ".join(
                ngettext("proposal %(reference)s has %(num)d reviewer without a conflict of interest",
                         "proposal %(reference)s has %(num)d reviewers without a conflict of interest", free,
                         reference=references.get(pid, pid)) for pid, free in error.short)
            raise RuleViolation(_("No assignment is possible: %(details)s; %(needed)s needed.", details=details,
                                  needed=error.needed)) from None
        message = str(error)
        for pid, ref in references.items():
            message = re.sub(rf"\bproposal {pid}\b", f"proposal {ref}", message)
        raise RuleViolation(_("No assignment is possible: %(reason)s.", reason=message)) from None
    version_of = {r.id: r.latest_version or 1 for r in rows}
    new_pairs = sorted(result.new, key=lambda pair: (pair[1], pair[0]))
    db.session.execute(
        Review.__table__.insert(),
        [{"call_id": call.id, "proposal_id": p, "reviewer_id": r, "version_number": version_of[p],
          "status": ReviewStatus.ASSIGNED.value, "assigned_at": now, "assigned_by": actor.actor_label,
          "reopened_count": 0} for r, p in new_pairs],
    ) if new_pairs else None
    touched = {p for _, p in new_pairs}
    if touched:
        for chunk in _chunks(sorted(touched), 900):
            db.session.execute(
                Proposal.__table__.update().where(Proposal.id.in_(chunk), Proposal.status == ProposalStatus.ELIGIBLE)
                .values(status=ProposalStatus.UNDER_REVIEW.value)
            )
        db.session.expire_all()
    call.touch_results()
    summary = AutoAssignment(created=len(new_pairs), kept=len(keep) + kept_in_full, proposals=len(rows) + len(full),
                             loads=dict(result.loads),
                             matches=result.matches)
    audit.record(db.session, actor, "review.auto_assigned", call, created=summary.created, kept=summary.kept,
                 proposals=summary.proposals, spread=summary.spread, expert_matches=summary.matches, seed=seed)
    return summary


def _chunks(items: list[Any], size: int) -> Iterable[list[Any]]:
    for start in range(0, len(items), size):
        yield items[start:start + size]


@dataclass(frozen=True)
class AssignmentRow:
    proposal_id: int
    reference: str
    title: str
    group_name: str
    sector: str
    status: ProposalStatus
    reviews: list[Review]


def assignment_overview(call: Call, *, actor: Actor) -> list[AssignmentRow]:
    require_manager(actor)
    proposals = db.session.execute(
        select(Proposal).where(Proposal.call_id == call.id, Proposal.status.in_(IN_REVIEW + DECIDED))
        .order_by(Proposal.reference)
    ).scalars().all()
    reviews: dict[int, list[Review]] = defaultdict(list)
    for review in db.session.scalars(select(Review).where(Review.call_id == call.id).order_by(Review.id)):
        reviews[review.proposal_id].append(review)
    return [AssignmentRow(p.id, p.reference or "", p.title, p.group.name, p.sector, p.status, reviews[p.id])
            for p in proposals]


def reviewer_loads(call: Call) -> dict[int, tuple[int, int]]:
    """Per reviewer of the pool: (assigned, submitted)."""
    rows = db.session.execute(
        select(Review.reviewer_id, func.count(), func.count(Review.submitted_at))
        .where(Review.call_id == call.id).group_by(Review.reviewer_id)
    ).all()
    return {r: (a, s) for r, a, s in rows}
