"""The pure eligibility rules on hand-made snapshots, with the shipped rules file: every rule passing,
each failing alone with its reason; section gaps; the snapshot's JSON form. No database."""

from __future__ import annotations

import json
from datetime import timedelta
from decimal import Decimal

import pytest

from programme.proposals.domain import (
    SECTIONS,
    Verdict,
    check_eligibility,
    dump_snapshot,
    load_snapshot,
    section_gaps,
)
from programme.rulebook import CallRules, load_call_rules, parse_call_rules
from tests.proposals.builders import (
    CLOSES,
    NOW,
    OPENS,
    RULES_FILE,
    activity,
    budget_line,
    member,
    members,
    snapshot,
)

RULES = load_call_rules(RULES_FILE)
CAP = Decimal("250000.00")

RULE_KEYS = ["members", "firms", "support_institutions", "organisation_types", "requested_amount", "costs",
             "sections", "deadline"]


def check(snap: dict, rules: CallRules = RULES, *, cap: Decimal = CAP, now=NOW, opens=OPENS, closes=CLOSES
          ) -> Verdict:
    return check_eligibility(snap, rules, per_initiative_cap=cap, currency="EUR", opens_at=opens,
                             closes_at=closes, now=now)


def failing(verdict: Verdict) -> dict[str, str]:
    return {c.key: c.reason for c in verdict.failures}


def with_allowed_types(rules: CallRules, types: list[str]) -> CallRules:
    return rules.model_copy(update={"eligibility": rules.eligibility.model_copy(
        update={"allowed_organisation_types": types})})


def with_startup_share(rules: CallRules, share: Decimal) -> CallRules:
    funding = rules.funding
    grant = funding.startup_grant.model_copy(update={"share": share})
    return rules.model_copy(update={"funding": funding.model_copy(update={"startup_grant": grant})})


# The shipped rules are what these tests assume ---------------------------------------------------


def test_the_shipped_rules_are_the_ones_these_tests_assume():
    rule = RULES.eligibility
    assert (rule.min_members, rule.min_firms, rule.min_support_institutions) == (5, 3, 1)
    assert rule.required_sections == ["cluster", "activities", "budget", "indicators"]
    assert RULES.funding.startup_grant.maximum == Decimal("50000.00")
    assert RULES.funding.startup_grant.share == Decimal("1.0")


# All passing ---------------------------------------------------------------------------------------


def test_a_complete_proposal_passes_every_rule_in_order():
    verdict = check(snapshot())

    assert verdict.eligible
    assert verdict.failures == []
    assert [c.key for c in verdict.checks] == RULE_KEYS
    assert all(c.passed for c in verdict.checks)
    reasons = {c.key: c.reason for c in verdict.checks}
    assert reasons["organisation_types"] == "All members are of accepted types."
    assert reasons["requested_amount"] == ("EUR 30,000.00 is within the start-up maximum of EUR 50,000.00 and the "
                                           "budget total of EUR 40,000.00.")
    assert reasons["costs"] == "The budget lines and the first activities' costs both add up to EUR 40,000.00."
    assert reasons["sections"] == "All required sections are complete."
    assert reasons["deadline"] == "The call is open."
    labels = {c.key: c.label for c in verdict.checks}
    assert labels["members"] == "At least 5 member organisations"
    assert labels["firms"] == "At least 3 firms"


def test_the_minimum_composition_exactly_passes():
    verdict = check(snapshot(members=members("firm", "firm", "firm", "chamber", "university")))
    assert verdict.eligible


def test_a_verdict_round_trips_through_json():
    verdict = check(snapshot(members=members("firm", "firm")))
    again = Verdict.from_json(json.loads(json.dumps(verdict.as_json())))
    assert again == verdict
    assert not again.eligible


# Each rule failing alone ---------------------------------------------------------------------------


