"""The scheduler's records (issue 17): each job run by a scheduler process leaves a row; a daily job is done once
per programme day, whichever process runs it; the heartbeats; a standby takes over when the leader stops."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.interval import IntervalTrigger
from sqlalchemy import func, insert, select

from programme.core import schedule_log
from programme.core.changes import DataChange
from programme.core.schedule_log import JobRun, SchedulerHeartbeat
from programme.core.scheduler import (
    SchedulerAlreadyRunning,
    SchedulerLock,
    build_scheduler,
    due_today,
    is_daily,
    run_scheduler,
)
from programme.core.timezone import programme_today
from programme.extensions import db
from programme.jobs import JOBS, ScheduledJob, run_job


def noon_zone(moment: datetime | None = None) -> str:
    """A whole-hour time zone where it is about noon now: every daily job's hour (02:00-03:30) has passed today and
    the day does not end during a test."""
    moment = moment or datetime.now(UTC)
    offset = 12 - moment.hour  # -11 .. +12
    return "Etc/GMT" + ("" if offset == 0 else f"{-offset:+d}")  # the Etc zones' sign is inverted


def wait_until(condition: Callable[[], object], seconds: float = 60, what: str = "the condition") -> object:
    """Poll ``condition`` until it is true (a ceiling, not a timing: the test asserts what happened, not when)."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(0.1)
    pytest.fail(f"{what} did not happen within {seconds} s")


def daily_job(name: str, calls: list[str]) -> ScheduledJob:
    def work(app) -> str:
        calls.append(name)
        db.session.add(DataChange())  # writes something, as a real daily job does
        return f"{name} did its work"
    return ScheduledJob(name, work,
                        lambda app: CronTrigger(hour=0, minute=0, timezone=app.config["PROGRAMME_TIMEZONE"]))


def interval_job(name: str, calls: list[str]) -> ScheduledJob:
    def work(app) -> str:
        calls.append(name)
        return "nothing to do"
    return ScheduledJob(name, work, lambda app: IntervalTrigger(seconds=60))


def runs(job: str) -> list[JobRun]:
    return list(db.session.scalars(select(JobRun).where(JobRun.job == job).order_by(JobRun.id)))


def test_noon_zone_is_about_noon() -> None:
    for hour in range(24):
        moment = datetime(2026, 12, 6, hour, 30, tzinfo=UTC)
        assert moment.astimezone(ZoneInfo(noon_zone(moment))).hour == 12


def test_the_real_daily_jobs_are_the_cron_ones(app) -> None:
    daily = {job.name for job in JOBS if is_daily(app, job)}
    assert daily == {"loans-daily", "monitoring-daily", "ledger-checks", "prune-data-changes"}


def test_a_run_by_a_scheduler_is_recorded_with_its_node_and_day(app) -> None:
    calls: list[str] = []
    job = interval_job("tidy", calls)
    assert run_job(app, job, node="host-a:1") == "nothing to do"
    assert run_job(app, job, node="host-a:1") == "nothing to do"
    rows = runs("tidy")
    assert calls == ["tidy", "tidy"] and len(rows) == 2
    today = programme_today(app.config["PROGRAMME_TIMEZONE"])
    for row in rows:
        assert (row.node, row.day, row.daily, row.outcome, row.message) == (
            "host-a:1", today, False, "done", "nothing to do")
        assert row.started_at <= row.finished_at


def test_a_run_that_changed_nothing_leaves_no_data_change_mark(app) -> None:
    before = db.session.scalar(select(func.count()).select_from(DataChange))
    run_job(app, interval_job("tidy", []), node="host-a:1")
    assert db.session.scalar(select(func.count()).select_from(DataChange)) == before
    assert len(runs("tidy")) == 1


def test_a_daily_job_is_done_once_a_day_whichever_node_runs_it(app) -> None:
    calls: list[str] = []
    job = daily_job("nightly", calls)
    assert run_job(app, job, node="host-a:1") == "nightly did its work"
    today = programme_today(app.config["PROGRAMME_TIMEZONE"])
    assert run_job(app, job, node="host-b:2") == f"done for {today} already, by host-a:1"
    assert calls == ["nightly"]
    assert [(r.node, r.outcome, r.daily) for r in runs("nightly")] == [
        ("host-a:1", "done", True), ("host-b:2", "skipped", True)]
    # Run by hand (`programme run-jobs`, not a scheduler), the job runs and leaves no row.
    assert run_job(app, job) == "nightly did its work"
    assert calls == ["nightly", "nightly"] and len(runs("nightly")) == 2


