"""Account pages through the test client: registration, login, logout, CSRF, rate limits, groups, staff users."""

from __future__ import annotations

import re
from urllib.parse import urlsplit

import pytest
from sqlalchemy import func, select

from programme.accounts import services
from programme.accounts.models import ApplicantGroup, GroupInvitation, GroupRole, Organisation, SizeClass, User
from programme.core.access import Role
from programme.extensions import db
from tests.conftest import PASSWORD
from tests.languages import field_block


def user_count() -> int:
    return db.session.scalar(select(func.count()).select_from(User))


def location_path(response) -> str:
    parts = urlsplit(response.headers["Location"])
    assert parts.netloc in ("", "localhost"), response.headers["Location"]
    return parts.path


# Registration ----------------------------------------------------------------------------------

REGISTRATION = {"name": "Ann Example", "email": "ann@example.org", "password": PASSWORD, "confirm": PASSWORD}


def test_register_creates_an_unverified_applicant_and_says_check_your_mailbox(client):
    response = client.post("/register", data=REGISTRATION)

    assert response.status_code == 200
    assert "Check your mailbox" in response.get_data(as_text=True)
    db.session.rollback()  # see only what the view committed
    user = services.find_user_by_email("ann@example.org")
    assert user is not None and user.role_set == {Role.APPLICANT}
    assert not user.email_verified
    assert client.get("/account").status_code == 302  # not logged in: the address is proven first


@pytest.mark.parametrize(
    ("changes", "field", "message"),
    [
        ({"email": "not-an-address"}, "email", "Enter an e-mail address such as name@example.org."),
        ({"confirm": PASSWORD + "!"}, "confirm", "The two passwords differ."),
        ({"password": "short", "confirm": "short"}, "password", "Use at least 12 characters."),
        ({"password": "aaaaaaaaaaaa", "confirm": "aaaaaaaaaaaa"}, "password", "Repeats like"),
        ({"password": "password12", "confirm": "password12"}, "password", "This is a very common password."),
        ({"password": "1234567890", "confirm": "1234567890"}, "password", "This is a top-100 common password."),
    ],
    ids=["invalid-email", "mismatched-passwords", "short-password", "repetitive-password", "password12", "digits"],
)
def test_register_with_bad_input_shows_the_error_beside_the_field_and_keeps_the_typing(
    client, changes, field, message
):
    data = {**REGISTRATION, "name": "Ann <Typed> Name", **changes}

    response = client.post("/register", data=data)

    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assert message in field_block(page, field)
    assert 'value="Ann <Typed> Name"' in field_block(page, "name")
    assert f'value="{data["email"]}"' in field_block(page, "email")
    assert data["password"] not in page  # a password is never sent back
    db.session.rollback()
    assert user_count() == 0


def test_register_with_an_email_in_use_answers_exactly_as_for_a_new_one(client, make_user):
    make_user("ann@example.org")
    fresh = client.post("/register", data={**REGISTRATION, "email": "bob@example.org"})

    response = client.post("/register", data={**REGISTRATION, "email": "ANN@example.org"})

    assert response.status_code == fresh.status_code == 200
    page = response.get_data(as_text=True)
    assert "exists" not in page
    def same(text: str, email: str) -> str:
        return re.sub(r'(content|value)="[^"]*\.[^"]*"', "", text.replace(email, "X"))  # signed CSRF tokens vary

    assert same(page, "ann@example.org") == same(fresh.get_data(as_text=True), "bob@example.org")
    db.session.rollback()
    assert user_count() == 2


# Login, logout, sessions -----------------------------------------------------------------------


def test_login_with_a_wrong_password_shows_a_message(client, make_user):
    make_user("ann@example.org")

    response = client.post("/login", data={"email": "ann@example.org", "password": "wrong-password"})

    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assert "The e-mail address or the password is not right." in page
    assert 'value="ann@example.org"' in field_block(page, "email")
    assert client.get("/account").status_code == 302


