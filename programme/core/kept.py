"""What a page works out once per version of the data it reads, kept in each worker process (issue 15).

A ``Kept`` maps a key (which includes the data version) to what was worked out for it, keeping only the few
newest; ``newest_rows`` is the cheap reading a version is made of. Every ``Kept`` registers itself, so tests
(whose rolled-back ids are reused) start each test with none (``forget_all``).
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable
from typing import Any, Generic, TypeVar

from sqlalchemy import func, select

from programme.extensions import db

T = TypeVar("T")

#: How far back ``newest_rows`` counts rows.
WINDOW = 10_000

_every: list[Kept[Any]] = []


def newest_rows(table_id: Any) -> tuple[int, int]:
    """The newest id of a table and how many rows hold the ids of the last ``WINDOW`` (two index reads). The count
    matters on PostgreSQL: ids are handed out at insert but seen at commit, so a transaction that took id 100 may
    commit after one that took 101; the newest id alone would not move, the count does."""
    newest = db.session.scalar(select(func.max(table_id))) or 0
    recent = db.session.scalar(select(func.count()).where(table_id > newest - WINDOW)) or 0
    return newest, recent


def database_key() -> str:
    """Which database the data is in (tests and benchmarks run several apps in one process)."""
    return db.engine.url.render_as_string(hide_password=True)


class Kept(Generic[T]):
    """The ``size`` newest things worked out, by key; thread-safe (gthread workers)."""

    def __init__(self, size: int) -> None:
        self.size = size
        self._lock = threading.Lock()
        self._items: OrderedDict[Hashable, T] = OrderedDict()
        _every.append(self)

    def get(self, key: Hashable, make: Callable[[], T]) -> T:
        with self._lock:
            if key in self._items:
                self._items.move_to_end(key)
                return self._items[key]
        made = make()
        with self._lock:
            self._items[key] = made
            while len(self._items) > self.size:
                self._items.popitem(last=False)
        return made

    def clear(self) -> None:
        with self._lock:
            self._items.clear()


def forget_all() -> None:
    """Drop everything every ``Kept`` holds."""
    for kept in _every:
        kept.clear()
