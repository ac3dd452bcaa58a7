"""The machinery behind the tests' isolation (conftest.py explains the idea): one application per configuration,
one connection per application with an outer transaction, a savepoint per layer (a world built once, a test),
the session bound to that connection, and a check that nothing is left behind."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from flask import Flask
from flask_sqlalchemy.session import Session as FlaskSession
from sqlalchemy import Connection, bindparam, text
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.engine import NestedTransaction, RootTransaction
from sqlalchemy.orm import sessionmaker
from sqlalchemy.types import BigInteger, Text

from programme import create_app
from programme.core.db import Base
from programme.extensions import db, limiter


class BoundSession(FlaskSession):
    """Flask-SQLAlchemy's session, but always on the connection it was given (its own `get_bind` would pick the
    app's engine and so leave the test's transaction)."""

    def get_bind(self, *args: Any, **kwargs: Any) -> Any:
        return self.bind


# --- one application per configuration ---------------------------------------------------------------------------

@dataclass
class CachedApp:
    app: Flask
    limiter_state: dict[str, Any]
    fingerprint: tuple[int, ...]


_apps: dict[str, CachedApp] = {}


def _fingerprint(app: Flask) -> tuple[int, ...]:
    """What a test could add to an app that would leak into the next test's: routes, hooks, template globals."""
    return (
        len(app.url_map._rules),
        sum(len(funcs) for funcs in app.before_request_funcs.values()),
        sum(len(funcs) for funcs in app.after_request_funcs.values()),
        sum(len(funcs) for funcs in app.teardown_request_funcs.values()),
        len(app.jinja_env.globals),
        len(app.jinja_env.filters),
        # (looking a handler up adds empty entries to these default dicts: count the handlers themselves)
        sum(len(by_class) for by_code in app.error_handler_spec.values() for by_class in by_code.values()),
    )


def application(base_config: dict[str, Any], overrides: dict[str, Any], prepare: Any, *, own: bool = False) -> Flask:
    """The app for this configuration, created on first use; with `own`, a new app that the next test won't get."""
    key = repr(sorted((k, repr(v)) for k, v in overrides.items()))
    if own:
        key = f"own:{len(_apps)}:{key}"
        forget_own()
    cached = _apps.get(key)
    if cached is None:
        app = create_app({**base_config, **overrides})
        prepare(app)
        cached = _apps[key] = CachedApp(app, dict(vars(limiter)), _fingerprint(app))
    # Flask-Limiter keeps its settings on the one global limiter, set by the last create_app (of any test):
    # put back this app's.
    vars(limiter).update(cached.limiter_state)
    return cached.app


def forget_own() -> None:
    for key in [key for key in _apps if key.startswith("own:")]:
        _forget(key)


def _forget(key: str) -> None:
    app = _apps.pop(key).app
    close_connection(app)
    with app.app_context():
        db.engine.dispose()


def forget_if_changed(app: Flask) -> None:
    """Drop an app from the cache when a test added routes or hooks to it."""
    for key, cached in list(_apps.items()):
        if cached.app is app and (key.startswith("own:") or _fingerprint(app) != cached.fingerprint):
            _forget(key)


# --- one connection per application, a savepoint per layer --------------------------------------------------------

@dataclass
class Layer:
    savepoint: NestedTransaction
    sequences: list[tuple[str, int | None]] | None
    uploads: Path | None = None


@dataclass
class Shared:
    connection: Connection
    outer: RootTransaction
    layers: list[Layer] = field(default_factory=list)


_shared: dict[int, Shared] = {}


def is_isolated(app: Flask) -> bool:
    shared = _shared.get(id(app))
    return shared is not None and bool(shared.layers)


def enter(app: Flask) -> Layer:
    """A new layer: a savepoint on the app's shared connection (opened, with its outer transaction, if need be)."""
    shared = _shared.get(id(app))
    if shared is None:
        connection = db.engine.connect()
        shared = _shared[id(app)] = Shared(connection, connection.begin())
    layer = Layer(shared.connection.begin_nested(), _sequences(shared.connection))
    shared.layers.append(layer)
    return layer


