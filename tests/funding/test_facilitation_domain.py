"""The facilitation fund's pure rules (programme/funding/facilitation.py): the window of the first months, the months
left, and the limits of a claim's payment: the most they allow is accepted, one cent more refused, whatever the
figures (a property test)."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from hypothesis import given, settings
from hypothesis import strategies as st

from programme.funding.facilitation import (
    ClaimLimits,
    claim_refusal,
    cost_day_refusal,
    months_left,
    share_of,
    window_ends,
)

D = Decimal
START = date(2027, 6, 1)
CENT = D("0.01")


def limits(**changes) -> ClaimLimits:
    values = dict(currency="EUR", costs=D("1000.00"), share=D("0.5"), ceiling=D("20000.00"), fund_held=D("0.00"),
                  year=1, year_cap=D("1"), year_programme=D("0.00"), year_own=D("0.00"),
                  initiative_held=D("0.00"), overall_cap=D("250000.00"))
    values.update(changes)
    return ClaimLimits(**values)


def test_the_window_is_the_rules_months_from_the_start() -> None:
    assert window_ends(START, 12) == date(2028, 6, 1)
    assert window_ends(date(2028, 2, 29), 12) == date(2029, 2, 28)
    today = date(2030, 1, 1)
    assert cost_day_refusal(START, start=START, months=12, today=today) is None
    assert cost_day_refusal(date(2028, 5, 31), start=START, months=12, today=today) is None
    assert "window ended on 2028-05-31" in cost_day_refusal(date(2028, 6, 1), start=START, months=12, today=today)
    assert "before the initiative started" in cost_day_refusal(date(2027, 5, 31), start=START, months=12,
                                                                 today=today)
    assert "in the future" in cost_day_refusal(date(2027, 7, 2), start=START, months=12, today=date(2027, 7, 1))


def test_months_left() -> None:
    assert months_left(START, 12, date(2027, 5, 1)) == 12
    assert months_left(START, 12, START) == 12
    assert months_left(START, 12, date(2027, 7, 1)) == 11
    assert months_left(START, 12, date(2027, 7, 2)) == 11  # 10 months and some days: the begun month counts
    assert months_left(START, 12, date(2028, 5, 31)) == 1
    assert months_left(START, 12, date(2028, 6, 1)) == 0


def test_the_share_rounds_down_to_the_cent() -> None:
    assert share_of(D("333.33"), D("0.5")) == D("166.66")
    assert share_of(D("100.00"), D("0.3333")) == D("33.33")


def test_each_limit_is_named() -> None:
    assert "pays 50 % of the costs" in claim_refusal(D("500.01"), limits())
    assert "ceiling of EUR 20,000.00 allows at most EUR 100.00 more" in claim_refusal(
        D("100.01"), limits(fund_held=D("19900.00")))
    assert "year-2 external-share cap of 40 %" in claim_refusal(D("400.01"), limits(year=2, year_cap=D("0.4")))
    assert "overall cap of EUR 250,000.00" in claim_refusal(D("0.02"), limits(initiative_held=D("249999.99")))
    assert claim_refusal(D("0"), limits()) is not None


money = st.integers(min_value=0, max_value=5_000_000).map(lambda cents: D(cents) / 100)


@settings(max_examples=300, deadline=None)
@given(costs=st.integers(min_value=1, max_value=5_000_000).map(lambda cents: D(cents) / 100),
       share=st.integers(min_value=1, max_value=10_000).map(lambda bp: D(bp) / 10_000),
       ceiling=st.integers(min_value=1, max_value=5_000_000).map(lambda cents: D(cents) / 100),
       fund_held=money, cap=st.integers(min_value=0, max_value=100).map(lambda p: D(p) / 100),
       programme=money, own=money, held=money,
       overall=st.integers(min_value=1, max_value=10_000_000).map(lambda cents: D(cents) / 100),
       in_year=st.booleans())
def test_the_most_is_accepted_and_a_cent_more_refused(costs, share, ceiling, fund_held, cap, programme, own, held,
                                                       overall, in_year) -> None:
    made = limits(costs=costs, share=share, ceiling=ceiling, fund_held=fund_held, year_cap=cap,
                  year_programme=programme, year_own=own, initiative_held=held, overall_cap=overall,
                  costs_in_year=in_year)
    most = made.most
    assert most >= 0 and most == most.quantize(CENT)
    if most > 0:
        assert claim_refusal(most, made) is None
    assert claim_refusal(most + CENT, made) is not None
