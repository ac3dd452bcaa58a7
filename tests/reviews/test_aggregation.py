"""Aggregating the reviews of one proposal: means, spreads, the disagreement flag, consensus, thresholds.

Every expected value is worked out by hand in the comments.
"""

from __future__ import annotations

from decimal import Decimal
from fractions import Fraction
from pathlib import Path

import pytest

from programme.reviews.aggregation import Consensus, aggregate, reviewer_total
from programme.reviews.domain import CriterionSpec, ScoreError, Scoring
from programme.rulebook import load_call_rules

D = Decimal
F = Fraction
RULES_FILE = Path(__file__).resolve().parents[2] / "rules" / "cluster-contest.toml"

#: a and b weigh 0.5 with threshold 3, c weighs 1 with threshold 2; at least 7 overall; limit 1.5.
SCORING = Scoring(
    criteria=(CriterionSpec("a", D("0.5"), D(3)), CriterionSpec("b", D("0.5"), D(3)), CriterionSpec("c", D(1), D(2))),
    overall_threshold=D(7),
    disagreement_limit=D("1.5"),
)

REVIEWS = {
    "r1": {"a": D(4), "b": D(3), "c": D(3)},
    "r2": {"a": D("3.5"), "b": D(4), "c": D("4.5")},
    "r3": {"a": D("4.5"), "b": D("2.5"), "c": D(3)},
}


def reviews(**changes: dict[str, Decimal]) -> dict[str, dict[str, Decimal]]:
    result = {r: dict(s) for r, s in REVIEWS.items()}
    for reviewer, scores in changes.items():
        result[reviewer].update(scores)
    return result


def test_means_spreads_and_the_weighted_total():
    score = aggregate(REVIEWS, SCORING)
    a, b, c = score.criteria
    # a: 4, 3.5, 4.5 -> mean 12/3 = 4, min 3.5, max 4.5, spread 1
    assert (a.count, a.mean, a.minimum, a.maximum, a.spread) == (3, F(4), F(7, 2), F(9, 2), F(1))
    # b: 3, 4, 2.5 -> mean 9.5/3 = 19/6 (3.1666...), spread 1.5
    assert (b.mean, b.minimum, b.maximum, b.spread) == (F(19, 6), F(5, 2), F(4), F(3, 2))
    # c: 3, 4.5, 3 -> mean 10.5/3 = 3.5, spread 1.5
    assert (c.mean, c.spread) == (F(7, 2), F(3, 2))
    # total: 0.5 x 4 + 0.5 x 19/6 + 1 x 3.5 = 2 + 19/12 + 3.5 = 85/12 (7.0833...)
    assert score.total == F(85, 12)
    assert score.counted == {"a": F(4), "b": F(19, 6), "c": F(7, 2)}
    assert score.fundable and score.reasons == ()
    assert score.reviewers == ("r1", "r2", "r3")
    assert score.max_spread == F(3, 2)
    assert score.scored


def test_a_spread_at_exactly_the_limit_is_not_flagged():
    score = aggregate(REVIEWS, SCORING)
    assert score.criterion("b").spread == SCORING.disagreement_limit
    assert not score.criterion("b").flagged and not score.flagged and not score.needs_consensus


def test_a_spread_just_above_the_limit_is_flagged():
    # the next spread on the half-point scale: b = 3, 4, 2 -> spread 2 > 1.5
    score = aggregate(reviews(r3={"b": D(2)}), SCORING)
    assert score.criterion("b").spread == 2
    assert score.criterion("b").flagged and score.flagged and score.needs_consensus
    assert not score.criterion("a").flagged
    # a limit a hair below the spread of 1.5 flags it too
    tighter = Scoring(criteria=SCORING.criteria, overall_threshold=D(7), disagreement_limit=D("1.49"))
    assert aggregate(REVIEWS, tighter).criterion("b").flagged


