"""A scorecard template's texts in the programme's languages: the scorecard's name and description, the
perspectives' and critical success factors' titles and the KPIs' names, units and sources may be given in Spanish and
Portuguese beside the English; the template read in a language gives them, English where one is left out; a language
the programme does not speak, an unknown key or an empty text is refused with the file and key named (by the loader,
by ``programme rules check`` and when a scorecard is started from the file); the shipped templates carry every text
in every language."""

from __future__ import annotations

from pathlib import Path

import pytest

from programme.core.access import RuleViolation
from programme.core.i18n import LANGUAGES
from programme.monitoring.services.scorecards import load_template, templates_available
from programme.rulebook import ScorecardTemplate, load_rules_file
from programme.rulebook.texts import TEXT_LANGUAGES, localized_template, template_has_texts_in
from tests.rulebook.test_rules_files import SCOTTISH, THAI, assert_problem, problems_of, read, to_toml, write_variant

TEMPLATES = [SCOTTISH, THAI]
#: Units that are not words: read as written in every language.
SYMBOLS = {"EUR", "%"}


def _strip(data) -> None:
    """The template's data without any translation."""
    data["scorecard"].pop("translations", None)
    for perspective in data["perspectives"]:
        perspective.pop("translations", None)
        for factor in perspective["factors"]:
            factor.pop("translations", None)
            for kpi in factor["kpis"]:
                kpi.pop("translations", None)


def _stripped_and(change):
    def both(data) -> None:
        _strip(data)
        change(data)
    return both


def _first_kpi(data) -> dict:
    return data["perspectives"][0]["factors"][0]["kpis"][0]


def test_a_text_left_out_is_read_in_english(tmp_path: Path):
    def some(data) -> None:
        data["perspectives"][0]["translations"] = {"es": {"title": "Económica"}}
        _first_kpi(data)["translations"] = {"es": {"name": "Inversión de capital"}}  # unit and source left out
        data["perspectives"][0]["factors"][1]["kpis"][0]["translations"] = {"pt": {"unit": "por cento"}}

    template = load_rules_file(write_variant(tmp_path, SCOTTISH, _stripped_and(some)))
    assert isinstance(template, ScorecardTemplate)
    spanish = localized_template(template, "es")
    perspective, english = spanish.perspectives[0], template.perspectives[0]
    assert perspective.title == "Económica" and perspective.factors[0].title == english.factors[0].title
    first, original = perspective.factors[0].kpis[0], english.factors[0].kpis[0]
    assert (first.name, first.unit, first.source) == ("Inversión de capital", original.unit, original.source)
    assert perspective.factors[0].kpis[1] == english.factors[0].kpis[1]
    assert spanish.scorecard == template.scorecard  # no Spanish name given: the English one
    assert [p.key for p in spanish.perspectives] == [p.key for p in template.perspectives]
    portuguese = localized_template(template, "pt")
    turnover = portuguese.perspectives[0].factors[1].kpis[0]
    assert turnover.unit == "por cento" and turnover.name == english.factors[1].kpis[0].name
    assert (turnover.direction, turnover.baseline, turnover.key) == ("higher", None, "member_turnover_growth")
    assert localized_template(template, "en") is template and localized_template(template, "fr") is template
    assert template_has_texts_in(template, "es") and not template_has_texts_in(load_rules_file(
        write_variant(tmp_path, THAI, _strip)), "pt")


@pytest.mark.parametrize(("change", "key", "expected"), [
    (lambda d: d["perspectives"][0].update(translations={"fr": {"title": "Économique"}}),
     "perspectives[0].translations.fr", "'es' or 'pt'"),
    (lambda d: d["scorecard"].update(translations={"de": {"name": "Schottische Scorecard"}}),
     "scorecard.translations.de", "'es' or 'pt'"),
    (lambda d: d["perspectives"][1]["factors"][0].update(translations={"es": {"titulo": "I+D"}}),
     "perspectives[1].factors[0].translations.es.titulo", "unknown key"),
    (lambda d: _first_kpi(d).update(translations={"pt": {"nome": "Investimento"}}),
     "perspectives[0].factors[0].kpis[0].translations.pt.nome", "unknown key"),
    (lambda d: _first_kpi(d).update(translations={"es": {"name": ""}}),
     "perspectives[0].factors[0].kpis[0].translations.es.name", "at least 3 characters"),
    (lambda d: _first_kpi(d).update(translations={"es": {"name": "Inversión", "unit": "   "}}),
     "perspectives[0].factors[0].kpis[0].translations.es.unit", "at least 1 character"),
    (lambda d: _first_kpi(d).update(translations={"es": {"name": "x" * 201}}),
     "perspectives[0].factors[0].kpis[0].translations.es.name", "at most 200 characters"),
    (lambda d: d["perspectives"][2].update(translations={"pt": {}}),
     "perspectives[2].translations.pt.title", "missing"),
    (lambda d: d["perspectives"][2]["factors"][0].update(translations={"es": {"title": ""}}),
     "perspectives[2].factors[0].translations.es.title", "at least 3 characters"),
    (lambda d: d["scorecard"].update(translations={"pt": {"description": ""}}),
     "scorecard.translations.pt.description", "at least 10 characters"),
])
def test_a_bad_translation_is_refused_with_the_file_and_key_named(tmp_path: Path, change, key, expected):
    path = write_variant(tmp_path, SCOTTISH, _stripped_and(change))
    assert_problem(problems_of(path), path, key, expected)


