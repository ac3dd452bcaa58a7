"""Operations of the review: the reviewer pool, conflicts of interest, assignment, scoring, consensus,
the ranking with its funding line, decisions and the awards that create initiatives.

Every operation takes the actor (and the time) explicitly, checks permission, changes state, writes the
audit log, flushes and never commits. The calculations are in ``domain``, ``agreement`` and ``assignment``.

Whatever changes the scores, the assignments or the decisions of a call calls ``call.touch_results()``,
so that :func:`call_results` recomputes; between changes its result is kept in memory under the call's
``results_token`` (a random value, so a token is never reused by another call or database).
"""

from __future__ import annotations

import gc
import re
import threading
from collections import OrderedDict, defaultdict
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from fractions import Fraction
from typing import Any

from sqlalchemy import case, func, select
from sqlalchemy.orm import selectinload

from programme.accounts.models import ApplicantGroup, GroupOrganisation, GroupUser, Organisation, User, UserRole
from programme.calls.models import Call, CallStatus
from programme.core import audit
from programme.core.access import AccessDenied, Actor, NotFound, Role, RuleViolation, require_role
from programme.core.money import format_money
from programme.core.notifications import notify
from programme.extensions import db
from programme.funding.models import Initiative
from programme.funding.services import open_initiative
from programme.proposals.models import Proposal, ProposalStatus, ProposalVersion
from programme.reviews import agreement
from programme.reviews.assignment import AssignmentError, ProposalToReview, ReviewerProfile, assign
from programme.reviews.domain import (
    Consensus,
    ProposalScore,
    Ranking,
    ScoreError,
    Scoring,
    aggregate,
    check_review,
    display,
    plain_number,
    rank_scores,
)
from programme.reviews.models import (
    CallReviewer,
    ConflictOfInterest,
    ConsensusScore,
    Decision,
    Outcome,
    Review,
    ReviewScore,
    ReviewStatus,
    split_sectors,
)

#: Proposals that take part in the review of a closed call.
IN_REVIEW = (ProposalStatus.ELIGIBLE, ProposalStatus.UNDER_REVIEW, ProposalStatus.SCORED)
DECIDED = (ProposalStatus.FUNDED, ProposalStatus.RESERVE, ProposalStatus.REJECTED)


class ReviewIncomplete(RuleViolation):
    """A review cannot be submitted: ``problems`` says what is missing, per criterion key."""

    def __init__(self, problems: Mapping[str, str]):
        keys = ", ".join(problems)
        super().__init__(f"The review cannot be submitted yet: see {keys}.", field=next(iter(problems), None))
        self.problems = dict(problems)


def scoring_of(call: Call) -> Scoring:
    return Scoring.from_rules(call.rules.scoring)


def grant_amount(call: Call, requested: Decimal) -> Decimal:
    """The start-up grant a proposal would be committed: its request, within the rules' maximum and the cap."""
    limit = min(call.rules.funding.startup_grant.maximum, call.per_initiative_cap)
    return min(requested, limit)


def _manager(actor: Actor) -> None:
    require_role(actor, Role.PROGRAMME_MANAGER)


def _require_reviewing(call: Call, what: str) -> None:
    if call.status != CallStatus.REVIEWING:
        raise RuleViolation(f"The call is {call.status.value}; {what} only while its review is under way.")


def _lock(call: Call) -> Call:
    """Lock the call's row for the rest of the transaction (PostgreSQL); SQLite serialises writers anyway."""
    db.session.execute(select(Call.id).where(Call.id == call.id).with_for_update())
    return call


# ---------------------------------------------------------------------------------------------
# The review of a call: start and deadline


def start_review(call: Call, *, deadline: datetime, actor: Actor, now: datetime) -> int:
    """Start the review of a closed call, with the reviewers' deadline. The submitted proposals take the
    eligibility verdict stored with their last version (a manager's override stands). Returns how many
    proposals are eligible for review."""
    _manager(actor)
    _lock(call)
    if call.status != CallStatus.CLOSED:
        raise RuleViolation(f"The call is {call.status.value}; the review starts once the call is closed.")
    if deadline <= now:
        raise RuleViolation("The review deadline must be in the future.", field="deadline")
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
    _manager(actor)
    _require_reviewing(call, "the deadline can be changed")
    if deadline <= now:
        raise RuleViolation("The review deadline must be in the future.", field="deadline")
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
# The reviewer pool


def pool(call: Call) -> list[CallReviewer]:
    return list(db.session.scalars(
        select(CallReviewer).join(User, User.id == CallReviewer.user_id)
        .where(CallReviewer.call_id == call.id).order_by(User.name, User.id)
    ))


def reviewer_candidates(call: Call, *, actor: Actor) -> list[User]:
    """Users with the reviewer role not yet in the call's pool."""
    _manager(actor)
    in_pool = select(CallReviewer.user_id).where(CallReviewer.call_id == call.id)
    return list(db.session.scalars(
        select(User).join(UserRole, UserRole.user_id == User.id)
        .where(UserRole.role == Role.REVIEWER, User.id.not_in(in_pool)).order_by(User.name, User.id)
    ))


def add_reviewer(call: Call, user: User, *, actor: Actor, now: datetime) -> CallReviewer:
    _manager(actor)
    if call.status in (CallStatus.DRAFT, CallStatus.DECIDED):
        raise RuleViolation(f"The call is {call.status.value}; reviewers join a published call before its decision.")
    if not user.has_role(Role.REVIEWER):
        raise RuleViolation(f"{user.name} does not hold the reviewer role.", field="user")
    if db.session.scalar(select(CallReviewer.id).where(CallReviewer.call_id == call.id,
                                                       CallReviewer.user_id == user.id)):
        raise RuleViolation(f"{user.name} is already a reviewer of this call.", field="user")
    entry = CallReviewer(call_id=call.id, user_id=user.id, added_at=now, added_by_id=actor.id)
    entry.user = user
    db.session.add(entry)
    db.session.flush()
    audit.record(db.session, actor, "review.reviewer_added", call, reviewer=user.email)
    notify(db.session, email=user.email, user_id=user.id,
           subject=f"You are a reviewer of {call.reference}",
           body=f"You have joined the reviewer pool of {call.name} ({call.reference}). Declare your conflicts of "
                "interest and your sectors of expertise before proposals are assigned.",
           link=f"/reviewing/calls/{call.id}")
    return entry


