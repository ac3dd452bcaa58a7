"""An applicant, in the browser, from login to a submitted proposal: the member list fails
eligibility first, and passes after the group adds a support institution."""

from __future__ import annotations

import re

import pytest

from programme.accounts import services as accounts
from programme.accounts.models import OrganisationType, SizeClass
from programme.core.access import Role, SystemActor
from programme.extensions import db

pytestmark = [pytest.mark.browser, pytest.mark.commits]  # the live server reads what the test commits
PASSWORD = "applicant-password-1"


def _seed_applicant_with_four_firms(live_server) -> None:
    with live_server.app.app_context():
        lead = accounts.create_user(email="lead@example.org", name="Lead Applicant", roles=[Role.APPLICANT],
                                    password=PASSWORD, actor=SystemActor("test"))
        group = accounts.create_group(name="Valley Food Processors", description="", actor=lead)
        for n in range(4):
            accounts.add_organisation(group, accounts.OrganisationData(
                f"Valley Firm {n + 1}", OrganisationType.FIRM, "Valley", SizeClass.SMALL, "Food processing"),
                actor=lead)
        db.session.commit()
        db.session.remove()


def _fill(page, selector: str, value: str) -> None:
    page.locator(selector).fill(value)


def test_applicant_submits_a_proposal_after_fixing_its_member_list(page, live_server, tmp_path):
    _seed_applicant_with_four_firms(live_server)
    base, call_id = live_server.url, live_server.seeded.open_call_id

    page.on("dialog", lambda dialog: dialog.accept())  # submitting asks to confirm: agreed to
    page.goto(f"{base}/login")
    _fill(page, "#email", "lead@example.org")
    _fill(page, "#password", PASSWORD)
    page.locator("main button[type=submit]").click()
    page.wait_for_url(f"{base}/")

    # Start a proposal from the call's public page.
    page.goto(f"{base}/calls/{call_id}")
    page.get_by_role("link", name=re.compile("Start a proposal")).click()
    _fill(page, "#title", "Joint cold store for the valley")
    page.locator("main button[type=submit]").click()
    page.wait_for_url(re.compile(r"/proposals/\d+$"))
    overview = page.url

    # The cluster section.
    page.goto(f"{overview}/cluster")
    _fill(page, "#sector", "Fruit and vegetable processing")
    _fill(page, "#territory", "The upper valley and its market town")
    page.locator("#stage").select_option("potential")
    _fill(page, "#main_problem", "Each firm is too small to afford cold storage.")
    _fill(page, "#market_failure", "No firm invests alone in a shared facility (coordination failure).")
    page.locator("main button[type=submit]").click()
    page.goto(f"{overview}/objectives")
    _fill(page, "#objectives", "Share a cold store and buy packaging together.")
    _fill(page, "#sustainability_plan", "Members pay storage fees from the second year.")
    page.locator("main button[type=submit]").click()

    # A first activity, a budget line, the amount requested, an indicator.
    page.goto(f"{overview}/activities")
    _fill(page, "#title", "Feasibility study of a shared cold store")
    page.locator("#kind").select_option("facilitation")
    _fill(page, "#start_quarter", "1")
    _fill(page, "#end_quarter", "2")
    _fill(page, "#cost", "30,000.00")
    page.locator("main form button[type=submit]").last.click()
    page.goto(f"{overview}/budget")
    page.locator("#add-line select[name=cost_type]").select_option("fact_finding")
    page.locator("#add-line input[name=description]").fill("Engineering study")
    page.locator("#add-line input[name=amount]").fill("30000")
    page.locator("#add-line button[type=submit]").click()
    page.locator("input[name=requested_amount]").fill("25000.00")
    page.locator("form:has(input[name=requested_amount]) button[type=submit]").click()
    page.goto(f"{overview}/indicators")
    _fill(page, "#name", "Tonnes stored per season")
    _fill(page, "#unit", "t")
    _fill(page, "#baseline", "0")
    _fill(page, "#target", "400")
    page.locator("main form button[type=submit]").last.click()

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
    _fill(page, "#name", "Valley Chamber of Commerce")
    page.locator("#kind").select_option("chamber")
    _fill(page, "#locality", "Valley")
    page.locator("main button[type=submit]").click()
    page.goto(overview)
    assert "Every rule of the call is met" in page.locator("main").inner_text()
    assert page.locator("ul.checklist li.failed").count() == 0

    # Submit: the confirmation gives the reference and version 1.
    page.get_by_role("button", name=re.compile("Submit the proposal")).click()
    page.wait_for_load_state()
    flash = page.locator(".flash-success").inner_text()
    assert "version 1" in flash
    reference = re.search(r"CALL-\d{4}-\d{3}-P\d{5}", flash).group(0)
    assert reference in page.locator("main").inner_text()
    page.goto(f"{overview}/versions/1")
    frozen = page.locator("main").inner_text()
    assert "Valley Chamber of Commerce" in frozen and "Engineering study" in frozen
    assert "Traceback" not in frozen
    page.screenshot(path=str(tmp_path / "submitted.png"), full_page=True)
    assert (tmp_path / "submitted.png").stat().st_size > 0
