"""Access for every role on every route, including ids changed by hand in the URL.

Each case: (method, URL template, expected status per role). Roles: anonymous, the
applicant who leads group A, another applicant (leads group B), a reviewer, a programme
manager, a fund administrator and an auditor. A route missing from this table fails the last test.
"""

from __future__ import annotations

import io
from dataclasses import dataclass, field
from datetime import timedelta
from decimal import Decimal

import pytest
from dateutil.relativedelta import relativedelta
from flask import current_app
from sqlalchemy import select

from programme.accounts import services as accounts
from programme.accounts.models import OrganisationType, SizeClass, TokenScope
from programme.accounts.services import access_tokens
from programme.calls import services as calls
from programme.calls.models import CallStatus
from programme.config import PROJECT_ROOT
from programme.core.access import Role
from programme.core.db import Base, utcnow
from programme.core.notifications import MailState, notify
from programme.extensions import db
from programme.funding import services as funding
from programme.funding.models import Grant, GrantKind, Initiative
from programme.loans import services as loans
from programme.loans.models import Loan
from programme.loans.services import guarantee_calls, guarantees, statements
from programme.monitoring.services import reports
from programme.monitoring.services import scorecards as monitoring
from programme.proposals import services as proposals
from programme.proposals.domain import ActivityKind, ClusterStage, CoFinancingKind
from programme.proposals.models import AttachmentKind
from programme.reviews import services as reviews
from programme.rulebook import parse_call_rules
from tests.conftest import PASSWORD, SETUP

ROLES = ("anonymous", "applicant", "other_applicant", "reviewer", "manager", "fund_admin", "auditor")
LOGIN = 302  # an anonymous visitor is sent to the login page

