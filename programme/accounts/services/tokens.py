"""The links mailed to an account's address (enrolment, verification, reset): random, stored as their SHA-256 only,
expiring, used once; a fresh link for the same purpose ends the older ones."""

from __future__ import annotations

import hashlib
import secrets
from datetime import timedelta

from sqlalchemy import select, update

from programme.accounts.models import AccountToken, TokenPurpose, User
from programme.core.access import RuleViolation
from programme.core.texts import lazy_gettext as _l
from programme.core.timezone import now
from programme.extensions import db

#: The placeholder a view puts in the link it passes (url_for(..., token=TOKEN_PLACEHOLDER, _external=True)).
TOKEN_PLACEHOLDER = "__token__"

INVALID_LINK = _l("This link is not valid: it was used already, replaced by a newer one, or it has expired. "
                  "Ask for a new one.")


def token_hash(raw: str) -> str:
    return hashlib.sha256(raw.encode()).hexdigest()


def revoke_tokens(user: User, purpose: TokenPurpose) -> None:
    """End every unused link of this purpose for this account."""
    db.session.execute(
        update(AccountToken)
        .where(AccountToken.user_id == user.id, AccountToken.purpose == purpose, AccountToken.used_at.is_(None),
               AccountToken.revoked_at.is_(None))
        .values(revoked_at=now())
        .execution_options(synchronize_session=False)
    )


def issue_token(user: User, purpose: TokenPurpose, *, valid_for: timedelta, link: str) -> str:
    """A new link for ``user`` (the older ones of this purpose end): the link with its raw token, which goes in the
    mail to the account's address and nowhere else."""
    if valid_for <= timedelta(0):
        raise ValueError("a link must be valid for some time")
    if TOKEN_PLACEHOLDER not in link:
        raise ValueError(f"the link must hold {TOKEN_PLACEHOLDER}")
    revoke_tokens(user, purpose)
    raw = secrets.token_urlsafe(32)
    moment = now()
    db.session.add(AccountToken(user_id=user.id, purpose=purpose, token_hash=token_hash(raw), created_at=moment,
                                expires_at=moment + valid_for))
    db.session.flush()
    return link.replace(TOKEN_PLACEHOLDER, raw)


def find_token(raw: str, purpose: TokenPurpose) -> AccountToken:
    """The unused, unexpired link of this purpose with this raw token; RuleViolation for any other."""
    token = db.session.scalar(
        select(AccountToken).where(AccountToken.token_hash == token_hash(raw or ""), AccountToken.purpose == purpose)
    )
    if (token is None or token.used_at is not None or token.revoked_at is not None or token.expires_at <= now()
            or not token.user.active):
        raise RuleViolation(str(INVALID_LINK))
    return token


def use_token(token: AccountToken) -> None:
    """The link is used: it never works again (nor does any other of its purpose for the account)."""
    token.used_at = now()
    db.session.flush()
    revoke_tokens(token.user, token.purpose)