def test_login_with_an_unknown_email_shows_the_same_message(client, make_user):
    make_user("ann@example.org")
    response = client.post("/login", data={"email": "nobody@example.org", "password": PASSWORD})
    assert response.status_code == 200
    assert "The e-mail address or the password is not right." in response.get_data(as_text=True)


def test_login_redirects_to_a_local_next_page(client, make_user):
    make_user("ann@example.org")
    response = client.post("/login?next=/account",
                           data={"email": "ann@example.org", "password": PASSWORD, "next": "/account"})
    assert response.status_code == 302
    assert location_path(response) == "/account"


@pytest.mark.parametrize("target", ["https://evil.example", "//evil.example/account", "evil.example",
                                    "javascript:alert(1)"])
def test_login_does_not_redirect_to_another_site(client, make_user, target):
    make_user("ann@example.org")

    response = client.post(f"/login?next={target}",
                           data={"email": "ann@example.org", "password": PASSWORD, "next": target})

    assert response.status_code == 302
    assert response.headers["Location"] in ("/", "http://localhost/")


def test_login_form_carries_the_next_page_from_the_query(client):
    page = client.get("/login?next=/groups").get_data(as_text=True)
    assert re.search(r'<input[^>]*name="next"[^>]*value="/groups"', page)


def test_logout_ends_the_session_even_for_a_copied_cookie(app, client, make_user, login):
    user = make_user("ann@example.org")
    login(user)
    assert client.get("/account").status_code == 200
    old_cookie = client.get_cookie("session")
    assert old_cookie is not None

    response = client.post("/logout")

    assert response.status_code == 302
    assert client.get("/account").status_code == 302
    thief = app.test_client()
    thief.set_cookie("session", old_cookie.value, domain="localhost")
    response = thief.get("/account")
    assert response.status_code == 302
    assert location_path(response) == "/login"
    db.session.rollback()  # see only what the views committed
    assert user.session_version == 2


def test_a_copied_cookie_works_before_logout(app, client, make_user, login):
    """The other half of the logout test: the copied cookie is a real session until logout."""
    login(make_user("ann@example.org"))
    copy = app.test_client()
    copy.set_cookie("session", client.get_cookie("session").value, domain="localhost")
    assert copy.get("/account").status_code == 200


def test_changing_the_password_ends_other_sessions_but_keeps_this_one(app, client, make_user, login):
    login(make_user("ann@example.org"))
    other = app.test_client()
    login("ann@example.org", client_=other)

    response = client.post("/account", data={"current_password": PASSWORD, "new_password": "a-new-passphrase-1",
                                             "confirm": "a-new-passphrase-1"})

    assert response.status_code == 302
    assert client.get("/account").status_code == 200
    assert other.get("/account").status_code == 302
    assert services.authenticate("ann@example.org", "a-new-passphrase-1") is not None


def test_account_page_needs_a_login(client):
    response = client.get("/account")
    assert response.status_code == 302
    assert location_path(response) == "/login"


# CSRF --------------------------------------------------------------------------------------------


def test_a_post_without_csrf_token_is_refused_and_changes_nothing(client):
    response = client.post("/register", data=REGISTRATION, csrf=False)

    assert response.status_code == 400
    assert "Form expired" in response.get_data(as_text=True)
    assert user_count() == 0


def test_a_logout_without_csrf_token_is_refused(client, make_user, login):
    user = make_user("ann@example.org")
    login(user)

    response = client.post("/logout", csrf=False)

    assert response.status_code == 400
    db.session.rollback()  # see only what the views committed
    assert user.session_version == 1
    assert client.get("/account").status_code == 200


def test_a_post_with_a_wrong_csrf_token_is_refused(client, make_user):
    make_user("ann@example.org")
    response = client.post("/login", data={"email": "ann@example.org", "password": PASSWORD,
                                           "csrf_token": "forged"})
    assert response.status_code == 400
    assert client.get("/account").status_code == 302


