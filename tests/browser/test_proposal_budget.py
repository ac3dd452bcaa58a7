"""The proposal's budget checks and the unsaved-changes warning in the browser (issue 16).

- As the applicant types, the budget page shows the amount requested against the start-up maximum and the budget
  total, and the budget lines against the activities' costs (static/budget.js, from the server's figures); after
  saving, the same warnings stand beside the fields and in the sidebar's checklist.
- Typing in a section and following a sidebar link asks first (static/unsaved.js); declined, the typing stays;
  after saving, nothing asks.
- With JavaScript off, an applicant fills a proposal and submits it end to end, through the confirmation page."""

from __future__ import annotations

import re

import pytest

from tests.browser import steps
from tests.browser.world import seed_kiln_proposal

pytestmark = [pytest.mark.browser, pytest.mark.commits]  # the live server reads what the test commits
EMAIL = "budget.lead@example.org"
PASSWORD = "applicant-password-1"
GROUP = "Vaal Ceramics Group"
LEAVE = "You have unsaved changes in this section. Leave without saving?"

OVER_MAXIMUM = "EUR 60,000.00 requested is more than the call's start-up maximum of EUR 50,000.00."
LINES_SHORT = ("The budget lines add up to EUR 42,000.00, EUR 8,000.00 less than the EUR 50,000.00 the first "
               "activities cost: the two totals must be equal.")


def _seed(live_server, *, draft: bool) -> int | None:
    """This module's lead and group; with `draft`, their proposal (see seed_kiln_proposal)."""
    return seed_kiln_proposal(live_server, email=EMAIL, password=PASSWORD, group=GROUP, draft=draft)


def _warnings(page, kind: str, within: str = "main") -> list[str]:
    return [text.strip() for text in
            page.locator(f"{within} [data-budget-warnings={kind}] .field-warning").all_inner_texts()]


def test_the_budget_warnings_appear_as_one_types_and_stay_after_saving(page, live_server):
    proposal_id = _seed(live_server, draft=True)
    base = live_server.url
    dialogs: list[str] = []
    page.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.accept()))
    steps.log_in(page, base, EMAIL, PASSWORD)
    page.goto(f"{base}/proposals/{proposal_id}/budget")

    # As saved: the lines are 8,000.00 short of the activities' costs, said beside the line's amount.
    assert _warnings(page, "costs", "#add-line") == [LINES_SHORT]
    assert _warnings(page, "requested") == []
    typed_note = page.locator("form:has(input[name=requested_amount]) [data-budget-typed]")
    assert typed_note.is_hidden()

    # Typing the amount requested: over the maximum and over the budget, at once, before anything is saved.
    page.locator("input[name=requested_amount]").fill("60,000")
    assert _warnings(page, "requested") == [
        OVER_MAXIMUM, "EUR 60,000.00 requested is more than the budget total of EUR 42,000.00."]
    requested_form = page.locator("form:has(input[name=requested_amount])")
    assert requested_form.locator("output[data-figure=requested]").inner_text() == "EUR 60,000.00"
    assert typed_note.is_visible()

    # Typing a line of 8,000.00: the lines meet the activities' costs, and the budget total in the request's
    # check follows.
    page.locator("#add-line input[name=amount]").fill("8000.00")
    assert _warnings(page, "costs", "#add-line") == []
    assert _warnings(page, "requested") == [
        OVER_MAXIMUM, "EUR 60,000.00 requested is more than the budget total of EUR 50,000.00."]
    assert requested_form.locator("output[data-figure=budget]").inner_text() == "EUR 50,000.00"
    assert page.locator("#add-line output[data-figure=budget]").inner_text() == "EUR 50,000.00"

    # Exactly the maximum, against a budget of exactly as much: nothing to say. Text that is no amount yet
    # leaves the saved figure.
    page.locator("input[name=requested_amount]").fill("50000.00")
    assert _warnings(page, "requested") == []
    page.locator("input[name=requested_amount]").fill("50000.001")
    assert requested_form.locator("output[data-figure=requested]").inner_text() == "EUR 30,000.00"
    page.locator("input[name=requested_amount]").fill("50,000.01")
    assert _warnings(page, "requested") == [
        "EUR 50,000.01 requested is more than the call's start-up maximum of EUR 50,000.00.",
        "EUR 50,000.01 requested is more than the budget total of EUR 50,000.00."]

    # Saved over the maximum: the draft keeps it, and the page says so beside the field and in the sidebar.
    page.locator("#add-line input[name=amount]").fill("")
    page.locator("input[name=requested_amount]").fill("60000")
    requested_form.get_by_role("button", name="Save the amount").click()
    page.wait_for_load_state()
    assert dialogs == []  # the form's own submission never asks
    flash = page.locator(".flash-warning").inner_text()
    assert flash.startswith("The amount requested is saved. The call does not accept the budget as it is:")
    assert OVER_MAXIMUM in flash
    assert page.locator("input[name=requested_amount]").input_value() == "60000.00"
    over_budget = "EUR 60,000.00 requested is more than the budget total of EUR 42,000.00."
    assert _warnings(page, "requested") == [OVER_MAXIMUM, over_budget]  # the server's words, kept by the script
    assert _warnings(page, "costs", "#add-line") == [LINES_SHORT]
    sidebar = page.locator("aside.sections")
    assert "2 rules not met" in sidebar.inner_text()
    failed = sidebar.locator("ul.checklist li.failed")
    assert failed.count() == 2
    assert failed.nth(0).inner_text().split("\n")[1:] == ["Amount requested within the call's limits",
                                                         f"{OVER_MAXIMUM} {over_budget}"]
    assert "Budget lines equal the first activities' costs" in failed.nth(1).inner_text()
    assert LINES_SHORT in failed.nth(1).inner_text()
    budget_tab = sidebar.get_by_role("link", name=re.compile("Budget and co-financing"))
    assert budget_tab.locator(".mark.todo").count() == 1

    # The activities page: a cost typed shows the activities against the lines as one types.
    page.goto(f"{base}/proposals/{proposal_id}/activities")
    assert _warnings(page, "costs") == [LINES_SHORT]
    page.locator("#cost").fill("8,000")
    assert _warnings(page, "costs") == [
        "The budget lines add up to EUR 42,000.00, EUR 16,000.00 less than the EUR 58,000.00 the first activities "
        "cost: the two totals must be equal."]
    page.locator("#cost").fill("")
    # Editing the activity's cost down to the lines' total: the warning goes as one types, and after saving.
    page.get_by_role("link", name="Edit").first.click()
    page.wait_for_url(re.compile(r"/activities/\d+$"))
    assert page.locator("#cost").input_value() == "50000.00"
    page.locator("#cost").fill("42000")
    assert _warnings(page, "costs") == []
    assert page.locator("main output[data-figure=activities]").inner_text() == "EUR 42,000.00"
    page.get_by_role("button", name="Save").click()
    page.wait_for_url(re.compile(r"/activities$"))
    assert page.locator(".flash-success").inner_text().strip() == "Activity 'Shared kiln' saved."
    assert _warnings(page, "costs") == []
    assert "Traceback" not in page.content()


