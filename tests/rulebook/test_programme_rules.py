"""The programme's own rules file (rules/programme.toml): the shipped one loads and cites the papers, and each
constraint refuses a bad file with the file, the key and what was expected."""

from __future__ import annotations

import copy
from decimal import Decimal
from pathlib import Path

import pytest

from programme.rulebook import PROGRAMME_FIGURES, ProgrammeRules, RulesError, load_programme_rules, load_rules_file
from programme.rulebook.programme import Target
from tests.rulebook.test_rules_files import assert_problem, problems_of, read, to_toml

RULES_DIR = Path(__file__).resolve().parents[2] / "rules"
SHIPPED = RULES_DIR / "programme.toml"


def _variant(tmp_path: Path, change) -> Path:
    data = copy.deepcopy(read(SHIPPED))
    change(data)
    path = tmp_path / "programme.toml"
    path.write_text(to_toml(data), encoding="utf-8")
    return path


def _target(data: dict, figure: str) -> dict:
    return next(t for t in data["targets"] if t["figure"] == figure)


def _index(figure: str) -> int:
    return [t["figure"] for t in read(SHIPPED)["targets"]].index(figure)


# --- the shipped file ---------------------------------------------------------------------------


def test_shipped_programme_rules_load_as_their_own_kind_with_cited_targets():
    rules = load_rules_file(SHIPPED)
    assert isinstance(rules, ProgrammeRules)
    assert rules == load_programme_rules(SHIPPED)
    figures = [t.figure for t in rules.targets]
    assert {"co_financing_leveraged", "self_funding_share", "par30", "reports_on_time"} <= set(figures)
    assert all(t.note.startswith("[00") for t in rules.targets), "each target cites a seed paper"
    text = SHIPPED.read_text(encoding="utf-8")
    assert "[000]" in text and "[003]" in text and "[004]" in text
    par30 = next(t for t in rules.targets if t.figure == "par30")
    assert par30.direction == "at_most" and par30.value == Decimal("0.05")
    leverage = next(t for t in rules.targets if t.figure == "co_financing_leveraged")
    assert leverage.value_in(2026) == Decimal("0.5") and leverage.value_in(2030) == Decimal("1.0")


def test_writer_round_trips_the_shipped_file(tmp_path):
    assert load_rules_file(_variant(tmp_path, lambda data: None)) == load_rules_file(SHIPPED)


def test_a_file_without_targets_is_valid(tmp_path):
    path = tmp_path / "programme.toml"
    path.write_text('[programme]\nname = "A programme"\n', encoding="utf-8")
    rules = load_rules_file(path)
    assert isinstance(rules, ProgrammeRules) and rules.targets == [] and rules.programme.trend == "quarter"


# --- one test per constraint, each naming its key -----------------------------------------------


def test_unknown_figure_is_refused_naming_the_known_ones(tmp_path):
    path = _variant(tmp_path, lambda d: _target(d, "par30").update(figure="par_30"))
    error = problems_of(path)
    assert_problem(error, path, f"targets[{_index('par30')}].figure", "one of", "'par30'", "got 'par_30'")


def test_a_share_above_one_is_refused(tmp_path):
    path = _variant(tmp_path, lambda d: _target(d, "reports_on_time").update(value=Decimal("90")))
    assert_problem(problems_of(path), path, f"targets[{_index('reports_on_time')}].value",
                   "a share between 0 and 1", "'reports_on_time'", "got 90")


def test_a_negative_target_is_refused(tmp_path):
    path = _variant(tmp_path, lambda d: _target(d, "co_financing_leveraged").update(value=Decimal("-0.5")))
    assert_problem(problems_of(path), path, f"targets[{_index('co_financing_leveraged')}].value",
                   "a number of 0 or more")


def test_a_ratio_may_be_above_one(tmp_path):
    path = _variant(tmp_path, lambda d: _target(d, "co_financing_leveraged").update(value=Decimal("2.5")))
    assert next(t for t in load_rules_file(path).targets if t.figure == "co_financing_leveraged").value == 2.5


def test_a_count_target_must_be_whole(tmp_path):
    path = _variant(tmp_path, lambda d: _target(d, "initiatives_over_cap").update(value=Decimal("0.5")))
    assert_problem(problems_of(path), path, f"targets[{_index('initiatives_over_cap')}].value", "a whole number")


def test_by_year_key_must_be_a_year(tmp_path):
    path = _variant(tmp_path, lambda d: _target(d, "par30").update(by_year={"next": Decimal("0.04")}))
    assert_problem(problems_of(path), path, f"targets[{_index('par30')}].by_year.next", "a calendar year")


