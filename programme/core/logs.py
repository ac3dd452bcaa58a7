"""The application's logs (issue 17): in production mode one JSON object per line, each request's lines carrying
its id; in demo mode Flask's readable lines.

Each request gets an id: the X-Request-ID header when it comes from a trusted reverse proxy (``PROXY_COUNT`` > 0)
and looks like an id, else a new one; the answer carries it back in the same header, so a person reporting a fault
and the proxy's own log lead to the app's lines. Each request served leaves one line (method, path, status,
duration, the user's id; never an e-mail address, a form's content, a cookie, a header or a query string), and
every line logged while it is served carries the request's id, method, path and user id.

A path holding a token (``/reset/<token>``, an invitation, an enrolment link) is logged as its route's pattern:
the token is a key to an account.
"""

from __future__ import annotations

import json
import logging
import re
import sys
import time
import uuid
from datetime import UTC, datetime
from typing import Any

from flask import Flask, Response, current_app, g, has_request_context, request

REQUEST_ID_HEADER = "X-Request-ID"
#: What a proxy's request id may look like to be kept (anything else is replaced by a new id).
_PLAUSIBLE_ID = re.compile(r"^[A-Za-z0-9._:@/+=-]{1,128}$")
#: The fields a line carries besides time, level, logger and message (when known).
FIELDS = ("request_id", "method", "path", "status", "duration_ms", "user_id")
_OURS = "_programme_log_handler"
_STARTED = "_programme_request_started"
TEXT_FORMAT = "[%(asctime)s] %(levelname)s %(name)s: %(message)s"


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time (UTC), level, logger, message, the request's fields, the exception."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        for field in FIELDS:
            value = getattr(record, field, None)
            if value is not None:
                entry[field] = value
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        if record.stack_info:
            entry["stack"] = self.formatStack(record.stack_info)
        return json.dumps(entry, ensure_ascii=False, default=str)


class RequestFields(logging.Filter):
    """Adds the request's id, method, path and user id to each line logged while a request is served."""

    def filter(self, record: logging.LogRecord) -> bool:
        if has_request_context():
            for field, value in (("request_id", request_id()), ("method", request.method),
                                 ("path", logged_path()), ("user_id", _user_id())):
                if getattr(record, field, None) is None:
                    setattr(record, field, value)
        return True


def request_id() -> str:
    """This request's id (made on first use)."""
    current = g.get("request_id")
    if current is None:
        current = g.request_id = _incoming_id() or uuid.uuid4().hex
    return current


def _incoming_id() -> str | None:
    if int(current_app.config.get("PROXY_COUNT") or 0) <= 0:
        return None  # no trusted proxy: anyone could set the header
    given = request.headers.get(REQUEST_ID_HEADER, "")
    return given if _PLAUSIBLE_ID.fullmatch(given) else None


def logged_path() -> str:
    """The request's path, or its route's pattern when the path holds a token (no query string, ever)."""
    rule = request.url_rule
    if rule is not None and any("token" in name for name in (request.view_args or {})):
        return rule.rule
    return request.path


def _user_id() -> int | None:
    """The logged-in user's id if the request has loaded its user already (never loads it for a log line)."""
    user = g.get("_login_user")
    return getattr(user, "id", None) if getattr(user, "is_authenticated", False) else None


def log_format(app: Flask) -> str | None:
    """"json", "text", or None (Flask's own handler, as it comes)."""
    chosen = app.config.get("LOG_FORMAT") or ("json" if app.config["PROGRAMME_MODE"] == "production" else None)
    if chosen not in (None, "json", "text"):
        raise ValueError(f"LOG_FORMAT must be json or text (got {chosen!r})")
    return chosen


def handler() -> logging.Handler | None:
    """The handler these logs write through (None in demo mode): tests point it at a buffer."""
    return next((h for h in logging.getLogger().handlers if getattr(h, _OURS, False)), None)


def _install(form: str, level: str) -> None:
    from flask.logging import default_handler

    root = logging.getLogger()
    for old in [h for h in root.handlers if getattr(h, _OURS, False)]:
        root.removeHandler(old)
    new = logging.StreamHandler(sys.stderr)
    setattr(new, _OURS, True)
    new.setFormatter(JsonFormatter() if form == "json" else logging.Formatter(TEXT_FORMAT))
    new.addFilter(RequestFields())
    root.addHandler(new)
    root.setLevel(level.upper())
    logging.getLogger("programme").removeHandler(default_handler)  # the app's lines reach the root's handler
    # APScheduler writes three INFO lines per run of every job ("Running job", "executed successfully", ...); the
    # scheduler's own line (programme.scheduler) and its job_runs row say the same once. Its warnings still show.
    logging.getLogger("apscheduler").setLevel(logging.WARNING if root.level >= logging.INFO else logging.NOTSET)


def set_up_logs(app: Flask) -> None:
    """From the application factory: the request id on every request, and in production mode the JSON lines."""
    form = log_format(app)
    if form:
        _install(form, str(app.config.get("LOG_LEVEL") or "INFO"))
    access = logging.getLogger("programme.requests")

    @app.before_request
    def _start() -> None:
        setattr(g, _STARTED, time.perf_counter())
        request_id()

    @app.after_request
    def _finish(response: Response) -> Response:
        response.headers[REQUEST_ID_HEADER] = request_id()
        if form:
            started = g.get(_STARTED)
            duration = round((time.perf_counter() - started) * 1000, 1) if started is not None else None
            access.info("%s %s %s", request.method, logged_path(), response.status_code,
                        extra={"status": response.status_code, "duration_ms": duration})
        return response
