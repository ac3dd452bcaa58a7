"""Accounts: made by the system (command line, demo, tests) with a password, authenticated, their sessions and
passwords, activated and listed by a manager. A manager opens an account by enrolment (``enrolment``)."""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import select
from sqlalchemy.orm import joinedload

from programme.accounts.models import Organisation, User, UserRole
from programme.accounts.passwords import hash_password, needs_rehash, password_problem, verify_password
from programme.accounts.services._common import find_user_by_email, normalise_email, user_inputs
from programme.core import audit, changes
from programme.core.access import AccessDenied, Actor, NotFound, Role, RuleViolation, require_role
from programme.core.db import utcnow
from programme.core.i18n import LANGUAGES, speaking_to
from programme.core.notifications import notify
from programme.core.texts import gettext as _
from programme.extensions import db


def checked_password(password: str, *, email: str, name: str, field: str = "password") -> str:
    """The password's hash, or RuleViolation (beside ``field``) saying why the password is refused."""
    problem = password_problem(password, user_inputs(email, name))
    if problem:
        raise RuleViolation(problem, field=field)
    return hash_password(password)


def new_account(email: str, name: str, *, password_hash: str | None, roles: Iterable[Role],
                created_by: Actor | None = None) -> User:
    email = normalise_email(email)
    if find_user_by_email(email) is not None:
        raise RuleViolation(_("An account with this e-mail address exists already."), field="email")
    user = User(email=email, name=name.strip(), password_hash=password_hash,
                created_by_id=getattr(created_by, "id", None))
    user.roles = [UserRole(role=role) for role in dict.fromkeys(roles)]
    db.session.add(user)
    db.session.flush()
    return user


def create_user(
    *, email: str, name: str, roles: Iterable[Role], password: str, actor: Actor,
    organisation_id: int | None = None,
) -> User:
    """The system (the command line, the demo, test set-up) creates an account with a password and the roles, its
    address counted as verified. A person never does: a programme manager opens an account by enrolment
    (``enrol_user``), where the person sets their own password and staff roles wait for a second manager."""
    require_role(actor, Role.PROGRAMME_MANAGER)
    if actor.id is not None:
        raise AccessDenied(_("a manager opens an account by enrolment: the person sets their own password"))
    roles = list(dict.fromkeys(roles))  # each role once, also in the audit entry and the notification
    if not roles:
        raise RuleViolation(_("Give the account at least one role."), field="roles")
    if organisation_id is not None and db.session.get(Organisation, organisation_id) is None:
        raise RuleViolation(_("No such organisation."), field="organisation_id")
    if find_user_by_email(email) is not None:
        raise RuleViolation(_("An account with this e-mail address exists already."), field="email")
    user = new_account(email, name, roles=roles,
                       password_hash=checked_password(password, email=normalise_email(email), name=name))
    user.organisation_id = organisation_id
    user.email_verified_at = utcnow()
    audit.record(db.session, actor, "user.created", user, roles=sorted(r.value for r in roles))
    with speaking_to(user):
        subject = _("Your account on the cluster programme")
        body = _("An account was opened for you with the roles: %(roles)s.",
                 roles=", ".join(r.label for r in roles))
    notify(db.session, email=user.email, user_id=user.id, subject=subject, body=body)
    return user


def authenticate(email: str, password: str) -> User | None:
    """The user whose e-mail and password match, active; None otherwise (same work either way). An account whose
    person has not set a password yet (enrolment pending) has none to match."""
    user = find_user_by_email(email)
    if not verify_password(user.password_hash if user else None, password):
        return None
    if user is None or not user.active or user.password_hash is None:
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
    # One statement with the roles (every page reads them for its menu), and with the data version unless this
    # request has read it already (core.pages looks for a kept page before anything else).
    read_version = not changes.known()
    row = db.session.execute(
        select(User, *(changes.version_columns() if read_version else ())).where(User.id == user_id)
        .options(joinedload(User.roles))
    ).unique().one_or_none()
    if row is None:
        return None
    user = row[0]
    if read_version:
        changes.remember(tuple(row[1:]))
    if user is None or user.session_version != version or not user.active:
        return None
    return user


def change_password(user: User, *, current: str, new: str, actor: Actor) -> None:
    if actor.id != user.id:
        raise AccessDenied(_("only the account's owner changes its password"))
    if not verify_password(user.password_hash, current):
        raise RuleViolation(_("The current password is not right."), field="current_password")
    user.password_hash = checked_password(new, email=user.email, name=user.name, field="new_password")
    user.session_version += 1
    audit.record(db.session, actor, "user.password_changed", user)


def set_language(user: User, language: str | None, *, actor: Actor) -> None:
    """The language a person's pages, mail and exports are in (``core.i18n.LANGUAGES``; None: the browser's).
    A person sets their own only."""
    if getattr(actor, "id", None) != user.id:
        raise AccessDenied(_("a person chooses their own language"))
    if language is not None and language not in LANGUAGES:
        raise RuleViolation(_("Choose one of: %(languages)s.", languages=", ".join(LANGUAGES.values())),
                            field="language")
    if user.language != language:
        user.language = language
        audit.record(db.session, actor, "user.language_set", user, language=language)


def set_active(user: User, active: bool, *, actor: Actor) -> None:
    require_role(actor, Role.PROGRAMME_MANAGER)
    if actor.id == user.id and not active:
        raise RuleViolation(_("You cannot deactivate your own account."))
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
