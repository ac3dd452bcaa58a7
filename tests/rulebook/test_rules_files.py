"""The shipped rules files load, and bad rules files are refused with an error that says where and why.

Bad files are made from the shipped default: parsed with tomllib, one value changed, written back
as TOML text into tmp_path, and loaded with `load_rules_file` like any file under rules/.
"""

from __future__ import annotations

import copy
import json
import tomllib
from collections.abc import Callable
from datetime import date, datetime, time
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from pydantic import BaseModel

from programme.rulebook import (
    ORGANISATION_TYPES,
    CallRules,
    ProgrammeRules,
    RulesError,
    ScorecardTemplate,
    load_rules_file,
)

RULES_DIR = Path(__file__).resolve().parents[2] / "rules"
DEFAULT_CALL = RULES_DIR / "cluster-contest.toml"
SCOTTISH = RULES_DIR / "scorecards" / "scottish-cluster.toml"
THAI = RULES_DIR / "scorecards" / "thai-food-cluster.toml"
SHIPPED = sorted(RULES_DIR.rglob("*.toml"))


# --- helpers ------------------------------------------------------------------------------------


def _toml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, Decimal):
        text = format(value, "f")
        return text if "." in text else f"{text}.0"  # keep it a TOML float, as written
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)  # JSON string escapes are valid TOML
    if isinstance(value, datetime | date | time):
        return value.isoformat()
    if isinstance(value, list):
        return "[" + ", ".join(_toml_value(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{_toml_key(k)} = {_toml_value(v)}" for k, v in value.items()) + "}"
    raise TypeError(f"cannot write {type(value).__name__} as TOML")


def _toml_key(key: str) -> str:
    return key if key.replace("_", "").replace("-", "").isalnum() and key.isascii() else json.dumps(key)


def _is_table_array(value: Any) -> bool:
    return isinstance(value, list) and bool(value) and all(isinstance(v, dict) for v in value)


def _emit(table: dict[str, Any], prefix: str, lines: list[str]) -> None:
    for key, value in table.items():
        if not isinstance(value, dict) and not _is_table_array(value):
            lines.append(f"{_toml_key(key)} = {_toml_value(value)}")
    for key, value in table.items():
        name = f"{prefix}{_toml_key(key)}"
        if isinstance(value, dict):
            lines.extend(["", f"[{name}]"])
            _emit(value, f"{name}.", lines)
        elif _is_table_array(value):
            for item in value:
                lines.extend(["", f"[[{name}]]"])
                _emit(item, f"{name}.", lines)


def to_toml(data: dict[str, Any]) -> str:
    """A tiny TOML writer: enough for what tomllib reads from the shipped rules files."""
    lines: list[str] = []
    _emit(data, "", lines)
    return "\n".join(lines) + "\n"


def read(path: Path) -> dict[str, Any]:
    return tomllib.loads(path.read_text(encoding="utf-8"), parse_float=Decimal)


def problems_of(path: Path) -> RulesError:
    with pytest.raises(RulesError) as caught:
        load_rules_file(path)
    return caught.value


def assert_problem(error: RulesError, path: Path, key: str, *expected: str) -> None:
    """The error names the file, the dotted key and (in its message) what was expected."""
    matching = [p for p in error.problems if p.key == key]
    assert matching, f"no problem at {key!r}; got {[(p.key, p.message) for p in error.problems]}"
    problem = matching[0]
    assert problem.file == str(path)
    assert problem.message.startswith(("expected", "missing", "unknown key", "not ", "no such"))
    for fragment in expected:
        assert fragment in problem.message, f"{fragment!r} not in {problem.message!r}"
    text = str(error)  # what a person reads: file, key and message on one line
    assert f"{path}: {key}: " in text if key else str(path) in text


def write_variant(tmp_path: Path, source: Path, change: Callable[[dict[str, Any]], None]) -> Path:
    data = copy.deepcopy(read(source))
    change(data)
    target = tmp_path / source.name
    target.write_text(to_toml(data), encoding="utf-8")
    return target


# --- the shipped files --------------------------------------------------------------------------


def test_rules_folder_ships_the_default_call_and_both_scorecards():
    assert {DEFAULT_CALL, SCOTTISH, THAI} <= set(SHIPPED)


@pytest.mark.parametrize("path", SHIPPED, ids=lambda p: str(p.relative_to(RULES_DIR)))
def test_every_shipped_rules_file_loads(path: Path):
    rules = load_rules_file(path)
    expected = (ScorecardTemplate if path.parent.name == "scorecards"
                else ProgrammeRules if path.name == "programme.toml" else CallRules)
    assert isinstance(rules, expected)


@pytest.mark.parametrize("path", SHIPPED, ids=lambda p: str(p.relative_to(RULES_DIR)))
def test_test_writer_round_trips_every_shipped_file(path: Path, tmp_path: Path):
    copy_path = write_variant(tmp_path, path, lambda data: None)
    assert load_rules_file(copy_path) == load_rules_file(path)


def test_default_call_weights_sum_to_three_and_highest_total_is_fifteen():
    rules = load_rules_file(DEFAULT_CALL)
    assert isinstance(rules, CallRules)
    scoring = rules.scoring
    assert sum(c.weight for c in scoring.criteria) == Decimal(3)
    assert scoring.max_total == Decimal(15)
    assert scoring.overall_threshold == Decimal(10)
    assert (scoring.scale_min, scoring.scale_max, scoring.step) == (Decimal(0), Decimal(5), Decimal("0.5"))
    assert all(c.threshold == Decimal(3) for c in scoring.criteria)


def test_default_call_has_the_seven_criteria_of_the_papers():
    rules = load_rules_file(DEFAULT_CALL)
    keys = [c.key for c in rules.scoring.criteria]
    assert keys == [
        "cooperation",
        "first_activities",
        "composition",
        "private_leadership",
        "market_failure",
        "self_funding",
        "own_indicators",
    ]
    assert 2 <= len(rules.scoring.tie_break) <= 3
    assert set(rules.scoring.tie_break) <= set(keys)
    for criterion in rules.scoring.criteria:
        # guidance tells reviewers what a 5, a 3 and a 0 look like
        for anchor in ("\n5: ", "\n3: ", "\n0: "):
            assert anchor in criterion.guidance, (criterion.key, anchor)


def test_default_call_values_follow_the_design():
    rules = load_rules_file(DEFAULT_CALL)
    call, funding = rules.call, rules.funding
    assert (call.currency, call.budget, call.per_initiative_cap) == (
        "EUR",
        Decimal("1500000.00"),
        Decimal("250000.00"),
    )
    assert call.timezone == "Africa/Johannesburg"
    assert call.opens is None and call.closes is None  # a template: the manager sets the dates
    assert set(rules.eligibility.allowed_organisation_types) == set(ORGANISATION_TYPES)
    assert funding.external_share.schedule == [Decimal(x) for x in ("1.00", "0.75", "0.50", "0.25")]
    assert funding.external_share.cap_for_year(5) == Decimal("0.10")
    assert funding.matching.ratio_for_year(9) == Decimal("0.5")
    assert funding.startup_grant.maximum == Decimal("50000.00")
    assert 3 <= len(funding.request_criteria) <= 4


def _missing_keys(model: type[BaseModel], data: Any, where: str) -> list[str]:
    """Every field of the model (and of the models nested in it) that the raw TOML leaves out."""
    missing: list[str] = []
    for name, field in model.model_fields.items():
        if name not in data:
            missing.append(f"{where}{name}")
            continue
        nested = field.annotation
        args = getattr(nested, "__args__", ())
        if isinstance(nested, type) and issubclass(nested, BaseModel):
            missing += _missing_keys(nested, data[name], f"{where}{name}.")
        elif args and isinstance(args[0], type) and issubclass(args[0], BaseModel) and isinstance(data[name], dict):
            missing += _missing_keys(args[0], data[name], f"{where}{name}.")  # an optional section (X | None)
        elif args and isinstance(args[0], type) and issubclass(args[0], BaseModel):
            for index, item in enumerate(data[name]):
                missing += _missing_keys(args[0], item, f"{where}{name}[{index}].")
    return missing


def test_default_call_writes_out_every_key_except_the_dates():
    # A staged call's [[stages]] are written out in their own example, rules/staged-network-contest.toml.
    missing = [key for key in _missing_keys(CallRules, read(DEFAULT_CALL), "") if key != "stages"]
    assert missing == ["call.opens", "call.closes"]


def test_default_call_names_a_shipped_scorecard():
    rules = load_rules_file(DEFAULT_CALL)
    templates = [load_rules_file(p) for p in sorted((RULES_DIR / "scorecards").glob("*.toml"))]
    keys = {t.scorecard.key for t in templates}
    assert rules.monitoring.scorecard == "scottish_cluster"
    assert rules.monitoring.scorecard in keys


def test_scorecard_keys_are_the_file_stems_in_snake_case():
    for path in sorted((RULES_DIR / "scorecards").glob("*.toml")):
        assert load_rules_file(path).scorecard.key == path.stem.replace("-", "_")


def _walk(value: Any, where: str = "") -> list[tuple[str, Any]]:
    if isinstance(value, dict):
        return [item for k, v in value.items() for item in _walk(v, f"{where}.{k}")]
    if isinstance(value, list | tuple):
        return [item for i, v in enumerate(value) for item in _walk(v, f"{where}[{i}]")]
    return [(where, value)]


@pytest.mark.parametrize("path", SHIPPED, ids=lambda p: str(p.relative_to(RULES_DIR)))
def test_no_value_of_a_loaded_rules_file_is_a_float(path: Path):
    values = _walk(load_rules_file(path).model_dump())
    floats = [(where, v) for where, v in values if isinstance(v, float)]
    assert not floats
    assert any(isinstance(v, Decimal) for _, v in values) or path.parent.name == "scorecards"


def test_money_and_shares_of_the_default_call_are_decimals():
    rules = load_rules_file(DEFAULT_CALL)
    for value in (
        rules.call.budget,
        rules.call.per_initiative_cap,
        rules.funding.startup_grant.maximum,
        rules.funding.loans.max_rate,
        rules.funding.external_share.floor,
        *rules.funding.matching.ratios,
        *(c.weight for c in rules.scoring.criteria),
    ):
        assert type(value) is Decimal


THAI_CSFS = [
    ("Financial Perspective", ["Ease of access to loans", "Financial market sophistication", "Cost control"]),
    ("Customer Perspective", ["Quality of goods and services", "Accessibility"]),
    (
        "Internal Business Process Perspective",
        ["Supply chain integration", "Availability of skills and labour", "Visionary leadership"],
    ),
    (
        "Innovation & Growth Perspective",
        [
            "Increased innovation levels within companies",
            "Detailed market knowledge",
            "Communication and knowledge sharing",
        ],
    ),
]


def test_thai_template_has_the_papers_critical_success_factors():
    template = load_rules_file(THAI)
    assert isinstance(template, ScorecardTemplate)
    assert template.scorecard.key == "thai_food_cluster"
    assert [(p.title, [f.title for f in p.factors]) for p in template.perspectives] == THAI_CSFS


def test_thai_template_keeps_the_papers_kpi_names():
    template = load_rules_file(THAI)
    names = {k.name for p in template.perspectives for f in p.factors for k in f.kpis}
    assert len(names) == 26
    assert {
        "Reduction in number of Non-Performing Loans (NPL)",
        "Number of companies certified to GMP/HACCP",
        "Number of companies adopting Just-In-Time (JIT) delivery methodology",
        "Existence of an internal (cluster) communications plan",
    } <= names


def test_scottish_template_has_the_papers_critical_success_factors():
    template = load_rules_file(SCOTTISH)
    assert [(p.title, len(p.factors)) for p in template.perspectives] == [
        ("Economic / Financial", 4),
        ("Knowledge", 3),
        ("Skills", 3),
        ("Cluster Process", 4),
    ]
    titles = [f.title for p in template.perspectives for f in p.factors]
    assert "Local Connections & Networks" in titles and "Industry Leadership" in titles
    kpis = {k.key for p in template.perspectives for f in p.factors for k in f.kpis}
    assert {"jobs_created_safeguarded", "export_growth", "ecommerce_adopters", "new_networks_created"} <= kpis


# --- bad call rules -----------------------------------------------------------------------------


def test_invalid_toml_names_the_file_and_the_line(tmp_path: Path):
    lines = DEFAULT_CALL.read_text(encoding="utf-8").splitlines()
    number = next(i for i, line in enumerate(lines) if line.startswith("currency = ")) + 1
    lines[number - 1] = 'currency = "EUR'  # unterminated string
    path = tmp_path / "broken.toml"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    error = problems_of(path)
    assert_problem(error, path, "", "not valid TOML", f"line {number}")


def test_budget_with_three_decimals_is_refused(tmp_path: Path):
    path = write_variant(tmp_path, DEFAULT_CALL, lambda d: d["call"].update(budget=Decimal("1500000.125")))
    assert_problem(problems_of(path), path, "call.budget", "whole minor units of EUR")


def test_missing_section_is_named(tmp_path: Path):
    path = write_variant(tmp_path, DEFAULT_CALL, lambda d: d.pop("monitoring"))
    assert_problem(problems_of(path), path, "monitoring", "required")


def test_missing_key_in_a_nested_table_is_named(tmp_path: Path):
    path = write_variant(tmp_path, DEFAULT_CALL, lambda d: d["funding"]["loans"].pop("max_rate"))
    assert_problem(problems_of(path), path, "funding.loans.max_rate", "required")


def test_misspelt_key_is_named_as_unknown(tmp_path: Path):
    def misspell(data: dict[str, Any]) -> None:
        data["scoring"]["overal_threshold"] = data["scoring"].pop("overall_threshold")

    path = write_variant(tmp_path, DEFAULT_CALL, misspell)
    error = problems_of(path)
    assert_problem(error, path, "scoring.overal_threshold", "unknown key", "misspelt")
    assert_problem(error, path, "scoring.overall_threshold", "required")


def test_misspelt_key_inside_a_criterion_is_named(tmp_path: Path):
    def misspell(data: dict[str, Any]) -> None:
        data["scoring"]["criteria"][2]["wieght"] = data["scoring"]["criteria"][2].pop("weight")

    path = write_variant(tmp_path, DEFAULT_CALL, misspell)
    error = problems_of(path)
    assert_problem(error, path, "scoring.criteria[2].wieght", "unknown key")
    assert_problem(error, path, "scoring.criteria[2].weight", "required")


@pytest.mark.parametrize(
    ("section", "key", "value", "expected"),
    [
        ("eligibility", "min_members", "five", "valid integer"),
        ("call", "budget", "a lot", "decimal"),
        ("call", "name", 42, "valid string"),
        ("scoring", "tie_break", "cooperation", "valid list"),
        ("scoring", "funding_line", "maybe", "'stop' or 'skip'"),
        ("monitoring", "report_frequency_months", Decimal("6.5"), "integer"),
    ],
)
def test_wrong_type_names_the_key_and_the_expected_type(
    tmp_path: Path, section: str, key: str, value: Any, expected: str
):
    path = write_variant(tmp_path, DEFAULT_CALL, lambda d: d[section].update({key: value}))
    assert_problem(problems_of(path), path, f"{section}.{key}", expected)


@pytest.mark.parametrize(("value", "expected"), [(-1, "greater than or equal to 0"), (61, "less than or equal to 60")])
def test_review_reminder_days_out_of_range_is_refused(tmp_path: Path, value: int, expected: str):
    path = write_variant(tmp_path, DEFAULT_CALL, lambda d: d["scoring"].update(review_reminder_days=value))
    assert_problem(problems_of(path), path, "scoring.review_reminder_days", expected)


def test_negative_weight_is_refused(tmp_path: Path):
    path = write_variant(
        tmp_path, DEFAULT_CALL, lambda d: d["scoring"]["criteria"][1].update(weight=Decimal("-0.5"))
    )
    assert_problem(problems_of(path), path, "scoring.criteria[1].weight", "greater than 0", "-0.5")


def test_threshold_above_the_scale_is_refused(tmp_path: Path):
    path = write_variant(
        tmp_path, DEFAULT_CALL, lambda d: d["scoring"]["criteria"][2].update(threshold=Decimal("5.5"))
    )
    assert_problem(problems_of(path), path, "scoring.criteria[2].threshold", "between 0.0 and 5.0", "5.5")


def test_step_that_does_not_divide_the_scale_is_refused(tmp_path: Path):
    path = write_variant(tmp_path, DEFAULT_CALL, lambda d: d["scoring"].update(step=Decimal("0.7")))
    assert_problem(problems_of(path), path, "scoring.step", "divide the scale")


def test_scale_max_below_scale_min_is_refused(tmp_path: Path):
    path = write_variant(tmp_path, DEFAULT_CALL, lambda d: d["scoring"].update(scale_min=Decimal("6.0")))
    assert_problem(problems_of(path), path, "scoring.scale_max", "greater than scale_min")


def test_duplicate_criterion_keys_are_refused(tmp_path: Path):
    def duplicate(data: dict[str, Any]) -> None:
        data["scoring"]["criteria"][3]["key"] = "cooperation"
        data["scoring"]["tie_break"] = ["cooperation"]

    path = write_variant(tmp_path, DEFAULT_CALL, duplicate)
    assert_problem(problems_of(path), path, "scoring.criteria", "each key once", "'cooperation'")


def test_tie_break_naming_an_unknown_criterion_is_refused(tmp_path: Path):
    path = write_variant(
        tmp_path, DEFAULT_CALL, lambda d: d["scoring"].update(tie_break=["cooperation", "luck"])
    )
    assert_problem(problems_of(path), path, "scoring.tie_break", "criterion keys among", "'luck'")


def test_overall_threshold_above_the_highest_total_is_refused(tmp_path: Path):
    path = write_variant(
        tmp_path, DEFAULT_CALL, lambda d: d["scoring"].update(overall_threshold=Decimal("15.5"))
    )
    assert_problem(problems_of(path), path, "scoring.overall_threshold", "at most the highest total 15")


def test_bad_criterion_key_is_refused(tmp_path: Path):
    path = write_variant(
        tmp_path, DEFAULT_CALL, lambda d: d["scoring"]["criteria"][0].update(key="Co-operation")
    )
    assert_problem(problems_of(path), path, "scoring.criteria[0].key", "pattern")


def test_rising_external_share_schedule_is_refused(tmp_path: Path):
    schedule = [Decimal(x) for x in ("1.00", "0.50", "0.75", "0.25")]
    path = write_variant(
        tmp_path, DEFAULT_CALL, lambda d: d["funding"]["external_share"].update(schedule=schedule)
    )
    assert_problem(problems_of(path), path, "funding.external_share.schedule", "must not rise", "year 3")


def test_external_share_above_one_is_refused(tmp_path: Path):
    schedule = [Decimal("1.50"), Decimal("0.50")]
    path = write_variant(
        tmp_path, DEFAULT_CALL, lambda d: d["funding"]["external_share"].update(schedule=schedule)
    )
    assert_problem(problems_of(path), path, "funding.external_share.schedule[0]", "less than or equal to 1")


def test_floor_above_the_last_year_is_refused(tmp_path: Path):
    path = write_variant(
        tmp_path, DEFAULT_CALL, lambda d: d["funding"]["external_share"].update(floor=Decimal("0.30"))
    )
    assert_problem(problems_of(path), path, "funding.external_share.floor", "last year")


def test_min_members_below_firms_plus_institutions_is_refused(tmp_path: Path):
    path = write_variant(tmp_path, DEFAULT_CALL, lambda d: d["eligibility"].update(min_members=3))
    assert_problem(problems_of(path), path, "eligibility.min_members", "min_firms + min_support_institutions")


def test_unknown_organisation_type_is_refused(tmp_path: Path):
    path = write_variant(
        tmp_path,
        DEFAULT_CALL,
        lambda d: d["eligibility"]["allowed_organisation_types"].append("cooperative_bank"),
    )
    assert_problem(
        problems_of(path), path, "eligibility.allowed_organisation_types", "'cooperative_bank'", "'firm'"
    )


def test_firms_required_but_not_allowed_is_refused(tmp_path: Path):
    path = write_variant(
        tmp_path,
        DEFAULT_CALL,
        lambda d: d["eligibility"]["allowed_organisation_types"].remove("firm"),
    )
    assert_problem(problems_of(path), path, "eligibility.allowed_organisation_types", "include 'firm'")


def test_unknown_time_zone_is_refused(tmp_path: Path):
    path = write_variant(tmp_path, DEFAULT_CALL, lambda d: d["call"].update(timezone="Africa/Atlantis"))
    assert_problem(problems_of(path), path, "call.timezone", "IANA time zone", "'Africa/Atlantis'")


def test_closes_before_opens_is_refused(tmp_path: Path):
    def dates(data: dict[str, Any]) -> None:
        data["call"]["opens"] = datetime(2026, 3, 2, 9, 0)
        data["call"]["closes"] = datetime(2026, 2, 27, 17, 0)

    path = write_variant(tmp_path, DEFAULT_CALL, dates)
    assert_problem(problems_of(path), path, "call.closes", "after 'opens'")


def test_dates_in_order_are_accepted(tmp_path: Path):
    def dates(data: dict[str, Any]) -> None:
        data["call"]["opens"] = datetime(2026, 3, 2, 9, 0)
        data["call"]["closes"] = datetime(2026, 5, 29, 17, 0)

    rules = load_rules_file(write_variant(tmp_path, DEFAULT_CALL, dates))
    assert rules.call.closes == datetime(2026, 5, 29, 17, 0)


def test_cap_above_budget_is_refused(tmp_path: Path):
    path = write_variant(
        tmp_path, DEFAULT_CALL, lambda d: d["call"].update(per_initiative_cap=Decimal("2000000.00"))
    )
    assert_problem(problems_of(path), path, "call.per_initiative_cap", "at most the call's budget")


def test_startup_grant_above_the_cap_is_refused(tmp_path: Path):
    path = write_variant(
        tmp_path,
        DEFAULT_CALL,
        lambda d: d["funding"]["startup_grant"].update(maximum=Decimal("300000.00")),
    )
    assert_problem(problems_of(path), path, "funding.startup_grant.maximum", "call.per_initiative_cap")


def test_lowercase_currency_is_refused(tmp_path: Path):
    path = write_variant(tmp_path, DEFAULT_CALL, lambda d: d["call"].update(currency="eur"))
    assert_problem(problems_of(path), path, "call.currency", "pattern", "'eur'")


def test_unknown_loan_method_is_refused(tmp_path: Path):
    path = write_variant(
        tmp_path, DEFAULT_CALL, lambda d: d["funding"]["loans"].update(methods=["annuity", "balloon"])
    )
    assert_problem(problems_of(path), path, "funding.loans.methods[1]", "'annuity' or 'equal_principal'")


def test_every_problem_is_reported_at_once(tmp_path: Path):
    def two_faults(data: dict[str, Any]) -> None:
        data["call"]["currency"] = "euro"
        data["monitoring"]["report_frequency_months"] = 0

    path = write_variant(tmp_path, DEFAULT_CALL, two_faults)
    error = problems_of(path)
    assert_problem(error, path, "call.currency", "pattern")
    assert_problem(error, path, "monitoring.report_frequency_months", "greater than or equal to 1")


# --- bad scorecard templates --------------------------------------------------------------------


def test_scorecard_factor_with_four_kpis_is_refused(tmp_path: Path):
    def four(data: dict[str, Any]) -> None:
        kpis = data["perspectives"][0]["factors"][0]["kpis"]  # Ease of access to loans: three KPIs
        kpis.append({**kpis[0], "key": "fourth_kpi"})

    path = write_variant(tmp_path, THAI, four)
    assert_problem(problems_of(path), path, "perspectives[0].factors[0].kpis", "at most 3 items", "not 4")


def test_scorecard_factor_without_kpis_is_refused(tmp_path: Path):
    def none(data: dict[str, Any]) -> None:
        data["perspectives"][1]["factors"][1]["kpis"] = []

    path = write_variant(tmp_path, THAI, none)
    assert_problem(problems_of(path), path, "perspectives[1].factors[1].kpis", "at least 1 item")


def test_repeated_kpi_keys_are_refused(tmp_path: Path):
    def repeat(data: dict[str, Any]) -> None:
        data["perspectives"][2]["factors"][0]["kpis"][1]["key"] = "npl_reduction"  # first used in [0][0][1]

    path = write_variant(tmp_path, THAI, repeat)
    assert_problem(
        problems_of(path), path, "perspectives[2].factors[0].kpis[1].key", "used once", "'npl_reduction'"
    )


def test_kpi_with_unknown_direction_is_refused(tmp_path: Path):
    def sideways(data: dict[str, Any]) -> None:
        data["perspectives"][3]["factors"][2]["kpis"][0]["direction"] = "up"

    path = write_variant(tmp_path, SCOTTISH, sideways)
    assert_problem(
        problems_of(path), path, "perspectives[3].factors[2].kpis[0].direction", "'higher' or 'lower'", "'up'"
    )


def test_scorecard_without_source_is_refused(tmp_path: Path):
    path = write_variant(tmp_path, SCOTTISH, lambda d: d["scorecard"].pop("source"))
    assert_problem(problems_of(path), path, "scorecard.source", "required")


# --- files that are not rules at all ------------------------------------------------------------


def test_file_with_neither_call_nor_scorecard_is_refused(tmp_path: Path):
    path = tmp_path / "notes.toml"
    path.write_text('[calls]\nname = "Cluster contest"\n', encoding="utf-8")
    assert_problem(problems_of(path), path, "", "[call]", "[scorecard]")


def test_missing_file_is_named(tmp_path: Path):
    path = tmp_path / "no-such-rules.toml"
    assert_problem(problems_of(path), path, "", "no such file")


def test_file_that_is_not_utf8_is_refused(tmp_path: Path):
    path = tmp_path / "latin1.toml"
    path.write_bytes('[call]\nname = "Coopération"\n'.encode("latin-1"))
    assert_problem(problems_of(path), path, "", "not UTF-8")
