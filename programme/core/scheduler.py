"""Runs the scheduled jobs in exactly one process.

A second scheduler process refuses to start: on PostgreSQL it cannot take the
advisory lock the first one holds; on SQLite it cannot lock a file in the instance folder.
"""

from __future__ import annotations

import fcntl
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.schedulers.base import BaseScheduler
from apscheduler.schedulers.blocking import BlockingScheduler
from flask import Flask
from sqlalchemy import create_engine, text

ADVISORY_LOCK_KEY = 0x636C7573  # "clus": one scheduler per database


class SchedulerAlreadyRunning(RuntimeError):
    pass


@contextmanager
def single_scheduler_lock(app: Flask) -> Iterator[None]:
    url = app.config["SQLALCHEMY_DATABASE_URI"]
    if url.startswith("postgresql"):
        engine = create_engine(url)
        connection = engine.connect()
        got = connection.execute(text("SELECT pg_try_advisory_lock(:k)"), {"k": ADVISORY_LOCK_KEY}).scalar()
        connection.commit()
        if not got:
            connection.close()
            raise SchedulerAlreadyRunning("another scheduler holds the database's advisory lock")
        try:
            yield
        finally:
            connection.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": ADVISORY_LOCK_KEY})
            connection.close()
            engine.dispose()
    else:
        path = Path(app.instance_path) / "scheduler.lock"
        path.parent.mkdir(parents=True, exist_ok=True)
        handle = open(path, "w")  # noqa: SIM115 - held for the life of the scheduler
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.close()
            raise SchedulerAlreadyRunning(f"another scheduler holds {path}") from None
        handle.write(str(os.getpid()))
        handle.flush()
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)
            handle.close()


def build_scheduler(app: Flask, *, blocking: bool) -> BaseScheduler:
    from programme.jobs import JOBS, run_job

    scheduler: BaseScheduler = BlockingScheduler(timezone="UTC") if blocking else BackgroundScheduler(timezone="UTC")
    for job in JOBS:
        scheduler.add_job(
            run_job, trigger=job.trigger(app), args=[app, job], id=job.name, name=job.name,
            max_instances=1, coalesce=True, replace_existing=True,
        )
    return scheduler
