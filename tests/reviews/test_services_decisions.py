"""Decisions and awards through the services: reasons, what can be funded, the budget, decisions against the
ranking, deciding as ranked, publishing (statuses, initiatives with their start-up grants, the groups'
notifications without reviewers' names), and that nothing changes once the call is decided."""

from __future__ import annotations

import json
from decimal import Decimal

import pytest
from sqlalchemy import select

from programme.calls.models import CallStatus
from programme.core.access import AccessDenied, Role, RuleViolation
from programme.core.audit import AuditEntry
from programme.core.notifications import Notification
from programme.extensions import db
from programme.funding.models import Grant, GrantKind, Initiative, InitiativeStatus
from programme.proposals import services as proposal_services
from programme.proposals.models import ProposalStatus
from programme.reviews import services
from programme.reviews.models import Decision, Outcome, ReviewStatus
from tests.proposals.builders import add_group_user
from tests.reviews.world import (
    AFTER,
    DEADLINE,
    DURING,
    START,
    assign,
    build,
    card,
    replace_rule,
    review_of,
    score_with,
    submit_review,
    user,
)


def _decide(world, index: int, outcome: Outcome, reason: str = "As the panel advised.") -> Decision:
    return services.record_decision(world.proposals[index], outcome=outcome, reason=reason, actor=world.manager,
                                    now=DURING)


@pytest.fixture
def ranked(app):
    """Budget 50,000; three proposals of 30,000: the first two fundable (totals 13.5 and 12: the first is
    funded, the second does not fit the 20,000 left and is the reserve), the third not fundable (9)."""
    world = build(proposals=3, reviewers=3, budget=Decimal("50000.00"))
    for proposal, value in zip(world.proposals, ("4.5", "4", "3"), strict=True):
        score_with(world, proposal, [card(value)] * 3)
    results = services.call_results(world.call, actor=world.manager)
    assert [(r.proposal_id, r.status) for r in results.ranking.ranked] == [
        (world.proposals[0].id, "funded"), (world.proposals[1].id, "reserve")]
    return world


def test_a_decision_needs_a_manager_and_a_reason(ranked):
    with pytest.raises(RuleViolation, match="Give the reason") as refused:
        _decide(ranked, 0, Outcome.FUNDED, reason="   ")
    assert refused.value.field == "reason"
    with pytest.raises(AccessDenied):
        services.record_decision(ranked.proposals[0], outcome=Outcome.FUNDED, reason="Mine",
                                 actor=ranked.reviewers[0], now=DURING)
    decision = _decide(ranked, 0, Outcome.FUNDED, reason="  First in rank.  ")
    assert decision.reason == "First in rank." and decision.decided_by_id == ranked.manager.id


def test_only_a_fundable_proposal_is_funded_or_put_on_the_reserve_list(ranked):
    for outcome in (Outcome.FUNDED, Outcome.RESERVE):
        with pytest.raises(RuleViolation, match="total 9.00 is below the overall threshold 10.*only be rejected"):
            _decide(ranked, 2, outcome)
    rejected = _decide(ranked, 2, Outcome.REJECTED)
    assert (rejected.ranked_as, rejected.rank, rejected.against_ranking, rejected.amount) == (
        "not_fundable", None, False, None)


def test_an_unscored_proposal_can_only_be_rejected(app):
    world = build(proposals=1, reviewers=1)
    assign(world, world.proposals[0], world.reviewers[0])
    with pytest.raises(RuleViolation, match="not scored: no submitted review"):
        _decide(world, 0, Outcome.FUNDED)
    decision = _decide(world, 0, Outcome.REJECTED, reason="No review came in.")
    assert (decision.ranked_as, decision.against_ranking) == ("not_scored", False)


def test_the_funded_total_never_exceeds_the_budget(ranked):
    first = _decide(ranked, 0, Outcome.FUNDED)
    assert first.amount == Decimal("30000.00")
    again = _decide(ranked, 0, Outcome.FUNDED, reason="Changed my words.")  # a change does not count twice
    assert again.id == first.id
    with pytest.raises(RuleViolation) as refused:
        _decide(ranked, 1, Outcome.FUNDED)
    reference = ranked.proposals[1].reference
    assert str(refused.value) == (
        f"Funding {reference} (EUR 30,000.00) would commit EUR 60,000.00, EUR 10,000.00 over the call's budget of "
        "EUR 50,000.00.")
    assert refused.value.field == "outcome"
    assert db.session.scalar(select(Decision).where(Decision.proposal_id == ranked.proposals[1].id)) is None


