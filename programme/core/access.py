"""Who is acting, and the errors a service raises when an actor may not do a thing.

Services take the actor explicitly. A web request passes the logged-in user; the
command line and the scheduler pass a SystemActor, which is named in the audit log.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from typing import Protocol


class Role(enum.StrEnum):
    APPLICANT = "applicant"
    REVIEWER = "reviewer"
    PROGRAMME_MANAGER = "programme_manager"
    FUND_ADMINISTRATOR = "fund_administrator"

    @property
    def label(self) -> str:
        return self.value.replace("_", " ").capitalize()


STAFF_ROLES = (Role.REVIEWER, Role.PROGRAMME_MANAGER, Role.FUND_ADMINISTRATOR)


class Actor(Protocol):
    id: int | None

    def has_role(self, role: Role) -> bool: ...

    @property
    def actor_label(self) -> str: ...


@dataclass(frozen=True)
class SystemActor:
    """The command line or the scheduler: acts with every role, and says so in the audit log."""

    label: str
    id: None = None

    def has_role(self, role: Role) -> bool:
        return True

    @property
    def actor_label(self) -> str:
        return f"system: {self.label}"

    @property
    def is_authenticated(self) -> bool:
        return True


class AccessDenied(Exception):
    """The actor may not do this (HTTP 403)."""


class NotFound(Exception):
    """The thing does not exist, or its existence is private to the actor (HTTP 404)."""


class RuleViolation(Exception):
    """The action breaks a rule of the programme; the message says which, for the user to read."""

    def __init__(self, message: str, field: str | None = None):
        super().__init__(message)
        self.message = message
        self.field = field


def require_role(actor: Actor | None, *roles: Role) -> None:
    """Raise AccessDenied unless the actor holds one of the roles."""
    if actor is None or not getattr(actor, "is_authenticated", False):
        raise AccessDenied("log in first")
    if not any(actor.has_role(role) for role in roles):
        raise AccessDenied("your role does not allow this")