def leave(app: Flask, layer: Layer) -> list[str]:
    """Roll the layer back; when it was the last, end the connection and answer the tables left with rows."""
    shared = _shared[id(app)]
    assert shared.layers and shared.layers[-1] is layer, "layers are left in the order they were entered"
    shared.layers.pop()
    if layer.savepoint.is_active:
        layer.savepoint.rollback()
    _restore_sequences(shared.connection, layer.sequences)
    if shared.layers:
        return []
    shared.outer.rollback()
    leftovers = tables_with_rows(shared.connection)
    shared.connection.close()
    del _shared[id(app)]
    return leftovers


def close_connection(app: Flask) -> None:
    shared = _shared.pop(id(app), None)
    if shared is not None:
        shared.connection.close()


def world_uploads(app: Flask) -> Path | None:
    """The upload folder of the innermost world built once, if it wrote files."""
    shared = _shared.get(id(app))
    for layer in reversed(shared.layers if shared else []):
        if layer.uploads is not None:
            return layer.uploads
    return None


def copy_uploads(source: Path | None, target: Path) -> None:
    if source is not None and source.exists():
        shutil.copytree(source, target, dirs_exist_ok=True)


@contextmanager
def bound_session(connection: Connection) -> Iterator[None]:
    """Every session the current app contexts make is on `connection`, joining its transaction by savepoints."""
    registry = db.session.registry
    saved = registry.createfunc
    registry.createfunc = sessionmaker(class_=BoundSession, db=db, query_cls=db.Query, bind=connection,
                                       join_transaction_mode="create_savepoint")
    db.session.remove()
    try:
        yield
    finally:
        db.session.remove()
        registry.createfunc = saved


# --- PostgreSQL's sequences (a rollback leaves them where they went) ----------------------------------------------

_SEQUENCES = text("SELECT quote_ident(schemaname) || '.' || quote_ident(sequencename), last_value FROM pg_sequences "
                  "WHERE schemaname = current_schema()")
_SETVAL = text(
    "SELECT count(setval(t.name::regclass, coalesce(t.value, 1), t.value IS NOT NULL)) "
    "FROM unnest(:names, :values) AS t(name, value)"
).bindparams(bindparam("names", type_=ARRAY(Text)), bindparam("values", type_=ARRAY(BigInteger)))


def _sequences(connection: Connection) -> list[tuple[str, int | None]] | None:
    if connection.dialect.name != "postgresql":
        return None
    return [(name, value) for name, value in connection.execute(_SEQUENCES)]


def _restore_sequences(connection: Connection, sequences: list[tuple[str, int | None]] | None) -> None:
    if not sequences:
        return
    connection.execute(_SETVAL, {"names": [n for n, _ in sequences], "values": [v for _, v in sequences]})


def reset_sequences(connection: Connection) -> None:
    if connection.dialect.name == "postgresql":
        connection.execute(text(
            "SELECT count(setval(quote_ident(schemaname) || '.' || quote_ident(sequencename), start_value, false)) "
            "FROM pg_sequences WHERE schemaname = current_schema()"))


# --- emptiness ------------------------------------------------------------------------------------------------------

def tables_with_rows(connection: Connection) -> list[str]:
    """The tables that hold rows, in one round trip."""
    tables = Base.metadata.sorted_tables
    query = " UNION ALL ".join(
        f"SELECT '{t.name}' AS name WHERE EXISTS (SELECT 1 FROM \"{t.name}\")" for t in tables)
    found = [row[0] for row in connection.execute(text(query))]
    connection.rollback()
    return found


def empty_tables() -> None:
    """Every row deleted for real (the tests marked `commits`), children first; PostgreSQL's ids start again."""
    with db.engine.begin() as connection:
        for table in reversed(Base.metadata.sorted_tables):
            connection.execute(table.delete())
        reset_sequences(connection)