def test_a_decision_against_the_ranking_is_marked(ranked):
    with_ranking = _decide(ranked, 1, Outcome.RESERVE)
    assert (with_ranking.ranked_as, with_ranking.rank, with_ranking.against_ranking) == ("reserve", 2, False)
    passed_over = _decide(ranked, 0, Outcome.REJECTED, reason="The group split after submission.")
    promoted = _decide(ranked, 1, Outcome.FUNDED, reason="Funded in place of the first.")
    assert (passed_over.ranked_as, passed_over.rank, passed_over.against_ranking) == ("funded", 1, True)
    assert (promoted.ranked_as, promoted.rank, promoted.against_ranking, promoted.amount) == (
        "reserve", 2, True, Decimal("30000.00"))
    entries = db.session.scalars(select(AuditEntry).where(AuditEntry.action == "review.decision_recorded",
                                                          AuditEntry.object_id == ranked.proposals[1].id)
                                 .order_by(AuditEntry.id)).all()
    last = json.loads(entries[-1].details)
    assert last["against_ranking"] is True and last["previous"] == ["reserve", "As the panel advised."]
    assert last["reason"] == "Funded in place of the first."


def test_decide_as_ranked_fills_only_the_undecided(ranked):
    _decide(ranked, 0, Outcome.RESERVE, reason="Held back for a site visit.")
    assert services.decide_as_ranked(ranked.call, actor=ranked.manager, now=DURING) == 2
    decisions = {d.proposal_id: d for d in db.session.scalars(select(Decision))}
    p1, p2, p3 = (p.id for p in ranked.proposals)
    assert decisions[p1].reason == "Held back for a site visit." and decisions[p1].outcome == Outcome.RESERVE
    # With the first held back, the second fits the budget as ranked... but the ranking put it in reserve.
    assert (decisions[p2].outcome, decisions[p2].reason) == (
        Outcome.RESERVE, "Ranked 2, below the funding line: on the reserve list.")
    assert decisions[p3].outcome == Outcome.REJECTED
    assert decisions[p3].reason == "Not fundable: total 9.00 is below the overall threshold 10."
    assert services.decide_as_ranked(ranked.call, actor=ranked.manager, now=DURING) == 0


def test_decide_as_ranked_waits_for_every_proposal_to_have_a_review(app):
    world = build(proposals=3, reviewers=3)
    score_with(world, world.proposals[0], [card("4")])
    assign(world, world.proposals[2], world.reviewers[0])
    with pytest.raises(RuleViolation) as refused:
        services.decide_as_ranked(world.call, actor=world.manager, now=DURING)
    message = str(refused.value)
    assert message.startswith("2 proposal(s) have no submitted review yet")
    assert world.proposals[1].reference in message and world.proposals[2].reference in message
    assert world.proposals[0].reference not in message
    _decide(world, 1, Outcome.REJECTED, reason="Withdrawn in spirit.")
    _decide(world, 2, Outcome.REJECTED, reason="No review came in.")
    assert services.decide_as_ranked(world.call, actor=world.manager, now=DURING) == 1


def test_publishing_waits_for_every_decision(ranked):
    _decide(ranked, 0, Outcome.FUNDED)
    with pytest.raises(RuleViolation) as refused:
        services.publish_decisions(ranked.call, actor=ranked.manager, now=AFTER)
    assert str(refused.value) == (f"2 proposal(s) have no decision yet ({ranked.proposals[1].reference}, "
                                  f"{ranked.proposals[2].reference}).")
    assert ranked.call.status == CallStatus.REVIEWING
    assert db.session.scalar(select(Initiative.id)) is None


@pytest.mark.parametrize("maximum, cap, grants", [
    (None, None, ["30000.00", "20000.00", "40000.00"]),  # the requests: within 50,000 and the cap
    (None, "25000.00", ["25000.00", "20000.00", "25000.00"]),  # the cap per initiative
    ("35_000.00", None, ["30000.00", "20000.00", "35000.00"]),  # the start-up grant maximum of the rules
])
def test_publishing_decides_the_call_and_awards_start_up_grants(app, maximum, cap, grants):
    amounts = [Decimal("30000.00"), Decimal("20000.00"), Decimal("40000.00"), Decimal("30000.00")]
    world = build(proposals=4, reviewers=3, requested=amounts)
    if maximum:
        replace_rule(world.call, "maximum = 50_000.00", f"maximum = {maximum}")
    if cap:
        world.call.per_initiative_cap = Decimal(cap)
        world.call.touch_results()
    member = user("member@group.test")
    add_group_user(world.groups[0], world.leads[0], member)
    for proposal, value in zip(world.proposals, ("5", "4.5", "4", "2.5"), strict=True):
        score_with(world, proposal, [card(value, cooperation="4")] * 3)
    assert services.decide_as_ranked(world.call, actor=world.manager, now=DURING) == 4

    initiatives = services.publish_decisions(world.call, actor=world.manager, now=AFTER)
    db.session.flush()
    assert world.call.status == CallStatus.DECIDED and world.call.decided_at == AFTER
    assert [p.status for p in world.proposals] == [ProposalStatus.FUNDED] * 3 + [ProposalStatus.REJECTED]
    assert [i.reference for i in initiatives] == ["INI-2027-0001", "INI-2027-0002", "INI-2027-0003"]
    assert [i.proposal_id for i in initiatives] == [p.id for p in world.proposals[:3]]
    for initiative, proposal in zip(initiatives, world.proposals, strict=False):
        assert (initiative.name, initiative.group_id, initiative.call_id) == (proposal.title, proposal.group_id,
                                                                             world.call.id)
        assert initiative.status == InitiativeStatus.START_UP and initiative.started_at == AFTER
    committed = [i.startup_grant.committed for i in initiatives]
    assert committed == [Decimal(g) for g in grants]
    stored = db.session.scalars(select(Grant).order_by(Grant.id)).all()
    assert [(g.kind, g.committed, g.currency, g.external_share, g.committed_by_id) for g in stored] == [
        (GrantKind.STARTUP, Decimal(g), "EUR", Decimal(1), world.manager.id) for g in grants]
    assert db.session.scalar(select(Initiative.id).where(Initiative.proposal_id == world.proposals[3].id)) is None