def _bad_folder(tmp_path: Path) -> Path:
    folder = tmp_path / "rules"
    (folder / "scorecards").mkdir(parents=True)
    data = read(SCOTTISH)
    _first_kpi(data)["translations"]["fr"] = {"name": "Investissement"}
    (folder / "scorecards" / "scottish-cluster.toml").write_text(to_toml(data), encoding="utf-8")
    return folder


def test_rules_check_names_a_bad_translation(app, tmp_path: Path):
    path = _bad_folder(tmp_path) / "scorecards" / "scottish-cluster.toml"
    result = app.test_cli_runner().invoke(args=["rules", "check", str(path)])
    assert result.exit_code == 1
    assert f"FAIL {path}" in result.output
    assert (f"{path}: perspectives[0].factors[0].kpis[0].translations.fr: expected: input should be 'es' or 'pt'"
            in result.output)


def test_starting_from_a_template_with_a_bad_translation_names_the_file_and_key(app, tmp_path: Path):
    folder = _bad_folder(tmp_path)
    assert templates_available(folder) == []  # skipped in the list
    with pytest.raises(RuleViolation) as refused:
        load_template(folder, "scottish_cluster")
    assert "scorecards/scottish-cluster.toml" in refused.value.message
    assert "perspectives[0].factors[0].kpis[0].translations.fr" in refused.value.message


def test_the_template_list_names_each_template_in_the_language_asked_for(app):
    from programme.config import PROJECT_ROOT

    rules = PROJECT_ROOT / "rules"
    assert dict((k, n) for k, n, _ in templates_available(rules, "es"))["scottish_cluster"] == \
        "Cuadro de mando integral del clúster escocés"
    assert dict((k, n) for k, n, _ in templates_available(rules, "pt"))["thai_food_cluster"] == \
        "Painel de indicadores balanceado do cluster de alimentos tailandês"
    assert dict((k, n) for k, n, _ in templates_available(rules))["scottish_cluster"] == \
        "Scottish cluster balanced scorecard"


@pytest.mark.parametrize("path", TEMPLATES, ids=lambda p: p.name)
@pytest.mark.parametrize("language", TEXT_LANGUAGES)
def test_the_shipped_templates_give_every_text_in_every_language(path: Path, language: str):
    template = load_rules_file(path)
    assert isinstance(template, ScorecardTemplate)
    missing = []

    def given(item, name: str, where: str) -> None:
        texts = item.translations.get(language)
        if not (texts is not None and getattr(texts, name, None)):
            missing.append(f"{where}.{name}")

    given(template.scorecard, "name", "scorecard")
    given(template.scorecard, "description", "scorecard")
    for perspective in template.perspectives:
        given(perspective, "title", perspective.key)
        for factor in perspective.factors:
            given(factor, "title", factor.key)
            for kpi in factor.kpis:
                given(kpi, "name", kpi.key)
                given(kpi, "source", kpi.key)
                if kpi.unit not in SYMBOLS:
                    given(kpi, "unit", kpi.key)
                elif language in kpi.translations:
                    assert kpi.translations[language].unit is None, f"{kpi.key}: {kpi.unit} is read as written"
    assert not missing, f"{path.name} lacks {LANGUAGES[language]} for {missing}"
    read_in = localized_template(template, language)
    names = [k.name for p in read_in.perspectives for f in p.factors for k in f.kpis]
    assert len(set(names)) == len(names)  # no two KPIs named alike in the language
    english = [k.name for p in template.perspectives for f in p.factors for k in f.kpis]
    assert not set(names) & set(english)
