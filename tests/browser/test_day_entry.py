"""Dates entered the way they are shown (issue 16, item 11), in the browser: a date field is a text input that shows
its day as pages write it ("6 Dec 2026"), takes a day typed as 6/12/2026 (day first, whatever the browser's
locale), and answers a day that does not exist with a message beside the field. The loan world is the one of
test_loan_repayment.py, reused (world.seed_overdue_loan)."""

from __future__ import annotations

import re
from datetime import date

import pytest

from programme.core.timezone import format_day
from tests.browser.steps import log_in
from tests.browser.world import LOAN_ADMIN, seed_overdue_loan
from tests.conftest import PASSWORD

pytestmark = [pytest.mark.browser, pytest.mark.commits]  # the live server reads what the test commits
#: A day as the pages write it: "6 Dec 2026".
WRITTEN = re.compile(r"\d{1,2} [A-Z][a-z]{2} \d{4}")


def _typed(day: date) -> str:
    """A day as a person types it with digits, day first: 6/12/2026."""
    return f"{day.day}/{day.month}/{day.year}"


def test_a_date_field_shows_days_as_pages_write_them_and_takes_them_day_first(page, live_server):
    seeded = seed_overdue_loan(live_server)
    base, loan_id = live_server.url, seeded["loan_id"]
    today = date.fromisoformat(seeded["today"])
    shown = format_day(today)
    assert WRITTEN.fullmatch(shown)
    log_in(page, base, LOAN_ADMIN, PASSWORD)

    # The ledger's as-of day, typed 6/12/2026, is read day first and shown back as the pages write it.
    page.goto(f"{base}/ledger")
    as_of = page.locator("#as_of")
    assert as_of.get_attribute("type") == "text" and as_of.get_attribute("placeholder") == "6 Dec 2026"
    as_of.fill(_typed(today))
    with page.expect_navigation():
        as_of.press("Enter")
    assert page.locator("#as_of").input_value() == shown
    assert f"with a value date on or before {shown}" in page.locator("main").inner_text()

    page.goto(f"{base}/loans/{loan_id}")
    form = page.locator("form#repayment")
    value_date = form.locator("#value_date")
    assert value_date.get_attribute("type") == "text"
    assert value_date.get_attribute("inputmode") == "text" and value_date.get_attribute("autocomplete") == "off"
    assert "Day month year, for example 6 Dec 2026." in form.locator("#value_date-help").inner_text()

    # A day that does not exist: a message beside the field, the text kept as typed, nothing recorded.
    form.locator("#amount").fill(str(seeded["first"]))
    value_date.fill("31/02/2026")
    form.locator("#bank_reference").fill("B-DAY-1")
    with page.expect_navigation():
        form.get_by_role("button", name="Record the repayment").click()
    form = page.locator("form#repayment")
    error = form.locator(".field.has-error").filter(has=page.locator("#value_date"))
    assert "That day does not exist" in error.locator(".error").inner_text()
    assert "Write the day as day month year, for example 6 Dec 2026." in error.locator(".error").inner_text()
    assert form.locator("#value_date").input_value() == "31/02/2026"
    assert form.locator("#value_date").get_attribute("aria-invalid") == "true"

    # Typed day first with digits, and another field refused: the day comes back written as the pages write it.
    form.locator("#value_date").fill(_typed(today))
    form.locator("#bank_reference").fill("")
    with page.expect_navigation():
        form.get_by_role("button", name="Record the repayment").click()
    form = page.locator("form#repayment")
    assert "Give the bank's reference" in form.locator(".field.has-error").inner_text()
    assert form.locator("#value_date").input_value() == shown

    form.locator("#bank_reference").fill("B-DAY-1")
    with page.expect_navigation():
        form.get_by_role("button", name="Record the repayment").click()
    assert f"on {shown}, reference B-DAY-1." in page.locator(".flash-success").inner_text()
    assert shown in page.locator("table.repayments tbody tr").first.inner_text()
    assert "Traceback" not in page.content()