def remove_reviewer(call: Call, user_id: int, *, actor: Actor, now: datetime) -> None:
    """Take a reviewer out of the pool; only while none of its reviews has been started."""
    _manager(actor)
    if call.status == CallStatus.DECIDED:
        raise RuleViolation("The call is decided; its reviewer pool is kept as it was.")
    entry = db.session.scalar(select(CallReviewer).where(CallReviewer.call_id == call.id,
                                                         CallReviewer.user_id == user_id))
    if entry is None:
        raise NotFound("no such reviewer in this call")
    started = db.session.scalar(
        select(func.count()).select_from(Review).where(
            Review.call_id == call.id, Review.reviewer_id == user_id, Review.status != ReviewStatus.ASSIGNED)
    )
    if started:
        raise RuleViolation(f"{entry.user.name} has started or submitted {started} review(s); move or reopen "
                            "them first, a reviewer with work on record stays in the pool.")
    reviews = list(db.session.scalars(select(Review).where(Review.call_id == call.id, Review.reviewer_id == user_id)))
    for review in reviews:
        _drop_review(review)
    db.session.delete(entry)
    call.touch_results()
    audit.record(db.session, actor, "review.reviewer_removed", call, reviewer=entry.user.email,
                 assignments_removed=len(reviews))


def pool_entry(call: Call, *, actor: Actor) -> CallReviewer:
    """The actor's own place in the pool of the call (404 for anyone else, so a call's pool stays private)."""
    require_role(actor, Role.REVIEWER)
    entry = db.session.scalar(select(CallReviewer).where(CallReviewer.call_id == call.id,
                                                         CallReviewer.user_id == actor.id))
    if entry is None:
        raise NotFound("you are not a reviewer of this call")
    return entry


def set_expertise(call: Call, *, expertise: str, actor: Actor, now: datetime) -> CallReviewer:
    entry = pool_entry(call, actor=actor)
    entry.expertise = "; ".join(split_sectors(expertise))
    audit.record(db.session, actor, "review.expertise_set", call, expertise=entry.expertise)
    return entry


def known_sectors(call: Call) -> list[str]:
    """Sectors written in the call's proposals and their organisations: suggestions for the expertise field."""
    proposal_sectors = db.session.scalars(select(Proposal.sector).where(Proposal.call_id == call.id).distinct())
    organisation_sectors = db.session.scalars(
        select(Organisation.sector).join(GroupOrganisation, GroupOrganisation.organisation_id == Organisation.id)
        .join(Proposal, Proposal.group_id == GroupOrganisation.group_id).where(Proposal.call_id == call.id).distinct()
    )
    found: set[str] = set()
    for text in (*proposal_sectors, *organisation_sectors):
        found.update(split_sectors(text or ""))
    return sorted(found)


# ---------------------------------------------------------------------------------------------
# Conflicts of interest


@dataclass(frozen=True)
class ConflictMap:
    """Who is in conflict with what in one call, and why: (reviewer id, proposal id) -> reasons."""

    reasons: dict[tuple[int, int], list[str]]

    @property
    def pairs(self) -> set[tuple[int, int]]:
        return set(self.reasons)

    def of_reviewer(self, reviewer_id: int) -> dict[int, list[str]]:
        return {p: why for (r, p), why in self.reasons.items() if r == reviewer_id}

    def of_proposal(self, proposal_id: int) -> dict[int, list[str]]:
        return {r: why for (r, p), why in self.reasons.items() if p == proposal_id}

    def __contains__(self, pair: object) -> bool:
        return pair in self.reasons


def _ids_filter(column: Any, ids: list[int] | None) -> Any:
    """``column IN ids`` for a short list (None: no filter); long lists are filtered in Python instead."""
    return column.in_(ids) if ids is not None and len(ids) <= 500 else None


def conflicts(call: Call, *, reviewer_ids: Iterable[int] | None = None,
              proposal_ids: Iterable[int] | None = None) -> ConflictMap:
    """Every conflict of the call's reviewers with its submitted proposals (or those named).

    A reviewer is in conflict with a proposal when it declared the proposal; when it declared an
    organisation that is a member of the proposal's group; when its own organisation is such a member;
    and when it acts for the group itself. Plain rows only, a handful of queries whatever the size.
    """
    reviewer_list = None if reviewer_ids is None else list(reviewer_ids)
    proposal_list = None if proposal_ids is None else list(proposal_ids)
    reviewers_q = select(CallReviewer.user_id, User.organisation_id, Organisation.name).join(
        User, User.id == CallReviewer.user_id).outerjoin(Organisation, Organisation.id == User.organisation_id
    ).where(CallReviewer.call_id == call.id)
    if (condition := _ids_filter(CallReviewer.user_id, reviewer_list)) is not None:
        reviewers_q = reviewers_q.where(condition)
    reviewers = db.session.execute(reviewers_q).all()
    if reviewer_list is not None:
        chosen = set(reviewer_list)
        reviewers = [r for r in reviewers if r[0] in chosen]
    wanted = {r for r, _, _ in reviewers}
    proposals_q = select(Proposal.id, Proposal.group_id).where(Proposal.call_id == call.id,
                                                              Proposal.submitted_at.is_not(None))
    if (condition := _ids_filter(Proposal.id, proposal_list)) is not None:
        proposals_q = proposals_q.where(condition)
    proposals = db.session.execute(proposals_q).all()
    if proposal_list is not None:
        named = set(proposal_list)
        proposals = [(p, g) for p, g in proposals if p in named]
    group_of = {p: g for p, g in proposals}
    by_group: dict[int, list[int]] = defaultdict(list)
    for p, g in proposals:
        by_group[g].append(p)
    reasons: dict[tuple[int, int], list[str]] = defaultdict(list)
    if not wanted or not proposals:
        return ConflictMap({})

    # The member organisations of the groups concerned.
    members_q = select(GroupOrganisation.organisation_id, GroupOrganisation.group_id)
    group_list = list(by_group)
    if (condition := _ids_filter(GroupOrganisation.group_id, group_list)) is not None:
        members_q = members_q.where(condition)
    else:
        members_q = members_q.where(
            GroupOrganisation.group_id.in_(select(Proposal.group_id).where(Proposal.call_id == call.id)))
    groups_of_org: dict[int, list[int]] = defaultdict(list)
    for org, group in db.session.execute(members_q):
        if group in by_group:
            groups_of_org[org].append(group)

    def org_conflict(reviewer: int, org: int, why: str) -> None:
        for group in groups_of_org.get(org, ()):
            for proposal in by_group[group]:
                reasons[(reviewer, proposal)].append(why)

    for reviewer, own_org, own_name in reviewers:
        if own_org is not None:
            org_conflict(reviewer, own_org, f"works for {own_name}, a member of the group")
    for group_id, user_id in db.session.execute(
        select(GroupUser.group_id, GroupUser.user_id).where(GroupUser.user_id.in_(wanted))
    ):
        for proposal in by_group.get(group_id, ()):
            reasons[(user_id, proposal)].append("acts for the applicant group")
    declared_q = (
        select(ConflictOfInterest.reviewer_id, ConflictOfInterest.organisation_id, ConflictOfInterest.proposal_id,
               Organisation.name)
        .outerjoin(Organisation, Organisation.id == ConflictOfInterest.organisation_id)
        .where(ConflictOfInterest.call_id == call.id)
    )
    if (condition := _ids_filter(ConflictOfInterest.reviewer_id, reviewer_list)) is not None:
        declared_q = declared_q.where(condition)
    for reviewer, org, proposal, org_name in db.session.execute(declared_q):
        if reviewer not in wanted:
            continue
        if proposal is not None:
            if proposal in group_of:
                reasons[(reviewer, proposal)].append("declared a conflict with the proposal")
        elif org is not None:
            org_conflict(reviewer, org, f"declared a conflict with {org_name}, a member of the group")
    return ConflictMap(dict(reasons))