# Expected status for: anonymous, applicant (group A), other applicant (group B), reviewer, manager, fund admin,
# auditor. The auditor reads money and decisions (ledger, loan book, initiatives and their funding, monitoring,
# the dashboard, the ranking with its decisions, the audit log) and changes nothing: 403 on every POST but
# logging out, 404 where an id is private to others (a proposal, a group, a review).
CASES: list[tuple[str, str, tuple[int, ...]]] = [
    ("GET", "/", (200, 200, 200, 200, 200, 200, 200)),
    ("GET", "/healthz", (200, 200, 200, 200, 200, 200, 200)),
    ("GET", "/static/programme.css", (200, 200, 200, 200, 200, 200, 200)),
    ("GET", "/calls", (200, 200, 200, 200, 200, 200, 200)),
    ("GET", "/calls/{open_call}", (200, 200, 200, 200, 200, 200, 200)),
    ("GET", "/calls/{draft_call}", (404, 404, 404, 404, 200, 404, 404)),
    ("GET", "/calls/999999", (404, 404, 404, 404, 404, 404, 404)),
    ("GET", "/register", (200, 302, 302, 302, 302, 302, 302)),
    ("GET", "/login", (200, 200, 200, 200, 200, 200, 200)),
    ("POST", "/logout", (LOGIN, 302, 302, 302, 302, 302, 302)),
    ("GET", "/account", (LOGIN, 200, 200, 200, 200, 200, 200)),
    ("GET", "/notifications", (LOGIN, 200, 200, 200, 200, 200, 200)),
    # The notification centre: a person marks (or opens) only their own notifications ({notification_a} is the
    # applicant's); another's id typed in by hand, or an unknown one, is not found. "Mark all" marks one's own.
    ("POST", "/notifications/{notification_a}/read", (LOGIN, 302, 404, 404, 404, 404, 404)),
    ("POST", "/notifications/{notification_a}/open", (LOGIN, 302, 404, 404, 404, 404, 404)),
    ("POST", "/notifications/999999/read", (LOGIN, 404, 404, 404, 404, 404, 404)),
    ("POST", "/notifications/999999/open", (LOGIN, 404, 404, 404, 404, 404, 404)),
    ("POST", "/notifications/read", (LOGIN, 302, 302, 302, 302, 302, 302)),
    # The outbox: the programme managers see the mail not delivered and put a dead letter back in the queue.
    ("GET", "/notifications/outbox", (LOGIN, 403, 403, 403, 200, 403, 403)),
    ("POST", "/notifications/outbox/{dead_letter}/send-again", (LOGIN, 403, 403, 403, 302, 403, 403)),
    ("POST", "/notifications/outbox/999999/send-again", (LOGIN, 403, 403, 403, 404, 403, 403)),
    # a dead letter did not arrive: a manager's "it arrived" is refused with a message (back to the outbox)
    ("POST", "/notifications/outbox/{dead_letter}/arrived", (LOGIN, 403, 403, 403, 302, 403, 403)),
    ("POST", "/notifications/outbox/999999/arrived", (LOGIN, 403, 403, 403, 404, 403, 403)),
    ("GET", "/manage/users", (LOGIN, 403, 403, 403, 200, 403, 403)),
    ("GET", "/manage/users/new", (LOGIN, 403, 403, 403, 200, 403, 403)),
    # Registration answers alike for a new and a known address ("check your mailbox"); the address is proved
    # by a mailed link; enrolment, verification and reset links that name nothing are refused for everyone.
    ("POST", "/register", (200, 302, 302, 302, 302, 302, 302)),
    ("GET", "/confirm-address", (LOGIN, 302, 302, 302, 302, 302, 302)),
    ("POST", "/confirm-address/resend", (LOGIN, 302, 302, 302, 302, 302, 302)),
    ("GET", "/verify/{bogus_token}", (409, 409, 409, 409, 409, 409, 409)),
    ("POST", "/verify/{bogus_token}", (409, 409, 409, 409, 409, 409, 409)),
    ("GET", "/enrol/{bogus_token}", (409, 409, 409, 409, 409, 409, 409)),
    ("POST", "/enrol/{bogus_token}", (409, 409, 409, 409, 409, 409, 409)),
    ("GET", "/reset", (200, 200, 200, 200, 200, 200, 200)),
    ("POST", "/reset", (200, 200, 200, 200, 200, 200, 200)),
    ("GET", "/reset/{bogus_token}", (409, 409, 409, 409, 409, 409, 409)),
    ("POST", "/reset/{bogus_token}", (409, 409, 409, 409, 409, 409, 409)),
    ("POST", "/manage/users/{enrolling_user}/enrolment", (LOGIN, 403, 403, 403, 302, 403, 403)),
    ("POST", "/manage/users/999999/enrolment", (LOGIN, 403, 403, 403, 404, 403, 403)),
    # a guarded role asked for by a second manager: any other manager decides it
    ("POST", "/manage/role-requests/{role_request}/approve", (LOGIN, 403, 403, 403, 302, 403, 403)),
    ("POST", "/manage/role-requests/{role_request}/reject", (LOGIN, 403, 403, 403, 302, 403, 403)),
    ("POST", "/manage/role-requests/999999/approve", (LOGIN, 403, 403, 403, 404, 403, 403)),
    ("POST", "/manage/role-requests/999999/reject", (LOGIN, 403, 403, 403, 404, 403, 403)),
    ("GET", "/manage/users/{applicant_id}", (LOGIN, 403, 403, 403, 200, 403, 403)),
    ("GET", "/manage/users/999999", (LOGIN, 403, 403, 403, 404, 403, 403)),
    ("GET", "/groups", (LOGIN, 200, 200, 200, 200, 200, 200)),
    ("GET", "/groups/new", (LOGIN, 200, 200, 403, 403, 403, 403)),
    ("GET", "/groups/{group_a}", (LOGIN, 200, 404, 404, 200, 404, 404)),
    ("GET", "/groups/999999", (LOGIN, 404, 404, 404, 404, 404, 404)),
    ("GET", "/groups/{group_a}/edit", (LOGIN, 200, 404, 404, 403, 404, 404)),
    ("GET", "/groups/{group_a}/organisations/new", (LOGIN, 200, 404, 404, 403, 404, 404)),
    ("GET", "/groups/{group_a}/organisations/{org_a}", (LOGIN, 200, 404, 404, 403, 404, 404)),
    # group A's URL with group B's organisation id typed in: not found, even for group A's lead
    ("GET", "/groups/{group_a}/organisations/{org_b}", (LOGIN, 404, 404, 404, 403, 404, 404)),
    ("POST", "/groups/{group_a}/organisations/{org_a}/remove", (LOGIN, 302, 404, 404, 403, 404, 404)),
    ("POST", "/groups/{group_a}/organisations/{org_b}/remove", (LOGIN, 404, 404, 404, 403, 404, 404)),
    ("POST", "/groups/{group_a}/invite", (LOGIN, 302, 404, 404, 403, 404, 404)),
    ("POST", "/groups/{group_a}/invitations/{invitation_a}/revoke", (LOGIN, 302, 404, 404, 403, 404, 404)),
    ("POST", "/groups/{group_a}/members/{member_a_id}/remove", (LOGIN, 302, 404, 404, 403, 404, 404)),
    ("POST", "/groups/{group_a}/members/{member_a_id}/lead", (LOGIN, 302, 404, 404, 403, 404, 404)),
    ("GET", "/invitations/{invitation_b_token}", (LOGIN, 404, 404, 404, 404, 404, 404)),
    ("GET", "/invitations/{invitation_for_applicant}", (LOGIN, 200, 404, 404, 404, 404, 404)),
    ("POST", "/invitations/{invitation_for_applicant}", (LOGIN, 302, 404, 404, 404, 404, 404)),
    ("GET", "/manage/calls", (LOGIN, 403, 403, 403, 200, 403, 403)),
    ("GET", "/manage/calls/new", (LOGIN, 403, 403, 403, 200, 403, 403)),
    ("GET", "/manage/calls/{draft_call}", (LOGIN, 403, 403, 403, 200, 403, 403)),
    ("GET", "/manage/calls/999999", (LOGIN, 403, 403, 403, 404, 403, 403)),
    ("GET", "/manage/calls/{draft_call}/edit", (LOGIN, 403, 403, 403, 200, 403, 403)),
    ("POST", "/manage/calls/{draft_call}/open", (LOGIN, 403, 403, 403, 302, 403, 403)),
    ("POST", "/manage/calls/{open_call}/close", (LOGIN, 403, 403, 403, 302, 403, 403)),
    # A staged call's stages (issue 18): the manager's page and each draft stage's dates. A call that is not staged,
    # or a call that is not one of its stages typed in by hand, is not found.
    ("GET", "/manage/calls/{staged_call}/stages", (LOGIN, 403, 403, 403, 200, 403, 403)),
    ("GET", "/manage/calls/{open_call}/stages", (LOGIN, 403, 403, 403, 404, 403, 403)),
    ("GET", "/manage/calls/999999/stages", (LOGIN, 403, 403, 403, 404, 403, 403)),
    ("POST", "/manage/calls/{staged_call}/stages/{staged_stage}/dates", (LOGIN, 403, 403, 403, 200, 403, 403)),
    ("POST", "/manage/calls/{staged_call}/stages/{open_call}/dates", (LOGIN, 403, 403, 403, 404, 403, 403)),
    ("POST", "/manage/calls/{staged_call}/stages/999999/dates", (LOGIN, 403, 403, 403, 404, 403, 403)),
    # Proposals. Group A's proposal is submitted (version 1) and still editable; group B's is a draft.
    # Its own group edits it; a manager reads the overview, versions and files (403 on the editing pages);
    # everyone else gets 404, also for an id of the other group's activity, line or file in A's URL.
    ("GET", "/calls/{open_call}/proposals/new", (LOGIN, 200, 200, 403, 403, 403, 403)),
    ("POST", "/calls/{open_call}/proposals/new", (LOGIN, 200, 200, 403, 403, 403, 403)),
    ("GET", "/calls/{draft_call}/proposals/new", (LOGIN, 404, 404, 404, 403, 404, 404)),
    ("GET", "/calls/999999/proposals/new", (LOGIN, 404, 404, 404, 404, 404, 404)),
    ("GET", "/proposals", (LOGIN, 200, 200, 200, 200, 200, 200)),
    ("GET", "/proposals/{proposal_a}", (LOGIN, 200, 404, 404, 200, 404, 404)),
    ("GET", "/proposals/{proposal_b}", (LOGIN, 404, 200, 404, 200, 404, 404)),
    ("GET", "/proposals/999999", (LOGIN, 404, 404, 404, 404, 404, 404)),
    ("GET", "/proposals/{proposal_a}/cluster", (LOGIN, 200, 404, 404, 403, 404, 404)),
    ("POST", "/proposals/{proposal_a}/cluster", (LOGIN, 302, 404, 404, 403, 404, 404)),
    ("GET", "/proposals/{proposal_b}/cluster", (LOGIN, 404, 200, 404, 403, 404, 404)),
    ("GET", "/proposals/{proposal_a}/objectives", (LOGIN, 200, 404, 404, 403, 404, 404)),
    ("POST", "/proposals/{proposal_a}/objectives", (LOGIN, 302, 404, 404, 403, 404, 404)),
    ("GET", "/proposals/{proposal_a}/activities", (LOGIN, 200, 404, 404, 403, 404, 404)),
    ("POST", "/proposals/{proposal_a}/activities", (LOGIN, 200, 404, 404, 403, 404, 404)),
    ("GET", "/proposals/{proposal_a}/activities/{activity_a}", (LOGIN, 200, 404, 404, 403, 404, 404)),
    ("POST", "/proposals/{proposal_a}/activities/{activity_a}", (LOGIN, 200, 404, 404, 403, 404, 404)),
    ("GET", "/proposals/{proposal_a}/activities/{activity_b}", (LOGIN, 404, 404, 404, 403, 404, 404)),
    ("POST", "/proposals/{proposal_a}/activities/{activity_a}/remove", (LOGIN, 302, 404, 404, 403, 404, 404)),
    ("POST", "/proposals/{proposal_a}/activities/{activity_b}/remove", (LOGIN, 404, 404, 404, 403, 404, 404)),
    ("GET", "/proposals/{proposal_a}/budget", (LOGIN, 200, 404, 404, 403, 404, 404)),
    ("POST", "/proposals/{proposal_a}/budget/requested", (LOGIN, 200, 404, 404, 403, 404, 404)),
    ("POST", "/proposals/{proposal_a}/budget/lines", (LOGIN, 200, 404, 404, 403, 404, 404)),
    ("GET", "/proposals/{proposal_a}/budget/{line_a}", (LOGIN, 200, 404, 404, 403, 404, 404)),
    ("POST", "/proposals/{proposal_a}/budget/{line_a}", (LOGIN, 200, 404, 404, 403, 404, 404)),
    ("GET", "/proposals/{proposal_a}/budget/{line_b}", (LOGIN, 404, 404, 404, 403, 404, 404)),
    ("POST", "/proposals/{proposal_a}/budget/{line_a}/remove", (LOGIN, 302, 404, 404, 403, 404, 404)),
    ("POST", "/proposals/{proposal_a}/budget/{line_b}/remove", (LOGIN, 404, 404, 404, 403, 404, 404)),
    ("POST", "/proposals/{proposal_a}/cofinancing", (LOGIN, 200, 404, 404, 403, 404, 404)),
    ("POST", "/proposals/{proposal_a}/cofinancing/{cofinancing_a}/remove", (LOGIN, 302, 404, 404, 403, 404, 404)),
    ("POST", "/proposals/{proposal_a}/cofinancing/{cofinancing_b}/remove", (LOGIN, 404, 404, 404, 403, 404, 404)),
    ("GET", "/proposals/{proposal_a}/indicators", (LOGIN, 200, 404, 404, 403, 404, 404)),
    ("POST", "/proposals/{proposal_a}/indicators", (LOGIN, 200, 404, 404, 403, 404, 404)),
    ("POST", "/proposals/{proposal_a}/indicators/{indicator_a}/remove", (LOGIN, 302, 404, 404, 403, 404, 404)),
    ("POST", "/proposals/{proposal_a}/indicators/{indicator_b}/remove", (LOGIN, 404, 404, 404, 403, 404, 404)),
    ("GET", "/proposals/{proposal_a}/attachments", (LOGIN, 200, 404, 404, 403, 404, 404)),
    ("POST", "/proposals/{proposal_a}/attachments", (LOGIN, 200, 404, 404, 403, 404, 404)),
    ("GET", "/proposals/{proposal_a}/attachments/{attachment_a}", (LOGIN, 200, 404, 404, 200, 404, 404)),
    ("GET", "/proposals/{proposal_a}/attachments/{attachment_b}", (LOGIN, 404, 404, 404, 404, 404, 404)),
    ("GET", "/proposals/{proposal_b}/attachments/{attachment_b}", (LOGIN, 404, 200, 404, 200, 404, 404)),
    ("POST", "/proposals/{proposal_a}/attachments/{attachment_a}/remove", (LOGIN, 302, 404, 404, 403, 404, 404)),
    ("POST", "/proposals/{proposal_a}/attachments/{attachment_b}/remove", (LOGIN, 404, 404, 404, 403, 404, 404)),
    ("POST", "/proposals/{proposal_a}/submit", (LOGIN, 302, 404, 404, 403, 404, 404)),
    ("POST", "/proposals/{proposal_b}/submit", (LOGIN, 404, 302, 404, 403, 404, 404)),
    ("GET", "/proposals/{proposal_a}/submit", (LOGIN, 200, 404, 404, 403, 404, 404)),
    ("GET", "/proposals/{proposal_b}/submit", (LOGIN, 404, 200, 404, 403, 404, 404)),
    ("GET", "/proposals/999999/submit", (LOGIN, 404, 404, 404, 404, 404, 404)),
    ("POST", "/proposals/{proposal_a}/withdraw", (LOGIN, 302, 404, 404, 403, 404, 404)),
    ("GET", "/proposals/{proposal_a}/versions/1", (LOGIN, 200, 404, 404, 200, 404, 404)),
    ("GET", "/proposals/{proposal_a}/versions/2", (LOGIN, 404, 404, 404, 404, 404, 404)),
    ("GET", "/proposals/{proposal_b}/versions/1", (LOGIN, 404, 404, 404, 404, 404, 404)),
    ("GET", "/manage/calls/{open_call}/submissions", (LOGIN, 403, 403, 403, 200, 403, 403)),
    ("GET", "/manage/calls/{open_call}/submissions?status=submitted&eligibility=eligible&q=group&sort=requested&desc=1"
            "&page=2", (LOGIN, 403, 403, 403, 200, 403, 403)),
    ("GET", "/manage/calls/999999/submissions", (LOGIN, 403, 403, 403, 404, 403, 403)),
    ("GET", "/manage/calls/{open_call}/submissions.xlsx", (LOGIN, 403, 403, 403, 200, 403, 403)),
    ("POST", "/manage/proposals/{proposal_a}/eligibility", (LOGIN, 403, 403, 403, 302, 403, 403)),
    ("POST", "/manage/proposals/{proposal_b}/eligibility", (LOGIN, 403, 403, 403, 200, 403, 403)),
    ("POST", "/manage/proposals/999999/eligibility", (LOGIN, 403, 403, 403, 404, 403, 403)),
    # The review. The reviewer reviews group A's proposal in the call under review ({review_mine}); another
    # reviewer reviews group C's ({review_other}), with which the reviewer declared a conflict. The manager's
    # pages answer 403 to every other role; the reviewer's pages 403 to every other role; a review is seen by
    # its reviewer and the managers only (404 for anyone else, also for an id typed by hand).
    ("GET", "/calls/{review_call}/review", (LOGIN, 403, 403, 403, 200, 403, 403)),
    ("GET", "/calls/{open_call}/review", (LOGIN, 403, 403, 403, 200, 403, 403)),
    ("GET", "/calls/999999/review", (LOGIN, 403, 403, 403, 404, 403, 403)),
    ("GET", "/calls/{review_call}/review/reviewers", (LOGIN, 403, 403, 403, 200, 403, 403)),
    ("POST", "/calls/{review_call}/review/reviewers", (LOGIN, 403, 403, 403, 200, 403, 403)),
    ("POST", "/calls/{review_call}/review/reviewers/{reviewer_two_id}/remove", (LOGIN, 403, 403, 403, 302, 403, 403)),
    ("GET", "/calls/{review_call}/review/assignments", (LOGIN, 403, 403, 403, 200, 403, 403)),
    ("GET", "/calls/{review_call}/review/assignments?page=2", (LOGIN, 403, 403, 403, 200, 403, 403)),
    ("POST", "/calls/{review_call}/review/assignments/auto", (LOGIN, 403, 403, 403, 302, 403, 403)),
    ("POST", "/calls/{review_call}/review/assignments/add", (LOGIN, 403, 403, 403, 302, 403, 403)),
    ("POST", "/calls/{review_call}/review/start", (LOGIN, 403, 403, 403, 200, 403, 403)),
    ("POST", "/calls/{review_call}/review/deadline", (LOGIN, 403, 403, 403, 302, 403, 403)),
    ("GET", "/calls/{review_call}/review/scores?sort=disagreement", (LOGIN, 403, 403, 403, 200, 403, 403)),
    ("GET", "/calls/{review_call}/review/scores.xlsx", (LOGIN, 403, 403, 403, 200, 403, 403)),
    ("GET", "/calls/{review_call}/review/proposals/{review_proposal_a}", (LOGIN, 403, 403, 403, 200, 403, 403)),
    # a proposal of another call typed into the call's URL
    ("GET", "/calls/{review_call}/review/proposals/{proposal_a}", (LOGIN, 403, 403, 403, 404, 403, 403)),
    ("POST", "/calls/{review_call}/review/proposals/{review_proposal_a}/consensus",
     (LOGIN, 403, 403, 403, 200, 403, 403)),
    ("POST", "/calls/{review_call}/review/proposals/{review_proposal_a}/consensus/{criterion_key}/clear",
     (LOGIN, 403, 403, 403, 404, 403, 403)),
    ("POST", "/calls/{review_call}/review/proposals/{review_proposal_a}/decision",
     (LOGIN, 403, 403, 403, 200, 403, 403)),
    ("POST", "/calls/{review_call}/review/proposals/{proposal_a}/decision", (LOGIN, 403, 403, 403, 404, 403, 403)),
    ("GET", "/calls/{review_call}/review/calibration", (LOGIN, 403, 403, 403, 200, 403, 403)),
    ("GET", "/calls/{review_call}/review/ranking", (LOGIN, 403, 403, 403, 200, 403, 200)),
    ("GET", "/calls/{review_call}/review/ranking.xlsx", (LOGIN, 403, 403, 403, 200, 403, 200)),
    ("POST", "/calls/{review_call}/review/decide-as-ranked", (LOGIN, 403, 403, 403, 302, 403, 403)),
    ("POST", "/calls/{review_call}/review/publish", (LOGIN, 403, 403, 403, 302, 403, 403)),
    ("GET", "/calls/{review_call}/review/decide-as-ranked", (LOGIN, 403, 403, 403, 200, 403, 403)),
    ("GET", "/calls/{review_call}/review/publish", (LOGIN, 403, 403, 403, 200, 403, 403)),
    ("GET", "/calls/999999/review/decide-as-ranked", (LOGIN, 403, 403, 403, 404, 403, 403)),
    ("GET", "/calls/999999/review/publish", (LOGIN, 403, 403, 403, 404, 403, 403)),
    ("GET", "/reviews/{review_mine}/move", (LOGIN, 403, 403, 403, 200, 403, 403)),
    ("POST", "/reviews/{review_mine}/move", (LOGIN, 403, 403, 403, 302, 403, 403)),
    ("GET", "/reviews/999999/move", (LOGIN, 403, 403, 403, 404, 403, 403)),
    ("POST", "/reviews/{review_mine}/unassign", (LOGIN, 403, 403, 403, 302, 403, 403)),
    ("POST", "/reviews/{review_mine}/reopen", (LOGIN, 403, 403, 403, 200, 403, 403)),
    ("GET", "/reviewing", (LOGIN, 403, 403, 200, 403, 403, 403)),
    ("GET", "/reviewing/calls/{review_call}", (LOGIN, 403, 403, 200, 403, 403, 403)),
    ("GET", "/reviewing/calls/{open_call}", (LOGIN, 403, 403, 404, 403, 403, 403)),
    ("GET", "/reviewing/calls/999999", (LOGIN, 403, 403, 404, 403, 403, 403)),
    ("POST", "/reviewing/calls/{review_call}/expertise", (LOGIN, 403, 403, 302, 403, 403, 403)),
    ("POST", "/reviewing/calls/{review_call}/conflicts", (LOGIN, 403, 403, 200, 403, 403, 403)),
    ("POST", "/reviewing/calls/{review_call}/conflicts/{conflict_mine}/withdraw",
     (LOGIN, 403, 403, 302, 403, 403, 403)),
    ("GET", "/reviews/{review_mine}", (LOGIN, 404, 404, 200, 200, 404, 404)),
    ("POST", "/reviews/{review_mine}", (LOGIN, 404, 404, 302, 403, 404, 404)),
    ("GET", "/reviews/{review_other}", (LOGIN, 404, 404, 404, 200, 404, 404)),
    ("POST", "/reviews/{review_other}", (LOGIN, 404, 404, 404, 403, 404, 404)),
    ("GET", "/reviews/999999", (LOGIN, 404, 404, 404, 404, 404, 404)),
    ("GET", "/reviews/{review_mine}/submit", (LOGIN, 404, 404, 200, 403, 404, 404)),
    ("POST", "/reviews/{review_mine}/submit", (LOGIN, 404, 404, 302, 403, 404, 404)),
    ("GET", "/reviews/{review_other}/submit", (LOGIN, 404, 404, 404, 403, 404, 404)),
    ("POST", "/reviews/{review_other}/submit", (LOGIN, 404, 404, 404, 403, 404, 404)),
    ("GET", "/reviews/999999/submit", (LOGIN, 404, 404, 404, 404, 404, 404)),
    ("GET", "/reviews/{review_mine}/attachments/{review_attachment}", (LOGIN, 404, 404, 200, 200, 404, 404)),
    # another proposal's file typed into the review's URL
    ("GET", "/reviews/{review_mine}/attachments/{review_attachment_other}", (LOGIN, 404, 404, 404, 404, 404, 404)),
    ("GET", "/reviews/{review_other}/attachments/{review_attachment_other}", (LOGIN, 404, 404, 404, 200, 404, 404)),
    # Initiatives and their start-up grants. Group A's initiative has a requested disbursement ({disbursement_a},
    # requested by the manager) and an approved one ({approved_a}); group B's has a requested one, whose id is
    # typed into the disbursement URLs by group A's lead. The list answers 403 to a reviewer; an initiative or
    # disbursement one may not see answers 404; one seen but not handled (its group's applicant) 403.
    ("GET", "/initiatives", (LOGIN, 200, 200, 403, 200, 200, 200)),
    ("GET", "/initiatives/{initiative_a}", (LOGIN, 200, 404, 404, 200, 200, 200)),
    ("GET", "/initiatives/{initiative_b}", (LOGIN, 404, 200, 404, 200, 200, 200)),
    ("GET", "/initiatives/999999", (LOGIN, 404, 404, 404, 404, 404, 404)),
    ("POST", "/initiatives/{initiative_a}/disbursements", (LOGIN, 403, 404, 404, 302, 302, 403)),
    ("POST", "/initiatives/{initiative_b}/disbursements", (LOGIN, 404, 403, 404, 302, 302, 403)),
    ("POST", "/initiatives/999999/disbursements", (LOGIN, 404, 404, 404, 404, 404, 404)),
    # the manager requested it, so its approval is refused on the page (200); the fund administrator approves
    ("POST", "/disbursements/{disbursement_a}/approve", (LOGIN, 403, 404, 404, 200, 302, 403)),
    ("POST", "/disbursements/{disbursement_b}/approve", (LOGIN, 404, 403, 404, 200, 302, 403)),
    ("POST", "/disbursements/999999/approve", (LOGIN, 404, 404, 404, 404, 404, 404)),
    ("POST", "/disbursements/{disbursement_a}/reject", (LOGIN, 403, 404, 404, 302, 302, 403)),
    ("POST", "/disbursements/{disbursement_b}/reject", (LOGIN, 404, 403, 404, 302, 302, 403)),
    ("POST", "/disbursements/999999/reject", (LOGIN, 404, 404, 404, 404, 404, 404)),
    # only a fund administrator pays, and only an approved disbursement (a requested one: refused on the page)
    ("POST", "/disbursements/{approved_a}/pay", (LOGIN, 403, 404, 404, 403, 302, 403)),
    ("POST", "/disbursements/{disbursement_a}/pay", (LOGIN, 403, 404, 404, 403, 200, 403)),
    ("POST", "/disbursements/{disbursement_b}/pay", (LOGIN, 404, 403, 404, 403, 200, 403)),
    ("POST", "/disbursements/999999/pay", (LOGIN, 404, 404, 404, 404, 404, 404)),
    # Funding requests and co-financing (issue 5). Each initiative has a submitted funding request, a matching
    # grant and a contribution to it recorded by its group's lead. A reviewer sees none of it (404); someone who
    # sees the initiative without the role gets 403.
    ("POST", "/initiatives/{initiative_a}/funding-requests", (LOGIN, 302, 404, 404, 302, 403, 403)),
    ("POST", "/initiatives/{initiative_b}/funding-requests", (LOGIN, 404, 302, 404, 302, 403, 403)),
    ("POST", "/initiatives/999999/funding-requests", (LOGIN, 404, 404, 404, 404, 404, 404)),
    ("POST", "/funding-requests/{funding_request_a}/judge", (LOGIN, 403, 404, 404, 302, 403, 403)),
    ("POST", "/funding-requests/999999/judge", (LOGIN, 404, 404, 404, 404, 404, 404)),
    # (no verified co-financing yet: the handlers' request is refused on the page with the figure)
    ("POST", "/initiatives/{initiative_a}/grants/{matching_a}/disbursements", (LOGIN, 403, 404, 404, 200, 200, 403)),
    # group B's matching grant, or group A's start-up grant, typed into group A's URL
    ("POST", "/initiatives/{initiative_a}/grants/{matching_b}/disbursements", (LOGIN, 403, 404, 404, 404, 404, 403)),
    ("POST", "/initiatives/{initiative_a}/grants/{startup_a}/disbursements", (LOGIN, 403, 404, 404, 404, 404, 403)),
    ("POST", "/initiatives/{initiative_a}/contributions", (LOGIN, 200, 404, 404, 403, 200, 403)),
    ("POST", "/initiatives/999999/contributions", (LOGIN, 404, 404, 404, 404, 404, 404)),
    ("POST", "/contributions/{contribution_a}/verify", (LOGIN, 403, 404, 404, 403, 302, 403)),
    ("POST", "/contributions/{contribution_b}/verify", (LOGIN, 404, 403, 404, 403, 302, 403)),
    ("POST", "/contributions/999999/verify", (LOGIN, 404, 404, 404, 404, 404, 404)),
    ("POST", "/contributions/{contribution_a}/reject", (LOGIN, 403, 404, 404, 403, 302, 403)),
    ("POST", "/contributions/999999/reject", (LOGIN, 404, 404, 404, 404, 404, 404)),
    ("GET", "/contributions/{contribution_a}/evidence", (LOGIN, 200, 404, 404, 200, 200, 200)),
    ("GET", "/contributions/{contribution_b}/evidence", (LOGIN, 404, 200, 404, 200, 200, 200)),
    ("GET", "/contributions/999999/evidence", (LOGIN, 404, 404, 404, 404, 404, 404)),
    # The facilitation fund (issue 18, seed 003 section 8). Each initiative has a claim submitted by its group's lead;
    # only the lead claims (the form posted without evidence is refused on the page), a fund administrator verifies
    # or refuses; group B's claim and cost item are typed into group A's URLs.
    ("GET", "/initiatives/{initiative_a}/facilitation-claims", (LOGIN, 200, 404, 404, 403, 403, 403)),
    ("GET", "/initiatives/{initiative_b}/facilitation-claims", (LOGIN, 404, 200, 404, 403, 403, 403)),
    ("GET", "/initiatives/999999/facilitation-claims", (LOGIN, 404, 404, 404, 404, 404, 404)),
    ("POST", "/initiatives/{initiative_a}/facilitation-claims", (LOGIN, 200, 404, 404, 403, 403, 403)),
    ("POST", "/initiatives/{initiative_b}/facilitation-claims", (LOGIN, 404, 200, 404, 403, 403, 403)),
    ("POST", "/initiatives/999999/facilitation-claims", (LOGIN, 404, 404, 404, 404, 404, 404)),
    ("GET", "/facilitation-claims/{facilitation_claim_a}", (LOGIN, 200, 404, 404, 200, 200, 200)),
    ("GET", "/facilitation-claims/{facilitation_claim_b}", (LOGIN, 404, 200, 404, 200, 200, 200)),
    ("GET", "/facilitation-claims/999999", (LOGIN, 404, 404, 404, 404, 404, 404)),
    ("POST", "/facilitation-claims/{facilitation_claim_a}/verify", (LOGIN, 403, 404, 404, 403, 302, 403)),
    ("POST", "/facilitation-claims/{facilitation_claim_b}/verify", (LOGIN, 404, 403, 404, 403, 302, 403)),
    ("POST", "/facilitation-claims/999999/verify", (LOGIN, 404, 404, 404, 404, 404, 404)),
    ("POST", "/facilitation-claims/{facilitation_claim_a}/refuse", (LOGIN, 403, 404, 404, 403, 302, 403)),
    ("POST", "/facilitation-claims/{facilitation_claim_b}/refuse", (LOGIN, 404, 403, 404, 403, 302, 403)),
    ("POST", "/facilitation-claims/999999/refuse", (LOGIN, 404, 404, 404, 404, 404, 404)),
    ("GET", "/facilitation-claims/{facilitation_claim_a}/items/{facilitation_item_a}/evidence",
     (LOGIN, 200, 404, 404, 200, 200, 200)),
    ("GET", "/facilitation-claims/{facilitation_claim_b}/items/{facilitation_item_b}/evidence",
     (LOGIN, 404, 200, 404, 200, 200, 200)),
    # group B's cost item typed into group A's claim
    ("GET", "/facilitation-claims/{facilitation_claim_a}/items/{facilitation_item_b}/evidence",
     (LOGIN, 404, 404, 404, 404, 404, 404)),
    ("GET", "/facilitation-claims/999999/items/1/evidence", (LOGIN, 404, 404, 404, 404, 404, 404)),
    # Scorecards (issue 6). Group A's initiative has its scorecard started, group B's too; B's KPI id is typed into
    # A's routes. The group and the managers edit; a fund administrator reads; others get 404.
    ("GET", "/initiatives/{initiative_a}/scorecard", (LOGIN, 200, 404, 404, 200, 200, 200)),
    ("GET", "/initiatives/{initiative_b}/scorecard", (LOGIN, 404, 200, 404, 200, 200, 200)),
    ("GET", "/initiatives/999999/scorecard", (LOGIN, 404, 404, 404, 404, 404, 404)),
    # started already: a second start is refused on the form
    ("POST", "/initiatives/{initiative_a}/scorecard", (LOGIN, 422, 404, 404, 422, 403, 403)),
    ("POST", "/initiatives/{initiative_a}/scorecard/kpis", (LOGIN, 302, 404, 404, 302, 403, 403)),
    ("POST", "/initiatives/999999/scorecard/kpis", (LOGIN, 404, 404, 404, 404, 404, 404)),
    ("POST", "/scorecard-kpis/{kpi_a}", (LOGIN, 302, 404, 404, 302, 403, 403)),
    ("POST", "/scorecard-kpis/{kpi_b}", (LOGIN, 404, 302, 404, 302, 403, 403)),
    ("POST", "/scorecard-kpis/999999", (LOGIN, 404, 404, 404, 404, 404, 404)),
    ("POST", "/scorecard-kpis/{kpi_a}/drop", (LOGIN, 302, 404, 404, 302, 403, 403)),
    ("POST", "/scorecard-kpis/999999/drop", (LOGIN, 404, 404, 404, 404, 404, 404)),
    ("POST", "/scorecard-kpis/{dropped_kpi_a}/restore", (LOGIN, 302, 404, 404, 302, 403, 403)),
    ("POST", "/scorecard-kpis/999999/restore", (LOGIN, 404, 404, 404, 404, 404, 404)),
    # Self-evaluation reports (issue 6): each initiative has its first period's report open as a draft; B's report
    # id is typed into A's routes. The group and the managers write; a fund administrator reads; others get 404.
    ("GET", "/initiatives/{initiative_a}/reports", (LOGIN, 200, 404, 404, 200, 200, 200)),
    ("GET", "/initiatives/{initiative_b}/reports", (LOGIN, 404, 200, 404, 200, 200, 200)),
    ("GET", "/initiatives/999999/reports", (LOGIN, 404, 404, 404, 404, 404, 404)),
    ("POST", "/initiatives/{initiative_a}/reports", (LOGIN, 302, 404, 404, 302, 403, 403)),
    ("POST", "/initiatives/999999/reports", (LOGIN, 404, 404, 404, 404, 404, 404)),
    ("GET", "/reports/{report_a}", (LOGIN, 200, 404, 404, 200, 200, 200)),
    ("GET", "/reports/{report_b}", (LOGIN, 404, 200, 404, 200, 200, 200)),
    ("GET", "/reports/999999", (LOGIN, 404, 404, 404, 404, 404, 404)),
    ("POST", "/reports/{report_a}", (LOGIN, 302, 404, 404, 302, 403, 403)),
    ("POST", "/reports/{report_b}", (LOGIN, 404, 302, 404, 302, 403, 403)),
    ("POST", "/reports/999999", (LOGIN, 404, 404, 404, 404, 404, 404)),
    # incomplete (no narrative, no values): refused on the form
    ("POST", "/reports/{report_a}/submit", (LOGIN, 422, 404, 404, 422, 403, 403)),
    ("POST", "/reports/999999/submit", (LOGIN, 404, 404, 404, 404, 404, 404)),
    ("GET", "/reports", (LOGIN, 403, 403, 403, 200, 200, 403)),
    ("GET", "/reports?state=submitted", (LOGIN, 403, 403, 403, 200, 200, 403)),
    ("GET", "/reports?state=nonsense", (LOGIN, 403, 403, 403, 404, 404, 403)),
    # Milestone reviews: the manager decides; the group and the fund administrators read.
    ("GET", "/initiatives/{initiative_a}/milestone-reviews", (LOGIN, 200, 404, 404, 200, 200, 200)),
    ("GET", "/initiatives/{initiative_b}/milestone-reviews", (LOGIN, 404, 200, 404, 200, 200, 200)),
    ("GET", "/initiatives/999999/milestone-reviews", (LOGIN, 404, 404, 404, 404, 404, 404)),
    ("POST", "/initiatives/{initiative_a}/milestone-reviews", (LOGIN, 403, 404, 404, 302, 403, 403)),
    ("POST", "/initiatives/{initiative_b}/milestone-reviews", (LOGIN, 404, 403, 404, 302, 403, 403)),
    ("POST", "/initiatives/999999/milestone-reviews", (LOGIN, 404, 404, 404, 404, 404, 404)),
    # Benchmarking: both initiatives share the template's KPIs; a group sees the others without names.
    ("GET", "/benchmarking", (LOGIN, 200, 200, 403, 200, 200, 403)),
    ("GET", "/benchmarking/{kpi_key}", (LOGIN, 200, 200, 404, 200, 200, 404)),
    ("GET", "/benchmarking/no_such_kpi", (LOGIN, 404, 404, 404, 404, 404, 404)),
    ("POST", "/benchmarking/{kpi_key}/publication", (LOGIN, 403, 403, 403, 302, 403, 403)),
    ("POST", "/benchmarking/{kpi_key}/publication/withdraw", (LOGIN, 403, 403, 403, 302, 403, 403)),
    ("GET", "/kpi-matrix.xlsx", (LOGIN, 403, 403, 403, 200, 200, 403)),
    # The programme dashboard, and its public version (no login, no personal data).
    ("GET", "/dashboard", (LOGIN, 403, 403, 403, 200, 200, 200)),
    ("GET", "/dashboard.xlsx", (LOGIN, 403, 403, 403, 200, 200, 200)),
    # The contest's validity of a decided call (the reviewers' scores against the initiatives' progress): the
    # readers of the ranking only; a call not decided, or unknown, is not found.
    ("GET", "/dashboard/targets.xlsx", (LOGIN, 403, 403, 403, 200, 200, 200)),
    ("GET", "/dashboard/validity/{decided_call}", (LOGIN, 403, 403, 403, 200, 403, 200)),
    ("GET", "/dashboard/validity/{decided_call}.xlsx", (LOGIN, 403, 403, 403, 200, 403, 200)),
    ("GET", "/dashboard/validity/{open_call}", (LOGIN, 403, 403, 403, 404, 403, 404)),
    ("GET", "/dashboard/validity/999999", (LOGIN, 403, 403, 403, 404, 403, 404)),
    ("GET", "/programme-figures", (200, 200, 200, 200, 200, 200, 200)),
    # Revolving funds and loans. Each initiative's fund is capitalised and has lent to one of its members.
    # The JSON API (issue 19): the same rules through a personal access token (read and write) of each role;
    # anonymous sends none (401 where a token is needed). The session cookie is ignored there.
    ("GET", "/api/v1/openapi.json", (200, 200, 200, 200, 200, 200, 200)),
    ("GET", "/api/v1/docs", (200, 200, 200, 200, 200, 200, 200)),
    ("GET", "/api/v1/docs/viewer", (200, 200, 200, 200, 200, 200, 200)),
    ("GET", "/api/v1/calls", (200, 200, 200, 200, 200, 200, 200)),
    ("GET", "/api/v1/calls/{open_call}", (200, 200, 200, 200, 200, 200, 200)),
    ("GET", "/api/v1/calls/{draft_call}", (404, 404, 404, 404, 200, 404, 404)),
    ("GET", "/api/v1/calls/999999", (404, 404, 404, 404, 404, 404, 404)),
    ("GET", "/api/v1/programme-figures", (200, 200, 200, 200, 200, 200, 200)),
    ("GET", "/api/v1/funds", (401, 200, 200, 403, 200, 200, 200)),
    ("GET", "/api/v1/funds/{fund_a}", (401, 200, 404, 404, 200, 200, 200)),
    ("GET", "/api/v1/funds/{fund_b}", (401, 404, 200, 404, 200, 200, 200)),
    ("GET", "/api/v1/funds/999999", (401, 404, 404, 404, 404, 404, 404)),
    ("GET", "/api/v1/loans", (401, 200, 200, 403, 200, 200, 200)),
    ("GET", "/api/v1/loans/{loan_a}", (401, 200, 404, 404, 200, 200, 200)),
    ("GET", "/api/v1/loans/{loan_b}", (401, 404, 200, 404, 200, 200, 200)),
    ("GET", "/api/v1/loans/999999", (401, 404, 404, 404, 404, 404, 404)),
    ("POST", "/api/v1/loans/{loan_a}/repayments", (401, 403, 404, 404, 403, 201, 403)),
    ("POST", "/api/v1/loans/999999/repayments", (401, 404, 404, 404, 404, 404, 404)),
    ("GET", "/api/v1/proposals", (401, 200, 200, 200, 200, 200, 200)),
    ("GET", "/api/v1/proposals/{proposal_a}", (401, 200, 404, 404, 200, 404, 404)),
    ("GET", "/api/v1/proposals/{proposal_a}/versions/1", (401, 200, 404, 404, 200, 404, 404)),
    ("GET", "/api/v1/proposals/{proposal_a}/versions/2", (401, 404, 404, 404, 404, 404, 404)),
    ("GET", "/api/v1/proposals/999999", (401, 404, 404, 404, 404, 404, 404)),
    ("GET", "/api/v1/initiatives", (401, 200, 200, 403, 200, 200, 200)),
    ("GET", "/api/v1/initiatives/{initiative_a}", (401, 200, 404, 404, 200, 200, 200)),
    ("GET", "/api/v1/initiatives/999999", (401, 404, 404, 404, 404, 404, 404)),
    ("POST", "/api/v1/initiatives/{initiative_a}/grants/{startup_a}/disbursements",
     (401, 403, 404, 404, 201, 201, 403)),
    ("POST", "/api/v1/initiatives/{initiative_a}/grants/999999/disbursements", (401, 404, 404, 404, 404, 404, 404)),
    ("GET", "/api/v1/initiatives/{initiative_a}/reports", (401, 200, 404, 404, 200, 200, 200)),
    ("GET", "/api/v1/reports/{report_a}", (401, 200, 404, 404, 200, 200, 200)),
    ("GET", "/api/v1/reports/999999", (401, 404, 404, 404, 404, 404, 404)),
    ("POST", "/api/v1/reports/{report_a}/values", (401, 200, 404, 404, 200, 403, 403)),
    ("GET", "/api/v1/ledger/trial-balance", (401, 403, 403, 403, 200, 200, 200)),
    ("GET", "/api/v1/ledger/entries", (401, 403, 403, 403, 200, 200, 200)),
    # Personal access tokens on the account page: a person revokes only their own ({token_a} is the applicant's).
    # The language switch: anyone (a visitor's choice is kept in the session, a person's on the account).
    ("POST", "/language", (302, 302, 302, 302, 302, 302, 302)),
    ("GET", "/account/tokens", (LOGIN, 200, 200, 200, 200, 200, 200)),
    ("POST", "/account/tokens", (LOGIN, 200, 200, 200, 200, 200, 200)),
    ("POST", "/account/tokens/{token_a}/revoke", (LOGIN, 302, 404, 404, 404, 404, 404)),
    ("POST", "/account/tokens/999999/revoke", (LOGIN, 404, 404, 404, 404, 404, 404)),
    ("GET", "/funds", (LOGIN, 200, 200, 403, 200, 200, 200)),
    ("GET", "/funds/{fund_a}", (LOGIN, 200, 404, 404, 200, 200, 200)),
    ("GET", "/funds/{fund_b}", (LOGIN, 404, 200, 404, 200, 200, 200)),
    ("GET", "/funds/999999", (LOGIN, 404, 404, 404, 404, 404, 404)),
    # Foresight (issue 18): a fund's projection for whoever sees its page (another group's fund typed by hand: 404
    # as on the fund page), the programme's for managers, fund administrators and auditors; a scenario is a link.
    ("GET", "/funds/{fund_a}/foresight", (LOGIN, 200, 404, 404, 200, 200, 200)),
    ("GET", "/funds/{fund_b}/foresight", (LOGIN, 404, 200, 404, 200, 200, 200)),
    ("GET", "/funds/{fund_a}/foresight?default_rate=5&loss_given_default=50&new_lending=1000.00",
     (LOGIN, 200, 404, 404, 200, 200, 200)),
    ("GET", "/funds/999999/foresight", (LOGIN, 404, 404, 404, 404, 404, 404)),
    ("GET", "/funds/{fund_a}/foresight.xlsx", (LOGIN, 200, 404, 404, 200, 200, 200)),
    ("GET", "/funds/{fund_b}/foresight.xlsx", (LOGIN, 404, 200, 404, 200, 200, 200)),
    ("GET", "/funds/999999/foresight.xlsx", (LOGIN, 404, 404, 404, 404, 404, 404)),
    ("GET", "/funds/foresight", (LOGIN, 403, 403, 403, 200, 200, 200)),
    ("GET", "/funds/foresight?prepayment_rate=10", (LOGIN, 403, 403, 403, 200, 200, 200)),
    ("GET", "/funds/foresight.xlsx", (LOGIN, 403, 403, 403, 200, 200, 200)),
    ("GET", "/initiatives/{initiative_a}/fund", (LOGIN, 302, 404, 404, 302, 302, 302)),
    ("GET", "/initiatives/999999/fund", (LOGIN, 404, 404, 404, 404, 404, 404)),
    ("POST", "/initiatives/{initiative_a}/fund", (LOGIN, 403, 404, 404, 403, 302, 403)),
    ("POST", "/funds/{fund_a}/capitalisations", (LOGIN, 403, 404, 404, 403, 302, 403)),
    ("POST", "/funds/{fund_b}/capitalisations", (LOGIN, 404, 403, 404, 403, 302, 403)),
    ("POST", "/funds/999999/capitalisations", (LOGIN, 404, 404, 404, 404, 404, 404)),
    ("GET", "/funds/{fund_a}/loans/new", (LOGIN, 403, 404, 404, 403, 200, 403)),
    ("POST", "/funds/{fund_a}/loans/new", (LOGIN, 403, 404, 404, 403, 200, 403)),
    ("GET", "/funds/999999/loans/new", (LOGIN, 404, 404, 404, 404, 404, 404)),
    ("GET", "/loans", (LOGIN, 200, 200, 403, 200, 200, 200)),
    ("GET", "/loans.xlsx", (LOGIN, 403, 403, 403, 200, 200, 200)),
    ("GET", "/loans/{loan_a}", (LOGIN, 200, 404, 404, 200, 200, 200)),
    ("GET", "/loans/{loan_b}", (LOGIN, 404, 200, 404, 200, 200, 200)),
    ("GET", "/loans/999999", (LOGIN, 404, 404, 404, 404, 404, 404)),
    ("GET", "/loans/{loan_a}/schedule.xlsx", (LOGIN, 200, 404, 404, 200, 200, 200)),
    ("GET", "/loans/{loan_b}/schedule.xlsx", (LOGIN, 404, 200, 404, 200, 200, 200)),
    ("GET", "/loans/999999/schedule.xlsx", (LOGIN, 404, 404, 404, 404, 404, 404)),
    ("POST", "/loans/{loan_a}/repayments", (LOGIN, 403, 404, 404, 403, 302, 403)),
    ("POST", "/loans/{loan_b}/repayments", (LOGIN, 404, 403, 404, 403, 302, 403)),
    ("POST", "/loans/999999/repayments", (LOGIN, 404, 404, 404, 404, 404, 404)),
    ("POST", "/loans/{loan_a}/reschedule", (LOGIN, 403, 404, 404, 403, 302, 403)),
    ("POST", "/loans/999999/reschedule", (LOGIN, 404, 404, 404, 404, 404, 404)),
    # Loan a is guaranteed (below): a fund administrator's write-off is refused beside its field (200) until the
    # guarantees are called or released; tests/loans cover the write-off itself.
    ("POST", "/loans/{loan_a}/write-off", (LOGIN, 403, 404, 404, 403, 200, 403)),
    ("POST", "/loans/999999/write-off", (LOGIN, 404, 404, 404, 404, 404, 404)),
    # no credit to refund: the administrator's form is refused on the page
    ("POST", "/loans/{loan_a}/refund", (LOGIN, 403, 404, 404, 403, 200, 403)),
    ("POST", "/loans/999999/refund", (LOGIN, 404, 404, 404, 404, 404, 404)),
    ("GET", "/bank-statements", (LOGIN, 403, 403, 403, 403, 200, 403)),
    ("POST", "/bank-statements", (LOGIN, 403, 403, 403, 403, 200, 403)),
    # Four eyes: a statement checked by a second administrator waits for another to apply it; a write-off of
    # group B's loan asked for by a second administrator waits for another person to approve it.
    ("POST", "/bank-statements/{statement}/apply", (LOGIN, 403, 403, 403, 403, 302, 403)),
    ("POST", "/bank-statements/{statement}/reject", (LOGIN, 403, 403, 403, 403, 302, 403)),
    ("POST", "/bank-statements/999999/apply", (LOGIN, 403, 403, 403, 403, 404, 403)),
    ("GET", "/loan-approvals", (LOGIN, 403, 403, 403, 200, 200, 403)),
    ("POST", "/loan-approvals/{loan_approval}/approve", (LOGIN, 404, 403, 404, 302, 302, 403)),
    ("POST", "/loan-approvals/{loan_approval}/reject", (LOGIN, 404, 403, 404, 302, 302, 403)),
    ("POST", "/loan-approvals/999999/approve", (LOGIN, 404, 404, 404, 404, 404, 404)),
    # Mutual guarantees (issue 18): loan a is guaranteed (guarantee_a); loan_g, of fund a, is long in default and its
    # guarantees were called (obligation_a). Fund administrators act; a second person (a fund administrator or a
    # manager) decides a call or a write-off; another group's loan or a guarantee of another loan typed by hand: 404.
    ("POST", "/loans/{loan_a}/guarantees", (LOGIN, 403, 404, 404, 403, 302, 403)),
    ("POST", "/loans/{loan_b}/guarantees", (LOGIN, 404, 403, 404, 403, 200, 403)),
    ("POST", "/loans/999999/guarantees", (LOGIN, 404, 404, 404, 404, 404, 404)),
    ("POST", "/loans/{loan_a}/guarantees/{guarantee_a}/release", (LOGIN, 403, 404, 404, 403, 302, 403)),
    ("POST", "/loans/{loan_b}/guarantees/{guarantee_a}/release", (LOGIN, 404, 403, 404, 403, 404, 403)),
    ("POST", "/loans/{loan_a}/guarantees/999999/release", (LOGIN, 403, 404, 404, 403, 404, 403)),
    ("POST", "/loans/{loan_g}/guarantee-call", (LOGIN, 403, 404, 404, 403, 200, 403)),
    ("POST", "/loans/{loan_b}/guarantee-call", (LOGIN, 404, 403, 404, 403, 200, 403)),
    ("POST", "/loans/999999/guarantee-call", (LOGIN, 404, 404, 404, 404, 404, 404)),
    ("POST", "/loans/{loan_g}/guarantee-call/approve", (LOGIN, 403, 404, 404, 302, 302, 403)),
    ("POST", "/loans/{loan_b}/guarantee-call/approve", (LOGIN, 404, 403, 404, 302, 302, 403)),
    ("POST", "/loans/999999/guarantee-call/approve", (LOGIN, 404, 404, 404, 404, 404, 404)),
    ("POST", "/loans/{loan_g}/guarantee-call/reject", (LOGIN, 403, 404, 404, 302, 302, 403)),
    ("POST", "/loans/999999/guarantee-call/reject", (LOGIN, 404, 404, 404, 404, 404, 404)),
    ("POST", "/loans/{loan_g}/obligations/{obligation_a}/collections", (LOGIN, 403, 404, 404, 403, 302, 403)),
    ("POST", "/loans/{loan_a}/obligations/{obligation_a}/collections", (LOGIN, 403, 404, 404, 403, 404, 403)),
    ("POST", "/loans/{loan_b}/obligations/{obligation_a}/collections", (LOGIN, 404, 403, 404, 403, 404, 403)),
    ("POST", "/loans/999999/obligations/999999/collections", (LOGIN, 404, 404, 404, 404, 404, 404)),
    ("POST", "/loans/{loan_g}/obligations/{obligation_a}/write-off", (LOGIN, 403, 404, 404, 403, 302, 403)),
    ("POST", "/loans/{loan_b}/obligations/{obligation_a}/write-off", (LOGIN, 404, 403, 404, 403, 404, 403)),
    ("POST", "/loans/{loan_g}/obligations/999999/write-off", (LOGIN, 403, 404, 404, 403, 404, 403)),
    ("POST", "/loans/{loan_g}/obligations/{obligation_a}/write-off/approve", (LOGIN, 403, 404, 404, 302, 302, 403)),
    ("POST", "/loans/{loan_b}/obligations/{obligation_a}/write-off/approve", (LOGIN, 404, 403, 404, 404, 404, 403)),
    ("POST", "/loans/{loan_g}/obligations/{obligation_a}/write-off/reject", (LOGIN, 403, 404, 404, 302, 302, 403)),
    ("POST", "/loans/999999/obligations/999999/write-off/reject", (LOGIN, 404, 404, 404, 404, 404, 404)),
    # Refunding a guarantor's credit (four eyes): obligation_a holds no credit, so a fund administrator's request is
    # refused beside its field (200); a decision finds none waiting and says so (302).
    ("POST", "/loans/{loan_g}/obligations/{obligation_a}/credit-refund", (LOGIN, 403, 404, 404, 403, 200, 403)),
    ("POST", "/loans/{loan_b}/obligations/{obligation_a}/credit-refund", (LOGIN, 404, 403, 404, 403, 404, 403)),
    ("POST", "/loans/{loan_g}/obligations/999999/credit-refund", (LOGIN, 403, 404, 404, 403, 404, 403)),
    ("POST", "/loans/{loan_g}/obligations/{obligation_a}/credit-refund/approve",
     (LOGIN, 403, 404, 404, 302, 302, 403)),
    ("POST", "/loans/{loan_b}/obligations/{obligation_a}/credit-refund/approve",
     (LOGIN, 404, 403, 404, 404, 404, 403)),
    ("POST", "/loans/{loan_g}/obligations/{obligation_a}/credit-refund/reject", (LOGIN, 403, 404, 404, 302, 302, 403)),
    ("POST", "/loans/999999/obligations/999999/credit-refund/reject", (LOGIN, 404, 404, 404, 404, 404, 404)),
    # The ledger: managers, fund administrators and auditors.
    ("GET", "/ledger", (LOGIN, 403, 403, 403, 200, 200, 200)),
    # running the checks now keeps a run: managers and fund administrators, never the auditor
    ("POST", "/ledger/checks", (LOGIN, 403, 403, 403, 302, 302, 403)),
    ("GET", "/ledger/trial-balance.xlsx", (LOGIN, 403, 403, 403, 200, 200, 200)),
    ("GET", "/ledger/entries.xlsx?date_from=2020-01-01&date_to={today}", (LOGIN, 403, 403, 403, 200, 200, 200)),
    # The audit log: programme managers and auditors read it and export it (GET only; a bad filter answers 400).
    ("GET", "/audit", (LOGIN, 403, 403, 403, 200, 403, 200)),
    ("GET", "/audit?object_type=Loan&object_id={loan_a}&action=loans.&date_from=2020-01-01&date_to={today}&page=2",
     (LOGIN, 403, 403, 403, 200, 403, 200)),
    ("GET", "/audit?person=funds@example.org&object_id=99999999999999999999", (LOGIN, 403, 403, 403, 400, 403, 400)),
    ("GET", "/audit.xlsx", (LOGIN, 403, 403, 403, 200, 403, 200)),
    ("GET", "/audit.xlsx?action=loans.&person=funds@example.org", (LOGIN, 403, 403, 403, 200, 403, 200)),
]