def test_consensus_replaces_the_mean_and_keeps_the_flag_resolved():
    changed = reviews(r3={"b": D(2)})  # b: 3, 4, 2 -> mean 3, flagged
    agreed = Consensus(D(4), "Panel agreed the members already run a joint training centre.")
    score = aggregate(changed, SCORING, {"b": agreed})
    b = score.criterion("b")
    assert b.mean == 3 and b.consensus is agreed and b.counted == 4
    assert b.flagged and not b.needs_consensus and not score.needs_consensus
    # total: 0.5 x 4 + 0.5 x 4 + 1 x 3.5 = 7.5 (with the mean it would be 2 + 1.5 + 3.5 = 7)
    assert score.total == F(15, 2)
    assert aggregate(changed, SCORING).total == 7


def test_a_consensus_below_the_threshold_makes_the_proposal_not_fundable():
    score = aggregate(REVIEWS, SCORING, {"a": Consensus(D("2.5"), "Overrated by two reviewers.")})
    # total 0.5 x 2.5 + 19/12 + 3.5 = 1.25 + 1.5833 + 3.5 = 6.3333... < 7 as well
    assert score.total == F(19, 3)
    assert not score.fundable
    assert score.reasons == (
        "a: consensus 2.50 is below the criterion threshold 3",
        "total 6.33 is below the overall threshold 7",
    )


def test_a_consensus_can_lift_a_criterion_over_its_threshold():
    low = reviews(r1={"b": D("2.5")}, r2={"b": D(3)}, r3={"b": D("2.5")})  # b mean 8/3 < 3
    assert not aggregate(low, SCORING).fundable
    assert aggregate(low, SCORING, {"b": Consensus(D(3), "Discussed.")}).fundable


def test_each_criterion_threshold_counts_on_its_own():
    # c: 2, 2, 1.5 -> mean 5.5/3 = 11/6 < 2; a and b unchanged
    score = aggregate(reviews(r1={"c": D(2)}, r2={"c": D(2)}, r3={"c": D("1.5")}), SCORING)
    assert not score.criterion("c").passes and score.criterion("a").passes
    # total 2 + 19/12 + 11/6 = 65/12 = 5.4166... also below 7
    assert score.total == F(65, 12)
    assert score.reasons == (
        "c: mean 1.83 is below the criterion threshold 2",
        "total 5.42 is below the overall threshold 7",
    )


def test_a_criterion_below_its_threshold_fails_even_with_a_high_total():
    generous = Scoring(criteria=SCORING.criteria, overall_threshold=D(1), disagreement_limit=D("1.5"))
    # b: 3, 2.5, 3 -> mean 17/6 < 3; total 2 + 17/12 + 3.5 = 6.9166... >= 1
    score = aggregate(reviews(r2={"b": D(3)}, r3={"b": D("2.5")}), generous)
    assert not score.fundable
    assert score.reasons == ("b: mean 2.83 is below the criterion threshold 3",)


def test_a_mean_exactly_at_the_threshold_passes():
    # b: 3, 3, 3 -> exactly 3
    assert aggregate(reviews(r2={"b": D(3)}, r3={"b": D(3)}), SCORING).criterion("b").passes


def test_the_overall_threshold_alone():
    strict = Scoring(criteria=SCORING.criteria, overall_threshold=D("7.5"), disagreement_limit=D("1.5"))
    score = aggregate(REVIEWS, strict)
    assert all(c.passes for c in score.criteria)
    assert not score.fundable
    assert score.reasons == ("total 7.08 is below the overall threshold 7.5",)
    # a total exactly at the threshold is fundable: with a consensus of 4 on b, 2 + 2 + 3.5 = 7.5
    at = aggregate(REVIEWS, strict, {"b": Consensus(D(4), "Agreed in the panel.")})
    assert at.total == D("7.5") and at.fundable


def test_without_a_submitted_review_a_proposal_is_not_scored():
    score = aggregate({}, SCORING)
    assert not score.scored and score.total is None and not score.fundable
    assert score.criteria == () and score.max_spread is None and not score.flagged
    assert score.reasons == ("not scored: no submitted review",)
    assert not aggregate({}, SCORING, {"a": Consensus(D(4), "r")}).scored