def test_every_user_of_each_group_is_told_the_decision_and_the_scores_without_reviewer_names(app):
    world = build(proposals=2, reviewers=3)
    member = user("member@group.test")
    add_group_user(world.groups[1], world.leads[1], member)
    score_with(world, world.proposals[0], [card("4"), card("4.5"), card("3.5")])
    score_with(world, world.proposals[1], [card("3", composition="2")] * 3)
    services.decide_as_ranked(world.call, actor=world.manager, now=DURING)
    services.publish_decisions(world.call, actor=world.manager, now=AFTER)
    db.session.flush()

    def told(person) -> list[Notification]:
        return db.session.scalars(select(Notification).where(Notification.user_id == person.id,
                                                             Notification.subject.like("Decision on%"))).all()

    funded = told(world.leads[0])
    assert [n.subject for n in funded] == [f"Decision on {world.proposals[0].reference}: funded"]
    body = funded[0].body
    assert "It becomes an initiative with a start-up grant of EUR 30,000.00." in body
    assert "- Quality of co-operation among the members: 4.00" in body and "Total: 12.00" in body
    rejected = told(world.leads[1]) + told(member)
    assert [n.subject for n in rejected] == [f"Decision on {world.proposals[1].reference}: rejected"] * 2
    assert rejected[0].body == rejected[1].body
    assert ("Not fundable: Composition of the group and involvement of local support institutions: mean 2.00 is "
            "below the criterion threshold 3") in rejected[0].body
    assert "Total: 8.60 (fundable from 10" in rejected[0].body
    everything = "\n".join(n.subject + n.body for n in funded + rejected)
    for reviewer in world.reviewers:
        assert reviewer.name not in everything and reviewer.email not in everything
    # Nobody else is told.
    assert not db.session.scalars(select(Notification).where(Notification.user_id.in_(
        [r.id for r in world.reviewers] + [world.manager.id]), Notification.subject.like("Decision on%"))).all()
    feedback = services.feedback_for(world.proposals[1], actor=member)
    assert feedback is not None and not feedback.fundable
    labels = {label for criterion in feedback.criteria for label, _, _ in criterion.justifications}
    assert labels == {"Reviewer 1", "Reviewer 2", "Reviewer 3"}


