"""Configuration defaults. `instance/config.py` and environment variables override them.

Order (later wins): these defaults, the instance folder's config.py, environment
variables, then the mapping passed to create_app (tests).
"""

from __future__ import annotations

import os
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent


class Defaults:
    # "demo" writes a random secret into the instance folder; "production" refuses to start without one.
    PROGRAMME_MODE = "demo"
    SECRET_KEY: str | None = None
    SQLALCHEMY_DATABASE_URI: str | None = None  # default: SQLite file in the instance folder
    SQLALCHEMY_ENGINE_OPTIONS: dict = {}
    # Each worker process's pool of database connections (PostgreSQL; SQLite needs none): a sync gunicorn worker
    # serves one request at a time, so two connections and two more at a peak (a job run from a page) are plenty.
    # Every app server's workers x (size + overflow) together must stay under PostgreSQL's max_connections.
    DATABASE_POOL_SIZE = 2
    DATABASE_POOL_OVERFLOW = 2
    # Connections older than this are replaced (a proxy or a firewall may drop idle ones unseen).
    DATABASE_POOL_RECYCLE_SECONDS = 1800
    PROGRAMME_NAME = "Cluster Development Programme"
    PROGRAMME_TIMEZONE = "Africa/Johannesburg"
    # How pages write a day (strftime): day month year by default, "6 Dec 2026".
    DATE_FORMAT = "%-d %b %Y"
    # Pages kept per person and data version (core.pages): a page whose content depends on the clock alone (a call
    # just closed) is at most this many seconds late; 0 turns keeping off. Each worker keeps PAGE_KEEP_SIZE pages.
    PAGE_KEEP_SECONDS = 30
    PAGE_KEEP_SIZE = 256
    RULES_FOLDER = str(PROJECT_ROOT / "rules")
    # The programme's own targets (rulebook.programme): unset, programme.toml in RULES_FOLDER. A missing file means
    # no targets on the dashboard (not an error); an invalid one is shown there with its problems.
    PROGRAMME_RULES_FILE: str | None = None
    UPLOAD_FOLDER: str | None = None  # default: instance/uploads
    # An attachment may be up to MAX_ATTACHMENT_BYTES (the form says so); a request above MAX_CONTENT_LENGTH is
    # refused by Flask with 413 before it is read. Keep the second above the first.
    MAX_ATTACHMENT_BYTES = 10 * 1024 * 1024
    MAX_CONTENT_LENGTH = 20 * 1024 * 1024
    WTF_CSRF_ENABLED = True
    WTF_CSRF_TIME_LIMIT = None  # the token lives as long as the session
    SESSION_COOKIE_HTTPONLY = True
    SESSION_COOKIE_SECURE: bool | None = None  # default: True in production mode, False in demo mode
    SESSION_COOKIE_SAMESITE = "Lax"
    REMEMBER_COOKIE_HTTPONLY = True
    # Login throttling: per address and per account (Flask-Limiter syntax).
    # Production mode refuses "memory://" (counters per worker, lost on restart): use Redis, redis://host:6379/0.
    RATELIMIT_STORAGE_URI = "memory://"
    # How many reverse proxies stand before the app (their X-Forwarded-For/-Proto/-Host are trusted); 0 = none.
    PROXY_COUNT = 0
    RATELIMIT_HEADERS_ENABLED = True
    LOGIN_LIMIT_PER_ADDRESS = "20 per minute;200 per day"
    # Failed logins per account from devices that have not logged in to it before; a browser that has (it carries
    # a signed known-device cookie for the account) is not held by this limit, so an attacker cannot lock the owner
    # out. Only failures count.
    LOGIN_LIMIT_PER_ACCOUNT = "5 per minute;50 per day"
    KNOWN_DEVICE_DAYS = 365
    # Wrong current passwords on the account page, per account (only failures count).
    PASSWORD_CHECK_LIMIT = "5 per minute;20 per day"
    # Registration and reset requests: per client address and per e-mail address asked for.
    REGISTER_LIMIT_PER_ADDRESS = "10 per hour;50 per day"
    REGISTER_LIMIT_PER_EMAIL = "3 per hour;10 per day"
    RESET_LIMIT_PER_ADDRESS = "10 per hour;50 per day"
    RESET_LIMIT_PER_EMAIL = "3 per hour;10 per day"
    VERIFY_RESEND_LIMIT = "3 per hour;10 per day"
    # The JSON API: requests per token (or, without one, per client address).
    API_LIMIT_PER_TOKEN = "120 per minute;5000 per hour"
    # Links mailed to an account's address: valid this long, usable once.
    ENROLMENT_LINK_HOURS = 72
    VERIFY_LINK_HOURS = 48
    RESET_LINK_MINUTES = 60
    # A session unused for longer is logged out on its next request.
    SESSION_IDLE_MINUTES = 30
    RATELIMIT_ENABLED = True
    # Mail (core.mail): every notification goes to the outbox and is visible in the app; the scheduler's
    # send-outbox job mails it. MAIL_BACKEND "smtp" sends through MAIL_SERVER, "console" prints each message on the
    # standard output instead, "off" mails nothing; unset: "console" in demo mode, "smtp" in production mode.
    # MAIL_ENABLED = False turns mail off whatever the backend (unset: on).
    MAIL_BACKEND: str | None = None
    MAIL_ENABLED: bool | None = None
    MAIL_SERVER = "localhost"
    MAIL_PORT = 25
    MAIL_USE_TLS = False  # STARTTLS after connecting (port 587, typically); the server's certificate is verified
    MAIL_USERNAME: str | None = None
    MAIL_PASSWORD: str | None = None  # never logged, never shown
    MAIL_SENDER = "programme@localhost"
    MAIL_TIMEOUT_SECONDS = 30  # for each exchange with the server
    # Attempts per message before it is a dead letter (shown to the managers at /notifications/outbox); the waits
    # between attempts grow: 1, 5, 30, 120, then 360 minutes.
    MAIL_MAX_ATTEMPTS = 6
    # A message claimed by a sender that has not recorded the outcome after this long is "uncertain" (it may have
    # been delivered): it is shown to the managers, not resent by itself. Keep it well above MAIL_TIMEOUT_SECONDS.
    MAIL_LEASE_MINUTES = 15
    # The scheduler: how often the call-closing job looks for calls past their deadline.
    SCHEDULER_CLOSE_CALLS_SECONDS = 60
    # Each `programme scheduler` process beats its heartbeat this often (core.scheduler); one on standby tries to
    # take the lock this often, so it takes over within these seconds of the death of the one holding it.
    SCHEDULER_HEARTBEAT_SECONDS = 10
    SCHEDULER_STANDBY_SECONDS = 5
    # /healthz answers 503 when the scheduler holding the lock last beat longer ago than this (unset: three
    # heartbeats). HEALTH_CHECKS_SCHEDULER unset: the heartbeat is checked in production mode only.
    HEALTH_HEARTBEAT_MAX_AGE_SECONDS: float | None = None
    HEALTH_CHECKS_SCHEDULER: bool | None = None
    # Logs (core.logs): "json", one object per line with the request's id, or "text"; unset: json in production
    # mode, text in demo mode. No password, secret, cookie or token is ever logged.
    LOG_FORMAT: str | None = None
    LOG_LEVEL = "INFO"


