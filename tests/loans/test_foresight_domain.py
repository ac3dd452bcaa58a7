"""The pure projection of a revolving fund (loans.foresight): the base case against loans.schedule to the cent,
default and loss arithmetic, prepayment, new lending limited by cash, administrative costs from interest, the
floor month, the risk score; and the rules of [funding.revolving_fund] (rulebook.foresight)."""

from __future__ import annotations

from datetime import date
from decimal import Decimal as D
from pathlib import Path

import pytest

from programme.loans.foresight import (
    COLUMNS,
    HORIZON,
    Book,
    Policy,
    Projector,
    Scenario,
    add_loan,
    books_from_months,
    books_from_rows,
    month_number,
    monthly_plan,
    risk_score,
)
from programme.loans.schedule import LoanTerms, build_schedule
from programme.rulebook import load_rules_file
from programme.rulebook.foresight import DEFAULT_RULES
from tests.rulebook.test_rules_files import DEFAULT_CALL, assert_problem, problems_of, write_variant

START = date(2027, 7, 20)


def cents(amount: D) -> int:
    return int(amount * 100)


def schedule(principal: str = "12000.00", rate: str = "0.04", months: int = 12, first_due: date = date(2027, 8, 15),
             **terms) -> list:
    return build_schedule(LoanTerms(principal=D(principal), annual_rate=D(rate), term_periods=months,
                                    first_due=first_due, currency="EUR", **terms))


def book_of(*schedules: list, start: date = START, default_days: int = 90) -> Book:
    book = Book()
    for lines in schedules:
        add_loan(book, [(x.due_date, cents(x.principal), cents(x.interest)) for x in lines], start=start,
                 days_late=0, default_days=default_days)
    return book


def project(book: Book, scenario: Scenario = Scenario(), *, cash: str = "0", pipeline: str = "0",
            policy: Policy = Policy(), start: date = START):
    return Projector(scenario, policy).project(book, cash=cents(D(cash)), pipeline=cents(D(pipeline)), start=start)


def by_month(lines: list, start: date = START) -> dict[int, tuple[D, D]]:
    """The schedule's own principal and interest per projection month (1 = the start's month)."""
    months: dict[int, tuple[D, D]] = {}
    for x in lines:
        m = (x.due_date.year - start.year) * 12 + x.due_date.month - start.month + 1
        p, i = months.get(m, (D("0.00"), D("0.00")))
        months[m] = (p + x.principal, i + x.interest)
    return months


# --- the base case: the schedules' own figures, to the cent -----------------------------------------------------


@pytest.mark.parametrize("terms", [
    {},
    {"principal": "9999.99", "rate": "0.035", "months": 36, "method": "equal_principal"},
    {"principal": "50000.00", "rate": "0", "months": 60},
    {"principal": "7000.00", "rate": "0.04", "months": 24, "grace_periods": 6, "grace": "interest_only"},
    {"principal": "30000.00", "rate": "0.02", "months": 20, "frequency": "quarterly", "rounding": "half_even"},
])
def test_with_no_default_and_no_prepayment_the_projection_collects_the_schedule_to_the_cent(terms):
    lines = schedule(**terms)
    result = project(book_of(lines), cash="1000.00")
    expected = by_month(lines)
    outstanding = sum((x.principal for x in lines), D(0))
    for month in result.months:
        p, i = expected.get(month.number, (D("0.00"), D("0.00")))
        assert (month.principal, month.interest) == (p, i), month.number
        outstanding -= p
        if month.number <= HORIZON:
            assert month.outstanding == outstanding
        assert month.defaulted == month.prepaid == month.losses == month.new_loans == D("0.00")
    assert result.total("principal") == sum((p for m, (p, _) in expected.items() if m <= HORIZON), D(0))
    assert result.months[-1].ending_cash == D("1000.00") + result.total("principal") + result.total("interest")


def test_several_loans_add_up_and_an_instalment_beyond_five_years_stays_outstanding():
    long = schedule("60000.00", "0.03", 84, first_due=date(2027, 8, 1))
    short = schedule("5000.00", "0.01", 6, first_due=date(2027, 9, 30))
    result = project(book_of(long, short))
    expected_long, expected_short = by_month(long), by_month(short)
    for month in result.months:
        p1, i1 = expected_long.get(month.number, (D(0), D(0)))
        p2, i2 = expected_short.get(month.number, (D(0), D(0)))
        assert (month.principal, month.interest) == (p1 + p2, i1 + i2)
    beyond = sum((p for m, (p, _) in expected_long.items() if m > HORIZON), D(0))
    assert beyond > 0 and result.months[-1].outstanding == beyond


