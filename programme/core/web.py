"""What every blueprint shares: the one commit per request, error pages, template filters."""

from __future__ import annotations

import json
import tempfile
from collections.abc import Callable
from datetime import date, datetime
from decimal import Decimal
from typing import IO, Any
from urllib.parse import urlsplit

from flask import Flask, Response, current_app, flash, render_template, request, send_file, session
from flask_login import current_user
from flask_wtf import FlaskForm
from flask_wtf.csrf import CSRFError
from sqlalchemy.exc import IntegrityError, OperationalError
from werkzeug.exceptions import HTTPException

from programme.core.access import AccessDenied, NotFound, RuleViolation
from programme.core.money import format_money, symbols_in_use
from programme.core.security import bounded_int
from programme.core.texts import gettext as _
from programme.core.timezone import format_day, format_local
from programme.core.timezone import now as now  # the views' clock, re-exported: one clock, set once in tests
from programme.extensions import db
from programme.rulebook import ORGANISATION_TYPES

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def send_workbook(write: Callable[[IO[bytes]], object], download_name: str) -> Response:
    """An Excel workbook written by ``write(handle)`` to a temporary file (never to memory: the writers stream
    row by row however long the list), sent, and closed when the response ends."""
    handle = tempfile.TemporaryFile()  # noqa: SIM115 (send_file closes it when the response ends)
    try:
        write(handle)
        handle.seek(0)
    except BaseException:
        handle.close()
        raise
    return send_file(handle, as_attachment=True, download_name=download_name, mimetype=XLSX)


def commit() -> None:
    """The request's single commit. Anything not committed is rolled back when the request ends."""
    db.session.commit()


def programme_zone() -> str:
    """The programme's time zone, from the configuration (PROGRAMME_TIMEZONE): the one place views, the CLI and
    the jobs read it, to pass to services explicitly (services have no default zone)."""
    return current_app.config["PROGRAMME_TIMEZONE"]


def session_is_idle(moment: datetime) -> bool:
    """Whether this session was unused for longer than SESSION_IDLE_MINUTES (its next request logs it out)."""
    seen = session.get("seen_at")
    return isinstance(seen, int | float) and moment.timestamp() - seen > current_app.config["SESSION_IDLE_MINUTES"] * 60


def page_arg(name: str = "page") -> int:
    """The page number a list was asked for: 1 when absent, not a number or out of range."""
    return min(max(1, request.args.get(name, 1, type=bounded_int) or 1), 1_000_000)


def actor() -> Any:
    """The logged-in user, to pass to services explicitly."""
    return current_user._get_current_object()


def form_error(form: FlaskForm, exc: RuleViolation) -> None:
    """Show a service's refusal beside the field it names, or at the top of the form."""
    field = getattr(form, exc.field, None) if exc.field else None
    if field is not None:
        field.errors = [*field.errors, exc.message] if isinstance(field.errors, list) else [exc.message]
    else:
        flash(exc.message, "error")


class Attempt:
    """A view's call of a service, as ``with attempt(form) as done: ...``: on leaving the block it commits once; a
    ``RuleViolation`` raised in it (or one of the ``also`` exceptions) is rolled back and kept in ``refused``, its
    message put beside the form field it names, else flashed (or, with ``flash_unplaced=False``, kept in
    ``message`` for the page to show where it chooses). Any other exception passes through, uncommitted."""

    def __init__(self, form: Any = None, *, flash_unplaced: bool = True,
                 also: tuple[type[Exception], ...] = ()) -> None:
        self.form = form
        self.flash_unplaced = flash_unplaced
        self.also = also
        self.refused: Exception | None = None
        self.message = ""

    @property
    def ok(self) -> bool:
        """The service did its work and it was committed."""
        return self.refused is None

    def __enter__(self) -> Attempt:
        return self

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None, traceback: Any) -> bool:
        if exc is None:
            db.session.commit()
            return False
        if isinstance(exc, RuleViolation):
            db.session.rollback()
            self.refused = exc
            field = getattr(self.form, exc.field, None) if exc.field else None
            if field is not None or self.flash_unplaced:
                form_error(self.form, exc)
            else:
                self.message = exc.message
            return True
        if self.also and isinstance(exc, self.also):
            db.session.rollback()
            self.refused = exc
            self.message = str(exc)
            return True
        return False


