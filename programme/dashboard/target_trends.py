"""The history of the figures the programme's targets name: each figure at the end of each quarter (or year) of the
programme's history, worked out again from dated records with the dashboard's own definitions
(``dashboard.figures``). Read-only; a fixed number of queries whatever the number of periods; money summed in
SQL as whole cents and grouped by day, then accumulated here.

How each history is made (the page says it beside each chart):

- **co-financing leveraged**: co-financing verified (by the day it was verified) ÷ grants paid (by value date) +
  fund capitalisations (by value date), all up to the period's end, per currency.
- **PAR30** and the **recovery rate**: the daily job's programme figures of the last day it ran in the period
  (``loans.PortfolioFigures``); a period in which it did not run has no figure (they are not recomputed: the loans
  keep no history of their days late).
- **reports in on time**: submitted by the period's end ÷ (those + reports then past their due date and not yet
  submitted, of initiatives still running then). An initiative stopped running on the day a milestone review
  terminated or completed it (or its ``terminated_on``); one marked terminated or completed with no such day is
  left out of the overdue count throughout.
- **self-funding**: of the initiatives that had started and were past the last year of their call's schedule at
  the period's end, the share not terminated by then (terminated: as above).
- **money recovered on written-off loans**: recovered (repayments' recoveries by value date) ÷ written off (the
  write-offs' days), up to the period's end, per currency.
- **initiatives over their cap** is not reconstructed: it needs each initiative's share in the programme year it
  was in at each past date; the page says so and shows today's figure only.
"""

from __future__ import annotations

import bisect
from calendar import monthrange
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from decimal import ROUND_HALF_UP, Decimal

from sqlalchemy import select

from programme.calls.models import Call
from programme.core.db import from_cents, sum_cents
from programme.core.texts import gettext as _
from programme.core.timezone import local_date
from programme.dashboard._common import PAR_PLACES, SHARE_PLACES, ratio
from programme.extensions import db
from programme.funding.domain import year_begins
from programme.funding.models import (
    CoFinancingContribution,
    ContributionStatus,
    Disbursement,
    DisbursementStatus,
    Initiative,
    InitiativeStatus,
)
from programme.loans.models import (
    Capitalisation,
    Loan,
    LoanEvent,
    LoanEventKind,
    PortfolioFigures,
    Repayment,
    RevolvingFund,
)
from programme.monitoring.models import MilestoneReview, ReportStatus, SelfEvaluationReport

#: At most this many periods are shown (the newest).
MOST_PERIODS = 40
#: Scope of a programme-wide figure (not per currency).
PROGRAMME = ""


@dataclass(frozen=True)
class History:
    """A figure at each period end, per scope (a currency, or ``PROGRAMME``); ``how``: how it was made, or why it
    could not be (``values`` then empty)."""

    values: dict[str, list[Decimal | None]]
    how: str
    reconstructed: bool = True


