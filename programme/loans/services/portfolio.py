"""What the loan pages read: the loan book (filtered, sorted, one page at a time, with its totals), the funds
with their figures, one fund's position, and the series of a fund's cash balance for its chart.

Read-only: nothing here writes. Access is checked here as in the services (reviewers see no list, 403;
applicants see only their own groups' funds and loans); the figures come from the ledger (cash, income) or
from the cached columns on the loans (principal outstanding, days late, arrears bucket), which
``programme ledger check`` proves equal to the ledger.

Sums of money are taken in SQL as whole minor units (cents, as integers), as the ledger does, so that SQLite
never adds amounts as floating-point numbers.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal, localcontext
from typing import Any

from sqlalchemy import Select, and_, case, func, literal, or_, select

from programme.accounts.models import GroupUser, Organisation
from programme.core.access import Actor, Role, require_role
from programme.core.charts import Scale, coordinate, nice_step, tick_values
from programme.core.db import cents, from_cents, sum_cents
from programme.extensions import db
from programme.funding.models import Initiative
from programme.ledger.balances import balances
from programme.ledger.models import Account, AccountKind, JournalEntry, JournalLine
from programme.loans.allocation import ARREARS_BUCKETS, PAR_DAYS
from programme.loans.models import (
    Capitalisation,
    Loan,
    LoanInstalment,
    LoanStatus,
    PortfolioFigures,
    Repayment,
    RevolvingFund,
)

ZERO = Decimal("0.00")
CENT = Decimal("0.01")
#: The arrears buckets' labels, in order ("1-30", "31-60", "61-90", "over 90").
BUCKETS: tuple[str, ...] = tuple(label for label, _, _ in ARREARS_BUCKETS)
#: What the loan book can be filtered by, besides a bucket: loans not late, and loans late at all.
CURRENT = "current"
LATE = "late"
BUCKET_FILTERS: tuple[str, ...] = (CURRENT, LATE, *BUCKETS)
#: The loan book's sort orders; the first is the default.
SORTS: tuple[str, ...] = ("number", "outstanding", "days_late")
PER_PAGE = 50


# ------------------------------------------------------------------------------------------------ helpers





def _share(part: Decimal, whole: Decimal) -> Decimal:
    """part / whole as a share between 0 and 1, six places (0 when the whole is 0)."""
    if whole == 0:
        return Decimal("0.000000")
    with localcontext() as ctx:
        ctx.prec = 30
        return (part / whole).quantize(Decimal("0.000001"))


def sees_all(actor: Actor) -> bool:
    """Managers and fund administrators see every fund and loan; applicants only their own groups'."""
    return actor.has_role(Role.PROGRAMME_MANAGER) or actor.has_role(Role.FUND_ADMINISTRATOR)


def may_list(actor: Actor) -> None:
    """The lists (funds, loan book) are for managers, fund administrators and applicants: 403 for others."""
    require_role(actor, Role.PROGRAMME_MANAGER, Role.FUND_ADMINISTRATOR, Role.APPLICANT)


def _visible(query: Select, actor: Actor) -> Select:
    """Restrict a query that joins Initiative to what the actor may see."""
    if sees_all(actor):
        return query
    own_groups = select(GroupUser.group_id).where(GroupUser.user_id == actor.id)
    return query.where(Initiative.group_id.in_(own_groups))


# ------------------------------------------------------------------------------------------------ loan book


@dataclass(frozen=True)
class LoanBookFilter:
    fund_id: int | None = None
    status: str | None = None
    bucket: str | None = None
    search: str | None = None
    sort: str = "number"
    descending: bool = False

    @property
    def narrowed(self) -> bool:
        return bool(self.fund_id or self.status or self.bucket or self.search)


@dataclass(frozen=True)
class LoanBookRow:
    id: int
    number: str
    status: LoanStatus
    rescheduled: bool
    currency: str
    principal: Decimal
    outstanding: Decimal
    credit: Decimal
    days_late: int
    bucket: str | None
    first_due: date
    disbursed_on: date
    borrower: str
    fund_id: int
    initiative_reference: str
    initiative_name: str