@pytest.mark.commits  # the other node commits through a connection of its own
def test_a_daily_run_done_at_the_same_moment_elsewhere_is_rolled_back(app) -> None:
    """The other node's row is committed between this run's check and its commit: the unique key refuses this
    run's row, its work is undone, and the run is recorded as skipped."""
    today = programme_today(app.config["PROGRAMME_TIMEZONE"])

    def work(app) -> str:
        with db.engine.begin() as other:
            other.execute(insert(JobRun).values(job="raced", node="host-b:2", day=today, daily=True,
                                                started_at=schedule_log.wall_clock(),
                                                finished_at=schedule_log.wall_clock(), outcome="done", message=""))
        db.session.add(DataChange())
        return "did it"

    before = db.session.scalar(select(func.count()).select_from(DataChange))
    job = ScheduledJob("raced", work, lambda app: CronTrigger(hour=0, timezone="UTC"))
    assert run_job(app, job, node="host-a:1") == f"done for {today} already, by host-b:2 (at the same moment)"
    db.session.rollback()
    assert [(r.node, r.outcome) for r in runs("raced")] == [("host-b:2", "done"), ("host-a:1", "skipped")]
    assert db.session.scalar(select(func.count()).select_from(DataChange)) == before  # its work was undone


def test_a_failed_daily_run_is_recorded_and_does_not_stop_a_retry(app, caplog) -> None:
    attempts: list[int] = []

    def flaky(app) -> str:
        attempts.append(1)
        db.session.add(DataChange())
        if len(attempts) == 1:
            raise RuntimeError("the first attempt fails")
        return "second time lucky"

    job = ScheduledJob("flaky", flaky, lambda app: CronTrigger(hour=0, timezone="UTC"))
    before = db.session.scalar(select(func.count()).select_from(DataChange))
    with pytest.raises(RuntimeError):
        run_job(app, job, node="host-a:1")
    assert db.session.scalar(select(func.count()).select_from(DataChange)) == before  # the work was rolled back
    assert run_job(app, job, node="host-b:2") == "second time lucky"
    assert [(r.node, r.outcome) for r in runs("flaky")] == [("host-a:1", "failed"), ("host-b:2", "done")]
    assert runs("flaky")[0].message == "RuntimeError: the first attempt fails"
    assert any("job flaky failed" in r.getMessage() for r in caplog.records)


def test_a_daily_job_is_due_today_once_its_hour_has_passed(app) -> None:
    app.config["PROGRAMME_TIMEZONE"] = "UTC"
    job = daily_job("nightly", [])  # at 00:00
    late = ScheduledJob("late", job.function, lambda app: CronTrigger(hour=23, minute=59, timezone="UTC"))
    morning = datetime(2026, 12, 6, 9, 0, tzinfo=UTC)
    assert due_today(app, job, morning)
    assert not due_today(app, late, morning)
    assert due_today(app, late, morning.replace(hour=23, minute=59, second=30))


def test_the_scheduler_of_a_node_records_its_runs_and_catches_up(app) -> None:
    scheduler = build_scheduler(app, blocking=False, node="host-a:1", catch_up_now=True)
    jobs = {job.id: job for job in scheduler.get_jobs()}
    assert set(jobs) == {job.name for job in JOBS} | {"catch-up"}
    assert all(jobs[job.name].kwargs == {"node": "host-a:1"} for job in JOBS)
    assert jobs["catch-up"].args == (app, "host-a:1")
    plain = build_scheduler(app, blocking=False)
    assert {job.id for job in plain.get_jobs()} == {job.name for job in JOBS}


def test_a_heartbeat_is_one_row_per_node_beaten_again(app) -> None:
    started = schedule_log.wall_clock()
    schedule_log.beat(db.session, "host-a:1", holds_lock=False, started_at=started)
    first = db.session.scalar(select(SchedulerHeartbeat.last_beat_at))
    schedule_log.beat(db.session, "host-a:1", holds_lock=True, started_at=started)
    rows = list(db.session.scalars(select(SchedulerHeartbeat)))
    assert len(rows) == 1 and rows[0].holds_lock and rows[0].last_beat_at >= first
    assert schedule_log.last_leader_beat(db.session) == rows[0].last_beat_at
    schedule_log.beat(db.session, "host-b:2", holds_lock=False, started_at=started)
    assert schedule_log.last_leader_beat(db.session) == rows[0].last_beat_at  # a standby is not the leader
    schedule_log.forget(db.session, "host-a:1")
    assert schedule_log.last_leader_beat(db.session) is None


def test_a_heartbeat_leaves_no_data_change_mark(app) -> None:
    before = db.session.scalar(select(func.count()).select_from(DataChange))
    schedule_log.beat(db.session, "host-a:1", holds_lock=True, started_at=schedule_log.wall_clock())
    schedule_log.beat(db.session, "host-a:1", holds_lock=True, started_at=schedule_log.wall_clock())
    assert db.session.scalar(select(func.count()).select_from(DataChange)) == before


