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
    # Links mailed to an account's address: valid this long, usable once.
    ENROLMENT_LINK_HOURS = 72
    VERIFY_LINK_HOURS = 48
    RESET_LINK_MINUTES = 60
    # A session unused for longer is logged out on its next request.
    SESSION_IDLE_MINUTES = 30
    RATELIMIT_ENABLED = True
    # Mail: every notification goes to the outbox and is visible in the app; SMTP sending is off by default.
    MAIL_ENABLED = False
    MAIL_SERVER = "localhost"
    MAIL_PORT = 25
    MAIL_USE_TLS = False
    MAIL_USERNAME: str | None = None
    MAIL_PASSWORD: str | None = None
    MAIL_SENDER = "programme@localhost"
    # The scheduler: how often the call-closing job looks for calls past their deadline.
    SCHEDULER_CLOSE_CALLS_SECONDS = 60


#: Environment variables read at start, and the config key each one sets.
ENVIRONMENT = {
    "DATABASE_URL": "SQLALCHEMY_DATABASE_URI",
    "SECRET_KEY": "SECRET_KEY",
    "PROGRAMME_MODE": "PROGRAMME_MODE",
    "PROGRAMME_TIMEZONE": "PROGRAMME_TIMEZONE",
    "PROGRAMME_RULES_FOLDER": "RULES_FOLDER",
    "PROGRAMME_UPLOAD_FOLDER": "UPLOAD_FOLDER",
    "RATELIMIT_STORAGE_URI": "RATELIMIT_STORAGE_URI",
    "PROGRAMME_PROXY_COUNT": "PROXY_COUNT",
    "MAIL_SERVER": "MAIL_SERVER",
    "PROGRAMME_DB_POOL_SIZE": "DATABASE_POOL_SIZE",
    "PROGRAMME_DB_POOL_OVERFLOW": "DATABASE_POOL_OVERFLOW",
    "MAIL_SENDER": "MAIL_SENDER",
    "PROGRAMME_PAGE_KEEP_SECONDS": "PAGE_KEEP_SECONDS",
    "PROGRAMME_PAGE_KEEP_SIZE": "PAGE_KEEP_SIZE",
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
