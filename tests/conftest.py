"""Fixtures: a migrated database (SQLite by default, PostgreSQL with TEST_DATABASE_URL), app, client, users.

The schema is created once per run through the Alembic migrations, so a missing
migration fails the tests; each test then starts from empty tables.
"""

from __future__ import annotations

import os
import re
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from flask import Flask, g
from flask.testing import FlaskClient
from sqlalchemy import create_engine, make_url, text
from sqlalchemy.exc import DBAPIError

from programme import create_app
from programme.config import PROJECT_ROOT, normalise_database_url
from programme.core.access import Role, SystemActor
from programme.core.db import Base
from programme.extensions import db, limiter

PASSWORD = "correct-horse-battery"
SETUP = SystemActor("test setup")


@pytest.fixture(scope="session", autouse=True)
def _fast_password_hashing() -> Iterator[None]:
    """Argon2id with small costs in tests: the same algorithm and code path, a thousandth of the work."""
    from argon2 import PasswordHasher

    from programme.accounts import passwords

    saved = passwords._hasher, passwords._DUMMY_HASH
    passwords._hasher = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)
    passwords._DUMMY_HASH = passwords._hasher.hash("not-a-real-password")
    yield
    passwords._hasher, passwords._DUMMY_HASH = saved


def _database_url(tmp_path_factory: pytest.TempPathFactory) -> str:
    url = os.environ.get("TEST_DATABASE_URL")
    if url:
        return normalise_database_url(url)
    return f"sqlite:///{tmp_path_factory.mktemp('db') / 'test.sqlite'}"


@pytest.fixture(scope="session")
def database_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A database migrated to head, once per test run.

    With PostgreSQL a fresh database is created beside the one TEST_DATABASE_URL names
    (and dropped at the end), so two runs at once never meet; without the right to
    create databases, the named database's public schema is recreated instead.
    """
    url = _database_url(tmp_path_factory)
    fresh: str | None = None
    if url.startswith("postgresql"):
        url, fresh = _fresh_postgres_database(url)
    app = create_app(_config(url, tmp_path_factory.mktemp("instance")))
    with app.app_context():
        from flask_migrate import upgrade

        upgrade()
        db.engine.dispose()
    yield url
    if fresh:
        with app.app_context():
            db.engine.dispose()
        _drop_postgres_database(url, fresh)


def _fresh_postgres_database(url: str) -> tuple[str, str | None]:
    base = make_url(url)
    name = f"{base.database}_run_{os.getpid()}_{uuid.uuid4().hex[:6]}"
    engine = create_engine(base, isolation_level="AUTOCOMMIT")
    try:
        with engine.connect() as connection:
            connection.execute(text(f'CREATE DATABASE "{name}"'))
    except DBAPIError:
        with engine.connect() as connection:
            connection.execute(text("DROP SCHEMA public CASCADE"))
            connection.execute(text("CREATE SCHEMA public"))
        return url, None
    finally:
        engine.dispose()
    return base.set(database=name).render_as_string(hide_password=False), name


def _drop_postgres_database(url: str, name: str) -> None:
    engine = create_engine(make_url(url).set(database="postgres"), isolation_level="AUTOCOMMIT")
    with engine.connect() as connection:
        connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    engine.dispose()


def _config(url: str, instance: Path) -> dict:
    return {
        "TESTING": True,
        "SQLALCHEMY_DATABASE_URI": url,
        "INSTANCE_PATH": str(instance),
        "SECRET_KEY": "test-secret",
        "RATELIMIT_ENABLED": False,
        "RULES_FOLDER": str(PROJECT_ROOT / "rules"),
        "SERVER_NAME": "localhost",
    }


def _empty_tables() -> None:
    tables = [t for t in reversed(Base.metadata.sorted_tables)]
    if db.engine.dialect.name == "postgresql":
        names = ", ".join(f'"{t.name}"' for t in tables)
        db.session.execute(text(f"TRUNCATE {names} RESTART IDENTITY CASCADE"))
    else:
        for table in tables:
            db.session.execute(table.delete())
    db.session.commit()


class FormClient(FlaskClient):
    """A test client that sends the CSRF token with every form it posts, as a browser would."""

    def csrf_token(self) -> str:
        page = self.get("/calls").get_data(as_text=True)
        match = re.search(r'name="csrf-token" content="([^"]+)"', page)
        assert match, "every page carries a CSRF token"
        return match.group(1)

    def post(self, *args, data=None, csrf: bool = True, **kwargs):  # type: ignore[override]
        if csrf and (data is None or isinstance(data, dict)) and "csrf_token" not in (data or {}):
            data = {**(data or {}), "csrf_token": self.csrf_token()}
        return super().post(*args, data=data, **kwargs)


def _fresh_request_globals() -> None:
    g.__dict__.clear()


@pytest.fixture
def app_config() -> dict:
    """Extra configuration for the `app` fixture; override in a test module to change it."""
    return {}


@pytest.fixture
def app(database_url: str, tmp_path: Path, app_config: dict) -> Iterator[Flask]:
    application = create_app({**_config(database_url, tmp_path / "instance"), **app_config})
    application.test_client_class = FormClient
    # Requests reuse the app context the fixture pushes, and so its `g`, where Flask-Login caches the
    # user and Flask-WTF the CSRF token: give each request a fresh `g`, as in production.
    application.before_request_funcs.setdefault(None, []).insert(0, _fresh_request_globals)
    with application.app_context():
        _empty_tables()
        if application.config["RATELIMIT_ENABLED"]:
            limiter.reset()
        yield application
        db.session.rollback()
        db.session.remove()


@pytest.fixture
def client(app: Flask) -> FormClient:
    return app.test_client()  # type: ignore[return-value]


@pytest.fixture
def runner(app: Flask):
    return app.test_cli_runner()


@pytest.fixture
def make_user(app: Flask):
    """Create a committed user with the given roles: make_user('a@x.org', Role.APPLICANT)."""
    from programme.accounts import services

    def make(email: str, *roles: Role, name: str | None = None, password: str = PASSWORD):
        user = services.create_user(
            email=email, name=name or email.split("@")[0].title(), roles=roles or (Role.APPLICANT,),
            password=password, actor=SETUP,
        )
        db.session.commit()
        return user

    return make


@pytest.fixture
def login(client: FormClient):
    """Log the test client in as a user (by e-mail), through the real login form."""

    def do(user_or_email, password: str = PASSWORD, client_: FormClient | None = None):
        email = getattr(user_or_email, "email", user_or_email)
        response = (client_ or client).post("/login", data={"email": email, "password": password})
        assert response.status_code == 302, response.get_data(as_text=True)[:2000]
        return response

    return do