def test_arrears_are_collected_in_month_one_and_a_loan_long_late_defaults_whole():
    lines = schedule(first_due=date(2027, 4, 15))  # April, May, June and July due or past: 96 days late
    start = date(2027, 7, 20)
    late = [(x.due_date, cents(x.principal), cents(x.interest)) for x in lines]
    book = Book()
    add_loan(book, late, start=start, days_late=96, default_days=120)  # not taken as lost: arrears come in month 1
    first = project(book).months[0]
    assert first.principal == sum((x.principal for x in lines[:4]), D(0))
    assert first.interest == sum((x.interest for x in lines[:4]), D(0))
    lost = Book()
    add_loan(lost, late, start=start, days_late=96, default_days=90)  # defaulted whole: its interest never comes
    result = project(lost, Scenario(loss_given_default=D("0.6")), cash="100.00")
    first = result.months[0]
    assert first.defaulted == D("12000.00") and first.losses == D("7200.00") and first.recovered == D("4800.00")
    assert result.total("principal") == result.total("interest") == D("0.00")
    assert first.ending_cash == D("4900.00") and first.outstanding == D("0.00")
    at_the_limit = Book()
    add_loan(at_the_limit, late, start=start, days_late=90, default_days=90)
    assert at_the_limit.defaulted == 1_200_000
    one_day_short = Book()
    add_loan(one_day_short, late, start=start, days_late=89, default_days=90)
    assert one_day_short.defaulted == 0 and one_day_short.performing == 1_200_000


def test_rows_of_several_funds_and_loans_are_gathered_per_fund():
    a, b = schedule(), schedule("3000.00", "0", 3, first_due=date(2027, 8, 1))
    rows = [(7, 1, 0, x.due_date, cents(x.principal), cents(x.interest)) for x in a] + \
           [(9, 2, 0, x.due_date, cents(x.principal), cents(x.interest)) for x in b] + \
           [(9, 3, 91, x.due_date, cents(x.principal), cents(x.interest)) for x in b]
    books = books_from_rows(rows, start=START, default_days=90)
    assert set(books) == {7, 9}
    assert books[7].outstanding == 1_200_000
    assert books[9].performing == 300_000 and books[9].defaulted == 300_000
    # the same summed per month (as the database gives them) make the same books
    summed = books_from_months([(7, month_number(x.due_date), False, cents(x.principal), cents(x.interest)) for x in a]
                               + [(9, month_number(x.due_date), False, cents(x.principal), cents(x.interest))
                                  for x in b] + [(9, month_number(b[0].due_date), True, 300_000, 0)], start=START)
    for fund in (7, 9):
        assert (summed[fund].principal, summed[fund].interest, summed[fund].defaulted) == (
            books[fund].principal, books[fund].interest, books[fund].defaulted)


# --- defaults, losses, prepayments ------------------------------------------------------------------------------


def test_default_and_loss_arithmetic_of_the_first_month():
    lines = schedule("12000.00", "0", 12, first_due=date(2027, 7, 25))
    result = project(book_of(lines), Scenario(annual_default_rate=D("0.12"), loss_given_default=D("0.75")))
    first = result.months[0]
    # a twelfth of 12 % of 12,000.00 defaults; 75 % of it is lost, the rest recovered in the month
    assert first.defaulted == D("120.00") and first.losses == D("90.00") and first.recovered == D("30.00")
    # the rest pays its schedule in proportion: 1,000.00 x 11,880 / 12,000
    assert first.principal == D("990.00")
    assert first.outstanding == D("12000.00") - D("120.00") - D("990.00")
    assert first.ending_cash == D("990.00") + D("30.00")


def test_every_month_balances_to_the_cent_under_any_scenario():
    scenario = Scenario(annual_default_rate=D("0.07"), loss_given_default=D("0.55"), prepayment_rate=D("0.05"),
                        new_lending_per_year=D("10000.00"), admin_cost_share=D("0.15"))
    policy = Policy(new_loan_rate=D("0.03"), new_loan_term_months=24)
    result = project(book_of(schedule("23456.78", "0.037", 48), schedule("999.99", "0.01", 7)), scenario,
                     cash="4321.09", pipeline="2500.00", policy=policy)
    outstanding, cash = result.money("outstanding"), result.money("cash")
    for m in result.months:
        assert m.beginning_cash == cash
        cash = cash + m.principal + m.prepaid + m.interest + m.recovered - m.admin_costs - m.new_loans
        assert m.ending_cash == cash and cash >= 0
        outstanding = outstanding - m.principal - m.prepaid - m.defaulted + m.new_loans
        assert m.outstanding == outstanding
        assert m.losses + m.recovered == m.defaulted
        for name in COLUMNS:
            assert m.values[name] == m.values[name].quantize(D("0.01"))


