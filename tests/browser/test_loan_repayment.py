"""A fund administrator, in the browser, opens a loan from its fund's page, records a repayment of the first
instalment, and sees that instalment paid in the schedule and the fund's cash grow by the amount."""

from __future__ import annotations

import re
from decimal import Decimal

import pytest

from programme.core.money import format_money
from tests.browser.steps import log_in
from tests.browser.world import LOAN_ADMIN, seed_overdue_loan
from tests.conftest import PASSWORD

pytestmark = [pytest.mark.browser, pytest.mark.commits]  # the live server reads what the test commits


def test_an_administrator_records_a_repayment_and_sees_schedule_and_cash_change(page, live_server, tmp_path):
    seeded = seed_overdue_loan(live_server)
    base, currency = live_server.url, seeded["currency"]
    log_in(page, base, LOAN_ADMIN, PASSWORD)

    # The fund's page: its cash, then the loan from its list.
    page.goto(f"{base}/funds/{seeded['fund_id']}")
    assert page.locator("#fund-cash").inner_text() == format_money(seeded["cash"], currency)
    assert page.locator("svg[role=img]").count() == 1
    page.get_by_role("link", name=seeded["number"]).click()
    page.wait_for_url(re.compile(rf"/loans/{seeded['loan_id']}$"))
    assert page.locator("#instalment-1 td.status").inner_text() == "overdue"
    assert page.locator("#instalment-2 td.status").inner_text() == "due"

    # Record the first instalment's amount, received today.
    form = page.locator("form#repayment")
    form.locator("#amount").fill(str(seeded["first"]))
    form.locator("#value_date").fill(seeded["today"])
    form.locator("#bank_reference").fill("B-PAY-1")
    form.get_by_role("button", name="Record the repayment").click()
    page.wait_for_load_state()
    assert "reference B-PAY-1" in page.locator(".flash-success").inner_text()
    assert page.locator("#instalment-1 td.status").inner_text() == "paid"
    assert page.locator("#instalment-1 td.unpaid").inner_text() == format_money(Decimal("0.00"), currency)
    assert page.locator("#instalment-2 td.status").inner_text() == "due"
    assert "B-PAY-1" in page.locator("#repayments").locator("xpath=following-sibling::div[1]").inner_text()
    page.screenshot(path=str(tmp_path / "loan.png"), full_page=True)

    # The fund's cash has grown by the repayment.
    page.get_by_role("link", name="Fund of", exact=False).first.click()
    page.wait_for_url(re.compile(rf"/funds/{seeded['fund_id']}$"))
    assert page.locator("#fund-cash").inner_text() == format_money(seeded["cash"] + seeded["first"], currency)
    assert "Traceback" not in page.content()
    page.screenshot(path=str(tmp_path / "fund.png"), full_page=True)
