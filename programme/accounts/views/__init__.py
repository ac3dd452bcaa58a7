"""The accounts blueprint, one module per flow: ``session`` (registration, verification, login, logout, enrolment
and reset links, the account page), ``notifications`` (the notification centre and the unread count in the
navigation), ``outbox`` (the managers' dead letters), ``users`` (staff users, roles, role requests), ``groups``
(applicant groups, organisations, members, invitations); ``_common`` holds the blueprint, the known-device cookie
and the checks every request passes (idle timeout, unverified address)."""

from programme.accounts.views import access_tokens, groups, language, notifications, outbox, session, users
from programme.accounts.views._common import bp

__all__ = ["access_tokens", "bp", "groups", "language", "notifications", "outbox", "session", "users"]
