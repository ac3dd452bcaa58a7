"""What the accounts service modules share (never imported from another area)."""

from __future__ import annotations

from sqlalchemy import select

from programme.accounts.models import User
from programme.core.access import SystemActor
from programme.extensions import db

#: Who acts when nobody is logged in (registration, a reset request): named so in the audit log.
ANONYMOUS = SystemActor("anonymous request")


def normalise_email(email: str) -> str:
    return email.strip().lower()


def find_user_by_email(email: str) -> User | None:
    return db.session.scalar(select(User).where(User.email == normalise_email(email)))


def user_inputs(email: str, name: str) -> list[str]:
    """What the strength estimator should know of a person: a password built on it is guessable."""
    return [email, name]
