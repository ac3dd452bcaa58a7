"""An applicant, in the browser, from login to a submitted proposal: the member list fails
eligibility first, and passes after the group adds a support institution."""

from __future__ import annotations

import re

import pytest

from programme.accounts import services as accounts
from programme.core.access import Role
from programme.extensions import db
from tests.browser import steps
from tests.browser.world import add_firms, seed_user

pytestmark = [pytest.mark.browser, pytest.mark.commits]  # the live server reads what the test commits
PASSWORD = "applicant-password-1"


def _seed_applicant_with_four_firms(live_server) -> None:
    with live_server.app.app_context():
        lead = seed_user("lead@example.org", "Lead Applicant", Role.APPLICANT, PASSWORD)
        group = accounts.create_group(name="Valley Food Processors", description="", actor=lead)
        add_firms(group, lead, name="Valley Firm", locality="Valley", sector="Food processing")
        db.session.commit()
        db.session.remove()


def test_applicant_submits_a_proposal_after_fixing_its_member_list(page, live_server, tmp_path):
    _seed_applicant_with_four_firms(live_server)
    base, call_id = live_server.url, live_server.seeded.open_call_id

    page.on("dialog", lambda dialog: dialog.accept())  # submitting asks to confirm: agreed to
    steps.log_in(page, base, "lead@example.org", PASSWORD)

    # Start a proposal from the call's public page.
    page.goto(f"{base}/calls/{call_id}")
    overview = steps.start_proposal(page, "Joint cold store for the valley")

    # The cluster section.
    steps.fill_cluster(page, overview, sector="Fruit and vegetable processing",
                       territory="The upper valley and its market town",
                       main_problem="Each firm is too small to afford cold storage.",
                       market_failure="No firm invests alone in a shared facility (coordination failure).")
    steps.fill_objectives(page, overview, objectives="Share a cold store and buy packaging together.",
                          sustainability_plan="Members pay storage fees from the second year.")

    # A first activity, a budget line, the amount requested, an indicator.
    steps.add_activity(page, overview, title="Feasibility study of a shared cold store", cost="30,000.00")
    steps.add_budget_line(page, overview, cost_type="fact_finding", description="Engineering study", amount="30000")
    steps.set_requested_amount(page, overview, "25000.00")
    steps.add_indicator(page, overview, name="Tonnes stored per season", unit="t", baseline="0", target="400")

    # Eligibility fails on the member list: four firms, no support institution.
    page.goto(overview)
    checklist = page.locator("ul.checklist")
    assert "failed" in checklist.locator("li", has_text="support institution").get_attribute("class")
    assert "failed" in checklist.locator("li", has_text="member organisations").get_attribute("class")
    assert "The group has 0 support institutions" in checklist.inner_text()
    # Submitting now is refused on the server, with the reasons.
    page.get_by_role("button", name="Submit the proposal").click()
    page.wait_for_load_state()
    refusal = page.locator(".flash-error").inner_text()
    assert "not eligible" in refusal and "support institution" in refusal
    assert "given at the first submission" in page.locator("main").inner_text()

    # The group adds a local institution; the checklist passes.
    page.get_by_role("link", name="Valley Food Processors").first.click()
    page.get_by_role("link", name="Add an organisation").click()
    page.locator("#name").fill("Valley Chamber of Commerce")
    page.locator("#kind").select_option("chamber")
    page.locator("#locality").fill("Valley")
    page.locator("main button[type=submit]").click()
    page.goto(overview)
    assert page.locator("ul.checklist li.failed").count() == 0

    # Submit: every rule of the call is met; the confirmation gives the reference and version 1.
    flash = steps.submit_proposal(page, overview)
    reference = re.search(r"CALL-\d{4}-\d{3}-P\d{5}", flash).group(0)
    assert reference in page.locator("main").inner_text()
    page.goto(f"{overview}/versions/1")
    frozen = page.locator("main").inner_text()
    assert "Valley Chamber of Commerce" in frozen and "Engineering study" in frozen
    assert "Traceback" not in frozen
    page.screenshot(path=str(tmp_path / "submitted.png"), full_page=True)
    assert (tmp_path / "submitted.png").stat().st_size > 0
