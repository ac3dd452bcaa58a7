"""Issue 14, accounts and sessions: enrolment by link, staff roles by two managers, verified addresses, invitations
by verified address, password reset, the password rule, fresh CSRF at login, idle timeout, throttling without
lock-out of the owner, secret links never shown in the app."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from urllib.parse import urlsplit

import pytest
from sqlalchemy import select

from programme.accounts import services
from programme.accounts.models import AccountToken, RoleRequestStatus, TokenPurpose, User, UserRole
from programme.core.access import AccessDenied, NotFound, Role, RuleViolation
from programme.core.audit import AuditEntry
from programme.core.notifications import Notification
from programme.extensions import db
from tests.conftest import PASSWORD

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
NEW_PASSWORD = "lantern-quarry-mosaic"
VERIFY = {"link": "http://localhost/verify/__token__", "valid_for": timedelta(hours=48)}
ENROL = {"link": "http://localhost/enrol/__token__", "valid_for": timedelta(hours=72)}


def mailed_link(email: str) -> str:
    """The link of the newest message to this address in the outbox (what the mail carries)."""
    db.session.rollback()
    note = db.session.scalars(select(Notification).where(Notification.email == email, Notification.link.is_not(None))
                              .order_by(Notification.id.desc())).first()
    assert note is not None, f"no link mailed to {email}"
    return note.link


def path_of(link: str) -> str:
    return urlsplit(link).path


def location(response) -> str:
    return urlsplit(response.headers["Location"]).path


def audited(action: str) -> list[AuditEntry]:
    return list(db.session.scalars(select(AuditEntry).where(AuditEntry.action == action)))


@pytest.fixture
def manager(make_user, login):
    user = make_user("boss@example.org", Role.PROGRAMME_MANAGER, name="Bea Boss")
    login(user)
    return user


# 1. Enrolment, not passwords set by others ---------------------------------------------------------------------------


def test_a_manager_enrols_a_fund_administrator_who_sets_their_own_password(app, client, manager, login):
    response = client.post("/manage/users/new", data={
        "name": "Fiona Funds", "email": "fiona@example.org", "roles": ["fund_administrator"], "organisation_id": "0",
        "password": "chosen-by-the-manager-1",  # the old form's field: ignored, no password is set by a manager
    })
    assert response.status_code == 302
    db.session.rollback()
    fiona = services.find_user_by_email("fiona@example.org")
    assert fiona.password_hash is None and fiona.created_by_id == manager.id and not fiona.email_verified
    other = app.test_client()
    # the manager cannot log in as the new account, with the password they typed or any other
    assert other.post("/login", data={"email": "fiona@example.org", "password": "chosen-by-the-manager-1"}
                      ).status_code == 200

    link = mailed_link("fiona@example.org")
    assert link.startswith("http://localhost/enrol/")
    assert other.get(path_of(link)).status_code == 200
    weak = other.post(path_of(link), data={"password": "password1234", "confirm": "password1234"})
    assert weak.status_code == 200 and "This is a very common password." in weak.get_data(as_text=True)
    done = other.post(path_of(link), data={"password": NEW_PASSWORD, "confirm": NEW_PASSWORD})
    assert done.status_code == 302 and location(done) == "/login"
    db.session.rollback()
    assert fiona.email_verified and fiona.enrolled
    assert audited("user.enrolled")[0].actor_id == fiona.id
    login("fiona@example.org", NEW_PASSWORD, client_=other)
    # used once: the link is dead now
    assert other.get(path_of(link)).status_code == 409
    token = db.session.scalar(select(AccountToken).where(AccountToken.user_id == fiona.id))
    assert token.used_at is not None and len(token.token_hash) == 64
    assert token.token_hash not in link  # only the hash is stored


def test_a_manager_page_has_no_password_field(client, manager):
    page = client.get("/manage/users/new").get_data(as_text=True)
    assert 'type="password"' not in page


def test_an_enrolment_link_expires_and_a_wrong_one_is_refused(app, client, make_user, clock):
    clock(T0)
    boss = make_user("boss@example.org", Role.PROGRAMME_MANAGER)
    services.enrol_user(email="rev@example.org", name="Rev", roles=[Role.REVIEWER], actor=boss, **ENROL)
    db.session.commit()
    link = mailed_link("rev@example.org")
    assert client.get(path_of(link)).status_code == 200
    assert client.get("/enrol/not-the-token").status_code == 409
    clock(T0 + timedelta(hours=72, seconds=1))
    response = client.post(path_of(link), data={"password": NEW_PASSWORD, "confirm": NEW_PASSWORD})
    assert response.status_code == 409
    assert "it has expired" in response.get_data(as_text=True)
    db.session.rollback()
    assert not services.find_user_by_email("rev@example.org").enrolled


def test_a_resent_enrolment_link_replaces_the_old_one(client, manager):
    client.post("/manage/users/new", data={"name": "Rev", "email": "rev@example.org", "roles": ["reviewer"],
                                           "organisation_id": "0"})
    old = mailed_link("rev@example.org")
    rev = services.find_user_by_email("rev@example.org")
    assert client.post(f"/manage/users/{rev.id}/enrolment").status_code == 302
    new = mailed_link("rev@example.org")
    assert new != old
    assert client.get(path_of(old)).status_code == 409
    assert client.get(path_of(new)).status_code == 200
    assert audited("user.enrolment_resent")


def test_the_users_page_and_notifications_never_show_a_token(client, manager):
    client.post("/manage/users/new", data={"name": "Rev", "email": "rev@example.org", "roles": ["reviewer"],
                                           "organisation_id": "0"})
    link = mailed_link("rev@example.org")
    token = link.rsplit("/", 1)[1]
    for page in ("/manage/users", f"/manage/users/{services.find_user_by_email('rev@example.org').id}",
                 "/notifications"):
        assert token not in client.get(page).get_data(as_text=True)


# 2. Role grants need a second manager ---------------------------------------------------------------------------


def test_a_staff_role_waits_for_a_second_manager(app, make_user):
    first = make_user("first@example.org", Role.PROGRAMME_MANAGER)
    second = make_user("second@example.org", Role.PROGRAMME_MANAGER)
    target = make_user("target@example.org", Role.REVIEWER)

    [request] = services.set_roles(target, [Role.REVIEWER, Role.FUND_ADMINISTRATOR], actor=first)
    assert target.role_set == {Role.REVIEWER}
    with pytest.raises(AccessDenied, match="someone else must approve"):
        services.approve_role_request(request, actor=first)
    services.approve_role_request(request, actor=second)
    db.session.commit()

    assert target.role_set == {Role.REVIEWER, Role.FUND_ADMINISTRATOR}
    assert (request.status, request.decided_by_id) == (RoleRequestStatus.APPROVED, second.id)
    assert [e.actor_id for e in audited("user.role_requested")] == [first.id]
    assert [e.actor_id for e in audited("user.role_request_approved")] == [second.id]


def test_an_account_the_requester_created_never_approves(app, make_user):
    first = make_user("first@example.org", Role.PROGRAMME_MANAGER)
    services.enrol_user(email="puppet@example.org", name="Puppet", roles=[Role.PROGRAMME_MANAGER], actor=first,
                        **ENROL)
    puppet = services.find_user_by_email("puppet@example.org")
    puppet.roles.append(UserRole(role=Role.PROGRAMME_MANAGER))  # as if another manager had granted it
    target = make_user("target@example.org", Role.REVIEWER)
    [request] = services.request_roles(target, [Role.AUDITOR], actor=first)

    with pytest.raises(AccessDenied, match="created by the person who asked"):
        services.approve_role_request(request, actor=puppet)


def test_the_person_concerned_never_approves_their_own_grant(app, make_user):
    first = make_user("first@example.org", Role.PROGRAMME_MANAGER)
    second = make_user("second@example.org", Role.PROGRAMME_MANAGER)
    [request] = services.request_roles(second, [Role.FUND_ADMINISTRATOR], actor=first)
    with pytest.raises(AccessDenied, match="another manager decides"):
        services.approve_role_request(request, actor=second)
    with pytest.raises(AccessDenied):
        services.reject_role_request(request, actor=second)


def test_reviewer_is_granted_at_once_and_a_role_is_removed_at_once(app, make_user):
    first = make_user("first@example.org", Role.PROGRAMME_MANAGER)
    target = make_user("target@example.org", Role.FUND_ADMINISTRATOR)
    assert services.set_roles(target, [Role.REVIEWER], actor=first) == []
    assert target.role_set == {Role.REVIEWER}


def test_a_decided_request_cannot_be_decided_again_and_a_rejection_grants_nothing(app, make_user):
    first = make_user("first@example.org", Role.PROGRAMME_MANAGER)
    second = make_user("second@example.org", Role.PROGRAMME_MANAGER)
    target = make_user("target@example.org", Role.REVIEWER)
    [request] = services.request_roles(target, [Role.PROGRAMME_MANAGER], actor=first)
    services.reject_role_request(request, actor=second)
    with pytest.raises(RuleViolation):
        services.approve_role_request(request, actor=second)
    assert target.role_set == {Role.REVIEWER}
    assert audited("user.role_request_rejected")


def test_role_requests_through_the_web(app, client, manager, make_user, login):
    target = make_user("target@example.org", Role.REVIEWER)
    client.post(f"/manage/users/{target.id}", data={"roles": ["reviewer", "auditor"], "active": "y"})
    [request] = services.role_requests_waiting()
    page = client.get("/manage/users").get_data(as_text=True)
    assert "Role requests waiting for another manager" in page and "target@example.org" in page
    assert client.post(f"/manage/role-requests/{request.id}/approve").status_code == 403
    db.session.rollback()
    assert target.role_set == {Role.REVIEWER}

    second = make_user("second@example.org", Role.PROGRAMME_MANAGER)
    other = app.test_client()
    login(second, client_=other)
    assert other.post(f"/manage/role-requests/{request.id}/approve").status_code == 302
    db.session.rollback()
    assert target.role_set == {Role.REVIEWER, Role.AUDITOR}


# 3. Verified e-mail -------------------------------------------------------------------------------------------------


REGISTRATION = {"name": "Ann Example", "email": "ann@example.org", "password": PASSWORD, "confirm": PASSWORD}


def test_an_unverified_applicant_sees_only_the_confirm_page_until_the_link_is_used(app, client, login, make_user):
    lead = make_user("lead@example.org")
    group = services.create_group(name="Group", description="", actor=lead)
    invitation = services.invite(group, "ann@example.org", actor=lead)
    db.session.commit()
    client.post("/register", data=REGISTRATION)
    login("ann@example.org")

    for page in ("/groups", f"/invitations/{invitation.token}", "/proposals", "/loans", "/funds", "/notifications"):
        response = client.get(page)
        assert response.status_code == 302 and location(response) == "/confirm-address", page
    confirm = client.get("/confirm-address").get_data(as_text=True)
    assert "Send the link again" in confirm
    ann = services.find_user_by_email("ann@example.org")
    assert services.pending_invitations_for(ann) == []
    with pytest.raises(NotFound):
        services.get_invitation(invitation.token, actor=ann)
    with pytest.raises(NotFound):
        services.accept_invitation(invitation, actor=ann)

    link = mailed_link("ann@example.org")
    assert client.get(path_of(link)).status_code == 200
    response = client.post(path_of(link))
    assert response.status_code == 302 and location(response) == "/groups"
    for page in ("/groups", "/proposals", f"/invitations/{invitation.token}"):
        assert client.get(page).status_code == 200, page
    assert client.post(path_of(link)).status_code == 409  # used once
    assert audited("user.email_verified")


def test_a_verification_link_expires_and_a_wrong_one_is_refused(client, clock):
    clock(T0)
    client.post("/register", data=REGISTRATION)
    link = mailed_link("ann@example.org")
    assert client.get("/verify/wrong-token").status_code == 409
    clock(T0 + timedelta(hours=49))
    assert client.post(path_of(link)).status_code == 409
    db.session.rollback()
    assert not services.find_user_by_email("ann@example.org").email_verified


def test_send_the_link_again_replaces_the_old_link(client, login):
    client.post("/register", data=REGISTRATION)
    old = mailed_link("ann@example.org")
    login("ann@example.org")
    assert client.post("/confirm-address/resend").status_code == 302
    new = mailed_link("ann@example.org")
    assert new != old
    assert client.post(path_of(old)).status_code == 409
    assert client.post(path_of(new)).status_code == 302


def test_registering_a_taken_address_mails_the_owner_and_does_the_same_work(app, client, make_user, monkeypatch):
    from programme.accounts.services import enrolment

    owner = make_user("ann@example.org")
    hashed: list[str] = []
    real = enrolment.hash_password
    monkeypatch.setattr(enrolment, "hash_password", lambda p: hashed.append(p) or real(p))

    taken = client.post("/register", data=REGISTRATION)
    fresh = client.post("/register", data={**REGISTRATION, "email": "new@example.org"})

    assert taken.status_code == fresh.status_code == 200
    assert len(hashed) == 2  # the password is hashed whether or not the address has an account
    db.session.rollback()
    notice = db.session.scalars(select(Notification).where(Notification.user_id == owner.id)
                                .order_by(Notification.id.desc())).first()
    assert notice.subject == "Someone tried to register with your address"
    assert "reset your password" in notice.body


class TestRegistrationThrottle:
    @pytest.fixture
    def app_config(self):
        return {"RATELIMIT_ENABLED": True, "REGISTER_LIMIT_PER_EMAIL": "2 per hour",
                "REGISTER_LIMIT_PER_ADDRESS": "4 per hour", "VERIFY_RESEND_LIMIT": "1 per hour"}

    def test_per_address_asked_for(self, app, client):
        same = [client.post("/register", data=REGISTRATION).status_code for _ in range(3)]
        assert same == [200, 200, 429]

    def test_per_client(self, app, client):
        statuses = [client.post("/register", data={**REGISTRATION, "email": f"x{i}@example.org"}).status_code
                    for i in range(5)]
        assert statuses == [200, 200, 200, 200, 429]

    def test_send_the_link_again_is_throttled(self, app, client, login):
        client.post("/register", data=REGISTRATION)
        login("ann@example.org")
        assert client.post("/confirm-address/resend").status_code == 302
        assert client.post("/confirm-address/resend").status_code == 429


# 4. Invitations by verified address ---------------------------------------------------------------------------------


def test_an_invitation_for_another_address_is_not_found(app, client, make_user, login):
    lead = make_user("lead@example.org")
    make_user("intruder@example.org")
    group = services.create_group(name="Group", description="", actor=lead)
    invitation = services.invite(group, "ann@example.org", actor=lead)
    db.session.commit()
    login("intruder@example.org")
    assert client.get(f"/invitations/{invitation.token}").status_code == 404
    assert client.post(f"/invitations/{invitation.token}").status_code == 404


# 5. Password reset ----------------------------------------------------------------------------------------------


def test_reset_answers_the_same_for_known_and_unknown_addresses(client, make_user):
    make_user("ann@example.org")
    known = client.post("/reset", data={"email": "ann@example.org"})
    unknown = client.post("/reset", data={"email": "nobody@example.org"})
    assert known.status_code == unknown.status_code == 200
    assert known.get_data(as_text=True) == unknown.get_data(as_text=True)
    assert "If an account exists for that address" in known.get_data(as_text=True)
    db.session.rollback()
    assert db.session.scalar(select(Notification).where(Notification.email == "nobody@example.org")) is None


def test_a_reset_link_sets_a_new_password_and_ends_every_session(app, client, make_user, login):
    ann = make_user("ann@example.org")
    other = app.test_client()
    login(ann, client_=other)
    client.post("/reset", data={"email": "ann@example.org"})
    link = mailed_link("ann@example.org")
    assert link.startswith("http://localhost/reset/")

    weak = client.post(path_of(link), data={"password": "1234567890", "confirm": "1234567890"})
    assert "This is a top-100 common password." in weak.get_data(as_text=True)
    response = client.post(path_of(link), data={"password": NEW_PASSWORD, "confirm": NEW_PASSWORD})
    assert response.status_code == 302
    assert other.get("/account").status_code == 302  # the other session ended
    db.session.rollback()
    assert services.authenticate("ann@example.org", NEW_PASSWORD) is not None
    assert services.authenticate("ann@example.org", PASSWORD) is None
    assert audited("user.password_reset")
    # single use
    assert client.post(path_of(link), data={"password": "another-" + NEW_PASSWORD,
                                            "confirm": "another-" + NEW_PASSWORD}).status_code == 409


def test_a_reset_link_expires_after_the_configured_minutes(app, client, make_user, clock):
    clock(T0)
    make_user("ann@example.org")
    client.post("/reset", data={"email": "ann@example.org"})
    link = mailed_link("ann@example.org")
    clock(T0 + timedelta(minutes=app.config["RESET_LINK_MINUTES"], seconds=1))
    assert client.get(path_of(link)).status_code == 409
    assert client.get("/reset/wrong").status_code == 409


def test_a_reset_link_is_not_shown_on_the_notifications_page(client, make_user, login):
    make_user("ann@example.org")
    client.post("/reset", data={"email": "ann@example.org"})
    token = mailed_link("ann@example.org").rsplit("/", 1)[1]
    login("ann@example.org")
    page = client.get("/notifications").get_data(as_text=True)
    assert "Reset your password" in page and token not in page
    assert "the link was sent by e-mail only" in page


class TestResetThrottle:
    @pytest.fixture
    def app_config(self):
        return {"RATELIMIT_ENABLED": True, "RESET_LIMIT_PER_EMAIL": "2 per hour"}

    def test_reset_requests_are_throttled_per_address(self, app, client):
        statuses = [client.post("/reset", data={"email": "ann@example.org"}).status_code for _ in range(3)]
        assert statuses == [200, 200, 429]


# 6. Passwords ---------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("weak", ["password12", "1234567890", "password1234", "qwertyuiopas"])
def test_change_password_refuses_a_weak_one_with_the_reason(client, make_user, login, weak):
    make_user("ann@example.org")
    login("ann@example.org")
    response = client.post("/account", data={"current_password": PASSWORD, "new_password": weak, "confirm": weak})
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assert "common" in page or "keyboard" in page.lower() or "Use at least 12 characters." in page


# 7. Sessions ----------------------------------------------------------------------------------------------------


def test_a_csrf_token_from_before_login_is_refused_after_it(client, make_user):
    make_user("ann@example.org")
    before = client.csrf_token()
    response = client.post("/login", data={"email": "ann@example.org", "password": PASSWORD, "csrf_token": before})
    assert response.status_code == 302
    assert client.post("/logout", data={"csrf_token": before}).status_code == 400
    assert client.get("/account").status_code == 200  # still logged in: the stale form did nothing


def test_a_session_idle_longer_than_the_limit_is_logged_out(app, client, make_user, login, clock):
    assert app.config["SESSION_IDLE_MINUTES"] == 30
    make_user("ann@example.org")
    clock(T0)
    login("ann@example.org")
    clock(T0 + timedelta(minutes=29))
    assert client.get("/account").status_code == 200
    clock(T0 + timedelta(minutes=58))  # 29 minutes after the last request: still fine
    assert client.get("/account").status_code == 200
    clock(T0 + timedelta(minutes=89))
    response = client.get("/account")
    assert response.status_code == 302 and location(response) == "/login"
    page = client.get("/login").get_data(as_text=True)
    assert "You were logged out after 30 minutes without activity" in page
    assert client.get("/account").status_code == 302


def test_logout_everywhere_still_ends_other_sessions(app, client, make_user, login):
    make_user("ann@example.org")
    other = app.test_client()
    login("ann@example.org")
    login("ann@example.org", client_=other)
    client.post("/logout")
    assert other.get("/account").status_code == 302


# 8. Throttling without cheap lock-out ------------------------------------------------------------------------------


class TestNoLockOut:
    @pytest.fixture
    def app_config(self):
        return {"RATELIMIT_ENABLED": True}

    def test_the_owner_s_known_device_logs_in_after_an_attacker_s_failures(self, app, client, make_user, login):
        make_user("ann@example.org")
        login("ann@example.org")  # the owner's browser: it gets the known-device cookie
        client.post("/logout")
        attacker = app.test_client()
        statuses = [attacker.post("/login", data={"email": "ann@example.org", "password": f"guess-{i}"}).status_code
                    for i in range(6)]
        assert statuses[-1] == 429
        assert attacker.post("/login", data={"email": "ann@example.org", "password": PASSWORD}).status_code == 429

        assert client.post("/login", data={"email": "ann@example.org", "password": PASSWORD}).status_code == 302
        unknown = app.test_client()
        assert unknown.post("/login", data={"email": "ann@example.org", "password": PASSWORD}).status_code == 429

    def test_a_forged_known_device_cookie_is_no_exemption(self, app, client, make_user):
        make_user("ann@example.org")
        client.set_cookie("known_device", "forged.value", domain="localhost")
        statuses = [client.post("/login", data={"email": "ann@example.org", "password": f"guess-{i}"}).status_code
                    for i in range(6)]
        assert statuses[-1] == 429

    def test_successful_logins_do_not_use_up_the_account_limit(self, app, make_user, login):
        make_user("ann@example.org")
        for _ in range(7):
            login("ann@example.org", client_=app.test_client())

    def test_the_password_check_on_the_account_page_is_throttled(self, app, client, make_user, login):
        make_user("ann@example.org")
        login("ann@example.org")
        statuses = [client.post("/account", data={"current_password": f"wrong-{i}", "new_password": NEW_PASSWORD,
                                                  "confirm": NEW_PASSWORD}).status_code for i in range(6)]
        assert statuses == [200, 200, 200, 200, 200, 429]
        right = client.post("/account", data={"current_password": PASSWORD, "new_password": NEW_PASSWORD,
                                              "confirm": NEW_PASSWORD})
        assert right.status_code == 429
        db.session.rollback()
        assert services.authenticate("ann@example.org", PASSWORD) is not None


def test_an_account_not_yet_enrolled_cannot_log_in(client, make_user):
    boss = make_user("boss@example.org", Role.PROGRAMME_MANAGER)
    services.enrol_user(email="rev@example.org", name="Rev", roles=[Role.REVIEWER], actor=boss, **ENROL)
    db.session.commit()
    assert services.authenticate("rev@example.org", "") is None
    user = db.session.scalar(select(User).where(User.email == "rev@example.org"))
    assert user.password_hash is None
    tokens = db.session.scalars(select(AccountToken).where(AccountToken.purpose == TokenPurpose.ENROL)).all()
    assert len(tokens) == 1


def test_passwords_are_hashed_with_argon2id_at_or_above_owasps_minimum(app, make_user, monkeypatch):
    from argon2 import Type, extract_parameters

    from programme.accounts import passwords

    monkeypatch.setattr(passwords, "_hasher", passwords.shipped_hasher())  # the tests' cheap one aside
    user = make_user("ann@example.org")
    stored = extract_parameters(user.password_hash)
    assert user.password_hash.startswith("$argon2id$") and stored.type is Type.ID
    assert stored.memory_cost >= passwords.OWASP_MINIMUM["memory_cost_kib"]
    assert stored.time_cost >= passwords.OWASP_MINIMUM["time_cost"]
    assert stored.parallelism >= passwords.OWASP_MINIMUM["parallelism"]
    assert (stored.memory_cost, stored.time_cost, stored.parallelism) == (
        passwords.MEMORY_COST_KIB, passwords.TIME_COST, passwords.PARALLELISM)
    assert passwords.password_parameters() == "m=64 MiB, t=3, p=4"
    # A hash made with weaker parameters (an older release's) is re-made with these at the next login.
    from argon2 import PasswordHasher

    user.password_hash = PasswordHasher(time_cost=1, memory_cost=8 * 1024, parallelism=1).hash(PASSWORD)
    db.session.commit()
    assert services.authenticate("ann@example.org", PASSWORD) is not None
    db.session.commit()
    assert extract_parameters(user.password_hash).memory_cost == passwords.MEMORY_COST_KIB
