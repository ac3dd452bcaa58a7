"""The funds on the loan pages: the list of funds with their figures, one fund's position on a day, its loans,
and the funds an actor may pick in the loan book's filter.

Read-only: nothing here writes. Access is checked as in the services (``loan_search.may_list``); the figures
come from the ledger (cash, income) or from the cached columns on the loans (principal outstanding, days late,
arrears bucket), which ``programme ledger check`` proves equal to the ledger. Sums of money are taken in SQL as
whole minor units (cents, as integers), as the ledger does, so that SQLite never adds amounts as floats.

The loan book's search is in ``loan_search`` and the fund's chart in ``fund_chart``; their names are also
reachable here (``portfolio.loan_book``, ``portfolio.balance_chart``, ...) for the loan pages.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Iterable
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import Select, and_, case, func, literal, or_, select

from programme.accounts.models import ApplicantGroup, GroupUser
from programme.core.access import Actor
from programme.core.db import cents, from_cents, sum_cents
from programme.core.i18n import current_language
from programme.core.kept import Kept, database_key
from programme.extensions import db
from programme.funding.models import Initiative
from programme.ledger.balances import balances
from programme.ledger.models import Account, AccountKind
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
from programme.loans.services.fund_chart import (
    BalanceChart,
    BalancePoint,
    Tick,
    balance_chart,
    balance_series,
    table_points,
)
from programme.loans.services.loan_search import (
    _ROW_COLUMNS,
    BUCKET_FILTERS,
    BUCKETS,
    CURRENT,
    LATE,
    PER_PAGE,
    SORTS,
    BookTotals,
    LoanBook,
    LoanBookFilter,
    LoanBookRow,
    _share,
    _with_names,
    loan_book,
    may_list,
    sees_all,
)

__all__ = [
    # the funds (this module)
    "FUNDS_PER_PAGE", "FUND_PAGE_LOANS", "DailyFigures", "FundList", "FundPage", "FundPosition", "FundSummary",
    "all_fund_summaries", "fund_choices", "fund_page", "fund_position", "funds_overview", "loans_of",
    # the loan book (loan_search)
    "BUCKET_FILTERS", "BUCKETS", "CURRENT", "LATE", "PER_PAGE", "SORTS", "BookTotals", "LoanBook", "LoanBookFilter",
    "LoanBookRow", "loan_book", "may_list", "sees_all",
    # the fund's chart (fund_chart)
    "BalanceChart", "BalancePoint", "Tick", "balance_chart", "balance_series", "table_points",
]

ZERO = Decimal("0.00")


def _visible(query: Select, actor: Actor) -> Select:
    """Restrict a query that joins Initiative to what the actor may see."""
    if sees_all(actor):
        return query
    own_groups = select(GroupUser.group_id).where(GroupUser.user_id == actor.id)
    return query.where(Initiative.group_id.in_(own_groups))


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
    """A fund's line in the list of funds: plain values (kept between requests, so no database object)."""

    fund_id: int
    initiative_id: int
    reference: str
    name: str
    group_name: str
    currency: str
    cash: Decimal
    loans_active: int
    outstanding: Decimal
    repaid: Decimal
    in_arrears: Decimal
    par30: Decimal
    par30_as_of: date | None  # the daily figures' day, or None when computed now


@dataclass(frozen=True)
class FundList:
    """A page of the funds one may see, and how many there are."""

    rows: list[FundSummary]
    count: int
    page: int
    pages: int


#: Funds per page of the list.
FUNDS_PER_PAGE = 50

#: Every fund's line, per version of the data (see ``funds_overview``).
_overview_kept: Kept[list[FundSummary]] = Kept(4)


def funds_overview(*, actor: Actor, version: Hashable, page: int = 1) -> FundList:
    """The page ``page`` of the funds the actor may see, by initiative reference, each with its cash (ledger),
    loans outstanding, principal repaid, principal of the loans in arrears, and PAR30 (from the latest daily
    figures if any, else from the loans' days late as the daily job last wrote them, as the loan book does).

    Every fund's line is worked out once per ``version`` of the data (the caller's data version, which every
    change a person or a job makes moves: a payment or repayment posts a journal entry, the daily job and every
    other change write an audit entry) and kept in this process; a request then reads only which funds the actor
    sees. (One fund's page computes its arrears afresh for the day from the instalments: ``fund_position``.)"""
    may_list(actor)
    summaries = _overview_kept.get((database_key(), version), all_fund_summaries)
    if not sees_all(actor):
        own = set(db.session.scalars(_visible(
            select(RevolvingFund.id).join(Initiative, Initiative.id == RevolvingFund.initiative_id), actor)))
        summaries = [s for s in summaries if s.fund_id in own]
    pages = max(1, -(-len(summaries) // FUNDS_PER_PAGE))
    page = min(max(page, 1), pages)
    return FundList(rows=summaries[(page - 1) * FUNDS_PER_PAGE:page * FUNDS_PER_PAGE], count=len(summaries),
                    page=page, pages=pages)


def all_fund_summaries() -> list[FundSummary]:
    """Every fund's line of the list, by initiative reference: a fixed number of set-based queries, however many
    funds."""
    funds = db.session.execute(
        select(RevolvingFund.id, RevolvingFund.initiative_id, Initiative.reference, Initiative.name,
               ApplicantGroup.name, RevolvingFund.currency)
        .join(Initiative, Initiative.id == RevolvingFund.initiative_id)
        .join(ApplicantGroup, ApplicantGroup.id == Initiative.group_id)
        .order_by(Initiative.reference)).all()
    ids = [row[0] for row in funds]
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
                 .where(Loan.status == LoanStatus.ACTIVE).group_by(Loan.fund_id))}
    repaid = {fund_id: from_cents(cents) for fund_id, cents in db.session.execute(
        select(Loan.fund_id, sum_cents(Repayment.principal)).join(Loan, Loan.id == Repayment.loan_id)
        .group_by(Loan.fund_id))}
    latest = select(PortfolioFigures.fund_id, func.max(PortfolioFigures.as_of).label("day")).where(
        PortfolioFigures.fund_id.is_not(None)).group_by(PortfolioFigures.fund_id).subquery()
    figures = {row.fund_id: (Decimal(row.par30), row.as_of) for row in db.session.execute(
        select(PortfolioFigures.fund_id, PortfolioFigures.par30, PortfolioFigures.as_of).join(
            latest, and_(PortfolioFigures.fund_id == latest.c.fund_id, PortfolioFigures.as_of == latest.c.day)))}
    summaries = []
    for fund_id, initiative_id, reference, name, group_name, currency in funds:
        count, outstanding, late, risk = loans.get(fund_id, (0, ZERO, ZERO, ZERO))
        par30, as_of = figures.get(fund_id, (_share(risk, outstanding), None))
        summaries.append(FundSummary(
            fund_id=fund_id, initiative_id=initiative_id, reference=reference, name=name, group_name=group_name,
            currency=currency, cash=cash.get(fund_id, ZERO), loans_active=count, outstanding=outstanding,
            repaid=repaid.get(fund_id, ZERO), in_arrears=late, par30=par30, par30_as_of=as_of,
        ))
    return summaries


