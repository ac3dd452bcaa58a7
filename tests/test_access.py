"""Access for every role on every route, including ids changed by hand in the URL.

Each case: (method, URL template, expected status per role). Roles: anonymous, the
applicant who leads group A, another applicant (leads group B), a reviewer, a programme
manager and a fund administrator. A route missing from this table fails the last test.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

import pytest

from programme.accounts import services as accounts
from programme.accounts.models import OrganisationType, SizeClass
from programme.calls import services as calls
from programme.core.access import Role
from programme.core.db import utcnow
from programme.extensions import db
from tests.conftest import SETUP

ROLES = ("anonymous", "applicant", "other_applicant", "reviewer", "manager", "fund_admin")
LOGIN = 302  # an anonymous visitor is sent to the login page

# Expected status for: anonymous, applicant (group A), other applicant (group B), reviewer, manager, fund admin.
CASES: list[tuple[str, str, tuple[int, ...]]] = [
    ("GET", "/", (200, 200, 200, 200, 200, 200)),
    ("GET", "/healthz", (200, 200, 200, 200, 200, 200)),
    ("GET", "/static/programme.css", (200, 200, 200, 200, 200, 200)),
    ("GET", "/calls", (200, 200, 200, 200, 200, 200)),
    ("GET", "/calls/{open_call}", (200, 200, 200, 200, 200, 200)),
    ("GET", "/calls/{draft_call}", (404, 404, 404, 404, 200, 404)),
    ("GET", "/calls/999999", (404, 404, 404, 404, 404, 404)),
    ("GET", "/register", (200, 302, 302, 302, 302, 302)),
    ("GET", "/login", (200, 200, 200, 200, 200, 200)),
    ("POST", "/logout", (LOGIN, 302, 302, 302, 302, 302)),
    ("GET", "/account", (LOGIN, 200, 200, 200, 200, 200)),
    ("GET", "/notifications", (LOGIN, 200, 200, 200, 200, 200)),
    ("GET", "/manage/users", (LOGIN, 403, 403, 403, 200, 403)),
    ("GET", "/manage/users/new", (LOGIN, 403, 403, 403, 200, 403)),
    ("GET", "/manage/users/{applicant_id}", (LOGIN, 403, 403, 403, 200, 403)),
    ("GET", "/manage/users/999999", (LOGIN, 403, 403, 403, 404, 403)),
    ("GET", "/groups", (LOGIN, 200, 200, 200, 200, 200)),
    ("GET", "/groups/new", (LOGIN, 200, 200, 403, 403, 403)),
    ("GET", "/groups/{group_a}", (LOGIN, 200, 404, 404, 200, 404)),
    ("GET", "/groups/999999", (LOGIN, 404, 404, 404, 404, 404)),
    ("GET", "/groups/{group_a}/edit", (LOGIN, 200, 404, 404, 403, 404)),
    ("GET", "/groups/{group_a}/organisations/new", (LOGIN, 200, 404, 404, 403, 404)),
    ("GET", "/groups/{group_a}/organisations/{org_a}", (LOGIN, 200, 404, 404, 403, 404)),
    # group A's URL with group B's organisation id typed in: not found, even for group A's lead
    ("GET", "/groups/{group_a}/organisations/{org_b}", (LOGIN, 404, 404, 404, 403, 404)),
    ("POST", "/groups/{group_a}/organisations/{org_a}/remove", (LOGIN, 302, 404, 404, 403, 404)),
    ("POST", "/groups/{group_a}/organisations/{org_b}/remove", (LOGIN, 404, 404, 404, 403, 404)),
    ("POST", "/groups/{group_a}/invite", (LOGIN, 302, 404, 404, 403, 404)),
    ("POST", "/groups/{group_a}/invitations/{invitation_a}/revoke", (LOGIN, 302, 404, 404, 403, 404)),
    ("POST", "/groups/{group_a}/members/{member_a_id}/remove", (LOGIN, 302, 404, 404, 403, 404)),
    ("POST", "/groups/{group_a}/members/{member_a_id}/lead", (LOGIN, 302, 404, 404, 403, 404)),
    ("GET", "/invitations/{invitation_b_token}", (LOGIN, 404, 404, 404, 404, 404)),
    ("GET", "/invitations/{invitation_for_applicant}", (LOGIN, 200, 404, 404, 404, 404)),
    ("POST", "/invitations/{invitation_for_applicant}", (LOGIN, 302, 404, 404, 404, 404)),
    ("GET", "/manage/calls", (LOGIN, 403, 403, 403, 200, 403)),
    ("GET", "/manage/calls/new", (LOGIN, 403, 403, 403, 200, 403)),
    ("GET", "/manage/calls/{draft_call}", (LOGIN, 403, 403, 403, 200, 403)),
    ("GET", "/manage/calls/999999", (LOGIN, 403, 403, 403, 404, 403)),
    ("GET", "/manage/calls/{draft_call}/edit", (LOGIN, 403, 403, 403, 200, 403)),
    ("POST", "/manage/calls/{draft_call}/open", (LOGIN, 403, 403, 403, 302, 403)),
    ("POST", "/manage/calls/{open_call}/close", (LOGIN, 403, 403, 403, 302, 403)),
]

#: The POST form data a route needs to pass validation (only the permission is under test).
FORM_DATA = {"/groups/{group_a}/invite": {"email": "newcomer@example.org"}}


@dataclass
class World:
    ids: dict[str, object]
    emails: dict[str, str]


@pytest.fixture
def world(app, make_user) -> World:
    users = {
        "applicant": make_user("lead-a@example.org", Role.APPLICANT),
        "other_applicant": make_user("lead-b@example.org", Role.APPLICANT),
        "reviewer": make_user("reviewer@example.org", Role.REVIEWER),
        "manager": make_user("manager@example.org", Role.PROGRAMME_MANAGER),
        "fund_admin": make_user("funds@example.org", Role.FUND_ADMINISTRATOR),
    }
    member_a = make_user("member-a@example.org", Role.APPLICANT)
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
    draft.opens_at, draft.closes_at = now - timedelta(hours=1), now + timedelta(days=30)
    open_call = calls.create_call("cluster-contest.toml", rules_folder=folder, timezone=zone, actor=SETUP, now=now)
    open_call.opens_at, open_call.closes_at = now - timedelta(hours=1), now + timedelta(days=30)
    calls.open_call(open_call, actor=SETUP, now=now)
    db.session.commit()
    return World(
        ids={
            "applicant_id": users["applicant"].id, "member_a_id": member_a.id,
            "group_a": group_a.id, "org_a": org_a.id, "org_b": org_b.id,
            "invitation_a": invitation_a.id, "invitation_b_token": invitation_b.token,
            "invitation_for_applicant": invitation_for_applicant.token,
            "draft_call": draft.id, "open_call": open_call.id,
        },
        emails={role: user.email for role, user in users.items()},
    )


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize(("method", "template", "expected"), CASES, ids=[f"{m} {t}" for m, t, _ in CASES])
def test_route_access(client, login, world, role, method, template, expected):
    if role != "anonymous":
        login(world.emails[role])
    url = template.format(**world.ids)
    if method == "GET":
        response = client.get(url)
    else:
        response = client.post(url, data=FORM_DATA.get(template, {}))
    want = expected[ROLES.index(role)]
    assert response.status_code == want, f"{role} {method} {url}: {response.status_code}, expected {want}"
    if role == "anonymous" and want == LOGIN and template not in ("/register",):
        assert "/login" in response.headers["Location"]
    body = response.get_data(as_text=True)
    assert "Traceback" not in body


def test_every_route_is_in_the_access_table(app):
    """A route added without an access case fails here."""
    covered = {template.split("{")[0].rstrip("/").split("/999999")[0] for _, template, _ in CASES}
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