_KPI = {"name": "Firms exporting together", "unit": "firms", "direction": "higher", "source": "Members' survey",
        "baseline": "2", "target": "8"}
_FUNDING_REQUEST = {"title": "Shared testing laboratory", "description": "Equipment the members share.",
                    "cost": "40000.00", "instrument": "both", "grant_asked": "10000.00", "loan_asked": "10000.00"}
#: A facilitation claim without its evidence: the lead's post is refused on the page (200), changing nothing.
_FACILITATION_CLAIM = {"items-0-kind": "facilitator", "items-0-description": "Facilitator", "items-0-incurred_on":
                       "{today}", "items-0-amount": "100.00", "amount": "", "note": ""}
#: The request criteria of rules/cluster-contest.toml, which every access-table call uses.
_REQUEST_CRITERIA = [c.key for c in parse_call_rules(
    (PROJECT_ROOT / "rules" / "cluster-contest.toml").read_text(), "cluster-contest.toml").funding.request_criteria]

#: The POST form data a route needs to pass validation (only the permission is under test).
_MILESTONE = {"decision": "continue", "reason": "On track.", "conditions": "", "next_status": "",
              "decided_on": "{today}"}
_IN_A_MONTH = utcnow().date() + timedelta(days=30)

FORM_DATA = {
    "/language": {"language": "es", "next": "/calls"},
    "/account/tokens": {"name": "Access matrix",
                        "expires_on": f"{_IN_A_MONTH.day}/{_IN_A_MONTH.month}/{_IN_A_MONTH.year}"},
    "/register": {"name": "New Person", "email": "new.person@example.org", "password": PASSWORD,
                  "confirm": PASSWORD},
    "/reset": {"email": "lead-a@example.org"},
    "/bank-statements/{statement}/reject": {"reason": "The bank sent the wrong day."},
    "/loan-approvals/{loan_approval}/reject": {"reason": "The member is paying again."},
    "/loans/{loan_a}/guarantees": {"guarantor_id": "{guarantor_a}", "share": "10", "amount": ""},
    "/loans/{loan_b}/guarantees": {"guarantor_id": "{guarantor_a}", "share": "10", "amount": ""},
    "/loans/{loan_a}/guarantees/{guarantee_a}/release": {"reason": "The loan is paying well."},
    "/loans/{loan_g}/guarantee-call": {"reason": "Long in default."},
    "/loans/{loan_b}/guarantee-call": {"reason": "Long in default."},
    "/loans/{loan_g}/guarantee-call/reject": {"reason": "The member is paying again."},
    "/loans/{loan_g}/obligations/{obligation_a}/collections": {
        "collect-{obligation_a}-amount": "100.00", "collect-{obligation_a}-value_date": "{today}",
        "collect-{obligation_a}-bank_reference": "GUA-ACCESS-1"},
    "/loans/{loan_g}/obligations/{obligation_a}/write-off": {
        "write-off-{obligation_a}-on_date": "{today}", "write-off-{obligation_a}-reason": "It closed down."},
    "/loans/{loan_g}/obligations/{obligation_a}/write-off/reject": {"reason": "It will pay."},
    "/loans/{loan_g}/obligations/{obligation_a}/credit-refund": {
        "refund-{obligation_a}-value_date": "{today}", "refund-{obligation_a}-bank_reference": "REF-ACCESS-1",
        "refund-{obligation_a}-reason": "It paid twice."},
    "/loans/{loan_g}/obligations/{obligation_a}/credit-refund/reject": {"reason": "Wrong account."},
    "/groups/{group_a}/invite": {"email": "newcomer@example.org"},
    "/proposals/{proposal_a}/cluster": {"title": "Renamed initiative"},
    "/proposals/{proposal_a}/withdraw": {"reason": "The members decided to apply next year."},
    "/manage/proposals/{proposal_a}/eligibility": {"decision": "ineligible", "reason": "The letters are unsigned."},
    "/manage/proposals/{proposal_b}/eligibility": {"decision": "ineligible", "reason": "The letters are unsigned."},
    "/calls/{review_call}/review/assignments/add": {"proposal_id": "{review_proposal_a}",
                                                     "reviewer_id": "{reviewer_two_id}"},
    "/calls/{review_call}/review/deadline": {"deadline": "2099-06-30T17:00"},
    "/reviews/{review_mine}/move": {"reviewer_id": "{reviewer_two_id}"},
    "/initiatives/{initiative_a}/disbursements": {"amount": "1,000.00", "purpose": "Facilitator"},
    "/initiatives/{initiative_b}/disbursements": {"amount": "1,000.00", "purpose": "Facilitator"},
    "/disbursements/{disbursement_a}/reject": {"reason": "No invoice yet."},
    "/disbursements/{disbursement_b}/reject": {"reason": "No invoice yet."},
    "/disbursements/{approved_a}/pay": {"value_date": "2025-01-15", "bank_reference": "BANK-ACCESS-1"},
    "/disbursements/{disbursement_a}/pay": {"value_date": "2025-01-15", "bank_reference": "BANK-ACCESS-1"},
    "/disbursements/{disbursement_b}/pay": {"value_date": "2025-01-15", "bank_reference": "BANK-ACCESS-1"},
    "/initiatives/{initiative_a}/funding-requests": _FUNDING_REQUEST,
    "/initiatives/{initiative_b}/funding-requests": _FUNDING_REQUEST,
    "/funding-requests/{funding_request_a}/judge": {
        "decision": "reject", "reason": "Not a major activity.",
        **{f"{kind}_{key}": value for key in _REQUEST_CRITERIA for kind, value in (("met", "no"), ("note", "Thin."))},
    },
    "/initiatives/{initiative_a}/grants/{matching_a}/disbursements": {"amount": "100.00", "purpose": "Fair stand"},
    "/initiatives/{initiative_a}/grants/{matching_b}/disbursements": {"amount": "100.00", "purpose": "Fair stand"},
    "/initiatives/{initiative_a}/grants/{startup_a}/disbursements": {"amount": "100.00", "purpose": "Fair stand"},
    "/contributions/{contribution_a}/reject": {"reason": "The invoice is unreadable."},
    "/initiatives/{initiative_a}/facilitation-claims": _FACILITATION_CLAIM,
    "/initiatives/{initiative_b}/facilitation-claims": _FACILITATION_CLAIM,
    "/facilitation-claims/{facilitation_claim_a}/refuse": {"reason": "The invoice names another group."},
    "/facilitation-claims/{facilitation_claim_b}/refuse": {"reason": "The invoice names another group."},
    "/funds/{fund_a}/capitalisations": {"amount": "1000.00", "value_date": "{today}", "bank_reference": "CAP-ACCESS-9"},
    "/funds/{fund_b}/capitalisations": {"amount": "1000.00", "value_date": "{today}", "bank_reference": "CAP-ACCESS-9"},
    "/loans/{loan_a}/repayments": {"amount": "100.00", "value_date": "{today}", "bank_reference": "REP-ACCESS-1"},
    "/loans/{loan_b}/repayments": {"amount": "100.00", "value_date": "{today}", "bank_reference": "REP-ACCESS-1"},
    "/loans/{loan_a}/reschedule": {"term_periods": "24", "first_due": "{next_month}", "grace_periods": "0",
                                   "grace": "none", "method": "", "annual_rate": "", "reason": "Harvest failed."},
    "/loans/{loan_a}/write-off": {"on_date": "{today}", "reason": "The borrower went bankrupt.", "confirmed": "yes"},
    # The irreversible actions, confirmed (without it, the POST shows the confirmation page and changes nothing).
    "/proposals/{proposal_a}/submit": {"confirmed": "yes"},
    "/proposals/{proposal_b}/submit": {"confirmed": "yes"},
    "/calls/{review_call}/review/decide-as-ranked": {"confirmed": "yes"},
    "/calls/{review_call}/review/publish": {"confirmed": "yes"},
    "/reviews/{review_mine}/submit": {"confirmed": "yes"},
    "/reviews/{review_other}/submit": {"confirmed": "yes"},
    "/loans/{loan_a}/refund": {"value_date": "{today}", "bank_reference": "REF-ACCESS-1"},
    "/initiatives/{initiative_a}/scorecard": {"template": "scottish_cluster"},
    "/initiatives/{initiative_a}/scorecard/kpis": {"factor": "{factor_a}", **_KPI},
    "/scorecard-kpis/{kpi_a}": _KPI,
    "/scorecard-kpis/{kpi_b}": _KPI,
    "/scorecard-kpis/{kpi_a}/drop": {"reason": "We cannot measure it yet."},
    "/reports/{report_a}": {"narrative": "The first joint purchase.", "learned": "", "will_change": ""},
    "/reports/{report_b}": {"narrative": "The first joint purchase.", "learned": "", "will_change": ""},
    "/initiatives/{initiative_a}/milestone-reviews": _MILESTONE,
    "/initiatives/{initiative_b}/milestone-reviews": _MILESTONE,
}


