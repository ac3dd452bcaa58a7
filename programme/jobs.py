"""The scheduled jobs, as one plain list. Each calls a service and is idempotent: run twice, no change."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from apscheduler.triggers.base import BaseTrigger
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.interval import IntervalTrigger
from flask import Flask

from programme.calls.services import close_due_calls
from programme.core import changes
from programme.core.access import SystemActor
from programme.core.mail import mail_settings, send_outbox
from programme.core.timezone import now, programme_today
from programme.core.web import programme_zone
from programme.extensions import db
from programme.ledger.checks import run_checks
from programme.loans.services.arrears import run_daily
from programme.monitoring.services.reports import run_report_schedule
from programme.reviews.services import flag_late_reviews, remind_reviewers

SCHEDULER = SystemActor("scheduler")


def close_calls_at_deadline(app: Flask) -> str:
    closed = close_due_calls(actor=SCHEDULER, now=now())
    return f"closed {len(closed)} call(s)" + (f": {', '.join(c.reference for c in closed)}" if closed else "")


def remind_reviewers_of_deadline(app: Flask) -> str:
    return f"reminded {remind_reviewers(actor=SCHEDULER, now=now(), timezone=programme_zone())} review(s)"


def flag_reviews_late(app: Flask) -> str:
    return f"flagged {flag_late_reviews(actor=SCHEDULER, now=now())} late review(s)"


def loans_daily(app: Flask) -> str:
    return run_daily(as_of=programme_today(programme_zone()), actor=SCHEDULER, now=now()).summary()


def monitoring_daily(app: Flask) -> str:
    zone = programme_zone()
    return run_report_schedule(today=programme_today(zone), actor=SCHEDULER, now=now(), timezone=zone).summary()


def ledger_checks(app: Flask) -> str:
    run = run_checks(actor=SCHEDULER, now=now())
    found = len(run.ledger_faults) + len(run.loan_faults)
    return "the ledger checks found nothing wrong" if not found else f"the ledger checks found {found} problem(s)"


def prune_data_changes(app: Flask) -> str:
    return f"deleted {changes.prune(db.session)} old data change mark(s)"


def send_mail(app: Flask) -> str:
    """The outbox by mail: each message claimed and recorded in transactions of its own (core.mail)."""
    return send_outbox(db.session, mail_settings(app.config), now=now).summary()


@dataclass(frozen=True)
class ScheduledJob:
    name: str
    function: Callable[[Flask], str]
    trigger: Callable[[Flask], BaseTrigger]


JOBS: list[ScheduledJob] = [
    ScheduledJob(
        "close-calls-at-deadline", close_calls_at_deadline,
        lambda app: IntervalTrigger(seconds=app.config["SCHEDULER_CLOSE_CALLS_SECONDS"]),
    ),
    ScheduledJob("remind-reviewers", remind_reviewers_of_deadline, lambda app: IntervalTrigger(hours=1)),
    ScheduledJob("flag-late-reviews", flag_reviews_late, lambda app: IntervalTrigger(hours=1)),
    ScheduledJob("send-outbox", send_mail, lambda app: IntervalTrigger(minutes=1)),
    ScheduledJob(
        "loans-daily", loans_daily,
        lambda app: CronTrigger(hour=2, minute=0, timezone=app.config["PROGRAMME_TIMEZONE"]),
    ),
    ScheduledJob(
        "monitoring-daily", monitoring_daily,
        lambda app: CronTrigger(hour=2, minute=30, timezone=app.config["PROGRAMME_TIMEZONE"]),
    ),
    # After the loans' daily job, so the night's verdict covers the figures it cached.
    ScheduledJob(
        "ledger-checks", ledger_checks,
        lambda app: CronTrigger(hour=3, minute=0, timezone=app.config["PROGRAMME_TIMEZONE"]),
    ),
    ScheduledJob(
        "prune-data-changes", prune_data_changes,
        lambda app: CronTrigger(hour=3, minute=30, timezone=app.config["PROGRAMME_TIMEZONE"]),
    ),
]


def run_job(app: Flask, job: ScheduledJob, node: str | None = None) -> str:
    """Run one job in its own application context and transaction: commit on success, roll back on error.

    Run by a scheduler process (``node``, host:pid), the run is recorded (``core.schedule_log``): its row is written
    in the job's own transaction, so a daily job whose row for today is there already (another process did it, or
    does it at this moment: the unique key refuses the second) is skipped and its work rolled back."""
    if node is None:
        with app.app_context():
            try:
                outcome = job.function(app)
                db.session.commit()
            except Exception:
                db.session.rollback()
                app.logger.exception("job %s failed", job.name)
                raise
            finally:
                db.session.remove()
        return outcome
    return _run_recorded(app, job, node)


def _run_recorded(app: Flask, job: ScheduledJob, node: str) -> str:
    from sqlalchemy.exc import IntegrityError

    from programme.core import schedule_log
    from programme.core.scheduler import is_daily

    daily = is_daily(app, job)
    with app.app_context():
        day = programme_today(programme_zone())
        started = schedule_log.wall_clock()

        def row(outcome: str, message: str) -> schedule_log.JobRun:
            return schedule_log.run_row(job.name, node, day, daily=daily, started_at=started, outcome=outcome,
                                        message=message)

        try:
            done_by = schedule_log.done_by(db.session, job.name, day) if daily else None
            if done_by is not None:
                skipped = f"done for {day} already, by {done_by}"
                schedule_log.record(db.session, row(schedule_log.SKIPPED, skipped))
                return skipped
            outcome = job.function(app)
            wrote = changes.uncommitted(db.session)
            db.session.add(row(schedule_log.DONE, outcome))
            if not wrote:  # the job changed nothing a page shows: its row alone leaves no data-change mark
                changes.unmarked(db.session)
            db.session.commit()
            return outcome
        except IntegrityError:
            db.session.rollback()
            done_by = schedule_log.done_by(db.session, job.name, day) if daily else None
            if done_by is None:
                app.logger.exception("job %s failed", job.name)
                schedule_log.record(db.session, row(schedule_log.FAILED, "IntegrityError"))
                raise
            skipped = f"done for {day} already, by {done_by} (at the same moment)"
            schedule_log.record(db.session, row(schedule_log.SKIPPED, skipped))
            return skipped
        except Exception as exc:
            db.session.rollback()
            app.logger.exception("job %s failed", job.name)
            schedule_log.record(db.session, row(schedule_log.FAILED, f"{type(exc).__name__}: {exc}"))
            raise
        finally:
            db.session.remove()