def test_pruning_keeps_the_daily_rows_and_the_live_heartbeats(app) -> None:
    old = schedule_log.wall_clock() - timedelta(days=schedule_log.KEEP_DAYS + 1)
    today = programme_today("UTC")
    db.session.add_all([
        schedule_log.run_row("tidy", "a:1", today, daily=False, started_at=old, outcome="done", message=""),
        schedule_log.run_row("nightly", "a:1", today, daily=True, started_at=old, outcome="done", message=""),
        SchedulerHeartbeat(node="gone:1", started_at=old, last_beat_at=old, holds_lock=True),
    ])
    db.session.commit()
    schedule_log.beat(db.session, "alive:2", holds_lock=False, started_at=old)
    assert schedule_log.prune(db.session) == 2
    assert [r.job for r in db.session.scalars(select(JobRun))] == ["nightly"]
    assert [h.node for h in db.session.scalars(select(SchedulerHeartbeat))] == ["alive:2"]


@pytest.mark.commits  # the schedulers' threads write through connections of their own
def test_one_scheduler_runs_the_jobs_and_a_standby_takes_over_when_it_stops(app) -> None:
    app.config.update(PROGRAMME_TIMEZONE=noon_zone(), SCHEDULER_HEARTBEAT_SECONDS=0.2,
                      SCHEDULER_STANDBY_SECONDS=0.2)
    said: list[str] = []
    stops = {"a": threading.Event(), "b": threading.Event()}
    threads = {name: threading.Thread(target=run_scheduler, daemon=True,
                                      kwargs={"app": app, "echo": said.append, "stop": stops[name],
                                              "node": f"host-{name}:1"})
               for name in stops}

    def beats() -> dict[str, bool]:
        db.session.rollback()
        return {h.node: h.holds_lock for h in db.session.scalars(select(SchedulerHeartbeat))}

    def daily_done() -> dict[str, str]:
        db.session.rollback()
        return {r.job: r.node for r in db.session.scalars(
            select(JobRun).where(JobRun.daily, JobRun.outcome == "done"))}

    daily = {job.name for job in JOBS if is_daily(app, job)}
    try:
        threads["a"].start()
        wait_until(lambda: beats().get("host-a:1"), what="the first scheduler taking the lock")
        wait_until(lambda: set(daily_done()) == daily, what="the first scheduler catching up the daily jobs")
        threads["b"].start()
        wait_until(lambda: beats().get("host-b:1") is False, what="the second scheduler standing by")
        assert beats() == {"host-a:1": True, "host-b:1": False}
        assert any("host-b:1 on standby: another scheduler holds" in line for line in said)

        stops["a"].set()
        threads["a"].join(timeout=60)
        wait_until(lambda: beats() == {"host-b:1": True}, what="the standby taking over")
        # It catches up: the daily jobs are done today already, so it skips them all.
        wait_until(lambda: len(db.session.scalars(select(JobRun).where(
            JobRun.node == "host-b:1", JobRun.outcome == "skipped")).all()) == len(daily),
                   what="the new leader skipping the daily jobs")
        assert daily_done() == dict.fromkeys(daily, "host-a:1")
        assert "Scheduler host-a:1 stopped." in said
    finally:
        for stop in stops.values():
            stop.set()
        for thread in threads.values():
            thread.join(timeout=60)
    assert not any(thread.is_alive() for thread in threads.values())
    db.session.rollback()
    assert db.session.scalars(select(SchedulerHeartbeat)).all() == []  # each stopped cleanly: no heartbeat left


@pytest.mark.commits
def test_without_standby_a_second_scheduler_refuses_to_start(app) -> None:
    lock = SchedulerLock(app)
    try:
        assert lock.try_take()
        with pytest.raises(SchedulerAlreadyRunning, match="another scheduler holds"):
            run_scheduler(app, echo=lambda line: None, standby=False)
    finally:
        lock.close()
    second = SchedulerLock(app)
    try:
        assert second.try_take()  # released: the next one gets it
    finally:
        second.close()


def test_intervals_from_the_environment_are_numbers_and_a_bad_one_is_refused(tmp_path, monkeypatch) -> None:
    from programme import ConfigurationError, create_app

    base = {"SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path / 'x.sqlite'}", "SECRET_KEY": "x",
            "INSTANCE_PATH": str(tmp_path)}
    monkeypatch.setenv("PROGRAMME_SCHEDULER_HEARTBEAT_SECONDS", "1.5")
    monkeypatch.setenv("PROGRAMME_SCHEDULER_CLOSE_CALLS_SECONDS", "2")
    made = create_app(base)
    assert (made.config["SCHEDULER_HEARTBEAT_SECONDS"], made.config["SCHEDULER_CLOSE_CALLS_SECONDS"]) == (1.5, 2)
    for bad in ("0", "-1", "soon"):
        monkeypatch.setenv("PROGRAMME_SCHEDULER_HEARTBEAT_SECONDS", bad)
        with pytest.raises(ConfigurationError, match="SCHEDULER_HEARTBEAT_SECONDS must be a positive number"):
            create_app(base)
