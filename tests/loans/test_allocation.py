"""Allocating repayments: order, early and late payments, credits, penalties, arrears and PAR30."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from programme.loans.allocation import (
    InstalmentAllocation,
    InstalmentState,
    allocate,
    arrears_bucket,
    arrears_buckets,
    assess_penalties,
    outstanding,
    par30,
    penalty_amount,
)
from programme.loans.schedule import LoanTerms, build_schedule

D = Decimal
JAN, FEB, MAR = date(2025, 1, 31), date(2025, 2, 28), date(2025, 3, 31)


def loan() -> list[InstalmentState]:
    """Three instalments of 100.00 principal, with 10.00, 9.00 and 8.00 interest."""
    return [
        InstalmentState(1, JAN, D("100.00"), D("10.00")),
        InstalmentState(2, FEB, D("100.00"), D("9.00")),
        InstalmentState(3, MAR, D("100.00"), D("8.00")),
    ]


def parts(allocation_parts: tuple[InstalmentAllocation, ...]) -> dict[int, tuple[Decimal, Decimal, Decimal]]:
    return {part.number: (part.penalty, part.interest, part.principal) for part in allocation_parts}


def test_partial_payment_pays_interest_then_principal() -> None:
    allocation = allocate(loan(), D("50.00"), JAN, "EUR")
    assert parts(allocation.parts) == {1: (0, D("10.00"), D("40.00"))}
    assert allocation.credit == 0 and not allocation.closes_loan
    after = outstanding(allocation.apply(loan()), JAN)
    assert after.principal == D("260.00") and after.interest_due == 0 and after.principal_due == D("60.00")


def test_late_payment_across_two_overdue_instalments_oldest_first() -> None:
    # on 10 March two instalments are due: both interests first, then principal, oldest first
    allocation = allocate(loan(), D("150.00"), date(2025, 3, 10), "EUR")
    assert parts(allocation.parts) == {1: (0, D("10.00"), D("100.00")), 2: (0, D("9.00"), D("31.00"))}
    assert allocation.interest == D("19.00") and allocation.principal == D("131.00")
    after = outstanding(allocation.apply(loan()), date(2025, 3, 10))
    assert [(a.number, a.days_late, a.principal, a.interest) for a in after.arrears] == [(2, 10, D("69.00"), 0)]


def test_penalties_before_interest() -> None:
    allocation = allocate(loan(), D("5.00"), date(2025, 3, 10), "EUR", penalties={1: D("2.50"), 2: D("1.00")})
    # every penalty (3.50) before any interest: 1.50 is left for the oldest interest
    assert parts(allocation.parts) == {1: (D("2.50"), D("1.50"), 0), 2: (D("1.00"), 0, 0)}
    # a penalty already paid is not paid twice
    paid = allocation.apply(loan())
    again = allocate(paid, D("5.00"), date(2025, 3, 10), "EUR", penalties={1: D("2.50"), 2: D("1.00")})
    assert parts(again.parts) == {1: (0, D("5.00"), 0)}


def test_early_full_repayment_closes_the_loan_without_future_interest() -> None:
    # on 15 February: instalment 1 is due (110.00), the principal of 2 and 3 is repaid early (200.00)
    allocation = allocate(loan(), D("310.00"), date(2025, 2, 15), "EUR")
    assert allocation.credit == 0 and allocation.closes_loan
    assert parts(allocation.parts) == {1: (0, D("10.00"), D("100.00")), 2: (0, 0, D("100.00")),
                                       3: (0, 0, D("100.00"))}
    assert dict(allocation.interest_cancelled) == {2: D("9.00"), 3: D("8.00")}
    after = allocation.apply(loan())
    for as_of in (date(2025, 2, 15), date(2026, 1, 1)):
        position = outstanding(after, as_of)
        assert position.principal == position.interest_due == position.total_due == 0
        assert position.arrears == () and position.is_closed


def test_partial_early_repayment_pays_future_principal_not_future_interest() -> None:
    allocation = allocate(loan(), D("160.00"), JAN, "EUR")
    assert parts(allocation.parts) == {1: (0, D("10.00"), D("100.00")), 2: (0, 0, D("50.00"))}
    assert not allocation.closes_loan and allocation.interest_cancelled == {}
    position = outstanding(allocation.apply(loan()), FEB)
    assert position.principal == D("150.00") and position.total_due == D("59.00")


def test_overpayment_becomes_credit() -> None:
    allocation = allocate(loan(), D("400.00"), JAN, "EUR")
    assert allocation.principal == D("300.00") and allocation.interest == D("10.00")
    assert allocation.credit == D("90.00") and allocation.closes_loan
    # a payment on a closed loan is all credit
    later = allocate(allocation.apply(loan()), D("5.00"), MAR, "EUR")
    assert later.parts == () and later.credit == D("5.00")


def test_payment_before_anything_is_due_goes_to_principal() -> None:
    allocation = allocate(loan(), D("30.00"), date(2025, 1, 1), "EUR")
    assert parts(allocation.parts) == {1: (0, 0, D("30.00"))}


@pytest.mark.parametrize(("amount", "message"), [
    (D(0), "greater than 0"), (D("-1.00"), "greater than 0"), (D("1.001"), "decimal places"), (1.5, "float"),
])
def test_bad_payments_are_refused(amount: object, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        allocate(loan(), amount, JAN, "EUR")  # type: ignore[arg-type]


def test_bad_states_are_refused() -> None:
    with pytest.raises(ValueError, match="exceeds"):
        InstalmentState(1, JAN, D("100.00"), D("10.00"), principal_paid=D("100.01"))
    with pytest.raises(ValueError, match="float"):
        InstalmentState(1, JAN, D("100.00"), 10.0)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="unique"):
        allocate([*loan(), loan()[0]], D("1.00"), JAN, "EUR")
    with pytest.raises(ValueError, match="unknown instalment"):
        allocate(loan(), D("1.00"), JAN, "EUR", penalties={9: D("1.00")})


# -- property: nothing is ever lost --------------------------------------------------------------------

@settings(max_examples=200, deadline=None)
@given(
    principal_cents=st.integers(min_value=100, max_value=10**8),
    rate_bp=st.integers(min_value=0, max_value=1500),
    periods=st.integers(min_value=1, max_value=36),
    method=st.sampled_from(["annuity", "equal_principal"]),
    penalty_bp=st.sampled_from([0, 500, 3650]),
    payments=st.lists(st.tuples(st.integers(min_value=1, max_value=10**7), st.integers(min_value=0, max_value=120)),
                      min_size=1, max_size=12),
)
def test_allocation_never_loses_a_cent(principal_cents: int, rate_bp: int, periods: int, method: str,
                                       penalty_bp: int, payments: list[tuple[int, int]]) -> None:
    terms = LoanTerms(principal=D(principal_cents).scaleb(-2), annual_rate=D(rate_bp).scaleb(-4),
                      term_periods=periods, first_due=JAN, currency="EUR", method=method)
    states = [InstalmentState.from_instalment(line) for line in build_schedule(terms)]
    penalty_rate = D(penalty_bp).scaleb(-4)
    penalties: dict[int, Decimal] = {}
    value_date = JAN - timedelta(days=20)
    paid_in = credit = D(0)
    for cents, gap in payments:
        amount = D(cents).scaleb(-2)
        value_date += timedelta(days=gap)
        # the penalties assessed so far only grow: paid ones stay assessed
        for number, fresh in assess_penalties(states, value_date, penalty_rate, "EUR").items():
            penalties[number] = max(penalties.get(number, D(0)), fresh + next(
                s.penalty_paid for s in states if s.number == number))
        allocation = allocate(states, amount, value_date, "EUR", penalties=penalties)
        assert allocation.allocated + allocation.credit == amount
        assert allocation.credit >= 0
        by_number = {state.number: state for state in states}
        for part in allocation.parts:
            state = by_number[part.number]
            assert part.principal <= state.principal_due and part.interest <= state.interest_due
            assert part.penalty <= penalties.get(part.number, D(0)) - state.penalty_paid
            if state.due_date > value_date:
                assert part.interest == 0  # never interest not yet due
            for amount_part in (part.penalty, part.interest, part.principal):
                assert type(amount_part) is Decimal and amount_part >= 0
        if allocation.credit > 0:  # credit only once everything due and all principal is paid
            position = outstanding(allocation.apply(states), value_date, penalties)
            assert position.principal == position.total_due == 0
        states = allocation.apply(states)
        paid_in += amount
        credit += allocation.credit
        principal_paid = sum((s.principal_paid for s in states), D(0))
        assert principal_paid + outstanding(states, value_date).principal == terms.principal
    settled = sum((s.principal_paid + s.interest_paid + s.penalty_paid for s in states), D(0))
    assert settled + credit == paid_in


# -- penalties, arrears, PAR30 -------------------------------------------------------------------------

def test_penalty_is_simple_interest_on_the_overdue_amount() -> None:
    assert penalty_amount(D("1000.00"), D("0.365"), 10, "EUR") == D("10.00")
    assert penalty_amount(D("1000.00"), D("0.10"), 0, "EUR") == D("0.00")
    states = loan()
    penalties = assess_penalties(states, date(2025, 3, 2), D("0.365"), "EUR")
    # instalment 1: 110.00 x 0.365 x 30 / 365 = 3.30; instalment 2: 109.00 x 2 / 1000 = 0.218
    assert penalties == {1: D("3.30"), 2: D("0.22")}
    assert assess_penalties(states, date(2025, 3, 2), D(0), "EUR") == {}


def test_outstanding_summary() -> None:
    states = allocate(loan(), D("50.00"), JAN, "EUR").apply(loan())
    position = outstanding(states, date(2025, 3, 5), penalties={1: D("1.20")})
    assert position.principal == D("260.00")
    assert position.principal_due == position.principal_overdue == D("160.00")
    assert position.interest_due == D("9.00") and position.penalty_due == D("1.20")
    assert position.total_due == D("170.20")
    assert [(a.number, a.days_late, a.principal, a.interest, a.penalty) for a in position.arrears] == [
        (1, 33, D("60.00"), 0, D("1.20")), (2, 5, D("100.00"), D("9.00"), 0),
    ]
    assert position.days_late == 33
    # due today is due but not late
    assert outstanding(loan(), JAN).arrears == () and outstanding(loan(), JAN).total_due == D("110.00")


@pytest.mark.parametrize(("days", "bucket"), [
    (0, None), (1, "1-30"), (30, "1-30"), (31, "31-60"), (60, "31-60"), (61, "61-90"), (90, "61-90"),
    (91, "over 90"), (2000, "over 90"),
])
def test_arrears_bucket_boundaries(days: int, bucket: str | None) -> None:
    assert arrears_bucket(days) == bucket
    buckets = arrears_buckets(loan()[:1], JAN + timedelta(days=days))
    assert list(buckets) == ["1-30", "31-60", "61-90", "over 90"]
    for label, amount in buckets.items():
        assert amount == (D("110.00") if label == bucket else 0)


def test_arrears_buckets_age_each_instalment() -> None:
    states = allocate(loan(), D("50.00"), JAN, "EUR").apply(loan())
    # on 2 April: #1 is 61 days late (60.00 left), #2 is 33 (109.00), #3 is 2 (108.00)
    assert arrears_buckets(states, date(2025, 4, 2)) == {
        "1-30": D("108.00"), "31-60": D("109.00"), "61-90": D("60.00"), "over 90": D(0),
    }
    paid = allocate(loan(), D("327.00"), MAR, "EUR").apply(loan())
    assert sum(arrears_buckets(paid, date(2025, 12, 31)).values()) == 0


def test_par30_by_hand() -> None:
    def one_instalment_loan(principal: str, due: date, paid: str = "0") -> list[InstalmentState]:
        return [InstalmentState(1, due, D("500.00"), D(0), principal_paid=D(paid)),
                InstalmentState(2, due + timedelta(days=365), D(principal) - D("500.00"), D(0))]

    as_of = date(2025, 6, 30)
    late_31 = one_instalment_loan("6100.00", as_of - timedelta(days=31), paid="100.00")  # 6000 outstanding
    late_30 = one_instalment_loan("3000.00", as_of - timedelta(days=30))                 # 3000, only 30 days
    current = one_instalment_loan("1500.00", as_of - timedelta(days=45), paid="500.00")  # 1000, instalment paid
    # at risk: the whole 6000.00 of the first loan (not just its 400.00 late); total 6000 + 3000 + 1000
    assert par30([late_31, late_30, current], as_of) == D("0.6")
    assert par30([late_31, late_30, current], as_of - timedelta(days=1)) == 0
    assert par30([late_31, late_30, current], as_of + timedelta(days=1)) == D("0.9")
    assert par30([], as_of) == 0
    repaid = [InstalmentState(1, date(2025, 1, 31), D("100.00"), D(0), principal_paid=D("100.00"))]
    assert par30([repaid], as_of) == 0 and type(par30([repaid], as_of)) is Decimal
