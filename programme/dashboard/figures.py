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
  compared with the cap of the call's schedule for that year (the floor after the schedule). Funding works it
  out (``funding.services.shares``, ``funding.domain.year_share``); the dashboard does not re-derive it.
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
  length of the schedule: they are at the floor, ``funding.domain.at_floor``), how many are not terminated.

The figures are gathered by flow: ``money_figures`` (money per call and instrument, co-financing leveraged),
``share_figures`` (the external share), ``fund_figures`` (the revolving funds); this module reads them all
(``programme_figures``) with the initiatives' stages, self-funding, terminations and self-evaluation.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from zoneinfo import ZoneInfo

from sqlalchemy import case, func, or_, select

from programme.calls.models import Call
from programme.dashboard._common import SHARE_PLACES, ratio
from programme.dashboard.fund_figures import FundFigures, fund_figures
from programme.dashboard.money_figures import (
    INSTRUMENTS,
    InstrumentMoney,
    Leverage,
    guarantee_money,
    leverage,
    money_rows,
    totals,
)
from programme.dashboard.share_figures import InitiativeShare, initiative_shares
from programme.extensions import db
from programme.funding.domain import at_floor, current_year
from programme.funding.models import Initiative, InitiativeStatus
from programme.monitoring.models import (
    MilestoneDecision,
    MilestoneReview,
    ReportStatus,
    Scorecard,
    SelfEvaluationReport,
)

__all__ = ["INSTRUMENTS", "CallRef", "ProgrammeFigures", "ReportFigures", "SelfFunding", "programme_figures"]


@dataclass(frozen=True)
class CallRef:
    id: int
    reference: str
    name: str
    public: bool


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
    #: Mutual guarantees called and collected, per currency (``money_figures.guarantee_money``).
    guarantees: list = field(default_factory=list)

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
    money = money_rows(today, loan_totals)
    per_call, overall = leverage(money)
    money_totals = totals(money)

    # Stages, statuses, self-funding, terminations.
    starts: dict[int, date] = {}
    by_year_status: dict[tuple[int, str], int] = defaultdict(int)
    by_status: dict[str, int] = {s.value: 0 for s in InitiativeStatus}
    by_year: dict[int, int] = defaultdict(int)
    by_call: dict[int, int] = defaultdict(int)
    reached, running = 0, 0
    for row in initiatives:
        start = row.started_at.astimezone(zone).date()
        year = current_year(start, today)
        starts[row.id] = start
        status = InitiativeStatus(row.status)
        by_year_status[(year, status.value)] += 1
        by_status[status.value] += 1
        by_year[year] += 1
        by_call[row.call_id] += 1
        if at_floor(year, len(calls[row.call_id].rules.funding.external_share.schedule)):
            reached += 1
            running += status != InitiativeStatus.TERMINATED
    reviews = db.session.scalar(select(func.count(MilestoneReview.id)).where(
        MilestoneReview.decision == MilestoneDecision.TERMINATE)) or 0

    return ProgrammeFigures(
        today=today,
        calls=[CallRef(c.id, c.reference, c.name, c.is_public) for c in calls.values()],
        money=money, money_totals=money_totals, leverage=per_call, leverage_totals=overall,
        shares=initiative_shares(initiatives, calls, starts, today=today),
        funds=fund_figures(today, loan_totals),
        by_year_status=dict(by_year_status), by_status=by_status, by_year=dict(sorted(by_year.items())),
        self_funding=SelfFunding(reached, running),
        terminated=by_status[InitiativeStatus.TERMINATED.value], termination_reviews=int(reviews),
        initiatives=len(initiatives), initiatives_by_call=dict(by_call), reports=_reports(today),
        guarantees=guarantee_money(),
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
