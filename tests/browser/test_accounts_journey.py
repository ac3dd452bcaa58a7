"""Accounts by mailed link, in a real browser: a manager enrols a fund administrator, who sets a password through
the link and logs in; a second manager approves the role; an applicant registers, verifies the address through the
link and accepts an invitation. Links are read from the outbox table, as the mail would carry them."""

from __future__ import annotations

from urllib.parse import urlsplit

import pytest
from sqlalchemy import select

from programme.core.access import Role, SystemActor

pytestmark = [pytest.mark.browser, pytest.mark.commits]  # the live server reads what the test commits

SEEDER = SystemActor("test")
SECOND_PASSWORD = "second-manager-lantern"
FUNDS_PASSWORD = "fiona-sets-her-own-quarry"
APPLICANT_PASSWORD = "ann-registers-mosaic-7"


def _mailed_link(live_app, email: str) -> str:
    from programme.core.notifications import Notification
    from programme.extensions import db

    with live_app.app_context():
        link = db.session.scalars(select(Notification.link).where(Notification.email == email,
                                                                  Notification.link.is_not(None))
                                  .order_by(Notification.id.desc())).first()
        db.session.remove()
    assert link, f"no link mailed to {email}"
    return link


def _seed(live_app) -> str:
    """A second manager, and an applicant group whose lead invited ann@example.org; returns the invitation link."""
    from programme.accounts import services as accounts
    from programme.extensions import db

    with live_app.app_context():
        accounts.create_user(email="second@example.org", name="Second Manager", roles=[Role.PROGRAMME_MANAGER],
                             password=SECOND_PASSWORD, actor=SEEDER)
        lead = accounts.create_user(email="lead@example.org", name="Lena Lead", roles=[Role.APPLICANT],
                                    password=SECOND_PASSWORD, actor=SEEDER)
        group = accounts.create_group(name="Karoo Wool Network", description="", actor=lead)
        invitation = accounts.invite(group, "ann@example.org", actor=lead,
                                     accept_url="http://127.0.0.1/invitations/__token__")
        token = invitation.token
        db.session.commit()
        db.session.remove()
    return f"/invitations/{token}"


def _log_in(page, base: str, email: str, password: str) -> None:
    page.goto(f"{base}/login")
    page.get_by_label("E-mail address").fill(email)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Log in").click()


def _log_out(page) -> None:
    page.get_by_role("navigation", name="Main").get_by_role("button", name="Log out").click()


def test_enrolment_second_manager_and_verified_applicant(page, live_server):
    from playwright.sync_api import expect

    base, live_app = live_server.url, live_server.app
    invitation_path = _seed(live_app)

    # The manager opens a fund administrator's account: no password field, an enrolment link is mailed.
    _log_in(page, base, "manager@example.org", "manager-password-1")
    page.goto(f"{base}/manage/users/new")
    expect(page.locator('input[type="password"]')).to_have_count(0)
    page.get_by_label("Name").fill("Fiona Funds")
    page.get_by_label("E-mail address").fill("fiona@example.org")
    page.get_by_label("Fund administrator").check()
    page.get_by_role("button", name="Open account and mail the enrolment link").click()
    expect(page.get_by_text("Waiting for a second programme manager's approval: Fund administrator.")).to_be_visible()
    expect(page.get_by_role("cell", name="Fiona Funds (fiona@example.org)")).to_be_visible()
    _log_out(page)

    # Fiona opens the link, sets her own password and logs in.
    link = _mailed_link(live_app, "fiona@example.org")
    page.goto(base + urlsplit(link).path)
    page.get_by_label("New password", exact=True).fill(FUNDS_PASSWORD)
    page.get_by_label("New password again").fill(FUNDS_PASSWORD)
    page.get_by_role("button", name="Set my password").click()
    expect(page.get_by_text("Your password is set.")).to_be_visible()
    _log_in(page, base, "fiona@example.org", FUNDS_PASSWORD)
    nav = page.get_by_role("navigation", name="Main")
    expect(nav.get_by_role("link", name="Fiona Funds")).to_be_visible()
    expect(nav.get_by_role("link", name="Bank statements")).to_have_count(0)  # not a fund administrator yet
    _log_out(page)

    # A second manager approves the role.
    _log_in(page, base, "second@example.org", SECOND_PASSWORD)
    page.goto(f"{base}/manage/users")
    page.get_by_role("row", name="Fiona Funds").get_by_role("button", name="Approve").click()
    expect(page.get_by_text("fiona@example.org now has the role Fund administrator.")).to_be_visible()
    _log_out(page)
    _log_in(page, base, "fiona@example.org", FUNDS_PASSWORD)
    expect(page.get_by_role("navigation", name="Main").get_by_role("link", name="Bank statements")).to_be_visible()
    _log_out(page)

    # An applicant registers: "check your mailbox", then the confirm page until the link is used.
    page.goto(f"{base}/register")
    page.get_by_label("Your name").fill("Ann Applicant")
    page.get_by_label("E-mail address").fill("ann@example.org")
    page.get_by_label("Password", exact=True).fill(APPLICANT_PASSWORD)
    page.get_by_label("Password again").fill(APPLICANT_PASSWORD)
    page.get_by_role("button", name="Register").click()
    expect(page.get_by_role("heading", name="Check your mailbox")).to_be_visible()
    _log_in(page, base, "ann@example.org", APPLICANT_PASSWORD)
    page.goto(base + invitation_path)
    expect(page.get_by_role("heading", name="Confirm your e-mail address")).to_be_visible()

    verify = _mailed_link(live_app, "ann@example.org")
    page.goto(base + urlsplit(verify).path)
    page.get_by_role("button", name="Confirm my address").click()
    expect(page.get_by_text("Your e-mail address is confirmed.")).to_be_visible()

    # Now the invitation opens and is accepted.
    page.goto(base + invitation_path)
    page.get_by_role("button", name="Accept").click()
    expect(page.get_by_text("You now act for Karoo Wool Network.")).to_be_visible()
    assert "Traceback" not in page.content()
