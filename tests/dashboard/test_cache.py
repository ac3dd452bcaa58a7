"""dashboard.cache.data_version: any committed change moves it, also one committed out of id order (PostgreSQL
hands ids out at insert, so a transaction holding a lower id may commit after one holding a higher)."""

from __future__ import annotations

from datetime import date

from sqlalchemy import text

from programme.dashboard.cache import data_version
from programme.extensions import db

DAY = date(2026, 12, 6)


def _audit(entry_id: int) -> None:
    db.session.execute(text(
        "INSERT INTO audit_entries (id, at, actor_label, action, object_type, details) "
        "VALUES (:id, '2026-12-06 10:00:00', 'test', 'test.change', 'Test', '{}')"), {"id": entry_id})


def test_a_change_committed_out_of_id_order_still_moves_the_version(app) -> None:
    _audit(1000)
    first = data_version(today=DAY)
    assert data_version(today=DAY) == first  # nothing changed
    _audit(990)  # a lower id, seen after the higher one
    second = data_version(today=DAY)
    assert second != first
    _audit(1001)
    assert data_version(today=DAY) not in (first, second)


def test_the_next_day_is_another_version(app) -> None:
    assert data_version(today=DAY) != data_version(today=date(2026, 12, 7))
