"""A Spanish-speaking applicant (issue 19): the language switch in the footer turns the pages to Spanish, an amount
typed in the Spanish way (12.500,50) is read as 12500.50, shown back and live-checked in the Spanish way, and the
proposal is submitted with it."""

from __future__ import annotations

import re
from decimal import Decimal

import pytest

from programme.extensions import db
from programme.proposals.models import Proposal, ProposalVersion
from tests.browser.steps import log_in
from tests.browser.world import seed_kiln_proposal

pytestmark = [pytest.mark.browser, pytest.mark.commits]  # the live server reads what the test commits
EMAIL = "budget.lead@example.org"
PASSWORD = "applicant-password-1"


def test_an_amount_typed_the_spanish_way_is_saved_and_submitted(page, live_server):
    # An activity of 50,000.00; lines of 30,000.00 + 12,000.00.
    proposal_id = seed_kiln_proposal(live_server, email=EMAIL, password=PASSWORD, group="Vaal Ceramics Group",
                                     draft=True)
    base = live_server.url
    log_in(page, base, EMAIL, PASSWORD)

    page.locator("footer select[name=language]").select_option("es")
    page.locator("footer").get_by_role("button", name=re.compile("Change|Cambiar")).click()
    page.wait_for_load_state()
    assert page.locator("html").get_attribute("lang") == "es"
    assert page.locator("nav").get_by_role("link", name="Convocatorias").count() == 1

    page.goto(f"{base}/proposals/{proposal_id}/budget")
    # The lines must add up to the activities' cost to submit: one more line of 8.000,00, typed the Spanish way.
    page.locator("#add-line select[name=cost_type]").select_option("venues")
    page.locator("#add-line input[name=description]").fill("Cobertizo")
    page.locator("#add-line input[name=amount]").fill("8.000,00")
    page.locator("#add-line button[type=submit]").click()
    page.wait_for_load_state()
    requested = page.locator("input[name=requested_amount]")
    requested.fill("12.500,50")
    form = page.locator("form:has(input[name=requested_amount])")
    assert form.locator("output[data-figure=requested]").inner_text() == "EUR 12.500,50"  # read as typed, live
    form.locator("button[type=submit]").click()
    page.wait_for_load_state()
    assert page.locator("input[name=requested_amount]").input_value() == "12500,50"
    with live_server.app.app_context():
        assert db.session.get(Proposal, proposal_id).requested_amount == Decimal("12500.50")
        db.session.remove()

    # Typed the English way on a Spanish page: refused beside the field, nothing saved.
    page.locator("input[name=requested_amount]").fill("12.50")
    form.locator("button[type=submit]").click()
    page.wait_for_load_state()
    assert "12,50" in page.locator("form:has(input[name=requested_amount]) .error").inner_text()
    with live_server.app.app_context():
        assert db.session.get(Proposal, proposal_id).requested_amount == Decimal("12500.50")
        db.session.remove()

    # Submitted: the version holds 12500.50.
    page.goto(f"{base}/proposals/{proposal_id}/submit")
    page.locator("main form button[type=submit]").last.click()
    page.wait_for_url(re.compile(rf"/proposals/{proposal_id}$"))
    with live_server.app.app_context():
        version = db.session.query(ProposalVersion).filter_by(proposal_id=proposal_id).one()
        assert version.requested_amount == Decimal("12500.50")
        db.session.remove()
