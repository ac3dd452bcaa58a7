"""The budget's checks on hand-made snapshots (proposals.domain.check_budget, the one home of the checks the
eligibility checklist, the messages beside the fields and submission use): the amount requested against the
start-up maximum, the cap per initiative and the share of the budget total the programme may pay; the budget
lines against the first activities' costs. Exactly at a limit passes, one cent over fails. No database."""

from __future__ import annotations

import re
import string
from decimal import Decimal

import pytest

from programme.proposals.domain import BUDGET_MESSAGES, BudgetLimits, check_budget
from programme.rulebook import load_call_rules
from tests.proposals.builders import RULES_FILE, activity, budget_line, snapshot

RULES = load_call_rules(RULES_FILE)
SHIPPED = BudgetLimits.of(RULES, per_initiative_cap=Decimal("250000.00"), currency="EUR")


def limits(*, maximum: str = "50000.00", cap: str = "250000.00", share: str = "1.0",
           currency: str = "EUR") -> BudgetLimits:
    return BudgetLimits(currency=currency, startup_maximum=Decimal(maximum), per_initiative_cap=Decimal(cap),
                        startup_share=Decimal(share))


def budget(requested: str | None, lines: list[str], costs: list[str]) -> dict:
    """A snapshot with these budget lines and activities' costs (amounts as text) and this request."""
    return snapshot(
        requested_amount=None if requested is None else Decimal(requested),
        budget_lines=[budget_line(Decimal(amount)) for amount in lines],
        activities=[activity(Decimal(cost), number) for number, cost in enumerate(costs, start=1)],
    )


def test_the_limits_come_from_the_call_rules_and_the_cap():
    assert limits() == SHIPPED
    assert SHIPPED.limit == Decimal("50000.00")
    assert SHIPPED.share_text == "100 %"
    assert limits(cap="25000.00").limit == Decimal("25000.00")
    assert limits(share="0.75").share_text == "75 %" and limits(share="0.125").share_text == "12.5 %"


def test_a_budget_within_every_limit_has_nothing_to_say():
    found = check_budget(budget("30000.00", ["24000.00", "16000.00"], ["24000.00", "16000.00"]), SHIPPED)

    assert found.ok
    assert found.requested == found.costs == ()
    assert (found.requested_amount, found.budget_total, found.activities_total) == (
        Decimal("30000.00"), Decimal("40000.00"), Decimal("40000.00"))


@pytest.mark.parametrize(("requested", "expected"), [
    ("50000.00", ()),
    ("50000.01", ("EUR 50,000.01 requested is more than the call's start-up maximum of EUR 50,000.00.",)),
    ("49999.99", ()),
])
def test_exactly_the_startup_maximum_is_fine_one_cent_over_is_not(requested, expected):
    found = check_budget(budget(requested, ["60000.00"], ["60000.00"]), SHIPPED)
    assert found.requested == expected
    assert found.costs == ()


@pytest.mark.parametrize(("requested", "expected"), [
    ("25000.00", ()),
    ("25000.01", ("EUR 25,000.01 requested is more than the call's cap per initiative of EUR 25,000.00.",)),
])
def test_a_cap_below_the_maximum_is_the_limit_named(requested, expected):
    found = check_budget(budget(requested, ["40000.00"], ["40000.00"]), limits(cap="25000.00"))
    assert found.requested == expected


@pytest.mark.parametrize(("requested", "expected"), [
    ("40000.00", ()),
    ("40000.01", ("EUR 40,000.01 requested is more than the budget total of EUR 40,000.00.",)),
])
def test_exactly_the_budget_total_is_fine_one_cent_over_is_not(requested, expected):
    found = check_budget(budget(requested, ["24000.00", "16000.00"], ["40000.00"]), SHIPPED)
    assert found.requested == expected


@pytest.mark.parametrize(("requested", "expected"), [
    ("24999.99", ()),
    ("25000.00", ("EUR 25,000.00 requested is more than EUR 24,999.99, the 75 % of the budget total of "
                  "EUR 33,333.33 that the programme may pay.",)),
])
def test_a_lower_share_pays_its_part_of_the_budget_rounded_down_to_the_cent(requested, expected):
    # 75 % of 33,333.33 is 24,999.9975: the programme may pay 24,999.99, never a fraction of a cent more.
    share = limits(share="0.75")
    assert share.payable(Decimal("33333.33")) == Decimal("24999.99")
    found = check_budget(budget(requested, ["33333.33"], ["33333.33"]), share)
    assert found.requested == expected


def test_the_case_of_the_issue_names_every_figure():
    """EUR 60,000 requested, a EUR 50,000 maximum, a EUR 42,000 budget, activities costing EUR 50,000."""
    found = check_budget(budget("60000.00", ["30000.00", "12000.00"], ["50000.00"]), SHIPPED)

    assert not found.ok
    assert found.requested == (
        "EUR 60,000.00 requested is more than the call's start-up maximum of EUR 50,000.00.",
        "EUR 60,000.00 requested is more than the budget total of EUR 42,000.00.",
    )
    assert found.costs == ("The budget lines add up to EUR 42,000.00, EUR 8,000.00 less than the EUR 50,000.00 "
                           "the first activities cost: the two totals must be equal.",)


@pytest.mark.parametrize(("lines", "costs", "expected"), [
    (["42000.00"], ["42000.00"], ()),
    (["30000.00", "12000.00"], ["20000.00", "22000.00"], ()),  # the totals agree, however divided
    (["42000.00"], ["42000.01"], ("The budget lines add up to EUR 42,000.00, EUR 0.01 less than the EUR 42,000.01 "
                                  "the first activities cost: the two totals must be equal.",)),
    (["42000.01"], ["42000.00"], ("The budget lines add up to EUR 42,000.01, EUR 0.01 more than the EUR 42,000.00 "
                                  "the first activities cost: the two totals must be equal.",)),
    (["42000.00"], [], ("The budget lines add up to EUR 42,000.00, EUR 42,000.00 more than the EUR 0.00 the first "
                        "activities cost: the two totals must be equal.",)),
    # No budget line yet: the budget section asks for one; nothing to compare before.
    ([], [], ()),
    ([], ["18000.00"], ()),
])
def test_the_budget_lines_against_the_activities_costs(lines, costs, expected):
    found = check_budget(budget(None, lines, costs), SHIPPED)
    assert found.costs == expected
    assert found.requested == ()


@pytest.mark.parametrize("requested", [None, "0.00"])
def test_no_request_yet_is_not_a_message_beside_the_field(requested):
    # The checklist says "No amount is requested" or "must be above zero"; beside the field there is nothing to
    # compare yet.
    found = check_budget(budget(requested, [], []), SHIPPED)
    assert found.requested == () and found.ok


def test_a_currency_without_cents_is_written_without_them():
    found = check_budget(budget("60001", ["60001"], ["60001"]), limits(maximum="60000", currency="JPY",
                                                                      cap="100000"))
    assert found.requested == ("JPY 60,001 requested is more than the call's start-up maximum of JPY 60,000.",)


def test_every_message_names_only_figures_the_checks_fill_in():
    # The script (static/budget.js) fills the same placeholders: each message's are among those below.
    known = {"requested", "maximum", "cap", "budget", "payable", "share", "activities", "difference"}
    for key, message in BUDGET_MESSAGES.items():
        names = {name for _, name, _, _ in string.Formatter().parse(message) if name}
        assert names and names <= known, key
        assert not re.search(r"\{\s|\s\}", message), key
