"""How a person comes to hold an account, proves its address and recovers it, always through a link mailed to the
address (``tokens``):

- enrolment: a programme manager opens a staff account without a password; the person sets their own through the
  enrolment link (which also proves the address);
- registration: a person registers as an applicant; the account's address is unverified until the person opens the
  verification link; registering an address that has an account answers the same and tells that account instead;
- reset: a person who forgot the password asks for a link (the answer is the same whether or not the address has an
  account); setting a new password ends every session of the account.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import timedelta

from programme.accounts.models import Organisation, TokenPurpose, User
from programme.accounts.passwords import hash_password, password_problem
from programme.accounts.services._common import ANONYMOUS, find_user_by_email, normalise_email, user_inputs
from programme.accounts.services.roles import request_roles
from programme.accounts.services.tokens import find_token, issue_token, use_token
from programme.accounts.services.users import checked_password, new_account
from programme.core import audit
from programme.core.access import AccessDenied, Actor, Role, RuleViolation, require_role
from programme.core.i18n import speaking_to
from programme.core.notifications import notify
from programme.core.texts import gettext as _
from programme.core.timezone import now
from programme.extensions import db

# Enrolment ------------------------------------------------------------------------------------------------------


def _mail_enrolment(user: User, *, link: str, valid_for: timedelta) -> None:
    hours = int(valid_for.total_seconds() // 3600)
    with speaking_to(user):
        subject = _("Set your password for the cluster programme")
        body = _("An account was opened for you. Open the link to choose your own password (valid %(hours)s hours, "
                 "usable once). If you did not expect this, ignore this message.", hours=hours)
    notify(db.session, email=user.email, user_id=user.id, link=link, link_secret=True, subject=subject, body=body)


def enrol_user(
    *, email: str, name: str, roles: Iterable[Role], actor: Actor, link: str, valid_for: timedelta,
    organisation_id: int | None = None,
) -> User:
    """A programme manager opens an account without a password and mails the person an enrolment link. Applicant
    and reviewer roles are granted; the staff roles that check others wait for a second manager."""
    require_role(actor, Role.PROGRAMME_MANAGER)
    roles = list(dict.fromkeys(roles))
    if not roles:
        raise RuleViolation(_("Give the account at least one role."), field="roles")
    if organisation_id is not None and db.session.get(Organisation, organisation_id) is None:
        raise RuleViolation(_("No such organisation."), field="organisation_id")
    user = new_account(email, name, password_hash=None, roles=[], created_by=actor)
    user.organisation_id = organisation_id
    audit.record(db.session, actor, "user.created", user, roles=sorted(r.value for r in roles), enrolment=True)
    request_roles(user, roles, actor=actor)
    _mail_enrolment(user, link=issue_token(user, TokenPurpose.ENROL, valid_for=valid_for, link=link),
                    valid_for=valid_for)
    return user


def resend_enrolment(user: User, *, actor: Actor, link: str, valid_for: timedelta) -> None:
    """A fresh enrolment link (the older one stops working), while the person has not set a password."""
    require_role(actor, Role.PROGRAMME_MANAGER)
    if user.enrolled:
        raise RuleViolation(_("This person has set a password already: they can reset it from the login page."))
    _mail_enrolment(user, link=issue_token(user, TokenPurpose.ENROL, valid_for=valid_for, link=link),
                    valid_for=valid_for)
    audit.record(db.session, actor, "user.enrolment_resent", user)


def enrolment_user(raw_token: str) -> User:
    """The account an enrolment link opens; RuleViolation for a wrong, used, replaced or expired link."""
    return find_token(raw_token, TokenPurpose.ENROL).user


def complete_enrolment(raw_token: str, *, password: str) -> User:
    """The person sets their own password through the link: the account is enrolled and its address verified."""
    token = find_token(raw_token, TokenPurpose.ENROL)
    user = token.user
    user.password_hash = checked_password(password, email=user.email, name=user.name)
    if user.email_verified_at is None:
        user.email_verified_at = now()
    use_token(token)
    audit.record(db.session, user, "user.enrolled", user)
    return user


# Registration and verification -----------------------------------------------------------------------------------


def _mail_verification(user: User, *, link: str, valid_for: timedelta) -> None:
    hours = int(valid_for.total_seconds() // 3600)
    with speaking_to(user):
        subject = _("Confirm your e-mail address")
        body = _("Open the link to confirm that this address is yours (valid %(hours)s hours, usable once). "
                 "If you did not register, ignore this message.", hours=hours)
    notify(db.session, email=user.email, user_id=user.id, link=link, link_secret=True, subject=subject, body=body)


def register_applicant(
    *, email: str, name: str, password: str, link: str, valid_for: timedelta, login_link: str = "",
) -> User | None:
    """A person registers as an applicant, unverified, and is mailed a verification link. The same work and the
    same answer whether or not the address has an account (the password is hashed either way); when it has one,
    that account is told instead, and None is returned (the caller must not say so)."""
    email = normalise_email(email)
    problem = password_problem(password, user_inputs(email, name))
    if problem:
        raise RuleViolation(problem, field="password")
    password_hash = hash_password(password)
    existing = find_user_by_email(email)
    if existing is not None:
        with speaking_to(existing):
            subject = _("Someone tried to register with your address")
            body = _("Someone tried to register a new account with this e-mail address, which has an account "
                     "already. If it was you, log in, or reset your password from the login page. If not, you can "
                     "ignore this.")
        notify(db.session, email=existing.email, user_id=existing.id, link=login_link or None, subject=subject,
               body=body)
        audit.record(db.session, ANONYMOUS, "user.registration_for_existing_address", existing)
        return None
    user = new_account(email, name, password_hash=password_hash, roles=[Role.APPLICANT])
    audit.record(db.session, user, "user.registered", user, roles=[Role.APPLICANT.value])
    _mail_verification(user, link=issue_token(user, TokenPurpose.VERIFY, valid_for=valid_for, link=link),
                       valid_for=valid_for)
    return user


def resend_verification(user: User, *, actor: Actor, link: str, valid_for: timedelta) -> None:
    """The person asks for a fresh verification link (the older one stops working)."""
    if actor.id != user.id:
        raise AccessDenied(_("only the account's owner asks for its verification link"))
    if user.email_verified:
        raise RuleViolation(_("Your address is confirmed already."))
    _mail_verification(user, link=issue_token(user, TokenPurpose.VERIFY, valid_for=valid_for, link=link),
                       valid_for=valid_for)
    audit.record(db.session, actor, "user.verification_resent", user)


def verification_user(raw_token: str) -> User:
    """The account a verification link confirms; RuleViolation for a wrong, used, replaced or expired link."""
    return find_token(raw_token, TokenPurpose.VERIFY).user


def verify_email(raw_token: str) -> User:
    """The person opened the verification link: the address is proven."""
    token = find_token(raw_token, TokenPurpose.VERIFY)
    user = token.user
    if user.email_verified_at is None:
        user.email_verified_at = now()
    use_token(token)
    audit.record(db.session, user, "user.email_verified", user)
    return user


# Password reset ------------------------------------------------------------------------------------------------


def request_password_reset(email: str, *, link: str, valid_for: timedelta) -> None:
    """Mail a reset link to the account with this address, if there is one that has a password (the caller
    answers the same either way)."""
    user = find_user_by_email(email)
    if user is None or not user.active or not user.enrolled:
        return
    minutes = int(valid_for.total_seconds() // 60)
    with speaking_to(user):
        subject = _("Reset your password")
        body = _("Someone asked to reset the password of this account. Open the link to choose a new one (valid "
                 "%(minutes)s minutes, usable once). If it was not you, ignore this message: your password stays.",
                 minutes=minutes)
    notify(
        db.session, email=user.email, user_id=user.id, link_secret=True,
        link=issue_token(user, TokenPurpose.RESET, valid_for=valid_for, link=link), subject=subject, body=body,
    )
    audit.record(db.session, ANONYMOUS, "user.password_reset_requested", user)


def reset_user(raw_token: str) -> User:
    """The account a reset link is for; RuleViolation for a wrong, used, replaced or expired link."""
    return find_token(raw_token, TokenPurpose.RESET).user


def reset_password(raw_token: str, *, password: str) -> User:
    """A new password through the reset link: every session of the account ends; the address is proven."""
    token = find_token(raw_token, TokenPurpose.RESET)
    user = token.user
    user.password_hash = checked_password(password, email=user.email, name=user.name)
    user.session_version += 1
    if user.email_verified_at is None:
        user.email_verified_at = now()
    use_token(token)
    audit.record(db.session, user, "user.password_reset", user)
    return user
