"""Revolving-fund foresight: a fund's cash and loans projected month by month (pure: no Flask, no database).

The practice of public loan funds (the US EDA's Revolving Loan Fund plan): a capital projection, a
capital-utilisation standard and a risk score. The rules are ``[funding.revolving_fund]``
(``rulebook.foresight``); this module takes plain values and works in whole cents (integers), rounding every
figure of every month to the cent, half up, with exact integer arithmetic (never a float).

**Month 1** is the calendar month of the start day (the rest of it); month 60 is the last of the five years.

**The loans outstanding** come as plain tuples per loan: its unpaid instalments ``(due date, unpaid principal
cents, unpaid interest cents)``, as the ``LoanInstalment`` rows hold them. An instalment falls in the month of its
due date; one already due (arrears) is collected in month 1, unless the loan is ``arrears_default_days`` or more
days late (as the daily arrears job last aged it, the figure PAR30 is computed from): then its whole unpaid
principal defaults in month 1 and its unpaid interest is never collected. An instalment due after month 60
stays outstanding.

**A scenario** (``Scenario``) sets yearly rates, applied as a twelfth each month to the performing principal at
the start of the month, in this order: a twelfth of the default rate defaults (of which ``loss_given_default`` is
lost and the rest recovered in the same month), then a twelfth of the prepayment rate of what is left is repaid
early; what still performs pays its scheduled principal and interest in proportion (the whole pool's scheduled
flows times performing ÷ scheduled principal). So with default and prepayment rates of zero the projection
collects exactly the schedules' own figures, to the cent.

**New loans**: the approved loan requests not yet lent (the pipeline) are lent in month 1, then the scenario's
new lending per year, a twelfth each month (the months of a year add up to the year's amount exactly); a fund
never lends more than its cash after the month's collections and costs. New loans are annuities at the rules'
``new_loan_rate`` over ``new_loan_term_months``, first due the month after they are lent, and default and prepay
at the scenario's rates like the rest (an early repayment shortens nothing: the payment is recomputed over the
months left). Their flows are summed over all the months' loans and rounded once a month; their principal
collected is what makes the month's balance agree (so the pool's balance is zero to the cent when the last one
is repaid).

**Administrative costs** are the scenario's share of the interest collected in the month.

**Capital utilisation** is the EDA's "loaned or committed" share: (loans outstanding + approved loans not yet
lent) ÷ the fund's capital (cash + loans outstanding), against the rules' standard (the EDA's 75 %).

**The cash floor** is the larger of the rules' amount and their share of the capital on the start day; the *floor
month* is the first month whose ending cash is below it.

**The risk score** of a fund is the number of warning signs it shows, 0 to 3: PAR30 above the rules'
``par30_warning``; capital utilisation under the standard (idle money); and a cash runway shorter than the rules'
``warning_months`` (the cash falls below the floor within them under the stress scenario).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from fractions import Fraction

from babel.dates import format_date

from programme.core.i18n import current_language
from programme.core.money import symbols_in_use
from programme.core.texts import gettext as _
from programme.core.texts import lazy_gettext as _l

HORIZON = 60
#: Fixed-point scale of the new loans' factors (an integer times 10^-24 of a unit): far below a cent.
_SCALE = 10**24
CENT = Decimal("0.01")


# ------------------------------------------------------------------------------------------------ inputs


@dataclass(frozen=True)
class Scenario:
    """A scenario's assumptions: shares as fractions (0.05 for 5 %), money per year as a Decimal."""

    annual_default_rate: Decimal = Decimal(0)
    loss_given_default: Decimal = Decimal(1)
    prepayment_rate: Decimal = Decimal(0)
    new_lending_per_year: Decimal = Decimal(0)
    admin_cost_share: Decimal = Decimal(0)

    def __post_init__(self) -> None:
        for name in ("annual_default_rate", "loss_given_default", "prepayment_rate", "admin_cost_share"):
            value = getattr(self, name)
            if not isinstance(value, Decimal | int) or isinstance(value, bool) or not 0 <= value <= 1:
                raise ValueError(f"{name}: a share from 0 to 1, got {value!r}")
        lending = self.new_lending_per_year
        if not isinstance(lending, Decimal | int) or isinstance(lending, bool) or lending < 0 \
                or Decimal(lending) != Decimal(lending).quantize(CENT):
            raise ValueError(f"new_lending_per_year: an amount of 0 or more in whole cents, got {lending!r}")

    @property
    def key(self) -> tuple[Decimal, ...]:
        return (self.annual_default_rate, self.loss_given_default, self.prepayment_rate,
                self.new_lending_per_year, self.admin_cost_share)


