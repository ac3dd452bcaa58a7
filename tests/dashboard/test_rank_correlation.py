"""Spearman's rank correlation and its p-value against cases worked out by hand, the definition counted directly
and published tables (critical values of Spearman's rho; Student's t)."""

from __future__ import annotations

import math
from decimal import Decimal
from fractions import Fraction
from itertools import permutations

import pytest

from programme.dashboard.rank_correlation import (
    average_ranks,
    exact_p_value,
    p_rounded,
    p_shown,
    regularized_beta,
    spearman,
    strength,
    student_t_two_sided,
    t_p_value,
)

pytestmark = pytest.mark.same_on_every_database  # pure arithmetic

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


# --- the p-value --------------------------------------------------------------------------------


def _brute_force_p(xs, ys) -> Fraction:
    """The two-sided exact p-value straight from its definition, as a reference: over every ordering of the y
    values, the share whose Pearson correlation of the average ranks is at least as far from 0 as the observed one
    (the denominator being the same for every ordering, the numerators' squares compare)."""
    rx, ry = average_ranks(xs), average_ranks(ys)
    mean = Fraction(len(xs) + 1, 2)

    def numerator(ranks) -> Fraction:
        return sum(((a - mean) * (b - mean) for a, b in zip(rx, ranks, strict=True)), Fraction(0))

    observed = numerator(ry) ** 2
    orderings = list(permutations(ry))
    return Fraction(sum(1 for ordering in orderings if numerator(ordering) ** 2 >= observed), len(orderings))


def test_exact_p_value_of_a_perfect_order_is_two_orderings_out_of_n_factorial():
    # only the order itself and its reverse are as far from 0: 2 / 5! and 2 / 4!
    five = spearman([1, 2, 3, 4, 5], [10, 20, 30, 40, 50])
    assert five.p_exact and five.p_value == pytest.approx(2 / 120, abs=1e-12)
    assert spearman([1, 2, 3, 4], [9, 7, 5, 1]).p_value == pytest.approx(2 / 24, abs=1e-12)
    assert spearman([1, 2, 3], [1, 2, 3]).p_value == pytest.approx(2 / 6, abs=1e-12)


def test_exact_p_value_worked_by_hand():
    # n = 6, sum d^2 = 4 (two adjacent swaps): rho = 1 - 24 / 210 = 0.8857. Orderings with sum d^2 <= 4: the
    # identity, the 5 adjacent swaps (2) and the 6 pairs of disjoint adjacent swaps (4): 12 of 720, and as many
    # at the other end: p = 24 / 720
    result = spearman([1, 2, 3, 4, 5, 6], [2, 1, 4, 3, 5, 6])
    assert result.rho == D("0.8857") and result.p_value == pytest.approx(24 / 720, abs=1e-12)
    # n = 5, rho = 0.6 (sum d^2 = 8): the sums of d^2 of 5! orderings: 0 once, 2 four times, 4 three, 6 six, 8
    # seven: 21 of 120 at or below 8, 21 at the other end: p = 0.35; rho = -0.7 (sum d^2 = 34, i.e. 6 from the
    # other end): 14 + 14 of 120
    assert spearman([1, 2, 3, 4, 5], [3, 2, 1, 4, 5]).rho == D("0.6000")
    assert spearman([1, 2, 3, 4, 5], [3, 2, 1, 4, 5]).p_value == pytest.approx(42 / 120, abs=1e-12)
    assert spearman([1, 2, 3, 4, 5], [5, 3, 2, 4, 1]).rho == D("-0.7000")
    assert spearman([1, 2, 3, 4, 5], [5, 3, 2, 4, 1]).p_value == pytest.approx(28 / 120, abs=1e-12)


def test_exact_p_value_with_ties_counts_orderings_of_the_average_ranks():
    # x ranks 1.5 1.5 3 4, y ranks 1 2.5 2.5 4 (rho 0.8333): twice the deviations are x -2 -2 1 3, y -3 0 0 3,
    # so an ordering's numerator is 3 * (a - b), a the x deviation facing y's +3 and b the one facing -3; observed
    # 3 * (3 - (-2)) = 15. |a - b| = 5 for 4 of the 12 ordered pairs, each with the two zeros either way: 8 / 24
    result = spearman([D(4), D(4), D(5), D(9)], [Fraction(1), Fraction(2), Fraction(2), Fraction(3)])
    assert result.p_exact and result.p_value == pytest.approx(1 / 3, abs=1e-12)


@pytest.mark.parametrize(("xs", "ys"), [
    ([1, 2, 3, 4, 5, 6, 7], [3, 1, 4, 1, 5, 9, 2]),
    ([D("2.5"), D("2.5"), D(3), D(4), D(4), D(4), D(1), D(0)], [5, 6, 7, 8, 7, 1, 1, 2]),
    ([10, 20, 30, 40, 50, 60], [6, 5, 4, 1, 2, 3]),
    ([1, 2, 3, 4, 5, 6, 7], [7, 1, 6, 2, 5, 3, 4]),
])
def test_exact_p_value_equals_the_definition_counted_directly(xs, ys):
    result = spearman(xs, ys)
    assert result.p_exact and result.p_value == pytest.approx(float(_brute_force_p(xs, ys)), abs=1e-12)