def test_a_single_review_counts_as_it_is():
    score = aggregate({"r1": REVIEWS["r1"]}, SCORING)
    assert score.counted == {"a": 4, "b": 3, "c": 3}
    assert score.total == F(13, 2) and score.max_spread == 0


def test_means_are_exact_so_equal_totals_stay_equal():
    two = Scoring(criteria=(CriterionSpec("x", D(1)), CriterionSpec("y", D(1))))
    # x: 11/3 and y: 3, against x: 10/3 and y: 10/3; both total exactly 20/3. Means rounded to four
    # places would give 6.6667 against 6.6666 and break the tie that the tie-break rules must decide.
    first = aggregate({"r1": {"x": D(4), "y": D(3)}, "r2": {"x": D(4), "y": D(3)}, "r3": {"x": D(3), "y": D(3)}}, two)
    second = aggregate({"r1": {"x": D(3), "y": D(3)}, "r2": {"x": D(3), "y": D(4)}, "r3": {"x": D(4), "y": D(3)}}, two)
    assert first.total == second.total == F(20, 3)


@pytest.mark.parametrize("bad, message", [
    ({"r1": {"a": D(4), "b": D(3)}}, "review by r1: no score for c"),
    ({"r1": {"a": D(4), "b": D(3), "c": D(3), "d": D(1)}}, "review by r1: unknown criteria d"),
    ({"r1": {"a": D(4), "b": D(3), "c": D("3.25")}}, "review by r1, c: a score from 0 to 5 in steps of 0.5"),
    ({"r1": {"a": D(4), "b": D(3), "c": D(6)}}, "outside the scale"),
    ({"r1": {"a": D(4), "b": D(3), "c": 3.0}}, "exact number"),
])
def test_an_incomplete_or_off_scale_review_is_refused(bad, message):
    with pytest.raises(ScoreError, match=message):
        aggregate(bad, SCORING)


def test_a_consensus_needs_a_reason_a_known_criterion_and_a_score_on_the_scale():
    with pytest.raises(ScoreError, match="needs a recorded reason"):
        Consensus(D(3), "   ")
    with pytest.raises(ScoreError, match="unknown criteria z"):
        aggregate(REVIEWS, SCORING, {"z": Consensus(D(3), "r")})
    with pytest.raises(ScoreError, match="consensus on a: .*not a whole step"):
        aggregate(REVIEWS, SCORING, {"a": Consensus(D("3.2"), "r")})
    with pytest.raises(ScoreError, match="float"):
        Consensus(3.0, "r")  # type: ignore[arg-type]


def test_a_reviewer_total_is_its_own_weighted_sum():
    assert reviewer_total(REVIEWS["r2"], SCORING) == F(1, 2) * F(7, 2) + F(1, 2) * 4 + F(9, 2)  # 1.75 + 2 + 4.5


def test_the_shipped_rules_common_practice_thresholds():
    scoring = Scoring.from_rules(load_call_rules(RULES_FILE).scoring)
    keys = scoring.keys

    def three_reviews(values: list[str]) -> dict[str, dict[str, Decimal]]:
        return {f"r{i}": {k: D(v) for k in keys} for i, v in enumerate(values)}

    # 3 on every criterion: total 3 x 3.0 = 9 < 10, not fundable although every criterion passes
    all_threes = aggregate(three_reviews(["3", "3", "3"]), scoring)
    assert all_threes.total == 9 and not all_threes.fundable
    assert all_threes.reasons == ("total 9.00 is below the overall threshold 10",)
    # 3.5, 3.5, 3 -> mean 10/3 on every criterion: total 10 exactly, fundable
    enough = aggregate(three_reviews(["3.5", "3.5", "3"]), scoring)
    assert enough.total == 10 and enough.fundable
    # 5, 5, 2.5: mean 12.5/3 = 4.17 but spread 2.5 > 1.5 flags every criterion
    split = aggregate(three_reviews(["5", "5", "2.5"]), scoring)
    assert split.fundable and split.flagged and all(c.flagged for c in split.criteria)