def test_too_few_members_fails_alone():
    verdict = check(snapshot(members=members("firm", "firm", "firm", "business_association")))

    assert failing(verdict) == {
        "members": "The group has 4 member organisations; the call asks for at least 5.",
    }
    assert not verdict.eligible


def test_one_member_is_counted_in_the_singular():
    verdict = check(snapshot(members=members("firm")))
    reasons = failing(verdict)
    assert reasons["members"] == "The group has 1 member organisation; the call asks for at least 5."
    assert reasons["firms"] == "The group has 1 firm; the call asks for at least 3."


def test_too_few_firms_fails_alone():
    verdict = check(snapshot(members=members("firm", "firm", "business_association", "chamber", "bank")))

    assert failing(verdict) == {"firms": "The group has 2 firms; the call asks for at least 3."}


def test_no_support_institution_fails_alone():
    verdict = check(snapshot(members=members("firm", "firm", "firm", "firm", "firm")))

    reasons = failing(verdict)
    assert list(reasons) == ["support_institutions"]
    assert reasons["support_institutions"].startswith(
        "The group has 0 support institutions; the call asks for at least 1 (a business association, chamber,"
    )


def test_a_disallowed_organisation_type_fails_alone():
    rules = with_allowed_types(RULES, ["firm", "business_association", "chamber"])
    group = members("firm", "firm", "firm", "firm", "business_association") + [
        member(6, "bank", "Vaal Savings Bank")]

    verdict = check(snapshot(members=group), rules)

    assert failing(verdict) == {
        "organisation_types": "Not accepted by this call: Vaal Savings Bank (accepted types: Firm, "
                              "Business association, Chamber of commerce or industry).",
    }
    # The same group passes under the shipped rules, which accept every type.
    assert check(snapshot(members=group)).eligible


def test_disallowed_types_from_a_modified_rules_file_name_every_offending_member():
    text = RULES_FILE.read_text(encoding="utf-8")
    start = text.index("allowed_organisation_types = [")
    end = text.index("]", start) + 1
    rules = parse_call_rules(
        text[:start] + 'allowed_organisation_types = ["firm", "university"]' + text[end:], "restricted.toml")
    assert rules.eligibility.allowed_organisation_types == ["firm", "university"]
    group = members("firm", "firm", "firm", "university") + [
        member(5, "bank", "Vaal Savings Bank"), member(6, "local_government", "Emfuleni Municipality")]

    verdict = check(snapshot(members=group), rules)

    assert failing(verdict) == {
        "organisation_types": "Not accepted by this call: Vaal Savings Bank, Emfuleni Municipality "
                              "(accepted types: Firm, University).",
    }


def test_no_requested_amount_fails_the_amount_and_the_budget_section():
    verdict = check(snapshot(requested_amount=None))

    # A missing request is both an amount failure and a gap in the budget section: the two belong together.
    assert failing(verdict) == {
        "requested_amount": "No amount is requested from the programme yet.",
        "sections": "Budget and co-financing: Give the amount requested from the programme.",
    }


def test_a_zero_request_fails_alone():
    verdict = check(snapshot(requested_amount=Decimal("0.00")))
    assert failing(verdict) == {"requested_amount": "The amount requested must be above zero."}


def test_a_request_above_the_startup_maximum_fails_alone():
    costs = {"budget_lines": [budget_line(Decimal("60000.00"))], "activities": [activity(Decimal("60000.00"))]}
    verdict = check(snapshot(**costs, requested_amount=Decimal("50000.01")))

    assert failing(verdict) == {
        "requested_amount": "EUR 50,000.01 requested is more than the call's start-up maximum of EUR 50,000.00.",
    }


def test_a_request_of_exactly_the_startup_maximum_passes():
    costs = {"budget_lines": [budget_line(Decimal("60000.00"))], "activities": [activity(Decimal("60000.00"))]}
    verdict = check(snapshot(**costs, requested_amount=Decimal("50000.00")))
    assert verdict.eligible


