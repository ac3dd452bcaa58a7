"""The programme's figures, worked out once per change of the data (issue 15): every page that shows them (the
dashboard, the public figures, the dashboard workbook) reads them from here.

The **data version** is what any change a person or a job makes moves: the newest audit entries (every service
that changes state writes one), the newest journal entries (every movement of money), and the programme's today
(figures by year and by age change at midnight). Figures are kept per version in each worker process
(``core.kept``); a change gives a new version, so a figure is never shown stale after a change, and the public
page's ``ETag`` is the version, so a browser or a proxy asks again and is answered 304 when nothing changed.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from datetime import date

from programme.core.audit import AuditEntry
from programme.core.i18n import current_language
from programme.core.kept import Kept, database_key, newest_rows
from programme.dashboard.figures import ProgrammeFigures, programme_figures
from programme.ledger.models import JournalEntry

_figures: Kept[ProgrammeFigures] = Kept(4)
#: Pages and fragments are kept per language as well (three languages: three times as many).
_pages: Kept[str] = Kept(6)
_fragments: Kept[str] = Kept(12)


def data_version(*, today: date) -> str:
    """A short text that changes whenever anything the figures read may have changed."""
    seed = f"{database_key()}|{newest_rows(AuditEntry.id, JournalEntry.id)}|{today.isoformat()}"
    return hashlib.sha256(seed.encode()).hexdigest()[:20]


def figures_at(version: str, *, today: date, timezone: str) -> ProgrammeFigures:
    """The programme's figures for a data version: worked out at the first request of the version, then kept."""
    return _figures.get((version, timezone), lambda: programme_figures(today=today, timezone=timezone))


def page_at(version: str, render: Callable[[], str]) -> str:
    """A page that is the same for every visitor (the public figures to an anonymous one), rendered once per data
    version and language."""
    return _pages.get((version, current_language()), render)


def figures_html_at(version: str, *, public: bool, timezone: str, render: Callable[[], str]) -> str:
    """The figures' part of a page (tables and charts: the same for every reader of the staff or the public
    version), rendered once per data version."""
    return _fragments.get((version, public, timezone, current_language()), render)
