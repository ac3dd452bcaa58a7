"""The ranking and the funding line of a call, recomputed independently in the test from the raw scores.

Real reviews are submitted through the services; ``services.call_results`` is then compared with the
arithmetic written out below with Fractions, from the shipped rules as published (weights, thresholds,
tie-break order, funding line), never with the domain functions: thresholds, ties on every level, both
funding-line options, consensus, and the results cache."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from fractions import Fraction as F

import pytest
from sqlalchemy import update

from programme.core.access import AccessDenied, NotFound, RuleViolation
from programme.extensions import db
from programme.proposals.models import ProposalVersion
from programme.reviews import services
from programme.reviews.models import Outcome
from tests.reviews.world import DURING, SHIPPED_KEYS, assign, build, card, replace_rule, score_with, submit_review

# The shipped rules (rules/cluster-contest.toml), written out for the oracle.
WEIGHTS = {"cooperation": F(1, 2), "first_activities": F(1, 2), "composition": F(2, 5),
           "private_leadership": F(2, 5), "market_failure": F(2, 5), "self_funding": F(2, 5),
           "own_indicators": F(2, 5)}
THRESHOLD = F(3)
OVERALL = F(10)
TIE_BREAK = ("cooperation", "first_activities", "private_leadership")


def test_the_oracle_reads_the_shipped_rules(app):
    world = build(proposals=1, reviewers=1)
    assert {c.key: F(c.weight) for c in world.call.criteria} == WEIGHTS
    assert {F(c.threshold) for c in world.call.criteria} == {THRESHOLD}
    rules = world.call.rules.scoring
    assert (F(rules.overall_threshold), tuple(rules.tie_break), rules.funding_line) == (OVERALL, TIE_BREAK, "stop")


@dataclass
class Expected:
    totals: dict[int, F]
    fundable: dict[int, bool]
    order: list[int]
    status: dict[int, str]
    used: Decimal


def oracle(raw: dict[int, list[dict[str, Decimal]]], *, requested: dict[int, Decimal],
           submitted: dict[int, datetime], budget: Decimal, line: str,
           consensus: dict[int, dict[str, str]] | None = None) -> Expected:
    consensus = consensus or {}
    counted: dict[int, dict[str, F]] = {}
    totals: dict[int, F] = {}
    fundable: dict[int, bool] = {}
    for pid, reviews in raw.items():
        means = {k: sum((F(r[k]) for r in reviews), F(0)) / len(reviews) for k in SHIPPED_KEYS}
        means |= {k: F(Decimal(v)) for k, v in consensus.get(pid, {}).items()}
        counted[pid] = means
        totals[pid] = sum((WEIGHTS[k] * means[k] for k in SHIPPED_KEYS), F(0))
        fundable[pid] = all(means[k] >= THRESHOLD for k in SHIPPED_KEYS) and totals[pid] >= OVERALL
    order = sorted((p for p in raw if fundable[p]), key=lambda p: (
        -totals[p], *(-counted[p][k] for k in TIE_BREAK), requested[p], submitted[p], p))
    left, stopped, status = budget, False, {}
    for pid in order:
        if not stopped and requested[pid] <= left:
            status[pid], left = "funded", left - requested[pid]
        else:
            status[pid] = "reserve"
            stopped = line == "stop"
    return Expected(totals, fundable, order, status, budget - left)


def _submitted_at(world) -> dict[int, datetime]:
    return {p.id: p.current_version.submitted_at for p in world.proposals}


def _requested(world) -> dict[int, Decimal]:
    return {p.id: p.current_version.requested_amount for p in world.proposals}


def _compare(results, expected: Expected) -> None:
    for pid, total in expected.totals.items():
        assert results.scores[pid].total == total, pid
        assert results.scores[pid].fundable is expected.fundable[pid], pid
    assert [r.proposal_id for r in results.ranking.ranked] == expected.order
    assert [r.rank for r in results.ranking.ranked] == list(range(1, len(expected.order) + 1))
    assert {r.proposal_id: r.status for r in results.ranking.ranked} == expected.status
    assert {e.proposal_id for e in results.ranking.not_fundable} == {
        p for p, ok in expected.fundable.items() if not ok}
    assert results.ranking.used == expected.used


def _score(world, raw) -> None:
    for index, cards in raw.items():
        score_with(world, world.proposals[index], cards)


def _by_id(world, raw):
    return {world.proposals[i].id: cards for i, cards in raw.items()}


# ------------------------------------------------------------------------------------------- thresholds


def test_criterion_and_overall_thresholds(app):
    world = build(proposals=5, reviewers=3)
    raw = {
        # Every criterion 5 but cooperation: (2.5 + 3 + 2.5) / 3 = 8/3 < 3. A total of 13.83: not fundable.
        0: [card("5", cooperation="2.5"), card("5", cooperation="3"), card("5", cooperation="2.5")],
        # Every mean exactly 10/3: a total of exactly 10, fundable (rounded means would not say so).
        1: [card("3"), card("3.5"), card("3.5")],
        # Every mean 19/6 >= 3, but the total 9.5 is under the overall threshold.
        2: [card("3"), card("3.5"), card("3")],
        # Cooperation exactly at its threshold, the rest at 5: a total of 14.
        3: [card("5", cooperation="3")] * 3,
        # Two criteria under the threshold, one review.
        4: [card("4", composition="2", own_indicators="0")],
    }
    _score(world, raw)
    results = services.call_results(world.call, actor=world.manager)
    expected = oracle(_by_id(world, raw), requested=_requested(world), submitted=_submitted_at(world),
                      budget=world.call.budget, line="stop")
    _compare(results, expected)
    p = [x.id for x in world.proposals]
    assert expected.totals[p[0]] == F(83, 6) and expected.totals[p[1]] == 10 and expected.totals[p[2]] == F(19, 2)
    assert expected.order == [p[3], p[1]]
    assert results.scores[p[0]].reasons == (
        "Quality of co-operation among the members: mean 2.67 is below the criterion threshold 3",)
    assert results.scores[p[2]].reasons == ("total 9.50 is below the overall threshold 10",)
    assert results.scores[p[4]].reasons == (
        "Composition of the group and involvement of local support institutions: mean 2.00 is below the criterion "
        "threshold 3",
        "Indicators the group defines itself (participatory evaluation): mean 0.00 is below the criterion threshold 3",
        "total 9.60 is below the overall threshold 10")
    assert [results.ranked_as(x) for x in p] == [("not_fundable", None), ("funded", 2), ("not_fundable", None),
                                                 ("funded", 1), ("not_fundable", None)]
    # Not fundable, whatever the total: only a rejection can be recorded.
    with pytest.raises(RuleViolation, match="not fundable .*Quality of co-operation"):
        services.record_decision(world.proposals[0], outcome=Outcome.FUNDED, reason="High total",
                                 actor=world.manager, now=DURING)


def test_an_unscored_proposal_is_listed_apart(app):
    world = build(proposals=2, reviewers=3)
    assign(world, world.proposals[1], world.reviewers[0])
    score_with(world, world.proposals[0], [card("4")])
    results = services.call_results(world.call, actor=world.manager)
    unscored = world.proposals[1].id
    assert results.scores[unscored].total is None and not results.scores[unscored].scored
    assert results.ranked_as(unscored) == ("not_scored", None)
    assert [e.proposal_id for e in results.ranking.not_fundable] == [unscored]
    assert (results.rows[unscored].assigned, results.rows[unscored].submitted) == (1, 0)
    assert results.by_disagreement()[-1] == unscored


# ------------------------------------------------------------------------------------------------- ties


def test_ties_are_broken_on_each_level_in_order(app):
    requested = [Decimal("30000.00")] * 10
    requested[6] = Decimal("20000.00")  # the later submission of the pair tied on everything but the amount
    world = build(proposals=10, reviewers=1, requested=requested)
    raw = {
        # Total 13.5: cooperation decides (the first activities would say the opposite).
        0: [card("4.5", cooperation="4", first_activities="5")],
        1: [card("4.5", cooperation="5", first_activities="4")],
        # Total 11.7: equal cooperation, first activities decide.
        2: [card("4", first_activities="3", composition="4.5")],
        3: [card("4", first_activities="5", composition="3", market_failure="3")],
        # Total 10.9: equal cooperation and first activities, private leadership decides.
        4: [card("3.5", private_leadership="3", composition="5")],
        5: [card("3.5", private_leadership="5", composition="3")],
        # Total 15, every score equal: the smaller amount (requested by the later submission) first.
        6: [card("5")],
        7: [card("5")],
        # Total 10.5, everything equal: the earlier submission first, although it has the higher id.
        8: [card("3.5")],
        9: [card("3.5")],
    }
    _score(world, raw)
    # The proposal with the higher id was submitted first (set on its version, as a resubmission would).
    first = world.proposals[8].current_version.submitted_at
    db.session.execute(update(ProposalVersion).where(ProposalVersion.id == world.proposals[9].current_version.id)
                       .values(submitted_at=first - timedelta(hours=1)))
    db.session.expire_all()
    world.call.touch_results()

    results = services.call_results(world.call, actor=world.manager)
    expected = oracle(_by_id(world, raw), requested=_requested(world), submitted=_submitted_at(world),
                      budget=world.call.budget, line="stop")
    _compare(results, expected)
    p = [x.id for x in world.proposals]
    assert expected.order == [p[6], p[7], p[1], p[0], p[3], p[2], p[5], p[4], p[9], p[8]]
    assert [expected.totals[x] for x in expected.order] == [15, 15, F(27, 2), F(27, 2), F(117, 10), F(117, 10),
                                                           F(109, 10), F(109, 10), F(21, 2), F(21, 2)]
    assert [r.decided_by for r in results.ranking.ranked] == [
        None, "requested", "total", "cooperation", "total", "first_activities", "total", "private_leadership",
        "total", "submitted_at"]


# ------------------------------------------------------------------------------------------ funding line


@pytest.mark.parametrize("line", ["stop", "skip"])
def test_both_funding_line_options(app, line):
    amounts = [Decimal(a) for a in ("30000.00", "40000.00", "20000.00", "10000.00", "5000.00")]
    world = build(proposals=5, reviewers=1, requested=amounts, budget=Decimal("60000.00"))
    if line == "skip":
        replace_rule(world.call, 'funding_line = "stop"', 'funding_line = "skip"')
    assert world.call.rules.scoring.funding_line == line
    raw = {0: [card("5")], 1: [card("4.5")], 2: [card("4")], 3: [card("3.5")], 4: [card("2")]}
    _score(world, raw)
    results = services.call_results(world.call, actor=world.manager)
    expected = oracle(_by_id(world, raw), requested=_requested(world), submitted=_submitted_at(world),
                      budget=Decimal("60000.00"), line=line)
    _compare(results, expected)
    p = [x.id for x in world.proposals]
    ranked = results.ranking.ranked
    if line == "stop":
        # 30,000 funded; 40,000 does not fit the 30,000 left: the line stops there.
        assert expected.status == {p[0]: "funded", p[1]: "reserve", p[2]: "reserve", p[3]: "reserve"}
        assert results.ranking.used == Decimal("30000.00") and results.ranking.line_after == 1
        assert [r.available for r in ranked] == [Decimal("60000.00")] + [Decimal("30000.00")] * 3
    else:
        # 40,000 is passed over; 20,000 and 10,000 fit what is left.
        assert expected.status == {p[0]: "funded", p[1]: "reserve", p[2]: "funded", p[3]: "funded"}
        assert results.ranking.used == Decimal("60000.00")
        assert [r.available for r in ranked] == [Decimal(a) for a in ("60000.00", "30000.00", "30000.00",
                                                                      "10000.00")]
    # The ranking's verdict is what decide_as_ranked records.
    assert services.decide_as_ranked(world.call, actor=world.manager, now=DURING) == 5
    decisions = services.call_results(world.call, actor=world.manager).decisions
    assert {pid: d.outcome.value for pid, d in decisions.items() if pid != p[4]} == expected.status
    assert decisions[p[4]].outcome == Outcome.REJECTED
    assert sum((d.amount for d in decisions.values() if d.amount), Decimal(0)) == expected.used


# --------------------------------------------------------------------------------------------- consensus


def test_a_consensus_score_replaces_the_mean_in_the_total_and_the_fundability(app):
    world = build(proposals=2, reviewers=3)
    p1, p2 = world.proposals
    raw = {
        # Cooperation 2, 4, 2: a spread of 2 over the limit of 1.5, mean 8/3 under the threshold.
        0: [card("4", cooperation="2"), card("4", cooperation="4"), card("4", cooperation="2")],
        1: [card("4")] * 3,
    }
    _score(world, raw)
    requested, submitted = _requested(world), _submitted_at(world)
    before = services.call_results(world.call, actor=world.manager)
    _compare(before, oracle(_by_id(world, raw), requested=requested, submitted=submitted,
                            budget=world.call.budget, line="stop"))
    assert before.scores[p1.id].criterion("cooperation").flagged and before.scores[p1.id].needs_consensus
    assert not before.scores[p2.id].flagged
    assert before.by_disagreement() == [p1.id, p2.id]

    with pytest.raises(RuleViolation) as no_reason:
        services.record_consensus(p1, criterion_key="cooperation", score="3.5", reason=" ", actor=world.manager,
                                  now=DURING)
    assert no_reason.value.field == "reason"
    with pytest.raises(RuleViolation) as off_scale:
        services.record_consensus(p1, criterion_key="cooperation", score="3.25", reason="Agreed",
                                  actor=world.manager, now=DURING)
    assert off_scale.value.field == "score"
    with pytest.raises(RuleViolation) as unknown:
        services.record_consensus(p1, criterion_key="charm", score="3", reason="Agreed", actor=world.manager,
                                  now=DURING)
    assert unknown.value.field == "criterion_key"
    with pytest.raises(AccessDenied):
        services.record_consensus(p1, criterion_key="cooperation", score="3.5", reason="Agreed",
                                  actor=world.reviewers[0], now=DURING)

    services.record_consensus(p1, criterion_key="cooperation", score="3.5", reason="The panel agreed on 3.5.",
                              actor=world.manager, now=DURING)
    services.record_consensus(p2, criterion_key="first_activities", score="2.5", reason="A free-rider risk.",
                              actor=world.manager, now=DURING)
    consensus = {p1.id: {"cooperation": "3.5"}, p2.id: {"first_activities": "2.5"}}
    after = services.call_results(world.call, actor=world.manager)
    expected = oracle(_by_id(world, raw), requested=requested, submitted=submitted, budget=world.call.budget,
                      line="stop", consensus=consensus)
    _compare(after, expected)
    # p1: 0.5 x 3.5 + 0.5 x 4 + 2 x 4 = 11.75, now fundable; p2: 0.5 x 4 + 0.5 x 2.5 + 8 = 11.25, no longer.
    assert expected.totals == {p1.id: F(47, 4), p2.id: F(45, 4)}
    assert [r.proposal_id for r in after.ranking.ranked] == [p1.id]
    assert after.scores[p2.id].reasons == (
        "First activities: quick wins that address the firms' immediate problems: consensus 2.50 is below the "
        "criterion threshold 3",)
    assert not after.scores[p1.id].needs_consensus and after.scores[p1.id].flagged
    assert after.consensus[p1.id]["cooperation"].reason == "The panel agreed on 3.5."

    # A second consensus replaces the first; clearing it brings the mean back.
    services.record_consensus(p1, criterion_key="cooperation", score="5", reason="On reflection.",
                              actor=world.manager, now=DURING)
    assert services.call_results(world.call, actor=world.manager).scores[p1.id].total == F(25, 2)
    services.clear_consensus(p1, criterion_key="cooperation", actor=world.manager, now=DURING)
    with pytest.raises(NotFound):
        services.clear_consensus(p1, criterion_key="cooperation", actor=world.manager, now=DURING)
    cleared = services.call_results(world.call, actor=world.manager)
    assert cleared.scores[p1.id].total == expected.totals[p1.id] - F(1, 2) * (F(7, 2) - F(8, 3))
    assert not cleared.scores[p1.id].fundable


def test_a_consensus_needs_a_submitted_review(app):
    world = build(proposals=1, reviewers=1)
    assign(world, world.proposals[0], world.reviewers[0])
    with pytest.raises(RuleViolation, match="none is submitted yet"):
        services.record_consensus(world.proposals[0], criterion_key="cooperation", score="3", reason="Agreed",
                                  actor=world.manager, now=DURING)


# ------------------------------------------------------------------------------------------ results cache


def test_the_results_change_with_every_change_of_scores_or_decisions_and_not_otherwise(app):
    world = build(proposals=2, reviewers=3)
    p1, p2 = world.proposals
    r1, r2, r3 = world.reviewers
    first = assign(world, p1, r1, r2)
    assign(world, p2, r3)

    def results():
        return services.call_results(world.call, actor=world.manager)

    start = results()
    assert results() is start  # computed once per change
    assert start.scores[p1.id].total is None

    services.save_review(first[0], scores=card("5"), justifications={}, submit=False, actor=r1, now=DURING)
    assert results() is start  # a draft counts nowhere

    submit_review(first[0], card("5"))
    submitted = results()
    assert submitted.token != start.token and submitted.scores[p1.id].total == 15

    submit_review(first[1], card("4"))
    both = results()
    assert both.token != submitted.token and both.scores[p1.id].total == F(27, 2)

    services.reopen_review(first[0], reason="Check the cooperation score.", actor=world.manager, now=DURING)
    reopened = results()
    assert reopened.token != both.token and reopened.scores[p1.id].total == 12

    services.record_consensus(p1, criterion_key="cooperation", score="5", reason="Agreed.", actor=world.manager,
                              now=DURING)
    agreed = results()
    assert agreed.token != reopened.token and agreed.scores[p1.id].total == F(25, 2)

    services.record_decision(p1, outcome=Outcome.FUNDED, reason="First in rank.", actor=world.manager, now=DURING)
    decided = results()
    assert decided.token != agreed.token and decided.decisions[p1.id].outcome == Outcome.FUNDED
    assert agreed.decisions == {}
    assert results() is decided