@dataclass(frozen=True)
class Policy:
    """What the rules fix for a fund's plan (``rulebook.foresight.RevolvingFundRules``, as plain values)."""

    utilisation_standard: Decimal = Decimal("0.75")
    cash_floor: Decimal | None = None
    cash_floor_share: Decimal | None = None
    new_loan_rate: Decimal = Decimal(0)
    new_loan_term_months: int = 36
    arrears_default_days: int = 90
    par30_warning: Decimal = Decimal("0.10")
    warning_months: int = 12

    def floor_cents(self, capital_cents: int) -> int:
        """The larger of the floor's amount and its share of the capital on the start day."""
        amount = 0 if self.cash_floor is None else int(self.cash_floor * 100)
        share = 0 if self.cash_floor_share is None else _times(max(capital_cents, 0), Fraction(self.cash_floor_share))
        return max(amount, share)


#: One unpaid instalment: (due date, unpaid principal in cents, unpaid interest in cents).
InstalmentTuple = tuple[date, int, int]


@dataclass
class Book:
    """A fund's loans outstanding, gathered by month: what the schedules say is due in each month (what is
    late in month 1), what lies beyond the horizon, and the principal taken as defaulted on the start day."""

    principal: list[int] = field(default_factory=lambda: [0] * HORIZON)
    interest: list[int] = field(default_factory=lambda: [0] * HORIZON)
    principal_later: int = 0
    defaulted: int = 0

    @property
    def performing(self) -> int:
        return sum(self.principal) + self.principal_later

    @property
    def outstanding(self) -> int:
        return self.performing + self.defaulted


def month_index(start: date, due: date) -> int:
    """0 for the start's month (and any earlier), 1 for the next, ..."""
    return max(0, (due.year - start.year) * 12 + due.month - start.month)


def add_loan(book: Book, instalments: Sequence[InstalmentTuple], *, start: date, days_late: int,
             default_days: int) -> None:
    """Add one loan's unpaid instalments to the fund's book: the loan's reference definition (the service sums
    the same in the database, ``books_from_months``). ``days_late`` is the loan's, as the daily job aged it."""
    if not instalments:
        return
    if days_late >= default_days:
        book.defaulted += sum(p for _, p, _ in instalments)
        return
    principal, interest = book.principal, book.interest
    for due, p, i in instalments:
        index = month_index(start, due)
        if index < HORIZON:
            principal[index] += p
            interest[index] += i
        else:
            book.principal_later += p


def month_number(day: date) -> int:
    """Months since the year 0: ``year × 12 + month − 1`` (what the service's SQL computes for a due date)."""
    return day.year * 12 + day.month - 1


def books_from_months(months: Iterable[tuple[int, int, bool, int, int]], *, start: date) -> dict[int, Book]:
    """Every fund's book from what a database sums for it, exactly as ``add_loan`` gathers its loans: rows
    ``(fund id, month number of the due dates, taken as defaulted, unpaid principal cents, unpaid interest
    cents)``, the loans taken as defaulted summed apart (their principal defaults in month 1)."""
    books: dict[int, Book] = {}
    first = month_number(start)
    for fund_id, number, defaulted, p, i in months:
        book = books.get(fund_id)
        if book is None:
            book = books[fund_id] = Book()
        if defaulted:
            book.defaulted += p
            continue
        index = max(0, number - first)
        if index < HORIZON:
            book.principal[index] += p
            book.interest[index] += i
        else:
            book.principal_later += p
    return books


def books_from_rows(rows: Iterable[tuple[int, int, int, date, int, int]], *, start: date,
                    default_days: int) -> dict[int, Book]:
    """Every fund's book from rows ``(fund id, loan id, the loan's days late, due date, unpaid principal cents,
    unpaid interest cents)`` ordered by loan and due date, one loan after the other (``add_loan``)."""
    books: dict[int, Book] = {}
    current_loan, current_fund, current_late, instalments = None, None, 0, []
    for fund_id, loan_id, days_late, due, p, i in rows:
        if loan_id != current_loan:
            if instalments:
                add_loan(books.setdefault(current_fund, Book()), instalments, start=start, days_late=current_late,
                         default_days=default_days)
            current_loan, current_fund, current_late, instalments = loan_id, fund_id, days_late, []
        instalments.append((due, p, i))
    if instalments:
        add_loan(books.setdefault(current_fund, Book()), instalments, start=start, days_late=current_late,
                 default_days=default_days)
    return books


