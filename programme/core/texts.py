"""Texts a person reads, marked for translation (issue 19): the one door every module goes through, pure ones
included.

- ``gettext`` (imported as ``_``), ``pgettext``, ``ngettext``: Flask-Babel's, translated when called, in the
  language of the request or of ``core.i18n.speaking_to``; in English outside the application (a pure calculation
  run by a script or a test), so a domain module stays free of any request.
- ``lazy_gettext`` (``_l``), ``lazy_pgettext``: for texts defined when a module is imported (a form's labels, hints
  and messages, a dict of labels), translated each time they are shown. Unlike Flask-Babel's own lazy text, which
  declares itself markup (a label's apostrophe would reach the page unescaped), these are escaped by a template like
  any ``str``. Never put one in JSON, a spreadsheet's cell, a join or the database: give ``str(...)`` of it.
- ``N_``: marks a text for the catalogues without translating it (a constant compared by code, translated with
  ``gettext`` where it is shown).

``pgettext``'s context tells apart the same English word said of different things ("Active" of a loan or of a
guarantee), which Spanish and Portuguese may write differently.
"""

from __future__ import annotations

from typing import Any

from flask_babel import gettext, ngettext, pgettext
from flask_babel.speaklater import LazyString
from markupsafe import escape

__all__ = ["N_", "LazyText", "gettext", "lazy_gettext", "lazy_pgettext", "ngettext", "pgettext"]


class LazyText(LazyString):
    """A text translated when it is used, in the language of the moment; escaped in a template."""

    def __html__(self) -> str:
        return str(escape(str(self)))


def lazy_gettext(string: str, **variables: Any) -> LazyText:
    return LazyText(gettext, string, **variables)


def lazy_pgettext(context: str, string: str, **variables: Any) -> LazyText:
    return LazyText(pgettext, context, string, **variables)


def N_(text: str) -> str:  # noqa: N802 - the name gettext's tools know
    """``text`` as it is, marked for the catalogues."""
    return text
