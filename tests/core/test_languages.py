"""The programme in English, Spanish and Portuguese (issue 19): the language of a request, the switch, numbers and
days written and read in the language's way, and catalogues that leave no marked text untranslated."""

from __future__ import annotations

import re
from datetime import date
from decimal import Decimal
from html.parser import HTMLParser
from pathlib import Path

import pytest
from babel.messages.extract import DEFAULT_KEYWORDS, extract_from_dir
from flask import render_template_string
from flask_babel import refresh

from programme.config import PROJECT_ROOT
from programme.core.fields import read_day
from programme.core.forms import MoneyField, ProgrammeForm
from programme.core.i18n import LANGUAGES, merged_catalogue
from programme.core.money import MoneyError, format_money, typed_number
from programme.core.timezone import format_day
from programme.extensions import db
from tests.languages import SPANISH

#: Every template: each must show no word that is not marked for translation.
TEMPLATES = sorted(str(path.relative_to(PROJECT_ROOT / "templates"))
                   for path in (PROJECT_ROOT / "templates").rglob("*.html"))


def _extracted() -> dict[tuple[str, str | None], str]:
    """Every text marked for translation in the code and the templates (with its context, if marked with one), with
    the file it is first in."""
    found: dict[tuple[str, str | None], str] = {}
    method_map = [("programme/**.py", "python"), ("templates/**.html", "jinja2")]
    keywords = {**DEFAULT_KEYWORDS, "lazy_gettext": None, "_l": None, "lazy_pgettext": ((1, "c"), 2),
                "lazy_ngettext": (1, 2)}
    for filename, _, message, _, context in extract_from_dir(str(PROJECT_ROOT), method_map=method_map,
                                                             keywords=keywords):
        found.setdefault((message if isinstance(message, str) else message[0], context), filename)
    return found


@pytest.mark.same_on_every_database  # reads the catalogues and templates
@pytest.mark.parametrize("language", [code for code in LANGUAGES if code != "en"])
def test_every_marked_text_is_translated(language):
    catalogue = merged_catalogue(language)
    missing = [f"{where}: {text!r}" for (text, context), where in _extracted().items()
               if not catalogue.get(text, context=context)]
    assert not missing, f"{len(missing)} text(s) without a {LANGUAGES[language]} translation:\n" + "\n".join(missing)
    placeholders = re.compile(r"%\(\w+\)s|\{\w+\}")

    def named(text: str) -> list[str]:
        return sorted(set(placeholders.findall(text)))

    wrong = []
    for message in catalogue:
        if not message.id:
            continue
        # A plural's forms each keep the plural original's placeholders (the singular may leave out the count).
        original = message.id[-1] if isinstance(message.id, tuple) else message.id
        forms = message.string if isinstance(message.string, tuple) else (message.string,)
        if any(set(named(form)) - set(named(original)) or
               (not isinstance(message.id, tuple) and named(form) != named(original)) for form in forms):
            wrong.append(message.id)
    assert not wrong, f"translations whose placeholders differ from the original: {wrong}"


@pytest.mark.same_on_every_database  # reads the catalogues and templates
def test_no_template_text_holds_a_bare_percent_sign():
    """A template's _() always formats with %: a bare "100 %" would print garbage (or fail) in every language. Write
    it "100 %%"."""
    written = re.compile(r"%%|%\(\w+\)s")
    wrong = [f"{where}: {text!r}" for (text, _), where in _extracted().items()
             if where.endswith(".html") and "%" in written.sub("", text)]
    assert not wrong, "\n".join(wrong)


class _VisibleText(HTMLParser):
    """The words a template shows that are not marked: its text and its labelling attributes, once every Jinja
    expression, statement and comment is taken out."""

    LABELS = ("title", "aria-label", "placeholder", "alt")

    def __init__(self) -> None:
        super().__init__()
        self.words: list[str] = []
        self._skip = 0

    def handle_starttag(self, tag, attrs):
        if tag in ("script", "style"):
            self._skip += 1
        self.words += [value for name, value in attrs
                       if name in self.LABELS and value and re.search(r"[A-Za-z]", value)]

    def handle_endtag(self, tag):
        if tag in ("script", "style"):
            self._skip -= 1

    def handle_data(self, data):
        if not self._skip and re.search(r"[A-Za-z]{2,}", data):
            self.words.append(data.strip())


@pytest.mark.same_on_every_database  # reads the catalogues and templates
@pytest.mark.parametrize("name", TEMPLATES)
def test_a_template_shows_no_unmarked_word(name):
    source = (PROJECT_ROOT / "templates" / name).read_text()
    source = re.sub(r"{%-?\s*trans\b.*?endtrans\s*-?%}", "", source, flags=re.S)
    source = re.sub(r"{#.*?#}|{{.*?}}|{%.*?%}", "", source, flags=re.S)
    reader = _VisibleText()
    reader.feed(source)
    assert reader.words == [], f"{name} shows words not marked for translation: {reader.words}"


