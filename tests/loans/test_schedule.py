"""Loan schedules: agreement with numpy-financial, exact residues, grace, due dates, rounding, validation."""

from __future__ import annotations

import dataclasses
import itertools
from datetime import date, datetime
from decimal import ROUND_HALF_UP, Decimal

import numpy_financial as npf
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from programme.core.money import round_money
from programme.loans.schedule import PERIODS_PER_YEAR, Instalment, LoanTerms, annuity_payment, build_schedule

CENT = Decimal("0.01")
# numpy-financial divides 0 by 0 inside ipmt/ppmt at a zero rate (and then returns the right figure)
pytestmark = pytest.mark.filterwarnings("ignore:invalid value encountered in divide:RuntimeWarning")


def ref(value: object) -> Decimal:
    """A numpy-financial result (a float), rounded half-up to the cent as a spreadsheet would."""
    return Decimal(repr(float(value))).quantize(CENT, rounding=ROUND_HALF_UP)


def drift_bound(rate: Decimal, periods: int) -> Decimal:
    """How far our balance can stray from the exact one after ``periods`` periods.

    Each period the rounded payment and the rounded interest differ from the exact ones by at most
    half a cent each, and an error in the balance grows with the rate: |d_k| <= |d_(k-1)|(1 + r) + 1 cent.
    """
    if rate == 0:
        return CENT * periods
    return CENT * (((1 + rate) ** periods - 1) / rate)


def terms(**changes: object) -> LoanTerms:
    values: dict[str, object] = {
        "principal": Decimal("12000.00"),
        "annual_rate": Decimal("0.12"),
        "term_periods": 12,
        "first_due": date(2025, 1, 31),
        "currency": "EUR",
    }
    values.update(changes)
    return LoanTerms(**values)  # type: ignore[arg-type]


def check_conservation(loan: LoanTerms, schedule: list[Instalment]) -> None:
    """The invariants every schedule keeps."""
    assert len(schedule) == loan.grace_periods + loan.term_periods
    assert sum((line.principal for line in schedule), Decimal(0)) == loan.principal
    assert schedule[-1].balance_after == 0
    quantum = round_money(Decimal(0), loan.currency).as_tuple().exponent
    balance = loan.principal
    for index, line in enumerate(schedule):
        assert line.number == index + 1
        for name in ("principal", "interest", "total", "balance_after"):
            value = getattr(line, name)
            assert type(value) is Decimal, name
            assert value.as_tuple().exponent == quantum, (name, value)
        assert line.principal >= 0 and line.interest >= 0
        per_year = PERIODS_PER_YEAR[loan.frequency]
        assert line.interest == round_money(balance * loan.annual_rate / per_year, loan.currency, loan.rounding)
        assert line.total == line.principal + line.interest
        balance -= line.principal
        assert line.balance_after == balance >= 0
        if index < loan.grace_periods:
            assert line.principal == 0


# -- agreement with numpy-financial ------------------------------------------------------------------

PRINCIPALS = ["100.05", "1000.00", "12345.67", "250000.01"]
RATES = ["0", "0.01", "0.04", "0.12"]
FREQUENCIES = ["monthly", "quarterly"]
TERMS = [1, 12, 37, 60]


@pytest.mark.parametrize(("principal", "rate", "frequency", "periods"),
                         list(itertools.product(PRINCIPALS, RATES, FREQUENCIES, TERMS)))
def test_annuity_agrees_with_numpy_financial(principal: str, rate: str, frequency: str, periods: int) -> None:
    loan = terms(principal=Decimal(principal), annual_rate=Decimal(rate), term_periods=periods, frequency=frequency)
    schedule = build_schedule(loan)
    check_conservation(loan, schedule)
    r = loan.periodic_rate
    fr, pv = float(r), float(principal)

    payment = ref(-npf.pmt(fr, periods, pv))
    assert annuity_payment(loan.principal, r, periods, "EUR") == payment
    for line in schedule[:-1]:
        assert line.total == payment  # the level instalment is numpy's pmt rounded to the cent
    for line in schedule:
        k = line.number
        before = drift_bound(r, k - 1)
        assert abs(line.interest - ref(-npf.ipmt(fr, k, periods, pv))) <= r * before + CENT
        principal_gap = abs(line.principal - ref(-npf.ppmt(fr, k, periods, pv)))
        if k < periods:
            assert principal_gap <= r * before + Decimal("0.015")
        else:  # the last one takes the residue: the whole remaining balance
            assert principal_gap <= before + Decimal("0.005")


@pytest.mark.parametrize(("rate", "periods", "grace"),
                         list(itertools.product(["0", "0.005", "0.01", "0.025", "0.05"], [6, 24, 60, 120], [0, 3, 12])))