def test_prepayment_brings_principal_forward_and_interest_down():
    lines = schedule("24000.00", "0.04", 24)
    plain = project(book_of(lines))
    early = project(book_of(lines), Scenario(prepayment_rate=D("0.24")))
    first, second = early.months[0], early.months[1]
    assert first.prepaid == D("480.00") and first.principal == D("0.00")  # 2 % of 24,000.00; nothing due in July
    # August: 2 % of the 23,520.00 left, then the schedule's first instalment in proportion to what performs
    assert second.prepaid == D("470.40")
    assert second.principal == (lines[0].principal * D("23049.60") / D("24000.00")).quantize(D("0.01"))
    assert early.total("principal") + early.total("prepaid") == plain.total("principal") == D("24000.00")
    assert early.total("interest") < plain.total("interest")
    assert early.months[-1].outstanding == D("0.00")


# --- new lending, administrative costs, the floor ---------------------------------------------------------------


def test_monthly_plan_adds_up_to_the_year_exactly():
    plan = monthly_plan(D("10000.01"))
    assert len(plan) == HORIZON and sum(plan[:12]) == sum(plan[12:24]) == 1_000_001


def test_new_lending_is_limited_by_the_cash_the_fund_has():
    result = project(Book(), Scenario(new_lending_per_year=D("120000.00")), cash="15000.00", pipeline="4000.00",
                     policy=Policy(new_loan_rate=D("0"), new_loan_term_months=10))
    first, second = result.months[0], result.months[1]
    assert first.new_loans == D("14000.00")  # the 4,000.00 approved, then 10,000.00 of the month's plan
    assert first.ending_cash == D("1000.00") and first.not_lent == D("0.00")
    # month 2: 1,000.00 in hand + 1,400.00 repaid (14,000.00 over 10 months at 0 %): lends 2,400.00 of 10,000.00
    assert second.principal == D("1400.00") and second.new_loans == D("2400.00")
    assert second.not_lent == D("7600.00") and second.ending_cash == D("0.00")
    assert all(m.ending_cash >= 0 for m in result.months)


def test_new_loans_repay_as_annuities_and_the_pool_ends_at_zero():
    result = project(Book(), Scenario(new_lending_per_year=D("0")), cash="12000.00", pipeline="12000.00",
                     policy=Policy(new_loan_rate=D("0.04"), new_loan_term_months=12))
    reference = schedule("12000.00", "0.04", 12, first_due=date(2027, 8, 15))
    # A new loan's flows are the exact annuity's, rounded once a month for all new loans together: within a cent
    # of a schedule's own rounding each month, the principal adding up exactly, the pool at zero when repaid.
    for month, line in zip(result.months[1:13], reference, strict=True):
        assert abs(month.principal - line.principal) <= D("0.01") and abs(month.interest - line.interest) <= D("0.01")
    assert result.total("principal") == D("12000.00") and result.months[12].outstanding == D("0.00")
    assert abs(result.total("interest") - sum((x.interest for x in reference), D(0))) <= D("0.02")
    assert result.months[-1].ending_cash == D("12000.00") + result.total("interest")


def test_administrative_costs_are_a_share_of_the_interest_collected():
    lines = schedule("12000.00", "0.04", 12)
    result = project(book_of(lines), Scenario(admin_cost_share=D("0.25")))
    second = result.months[1]
    assert second.interest == D("40.00") and second.admin_costs == D("10.00")
    assert result.total("admin_costs") == sum(((x.interest * D("0.25")).quantize(D("0.01")) for x in lines), D(0))


def test_floor_month_is_the_first_month_the_cash_is_below_the_floor():
    scenario = Scenario(new_lending_per_year=D("24000.00"))
    policy = Policy(cash_floor=D("5000.00"), new_loan_term_months=36)
    result = project(Book(), scenario, cash="12000.00", policy=policy)
    # lends 2,000.00 a month: 10,000.00 after month 1, ... below 5,000.00 after month 4 (repayments help a little)
    ends = [m.ending_cash for m in result.months]
    month = result.floor_month
    assert month is not None and ends[month - 1] < D("5000.00") and all(e >= D("5000.00") for e in ends[:month - 1])
    assert project(Book(), Scenario(), cash="12000.00", policy=policy).floor_month is None
    share = Policy(cash_floor_share=D("0.5"))
    assert project(Book(), Scenario(), cash="1000.00", policy=share).money("floor") == D("500.00")
    both = Policy(cash_floor=D("600.00"), cash_floor_share=D("0.5"))  # the larger of the two
    assert project(Book(), Scenario(), cash="1000.00", policy=both).money("floor") == D("600.00")
    assert project(Book(), Scenario(), cash="1400.00", policy=both).money("floor") == D("700.00")