def is_conflicted(call: Call, reviewer_id: int, proposal_id: int) -> bool:
    return (reviewer_id, proposal_id) in conflicts(call, reviewer_ids=[reviewer_id], proposal_ids=[proposal_id])


def declarations_of(call: Call, reviewer_id: int) -> list[ConflictOfInterest]:
    return list(db.session.scalars(
        select(ConflictOfInterest).where(ConflictOfInterest.call_id == call.id,
                                         ConflictOfInterest.reviewer_id == reviewer_id)
        .order_by(ConflictOfInterest.declared_at, ConflictOfInterest.id)
    ))


def organisations_of_call(call: Call) -> list[Organisation]:
    """The organisations in the groups that submitted to the call: what a reviewer may declare a conflict with."""
    return list(db.session.scalars(
        select(Organisation).join(GroupOrganisation, GroupOrganisation.organisation_id == Organisation.id)
        .join(Proposal, Proposal.group_id == GroupOrganisation.group_id)
        .where(Proposal.call_id == call.id, Proposal.submitted_at.is_not(None))
        .distinct().order_by(Organisation.name)
    ))


def declare_conflict(call: Call, *, organisation_id: int | None = None, proposal_id: int | None = None,
                     note: str = "", actor: Actor, now: datetime) -> ConflictOfInterest:
    """A reviewer declares a conflict with an organisation or a proposal of the call. Its assignments that
    the conflict now forbids are removed at once (a submitted review too: a conflicted score never counts)."""
    pool_entry(call, actor=actor)
    if call.status == CallStatus.DECIDED:
        raise RuleViolation("The call is decided; its review is over.")
    if (organisation_id is None) == (proposal_id is None):
        raise RuleViolation("Choose either an organisation or a proposal.", field="organisation_id")
    if proposal_id is not None:
        proposal = db.session.get(Proposal, proposal_id)
        if proposal is None or proposal.call_id != call.id or proposal.submitted_at is None:
            raise RuleViolation("Choose a proposal submitted to this call.", field="proposal_id")
        existing = ConflictOfInterest.proposal_id == proposal_id
    else:
        if db.session.get(Organisation, organisation_id) is None:
            raise RuleViolation("Choose an organisation from the list.", field="organisation_id")
        existing = ConflictOfInterest.organisation_id == organisation_id
    if db.session.scalar(select(ConflictOfInterest.id).where(
            ConflictOfInterest.call_id == call.id, ConflictOfInterest.reviewer_id == actor.id, existing)):
        raise RuleViolation("You have declared this conflict already.",
                            field="proposal_id" if proposal_id is not None else "organisation_id")
    conflict = ConflictOfInterest(call_id=call.id, reviewer_id=actor.id, organisation_id=organisation_id,
                                  proposal_id=proposal_id, note=note.strip(), declared_at=now)
    db.session.add(conflict)
    db.session.flush()
    forbidden = conflicts(call, reviewer_ids=[actor.id]).of_reviewer(actor.id)
    dropped = list(db.session.scalars(
        select(Review).where(Review.call_id == call.id, Review.reviewer_id == actor.id,
                             Review.proposal_id.in_(list(forbidden)))
    ))
    for review in dropped:
        _drop_review(review)
    if dropped:
        call.touch_results()
    audit.record(db.session, actor, "review.conflict_declared", call, organisation_id=organisation_id,
                 proposal_id=proposal_id, note=conflict.note,
                 reviews_removed=[{"proposal_id": r.proposal_id, "status": r.status.value} for r in dropped])
    return conflict


def withdraw_conflict(call: Call, conflict_id: int, *, actor: Actor, now: datetime) -> None:
    """A reviewer withdraws a conflict it declared in error (before the call is decided)."""
    pool_entry(call, actor=actor)
    conflict = db.session.get(ConflictOfInterest, conflict_id)
    if conflict is None or conflict.call_id != call.id or conflict.reviewer_id != actor.id:
        raise NotFound("no such declaration")
    if call.status == CallStatus.DECIDED:
        raise RuleViolation("The call is decided; its review is over.")
    db.session.delete(conflict)
    audit.record(db.session, actor, "review.conflict_withdrawn", call, organisation_id=conflict.organisation_id,
                 proposal_id=conflict.proposal_id)


# ---------------------------------------------------------------------------------------------
# Assignment


def _drop_review(review: Review) -> None:
    proposal = review.proposal
    db.session.delete(review)
    db.session.flush()
    _refresh_proposal_status(proposal)


