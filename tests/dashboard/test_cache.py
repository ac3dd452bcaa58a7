"""dashboard.cache.data_version: any committed change moves it, also one committed out of id order (PostgreSQL
hands ids out at insert, so a transaction holding a lower id may commit after one holding a higher)."""

from __future__ import annotations

import os
from datetime import date

import pytest
from sqlalchemy import text

from programme.core.kept import WINDOW
from programme.dashboard.cache import data_version
from programme.extensions import db

DAY = date(2026, 12, 6)
INSERT = text("INSERT INTO audit_entries (id, at, actor_label, action, object_type, details) "
              "VALUES (:id, '2026-12-06 10:00:00', 'test', 'test.change', 'Test', '{}')")


def _audit(entry_id: int) -> None:
    db.session.execute(INSERT, {"id": entry_id})


def test_a_new_row_moves_the_version(app) -> None:
    _audit(1000)
    first = data_version(today=DAY)
    assert data_version(today=DAY) == first  # nothing changed
    _audit(1001)
    assert data_version(today=DAY) != first


@pytest.mark.commits
@pytest.mark.skipif(not os.environ.get("TEST_DATABASE_URL", "").startswith("postgres"),
                    reason="needs PostgreSQL: SQLite has one writer at a time, so its ids are seen in order")
def test_a_change_committed_out_of_id_order_still_moves_the_version(app) -> None:
    early = db.engine.connect()
    holding = early.begin()
    # The lower id, taken first and not yet committed, further back than the rows newest_rows counts.
    early.execute(INSERT, {"id": 1000 - WINDOW - 10})
    with db.engine.begin() as late:
        late.execute(INSERT, {"id": 1000})  # the higher one, committed first
    first = data_version(today=DAY)
    db.session.rollback()
    assert data_version(today=DAY) == first
    db.session.rollback()
    holding.commit()  # now the lower id is seen: the newest id is still 1000
    early.close()
    assert data_version(today=DAY) != first


def test_the_next_day_is_another_version(app) -> None:
    assert data_version(today=DAY) != data_version(today=date(2026, 12, 7))