# Login rate limits -----------------------------------------------------------------------------


class TestLoginRateLimitPerAccount:
    @pytest.fixture
    def app_config(self):
        return {"RATELIMIT_ENABLED": True}

    def test_the_sixth_wrong_login_for_one_account_within_a_minute_is_refused(self, app, client, make_user):
        assert app.config["LOGIN_LIMIT_PER_ACCOUNT"].startswith("5 per minute")
        make_user("ann@example.org")

        statuses = [
            client.post("/login", data={"email": "ann@example.org", "password": f"wrong-{i}"}).status_code
            for i in range(6)
        ]

        assert statuses == [200, 200, 200, 200, 200, 429]
        # The limit is per account, whatever the spelling of the address: from a device that never logged in to the
        # account the right password is refused too (the owner's known device is not: tests/accounts/test_trust.py).
        response = client.post("/login", data={"email": " ANN@example.org", "password": PASSWORD})
        assert response.status_code == 429
        assert "Too many attempts" in response.get_data(as_text=True)

    def test_another_account_is_not_limited_by_the_first(self, app, client, make_user):
        make_user("ann@example.org")
        make_user("bob@example.org")
        for i in range(6):
            client.post("/login", data={"email": "ann@example.org", "password": f"wrong-{i}"})

        response = client.post("/login", data={"email": "bob@example.org", "password": PASSWORD})

        assert response.status_code == 302


class TestLoginRateLimitPerAddress:
    @pytest.fixture
    def app_config(self):
        return {"RATELIMIT_ENABLED": True, "LOGIN_LIMIT_PER_ADDRESS": "3 per minute"}

    def test_the_fourth_login_from_one_address_is_refused_whatever_the_account(self, app, client):
        statuses = [
            client.post("/login", data={"email": f"user{i}@example.org", "password": "wrong-password"}).status_code
            for i in range(4)
        ]
        assert statuses == [200, 200, 200, 429]

    def test_get_requests_are_not_counted(self, app, client):
        for _ in range(5):
            assert client.get("/login").status_code == 200
        assert client.post("/login", data={"email": "a@example.org", "password": "wrong-password"}).status_code == 200


# Applicant groups through the web ---------------------------------------------------------------


@pytest.fixture
def applicant(make_user, login):
    user = make_user("lead@example.org", name="Lena Lead")
    login(user)
    return user


def _create_group(client, name: str = "Winelands Group") -> ApplicantGroup:
    response = client.post("/groups/new", data={"name": name, "description": "Wine makers of the valley"})
    assert response.status_code == 302
    db.session.rollback()  # see only what the view committed
    group = db.session.scalar(select(ApplicantGroup).where(ApplicantGroup.name == name))
    assert location_path(response) == f"/groups/{group.id}"
    return group


def test_create_a_group_through_the_form(client, applicant):
    group = _create_group(client)

    assert group.role_of(applicant) == GroupRole.LEAD
    page = client.get(f"/groups/{group.id}").get_data(as_text=True)
    assert "Winelands Group" in page
    assert "lead contact" in page
    assert "Winelands Group" in client.get("/groups").get_data(as_text=True)


def test_add_a_firm_and_an_institution_through_the_organisation_form(client, applicant):
    group = _create_group(client)
    url = f"/groups/{group.id}/organisations/new"

    firm = client.post(url, data={"name": "Alpha Foods", "kind": "firm", "size_class": "small",
                                  "sector": "food processing", "locality": "Stellenbosch"})
    chamber = client.post(url, data={"name": "Wine Chamber", "kind": "chamber", "size_class": "large",
                                     "sector": "", "locality": "Paarl"})

    assert firm.status_code == chamber.status_code == 302
    db.session.rollback()  # see only what the views committed
    organisations = {o.name: o for o in group.organisations}
    assert set(organisations) == {"Alpha Foods", "Wine Chamber"}
    assert organisations["Alpha Foods"].size_class == SizeClass.SMALL
    assert organisations["Wine Chamber"].size_class is None  # an institution has no size class
    page = client.get(f"/groups/{group.id}").get_data(as_text=True)
    assert "1 firm(s), 1 support institution(s)" in page


