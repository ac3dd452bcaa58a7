"""The dashboard's money: what each instrument committed and paid per call and currency (with the totals over
all calls), and the co-financing leveraged by the programme money paid, per call and overall. Read-only, five
grouped queries whatever the number of calls, initiatives or loans; sums taken in SQL as whole cents."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from sqlalchemy import case, func, literal, select

from programme.core.db import from_cents, sum_cents
from programme.core.texts import LazyText
from programme.core.texts import lazy_gettext as _l
from programme.dashboard._common import SHARE_PLACES, ZERO, ratio
from programme.extensions import db
from programme.funding.models import (
    CoFinancingContribution,
    ContributionStatus,
    Disbursement,
    DisbursementStatus,
    Grant,
    GrantKind,
    Initiative,
)
from programme.loans.allocation import PAR_DAYS
from programme.loans.models import Capitalisation, Loan, LoanStatus, RevolvingFund
from programme.loans.services.guarantee_figures import GuaranteeFigures, guarantee_figures

STARTUP = "startup_grant"
MATCHING = "matching_grant"
LOANS = "loan"
CAPITALISATION = "fund_capitalisation"
#: The instruments, in the order the pages show them, with their labels.
#: Labels in the language being answered: ``str(...)`` of one where a text is needed (a cell, a sentence).
INSTRUMENTS: dict[str, LazyText] = {STARTUP: _l("Start-up grants"), MATCHING: _l("Matching grants"),
                                      LOANS: _l("Loans"), CAPITALISATION: _l("Revolving-fund capitalisation")}


@dataclass(frozen=True)
class InstrumentMoney:
    """What one instrument committed and paid in one call and currency."""

    call_id: int
    instrument: str
    currency: str
    committed: Decimal
    paid: Decimal

    @property
    def label(self) -> str:
        return str(INSTRUMENTS[self.instrument])


@dataclass(frozen=True)
class Leverage:
    """Co-financing verified against programme money paid, for one call (``call_id``) or overall (None), in one
    currency; ``ratio`` = co-financing ÷ programme money paid, four places, None when nothing is paid."""

    call_id: int | None
    currency: str
    grants_paid: Decimal
    capitalisation_paid: Decimal
    cofinancing: Decimal

    @property
    def programme_paid(self) -> Decimal:
        return self.grants_paid + self.capitalisation_paid

    @property
    def ratio(self) -> Decimal | None:
        return ratio(self.cofinancing, self.programme_paid, SHARE_PLACES)


def money_rows(today: date, loan_totals: dict[str, list[int]]) -> list[InstrumentMoney]:
    """Committed and paid per call, instrument and currency (five grouped queries); fills ``loan_totals`` with the
    loans' figures per currency for ``fund_figures.fund_figures`` (active loans, and in cents: outstanding, at
    risk over 30 days, written off, recovered, principal repaid)."""
    sums: dict[tuple[int, str, str], list[Decimal]] = defaultdict(lambda: [ZERO, ZERO])
    # The facilitation fund pays its claims as a matching grant (seed 003, section 8): counted with them.
    kind = {GrantKind.STARTUP.value: STARTUP, GrantKind.MATCHING.value: MATCHING,
            GrantKind.FACILITATION.value: MATCHING}
    for call_id, grant_kind, currency, committed in db.session.execute(
            select(Initiative.call_id, Grant.kind, Grant.currency, sum_cents(Grant.committed))
            .join(Initiative, Initiative.id == Grant.initiative_id)
            .group_by(Initiative.call_id, Grant.kind, Grant.currency)):
        sums[(call_id, kind[GrantKind(grant_kind).value], currency)][0] += from_cents(committed)
    for call_id, grant_kind, currency, paid in db.session.execute(
            select(Initiative.call_id, Grant.kind, Disbursement.currency, sum_cents(Disbursement.amount))
            .join(Grant, Grant.id == Disbursement.grant_id).join(Initiative, Initiative.id == Grant.initiative_id)
            .where(Disbursement.status == DisbursementStatus.PAID)
            .group_by(Initiative.call_id, Grant.kind, Disbursement.currency)):
        sums[(call_id, kind[GrantKind(grant_kind).value], currency)][1] += from_cents(paid)
    # The loans: one pass over the table gives both the money per call and the funds' figures per currency.
    active = Loan.status == LoanStatus.ACTIVE
    for call_id, currency, committed, paid, *portfolio in db.session.execute(
            select(Initiative.call_id, Loan.currency, sum_cents(Loan.principal),
                   sum_cents(case((Loan.disbursed_on <= today, Loan.principal), else_=literal(0))),
                   func.coalesce(func.sum(case((active, 1), else_=0)), 0),
                   sum_cents(case((active, Loan.principal_outstanding), else_=literal(0))),
                   sum_cents(case((active & (Loan.days_late > PAR_DAYS), Loan.principal_outstanding),
                                   else_=literal(0))),
                   sum_cents(Loan.written_off), sum_cents(Loan.recovered),
                   sum_cents(Loan.principal - Loan.principal_outstanding - Loan.written_off))
            .join(RevolvingFund, RevolvingFund.id == Loan.fund_id)
            .join(Initiative, Initiative.id == RevolvingFund.initiative_id)
            .group_by(Initiative.call_id, Loan.currency)):
        sums[(call_id, LOANS, currency)][0] += from_cents(committed)
        sums[(call_id, LOANS, currency)][1] += from_cents(paid)
        totals = loan_totals.setdefault(currency, [0, 0, 0, 0, 0, 0])
        for index, value in enumerate(portfolio):
            totals[index] += int(value or 0)
    for call_id, currency, committed, paid in db.session.execute(
            select(Initiative.call_id, RevolvingFund.currency, sum_cents(Capitalisation.amount),
                   sum_cents(case((Capitalisation.value_date <= today, Capitalisation.amount), else_=literal(0))))
            .join(RevolvingFund, RevolvingFund.id == Capitalisation.fund_id)
            .join(Initiative, Initiative.id == RevolvingFund.initiative_id)
            .group_by(Initiative.call_id, RevolvingFund.currency)):
        sums[(call_id, CAPITALISATION, currency)][0] += from_cents(committed)
        sums[(call_id, CAPITALISATION, currency)][1] += from_cents(paid)
    # Verified co-financing rides along as a pseudo-instrument, split off in ``leverage``.
    for call_id, currency, amount in db.session.execute(
            select(Initiative.call_id, CoFinancingContribution.currency, sum_cents(CoFinancingContribution.amount))
            .join(Initiative, Initiative.id == CoFinancingContribution.initiative_id)
            .where(CoFinancingContribution.status == ContributionStatus.VERIFIED)
            .group_by(Initiative.call_id, CoFinancingContribution.currency)):
        sums[(call_id, "cofinancing", currency)][1] += from_cents(amount)
    order = list(INSTRUMENTS) + ["cofinancing"]
    return [InstrumentMoney(call_id, instrument, currency, committed, paid)
            for (call_id, instrument, currency), (committed, paid)
            in sorted(sums.items(), key=lambda item: (item[0][0], item[0][2], order.index(item[0][1])))]


def leverage(rows: list[InstrumentMoney]) -> tuple[list[Leverage], list[Leverage]]:
    """Split the co-financing off the money rows (in place) and compute the leverage per call and overall."""
    per_call: dict[tuple[int, str], list[Decimal]] = defaultdict(lambda: [ZERO, ZERO, ZERO])
    for row in rows:
        figures = per_call[(row.call_id, row.currency)]
        if row.instrument in (STARTUP, MATCHING):
            figures[0] += row.paid
        elif row.instrument == CAPITALISATION:
            figures[1] += row.paid
        elif row.instrument == "cofinancing":
            figures[2] += row.paid
    rows[:] = [row for row in rows if row.instrument != "cofinancing"]
    overall: dict[str, list[Decimal]] = defaultdict(lambda: [ZERO, ZERO, ZERO])
    for (_, currency), values in per_call.items():
        for index, value in enumerate(values):
            overall[currency][index] += value
    return ([Leverage(call_id, currency, *values) for (call_id, currency), values in per_call.items()],
            [Leverage(None, currency, *values) for currency, values in sorted(overall.items())])


def totals(rows: list[InstrumentMoney]) -> list[InstrumentMoney]:
    sums: dict[tuple[str, str], list[Decimal]] = defaultdict(lambda: [ZERO, ZERO])
    for row in rows:
        sums[(row.instrument, row.currency)][0] += row.committed
        sums[(row.instrument, row.currency)][1] += row.paid
    order = list(INSTRUMENTS)
    return [InstrumentMoney(0, instrument, currency, committed, paid)
            for (instrument, currency), (committed, paid)
            in sorted(sums.items(), key=lambda item: (item[0][1], order.index(item[0][0])))]


def guarantee_money() -> list[GuaranteeFigures]:
    """Mutual guarantees on the funds' loans (issue 18), per currency: what active guarantees cover now, what was
    called, collected, written off and is still owed by the guarantors. Computed where guarantees live
    (``loans.services.guarantee_figures``): the dashboard reads them, never re-derives them."""
    return guarantee_figures()
