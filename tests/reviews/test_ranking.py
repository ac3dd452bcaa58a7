"""The ranking and the funding line: every tie-break level, both funding-line options, and properties.

The ranking is also recomputed here from the raw scores by an independent oracle (pairwise
comparison, written the plain way) and compared on random calls.
"""

from __future__ import annotations

import functools
import random
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from fractions import Fraction

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from programme.reviews.aggregation import Consensus, aggregate
from programme.reviews.domain import CriterionSpec, ScoreError, Scoring
from programme.reviews.ranking import RankingEntry, rank, rank_scores

D = Decimal
F = Fraction
DAY = datetime(2025, 3, 1, 12, tzinfo=UTC)
TIE = ("coop", "first")


def entry(pid, total, *, coop=3, first=3, requested="100", day=0, fundable=True) -> RankingEntry:
    return RankingEntry(pid, None if total is None else F(total), {"coop": F(coop), "first": F(first)},
                        D(requested), DAY + timedelta(days=day), fundable)


def ids(ranked) -> list:
    return [r.proposal_id for r in ranked]


def test_fundable_proposals_in_order_of_total():
    ranking = rank([entry("A", 9), entry("B", F(21, 2)), entry("C", 10)], D(1000))
    assert ids(ranking.ranked) == ["B", "C", "A"]
    assert [r.rank for r in ranking.ranked] == [1, 2, 3]
    assert [r.decided_by for r in ranking.ranked] == [None, "total", "total"]


def test_every_tie_break_level_in_order():
    entries = [
        entry("P6", 10, coop="3.5", first=4, requested="60", day=2),
        entry("P5", 10, coop="3.5", first=4, requested="60", day=2),  # P5 before P6 only by id
        entry("P4", 10, coop="3.5", first=4, requested="60", day=1),  # before P5 by earlier submission
        entry("P3", 10, coop="3.5", first=4, requested="50", day=3),  # before P4 by smaller request
        entry("P2", 10, coop="3.5", first=5, requested="90", day=9),  # before P3 by the 2nd tie-break criterion
        entry("P1", 10, coop=4, first=1, requested="99", day=9),  # before P2 by the 1st tie-break criterion
        entry("P0", 11, coop=0, first=0, requested="999", day=9),  # first by total
    ]
    for seed in range(5):
        random.Random(seed).shuffle(entries)
        ranking = rank(entries, D(10_000), tie_break=TIE)
        assert ids(ranking.ranked) == ["P0", "P1", "P2", "P3", "P4", "P5", "P6"]
        assert [r.decided_by for r in ranking.ranked] == [
            None, "total", "coop", "first", "requested", "submitted_at", "proposal_id"]


def test_the_tie_break_criteria_apply_in_the_rules_order():
    a = entry("A", 10, coop=4, first=3)
    b = entry("B", 10, coop=3, first=4)
    assert ids(rank([a, b], D(0), tie_break=("coop", "first")).ranked) == ["A", "B"]
    assert ids(rank([a, b], D(0), tie_break=("first", "coop")).ranked) == ["B", "A"]
    # without tie-break criteria the smaller request decides, then the submission, then the id
    assert ids(rank([entry("A", 10, requested="80"), entry("B", 10, requested="70")], D(0)).ranked) == ["B", "A"]


def test_integer_ids_sort_by_value_as_a_last_resort():
    ranking = rank([entry(10, 5), entry(9, 5), entry(100, 5)], D(0))
    assert ids(ranking.ranked) == [9, 10, 100]


FOUR = [entry("A", 12, requested="40"), entry("B", 11, requested="70"), entry("C", 10, requested="20"),
        entry("D", 9, requested="60")]


def test_stop_the_first_that_does_not_fit_ends_the_funding():
    ranking = rank(FOUR, D(100), funding_line="stop")
    assert ids(ranking.funded) == ["A"]
    assert ids(ranking.reserve) == ["B", "C", "D"]  # C would fit the 60 left, but the line has stopped
    assert [r.available for r in ranking.ranked] == [D(100), D(60), D(60), D(60)]
    assert (ranking.used, ranking.remaining, ranking.line_after) == (D(40), D(60), 1)


