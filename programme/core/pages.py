"""Pages kept per person and per version of the data (issue 15): a page a person opens again, while nothing changed,
is answered with what was rendered for them the first time instead of being worked out again.

``@kept_page`` on a GET view keys what it rendered by: the database, the person (their session id, which names their
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

import functools
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from flask import Flask, current_app, g, make_response, request, session
from flask.globals import request_ctx
from flask_login import current_user
from flask_wtf.csrf import generate_csrf
from werkzeug.wrappers import Response

from programme.core import changes
from programme.core.kept import Kept, database_key
from programme.core.timezone import now, programme_today
from programme.extensions import db

#: Where a kept page had its session's CSRF token (not a character a token can hold).
TOKEN_PLACEHOLDER = "\x00csrf\x00"
_pages: Kept[KeptPage] = Kept(256)


@dataclass(frozen=True)
class KeptPage:
    body: str
    mimetype: str
    has_token: bool


def _key() -> tuple[Any, ...] | None:
    seconds = int(current_app.config.get("PAGE_KEEP_SECONDS", 30))
    if seconds <= 0 or session.get("_flashes") or changes.uncommitted(db.session):
        return None
    person = current_user.get_id() if current_user.is_authenticated else None
    moment = now()
    return (database_key(), person, request.full_path, changes.version(),
            programme_today(current_app.config["PROGRAMME_TIMEZONE"]), int(moment.timestamp() // seconds))


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


def kept_page(view: Callable[..., Any]) -> Callable[..., Any]:
    """Keep what this GET view renders per person and data version (see the module)."""

    @functools.wraps(view)
    def keeping(*args: Any, **kwargs: Any) -> Any:
        if request.method != "GET":
            return view(*args, **kwargs)
        key = _key()
        if key is None:
            return view(*args, **kwargs)
        found = _pages.peek(key)
        if found is not None:
            return _answer(found)
        response = make_response(view(*args, **kwargs))
        kept = _keepable(response)
        if kept is not None:
            _pages.put(key, kept)
        return response

    return keeping


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


def keep_pages(app: Flask) -> None:
    """Wrap the views of ``KEPT_PAGES`` (after every blueprint is registered): the wrapper is outside the view's
    own login check, which is safe because a kept page is only ever given to the person it was rendered for, and
    what an anonymous visitor was answered 200 is public."""
    _pages.size = int(app.config["PAGE_KEEP_SIZE"])
    for endpoint in KEPT_PAGES:
        app.view_functions[endpoint] = kept_page(app.view_functions[endpoint])