def test_by_year_value_follows_the_figure_kind(tmp_path):
    path = _variant(tmp_path, lambda d: _target(d, "par30").update(by_year={"2027": Decimal("1.5")}))
    assert_problem(problems_of(path), path, f"targets[{_index('par30')}].by_year.2027", "a share between 0 and 1")


def test_a_figure_targeted_twice_is_refused(tmp_path):
    def twice(data):
        data["targets"].append(copy.deepcopy(_target(data, "par30")))
    path = _variant(tmp_path, twice)
    count = len(read(SHIPPED)["targets"])
    assert_problem(problems_of(path), path, f"targets[{count}].figure", "each figure targeted once")


def test_direction_must_be_at_least_or_at_most(tmp_path):
    path = _variant(tmp_path, lambda d: _target(d, "par30").update(direction="below"))
    assert_problem(problems_of(path), path, f"targets[{_index('par30')}].direction", "'at_least' or 'at_most'")


def test_a_target_needs_a_value(tmp_path):
    path = _variant(tmp_path, lambda d: _target(d, "par30").pop("value"))
    assert_problem(problems_of(path), path, f"targets[{_index('par30')}].value", "missing")


def test_trend_step_is_quarter_or_year(tmp_path):
    path = _variant(tmp_path, lambda d: d["programme"].update(trend="month"))
    assert_problem(problems_of(path), path, "programme.trend", "'quarter' or 'year'")


def test_programme_needs_a_name(tmp_path):
    path = _variant(tmp_path, lambda d: d["programme"].pop("name"))
    assert_problem(problems_of(path), path, "programme.name", "missing")


def test_a_misspelt_key_is_refused(tmp_path):
    path = _variant(tmp_path, lambda d: _target(d, "par30").update(valeu=Decimal("0.05")))
    assert_problem(problems_of(path), path, f"targets[{_index('par30')}].valeu", "unknown key")


def test_a_file_of_no_known_kind_names_the_programme_table(tmp_path):
    path = tmp_path / "other.toml"
    path.write_text("[something]\nname = 1\n", encoding="utf-8")
    with pytest.raises(RulesError) as caught:
        load_rules_file(path)
    assert "[programme] table" in str(caught.value)


# --- met and not met ----------------------------------------------------------------------------


def _t(direction: str, value: str, by_year: dict | None = None, figure: str = "par30") -> Target:
    return Target(figure=figure, direction=direction, value=Decimal(value),
                  by_year={k: Decimal(v) for k, v in (by_year or {}).items()})


def test_at_most_is_met_at_and_below_the_target_and_missed_above():
    target = _t("at_most", "0.05")
    assert target.met_by(Decimal("0.05"), 2026) and target.met_by(Decimal("0.01"), 2026)
    assert not target.met_by(Decimal("0.050001"), 2026)


def test_at_least_is_met_at_and_above_the_target_and_missed_below():
    target = _t("at_least", "1.0", figure="co_financing_leveraged")
    assert target.met_by(Decimal("1.0"), 2026) and target.met_by(Decimal("3"), 2026)
    assert not target.met_by(Decimal("0.9999"), 2026)


def test_by_year_target_applies_in_its_year_only():
    target = _t("at_least", "1.0", {"2026": "0.5"}, figure="co_financing_leveraged")
    assert target.met_by(Decimal("0.6"), 2026)
    assert not target.met_by(Decimal("0.6"), 2027)


def test_every_known_figure_has_a_kind():
    assert all(spec.kind in ("share", "ratio", "count") for spec in PROGRAMME_FIGURES.values())


# --- the command line ---------------------------------------------------------------------------


def test_rules_check_names_the_key_of_a_bad_programme_file_and_exits_1(runner, tmp_path):
    path = _variant(tmp_path, lambda d: _target(d, "par30").update(value=Decimal("5")))
    result = runner.invoke(args=["rules", "check", str(path)])
    assert result.exit_code == 1, result.output
    assert f"FAIL {path}" in result.output
    assert f"{path}: targets[{_index('par30')}].value: expected a share between 0 and 1" in result.output


def test_rules_check_also_checks_a_programme_file_configured_outside_the_folder(app, runner, tmp_path):
    path = tmp_path / "elsewhere.toml"
    path.write_text('[programme]\nname = "Elsewhere"\n', encoding="utf-8")
    app.config["PROGRAMME_RULES_FILE"] = str(path)
    result = runner.invoke(args=["rules", "check"])
    assert result.exit_code == 0, result.output
    assert f"ok   {path}: programme 'Elsewhere': 0 target(s)" in result.output
