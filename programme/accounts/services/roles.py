"""Roles: reviewer and applicant are granted at once; a staff role that checks others (programme manager, fund
administrator, auditor) is requested by one manager and granted only when a second manager approves (four eyes:
not the requester, not an account either of them created, not the person concerned). Removing a role is immediate.
The system (the command line that makes the first manager) grants directly."""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import func, select

from programme.accounts.models import RoleRequest, RoleRequestStatus, User, UserRole
from programme.core import audit
from programme.core.access import (
    AccessDenied,
    Actor,
    NotFound,
    Role,
    RuleViolation,
    require_role,
    require_second_person,
)
from programme.core.db import utcnow
from programme.core.i18n import speaking_to
from programme.core.notifications import notify
from programme.core.texts import gettext as _
from programme.extensions import db

#: Roles that need a second manager's approval to be granted.
GUARDED_ROLES = frozenset({Role.PROGRAMME_MANAGER, Role.FUND_ADMINISTRATOR, Role.AUDITOR})


def _grant(user: User, role: Role) -> None:
    if role not in user.role_set:
        user.roles.append(UserRole(role=role))


def pending_request(user: User, role: Role) -> RoleRequest | None:
    return db.session.scalar(select(RoleRequest).where(
        RoleRequest.user_id == user.id, RoleRequest.role == role, RoleRequest.status == RoleRequestStatus.PENDING))


def request_roles(user: User, roles: Iterable[Role], *, actor: Actor) -> list[RoleRequest]:
    """Give ``user`` the roles: at once for applicant and reviewer (and for the system), as pending requests for a
    second manager for the guarded roles. Returns the requests made."""
    require_role(actor, Role.PROGRAMME_MANAGER)
    made: list[RoleRequest] = []
    for role in dict.fromkeys(roles):
        if role in user.role_set:
            continue
        if role not in GUARDED_ROLES or actor.id is None:
            _grant(user, role)
            audit.record(db.session, actor, "user.role_granted", user, role=role.value)
            continue
        if pending_request(user, role) is not None:
            continue
        request = RoleRequest(user_id=user.id, role=role, requested_by_id=actor.id)
        db.session.add(request)
        db.session.flush()
        made.append(request)
        audit.record(db.session, actor, "user.role_requested", user, role=role.value, request_id=request.id)
    db.session.flush()
    return made


def set_roles(user: User, roles: Iterable[Role], *, actor: Actor) -> list[RoleRequest]:
    """The user's roles become ``roles``: roles left out are removed at once (the last programme manager keeps
    that role); new ones are granted or requested as ``request_roles`` says. Returns the requests made."""
    require_role(actor, Role.PROGRAMME_MANAGER)
    wanted = set(roles)
    if not wanted:
        raise RuleViolation(_("Give the account at least one role."), field="roles")
    if Role.PROGRAMME_MANAGER in user.role_set and Role.PROGRAMME_MANAGER not in wanted:
        managers = db.session.scalar(
            select(func.count()).select_from(UserRole).where(UserRole.role == Role.PROGRAMME_MANAGER)
        )
        if managers <= 1:
            raise RuleViolation(_("This is the last programme manager: the role cannot be removed."), field="roles")
    before = sorted(r.value for r in user.role_set)
    user.roles = [r for r in user.roles if r.role in wanted]
    made = request_roles(user, sorted(wanted - user.role_set), actor=actor)
    audit.record(db.session, actor, "user.roles_changed", user, before=before,
                 after=sorted(r.value for r in user.role_set), requested=sorted(r.role.value for r in made))
    return made


def role_requests_waiting() -> list[RoleRequest]:
    return list(db.session.scalars(
        select(RoleRequest).where(RoleRequest.status == RoleRequestStatus.PENDING).order_by(RoleRequest.id)))


def get_role_request(request_id: int, *, actor: Actor) -> RoleRequest:
    require_role(actor, Role.PROGRAMME_MANAGER)
    request = db.session.get(RoleRequest, request_id)
    if request is None:
        raise NotFound()
    return request


def _decide(request: RoleRequest, status: RoleRequestStatus, actor: Actor) -> None:
    require_role(actor, Role.PROGRAMME_MANAGER)
    if not request.is_pending:
        raise RuleViolation(_("This role request was decided already."))
    if actor.id is None:
        raise AccessDenied(_("a role request is decided by a named manager"))
    what = _("the role %(role)s for %(email)s", role=request.role.label, email=request.user.email)
    if actor.id == request.user_id:
        raise AccessDenied(_("%(what)s is yours: another manager decides it", what=what))
    if status == RoleRequestStatus.APPROVED:
        require_second_person(request.requested_by, actor, what)
    request.status = status
    request.decided_by_id = actor.id
    request.decided_at = utcnow()


def approve_role_request(request: RoleRequest, *, actor: Actor) -> None:
    """A second manager grants the requested role."""
    _decide(request, RoleRequestStatus.APPROVED, actor)
    _grant(request.user, request.role)
    db.session.flush()
    audit.record(db.session, actor, "user.role_request_approved", request.user, role=request.role.value,
                 request_id=request.id, requested_by_id=request.requested_by_id)
    with speaking_to(request.user):
        subject = _("You now have the role %(role)s", role=request.role.label)
        body = _("The role %(role)s was granted to your account.", role=request.role.label)
    notify(db.session, email=request.user.email, user_id=request.user_id, subject=subject, body=body)


def reject_role_request(request: RoleRequest, *, actor: Actor) -> None:
    """A manager (the requester too: withdrawing it) refuses the requested role."""
    _decide(request, RoleRequestStatus.REJECTED, actor)
    db.session.flush()
    audit.record(db.session, actor, "user.role_request_rejected", request.user, role=request.role.value,
                 request_id=request.id, requested_by_id=request.requested_by_id)
