"""What the accounts views share: the blueprint, the known-device cookie, the session checks on every request."""

from __future__ import annotations

import hashlib
from datetime import timedelta

from flask import Blueprint, Response, current_app, flash, g, redirect, request, session, url_for
from flask_login import current_user, logout_user
from itsdangerous import BadSignature, URLSafeSerializer

from programme.accounts import services
from programme.core.texts import gettext as _
from programme.core.timezone import now
from programme.core.web import session_is_idle

bp = Blueprint("accounts", __name__)

# Known devices -----------------------------------------------------------------------------------------------------
#
# At each successful login the browser gets a long-lived signed cookie naming (by a digest of the address) the
# accounts that logged in from it. The per-account limit on failed logins does not apply to a device that carries
# this cookie for the account it tries: an attacker who guesses passwords from elsewhere exhausts the account's
# limit for unknown devices only, and the owner's own browser still logs in at once. (The per-address limit applies
# to every device.)

DEVICE_COOKIE = "known_device"
_DEVICE_ACCOUNTS = 10  # accounts remembered per browser


def _device_serializer() -> URLSafeSerializer:
    return URLSafeSerializer(current_app.secret_key, salt="known-device")


def _account_digest(email: str) -> str:
    return hashlib.sha256(services.normalise_email(email).encode()).hexdigest()[:32]


def _known_accounts() -> list[str]:
    raw = request.cookies.get(DEVICE_COOKIE)
    if not raw:
        return []
    try:
        accounts = _device_serializer().loads(raw)
    except BadSignature:
        return []
    return [a for a in accounts if isinstance(a, str)] if isinstance(accounts, list) else []


def known_device_for(email: str) -> bool:
    """This browser has logged in to the account with this address before (its signed cookie says so)."""
    return bool(email.strip()) and _account_digest(email) in _known_accounts()


def remember_device(response: Response, email: str) -> Response:
    digest = _account_digest(email)
    accounts = [digest, *(a for a in _known_accounts() if a != digest)][:_DEVICE_ACCOUNTS]
    days = current_app.config["KNOWN_DEVICE_DAYS"]
    response.set_cookie(
        DEVICE_COOKIE, _device_serializer().dumps(accounts), max_age=int(timedelta(days=days).total_seconds()),
        httponly=True, secure=bool(current_app.config.get("SESSION_COOKIE_SECURE")), samesite="Lax",
    )
    return response


def start_session(user: object) -> None:
    """After the password was checked: a fresh CSRF secret (a token from before the login is refused after it), the
    activity clock started."""
    from flask_login import login_user

    session.pop("csrf_token", None)
    g.pop("csrf_token", None)
    login_user(user)
    session["seen_at"] = now().timestamp()


# Session checks on every request -----------------------------------------------------------------------------------

#: The pages a person whose address is not proven yet may open (the rest send them to "confirm your address").
UNVERIFIED_ALLOWED = frozenset({
    "accounts.confirm_address", "accounts.resend_verification", "accounts.verify_email", "accounts.logout",
    "accounts.login", "accounts.register", "accounts.enrol", "accounts.reset_request", "accounts.reset_password",
    "accounts.account", "static",
})


@bp.before_app_request
def check_session() -> Response | None:
    """Idle timeout (SESSION_IDLE_MINUTES): a session unused for longer is logged out on its next request. An
    account whose address is not proven sees only the "confirm your address" page (and the few above)."""
    if request.endpoint in (None, "static") or request.blueprint == "api" or not current_user.is_authenticated:
        return None  # the API ignores the session cookie: its caller is named by a token
    moment = now()
    if session_is_idle(moment):
        idle = current_app.config["SESSION_IDLE_MINUTES"]
        logout_user()
        session.pop("seen_at", None)
        session.pop("csrf_token", None)
        g.pop("csrf_token", None)
        flash(_("You were logged out after %(minutes)s minutes without activity.", minutes=idle), "info")
        return None
    session["seen_at"] = moment.timestamp()
    if not current_user.email_verified and request.endpoint not in UNVERIFIED_ALLOWED:
        return redirect(url_for("accounts.confirm_address"))
    return None


def link_to(endpoint: str) -> str:
    """The external link to a token page, with the placeholder the services put the token in."""
    return url_for(endpoint, token=services.TOKEN_PLACEHOLDER, _external=True)