def period_ends(first: date, today: date, step: str) -> list[date]:
    """The last day of each quarter (``step`` "quarter") or year ("year") from the one holding ``first`` up to
    before ``today``, then ``today``; the newest ``MOST_PERIODS``."""
    ends: list[date] = []
    year, month = first.year, (((first.month - 1) // 3 + 1) * 3 if step == "quarter" else 12)
    while True:
        end = date(year, month, monthrange(year, month)[1])
        if end >= today:
            break
        ends.append(end)
        month += 3 if step == "quarter" else 12
        if month > 12:
            year, month = year + 1, month - 12
    ends.append(today)
    return ends[-MOST_PERIODS:]


def programme_start(zone: str) -> date | None:
    """The day the programme's history begins: its first initiative's start."""
    first = db.session.scalar(select(Initiative.started_at).order_by(Initiative.started_at).limit(1))
    return None if first is None else local_date(first, zone)


def _accumulated(moves: dict[str, list[tuple[date, Decimal]]], ends: list[date]) -> dict[str, list[Decimal]]:
    """Per scope, the sum of the dated amounts on or before each end."""
    result: dict[str, list[Decimal]] = {}
    for scope, dated in moves.items():
        dated.sort()
        days = [day for day, _ in dated]
        running, totals = Decimal("0.00"), [Decimal("0.00")]
        for _day, amount in dated:
            running += amount
            totals.append(running)
        result[scope] = [totals[bisect.bisect_right(days, end)] for end in ends]
    return result


# ------------------------------------------------------------------------------------------------ money


def leverage_history(ends: list[date], zone: str) -> History:
    paid: dict[str, list[tuple[date, Decimal]]] = defaultdict(list)
    cofinancing: dict[str, list[tuple[date, Decimal]]] = defaultdict(list)
    for currency, day, cents in db.session.execute(
            select(Disbursement.currency, Disbursement.value_date, sum_cents(Disbursement.amount))
            .where(Disbursement.status == DisbursementStatus.PAID, Disbursement.value_date.is_not(None))
            .group_by(Disbursement.currency, Disbursement.value_date)):
        paid[currency].append((day, from_cents(cents)))
    for currency, day, cents in db.session.execute(
            select(RevolvingFund.currency, Capitalisation.value_date, sum_cents(Capitalisation.amount))
            .join(RevolvingFund, RevolvingFund.id == Capitalisation.fund_id)
            .group_by(RevolvingFund.currency, Capitalisation.value_date)):
        paid[currency].append((day, from_cents(cents)))
    for currency, moment, cents in db.session.execute(
            select(CoFinancingContribution.currency, CoFinancingContribution.verified_at,
                   sum_cents(CoFinancingContribution.amount))
            .where(CoFinancingContribution.status == ContributionStatus.VERIFIED,
                   CoFinancingContribution.verified_at.is_not(None))
            .group_by(CoFinancingContribution.currency, CoFinancingContribution.verified_at)):
        cofinancing[currency].append((local_date(moment, zone), from_cents(cents)))
    paid_by, verified_by = _accumulated(paid, ends), _accumulated(cofinancing, ends)
    zero = [Decimal("0.00")] * len(ends)
    values = {currency: [ratio(verified, whole, SHARE_PLACES) for verified, whole
                         in zip(verified_by.get(currency, zero), paid_by.get(currency, zero), strict=True)]
              for currency in sorted(set(paid) | set(cofinancing))}
    return History(values, _("Co-financing verified by the period's end (by the day it was verified) ÷ grants paid "
                             "(by value date) + fund capitalisations (by value date) by then."))


def write_off_recovery_history(ends: list[date], zone: str) -> History:
    written: dict[str, list[tuple[date, Decimal]]] = defaultdict(list)
    recovered: dict[str, list[tuple[date, Decimal]]] = defaultdict(list)
    for currency, day, cents in db.session.execute(
            select(Loan.currency, LoanEvent.on_date, sum_cents(LoanEvent.amount))
            .join(Loan, Loan.id == LoanEvent.loan_id)
            .where(LoanEvent.kind == LoanEventKind.WRITTEN_OFF, LoanEvent.amount.is_not(None))
            .group_by(Loan.currency, LoanEvent.on_date)):
        written[currency].append((day, from_cents(cents)))
    for currency, day, cents in db.session.execute(
            select(Loan.currency, Repayment.value_date, sum_cents(Repayment.recovery))
            .join(Loan, Loan.id == Repayment.loan_id).where(Repayment.recovery > 0)
            .group_by(Loan.currency, Repayment.value_date)):
        recovered[currency].append((day, from_cents(cents)))
    written_by, recovered_by = _accumulated(written, ends), _accumulated(recovered, ends)
    zero = [Decimal("0.00")] * len(ends)
    values = {currency: [ratio(back, off, SHARE_PLACES) for back, off
                         in zip(recovered_by.get(currency, zero), written_by.get(currency, zero), strict=True)]
              for currency in sorted(set(written) | set(recovered))}
    return History(values, _("Money recovered on written-off loans by the period's end (by value date) ÷ principal "
                             "written off by then (by the day of the write-off)."))


def portfolio_history(ends: list[date], zone: str, *, figure: str) -> History:
    """PAR30 (``figure`` "par30") or the recovery rate ("recovery_rate") from the daily job's programme rows: the
    last day it ran in each period."""
    rows = db.session.execute(
        select(PortfolioFigures.as_of, PortfolioFigures.currency, PortfolioFigures.par30,
               PortfolioFigures.due_to_date, PortfolioFigures.repaid_to_date)
        .where(PortfolioFigures.fund_id.is_(None), PortfolioFigures.as_of <= ends[-1])
        .order_by(PortfolioFigures.as_of)).all()
    by_currency: dict[str, list[tuple[date, Decimal | None]]] = defaultdict(list)
    for as_of, currency, par30, due, repaid in rows:
        value = (Decimal(par30).quantize(PAR_PLACES, ROUND_HALF_UP) if figure == "par30"
                 else ratio(Decimal(repaid), Decimal(due), SHARE_PLACES))
        by_currency[currency].append((as_of, value))
    values: dict[str, list[Decimal | None]] = {}
    for currency, dated in by_currency.items():
        days = [day for day, _ in dated]
        series: list[Decimal | None] = []
        for index, end in enumerate(ends):
            found = bisect.bisect_right(days, end) - 1
            begins = ends[index - 1] if index else None
            series.append(dated[found][1] if found >= 0 and (begins is None or days[found] > begins) else None)
        values[currency] = series
    return History(dict(sorted(values.items())),
                   _("The daily job's programme figures of the last day it ran in each period; a period in which it "
                     "did not run has no figure (the loans keep no history of their days late to recompute it)."))


# ------------------------------------------------------------------------------------------------ initiatives


def _stopped(zone: str) -> tuple[dict[int, date], set[int], set[int]]:
    """When each initiative stopped running (terminated or completed: the milestone review's day, else
    ``terminated_on``), the ids terminated, and the ids terminated or completed with no such day."""
    stopped: dict[int, date] = {}
    terminated: set[int] = set()
    undated: set[int] = set()
    ending = (InitiativeStatus.TERMINATED, InitiativeStatus.COMPLETED)
    for initiative_id, day in db.session.execute(
            select(MilestoneReview.initiative_id, MilestoneReview.decided_on)
            .where(MilestoneReview.status_after.in_(ending))):
        stopped[initiative_id] = min(day, stopped.get(initiative_id, day))
    for initiative_id, status, terminated_on in db.session.execute(
            select(Initiative.id, Initiative.status, Initiative.terminated_on)
            .where(Initiative.status.in_(ending))):
        if InitiativeStatus(status) is InitiativeStatus.TERMINATED:
            terminated.add(initiative_id)
        if terminated_on is not None:
            stopped[initiative_id] = min(terminated_on, stopped.get(initiative_id, terminated_on))
        if initiative_id not in stopped:
            undated.add(initiative_id)
    return stopped, terminated, undated


def reports_history(ends: list[date], zone: str) -> History:
    stopped, _terminated, undated = _stopped(zone)
    submitted = [0] * len(ends)
    overdue_changes = [0] * (len(ends) + 1)
    for initiative_id, due_on, status, submitted_at in db.session.execute(
            select(SelfEvaluationReport.initiative_id, SelfEvaluationReport.due_on, SelfEvaluationReport.status,
                   SelfEvaluationReport.submitted_at)):
        done = (local_date(submitted_at, zone)
                if ReportStatus(status) is ReportStatus.SUBMITTED and submitted_at is not None else None)
        if done is not None:
            first = bisect.bisect_left(ends, done)  # counted as submitted from the first end on or after it
            if first < len(ends):
                submitted[first] += 1
        if initiative_id in undated:
            continue
        # Overdue at an end after its due day, before it was submitted and while its initiative ran.
        begins = bisect.bisect_right(ends, due_on)
        stops = len(ends)
        for limit in (done, stopped.get(initiative_id)):
            if limit is not None:
                stops = min(stops, bisect.bisect_left(ends, limit))
        if begins < stops:
            overdue_changes[begins] += 1
            overdue_changes[stops] -= 1
    values: list[Decimal | None] = []
    running_submitted = running_overdue = 0
    for index in range(len(ends)):
        running_submitted += submitted[index]
        running_overdue += overdue_changes[index]
        values.append(ratio(Decimal(running_submitted), Decimal(running_submitted + running_overdue),
                            SHARE_PLACES))
    return History({PROGRAMME: values},
                   _("Reports submitted by the period's end ÷ (those + reports then past their due date and not yet "
                     "submitted, of initiatives still running then)."))


def self_funding_history(ends: list[date], zone: str) -> History:
    stopped, terminated, _undated = _stopped(zone)
    lengths = {call.id: len(call.rules.funding.external_share.schedule)
               for call in db.session.scalars(select(Call).where(Call.id.in_(select(Initiative.call_id))))}
    reached = [0] * (len(ends) + 1)
    failed = [0] * (len(ends) + 1)
    for initiative_id, call_id, started_at in db.session.execute(
            select(Initiative.id, Initiative.call_id, Initiative.started_at)):
        floor = year_begins(local_date(started_at, zone), lengths[call_id] + 1)
        reached[bisect.bisect_left(ends, floor)] += 1
        if initiative_id in terminated:
            day = stopped.get(initiative_id)
            failed[bisect.bisect_left(ends, max(day, floor)) if day is not None
                   else bisect.bisect_left(ends, floor)] += 1
    values: list[Decimal | None] = []
    at_floor = gone = 0
    for index in range(len(ends)):
        at_floor += reached[index]
        gone += failed[index]
        values.append(ratio(Decimal(at_floor - gone), Decimal(at_floor), SHARE_PLACES))
    return History({PROGRAMME: values},
                   _("Of the initiatives past the last year of their call's schedule at the period's end, the share "
                     "not terminated by then."))


def not_reconstructed(ends: list[date], zone: str) -> History:
    return History({}, _("Not reconstructed: it needs each initiative's external share in the programme year it "
                         "was in at each past date, which the records do not keep; only today's figure is shown."),
                   reconstructed=False)


#: Each target figure's history.
HISTORIES: dict[str, Callable[[list[date], str], History]] = {
    "co_financing_leveraged": leverage_history,
    "self_funding_share": self_funding_history,
    "par30": lambda ends, zone: portfolio_history(ends, zone, figure="par30"),
    "reports_on_time": reports_history,
    "recovery_rate": lambda ends, zone: portfolio_history(ends, zone, figure="recovery_rate"),
    "write_off_recovery": write_off_recovery_history,
    "initiatives_over_cap": not_reconstructed,
}
