"""Who calls the API: the person a personal access token belongs to, with the token's scopes.

A request without a token is anonymous (it reads what the public reads); a token that is unknown, expired or
revoked is refused (401), never treated as anonymous. The session cookie of a browser is ignored here: the API is
called by programs, and a cookie would let another site's page call it in a logged-in person's name.
"""

from __future__ import annotations

from flask import g, request

from programme.accounts.models import PersonalAccessToken, TokenScope, User
from programme.accounts.services import access_tokens
from programme.core import changes
from programme.core.access import AccessDenied
from programme.core.texts import gettext as _
from programme.core.timezone import now
from programme.extensions import db


class Unauthenticated(Exception):
    """No usable token (HTTP 401)."""


def _bearer() -> str | None:
    header = request.headers.get("Authorization", "")
    kind, _space, secret = header.partition(" ")
    if not header:
        return None
    if kind.lower() != "bearer" or not secret.strip():
        raise Unauthenticated(_("Send the token as 'Authorization: Bearer <token>'."))
    return secret.strip()


def _resolve() -> None:
    """Who the request's token names, worked out once per request (throttling asks before the route's own
    checks): ``g.api_user`` and ``g.api_token``, or the refusal of a token that is not valid."""
    if g.get("api_resolved"):
        return
    g.api_resolved, g.api_user, g.api_token, g.api_refusal = True, None, None, None
    try:
        secret = _bearer()
        if secret is None:
            return
        found = access_tokens.token_user(secret, now=now())
        if found is None:
            raise Unauthenticated(_("The token is unknown, expired or revoked."))
        g.api_user, g.api_token = found
    except Unauthenticated as refused:
        g.api_refusal = refused


def authenticate() -> None:
    """Before each API request: the caller from its token, if it sent one (else anonymous); 401 for a token that
    is not valid (never treated as anonymous)."""
    _resolve()
    if g.api_refusal is not None:
        raise g.api_refusal


def caller() -> User | None:
    """The person calling, or None for an anonymous request."""
    return g.get("api_user")


def token() -> PersonalAccessToken | None:
    return g.get("api_token")


def acting(scope: TokenScope = TokenScope.READ) -> User:
    """The person calling, who must have sent a token with ``scope``: 401 without a token, 403 without the scope."""
    user, held = caller(), token()
    if user is None or held is None:
        raise Unauthenticated(_("This needs a personal access token: make one on your account page."))
    if scope not in held.scope_set:
        raise AccessDenied(_("the token has no '%(scope)s' scope", scope=scope.value))
    return user


def token_key() -> str:
    """What the API's throttling counts by: the token, else (no token, or one that is not valid) the client's
    address."""
    _resolve()
    held = token()
    return f"token:{held.id}" if held is not None else f"address:{request.remote_addr}"


def finish_read(response):  # type: ignore[no-untyped-def]
    """After a request that changed nothing but its token's "last used" time: commit that alone, with no mark of a
    change in the data (no page shows it but the owner's token list, which is never kept)."""
    if request.method in ("GET", "HEAD") and response.status_code < 400 and db.session.dirty:
        changes.unmarked(db.session)
        db.session.commit()
    return response
