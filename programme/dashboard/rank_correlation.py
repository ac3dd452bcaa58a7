"""Spearman's rank correlation, for the contest's validity (pure: no database, never a float; its words are in the
language being answered, English outside a request).

- **Ranks** are 1 for the smallest value up to n for the largest; values that tie share the average of the ranks
  they span (two values tied for ranks 2 and 3 both get 2.5), so ties need no special formula.
- **Spearman's rho** is Pearson's correlation of the two rank lists: the sum of the products of the ranks'
  deviations from their mean ((n + 1) / 2) over the square root of the product of their sums of squares. It is
  exact (fractions) up to the one square root, taken in ``Decimal`` and rounded half-up to four places.
- It is **undefined** (``rho`` None, with the reason) with fewer than three pairs (two points always lie on a
  line: +1 or -1 says nothing) and when every value of either list is the same (no ranking to compare).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal, localcontext
from fractions import Fraction

from programme.core.texts import gettext as _

Value = int | Decimal | Fraction

#: Below this many pairs no coefficient is computed at all.
MIN_PAIRS = 3
PLACES = Decimal("0.0001")


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
    return Correlation(n, rho)


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