# ------------------------------------------------------------------------------------------------ outputs


#: The columns of a month, in cents; their order in ``Projection.columns``.
COLUMNS = ("beginning_cash", "principal", "prepaid", "interest", "defaulted", "recovered", "losses",
           "admin_costs", "new_loans", "not_lent", "ending_cash", "outstanding")
#: Their titles, in the language of the request (lazy: give ``str(...)`` of one outside a template).
COLUMN_TITLES = {
    "beginning_cash": _l("Beginning cash"), "principal": _l("Principal collected"), "prepaid": _l("Prepaid"),
    "interest": _l("Interest collected"), "defaulted": _l("Defaulted"), "recovered": _l("Recovered"),
    "losses": _l("Losses"), "admin_costs": _l("Administrative costs"), "new_loans": _l("New loans"),
    "not_lent": _l("Not lent (no cash)"), "ending_cash": _l("Ending cash"), "outstanding": _l("Loans outstanding"),
}


@dataclass(frozen=True)
class Month:
    """One month of a projection, as Decimals (money, two places)."""

    number: int
    first_day: date
    values: dict[str, Decimal]
    utilisation: Decimal | None

    @property
    def label(self) -> str:
        """The month and year ("Dec 2026"), with the month's name in the language being answered in."""
        return format_date(self.first_day, "MMM y", locale=current_language())

    def __getattr__(self, name: str) -> Decimal:
        try:
            return self.__dict__["values"][name]
        except KeyError:
            raise AttributeError(name) from None


@dataclass
class Projection:
    """A projection in whole cents: ``columns[name][m]`` for month ``m + 1``; plain values, summable."""

    start: date
    cash: int
    outstanding: int
    pipeline: int
    floor: int
    columns: dict[str, list[int]]

    @property
    def months(self) -> list[Month]:
        shown = []
        for m in range(HORIZON):
            values = {name: _money(self.columns[name][m]) for name in COLUMNS}
            shown.append(Month(m + 1, first_of_month(self.start, m), values,
                               _share(self.columns["outstanding"][m],
                                      self.columns["outstanding"][m] + self.columns["ending_cash"][m])))
        return shown

    @property
    def floor_month(self) -> int | None:
        """The first month whose ending cash is below the floor, or None if none in the horizon."""
        return next((m + 1 for m, cash in enumerate(self.columns["ending_cash"]) if cash < self.floor), None)

    @property
    def capital(self) -> int:
        return self.cash + self.outstanding

    @property
    def utilisation(self) -> Decimal | None:
        """Loaned or committed ÷ capital on the start day."""
        return _share(self.outstanding + self.pipeline, self.capital)

    def total(self, name: str) -> Decimal:
        return _money(sum(self.columns[name]))

    def money(self, name: str) -> Decimal:
        """A start-day figure as money: cash, outstanding, pipeline, floor, capital."""
        return _money(getattr(self, name))

    def __add__(self, other: Projection) -> Projection:
        """Two funds' projections side by side: the programme's (each fund lends only its own cash)."""
        return Projection(self.start, self.cash + other.cash, self.outstanding + other.outstanding,
                          self.pipeline + other.pipeline, self.floor + other.floor,
                          {name: [a + b for a, b in zip(self.columns[name], other.columns[name], strict=True)]
                           for name in COLUMNS})


def empty_projection(start: date) -> Projection:
    return Projection(start, 0, 0, 0, 0, {name: [0] * HORIZON for name in COLUMNS})


