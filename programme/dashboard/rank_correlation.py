"""Spearman's rank correlation and its p-value, for the contest's validity (pure: no database; its words are in the
language being answered, English outside a request).

- **Ranks** are 1 for the smallest value up to n for the largest; values that tie share the average of the ranks
  they span (two values tied for ranks 2 and 3 both get 2.5), so ties need no special formula.
- **Spearman's rho** is Pearson's correlation of the two rank lists: the sum of the products of the ranks'
  deviations from their mean ((n + 1) / 2) over the square root of the product of their sums of squares. It is
  exact (fractions) up to the one square root, taken in ``Decimal`` and rounded half-up to four places.
- It is **undefined** (``rho`` None, with the reason) with fewer than three pairs (two points always lie on a
  line: +1 or -1 says nothing) and when every value of either list is the same (no ranking to compare).
- Its **p-value** (two-sided) is the chance of a coefficient at least as far from 0 as this one, in either
  direction, if the scores and the outcomes were unrelated (every ordering of the outcomes against the scores
  equally likely). Up to ``EXACT_UP_TO`` pairs it is exact: every one of the n! orderings of the outcomes' ranks
  (ties keeping their average ranks, as rho does) is counted, in integers. Above, it is the usual approximation:
  t = rho * sqrt((n - 2) / (1 - rho^2)) follows Student's t with n - 2 degrees of freedom, whose tail is the
  regularized incomplete beta function (a continued fraction, below); rho = +1 or -1 gives its limit, 0. The
  p-value is a probability, not money: a float, shown rounded (``p_shown``).
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal, localcontext
from fractions import Fraction
from functools import lru_cache
from itertools import permutations
from operator import mul

from programme.core.money import format_number
from programme.core.texts import gettext as _

Value = int | Decimal | Fraction

#: Below this many pairs no coefficient is computed at all.
MIN_PAIRS = 3
PLACES = Decimal("0.0001")
#: Up to this many pairs the p-value counts every ordering (8! = 40,320); above, the t approximation.
EXACT_UP_TO = 8
#: A p-value under this is shown as "p < 0.001", not as a number.
SMALLEST_SHOWN = 0.001


def average_ranks(values: Sequence[Value]) -> list[Fraction]:
    """The rank of each value (1 = smallest), tied values sharing the average of the ranks they span."""
    if any(isinstance(v, float) for v in values):
        raise TypeError("ranks take no floats")
    order = sorted(range(len(values)), key=lambda index: values[index])
    ranks: list[Fraction] = [Fraction(0)] * len(values)
    start = 0
    while start < len(order):
        end = start
        while end + 1 < len(order) and values[order[end + 1]] == values[order[start]]:
            end += 1
        shared = Fraction(start + 1 + end + 1, 2)  # the mean of ranks start+1 .. end+1
        for position in range(start, end + 1):
            ranks[order[position]] = shared
        start = end + 1
    return ranks


@dataclass(frozen=True)
class Correlation:
    """Spearman's rho of ``n`` pairs, or None with the ``reason`` it is undefined."""

    n: int
    rho: Decimal | None
    reason: str | None = None
    #: The two-sided p-value (None when rho is undefined) and whether it is exact (else the t approximation).
    p_value: float | None = None
    p_exact: bool = False

    @property
    def defined(self) -> bool:
        return self.rho is not None


def spearman(xs: Sequence[Value], ys: Sequence[Value]) -> Correlation:
    """Spearman's rank correlation of the pairs (xs[i], ys[i]), with average ranks for ties."""
    if len(xs) != len(ys):
        raise ValueError(f"as many x values as y values (got {len(xs)} and {len(ys)})")
    n = len(xs)
    if n < MIN_PAIRS:
        return Correlation(n, None, _("fewer than %(count)s pairs", count=MIN_PAIRS))
    rx, ry = average_ranks(xs), average_ranks(ys)
    mean = Fraction(n + 1, 2)
    sxy = sum(((a - mean) * (b - mean) for a, b in zip(rx, ry, strict=True)), Fraction(0))
    sxx = sum(((a - mean) ** 2 for a in rx), Fraction(0))
    syy = sum(((b - mean) ** 2 for b in ry), Fraction(0))
    if sxx == 0:
        return Correlation(n, None, _("every score is the same"))
    if syy == 0:
        return Correlation(n, None, _("every outcome is the same"))
    with localcontext() as ctx:
        ctx.prec = 40
        product = sxx * syy
        root = (Decimal(product.numerator) / Decimal(product.denominator)).sqrt()
        rho = Decimal(sxy.numerator) / Decimal(sxy.denominator) / root
        rho = max(Decimal(-1), min(Decimal(1), rho)).quantize(PLACES, ROUND_HALF_UP)
    if n <= EXACT_UP_TO:
        return Correlation(n, rho, p_value=exact_p_value(rx, ry), p_exact=True)
    exact_rho = float(sxy) / math.sqrt(float(sxx) * float(syy))
    return Correlation(n, rho, p_value=t_p_value(exact_rho, n))


def strength(rho: Decimal) -> str:
    """The usual words for a coefficient's size (|rho| under 0.1 none, 0.3 weak, 0.5 moderate, else strong) and its
    sign: a description, not a test of significance."""
    size = abs(rho)
    if size < Decimal("0.1"):
        return _("no visible relation")
    if size < Decimal("0.3"):
        return _("weak positive") if rho > 0 else _("weak negative")
    if size < Decimal("0.5"):
        return _("moderate positive") if rho > 0 else _("moderate negative")
    return _("strong positive") if rho > 0 else _("strong negative")


# ------------------------------------------------------------------------------------------------ the p-value


