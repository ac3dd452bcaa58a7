"""A loan's repayment schedule, computed in Decimal (pure: no Flask, no database, no float).

Definitions (DESIGN section 4, issue 5):

- **Periodic rate**: the annual rate is *nominal*; the periodic rate is ``annual_rate / 12`` for a
  monthly loan and ``annual_rate / 4`` for a quarterly one (no compounding within the year).
- **Term**: ``term_periods`` is the number of *repayment* periods, the ones that repay principal,
  *after* the grace. The schedule has ``grace_periods + term_periods`` instalments in all.
- **Grace**: ``"interest_only"`` means each of the first ``grace_periods`` instalments pays only the
  interest on the whole principal (at a zero rate it is an instalment of zero); ``"none"`` means no
  grace at all, so ``grace_periods`` must then be 0. Interest is never capitalised.
- **Interest** of each instalment is ``round(outstanding balance x periodic rate)``, computed as
  ``balance x annual_rate / periods per year`` so that exact ties round as ties.
- **Annuity**: the level payment ``P r / (1 - (1 + r)^-n)`` (``P / n`` at a zero rate) is computed in a
  high-precision decimal context and then rounded; each instalment's principal part is
  ``payment - interest``.
- **Equal principal**: each principal part is ``round(P / n)``, plus that period's interest.
- **Residue**: the last instalment repays the whole remaining balance, so the principal parts add up
  to the principal exactly and the last ``balance_after`` is exactly 0. (Should rounding up make the
  parts reach the principal early, which needs a principal of only a few minor units per period,
  a principal part never exceeds the balance, and the later parts are 0.)
- **Rounding**: every amount is rounded to the currency's minor unit with the loan's rounding mode
  (``half_up`` or ``half_even``, from the rules).
- **Due dates**: instalment ``k`` (counting from 0) is due ``first_due + k * step`` months, always
  counted from the first due date (never from the previous one), so a loan first due on 31 January
  is due on 28 or 29 February and then on 31 March.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal, localcontext
from typing import Literal, get_args

from dateutil.relativedelta import relativedelta

from programme.core.money import MoneyError, is_exact_amount, round_money, to_decimal

Grace = Literal["interest_only", "none"]
Frequency = Literal["monthly", "quarterly"]
Method = Literal["annuity", "equal_principal"]
Rounding = Literal["half_up", "half_even"]

#: Months between two instalments, and periods in a year, per frequency.
MONTHS_PER_PERIOD: dict[str, int] = {"monthly": 1, "quarterly": 3}
PERIODS_PER_YEAR: dict[str, int] = {"monthly": 12, "quarterly": 4}

#: Digits carried by the intermediate (unrounded) computations.
PRECISION = 50


@dataclass(frozen=True)
class LoanTerms:
    """What defines a schedule; checked on construction (a ``ValueError`` says what is wrong).

    ``principal`` and ``annual_rate`` may be given as Decimal, int or str (never float) and are
    stored as Decimal.
    """

    principal: Decimal
    annual_rate: Decimal
    term_periods: int
    first_due: date
    currency: str
    grace_periods: int = 0
    grace: Grace = "none"
    frequency: Frequency = "monthly"
    method: Method = "annuity"
    rounding: Rounding = "half_up"

    def __post_init__(self) -> None:
        if not isinstance(self.currency, str) or len(self.currency.strip()) != 3 or not self.currency.isalpha():
            raise ValueError(f"currency must be a three-letter ISO code, got {self.currency!r}")
        object.__setattr__(self, "currency", self.currency.strip().upper())
        try:
            principal = to_decimal(self.principal)
        except MoneyError as exc:
            raise ValueError(f"principal: {exc}") from None
        if principal <= 0:
            raise ValueError(f"principal must be greater than 0, got {principal}")
        if not is_exact_amount(principal, self.currency):
            raise ValueError(f"principal {principal} has more decimal places than {self.currency} allows")
        object.__setattr__(self, "principal", round_money(principal, self.currency))
        try:
            rate = to_decimal(self.annual_rate)
        except MoneyError as exc:
            raise ValueError(f"annual rate: {exc}") from None
        if rate < 0:
            raise ValueError(f"annual rate must be 0 or more, got {rate}")
        object.__setattr__(self, "annual_rate", rate)
        if not _is_int(self.term_periods) or self.term_periods < 1:
            raise ValueError(f"term must be a whole number of periods, 1 or more, got {self.term_periods!r}")
        if not _is_int(self.grace_periods) or self.grace_periods < 0:
            raise ValueError(f"grace must be a whole number of periods, 0 or more, got {self.grace_periods!r}")
        _check_choice("grace", self.grace, Grace)
        _check_choice("frequency", self.frequency, Frequency)
        _check_choice("method", self.method, Method)
        _check_choice("rounding", self.rounding, Rounding)
        if self.grace == "none" and self.grace_periods:
            raise ValueError(f"grace 'none' allows no grace periods, got {self.grace_periods}")
        if not isinstance(self.first_due, date) or isinstance(self.first_due, datetime):
            raise ValueError(f"first due date must be a date, got {self.first_due!r}")

    @property
    def periodic_rate(self) -> Decimal:
        """The nominal annual rate divided by the periods in a year (unrounded, high precision)."""
        with localcontext() as ctx:
            ctx.prec = PRECISION
            return self.annual_rate / PERIODS_PER_YEAR[self.frequency]

    @property
    def instalment_count(self) -> int:
        return self.grace_periods + self.term_periods


@dataclass(frozen=True)
class Instalment:
    """One line of a schedule; every amount is a Decimal rounded to the currency's minor unit."""

    number: int
    due_date: date
    principal: Decimal
    interest: Decimal
    total: Decimal
    balance_after: Decimal


