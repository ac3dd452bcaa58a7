"""Submitting a review asks first, in the browser: with JavaScript the button asks in a dialog (declined, nothing
is submitted; accepted, the review is submitted at once); without JavaScript the draft is saved and a confirmation
page says what submitting does, with a "Yes" button and a "Cancel" link back."""

from __future__ import annotations

import re

import pytest

from tests.browser.steps import fill_scores, log_in
from tests.browser.world import seed_assigned_review

pytestmark = [pytest.mark.browser, pytest.mark.commits]  # the live server reads what the test commits
EMAIL = "confirming.reviewer@example.org"
PASSWORD = "reviewer-password-1"
TEXT = "The {} part is argued with evidence from the members' own record of joint work."


def _seed(live_server) -> dict:
    return seed_assigned_review(live_server, email=EMAIL, name="Confirming Reviewer", password=PASSWORD)


def _score(page, base: str, seeded: dict) -> None:
    log_in(page, base, EMAIL, PASSWORD)
    page.goto(f"{base}/reviews/{seeded['review_id']}")
    keys = seeded["keys"]
    fill_scores(page, dict.fromkeys(keys, "4"), {key: TEXT.format(key.replace("_", " ")) for key in keys})


def test_with_javascript_the_dialog_asks_before_submitting(page, live_server):
    seeded = _seed(live_server)
    base = live_server.url
    _score(page, base, seeded)
    asked: list[str] = []

    def decline(dialog) -> None:
        asked.append(dialog.message)
        dialog.dismiss()

    page.on("dialog", decline)
    page.get_by_role("button", name="Submit review").click()
    assert asked and "freezes your scores" in asked[0] and seeded["reference"] in asked[0]
    assert page.url.endswith(f"/reviews/{seeded['review_id']}")  # declined: still the form, nothing posted
    assert page.locator(f"#justification_{seeded['keys'][0]}").input_value().startswith("The ")
    page.remove_listener("dialog", decline)

    page.on("dialog", lambda dialog: dialog.accept())
    page.get_by_role("button", name="Submit review").click()
    page.wait_for_load_state()
    assert "is submitted" in page.locator(".flash-success").inner_text()
    assert "Your review is submitted and locked." in page.locator("#scoring").inner_text()
    assert "Traceback" not in page.content()


def test_without_javascript_a_confirmation_page_asks(chromium_browser, live_server):
    seeded = _seed(live_server)
    base = live_server.url
    context = chromium_browser.new_context(java_script_enabled=False)
    context.set_default_timeout(15_000)
    page = context.new_page()
    _score(page, base, seeded)

    page.get_by_role("button", name="Submit review").click()
    # (the form's "#scoring" is kept through the redirect, as browsers do)
    page.wait_for_url(re.compile(rf"/reviews/{seeded['review_id']}/submit(#scoring)?$"))
    main = page.locator("main").inner_text()
    assert f"Submit your review of {seeded['reference']}?" in main
    assert "Submitting freezes your scores" in main and "Your draft is saved" in main

    # Cancel goes back to the review: what was typed is there (saved as the draft), nothing submitted.
    page.get_by_role("link", name="Cancel").click()
    page.wait_for_url(re.compile(rf"/reviews/{seeded['review_id']}(#scoring)?$"))
    first = seeded["keys"][0]
    assert page.locator(f"#justification_{first}").input_value() == TEXT.format(first.replace("_", " "))
    assert page.locator(f"#score_{first}").input_value() == "4"

    page.get_by_role("button", name="Submit review").click()
    page.wait_for_url(re.compile(r"/submit(#scoring)?$"))
    page.get_by_role("button", name="Yes, submit the review").click()
    page.wait_for_load_state()
    assert "is submitted" in page.locator(".flash-success").inner_text()
    assert "Your review is submitted and locked." in page.locator("#scoring").inner_text()
    context.close()