#: The JSON bodies the API's POST cases send (on the loan's page: a repayment of loan a, today).
API_BODIES: dict[str, dict[str, str]] = {
    "/api/v1/loans/{loan_a}/repayments": {"amount": "100.00", "value_date": utcnow().date().isoformat(),
                                          "bank_reference": "API-ACCESS-1"},
    "/api/v1/loans/999999/repayments": {"amount": "100.00", "value_date": utcnow().date().isoformat(),
                                        "bank_reference": "API-ACCESS-2"},
    "/api/v1/initiatives/{initiative_a}/grants/{startup_a}/disbursements": {"amount": "1000.00",
                                                                            "purpose": "Facilitator"},
    "/api/v1/initiatives/{initiative_a}/grants/999999/disbursements": {"amount": "1000.00", "purpose": "Facilitator"},
    "/api/v1/reports/{report_a}/values": {"values": [], "narrative": "The first joint purchase."},
}


@dataclass
class World:
    ids: dict[str, object]
    emails: dict[str, str]
    #: Each role's personal access token (read and write) for the API's cases.
    tokens: dict[str, str] = field(default_factory=dict)


@pytest.fixture(scope="module")
def world_built_once(built_once) -> World:
    """The world every case reads, built once for the module (each test's changes are rolled back)."""
    with built_once() as app:
        return _build_world(app)


