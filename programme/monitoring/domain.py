"""Self-evaluation reporting periods and the dates that follow from them (pure: no Flask, no database).

Periods follow the rules' ``report_frequency_months`` from the initiative's start date. Period ``n`` begins
``frequency * (n - 1)`` months after the start and ends the day before period ``n + 1`` begins (both ends
inclusive). Each step is counted from the start date itself, never from the previous period, so a start on the
31st stays on the last day of the shorter months without drifting (31 Jan, 28 Feb, 31 Mar, 30 Apr...). The
report of a period is due ``due_days`` after the period ends.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

from dateutil.relativedelta import relativedelta


@dataclass(frozen=True)
class ReportPeriod:
    number: int
    period_start: date
    period_end: date  # inclusive
    due_on: date


def period_start(start: date, frequency_months: int, number: int) -> date:
    """The first day of period ``number`` (1, 2, ...)."""
    if frequency_months < 1:
        raise ValueError("the report frequency is at least one month")
    if number < 1:
        raise ValueError("periods are numbered from 1")
    return start + relativedelta(months=frequency_months * (number - 1))


def report_period(start: date, frequency_months: int, due_days: int, number: int) -> ReportPeriod:
    """Period ``number`` of an initiative that started on ``start``."""
    if due_days < 0:
        raise ValueError("a report cannot be due before its period ends")
    begins = period_start(start, frequency_months, number)
    ends = period_start(start, frequency_months, number + 1) - timedelta(days=1)
    return ReportPeriod(number, begins, ends, ends + timedelta(days=due_days))


def report_periods(start: date, frequency_months: int, due_days: int, up_to: date) -> list[ReportPeriod]:
    """Every period that has begun by ``up_to`` (the current one included), in order; none before the start."""
    periods: list[ReportPeriod] = []
    number = 1
    while period_start(start, frequency_months, number) <= up_to:
        periods.append(report_period(start, frequency_months, due_days, number))
        number += 1
    return periods


def reminder_day(due_on: date, reminder_days: int) -> date:
    """The first day the group is reminded of a report due on ``due_on``."""
    return due_on - timedelta(days=reminder_days)


def reminder_due(due_on: date, reminder_days: int, today: date) -> bool:
    """Whether an unsubmitted report is to be reminded today (the job reminds it once)."""
    return today >= reminder_day(due_on, reminder_days)


def is_overdue(due_on: date, today: date) -> bool:
    """A report not submitted by its due date is overdue from the day after."""
    return today > due_on
