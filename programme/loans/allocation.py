"""Allocating a repayment to a loan's instalments, penalties, arrears and PAR30 (pure: no Flask, no database).

Definitions (DESIGN section 4, issue 5):

- An instalment is **due** on its due date and **late** from the day after: on ``as_of`` it is
  ``(as_of - due_date).days`` days late while any of its principal or interest is unpaid.
- **Allocation order** is fixed. Among the instalments due on or before the value date, the payment
  pays first every outstanding penalty, then every unpaid interest, then every unpaid principal, each
  oldest instalment first (all penalties before any interest, all interest before any principal).
  What is left is an **early repayment**: it pays the principal of the instalments not yet due,
  oldest first. It never pays interest that is not yet due: interest becomes due on an instalment's
  due date and nothing accrues between due dates. What is still left is a **credit**, never lost.
- When a payment leaves no principal outstanding, the loan is **closed**: the interest of the
  instalments not yet due is cancelled (``Allocation.interest_cancelled``), so nothing more is owed.
  A partial early repayment does not re-amortise the schedule: the future instalments keep their
  dates and scheduled interest and only their principal is reduced, oldest first; a service may
  reschedule instead.
- A **penalty** is simple interest on the overdue principal and interest:
  ``round(overdue x penalty_rate x days_late / 365)``. The caller passes the penalties assessed so
  far per instalment; what is due is the assessed amount less what has been paid of it.
- **Arrears** are aged per instalment by its days late into 1-30, 31-60, 61-90 and over 90 days.
- **PAR30** is the whole outstanding principal of every loan with an instalment more than 30 days
  late, over all outstanding principal (0 when nothing is outstanding).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import date
from decimal import Decimal, localcontext

from programme.core.money import MoneyError, is_exact_amount, round_money, to_decimal
from programme.loans.schedule import PRECISION, Instalment, Rounding

ZERO = Decimal(0)
DAYS_IN_YEAR = 365
#: Arrears buckets: label, first and last day late (``None``: no upper bound).
ARREARS_BUCKETS: tuple[tuple[str, int, int | None], ...] = (
    ("1-30", 1, 30),
    ("31-60", 31, 60),
    ("61-90", 61, 90),
    ("over 90", 91, None),
)
PAR_DAYS = 30


@dataclass(frozen=True)
class InstalmentState:
    """An instalment as scheduled, and what has been paid on it so far.

    ``interest`` is the interest owed on the instalment (the schedule's, or less once cancelled).
    """

    number: int
    due_date: date
    principal: Decimal
    interest: Decimal
    principal_paid: Decimal = ZERO
    interest_paid: Decimal = ZERO
    penalty_paid: Decimal = ZERO

    def __post_init__(self) -> None:
        for name in ("principal", "interest", "principal_paid", "interest_paid", "penalty_paid"):
            try:
                value = to_decimal(getattr(self, name))
            except MoneyError as exc:
                raise ValueError(f"instalment {self.number}: {name}: {exc}") from None
            if value < 0:
                raise ValueError(f"instalment {self.number}: {name} must not be negative, got {value}")
            object.__setattr__(self, name, value)
        if self.principal_paid > self.principal:
            raise ValueError(f"instalment {self.number}: principal paid {self.principal_paid} "
                             f"exceeds its principal {self.principal}")
        if self.interest_paid > self.interest:
            raise ValueError(f"instalment {self.number}: interest paid {self.interest_paid} "
                             f"exceeds its interest {self.interest}")

    @classmethod
    def from_instalment(cls, instalment: Instalment) -> InstalmentState:
        """A schedule line with nothing paid yet."""
        return cls(instalment.number, instalment.due_date, instalment.principal, instalment.interest)

    @property
    def principal_due(self) -> Decimal:
        return self.principal - self.principal_paid

    @property
    def interest_due(self) -> Decimal:
        return self.interest - self.interest_paid

    @property
    def unpaid(self) -> Decimal:
        """Principal and interest not yet paid (whether or not they are due yet)."""
        return self.principal_due + self.interest_due

    def days_late(self, as_of: date) -> int:
        """Days since the due date while anything of it is unpaid; 0 if paid or not late."""
        if self.unpaid <= 0:
            return 0
        return max((as_of - self.due_date).days, 0)


@dataclass(frozen=True)
class InstalmentAllocation:
    """What one payment pays on one instalment."""

    number: int
    penalty: Decimal = ZERO
    interest: Decimal = ZERO
    principal: Decimal = ZERO

    @property
    def total(self) -> Decimal:
        return self.penalty + self.interest + self.principal


@dataclass(frozen=True)
class Allocation:
    """A payment split over instalments, plus the credit; ``allocated + credit == amount`` exactly."""

    amount: Decimal
    value_date: date
    parts: tuple[InstalmentAllocation, ...]
    credit: Decimal
    closes_loan: bool
    interest_cancelled: Mapping[int, Decimal] = field(default_factory=dict)

    @property
    def penalty(self) -> Decimal:
        return sum((part.penalty for part in self.parts), ZERO)

    @property
    def interest(self) -> Decimal:
        return sum((part.interest for part in self.parts), ZERO)

    @property
    def principal(self) -> Decimal:
        return sum((part.principal for part in self.parts), ZERO)

    @property
    def allocated(self) -> Decimal:
        return self.penalty + self.interest + self.principal

    def part(self, number: int) -> InstalmentAllocation:
        """What this payment pays on instalment ``number`` (zeros if nothing)."""
        for part in self.parts:
            if part.number == number:
                return part
        return InstalmentAllocation(number)

    def apply(self, instalments: Iterable[InstalmentState]) -> list[InstalmentState]:
        """The instalments after this payment (and any interest cancelled by closing the loan)."""
        result = []
        for state in instalments:
            part = self.part(state.number)
            interest = state.interest - self.interest_cancelled.get(state.number, ZERO)
            result.append(replace(
                state,
                interest=interest,
                principal_paid=state.principal_paid + part.principal,
                interest_paid=state.interest_paid + part.interest,
                penalty_paid=state.penalty_paid + part.penalty,
            ))
        return result


@dataclass(frozen=True)
class Arrear:
    """An instalment past its due date with something unpaid."""

    number: int
    due_date: date
    days_late: int
    principal: Decimal
    interest: Decimal
    penalty: Decimal

    @property
    def total(self) -> Decimal:
        return self.principal + self.interest + self.penalty


@dataclass(frozen=True)
class Outstanding:
    """A loan's position on a date."""

    as_of: date
    principal: Decimal          # all principal not yet repaid, due or not
    principal_due: Decimal      # unpaid principal of instalments due on or before as_of
    principal_overdue: Decimal  # unpaid principal of instalments past their due date
    interest_due: Decimal       # unpaid interest of instalments due on or before as_of
    penalty_due: Decimal        # assessed penalties not yet paid
    arrears: tuple[Arrear, ...]

    @property
    def days_late(self) -> int:
        """Days late of the oldest instalment in arrears (0 if none)."""
        return max((arrear.days_late for arrear in self.arrears), default=0)

    @property
    def total_due(self) -> Decimal:
        """What would settle everything due today (not the future principal)."""
        return self.principal_due + self.interest_due + self.penalty_due

    @property
    def is_closed(self) -> bool:
        return self.principal == 0 and self.interest_due == 0 and self.penalty_due == 0


def penalty_amount(overdue: Decimal, penalty_rate: Decimal, days_late: int, currency: str,
                   rounding: Rounding = "half_up") -> Decimal:
    """Simple penalty: ``round(overdue x penalty_rate x days_late / 365)`` in the currency's minor unit."""
    overdue, penalty_rate = to_decimal(overdue), to_decimal(penalty_rate)
    if overdue < 0 or penalty_rate < 0 or days_late < 0:
        raise ValueError("overdue amount, penalty rate and days late must not be negative")
    with localcontext() as ctx:
        ctx.prec = PRECISION
        exact = overdue * penalty_rate * days_late / DAYS_IN_YEAR
    return round_money(exact, currency, rounding)


def assess_penalties(instalments: Iterable[InstalmentState], as_of: date, penalty_rate: Decimal,
                     currency: str, rounding: Rounding = "half_up") -> dict[int, Decimal]:
    """Penalty per late instalment on ``as_of``: its unpaid principal and interest over its days late.

    Instalments not late get no entry; a zero rate gives an empty mapping.
    """
    penalties: dict[int, Decimal] = {}
    if to_decimal(penalty_rate) == 0:
        return penalties
    for state in instalments:
        days = state.days_late(as_of)
        if days > 0:
            penalties[state.number] = penalty_amount(state.unpaid, penalty_rate, days, currency, rounding)
    return penalties


def allocate(instalments: Iterable[InstalmentState], amount: Decimal, value_date: date, currency: str,
             penalties: Mapping[int, Decimal] | None = None) -> Allocation:
    """Split ``amount`` paid on ``value_date`` over the instalments (order in the module docstring).

    ``penalties`` maps an instalment number to the penalty assessed on it so far (paid or not).
    """
    try:
        amount = to_decimal(amount)
    except MoneyError as exc:
        raise ValueError(f"payment: {exc}") from None
    if amount <= 0:
        raise ValueError(f"a payment must be greater than 0, got {amount}")
    if not is_exact_amount(amount, currency):
        raise ValueError(f"payment {amount} has more decimal places than {currency} allows")
    states = _ordered(instalments)
    penalty_due = _penalties_due(states, penalties)

    remaining = amount
    paid: dict[int, dict[str, Decimal]] = {}

    def pay(state: InstalmentState, kind: str, due: Decimal) -> None:
        nonlocal remaining
        take = min(remaining, due)
        if take > 0:
            paid.setdefault(state.number, {})[kind] = take
            remaining -= take

    due_now = [state for state in states if state.due_date <= value_date]
    not_yet_due = [state for state in states if state.due_date > value_date]
    for state in states:
        pay(state, "penalty", penalty_due.get(state.number, ZERO))
    for state in due_now:
        pay(state, "interest", state.interest_due)
    for state in due_now:
        pay(state, "principal", state.principal_due)
    for state in not_yet_due:
        pay(state, "principal", state.principal_due)

    parts = tuple(
        InstalmentAllocation(number, **kinds)
        for number, kinds in sorted(paid.items())
    )
    principal_left = sum((s.principal_due - paid.get(s.number, {}).get("principal", ZERO) for s in states), ZERO)
    cancelled: dict[int, Decimal] = {}
    if principal_left == 0:
        cancelled = {s.number: s.interest_due for s in not_yet_due if s.interest_due > 0}
    due_left = sum(
        (s.interest_due - paid.get(s.number, {}).get("interest", ZERO) for s in due_now), ZERO
    ) + sum((due - paid.get(n, {}).get("penalty", ZERO) for n, due in penalty_due.items()), ZERO)
    allocation = Allocation(
        amount=amount,
        value_date=value_date,
        parts=parts,
        credit=remaining,
        closes_loan=principal_left == 0 and due_left == 0,
        interest_cancelled=cancelled,
    )
    if allocation.allocated + allocation.credit != amount:  # pragma: no cover - an invariant
        raise AssertionError("allocation does not add up to the payment")
    return allocation


def outstanding(instalments: Iterable[InstalmentState], as_of: date,
                penalties: Mapping[int, Decimal] | None = None) -> Outstanding:
    """The loan's principal outstanding, what is due, and its arrears per instalment, on ``as_of``."""
    states = _ordered(instalments)
    penalty_due = _penalties_due(states, penalties)
    arrears = tuple(
        Arrear(
            number=state.number,
            due_date=state.due_date,
            days_late=state.days_late(as_of),
            principal=state.principal_due,
            interest=state.interest_due,
            penalty=penalty_due.get(state.number, ZERO),
        )
        for state in states
        if state.days_late(as_of) > 0
    )
    return Outstanding(
        as_of=as_of,
        principal=sum((state.principal_due for state in states), ZERO),
        principal_due=sum((state.principal_due for state in states if state.due_date <= as_of), ZERO),
        principal_overdue=sum((arrear.principal for arrear in arrears), ZERO),
        interest_due=sum((state.interest_due for state in states if state.due_date <= as_of), ZERO),
        penalty_due=sum(penalty_due.values(), ZERO),
        arrears=arrears,
    )


def arrears_bucket(days_late: int) -> str | None:
    """The aging bucket of a number of days late (``None`` when not late)."""
    for label, low, high in ARREARS_BUCKETS:
        if days_late >= low and (high is None or days_late <= high):
            return label
    return None


def arrears_buckets(instalments: Iterable[InstalmentState], as_of: date) -> dict[str, Decimal]:
    """Unpaid principal and interest of late instalments, by aging bucket (every bucket present).

    The instalments may come from several loans: each is aged on its own days late.
    """
    buckets = {label: ZERO for label, _, _ in ARREARS_BUCKETS}
    for state in instalments:
        label = arrears_bucket(state.days_late(as_of))
        if label is not None:
            buckets[label] += state.unpaid
    return buckets


def par30(loans: Iterable[Sequence[InstalmentState]], as_of: date) -> Decimal:
    """Portfolio at risk over 30 days: the share of outstanding principal in loans more than 30 days late.

    Each loan is the sequence of its instalments. The ratio is returned unrounded (0 if nothing is
    outstanding).
    """
    at_risk = total = ZERO
    for loan in loans:
        principal = sum((state.principal_due for state in loan), ZERO)
        total += principal
        if any(state.days_late(as_of) > PAR_DAYS for state in loan):
            at_risk += principal
    if total == 0:
        return ZERO
    with localcontext() as ctx:
        ctx.prec = PRECISION
        return at_risk / total


def _ordered(instalments: Iterable[InstalmentState]) -> list[InstalmentState]:
    states = sorted(instalments, key=lambda state: (state.due_date, state.number))
    numbers = [state.number for state in states]
    if len(set(numbers)) != len(numbers):
        raise ValueError("instalment numbers must be unique")
    return states


def _penalties_due(states: Sequence[InstalmentState], penalties: Mapping[int, Decimal] | None) -> dict[int, Decimal]:
    """Assessed penalty less what was paid of it, per instalment; unknown instalments are refused."""
    by_number = {state.number: state for state in states}
    due: dict[int, Decimal] = {}
    for number, assessed in (penalties or {}).items():
        if number not in by_number:
            raise ValueError(f"penalty for unknown instalment {number}")
        try:
            assessed = to_decimal(assessed)
        except MoneyError as exc:
            raise ValueError(f"penalty on instalment {number}: {exc}") from None
        if assessed < 0:
            raise ValueError(f"penalty on instalment {number} must not be negative, got {assessed}")
        left = assessed - by_number[number].penalty_paid
        if left > 0:
            due[number] = left
    return due
