"""A revolving fund's chart: the series of its cash and of its loans outstanding after each value date (from
the ledger's lines), drawn as step lines of an inline SVG, and the same figures as a table. Read-only."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal

from sqlalchemy import select

from programme.core.charts import Scale, Tick, coordinate, nice_step, tick_values
from programme.core.db import from_cents, sum_cents
from programme.core.money import format_number, symbols_in_use
from programme.core.texts import gettext as _
from programme.core.timezone import format_day
from programme.extensions import db
from programme.ledger.models import Account, AccountKind, JournalEntry, JournalLine
from programme.loans.models import Loan, RevolvingFund

ZERO = Decimal("0.00")


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

    y_ticks = [Tick(y(value), format_number(value, 0)) for value in tick_values(bottom_value, top_value, step)]
    x_ticks = [Tick(x(start), format_day(start)), Tick(x(end), format_day(end))]
    last = points[-1]
    decimal, group = symbols_in_use()
    marks = str.maketrans({",": group, ".": decimal})
    description = _("The fund's cash in %(currency)s from %(start)s to %(end)s, now %(cash)s, and its loans "
                    "outstanding, now %(outstanding)s; each line holds its value until the next date it changes "
                    "(%(count)s dates).", currency=currency, start=format_day(start), end=format_day(end),
                    cash=format(last.cash, ",").translate(marks),
                    outstanding=format(last.outstanding, ",").translate(marks),
                    count=len(points))
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