@dataclass(frozen=True)
class BookTotals:
    """The totals of the loans a filter selects, in one currency."""

    currency: str
    loans: int
    outstanding: Decimal
    in_arrears: Decimal   # outstanding principal of the loans with something late
    at_risk_30: Decimal   # outstanding principal of the loans more than 30 days late

    @property
    def par30(self) -> Decimal:
        return _share(self.at_risk_30, self.outstanding)


@dataclass(frozen=True)
class LoanBook:
    rows: list[LoanBookRow]
    count: int
    totals: list[BookTotals]
    page: int
    pages: int


def _book_filtered(query: Select, filters: LoanBookFilter, actor: Actor) -> Select:
    """The loans the filter selects (and the actor may see), on a query over ``loans``: the fund, initiative and
    borrower are joined only where the filter or the actor's visibility needs them."""
    if not sees_all(actor):
        own_groups = select(GroupUser.group_id).where(GroupUser.user_id == actor.id)
        query = query.where(Loan.fund_id.in_(
            select(RevolvingFund.id).join(Initiative, Initiative.id == RevolvingFund.initiative_id)
            .where(Initiative.group_id.in_(own_groups))))
    if filters.fund_id:
        query = query.where(Loan.fund_id == filters.fund_id)
    if filters.status:
        query = query.where(Loan.status == LoanStatus(filters.status))
    if filters.bucket == CURRENT:
        query = query.where(Loan.days_late == 0)
    elif filters.bucket == LATE:
        query = query.where(Loan.days_late > 0)
    elif filters.bucket:
        query = query.where(Loan.arrears_bucket == filters.bucket)
    if filters.search:
        pattern = f"%{_escaped(filters.search.strip())}%"
        query = query.where(or_(Loan.number.ilike(pattern, escape="\\"), Loan.borrower_id.in_(
            select(Organisation.id).where(Organisation.name.ilike(pattern, escape="\\")))))
    return query


def _escaped(typed: str) -> str:
    return typed.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


_ROW_COLUMNS = (Loan.id, Loan.number, Loan.status, Loan.rescheduled, Loan.currency, Loan.principal,
                Loan.principal_outstanding, Loan.credit, Loan.days_late, Loan.arrears_bucket, Loan.first_due,
                Loan.disbursed_on, Organisation.name, Loan.fund_id, Initiative.reference, Initiative.name)


def _with_names(query: Select) -> Select:
    """Join what a row of the book shows beside the loan: its borrower's name and its fund's initiative."""
    return (query.join(Organisation, Organisation.id == Loan.borrower_id)
            .join(RevolvingFund, RevolvingFund.id == Loan.fund_id)
            .join(Initiative, Initiative.id == RevolvingFund.initiative_id))


