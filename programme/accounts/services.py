"""Operations on users, roles, organisations and applicant groups.

Each takes the actor explicitly, checks permission, changes state, writes the audit
log and flushes. None of them commits: the view, command or job does, once.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterable
from dataclasses import dataclass

from sqlalchemy import func, select

from programme.accounts.models import (
    ApplicantGroup,
    GroupInvitation,
    GroupOrganisation,
    GroupRole,
    GroupUser,
    Organisation,
    OrganisationType,
    SizeClass,
    User,
    UserRole,
)
from programme.accounts.passwords import hash_password, needs_rehash, password_problem, verify_password
from programme.core import audit
from programme.core.access import AccessDenied, Actor, NotFound, Role, RuleViolation, require_role
from programme.core.db import utcnow
from programme.core.notifications import notify
from programme.extensions import db


def normalise_email(email: str) -> str:
    return email.strip().lower()


def find_user_by_email(email: str) -> User | None:
    return db.session.scalar(select(User).where(User.email == normalise_email(email)))


def _new_user(email: str, name: str, password: str, roles: Iterable[Role]) -> User:
    email = normalise_email(email)
    if find_user_by_email(email) is not None:
        raise RuleViolation("An account with this e-mail address exists already.", field="email")
    problem = password_problem(password, email)
    if problem:
        raise RuleViolation(problem, field="password")
    user = User(email=email, name=name.strip(), password_hash=hash_password(password))
    user.roles = [UserRole(role=role) for role in dict.fromkeys(roles)]
    db.session.add(user)
    db.session.flush()
    return user


def register_applicant(*, email: str, name: str, password: str) -> User:
    """A person registers themselves; they become an applicant."""
    user = _new_user(email, name, password, [Role.APPLICANT])
    audit.record(db.session, user, "user.registered", user, roles=[Role.APPLICANT.value])
    return user


def authenticate(email: str, password: str) -> User | None:
    """The user whose e-mail and password match, active; None otherwise (same work either way)."""
    user = find_user_by_email(email)
    if not verify_password(user.password_hash if user else None, password):
        return None
    if user is None or not user.active:
        return None
    if needs_rehash(user.password_hash):
        user.password_hash = hash_password(password)
    user.last_login_at = utcnow()
    audit.record(db.session, user, "user.logged_in", user)
    return user


def end_sessions(user: User) -> None:
    """Log out: every session of this user ends (their session id carries the old version)."""
    user.session_version += 1
    audit.record(db.session, user, "user.logged_out", user)


def load_session_user(session_id: str) -> User | None:
    """Flask-Login's user loader: `<id>:<version>`; an outdated version is no session."""
    try:
        user_id, version = (int(part) for part in session_id.split(":"))
    except ValueError:
        return None
    user = db.session.get(User, user_id)
    if user is None or user.session_version != version or not user.active:
        return None
    return user


def change_password(user: User, *, current: str, new: str, actor: Actor) -> None:
    if actor.id != user.id:
        raise AccessDenied("only the account's owner changes its password")
    if not verify_password(user.password_hash, current):
        raise RuleViolation("The current password is not right.", field="current_password")
    problem = password_problem(new, user.email)
    if problem:
        raise RuleViolation(problem, field="new_password")
    user.password_hash = hash_password(new)
    user.session_version += 1
    audit.record(db.session, actor, "user.password_changed", user)


def create_user(
    *, email: str, name: str, roles: Iterable[Role], password: str, actor: Actor,
    organisation_id: int | None = None,
) -> User:
    """A programme manager (or the command line) creates an account with the given roles."""
    require_role(actor, Role.PROGRAMME_MANAGER)
    roles = list(dict.fromkeys(roles))  # each role once, also in the audit entry and the notification
    if not roles:
        raise RuleViolation("Give the account at least one role.", field="roles")
    if organisation_id is not None and db.session.get(Organisation, organisation_id) is None:
        raise RuleViolation("No such organisation.", field="organisation_id")
    user = _new_user(email, name, password, roles)
    user.organisation_id = organisation_id
    audit.record(db.session, actor, "user.created", user, roles=sorted(r.value for r in roles))
    notify(
        db.session, email=user.email, user_id=user.id,
        subject="Your account on the cluster programme",
        body=f"An account was opened for you with the roles: {', '.join(r.label for r in roles)}.",
    )
    return user


def set_roles(user: User, roles: Iterable[Role], *, actor: Actor) -> None:
    """Replace a user's roles. The last programme manager cannot lose that role."""
    require_role(actor, Role.PROGRAMME_MANAGER)
    wanted = set(roles)
    if not wanted:
        raise RuleViolation("Give the account at least one role.", field="roles")
    if Role.PROGRAMME_MANAGER in user.role_set and Role.PROGRAMME_MANAGER not in wanted:
        managers = db.session.scalar(
            select(func.count()).select_from(UserRole).where(UserRole.role == Role.PROGRAMME_MANAGER)
        )
        if managers <= 1:
            raise RuleViolation("This is the last programme manager: the role cannot be removed.", field="roles")
    before = sorted(r.value for r in user.role_set)
    user.roles = [r for r in user.roles if r.role in wanted] + [
        UserRole(role=role) for role in wanted - user.role_set
    ]
    audit.record(db.session, actor, "user.roles_changed", user, before=before, after=sorted(r.value for r in wanted))


