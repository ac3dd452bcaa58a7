"""Who is acting, and the errors a service raises when an actor may not do a thing.

Services take the actor explicitly. A web request passes the logged-in user; the
command line and the scheduler pass a SystemActor, which is named in the audit log.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from typing import Protocol

from programme.core.texts import gettext as _
from programme.core.texts import lazy_gettext as _l


class Role(enum.StrEnum):
    """A role a person holds; ``label`` is its name in the language being answered (a ``str``)."""

    APPLICANT = "applicant"
    REVIEWER = "reviewer"
    PROGRAMME_MANAGER = "programme_manager"
    FUND_ADMINISTRATOR = "fund_administrator"
    #: Reads the ledger, the loan book, every decision and the audit log; changes nothing.
    AUDITOR = "auditor"

    @property
    def label(self) -> str:
        return str(ROLE_LABELS[self.value])


#: The roles' names, as people read them (``Role.label``).
ROLE_LABELS = {"applicant": _l("Applicant"), "reviewer": _l("Reviewer"), "programme_manager": _l("Programme manager"),
               "fund_administrator": _l("Fund administrator"), "auditor": _l("Auditor")}


STAFF_ROLES = (Role.REVIEWER, Role.PROGRAMME_MANAGER, Role.FUND_ADMINISTRATOR, Role.AUDITOR)


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
        raise AccessDenied(_("log in first"))
    if not any(actor.has_role(role) for role in roles):
        raise AccessDenied(_("your role does not allow this"))


def require_second_person(requester: object | None, approver: Actor, what: str) -> None:
    """Four eyes means two real people: refuse (AccessDenied) an approval of ``what`` by the person who asked for it,
    by an account that person created or enrolled, or by the person who created or enrolled the requester's
    account. ``requester`` is the requesting user (anything with ``id`` and ``created_by_id``), or None when the
    system asked. The system itself never approves: an approval needs a named person.

    ``what`` goes into a sentence in the language being answered: the caller gives it already translated
    (``_("this write-off")``)."""
    approver_id = getattr(approver, "id", None)
    if approver_id is None:
        raise AccessDenied(_("%(what)s needs the approval of a named person.", what=what))
    if requester is None:
        return
    requester_id = getattr(requester, "id", None)
    if requester_id == approver_id:
        raise AccessDenied(_("You asked for %(what)s, so someone else must approve it.", what=what))
    if getattr(approver, "created_by_id", None) == requester_id:
        raise AccessDenied(_("Your account was created by the person who asked for %(what)s: someone else must "
                             "approve it.", what=what))
    if getattr(requester, "created_by_id", None) == approver_id:
        raise AccessDenied(_("You created the account of the person who asked for %(what)s: someone else must "
                             "approve it.", what=what))