def test_skip_a_proposal_that_does_not_fit_goes_to_the_reserve_and_the_next_that_fits_is_funded():
    ranking = rank(FOUR, D(100), funding_line="skip")
    assert ids(ranking.funded) == ["A", "C"]
    assert ids(ranking.reserve) == ["B", "D"]  # in rank order; D asks 60 with 40 left
    assert [r.status for r in ranking.ranked] == ["funded", "reserve", "funded", "reserve"]
    assert [r.available for r in ranking.ranked] == [D(100), D(60), D(60), D(40)]
    assert (ranking.used, ranking.remaining, ranking.line_after) == (D(60), D(40), 1)


@pytest.mark.parametrize("mode", ["stop", "skip"])
def test_a_request_equal_to_what_is_left_fits(mode):
    ranking = rank(FOUR[:2], D(110), funding_line=mode)
    assert ids(ranking.funded) == ["A", "B"] and ranking.remaining == 0 and ranking.reserve == ()
    assert ranking.line_after == 2


@pytest.mark.parametrize("mode", ["stop", "skip"])
def test_without_budget_every_fundable_proposal_is_in_reserve(mode):
    ranking = rank(FOUR, D(0), funding_line=mode)
    assert ranking.funded == () and ids(ranking.reserve) == ["A", "B", "C", "D"] and ranking.line_after == 0


def test_not_fundable_proposals_are_listed_apart():
    entries = [*FOUR[:2], entry("X", 8, fundable=False), entry("Y", None, fundable=False),
               entry("Z", 13, fundable=False), entry("W", 8, fundable=False)]
    ranking = rank(entries, D(1000))
    assert ids(ranking.ranked) == ["A", "B"]
    # by total, highest first, then id; the ones not scored last
    assert [e.proposal_id for e in ranking.not_fundable] == ["Z", "W", "X", "Y"]
    assert ranking.place("Z") is None and ranking.place("B").rank == 2


@pytest.mark.parametrize("call, message", [
    (lambda: rank([entry("A", 1), entry("A", 2)], D(1)), "each proposal once"),
    (lambda: rank([entry("A", 1)], D(-1)), "budget: must not be negative"),
    (lambda: rank([entry("A", 1)], D(1), funding_line="maybe"), "funding_line"),
    (lambda: rank([entry("A", 1)], D(1), tie_break=("other",)), "no score for tie-break criterion 'other'"),
    (lambda: rank([entry("A", 1)], 1.5), "budget"),
    (lambda: entry("A", None, fundable=True), "without a total cannot be fundable"),
    (lambda: entry("A", 1, requested="-5"), "must not be negative"),
])
def test_inconsistent_input_is_refused(call, message):
    with pytest.raises(ScoreError, match=message):
        call()


# ---------------------------------------------------------------------------------------------
# From raw scores to the funding line, by hand and against an oracle

SCORING = Scoring(
    criteria=(CriterionSpec("coop", D("0.5"), D(3)), CriterionSpec("first", D("0.5"), D(3)),
              CriterionSpec("market", D(1), D(2))),
    overall_threshold=D(6),
    disagreement_limit=D("1.5"),
    tie_break=("coop", "first"),
    funding_line="stop",
)


