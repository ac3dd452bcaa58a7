"""The foresight's new-loan terms within the loan rules (issue 18): ``[funding.revolving_fund]`` gives the loans the
projection makes a rate and a term; a file whose rate is above ``[funding.loans] max_rate`` or whose term is above
``max_term_months`` would have the projection model loans the fund may not make, and is refused naming the file,
the key and the limit. At the limit accepted, one step over refused (the rate: the smallest step a loan's rate is
kept to, six places of the fraction, and one basis point; the term: one month).

The other constraints of the section are tested with the projection (tests/loans/test_foresight_domain.py)."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from programme.loans.services.foresight import policy_of, rules_of_call
from programme.rulebook import load_rules_file
from tests.rulebook.test_rules_files import DEFAULT_CALL, RULES_DIR, assert_problem, problems_of, write_variant

D = Decimal
STAGED_CALL = RULES_DIR / "staged-network-contest.toml"


def _terms(*, max_rate: Decimal | None = None, max_term: int | None = None, rate: Decimal | None = None,
           term: int | None = None):
    def change(data: dict[str, Any]) -> None:
        loans, fund = data["funding"]["loans"], data["funding"]["revolving_fund"]
        if max_rate is not None:
            loans["max_rate"] = max_rate
        if max_term is not None:
            loans["max_term_months"] = max_term
        if rate is not None:
            fund["new_loan_rate"] = rate
        if term is not None:
            fund["new_loan_term_months"] = term
    return change


def test_the_shipped_calls_keep_their_projection_within_their_loan_rules() -> None:
    rules = load_rules_file(DEFAULT_CALL)
    fund = rules.funding.revolving_fund
    assert fund is not None
    assert fund.new_loan_rate <= rules.funding.loans.max_rate
    assert fund.new_loan_term_months <= rules.funding.loans.max_term_months
    staged = load_rules_file(STAGED_CALL)  # no section: the defaults (0 %, 36 months) within its limits
    assert staged.funding.revolving_fund is None
    assert staged.funding.loans.max_term_months >= 36


@pytest.mark.parametrize("rate", [D("0.04"), D("0.040000"), D("0.039999"), D("0")])
def test_a_new_loan_rate_up_to_the_maximum_is_accepted(tmp_path: Path, rate: Decimal) -> None:
    path = write_variant(tmp_path, DEFAULT_CALL, _terms(max_rate=D("0.04"), rate=rate))
    assert load_rules_file(path).funding.revolving_fund.new_loan_rate == rate


@pytest.mark.parametrize("rate", [D("0.040001"), D("0.0401"), D("0.05")])
def test_a_new_loan_rate_over_the_maximum_is_refused_naming_the_key(tmp_path: Path, rate: Decimal) -> None:
    path = write_variant(tmp_path, DEFAULT_CALL, _terms(max_rate=D("0.04"), rate=rate))
    assert_problem(problems_of(path), path, "funding.revolving_fund.new_loan_rate",
                   "at most funding.loans.max_rate (0.04)", f"got {rate}")


def test_a_zero_maximum_rate_allows_only_interest_free_new_loans(tmp_path: Path) -> None:
    path = write_variant(tmp_path, DEFAULT_CALL, _terms(max_rate=D("0"), rate=D("0")))
    assert load_rules_file(path).funding.revolving_fund.new_loan_rate == 0
    path = write_variant(tmp_path, DEFAULT_CALL, _terms(max_rate=D("0"), rate=D("0.000001")))
    assert_problem(problems_of(path), path, "funding.revolving_fund.new_loan_rate", "at most funding.loans.max_rate")


@pytest.mark.parametrize("term", [60, 59, 1])
def test_a_new_loan_term_up_to_the_longest_is_accepted(tmp_path: Path, term: int) -> None:
    path = write_variant(tmp_path, DEFAULT_CALL, _terms(max_term=60, term=term))
    assert load_rules_file(path).funding.revolving_fund.new_loan_term_months == term


@pytest.mark.parametrize(("max_term", "term"), [(60, 61), (24, 25), (24, 36)])
def test_a_new_loan_term_over_the_longest_is_refused_naming_the_key(tmp_path: Path, max_term: int,
                                                                    term: int) -> None:
    path = write_variant(tmp_path, DEFAULT_CALL, _terms(max_term=max_term, term=term))
    assert_problem(problems_of(path), path, "funding.revolving_fund.new_loan_term_months",
                   f"at most funding.loans.max_term_months ({max_term})", f"got {term}")


def test_rules_check_refuses_a_projection_beyond_the_loan_rules_and_exits_1(runner, tmp_path: Path) -> None:
    path = write_variant(tmp_path, DEFAULT_CALL, _terms(max_rate=D("0.04"), rate=D("0.0401")))
    result = runner.invoke(args=["rules", "check", str(path)])
    assert result.exit_code == 1, result.output
    assert f"FAIL {path}" in result.output
    assert (f"{path}: funding.revolving_fund.new_loan_rate: expected at most funding.loans.max_rate (0.04), "
            "got 0.0401") in result.output


def test_rules_check_passes_the_shipped_calls(runner) -> None:
    result = runner.invoke(args=["rules", "check", str(DEFAULT_CALL), str(STAGED_CALL)])
    assert result.exit_code == 0, result.output
    assert "2 of 2 rules file(s) valid." in result.output


def _without_term(data: dict[str, Any], *, max_term: int, section: bool) -> None:
    data["funding"]["loans"]["max_term_months"] = max_term
    if section:
        data["funding"]["revolving_fund"].pop("new_loan_term_months", None)
    else:
        data["funding"].pop("revolving_fund", None)


@pytest.mark.parametrize("section", [True, False])
def test_a_term_left_out_is_the_longest_the_loans_allow_when_shorter_than_the_default(tmp_path: Path,
                                                                                       section: bool) -> None:
    """A file that does not give the new-loan term is not refused for the default's 36 months: the projection
    takes the longest term its loans allow (24 here), never more than they allow."""
    path = write_variant(tmp_path, DEFAULT_CALL, lambda data: _without_term(data, max_term=24, section=section))
    rules = load_rules_file(path)
    assert (rules.funding.revolving_fund is not None) == section
    call = SimpleNamespace(rules=rules)
    assert rules_of_call(call).new_loan_term_months == 24
    assert policy_of(rules_of_call(call)).new_loan_term_months == 24
    # With loans allowed longer than the default, the default stands.
    path = write_variant(tmp_path, DEFAULT_CALL, lambda data: _without_term(data, max_term=120, section=section))
    assert rules_of_call(SimpleNamespace(rules=load_rules_file(path))).new_loan_term_months == 36