def _refresh_proposal_status(proposal: Proposal) -> None:
    """Eligible without reviews, under review while any is outstanding, scored when all are submitted."""
    if proposal.status not in IN_REVIEW:
        return
    counts = db.session.execute(
        select(func.count(), func.count(Review.submitted_at)).where(Review.proposal_id == proposal.id)
    ).one()
    assigned, submitted = counts
    if assigned == 0:
        proposal.status = ProposalStatus.ELIGIBLE
    elif submitted == assigned and assigned >= scoring_of(proposal.call).reviewers_per_proposal:
        proposal.status = ProposalStatus.SCORED
    else:
        proposal.status = ProposalStatus.UNDER_REVIEW


def _reviewable(call: Call, proposal: Proposal) -> None:
    if proposal.call_id != call.id:
        raise NotFound("no such proposal in this call")
    if proposal.status not in IN_REVIEW:
        raise RuleViolation(f"Proposal {proposal.reference} is {proposal.status.label.lower()}; only eligible "
                            "proposals are reviewed.", field="proposal_id")


def _in_pool(call: Call, reviewer_id: int) -> CallReviewer:
    entry = db.session.scalar(select(CallReviewer).where(CallReviewer.call_id == call.id,
                                                         CallReviewer.user_id == reviewer_id))
    if entry is None:
        raise RuleViolation("Choose a reviewer from the call's pool.", field="reviewer_id")
    return entry


def _check_pair(call: Call, proposal: Proposal, reviewer_id: int) -> CallReviewer:
    _reviewable(call, proposal)
    entry = _in_pool(call, reviewer_id)
    reasons = conflicts(call, reviewer_ids=[reviewer_id], proposal_ids=[proposal.id]).reasons.get(
        (reviewer_id, proposal.id))
    if reasons:
        raise RuleViolation(f"{entry.user.name} is in conflict with {proposal.reference}: {'; '.join(reasons)}.",
                            field="reviewer_id")
    if db.session.scalar(select(Review.id).where(Review.proposal_id == proposal.id,
                                                 Review.reviewer_id == reviewer_id)):
        raise RuleViolation(f"{entry.user.name} already reviews {proposal.reference}.", field="reviewer_id")
    return entry


def assign_reviewer(call: Call, proposal: Proposal, reviewer_id: int, *, actor: Actor, now: datetime) -> Review:
    """Assign a reviewer to a proposal by hand."""
    _manager(actor)
    _require_reviewing(call, "reviewers are assigned")
    _check_pair(call, proposal, reviewer_id)
    review = Review(call_id=call.id, proposal_id=proposal.id, reviewer_id=reviewer_id,
                    version_number=proposal.latest_version or 1, assigned_at=now, assigned_by=actor.actor_label)
    db.session.add(review)
    db.session.flush()
    _refresh_proposal_status(proposal)
    call.touch_results()
    audit.record(db.session, actor, "review.assigned", review, proposal=proposal.reference, reviewer_id=reviewer_id)
    return review


def _not_started(review: Review, what: str) -> None:
    if review.status != ReviewStatus.ASSIGNED:
        raise RuleViolation(f"The review has been {'submitted' if review.submitted else 'started'}; {what} only "
                            "before the reviewer starts scoring.")


def remove_assignment(review: Review, *, actor: Actor, now: datetime) -> None:
    _manager(actor)
    _require_reviewing(review.call, "assignments are changed")
    _not_started(review, "an assignment is removed")
    audit.record(db.session, actor, "review.unassigned", review, proposal_id=review.proposal_id,
                 reviewer_id=review.reviewer_id)
    review.call.touch_results()
    _drop_review(review)


def move_assignment(review: Review, reviewer_id: int, *, actor: Actor, now: datetime) -> Review:
    """Give a proposal's assignment to another reviewer of the pool, before scoring starts."""
    _manager(actor)
    call = review.call
    _require_reviewing(call, "assignments are changed")
    _not_started(review, "an assignment is moved")
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
    _manager(actor)
    _lock(call)
    _require_reviewing(call, "reviewers are assigned")
    k = scoring_of(call).reviewers_per_proposal
    reviewers = pool(call)
    if len(reviewers) < k:
        raise RuleViolation(f"The rules ask for {k} reviewers per proposal; the pool has {len(reviewers)}. "
                            "Add reviewers first.")
    rows = db.session.execute(
        select(Proposal.id, Proposal.sector, Proposal.latest_version)
        .where(Proposal.call_id == call.id, Proposal.status.in_(IN_REVIEW))
    ).all()
    if not rows:
        raise RuleViolation("No eligible proposal waits for reviewers.")
    existing = db.session.execute(
        select(Review.reviewer_id, Review.proposal_id).where(Review.call_id == call.id)
    ).all()
    per_proposal: dict[int, int] = defaultdict(int)
    for _, proposal_id in existing:
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
        message = str(error)
        for pid, ref in references.items():
            message = re.sub(rf"\bproposal {pid}\b", f"proposal {ref}", message)
        raise RuleViolation(f"No assignment is possible: {message}.") from None
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
    _manager(actor)
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


# ---------------------------------------------------------------------------------------------
# The reviewer's side