def test_unsaved_changes_ask_before_a_sidebar_link_and_not_after_saving(page, live_server):
    proposal_id = _seed(live_server, draft=True)
    base = live_server.url
    steps.log_in(page, base, EMAIL, PASSWORD)
    page.goto(f"{base}/proposals/{proposal_id}/cluster")
    asked: list[str] = []
    answer = {"leave": False}

    def respond(dialog) -> None:
        asked.append(dialog.message)
        if answer["leave"]:
            dialog.accept()
        else:
            dialog.dismiss()

    page.on("dialog", respond)
    sidebar = page.locator("aside.sections")

    # Nothing typed: the link is followed without a question.
    sidebar.get_by_role("link", name="Objectives").click()
    page.wait_for_url(re.compile(r"/objectives$"))
    assert asked == []

    # Typed, then a sidebar link: asked; declined, the page and the typing stay.
    page.locator("#objectives").fill("Fire together, and sell the pots at two fairs a year.")
    sidebar.get_by_role("link", name=re.compile("The cluster")).click()
    assert asked == [LEAVE]
    assert page.url.endswith("/objectives")
    assert page.locator("#objectives").input_value().startswith("Fire together, and sell")

    # Typed back to what was saved: nothing to lose, nothing asked.
    page.locator("#objectives").fill("Fire together.")
    sidebar.get_by_role("link", name="Overview").click()
    page.wait_for_url(re.compile(rf"/proposals/{proposal_id}$"))
    assert asked == [LEAVE]

    # Typed again and agreed to leave: the link is followed, nothing saved.
    page.goto(f"{base}/proposals/{proposal_id}/objectives")
    page.locator("#objectives").fill("Something not to keep.")
    answer["leave"] = True
    sidebar.get_by_role("link", name="Overview").click()
    page.wait_for_url(re.compile(rf"/proposals/{proposal_id}$"))
    assert asked == [LEAVE, LEAVE]
    page.goto(f"{base}/proposals/{proposal_id}/objectives")
    assert page.locator("#objectives").input_value() == "Fire together."

    # Typed and saved: the save asks nothing, and after it the sidebar's links ask nothing either.
    answer["leave"] = False
    page.locator("#objectives").fill("Fire together, and share the glaze kitchen.")
    page.get_by_role("button", name="Save the objectives").click()
    page.wait_for_load_state()
    assert "The objectives are saved." in page.locator(".flash-success").inner_text()
    sidebar.get_by_role("link", name=re.compile("Indicators of success")).click()
    page.wait_for_url(re.compile(r"/indicators$"))
    assert asked == [LEAVE, LEAVE]

    # On the budget page, another form sent while one holds typing asks too (that typing would be lost).
    page.goto(f"{base}/proposals/{proposal_id}/budget")
    page.locator("input[name=requested_amount]").fill("31000")
    page.locator("#add-line input[name=description]").fill("Glaze")
    page.locator("#add-line input[name=amount]").fill("500")
    page.locator("#add-line button[type=submit]").click()
    assert asked == [LEAVE, LEAVE, LEAVE]
    assert page.url.endswith("/budget")  # declined: nothing sent

    # Closing the tab with the typing still there: the browser's own question (beforeunload).
    page.remove_listener("dialog", respond)
    with page.expect_event("dialog") as closing:
        page.close(run_before_unload=True)
    assert closing.value.type == "beforeunload"
    closing.value.accept()