def test_issue_grid_interest_within_one_cent_of_ipmt(rate: str, periods: int, grace: int) -> None:
    """Issue 5's grid (0-5 %, 6-120 months, grace 0-12): every part within a cent of ipmt / ppmt."""
    loan = terms(principal=Decimal("12345.67"), annual_rate=Decimal(rate), term_periods=periods,
                 grace_periods=grace, grace="interest_only" if grace else "none")
    schedule = build_schedule(loan)
    check_conservation(loan, schedule)
    fr, pv = float(loan.periodic_rate), float(loan.principal)
    payment = ref(-npf.pmt(fr, periods, pv))
    for line in schedule[:grace]:
        assert line.interest == ref(pv * fr) and line.principal == 0
    for line in schedule[grace:]:
        k = line.number - grace
        assert abs(line.interest - ref(-npf.ipmt(fr, k, periods, pv))) <= CENT
        if k < periods:
            assert line.total == payment
            assert abs(line.principal - ref(-npf.ppmt(fr, k, periods, pv))) <= CENT


@settings(max_examples=300, deadline=None)
@given(
    cents=st.integers(min_value=1, max_value=10**11),
    rate_bp=st.integers(min_value=0, max_value=2500),
    periods=st.integers(min_value=1, max_value=360),
    grace=st.integers(min_value=0, max_value=24),
    method=st.sampled_from(["annuity", "equal_principal"]),
    frequency=st.sampled_from(FREQUENCIES),
    rounding=st.sampled_from(["half_up", "half_even"]),
    currency=st.sampled_from(["EUR", "JPY", "KWD"]),
)
def test_principal_parts_always_sum_to_the_principal(cents: int, rate_bp: int, periods: int, grace: int, method: str,
                                                     frequency: str, rounding: str, currency: str) -> None:
    places = {"EUR": 2, "JPY": 0, "KWD": 3}[currency]
    loan = terms(principal=Decimal(cents).scaleb(-places), annual_rate=Decimal(rate_bp).scaleb(-4),
                 term_periods=periods, grace_periods=grace, grace="interest_only" if grace else "none",
                 method=method, frequency=frequency, rounding=rounding, currency=currency)
    schedule = build_schedule(loan)
    check_conservation(loan, schedule)
    level = annuity_payment(loan.principal, loan.periodic_rate, periods, currency, rounding)
    part = round_money(loan.principal / periods, currency, rounding)
    for line in schedule[grace:-1]:
        capped = line.balance_after == 0  # a tiny loan whose rounded-up parts reached the principal early
        if method == "annuity":
            assert line.total == level or capped
        else:
            assert line.principal == part or capped


# -- particular cases ---------------------------------------------------------------------------------

def test_zero_rate_annuity_spreads_the_principal_with_the_residue_last() -> None:
    schedule = build_schedule(terms(principal=Decimal("1000.00"), annual_rate=Decimal(0), term_periods=3))
    assert [line.principal for line in schedule] == [Decimal("333.33"), Decimal("333.33"), Decimal("333.34")]
    assert all(line.interest == 0 for line in schedule)
    assert [line.balance_after for line in schedule] == [Decimal("666.67"), Decimal("333.34"), Decimal("0.00")]


def test_single_instalment_repays_principal_and_one_period_of_interest() -> None:
    [line] = build_schedule(terms(principal=Decimal("1000.00"), annual_rate=Decimal("0.04"), term_periods=1,
                                  frequency="quarterly"))
    assert (line.principal, line.interest, line.total) == (Decimal("1000.00"), Decimal("10.00"), Decimal("1010.00"))


def test_interest_only_grace_then_annuity() -> None:
    loan = terms(term_periods=12, grace_periods=3, grace="interest_only")
    schedule = build_schedule(loan)
    check_conservation(loan, schedule)
    assert len(schedule) == 15
    for line in schedule[:3]:
        assert (line.principal, line.interest, line.balance_after) == (Decimal("0.00"), Decimal("120.00"),
                                                                       Decimal("12000.00"))
    assert schedule[3].total == ref(-npf.pmt(0.01, 12, 12000)) == Decimal("1066.19")
    assert schedule[3].interest == Decimal("120.00")
    assert schedule[3].due_date == date(2025, 4, 30)
    assert schedule[-1].due_date == date(2026, 3, 31)


def test_zero_rate_grace_has_instalments_of_zero() -> None:
    schedule = build_schedule(terms(annual_rate=Decimal(0), term_periods=4, grace_periods=2, grace="interest_only"))
    assert [line.total for line in schedule[:2]] == [Decimal("0.00"), Decimal("0.00")]
    assert [line.principal for line in schedule[2:]] == [Decimal("3000.00")] * 4


def test_grace_none_refuses_grace_periods() -> None:
    with pytest.raises(ValueError, match="grace 'none'"):
        terms(grace_periods=2, grace="none")


def test_equal_principal_instalments_decline() -> None:
    loan = terms(principal=Decimal("1200.00"), method="equal_principal")
    schedule = build_schedule(loan)
    check_conservation(loan, schedule)
    assert all(line.principal == Decimal("100.00") for line in schedule)
    assert [line.interest for line in schedule[:3]] == [Decimal("12.00"), Decimal("11.00"), Decimal("10.00")]
    totals = [line.total for line in schedule]
    assert totals == sorted(totals, reverse=True) and len(set(totals)) == len(totals)
    assert totals[-1] == Decimal("101.00")


