"""Runs the scheduled jobs in exactly one process per database; the others stand by and take over.

The lock: on PostgreSQL an advisory lock held by a connection of its own (it goes when the process dies, however it
dies); on SQLite a lock on a file in the instance folder. ``programme scheduler`` (``run_scheduler``) takes it, or
stands by and tries again every ``SCHEDULER_STANDBY_SECONDS``: when the process holding it dies, a standby takes
over within those seconds. Every process beats its heartbeat (``core.schedule_log``) every
``SCHEDULER_HEARTBEAT_SECONDS`` through the lock's own connection, so a leader whose connection is gone knows it has
lost the lock, stops its jobs and stands by again. A process taking the lock first runs the daily jobs whose hour
has passed today (their rows say which are done already: those are skipped).

The demo serves pages and runs the jobs in one process: it takes the lock once (``single_scheduler_lock``) and runs
no jobs if another process holds it.
"""

from __future__ import annotations

import fcntl
import logging
import os
import socket
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from datetime import datetime
from pathlib import Path
from typing import IO, Any
from zoneinfo import ZoneInfo

from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.schedulers.base import BaseScheduler
from apscheduler.schedulers.blocking import BlockingScheduler
from apscheduler.triggers.cron import CronTrigger
from flask import Flask
from sqlalchemy import Connection, create_engine, text
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session
from sqlalchemy.pool import NullPool

from programme.core import schedule_log

ADVISORY_LOCK_KEY = 0x636C7573  # "clus": one scheduler per database
#: A job that could not start on time (the process busy, the lock just taken) still runs within this many seconds.
MISFIRE_GRACE_SECONDS = 300
#: The old job rows and heartbeats are pruned this often by the process holding the lock.
PRUNE_EVERY_SECONDS = 3600

log = logging.getLogger("programme.scheduler")


class SchedulerAlreadyRunning(RuntimeError):
    pass


class LockLost(RuntimeError):
    """The connection holding the advisory lock is gone: so is the lock."""


def node_name() -> str:
    """This process, as heartbeats and job rows name it: host:pid."""
    return f"{socket.gethostname()}:{os.getpid()}"


def seconds(app: Flask, key: str) -> float:
    """A scheduler interval from the configuration (the environment gives text)."""
    value = float(app.config[key])
    if value <= 0:
        raise ValueError(f"{key} must be a positive number of seconds (got {app.config[key]!r})")
    return value


class SchedulerLock:
    """The single-scheduler lock and the connection of its own that holds it (and writes the heartbeats)."""

    def __init__(self, app: Flask) -> None:
        url = app.config["SQLALCHEMY_DATABASE_URI"]
        self.postgres = url.startswith("postgresql")
        self.engine = create_engine(url, poolclass=NullPool, hide_parameters=True)
        self.path = Path(app.instance_path) / "scheduler.lock"
        self.connection: Connection | None = None
        self.handle: IO[str] | None = None
        self.held = False

    def where(self) -> str:
        return "the database's advisory lock" if self.postgres else str(self.path)

    def _connected(self) -> Connection:
        if self.connection is None or self.connection.closed or self.connection.invalidated:
            self.reset()
            self.connection = self.engine.connect()
        return self.connection

    def try_take(self) -> bool:
        """Take the lock if no other process holds it; True if this one holds it now."""
        if self.held:
            return True
        if self.postgres:
            connection = self._connected()
            self.held = bool(connection.execute(text("SELECT pg_try_advisory_lock(:k)"),
                                                {"k": ADVISORY_LOCK_KEY}).scalar())
            connection.commit()
            return self.held
        self.path.parent.mkdir(parents=True, exist_ok=True)
        handle = open(self.path, "a+")  # noqa: SIM115 - held for as long as the lock is
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.close()
            return False
        handle.truncate(0)
        handle.write(str(os.getpid()))
        handle.flush()
        self.handle, self.held = handle, True
        return True

    def session(self) -> Session:
        """A session on the lock's own connection (for the heartbeats: they never wait for the jobs' pool)."""
        return Session(bind=self._connected())

    def check(self) -> None:
        """Raise LockLost if the lock went with its connection (PostgreSQL; a file lock cannot go)."""
        if not self.held or not self.postgres:
            return
        try:
            assert self.connection is not None
            self.connection.execute(text("SELECT 1")).scalar()
            self.connection.commit()
        except (SQLAlchemyError, AssertionError) as exc:
            self.held = False
            self.reset()
            raise LockLost(f"the connection holding the advisory lock failed: {type(exc).__name__}") from None

    def release(self) -> None:
        if self.held and self.postgres and self.connection is not None:
            try:
                self.connection.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": ADVISORY_LOCK_KEY})
                self.connection.commit()
            except SQLAlchemyError:
                pass  # the connection is gone, and the lock with it
        if self.handle is not None:
            fcntl.flock(self.handle, fcntl.LOCK_UN)
            self.handle.close()
            self.handle = None
        self.held = False

    def reset(self) -> None:
        """Forget a broken connection (and, on PostgreSQL, the lock it held)."""
        if self.connection is not None:
            if self.postgres:
                self.held = False
            with suppress(SQLAlchemyError):
                self.connection.close()
            self.connection = None

    def close(self) -> None:
        self.release()
        self.reset()
        self.engine.dispose()


