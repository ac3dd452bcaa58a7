"""A reviewer, in the browser, scores its assigned proposal: one justification too short is refused on its field
with nothing typed lost; fixed, the review is submitted and locked."""

from __future__ import annotations

import re

import pytest

from tests.browser.steps import fill_scores, log_in
from tests.browser.world import seed_assigned_review

pytestmark = [pytest.mark.browser, pytest.mark.commits]  # the live server reads what the test commits
EMAIL = "scoring.reviewer@example.org"
PASSWORD = "reviewer-password-1"
SHORT = "Too short."


def test_a_reviewer_fixes_a_short_justification_and_submits(page, live_server, tmp_path):
    seeded = seed_assigned_review(live_server, email=EMAIL, name="Scoring Reviewer", password=PASSWORD)
    base, keys, minimum = live_server.url, seeded["keys"], seeded["minimum"]
    points = ["4", "3.5", "2.5", "5", "4.5", "3", "1.5", "2"]
    scores = {key: points[i % len(points)] for i, key in enumerate(keys)}
    texts = {key: f"The {key.replace('_', ' ')} part is argued with evidence from the members' own record."
             for key in keys}
    short_key = keys[1]
    texts[short_key] = SHORT

    page.on("dialog", lambda dialog: dialog.accept())  # submitting asks to confirm: agreed to
    log_in(page, base, EMAIL, PASSWORD)

    # From the reviewer's list to its assigned review.
    page.get_by_role("link", name="Reviewing", exact=True).click()
    page.wait_for_url(f"{base}/reviewing")
    assert "Not started" in page.locator("main").inner_text()
    page.get_by_role("link", name=seeded["reference"]).click()
    page.wait_for_url(re.compile(rf"/reviews/{seeded['review_id']}$"))
    assert "The proposal as submitted: version 1" in page.locator("main").inner_text()

    # Score every criterion; one justification is too short.
    fill_scores(page, scores, texts)
    page.get_by_role("button", name="Submit review").click()
    page.wait_for_load_state()

    # The clear error is on that field; every typed value is still there; nothing was submitted.
    error = page.locator(f"#criterion-{short_key} .error")
    assert error.count() == 1
    message = error.inner_text()
    assert f"at least {minimum} characters" in message and f"has {len(SHORT)}" in message
    assert page.locator("#scoring .error").count() == 1
    assert "Nothing was submitted" in page.locator("#scoring").inner_text()
    for key in keys:
        assert page.locator(f"#score_{key}").input_value() == scores[key]
        assert page.locator(f"#justification_{key}").input_value() == texts[key]
    page.screenshot(path=str(tmp_path / "refused.png"), full_page=True)

    # Fixed, the review is submitted and shown locked.
    page.locator(f"#justification_{short_key}").fill(texts[short_key].replace(SHORT, "")
                                                     + "The first activities are quick wins for every member firm.")
    page.get_by_role("button", name="Submit review").click()
    page.wait_for_load_state()
    assert "is submitted" in page.locator(".flash-success").inner_text()
    scoring = page.locator("#scoring")
    assert "Your review is submitted and locked." in scoring.inner_text()
    assert scoring.locator("textarea, select, input[type=submit]").count() == 0
    assert "Submitted" in page.locator("main dl.facts").first.inner_text()
    for key in keys:
        assert page.locator(f"#criterion-{key} .score strong").inner_text() == scores[key]
    assert "quick wins for every member firm" in scoring.inner_text()
    assert "Traceback" not in page.content()
    page.screenshot(path=str(tmp_path / "submitted.png"), full_page=True)
