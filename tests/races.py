"""Two (or more) users acting at once, for the PostgreSQL race tests: each piece of work runs in its own
thread and app context (so its own session and connection), all started together by a barrier; each
commits after a pause, so the others meet its uncommitted rows or wait on its locks."""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable, Sequence
from typing import Any

import pytest

from programme.extensions import db
from tests import isolation

#: The marks of a module of races: real commits (see tests/conftest.py), and PostgreSQL only.
POSTGRES_RACES = [
    pytest.mark.commits,
    pytest.mark.skipif(
        not os.environ.get("TEST_DATABASE_URL", "").startswith("postgres"),
        reason="needs PostgreSQL (TEST_DATABASE_URL): SQLite serialises writers, so there is no race to prove",
    ),
]


def committed(made: Any) -> Any:
    """What a race's fixture built, committed for real so that the racing threads see it."""
    db.session.commit()
    return made


def at_once(app: Any, works: Sequence[Callable[[], Any]], *,
            expected: tuple[type[BaseException], ...] = ()) -> list[Any]:
    """Each work's result, or the `expected` error it raised (its transaction rolled back). Any other
    error fails the calling test. The calling test must be marked `commits` (see tests/conftest.py)."""
    assert not isolation.is_isolated(app), "a race needs real commits: mark the test @pytest.mark.commits"
    barrier = threading.Barrier(len(works))
    results: list[Any] = [None] * len(works)
    errors: list[BaseException] = []

    def run(i: int) -> None:
        try:
            with app.app_context():
                barrier.wait(timeout=10)
                try:
                    results[i] = works[i]()
                    time.sleep(0.3)
                    db.session.commit()
                except expected as error:
                    db.session.rollback()
                    results[i] = error
                finally:
                    db.session.remove()
        except BaseException as error:  # reported by the test
            errors.append(error)

    threads = [threading.Thread(target=run, args=(i,)) for i in range(len(works))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert not any(thread.is_alive() for thread in threads)
    assert errors == []
    return results