def test_a_firm_without_size_class_re_renders_the_form_with_the_error_and_adds_nothing(client, applicant):
    group = _create_group(client)

    response = client.post(f"/groups/{group.id}/organisations/new",
                           data={"name": "Beta Brands", "kind": "firm", "size_class": "",
                                 "sector": "packaging", "locality": "Wellington"})

    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assert "A firm needs a size class." in field_block(page, "size_class")
    assert 'value="Beta Brands"' in field_block(page, "name")
    assert 'value="packaging"' in field_block(page, "sector")
    assert 'value="Wellington"' in field_block(page, "locality")
    assert re.search(r'<option selected value="firm">|<option value="firm" selected>', field_block(page, "kind"))
    db.session.rollback()
    assert db.session.scalar(select(func.count()).select_from(Organisation)) == 0


def test_a_firm_without_sector_shows_the_error_beside_the_sector(client, applicant):
    group = _create_group(client)
    response = client.post(f"/groups/{group.id}/organisations/new",
                           data={"name": "Beta Brands", "kind": "firm", "size_class": "micro",
                                 "sector": "  ", "locality": "Wellington"})
    assert response.status_code == 200
    assert "A firm needs a sector." in field_block(response.get_data(as_text=True), "sector")
    assert db.session.scalar(select(func.count()).select_from(Organisation)) == 0


def test_another_applicant_cannot_see_or_change_the_group(app, client, applicant, make_user, login):
    group = _create_group(client)
    stranger_client = app.test_client()
    login(make_user("other@example.org"), client_=stranger_client)

    assert stranger_client.get(f"/groups/{group.id}").status_code == 404
    response = stranger_client.post(f"/groups/{group.id}/organisations/new",
                                    data={"name": "Intruder", "kind": "chamber", "locality": "Nowhere"})
    assert response.status_code == 404
    assert db.session.scalar(select(func.count()).select_from(Organisation)) == 0


def test_invitation_flow_through_the_web(app, client, applicant, make_user, login):
    group = _create_group(client)
    invitee = make_user("ann@example.org", name="Ann Invitee")

    response = client.post(f"/groups/{group.id}/invite", data={"email": "Ann@Example.org"})
    assert response.status_code == 302
    assert "Invitation sent to Ann@Example.org." in client.get(f"/groups/{group.id}").get_data(as_text=True)

    invitee_client = app.test_client()
    login(invitee, client_=invitee_client)
    groups_page = invitee_client.get("/groups").get_data(as_text=True)
    assert "Invitations for you" in groups_page
    assert "Winelands Group (from Lena Lead)" in groups_page
    link = re.search(r'href="(/invitations/[^"]+)"', groups_page)
    assert link, "the invitation links to its acceptance page"
    invitation_page = invitee_client.get(link.group(1))
    assert invitation_page.status_code == 200
    assert "Invitation to Winelands Group" in invitation_page.get_data(as_text=True)

    response = invitee_client.post(link.group(1))

    assert response.status_code == 302
    assert location_path(response) == f"/groups/{group.id}"
    db.session.rollback()  # see only what the views committed
    assert group.role_of(invitee) == GroupRole.MEMBER
    group_page = invitee_client.get(f"/groups/{group.id}").get_data(as_text=True)
    assert "Ann Invitee" in group_page
    assert "Invitations for you" not in invitee_client.get("/groups").get_data(as_text=True)