def test_a_request_above_a_lower_cap_per_initiative_fails_alone():
    verdict = check(snapshot(requested_amount=Decimal("30000.00")), cap=Decimal("25000.00"))

    assert failing(verdict) == {
        "requested_amount": "EUR 30,000.00 requested is more than the call's cap per initiative of EUR 25,000.00.",
    }
    # At the cap itself, it passes.
    passed = check(snapshot(requested_amount=Decimal("25000.00")), cap=Decimal("25000.00"))
    assert passed.eligible
    assert passed.checks[4].reason == ("EUR 25,000.00 is within the cap per initiative of EUR 25,000.00 and the "
                                       "budget total of EUR 40,000.00.")


def test_a_request_above_the_budget_total_fails_alone():
    verdict = check(snapshot(requested_amount=Decimal("40000.01")))  # the budget totals 40,000.00

    assert failing(verdict) == {
        "requested_amount": "EUR 40,000.01 requested is more than the budget total of EUR 40,000.00.",
    }
    assert check(snapshot(requested_amount=Decimal("40000.00"))).eligible


def test_a_request_above_the_budget_total_times_a_lower_share_fails_alone():
    rules = with_startup_share(RULES, Decimal("0.5"))

    verdict = check(snapshot(requested_amount=Decimal("20000.01")), rules)

    assert failing(verdict) == {
        "requested_amount": "EUR 20,000.01 requested is more than EUR 20,000.00, the 50 % of the budget total of "
                            "EUR 40,000.00 that the programme may pay.",
    }
    passed = check(snapshot(requested_amount=Decimal("20000.00")), rules)
    assert passed.eligible
    assert passed.checks[4].reason == ("EUR 20,000.00 is within the start-up maximum of EUR 50,000.00 and "
                                       "EUR 20,000.00, the 50 % of the budget total the programme may pay.")


def test_a_request_above_both_the_maximum_and_the_budget_names_both():
    """The case of issue 16: EUR 60,000 requested, a EUR 50,000 maximum, a EUR 42,000 budget for activities
    costing EUR 50,000: three figures out of line, each named."""
    verdict = check(snapshot(requested_amount=Decimal("60000.00"), budget_lines=[budget_line(Decimal("42000.00"))],
                             activities=[activity(Decimal("50000.00"))]))

    assert failing(verdict) == {
        "requested_amount": "EUR 60,000.00 requested is more than the call's start-up maximum of EUR 50,000.00. "
                            "EUR 60,000.00 requested is more than the budget total of EUR 42,000.00.",
        "costs": "The budget lines add up to EUR 42,000.00, EUR 8,000.00 less than the EUR 50,000.00 the first "
                 "activities cost: the two totals must be equal.",
    }
    labels = {c.key: c.label for c in verdict.failures}
    assert labels == {"requested_amount": "Amount requested within the call's limits",
                      "costs": "Budget lines equal the first activities' costs"}


def test_budget_lines_above_the_activities_costs_fail_the_costs_rule_alone():
    verdict = check(snapshot(activities=[activity(Decimal("24000.00"))]))  # the lines total 40,000.00

    assert failing(verdict) == {
        "costs": "The budget lines add up to EUR 40,000.00, EUR 16,000.00 more than the EUR 24,000.00 the first "
                 "activities cost: the two totals must be equal.",
    }


def test_budget_lines_one_cent_short_of_the_activities_costs_fail_the_costs_rule_alone():
    verdict = check(snapshot(activities=[activity(Decimal("24000.00")), activity(Decimal("16000.01"), 2)]))

    assert failing(verdict) == {
        "costs": "The budget lines add up to EUR 40,000.00, EUR 0.01 less than the EUR 40,000.01 the first "
                 "activities cost: the two totals must be equal.",
    }


