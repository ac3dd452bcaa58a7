"""Main actions with JavaScript off (issue 16): a browser context that runs no script at all still does the work.

Recording a repayment: a fund administrator, in a context with java_script_enabled=False, records a repayment on a
loan's page and sees the confirmation and the loan's new principal outstanding. (The loan world is the one of
test_loan_repayment.py, reused, not copied: world.seed_overdue_loan.)"""

from __future__ import annotations

import re
from datetime import date
from decimal import Decimal

import pytest

from programme.core.money import format_money
from programme.core.timezone import format_day
from tests.browser.world import LOAN_ADMIN, LOAN_PRINCIPAL, seed_overdue_loan
from tests.conftest import PASSWORD

pytestmark = [pytest.mark.browser, pytest.mark.commits]  # the live server reads what the test commits


def _amount(text: str) -> Decimal:
    """A figure as the page writes it ("EUR 5,521.93") as a Decimal."""
    return Decimal(text.split()[-1].replace(",", ""))


def test_an_administrator_records_a_repayment_with_javascript_off(chromium_browser, live_server, tmp_path):
    seeded = seed_overdue_loan(live_server)
    base, currency, loan_id = live_server.url, seeded["currency"], seeded["loan_id"]
    today = date.fromisoformat(seeded["today"])
    context = chromium_browser.new_context(java_script_enabled=False)
    context.set_default_timeout(15_000)
    page = context.new_page()
    try:
        page.goto(f"{base}/login")
        page.locator("#email").fill(LOAN_ADMIN)
        page.locator("#password").fill(PASSWORD)
        with page.expect_navigation():
            page.locator("main button[type=submit]").click()
        assert page.url == f"{base}/"

        page.goto(f"{base}/loans/{loan_id}")
        assert page.locator("#loan-outstanding").inner_text() == format_money(LOAN_PRINCIPAL, currency)
        principal = _amount(page.locator("#instalment-1 td").nth(2).inner_text())
        assert 0 < principal < LOAN_PRINCIPAL

        # The first instalment, received today: the day typed as the page writes days.
        form = page.locator("form#repayment")
        form.locator("#amount").fill(str(seeded["first"]))
        form.locator("#value_date").fill(format_day(today))
        form.locator("#bank_reference").fill("B-NOSCRIPT-1")
        with page.expect_navigation():
            form.get_by_role("button", name="Record the repayment").click()

        # Back on the loan's page, at the top of its content, with the confirmation in view.
        assert re.search(rf"/loans/{loan_id}(#main)?$", page.url), page.url
        confirmation = page.locator(".flash-success")
        paid = format_money(seeded["first"], currency)
        assert confirmation.inner_text() == (f"{paid} received on {seeded['number']} on {format_day(today)}, "
                                             "reference B-NOSCRIPT-1.")
        assert confirmation.is_visible()
        assert page.locator("#loan-outstanding").inner_text() == format_money(LOAN_PRINCIPAL - principal, currency)
        assert page.locator("#instalment-1 td.status").inner_text() == "paid"
        assert "B-NOSCRIPT-1" in page.locator("table.repayments").inner_text()
        assert "Traceback" not in page.content()
        page.screenshot(path=str(tmp_path / "loan-without-script.png"), full_page=True)
    finally:
        context.close()