@pytest.fixture
def world(app, world_built_once: World) -> World:
    return world_built_once


def _make_user(email: str, role: Role):
    user = accounts.create_user(email=email, name=email.split("@")[0].title(), roles=(role,), password=PASSWORD,
                                actor=SETUP)
    db.session.flush()
    return user


def _build_world(app) -> World:
    users = {
        "applicant": _make_user("lead-a@example.org", Role.APPLICANT),
        "other_applicant": _make_user("lead-b@example.org", Role.APPLICANT),
        "reviewer": _make_user("reviewer@example.org", Role.REVIEWER),
        "manager": _make_user("manager@example.org", Role.PROGRAMME_MANAGER),
        "fund_admin": _make_user("funds@example.org", Role.FUND_ADMINISTRATOR),
        "auditor": _make_user("auditor@example.org", Role.AUDITOR),
    }
    member_a = _make_user("member-a@example.org", Role.APPLICANT)
    firm = accounts.OrganisationData("Firm", OrganisationType.FIRM, "Town", SizeClass.SMALL, "Textiles")
    group_a = accounts.create_group(name="Group A", description="", actor=users["applicant"])
    org_a = accounts.add_organisation(group_a, firm, actor=users["applicant"])
    invitation_a = accounts.invite(group_a, "someone@example.org", actor=users["applicant"])
    accounts.accept_invitation(accounts.invite(group_a, member_a.email, actor=users["applicant"]), actor=member_a)
    group_b = accounts.create_group(name="Group B", description="", actor=users["other_applicant"])
    org_b = accounts.add_organisation(group_b, firm, actor=users["other_applicant"])
    invitation_b = accounts.invite(group_b, "third@example.org", actor=users["other_applicant"])
    # group B invites group A's lead: only that person may open this invitation
    invitation_for_applicant = accounts.invite(group_b, users["applicant"].email, actor=users["other_applicant"])

    now = utcnow()
    folder, zone = app.config["RULES_FOLDER"], app.config["PROGRAMME_TIMEZONE"]
    draft = calls.create_call("cluster-contest.toml", rules_folder=folder, timezone=zone, actor=SETUP, now=now)
    staged = calls.create_call("staged-network-contest.toml", rules_folder=folder, timezone=zone, actor=SETUP, now=now)
    draft.opens_at, draft.closes_at = now - timedelta(hours=1), now + timedelta(days=30)
    open_call = calls.create_call("cluster-contest.toml", rules_folder=folder, timezone=zone, actor=SETUP, now=now)
    open_call.opens_at, open_call.closes_at = now - timedelta(hours=1), now + timedelta(days=30)
    calls.open_call(open_call, actor=SETUP, now=now)
    # A call decided (its validity page), with no proposal: its status set as the fixtures above set dates.
    decided_call = calls.create_call("cluster-contest.toml", rules_folder=folder, timezone=zone, actor=SETUP, now=now)
    decided_call.opens_at = decided_call.opened_at = now - timedelta(days=90)
    decided_call.closes_at = decided_call.closed_at = now - timedelta(days=60)
    decided_call.review_started_at, decided_call.review_deadline = now - timedelta(days=59), now - timedelta(days=30)
    decided_call.status, decided_call.decided_at = CallStatus.DECIDED, now - timedelta(days=20)

    # Group A: five members (three firms, two institutions) and a complete proposal, submitted once.
    for name, kind in (("Second firm", OrganisationType.FIRM), ("Third firm", OrganisationType.FIRM),
                       ("Association", OrganisationType.BUSINESS_ASSOCIATION),
                       ("College", OrganisationType.TRAINING_PROVIDER)):
        size, sector = (SizeClass.MICRO, "Textiles") if kind is OrganisationType.FIRM else (None, None)
        accounts.add_organisation(group_a, accounts.OrganisationData(name, kind, "Town", size, sector),
                                  actor=users["applicant"])
    proposal_a, parts_a = _proposal(app, open_call, group_a, users["applicant"], now, complete=True)
    proposals.submit(proposal_a, actor=users["applicant"], now=now)
    # Group B: a draft with one of everything, whose ids are typed into group A's URLs.
    proposal_b, parts_b = _proposal(app, open_call, group_b, users["other_applicant"], now, complete=False)
    # A second manager asks for a guarded role for group A's member (the matrix's manager may approve it), and
    # enrols a reviewer who has not set a password yet (the matrix's manager may send a fresh link).
    manager2 = _make_user("manager2@example.org", Role.PROGRAMME_MANAGER)
    (role_request,) = accounts.request_roles(member_a, [Role.FUND_ADMINISTRATOR], actor=manager2)
    enrolling = accounts.enrol_user(email="new.reviewer@example.org", name="New Reviewer", roles=[Role.REVIEWER],
                                    actor=manager2, link="http://localhost/enrol/__token__",
                                    valid_for=timedelta(hours=72))
    review_ids = _review_call(app, now, users, group_a)
    funding_ids = _initiatives(open_call, proposal_a, proposal_b, users, now)
    notification_a = notify(db.session, email=users["applicant"].email, user_id=users["applicant"].id,
                            subject="Your proposal", body="Read it.", link=f"/proposals/{proposal_a.id}")
    dead_letter = notify(db.session, email="gone@example.org", subject="Lost", body="Never arrived.")
    dead_letter.mail_state, dead_letter.mail_attempts, dead_letter.send_error = MailState.FAILED, 6, "550 no user"
    tokens = {role: access_tokens.make_token(name="access matrix", scopes={TokenScope.READ, TokenScope.WRITE},
                                             expires_on=now.date() + timedelta(days=300), actor=user, now=now,
                                             timezone="UTC")
              for role, user in users.items()}
    db.session.commit()
    return World(
        ids={
            "applicant_id": users["applicant"].id, "member_a_id": member_a.id,
            "role_request": role_request.id, "enrolling_user": enrolling.id, "bogus_token": "not-a-real-token",
            "group_a": group_a.id, "org_a": org_a.id, "org_b": org_b.id,
            "invitation_a": invitation_a.id, "invitation_b_token": invitation_b.token,
            "invitation_for_applicant": invitation_for_applicant.token,
            "draft_call": draft.id, "open_call": open_call.id, "decided_call": decided_call.id,
            "staged_call": staged.id, "staged_stage": staged_stage_id(staged),
            "proposal_a": proposal_a.id, "proposal_b": proposal_b.id, "notification_a": notification_a.id,
            "dead_letter": dead_letter.id, "token_a": tokens["applicant"].token.id,
            **review_ids,
            **funding_ids,
            **{f"{key}_a": value for key, value in parts_a.items()},
            **{f"{key}_b": value for key, value in parts_b.items()},
        },
        emails={role: user.email for role, user in users.items()},
        tokens={role: made.secret for role, made in tokens.items()},
    )


