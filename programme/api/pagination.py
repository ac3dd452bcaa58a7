"""Cursor pagination: a list is read in a stable order (its id), and each page ends with an opaque cursor that
names where the next one starts. Unlike page numbers, a cursor neither skips nor repeats a row when rows are added
while a program reads the list."""

from __future__ import annotations

import base64
import binascii
from collections.abc import Callable, Sequence
from typing import TypeVar

from programme.core.access import RuleViolation
from programme.core.texts import gettext as _

T = TypeVar("T")

DEFAULT_LIMIT = 50
MAX_LIMIT = 200
_PREFIX = "after:"


def cursor_for(last_id: int) -> str:
    return base64.urlsafe_b64encode(f"{_PREFIX}{last_id}".encode()).decode().rstrip("=")


def read_cursor(cursor: str | None) -> int | None:
    """The id after which a page starts (None: from the start); a cursor this API did not give is refused."""
    if not cursor:
        return None
    try:
        text = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
    except (binascii.Error, UnicodeDecodeError, ValueError):
        text = ""
    if not text.startswith(_PREFIX) or not text[len(_PREFIX):].isdigit() or len(text) > 40:
        raise RuleViolation(_("This is not a cursor this API gave: start from the first page (no cursor) and follow "
                              "each page's next_cursor."), field="cursor")
    return int(text[len(_PREFIX):])


def page_of(rows: Sequence[T], limit: int, key: Callable[[T], int]) -> tuple[list[T], str | None]:
    """The first ``limit`` of ``rows`` (read with ``limit + 1`` to know whether more follow) and the cursor of the
    next page (None on the last)."""
    shown = list(rows[:limit])
    return shown, (cursor_for(key(shown[-1])) if len(rows) > limit else None)


def page_from(items: Sequence[T], cursor: str | None, limit: int,
              key: Callable[[T], int]) -> tuple[list[T], str | None]:
    """A page of a short list a service gives whole (a person's proposals, the funds, a call's reports): by ``key``
    (the id), from after the cursor; for a long one the service reads the page itself (``loans_after``)."""
    after = read_cursor(cursor)
    ordered = sorted((item for item in items if after is None or key(item) > after), key=key)
    return page_of(ordered[:limit + 1], limit, key)
