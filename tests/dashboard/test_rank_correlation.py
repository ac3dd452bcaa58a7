"""Spearman's rank correlation against cases worked out by hand."""

from __future__ import annotations

from decimal import Decimal
from fractions import Fraction

import pytest

from programme.dashboard.rank_correlation import average_ranks, spearman, strength

D = Decimal


def test_ranks_without_ties_are_positions_from_the_smallest():
    assert average_ranks([D(30), D(10), D(20)]) == [3, 1, 2]


def test_tied_values_share_the_average_of_their_ranks():
    # 1 -> 1; the two 3s span ranks 3 and 4 -> 3.5; 2 -> 2; the three 7s span 5, 6, 7 -> 6
    assert average_ranks([3, 1, 3, 2, 7, 7, 7]) == [Fraction(7, 2), 1, Fraction(7, 2), 2, 6, 6, 6]


def test_ranks_refuse_floats():
    with pytest.raises(TypeError):
        average_ranks([0.5, 1])


def test_without_ties_it_equals_one_minus_six_d_squared():
    # d = -1, 1, -1, 1, 0: sum d^2 = 4; rho = 1 - 6 * 4 / (5 * 24) = 0.8
    assert spearman([1, 2, 3, 4, 5], [2, 1, 4, 3, 5]).rho == D("0.8000")


def test_with_ties_it_is_pearson_on_average_ranks():
    # y ranks 1, 2, 3.5, 5, 3.5 (the two 7s share 3.5); deviations from 3: x -2 -1 0 1 2, y -2 -1 .5 2 .5
    # sxy = 4 + 1 + 0 + 2 + 1 = 8; sxx = 10; syy = 4 + 1 + .25 + 4 + .25 = 9.5; rho = 8 / sqrt(95) = 0.82078...
    result = spearman([1, 2, 3, 4, 5], [5, 6, 7, 8, 7])
    assert result.rho == D("0.8208") and result.n == 5


def test_ties_in_both_lists():
    # x ranks 1.5 1.5 3 4; y ranks 1 2.5 2.5 4; mean 2.5; dx -1 -1 .5 1.5, dy -1.5 0 0 1.5
    # sxy = 1.5 + 0 + 0 + 2.25 = 3.75; sxx = 1 + 1 + .25 + 2.25 = 4.5; syy = 2.25 + 0 + 0 + 2.25 = 4.5
    # rho = 3.75 / 4.5 = 0.8333...
    assert spearman([D(4), D(4), D(5), D(9)], [Fraction(1), Fraction(2), Fraction(2), Fraction(3)]).rho \
        == D("0.8333")


def test_perfect_orders():
    assert spearman([1, 2, 3], [10, 20, 30]).rho == D(1)
    assert spearman([1, 2, 3, 4], [9, 7, 5, 1]).rho == D(-1)


def test_fewer_than_three_pairs_is_undefined():
    for n in (0, 1, 2):
        result = spearman(list(range(n)), list(range(n)))
        assert result.rho is None and result.n == n and not result.defined
        assert result.reason == "fewer than 3 pairs"


def test_all_scores_equal_is_undefined():
    result = spearman([4, 4, 4, 4], [1, 2, 3, 4])
    assert result.rho is None and result.reason == "every score is the same" and result.n == 4


def test_all_outcomes_equal_is_undefined():
    result = spearman([1, 2, 3], [D("0.5")] * 3)
    assert result.rho is None and result.reason == "every outcome is the same"


def test_lists_of_different_lengths_are_refused():
    with pytest.raises(ValueError, match="as many x values as y values"):
        spearman([1, 2, 3], [1, 2])


def test_strength_words():
    assert strength(D("0.05")) == "no visible relation"
    assert strength(D("0.2")) == "weak positive"
    assert strength(D("-0.4")) == "moderate negative"
    assert strength(D("0.8208")) == "strong positive"