@pytest.mark.parametrize(("field", "gap"), [
    ("sector", "Give the sector or value chain."),
    ("territory", "Give the territory."),
    ("stage", "Give the cluster's stage."),
    ("main_problem", "Give its main problem."),
    ("market_failure", "Give the market failure addressed."),
])
def test_an_empty_cluster_field_fails_the_sections_rule_alone(field, gap):
    cluster = {**snapshot()["cluster"], field: "   "}

    verdict = check(snapshot(cluster=cluster))

    assert failing(verdict) == {"sections": f"The cluster: {gap}"}


def test_no_objectives_fails_the_sections_rule_alone():
    verdict = check(snapshot(objectives=""))
    assert failing(verdict) == {"sections": "Objectives and first activities: Give the initiative's objectives."}


def test_no_activity_fails_the_sections_rule_and_leaves_the_budget_lines_without_costs_to_match():
    verdict = check(snapshot(activities=[]))
    assert failing(verdict) == {
        "costs": "The budget lines add up to EUR 40,000.00, EUR 40,000.00 more than the EUR 0.00 the first "
                 "activities cost: the two totals must be equal.",
        "sections": "Objectives and first activities: Add at least one first activity.",
    }


def test_no_budget_line_fails_the_sections_rule_and_leaves_nothing_to_request_against():
    verdict = check(snapshot(budget_lines=[]))

    # Without a budget line the total is zero: any request is above it. The activities' costs are compared with
    # the budget lines once there is one.
    assert failing(verdict) == {
        "requested_amount": "EUR 30,000.00 requested is more than the budget total of EUR 0.00.",
        "sections": "Budget and co-financing: Add at least one budget line.",
    }
    assert verdict.checks[5].reason == ("No budget line yet: the first activities' costs are compared with the "
                                        "budget lines once there is one.")


def test_no_indicator_fails_the_sections_rule_alone():
    verdict = check(snapshot(indicators=[]))
    assert failing(verdict) == {"sections": "Indicators of success: Add at least one indicator of success."}


def test_several_missing_sections_are_listed_together_in_section_order():
    cluster = {**snapshot()["cluster"], "territory": ""}
    verdict = check(snapshot(cluster=cluster, indicators=[], activities=[]))
    assert failing(verdict)["sections"] == (
        "The cluster: Give the territory. Objectives and first activities: Add at least one first "
        "activity. Indicators of success: Add at least one indicator of success."
    )


def test_only_the_sections_the_call_requires_are_checked():
    rules = RULES.model_copy(update={"eligibility": RULES.eligibility.model_copy(
        update={"required_sections": ["cluster"]})})
    assert check(snapshot(indicators=[], objectives=""), rules).eligible
    # The budget's own checks stand whatever sections the call requires.
    assert set(failing(check(snapshot(activities=[]), rules))) == {"costs"}


def test_before_opening_fails_the_deadline_rule_alone():
    verdict = check(snapshot(), now=OPENS - timedelta(seconds=1))
    assert failing(verdict) == {"deadline": "The call is not open yet."}


def test_at_the_opening_second_the_call_is_open():
    assert check(snapshot(), now=OPENS).eligible


def test_after_the_deadline_fails_the_deadline_rule_alone():
    verdict = check(snapshot(), now=CLOSES + timedelta(seconds=1))
    assert failing(verdict) == {"deadline": "The deadline has passed."}


def test_exactly_at_the_deadline_the_call_is_closed():
    verdict = check(snapshot(), now=CLOSES)
    assert failing(verdict) == {"deadline": "The deadline has passed."}


def test_one_second_before_the_deadline_the_call_is_open():
    verdict = check(snapshot(), now=CLOSES - timedelta(seconds=1))
    assert verdict.eligible
    assert verdict.checks[-1].reason == "The call is open."


def test_a_call_without_a_submission_period_fails_the_deadline_rule():
    verdict = check(snapshot(), opens=None, closes=None)
    assert failing(verdict) == {"deadline": "The call has no submission period."}


# Section gaps --------------------------------------------------------------------------------------


