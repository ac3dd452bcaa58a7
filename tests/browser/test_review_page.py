"""The reviewer's page in Chromium (issue 16): the scores beside the proposal on a desk and before it on a phone,
each field labelled with its criterion, the running weighted total as one chooses (the same figure the server stores
and shows), the live character counters, and a review scored and submitted end to end with JavaScript off.

The review is set up as in test_review_scoring.py (world.seed_assigned_review)."""

from __future__ import annotations

import re
from decimal import Decimal
from pathlib import Path

import pytest

from programme.config import PROJECT_ROOT
from programme.extensions import db
from programme.reviews import services as reviews
from programme.reviews.aggregation import weighted_sum
from programme.reviews.domain import CriterionSpec, Scoring, display, plain_number
from programme.reviews.forms import running_total
from programme.reviews.models import Review, ReviewStatus
from tests.browser.steps import fill_scores, log_in
from tests.browser.world import seed_assigned_review

pytestmark = [pytest.mark.browser, pytest.mark.commits]  # the live server reads what the test commits
EMAIL = "scoring.reviewer@example.org"
PASSWORD = "reviewer-password-1"
DESK, PHONE, HEIGHT = 1366, 390, 800
STATIC = PROJECT_ROOT / "programme" / "static"
POINTS = ["4", "3.5", "2.5", "5", "4.5", "3", "1.5"]
TEXT = "The members' own record of joint work is argued with evidence from the proposal."


def _seed_review(live_server) -> dict:
    return seed_assigned_review(live_server, email=EMAIL, name="Scoring Reviewer", password=PASSWORD)


def _criteria(live_server, review_id: int) -> list[tuple[str, str, Decimal]]:
    """(key, title, weight) of the criteria of the review's call, in their order."""
    with live_server.app.app_context():
        found = [(c.key, c.title, c.weight) for c in db.session.get(Review, review_id).call.criteria]
        db.session.remove()
    return found


def _stored(live_server, review_id: int) -> tuple[ReviewStatus, dict[str, Decimal | None], Scoring]:
    with live_server.app.app_context():
        review = db.session.get(Review, review_id)
        found = (review.status, {s.criterion_key: s.score for s in review.scores}, reviews.scoring_of(review.call))
        db.session.remove()
    return found


def _words(scoring: Scoring, given: dict[str, str]) -> str:
    """The running total's words for these scores, by the server's own formula."""
    total = running_total(given, scoring)
    if total.complete:
        return f"Weighted total: {total.shown} of {plain_number(total.maximum)} (all {total.criteria} criteria scored)"
    return (f"Weighted total so far: {total.shown} of {plain_number(total.maximum)} ({total.scored} of "
            f"{total.criteria} criteria scored)")


def _box(page, selector: str) -> dict[str, float]:
    box = page.locator(selector).bounding_box()
    assert box is not None, f"{selector} is not shown"
    return box


def _page_width(page) -> int:
    return page.evaluate("document.documentElement.scrollWidth")


# The two panes -----------------------------------------------------------------------------------------------


def test_the_scores_sit_beside_the_proposal_on_a_desk_and_before_it_on_a_phone(page, live_server, tmp_path):
    seeded = _seed_review(live_server)
    base = live_server.url
    page.set_viewport_size({"width": DESK, "height": HEIGHT})
    log_in(page, base, EMAIL, PASSWORD)
    page.goto(f"{base}/reviews/{seeded['review_id']}")

    # Side by side: both panes within the screen's width, not overlapping.
    scores, proposal = _box(page, "#scoring"), _box(page, "#proposal")
    assert scores["x"] >= 0 and scores["x"] + scores["width"] <= DESK
    assert proposal["x"] >= 0 and proposal["x"] + proposal["width"] <= DESK
    assert scores["x"] + scores["width"] <= proposal["x"]
    assert _page_width(page) <= DESK
    assert not page.get_by_role("link", name="Read the proposal", exact=True).is_visible()  # both are in view already
    page.screenshot(path=str(tmp_path / "desk.png"))

    # The page scrolls the proposal; the scores stay in view and scroll on their own.
    page.evaluate("window.scrollTo(0, 2500)")
    assert page.evaluate("window.scrollY") > 500
    scores, proposal = _box(page, "#scoring"), _box(page, "#proposal")
    assert proposal["y"] < -400  # the proposal moved up
    assert scores["y"] >= 0 and scores["y"] + scores["height"] <= HEIGHT + 1  # the scores did not
    last = seeded["keys"][-1]
    page.locator(f"#justification_{last}").focus()
    assert page.evaluate("document.getElementById('scoring').scrollTop") > 0
    assert page.evaluate("window.scrollY") > 500  # the page stayed on the proposal
    assert page.locator(f"#justification_{last}").is_visible()
    assert page.locator("#running-total").is_visible()  # kept at the top of the scores
    page.screenshot(path=str(tmp_path / "desk-scrolled.png"))

    # On a phone: stacked, the scores first, no sideways scroll, and links between the two.
    page.set_viewport_size({"width": PHONE, "height": HEIGHT})
    page.goto(f"{base}/reviews/{seeded['review_id']}")
    scores, proposal = _box(page, "#scoring"), _box(page, "#proposal")
    assert scores["y"] + scores["height"] <= proposal["y"]
    assert scores["x"] + scores["width"] <= PHONE and proposal["x"] + proposal["width"] <= PHONE
    assert _page_width(page) <= PHONE
    page.get_by_role("link", name="Read the proposal", exact=True).click()
    page.wait_for_url(re.compile(r"#proposal$"))
    heading = _box(page, "#proposal-title")
    assert 0 <= heading["y"] < HEIGHT
    page.get_by_role("link", name="Back to the scores").first.click()
    page.wait_for_url(re.compile(r"#scoring$"))
    assert 0 <= _box(page, "#scoring-title")["y"] < HEIGHT
    page.screenshot(path=str(tmp_path / "phone.png"))


