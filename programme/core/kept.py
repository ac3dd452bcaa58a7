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

from sqlalchemy import String, func, select

from programme.extensions import db

T = TypeVar("T")

_every: list[Kept[Any]] = []

def newest_rows(*table_ids: Any) -> tuple[int | str, ...]:
    """What moves whenever a row is added to these (append-only) tables, in one short statement: the newest id of
    each (a backward index read), and on PostgreSQL the snapshot of the transactions in flight.

    The snapshot matters on PostgreSQL: ids are handed out at insert but seen at commit, so a transaction that took
    id 100 may commit after one that took 101, and the newest id alone would not move. ``pg_current_snapshot()``
    lists the transactions that have written and not yet ended: any such commit changes it (it reads no table, so
    it costs nothing; it also moves at writes to other tables, which only means working a page out again). SQLite
    has one writer at a time, so its ids are seen in the order they are handed out: the newest id is enough."""
    columns: list[Any] = [select(func.coalesce(func.max(table_id), 0)).scalar_subquery() for table_id in table_ids]
    if db.session.get_bind().dialect.name == "postgresql":
        columns.append(func.pg_current_snapshot().cast(String))
    return tuple(db.session.execute(select(*columns)).one())


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
