"""Databases and applications of a test's own, outside the suite's isolation (tests/conftest.py): for the tests that
commit for real into databases they make and then look at them from another (backups, upgrades).

The kind follows the run: SQLite files in a temporary folder, or, with TEST_DATABASE_URL naming PostgreSQL, new
databases made beside it (as conftest.py makes its workers') and dropped at the end. They are left empty: no
migration runs until the test asks for one.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from flask import Flask

from programme import create_app
from programme.config import normalise_database_url
from programme.extensions import db, limiter
from tests.conftest import _config, _drop_postgres_database, _fresh_postgres_database, _prepare


class OwnDatabases:
    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.made: list[tuple[str, str]] = []
        self.apps: list[Flask] = []

    @property
    def postgres(self) -> bool:
        return os.environ.get("TEST_DATABASE_URL", "").startswith("postgres")

    def url(self, name: str) -> str:
        """A new, empty database."""
        if not self.postgres:
            return f"sqlite:///{self.folder / name}.sqlite"
        url, fresh = _fresh_postgres_database(normalise_database_url(os.environ["TEST_DATABASE_URL"]))
        if fresh is None:
            pytest.skip("these tests make databases of their own: the PostgreSQL user may not create databases")
        self.made.append((url, fresh))
        return url

    def instance(self, name: str) -> Path:
        return self.folder / name

    def app(self, url: str, name: str) -> Flask:
        """An application on `url` with its instance folder (and its upload folder in it) named `name`."""
        instance = self.instance(name)
        app = create_app({**_config(url, instance), "UPLOAD_FOLDER": str(instance / "uploads")})
        _prepare(app)
        self.apps.append(app)
        return app

    def close(self) -> None:
        for app in self.apps:
            with app.app_context():
                db.session.remove()
                db.engine.dispose()
        for url, name in self.made:
            _drop_postgres_database(url, name)


@contextmanager
def own_databases(folder: Path) -> Iterator[OwnDatabases]:
    """Databases made in the block and dropped after it; the global limiter's settings (each create_app sets
    them) are put back."""
    saved = dict(vars(limiter))
    made = OwnDatabases(folder)
    try:
        yield made
    finally:
        made.close()
        vars(limiter).update(saved)
