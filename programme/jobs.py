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
from programme.core.notifications import send_pending
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
    return f"reminded {remind_reviewers(actor=SCHEDULER, now=now())} review(s)"


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


def send_outbox(app: Flask) -> str:
    return f"sent {send_pending(db.session, app.config)} notification(s)"


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
    ScheduledJob("send-outbox", send_outbox, lambda app: IntervalTrigger(minutes=1)),
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


def run_job(app: Flask, job: ScheduledJob) -> str:
    """Run one job in its own application context and transaction: commit on success, roll back on error."""
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