def loan_book(filters: LoanBookFilter, *, actor: Actor, page: int = 1, per_page: int = PER_PAGE) -> LoanBook:
    """One page of the loans the actor may see, as the filter selects and sorts them, and their totals:
    one query for the count and totals (over ``loans`` alone), one for the page's rows (the page's loans
    chosen on ``loans``, then their borrower and initiative joined: plain columns, no lazy loads)."""
    may_list(actor)
    key = {"number": Loan.number, "outstanding": Loan.principal_outstanding, "days_late": Loan.days_late}[
        filters.sort if filters.sort in SORTS else "number"]
    order = (key.desc(), Loan.id.desc()) if filters.descending else (key.asc(), Loan.id.asc())
    totals_query = _book_filtered(select(
        Loan.currency, func.count(Loan.id), sum_cents(Loan.principal_outstanding),
        sum_cents(case((Loan.days_late > 0, Loan.principal_outstanding), else_=literal(0))),
        sum_cents(case((Loan.days_late > PAR_DAYS, Loan.principal_outstanding), else_=literal(0))),
    ), filters, actor).group_by(Loan.currency).order_by(Loan.currency)
    totals = [BookTotals(currency, int(count), from_cents(outstanding), from_cents(late), from_cents(risk))
              for currency, count, outstanding, late, risk in db.session.execute(totals_query)]
    count = sum(t.loans for t in totals)
    pages = max(1, -(-count // per_page))
    page = min(max(1, page), pages)
    chosen = (_book_filtered(select(Loan.id), filters, actor).order_by(*order)
              .limit(per_page).offset((page - 1) * per_page)).scalar_subquery()
    rows_query = _with_names(select(*_ROW_COLUMNS)).where(Loan.id.in_(chosen)).order_by(*order)
    rows = [LoanBookRow(*row) for row in db.session.execute(rows_query)]
    return LoanBook(rows=rows, count=count, totals=totals, page=page, pages=pages)


# ------------------------------------------------------------------------------------------------ funds


def _fund_cash_accounts(fund_ids: Iterable[int]) -> dict[int, Account]:
    ids = list(fund_ids)
    if not ids:
        return {}
    accounts = db.session.scalars(select(Account).where(
        Account.kind == AccountKind.REVOLVING_FUND_CASH, Account.owner_type == "fund", Account.owner_id.in_(ids)))
    return {account.owner_id: account for account in accounts}


def _late_since(as_of: date, days: int) -> date:
    """An instalment due before this date is more than ``days`` days late on ``as_of``."""
    return as_of - timedelta(days=days)


def _unpaid_cents() -> Any:
    return (cents(LoanInstalment.principal) - cents(LoanInstalment.principal_paid)
            + cents(LoanInstalment.interest) - cents(LoanInstalment.interest_paid)
            - cents(LoanInstalment.interest_cancelled))


def _late_instalments(as_of: date) -> Any:
    """The condition of an instalment late on ``as_of``: current (not superseded), of an active loan, due
    before that day, and something of its principal or interest unpaid."""
    return and_(LoanInstalment.superseded.is_(False), LoanInstalment.due_date < as_of, Loan.status == LoanStatus.ACTIVE,
                or_(LoanInstalment.principal_paid < LoanInstalment.principal,
                    LoanInstalment.interest_paid + LoanInstalment.interest_cancelled < LoanInstalment.interest))


@dataclass(frozen=True)
class FundSummary:
    """A fund's line in the list of funds."""

    fund: RevolvingFund
    cash: Decimal
    loans_active: int
    outstanding: Decimal
    repaid: Decimal
    in_arrears: Decimal
    par30: Decimal
    par30_as_of: date | None  # the daily figures' day, or None when computed now


def funds_overview(*, actor: Actor) -> list[FundSummary]:
    """Every fund the actor may see with its cash (ledger), loans outstanding, principal repaid, principal of
    the loans in arrears, and PAR30 (from the latest daily figures if any, else from the loans' days late as
    the daily job last wrote them, as the loan book does): a fixed number of queries, however many funds.
    (One fund's page computes its arrears afresh for the day from the instalments: ``fund_position``.)"""
    may_list(actor)
    funds = list(db.session.scalars(_visible(
        select(RevolvingFund).join(Initiative, Initiative.id == RevolvingFund.initiative_id), actor)
        .order_by(Initiative.reference)))
    ids = [f.id for f in funds]
    if not ids:
        return []
    accounts = _fund_cash_accounts(ids)
    cash = {fund_id: amount for fund_id, amount in
            ((a.owner_id, b) for a, b in balances(accounts.values()).items())}
    loans = {fund_id: (int(n), from_cents(out), from_cents(late), from_cents(risk))
             for fund_id, n, out, late, risk in db.session.execute(
                 select(Loan.fund_id, func.count(Loan.id), sum_cents(Loan.principal_outstanding),
                        sum_cents(case((Loan.days_late > 0, Loan.principal_outstanding), else_=literal(0))),
                        sum_cents(case((Loan.days_late > PAR_DAYS, Loan.principal_outstanding), else_=literal(0))))
                 .where(Loan.fund_id.in_(ids), Loan.status == LoanStatus.ACTIVE).group_by(Loan.fund_id))}
    repaid = {fund_id: from_cents(cents) for fund_id, cents in db.session.execute(
        select(Loan.fund_id, sum_cents(Repayment.principal)).join(Loan, Loan.id == Repayment.loan_id)
        .where(Loan.fund_id.in_(ids)).group_by(Loan.fund_id))}
    latest = select(PortfolioFigures.fund_id, func.max(PortfolioFigures.as_of).label("day")).where(
        PortfolioFigures.fund_id.in_(ids)).group_by(PortfolioFigures.fund_id).subquery()
    figures = {row.fund_id: row for row in db.session.scalars(select(PortfolioFigures).join(
        latest, and_(PortfolioFigures.fund_id == latest.c.fund_id, PortfolioFigures.as_of == latest.c.day)))}
    summaries = []
    for fund in funds:
        count, outstanding, late, risk = loans.get(fund.id, (0, ZERO, ZERO, ZERO))
        daily = figures.get(fund.id)
        summaries.append(FundSummary(
            fund=fund, cash=cash.get(fund.id, ZERO), loans_active=count, outstanding=outstanding,
            repaid=repaid.get(fund.id, ZERO), in_arrears=late,
            par30=Decimal(daily.par30) if daily is not None else _share(risk, outstanding),
            par30_as_of=daily.as_of if daily is not None else None,
        ))
    return summaries


@dataclass(frozen=True)
class FundPosition:
    """A fund on a day: cash (ledger), what was put in and lent, what is outstanding and repaid, income, and
    arrears by bucket (unpaid principal and interest of late instalments) with PAR30, computed for ``as_of``."""

    as_of: date
    currency: str
    cash: Decimal
    capitalised: Decimal
    lent: Decimal
    loans: int
    loans_active: int
    outstanding: Decimal
    principal_repaid: Decimal
    interest_earned: Decimal
    penalties_earned: Decimal
    written_off: Decimal
    recovered: Decimal
    credit_held: Decimal
    arrears: dict[str, Decimal]
    loans_late: int
    at_risk_30: Decimal
    daily: PortfolioFigures | None = None

    @property
    def arrears_total(self) -> Decimal:
        return sum(self.arrears.values(), ZERO)

    @property
    def par30(self) -> Decimal:
        return _share(self.at_risk_30, self.outstanding)


def fund_position(fund: RevolvingFund, *, cash: Decimal, as_of: date) -> FundPosition:
    """The fund's position; ``cash`` is the ledger's (``services.fund_cash``), given by the caller."""
    income = {a.kind: b for a, b in balances(db.session.scalars(select(Account).where(
        Account.owner_type == "fund", Account.owner_id == fund.id,
        Account.kind.in_((AccountKind.INTEREST_INCOME, AccountKind.PENALTY_INCOME))))).items()}
    capitalised = from_cents(db.session.scalar(
        select(sum_cents(Capitalisation.amount)).where(Capitalisation.fund_id == fund.id)))
    count, active, lent, outstanding, written_off, recovered, credit_held = db.session.execute(
        select(func.count(Loan.id),
               func.coalesce(func.sum(case((Loan.status == LoanStatus.ACTIVE, 1), else_=0)), 0),
               sum_cents(Loan.principal), sum_cents(Loan.principal_outstanding), sum_cents(Loan.written_off),
               sum_cents(Loan.recovered), sum_cents(Loan.credit))
        .where(Loan.fund_id == fund.id)).one()
    repaid = from_cents(db.session.scalar(select(sum_cents(Repayment.principal)).join(
        Loan, Loan.id == Repayment.loan_id).where(Loan.fund_id == fund.id)))
    bucket_of = case(*[(LoanInstalment.due_date >= _late_since(as_of, high), label)
                       for label, _, high in ARREARS_BUCKETS if high is not None], else_=BUCKETS[-1])
    arrears = dict.fromkeys(BUCKETS, ZERO)
    for label, amount in db.session.execute(
            select(bucket_of, func.coalesce(func.sum(_unpaid_cents()), 0))
            .join(Loan, Loan.id == LoanInstalment.loan_id)
            .where(Loan.fund_id == fund.id, _late_instalments(as_of)).group_by(bucket_of)):
        arrears[label] = from_cents(amount)
    late_loans = (select(LoanInstalment.loan_id).join(Loan, Loan.id == LoanInstalment.loan_id)
                  .where(Loan.fund_id == fund.id, _late_instalments(as_of)))
    risky_loans = late_loans.where(LoanInstalment.due_date < _late_since(as_of, PAR_DAYS))
    loans_late, at_risk = db.session.execute(
        select(func.coalesce(func.sum(case((Loan.id.in_(late_loans), 1), else_=0)), 0),
               sum_cents(case((Loan.id.in_(risky_loans), Loan.principal_outstanding), else_=literal(0))))
        .where(Loan.fund_id == fund.id, Loan.status == LoanStatus.ACTIVE)).one()
    daily = db.session.scalar(select(PortfolioFigures).where(PortfolioFigures.fund_id == fund.id)
                              .order_by(PortfolioFigures.as_of.desc()).limit(1))
    return FundPosition(
        as_of=as_of, currency=fund.currency, cash=cash, capitalised=capitalised, lent=from_cents(lent),
        loans=int(count), loans_active=int(active), outstanding=from_cents(outstanding), principal_repaid=repaid,
        interest_earned=income.get(AccountKind.INTEREST_INCOME, ZERO),
        penalties_earned=income.get(AccountKind.PENALTY_INCOME, ZERO), written_off=from_cents(written_off),
        recovered=from_cents(recovered), credit_held=from_cents(credit_held), arrears=arrears,
        loans_late=int(loans_late),
        at_risk_30=from_cents(at_risk), daily=daily,
    )


def loans_of(fund: RevolvingFund, *, limit: int = 200) -> tuple[list[LoanBookRow], int]:
    """The fund's loans for its page (the first ``limit`` by number, the loan book has them all) and how many."""
    rows = [LoanBookRow(*row) for row in db.session.execute(
        _with_names(select(*_ROW_COLUMNS)).where(Loan.fund_id == fund.id).order_by(Loan.number, Loan.id).limit(limit))]
    count = db.session.scalar(select(func.count(Loan.id)).where(Loan.fund_id == fund.id)) or 0
    return rows, int(count)


# ------------------------------------------------------------------------------------------------ the chart


@dataclass(frozen=True)
class BalancePoint:
    """The fund's cash and its loans outstanding at the end of a value date."""

    day: date
    cash: Decimal
    outstanding: Decimal


def balance_series(fund: RevolvingFund) -> list[BalancePoint]:
    """The fund's cash (revolving_fund_cash:fund) and its loans outstanding (loans_receivable and
    loans_rescheduled of its loans) after each value date on which either moved, from the ledger's lines."""
    cash_moves = db.session.execute(
        select(JournalEntry.value_date, sum_cents(JournalLine.debit) - sum_cents(JournalLine.credit))
        .join(JournalLine, JournalLine.entry_id == JournalEntry.id)
        .join(Account, Account.id == JournalLine.account_id)
        .where(Account.kind == AccountKind.REVOLVING_FUND_CASH, Account.owner_type == "fund",
               Account.owner_id == fund.id)
        .group_by(JournalEntry.value_date))
    loan_moves = db.session.execute(
        select(JournalEntry.value_date, sum_cents(JournalLine.debit) - sum_cents(JournalLine.credit))
        .join(JournalLine, JournalLine.entry_id == JournalEntry.id)
        .join(Account, Account.id == JournalLine.account_id)
        .where(Account.kind.in_((AccountKind.LOANS_RECEIVABLE, AccountKind.LOANS_RESCHEDULED)),
               Account.owner_type == "loan", Account.owner_id.in_(select(Loan.id).where(Loan.fund_id == fund.id)))
        .group_by(JournalEntry.value_date))
    changes: dict[date, list[int]] = defaultdict(lambda: [0, 0])
    for day, amount in cash_moves:
        changes[day][0] += int(amount or 0)
    for day, amount in loan_moves:
        changes[day][1] += int(amount or 0)
    points, cash, outstanding = [], 0, 0
    for day in sorted(changes):
        cash += changes[day][0]
        outstanding += changes[day][1]
        points.append(BalancePoint(day, from_cents(cash), from_cents(outstanding)))
    return points


@dataclass(frozen=True)
class Tick:
    at: str
    label: str


@dataclass(frozen=True)
class BalanceChart:
    """The fund's balance chart as coordinates of an inline SVG (drawn by the template, no script)."""

    width: int
    height: int
    left: int
    top: int
    bottom: int
    right: int
    cash_path: str
    outstanding_path: str
    y_ticks: list[Tick]
    x_ticks: list[Tick]
    points: list[BalancePoint] = field(default_factory=list)
    description: str = ""


def balance_chart(points: list[BalancePoint], *, as_of: date, currency: str) -> BalanceChart | None:
    """Step lines of the cash and of the loans outstanding from the first movement to ``as_of``: each value
    holds until the next date it changes."""
    if not points:
        return None
    width, height, left, top, bottom, right = 720, 260, 84, 12, 30, 12
    plot_w, plot_h = Decimal(width - left - right), Decimal(height - top - bottom)
    start, end = points[0].day, max(as_of, points[-1].day)
    span = Decimal(max(1, (end - start).days))
    highest = max(max(p.cash for p in points), max(p.outstanding for p in points), Decimal(1))
    lowest = min(min(p.cash for p in points), ZERO)
    step = nice_step(highest - lowest)
    top_value = (highest / step).to_integral_value(rounding="ROUND_CEILING") * step
    bottom_value = (lowest / step).to_integral_value(rounding="ROUND_FLOOR") * step
    across = Scale(0, span, left, left + plot_w)
    up = Scale(bottom_value, bottom_value + max(top_value - bottom_value, Decimal(1)), top + plot_h, top)

    def x(day: date) -> str:
        return coordinate(across.at((day - start).days))

    def y(value: Decimal) -> str:
        return coordinate(up.at(value))

    def path(values: list[Decimal]) -> str:
        parts = [f"M{x(points[0].day)},{y(values[0])}"]
        for index in range(1, len(points)):
            parts.append(f"H{x(points[index].day)}V{y(values[index])}")
        parts.append(f"H{x(end)}")
        return " ".join(parts)

    y_ticks = [Tick(y(value), f"{value:,.0f}") for value in tick_values(bottom_value, top_value, step)]
    x_ticks = [Tick(x(start), start.isoformat()), Tick(x(end), end.isoformat())]
    last = points[-1]
    description = (f"The fund's cash in {currency} from {start.isoformat()} to {end.isoformat()}, now {last.cash:,}, "
                   f"and its loans outstanding, now {last.outstanding:,}; each line holds its value until the next "
                   f"date it changes ({len(points)} dates).")
    return BalanceChart(width, height, left, top, bottom, right, path([p.cash for p in points]),
                        path([p.outstanding for p in points]), y_ticks, x_ticks, points, description)


def table_points(points: list[BalancePoint], *, limit: int = 60) -> list[BalancePoint]:
    """The chart's figures as a table: every date if few, else the last of each month."""
    if len(points) <= limit:
        return points
    by_month: dict[tuple[int, int], BalancePoint] = {}
    for point in points:
        by_month[(point.day.year, point.day.month)] = point
    return list(by_month.values())


def fund_choices(*, actor: Actor) -> list[tuple[int, str]]:
    """The funds the actor may see, as (id, initiative reference) for the loan book's filter: one query."""
    may_list(actor)
    query = (select(RevolvingFund.id, Initiative.reference, Initiative.name)
             .join(Initiative, Initiative.id == RevolvingFund.initiative_id).order_by(Initiative.reference))
    rows = db.session.execute(_visible(query, actor))
    return [(fund_id, f"{reference} · {name}") for fund_id, reference, name in rows]