def test_risk_score_counts_the_warning_signs():
    policy = Policy(cash_floor=D("1000.00"), par30_warning=D("0.10"), warning_months=12)
    idle = project(Book(), cash="5000.00", policy=policy)
    stress = project(Book(), Scenario(new_lending_per_year=D("60000.00")), cash="5000.00", policy=policy)
    risk = risk_score(par30=D("0.25"), base=idle, stress=stress, policy=policy)
    assert risk.score == 3 and risk.runway_months == 0
    assert "PAR30 25.0 %" in risk.signs[0] and "utilisation 0.0 %" in risk.signs[1] and "month 1" in risk.signs[2]
    lent = project(book_of(schedule("20000.00", "0", 40)), cash="2000.00", policy=policy)
    calm = risk_score(par30=D("0.05"), base=lent, stress=lent, policy=policy)
    assert calm.score == 0 and calm.runway_months is None and calm.utilisation == D("0.9091")


@pytest.mark.parametrize("bad", [{"annual_default_rate": D("1.5")}, {"loss_given_default": D("-0.1")},
                                 {"new_lending_per_year": D("10.001")}, {"admin_cost_share": 0.1}])
def test_a_scenario_refuses_values_out_of_range(bad):
    with pytest.raises(ValueError, match=next(iter(bad))):
        Scenario(**bad)


# --- the rules ----------------------------------------------------------------------------------------------------


def test_the_shipped_call_has_a_revolving_fund_section_and_a_call_without_one_gets_the_defaults(tmp_path: Path):
    rules = load_rules_file(DEFAULT_CALL).funding.revolving_fund
    assert rules.capital_utilisation_standard == D("0.75") and rules.cash_floor_share == D("0.10")
    assert rules.cash_floor == D("2000.00")
    assert rules.base.new_lending_per_year == D("12000.00") and rules.stress.annual_default_rate == D("0.15")
    without = write_variant(tmp_path, DEFAULT_CALL, lambda data: data["funding"].pop("revolving_fund"))
    assert load_rules_file(without).funding.revolving_fund is None
    assert DEFAULT_RULES.capital_utilisation_standard == D("0.75")
    assert DEFAULT_RULES.cash_floor == 0 and DEFAULT_RULES.cash_floor_share == 0


@pytest.mark.parametrize(("change", "key", "expected"), [
    (lambda s: s.update(capital_utilisation_standard=D("1.2")), "funding.revolving_fund.capital_utilisation_standard",
     "less than or equal to 1"),
    (lambda s: s.update(cash_floor=D("-5.00")), "funding.revolving_fund.cash_floor", "greater than or equal to 0"),
    (lambda s: s.update(cash_floor=D("100.001")), "funding.revolving_fund.cash_floor", "whole cents"),
    (lambda s: s.update(cash_floor_share=D("1.5")), "funding.revolving_fund.cash_floor_share",
     "less than or equal to 1"),
    (lambda s: s.update(new_loan_rate=D("-0.01")), "funding.revolving_fund.new_loan_rate", "greater than or equal"),
    (lambda s: s.update(new_loan_term_months=0), "funding.revolving_fund.new_loan_term_months",
     "greater than or equal to 1"),
    (lambda s: s.update(arrears_default_days=0), "funding.revolving_fund.arrears_default_days",
     "greater than or equal to 1"),
    (lambda s: s.update(par30_warning=D("2")), "funding.revolving_fund.par30_warning", "less than or equal to 1"),
    (lambda s: s.update(warning_months=61), "funding.revolving_fund.warning_months", "less than or equal to 60"),
    (lambda s: s["base"].update(annual_default_rate=D("1.01")), "funding.revolving_fund.base.annual_default_rate",
     "less than or equal to 1"),
    (lambda s: s["base"].update(loss_given_default=D("-1")), "funding.revolving_fund.base.loss_given_default",
     "greater than or equal to 0"),
    (lambda s: s["stress"].update(prepayment_rate=D("3")), "funding.revolving_fund.stress.prepayment_rate",
     "less than or equal to 1"),
    (lambda s: s["base"].update(new_lending_per_year=D("100.005")),
     "funding.revolving_fund.base.new_lending_per_year", "whole cents"),
    (lambda s: s["base"].update(admin_cost_share=D("1.5")), "funding.revolving_fund.base.admin_cost_share",
     "less than or equal to 1"),
    (lambda s: s.update(floor="5000"), "funding.revolving_fund.floor", "unknown key"),
])
def test_bad_revolving_fund_rules_are_refused_naming_the_key(tmp_path: Path, change, key, expected):
    path = write_variant(tmp_path, DEFAULT_CALL, lambda data: change(data["funding"]["revolving_fund"]))
    assert_problem(problems_of(path), path, key, expected)
