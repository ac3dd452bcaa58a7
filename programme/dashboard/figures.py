"""The programme's own figures for its dashboard (managers and fund administrators), its public version and its
Excel export. Read-only: nothing here writes.

A fixed, small number of set-based queries whatever the number of initiatives, funds or loans (no query per
initiative); sums of money are taken in SQL as whole cents (integers), so SQLite never adds them as floats, and
amounts in different currencies are never added together (every money figure carries its currency).

Definitions (the pages state them too):

- **committed / paid per call and instrument**: start-up and matching grants: committed = ``Grant.committed``,
  paid = their PAID disbursements; loans: committed = the principal lent, paid = the principal of the loans
  disbursed on or before today; fund capitalisations: committed = every capitalisation, paid = those with a
  value date on or before today.
- **programme money paid** = grants paid (start-up and matching) + fund capitalisations paid. Loans are lent by
  the initiatives' funds out of that capitalisation, so they are not counted again.
- **co-financing leveraged** = co-financing verified (any date) ÷ programme money paid; none when nothing is paid.
- **external share** of a running initiative (status start-up, implementation or self-sustaining) in its current
  programme year, as on its own page (``funding.services.share_chart``): matching-grant tranches paid with a
  value date in that year ÷ (those + co-financing verified dated in that year); none for a year with no money;
  compared with the cap of the call's schedule for that year (the floor after the schedule).
- **recovery rate** (repayment rate) of the funds = principal + interest repaid on the instalments due to date ÷
  the principal + interest due on them (current schedules; interest cancelled by an early repayment left out), as
  the daily job last computed them (``PortfolioFigures.due_to_date`` / ``repaid_to_date``, programme rows per
  currency): summing 1.2 million instalments on each request would be too slow. Beside it: principal repaid
  (principal lent − outstanding − written off, from the loans' cached columns), the arrears (principal and
  interest unpaid on overdue instalments, daily job), written off and recovered, and the write-off recovery
  rate = recovered ÷ written off.
- **PAR30**, **arrears** and the recovery rate: from the daily job's latest programme figures on or before today
  (``loans.services.arrears.latest_portfolio``); when the job has not run, PAR30 is computed from the loans' days late
  as the job last wrote them, and the arrears and the recovery rate are not known (None).
- **self-funding**: of the initiatives past the last year of their call's external-share schedule (programme year >
  length of the schedule: they are at the floor), how many are not terminated.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import ROUND_HALF_UP, Decimal, localcontext
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import case, func, literal, or_, select

from programme.calls.models import Call
from programme.core.db import from_cents, sum_cents
from programme.extensions import db
from programme.funding.domain import current_year, year_begins
from programme.funding.models import (
    CoFinancingContribution,
    ContributionStatus,
    Disbursement,
    DisbursementStatus,
    Grant,
    GrantKind,
    Initiative,
    InitiativeStatus,
)
from programme.ledger.balances import balances
from programme.ledger.models import Account, AccountKind
from programme.loans.allocation import PAR_DAYS
from programme.loans.models import Capitalisation, Loan, LoanStatus, RevolvingFund
from programme.loans.services.arrears import latest_portfolio
from programme.monitoring.models import (
    MilestoneDecision,
    MilestoneReview,
    ReportStatus,
    Scorecard,
    SelfEvaluationReport,
)

ZERO = Decimal("0.00")
CENT = Decimal("0.01")
SHARE_PLACES = Decimal("0.0001")
PAR_PLACES = Decimal("0.000001")
ARREARS_COLUMNS = ("arrears_1_30", "arrears_31_60", "arrears_61_90", "arrears_over_90")

STARTUP = "startup_grant"
MATCHING = "matching_grant"
LOANS = "loan"
CAPITALISATION = "fund_capitalisation"
#: The instruments, in the order the pages show them, with their labels.
INSTRUMENTS: dict[str, str] = {STARTUP: "Start-up grants", MATCHING: "Matching grants", LOANS: "Loans",
                               CAPITALISATION: "Revolving-fund capitalisation"}
#: The statuses of an initiative that still runs.
RUNNING = (InitiativeStatus.START_UP, InitiativeStatus.IMPLEMENTATION, InitiativeStatus.SELF_SUSTAINING)


# ------------------------------------------------------------------------------------------------ figures


@dataclass(frozen=True)
class CallRef:
    id: int
    reference: str
    name: str
    public: bool


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
        return INSTRUMENTS[self.instrument]


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


@dataclass(frozen=True)
class InitiativeShare:
    """A running initiative's external share in its current programme year against its schedule's cap."""

    initiative_id: int
    reference: str
    name: str
    call_id: int
    status: InitiativeStatus
    currency: str
    year: int
    cap: Decimal
    at_floor: bool
    paid: Decimal
    cofinancing: Decimal

    @property
    def share(self) -> Decimal | None:
        return ratio(self.paid, self.paid + self.cofinancing, SHARE_PLACES)

    @property
    def over(self) -> bool:
        share = self.share
        return share is not None and share > self.cap


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


@dataclass(frozen=True)
class SelfFunding:
    reached_floor: int
    still_running: int

    @property
    def share(self) -> Decimal | None:
        return ratio(Decimal(self.still_running), Decimal(self.reached_floor), SHARE_PLACES)


@dataclass(frozen=True)
class ReportFigures:
    """Self-evaluation on the day: scorecards started, reports submitted, drafts not yet due and drafts past their
    due date, of initiatives still running (a terminated or completed initiative's drafts are not counted)."""

    scorecards: int = 0
    submitted: int = 0
    open: int = 0
    overdue: int = 0

    @property
    def on_time_share(self) -> Decimal | None:
        """Submitted ÷ (submitted + overdue): how much of what was due has come in."""
        return ratio(Decimal(self.submitted), Decimal(self.submitted + self.overdue), SHARE_PLACES)


@dataclass(frozen=True)
class ProgrammeFigures:
    today: date
    calls: list[CallRef]
    money: list[InstrumentMoney]
    money_totals: list[InstrumentMoney]  # call_id 0: per instrument and currency over all calls
    leverage: list[Leverage]             # per call and currency
    leverage_totals: list[Leverage]      # call_id None: per currency
    shares: list[InitiativeShare]
    funds: list[FundFigures]
    by_year_status: dict[tuple[int, str], int]
    by_status: dict[str, int]
    by_year: dict[int, int]
    self_funding: SelfFunding
    terminated: int
    termination_reviews: int
    initiatives: int = 0
    initiatives_by_call: dict[int, int] = field(default_factory=dict)
    reports: ReportFigures = field(default_factory=ReportFigures)

    @property
    def years(self) -> list[int]:
        return sorted(self.by_year)

    @property
    def statuses(self) -> list[InitiativeStatus]:
        return list(InitiativeStatus)

    def call(self, call_id: int) -> CallRef | None:
        return next((c for c in self.calls if c.id == call_id), None)

    def money_of(self, call_id: int) -> list[InstrumentMoney]:
        return [m for m in self.money if m.call_id == call_id]

    def leverage_of(self, call_id: int) -> list[Leverage]:
        return [row for row in self.leverage if row.call_id == call_id]


def ratio(part: Decimal, whole: Decimal, places: Decimal) -> Decimal | None:
    """part ÷ whole rounded half-up to ``places``; None when the whole is zero."""
    if whole == 0:
        return None
    with localcontext() as ctx:
        ctx.prec = 40
        return (Decimal(part) / Decimal(whole)).quantize(places, ROUND_HALF_UP)


# ------------------------------------------------------------------------------------------------ helpers


def _start(started_at: datetime, zone: ZoneInfo) -> date:
    return started_at.astimezone(zone).date()


def _year(start: date, today: date) -> int:
    return current_year(start, today)


# ------------------------------------------------------------------------------------------------ the read


def programme_figures(*, today: date, timezone: str) -> ProgrammeFigures:
    """Every figure of the dashboard on ``today`` (a date in the programme's ``timezone``)."""
    zone = ZoneInfo(timezone)
    calls = {call.id: call for call in db.session.scalars(
        select(Call).where(Call.id.in_(select(Initiative.call_id))).order_by(Call.reference))}
    initiatives = db.session.execute(
        select(Initiative.id, Initiative.reference, Initiative.name, Initiative.call_id, Initiative.status,
               Initiative.currency, Initiative.started_at).order_by(Initiative.reference)).all()

    loan_totals: dict[str, list[int]] = {}
    money = _money_rows(today, loan_totals)
    leverage, leverage_totals = _leverage(money)
    money_totals = _totals(money)

    # Stages, statuses, self-funding, terminations.
    starts: dict[int, date] = {}
    years: dict[int, int] = {}
    by_year_status: dict[tuple[int, str], int] = defaultdict(int)
    by_status: dict[str, int] = {s.value: 0 for s in InitiativeStatus}
    by_year: dict[int, int] = defaultdict(int)
    by_call: dict[int, int] = defaultdict(int)
    reached, running = 0, 0
    for row in initiatives:
        start = _start(row.started_at, zone)
        year = _year(start, today)
        starts[row.id], years[row.id] = start, year
        status = InitiativeStatus(row.status)
        by_year_status[(year, status.value)] += 1
        by_status[status.value] += 1
        by_year[year] += 1
        by_call[row.call_id] += 1
        if year > len(calls[row.call_id].rules.funding.external_share.schedule):
            reached += 1
            running += status != InitiativeStatus.TERMINATED
    reviews = db.session.scalar(select(func.count(MilestoneReview.id)).where(
        MilestoneReview.decision == MilestoneDecision.TERMINATE)) or 0

    return ProgrammeFigures(
        today=today,
        calls=[CallRef(c.id, c.reference, c.name, c.is_public) for c in calls.values()],
        money=money, money_totals=money_totals, leverage=leverage, leverage_totals=leverage_totals,
        shares=_shares(initiatives, calls, starts, years),
        funds=_funds(today, loan_totals),
        by_year_status=dict(by_year_status), by_status=by_status, by_year=dict(sorted(by_year.items())),
        self_funding=SelfFunding(reached, running),
        terminated=by_status[InitiativeStatus.TERMINATED.value], termination_reviews=int(reviews),
        initiatives=len(initiatives), initiatives_by_call=dict(by_call), reports=_reports(today),
    )


def _reports(today: date) -> ReportFigures:
    """Two counts: scorecards, and reports by status and whether a draft is past its due date."""
    scorecards = db.session.scalar(select(func.count(Scorecard.id))) or 0
    running = Initiative.status.notin_([InitiativeStatus.TERMINATED.value, InitiativeStatus.COMPLETED.value])
    late = case((SelfEvaluationReport.due_on < today, 1), else_=0)
    counts = {"submitted": 0, "open": 0, "overdue": 0}
    for status, overdue, number in db.session.execute(
            select(SelfEvaluationReport.status, late, func.count(SelfEvaluationReport.id))
            .join(Initiative, Initiative.id == SelfEvaluationReport.initiative_id)
            .where(or_(SelfEvaluationReport.status == ReportStatus.SUBMITTED, running))
            .group_by(SelfEvaluationReport.status, late)):
        if ReportStatus(status) is ReportStatus.SUBMITTED:
            counts["submitted"] += number
        else:
            counts["overdue" if overdue else "open"] += number
    return ReportFigures(scorecards=scorecards, **counts)


def _money_rows(today: date, loan_totals: dict[str, list[int]]) -> list[InstrumentMoney]:
    """Committed and paid per call, instrument and currency (five grouped queries); fills ``loan_totals`` with the
    loans' figures per currency for ``_funds`` (active loans, and in cents: outstanding, at risk over 30 days,
    written off, recovered, principal repaid)."""
    sums: dict[tuple[int, str, str], list[Decimal]] = defaultdict(lambda: [ZERO, ZERO])
    kind = {GrantKind.STARTUP.value: STARTUP, GrantKind.MATCHING.value: MATCHING}
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
    # Verified co-financing rides along as a pseudo-instrument, split off in _leverage.
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


def _leverage(rows: list[InstrumentMoney]) -> tuple[list[Leverage], list[Leverage]]:
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


def _totals(rows: list[InstrumentMoney]) -> list[InstrumentMoney]:
    sums: dict[tuple[str, str], list[Decimal]] = defaultdict(lambda: [ZERO, ZERO])
    for row in rows:
        sums[(row.instrument, row.currency)][0] += row.committed
        sums[(row.instrument, row.currency)][1] += row.paid
    order = list(INSTRUMENTS)
    return [InstrumentMoney(0, instrument, currency, committed, paid)
            for (instrument, currency), (committed, paid)
            in sorted(sums.items(), key=lambda item: (item[0][1], order.index(item[0][0])))]


def _shares(initiatives: list[Any], calls: dict[int, Call], starts: dict[int, date],
            years: dict[int, int]) -> list[InitiativeShare]:
    """The external share of every running initiative in its current year: two queries over all of them (the
    paid matching tranches and the verified co-financing on or after the earliest start of a current year),
    summed per initiative for the dates within its own current year."""
    running = [row for row in initiatives if InitiativeStatus(row.status) in RUNNING]
    if not running:
        return []
    bounds = {row.id: (year_begins(starts[row.id], years[row.id]), year_begins(starts[row.id], years[row.id] + 1))
              for row in running}
    earliest = min(first for first, _ in bounds.values())
    paid: dict[int, int] = defaultdict(int)
    cofinancing: dict[int, int] = defaultdict(int)
    for initiative_id, day, cents in db.session.execute(
            select(Disbursement.initiative_id, Disbursement.value_date, sum_cents(Disbursement.amount))
            .join(Grant, Grant.id == Disbursement.grant_id)
            .where(Grant.kind == GrantKind.MATCHING, Disbursement.status == DisbursementStatus.PAID,
                   Disbursement.value_date >= earliest)
            .group_by(Disbursement.initiative_id, Disbursement.value_date)):
        if initiative_id in bounds and bounds[initiative_id][0] <= day < bounds[initiative_id][1]:
            paid[initiative_id] += int(cents)
    for initiative_id, day, cents in db.session.execute(
            select(CoFinancingContribution.initiative_id, CoFinancingContribution.contributed_on,
                   sum_cents(CoFinancingContribution.amount))
            .where(CoFinancingContribution.status == ContributionStatus.VERIFIED,
                   CoFinancingContribution.contributed_on >= earliest)
            .group_by(CoFinancingContribution.initiative_id, CoFinancingContribution.contributed_on)):
        if initiative_id in bounds and bounds[initiative_id][0] <= day < bounds[initiative_id][1]:
            cofinancing[initiative_id] += int(cents)
    shares = []
    for row in running:
        schedule = calls[row.call_id].rules.funding.external_share
        year = years[row.id]
        shares.append(InitiativeShare(
            initiative_id=row.id, reference=row.reference, name=row.name, call_id=row.call_id,
            status=InitiativeStatus(row.status), currency=row.currency, year=year,
            cap=Decimal(schedule.cap_for_year(year)), at_floor=year > len(schedule.schedule),
            paid=from_cents(paid[row.id]), cofinancing=from_cents(cofinancing[row.id])))
    return shares


def _funds(today: date, loan_totals: dict[str, list[int]]) -> list[FundFigures]:
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