def attempt(form: Any = None, *, flash_unplaced: bool = True, also: tuple[type[Exception], ...] = ()) -> Attempt:
    """See ``Attempt``: one service call in a view, committed once, or refused beside its field."""
    return Attempt(form, flash_unplaced=flash_unplaced, also=also)


def safe_next(target: str | None) -> str | None:
    """A redirect target on this site only."""
    if not target:
        return None
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not target.startswith("/") or target.startswith("//"):
        return None
    return target


#: Paths answered with application/problem+json instead of an error page: the JSON API's.
API_PATHS = "/api/"


def problem_body(status: int, title: str, detail: str, errors: list[dict[str, str]] | None = None) -> dict[str, Any]:
    """An error as RFC 9457 writes one, with the fields it is about (``errors``: field and message)."""
    return {"type": "about:blank", "title": title, "status": status, "detail": detail, "errors": errors or []}


def problem(status: int, title: str, detail: str, errors: list[dict[str, str]] | None = None,
            headers: dict[str, str] | None = None) -> Response:
    response = current_app.response_class(json.dumps(problem_body(status, title, detail, errors)), status=status,
                                          mimetype="application/problem+json")
    response.headers.update(headers or {})
    return response


def _error_page(status: int, title: str, message: str):
    db.session.rollback()
    if request.path.startswith(API_PATHS):
        return problem(status, title, message)
    return render_template("error.html", status=status, title=title, message=message), status


def _megabytes(size: int | None) -> str:
    if not size:
        return _("the configured size")
    return f"{Decimal(size) / (1024 * 1024):.1f}".removesuffix(".0").replace(".", symbols_in_use()[0]) + " MB"


def _http_error_words(code: int) -> tuple[str, str] | None:
    """Our own title and sentence for the HTTP errors a person may meet (Werkzeug's are English only), in the
    language being answered; None for another code (Werkzeug's words are kept)."""
    if code == 400:
        return _("Bad request"), _("The request could not be understood. Go back, reload the page and try again.")
    if code == 401:
        return _("Not authenticated"), _("Log in first, then try again.")
    if code == 403:
        return _("Not allowed"), _("You may not do this.")
    if code == 404:
        return _("Not found"), _("There is nothing here, or it is not yours to see.")
    if code == 405:
        return _("Not possible"), _("This address cannot be used that way. Go back and use the page's own links and "
                                    "buttons.")
    if code == 409:
        return _("Not possible"), _("This conflicts with what was recorded meanwhile. Reload the page and try again.")
    if code == 413:
        limit = current_app.config.get("MAX_ATTACHMENT_BYTES") or current_app.config.get("MAX_CONTENT_LENGTH")
        return _("File too large"), _("The file is too large: the limit is %(limit)s per file. Nothing was uploaded. "
                                      "Go back and choose a smaller file.", limit=_megabytes(limit))
    if code == 429:
        return _("Too many attempts"), _("Too many attempts in a short time. Wait a minute and try again.")
    if code == 500:
        return _("Something went wrong"), _("The error was logged. Nothing was saved by this request.")
    return None


#: What the databases answer when two transactions meet: SQLite's lock, PostgreSQL's serialisation and deadlock.
_CONTENTION = ("database is locked", "database table is locked", "could not serialize access", "deadlock detected",
               "lock timeout", "canceling statement due to lock timeout")


def _is_contention(exc: OperationalError) -> bool:
    text = str(exc.orig).lower()
    return any(marker in text for marker in _CONTENTION)


def _decimal_text(value: Decimal) -> str:
    return f"{value:f}".replace(".", symbols_in_use()[0])