def test_equal_principal_residue_on_the_last() -> None:
    schedule = build_schedule(terms(principal=Decimal("1000.00"), term_periods=3, method="equal_principal"))
    assert [line.principal for line in schedule] == [Decimal("333.33"), Decimal("333.33"), Decimal("333.34")]
    assert [line.interest for line in schedule] == [Decimal("10.00"), Decimal("6.67"), Decimal("3.33")]


def test_tiny_principal_never_repays_more_than_the_balance() -> None:
    loan = terms(principal=Decimal("0.99"), annual_rate=Decimal(0), term_periods=37)
    schedule = build_schedule(loan)
    check_conservation(loan, schedule)  # 0.03 a month reaches 0.99 after 33 instalments; the rest are 0
    assert schedule[32].balance_after == 0 and all(line.total == 0 for line in schedule[33:])


def test_minor_unit_of_the_currency() -> None:
    loan = terms(principal=Decimal("100000"), currency="jpy", annual_rate=Decimal("0.05"))
    schedule = build_schedule(loan)
    check_conservation(loan, schedule)
    assert loan.currency == "JPY"
    assert schedule[0].total == Decimal("8561") and schedule[0].interest == Decimal("417")


# -- due dates ----------------------------------------------------------------------------------------

@pytest.mark.parametrize(("year", "february"), [(2028, 29), (2027, 28)])
def test_due_dates_keep_the_first_due_day_of_month(year: int, february: int) -> None:
    schedule = build_schedule(terms(first_due=date(year, 1, 31), term_periods=5))
    assert [line.due_date for line in schedule] == [
        date(year, 1, 31), date(year, 2, february), date(year, 3, 31), date(year, 4, 30), date(year, 5, 31),
    ]


def test_quarterly_due_dates_from_the_first_due_date() -> None:
    schedule = build_schedule(terms(first_due=date(2027, 11, 30), term_periods=4, frequency="quarterly"))
    assert [line.due_date for line in schedule] == [
        date(2027, 11, 30), date(2028, 2, 29), date(2028, 5, 30), date(2028, 8, 30),
    ]


# -- rounding and Decimal -----------------------------------------------------------------------------

def test_half_even_and_half_up_differ_on_a_tie() -> None:
    # 1000.50 at 1 % a month: the interest is exactly 10.005
    up = build_schedule(terms(principal=Decimal("1000.50"), term_periods=1))
    even = build_schedule(terms(principal=Decimal("1000.50"), term_periods=1, rounding="half_even"))
    assert up[0].interest == Decimal("10.01") and even[0].interest == Decimal("10.00")
    # 1000.10 over 4 periods at 0 %: the level payment is exactly 250.025
    up = build_schedule(terms(principal=Decimal("1000.10"), annual_rate=Decimal(0), term_periods=4))
    even = build_schedule(terms(principal=Decimal("1000.10"), annual_rate=Decimal(0), term_periods=4,
                                rounding="half_even"))
    assert [line.total for line in up] == [Decimal("250.03")] * 3 + [Decimal("250.01")]
    assert [line.total for line in even] == [Decimal("250.02")] * 3 + [Decimal("250.04")]


def test_no_float_anywhere() -> None:
    loan = terms(principal="5000.00", annual_rate="0.04", grace_periods=2, grace="interest_only",
                 method="equal_principal", frequency="quarterly")
    assert type(loan.principal) is Decimal and type(loan.annual_rate) is Decimal
    for line in build_schedule(loan):
        for item in dataclasses.fields(line):
            value = getattr(line, item.name)
            assert not isinstance(value, float)
            assert type(value) in {Decimal, int, date}
        assert type(line.principal) is type(line.interest) is type(line.total) is type(line.balance_after) is Decimal


@pytest.mark.parametrize(("changes", "message"), [
    ({"principal": 1000.0}, "float"),
    ({"annual_rate": 0.04}, "float"),
    ({"principal": Decimal(0)}, "greater than 0"),
    ({"principal": Decimal("-5.00")}, "greater than 0"),
    ({"principal": Decimal("10.001")}, "decimal places"),
    ({"principal": "abc"}, "not a number"),
    ({"annual_rate": Decimal("-0.01")}, "0 or more"),
    ({"term_periods": 0}, "term"),
    ({"term_periods": True}, "term"),
    ({"grace_periods": -1, "grace": "interest_only"}, "grace"),
    ({"grace": "capitalised"}, "grace must be one of"),
    ({"frequency": "weekly"}, "frequency"),
    ({"method": "balloon"}, "method"),
    ({"rounding": "down"}, "rounding"),
    ({"currency": "EURO"}, "currency"),
    ({"first_due": datetime(2025, 1, 31, 12)}, "date"),
    ({"first_due": "2025-01-31"}, "date"),
])
def test_bad_terms_are_refused(changes: dict[str, object], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        terms(**changes)
