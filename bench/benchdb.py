"""What the benchmark scripts share: the command line, progress on stderr, a throw-away database (a SQLite file in
a temporary folder, or a fresh PostgreSQL database beside the one a URL names, dropped at the end), the migrated
application, the benchmark's accounts and logging them in, and the database chores after a bulk insert.

Import it before ``programme``: it puts the repository on ``sys.path``."""

from __future__ import annotations

import argparse
import re
import shutil
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy import create_engine, insert, make_url, text

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from programme import create_app  # noqa: E402
from programme.core.access import Role, SystemActor  # noqa: E402
from programme.extensions import db  # noqa: E402

ACTOR = SystemActor("benchmark")
PASSWORD = "benchmark-password-1"
MANAGER = "manager@bench.example"
ADMIN = "admin@bench.example"

NOTES = """With a PostgreSQL URL a fresh database is created beside the one named, and dropped at the end.
Progress goes to stderr; the last lines printed are the figures, one per line."""


def progress(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


# ---------------------------------------------------------------------------------------------
# The command line


def bench_parser(doc: str | None, scale_help: str, repeat: tuple[int, str] | None = None,
                 notes: bool = True) -> argparse.ArgumentParser:
    """The options every benchmark takes: ``--scale``, ``--database-url``, ``--repeat`` (when the benchmark repeats
    something: its default and help) and ``--seed``; the script adds its own. The description is ``doc`` and,
    with ``notes``, what the database and the output are (``NOTES``)."""
    parser = argparse.ArgumentParser(description=f"{doc}\n{NOTES}" if notes else doc,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--scale", type=float, default=1.0, help=scale_help)
    parser.add_argument("--database-url", default=None, help="PostgreSQL server URL (a fresh database is made)")
    if repeat:
        parser.add_argument("--repeat", type=int, default=repeat[0], help=repeat[1])
    parser.add_argument("--seed", type=int, default=2026)
    return parser


# ---------------------------------------------------------------------------------------------
# The throw-away database and the application on it


def fresh_database(url: str | None, folder: Path, prefix: str = "bench") -> str:
    if not url:
        return f"sqlite:///{folder / 'bench.sqlite'}"
    base = make_url(url)
    name = f"{prefix}_{uuid.uuid4().hex[:8]}"
    engine = create_engine(base, isolation_level="AUTOCOMMIT")
    with engine.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    engine.dispose()
    return base.set(database=name).render_as_string(hide_password=False)


def drop_database(url: str) -> None:
    parsed = make_url(url)
    if parsed.get_backend_name() != "postgresql":
        return
    engine = create_engine(parsed.set(database="postgres"), isolation_level="AUTOCOMMIT")
    with engine.connect() as connection:
        connection.execute(text(f'DROP DATABASE IF EXISTS "{parsed.database}" WITH (FORCE)'))
    engine.dispose()


@contextmanager
def scratch_database(server_url: str | None, name: str, keep: bool = False) -> Iterator[tuple[Path, str]]:
    """A temporary folder ``<name>-bench-*`` and a fresh database (``bench_<name>_*`` on the server, or a SQLite
    file in the folder): both removed at the end, unless ``keep`` (then the database's URL is said)."""
    folder = Path(tempfile.mkdtemp(prefix=f"{name}-bench-"))
    url = fresh_database(server_url, folder, f"bench_{name}")
    try:
        yield folder, url
    finally:
        if keep:
            progress(f"the database is kept: {url}")
        else:
            drop_database(url)
            shutil.rmtree(folder, ignore_errors=True)


def backend_of(url: str) -> str:
    return make_url(url).get_backend_name()


def bench_config(url: str, folder: Path, rules: Path | None = None, **settings) -> dict:
    """The application's configuration on the benchmark's database (``settings`` add to it or override it)."""
    return {
        "SQLALCHEMY_DATABASE_URI": url,
        "INSTANCE_PATH": str(folder / "instance"),
        "SECRET_KEY": "bench",
        "RATELIMIT_ENABLED": False,
        "RULES_FOLDER": str(rules or ROOT / "rules"),
        **settings,
    }


def migrated_app(config: dict):
    """The application on ``config``, its database migrated to the head."""
    from flask_migrate import upgrade

    app = create_app(config)
    with app.app_context():
        progress(f"database: {backend_of(config['SQLALCHEMY_DATABASE_URI'])}; migrating")
        upgrade()
    return app


def close_app(app) -> None:
    """The application's session and connections closed (before its database is dropped)."""
    with app.app_context():
        db.session.remove()
        db.engine.dispose()


def add_user(email: str, name: str, role: Role):
    """A user of the benchmark with its password, through the accounts service (not committed)."""
    from programme.accounts import services as accounts

    return accounts.create_user(email=email, name=name, roles=[role], password=PASSWORD, actor=ACTOR)


# ---------------------------------------------------------------------------------------------
# After a bulk insert


def next_id(table: str) -> int:
    """The first free id of ``table`` (rows inserted in bulk carry their ids)."""
    return (db.session.scalar(text(f"SELECT COALESCE(MAX(id), 0) FROM {table}")) or 0) + 1


def insert_rows(*batches: tuple[type, list[dict]]) -> None:
    """Plain rows of each model, in this order, one executemany each."""
    for model, rows in batches:
        if rows:
            db.session.execute(insert(model), rows)


def fix_sequences(tables: list[str]) -> None:
    """PostgreSQL's id sequences moved past the ids inserted in bulk (committed)."""
    if db.engine.dialect.name != "postgresql":
        return
    for table in tables:
        db.session.execute(text(
            f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), COALESCE((SELECT MAX(id) FROM {table}), 1))"))
    db.session.commit()


def analyze() -> None:
    """Fresh planner statistics after a bulk insert (PostgreSQL and SQLite both know ANALYZE)."""
    db.session.execute(text("ANALYZE"))
    db.session.commit()


# ---------------------------------------------------------------------------------------------
# Requests through the test client


def csrf_token(client) -> str | None:
    """The CSRF token of the login page (None when the application runs without CSRF protection)."""
    page = client.get("/login").get_data(as_text=True)
    match = re.search(r'name="csrf-token" content="([^"]+)"', page) or re.search(
        r'name="csrf_token"[^>]*value="([^"]+)"', page)
    return match.group(1) if match else None


def logged_in(app, email: str):
    """A test client logged in as ``email`` through the login form."""
    client = app.test_client()
    data = {"email": email, "password": PASSWORD}
    if token := csrf_token(client):
        data["csrf_token"] = token
    elif app.config.get("WTF_CSRF_ENABLED", True):
        raise AssertionError("the login page carries a CSRF token")
    response = client.post("/login", data=data)
    assert response.status_code == 302, f"{email} cannot log in ({response.status_code})"
    return client


def timed_get(client, url: str):
    """(milliseconds, response) of one GET."""
    started = time.perf_counter()
    response = client.get(url)
    return (time.perf_counter() - started) * 1000, response


def repeated_gets(client, url: str, repeat: int) -> list[float]:
    """The milliseconds of ``repeat`` GETs of ``url``, each of which must answer 200."""
    times = []
    for _ in range(repeat):
        ms, response = timed_get(client, url)
        assert response.status_code == 200, f"{url}: {response.status_code}"
        times.append(ms)
    return times


def page_timings(client, url: str, repeat: int) -> dict:
    """A page's first request, then ``repeat`` more: ``cold_ms``, ``median_ms`` and ``max_ms`` of the others (the
    first's when there are none), ``kb``; only ``url`` and ``status`` when the first does not answer 200."""
    cold, response = timed_get(client, url)
    if response.status_code != 200:
        return {"url": url, "status": response.status_code}
    size = len(response.get_data())
    times = repeated_gets(client, url, repeat)
    return {"url": url, "cold_ms": cold, "median_ms": statistics.median(times) if times else cold,
            "max_ms": max(times, default=cold), "kb": size / 1024}
