"""A fund administrator, in the browser, opens a loan from its fund's page, records a repayment of the first
instalment, and sees that instalment paid in the schedule and the fund's cash grow by the amount."""

from __future__ import annotations

import re
from datetime import timedelta
from decimal import Decimal

import pytest
from dateutil.relativedelta import relativedelta

from programme.core.db import utcnow
from programme.core.money import format_money
from programme.core.timezone import to_local
from programme.extensions import db
from programme.loans import services
from programme.loans.schedule import LoanTerms, build_schedule
from tests.browser.steps import log_in
from tests.conftest import PASSWORD
from tests.funding.conftest import funded_initiative

pytestmark = [pytest.mark.browser, pytest.mark.commits]  # the live server reads what the test commits
EMAIL = "loans.admin@example.org"
CASH = Decimal("20000.00")
PRINCIPAL = Decimal("6000.00")


def _seed_loan(live_server) -> dict:
    """A fund capitalised two months ago and a loan of PRINCIPAL paid out 45 days ago, first due 15 days ago
    (so its first instalment is overdue today), at 3 % over 12 months; the administrator logs in with EMAIL."""
    app = live_server.app
    with app.app_context():
        today = to_local(utcnow(), app.config["PROGRAMME_TIMEZONE"]).date()
        now = utcnow()
        made = funded_initiative()
        admin = made.admin
        admin.email = EMAIL
        fund = services.fund_of(made.initiative)
        services.capitalise_fund(fund, amount=CASH, value_date=today - timedelta(days=60), bank_reference="B-CAP-1",
                                 actor=admin, now=now, timezone=app.config["PROGRAMME_TIMEZONE"])
        first_due = today - timedelta(days=15)
        loan = services.make_loan(
            fund, borrower_id=made.initiative.group.organisations[0].id, principal=PRINCIPAL,
            annual_rate=Decimal("0.03"), term_periods=12, first_due=first_due,
            disbursed_on=first_due - relativedelta(months=1), bank_reference="B-LOAN-1",
            purpose="Shared packaging line",
            actor=admin, now=now, timezone=app.config["PROGRAMME_TIMEZONE"])
        first = build_schedule(LoanTerms(principal=PRINCIPAL, annual_rate=Decimal("0.03"), term_periods=12,
                                         first_due=first_due, currency=fund.currency))[0]
        seeded = {"fund_id": fund.id, "loan_id": loan.id, "number": loan.number, "currency": fund.currency,
                  "first": first.total, "today": today.isoformat(), "cash": CASH - PRINCIPAL}
        db.session.commit()
        db.session.remove()
    return seeded


def test_an_administrator_records_a_repayment_and_sees_schedule_and_cash_change(page, live_server, tmp_path):
    seeded = _seed_loan(live_server)
    base, currency = live_server.url, seeded["currency"]
    log_in(page, base, EMAIL, PASSWORD)

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
