"""Decisions: recording funded / reserve / rejected for a proposal, deciding every proposal as ranked,
publishing the decisions (the funded proposals become initiatives with their start-up grants, the groups
are told) and the feedback a group reads once its call is decided."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import func, select

from programme.calls import staging
from programme.calls.models import Call, CallStatus
from programme.core import audit
from programme.core.access import Actor, NotFound, RuleViolation
from programme.core.i18n import speaking_to
from programme.core.money import format_money
from programme.core.notifications import notify
from programme.core.texts import gettext as _
from programme.extensions import db
from programme.funding.models import Initiative
from programme.funding.services import open_initiative
from programme.proposals.models import Proposal, ProposalStatus
from programme.proposals.services.stages import invite_to_next_stage
from programme.reviews.aggregation import Consensus, aggregate
from programme.reviews.domain import display, plain_number
from programme.reviews.models import Decision, Outcome, Review, ReviewStatus
from programme.reviews.services._common import (
    IN_REVIEW,
    lock_call,
    require_manager,
    require_open_for_results,
    scoring_of,
)
from programme.reviews.services.results import CallResults, results_of
from programme.reviews.services.scoring import consensus_of

#: The proposals whose funded decisions count against a staged call's cap per group: in review or funded.
FUNDING = (*IN_REVIEW, ProposalStatus.FUNDED)


def _against(outcome: Outcome, ranked_as: str) -> bool:
    return outcome.value != ranked_as and not (outcome == Outcome.REJECTED and ranked_as in ("not_fundable",
                                                                                              "not_scored"))


def record_decision(proposal: Proposal, *, outcome: Outcome, reason: str, actor: Actor, now: datetime) -> Decision:
    """Record (or change, until the call is decided) funded / reserve / rejected for a proposal, with a reason.

    Only a fundable proposal (at or above every threshold) can be funded or put on the reserve list; a
    decision that differs from the ranking is marked as such. The funded start-up grants never exceed the
    call's budget.
    """
    require_manager(actor)
    call = lock_call(proposal.call)
    require_open_for_results(call)
    if proposal.status not in IN_REVIEW:
        raise RuleViolation(_("Proposal %(reference)s is not in review.", reference=proposal.reference))
    reason = reason.strip()
    if not reason:
        raise RuleViolation(_("Give the reason for the decision."), field="reason")
    results = results_of(call)
    ranked_as, place = results.ranked_as(proposal.id)
    if outcome != Outcome.REJECTED and ranked_as in ("not_fundable", "not_scored"):
        why = "; ".join(results.scores[proposal.id].reasons) if proposal.id in results.scores else _("no score")
        raise RuleViolation(_("%(reference)s is not fundable (%(why)s); it can only be rejected.",
                              reference=proposal.reference, why=why), field="outcome")
    row = results.rows.get(proposal.id)
    if row is None:  # pragma: no cover - every change of a proposal's status touches the results
        raise RuleViolation(_("%(reference)s is not in the ranking yet; reload the page.",
                              reference=proposal.reference))
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
                _("Funding %(reference)s (%(amount)s) would commit %(total)s, %(over)s over the call's budget of "
                  "%(budget)s.", reference=proposal.reference, amount=format_money(amount, call.currency),
                  total=format_money(total, call.currency), over=format_money(total - call.budget, call.currency),
                  budget=format_money(call.budget, call.currency)), field="outcome")
        over_cap = staging.over_group_cap(staging.group_commitment(call, proposal.group_id, funded_statuses=FUNDING),
                                          amount)
        if over_cap:
            raise RuleViolation(_("Funding %(reference)s is refused: %(why)s", reference=proposal.reference,
                                  why=over_cap), field="outcome")
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
    require_manager(actor)
    lock_call(call)
    require_open_for_results(call)
    results = results_of(call)
    unscored = [row.reference for pid, row in results.rows.items()
                if not results.scores[pid].scored and pid not in results.decisions
                and row.status in IN_REVIEW]
    if unscored:
        shown = ", ".join(sorted(unscored)[:5]) + (" ..." if len(unscored) > 5 else "")
        raise RuleViolation(_("%(count)s proposal(s) have no submitted review yet (%(shown)s); decide them one by "
                              "one, or wait for their reviews.", count=len(unscored), shown=shown))
    decided = set(results.decisions)
    funded_total = _funded_total(call)
    new: list[dict[str, Any]] = []
    for place in results.ranking.ranked:
        pid = place.proposal_id
        if pid in decided:
            continue
        outcome = Outcome.FUNDED if place.funded else Outcome.RESERVE
        amount = results.rows[pid].amount if place.funded else None
        reason = (_("Ranked %(rank)s, above the funding line.", rank=place.rank) if place.funded
                  else _("Ranked %(rank)s, below the funding line: on the reserve list.", rank=place.rank))
        if amount is not None and funded_total + amount > call.budget:
            left = format_money(call.budget - funded_total, call.currency)
            reason = _("Ranked %(rank)s, above the funding line, but the budget left after the decisions already "
                       "recorded (%(left)s) does not cover its %(amount)s: on the reserve list.", rank=place.rank,
                       left=left, amount=format_money(amount, call.currency))
            outcome, amount = Outcome.RESERVE, None
        over_cap = None if amount is None or not call.is_stage else staging.over_group_cap(
            staging.group_commitment(call, db.session.get(Proposal, pid).group_id, funded_statuses=FUNDING), amount)
        if over_cap:
            reason = _("Ranked %(rank)s, above the funding line, but over the cap per group: %(why)s On the reserve "
                       "list.", rank=place.rank, why=over_cap)
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
        new.append({"proposal_id": pid, "outcome": Outcome.REJECTED, "reason": _("Not fundable: %(reasons)s.",
                                                                                 reasons=reasons),
                    "ranked_as": "not_fundable", "rank": None, "against_ranking": False, "amount": None})
    for values in new:
        db.session.add(Decision(call_id=call.id, decided_at=now, decided_by_id=actor.id, **values))
    db.session.flush()
    call.touch_results()
    audit.record(db.session, actor, "review.decided_as_ranked", call, decisions=len(new))
    return len(new)


def publish_decisions(call: Call, *, actor: Actor, now: datetime,
                      link_for: Callable[[Proposal], str] | None = None) -> list[Initiative]:
    """Close the review: every proposal in review takes its decision, each group is told its scores and the
    reviewers' justifications (without names), and each funded proposal becomes an initiative with its
    start-up grant commitment. ``link_for(proposal)`` gives the link put in the notifications."""
    require_manager(actor)
    lock_call(call)
    require_open_for_results(call)
    results = results_of(call)
    waiting = list(db.session.scalars(
        select(Proposal.reference).where(
            Proposal.call_id == call.id, Proposal.status.in_(IN_REVIEW),
            ~select(Decision.id).where(Decision.proposal_id == Proposal.id).exists())
    ))
    if waiting:
        shown = ", ".join(sorted(waiting)[:5]) + (" ..." if len(waiting) > 5 else "")
        raise RuleViolation(_("%(count)s proposal(s) have no decision yet (%(shown)s).", count=len(waiting),
                              shown=shown))
    # Only the decisions of proposals still in review: one withdrawn since keeps its status, and no award.
    decisions = {d.proposal_id: d for d in db.session.scalars(
        select(Decision).join(Proposal, Proposal.id == Decision.proposal_id)
        .where(Decision.call_id == call.id, Proposal.status.in_(IN_REVIEW)))}
    funded_total = _funded_total(call)
    if funded_total > call.budget:  # pragma: no cover - record_decision keeps this from happening
        raise RuleViolation(_("The funded start-up grants exceed the call's budget."))
    proposals = {p.id: p for p in db.session.scalars(select(Proposal).where(Proposal.id.in_(list(decisions))))}
    initiatives: list[Initiative] = []
    following = staging.next_stage(call)  # a staged call's next stage: the groups that pass are invited to it
    for pid in sorted(decisions, key=lambda p: (decisions[p].rank or 10**9, proposals[p].reference or "")):
        decision = decisions[pid]
        proposal = proposals[pid]
        proposal.status = ProposalStatus(decision.outcome.value)
        if decision.outcome == Outcome.FUNDED and decision.amount:
            # The initiative's life is funding's: it opens the initiative and commits the start-up grant (a stage
            # that awards no money, a concept note, opens none).
            initiatives.append(open_initiative(call, proposal, amount=decision.amount, actor=actor, now=now))
        if decision.outcome == Outcome.FUNDED and following is not None:
            invite_to_next_stage(proposal, following, actor=actor, now=now)
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


def _notify_group(call: Call, proposal: Proposal, decision: Decision, results: CallResults,
                  link_for: Callable[[Proposal], str] | None) -> None:
    score = results.scores.get(proposal.id)
    passes_stage = decision.outcome == Outcome.FUNDED and call.is_stage and staging.next_stage(call) is not None

    def body() -> str:
        """The notification's text, in the language being written in (each member's own)."""
        lines = [_("The review of %(name)s (%(reference)s) is decided. Your proposal %(proposal)s is %(outcome)s: "
                   "%(reason)s", name=call.name, reference=call.reference, proposal=proposal.reference,
                   outcome=decision.outcome.label.lower(), reason=decision.reason)]
        if decision.outcome == Outcome.FUNDED and decision.amount:
            grant = format_money(decision.amount, call.currency)
            lines.append(_("It becomes an initiative with a start-up grant of %(grant)s.", grant=grant))
        if passes_stage:
            lines.append(_("It passes this stage: your group is invited to the next one (see the invitation)."))
        if score is not None and score.scored:
            lines.append("")
            lines.append(_("Scores per criterion (mean of the reviews, or the panel's consensus):"))
            for criterion in call.criteria:
                result = score.criterion(criterion.key)
                lines.append(f"- {criterion.title}: {display(result.counted)}")
            threshold = plain_number(results.scoring.overall_threshold)
            lines.append(_("Total: %(total)s (fundable from %(threshold)s).", total=display(score.total),
                           threshold=threshold))
            lines.append(_("The reviewers' justifications are on the proposal's page."))
        return "\n".join(lines)

    link = link_for(proposal) if link_for else f"/proposals/{proposal.id}"
    for member in proposal.group.users:
        with speaking_to(member.user):
            subject = _("Decision on %(reference)s: %(outcome)s", reference=proposal.reference,
                        outcome=decision.outcome.label.lower())
            text = body()
        notify(db.session, email=member.user.email, user_id=member.user_id, subject=subject, body=text, link=link)


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
    label = {r.id: _("Reviewer %(number)s", number=i) for i, r in enumerate(reviews, start=1)}
    criteria = []
    for criterion in call.criteria:
        counted = display(score.criterion(criterion.key).counted) if score.scored else None
        texts = [(label[r.id], s.score, s.justification) for r in reviews for s in r.scores
                 if s.criterion_key == criterion.key]
        criteria.append(CriterionFeedback(criterion.key, criterion.title, criterion.weight, criterion.threshold,
                                          counted, consensus[criterion.key].reason if criterion.key in consensus
                                          else None, texts))
    return Feedback(decision, display(score.total), score.fundable, score.reasons, criteria)