def due_date(first_due: date, index: int, frequency: Frequency) -> date:
    """Due date of the instalment at ``index`` (0 for the first), counted from the first due date."""
    return first_due + relativedelta(months=index * MONTHS_PER_PERIOD[frequency])


def annuity_payment(principal: Decimal, periodic_rate: Decimal, periods: int, currency: str,
                    rounding: Rounding = "half_up") -> Decimal:
    """The level payment repaying ``principal`` over ``periods`` periods, rounded to the minor unit."""
    if periods < 1:
        raise ValueError(f"an annuity needs at least one period, got {periods}")
    with localcontext() as ctx:
        ctx.prec = PRECISION
        if periodic_rate == 0:
            exact = principal / periods
        else:
            exact = principal * periodic_rate / (1 - (1 + periodic_rate) ** -periods)
    return round_money(exact, currency, rounding)


def build_schedule(terms: LoanTerms) -> list[Instalment]:
    """The loan's instalments in order, numbered from 1 (see the module docstring for the rules)."""
    currency, mode = terms.currency, terms.rounding
    rate = terms.periodic_rate
    zero = round_money(Decimal(0), currency, mode)
    n = terms.term_periods

    def interest_on(balance: Decimal) -> Decimal:
        # Multiply before dividing: balance x annual rate is exact, so a true tie (4077.60 x 2.5 % / 12
        # = 8.495) is rounded as a tie, not as the 8.49499... a truncated periodic rate would give.
        with localcontext() as ctx:
            ctx.prec = PRECISION
            exact = balance * terms.annual_rate / PERIODS_PER_YEAR[terms.frequency]
        return round_money(exact, currency, mode)

    if terms.method == "annuity":
        payment = annuity_payment(terms.principal, rate, n, currency, mode)
    else:
        with localcontext() as ctx:
            ctx.prec = PRECISION
            exact_part = terms.principal / n
        principal_part = round_money(exact_part, currency, mode)

    schedule: list[Instalment] = []
    balance = terms.principal
    for index in range(terms.instalment_count):
        interest = interest_on(balance)
        if index < terms.grace_periods:
            principal = zero
        elif index == terms.instalment_count - 1:
            principal = balance
        elif terms.method == "annuity":
            principal = min(max(payment - interest, zero), balance)
        else:
            principal = min(principal_part, balance)
        balance = balance - principal
        schedule.append(Instalment(
            number=index + 1,
            due_date=due_date(terms.first_due, index, terms.frequency),
            principal=principal,
            interest=interest,
            total=principal + interest,
            balance_after=round_money(balance, currency, mode),
        ))
    return schedule


def _is_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _check_choice(name: str, value: object, choices: object) -> None:
    allowed = get_args(choices)
    if value not in allowed:
        raise ValueError(f"{name} must be one of {', '.join(allowed)}, got {value!r}")