@dataclass(frozen=True)
class DailyFigures:
    """What a fund's page shows of the daily job's last figures for it."""

    as_of: date
    par30: Decimal


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
    daily: DailyFigures | None = None

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
    daily = db.session.execute(select(PortfolioFigures.as_of, PortfolioFigures.par30)
                               .where(PortfolioFigures.fund_id == fund.id)
                               .order_by(PortfolioFigures.as_of.desc()).limit(1)).first()
    return FundPosition(
        as_of=as_of, currency=fund.currency, cash=cash, capitalised=capitalised, lent=from_cents(lent),
        loans=int(count), loans_active=int(active), outstanding=from_cents(outstanding), principal_repaid=repaid,
        interest_earned=income.get(AccountKind.INTEREST_INCOME, ZERO),
        penalties_earned=income.get(AccountKind.PENALTY_INCOME, ZERO), written_off=from_cents(written_off),
        recovered=from_cents(recovered), credit_held=from_cents(credit_held), arrears=arrears,
        loans_late=int(loans_late),
        at_risk_30=from_cents(at_risk),
        daily=DailyFigures(daily.as_of, Decimal(daily.par30)) if daily is not None else None,
    )


@dataclass(frozen=True)
class FundPage:
    """What a fund's page shows of its figures on a day: its position, its cash and loans outstanding over time
    (the chart and its table), its first loans and how many it has. Plain values, kept between requests."""

    position: FundPosition
    chart: BalanceChart | None
    table: list[BalancePoint]
    loans: list[LoanBookRow]
    loan_count: int


#: A fund's page figures, per version of the data, fund and day (see ``fund_page``).
_fund_pages_kept: Kept[FundPage] = Kept(16)


def fund_page(fund: RevolvingFund, *, cash: Callable[[], Decimal], as_of: date, version: Hashable) -> FundPage:
    """The fund's page figures on ``as_of`` (its position with ``cash()``, the ledger's cash, its chart and its
    first ``FUND_PAGE_LOANS`` loans), worked out once per ``version`` of the data (the caller's data version, which
    every journal entry and audit entry moves: a capitalisation, a loan, a repayment, a loan event, the daily
    job) and kept in this process."""

    def make() -> FundPage:
        points = balance_series(fund)
        loans, count = loans_of(fund, limit=FUND_PAGE_LOANS)
        return FundPage(position=fund_position(fund, cash=cash(), as_of=as_of),
                        chart=balance_chart(points, as_of=as_of, currency=fund.currency),
                        table=table_points(points), loans=loans, loan_count=count)

    # The chart's texts are written in the language being answered in: a page is kept per language.
    return _fund_pages_kept.get((database_key(), version, fund.id, as_of, current_language()), make)


#: How many of its loans a fund's page lists (the loan book has them all).
FUND_PAGE_LOANS = 50


def loans_of(fund: RevolvingFund, *, limit: int = 200) -> tuple[list[LoanBookRow], int]:
    """The fund's loans for its page (the first ``limit`` by number, the loan book has them all) and how many."""
    rows = [LoanBookRow(*row) for row in db.session.execute(
        _with_names(select(*_ROW_COLUMNS)).where(Loan.fund_id == fund.id).order_by(Loan.number, Loan.id).limit(limit))]
    count = db.session.scalar(select(func.count(Loan.id)).where(Loan.fund_id == fund.id)) or 0
    return rows, int(count)


def fund_choices(*, actor: Actor) -> list[tuple[int, str]]:
    """The funds the actor may see, as (id, initiative reference) for the loan book's filter: one query."""
    may_list(actor)
    query = (select(RevolvingFund.id, Initiative.reference, Initiative.name)
             .join(Initiative, Initiative.id == RevolvingFund.initiative_id).order_by(Initiative.reference))
    rows = db.session.execute(_visible(query, actor))
    return [(fund_id, f"{reference} · {name}") for fund_id, reference, name in rows]