def test_each_field_is_found_by_its_criterion(page, live_server):
    seeded = _seed_review(live_server)
    base = live_server.url
    log_in(page, base, EMAIL, PASSWORD)
    page.goto(f"{base}/reviews/{seeded['review_id']}")
    assert page.get_by_label("Score", exact=True).count() == 0
    for key, title, weight in _criteria(live_server, seeded["review_id"]):
        score = page.get_by_label(f"Score for {title} (0–5, weight {plain_number(weight)})", exact=True)
        assert score.count() == 1 and score.get_attribute("id") == f"score_{key}"
        justification = page.get_by_label(f"Justification for {title}", exact=True)
        assert justification.count() == 1 and justification.get_attribute("id") == f"justification_{key}"
        # The guidance describes the score: its accessible description starts with it.
        described = score.evaluate(
            "field => field.getAttribute('aria-describedby').split(' ')"
            ".map(id => document.getElementById(id).textContent.trim()).join(' ')")
        guidance = page.locator(f"#guidance-{key}").evaluate("element => element.textContent.trim()")
        assert described.startswith(guidance) and guidance.startswith("Guidance")


# The running total and the counters --------------------------------------------------------------------------


def test_the_running_total_follows_the_choices_and_equals_what_the_server_stores(page, live_server):
    seeded = _seed_review(live_server)
    base, keys = live_server.url, seeded["keys"]
    _, _, scoring = _stored(live_server, seeded["review_id"])
    log_in(page, base, EMAIL, PASSWORD)
    page.goto(f"{base}/reviews/{seeded['review_id']}")
    total = page.locator("#running-total")
    assert total.get_attribute("role") == "status"  # a live region: read out when it changes
    assert total.inner_text() == _words(scoring, {})

    chosen: dict[str, str] = {}
    for index, key in enumerate(keys[:3]):
        page.locator(f"#score_{key}").select_option(POINTS[index])
        chosen[key] = POINTS[index]
        assert total.inner_text() == _words(scoring, chosen)
    assert total.inner_text().startswith("Weighted total so far: ") and "(3 of 7 criteria scored)" in total.inner_text()
    page.locator(f"#score_{keys[1]}").select_option("")  # a score taken back is no longer counted
    del chosen[keys[1]]
    assert total.inner_text() == _words(scoring, chosen)

    # Every criterion: the total the server then stores and shows, to the hundredth.
    for index, key in enumerate(keys):
        page.locator(f"#score_{key}").select_option(POINTS[index % len(POINTS)])
        chosen[key] = POINTS[index % len(POINTS)]
    shown = total.inner_text()
    assert shown == _words(scoring, chosen) and "(all 7 criteria scored)" in shown
    page.get_by_role("button", name="Save draft").click()
    page.wait_for_load_state()
    assert "Draft saved" in page.locator(".flash-success").inner_text()
    status, stored, scoring = _stored(live_server, seeded["review_id"])
    assert status == ReviewStatus.DRAFT
    assert stored == {key: Decimal(value) for key, value in chosen.items()}
    server = plain_number(display(weighted_sum(stored, scoring)))
    assert shown == f"Weighted total: {server} of 15 (all 7 criteria scored)"
    assert page.locator("#running-total").inner_text() == shown


