"""The pure rules of matching grants (programme/funding/domain.py): programme years, matchable co-financing
with the in-kind cap, each cap on a tranche at its boundary, and the chart's figures; with hypothesis."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal
from fractions import Fraction

import pytest
from hypothesis import given
from hypothesis import strategies as st

from programme.funding.domain import (
    CASH,
    IN_KIND,
    Contribution,
    TrancheLimits,
    current_year,
    external_share_by_year,
    floor_money,
    matchable_cofinancing,
    percent,
    programme_year,
    tranche_refusal,
    year_begins,
    year_cap_room,
)

D = Decimal
START = date(2027, 6, 1)
SCHEDULE = [D("1.00"), D("0.75"), D("0.50"), D("0.25")]


def cap_for_year(year: int) -> Decimal:
    return SCHEDULE[year - 1] if year <= len(SCHEDULE) else D("0.10")


def ratios(*values: str):
    table = [D(v) for v in values]
    return lambda year: table[min(year, len(table)) - 1]


# Programme years -------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("day", "year"), [
    (date(2027, 6, 1), 1), (date(2028, 5, 31), 1), (date(2028, 6, 1), 2), (date(2029, 5, 31), 2),
    (date(2029, 6, 1), 3), (date(2037, 6, 1), 11),
])
def test_programme_year_runs_twelve_months_from_the_start(day, year):
    assert programme_year(START, day) == year


def test_the_current_year_is_one_until_the_start_and_then_the_programme_year():
    assert current_year(START, START - timedelta(days=1)) == 1
    assert current_year(START, date(2000, 1, 1)) == 1
    assert current_year(START, START) == 1
    assert current_year(START, date(2028, 6, 1)) == programme_year(START, date(2028, 6, 1)) == 2
    with pytest.raises(ValueError):
        programme_year(START, START - timedelta(days=1))


def test_a_start_on_the_29th_of_february():
    start = date(2028, 2, 29)
    assert programme_year(start, date(2029, 2, 27)) == 1
    assert programme_year(start, date(2029, 2, 28)) == 2  # relativedelta: 29 Feb + 12 months = 28 Feb
    assert year_begins(start, 5) == date(2032, 2, 29)
    assert programme_year(start, date(2032, 2, 28)) == 4 and programme_year(start, date(2032, 2, 29)) == 5


def test_a_day_before_the_start_is_refused():
    with pytest.raises(ValueError, match="before the initiative started"):
        programme_year(START, date(2027, 5, 31))


@given(st.dates(min_value=date(2000, 1, 1), max_value=date(2060, 12, 31)), st.integers(0, 8000))
def test_programme_year_is_the_year_whose_bounds_hold_the_day(start, offset):
    day = start + timedelta(days=offset)
    year = programme_year(start, day)
    assert year >= 1
    assert year_begins(start, year) <= day < year_begins(start, year + 1)
    assert programme_year(start, year_begins(start, year)) == year


# Matchable co-financing ------------------------------------------------------------------------------------


def test_matchable_uses_the_ratio_of_each_contributions_year():
    got = matchable_cofinancing([
        Contribution(CASH, D("1000.00"), date(2027, 7, 1)),           # year 1, ratio 1
        Contribution(CASH, D("1000.00"), date(2029, 7, 1)),           # year 3, ratio 0.75
        Contribution(CASH, D("5000.00"), date(2029, 7, 1), verified=False),
    ], start=START, ratio_for_year=ratios("1", "1", "0.75"), in_kind_max_share=D("0.5"))
    assert got.matchable == D("1750.00") and got.cash == D("2000.00") and got.in_kind == D("0.00")


@pytest.mark.parametrize(("share", "counted", "matchable"), [
    ("0.5", "1000.00", "2000.00"),      # in kind at most as much as cash
    ("0.25", "333.33", "1333.33"),      # 1/3 of cash, rounded down at the end
    ("1", "3000.00", "4000.00"),        # no cap
    ("0", "0.00", "1000.00"),           # no in-kind at all
])
def test_the_in_kind_cap(share, counted, matchable):
    got = matchable_cofinancing([
        Contribution(CASH, D("1000.00"), date(2027, 7, 1)),
        Contribution(IN_KIND, D("3000.00"), date(2027, 8, 1)),
    ], start=START, ratio_for_year=ratios("1"), in_kind_max_share=D(share))
    assert got.in_kind_counted == D(counted) and got.matchable == D(matchable)


def test_in_kind_under_the_cap_counts_whole():
    got = matchable_cofinancing([
        Contribution(CASH, D("1000.00"), date(2027, 7, 1)), Contribution(IN_KIND, D("999.99"), date(2027, 7, 1)),
    ], start=START, ratio_for_year=ratios("1"), in_kind_max_share=D("0.5"))
    assert got.in_kind_counted == D("999.99") and got.matchable == D("1999.99")


def test_matchable_rounds_down_to_the_cent():
    got = matchable_cofinancing([Contribution(CASH, D("0.03"), date(2027, 7, 1))], start=START,
                                ratio_for_year=ratios("0.5"), in_kind_max_share=D("0.5"))
    assert got.matchable == D("0.01")


amounts = st.decimals(min_value=D("0.01"), max_value=D("100000"), places=2)
contributions = st.lists(st.builds(Contribution, st.sampled_from([CASH, IN_KIND]), amounts,
                                   st.dates(min_value=START, max_value=date(2034, 1, 1)), st.booleans()),
                         max_size=12)


@given(contributions, st.sampled_from(["0", "0.25", "0.5", "0.8", "1"]))
def test_in_kind_never_exceeds_its_share_of_the_counted_total(items, share):
    got = matchable_cofinancing(items, start=START, ratio_for_year=ratios("1", "1", "0.75", "0.5"),
                                in_kind_max_share=D(share))
    verified = [c for c in items if c.verified]
    assert got.cash == sum((c.amount for c in verified if c.kind == CASH), D("0.00"))
    assert got.in_kind_counted <= got.in_kind
    assert got.in_kind_counted <= D(share) * got.counted + D("0.01")
    assert D("0.00") <= got.matchable <= got.counted  # the ratios are at most 1
    with_ratio_one = matchable_cofinancing(items, start=START, ratio_for_year=ratios("1"),
                                           in_kind_max_share=D(share))
    assert with_ratio_one.matchable == with_ratio_one.counted or with_ratio_one.matchable == floor_money(
        Fraction(with_ratio_one.cash) + Fraction(with_ratio_one.in_kind_counted))


# The year cap ----------------------------------------------------------------------------------------------


def test_year_cap_room_formula():
    # 75 %: (P + A) / (P + A + C) <= 0.75 with P = 1000, C = 2000: A <= (1500 - 250) / 0.25 = 5000
    assert year_cap_room(D("0.75"), D("1000.00"), D("2000.00")) == D("5000.00")
    assert year_cap_room(D("1"), D("1000.00"), D("0")) is None
    assert year_cap_room(D("0"), D("0"), D("1000.00")) == D("0.00")
    assert year_cap_room(D("0.5"), D("3000.00"), D("1000.00")) == D("0.00")  # already over: nothing more
    assert year_cap_room(D("0.10"), D("0"), D("100.00")) == D("11.11")      # 11.111... rounded down


@given(st.sampled_from(["0", "0.1", "0.25", "0.333", "0.5", "0.75", "0.99"]),
       st.decimals(min_value=0, max_value=D("1000000"), places=2),
       st.decimals(min_value=0, max_value=D("1000000"), places=2))
def test_the_year_room_is_the_largest_amount_within_the_cap(cap, paid, cofinancing):
    room = year_cap_room(D(cap), paid, cofinancing)
    assert room is not None and room >= 0

    def within(amount: Decimal) -> bool:
        return Fraction(paid + amount) / Fraction(paid + amount + cofinancing) <= Fraction(D(cap))

    if room > 0:
        assert within(room)
    assert not within(room + D("0.01"))


# A tranche at each cap's boundary --------------------------------------------------------------------------


def limits(**changes) -> TrancheLimits:
    base = dict(currency="EUR", grant_held=D("0.00"), matchable=D("100000.00"), year=2, year_cap=D("0.75"),
                year_programme=D("0.00"), year_cofinancing=D("100000.00"), initiative_held=D("0.00"),
                overall_cap=D("250000.00"), committed=D("100000.00"))
    return TrancheLimits(**{**base, **changes})


def test_ratio_cap_at_its_boundary():
    lim = limits(grant_held=D("2000.00"), matchable=D("5000.00"))
    assert tranche_refusal(D("3000.00"), lim) is None
    message = tranche_refusal(D("3000.01"), lim)
    assert message.startswith("The matching ratio allows at most EUR 3,000.00 more on this grant")
    assert "EUR 5,000.00" in message and "EUR 2,000.00" in message


def test_year_cap_at_its_boundary():
    lim = limits(year_programme=D("1000.00"), year_cofinancing=D("2000.00"))
    assert tranche_refusal(D("5000.00"), lim) is None
    assert tranche_refusal(D("5000.01"), lim) == (
        "The year-2 external-share cap of 75 % allows at most EUR 5,000.00 more this year "
        "(paid or held EUR 1,000.00, co-financing EUR 2,000.00): EUR 5,000.01 is too much.")


def test_year_one_at_100_percent_has_no_year_limit():
    assert tranche_refusal(D("99999.99"), limits(year=1, year_cap=D("1"), year_cofinancing=D("0"))) is None


def test_overall_cap_at_its_boundary():
    lim = limits(initiative_held=D("240000.00"))
    assert tranche_refusal(D("10000.00"), lim) is None
    message = tranche_refusal(D("10000.01"), lim)
    assert message.startswith("The overall cap of EUR 250,000.00 per initiative allows at most EUR 10,000.00 more")


def test_commitment_at_its_boundary():
    lim = limits(committed=D("4000.00"), grant_held=D("1000.00"))
    assert tranche_refusal(D("3000.00"), lim) is None
    assert "EUR 3,000.01 is more than is left: EUR 3,000.00 is left of the matching grant" in tranche_refusal(
        D("3000.01"), lim)
    assert lim.most == D("3000.00")


@given(st.decimals(min_value=D("0.01"), max_value=D("300000"), places=2),
       st.decimals(min_value=0, max_value=D("50000"), places=2),
       st.decimals(min_value=0, max_value=D("50000"), places=2),
       st.decimals(min_value=0, max_value=D("50000"), places=2))
def test_a_tranche_is_allowed_exactly_up_to_the_smallest_room(amount, held, paid_in_year, cofinancing):
    lim = limits(grant_held=held, year_programme=paid_in_year, year_cofinancing=cofinancing,
                 initiative_held=held + D("30000.00"), matchable=D("60000.00"))
    assert (tranche_refusal(amount, lim) is None) == (amount <= lim.most)


# The chart -------------------------------------------------------------------------------------------------


def test_external_share_by_year():
    rows = external_share_by_year(current_year=2, schedule_length=4, cap_for_year=cap_for_year,
                                  paid_by_year={1: D("3000.00"), 2: D("1000.00")},
                                  cofinancing_by_year={1: D("1000.00"), 2: D("2000.00")})
    assert [(r.year, r.cap, r.share) for r in rows] == [
        (1, D("1.00"), D("0.7500")), (2, D("0.75"), D("0.3333")), (3, D("0.50"), None), (4, D("0.25"), None)]
    later = external_share_by_year(current_year=6, schedule_length=4, cap_for_year=cap_for_year,
                                   paid_by_year={}, cofinancing_by_year={5: D("10.00")})
    assert len(later) == 6 and later[4].share == D("0.0000") and later[5].cap == D("0.10")


def test_percent():
    assert percent(D("0.75")) == "75 %" and percent(D("0.125")) == "12.5 %" and percent(D("1.00")) == "100 %"