def staged_stage_id(staged) -> int:
    """The first stage of a staged call (issue 18)."""
    from programme.calls.staging import stages_of

    return stages_of(staged)[0].id


def _review_call(app, now, users, group_a) -> dict[str, object]:
    """A call in review: group A's and group C's proposals, each assigned to a reviewer. The role
    'reviewer' reviews group A's; another reviewer reviews group C's (its review id is typed in by hand)."""
    folder, zone = app.config["RULES_FOLDER"], app.config["PROGRAMME_TIMEZONE"]
    call = calls.create_call("cluster-contest.toml", rules_folder=folder, timezone=zone, actor=SETUP, now=now)
    call.opens_at, call.closes_at = now - timedelta(hours=2), now + timedelta(days=1)
    calls.open_call(call, actor=SETUP, now=now - timedelta(hours=1))
    lead_c = _make_user("lead-c@example.org", Role.APPLICANT)
    group_c = accounts.create_group(name="Group C", description="", actor=lead_c)
    for name, kind in (("C firm 1", OrganisationType.FIRM), ("C firm 2", OrganisationType.FIRM),
                       ("C firm 3", OrganisationType.FIRM), ("C association", OrganisationType.BUSINESS_ASSOCIATION),
                       ("C college", OrganisationType.TRAINING_PROVIDER)):
        size, sector = (SizeClass.MICRO, "Leather") if kind is OrganisationType.FIRM else (None, None)
        accounts.add_organisation(group_c, accounts.OrganisationData(name, kind, "Town", size, sector), actor=lead_c)
    mine, parts_mine = _proposal(app, call, group_a, users["applicant"], now, complete=True)
    other, parts_other = _proposal(app, call, group_c, lead_c, now, complete=True)
    proposals.submit(mine, actor=users["applicant"], now=now)
    proposals.submit(other, actor=lead_c, now=now)
    calls.close_call(call, actor=SETUP, now=now)
    manager = users["manager"]
    second = _make_user("reviewer-two@example.org", Role.REVIEWER)
    reviews.add_reviewer(call, users["reviewer"], actor=manager, now=now)
    reviews.add_reviewer(call, second, actor=manager, now=now)
    reviews.start_review(call, deadline=now + timedelta(days=14), actor=manager, now=now)
    review_mine = reviews.assign_reviewer(call, mine, users["reviewer"].id, actor=manager, now=now)
    review_other = reviews.assign_reviewer(call, other, second.id, actor=manager, now=now)
    declared = reviews.declare_conflict(call, organisation_id=None, proposal_id=other.id, note="Former employer",
                                        actor=users["reviewer"], now=now)
    consensus_key = call.criteria[0].key
    return {"review_call": call.id, "review_proposal_a": mine.id, "review_proposal_c": other.id,
            "review_mine": review_mine.id, "review_other": review_other.id, "conflict_mine": declared.id,
            "reviewer_id": users["reviewer"].id, "reviewer_two_id": second.id, "criterion_key": consensus_key,
            "review_attachment": parts_mine["attachment"], "review_attachment_other": parts_other["attachment"]}