@contextmanager
def single_scheduler_lock(app: Flask) -> Iterator[None]:
    """Hold the lock for the block, or raise SchedulerAlreadyRunning at once if another process holds it."""
    lock = SchedulerLock(app)
    try:
        if not lock.try_take():
            raise SchedulerAlreadyRunning(f"another scheduler holds {lock.where()}")
        yield
    finally:
        lock.close()


def is_daily(app: Flask, job: Any) -> bool:
    """A job run at an hour of each day (a cron trigger): done at most once a day."""
    return isinstance(job.trigger(app), CronTrigger)


def due_today(app: Flask, job: Any, moment: datetime) -> bool:
    """A daily job whose hour today (in the programme's zone) has passed at ``moment``."""
    trigger = job.trigger(app)
    midnight = moment.astimezone(ZoneInfo(app.config["PROGRAMME_TIMEZONE"])).replace(
        hour=0, minute=0, second=0, microsecond=0)
    first = trigger.get_next_fire_time(None, midnight)
    return first is not None and first <= moment


def catch_up(app: Flask, node: str) -> None:
    """Run, in their order, the daily jobs whose hour has passed today: those done today already are skipped."""
    from programme.jobs import JOBS, run_job

    moment = schedule_log.wall_clock()
    for job in JOBS:
        if is_daily(app, job) and due_today(app, job, moment):
            with suppress(Exception):  # logged and recorded by run_job; the next job still runs
                run_job(app, job, node=node)


def build_scheduler(app: Flask, *, blocking: bool, node: str | None = None, catch_up_now: bool = False
                    ) -> BaseScheduler:
    """Every job on its trigger; with ``node``, each run is recorded as that node's (``run_job``); with
    ``catch_up_now``, the daily jobs due earlier today run once at the start."""
    from programme.jobs import JOBS, run_job

    scheduler: BaseScheduler = BlockingScheduler(timezone="UTC") if blocking else BackgroundScheduler(timezone="UTC")
    for job in JOBS:
        scheduler.add_job(
            run_job, trigger=job.trigger(app), args=[app, job], kwargs={"node": node} if node else {},
            id=job.name, name=job.name, max_instances=1, coalesce=True, replace_existing=True,
            misfire_grace_time=MISFIRE_GRACE_SECONDS,
        )
    if catch_up_now and node:
        scheduler.add_job(catch_up, args=[app, node], id="catch-up", name="catch-up",
                          misfire_grace_time=MISFIRE_GRACE_SECONDS)  # no trigger: once, now
    return scheduler