def test_a_hand_made_call_from_raw_scores():
    def review(coop, first, market):
        return {"coop": D(coop), "first": D(first), "market": D(market)}

    raw = {
        # coop 4, first 4, market 4 -> total 2 + 2 + 4 = 8
        "P1": {"r1": review(4, 4, 4), "r2": review(4, 4, 4)},
        # coop 4.5, first 3.5, market 4 -> 8 as well, ranked above P1 by coop
        "P2": {"r1": review(5, 3, 4), "r3": review(4, 4, 4)},
        # coop 2.5 (< 3), first 5, market 5 -> 1.25 + 2.5 + 5 = 8.75 but not fundable
        "P3": {"r2": review(2, 5, 5), "r3": review(3, 5, 5)},
        # with a consensus of 3 on coop (mean 2.5) P4 is fundable: 1.5 + 2.5 + 5 = 9, first
        "P4": {"r2": review(1, 5, 5), "r3": review(4, 5, 5)},
        # 3, 3, 2 -> 1.5 + 1.5 + 2 = 5 < 6
        "P5": {"r1": review(3, 3, 2)},
        "P6": {},  # not scored
    }
    consensus = {"P4": {"coop": Consensus(D(3), "The panel weighed the letters of intent.")}}
    scores = {pid: aggregate(r, SCORING, consensus.get(pid)) for pid, r in raw.items()}
    requested = {"P1": D("30000"), "P2": D("50000"), "P3": D("10000"), "P4": D("40000"), "P5": D(1), "P6": D(1)}
    submitted = dict.fromkeys(raw, DAY)
    ranking = rank_scores(scores, SCORING, requested=requested, submitted_at=submitted, budget=D("100000"))
    assert scores["P4"].criterion("coop").flagged  # spread 3
    assert ids(ranking.ranked) == ["P4", "P2", "P1"]
    assert [r.decided_by for r in ranking.ranked] == [None, "total", "coop"]
    # 100,000: P4 takes 40,000, P2 50,000; P1 asks 30,000 with 10,000 left: reserve
    assert ids(ranking.funded) == ["P4", "P2"] and ids(ranking.reserve) == ["P1"]
    assert ranking.remaining == D("10000")
    assert [e.proposal_id for e in ranking.not_fundable] == ["P3", "P5", "P6"]


def oracle(raw, consensus, scoring, requested, submitted, budget, mode):
    """The rules of DESIGN section 3 written the plain way, independently of the module."""
    results = {}
    for pid, reviews in raw.items():
        if not reviews:
            results[pid] = None
            continue
        counted = {}
        for c in scoring.criteria:
            if c.key in consensus.get(pid, {}):
                counted[c.key] = F(consensus[pid][c.key].value)
            else:
                counted[c.key] = F(sum(F(r[c.key]) for r in reviews.values()), len(reviews))
        total = sum(F(c.weight) * counted[c.key] for c in scoring.criteria)
        ok = all(counted[c.key] >= F(c.threshold) for c in scoring.criteria) and total >= F(scoring.overall_threshold)
        results[pid] = (total, counted, ok)

    def compare(a, b):
        (ta, ca, _), (tb, cb, _) = results[a], results[b]
        if ta != tb:
            return -1 if ta > tb else 1
        for key in scoring.tie_break:
            if ca[key] != cb[key]:
                return -1 if ca[key] > cb[key] else 1
        if requested[a] != requested[b]:
            return -1 if requested[a] < requested[b] else 1
        if submitted[a] != submitted[b]:
            return -1 if submitted[a] < submitted[b] else 1
        return -1 if a < b else 1

    fundable = sorted((p for p, r in results.items() if r and r[2]), key=functools.cmp_to_key(compare))
    left, funded, stopped = budget, [], False
    for pid in fundable:
        if not stopped and requested[pid] <= left:
            funded.append(pid)
            left -= requested[pid]
        elif mode == "stop":
            stopped = True
    return fundable, funded


scores_st = st.sampled_from([D(n) / 2 for n in range(4, 11)])  # 2 .. 5: coarse, so ties are frequent
review_st = st.fixed_dictionaries({"coop": scores_st, "first": scores_st, "market": scores_st})
call_st = st.dictionaries(
    st.integers(0, 40),
    st.tuples(
        st.dictionaries(st.sampled_from(["r1", "r2", "r3", "r4"]), review_st, max_size=3),
        st.sampled_from([D(10), D(20), D(30), D(45)]),
        st.integers(0, 2),
        st.booleans(),
    ),
    max_size=14,
)