def _deviations(ranks: Sequence[Fraction]) -> tuple[int, ...]:
    """Twice each rank's deviation from the mean rank, (2 * rank - (n + 1)): integers, average ranks being halves."""
    n = len(ranks)
    doubled = [2 * rank - (n + 1) for rank in ranks]
    if any(value.denominator != 1 for value in doubled):
        raise ValueError("ranks are whole or halves")
    return tuple(int(value) for value in doubled)


@lru_cache(maxsize=256)
def _null_distribution(xs: tuple[int, ...], ys: tuple[int, ...]) -> tuple[tuple[int, int], ...]:
    """How many of the n! orderings of ``ys`` against ``xs`` give each value of |sum of products|, as (value, count)
    pairs. It depends only on the two multisets, so a call's lists sorted are the key (no ties: one entry per n)."""
    counts = Counter(abs(sum(map(mul, xs, ordering))) for ordering in permutations(ys))
    return tuple(sorted(counts.items()))


def exact_p_value(rx: Sequence[Fraction], ry: Sequence[Fraction]) -> float:
    """The share of the n! orderings of ``ry`` against ``rx`` whose rho is at least as far from 0 as the observed
    one (the sum of the products of the deviations, rho's numerator, since the denominator is the same for every
    ordering): exact, in integers; at most ``EXACT_UP_TO`` pairs."""
    if len(rx) != len(ry):
        raise ValueError("as many x ranks as y ranks")
    if len(rx) > EXACT_UP_TO:
        raise ValueError(f"exact p-values up to {EXACT_UP_TO} pairs (got {len(rx)})")
    dx, dy = _deviations(rx), _deviations(ry)
    observed = abs(sum(map(mul, dx, dy)))
    distribution = _null_distribution(tuple(sorted(dx)), tuple(sorted(dy)))
    at_least = sum(count for value, count in distribution if value >= observed)
    return at_least / math.factorial(len(rx))


def t_p_value(rho: float, n: int) -> float:
    """The two-sided p-value of rho over ``n`` pairs by the t approximation (n - 2 degrees of freedom); rho = +1 or
    -1 gives the limit 0."""
    if n < MIN_PAIRS:
        raise ValueError(f"at least {MIN_PAIRS} pairs (got {n})")
    if not -1.0 <= rho <= 1.0:
        raise ValueError(f"rho between -1 and 1 (got {rho})")
    if abs(rho) == 1.0:
        return 0.0
    df = n - 2
    t = rho * math.sqrt(df / (1.0 - rho * rho))
    return student_t_two_sided(t, df)


def student_t_two_sided(t: float, df: float) -> float:
    """P(|T| >= |t|) for Student's t with ``df`` degrees of freedom: I_x(df/2, 1/2) with x = df / (df + t^2)."""
    if df <= 0:
        raise ValueError("degrees of freedom above 0")
    return regularized_beta(df / (df + t * t), df / 2.0, 0.5)


def regularized_beta(x: float, a: float, b: float) -> float:
    """The regularized incomplete beta function I_x(a, b), by its continued fraction (Lentz's method), taken on the
    side where it converges fast (I_x(a, b) = 1 - I_(1-x)(b, a))."""
    if not 0.0 <= x <= 1.0:
        raise ValueError(f"x between 0 and 1 (got {x})")
    if x == 0.0 or x == 1.0:
        return x
    front = math.exp(math.lgamma(a + b) - math.lgamma(a) - math.lgamma(b) + a * math.log(x) + b * math.log1p(-x))
    if x < (a + 1.0) / (a + b + 2.0):
        return min(1.0, max(0.0, front * _beta_fraction(x, a, b) / a))
    return min(1.0, max(0.0, 1.0 - front * _beta_fraction(1.0 - x, b, a) / b))


def _beta_fraction(x: float, a: float, b: float, *, most: int = 300, epsilon: float = 1e-15) -> float:
    """The continued fraction of the incomplete beta function (modified Lentz), to ``epsilon``."""
    tiny = 1e-300
    qab, qap, qam = a + b, a + 1.0, a - 1.0
    c, d = 1.0, 1.0 - qab * x / qap
    d = 1.0 / (d if abs(d) > tiny else tiny)
    h = d
    for m in range(1, most + 1):
        m2 = 2 * m
        for numerator in (m * (b - m) * x / ((qam + m2) * (a + m2)),
                          -(a + m) * (qab + m) * x / ((a + m2) * (qap + m2))):
            d = 1.0 + numerator * d
            d = 1.0 / (d if abs(d) > tiny else tiny)
            c = 1.0 + numerator / c
            c = c if abs(c) > tiny else tiny
            h *= d * c
        if abs(d * c - 1.0) < epsilon:
            return h
    raise ArithmeticError("the incomplete beta's continued fraction did not converge")


def p_rounded(p: float) -> Decimal | None:
    """The p-value as shown: two places from 0.01 up, three below; None under ``SMALLEST_SHOWN`` ("p < 0.001")."""
    if p < SMALLEST_SHOWN:
        return None
    places = Decimal("0.01") if p >= 0.0095 else Decimal("0.001")
    return Decimal(repr(p)).quantize(places, ROUND_HALF_UP)


def p_shown(p: float) -> str:
    """The p-value as people read it, in their language's way: "p = 0.03", "p = 0.004", "p < 0.001"."""
    rounded = p_rounded(p)
    if rounded is None:
        return _("p < %(limit)s", limit=format_number(Decimal(repr(SMALLEST_SHOWN)), 3))
    return _("p = %(value)s", value=format_number(rounded, -rounded.as_tuple().exponent))