def test_nothing_changes_once_the_call_is_decided(app):
    world = build(proposals=2, reviewers=4)
    p1, p2 = world.proposals
    score_with(world, p1, [card("4")] * 3)
    score_with(world, p2, [card("4")] * 2)
    unsubmitted = assign(world, p2, world.reviewers[3])[0]
    services.record_decision(p2, outcome=Outcome.RESERVE, reason="Waiting.", actor=world.manager, now=DURING)
    services.decide_as_ranked(world.call, actor=world.manager, now=DURING)
    services.publish_decisions(world.call, actor=world.manager, now=AFTER)
    db.session.flush()
    decided = "(?i)decided"
    submitted = review_of(p1, world.reviewers[0])

    refusals = [
        lambda: services.record_decision(p1, outcome=Outcome.REJECTED, reason="Changed", actor=world.manager,
                                         now=AFTER),
        lambda: services.record_consensus(p1, criterion_key="cooperation", score="3", reason="Late",
                                          actor=world.manager, now=AFTER),
        lambda: services.clear_consensus(p1, criterion_key="cooperation", actor=world.manager, now=AFTER),
        lambda: services.save_review(unsubmitted, scores=card("4"), justifications={}, submit=False,
                                     actor=world.reviewers[3], now=AFTER),
        lambda: submit_review(unsubmitted, card("4"), now=AFTER),
        lambda: services.reopen_review(submitted, reason="Late", actor=world.manager, now=AFTER),
        lambda: services.decide_as_ranked(world.call, actor=world.manager, now=AFTER),
        lambda: services.publish_decisions(world.call, actor=world.manager, now=AFTER),
        lambda: services.auto_assign(world.call, actor=world.manager, now=AFTER),
        lambda: services.assign_reviewer(world.call, p2, world.reviewers[0].id, actor=world.manager, now=AFTER),
        lambda: services.remove_assignment(unsubmitted, actor=world.manager, now=AFTER),
        lambda: services.declare_conflict(world.call, proposal_id=p1.id, actor=world.reviewers[0], now=AFTER),
        lambda: services.add_reviewer(world.call, user("late@review.test", Role.REVIEWER),
                                      actor=world.manager, now=AFTER),
        lambda: services.change_deadline(world.call, deadline=AFTER.replace(year=2028), actor=world.manager,
                                         now=AFTER),
    ]
    for attempt in refusals:
        with pytest.raises(RuleViolation, match=f"{decided}|locked|not in review"):
            attempt()
    with pytest.raises(RuleViolation, match="locked"):
        submit_review(submitted, card("5"), now=AFTER)
    assert unsubmitted.status == ReviewStatus.ASSIGNED
    assert [p.status for p in world.proposals] == [ProposalStatus.FUNDED, ProposalStatus.RESERVE]
    assert db.session.scalar(select(Decision.outcome).where(Decision.proposal_id == p1.id)) == Outcome.FUNDED
    assert world.call.status == CallStatus.DECIDED
    assert START < DEADLINE  # the world's dates, for the reader


def test_decide_as_ranked_gives_a_true_reason_when_earlier_decisions_used_the_budget(ranked):
    _decide(ranked, 1, Outcome.FUNDED, reason="Funded out of order: a regional priority.")
    services.decide_as_ranked(ranked.call, actor=ranked.manager, now=DURING)
    first = db.session.scalar(select(Decision).where(Decision.proposal_id == ranked.proposals[0].id))
    assert (first.outcome, first.ranked_as, first.rank, first.against_ranking) == (Outcome.RESERVE, "funded", 1,
                                                                                   True)
    assert "below the funding line" not in first.reason


# ------------------------------------------------ the proposal changes under the review (bugs found and fixed)


def _withdraw(world, index: int) -> None:
    proposal_services.withdraw(world.proposals[index], reason="The group dissolved.", actor=world.leads[index],
                               now=DURING)
    db.session.flush()


def test_a_proposal_withdrawn_after_its_funding_decision_is_not_awarded(app):
    world = build(proposals=2, reviewers=3)
    for proposal in world.proposals:
        score_with(world, proposal, [card("4")] * 3)
    _decide(world, 0, Outcome.FUNDED)
    _decide(world, 1, Outcome.FUNDED)
    _withdraw(world, 0)
    initiatives = services.publish_decisions(world.call, actor=world.manager, now=AFTER)
    db.session.flush()
    assert world.proposals[0].status == ProposalStatus.WITHDRAWN
    assert [i.proposal_id for i in initiatives] == [world.proposals[1].id]


def test_a_withdrawn_proposal_holds_no_budget(ranked):
    _decide(ranked, 0, Outcome.FUNDED)
    _withdraw(ranked, 0)
    assert _decide(ranked, 1, Outcome.FUNDED).amount == Decimal("30000.00")


def test_decide_as_ranked_after_a_withdrawal_leaves_the_withdrawn_proposal_out(ranked):
    services.call_results(ranked.call, actor=ranked.manager)  # the ranking page was seen before
    _withdraw(ranked, 0)
    services.decide_as_ranked(ranked.call, actor=ranked.manager, now=DURING)
    decided = set(db.session.scalars(select(Decision.proposal_id)))
    assert decided == {ranked.proposals[1].id, ranked.proposals[2].id}


def test_a_proposal_made_eligible_during_the_review_must_be_decided_before_publishing(app):
    world = build(proposals=2, reviewers=3, start=False)
    late = world.proposals[1]
    proposal_services.override_eligibility(late, eligible=False, reason="The members are not independent.",
                                           actor=world.manager, now=START)
    services.start_review(world.call, deadline=DEADLINE, actor=world.manager, now=START)
    score_with(world, world.proposals[0], [card("4")] * 3)
    services.decide_as_ranked(world.call, actor=world.manager, now=DURING)
    services.call_results(world.call, actor=world.manager)  # the ranking page was seen
    proposal_services.override_eligibility(late, eligible=True, reason="They are independent after all.",
                                           actor=world.manager, now=DURING)
    assert late.status == ProposalStatus.ELIGIBLE
    with pytest.raises(RuleViolation, match=f"no decision yet \\({late.reference}\\)"):
        services.publish_decisions(world.call, actor=world.manager, now=AFTER)
