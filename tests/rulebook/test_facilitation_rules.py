"""The facilitation fund's rules ``[funding.facilitation]`` (seed 003, section 8): the shipped call has the section,
a call without it works as before, and each constraint refuses a bad value naming the file, the key and what was
expected."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from programme.rulebook import load_rules_file
from programme.rulebook.facilitation import FACILITATION_COST_KINDS
from tests.rulebook.test_rules_files import DEFAULT_CALL, assert_problem, problems_of, write_variant

D = Decimal


def _with(**changes: Any):
    def change(data: dict[str, Any]) -> None:
        data["funding"]["facilitation"].update(changes)
    return change


def test_the_shipped_call_has_a_facilitation_fund() -> None:
    fund = load_rules_file(DEFAULT_CALL).funding.facilitation
    assert fund is not None
    assert (fund.share, fund.ceiling, fund.months) == (D("0.5"), D("20000.00"), 12)
    assert fund.cost_kinds == list(FACILITATION_COST_KINDS)
    assert all(isinstance(v, Decimal) for v in (fund.share, fund.ceiling))


def test_a_call_without_the_section_has_none(tmp_path: Path) -> None:
    path = write_variant(tmp_path, DEFAULT_CALL, lambda d: d["funding"].pop("facilitation"))
    assert load_rules_file(path).funding.facilitation is None


def test_months_default_to_the_first_year(tmp_path: Path) -> None:
    path = write_variant(tmp_path, DEFAULT_CALL, lambda d: d["funding"]["facilitation"].pop("months"))
    assert load_rules_file(path).funding.facilitation.months == 12


@pytest.mark.parametrize(("changes", "key", "expected"), [
    ({"share": D("0")}, "funding.facilitation.share", "a share above 0 and at most 1"),
    ({"share": D("1.01")}, "funding.facilitation.share", "less than or equal to 1"),
    ({"ceiling": D("0")}, "funding.facilitation.ceiling", "greater than 0"),
    ({"ceiling": D("1000.005")}, "funding.facilitation.ceiling", "whole minor units of EUR"),
    ({"ceiling": D("250000.01")}, "funding.facilitation.ceiling", "at most call.per_initiative_cap"),
    ({"months": 0}, "funding.facilitation.months", "greater than or equal to 1"),
    ({"months": 13}, "funding.facilitation.months", "less than or equal to 12"),
    ({"cost_kinds": []}, "funding.facilitation.cost_kinds", "at least 1"),
    ({"cost_kinds": ["facilitator", "yacht"]}, "funding.facilitation.cost_kinds", "unknown: ['yacht']"),
    ({"cost_kinds": ["venue", "venue"]}, "funding.facilitation.cost_kinds", "repeated: ['venue']"),
    ({"shares": D("0.5")}, "funding.facilitation.shares", "unknown key"),
])
def test_each_constraint_names_the_key(tmp_path: Path, changes: dict[str, Any], key: str, expected: str) -> None:
    path = write_variant(tmp_path, DEFAULT_CALL, _with(**changes))
    assert_problem(problems_of(path), path, key, expected)


@pytest.mark.parametrize("key", ["share", "ceiling", "cost_kinds"])
def test_a_missing_key_is_named(tmp_path: Path, key: str) -> None:
    path = write_variant(tmp_path, DEFAULT_CALL, lambda d: d["funding"]["facilitation"].pop(key))
    assert_problem(problems_of(path), path, f"funding.facilitation.{key}", "required")


def test_the_ceiling_may_be_the_cap_per_initiative(tmp_path: Path) -> None:
    path = write_variant(tmp_path, DEFAULT_CALL, _with(ceiling=D("250000.00")))
    assert load_rules_file(path).funding.facilitation.ceiling == D("250000.00")