def test_an_invitation_page_for_someone_else_is_not_found(app, client, applicant, make_user, login):
    group = _create_group(client)
    client.post(f"/groups/{group.id}/invite", data={"email": "ann@example.org"})
    token = db.session.scalar(select(GroupInvitation.token))
    other_client = app.test_client()
    login(make_user("eve@example.org"), client_=other_client)

    assert other_client.get(f"/invitations/{token}").status_code == 404
    assert other_client.post(f"/invitations/{token}").status_code == 404
    db.session.rollback()  # see only what the views committed
    assert len(group.users) == 1


def test_inviting_twice_shows_the_refusal(client, applicant):
    group = _create_group(client)
    client.post(f"/groups/{group.id}/invite", data={"email": "ann@example.org"})

    response = client.post(f"/groups/{group.id}/invite", data={"email": "ann@example.org"}, follow_redirects=True)

    assert "This address has a pending invitation already." in response.get_data(as_text=True)
    assert db.session.scalar(select(func.count()).select_from(GroupInvitation)) == 1


# Staff users -------------------------------------------------------------------------------------


@pytest.fixture
def manager(make_user, login):
    user = make_user("boss@example.org", Role.PROGRAMME_MANAGER, name="Bea Boss")
    login(user)
    return user


def test_manager_creates_a_staff_user_with_two_roles_and_edits_the_roles(client, manager):
    response = client.post("/manage/users/new", data={
        "name": "Rita Reviewer", "email": "rita@example.org", "roles": ["reviewer", "fund_administrator"],
        "organisation_id": "0",
    })

    assert response.status_code == 302
    assert location_path(response) == "/manage/users"
    db.session.rollback()  # see only what the view committed
    staff = services.find_user_by_email("rita@example.org")
    assert staff.role_set == {Role.REVIEWER}  # fund administrator waits for a second manager
    assert staff.password_hash is None
    assert staff.organisation_id is None
    assert "rita@example.org" in client.get("/manage/users").get_data(as_text=True)

    edit_page = client.get(f"/manage/users/{staff.id}").get_data(as_text=True)
    assert re.search(r'<input checked[^>]*value="reviewer"|<input[^>]*value="reviewer"[^>]*checked', edit_page)
    response = client.post(f"/manage/users/{staff.id}",
                           data={"roles": ["reviewer", "programme_manager"], "active": "y"})

    assert response.status_code == 302
    db.session.rollback()  # see only what the views committed
    assert staff.role_set == {Role.REVIEWER}
    assert sorted(r.role for r in services.role_requests_waiting()) == [Role.FUND_ADMINISTRATOR,
                                                                         Role.PROGRAMME_MANAGER]
    assert staff.active


def test_manager_cannot_remove_the_last_manager_role_through_the_web(client, manager):
    response = client.post(f"/manage/users/{manager.id}", data={"roles": ["reviewer"], "active": "y"})

    assert response.status_code == 200
    assert "This is the last programme manager" in field_block(response.get_data(as_text=True), "roles")
    db.session.rollback()  # see only what the views committed
    assert manager.role_set == {Role.PROGRAMME_MANAGER}


def test_a_staff_user_form_without_roles_shows_the_error(client, manager):
    response = client.post("/manage/users/new", data={
        "name": "No Roles", "email": "none@example.org", "organisation_id": "0",
    })
    assert response.status_code == 200
    assert "Choose at least one role." in field_block(response.get_data(as_text=True), "roles")
    assert services.find_user_by_email("none@example.org") is None


@pytest.mark.parametrize("role", [Role.APPLICANT, Role.REVIEWER])
def test_user_management_is_forbidden_to_other_roles(client, make_user, login, role):
    login(make_user("someone@example.org", role))
    assert client.get("/manage/users").status_code == 403
    response = client.post("/manage/users/new", data={
        "name": "Sneaky", "email": "sneaky@example.org", "roles": ["programme_manager"],
        "organisation_id": "0", "password": "initial-passphrase",
    })
    assert response.status_code == 403
    assert services.find_user_by_email("sneaky@example.org") is None