def set_active(user: User, active: bool, *, actor: Actor) -> None:
    require_role(actor, Role.PROGRAMME_MANAGER)
    if actor.id == user.id and not active:
        raise RuleViolation("You cannot deactivate your own account.")
    user.active = active
    user.session_version += 1
    audit.record(db.session, actor, "user.activated" if active else "user.deactivated", user)


def list_users() -> list[User]:
    return list(db.session.scalars(select(User).order_by(User.name)))


def get_user(user_id: int, *, actor: Actor) -> User:
    require_role(actor, Role.PROGRAMME_MANAGER)
    user = db.session.get(User, user_id)
    if user is None:
        raise NotFound()
    return user


# Applicant groups ---------------------------------------------------------------------------


@dataclass(frozen=True)
class OrganisationData:
    name: str
    kind: OrganisationType
    locality: str
    size_class: SizeClass | None = None
    sector: str | None = None

    def checked(self) -> OrganisationData:
        """The data with institution-only fields cleared; a firm without size or sector is refused."""
        if self.kind == OrganisationType.FIRM:
            if self.size_class is None:
                raise RuleViolation("A firm needs a size class.", field="size_class")
            if not (self.sector or "").strip():
                raise RuleViolation("A firm needs a sector.", field="sector")
            return self
        return OrganisationData(self.name, self.kind, self.locality, None, self.sector or None)


def create_group(*, name: str, description: str, actor: User) -> ApplicantGroup:
    """An applicant forms a group and becomes its lead contact."""
    require_role(actor, Role.APPLICANT)
    group = ApplicantGroup(name=name.strip(), description=description.strip())
    group.users.append(GroupUser(user=actor, role=GroupRole.LEAD))
    db.session.add(group)
    db.session.flush()
    audit.record(db.session, actor, "group.created", group, name=group.name)
    return group


def groups_of(actor: User) -> list[ApplicantGroup]:
    return list(
        db.session.scalars(
            select(ApplicantGroup).join(GroupUser).where(GroupUser.user_id == actor.id).order_by(ApplicantGroup.name)
        )
    )


def list_groups(*, actor: Actor) -> list[ApplicantGroup]:
    require_role(actor, Role.PROGRAMME_MANAGER)
    return list(db.session.scalars(select(ApplicantGroup).order_by(ApplicantGroup.name)))


def get_group(group_id: int, *, actor: Actor) -> ApplicantGroup:
    """The group if the actor may see it; NotFound otherwise, since a group's existence is private."""
    group = db.session.get(ApplicantGroup, group_id)
    if group is None or not group.can_view(actor):
        raise NotFound()
    return group


def get_group_for_edit(group_id: int, *, actor: Actor) -> ApplicantGroup:
    """The group if the actor may change it: NotFound if it may not even see it, AccessDenied if only see."""
    group = get_group(group_id, actor=actor)
    if not group.can_edit(actor):
        raise AccessDenied("only the people acting for the group change it")
    return group


def update_group(group: ApplicantGroup, *, name: str, description: str, actor: User) -> None:
    if not group.can_edit(actor):
        raise AccessDenied("only the group's members change it")
    group.name, group.description = name.strip(), description.strip()
    audit.record(db.session, actor, "group.updated", group, name=group.name)


def _require_edit(group: ApplicantGroup, actor: Actor) -> None:
    if not group.can_edit(actor):
        raise AccessDenied("only the group's members change its organisations")


def add_organisation(group: ApplicantGroup, data: OrganisationData, *, actor: User) -> Organisation:
    _require_edit(group, actor)
    data = data.checked()
    organisation = Organisation(
        name=data.name.strip(), kind=data.kind, size_class=data.size_class,
        sector=(data.sector or "").strip() or None, locality=data.locality.strip(),
    )
    group.memberships.append(GroupOrganisation(organisation=organisation))
    db.session.flush()
    audit.record(db.session, actor, "group.organisation_added", group, organisation_id=organisation.id,
                 name=organisation.name, kind=organisation.kind.value)
    return organisation


def get_group_organisation(group: ApplicantGroup, organisation_id: int) -> Organisation:
    organisation = next((o for o in group.organisations if o.id == organisation_id), None)
    if organisation is None:
        raise NotFound()
    return organisation


def update_organisation(
    group: ApplicantGroup, organisation: Organisation, data: OrganisationData, *, actor: User
) -> None:
    _require_edit(group, actor)
    if organisation not in group.organisations:
        raise NotFound()
    data = data.checked()
    organisation.name, organisation.kind = data.name.strip(), data.kind
    organisation.size_class, organisation.sector = data.size_class, (data.sector or "").strip() or None
    organisation.locality = data.locality.strip()
    audit.record(db.session, actor, "group.organisation_updated", group, organisation_id=organisation.id)


