"""An applicant's first visit, in a real browser: register, log out, log in, read an open call."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path
from urllib.parse import urlsplit

import pytest

pytestmark = [pytest.mark.browser, pytest.mark.commits]  # the live server reads what the test commits

NAME = "Lindiwe Browser"
EMAIL = "lindiwe@example.org"
PASSWORD = "a-long-applicant-password"


def _mailed_link(live_app, email: str) -> str:
    from sqlalchemy import select

    from programme.core.notifications import Notification
    from programme.extensions import db

    with live_app.app_context():
        link = db.session.scalars(select(Notification.link).where(Notification.email == email)
                                  .order_by(Notification.id.desc())).first()
        db.session.remove()
    assert link
    return link


def _no_stack_trace(page) -> None:
    html = page.content()
    assert "Traceback" not in html
    assert "Werkzeug Debugger" not in html


def test_applicant_registers_logs_in_and_reads_an_open_call(page, live_server, tmp_path: Path):
    from playwright.sync_api import expect

    base = live_server.url
    seeded = live_server.seeded
    nav = page.get_by_role("navigation", name="Main")

    # Register through the form; the address is confirmed through the mailed link, then the person logs in.
    response = page.goto(f"{base}/register")
    assert response is not None and response.status == 200
    page.get_by_label("Your name").fill(NAME)
    page.get_by_label("E-mail address").fill(EMAIL)
    page.get_by_label("Password", exact=True).fill(PASSWORD)
    page.get_by_label("Password again").fill(PASSWORD)
    page.get_by_role("button", name="Register").click()
    expect(page.get_by_role("heading", name="Check your mailbox")).to_be_visible()
    page.goto(base + urlsplit(_mailed_link(live_server.app, EMAIL)).path)
    page.get_by_role("button", name="Confirm my address").click()
    expect(page.get_by_role("status").filter(has_text="Your e-mail address is confirmed")).to_be_visible()
    page.get_by_label("E-mail address").fill(EMAIL)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    expect(nav.get_by_role("link", name=NAME)).to_be_visible()
    expect(nav.get_by_role("button", name="Log out")).to_be_visible()
    _no_stack_trace(page)

    # Log out with the button in the header.
    nav.get_by_role("button", name="Log out").click()
    expect(page.get_by_role("status").filter(has_text="You are logged out.")).to_be_visible()
    expect(nav.get_by_role("link", name="Log in")).to_be_visible()
    expect(nav.get_by_role("link", name=NAME)).to_have_count(0)

    # Log in again through the login page.
    page.goto(f"{base}/login")
    page.get_by_label("E-mail address").fill(EMAIL)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    expect(nav.get_by_role("link", name=NAME)).to_be_visible()
    expect(nav.get_by_role("button", name="Log out")).to_be_visible()

    # The list of calls shows the open call (and not the draft); its link opens the call.
    page.goto(f"{base}/calls")
    expect(page.get_by_role("heading", name="Calls for proposals")).to_be_visible()
    links = page.get_by_role("link", name=seeded.open_call_name)
    expect(links).to_have_count(1)
    links.click()
    expect(page).to_have_url(f"{base}/calls/{seeded.open_call_id}")
    expect(page.get_by_role("heading", level=1)).to_contain_text(seeded.open_call_name)
    expect(page.locator("dl.facts")).to_contain_text(seeded.open_call_reference)

    # The deadline, in the programme's time zone.
    deadline = page.locator("dl.facts dt", has_text="Deadline").locator("xpath=following-sibling::dd[1]")
    expect(deadline).to_have_text(seeded.deadline_text)

    # The criteria table: one row per criterion, with its weight and threshold.
    headers = page.locator("table.criteria thead th")
    expect(headers).to_have_text(["Criterion", "Weight", "Threshold", "What reviewers look for"])
    rows = page.locator("table.criteria tbody tr")
    expect(rows).to_have_count(len(seeded.criteria))
    assert len(seeded.criteria) >= 2
    for index, criterion in enumerate(seeded.criteria):
        cells = rows.nth(index).locator("td")
        assert cells.nth(0).inner_text().strip() == criterion.title
        assert Decimal(cells.nth(1).inner_text().strip()) == criterion.weight
        assert Decimal(cells.nth(2).inner_text().strip()) == criterion.threshold
    _no_stack_trace(page)

    screenshot = tmp_path / "open-call.png"
    page.screenshot(path=str(screenshot), full_page=True)

    # A draft call is private: typing its address gives the 404 page, not the call.
    response = page.goto(f"{base}/calls/{seeded.draft_call_id}")
    assert response is not None and response.status == 404
    expect(page.get_by_role("heading", level=1)).to_have_text("Not found")
    expect(page.locator("main")).to_contain_text("Error 404")
    expect(page.locator("main")).not_to_contain_text("CALL-")
    _no_stack_trace(page)

    assert screenshot.is_file()
    assert screenshot.stat().st_size > 0
    assert screenshot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
