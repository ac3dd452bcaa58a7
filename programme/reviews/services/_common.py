"""What the review's flow modules share: the statuses of a proposal in review, the call's scoring and
grant limit, the checks every operation makes (a manager, a review under way, the call's row locked), and
removing a review with the proposal's status kept in step. Private to ``programme.reviews.services``: the
public names here are re-exported by the package."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import lazyload, load_only

from programme.calls.models import Call, CallStatus
from programme.core.access import Actor, Role, RuleViolation, require_role
from programme.core.texts import lazy_gettext as _l
from programme.extensions import db
from programme.proposals.domain import BudgetLimits
from programme.proposals.models import Proposal, ProposalStatus
from programme.reviews.domain import Scoring
from programme.reviews.models import Review

#: Proposals that take part in the review of a closed call.
IN_REVIEW = (ProposalStatus.ELIGIBLE, ProposalStatus.UNDER_REVIEW, ProposalStatus.SCORED)
DECIDED = (ProposalStatus.FUNDED, ProposalStatus.RESERVE, ProposalStatus.REJECTED)


def scoring_of(call: Call) -> Scoring:
    """The call's scoring rules (criteria, weights, thresholds, scale) as the domain's ``Scoring``."""
    return Scoring.from_rules(call.rules.scoring)


def grant_amount(call: Call, requested: Decimal) -> Decimal:
    """The start-up grant a proposal would be committed: its request, within the rules' maximum and the cap."""
    limits = BudgetLimits.of(call.rules, per_initiative_cap=call.per_initiative_cap, currency=call.currency)
    return min(requested, limits.limit)


def require_manager(actor: Actor) -> None:
    """403 for anyone but a programme manager."""
    require_role(actor, Role.PROGRAMME_MANAGER)


def require_decision_reader(actor: Actor) -> None:
    """The ranking and the decisions are read by programme managers and auditors: 403 for anyone else."""
    require_role(actor, Role.PROGRAMME_MANAGER, Role.AUDITOR)


def require_reviewing(call: Call, refusal: Any) -> None:
    """Refuse unless the call's review is under way; ``refusal`` is the sentence that says so, marked for
    translation, with the call's status as ``%(status)s`` ("The call is %(status)s; reviewers are assigned only
    while its review is under way.")."""
    if call.status != CallStatus.REVIEWING:
        raise RuleViolation(str(refusal) % {"status": call.status.label.lower()})


def lock_call(call: Call) -> Call:
    """Lock the call's row for the rest of the transaction (PostgreSQL); SQLite serialises writers anyway."""
    db.session.execute(select(Call.id).where(Call.id == call.id).with_for_update())
    return call


def drop_review(review: Review) -> None:
    """Delete a review (an assignment) and bring its proposal's status up to date."""
    proposal = review.proposal
    db.session.delete(review)
    db.session.flush()
    refresh_proposal_status(proposal)


def refresh_proposal_status(proposal: Proposal) -> None:
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


def brief_proposals(path: Any = None) -> tuple[Any, ...]:
    """Loader options for a list that shows proposals by reference, title and group (the proposals themselves, or
    those at ``path``, e.g. ``selectinload(Review.proposal)``): only those columns, the group joined, the call from
    the session, so that a list of many rows costs one plain query."""
    own = (load_only(Proposal.id, Proposal.call_id, Proposal.group_id, Proposal.reference, Proposal.title,
                     Proposal.status), lazyload(Proposal.call))
    return own if path is None else (path.options(*own),)


def require_open_for_results(call: Call) -> None:
    """Scores, consensus and decisions change only while the call's review is under way."""
    require_reviewing(call, _l("The call is %(status)s; scores and decisions change only while its review is "
                               "under way."))
