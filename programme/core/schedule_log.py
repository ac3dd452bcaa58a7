"""What the scheduler processes leave in the database (issue 17): a heartbeat per process, and a row per job run.

Each ``programme scheduler`` process, the one holding the single-scheduler lock and the ones on standby alike,
keeps one ``SchedulerHeartbeat`` row (its node name, ``host:pid``) and beats it every few seconds; ``/healthz``
reads the newest beat of a process that holds the lock. Each job run by the scheduler leaves a ``JobRun``: the job,
the node, the programme day it ran for, when, and how it ended. A daily job is done at most once a day: the row of a
run that did its work is written in the job's own transaction, under a unique key on (job, day), so two processes
running it for the same day commit one of them, and a process taking over the lock skips the jobs already done.

Heartbeats and job rows change nothing a page shows: their commits leave no data-change mark (``changes.unmarked``).
Times here are the wall clock (``wall_clock``), not the programme's clock a test may set: a heartbeat says a process
is alive now.
"""

from __future__ import annotations

import logging
from datetime import UTC, date, datetime, timedelta

from sqlalchemy import Boolean, Index, String, Text, delete, func, select, text
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Mapped, Session, mapped_column

from programme.core import changes
from programme.core.db import Base

#: How a job run ended.
DONE, FAILED, SKIPPED = "done", "failed", "skipped"
#: Job rows of the jobs that run many times a day, and heartbeats of processes gone, are deleted after this long.
KEEP_DAYS = 30


def wall_clock() -> datetime:
    return datetime.now(UTC)


class SchedulerHeartbeat(Base):
    """One scheduler process: started when, last alive when, and whether it holds the lock (runs the jobs)."""

    __tablename__ = "scheduler_heartbeats"

    id: Mapped[int] = mapped_column(primary_key=True)
    node: Mapped[str] = mapped_column(String(255), unique=True)  # host:pid
    started_at: Mapped[datetime]
    last_beat_at: Mapped[datetime] = mapped_column(index=True)
    holds_lock: Mapped[bool] = mapped_column(Boolean, default=False)


class JobRun(Base):
    """One run of a scheduled job by a scheduler process."""

    __tablename__ = "job_runs"
    __table_args__ = (
        # A daily job is done once per programme day, whichever process runs it.
        Index("uq_job_runs_daily_done", "job", "day", unique=True,
              sqlite_where=text("daily AND outcome = 'done'"), postgresql_where=text("daily AND outcome = 'done'")),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    job: Mapped[str] = mapped_column(String(100))
    node: Mapped[str] = mapped_column(String(255))
    day: Mapped[date]  # the programme day it ran for
    daily: Mapped[bool] = mapped_column(Boolean, default=False)
    started_at: Mapped[datetime] = mapped_column(index=True)
    finished_at: Mapped[datetime]
    outcome: Mapped[str] = mapped_column(String(20))  # done, failed or skipped
    message: Mapped[str] = mapped_column(Text, default="")  # the job's summary, or the error's kind


def beat(session: Session, node: str, *, holds_lock: bool, started_at: datetime) -> None:
    """The process ``node`` is alive now (and holds the lock or not); committed here, unmarked."""
    moment = wall_clock()
    row = session.scalar(select(SchedulerHeartbeat).where(SchedulerHeartbeat.node == node))
    if row is None:
        session.add(SchedulerHeartbeat(node=node, started_at=started_at, last_beat_at=moment, holds_lock=holds_lock))
    else:
        row.last_beat_at, row.holds_lock = moment, holds_lock
    changes.unmarked(session)
    session.commit()


def forget(session: Session, node: str) -> None:
    """A process stopping cleanly removes its heartbeat (a process killed leaves its last one until pruned)."""
    session.execute(delete(SchedulerHeartbeat).where(SchedulerHeartbeat.node == node))
    changes.unmarked(session)
    session.commit()


def last_leader_beat(session: Session) -> datetime | None:
    """When a process holding the lock last beat (None: never)."""
    return session.scalar(select(func.max(SchedulerHeartbeat.last_beat_at)).where(SchedulerHeartbeat.holds_lock))


def done_by(session: Session, job: str, day: date) -> str | None:
    """The node that did the daily ``job`` for ``day``, or None if it is not done."""
    return session.scalar(select(JobRun.node).where(JobRun.job == job, JobRun.day == day, JobRun.daily,
                                                    JobRun.outcome == DONE).limit(1))


def run_row(job: str, node: str, day: date, *, daily: bool, started_at: datetime, outcome: str,
            message: str) -> JobRun:
    return JobRun(job=job, node=node, day=day, daily=daily, started_at=started_at, finished_at=wall_clock(),
                  outcome=outcome, message=message[:2000])


def record(session: Session, row: JobRun) -> None:
    """A run that changed nothing else (skipped, failed): its row, committed alone, unmarked (a database that
    refuses it, say it is down, is logged: the run's own error matters more)."""
    try:
        session.add(row)
        changes.unmarked(session)
        session.commit()
    except SQLAlchemyError as exc:
        session.rollback()
        logging.getLogger("programme.scheduler").warning("could not record the run of %s: %s", row.job,
                                                         type(exc).__name__)


def prune(session: Session, *, keep_days: int = KEEP_DAYS) -> int:
    """Delete the rows of the many-a-day jobs and the heartbeats older than ``keep_days`` (daily rows stay: they
    are what keeps a daily job from running twice). Committed here, unmarked."""
    before = wall_clock() - timedelta(days=keep_days)
    runs = session.execute(delete(JobRun).where(~JobRun.daily, JobRun.started_at < before)).rowcount or 0
    beats = session.execute(delete(SchedulerHeartbeat).where(SchedulerHeartbeat.last_beat_at < before)).rowcount
    changes.unmarked(session)
    session.commit()
    return runs + (beats or 0)
