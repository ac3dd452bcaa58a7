"""Operations on users, roles, organisations and applicant groups, one module per flow:

- ``users``: accounts the system makes, authentication, sessions, passwords, activation, listing;
- ``enrolment``: enrolment by a manager, registration and address verification, password reset (all by mailed
  link);
- ``tokens``: those links (random, hashed, expiring, used once);
- ``roles``: roles granted at once or requested from a second manager, and the decisions on requests;
- ``groups``: applicant groups, their organisations, members and invitations;
- ``notifications``: a person's notification centre (their messages, the unread count, marking them read).

Each operation takes the actor explicitly, checks permission, changes state, writes the audit log and flushes.
None of them commits: the view, command or job does, once. The package re-exports the public operations.
"""

from programme.accounts.services._common import find_user_by_email, normalise_email
from programme.accounts.services.enrolment import (
    complete_enrolment,
    enrol_user,
    enrolment_user,
    register_applicant,
    request_password_reset,
    resend_enrolment,
    resend_verification,
    reset_password,
    reset_user,
    verification_user,
    verify_email,
)
from programme.accounts.services.groups import (
    OrganisationData,
    accept_invitation,
    add_organisation,
    create_group,
    get_group,
    get_group_for_edit,
    get_group_organisation,
    get_invitation,
    groups_of,
    invite,
    list_groups,
    make_lead,
    pending_invitations_for,
    remove_member,
    remove_organisation,
    revoke_invitation,
    update_group,
    update_organisation,
)
from programme.accounts.services.notifications import (
    NotificationPage,
    get_notification,
    mark_all_read,
    mark_read,
    notifications_page,
    unread_count,
)
from programme.accounts.services.roles import (
    GUARDED_ROLES,
    approve_role_request,
    get_role_request,
    reject_role_request,
    request_roles,
    role_requests_waiting,
    set_roles,
)
from programme.accounts.services.tokens import TOKEN_PLACEHOLDER
from programme.accounts.services.users import (
    authenticate,
    change_password,
    create_user,
    end_sessions,
    get_user,
    list_users,
    load_session_user,
    set_active,
    set_language,
)

__all__ = [
    "GUARDED_ROLES", "TOKEN_PLACEHOLDER", "NotificationPage", "OrganisationData", "accept_invitation",
    "add_organisation", "approve_role_request", "authenticate", "change_password", "complete_enrolment",
    "create_group", "create_user", "end_sessions", "enrol_user", "enrolment_user", "find_user_by_email", "get_group",
    "get_group_for_edit", "get_group_organisation", "get_invitation", "get_notification", "get_role_request",
    "get_user", "groups_of", "invite", "list_groups", "list_users", "load_session_user", "make_lead",
    "mark_all_read", "mark_read", "normalise_email", "notifications_page", "pending_invitations_for",
    "register_applicant", "reject_role_request", "remove_member", "remove_organisation", "request_password_reset",
    "request_roles", "resend_enrolment", "resend_verification", "reset_password", "reset_user", "revoke_invitation",
    "role_requests_waiting", "set_active", "set_language", "set_roles", "unread_count", "update_group",
    "update_organisation",
    "verification_user", "verify_email",
]
