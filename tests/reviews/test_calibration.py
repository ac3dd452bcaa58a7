"""Calibration: each reviewer's offset from its co-reviewers, and the ranking without the offsets."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from fractions import Fraction

from hypothesis import given, settings
from hypothesis import strategies as st

from programme.reviews.aggregation import Consensus, aggregate, reviewer_total
from programme.reviews.agreement import (
    aggregate_all,
    calibrate,
    calibrated_entries,
    calibrated_reviews,
    calibration_report,
)
from programme.reviews.domain import CriterionSpec, Scoring

D = Decimal
F = Fraction
DAY = datetime(2025, 3, 1, tzinfo=UTC)

ONE = Scoring(criteria=(CriterionSpec("q", D(1)),), overall_threshold=D(0))

# h is harsh, l is lenient, a and b are in between; one criterion of weight 1.
REVIEWS = {
    "P1": {"h": {"q": D(2)}, "a": {"q": D(4)}},
    "P2": {"l": {"q": D(5)}, "b": {"q": D(3)}},
    "P3": {"h": {"q": D(3)}, "b": {"q": D(4)}},
    "P4": {"l": {"q": D("4.5")}, "a": {"q": D("3.5")}},
    "P5": {"a": {"q": D(3)}},  # reviewed alone: no offset from it
}


def test_offsets_by_hand():
    calibration = calibrate(REVIEWS, ONE)
    assert list(calibration) == ["a", "b", "h", "l"]
    h, l_, a, b = calibration["h"], calibration["l"], calibration["a"], calibration["b"]
    # h: P1 2 - 4 = -2, P3 3 - 4 = -1 -> mean -1.5, spread 1, standard deviation 0.5
    assert h.offsets == (("P1", F(-2)), ("P3", F(-1)))
    assert (h.offset, h.minimum, h.maximum, h.spread) == (F(-3, 2), F(-2), F(-1), F(1))
    assert h.stdev == D("0.5")
    # l: P2 5 - 3 = 2, P4 4.5 - 3.5 = 1 -> +1.5
    assert l_.offset == F(3, 2) and l_.spread == 1
    # a: P1 4 - 2 = 2, P4 3.5 - 4.5 = -1 -> +0.5, spread 3; it also reviewed P5 alone
    assert a.offsets == (("P1", F(2)), ("P4", F(-1)))
    assert (a.offset, a.spread, a.reviewed, a.shared) == (F(1, 2), F(3), 3, 2)
    # b: P2 3 - 5 = -2, P3 4 - 3 = 1 -> -0.5
    assert b.offset == F(-1, 2) and b.spread == 3
    assert h.point_offset == h.offset  # the weights add up to 1


def test_a_reviewer_who_shares_no_proposal_has_no_offset():
    calibration = calibrate({"P1": {"x": {"q": D(3)}}}, ONE)
    x = calibration["x"]
    assert (x.offset, x.point_offset, x.spread, x.stdev, x.shared, x.reviewed) == (None, None, None, None, 0, 1)
    assert calibrated_reviews({"P1": {"x": {"q": D(3)}}}, ONE, calibration) == {"P1": {"x": {"q": F(3)}}}


def test_the_offset_is_against_the_mean_of_all_the_others():
    reviews = {"P": {"x": {"q": D(5)}, "y": {"q": D(2)}, "z": {"q": D(3)}}}
    calibration = calibrate(reviews, ONE)
    # x: 5 - (2 + 3) / 2 = 2.5; y: 2 - 4 = -2; z: 3 - 3.5 = -0.5
    assert [calibration[r].offset for r in "xyz"] == [F(5, 2), F(-2), F(-1, 2)]


def test_the_calibrated_ranking_beside_the_plain_one():
    report = calibration_report(REVIEWS, ONE, requested=dict.fromkeys(REVIEWS, D(10)),
                                submitted_at=dict.fromkeys(REVIEWS, DAY), budget=D(20))
    # plain means: P1 3, P2 4, P3 3.5, P4 4, P5 3 -> P2, P4 (tie: by id), P3, P1, P5
    assert [r.proposal_id for r in report.plain.ranked] == ["P2", "P4", "P3", "P1", "P5"]
    # calibrated: h +1.5, l -1.5, a -0.5, b +0.5 on every score
    # P1 (3.5 + 3.5) / 2 = 3.5; P2 (3.5 + 3.5) / 2 = 3.5; P3 (4.5 + 4.5) / 2 = 4.5; P4 (3 + 3) / 2 = 3;
    # P5 3 - 0.5 = 2.5
    calibrated = {r.proposal_id: r.entry.total for r in report.calibrated.ranked}
    assert calibrated == {"P3": F(9, 2), "P1": F(7, 2), "P2": F(7, 2), "P4": F(3), "P5": F(5, 2)}
    assert [r.proposal_id for r in report.calibrated.ranked] == ["P3", "P1", "P2", "P4", "P5"]
    # the same funding line applies: 20 funds two proposals of 10
    assert [r.proposal_id for r in report.plain.funded] == ["P2", "P4"]
    assert [r.proposal_id for r in report.calibrated.funded] == ["P3", "P1"]
    assert report.rank_changes() == {"P1": (4, 2), "P2": (1, 3), "P3": (3, 1), "P4": (2, 4), "P5": (5, 5)}


def test_the_offset_is_spread_evenly_over_weighted_criteria_and_consensus_stays():
    scoring = Scoring(criteria=(CriterionSpec("x", D("0.5")), CriterionSpec("y", D("1.5"))), overall_threshold=D(0))
    reviews = {"P": {"u": {"x": D(4), "y": D(4)}, "v": {"x": D(2), "y": D(3)}}}
    # totals: u 2 + 6 = 8, v 1 + 4.5 = 5.5 -> offsets u +2.5, v -2.5; point offsets +-2.5 / 2 = +-1.25
    calibration = calibrate(reviews, scoring)
    assert calibration["u"].point_offset == F(5, 4)
    adjusted = calibrated_reviews(reviews, scoring, calibration)
    assert adjusted["P"]["u"] == {"x": F(11, 4), "y": F(11, 4)}
    assert adjusted["P"]["v"] == {"x": F(13, 4), "y": F(17, 4)}
    assert reviewer_total(adjusted["P"]["u"], scoring) == 8 - F(5, 2)
    report = calibration_report(reviews, scoring, consensus={"P": {"x": Consensus(D(5), "agreed")}},
                                requested={"P": D(1)}, submitted_at={"P": DAY}, budget=D(1))
    # consensus 5 on x stays; y: mean of 11/4 and 17/4 = 3.5 -> 2.5 + 5.25 = 7.75
    assert report.calibrated.ranked[0].entry.total == F(31, 4)
    assert report.plain.ranked[0].entry.total == F(5, 2) + F(21, 4)  # x consensus 5; y mean 3.5


score_st = st.sampled_from([D(n) / 2 for n in range(11)])
matrix_st = st.dictionaries(
    st.integers(0, 12),
    st.dictionaries(st.sampled_from("abcdef"), st.fixed_dictionaries({"x": score_st, "y": score_st}), max_size=4),
    max_size=12,
)
TWO = Scoring(criteria=(CriterionSpec("x", D("0.4")), CriterionSpec("y", D("0.5"))), overall_threshold=D(0))


@settings(max_examples=100, deadline=None)
@given(reviews=matrix_st)
def test_calibration_properties(reviews):
    calibration = calibrate(reviews, TWO)
    adjusted = calibrated_reviews(reviews, TWO, calibration)
    for pid, by_reviewer in reviews.items():
        totals = {r: reviewer_total(s, TWO) for r, s in by_reviewer.items()}
        for reviewer, scores in by_reviewer.items():
            offset = calibration[reviewer].offset or 0
            # every calibrated total is the reviewer's own total less its mean offset
            assert reviewer_total(adjusted[pid][reviewer], TWO) == totals[reviewer] - offset
            # the same shift on every criterion
            assert len({adjusted[pid][reviewer][k] - F(scores[k]) for k in "xy"}) == 1
        if len(totals) >= 2:
            # on one proposal the offsets of its reviewers add up to zero
            whole = sum(totals.values())
            assert sum(t - (whole - t) / (len(totals) - 1) for t in totals.values()) == 0
    for entry in calibration.values():
        if entry.offset is not None:
            assert entry.minimum <= entry.offset <= entry.maximum
            assert entry.offset == sum(d for _, d in entry.offsets) / entry.shared


THRESHOLDS = Scoring(criteria=(CriterionSpec("x", D("0.4"), D("2.5")), CriterionSpec("y", D("0.5"), D(2))),
                     overall_threshold=D("2.5"), tie_break=("y",))


@settings(max_examples=100, deadline=None)
@given(reviews=matrix_st, agreed=st.dictionaries(st.integers(0, 12), st.sampled_from(["x", "y"]), max_size=4))
def test_the_fast_calibrated_ranking_equals_aggregating_the_shifted_reviews(reviews, agreed):
    consensus = {pid: {key: Consensus(D(3), "agreed")} for pid, key in agreed.items() if pid in reviews}
    calibration = calibrate(reviews, THRESHOLDS)
    plain = aggregate_all(reviews, THRESHOLDS, consensus)
    fast = calibrated_entries(plain, THRESHOLDS, calibration, requested=dict.fromkeys(reviews, D(1)),
                              submitted_at=dict.fromkeys(reviews, DAY))
    shifted = calibrated_reviews(reviews, THRESHOLDS, calibration)
    for entry in fast:
        slow = aggregate(shifted[entry.proposal_id], THRESHOLDS, consensus.get(entry.proposal_id), on_scale=False)
        assert entry.total == slow.total
        assert entry.fundable == slow.fundable
        assert entry.scores == (slow.counted if slow.scored else {})