def _beat(lock: SchedulerLock, node: str, *, holds_lock: bool, started_at: datetime) -> None:
    session = lock.session()
    try:
        schedule_log.beat(session, node, holds_lock=holds_lock, started_at=started_at)
    except SQLAlchemyError:
        session.rollback()
        raise
    finally:
        session.close()


def _lead(app: Flask, lock: SchedulerLock, node: str, started_at: datetime, stop: threading.Event,
          echo: Callable[[str], None]) -> None:
    """Run the jobs while this process holds the lock: until ``stop`` is set, or LockLost."""
    beat_every = seconds(app, "SCHEDULER_HEARTBEAT_SECONDS")
    _beat(lock, node, holds_lock=True, started_at=started_at)
    scheduler = build_scheduler(app, blocking=False, node=node, catch_up_now=True)
    scheduler.start()
    echo(f"Scheduler {node} holds the lock and runs the jobs.")
    pruned = 0.0
    lost = False
    try:
        while not stop.wait(beat_every):
            lock.check()
            try:
                _beat(lock, node, holds_lock=True, started_at=started_at)
            except SQLAlchemyError as exc:
                lock.check()  # PostgreSQL: raises LockLost if the lock's connection is gone
                log.warning("scheduler %s could not beat its heartbeat: %s", node, type(exc).__name__)
            if time.monotonic() - pruned > PRUNE_EVERY_SECONDS:
                pruned = time.monotonic()
                _prune(lock)
    except LockLost:
        lost = True
        raise
    finally:
        scheduler.shutdown(wait=not lost)


def _prune(lock: SchedulerLock) -> None:
    session = lock.session()
    try:
        schedule_log.prune(session)
    except SQLAlchemyError as exc:
        session.rollback()
        log.warning("could not prune the old job rows: %s", type(exc).__name__)
    finally:
        session.close()


def run_scheduler(app: Flask, *, echo: Callable[[str], None], stop: threading.Event | None = None,
                  node: str | None = None, standby: bool = True) -> None:
    """``programme scheduler``: take the lock and run the jobs, or stand by until the lock is free; until
    ``stop`` is set (or Ctrl+C). Beats this process's heartbeat all along. Without ``standby``, raises
    SchedulerAlreadyRunning at once if another process holds the lock."""
    node = node or node_name()
    stop = stop or threading.Event()
    retry = seconds(app, "SCHEDULER_STANDBY_SECONDS")
    beat_every = seconds(app, "SCHEDULER_HEARTBEAT_SECONDS")
    started_at = schedule_log.wall_clock()
    lock = SchedulerLock(app)
    if not standby and not lock.try_take():
        lock.close()
        raise SchedulerAlreadyRunning(f"another scheduler holds {lock.where()}")
    told = False
    beaten = 0.0
    try:
        while not stop.is_set():
            try:
                taken = lock.try_take()
            except SQLAlchemyError as exc:
                log.warning("scheduler %s could not reach the database: %s", node, type(exc).__name__)
                lock.reset()
                taken = False
            if taken:
                try:
                    _lead(app, lock, node, started_at, stop, echo)
                except LockLost as exc:
                    echo(f"Scheduler {node} lost the lock ({exc}): its jobs stopped; standing by.")
                    told, beaten = False, 0.0
                continue
            if not told:
                echo(f"Scheduler {node} on standby: another scheduler holds {lock.where()}; trying again every "
                     f"{retry:g} s.")
                told = True
            if time.monotonic() - beaten >= beat_every:
                try:
                    _beat(lock, node, holds_lock=False, started_at=started_at)
                    beaten = time.monotonic()
                except SQLAlchemyError as exc:
                    log.warning("scheduler %s could not beat its heartbeat: %s", node, type(exc).__name__)
                    lock.reset()
            stop.wait(retry)
    except KeyboardInterrupt:
        pass
    finally:
        try:
            lock.release()
            session = lock.session()
            try:
                schedule_log.forget(session, node)
            finally:
                session.close()
        except SQLAlchemyError:
            pass
        lock.close()
        echo(f"Scheduler {node} stopped.")
