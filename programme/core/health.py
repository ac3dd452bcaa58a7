"""What ``/healthz`` checks (issue 17): the database answers, and the scheduler holding the lock is alive."""

from __future__ import annotations

from datetime import timedelta

from flask import Flask
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError

from programme.core import schedule_log
from programme.extensions import db


def checks_scheduler(app: Flask) -> bool:
    """HEALTH_CHECKS_SCHEDULER, by default in production mode only (the demo's jobs run in the demo's process)."""
    chosen = app.config.get("HEALTH_CHECKS_SCHEDULER")
    return app.config["PROGRAMME_MODE"] == "production" if chosen is None else bool(chosen)


def heartbeat_max_age(app: Flask) -> timedelta:
    """How old the newest heartbeat of the lock's holder may be: HEALTH_HEARTBEAT_MAX_AGE_SECONDS, or three
    heartbeats."""
    chosen = app.config.get("HEALTH_HEARTBEAT_MAX_AGE_SECONDS")
    return timedelta(seconds=float(chosen or 3 * float(app.config["SCHEDULER_HEARTBEAT_SECONDS"])))


def check(app: Flask) -> list[str]:
    """The checks that failed, in words for a programme manager (empty: healthy). Reads only, commits nothing."""
    try:
        db.session.execute(text("SELECT 1")).scalar()
    except SQLAlchemyError:
        db.session.rollback()
        return ["the database does not answer"]
    if not checks_scheduler(app):
        return []
    try:
        last = schedule_log.last_leader_beat(db.session)
    except SQLAlchemyError:
        db.session.rollback()
        return ["the scheduler's heartbeats cannot be read"]
    if last is None:
        return ["no scheduler holds the lock: start `programme scheduler`"]
    age = schedule_log.wall_clock() - last
    if age > heartbeat_max_age(app):
        return [f"the scheduler holding the lock last beat {int(age.total_seconds())} s ago"]
    return []
