"""Fixtures: a migrated database (SQLite by default, PostgreSQL with TEST_DATABASE_URL), app, client, users.

How isolation works (read this before writing a fixture that touches the database):

- The schema is created once per run through the Alembic migrations, so a missing migration fails the tests.
- One application per distinct `app_config` serves the whole run (its routes and compiled templates are kept);
  each test gets its own instance and upload folder, and its changes to `app.config` are undone after it. A test
  that adds a route or a request hook to the app gets a fresh app for the tests after it.
- Each test runs inside an outer transaction on one connection that is rolled back at its end. The session is bound
  to that connection with `join_transaction_mode="create_savepoint"`: a service's flush and a view's commit work
  as in production (the commit releases a savepoint), yet nothing outlives the test. On PostgreSQL the sequences
  are put back too, so ids start where they started.
- A world that many tests read is built once per module with `built_once(...)` (see `tests/worlds.py`): it is
  committed into a savepoint of the same connection, and each test runs in a savepoint nested inside it. Tests
  get ids from it and load their objects in their own session. In each module the tests that use the world run
  after those that don't, so these never see it; a module has at most one such world.
- A test that needs real commits seen by other connections (threads racing, a live server for the browser) is
  marked `@pytest.mark.commits`: it runs on the real engine, commits for real, and every table is emptied
  (DELETE) before and after it. Its fixtures build what it needs in the test itself and commit it (see
  tests/funding/test_disbursement_races.py); it cannot share a module with a `built_once` world, and
  `tests/races.at_once` refuses to run without the mark.
- A test that adds a route or a hook to the app is marked `own_app`.
- After each test that ran alone on its connection the tables are checked to be empty: a test that leaves data
  behind (for example by committing through another connection without the mark) fails.
"""

from __future__ import annotations

import os
import tempfile
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from flask import Flask, g
from flask.testing import FlaskClient
from itsdangerous import URLSafeTimedSerializer
from sqlalchemy import create_engine, make_url, text
from sqlalchemy.exc import DBAPIError

from programme import create_app
from programme.config import PROJECT_ROOT, normalise_database_url
from programme.core.access import Role, SystemActor
from programme.core.db import Base
from programme.extensions import db, limiter
from tests import isolation

PASSWORD = "correct-horse-battery"
SETUP = SystemActor("test setup")


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """In each module, the tests that use the module's world built once run after those that don't, so that these
    never see it (the world is built when the first test asks for it). The order within each group is kept
    (pytest-randomly has shuffled it already)."""
    modules: dict[object, int] = {}
    for item in items:
        modules.setdefault(getattr(item, "module", None), len(modules))
    items.sort(key=lambda item: (modules[getattr(item, "module", None)], "built_once" in item.fixturenames))


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
        if db.engine.dialect.name == "postgresql":
            _keep_rows_in_insertion_order()
        db.engine.dispose()
    yield url
    if fresh:
        with app.app_context():
            db.engine.dispose()
        _drop_postgres_database(url, fresh)


def _keep_rows_in_insertion_order() -> None:
    """No autovacuum on the test tables: rolled-back rows then leave no reusable space, so new rows go after the
    old ones as they did when every test began with empty tables, and a query without ORDER BY in a test keeps
    answering in insertion order (the tests that rely on it predate the rollback isolation)."""
    with db.engine.begin() as connection:
        for table in Base.metadata.sorted_tables:
            connection.execute(text(f'ALTER TABLE "{table.name}" SET (autovacuum_enabled = false)'))


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
        # The race tests run up to ten threads at once, each holding a connection until it commits.
        "DATABASE_POOL_SIZE": 12,
    }


class FormClient(FlaskClient):
    """A test client that sends the CSRF token with every form it posts, as a browser would.

    The token is the one a page would carry: the session's raw token (made if the session has none yet) signed
    the way Flask-WTF signs it, so no page has to be fetched for it (tests/core/test_forms.py checks that every
    page carries one)."""

    def csrf_token(self) -> str:
        app = self.application
        with self.session_transaction() as session:
            raw = session.get("csrf_token")
            if raw is None:
                raw = session["csrf_token"] = uuid.uuid4().hex + uuid.uuid4().hex
        secret = app.config.get("WTF_CSRF_SECRET_KEY") or app.secret_key
        return URLSafeTimedSerializer(secret, salt="wtf-csrf-token").dumps(raw)

    def post(self, *args, data=None, csrf: bool = True, **kwargs):  # type: ignore[override]
        form = "json" not in kwargs and (data is None or isinstance(data, dict))  # a JSON body carries no form token
        if csrf and form and "csrf_token" not in (data or {}):
            data = {**(data or {}), "csrf_token": self.csrf_token()}
        return super().post(*args, data=data, **kwargs)


