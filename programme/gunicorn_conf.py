"""gunicorn's settings for production: ``gunicorn -c python:programme.gunicorn_conf programme.wsgi:app``.

Sync workers, one per CPU core by default (``PROGRAMME_WORKERS``): the pages are CPU work in Python between short
database statements, so more workers than cores only queue for the same cores; a server whose PostgreSQL runs on
another machine may take ``2 x cores``. Each worker holds its own database pool (``DATABASE_POOL_SIZE``,
``DATABASE_POOL_OVERFLOW`` in the configuration): workers x (size + overflow) on every app server together must
stay under PostgreSQL's ``max_connections``. Settings given on gunicorn's command line win over these.
"""

from __future__ import annotations

import os

bind = os.environ.get("PROGRAMME_BIND", "127.0.0.1:8000")
workers = int(os.environ.get("PROGRAMME_WORKERS") or os.cpu_count() or 2)
worker_class = "sync"
#: A request running longer than this is ended (and its worker replaced): no page may take so long.
timeout = int(os.environ.get("PROGRAMME_WORKER_TIMEOUT", "60"))
graceful_timeout = 30
keepalive = 5
#: Workers are replaced after this many requests (with jitter, not all at once), so no slow leak lives for long; a
#: busy worker answers a few hundred a second, so this is every few minutes. Each new worker starts with no page kept
#: (core.pages): the first requests of each page work it out again.
max_requests = 50_000
max_requests_jitter = 5_000
#: The application is loaded once, in the master, before the workers are forked: a replaced worker answers within
#: milliseconds instead of importing everything again (a second's stall of the requests queued for it). Nothing in
#: the master opens a database connection; each worker's pool starts empty all the same (``post_fork``).
preload_app = True


def pre_fork(server: object, worker: object) -> None:
    """What the master loaded (modules, mappers, templates: long-lived) is left out of the workers' garbage
    collections, which then scan only what each worker made: shorter pauses (Python's gc.freeze, for forking
    servers)."""
    import gc

    gc.collect()
    gc.freeze()


def post_fork(server: object, worker: object) -> None:
    """A forked worker never uses a connection of its parent's: its database pool starts empty."""
    from programme.extensions import db
    from programme.wsgi import app

    with app.app_context():
        db.engine.dispose(close=False)
#: The proxy before the app logs every request; gunicorn logs errors to its standard error.
errorlog = "-"