def reviews_of(actor: Actor, *, call: Call | None = None) -> list[Review]:
    require_role(actor, Role.REVIEWER)
    query = select(Review).where(Review.reviewer_id == actor.id)
    if call is not None:
        query = query.where(Review.call_id == call.id)
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
        raise RuleViolation("The review is submitted and locked; a programme manager can reopen it.")
    _require_reviewing(call, "reviews are scored")
    if is_conflicted(call, actor.id, review.proposal_id):
        raise NotFound("no such review")
    if review.proposal.status not in IN_REVIEW:
        raise RuleViolation(f"Proposal {review.proposal.reference} is {review.proposal.status.label.lower()}; it is "
                            "no longer reviewed.")
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
        _refresh_proposal_status(review.proposal)
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
    _manager(actor)
    if not review.submitted:
        raise RuleViolation("Only a submitted review can be reopened.")
    _require_reviewing(review.call, "a review is reopened")
    if not reason.strip():
        raise RuleViolation("Give the reason for reopening the review.", field="reason")
    submitted_at = review.submitted_at
    review.status = ReviewStatus.DRAFT
    review.submitted_at = None
    review.reopened_count += 1
    review.late_flagged_at = None
    db.session.flush()
    _refresh_proposal_status(review.proposal)
    review.call.touch_results()
    audit.record(db.session, actor, "review.reopened", review, reason=reason.strip(), submitted_at=submitted_at,
                 scores={s.criterion_key: str(s.score) for s in review.scores})
    notify(db.session, email=review.reviewer.email, user_id=review.reviewer_id,
           subject=f"Your review of {review.proposal.reference} is reopened",
           body=f"A programme manager reopened your review of {review.proposal.reference}: {reason.strip()}\n"
                "Your scores are kept as a draft; change what is needed and submit again.",
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
        raise AccessDenied("other reviewers' scores are shown once your own review is submitted")
    others = db.session.scalars(
        select(Review).where(Review.proposal_id == review.proposal_id, Review.id != review.id,
                             Review.status == ReviewStatus.SUBMITTED).order_by(Review.id)
    ).all()
    return [CoReview(f"Another reviewer ({i})", {s.criterion_key: s.score for s in other.scores},
                     {s.criterion_key: s.justification for s in other.scores})
            for i, other in enumerate(others, start=1)]


# ---------------------------------------------------------------------------------------------
# Results: aggregation, ranking, calibration


@dataclass(frozen=True)
class ProposalRow:
    """What the pages and exports need of a proposal in review."""

    id: int
    reference: str
    title: str
    group_name: str
    requested: Decimal
    amount: Decimal
    submitted_at: datetime
    status: ProposalStatus
    assigned: int
    submitted: int


@dataclass
class CallResults:
    call_id: int
    token: str
    scoring: Scoring
    rows: dict[int, ProposalRow]
    scores: dict[int, ProposalScore]
    ranking: Ranking
    reviews: dict[int, dict[int, dict[str, Decimal]]]
    consensus: dict[int, dict[str, Consensus]]
    decisions: dict[int, Decision] = field(default_factory=dict)

    def ranked_as(self, proposal_id: int) -> tuple[str, int | None]:
        place = self.ranking.place(proposal_id)
        if place is not None:
            return place.status, place.rank
        score = self.scores.get(proposal_id)
        return ("not_fundable" if score is not None and score.scored else "not_scored"), None

    def by_disagreement(self) -> list[int]:
        """Proposal ids, the largest spread on any criterion first (unscored last)."""
        def key(pid: int) -> tuple[int, Fraction, str]:
            spread = self.scores[pid].max_spread
            return (spread is None, -Fraction(spread or 0), self.rows[pid].reference)
        return sorted(self.rows, key=key)


_CACHE: OrderedDict[str, CallResults] = OrderedDict()
_CACHE_LOCK = threading.Lock()
_CACHE_SIZE = 8


@contextmanager
def _collector_paused() -> Iterator[None]:
    """Pause the cyclic garbage collector while the results are built: they are some 300,000 small acyclic
    objects at 5,000 proposals, and the collector would rescan the heap several times over (a third of the
    time). Reference counting still frees everything."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def _submitted_scores(call: Call, scoring: Scoring, rows: Mapping[int, ProposalRow]
                      ) -> dict[int, dict[int, dict[str, Decimal]]]:
    """Proposal -> reviewer -> criterion key -> score of the submitted reviews: one row per review."""
    keys = scoring.keys
    columns = [func.max(case((ReviewScore.criterion_key == key, ReviewScore.score))) for key in keys]
    reviews: dict[int, dict[int, dict[str, Decimal]]] = defaultdict(dict)
    for proposal_id, reviewer_id, *values in db.session.execute(
        select(Review.proposal_id, Review.reviewer_id, *columns)
        .join(ReviewScore, ReviewScore.review_id == Review.id)
        .where(Review.call_id == call.id, Review.status == ReviewStatus.SUBMITTED)
        .group_by(Review.id, Review.proposal_id, Review.reviewer_id)
    ):
        if proposal_id in rows:
            reviews[proposal_id][reviewer_id] = {k: v for k, v in zip(keys, values, strict=True) if v is not None}
    return reviews


def _load_results(call: Call) -> CallResults:
    with _collector_paused():
        return _compute_results(call)


def _compute_results(call: Call) -> CallResults:
    scoring = scoring_of(call)
    token = call.results_token
    counts = {pid: (a, s) for pid, a, s in db.session.execute(
        select(Review.proposal_id, func.count(), func.count(Review.submitted_at))
        .where(Review.call_id == call.id).group_by(Review.proposal_id)
    )}
    rows: dict[int, ProposalRow] = {}
    for r in db.session.execute(
        select(Proposal.id, Proposal.reference, Proposal.title, Proposal.status, ApplicantGroup.name.label("group"),
               ProposalVersion.requested_amount, ProposalVersion.submitted_at.label("version_at"))
        .join(ProposalVersion, (ProposalVersion.proposal_id == Proposal.id)
              & (ProposalVersion.number == Proposal.latest_version))
        .join(ApplicantGroup, ApplicantGroup.id == Proposal.group_id)
        .where(Proposal.call_id == call.id, Proposal.status.in_(IN_REVIEW + DECIDED))
    ):
        assigned, submitted = counts.get(r.id, (0, 0))
        rows[r.id] = ProposalRow(r.id, r.reference or "", r.title, r.group, r.requested_amount,
                                 grant_amount(call, r.requested_amount), r.version_at, r.status, assigned, submitted)

    reviews = _submitted_scores(call, scoring, rows)
    consensus: dict[int, dict[str, Consensus]] = defaultdict(dict)
    for proposal_id, key, score, reason in db.session.execute(
        select(ConsensusScore.proposal_id, ConsensusScore.criterion_key, ConsensusScore.score, ConsensusScore.reason)
        .join(Proposal, Proposal.id == ConsensusScore.proposal_id).where(Proposal.call_id == call.id)
    ):
        consensus[proposal_id][key] = Consensus(score, reason)
    scores = {pid: aggregate(reviews.get(pid, {}), scoring, consensus.get(pid)) for pid in rows}
    ranking = rank_scores(
        scores, scoring, requested={pid: row.amount for pid, row in rows.items()},
        submitted_at={pid: row.submitted_at for pid, row in rows.items()}, budget=call.budget,
    )
    decisions = {d.proposal_id: d for d in db.session.scalars(select(Decision).where(Decision.call_id == call.id))}
    for decision in decisions.values():
        db.session.expunge(decision)
    return CallResults(call.id, token, scoring, rows, scores, ranking, dict(reviews), dict(consensus), decisions)


def call_results(call: Call, *, actor: Actor) -> CallResults:
    """The call's aggregated scores and ranking (managers only), computed once per change of its results."""
    _manager(actor)
    return results_of(call)


def results_of(call: Call) -> CallResults:
    token = call.results_token
    with _CACHE_LOCK:
        cached = _CACHE.get(token)
        if cached is not None and cached.call_id == call.id:
            _CACHE.move_to_end(token)
            return cached
    results = _load_results(call)
    current = db.session.scalar(select(Call.results_token).where(Call.id == call.id))
    if current == token and not db.session.dirty and not db.session.new:
        with _CACHE_LOCK:
            _CACHE[token] = results
            while len(_CACHE) > _CACHE_SIZE:
                _CACHE.popitem(last=False)
    return results


@dataclass(frozen=True)
class Calibration:
    report: agreement.CalibrationReport
    alpha_totals: Fraction | None
    alpha_scores: Fraction | None
    names: dict[int, str]


_CALIBRATIONS: OrderedDict[str, tuple[agreement.CalibrationReport, Fraction | None, Fraction | None]] = OrderedDict()


def calibration(call: Call, *, actor: Actor) -> Calibration:
    """The reviewers' offsets, the agreement statistics and the calibrated ranking (kept until the next change
    of the call's results, like the results themselves)."""
    _manager(actor)
    results = results_of(call)
    with _CACHE_LOCK:
        cached = _CALIBRATIONS.get(results.token)
    if cached is None:
        report = agreement.calibration_report(
            results.reviews, results.scoring, consensus=results.consensus,
            requested={pid: row.amount for pid, row in results.rows.items()},
            submitted_at={pid: row.submitted_at for pid, row in results.rows.items()},
            budget=call.budget, scores=results.scores,
        )
        cached = (report, agreement.alpha(results.reviews, results.scoring, unit="proposal"),
                  agreement.alpha(results.reviews, results.scoring, unit="criterion"))
        with _CACHE_LOCK:
            if results.token in _CACHE:
                _CALIBRATIONS[results.token] = cached
                while len(_CALIBRATIONS) > _CACHE_SIZE:
                    _CALIBRATIONS.popitem(last=False)
    names = dict(db.session.execute(
        select(User.id, User.name).join(CallReviewer, CallReviewer.user_id == User.id)
        .where(CallReviewer.call_id == call.id)).all())
    return Calibration(cached[0], cached[1], cached[2], names)


def proposal_reviews(proposal: Proposal, *, actor: Actor) -> list[Review]:
    """Every review of a proposal, with the reviewers' names: for managers."""
    _manager(actor)
    return list(db.session.scalars(select(Review).where(Review.proposal_id == proposal.id).order_by(Review.id)))


def consensus_of(proposal: Proposal) -> dict[str, ConsensusScore]:
    return {c.criterion_key: c for c in db.session.scalars(
        select(ConsensusScore).where(ConsensusScore.proposal_id == proposal.id))}


def _open_for_results(call: Call) -> None:
    _require_reviewing(call, "scores and decisions change")


def record_consensus(proposal: Proposal, *, criterion_key: str, score: Any, reason: str, actor: Actor,
                     now: datetime) -> ConsensusScore:
    """Record (or replace) the panel's consensus score on one criterion; it then replaces the mean."""
    _manager(actor)
    call = proposal.call
    _open_for_results(call)
    if proposal.status not in IN_REVIEW:
        raise RuleViolation(f"Proposal {proposal.reference} is not in review.")
    scoring = scoring_of(call)
    if criterion_key not in scoring.keys:
        raise RuleViolation("Choose one of the call's criteria.", field="criterion_key")
    try:
        value = scoring.scale.check(score)
    except ScoreError as error:
        raise RuleViolation(f"Consensus score: {error}", field="score") from None
    if not reason.strip():
        raise RuleViolation("A consensus score needs the reason the panel agreed on it.", field="reason")
    if not db.session.scalar(select(func.count()).select_from(Review).where(
            Review.proposal_id == proposal.id, Review.status == ReviewStatus.SUBMITTED)):
        raise RuleViolation("A consensus replaces the mean of submitted reviews; none is submitted yet.")
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
    _manager(actor)
    _open_for_results(proposal.call)
    row = db.session.scalar(select(ConsensusScore).where(ConsensusScore.proposal_id == proposal.id,
                                                         ConsensusScore.criterion_key == criterion_key))
    if row is None:
        raise NotFound("no consensus score on this criterion")
    audit.record(db.session, actor, "review.consensus_cleared", proposal, criterion=criterion_key,
                 score=str(row.score), reason=row.reason)
    db.session.delete(row)
    proposal.call.touch_results()


# ---------------------------------------------------------------------------------------------
# Decisions and awards


def _against(outcome: Outcome, ranked_as: str) -> bool:
    return outcome.value != ranked_as and not (outcome == Outcome.REJECTED and ranked_as in ("not_fundable",
                                                                                              "not_scored"))


def record_decision(proposal: Proposal, *, outcome: Outcome, reason: str, actor: Actor, now: datetime) -> Decision:
    """Record (or change, until the call is decided) funded / reserve / rejected for a proposal, with a reason.

    Only a fundable proposal (at or above every threshold) can be funded or put on the reserve list; a
    decision that differs from the ranking is marked as such. The funded start-up grants never exceed the
    call's budget.
    """
    _manager(actor)
    call = _lock(proposal.call)
    _open_for_results(call)
    if proposal.status not in IN_REVIEW:
        raise RuleViolation(f"Proposal {proposal.reference} is not in review.")
    reason = reason.strip()
    if not reason:
        raise RuleViolation("Give the reason for the decision.", field="reason")
    results = results_of(call)
    ranked_as, place = results.ranked_as(proposal.id)
    if outcome != Outcome.REJECTED and ranked_as in ("not_fundable", "not_scored"):
        why = "; ".join(results.scores[proposal.id].reasons) if proposal.id in results.scores else "no score"
        raise RuleViolation(f"{proposal.reference} is not fundable ({why}); it can only be rejected.", field="outcome")
    row = results.rows.get(proposal.id)
    if row is None:  # pragma: no cover - every change of a proposal's status touches the results
        raise RuleViolation(f"{proposal.reference} is not in the ranking yet; reload the page.")
    amount = row.amount if outcome == Outcome.FUNDED else None
    if amount is not None:
        funded = db.session.scalar(
            select(func.coalesce(func.sum(Decision.amount), 0))
            .join(Proposal, Proposal.id == Decision.proposal_id)
            .where(Decision.call_id == call.id, Decision.outcome == Outcome.FUNDED, Decision.proposal_id != proposal.id,
                   Proposal.status.in_(IN_REVIEW))
        )
        total = Decimal(funded) + amount
        if total > call.budget:
            raise RuleViolation(
                f"Funding {proposal.reference} ({format_money(amount, call.currency)}) would commit "
                f"{format_money(total, call.currency)}, {format_money(total - call.budget, call.currency)} over the "
                f"call's budget of {format_money(call.budget, call.currency)}.", field="outcome")
    decision = db.session.scalar(select(Decision).where(Decision.proposal_id == proposal.id))
    previous = None if decision is None else (decision.outcome.value, decision.reason)
    if decision is None:
        decision = Decision(call_id=call.id, proposal_id=proposal.id)
        db.session.add(decision)
    decision.outcome = outcome
    decision.reason = reason
    decision.ranked_as = ranked_as
    decision.rank = place
    decision.against_ranking = _against(outcome, ranked_as)
    decision.amount = amount
    decision.decided_at = now
    decision.decided_by_id = actor.id
    db.session.flush()
    call.touch_results()
    audit.record(db.session, actor, "review.decision_recorded", proposal, outcome=outcome.value, reason=reason,
                 ranked_as=ranked_as, rank=place, against_ranking=decision.against_ranking, previous=previous)
    return decision


def _funded_total(call: Call) -> Decimal:
    """The start-up grants of the funded decisions of proposals still in review."""
    total = db.session.scalar(
        select(func.coalesce(func.sum(Decision.amount), 0)).join(Proposal, Proposal.id == Decision.proposal_id)
        .where(Decision.call_id == call.id, Decision.outcome == Outcome.FUNDED, Proposal.status.in_(IN_REVIEW))
    )
    return Decimal(total).quantize(Decimal("0.01"))


def decide_as_ranked(call: Call, *, actor: Actor, now: datetime) -> int:
    """Record the ranking's outcome for every proposal without a decision: funded above the line, reserve
    below it, rejected when not fundable (with the reasons). Returns how many decisions were recorded."""
    _manager(actor)
    _lock(call)
    _open_for_results(call)
    results = results_of(call)
    unscored = [row.reference for pid, row in results.rows.items()
                if not results.scores[pid].scored and pid not in results.decisions
                and row.status in IN_REVIEW]
    if unscored:
        shown = ", ".join(sorted(unscored)[:5]) + (" ..." if len(unscored) > 5 else "")
        raise RuleViolation(f"{len(unscored)} proposal(s) have no submitted review yet ({shown}); decide them one "
                            "by one, or wait for their reviews.")
    decided = set(results.decisions)
    funded_total = _funded_total(call)
    new: list[dict[str, Any]] = []
    for place in results.ranking.ranked:
        pid = place.proposal_id
        if pid in decided:
            continue
        outcome = Outcome.FUNDED if place.funded else Outcome.RESERVE
        amount = results.rows[pid].amount if place.funded else None
        reason = (f"Ranked {place.rank}, above the funding line." if place.funded
                  else f"Ranked {place.rank}, below the funding line: on the reserve list.")
        if amount is not None and funded_total + amount > call.budget:
            left = format_money(call.budget - funded_total, call.currency)
            reason = (f"Ranked {place.rank}, above the funding line, but the budget left after the decisions "
                      f"already recorded ({left}) does not cover its {format_money(amount, call.currency)}: on the "
                      "reserve list.")
            outcome, amount = Outcome.RESERVE, None
        if amount is not None:
            funded_total += amount
        new.append({"proposal_id": pid, "outcome": outcome, "reason": reason, "ranked_as": place.status,
                    "rank": place.rank, "against_ranking": _against(outcome, place.status), "amount": amount})
    for entry in results.ranking.not_fundable:
        pid = entry.proposal_id
        if pid in decided:
            continue
        reasons = "; ".join(results.scores[pid].reasons)
        new.append({"proposal_id": pid, "outcome": Outcome.REJECTED, "reason": f"Not fundable: {reasons}.",
                    "ranked_as": "not_fundable", "rank": None, "against_ranking": False, "amount": None})
    for values in new:
        db.session.add(Decision(call_id=call.id, decided_at=now, decided_by_id=actor.id, **values))
    db.session.flush()
    call.touch_results()
    audit.record(db.session, actor, "review.decided_as_ranked", call, decisions=len(new))
    return len(new)


def publish_decisions(call: Call, *, actor: Actor, now: datetime, link_for: Any = None) -> list[Initiative]:
    """Close the review: every proposal in review takes its decision, each group is told its scores and the
    reviewers' justifications (without names), and each funded proposal becomes an initiative with its
    start-up grant commitment. ``link_for(proposal)`` gives the link put in the notifications."""
    _manager(actor)
    _lock(call)
    _open_for_results(call)
    results = results_of(call)
    waiting = list(db.session.scalars(
        select(Proposal.reference).where(
            Proposal.call_id == call.id, Proposal.status.in_(IN_REVIEW),
            ~select(Decision.id).where(Decision.proposal_id == Proposal.id).exists())
    ))
    if waiting:
        shown = ", ".join(sorted(waiting)[:5]) + (" ..." if len(waiting) > 5 else "")
        raise RuleViolation(f"{len(waiting)} proposal(s) have no decision yet ({shown}).")
    # Only the decisions of proposals still in review: one withdrawn since keeps its status, and no award.
    decisions = {d.proposal_id: d for d in db.session.scalars(
        select(Decision).join(Proposal, Proposal.id == Decision.proposal_id)
        .where(Decision.call_id == call.id, Proposal.status.in_(IN_REVIEW)))}
    funded_total = _funded_total(call)
    if funded_total > call.budget:  # pragma: no cover - record_decision keeps this from happening
        raise RuleViolation("The funded start-up grants exceed the call's budget.")
    proposals = {p.id: p for p in db.session.scalars(select(Proposal).where(Proposal.id.in_(list(decisions))))}
    initiatives: list[Initiative] = []
    for pid in sorted(decisions, key=lambda p: (decisions[p].rank or 10**9, proposals[p].reference or "")):
        decision = decisions[pid]
        proposal = proposals[pid]
        proposal.status = ProposalStatus(decision.outcome.value)
        if decision.outcome == Outcome.FUNDED:
            initiatives.append(open_initiative(call, proposal, amount=decision.amount, actor=actor, now=now))
    call.status = CallStatus.DECIDED
    call.decided_at = now
    call.touch_results()
    db.session.flush()
    for pid, decision in decisions.items():
        _notify_group(call, proposals[pid], decision, results, link_for)
    audit.record(db.session, actor, "review.decisions_published", call,
                 funded=sum(1 for d in decisions.values() if d.outcome == Outcome.FUNDED),
                 reserve=sum(1 for d in decisions.values() if d.outcome == Outcome.RESERVE),
                 rejected=sum(1 for d in decisions.values() if d.outcome == Outcome.REJECTED),
                 committed=str(funded_total), initiatives=[i.reference for i in initiatives])
    return initiatives


def _notify_group(call: Call, proposal: Proposal, decision: Decision, results: CallResults, link_for: Any) -> None:
    score = results.scores.get(proposal.id)
    lines = [f"The review of {call.name} ({call.reference}) is decided. Your proposal {proposal.reference} is "
             f"{decision.outcome.label.lower()}: {decision.reason}"]
    if decision.outcome == Outcome.FUNDED and decision.amount is not None:
        grant = format_money(decision.amount, call.currency)
        lines.append(f"It becomes an initiative with a start-up grant of {grant}.")
    if score is not None and score.scored:
        lines.append("")
        lines.append("Scores per criterion (mean of the reviews, or the panel's consensus):")
        for criterion in call.criteria:
            result = score.criterion(criterion.key)
            lines.append(f"- {criterion.title}: {display(result.counted)}")
        threshold = plain_number(results.scoring.overall_threshold)
        lines.append(f"Total: {display(score.total)} (fundable from {threshold}).")
        lines.append("The reviewers' justifications are on the proposal's page.")
    link = link_for(proposal) if link_for else f"/proposals/{proposal.id}"
    for member in proposal.group.users:
        notify(db.session, email=member.user.email, user_id=member.user_id,
               subject=f"Decision on {proposal.reference}: {decision.outcome.label.lower()}",
               body="\n".join(lines), link=link)


@dataclass(frozen=True)
class CriterionFeedback:
    key: str
    title: str
    weight: Decimal
    threshold: Decimal
    counted: Decimal | None
    consensus_reason: str | None
    justifications: list[tuple[str, Decimal | None, str]]


@dataclass(frozen=True)
class Feedback:
    decision: Decision
    total: Decimal | None
    fundable: bool
    reasons: tuple[str, ...]
    criteria: list[CriterionFeedback]


def feedback_for(proposal: Proposal, *, actor: Actor) -> Feedback | None:
    """What the group learns once the call is decided: the decision, its scores per criterion and the
    reviewers' justifications, labelled 'Reviewer 1, 2, ...' (never a name). ``None`` before that."""
    if not proposal.can_view(actor):
        raise NotFound("no such proposal")
    call = proposal.call
    if call.status != CallStatus.DECIDED:
        return None
    decision = db.session.scalar(select(Decision).where(Decision.proposal_id == proposal.id))
    if decision is None:
        return None
    reviews = db.session.scalars(
        select(Review).where(Review.proposal_id == proposal.id, Review.status == ReviewStatus.SUBMITTED)
        .order_by(Review.id)
    ).all()
    scoring = scoring_of(call)
    consensus = consensus_of(proposal)
    score = aggregate({r.id: {s.criterion_key: s.score for s in r.scores} for r in reviews}, scoring,
                      {k: Consensus(c.score, c.reason) for k, c in consensus.items()})
    label = {r.id: f"Reviewer {i}" for i, r in enumerate(reviews, start=1)}
    criteria = []
    for criterion in call.criteria:
        counted = display(score.criterion(criterion.key).counted) if score.scored else None
        texts = [(label[r.id], s.score, s.justification) for r in reviews for s in r.scores
                 if s.criterion_key == criterion.key]
        criteria.append(CriterionFeedback(criterion.key, criterion.title, criterion.weight, criterion.threshold,
                                          counted, consensus[criterion.key].reason if criterion.key in consensus
                                          else None, texts))
    return Feedback(decision, display(score.total), score.fundable, score.reasons, criteria)


# ---------------------------------------------------------------------------------------------
# Scheduled: reminders before the deadline, late reviews flagged to the managers


def _managers() -> list[User]:
    return list(db.session.scalars(
        select(User).join(UserRole, UserRole.user_id == User.id)
        .where(UserRole.role == Role.PROGRAMME_MANAGER, User.active.is_(True))
    ))


def remind_reviewers(*, actor: Actor, now: datetime) -> int:
    """Remind each reviewer once of its unsubmitted reviews when the deadline is within the rules' days.
    Run twice, the second run sends nothing. Returns how many reviews were reminded."""
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
            notify(db.session, email=user.email, user_id=reviewer_id,
                   subject=f"Reviews due for {call.reference}",
                   body=f"{len(reviews)} of your reviews for {call.name} are not submitted yet; the review deadline "
                        f"is {call.review_deadline:%Y-%m-%d %H:%M} UTC.",
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
            notify(db.session, email=manager.email, user_id=manager.id,
                   subject=f"{len(late)} late review(s) in {call.reference}",
                   body=f"The review deadline of {call.name} has passed with {len(late)} review(s) by {reviewers} "
                        "reviewer(s) not submitted. Reassign them or extend the deadline.",
                   link=f"/calls/{call.id}/review/assignments")
        audit.record(db.session, actor, "review.late_flagged", call, reviews=len(late), reviewers=reviewers)
    return flagged
