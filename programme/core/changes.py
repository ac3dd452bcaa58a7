"""Every transaction that changes anything leaves one row here as it commits (issue 15): what a page kept per version
of the data (``core.pages``) reads to know that nothing it shows may have changed.

The mark is made by the session, not by each service: a commit whose session flushed an insert, an update or a
delete, or executed a statement that writes (a bulk update, a text statement), adds one ``DataChange`` row in the
same transaction, so the row is seen exactly when the change is. ``version()`` reads the newest of them in one short
statement (``core.kept.newest_rows``, which also covers, on PostgreSQL, commits made out of id order). A transaction
that only reads leaves nothing. The daily job keeps the newest ``KEEP`` rows and deletes the rest.
"""

from __future__ import annotations

import re
from typing import Any

from flask import g, has_request_context
from sqlalchemy import delete, event, func, select
from sqlalchemy.orm import Mapped, ORMExecuteState, Session, mapped_column

from programme.core.db import Base
from programme.core.kept import newest_rows, newest_rows_columns

#: Rows the daily job keeps (the version reads only the newest id and the hundred below it).
KEEP = 1000
_WROTE = "programme_wrote"
_VERSION = "programme_data_version"
_UNMARKED = "programme_unmarked"
_WRITES = re.compile(r"^\s*(insert|update|delete|merge|create|drop|alter|truncate)\b|\b(insert|update|delete)\b",
                     re.IGNORECASE)


class DataChange(Base):
    """One committed transaction that wrote. Append-only; the id is all there is."""

    __tablename__ = "data_changes"

    id: Mapped[int] = mapped_column(primary_key=True)


def version() -> tuple[int | str, ...]:
    """What moves at every commit that changed anything; read once per request (the session's user is loaded with
    it, ``accounts.services.load_session_user``) and again after this request's own commit."""
    if has_request_context() and _VERSION in g:
        return g.get(_VERSION)
    return remember(newest_rows(DataChange.id))


def known() -> bool:
    """Whether this request has read the version already."""
    return has_request_context() and _VERSION in g


def version_columns() -> list[Any]:
    """The version's columns, for a statement the request runs anyway (then ``remember`` what it read)."""
    return newest_rows_columns(DataChange.id)


def remember(read: tuple[int | str, ...]) -> tuple[int | str, ...]:
    if has_request_context():
        setattr(g, _VERSION, read)
    return read


def uncommitted(session: Session) -> bool:
    """Whether this session holds writes not committed yet (what they change is not in any version yet)."""
    return bool(session.info.get(_WROTE) or session.new or session.deleted or session.dirty)


def prune(session: Session) -> int:
    """Delete all but the newest ``KEEP`` rows (the daily job); the newest id does not move."""
    newest = session.execute(select(func.max(DataChange.id))).scalar()
    if newest is None:
        return 0
    return session.execute(delete(DataChange).where(DataChange.id <= newest - KEEP)).rowcount or 0


def _is_write(state: ORMExecuteState) -> bool:
    if state.is_insert or state.is_update or state.is_delete:
        return True
    if state.is_select:
        return False
    return bool(_WRITES.search(str(state.statement)))


@event.listens_for(Session, "after_flush")
def _flushed(session: Session, _context: Any) -> None:
    session.info[_WROTE] = True


@event.listens_for(Session, "do_orm_execute")
def _executed(state: ORMExecuteState) -> None:
    if not state.session.info.get(_WROTE) and _is_write(state):
        state.session.info[_WROTE] = True


def unmarked(session: Session) -> None:
    """This transaction's writes change nothing a page shows (a scheduler's heartbeat): its commit leaves no mark.
    Call it just before the commit; it holds for that commit only."""
    session.info[_UNMARKED] = True


@event.listens_for(Session, "before_commit")
def _mark(session: Session) -> None:
    """Runs before the commit's own flush: pending objects count as a write too."""
    if session.info.pop(_UNMARKED, False):
        return
    if session.info.get(_WROTE) or session.new or session.deleted or any(
            session.is_modified(obj) for obj in session.dirty):
        session.add(DataChange())


@event.listens_for(Session, "after_commit")
@event.listens_for(Session, "after_rollback")
def _reset(session: Session) -> None:
    session.info.pop(_WROTE, None)
    session.info.pop(_UNMARKED, None)
    if has_request_context():
        g.pop(_VERSION, None)