def _initiatives(call, proposal_a, proposal_b, users, now) -> dict[str, object]:
    """An initiative (with its start-up grant) for group A's proposal and one for group B's, as a published
    decision makes them; disbursements requested by the manager, one of group A's approved by the fund
    administrator."""
    made = {}
    for key, proposal in (("a", proposal_a), ("b", proposal_b)):
        initiative = Initiative(reference=f"INI-ACCESS-{key.upper()}", name=proposal.title, call_id=call.id,
                                proposal_id=proposal.id, group_id=proposal.group_id, currency=call.currency,
                                started_at=now)
        initiative.grants.append(Grant(kind=GrantKind.STARTUP, committed=Decimal("30000.00"),
                                       currency=call.currency, committed_at=now))
        db.session.add(initiative)
        db.session.flush()
        requested = funding.request_disbursement(initiative.startup_grant, amount="5000.00", purpose="First tranche",
                                                 actor=users["manager"], now=now, timezone="UTC")
        made[f"initiative_{key}"], made[f"disbursement_{key}"] = initiative.id, requested.id
    approved = funding.request_disbursement(db.session.get(Initiative, made["initiative_a"]).startup_grant,
                                            amount="2500.00", purpose="Second tranche", actor=users["manager"],
                                            now=now, timezone="UTC")
    funding.approve_disbursement(approved, actor=users["fund_admin"], now=now, timezone="UTC")
    made["approved_a"] = approved.id
    made.update(_funding_and_loans(made, users, now))
    return made


def _funding_and_loans(made, users, now) -> dict[str, object]:
    """For each initiative: a submitted funding request, a matching grant with a contribution recorded by its
    group's lead, a revolving fund capitalised from the call's budget and a loan to one of its members."""
    today = now.date()
    ids: dict[str, object] = {"today": today.isoformat(), "next_month": (today + relativedelta(months=1)).isoformat()}
    admin = users["fund_admin"]
    for key, lead in (("a", users["applicant"]), ("b", users["other_applicant"])):
        initiative = db.session.get(Initiative, made[f"initiative_{key}"])
        ids[f"startup_{key}"] = initiative.startup_grant.id
        request = funding.submit_funding_request(
            initiative, title="Shared laboratory", description="Equipment the members share.", cost="40000.00",
            instrument="both", grant_asked="10000.00", loan_asked="10000.00", actor=lead, now=now)
        matching = Grant(kind=GrantKind.MATCHING, committed=Decimal("10000.00"), currency=initiative.currency,
                         external_share=Decimal("0.5"), basis="Shared laboratory", committed_at=now)
        initiative.grants.append(matching)
        db.session.flush()
        facilitation_claim = funding.submit_claim(
            initiative, items=[funding.CostItemInput(
                row=0, kind="facilitator", description="Facilitator, first workshop", incurred_on=today,
                amount="100.00", stream=io.BytesIO(b"%PDF-1.4 invoice"), filename="invoice.pdf")],
            amount="50.00", note="", upload_root=current_app.config["UPLOAD_FOLDER"], max_bytes=10_000_000,
            actor=lead, now=now, timezone="UTC")
        ids[f"facilitation_claim_{key}"] = facilitation_claim.id
        ids[f"facilitation_item_{key}"] = facilitation_claim.items[0].id
        contribution = funding.record_contribution(
            matching, kind="cash", amount="4000.00", contributed_on=today, description="Members' cash",
            contributor_id=None, stream=io.BytesIO(b"%PDF-1.4 receipt"), filename="receipt.pdf",
            upload_root=current_app.config["UPLOAD_FOLDER"], max_bytes=10_000_000, actor=lead, now=now, timezone="UTC")
        fund = loans.fund_of(initiative)
        loans.capitalise_fund(fund, amount="20000.00", value_date=today, bank_reference=f"CAP-ACCESS-{key}",
                              actor=admin, now=now, timezone="UTC")
        loan = loans.make_loan(
            fund, borrower_id=initiative.group.organisations[0].id, principal="5000.00", annual_rate="0.02",
            term_periods=12, first_due=today + relativedelta(months=1), disbursed_on=today,
            bank_reference=f"LOAN-ACCESS-{key}", purpose="A kiln", actor=admin, now=now, timezone="UTC")
        scorecard = monitoring.start_scorecard(initiative, template_key=None,
                                               rules_folder=current_app.config["RULES_FOLDER"], actor=lead, now=now)
        kpis = monitoring.kpis_of(scorecard)
        # a factor with room for another KPI (at most three live ones each)
        roomy = next(k.factor_key for k in kpis if sum(o.factor_key == k.factor_key for o in kpis) < 3)
        ids[f"kpi_{key}"], ids[f"factor_{key}"] = kpis[0].id, roomy
        if key == "a":  # a KPI the group dropped, in a factor that keeps another one
            spare = monitoring.add_kpi(scorecard, factor_key=roomy, name="Joint purchases", unit="orders",
                                       direction="higher", source="Minutes", baseline=None, target=None,
                                       actor=lead, now=now)
            monitoring.drop_kpi(spare, reason="Not measured", actor=lead, now=now)
            ids["dropped_kpi_a"] = spare.id
        ids["kpi_key"] = kpis[0].key
        (report,) = reports.open_reports(initiative, today=today, actor=lead, now=now, timezone="UTC")
        ids[f"report_{key}"] = report.id
        ids.update({f"funding_request_{key}": request.id, f"matching_{key}": matching.id,
                    f"contribution_{key}": contribution.id, f"fund_{key}": fund.id, f"loan_{key}": loan.id})
    # Four eyes: a second fund administrator asks for a write-off of loan b and checks a bank statement; the
    # matrix's administrator may approve, reject or apply them.
    admin2 = _make_user("funds2@example.org", Role.FUND_ADMINISTRATOR)
    loan_b = db.session.get(Loan, ids["loan_b"])
    asked = loans.request_write_off(loan_b, reason="The member closed down.", on_date=today, actor=admin2, now=now,
                                    timezone="UTC")
    check = statements.check_statement(_statement(today, loan_b.number), "statement.xlsx", actor=admin2, now=now,
                                  timezone="UTC")
    statement = statements.store_checked_statement(check, actor=admin2, now=now)
    ids.update({"loan_approval": asked.id, "statement": statement.id})
    ids.update(_guarantees(made, users, ids, admin2, now))
    return ids


