"""A rules file's published texts in the programme's languages (issue 19): criteria, funding-request criteria and
stages may carry their title, guidance and description in Spanish and Portuguese; the rules read in a language give
those texts, English where one is left out; a language the programme does not speak is refused with the key named;
the shipped files carry every text in every language; the pages show them."""

from __future__ import annotations

from pathlib import Path

import pytest

from programme.core.i18n import LANGUAGES
from programme.rulebook import load_rules_file
from programme.rulebook.stages import stage_rules
from programme.rulebook.texts import TEXT_LANGUAGES, has_texts_in, localized
from tests.rulebook.test_rules_files import DEFAULT_CALL, RULES_DIR, assert_problem, problems_of, write_variant

STAGED = RULES_DIR / "staged-network-contest.toml"
CALL_FILES = [DEFAULT_CALL, STAGED]


def test_the_rules_speak_the_programmes_languages():
    assert set(TEXT_LANGUAGES) == set(LANGUAGES) - {"en"}


def _translate_first_criterion(data):
    data["scoring"]["criteria"][0]["translations"] = {"es": {"title": "Calidad de la cooperación"}}


def test_a_text_left_out_is_read_in_english(tmp_path: Path):
    rules = load_rules_file(write_variant(tmp_path, DEFAULT_CALL, _strip_and(_translate_first_criterion)))
    spanish = localized(rules, "es")
    first, second = spanish.scoring.criteria[:2]
    assert first.title == "Calidad de la cooperación"
    assert first.guidance == rules.scoring.criteria[0].guidance  # no Spanish guidance given: the English one
    assert second == rules.scoring.criteria[1]
    assert localized(rules, "pt") is rules and localized(rules, "en") is rules  # nothing in Portuguese
    assert localized(rules, "es") is spanish  # kept
    assert [c.key for c in spanish.scoring.criteria] == [c.key for c in rules.scoring.criteria]
    assert [c.weight for c in spanish.scoring.criteria] == [c.weight for c in rules.scoring.criteria]


def _strip_and(change):
    """The default call's data without any translation, then ``change``."""
    def strip(data):
        for item in data["scoring"]["criteria"] + data["funding"].get("request_criteria", []):
            item.pop("translations", None)
        change(data)
    return strip


@pytest.mark.parametrize(("change", "key", "expected"), [
    (lambda d: d["scoring"]["criteria"][0].update(translations={"fr": {"title": "Qualité"}}),
     "scoring.criteria[0].translations.fr", "'es' or 'pt'"),
    (lambda d: d["scoring"]["criteria"][0].update(translations={"es": {"titel": "Calidad"}}),
     "scoring.criteria[0].translations.es.titel", "unknown key"),
    (lambda d: d["scoring"]["criteria"][0].update(translations={"es": {"guidance": "corta"}}),
     "scoring.criteria[0].translations.es.guidance", "10"),
    (lambda d: d["funding"]["request_criteria"][0].update(translations={"pt": {}}),
     "funding.request_criteria[0].translations.pt.title", "missing"),
])
def test_a_bad_translation_is_refused_with_the_key_named(tmp_path: Path, change, key, expected):
    path = write_variant(tmp_path, DEFAULT_CALL, _strip_and(change))
    assert_problem(problems_of(path), path, key, expected)


@pytest.mark.parametrize("path", CALL_FILES, ids=lambda p: p.name)
@pytest.mark.parametrize("language", TEXT_LANGUAGES)
def test_the_shipped_rules_give_every_published_text_in_every_language(path: Path, language: str):
    rules = load_rules_file(path)
    assert has_texts_in(rules, language)
    items = [*rules.scoring.criteria, *rules.funding.request_criteria]
    for stage in rules.stages or []:
        items += [stage, *(stage.criteria or [])]
    missing = []
    for item in items:
        texts = item.translations.get(language)
        for name in ("title", "guidance", "description"):
            if getattr(item, name, None) and not (texts is not None and getattr(texts, name, None)):
                missing.append(f"{getattr(item, 'key', '?')}.{name}")
    assert not missing, f"{path.name} lacks {LANGUAGES[language]} for {missing}"


def test_a_stage_reads_its_texts_in_the_language():
    rules = load_rules_file(STAGED)
    spanish = localized(rules, "es")
    concept = stage_rules(spanish, "concept")
    stage = next(s for s in rules.stages if s.key == "concept")
    assert concept.call.name.endswith(stage.translations["es"].title)
    assert concept.scoring.criteria[0].title == stage.criteria[0].translations["es"].title
    assert stage_rules(rules, "concept").scoring.criteria[0].title == stage.criteria[0].title  # English kept


def test_the_call_pages_show_the_criteria_in_the_readers_language(app, client):
    from flask_babel import refresh

    from programme.calls import services
    from programme.extensions import db
    from tests.calls.test_services import CLOSES, OPENS, SETUP, T0, create, draft_of

    call = create()
    services.update_draft_call(call, draft_of(call, opens_at=OPENS, closes_at=CLOSES), actor=SETUP)
    services.open_call(call, actor=SETUP, now=T0)
    db.session.commit()
    english = load_rules_file(DEFAULT_CALL).scoring.criteria[0]
    spanish, portuguese = english.translations["es"], english.translations["pt"]
    page = client.get(f"/calls/{call.id}", headers={"Accept-Language": "es"}).get_data(as_text=True)
    assert spanish.title in page and english.title not in page
    assert spanish.guidance.split("\n")[0] in page
    page = client.get(f"/calls/{call.id}", headers={"Accept-Language": "pt-BR"}).get_data(as_text=True)
    assert portuguese.title in page
    page = client.get(f"/calls/{call.id}", headers={"Accept-Language": "en"}).get_data(as_text=True)
    assert english.title in page and spanish.title not in page
    # the criteria copied onto the call keep the English as written and read in the language being answered in
    criterion = call.criteria[0]
    assert criterion.title_as_written == english.title
    with app.test_request_context("/", headers={"Accept-Language": "es"}):
        refresh()
        assert criterion.title == spanish.title and criterion.guidance == spanish.guidance