def test_the_character_counter_follows_the_typing(page, live_server):
    seeded = _seed_review(live_server)
    base, key = live_server.url, seeded["keys"][0]
    minimum = seeded["minimum"]
    log_in(page, base, EMAIL, PASSWORD)
    page.goto(f"{base}/reviews/{seeded['review_id']}")
    area, counter = page.locator(f"#justification_{key}"), page.locator(f"#justification_{key}-count")
    assert counter.inner_text() == f"At least {minimum} characters to submit: 0 written."
    area.fill("  Twelve chars  ")
    assert counter.inner_text() == f"At least {minimum} characters to submit: 12 written."
    assert "counter-short" in counter.get_attribute("class")
    area.fill("First line\nsecond line")  # a line break is one character, as the server counts it
    assert counter.inner_text() == f"At least {minimum} characters to submit: 22 written."
    area.fill(TEXT)
    assert counter.inner_text() == f"At least {minimum} characters to submit: {len(TEXT)} written."
    assert "counter-enough" in counter.get_attribute("class")
    area.press_sequentially("!!")
    assert counter.inner_text() == f"At least {minimum} characters to submit: {len(TEXT) + 2} written."
    assert f"justification_{key}-count" in area.get_attribute("aria-describedby")


def _script_page(page, body: str, script: str) -> None:
    """A bare page with one of the site's scripts (after programme.js, which every page loads first and which
    gives the others their words), to try its arithmetic on values the shipped rules never use."""
    page.set_content(f"<!doctype html><html><body>{body}</body></html>")
    page.add_script_tag(path=str(STATIC / "programme.js"))
    page.add_script_tag(path=str(STATIC / script))


@pytest.mark.parametrize(("weights", "scores"), [
    (("0.125", "1"), ("0.5", "0")),  # 0.0625: rounds down
    (("0.005", "1"), ("1", "")),  # 0.005: rounds half up
    (("0.0125", "0.3333"), ("1.5", "4.5")),  # 0.01875 + 1.49985
    (("2", "1"), ("5", "5")),  # 15, no trailing zeros
    (("0.4", "0.4"), ("0", "")),  # 0
])
def test_the_scripts_total_equals_the_servers_to_the_hundredth(page, weights, scores):
    options = "".join(f'<option value="{v}">{v}</option>' for v in ("", "0", "0.5", "1", "1.5", "4.5", "5"))
    fields = "".join(f'<select id="s{i}" data-weight="{w}">{options}</select>' for i, w in enumerate(weights))
    maximum = plain_number(Decimal(5) * sum((Decimal(w) for w in weights), Decimal(0)))
    _script_page(page, f'<form><p id="total" data-running-total data-total-max="{maximum}">–</p>{fields}</form>',
                 "review.js")
    for index, value in enumerate(scores):
        page.locator(f"#s{index}").select_option(value)
    scoring = Scoring(criteria=tuple(CriterionSpec(f"s{i}", Decimal(w)) for i, w in enumerate(weights)))
    given = {f"s{i}": value for i, value in enumerate(scores)}
    assert page.locator("#total").inner_text() == _words(scoring, given)


def test_the_generic_counter_on_any_textarea(page):
    _script_page(page, (
        '<textarea id="note" maxlength="2000"></textarea><small data-counter-for="note"></small>'
        '<textarea id="reason" data-count="reason-count" data-count-min="200"></textarea><small id="reason-count">'
        '</small><textarea id="free" maxlength="10"></textarea>'), "counters.js")
    note = page.locator("[data-counter-for=note]")
    assert note.inner_text() == "0 of 2,000 characters"
    page.locator("#note").fill("x" * 1234)
    assert note.inner_text() == "1,234 of 2,000 characters"
    page.locator("#note").fill("naïve 🙂 café")  # each character once, as Python counts them
    assert note.inner_text() == f"{len('naïve 🙂 café')} of 2,000 characters"
    page.locator("#reason").fill("y" * 123)
    assert page.locator("#reason-count").inner_text() == "at least 200 characters: 123 written"
    page.locator("#free").fill("no counter, no error")  # a textarea without a counter element is left alone


# Without JavaScript ------------------------------------------------------------------------------------------


