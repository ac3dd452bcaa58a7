"""Mutual guarantees on a revolving-fund loan, the pure arithmetic (seed 004, para. 42): what a guarantee covers
now, a loan's coverage, a guarantor's exposure, whether a loan is in default, and what each guarantor owes when
the guarantees are called. No Flask, no database: plain values in, plain values out.

**What a guarantee covers** (its cap): a share guarantee covers that share of the loan's principal outstanding
(rounded half up to the cent); an amount guarantee covers its amount, never more than the principal outstanding.

**Obligations when called.** What is owed is the loan's principal outstanding (the receivable; interest and
penalties are income when paid, never a receivable, so a guarantee does not cover them). Each guarantor's exact
claim is its share times what is owed, or its amount (at most what is owed). When the claims together exceed what
is owed (over-coverage, if the rules allow it) they are scaled down pro rata so that together they are exactly
what is owed. The total is then rounded half up to the cent and shared out by the largest remainder method (each
guarantor gets its claim rounded down, the cents left go one by one to the largest fractions, ties to the earlier
guarantee), so the obligations add up to the total to the cent, no guarantor owes more than its claim rounded up
to the cent, and no cent is lost: obligations + the part not covered = what was owed.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import ROUND_FLOOR, ROUND_HALF_UP, Decimal
from fractions import Fraction

from programme.core.money import quantum

ZERO = Decimal("0.00")


@dataclass(frozen=True)
class Pledge:
    """One guarantee as the arithmetic sees it: a share of what is owed (0 < share <= 1) or an amount."""

    key: int
    share: Decimal | None = None
    amount: Decimal | None = None

    def __post_init__(self) -> None:
        if (self.share is None) == (self.amount is None):
            raise ValueError("a guarantee is for a share or for an amount, not both or neither")
        if self.share is not None and not (0 < self.share <= 1):
            raise ValueError("a guarantee's share is more than 0 and at most 1")
        if self.amount is not None and self.amount <= 0:
            raise ValueError("a guarantee's amount is more than 0")


def cap_now(pledge: Pledge, outstanding: Decimal, currency: str) -> Decimal:
    """What the guarantee covers of ``outstanding`` now (see the module docstring)."""
    if pledge.share is not None:
        return (pledge.share * outstanding).quantize(quantum(currency), rounding=ROUND_HALF_UP)
    assert pledge.amount is not None
    return min(pledge.amount, outstanding)


def exposure_of(pledge: Pledge, outstanding: Decimal, currency: str) -> Decimal:
    """What a guarantor stands to pay on one active guarantee: its share of the outstanding principal, or its
    whole stated amount (an amount guarantee is exposure as stated, even above what is outstanding)."""
    if pledge.share is not None:
        return cap_now(pledge, outstanding, currency)
    assert pledge.amount is not None
    return pledge.amount


@dataclass(frozen=True)
class Coverage:
    outstanding: Decimal
    covered: Decimal  # the sum of the caps, which may exceed what is outstanding when the rules allow it

    @property
    def share(self) -> Decimal | None:
        """Covered over outstanding (None when nothing is outstanding)."""
        if self.outstanding <= 0:
            return None
        return (self.covered / self.outstanding).quantize(Decimal("0.0001"), rounding=ROUND_HALF_UP)

    @property
    def uncovered(self) -> Decimal:
        return max(self.outstanding - self.covered, ZERO)


def coverage(pledges: list[Pledge], outstanding: Decimal, currency: str) -> Coverage:
    return Coverage(outstanding, sum((cap_now(p, outstanding, currency) for p in pledges), ZERO))


def days_late(unpaid_due_dates: list[date], today: date) -> int:
    """Days since the due date of the oldest instalment still unpaid (0 when none is late)."""
    late = [d for d in unpaid_due_dates if d < today]
    return (today - min(late)).days if late else 0


def in_default(unpaid_due_dates: list[date], today: date, default_after_days: int) -> bool:
    return days_late(unpaid_due_dates, today) >= default_after_days


def obligations(pledges: list[Pledge], owed: Decimal, currency: str) -> dict[int, Decimal]:
    """What each guarantor owes when the guarantees on ``owed`` are called, by pledge key (module docstring).
    Pledges whose obligation comes to nothing are left out."""
    if owed < 0:
        raise ValueError("what is owed cannot be negative")
    step = quantum(currency)
    unit = Fraction(step)
    owed_exact = Fraction(owed)
    claims = {p.key: (Fraction(p.share) * owed_exact if p.share is not None else min(Fraction(p.amount), owed_exact))
              for p in pledges}  # type: ignore[arg-type]
    total = sum(claims.values(), Fraction(0))
    if total > owed_exact:
        claims = {key: claim * owed_exact / total for key, claim in claims.items()}
        total = owed_exact
    # the total in minor units, rounded half up, exactly (Fractions: no digit lost on the way)
    exact_units = total / unit
    floor_units = exact_units.numerator // exact_units.denominator
    frac = exact_units - floor_units
    target_units = floor_units + (1 if frac >= Fraction(1, 2) else 0)
    floors: dict[int, int] = {}
    remainders: list[tuple[Fraction, int, int]] = []
    for index, (key, claim) in enumerate(claims.items()):
        units = claim / unit
        whole = units.numerator // units.denominator
        floors[key] = whole
        remainders.append((units - whole, -index, key))
    left = target_units - sum(floors.values())
    for _, _, key in sorted(remainders, reverse=True)[:max(left, 0)]:
        floors[key] += 1
    result = {key: (Decimal(units) * step).quantize(step, rounding=ROUND_FLOOR) for key, units in floors.items()}
    return {key: value for key, value in result.items() if value > 0}