def test_without_javascript_an_applicant_fills_and_submits_a_proposal(chromium_browser, live_server):
    _seed(live_server, draft=False)
    base, call_id = live_server.url, live_server.seeded.open_call_id
    context = chromium_browser.new_context(java_script_enabled=False)
    context.set_default_timeout(15_000)
    page = context.new_page()
    steps.log_in(page, base, EMAIL, PASSWORD)

    page.goto(f"{base}/calls/{call_id}")
    overview = steps.start_proposal(page, "Joint kiln for the valley")
    assert "The cluster section is saved." in steps.fill_cluster(
        page, overview, sector="Ceramics", territory="The Vaal triangle",
        main_problem="Each firm is too small to fire large orders.",
        market_failure="No firm buys a large kiln alone (coordination failure).")
    assert "The objectives are saved." in steps.fill_objectives(
        page, overview, objectives="Fire together and win large orders.",
        sustainability_plan="Members pay kiln fees from the second year.")
    assert "Activity 'Shared kiln' added." in steps.add_activity(
        page, overview, title="Shared kiln", kind="practical", end_quarter="3", cost="36,000.00")

    # Without the script the server says it: a line short of the activity's cost, a request over the maximum.
    assert "Budget line added. The call does not accept the budget as it is:" in steps.add_budget_line(
        page, overview, cost_type="shared_equipment", description="Kiln", amount="30000")
    costs = ("The budget lines add up to EUR 30,000.00, EUR 6,000.00 less than the EUR 36,000.00 the first "
             "activities cost: the two totals must be equal.")
    assert _warnings(page, "costs", "#add-line") == [costs]
    assert "The amount requested is saved. The call does not accept the budget as it is:" in steps.set_requested_amount(
        page, overview, "60000")
    assert _warnings(page, "requested") == [
        OVER_MAXIMUM, "EUR 60,000.00 requested is more than the budget total of EUR 30,000.00."]
    assert "Amount requested within the call's limits" in page.locator("aside.sections").inner_text()
    # Put right: a second line, and a request within the limits.
    assert "Budget line added." in steps.add_budget_line(page, overview, cost_type="venues", description="Shed",
                                                         amount="6,000.00")
    assert "The amount requested is saved." in steps.set_requested_amount(page, overview, "36000")
    assert _warnings(page, "requested") == [] and _warnings(page, "costs", "#add-line") == []
    assert "Indicator added." in steps.add_indicator(page, overview, name="Large orders won", unit="orders",
                                                     baseline="0", target="6")

    # Submit: the button leads to the confirmation page, which submits.
    page.goto(overview)
    assert "Every rule of the call is met" in page.locator("main").inner_text()
    page.get_by_role("button", name="Submit the proposal").click()
    page.wait_for_url(re.compile(r"/submit$"))
    main = page.locator("main").inner_text()
    assert "Submit “Joint kiln for the valley” as version 1?" in main
    assert "EUR 36,000.00" in main and "every rule of the call is met" in main
    page.get_by_role("button", name="Yes, submit the proposal").click()
    page.wait_for_url(overview)
    assert "Submitted as version 1" in page.locator(".flash-success").inner_text()
    assert "Version 1" in page.locator("main").inner_text()
    assert "Traceback" not in page.content()
    context.close()
