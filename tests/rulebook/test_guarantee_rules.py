"""Issue 18, mutual guarantees: ``[funding.loans.guarantees]`` validated, each constraint named by its key; a call
without the section loads as before (its loans cannot be guaranteed)."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from programme.rulebook import load_rules_file
from tests.rulebook.test_rules_files import DEFAULT_CALL, assert_problem, problems_of, write_variant

KEY = "funding.loans.guarantees"


def _set(**values: Any):
    def change(data: dict[str, Any]) -> None:
        data["funding"]["loans"]["guarantees"].update(values)
    return change


def test_the_shipped_call_has_the_guarantees_of_the_papers():
    rules = load_rules_file(DEFAULT_CALL).funding.loans.guarantees
    assert rules is not None
    assert rules.default_after_days == 90
    assert rules.max_exposure_per_guarantor == Decimal("15000.00")
    assert rules.max_share_per_guarantor == Decimal("0.5")
    assert rules.allow_over_coverage is False


def test_a_call_without_the_section_has_no_guarantees(tmp_path: Path):
    path = write_variant(tmp_path, DEFAULT_CALL, lambda d: d["funding"]["loans"].pop("guarantees"))
    assert load_rules_file(path).funding.loans.guarantees is None


@pytest.mark.parametrize(("values", "key", "expected"), [
    ({"default_after_days": 0}, "default_after_days", "greater than or equal to 1"),
    ({"default_after_days": 4000}, "default_after_days", "less than or equal to 3650"),
    ({"max_exposure_per_guarantor": Decimal("0")}, "max_exposure_per_guarantor", "greater than 0"),
    ({"max_share_per_guarantor": Decimal("0")}, "max_share_per_guarantor", "greater than 0"),
    ({"max_share_per_guarantor": Decimal("1.5")}, "max_share_per_guarantor", "less than or equal to 1"),
    ({"allow_over_coverage": "sometimes"}, "allow_over_coverage", "bool"),
])
def test_each_bad_value_is_named_by_its_key(tmp_path: Path, values: dict[str, Any], key: str, expected: str):
    path = write_variant(tmp_path, DEFAULT_CALL, _set(**values))
    assert_problem(problems_of(path), path, f"{KEY}.{key}", expected)


def test_an_exposure_limit_with_fractions_of_a_cent_is_refused(tmp_path: Path):
    path = write_variant(tmp_path, DEFAULT_CALL, _set(max_exposure_per_guarantor=Decimal("15000.005")))
    assert_problem(problems_of(path), path, f"{KEY}.max_exposure_per_guarantor", "whole minor units of EUR")


def test_the_exposure_limit_is_required_in_the_section(tmp_path: Path):
    path = write_variant(tmp_path, DEFAULT_CALL, lambda d: d["funding"]["loans"]["guarantees"].pop(
        "max_exposure_per_guarantor"))
    assert_problem(problems_of(path), path, f"{KEY}.max_exposure_per_guarantor", "required")


def test_a_misspelt_key_in_the_section_is_unknown(tmp_path: Path):
    path = write_variant(tmp_path, DEFAULT_CALL, _set(default_after_day=30))
    assert_problem(problems_of(path), path, f"{KEY}.default_after_day", "unknown key")
