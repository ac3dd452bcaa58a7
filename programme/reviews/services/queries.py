"""What the review pages read besides the operations: a proposal of the call's review, one page of the
assignments, the proposals short of reviewers, the conflicts declared per reviewer, the proposals a reviewer
may declare a conflict with, and the eager loading that keeps a long list at a few queries."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Generic, TypeVar

from sqlalchemy import func, select
from sqlalchemy.orm import joinedload, lazyload, selectinload

from programme.accounts.models import Organisation, User
from programme.calls.models import Call
from programme.core.access import Actor, NotFound
from programme.extensions import db
from programme.proposals.models import Proposal
from programme.reviews.models import ConflictOfInterest, Review
from programme.reviews.services._common import DECIDED, IN_REVIEW, brief_proposals, require_manager, scoring_of
from programme.reviews.services.assignment import AssignmentRow
from programme.reviews.services.reviewer_pool import reviewer_conflicts

T = TypeVar("T")


def proposal_in_review(call: Call, proposal_id: int) -> Proposal:
    """A proposal taking part in this call's review; 404 for any other id (another call's, a draft...)."""
    proposal = db.session.get(Proposal, proposal_id)
    if proposal is None or proposal.call_id != call.id or proposal.status not in IN_REVIEW + DECIDED:
        raise NotFound("no such proposal in the review of this call")
    return proposal


def assignment_page(call: Call, *, page: int, per_page: int, actor: Actor) -> tuple[list[AssignmentRow], int]:
    """One page of the proposals in review, in reference order, each with its reviews, and how many there are
    in all: three queries whatever the page size (the reviews come without their scores). Managers only."""
    require_manager(actor)
    in_review = select(Proposal).where(Proposal.call_id == call.id, Proposal.status.in_(IN_REVIEW + DECIDED))
    count = db.session.scalar(select(func.count()).select_from(in_review.subquery())) or 0
    proposals = db.session.scalars(in_review.order_by(Proposal.reference, Proposal.id)
                                   .limit(per_page).offset((page - 1) * per_page)).all()
    reviews: dict[int, list[Review]] = defaultdict(list)
    if proposals:
        for review in db.session.scalars(
            select(Review).where(Review.proposal_id.in_([p.id for p in proposals]))
            .options(lazyload(Review.scores)).order_by(Review.id)
        ):
            reviews[review.proposal_id].append(review)
    rows = [AssignmentRow(p.id, p.reference or "", p.title, p.group.name, p.sector, p.status, reviews[p.id])
            for p in proposals]
    return rows, count


def short_of_reviewers(call: Call) -> int:
    """How many proposals in review have fewer reviewers than the rules ask for (one query)."""
    wanted = scoring_of(call).reviewers_per_proposal
    assigned = (select(Review.proposal_id, func.count().label("reviews")).where(Review.call_id == call.id)
                .group_by(Review.proposal_id).subquery())
    return db.session.scalar(
        select(func.count()).select_from(Proposal).outerjoin(assigned, assigned.c.proposal_id == Proposal.id)
        .where(Proposal.call_id == call.id, Proposal.status.in_(IN_REVIEW),
               func.coalesce(assigned.c.reviews, 0) < wanted)
    ) or 0


def declared_conflicts(call: Call, *, actor: Actor) -> dict[int, int]:
    """Per reviewer of the call: how many conflicts of interest it declared. Managers only."""
    require_manager(actor)
    return dict(db.session.execute(
        select(ConflictOfInterest.reviewer_id, func.count()).where(ConflictOfInterest.call_id == call.id)
        .group_by(ConflictOfInterest.reviewer_id)
    ).all())


@dataclass(frozen=True)
class Slice(Generic[T]):
    """Some of a list (a page of it, or its first few) and how long the whole list is."""

    items: list[T]
    count: int


def conflicted_proposals(call: Call, *, actor: Actor, limit: int | None = None, offset: int = 0
                         ) -> Slice[tuple[Proposal, list[str]]]:
    """The proposals of the call the reviewer is in conflict with, with why, in reference order: ``limit`` of them
    from ``offset`` (all without a limit), and how many there are (one query more than ``reviewer_conflicts``,
    however many proposals the call has)."""
    reasons = reviewer_conflicts(call, actor.id)
    if not reasons:
        return Slice([], 0)
    proposals = db.session.scalars(
        select(Proposal).where(Proposal.id.in_(list(reasons))).options(*brief_proposals())
        .order_by(Proposal.reference, Proposal.id).limit(limit).offset(offset))
    return Slice([(proposal, reasons[proposal.id]) for proposal in proposals], len(reasons))


def declarations_page(call: Call, *, actor: Actor, limit: int, offset: int = 0) -> Slice[ConflictOfInterest]:
    """The reviewer's own declarations of conflict in the call, oldest first: ``limit`` of them from ``offset``,
    and how many there are (one query: the count rides along each row)."""
    total = func.count().over().label("total")
    rows = db.session.execute(
        select(ConflictOfInterest, total).where(ConflictOfInterest.call_id == call.id,
                                                ConflictOfInterest.reviewer_id == actor.id)
        .options(*brief_proposals(joinedload(ConflictOfInterest.proposal)))
        .order_by(ConflictOfInterest.declared_at, ConflictOfInterest.id).limit(limit).offset(offset)
    ).all()
    if rows:
        return Slice([row[0] for row in rows], rows[0].total)
    count = db.session.scalar(select(func.count()).select_from(ConflictOfInterest).where(
        ConflictOfInterest.call_id == call.id, ConflictOfInterest.reviewer_id == actor.id)) if offset else 0
    return Slice([], count or 0)


def load_organisations(users: Iterable[User]) -> None:
    """Load the users' organisations in one query, so that ``user.organisation`` costs none per row."""
    ids = {u.organisation_id for u in users if u.organisation_id is not None}
    if ids:
        db.session.scalars(select(Organisation).where(Organisation.id.in_(ids))).all()


def load_proposals(reviews: Iterable[Review]) -> None:
    """Load the reviews' proposals and their groups in two queries, so that a list of reviews costs none per row."""
    ids = {r.proposal_id for r in reviews}
    if ids:
        db.session.scalars(select(Proposal).where(Proposal.id.in_(ids)).options(selectinload(Proposal.group))).all()
