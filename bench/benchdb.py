"""What the benchmark scripts share: progress on stderr, and a throw-away database (a SQLite file in a
temporary folder, or a fresh PostgreSQL database beside the one a URL names, dropped at the end)."""

from __future__ import annotations

import sys
import uuid
from pathlib import Path

from sqlalchemy import create_engine, make_url, text


def progress(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


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