def test_a_complete_snapshot_has_no_gaps_in_any_section():
    assert section_gaps(snapshot()) == {key: [] for key in SECTIONS}


def test_an_empty_snapshot_lists_every_gap():
    empty = snapshot(cluster={"sector": "", "territory": "", "stage": "", "main_problem": "",
                              "market_failure": ""},
                     objectives="", activities=[], budget_lines=[], requested_amount=None, indicators=[])

    assert section_gaps(empty) == {
        "cluster": ["Give the sector or value chain.", "Give the territory.", "Give the cluster's stage.",
                    "Give its main problem.", "Give the market failure addressed."],
        "activities": ["Give the initiative's objectives.", "Add at least one first activity."],
        "budget": ["Add at least one budget line.", "Give the amount requested from the programme."],
        "indicators": ["Add at least one indicator of success."],
        "attachments": [],
    }


def test_whitespace_counts_as_empty_and_a_missing_cluster_key_too():
    cluster = {"sector": " \n ", "territory": "Vaal", "stage": "working", "main_problem": "x"}  # no market_failure
    gaps = section_gaps(snapshot(cluster=cluster))
    assert gaps["cluster"] == ["Give the sector or value chain.", "Give the market failure addressed."]
    assert gaps["activities"] == gaps["budget"] == gaps["indicators"] == []


def test_a_zero_request_is_not_a_gap_but_a_failed_rule():
    assert section_gaps(snapshot(requested_amount=Decimal("0")))["budget"] == []


# The snapshot's JSON form ---------------------------------------------------------------------------


def test_dump_and_load_round_trip_keeps_decimals_exactly():
    original = snapshot(requested_amount=Decimal("30000.50"),
                        indicators=[{"name": "Share exported", "unit": "%", "baseline": Decimal("0.0125"),
                                     "target": Decimal("12.5000")}])

    text = dump_snapshot(original)
    again = load_snapshot(text)

    assert again == original
    for value, expected in [
        (again["requested_amount"], "30000.50"),
        (again["budget_total"], "40000.00"),
        (again["budget_lines"][0]["amount"], "24000.00"),
        (again["activities"][0]["cost"], "24000.00"),
        (again["cofinancing"][0]["amount"], "5000.00"),
        (again["indicators"][0]["baseline"], "0.0125"),
        (again["indicators"][0]["target"], "12.5000"),
    ]:
        assert isinstance(value, Decimal)
        assert str(value) == expected  # the same digits, trailing zeros included
    assert again["activities"][0]["start_quarter"] == 2 and isinstance(again["activities"][0]["start_quarter"], int)
    assert dump_snapshot(again) == text


def test_dump_writes_decimals_as_strings_and_never_a_float():
    text = dump_snapshot(snapshot(requested_amount=Decimal("30000.50")))

    def no_floats(value: str) -> None:
        raise AssertionError(f"a float in the stored snapshot: {value}")

    data = json.loads(text, parse_float=no_floats)
    assert data["requested_amount"] == "30000.50"
    assert data["budget_lines"][1]["amount"] == "16000.00"
    assert data["indicators"][0]["target"] == "4.5"
    assert text == dump_snapshot(load_snapshot(text))  # canonical: sorted keys, stable text


def test_dump_keeps_a_missing_request_as_null():
    text = dump_snapshot(snapshot(requested_amount=None))
    assert json.loads(text)["requested_amount"] is None
    assert load_snapshot(text)["requested_amount"] is None


@pytest.mark.parametrize("where", ["top", "nested"])
def test_a_float_in_the_snapshot_is_refused(where):
    snap = snapshot()
    if where == "top":
        snap["requested_amount"] = 30000.5
    else:
        snap["budget_lines"][0]["amount"] = 24000.0

    with pytest.raises(TypeError, match="float"):
        dump_snapshot(snap)


def test_an_object_json_cannot_store_is_refused():
    with pytest.raises(TypeError, match="set"):
        dump_snapshot(snapshot(title={"a set"}))