def first_of_month(start: date, months: int) -> date:
    index = start.year * 12 + start.month - 1 + months
    return date(index // 12, index % 12 + 1, 1)


# ------------------------------------------------------------------------------------------------ arithmetic


def _times(amount: int, share: Fraction) -> int:
    """``amount × share`` rounded half up to a whole cent (amount of zero or more; exact integers)."""
    numerator, denominator = share.numerator, share.denominator
    return (2 * amount * numerator + denominator) // (2 * denominator)


def _ratio(amount: int, numerator: int, denominator: int) -> int:
    """``amount × numerator ÷ denominator`` rounded half up (all of zero or more)."""
    return (2 * amount * numerator + denominator) // (2 * denominator)


def _money(cents: int) -> Decimal:
    return Decimal(cents).scaleb(-2)


def _share(part: int, whole: int) -> Decimal | None:
    if whole <= 0:
        return None
    return (Decimal(part) / Decimal(whole)).quantize(Decimal("0.0001"))


def monthly_plan(per_year: Decimal) -> list[int]:
    """New lending per month in cents: a twelfth each month, the months of each year adding up to the year."""
    year = int(per_year * 100)
    cumulative = [_ratio(year, k, 12) for k in range(13)]
    per_month = [cumulative[k + 1] - cumulative[k] for k in range(12)]
    return [per_month[m % 12] for m in range(HORIZON)]


@dataclass(frozen=True)
class _NewLoanFactors:
    """Per age (months since a new loan was lent, 1 to the horizon), what a unit lent yields, fixed point: its
    defaults, prepayments, interest, and balance at the end of the month, under the scenario's rates."""

    defaulted: list[int]
    prepaid: list[int]
    interest: list[int]
    balance: list[int]


def _new_loan_factors(rate: Decimal, term: int, default_monthly: Fraction, prepay_monthly: Fraction
                      ) -> _NewLoanFactors:
    j = Fraction(rate) / 12
    payment = Fraction(1, term) if j == 0 else j / (1 - (1 + j) ** -term)
    survive = (1 - default_monthly) * (1 - prepay_monthly)
    defaulted, prepaid, interest, balance = [0], [0], [0], [_SCALE]
    unit, alive = Fraction(1), Fraction(1)  # scheduled balance of a unit loan, and the share still performing
    for age in range(1, HORIZON):
        if age > term or unit == 0:
            defaulted.append(0), prepaid.append(0), interest.append(0), balance.append(0)
            continue
        start = alive * unit
        scheduled_interest = unit * j
        principal = unit if age == term else payment - scheduled_interest
        alive *= survive
        unit -= principal
        defaulted.append(round(start * default_monthly * _SCALE))
        prepaid.append(round(start * (1 - default_monthly) * prepay_monthly * _SCALE))
        interest.append(round(alive * scheduled_interest * _SCALE))
        balance.append(round(alive * unit * _SCALE))
    return _NewLoanFactors(defaulted, prepaid, interest, balance)


def _fixed(value: int) -> int:
    """A fixed-point sum (cents × 10^24) rounded half up to whole cents."""
    return (2 * value + _SCALE) // (2 * _SCALE)


# ------------------------------------------------------------------------------------------------ projecting


class Projector:
    """Projects funds under one scenario and policy (the new loans' factors are worked out once)."""

    def __init__(self, scenario: Scenario, policy: Policy) -> None:
        self.scenario, self.policy = scenario, policy
        self.default_monthly = Fraction(scenario.annual_default_rate) / 12
        self.prepay_monthly = Fraction(scenario.prepayment_rate) / 12
        self.lgd = Fraction(scenario.loss_given_default)
        self.admin = Fraction(scenario.admin_cost_share)
        self.plan = monthly_plan(scenario.new_lending_per_year)
        self._factors: _NewLoanFactors | None = None

    @property
    def factors(self) -> _NewLoanFactors:
        if self._factors is None:
            self._factors = _new_loan_factors(self.policy.new_loan_rate, self.policy.new_loan_term_months,
                                              self.default_monthly, self.prepay_monthly)
        return self._factors

    def project(self, book: Book, *, cash: int, pipeline: int, start: date) -> Projection:
        """The fund's 60 months from its book, its cash and its approved loans not yet lent (all in cents)."""
        d, q, lgd, admin = self.default_monthly, self.prepay_monthly, self.lgd, self.admin
        sched_p, sched_i = book.principal, book.interest
        performing = scheduled = book.performing  # the existing loans' performing and scheduled principal
        columns = {name: [0] * HORIZON for name in COLUMNS}
        (begin_c, principal_c, prepaid_c, interest_c, defaulted_c, recovered_c, losses_c, admin_c, new_c,
         not_lent_c, end_c, outstanding_c) = (columns[name] for name in COLUMNS)
        lent: list[int] = []  # each month's new loans (a vintage)
        new_balance = 0
        any_new = False
        factors = None
        cash_now = cash
        for m in range(HORIZON):
            # The existing loans.
            defaulted = _times(performing, d) if d else 0
            prepaid = _times(performing - defaulted, q) if q else 0
            alive = performing - defaulted - prepaid
            p_due, i_due = sched_p[m], sched_i[m]
            if scheduled <= 0:
                principal, interest = 0, i_due
            elif alive == scheduled:
                principal, interest = p_due, i_due
            else:
                principal = alive if p_due >= scheduled else _ratio(p_due, alive, scheduled)
                interest = _ratio(i_due, alive, scheduled)
            performing = alive - principal
            scheduled -= p_due
            if m == 0:
                defaulted += book.defaulted
            # The new loans lent in earlier months.
            if any_new:
                if factors is None:
                    factors = self.factors
                new_defaulted = new_prepaid = new_interest = new_end = 0
                fd, fq, fi, fb = factors.defaulted, factors.prepaid, factors.interest, factors.balance
                for v, amount in enumerate(lent):
                    if amount:
                        age = m - v
                        new_defaulted += amount * fd[age]
                        new_prepaid += amount * fq[age]
                        new_interest += amount * fi[age]
                        new_end += amount * fb[age]
                nd, nq, ni, ne = _fixed(new_defaulted), _fixed(new_prepaid), _fixed(new_interest), _fixed(new_end)
                np_ = new_balance - nd - nq - ne
                if np_ < 0:
                    np_, ne = 0, new_balance - nd - nq
                new_balance = ne
                defaulted += nd
                prepaid += nq
                interest += ni
                principal += np_
            lost = _times(defaulted, lgd)
            recovered = defaulted - lost
            costs = _times(interest, admin) if admin else 0
            begin_c[m] = cash_now
            available = cash_now + principal + prepaid + interest + recovered - costs
            wanted = self.plan[m] + (pipeline if m == 0 else 0)
            lend = min(wanted, max(available, 0))
            cash_now = available - lend
            lent.append(lend)
            if lend:
                any_new = True
                new_balance += lend
            principal_c[m], prepaid_c[m], interest_c[m] = principal, prepaid, interest
            defaulted_c[m], recovered_c[m], losses_c[m], admin_c[m] = defaulted, recovered, lost, costs
            new_c[m], not_lent_c[m], end_c[m] = lend, wanted - lend, cash_now
            outstanding_c[m] = performing + new_balance
        floor = self.policy.floor_cents(cash + book.outstanding)
        return Projection(start, cash, book.outstanding, pipeline, floor, columns)


# ------------------------------------------------------------------------------------------------ risk


@dataclass(frozen=True)
class RiskScore:
    """A fund's warning signs (the score is how many): see the module docstring. ``warnings`` holds each sign as
    data (kept between requests, in no language); ``signs`` says them in the language being answered in."""

    warnings: tuple[tuple[str, Decimal | int, Decimal | int | None], ...]
    par30: Decimal
    utilisation: Decimal | None
    runway_months: int | None  # months the cash stays at or above the floor under stress; None: all 60

    @property
    def score(self) -> int:
        return len(self.warnings)

    @property
    def signs(self) -> tuple[str, ...]:
        return tuple(_said(kind, value, limit) for kind, value, limit in self.warnings)


def _percent(share: Decimal) -> str:
    return f"{(share * 100).quantize(Decimal('0.1'))} %".replace(".", symbols_in_use()[0])


def _said(kind: str, value: Decimal | int, limit: Decimal | int | None) -> str:
    """One warning sign, in the language being answered in."""
    if kind == "par30":
        return _("PAR30 %(par30)s is above %(limit)s", par30=_percent(Decimal(value)), limit=_percent(Decimal(limit)))
    if kind == "utilisation":
        return _("capital utilisation %(utilisation)s is under the standard %(standard)s",
                 utilisation=_percent(Decimal(value)), standard=_percent(Decimal(limit)))
    return _("under stress the cash falls below the floor in month %(month)s", month=value)


def risk_score(*, par30: Decimal, base: Projection, stress: Projection, policy: Policy) -> RiskScore:
    """The fund's warning signs: PAR30 over the rules' limit, utilisation under the standard (on the start day),
    and the cash under the floor within ``warning_months`` under the stress scenario."""
    signs: list[tuple[str, Decimal | int, Decimal | int | None]] = []
    if par30 > policy.par30_warning:
        signs.append(("par30", par30, policy.par30_warning))
    utilisation = base.utilisation
    if utilisation is not None and utilisation < policy.utilisation_standard:
        signs.append(("utilisation", utilisation, policy.utilisation_standard))
    breach = stress.floor_month
    runway = None if breach is None else breach - 1
    if breach is not None and breach <= policy.warning_months:
        signs.append(("floor", breach, None))
    return RiskScore(tuple(signs), par30, utilisation, runway)
