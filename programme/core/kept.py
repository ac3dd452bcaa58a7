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

from sqlalchemy import func, select, text

from programme.extensions import db

T = TypeVar("T")

_every: list[Kept[Any]] = []

#: How many of the newest ids ``newest_rows`` counts the rows of (see there).
WINDOW = 100


def newest_rows(*table_ids: Any) -> tuple[int | str, ...]:
    """What moves whenever a row is added to these (append-only) tables, in one short statement: for each table its
    newest id and how many rows hold the ``WINDOW`` newest ids (a backward index read of a few entries); and on
    PostgreSQL the transactions in flight that have written.

    The last matters on PostgreSQL: ids are handed out at insert but seen at commit, so a transaction that took id
    100 may commit after one that took 101, and the newest id would not move. Such a transaction is in flight when
    the version is read, so the version lists it (the ids of the transactions of this database's other sessions
    that have written, from ``pg_stat_activity``), and its end moves the version; a transaction that begins after
    the reading takes higher ids, which move the newest id. The count covers the moment between taking an id and
    being listed. The list is empty when nothing writes (a page read at a quiet moment is kept), and other
    databases of the same server do not touch it. SQLite has one writer at a time: its ids are seen in the order
    they are handed out."""
    key = (*(str(table_id) for table_id in table_ids), db.session.get_bind().dialect.name)
    statement = _statements.get(key)
    if statement is None:  # built once per tables and database kind (it is read on every request of a kept page)
        statement = _statements[key] = select(*newest_rows_columns(*table_ids))
    return tuple(db.session.execute(statement).one())


_statements: dict[tuple[str, ...], Any] = {}


def newest_rows_columns(*table_ids: Any) -> list[Any]:
    """``newest_rows``'s columns, to read in a statement of one's own (one round trip less)."""
    columns: list[Any] = []
    for table_id in table_ids:
        newest = select(func.coalesce(func.max(table_id), 0)).scalar_subquery()
        columns += [newest, select(func.count()).where(table_id > newest - WINDOW).scalar_subquery()]
    if db.session.get_bind().dialect.name == "postgresql":
        columns.append(text("(SELECT coalesce(string_agg(backend_xid::text, ',' ORDER BY backend_xid::text), '') "
                            "FROM pg_stat_activity WHERE datname = current_database() "
                            "AND backend_xid IS NOT NULL AND pid <> pg_backend_pid())"))
    return columns


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
        self.put(key, made)
        return made

    def peek(self, key: Hashable) -> T | None:
        """What is kept for the key, or None."""
        with self._lock:
            if key in self._items:
                self._items.move_to_end(key)
                return self._items[key]
        return None

    def put(self, key: Hashable, made: T) -> None:
        with self._lock:
            self._items[key] = made
            while len(self._items) > self.size:
                self._items.popitem(last=False)

    def clear(self) -> None:
        with self._lock:
            self._items.clear()


def forget_all() -> None:
    """Drop everything every ``Kept`` holds."""
    for kept in _every:
        kept.clear()
