"""Krippendorff's alpha for interval data: a textbook example, hand-made cases, and the `krippendorff`
package as an independent reference on random sparse reviewer x proposal matrices."""

from __future__ import annotations

import math
import random
from decimal import Decimal
from fractions import Fraction

import krippendorff
import pytest

from programme.reviews.aggregation import reviewer_total
from programme.reviews.agreement import alpha, interval_alpha
from programme.reviews.domain import CriterionSpec, ScoreError, Scoring

D = Decimal
F = Fraction
NAN = math.nan

# Krippendorff (2011), "Computing Krippendorff's Alpha-Reliability", section C: four observers, twelve
# units, values 1..5, missing data. Published: interval alpha = 0.849. Unit 12 has a single value.
TEXTBOOK = [
    [1, 2, 3, 3, 2, 1, 4, 1, 2, NAN, NAN, NAN],
    [1, 2, 3, 3, 2, 2, 4, 1, 2, 5, NAN, 3],
    [NAN, 3, 3, 3, 2, 3, 4, 2, 2, 5, 1, NAN],
    [1, 2, 3, 3, 2, 4, 4, 1, 2, 5, 1, NAN],
]


def units_of(matrix: list[list[float]]) -> list[list[Fraction]]:
    """Observer x unit rows (nan: missing) as units of exact values."""
    return [[F(row[u]) for row in matrix if not math.isnan(row[u])] for u in range(len(matrix[0]))]


def reference(matrix: list[list[float]]) -> float:
    return krippendorff.alpha(reliability_data=matrix, level_of_measurement="interval")


def test_the_textbook_example():
    result = interval_alpha(units_of(TEXTBOOK))
    assert result == F(951, 1120)
    assert round(float(result), 3) == 0.849
    assert float(result) == pytest.approx(reference(TEXTBOOK), abs=1e-12)


def test_a_small_case_by_hand():
    # units (1, 2) and (3, 3): n = 4 values, mean 9/4
    # observed: unit 1 has ordered pairs (1,2), (2,1): 2 x 1 / (2 - 1) = 2; unit 2: 0
    # expected: all ordered pairs of 1, 2, 3, 3: 2 (4 x 23 - 9^2) = 22
    # alpha = 1 - (n - 1) x 2 / 22 = 1 - 6/22 = 8/11
    assert interval_alpha([[1, 2], [3, 3]]) == F(8, 11)
    assert float(F(8, 11)) == pytest.approx(reference([[1, 3], [2, 3]]))


def test_perfect_agreement_and_systematic_disagreement():
    assert interval_alpha([[1, 1], [3, 3], [5, 5]]) == 1
    # observers that always differ by the full range: worse than chance
    assert interval_alpha([[1, 5], [5, 1]]) < 0


def test_units_with_fewer_than_two_values_are_ignored():
    base = interval_alpha([[1, 2, 2], [4, 4], [3, 5]])
    assert interval_alpha([[1, 2, 2], [4, 4], [9], [], [3, 5]]) == base


def test_alpha_is_undefined_without_pairable_values_or_without_variation():
    assert interval_alpha([]) is None
    assert interval_alpha([[3], [4], []]) is None
    assert interval_alpha([[3, 3], [3, 3, 3]]) is None


def test_decimals_and_fractions_are_exact_and_floats_refused():
    assert interval_alpha([[D("1.5"), D(2)], [D(3), D(3)]]) == interval_alpha([[F(3, 2), 2], [3, 3]])
    with pytest.raises(ScoreError):
        interval_alpha([[1.5, 2.0]])


def random_matrix(seed: int) -> list[list[float]]:
    rng = random.Random(seed)
    reviewers, proposals = rng.randint(2, 12), rng.randint(2, 30)
    present = rng.uniform(0.15, 0.8)
    points = [n / 2 for n in range(11)]  # 0 .. 5 in half points
    matrix = [[rng.choice(points) if rng.random() < present else NAN for _ in range(proposals)]
              for _ in range(reviewers)]
    matrix[0][0], matrix[1][0] = 1.0, 4.5  # at least one pairable unit with variation
    return matrix


@pytest.mark.parametrize("seed", range(25))
def test_random_sparse_matrices_against_the_reference_package(seed):
    matrix = random_matrix(seed)
    ours = interval_alpha(units_of(matrix))
    assert ours is not None
    assert float(ours) == pytest.approx(reference(matrix), abs=1e-9)


SCORING = Scoring(criteria=(CriterionSpec("x", D("0.5")), CriterionSpec("y", D("1.5")), CriterionSpec("z", D(1))))


@pytest.mark.parametrize("seed", range(8))
def test_a_calls_agreement_by_proposal_and_by_criterion(seed):
    rng = random.Random(seed)
    reviewers = [f"r{i}" for i in range(rng.randint(3, 9))]
    points = [D(n) / 2 for n in range(11)]
    reviews = {
        pid: {r: {k: rng.choice(points) for k in SCORING.keys} for r in rng.sample(reviewers, rng.randint(1, 3))}
        for pid in range(rng.randint(4, 20))
    }
    reviews[0] = {"r0": {"x": D(0), "y": D(0), "z": D(0)}, "r1": {"x": D(5), "y": D(5), "z": D(5)}}

    def matrix(units: list[tuple], value) -> list[list[float]]:
        return [[float(value(r, u)) if r in reviews[u[0]] else NAN for u in units] for r in reviewers]

    # units = proposals, values = each reviewer's weighted total
    by_proposal = matrix([(p,) for p in reviews], lambda r, u: reviewer_total(reviews[u[0]][r], SCORING))
    assert float(alpha(reviews, SCORING)) == pytest.approx(reference(by_proposal), abs=1e-9)
    # units = proposal-criterion pairs, values = the criterion scores
    pairs = [(p, k) for p in reviews for k in SCORING.keys]
    by_pair = matrix(pairs, lambda r, u: reviews[u[0]][r][u[1]])
    assert float(alpha(reviews, SCORING, unit="criterion")) == pytest.approx(reference(by_pair), abs=1e-9)
    # one criterion alone
    only_y = matrix([(p, "y") for p in reviews], lambda r, u: reviews[u[0]][r]["y"])
    assert float(alpha(reviews, SCORING, unit="criterion", criterion="y")) == pytest.approx(reference(only_y), abs=1e-9)


def test_unknown_unit_or_criterion_is_refused():
    with pytest.raises(ValueError, match="unit"):
        alpha({}, SCORING, unit="reviewer")  # type: ignore[arg-type]
    with pytest.raises(KeyError):
        alpha({}, SCORING, unit="criterion", criterion="nope")
