"""Scores on the call's scale, the scoring rules as plain values, exact numbers and their display."""

from __future__ import annotations

from decimal import Decimal
from fractions import Fraction
from pathlib import Path

import pytest

from programme.reviews.domain import (
    DISPLAY_PLACES,
    CriterionSpec,
    ScoreError,
    ScoreScale,
    Scoring,
    check_review,
    display,
    exact,
    validate_score,
)
from programme.rulebook import load_call_rules

D = Decimal
RULES_FILE = Path(__file__).resolve().parents[2] / "rules" / "cluster-contest.toml"
HALF_POINTS = ScoreScale(D(0), D(5), D("0.5"))


def test_the_scale_lists_its_points():
    assert HALF_POINTS.points == tuple(D(n) / 2 for n in range(11))
    assert ScoreScale(D(1), D(10), D(1)).points == tuple(D(n) for n in range(1, 11))


@pytest.mark.parametrize("value, expected", [
    ("3.5", D("3.5")), (" 4 ", D(4)), (D("3.50"), D("3.5")), (0, D(0)), (5, D(5)), (D("0.0"), D(0)),
])
def test_a_score_on_the_scale_is_accepted(value, expected):
    assert validate_score(value, HALF_POINTS) == expected


@pytest.mark.parametrize("value, detail", [
    (D("5.5"), "got 5.5, outside the scale"),
    (D("-0.5"), "got -0.5, outside the scale"),
    (D("4.25"), "got 4.25, not a whole step"),
    ("3.7", "got 3.7, not a whole step"),
    (3.5, "as an exact number (got 3.5)"),
    (True, "as an exact number (got True)"),
    ("abc", "a number from 0 to 5 in steps of 0.5 (got 'abc')"),
    ("NaN", "a number from 0 to 5 in steps of 0.5 (got 'NaN')"),
    (None, "a number from 0 to 5 in steps of 0.5 (got None)"),
])
def test_a_score_off_the_scale_is_refused_with_a_clear_message(value, detail):
    with pytest.raises(ScoreError) as error:
        HALF_POINTS.check(value)
    assert "from 0 to 5 in steps of 0.5" in str(error.value)
    assert detail in str(error.value)


def test_the_step_counts_from_the_scale_minimum():
    scale = ScoreScale(D(1), D(10), D(1))
    assert scale.check("7") == D(7)
    with pytest.raises(ScoreError, match=r"from 1 to 10 in steps of 1 \(got 1.5, not a whole step\)"):
        scale.check("1.5")
    with pytest.raises(ScoreError, match="outside the scale"):
        scale.check("0")


@pytest.mark.parametrize("minimum, maximum, step, message", [
    (D(0), D(5), D("0.3"), "step: must divide"),
    (D(5), D(5), D(1), "maximum: greater than minimum"),
    (D(0), D(5), D(0), "step: greater than 0"),
])
def test_an_impossible_scale_is_refused(minimum, maximum, step, message):
    with pytest.raises(ScoreError, match=message):
        ScoreScale(minimum, maximum, step)


def test_the_shipped_rules_as_plain_values():
    scoring = Scoring.from_rules(load_call_rules(RULES_FILE).scoring)
    assert scoring.scale == HALF_POINTS
    assert len(scoring.criteria) == 7
    assert scoring.total_weight == D(3)
    assert scoring.overall_threshold == D(10)
    assert scoring.disagreement_limit == D("1.5")
    assert scoring.tie_break == ("cooperation", "first_activities", "private_leadership")
    assert scoring.funding_line == "stop"
    assert scoring.reviewers_per_proposal == 3
    assert all(c.threshold == D(3) for c in scoring.criteria)
    title = "Quality of co-operation among the members"
    assert scoring.criteria[0] == CriterionSpec("cooperation", D("0.5"), D(3), title)
    assert scoring.criteria[0].name == scoring.name_of("cooperation") == title  # people read the title


@pytest.mark.parametrize("kwargs, message", [
    ({"criteria": ()}, "at least one"),
    ({"criteria": (CriterionSpec("a", D(1)), CriterionSpec("a", D(2)))}, "each key once"),
    ({"criteria": (CriterionSpec("a", D(1)),), "tie_break": ("b",)}, "unknown: \\['b'\\]"),
    ({"criteria": (CriterionSpec("a", D(1)),), "funding_line": "maybe"}, "funding_line"),
])
def test_inconsistent_scoring_rules_are_refused(kwargs, message):
    with pytest.raises(ScoreError, match=message):
        Scoring(**kwargs)


def test_a_criterion_needs_a_positive_weight_and_no_negative_threshold():
    with pytest.raises(ScoreError, match="weight must be greater than 0"):
        CriterionSpec("a", D(0))
    with pytest.raises(ScoreError, match="threshold must not be negative"):
        CriterionSpec("a", D(1), D(-1))
    with pytest.raises(ScoreError, match="float"):
        CriterionSpec("a", 0.5)  # type: ignore[arg-type]


def test_exact_values_never_come_from_floats():
    assert exact(D("3.5")) == Fraction(7, 2)
    assert exact(3) == Fraction(3)
    with pytest.raises(ScoreError, match="never floats"):
        exact(3.5)
    with pytest.raises(ScoreError, match="never floats"):
        exact(True)
    with pytest.raises(ScoreError, match="not a finite number"):
        exact(D("Infinity"))


@pytest.mark.parametrize("value, shown", [
    (Fraction(19, 6), D("3.17")),
    (Fraction(85, 12), D("7.08")),
    (Fraction(1, 8), D("0.13")),  # half up
    (Fraction(-1, 8), D("-0.13")),  # half away from zero
    (Fraction(-1, 3), D("-0.33")),
    (Fraction(0), D("0.00")),
    (D("4.5"), D("4.50")),
])
def test_display_rounds_half_up_to_two_places(value, shown):
    assert DISPLAY_PLACES == 2
    result = display(value)
    assert result == shown and str(result) == str(shown)


def test_display_of_nothing_is_nothing_and_places_can_be_chosen():
    assert display(None) is None
    assert display(Fraction(2, 3), 4) == D("0.6667")
    assert display(Fraction(5, 2), 0) == D(3)


def test_a_review_is_checked_criterion_by_criterion_before_submission():
    scoring = Scoring(criteria=(CriterionSpec("a", D(1)), CriterionSpec("b", D(1)), CriterionSpec("c", D(1))))
    long_enough = "The members already share a training centre."
    problems = check_review(
        {"a": "4.5", "b": "4.25", "c": ""},
        {"a": long_enough, "b": long_enough, "c": "  short  "},
        scoring,
        min_length=20,
    )
    assert problems == {
        "b": "a score from 0 to 5 in steps of 0.5 (got 4.25, not a whole step)",
        "c": "a score from 0 to 5 in steps of 0.5 is needed;"
             " a justification of at least 20 characters is needed (got 5)",
    }
    complete = check_review({k: D(3) for k in "abc"}, dict.fromkeys("abc", long_enough), scoring, min_length=20)
    assert complete == {}
