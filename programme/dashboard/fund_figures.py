"""The dashboard's revolving funds per currency: cash (the ledger's balance), loans active and outstanding,
principal repaid, written off and recovered (from the loans' figures that ``money_figures.money_rows`` sums in
the same pass), and the daily job's arrears, recovery rate and PAR30. Read-only."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import date
from decimal import ROUND_HALF_UP, Decimal

from sqlalchemy import select

from programme.core.db import from_cents
from programme.dashboard._common import CENT, PAR_PLACES, SHARE_PLACES, ZERO, ratio
from programme.extensions import db
from programme.ledger.balances import balances
from programme.ledger.models import Account, AccountKind
from programme.loans.models import RevolvingFund
from programme.loans.services.arrears import latest_portfolio

ARREARS_COLUMNS = ("arrears_1_30", "arrears_31_60", "arrears_61_90", "arrears_over_90")


@dataclass(frozen=True)
class FundFigures:
    """The revolving funds in one currency."""

    currency: str
    funds: int
    cash: Decimal
    loans_active: int
    outstanding: Decimal
    principal_repaid: Decimal
    arrears: Decimal | None   # from the daily job's figures; None when it has not run
    due: Decimal | None       # principal + interest due on the instalments due to date (daily job)
    repaid: Decimal | None    # what was paid on them (daily job)
    written_off: Decimal
    recovered: Decimal
    par30: Decimal
    par30_as_of: date | None  # the daily job's day, or None when computed from the loans

    @property
    def recovery_rate(self) -> Decimal | None:
        """Repaid ÷ due on the instalments due to date (the daily job's day)."""
        if self.due is None or self.repaid is None:
            return None
        return ratio(self.repaid, self.due, SHARE_PLACES)

    @property
    def write_off_recovery(self) -> Decimal | None:
        """Recovered ÷ written off."""
        return ratio(self.recovered, self.written_off, SHARE_PLACES)


def fund_figures(today: date, loan_totals: dict[str, list[int]]) -> list[FundFigures]:
    """The funds per currency: cash (the ledger's balance, as on the funds' page), loans active and outstanding,
    principal repaid, written off and recovered, and the daily job's arrears and PAR30."""
    funds = db.session.execute(select(RevolvingFund.id, RevolvingFund.currency)).all()
    if not funds:
        return []
    currency_of = {fund_id: currency for fund_id, currency in funds}
    count: dict[str, int] = defaultdict(int)
    for currency in currency_of.values():
        count[currency] += 1
    cash: dict[str, Decimal] = defaultdict(lambda: ZERO)
    accounts = db.session.scalars(select(Account).where(
        Account.kind == AccountKind.REVOLVING_FUND_CASH, Account.owner_type == "fund"))
    for account, amount in balances(accounts).items():
        if account.owner_id in currency_of:
            cash[currency_of[account.owner_id]] += amount
    loans = {currency: (values[0], *(from_cents(cents) for cents in values[1:]))
             for currency, values in loan_totals.items()}
    daily = {row.currency: row for row in latest_portfolio(None, today)}
    figures = []
    for currency in sorted(count):
        active, outstanding, at_risk, written_off, recovered, repaid = loans.get(
            currency, (0, ZERO, ZERO, ZERO, ZERO, ZERO))
        row = daily.get(currency)
        if row is not None:
            par30, as_of = Decimal(row.par30).quantize(PAR_PLACES, ROUND_HALF_UP), row.as_of
            arrears: Decimal | None = sum((Decimal(getattr(row, column)) for column in ARREARS_COLUMNS), ZERO
                                         ).quantize(CENT)
            due: Decimal | None = Decimal(row.due_to_date).quantize(CENT)
            repaid_to_date: Decimal | None = Decimal(row.repaid_to_date).quantize(CENT)
        else:
            par30, as_of = ratio(at_risk, outstanding, PAR_PLACES) or Decimal("0.000000"), None
            arrears = due = repaid_to_date = None
        figures.append(FundFigures(currency=currency, funds=count[currency], cash=cash[currency],
                                   loans_active=active, outstanding=outstanding, principal_repaid=repaid,
                                   arrears=arrears, due=due, repaid=repaid_to_date, written_off=written_off,
                                   recovered=recovered, par30=par30, par30_as_of=as_of))
    return figures