def test_without_javascript_a_reviewer_scores_and_submits_end_to_end(chromium_browser, live_server, tmp_path: Path):
    seeded = _seed_review(live_server)
    base, keys, review_id = live_server.url, seeded["keys"], seeded["review_id"]
    context = chromium_browser.new_context(java_script_enabled=False, viewport={"width": PHONE, "height": HEIGHT})
    context.set_default_timeout(15_000)
    page = context.new_page()
    try:
        log_in(page, base, EMAIL, PASSWORD)
        page.goto(f"{base}/reviews/{review_id}")
        _, _, scoring = _stored(live_server, review_id)
        assert page.locator("#running-total").inner_text() == _words(scoring, {})
        assert _page_width(page) <= PHONE

        # Scored, one justification too short: refused on its field, a link to it at the top, everything kept.
        scores = {key: POINTS[i % len(POINTS)] for i, key in enumerate(keys)}
        fill_scores(page, scores, {key: f"{TEXT} ({key})" for key in keys})
        page.locator(f"#justification_{keys[2]}").fill("Too short.")
        page.get_by_role("button", name="Submit review").click()
        page.wait_for_load_state()
        assert "Nothing was submitted" in page.locator("#scoring").inner_text()
        assert page.locator(f"ul.error-summary a[href='#justification_{keys[2]}']").count() == 1
        assert page.locator(f"#justification_{keys[2]}").input_value() == "Too short."
        assert page.locator(f"#score_{keys[0]}").input_value() == scores[keys[0]]
        # The server's total of the scores as typed (the script is off): the same words.
        assert page.locator("#running-total").inner_text() == _words(scoring, scores)

        # Fixed: "Submit review" saves the draft and asks on a confirmation page, which submits.
        page.locator(f"#justification_{keys[2]}").fill(f"{TEXT} ({keys[2]})")
        page.get_by_role("button", name="Submit review").click()
        page.wait_for_url(re.compile(rf"/reviews/{review_id}/submit(#scoring)?$"))
        confirmation = page.locator("main").inner_text()
        assert f"Submit your review of {seeded['reference']}?" in confirmation
        status, stored, scoring = _stored(live_server, review_id)
        assert status == ReviewStatus.DRAFT  # saved, nothing submitted yet
        server = plain_number(display(weighted_sum(stored, scoring)))
        assert f"{server} of 15" in confirmation
        page.screenshot(path=str(tmp_path / "confirm.png"), full_page=True)
        page.get_by_role("button", name="Yes, submit the review").click()
        page.wait_for_url(re.compile(rf"/reviews/{review_id}(#scoring)?$"))
        assert "is submitted" in page.locator(".flash-success").inner_text()
        assert "Your review is submitted and locked." in page.locator("#scoring").inner_text()
        assert page.locator("#running-total").inner_text() == _words(scoring, scores)
        status, stored, _ = _stored(live_server, review_id)
        assert status == ReviewStatus.SUBMITTED
        assert stored == {key: Decimal(value) for key, value in scores.items()}
    finally:
        context.close()


def test_a_reviewer_reading_spanish_gets_the_criteria_and_the_scripts_words_in_spanish(page, live_server):
    """Issue 19: the criteria's titles come from the rules file's Spanish texts, and the running total the script
    writes uses the page's Spanish words."""
    from flask_babel import force_locale, gettext

    seeded = _seed_review(live_server)
    base, keys = live_server.url, seeded["keys"]
    with live_server.app.test_request_context("/"), force_locale("es"):
        review = db.session.get(Review, seeded["review_id"])
        titles = [c.title for c in review.call.criteria]
        english = [c.title_as_written for c in review.call.criteria]
        so_far = gettext("Weighted total so far: %(total)s of %(maximum)s (%(scored)s of %(criteria)s criteria "
                         "scored)", total="{total}", maximum="{maximum}", scored="{scored}", criteria="{criteria}")
        db.session.remove()
    assert titles != english  # the shipped rules give their criteria in Spanish
    log_in(page, base, EMAIL, PASSWORD)
    page.locator("footer select[name=language]").select_option("es")
    page.locator("footer").get_by_role("button", name=re.compile("Change|Cambiar")).click()
    page.wait_for_load_state()
    page.goto(f"{base}/reviews/{seeded['review_id']}")
    legends = page.locator("fieldset legend").all_inner_texts()
    assert all(any(title in legend for legend in legends) for title in titles)
    page.locator(f"#score_{keys[0]}").select_option("3.5")
    total = page.locator("#running-total").inner_text()
    prefix = so_far.split("{total}")[0]
    assert prefix.startswith("Total") and total.startswith(prefix) and "Weighted" not in total
    written = total.removeprefix(prefix).split(" ")[0]
    assert "," in written and "." not in written, total  # 3.5 x its weight, with the Spanish decimal mark