@settings(max_examples=100, deadline=None)
@given(call=call_st, budget=st.integers(0, 200), mode=st.sampled_from(["stop", "skip"]))
def test_the_ranking_matches_an_independent_oracle(call, budget, mode):
    scoring = Scoring(criteria=SCORING.criteria, overall_threshold=D(6), disagreement_limit=D("1.5"),
                      tie_break=("coop", "first"), funding_line=mode)
    raw = {pid: reviews for pid, (reviews, _, _, _) in call.items()}
    consensus = {pid: {"coop": Consensus(D(3), "agreed")} for pid, (r, _, _, agreed) in call.items() if agreed and r}
    requested = {pid: amount for pid, (_, amount, _, _) in call.items()}
    submitted = {pid: DAY + timedelta(hours=h) for pid, (_, _, h, _) in call.items()}
    scores = {pid: aggregate(r, scoring, consensus.get(pid)) for pid, r in raw.items()}
    ranking = rank_scores(scores, scoring, requested=requested, submitted_at=submitted, budget=D(budget))
    expected_order, expected_funded = oracle(raw, consensus, scoring, requested, submitted, D(budget), mode)
    assert ids(ranking.ranked) == expected_order
    assert ids(ranking.funded) == expected_funded
    assert {e.proposal_id for e in ranking.not_fundable} == set(raw) - set(expected_order)


entries_st = st.lists(
    st.tuples(st.integers(0, 8), st.integers(0, 3), st.integers(1, 60), st.integers(0, 3), st.booleans()),
    max_size=25,
)


def make_entries(rows) -> list[RankingEntry]:
    return [entry(i, F(total, 2), coop=coop, requested=str(amount), day=day, fundable=ok)
            for i, (total, coop, amount, day, ok) in enumerate(rows)]


@settings(max_examples=100, deadline=None)
@given(rows=entries_st, budget=st.integers(0, 150), mode=st.sampled_from(["stop", "skip"]), seed=st.integers(0, 9))
def test_funding_line_properties(rows, budget, mode, seed):
    entries = make_entries(rows)
    ranking = rank(entries, D(budget), tie_break=("coop",), funding_line=mode)
    funded = ranking.funded
    # the funded set never exceeds the budget; the figures add up
    assert sum((r.entry.requested for r in funded), D(0)) == ranking.used <= D(budget)
    assert ranking.remaining == D(budget) - ranking.used
    # every fundable proposal is ranked exactly once, the others are listed apart
    assert sorted(ids(ranking.ranked)) == sorted(e.proposal_id for e in entries if e.fundable)
    unfundable = sorted(e.proposal_id for e in entries if not e.fundable)
    assert sorted(e.proposal_id for e in ranking.not_fundable) == unfundable
    # the order is total: the rank keys strictly increase, and shuffling the input changes nothing
    keys = [(-r.entry.total, -r.entry.scores["coop"], r.entry.requested, r.entry.submitted_at, r.proposal_id)
            for r in ranking.ranked]
    assert keys == sorted(keys) and len(set(keys)) == len(keys)
    shuffled = list(entries)
    random.Random(seed).shuffle(shuffled)
    assert rank(shuffled, D(budget), tie_break=("coop",), funding_line=mode) == ranking
    for r in ranking.ranked:  # a reserve proposal asked more than was left when its turn came (or the line stopped)
        if not r.funded and mode == "skip":
            assert r.entry.requested > r.available
    if mode == "stop":
        # the funded proposals are exactly the top of the ranking
        assert ranking.ranked[: len(funded)] == funded
        if ranking.reserve:
            assert ranking.reserve[0].entry.requested > ranking.reserve[0].available
    else:
        # every fundable proposal left unfunded above a funded one asked for more than the budget left
        last_funded = max((r.rank for r in funded), default=0)
        for r in ranking.reserve:
            if r.rank < last_funded:
                assert r.entry.requested > r.available
        # and no reserve proposal would fit what is left at the end
        assert all(r.entry.requested > ranking.remaining for r in ranking.reserve)