def test_the_browser_language_is_used_until_one_is_chosen(client):
    page = client.get("/calls", headers=SPANISH).get_data(as_text=True)
    assert '<html lang="es"' in page and ">Convocatorias<" in page
    assert '<html lang="en"' in client.get("/calls", headers={"Accept-Language": "de"}).get_data(as_text=True)
    client.post("/language", data={"language": "pt", "next": "/calls"})
    page = client.get("/calls", headers=SPANISH).get_data(as_text=True)
    assert '<html lang="pt"' in page and ">Chamadas<" in page


def test_a_persons_choice_follows_them_to_another_browser(app, client, login, make_user):
    person = make_user("viajera@example.org")
    login(person)
    assert client.post("/language", data={"language": "es", "next": "/account"}).headers["Location"] == "/account"
    db.session.refresh(person)
    assert person.language == "es"
    other = app.test_client()
    login(person, client_=other)
    assert '<html lang="es"' in other.get("/account").get_data(as_text=True)


def test_an_unknown_language_or_a_foreign_next_is_refused(client):
    client.post("/language", data={"language": "xx", "next": "/calls"})
    assert '<html lang="en"' in client.get("/calls").get_data(as_text=True)
    response = client.post("/language", data={"language": "es", "next": "https://elsewhere.example/"})
    assert response.headers["Location"] == "/"


@pytest.mark.parametrize(("typed", "symbols", "read"), [
    ("12.500,50", (",", "."), "12500.50"),
    ("12500,50", (",", "."), "12500.50"),
    ("1.234.567", (",", "."), "1234567"),
    ("12,500.50", (".", ","), "12500.50"),
    ("12 500,50", (",", "."), "12500.50"),
])
def test_amounts_are_read_in_the_languages_way(typed, symbols, read):
    assert typed_number(typed, symbols) == read


@pytest.mark.parametrize(("typed", "symbols", "says"), [
    ("12.50", (",", "."), "after a comma: 12,50"),
    ("12,50", (".", ","), "after a point: 12.50"),
    ("1.2345,00", (",", "."), "groups of three (12.500,00)"),
])
def test_an_amount_written_the_other_way_is_refused_with_how_to_write_it(typed, symbols, says):
    with pytest.raises(MoneyError, match=re.escape(says)):
        typed_number(typed, symbols)


def test_money_and_days_are_written_in_the_languages_way(app):
    with app.test_request_context("/", headers=SPANISH):
        assert format_money(Decimal("1500"), "EUR") == "EUR 1.500,00"
        assert format_day(date(2026, 12, 6)) == "6 dic 2026"
        assert render_template_string("{{ amount|money('EUR') }} {{ share|percent }}", amount=Decimal("12500.5"),
                                      share=Decimal("0.125")) == "EUR 12.500,50 12,5 %"
        assert read_day("6 dic 2026") == read_day("6/12/2026") == date(2026, 12, 6)
    with app.test_request_context("/", headers={"Accept-Language": "pt-BR"}):
        refresh()  # the tests share one app context (and its g) across requests; production does not
        assert format_day(date(2026, 12, 6)) == "6 dez. 2026"
        assert read_day("6 de dezembro de 2026") == date(2026, 12, 6)
    with app.test_request_context("/"):
        refresh()
        assert format_money(Decimal("1500"), "EUR") == "EUR 1,500.00"


class _Amount(ProgrammeForm):
    amount = MoneyField("Amount")


def test_a_money_field_reads_and_shows_the_languages_way(app):
    with app.test_request_context("/", method="POST", data={"amount": "12.500,50"}, headers=SPANISH):
        form = _Amount(meta={"csrf": False})
        assert form.validate() and form.amount.data == Decimal("12500.50")
    with app.test_request_context("/", headers=SPANISH):
        refresh()
        assert _Amount(meta={"csrf": False}, data={"amount": Decimal("12500.50")}).amount._value() == "12500,50"


def test_a_kept_page_is_kept_per_language(app, client, login, make_user):
    login(make_user("two.browsers@example.org"))
    english = client.get("/calls", headers={"Accept-Language": "en"}).get_data(as_text=True)
    spanish = client.get("/calls", headers=SPANISH).get_data(as_text=True)
    assert '<html lang="en"' in english and '<html lang="es"' in spanish


def test_catalogues_are_text_only():
    assert not list(Path(PROJECT_ROOT / "programme" / "translations").rglob("*.mo"))


def test_a_person_is_written_to_in_their_language(app, make_user):
    """A notification is written when someone acts, in the language of whoever reads it: a Spanish-speaking person
    gets Spanish while the request is in English, and the request's language comes back after."""
    from flask_babel import gettext

    from programme.core.i18n import speaking_to

    reader = make_user("lectora@example.org")
    reader.language = "es"
    with app.test_request_context("/", headers={"Accept-Language": "en"}):
        refresh()
        with speaking_to(reader) as language:
            assert language == "es"
            assert gettext("Calls") == "Convocatorias"
            assert format_money(Decimal("1500"), "EUR") == "EUR 1.500,00"
        assert gettext("Calls") == "Calls"
        assert format_money(Decimal("1500"), "EUR") == "EUR 1,500.00"
        with speaking_to(make_user("nobody.chose@example.org")) as language:
            assert language == "en"  # who never chose reads the language of whoever acted
