"""Applicant groups, their organisations, the people who act for them and the invitations that bring them in.
An invitation is accepted only by the person whose verified address it was sent to, through its link."""

from __future__ import annotations

import secrets
from dataclasses import dataclass

from sqlalchemy import select

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
from programme.accounts.services._common import find_user_by_email, normalise_email
from programme.core import audit
from programme.core.access import AccessDenied, Actor, NotFound, Role, RuleViolation, require_role
from programme.core.db import utcnow
from programme.core.i18n import speaking_to
from programme.core.notifications import notify
from programme.core.texts import gettext as _
from programme.extensions import db


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
                raise RuleViolation(_("A firm needs a size class."), field="size_class")
            if not (self.sector or "").strip():
                raise RuleViolation(_("A firm needs a sector."), field="sector")
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
        raise AccessDenied(_("only the people acting for the group change it"))
    return group


def update_group(group: ApplicantGroup, *, name: str, description: str, actor: User) -> None:
    if not group.can_edit(actor):
        raise AccessDenied(_("only the group's members change it"))
    group.name, group.description = name.strip(), description.strip()
    audit.record(db.session, actor, "group.updated", group, name=group.name)


def _require_edit(group: ApplicantGroup, actor: Actor) -> None:
    if not group.can_edit(actor):
        raise AccessDenied(_("only the group's members change its organisations"))


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
        raise AccessDenied(_("only the group's lead contact invites people"))
    email = normalise_email(email)
    if any(gu.user.email == email for gu in group.users):
        raise RuleViolation(_("This person acts for the group already."), field="email")
    existing = next((i for i in group.invitations if i.email == email), None)
    if existing is not None and existing.is_pending:
        raise RuleViolation(_("This address has a pending invitation already."), field="email")
    if existing is not None:  # an old, revoked or used invitation gives way to a new one
        group.invitations.remove(existing)
        db.session.flush()
    invitation = GroupInvitation(email=email, token=secrets.token_urlsafe(32), invited_by_id=actor.id)
    group.invitations.append(invitation)
    db.session.flush()
    invitee = find_user_by_email(email)
    link = accept_url.replace("__token__", invitation.token) if accept_url else None
    with speaking_to(invitee):  # an address with no account yet: in the language of the person inviting
        subject = _("Invitation to act for the applicant group %(group)s", group=group.name)
        body = _("%(person)s invites you to act for the applicant group %(group)s. Register or log in with this "
                 "e-mail address to accept.", person=actor.name, group=group.name)
    notify(db.session, email=email, user_id=invitee.id if invitee else None, link=link, subject=subject, body=body)
    audit.record(db.session, actor, "group.invited", group, email=email)
    return invitation


def pending_invitations_for(user: User) -> list[GroupInvitation]:
    """The pending invitations to the user's address, once the address is proven (none before)."""
    if not user.email_verified:
        return []
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
    """An invitation addressed to the actor's verified address; NotFound for any other token (and for an actor
    whose address is not proven: an address typed at registration proves nothing)."""
    invitation = db.session.scalar(select(GroupInvitation).where(GroupInvitation.token == token))
    if invitation is None or invitation.email != actor.email or not actor.email_verified:
        raise NotFound()
    return invitation


def accept_invitation(invitation: GroupInvitation, *, actor: User) -> ApplicantGroup:
    if invitation.email != actor.email or not actor.email_verified:
        raise NotFound()
    if not invitation.is_pending:
        raise RuleViolation(_("This invitation was used or withdrawn already."))
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
        raise AccessDenied(_("only the group's lead contact withdraws invitations"))
    invitation = next((i for i in group.invitations if i.id == invitation_id), None)
    if invitation is None:
        raise NotFound()
    if not invitation.is_pending:
        raise RuleViolation(_("This invitation was used or withdrawn already."))
    invitation.revoked_at = utcnow()
    audit.record(db.session, actor, "group.invitation_revoked", group, email=invitation.email)


def remove_member(group: ApplicantGroup, user_id: int, *, actor: User) -> None:
    if not group.can_manage_members(actor):
        raise AccessDenied(_("only the group's lead contact removes people"))
    member = next((gu for gu in group.users if gu.user_id == user_id), None)
    if member is None:
        raise NotFound()
    if member.role == GroupRole.LEAD:
        raise RuleViolation(_("The lead contact cannot be removed; make another member lead first."))
    group.users.remove(member)
    audit.record(db.session, actor, "group.member_removed", group, user_id=user_id)


def make_lead(group: ApplicantGroup, user_id: int, *, actor: User) -> None:
    """Hand the lead-contact role to another member of the group."""
    if not group.can_manage_members(actor):
        raise AccessDenied(_("only the group's lead contact hands over the lead"))
    member = next((gu for gu in group.users if gu.user_id == user_id), None)
    if member is None:
        raise NotFound()
    for gu in group.users:
        gu.role = GroupRole.LEAD if gu is member else GroupRole.MEMBER
    audit.record(db.session, actor, "group.lead_changed", group, user_id=user_id)
