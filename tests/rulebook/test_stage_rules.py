"""The ``[[stages]]`` of a staged call's rules: the shipped example loads, each constraint refuses a bad file with the
key named, and a stage's derived rules carry its own sections, criteria, budget, maximum and share."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from programme.proposals.domain import SECTIONS
from programme.rulebook import load_rules_file
from programme.rulebook.stages import PROPOSAL_SECTIONS, stage_rules
from tests.rulebook.test_rules_files import RULES_DIR, assert_problem, problems_of, write_variant

STAGED = RULES_DIR / "staged-network-contest.toml"
DEFAULT = RULES_DIR / "cluster-contest.toml"


def test_the_shipped_staged_call_loads_with_declining_support():
    rules = load_rules_file(STAGED)
    assert [s.key for s in rules.stages] == ["concept", "planning", "implementation"]
    shares = [s.support_share for s in rules.stages if s.awards_money]
    assert shares == sorted(shares, reverse=True) == [Decimal("0.75"), Decimal("0.5")]
    assert sum(s.budget for s in rules.stages) <= rules.call.budget
    assert all(s.max_per_group <= rules.call.per_initiative_cap for s in rules.stages)


def test_a_call_without_stages_is_a_one_stage_call():
    assert load_rules_file(DEFAULT).stages is None


def test_the_stage_sections_are_the_proposal_sections():
    assert tuple(SECTIONS) == PROPOSAL_SECTIONS


def test_a_stage_derives_its_own_rules():
    rules = load_rules_file(STAGED)
    concept = stage_rules(rules, "concept")
    assert concept.eligibility.required_sections == ["cluster", "activities"]
    assert [c.key for c in concept.scoring.criteria] == ["common_interest", "precise_objective"]
    assert concept.scoring.overall_threshold == Decimal("3.0")
    assert concept.scoring.tie_break == ["precise_objective"]  # the call's, kept to the stage's criteria
    assert concept.call.budget == 0 and concept.funding.startup_grant.maximum == 0
    implementation = stage_rules(rules, "implementation")
    assert implementation.scoring.criteria == rules.scoring.criteria
    assert implementation.funding.startup_grant.share == Decimal("0.5")
    assert implementation.call.per_initiative_cap == Decimal("150000.00")
    assert stage_rules(rules, "implementation") is implementation  # kept
    assert implementation.stages is None and rules.call.budget == Decimal("1200000.00")


def _stages(data: dict[str, Any]) -> list[dict[str, Any]]:
    return data["stages"]


@pytest.mark.parametrize(("change", "key", "expected"), [
    (lambda d: d.update(stages=d["stages"][:1]), "stages", "at least two stages"),
    (lambda d: _stages(d)[1].update(key="concept"), "stages", "each key once"),
    (lambda d: _stages(d)[2].update(support_share=Decimal("0.8")), "stages[2].support_share",
     "at most the share of the stage before"),
    (lambda d: _stages(d)[2].update(max_per_group=Decimal("150000.01"), budget=Decimal("1000000.00")),
     "stages[2].max_per_group", "at most call.per_initiative_cap"),
    (lambda d: _stages(d)[2].update(budget=Decimal("1080000.01")), "stages", "more than call.budget"),
    (lambda d: _stages(d)[1].update(max_per_group=Decimal("120000.01")), "stages[1].max_per_group",
     "at most the stage's budget"),
    (lambda d: _stages(d)[1].update(support_share=Decimal("0")), "stages[1].budget", "or none"),
    (lambda d: _stages(d)[1].update(budget=Decimal("120000.001")), "stages[1].budget", "whole minor units"),
    (lambda d: _stages(d)[2].update(budget=Decimal("0"), max_per_group=Decimal("0"), support_share=Decimal("0")),
     "stages[2].budget", "the last stage awards the funding"),
    (lambda d: _stages(d)[0].update(sections=["cluster", "plans"]), "stages[0].sections", "unknown: ['plans']"),
    (lambda d: _stages(d)[0]["criteria"][0].update(threshold=Decimal("5.5")), "stages[0].criteria[0].threshold",
     "between 0"),
    (lambda d: _stages(d)[0].update(overall_threshold=Decimal("5.5")), "stages[0].overall_threshold",
     "at most the highest total 5"),
    (lambda d: _stages(d)[1].update(tie_break=["nonsense"]), "stages[1].tie_break", "unknown: ['nonsense']"),
    (lambda d: _stages(d)[0]["criteria"][1].update(key="common_interest"), "stages[0].criteria",
     "each key once"),
    (lambda d: _stages(d)[0].update(colour="blue"), "stages[0].colour", "unknown key"),
], ids=["one-stage", "repeated-key", "rising-share", "max-over-cap", "budgets-over-call", "max-over-stage-budget",
        "money-half-set", "budget-cents", "last-stage-no-money", "unknown-section", "criterion-threshold",
        "overall-threshold", "tie-break", "criteria-repeated", "unknown-key"])
def test_bad_stages_are_refused_naming_the_key(tmp_path: Path, change, key: str, expected: str):
    path = write_variant(tmp_path, STAGED, change)
    assert_problem(problems_of(path), path, key, expected)


def test_stage_dates_must_follow_each_other(tmp_path: Path):
    from datetime import datetime

    def change(data: dict[str, Any]) -> None:
        _stages(data)[0].update(opens=datetime(2027, 2, 1, 9), closes=datetime(2027, 3, 1, 17))
        _stages(data)[1].update(opens=datetime(2027, 2, 20, 9), closes=datetime(2027, 4, 1, 17))

    path = write_variant(tmp_path, STAGED, change)
    assert_problem(problems_of(path), path, "stages[1].opens", "not before stages[0].closes")


def test_the_staged_example_writes_out_every_stage_key_but_the_dates_and_what_a_stage_keeps_from_the_call():
    from programme.rulebook.stages import Stage
    from tests.rulebook.test_rules_files import _missing_keys, read

    written = set()
    for index, stage in enumerate(read(STAGED)["stages"]):
        assert not {k for k in _missing_keys(Stage, stage, "") if "." in k or "[" in k}, index
        written |= set(stage)
    assert set(Stage.model_fields) - written == {"opens", "closes"}
