"""Reporting periods and their dates (pure)."""

from __future__ import annotations

from datetime import date

import pytest

from programme.monitoring.domain import (
    ReportPeriod,
    is_overdue,
    reminder_day,
    reminder_due,
    report_period,
    report_periods,
)


def test_half_yearly_periods_from_the_start():
    periods = report_periods(date(2027, 6, 1), 6, 30, date(2028, 6, 1))
    assert periods == [
        ReportPeriod(1, date(2027, 6, 1), date(2027, 11, 30), date(2027, 12, 30)),
        ReportPeriod(2, date(2027, 12, 1), date(2028, 5, 31), date(2028, 6, 30)),
        ReportPeriod(3, date(2028, 6, 1), date(2028, 11, 30), date(2028, 12, 30)),
    ]


def test_only_periods_that_have_begun():
    assert report_periods(date(2027, 6, 1), 6, 30, date(2027, 5, 31)) == []
    assert [p.number for p in report_periods(date(2027, 6, 1), 6, 30, date(2027, 6, 1))] == [1]
    assert [p.number for p in report_periods(date(2027, 6, 1), 6, 30, date(2027, 11, 30))] == [1]
    assert [p.number for p in report_periods(date(2027, 6, 1), 6, 30, date(2027, 12, 1))] == [1, 2]


def test_monthly_periods_from_the_31st_keep_to_month_ends_without_drifting():
    periods = report_periods(date(2027, 1, 31), 1, 0, date(2027, 6, 30))
    assert [(p.period_start, p.period_end) for p in periods] == [
        (date(2027, 1, 31), date(2027, 2, 27)),
        (date(2027, 2, 28), date(2027, 3, 30)),
        (date(2027, 3, 31), date(2027, 4, 29)),
        (date(2027, 4, 30), date(2027, 5, 30)),
        (date(2027, 5, 31), date(2027, 6, 29)),
        (date(2027, 6, 30), date(2027, 7, 30)),
    ]
    assert all(p.due_on == p.period_end for p in periods)
    # the periods tile the time: each starts the day after the previous one ends
    assert all((b.period_start - a.period_end).days == 1 for a, b in zip(periods, periods[1:], strict=False))


def test_a_leap_day_start_and_half_years_over_month_ends():
    periods = report_periods(date(2028, 2, 29), 6, 30, date(2030, 3, 1))
    assert [p.period_start for p in periods] == [date(2028, 2, 29), date(2028, 8, 29), date(2029, 2, 28),
                                                  date(2029, 8, 29), date(2030, 2, 28)]
    assert periods[0].period_end == date(2028, 8, 28)
    assert periods[2].period_end == date(2029, 8, 28)
    start_31 = report_periods(date(2027, 8, 31), 6, 30, date(2028, 9, 1))
    assert [(p.period_start, p.period_end, p.due_on) for p in start_31] == [
        (date(2027, 8, 31), date(2028, 2, 28), date(2028, 3, 29)),
        (date(2028, 2, 29), date(2028, 8, 30), date(2028, 9, 29)),
        (date(2028, 8, 31), date(2029, 2, 27), date(2029, 3, 29)),
    ]


def test_due_dates_reminders_and_overdue():
    period = report_period(date(2027, 6, 1), 6, 30, 1)
    assert period.due_on == date(2027, 12, 30)
    assert reminder_day(period.due_on, 14) == date(2027, 12, 16)
    assert not reminder_due(period.due_on, 14, date(2027, 12, 15))
    assert reminder_due(period.due_on, 14, date(2027, 12, 16))
    assert reminder_due(period.due_on, 14, date(2028, 1, 5))
    assert not is_overdue(period.due_on, date(2027, 12, 30))
    assert is_overdue(period.due_on, date(2027, 12, 31))


@pytest.mark.parametrize("args", [(0, 30, 1), (6, -1, 1), (6, 30, 0)])
def test_nonsense_is_refused(args):
    frequency, due_days, number = args
    with pytest.raises(ValueError):
        report_period(date(2027, 1, 1), frequency, due_days, number)
