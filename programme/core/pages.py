"""Pages kept per person and per version of the data (issue 15): a page a person opens again, while nothing changed,
is answered with what was rendered for them the first time instead of being worked out again.

The pages of ``KEPT_PAGES`` are kept (``keep_pages``) by: the database, the person (their session id, which names their
account and its session version, so a password change or a new role is a new key), the path with its query, the
data version (``core.changes``: it moves at every commit that changed anything, whoever made it), the programme's
day, and a short slice of the clock (``PAGE_KEEP_SECONDS``, 30 s by default), so what a page shows that depends on
the time alone (a call that has just closed, a deadline's countdown) is at most that late; every action is checked
again by its service when it is posted, whatever a page showed.

Only a full answer of 200 in HTML is kept, never one that showed a flashed message (it is said once) and never an
answer to a request that itself flashed. The CSRF token of the person's session is not kept: the page is stored with
a placeholder where it was and the current session's token is put back on the way out, so a second browser of the
same person posts with its own.

Each worker keeps the ``PAGE_KEEP_SIZE`` most recently used pages (256 by default). ``PAGE_KEEP_SECONDS = 0`` turns
keeping off.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from flask import Flask, current_app, g, request, session
from flask.globals import request_ctx
from flask_wtf.csrf import generate_csrf
from werkzeug.wrappers import Response

from programme.core import changes
from programme.core.i18n import SESSION_KEY
from programme.core.kept import Kept, database_key
from programme.core.timezone import now, programme_today
from programme.core.web import session_is_idle
from programme.extensions import db

#: Where a kept page had its session's CSRF token (not a character a token can hold).
TOKEN_PLACEHOLDER = "\x00csrf\x00"
#: Where a request that found no kept page notes the key its answer is kept under.
_MISSED = "programme_kept_page_key"
_pages: Kept[KeptPage] = Kept(256)


@dataclass(frozen=True)
class KeptPage:
    body: str
    mimetype: str
    has_token: bool


def _key(person: str | None) -> tuple[Any, ...] | None:
    seconds = int(current_app.config.get("PAGE_KEEP_SECONDS", 30))
    if seconds <= 0 or session.get("_flashes") or changes.uncommitted(db.session):
        return None
    moment = now()
    # The language a page is in comes from the account (a change of it is a commit, so a new version), else the
    # visitor's choice in the session, else the browser's preference: both are in the key.
    language = (session.get(SESSION_KEY), request.headers.get("Accept-Language", ""))
    return (database_key(), person, request.full_path, changes.version(),
            programme_today(current_app.config["PROGRAMME_TIMEZONE"]), int(moment.timestamp() // seconds), language)


def serve_kept() -> Response | None:
    """Before the request's own checks (after the throttling): a page kept for the person the (signed) session
    names, for this version of the data, is answered at once, without loading the person or running the view. That
    is safe: it was rendered for this person after every check passed, and anything that would change a check's
    outcome (a role, the account closed, the address proven, a logout everywhere) is a commit, which moves the
    version. An idle session is left to the usual checks, which log it out; an active one is marked seen, as the
    usual checks would. On a miss the key is noted for ``keep_answer``: it is read before the view reads anything,
    so what is stored under it is never older than its version."""
    if request.method != "GET" or request.endpoint not in _KEPT_ENDPOINTS:
        return None
    person = session.get("_user_id")
    moment = now()
    if person is not None and session_is_idle(moment):
        return None
    key = _key(person)
    if key is None:
        return None
    found = _pages.peek(key)
    if found is None:
        setattr(g, _MISSED, key)
        return None
    if person is not None:
        session["seen_at"] = moment.timestamp()
    return _answer(found)


def keep_answer(response: Response) -> Response:
    """After the view of a kept page that was not found: keep what it answered (see ``_keepable``)."""
    key = g.pop(_MISSED, None)
    if key is not None:
        kept = _keepable(response)
        if kept is not None:
            _pages.put(key, kept)
    return response


def _answer(kept: KeptPage) -> Response:
    body = kept.body.replace(TOKEN_PLACEHOLDER, generate_csrf()) if kept.has_token else kept.body
    return current_app.response_class(body, mimetype=kept.mimetype)


def _keepable(response: Response) -> KeptPage | None:
    if (response.status_code != 200 or response.mimetype != "text/html" or response.direct_passthrough
            or request_ctx.flashes or session.get("_flashes")):
        return None
    body = response.get_data(as_text=True)
    token = g.get(current_app.config.get("WTF_CSRF_FIELD_NAME", "csrf_token"))
    has_token = bool(token) and token in body
    return KeptPage(body.replace(token, TOKEN_PLACEHOLDER) if has_token else body, response.mimetype, has_token)


#: The pages kept, by endpoint: the work pages each role opens again and again. None of them writes on GET or sets
#: headers of its own (the public figures answer with their own ETag and are kept by ``dashboard.cache``).
KEPT_PAGES: tuple[str, ...] = (
    "home.index",
    "calls.public_list", "calls.public_detail",
    "figures.dashboard",
    "funding.initiatives", "funding.initiative",
    "loans.funds", "loans.fund", "loans.loan_book", "loans.loan",
    "ledger.index",
    "benchmarking.index", "benchmarking.kpi",
    "reports.all_reports",
    "proposals.overview", "proposals.submissions",
    "reviews.scores", "reviews.ranking", "reviews.my_calls", "reviews.reviewer_call", "reviews.review",
)


_KEPT_ENDPOINTS = frozenset(KEPT_PAGES)


def keep_pages(app: Flask) -> None:
    """Keep the pages of ``KEPT_PAGES``: called after the throttling and the request log are set up and before the
    blueprints add their checks, so that a kept page is counted and logged like any and answered before the rest."""
    _pages.size = int(app.config["PAGE_KEEP_SIZE"])
    app.before_request(serve_kept)
    app.after_request(keep_answer)