def _guarantees(made, users, ids, admin2, now) -> dict[str, object]:
    """Mutual guarantees (issue 18): loan a guaranteed by a member of group a; loan_g, lent by fund a long ago to the
    same borrower, in default, guaranteed by another member, its guarantees called (asked by the second fund
    administrator, approved by the manager): obligation_a."""
    admin, today = users["fund_admin"], now.date()
    initiative = db.session.get(Initiative, made["initiative_a"])
    fund = loans.fund_of(initiative)
    loan_a = db.session.get(Loan, ids["loan_a"])
    others = [o for o in initiative.group.organisations if o.id != loan_a.borrower_id]
    given = guarantees.add_guarantee(loan_a, guarantor_id=others[0].id, share=Decimal("0.25"), actor=admin, now=now,
                                     timezone="UTC")
    long_ago = today - timedelta(days=400)
    loans.capitalise_fund(fund, amount="3000.00", value_date=long_ago, bank_reference="CAP-ACCESS-G", actor=admin,
                          now=now, timezone="UTC")
    loan_g = loans.make_loan(fund, borrower_id=loan_a.borrower_id, principal="3000.00", annual_rate="0.02",
                             term_periods=12, first_due=long_ago + relativedelta(months=1), disbursed_on=long_ago,
                             bank_reference="LOAN-ACCESS-G", purpose="A dryer", actor=admin, now=now, timezone="UTC")
    guarantees.add_guarantee(loan_g, guarantor_id=others[1].id, amount=Decimal("1000.00"), actor=admin,
                             now=now - timedelta(days=395), timezone="UTC")
    asked = guarantee_calls.request_call(loan_g, reason="A year late.", actor=admin2, now=now, timezone="UTC")
    call = guarantee_calls.approve_call(asked, actor=users["manager"], now=now, timezone="UTC")
    return {"guarantee_a": given.id, "guarantor_a": others[2].id, "loan_g": loan_g.id,
            "obligation_a": call.obligations[0].id}


def _statement(day, loan_number: str) -> bytes:
    """A bank statement of one repayment, as the bank exports it."""
    from openpyxl import Workbook

    book = Workbook()
    book.active.append(["Date", "Amount", "Reference", "Loan"])
    book.active.append([day, 100, "STM-ACCESS-1", loan_number])
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def _proposal(app, call, group, lead, now, *, complete: bool):
    """A proposal with one activity, budget line, co-financing entry, indicator and attachment; the ids."""
    proposal = proposals.start_proposal(call, group, title=f"Initiative of {group.name}", actor=lead, now=now)
    if complete:
        proposals.update_cluster(proposal, proposals.ClusterSection(
            title=proposal.title, sector="Textiles", territory="The valley", stage=ClusterStage.POTENTIAL,
            main_problem="Too small to export alone.", market_failure="Nobody pays for joint marketing.",
        ), actor=lead, now=now)
        proposals.update_objectives(proposal, objectives="Export together.", sustainability_plan="Fees.",
                                    actor=lead, now=now)
    activity = proposals.add_activity(proposal, proposals.ActivityData(
        title="Facilitator", kind=ActivityKind.FACILITATION, description="", start_quarter=1, end_quarter=4,
        cost=Decimal("20000.00"),
    ), actor=lead, now=now)
    line = proposals.add_budget_line(proposal, proposals.BudgetLineData(
        activity_id=activity.id, cost_type="facilitator_fees", description="Fees", amount=Decimal("20000.00"),
    ), actor=lead, now=now)
    proposals.set_requested_amount(proposal, Decimal("15000.00"), actor=lead, now=now)
    cofinancing = proposals.add_cofinancing(proposal, proposals.CoFinancingData(
        organisation_id=group.organisations[0].id, kind=CoFinancingKind.CASH, amount=Decimal("5000.00"),
        description="Fees",
    ), actor=lead, now=now)
    indicator = proposals.add_indicator(proposal, proposals.IndicatorData(
        name="Joint orders", unit="orders", baseline=Decimal("0"), target=Decimal("4"),
    ), actor=lead, now=now)
    attachment = proposals.add_attachment(
        proposal, kind=AttachmentKind.LETTER_OF_COMMITMENT, stream=io.BytesIO(b"%PDF-1.4 test"),
        filename="letter.pdf", upload_root=app.config["UPLOAD_FOLDER"], max_bytes=app.config["MAX_ATTACHMENT_BYTES"],
        actor=lead, now=now,
    )
    return proposal, {"activity": activity.id, "line": line.id, "cofinancing": cofinancing.id,
                      "indicator": indicator.id, "attachment": attachment.id}


def _check(client, world, role, method, template, expected, language: str = "en") -> str | None:
    """Request one case as the logged-in role (on the API: with the role's token), its browser asking for
    ``language``; the mismatch, or None."""
    url = template.format(**world.ids)
    asked = {"Accept-Language": language}
    if template.startswith("/api/"):
        headers = {"Authorization": f"Bearer {world.tokens[role]}"} if role in world.tokens else {}
        body = API_BODIES.get(template, {})
        response = (client.get(url, headers=headers | asked) if method == "GET"
                    else client.post(url, headers=headers, json=body))
    elif method == "GET":
        response = client.get(url, headers=asked)
    else:
        data = {key.format(**world.ids): value.format(**world.ids)
                for key, value in FORM_DATA.get(template, {}).items()}
        response = client.post(url, data=data)
    want = expected[ROLES.index(role)]
    body = response.get_data().decode("utf-8", "replace")  # a download is binary
    if response.status_code != want:
        return f"{role} {method} {url}: {response.status_code}, expected {want}"
    redirect = response.headers.get("Location", "")
    elsewhere = ("/register", "/language")  # anonymous posts that are answered with a page of their own
    if role == "anonymous" and want == LOGIN and template not in elsewhere and "/login" not in redirect:
        return f"{role} {method} {url}: redirected to {response.headers['Location']}, not to the login page"
    if "Traceback" in body:
        return f"{role} {method} {url}: the page shows a traceback"
    return None


GETS = [case for case in CASES if case[0] == "GET"]
POSTS = [case for case in CASES if case[0] == "POST"]


@pytest.mark.parametrize("language", ["en", *(pytest.param(other, marks=pytest.mark.same_on_every_database)
                                               for other in ("es", "pt"))])
@pytest.mark.parametrize("role", ROLES)
def test_get_access(client, login, world, role, language):
    """Every GET route for one role, on one world (a GET changes nothing, so the cases share it), in each language
    the programme speaks (a translated page draws its own sentences: a wrong plural or placeholder answers 500)."""
    if role != "anonymous":
        login(world.emails[role])
    failures = [f for method, template, expected in GETS
                if (f := _check(client, world, role, method, template, expected, language))]
    assert not failures, "\n".join(failures)


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize(("method", "template", "expected"), POSTS, ids=[f"{m} {t}" for m, t, _ in POSTS])
def test_post_access(client, login, world, role, method, template, expected):
    """Each POST route for each role on a fresh world (a POST that is allowed changes it)."""
    if role != "anonymous":
        login(world.emails[role])
    failure = _check(client, world, role, method, template, expected)
    assert failure is None, failure


def test_every_route_is_in_the_access_table(app):
    """A route added without an access case fails here."""
    covered = {template.split("?")[0].split("{")[0].rstrip("/").split("/999999")[0] for _, template, _ in CASES}
    routes = {rule.rule for rule in app.url_map.iter_rules()}
    missing = []
    for rule in routes:
        normalised = rule.replace("<path:filename>", "programme.css")
        stem = normalised.split("<")[0].rstrip("/")
        if not any(stem == c.split("{")[0].rstrip("/") or normalised.rstrip("/") == c for c in covered):
            missing.append(rule)
    assert not missing, f"routes without an access case: {sorted(missing)}"


def test_forbidden_actions_change_nothing(client, login, world):
    """A refused POST leaves the data as it was: the reviewer cannot open the draft call."""
    login(world.emails["reviewer"])
    client.post(f"/manage/calls/{world.ids['draft_call']}/open")
    call = calls.get_call_for_management(world.ids["draft_call"], actor=SETUP)
    db.session.refresh(call)
    assert call.status.value == "draft"


def _every_row() -> dict[str, list[tuple]]:
    """Every row of every table, in key order: what the database holds, to compare before and after."""
    db.session.expire_all()
    rows = {}
    for table in Base.metadata.sorted_tables:
        order = list(table.primary_key.columns) or list(table.columns)
        rows[table.name] = [tuple(row) for row in db.session.execute(select(table).order_by(*order))]
    return rows


#: Posts anyone may make, that change something whoever makes them: logging out, asking for a reset link (mailed
#: to the address's owner, never to who asked), and marking one's own notifications read.
ANYONE_CHANGES = ("/logout", "/reset", "/notifications/read", "/language", "/account/tokens")
#: Posts anyone may make that change nothing for a logged-in person: registering (they are sent home), a new
#: confirmation link (their address is confirmed), links that name nothing (refused).
ANYONE_ASKS = ("/register", "/confirm-address/resend", "/verify/{bogus_token}", "/enrol/{bogus_token}",
               "/reset/{bogus_token}")


def test_the_auditor_changes_nothing(client, login, world):
    """The auditor posts every POST route of the table (with the form data that passes validation, money actions
    included): each answers 403, or 404 for an id private to others or unknown, or 302 for logging out, and not
    one row of the database changes."""
    login(world.emails["auditor"])
    before = _every_row()
    answers = {}
    for _method, template, expected in POSTS:
        if template in ANYONE_CHANGES:
            continue
        url = template.format(**world.ids)
        data = {key.format(**world.ids): value.format(**world.ids)
                for key, value in FORM_DATA.get(template, {}).items()}
        allowed = (302, 409) if template in ANYONE_ASKS else (403, 404)
        if template.startswith("/api/"):  # the API: with the auditor's token (read and write), its JSON body
            response = client.post(url, json=API_BODIES.get(template, {}),
                                   headers={"Authorization": f"Bearer {world.tokens['auditor']}"})
        else:
            response = client.post(url, data=data)
        answers[url] = (response.status_code, expected[ROLES.index("auditor")], allowed)
    wrong = {url: got for url, (got, want, allowed) in answers.items() if got != want or got not in allowed}
    assert not wrong, wrong
    after = _every_row()
    changed = [name for name in before if before[name] != after[name]]
    assert not changed, f"the auditor's refused posts changed {changed}"
