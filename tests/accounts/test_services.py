"""Account, role, group and invitation services: called directly with an explicit actor, never committing."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import event, select, text

from programme.accounts import services
from programme.accounts.models import (
    ApplicantGroup,
    GroupInvitation,
    GroupRole,
    Organisation,
    OrganisationType,
    SizeClass,
    User,
)
from programme.accounts.services import OrganisationData
from programme.core.access import AccessDenied, NotFound, Role, RuleViolation
from programme.core.audit import AuditEntry
from programme.core.notifications import Notification
from programme.extensions import db
from tests.conftest import PASSWORD, SETUP

VERIFY = {"link": "http://localhost/verify/__token__", "valid_for": timedelta(hours=48)}
ENROL = {"link": "http://localhost/enrol/__token__", "valid_for": timedelta(hours=72)}

# Registration ----------------------------------------------------------------------------------


def test_register_applicant_gives_the_applicant_role_and_an_audit_entry(app):
    user = services.register_applicant(email="  Ann@Example.org ", name=" Ann Example ", password=PASSWORD, **VERIFY)
    db.session.commit()

    assert user.email == "ann@example.org"
    assert user.name == "Ann Example"
    assert user.role_set == {Role.APPLICANT}
    entry = db.session.scalar(select(AuditEntry).where(AuditEntry.action == "user.registered"))
    assert entry is not None
    assert (entry.actor_id, entry.object_type, entry.object_id) == (user.id, "User", user.id)
    assert entry.details_dict == {"roles": ["applicant"]}


@pytest.mark.parametrize("second", ["ann@example.org", "ANN@EXAMPLE.ORG", " Ann@Example.Org "])
def test_register_with_an_email_in_use_in_any_case_makes_no_account_and_tells_the_owner(app, second):
    first = services.register_applicant(email="ann@example.org", name="Ann", password=PASSWORD, **VERIFY)
    db.session.commit()

    assert services.register_applicant(email=second, name="Other Ann", password=PASSWORD, **VERIFY) is None
    db.session.commit()
    assert db.session.scalar(select(db.func.count()).select_from(User)) == 1
    notice = db.session.scalars(select(Notification).where(Notification.user_id == first.id)
                                .order_by(Notification.id)).all()[-1]
    assert notice.subject == "Someone tried to register with your address"


@pytest.mark.parametrize(
    "password",
    ["short-pw", "aaaaaaaaaaaa", "abababababab", "ann@example.org", "ANN@example.org", "password12", "1234567890",
     "password1234", "annexample12"],
    ids=["too-short", "one-character", "two-characters", "the-email", "the-email-other-case", "password12",
         "digits", "common-12", "the-name"],
)
def test_register_refuses_a_weak_password(app, password):
    with pytest.raises(RuleViolation) as caught:
        services.register_applicant(email="ann@example.org", name="Ann Example", password=password, **VERIFY)
    assert caught.value.field == "password"
    db.session.rollback()
    assert services.find_user_by_email("ann@example.org") is None


def test_password_is_stored_as_an_argon2id_hash(app):
    user = services.register_applicant(email="ann@example.org", name="Ann", password=PASSWORD, **VERIFY)
    db.session.commit()

    assert user.password_hash.startswith("$argon2id$")
    assert PASSWORD not in user.password_hash


def _all_cell_texts(table: str) -> list[str]:
    rows = db.session.execute(text(f"SELECT * FROM {table}")).all()
    return [str(cell) for row in rows for cell in row if cell is not None]


def test_clear_password_is_in_no_column_of_users_audit_or_notifications(app):
    clear = "Very-secret-phrase-4711"
    new_clear = "Another-secret-phrase-0815"
    manager = services.create_user(email="boss@example.org", name="Boss", roles=[Role.PROGRAMME_MANAGER],
                                   password=clear, actor=SETUP)
    applicant = services.register_applicant(email="ann@example.org", name="Ann", password=clear, **VERIFY)
    db.session.flush()
    assert services.authenticate("ann@example.org", clear) is applicant
    services.change_password(manager, current=clear, new=new_clear, actor=manager)
    db.session.commit()

    cells = {table: _all_cell_texts(table) for table in ("users", "audit_entries", "notifications")}
    assert cells["users"] and cells["audit_entries"] and cells["notifications"], "the scan must see rows"
    for table, texts in cells.items():
        for cell in texts:
            assert clear not in cell, f"the clear password is in {table}"
            assert new_clear not in cell, f"the new clear password is in {table}"


# Authentication and sessions -------------------------------------------------------------------


def test_authenticate_with_the_right_password_returns_the_user_and_sets_last_login(app, make_user):
    user = make_user("ann@example.org")
    assert user.last_login_at is None

    assert services.authenticate(" ANN@example.org ", PASSWORD) is user
    db.session.commit()

    assert user.last_login_at is not None
    assert db.session.scalar(select(AuditEntry).where(AuditEntry.action == "user.logged_in")) is not None


def test_authenticate_with_a_wrong_password_returns_none(app, make_user):
    user = make_user("ann@example.org")
    assert services.authenticate("ann@example.org", PASSWORD + "x") is None
    assert user.last_login_at is None


def test_authenticate_with_an_unknown_email_returns_none(app, make_user):
    make_user("ann@example.org")
    assert services.authenticate("nobody@example.org", PASSWORD) is None


def test_authenticate_an_inactive_user_returns_none(app, make_user):
    user = make_user("ann@example.org")
    user.active = False
    db.session.commit()

    assert services.authenticate("ann@example.org", PASSWORD) is None
    assert user.last_login_at is None


def test_end_sessions_bumps_the_version_and_the_old_session_id_no_longer_loads(app, make_user):
    user = make_user("ann@example.org")
    old_id = user.get_id()
    assert services.load_session_user(old_id) is user

    services.end_sessions(user)
    db.session.commit()

    assert user.session_version == 2
    assert services.load_session_user(old_id) is None
    assert services.load_session_user(user.get_id()) is user


@pytest.mark.parametrize("session_id", ["", "abc", "1", "1:2:3", "x:1"])
def test_load_session_user_rejects_malformed_ids(app, make_user, session_id):
    make_user("ann@example.org")
    assert services.load_session_user(session_id) is None


# Password change -------------------------------------------------------------------------------


def test_change_password_sets_the_new_one_and_ends_other_sessions(app, make_user):
    user = make_user("ann@example.org")
    old_id = user.get_id()

    services.change_password(user, current=PASSWORD, new="a-brand-new-passphrase", actor=user)
    db.session.commit()

    assert services.authenticate("ann@example.org", "a-brand-new-passphrase") is user
    assert services.authenticate("ann@example.org", PASSWORD) is None
    assert services.load_session_user(old_id) is None


def test_change_password_refuses_a_wrong_current_password(app, make_user):
    user = make_user("ann@example.org")
    before = user.password_hash

    with pytest.raises(RuleViolation) as caught:
        services.change_password(user, current="not-the-password", new="a-brand-new-passphrase", actor=user)
    assert caught.value.field == "current_password"
    assert user.password_hash == before


def test_change_password_refuses_a_weak_new_password(app, make_user):
    user = make_user("ann@example.org")

    with pytest.raises(RuleViolation) as caught:
        services.change_password(user, current=PASSWORD, new="short", actor=user)
    assert caught.value.field == "new_password"


def test_change_password_by_another_actor_is_denied(app, make_user):
    user = make_user("ann@example.org")
    manager = make_user("boss@example.org", Role.PROGRAMME_MANAGER)
    before = user.password_hash

    with pytest.raises(AccessDenied):
        services.change_password(user, current=PASSWORD, new="a-brand-new-passphrase", actor=manager)
    with pytest.raises(AccessDenied):
        services.change_password(user, current=PASSWORD, new="a-brand-new-passphrase", actor=SETUP)
    assert user.password_hash == before


# Staff users and roles -------------------------------------------------------------------------


def test_create_user_by_an_applicant_is_denied(app, make_user):
    applicant = make_user("ann@example.org")

    with pytest.raises(AccessDenied):
        services.create_user(email="rev@example.org", name="Rev", roles=[Role.REVIEWER], password=PASSWORD,
                             actor=applicant)
    db.session.rollback()
    assert services.find_user_by_email("rev@example.org") is None


def test_enrol_user_grants_reviewer_requests_fund_administrator_and_mails_a_link(app, make_user):
    manager = make_user("boss@example.org", Role.PROGRAMME_MANAGER)

    user = services.enrol_user(
        email="Staff@Example.org", name="Staff", roles=[Role.REVIEWER, Role.FUND_ADMINISTRATOR, Role.REVIEWER],
        actor=manager, **ENROL,
    )
    db.session.commit()

    assert user.email == "staff@example.org"
    assert user.password_hash is None and user.created_by_id == manager.id
    assert user.role_set == {Role.REVIEWER}
    assert [(r.role, r.requested_by_id) for r in services.role_requests_waiting()] == [
        (Role.FUND_ADMINISTRATOR, manager.id)]
    note = db.session.scalar(select(Notification).where(Notification.user_id == user.id))
    assert note is not None and note.link_secret
    assert note.email == "staff@example.org" and note.link.startswith("http://localhost/enrol/")
    entry = db.session.scalar(select(AuditEntry).where(AuditEntry.action == "user.created",
                                                       AuditEntry.object_id == user.id))
    assert entry.actor_id == manager.id
    assert entry.details_dict == {"roles": ["fund_administrator", "reviewer"], "enrolment": True}


def test_a_manager_cannot_create_an_account_with_a_password(app, make_user):
    manager = make_user("boss@example.org", Role.PROGRAMME_MANAGER)
    with pytest.raises(AccessDenied):
        services.create_user(email="x@example.org", name="X", roles=[Role.FUND_ADMINISTRATOR], password=PASSWORD,
                             actor=manager)


def test_create_user_without_roles_is_refused(app, make_user):
    manager = make_user("boss@example.org", Role.PROGRAMME_MANAGER)
    with pytest.raises(RuleViolation) as caught:
        services.enrol_user(email="x@example.org", name="X", roles=[], actor=manager, **ENROL)
    assert caught.value.field == "roles"


def test_set_roles_cannot_remove_the_last_programme_manager(app, make_user):
    manager = make_user("boss@example.org", Role.PROGRAMME_MANAGER)

    with pytest.raises(RuleViolation) as caught:
        services.set_roles(manager, [Role.REVIEWER], actor=manager)
    assert caught.value.field == "roles"
    db.session.rollback()
    assert manager.role_set == {Role.PROGRAMME_MANAGER}


def test_set_roles_removes_the_manager_role_when_there_are_two(app, make_user):
    first = make_user("boss@example.org", Role.PROGRAMME_MANAGER)
    second = make_user("deputy@example.org", Role.PROGRAMME_MANAGER, Role.REVIEWER)

    made = services.set_roles(second, [Role.REVIEWER, Role.FUND_ADMINISTRATOR], actor=first)
    db.session.commit()

    db.session.expire_all()
    # the manager role goes at once; fund administrator waits for a second manager
    assert second.role_set == {Role.REVIEWER}
    assert [r.role for r in made] == [Role.FUND_ADMINISTRATOR]
    assert first.role_set == {Role.PROGRAMME_MANAGER}
    entry = db.session.scalar(select(AuditEntry).where(AuditEntry.action == "user.roles_changed"))
    assert entry.details_dict == {"before": ["programme_manager", "reviewer"], "after": ["reviewer"],
                                  "requested": ["fund_administrator"]}


def test_set_roles_by_a_non_manager_is_denied(app, make_user):
    reviewer = make_user("rev@example.org", Role.REVIEWER)
    applicant = make_user("ann@example.org")
    with pytest.raises(AccessDenied):
        services.set_roles(applicant, [Role.REVIEWER], actor=reviewer)


# Applicant groups -------------------------------------------------------------------------------


def _firm(name: str = "Alpha Foods", **changes) -> OrganisationData:
    values = {"name": name, "kind": OrganisationType.FIRM, "locality": "Stellenbosch",
              "size_class": SizeClass.SMALL, "sector": "food processing"}
    return OrganisationData(**{**values, **changes})


def _institution(name: str = "Wine Chamber", **changes) -> OrganisationData:
    values = {"name": name, "kind": OrganisationType.CHAMBER, "locality": "Paarl"}
    return OrganisationData(**{**values, **changes})


@pytest.fixture
def lead(make_user):
    return make_user("lead@example.org", name="Lena Lead")


@pytest.fixture
def group(app, lead):
    group = services.create_group(name=" Winelands Group ", description=" Wine makers ", actor=lead)
    db.session.commit()
    return group


def test_create_group_makes_the_actor_its_lead(app, lead, group):
    assert group.name == "Winelands Group"
    assert group.lead is lead
    assert group.role_of(lead) == GroupRole.LEAD
    assert services.groups_of(lead) == [group]
    assert db.session.scalar(select(AuditEntry).where(AuditEntry.action == "group.created")).object_id == group.id


@pytest.mark.parametrize("role", [Role.REVIEWER, Role.PROGRAMME_MANAGER, Role.FUND_ADMINISTRATOR])
def test_create_group_by_a_non_applicant_is_denied(app, make_user, role):
    staff = make_user("staff@example.org", role)
    with pytest.raises(AccessDenied):
        services.create_group(name="Staff Group", description="", actor=staff)
    db.session.rollback()
    assert db.session.scalar(select(db.func.count()).select_from(ApplicantGroup)) == 0


def test_add_organisation_stores_a_firm(app, lead, group):
    firm = services.add_organisation(group, _firm(name=" Alpha Foods ", sector=" food "), actor=lead)
    db.session.commit()

    assert group.organisations == [firm]
    assert (firm.name, firm.kind, firm.size_class, firm.sector) == (
        "Alpha Foods", OrganisationType.FIRM, SizeClass.SMALL, "food")


@pytest.mark.parametrize(
    ("changes", "field"),
    [({"size_class": None}, "size_class"), ({"sector": None}, "sector"), ({"sector": "   "}, "sector")],
    ids=["no-size-class", "no-sector", "blank-sector"],
)
def test_add_organisation_refuses_a_firm_without_size_class_or_sector(app, lead, group, changes, field):
    with pytest.raises(RuleViolation) as caught:
        services.add_organisation(group, _firm(**changes), actor=lead)
    assert caught.value.field == field
    db.session.rollback()
    assert db.session.scalar(select(db.func.count()).select_from(Organisation)) == 0


def test_add_organisation_clears_the_size_class_of_an_institution(app, lead, group):
    institution = services.add_organisation(
        group, _institution(size_class=SizeClass.LARGE, sector="wine"), actor=lead
    )
    db.session.commit()

    db.session.expire_all()
    assert institution.size_class is None
    assert institution.sector == "wine"
    assert institution.is_support_institution


def test_update_organisation_turning_a_firm_into_an_institution_clears_its_size(app, lead, group):
    organisation = services.add_organisation(group, _firm(), actor=lead)
    db.session.commit()

    services.update_organisation(group, organisation, _firm(kind=OrganisationType.UNIVERSITY, sector=""), actor=lead)
    db.session.commit()

    db.session.expire_all()
    assert organisation.kind == OrganisationType.UNIVERSITY
    assert (organisation.size_class, organisation.sector) == (None, None)


def test_get_group_by_another_applicant_is_not_found(app, make_user, group):
    stranger = make_user("other@example.org")
    with pytest.raises(NotFound):
        services.get_group(group.id, actor=stranger)


def test_get_group_by_a_programme_manager_is_allowed(app, make_user, group):
    manager = make_user("boss@example.org", Role.PROGRAMME_MANAGER)
    assert services.get_group(group.id, actor=manager) is group
    with pytest.raises(AccessDenied):
        services.get_group_for_edit(group.id, actor=manager)


def test_get_group_that_does_not_exist_is_not_found(app, lead):
    with pytest.raises(NotFound):
        services.get_group(4711, actor=lead)


def test_update_organisation_by_a_non_member_is_denied(app, make_user, lead, group):
    organisation = services.add_organisation(group, _firm(), actor=lead)
    db.session.commit()
    stranger = make_user("other@example.org")

    with pytest.raises(AccessDenied):
        services.update_organisation(group, organisation, _firm(name="Taken Over"), actor=stranger)
    db.session.rollback()
    assert organisation.name == "Alpha Foods"


def test_remove_organisation_by_a_non_member_is_denied(app, make_user, lead, group):
    organisation = services.add_organisation(group, _firm(), actor=lead)
    db.session.commit()
    stranger = make_user("other@example.org")

    with pytest.raises(AccessDenied):
        services.remove_organisation(group, organisation, actor=stranger)
    db.session.rollback()
    assert group.organisations == [organisation]


def test_remove_organisation_by_a_member(app, lead, group):
    organisation = services.add_organisation(group, _firm(), actor=lead)
    db.session.commit()

    services.remove_organisation(group, organisation, actor=lead)
    db.session.commit()

    db.session.expire_all()
    assert group.organisations == []


# Invitations and members ----------------------------------------------------------------------


def _join(group: ApplicantGroup, user: User, lead: User) -> None:
    invitation = services.invite(group, user.email, actor=lead)
    services.accept_invitation(invitation, actor=user)
    db.session.commit()


def test_invite_by_the_lead_creates_a_pending_invitation_and_an_outbox_entry(app, lead, group):
    invitation = services.invite(group, " New@Example.org ", actor=lead,
                                 accept_url="http://localhost/invitations/__token__")
    db.session.commit()

    assert invitation.email == "new@example.org"
    assert invitation.is_pending
    assert len(invitation.token) >= 32
    note = db.session.scalar(select(Notification).where(Notification.email == "new@example.org"))
    assert note.user_id is None  # nobody has this address yet
    assert note.link == f"http://localhost/invitations/{invitation.token}"
    assert "Winelands Group" in note.subject


def test_invite_an_existing_user_links_the_notification_to_them(app, make_user, lead, group):
    invitee = make_user("ann@example.org")

    services.invite(group, "ANN@example.org", actor=lead)
    db.session.commit()

    note = db.session.scalar(select(Notification).where(Notification.subject.like("Invitation%")))
    assert note.user_id == invitee.id
    assert services.pending_invitations_for(invitee)[0].group is group


def test_invite_by_a_member_who_is_not_lead_is_denied(app, make_user, lead, group):
    member = make_user("member@example.org")
    _join(group, member, lead)

    with pytest.raises(AccessDenied):
        services.invite(group, "new@example.org", actor=member)


def test_invite_by_an_outsider_is_denied(app, make_user, group):
    stranger = make_user("other@example.org")
    with pytest.raises(AccessDenied):
        services.invite(group, "new@example.org", actor=stranger)


def test_invite_refuses_a_second_pending_invitation_for_the_same_address(app, lead, group):
    services.invite(group, "new@example.org", actor=lead)
    db.session.commit()

    with pytest.raises(RuleViolation) as caught:
        services.invite(group, "NEW@example.org", actor=lead)
    assert caught.value.field == "email"
    db.session.rollback()
    assert db.session.scalar(select(db.func.count()).select_from(GroupInvitation)) == 1


def test_invite_refuses_a_person_who_acts_for_the_group_already(app, make_user, lead, group):
    member = make_user("member@example.org")
    _join(group, member, lead)

    for email in ("member@example.org", "lead@example.org"):
        with pytest.raises(RuleViolation) as caught:
            services.invite(group, email, actor=lead)
        assert caught.value.field == "email"


def test_accept_invitation_adds_the_user_as_member(app, make_user, lead, group):
    invitee = make_user("ann@example.org")
    invitation = services.invite(group, "ann@example.org", actor=lead)
    db.session.commit()

    found = services.get_invitation(invitation.token, actor=invitee)
    assert services.accept_invitation(found, actor=invitee) is group
    db.session.commit()

    assert group.role_of(invitee) == GroupRole.MEMBER
    assert invitation.accepted_by_id == invitee.id
    assert not invitation.is_pending
    assert services.pending_invitations_for(invitee) == []


def test_accept_invitation_gives_a_staff_member_the_applicant_role(app, make_user, lead, group):
    reviewer = make_user("rev@example.org", Role.REVIEWER)
    _join(group, reviewer, lead)
    assert reviewer.role_set == {Role.REVIEWER, Role.APPLICANT}


def test_accept_invitation_by_the_wrong_user_is_not_found(app, make_user, lead, group):
    make_user("ann@example.org")
    intruder = make_user("eve@example.org")
    invitation = services.invite(group, "ann@example.org", actor=lead)
    db.session.commit()

    with pytest.raises(NotFound):
        services.get_invitation(invitation.token, actor=intruder)
    with pytest.raises(NotFound):
        services.accept_invitation(invitation, actor=intruder)
    assert group.role_of(intruder) is None
    assert invitation.is_pending


def test_accept_invitation_twice_is_refused(app, make_user, lead, group):
    invitee = make_user("ann@example.org")
    invitation = services.invite(group, "ann@example.org", actor=lead)
    services.accept_invitation(invitation, actor=invitee)
    db.session.commit()

    with pytest.raises(RuleViolation):
        services.accept_invitation(invitation, actor=invitee)
    assert [gu.user for gu in group.users] == [lead, invitee]


def test_revoke_invitation_withdraws_it(app, make_user, lead, group):
    invitee = make_user("ann@example.org")
    invitation = services.invite(group, "ann@example.org", actor=lead)
    db.session.commit()

    services.revoke_invitation(group, invitation.id, actor=lead)
    db.session.commit()

    assert invitation.revoked_at is not None
    assert services.pending_invitations_for(invitee) == []
    with pytest.raises(RuleViolation):
        services.accept_invitation(invitation, actor=invitee)
    with pytest.raises(RuleViolation):
        services.revoke_invitation(group, invitation.id, actor=lead)


def test_a_revoked_invitation_gives_way_to_a_new_one(app, lead, group):
    old = services.invite(group, "ann@example.org", actor=lead)
    services.revoke_invitation(group, old.id, actor=lead)
    db.session.commit()
    old_token = old.token

    new = services.invite(group, "ann@example.org", actor=lead)
    db.session.commit()

    assert new.is_pending
    assert new.token != old_token
    assert [i.id for i in group.invitations] == [new.id]


def test_revoke_invitation_by_a_member_who_is_not_lead_is_denied(app, make_user, lead, group):
    member = make_user("member@example.org")
    _join(group, member, lead)
    invitation = services.invite(group, "ann@example.org", actor=lead)
    db.session.commit()

    with pytest.raises(AccessDenied):
        services.revoke_invitation(group, invitation.id, actor=member)
    assert invitation.is_pending


def test_remove_member_cannot_remove_the_lead(app, make_user, lead, group):
    member = make_user("member@example.org")
    _join(group, member, lead)

    with pytest.raises(RuleViolation):
        services.remove_member(group, lead.id, actor=lead)
    assert group.role_of(lead) == GroupRole.LEAD


def test_remove_member_removes_a_member(app, make_user, lead, group):
    member = make_user("member@example.org")
    _join(group, member, lead)

    services.remove_member(group, member.id, actor=lead)
    db.session.commit()

    db.session.expire_all()
    assert group.role_of(member) is None
    assert services.groups_of(member) == []


def test_remove_member_by_a_member_is_denied(app, make_user, lead, group):
    member = make_user("member@example.org")
    _join(group, member, lead)
    with pytest.raises(AccessDenied):
        services.remove_member(group, lead.id, actor=member)


def test_make_lead_swaps_the_roles(app, make_user, lead, group):
    member = make_user("member@example.org")
    _join(group, member, lead)

    services.make_lead(group, member.id, actor=lead)
    db.session.commit()

    db.session.expire_all()
    assert group.role_of(member) == GroupRole.LEAD
    assert group.role_of(lead) == GroupRole.MEMBER
    assert group.lead is member
    with pytest.raises(AccessDenied):  # the former lead no longer manages members
        services.make_lead(group, lead.id, actor=lead)


def test_make_lead_of_a_non_member_is_not_found(app, make_user, lead, group):
    stranger = make_user("other@example.org")
    with pytest.raises(NotFound):
        services.make_lead(group, stranger.id, actor=lead)


def test_the_session_user_loads_with_every_role_in_one_statement(app, make_user):
    user = make_user("ann@example.org", Role.PROGRAMME_MANAGER, Role.FUND_ADMINISTRATOR, Role.REVIEWER)
    session_id = user.get_id()
    db.session.expunge_all()  # a new request: nothing of the user is in the session yet
    statements: list[str] = []

    def count(conn, cursor, statement, parameters, context, executemany):
        statements.append(statement)

    event.listen(db.engine, "before_cursor_execute", count)
    try:
        loaded = services.load_session_user(session_id)
        assert loaded is not None
        assert loaded.role_set == {Role.PROGRAMME_MANAGER, Role.FUND_ADMINISTRATOR, Role.REVIEWER}
    finally:
        event.remove(db.engine, "before_cursor_execute", count)
    assert len(statements) == 1