#: The instance folder the cached apps are created with (each test then gets its own).
_APP_INSTANCE = Path(tempfile.mkdtemp(prefix="programme-tests-"))


def _fresh_request_globals() -> None:
    g.__dict__.clear()


def _prepare(application: Flask) -> None:
    application.test_client_class = FormClient
    # Requests reuse the app context the fixture pushes, and so its `g`, where Flask-Login caches the
    # user and Flask-WTF the CSRF token: give each request a fresh `g`, as in production.
    application.before_request_funcs.setdefault(None, []).insert(0, _fresh_request_globals)


def test_application(database_url: str, overrides: dict[str, Any] | None = None, *, own: bool = False) -> Flask:
    """The run's app for a configuration (created once, kept for every test that asks for the same); with `own`,
    an app for one test only (one that adds a route to it, say)."""
    return isolation.application(_config(database_url, _APP_INSTANCE), overrides or {}, _prepare, own=own)


test_application.__test__ = False  # type: ignore[attr-defined]


@pytest.fixture
def app_config() -> dict:
    """Extra configuration for the `app` fixture; override in a test module to change it."""
    return {}


@pytest.fixture
def app(request: pytest.FixtureRequest, database_url: str, tmp_path: Path, app_config: dict) -> Iterator[Flask]:
    application = test_application(database_url, app_config, own=request.node.get_closest_marker("own_app") is not None)
    saved_config, saved_instance = application.config.copy(), application.instance_path
    instance = tmp_path / "instance"
    application.instance_path = str(instance)
    application.config["UPLOAD_FOLDER"] = str(instance / "uploads")
    commits = request.node.get_closest_marker("commits") is not None
    # What pages keep per data version would outlive the rolled-back data that made it (ids are reused).
    from programme.core.kept import forget_all

    forget_all()
    try:
        with application.app_context():
            if application.config["RATELIMIT_ENABLED"]:
                limiter.reset()
            if commits:
                assert not isolation.is_isolated(application), (
                    "a test marked `commits` cannot run inside a world built once: move it to another module")
                isolation.empty_tables()
                try:
                    yield application
                finally:
                    db.session.rollback()
                    db.session.remove()
                    isolation.empty_tables()
            else:
                layer = isolation.enter(application)
                isolation.copy_uploads(isolation.world_uploads(application), instance / "uploads")
                try:
                    with isolation.bound_session(layer.savepoint.connection):
                        yield application
                finally:
                    leftovers = isolation.leave(application, layer)
                    assert not leftovers, (
                        f"the test left rows in {leftovers} behind: it committed through another connection; "
                        "mark it @pytest.mark.commits")
    finally:
        application.config.clear()
        application.config.update(saved_config)
        application.instance_path = saved_instance
        isolation.forget_if_changed(application)


@pytest.fixture(scope="module")
def built_once(database_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Callable[..., Any]]:
    """Build a world once for a module's tests, in a module-scoped fixture:

        @pytest.fixture(scope="module")
        def world_ids(built_once):
            with built_once() as app:
                return build_the_world(app)   # committed when the block ends

    What is built stays (in a savepoint) until the module's tests are done, and each test rolls back its own
    changes on top of it. Return ids, not objects: each test loads them in its own session."""
    application = test_application(database_url)
    layers: list[isolation.Layer] = []

    @contextmanager
    def build() -> Iterator[Flask]:
        assert not layers, "one world built once per module: the tests that don't use it must not see it"
        uploads = tmp_path_factory.mktemp("world-uploads")
        saved = application.config.copy()
        application.config["UPLOAD_FOLDER"] = str(uploads)
        try:
            with application.app_context():
                layer = isolation.enter(application)
                layer.uploads = uploads
                layers.append(layer)
                with isolation.bound_session(layer.savepoint.connection):
                    yield application
                    db.session.commit()
        finally:
            application.config.clear()
            application.config.update(saved)

    yield build
    with application.app_context():
        for layer in reversed(layers):
            leftovers = isolation.leave(application, layer)
            assert not leftovers, f"a world built once left rows in {leftovers} behind"


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> Callable[[Any], None]:
    """Set the programme's clock for this test, once for every page and service that asks it: clock(moment)."""
    from programme.core import timezone

    def set_to(moment: Any) -> None:
        monkeypatch.setattr(timezone, "_clock", lambda: moment)

    return set_to


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