#: Environment variables read at start, and the config key each one sets.
ENVIRONMENT = {
    "DATABASE_URL": "SQLALCHEMY_DATABASE_URI",
    "SECRET_KEY": "SECRET_KEY",
    "PROGRAMME_MODE": "PROGRAMME_MODE",
    "PROGRAMME_TIMEZONE": "PROGRAMME_TIMEZONE",
    "PROGRAMME_RULES_FOLDER": "RULES_FOLDER",
    "PROGRAMME_RULES_FILE": "PROGRAMME_RULES_FILE",
    "PROGRAMME_UPLOAD_FOLDER": "UPLOAD_FOLDER",
    "RATELIMIT_STORAGE_URI": "RATELIMIT_STORAGE_URI",
    "PROGRAMME_PROXY_COUNT": "PROXY_COUNT",
    "MAIL_SERVER": "MAIL_SERVER",
    "MAIL_BACKEND": "MAIL_BACKEND",
    "MAIL_ENABLED": "MAIL_ENABLED",
    "MAIL_PORT": "MAIL_PORT",
    "MAIL_USE_TLS": "MAIL_USE_TLS",
    "MAIL_USERNAME": "MAIL_USERNAME",
    "MAIL_PASSWORD": "MAIL_PASSWORD",
    "MAIL_TIMEOUT_SECONDS": "MAIL_TIMEOUT_SECONDS",
    "MAIL_MAX_ATTEMPTS": "MAIL_MAX_ATTEMPTS",
    "MAIL_LEASE_MINUTES": "MAIL_LEASE_MINUTES",
    "PROGRAMME_DB_POOL_SIZE": "DATABASE_POOL_SIZE",
    "PROGRAMME_DB_POOL_OVERFLOW": "DATABASE_POOL_OVERFLOW",
    "MAIL_SENDER": "MAIL_SENDER",
    "PROGRAMME_PAGE_KEEP_SECONDS": "PAGE_KEEP_SECONDS",
    "PROGRAMME_PAGE_KEEP_SIZE": "PAGE_KEEP_SIZE",
    "PROGRAMME_SCHEDULER_HEARTBEAT_SECONDS": "SCHEDULER_HEARTBEAT_SECONDS",
    "PROGRAMME_SCHEDULER_STANDBY_SECONDS": "SCHEDULER_STANDBY_SECONDS",
    "PROGRAMME_SCHEDULER_CLOSE_CALLS_SECONDS": "SCHEDULER_CLOSE_CALLS_SECONDS",
    "PROGRAMME_HEALTH_HEARTBEAT_MAX_AGE_SECONDS": "HEALTH_HEARTBEAT_MAX_AGE_SECONDS",
    "PROGRAMME_LOG_FORMAT": "LOG_FORMAT",
    "PROGRAMME_LOG_LEVEL": "LOG_LEVEL",
}


def instance_path() -> str:
    """The instance folder: PROGRAMME_INSTANCE_PATH, or `instance/` at the project's top."""
    return os.environ.get("PROGRAMME_INSTANCE_PATH") or str(PROJECT_ROOT / "instance")


def normalise_database_url(url: str) -> str:
    """Accept the common postgres:// spellings and use the psycopg 3 driver."""
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix):]
    return url
