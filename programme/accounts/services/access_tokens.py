"""Personal access tokens: a person makes one for a program that uses the API in their name, sees it once, and
revokes it when the program no longer needs it. Only the SHA-256 of a token is stored."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import select

from programme.accounts.models import PersonalAccessToken, TokenScope, User
from programme.accounts.services.tokens import token_hash
from programme.core import audit
from programme.core.access import AccessDenied, NotFound, RuleViolation
from programme.core.texts import gettext as _
from programme.extensions import db

#: What every token begins with, so that a secret scanner (and a person) recognises one in a leaked file.
TOKEN_PREFIX = "cfp_"
#: The longest a token may live: a year, after which its owner makes a new one.
LONGEST_LIFE = timedelta(days=366)
#: Tokens a person may hold at once (revoked and expired ones do not count).
MAX_TOKENS = 20
#: How stale the "last used" time may be: written at most once a minute per token, so that a busy integration does
#: not turn every read into a write.
LAST_USED_RESOLUTION = timedelta(minutes=1)


@dataclass(frozen=True)
class MadeToken:
    """A token just made: the row, and the secret, which is shown once and stored nowhere."""

    token: PersonalAccessToken
    secret: str


def tokens_of(user: User) -> list[PersonalAccessToken]:
    return list(db.session.scalars(
        select(PersonalAccessToken).where(PersonalAccessToken.user_id == user.id)
        .order_by(PersonalAccessToken.created_at.desc(), PersonalAccessToken.id.desc())))


def make_token(*, name: str, scopes: set[TokenScope], expires_on: date, actor: User, now: datetime,
               timezone: str) -> MadeToken:
    """A new token for ``actor`` (a person makes their own tokens only), valid to the end of ``expires_on`` in the
    programme's time zone, at most a year from now."""
    if not getattr(actor, "is_authenticated", False) or getattr(actor, "id", None) is None:
        raise AccessDenied(_("log in first"))
    name = name.strip()
    if not name:
        raise RuleViolation(_("Name the token after the program that will use it."), field="name")
    if TokenScope.READ not in scopes:
        raise RuleViolation(_("A token reads at least: tick 'read'."), field="scopes")
    expires_at = datetime.combine(expires_on + timedelta(days=1), time(0), tzinfo=ZoneInfo(timezone))
    if expires_at <= now:
        raise RuleViolation(_("The expiry must be today or later."), field="expires_on")
    if expires_at - now > LONGEST_LIFE:
        raise RuleViolation(_("A token lives at most a year: choose an earlier expiry."), field="expires_on")
    live = [t for t in tokens_of(actor) if t.is_usable(now)]
    if len(live) >= MAX_TOKENS:
        raise RuleViolation(_("You hold %(number)s live tokens already: revoke one you no longer use first.",
                              number=MAX_TOKENS), field="name")
    secret = TOKEN_PREFIX + secrets.token_urlsafe(32)
    token = PersonalAccessToken(
        user_id=actor.id, name=name, prefix=secret[:len(TOKEN_PREFIX) + 6], token_hash=token_hash(secret),
        scopes=" ".join(s.value for s in TokenScope if s in scopes), created_at=now, expires_at=expires_at)
    db.session.add(token)
    db.session.flush()
    audit.record(db.session, actor, "access_token.made", token, name=name, scopes=token.scopes,
                 expires_at=expires_at.isoformat())
    return MadeToken(token, secret)


def revoke_token(token_id: int, *, actor: User, now: datetime) -> PersonalAccessToken:
    """End a token at once (its owner only; another person's token, or none, is not found)."""
    token = db.session.get(PersonalAccessToken, token_id)
    if token is None or not token.can_revoke(actor):
        raise NotFound(_("no such token"))
    if token.revoked_at is None:
        token.revoked_at = now
        audit.record(db.session, actor, "access_token.revoked", token, name=token.name)
    return token


def token_user(secret: str, *, now: datetime) -> tuple[User, PersonalAccessToken] | None:
    """Who a secret presented to the API acts as, and its token; None for an unknown, expired or revoked token, or
    an account that may not log in any more (closed, or never enrolled)."""
    if not secret.startswith(TOKEN_PREFIX) or len(secret) > 200:
        return None
    token = db.session.scalar(select(PersonalAccessToken).where(PersonalAccessToken.token_hash == token_hash(secret)))
    if token is None or not token.is_usable(now):
        return None
    user = token.user
    if not user.is_active or not user.enrolled or not user.email_verified:
        return None
    if token.last_used_at is None or now - token.last_used_at >= LAST_USED_RESOLUTION:
        token.last_used_at = now
    return user, token