def register_web(app: Flask) -> None:
    @app.errorhandler(AccessDenied)
    def access_denied(exc: AccessDenied):
        return _error_page(403, _("Not allowed"), _("You may not do this: %(reason)s.", reason=str(exc)) if str(exc)
                           else _("You may not do this."))

    @app.errorhandler(NotFound)
    def not_found(exc: NotFound):
        return _error_page(404, _("Not found"), _("There is nothing here, or it is not yours to see."))

    @app.errorhandler(RuleViolation)
    def rule_violation(exc: RuleViolation):
        return _error_page(409, _("Not possible"), exc.message)

    @app.errorhandler(CSRFError)
    def csrf_error(exc: CSRFError):
        message = _("The form was stale or incomplete. Go back, reload the page and try again.")
        return _error_page(400, _("Form expired"), message)

    @app.errorhandler(HTTPException)
    def http_error(exc: HTTPException):
        words = _http_error_words(exc.code or 500)
        if words is None:
            return _error_page(exc.code or 500, exc.name, exc.description or "")
        return _error_page(exc.code or 500, *words)

    @app.errorhandler(IntegrityError)
    def integrity_error(exc: IntegrityError):
        # A unique key or a check the database enforces, met by two identical posts at once (a double click, two
        # people): the first did the work; this one saved nothing.
        current_app.logger.info("refused by the database on %s %s: %s", request.method, request.path, exc.orig)
        return _error_page(409, _("Already done"), _("This was already done, or done at the same moment by someone "
                                                     "else. Nothing was saved by this request: reload the page to see "
                                                     "what was recorded."))

    @app.errorhandler(OperationalError)
    def operational_error(exc: OperationalError):
        if not _is_contention(exc):
            return unexpected(exc)
        current_app.logger.info("write contention on %s %s: %s", request.method, request.path, exc.orig)
        return _error_page(409, _("Busy"), _("Someone else was changing this at the same moment. Nothing was saved "
                                             "by this request: reload the page to see what was recorded, then try "
                                             "again if needed."))

    @app.errorhandler(Exception)
    def unexpected(exc: Exception):
        current_app.logger.exception("unexpected error on %s %s", request.method, request.path)
        return _error_page(500, *_http_error_words(500))  # type: ignore[misc]

    zone = app.config["PROGRAMME_TIMEZONE"]

    @app.template_filter("localtime")
    def localtime(value: datetime | None, with_zone: bool = True) -> str:
        return format_local(value, zone, with_zone)

    @app.template_filter("day")
    def day(value: date | None) -> str:
        """A date as every page writes it: day month year (``DATE_FORMAT``, "6 Dec 2026" by default)."""
        return format_day(value, app.config["DATE_FORMAT"])

    @app.template_filter("money")
    def money(value: Decimal | None, currency: str = "") -> str:
        return format_money(value, currency)

    @app.template_filter("percent")
    def percent(value: Decimal | None) -> str:
        return "–" if value is None else f"{_decimal_text((Decimal(value) * 100).normalize())} %"

    @app.template_filter("plain")
    def plain(value: Decimal | None) -> str:
        """A decimal as a script reads it, in every language: a point before the decimals, no grouping, no trailing
        zeros (``data-*`` attributes; what people read goes through ``number``)."""
        if value is None:
            return ""
        text = format(Decimal(value).normalize(), "f")
        return "0" if text in ("-0", "") else text

    @app.template_filter("number")
    def number(value: Decimal | None) -> str:
        """A decimal as it is (no grouping), with the decimal mark of the language being answered."""
        return "–" if value is None else _decimal_text(Decimal(value).normalize())

    @app.context_processor
    def programme_globals() -> dict[str, Any]:
        return {
            "programme_name": app.config["PROGRAMME_NAME"],
            "programme_timezone": zone,
            "allowed_type_labels": lambda rules: [
                str(ORGANISATION_TYPES[t]) for t in rules.eligibility.allowed_organisation_types
            ],
        }