@pytest.mark.parametrize(("n", "reverse_first", "swaps", "rho", "at_most_005"), [
    # published critical values of Spearman's rho, two-sided 5 %: n = 7: 0.786, n = 8: 0.738 (the next coefficient
    # down is above 5 %)
    (7, 3, 2, "0.7857", True),
    (8, 4, 1, "0.7381", True),
    (8, 4, 2, "0.7143", False),
])
def test_exact_p_value_against_the_published_critical_values(n, reverse_first, swaps, rho, at_most_005):
    ys = list(range(reverse_first, 0, -1)) + list(range(reverse_first + 1, n + 1))
    for swap in range(swaps):  # swap adjacent pairs at the end: each adds 2 to sum d^2
        i = n - 2 - 2 * swap
        ys[i], ys[i + 1] = ys[i + 1], ys[i]
    result = spearman(list(range(1, n + 1)), ys)
    assert result.rho == D(rho) and result.p_exact
    assert (result.p_value <= 0.05) is at_most_005


def test_a_coefficient_of_zero_has_p_one():
    assert spearman([1, 2, 3, 4, 5], [2, 5, 3, 1, 4]).p_value == pytest.approx(1.0)  # rho 0: every ordering
    assert t_p_value(0.0, 30) == pytest.approx(1.0)
    assert t_p_value(0.0, 9) == pytest.approx(1.0)


@pytest.mark.parametrize(("n", "rho"), [(10, 0.648), (20, 0.447), (30, 0.362), (50, 0.279), (100, 0.197)])
def test_t_approximation_at_the_published_critical_values_is_about_five_percent(n, rho):
    # tables of Spearman's rho, two-sided 5 % (Zar); the t approximation is close, nearer for larger n
    assert 0.04 < t_p_value(rho, n) < 0.06
    assert t_p_value(-rho, n) == pytest.approx(t_p_value(rho, n))
    if n >= 20:
        assert t_p_value(rho, n) == pytest.approx(0.05, abs=0.002)


@pytest.mark.parametrize(("t", "df", "p"), [
    # Student's t table, two-sided: 12.706 (1), 4.303 (2), 2.306 (8), 2.101 (18), 2.048 (28) at 5 %; 3.355 (8) at
    # 1 %; the normal limit 1.960 at 5 %
    (12.706, 1, 0.05), (4.303, 2, 0.05), (2.306, 8, 0.05), (2.101, 18, 0.05), (2.048, 28, 0.05), (3.355, 8, 0.01),
    (1.960, 10**7, 0.05),
])
def test_student_t_tail_against_the_table(t, df, p):
    assert student_t_two_sided(t, df) == pytest.approx(p, abs=5e-5)
    assert student_t_two_sided(-t, df) == student_t_two_sided(t, df)


def test_regularized_beta_at_known_values():
    assert regularized_beta(0.0, 2, 3) == 0.0 and regularized_beta(1.0, 2, 3) == 1.0
    assert regularized_beta(0.3, 1, 1) == pytest.approx(0.3)  # the uniform distribution
    assert regularized_beta(0.5, 4, 4) == pytest.approx(0.5)  # symmetric
    assert regularized_beta(0.2, 2, 1) == pytest.approx(0.04)  # x^a when b = 1
    assert regularized_beta(0.2, 1, 3) == pytest.approx(1 - 0.8 ** 3)  # 1 - (1 - x)^b when a = 1
    with pytest.raises(ValueError):
        regularized_beta(1.5, 1, 1)


def test_above_eight_pairs_the_t_approximation_and_a_perfect_order_its_limit():
    nine = spearman(list(range(9)), list(range(9)))
    assert not nine.p_exact and nine.p_value == 0.0
    twelve = spearman(list(range(12)), [5, 3, 8, 1, 0, 11, 2, 7, 6, 10, 9, 4])
    assert not twelve.p_exact and 0 < twelve.p_value < 1
    rho = float(twelve.rho)
    t = rho * math.sqrt(10 / (1 - rho * rho))
    assert twelve.p_value == pytest.approx(student_t_two_sided(t, 10), abs=1e-4)
    eight = spearman(list(range(8)), [3, 1, 2, 0, 5, 7, 6, 4])
    assert eight.p_exact and eight.rho == D("0.6190")


def test_undefined_coefficients_have_no_p_value():
    assert spearman([1, 2], [2, 1]).p_value is None
    assert spearman([4, 4, 4, 4], [1, 2, 3, 4]).p_value is None


def test_exact_p_value_refuses_more_than_eight_pairs():
    ranks = average_ranks(list(range(9)))
    with pytest.raises(ValueError, match="up to 8 pairs"):
        exact_p_value(ranks, ranks)


@pytest.mark.parametrize(("p", "shown", "rounded"), [
    (2 / 120, "p = 0.02", D("0.02")), (0.0333, "p = 0.03", D("0.03")),
    (0.004, "p = 0.004", D("0.004")), (0.00096, "p < 0.001", None), (0.0, "p < 0.001", None),
    (1.0, "p = 1.00", D("1.00")), (0.35, "p = 0.35", D("0.35")), (0.001, "p = 0.001", D("0.001")),
])
def test_p_values_are_shown_rounded(p, shown, rounded):
    assert p_shown(p) == shown and p_rounded(p) == rounded
