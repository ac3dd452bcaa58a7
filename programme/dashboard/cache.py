"""The programme's figures, worked out once per change of the data (issue 15): every page that shows them (the
dashboard, the public figures, the dashboard workbook) reads them from here.

The **data version** is what any change a person or a job makes moves: the newest audit entries (every service
that changes state writes one), the newest journal entries (every movement of money), and the programme's today
(figures by year and by age change at midnight). Figures are kept per version in each worker process; a change
gives a new version, so a figure is never shown stale after a change, and the public page's ``ETag`` is the
version, so a browser or a proxy asks again and is answered 304 when nothing changed.
"""

from __future__ import annotations

import hashlib
import threading
from collections import OrderedDict
from collections.abc import Callable
from datetime import date
from typing import Any

from sqlalchemy import func, select

from programme.core.audit import AuditEntry
from programme.dashboard.figures import ProgrammeFigures, programme_figures
from programme.extensions import db
from programme.ledger.models import JournalEntry

#: Versions kept per process (the current one and a few before it, for requests still reading them).
_KEPT = 4
_lock = threading.Lock()
_figures: OrderedDict[tuple[str, str], ProgrammeFigures] = OrderedDict()
_pages: dict[str, str] = {}


#: How far back the version counts rows (see ``_tip``).
_WINDOW = 10_000


def _tip(table_id: Any) -> tuple[int, int]:
    """The newest id of a table and how many rows hold the ids of the last ``_WINDOW`` (two index reads). The
    count matters on PostgreSQL: ids are handed out at insert but seen at commit, so a transaction that took id
    100 may commit after one that took 101; the newest id alone would not move, the count does."""
    newest = db.session.scalar(select(func.max(table_id))) or 0
    recent = db.session.scalar(select(func.count()).where(table_id > newest - _WINDOW)) or 0
    return newest, recent


def data_version(*, today: date) -> str:
    """A short text that changes whenever anything the figures read may have changed."""
    database = db.engine.url.render_as_string(hide_password=True)
    seed = f"{database}|{_tip(AuditEntry.id)}|{_tip(JournalEntry.id)}|{today.isoformat()}"
    return hashlib.sha256(seed.encode()).hexdigest()[:20]


def figures_at(version: str, *, today: date, timezone: str) -> ProgrammeFigures:
    """The programme's figures for a data version: worked out at the first request of the version, then kept."""
    key = (version, timezone)
    with _lock:
        found = _figures.get(key)
        if found is not None:
            _figures.move_to_end(key)
            return found
    figures = programme_figures(today=today, timezone=timezone)
    with _lock:
        _figures[key] = figures
        while len(_figures) > _KEPT:
            _figures.popitem(last=False)
    return figures


def page_at(version: str, render: Callable[[], str]) -> str:
    """A page that is the same for every visitor (the public figures to an anonymous one), rendered once per data
    version; only the current version's is kept."""
    with _lock:
        body = _pages.get(version)
    if body is None:
        body = render()
        with _lock:
            _pages.clear()
            _pages[version] = body
    return body


def forget() -> None:
    """Drop every kept figure and page (each test starts without them; a restore of the database behind the
    app's back)."""
    with _lock:
        _figures.clear()
        _pages.clear()
