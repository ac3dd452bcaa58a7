"""The programme in the languages of the places it runs: English, Spanish and Portuguese.

- Which language a request is answered in (``choose_language``): the one a logged-in person chose on their account,
  else the one a visitor chose with the switch (kept in the session), else the browser's preference among those the
  programme speaks, else English.
- The translations live as text, one catalogue per area and language (``programme/translations/<language>/<area>.po``,
  so that whoever works on an area finds its texts beside the others of that area); they are merged and compiled
  into ``.mo`` files in the instance folder when the application starts, if any ``.po`` is newer. Nothing binary is
  committed.
- Numbers and money are written and read in the language's way (``decimal_symbols``; ``core.money`` formats and
  reads with them): 1.500,00 in Spanish and Portuguese, 1,500.00 in English. Days are written with the language's
  month names (``core.timezone.format_day``).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from functools import cache
from pathlib import Path

from babel import Locale
from babel.messages.catalog import Catalog
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from flask import Flask, current_app, has_app_context, has_request_context, request, session
from flask_babel import Babel, force_locale, get_locale, refresh
from flask_login import current_user

from programme.core import money

#: The languages the programme speaks, each named in itself (as the switch shows them).
LANGUAGES: dict[str, str] = {"en": "English", "es": "Español", "pt": "Português"}
DEFAULT_LANGUAGE = "en"
#: Where a visitor's choice is kept (a logged-in person's is kept on the account).
SESSION_KEY = "language"
#: The catalogues, one per area and language.
CATALOGUES = Path(__file__).resolve().parents[1] / "translations"
DOMAIN = "messages"


def choose_language() -> str:
    """The language of this request (Flask-Babel's locale selector); English outside a request (a job, a command)."""
    if not has_request_context():
        return DEFAULT_LANGUAGE
    chosen = getattr(current_user, "language", None) if current_user and current_user.is_authenticated else None
    if chosen in LANGUAGES:
        return chosen
    kept = session.get(SESSION_KEY)
    if kept in LANGUAGES:
        return kept
    return request.accept_languages.best_match(list(LANGUAGES)) or DEFAULT_LANGUAGE


def current_language() -> str:
    """The language being answered in, or written in (``speaking_to``); English outside the application."""
    if not has_app_context():
        return DEFAULT_LANGUAGE
    locale = get_locale()
    return locale.language if locale is not None and locale.language in LANGUAGES else DEFAULT_LANGUAGE


def language_of(person: object | None) -> str:
    """The language a person reads: the one chosen on their account, else the one being answered in (a person who
    never chose is written to in the language of whoever acted, or in English by a scheduled job)."""
    chosen = getattr(person, "language", None)
    return chosen if chosen in LANGUAGES else current_language()


@contextmanager
def speaking_to(person: object | None) -> Iterator[str]:
    """Write in a person's language inside the block (a notification's subject and body, a mail): every
    ``gettext``, amount and day is in that language; the request's language comes back after. Yields the
    language."""
    language = language_of(person)
    with force_locale(language):
        yield language


@cache
def decimal_symbols(language: str) -> tuple[str, str]:
    """(decimal mark, thousands separator) of a language: (".", ",") in English, (",", ".") in Spanish and
    Portuguese."""
    symbols = Locale.parse(language).number_symbols["latn"]
    return symbols["decimal"], symbols["group"]


def merged_catalogue(language: str) -> Catalog:
    """Every area's catalogue of a language, as one (a message translated in two areas keeps the first; the same
    words in another context, as ``pgettext`` marks them, are another message)."""
    merged = Catalog(locale=language, domain=DOMAIN)
    for part in sorted((CATALOGUES / language).glob("*.po")):
        with part.open("rb") as handle:
            catalogue = read_po(handle, locale=language)
        for message in catalogue:
            if (message.id and message.string and not message.fuzzy
                    and merged.get(message.id, context=message.context) is None):
                merged.add(message.id, message.string, context=message.context)
    return merged


def compile_catalogues(target: Path) -> list[Path]:
    """Compile each language's catalogues into ``target/<language>/LC_MESSAGES/messages.mo`` where a ``.po`` is
    newer than the ``.mo`` (or there is none); the files written."""
    written = []
    for language in LANGUAGES:
        if language == DEFAULT_LANGUAGE:
            continue
        parts = list((CATALOGUES / language).glob("*.po"))
        compiled = target / language / "LC_MESSAGES" / f"{DOMAIN}.mo"
        newest = max((p.stat().st_mtime for p in parts), default=0)
        if compiled.exists() and compiled.stat().st_mtime >= newest:
            continue
        compiled.parent.mkdir(parents=True, exist_ok=True)
        partial = compiled.with_suffix(".mo.part")
        with partial.open("wb") as handle:
            write_mo(handle, merged_catalogue(language))
        partial.replace(compiled)  # a worker reading the old file meanwhile sees it whole
        written.append(compiled)
    return written


def set_up_languages(app: Flask) -> None:
    """From the application factory: compile the catalogues into the instance folder and answer each request in its
    language, with the programme's time zone."""
    target = Path(app.instance_path) / "translations"
    compile_catalogues(target)
    money.answer_in(lambda: decimal_symbols(current_language()))
    Babel(app, locale_selector=choose_language, default_translation_directories=str(target),
          timezone_selector=lambda: current_app.config["PROGRAMME_TIMEZONE"])
    # Flask-Babel keeps the language chosen on ``g``, which a request shares with an application context already
    # pushed (a test's, a command's): each request chooses its own.
    app.before_request(refresh)

    @app.context_processor
    def languages() -> dict[str, object]:
        language = current_language()
        return {"languages": LANGUAGES, "current_language": language, "number_symbols": decimal_symbols(language)}