def remove_organisation(group: ApplicantGroup, organisation: Organisation, *, actor: User) -> None:
    _require_edit(group, actor)
    membership = next((m for m in group.memberships if m.organisation_id == organisation.id), None)
    if membership is None:
        raise NotFound()
    group.memberships.remove(membership)
    audit.record(db.session, actor, "group.organisation_removed", group, organisation_id=organisation.id,
                 name=organisation.name)


def invite(group: ApplicantGroup, email: str, *, actor: User, accept_url: str | None = None) -> GroupInvitation:
    """The lead invites a person by e-mail to act for the group."""
    if not group.can_manage_members(actor):
        raise AccessDenied("only the group's lead contact invites people")
    email = normalise_email(email)
    if any(gu.user.email == email for gu in group.users):
        raise RuleViolation("This person acts for the group already.", field="email")
    existing = next((i for i in group.invitations if i.email == email), None)
    if existing is not None and existing.is_pending:
        raise RuleViolation("This address has a pending invitation already.", field="email")
    if existing is not None:  # an old, revoked or used invitation gives way to a new one
        group.invitations.remove(existing)
        db.session.flush()
    invitation = GroupInvitation(email=email, token=secrets.token_urlsafe(32), invited_by_id=actor.id)
    group.invitations.append(invitation)
    db.session.flush()
    invitee = find_user_by_email(email)
    link = accept_url.replace("__token__", invitation.token) if accept_url else None
    notify(
        db.session, email=email, user_id=invitee.id if invitee else None, link=link,
        subject=f"Invitation to act for the applicant group {group.name}",
        body=f"{actor.name} invites you to act for the applicant group {group.name}. "
        "Register or log in with this e-mail address to accept.",
    )
    audit.record(db.session, actor, "group.invited", group, email=email)
    return invitation


def pending_invitations_for(user: User) -> list[GroupInvitation]:
    return list(
        db.session.scalars(
            select(GroupInvitation).where(
                GroupInvitation.email == user.email,
                GroupInvitation.accepted_at.is_(None),
                GroupInvitation.revoked_at.is_(None),
            )
        )
    )


def get_invitation(token: str, *, actor: User) -> GroupInvitation:
    """An invitation addressed to the actor; NotFound for any other token."""
    invitation = db.session.scalar(select(GroupInvitation).where(GroupInvitation.token == token))
    if invitation is None or invitation.email != actor.email:
        raise NotFound()
    return invitation


def accept_invitation(invitation: GroupInvitation, *, actor: User) -> ApplicantGroup:
    if invitation.email != actor.email:
        raise NotFound()
    if not invitation.is_pending:
        raise RuleViolation("This invitation was used or withdrawn already.")
    group = invitation.group
    if group.role_of(actor) is None:
        group.users.append(GroupUser(user=actor, role=GroupRole.MEMBER))
    if not actor.has_role(Role.APPLICANT):
        actor.roles.append(UserRole(role=Role.APPLICANT))
    invitation.accepted_at = utcnow()
    invitation.accepted_by_id = actor.id
    audit.record(db.session, actor, "group.invitation_accepted", group, invitation_id=invitation.id)
    return group


def revoke_invitation(group: ApplicantGroup, invitation_id: int, *, actor: User) -> None:
    if not group.can_manage_members(actor):
        raise AccessDenied("only the group's lead contact withdraws invitations")
    invitation = next((i for i in group.invitations if i.id == invitation_id), None)
    if invitation is None:
        raise NotFound()
    if not invitation.is_pending:
        raise RuleViolation("This invitation was used or withdrawn already.")
    invitation.revoked_at = utcnow()
    audit.record(db.session, actor, "group.invitation_revoked", group, email=invitation.email)


def remove_member(group: ApplicantGroup, user_id: int, *, actor: User) -> None:
    if not group.can_manage_members(actor):
        raise AccessDenied("only the group's lead contact removes people")
    member = next((gu for gu in group.users if gu.user_id == user_id), None)
    if member is None:
        raise NotFound()
    if member.role == GroupRole.LEAD:
        raise RuleViolation("The lead contact cannot be removed; make another member lead first.")
    group.users.remove(member)
    audit.record(db.session, actor, "group.member_removed", group, user_id=user_id)


def make_lead(group: ApplicantGroup, user_id: int, *, actor: User) -> None:
    """Hand the lead-contact role to another member of the group."""
    if not group.can_manage_members(actor):
        raise AccessDenied("only the group's lead contact hands over the lead")
    member = next((gu for gu in group.users if gu.user_id == user_id), None)
    if member is None:
        raise NotFound()
    for gu in group.users:
        gu.role = GroupRole.LEAD if gu is member else GroupRole.MEMBER
    audit.record(db.session, actor, "group.lead_changed", group, user_id=user_id)
