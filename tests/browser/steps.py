"""The steps the browser tests take on the app's pages, in the programme's words: logging in, writing a proposal
section by section and submitting it, running a call's review and scoring a proposal. (What the tests set up
before their steps, off the pages, is in world.py.)

Each step that sends a form checks that the page that answers has no error (``succeeded``) and returns its
message, for the test to assert what the message says. The values each test types are the steps' arguments.
"""

from __future__ import annotations

import re
from datetime import date

# The page's answer ----------------------------------------------------------------------------------------------


def succeeded(page, text: str | None = None) -> str:
    """The page has no error; with ``text``, its success message (which must contain ``text``) is returned."""
    page.wait_for_load_state()
    content = page.content()
    assert "Traceback" not in content and "Werkzeug Debugger" not in content
    errors = page.locator(".flash-error, .error")
    assert errors.count() == 0, f"{page.url}: {errors.all_inner_texts()}"
    if text is None:
        return ""
    flash = page.locator(".flash-success").inner_text()
    assert text in flash, flash
    return flash


def choose(select, text: str) -> None:
    """Select the option whose label contains ``text``."""
    select.select_option(select.locator("option", has_text=text).first.get_attribute("value"))


# People ------------------------------------------------------------------------------------------------------------


def log_in(page, base: str, email: str, password: str) -> None:
    """Log in on the login page; the home page follows."""
    page.goto(f"{base}/login")
    page.locator("#email").fill(email)
    page.locator("#password").fill(password)
    page.locator("main button[type=submit]").click()
    page.wait_for_url(f"{base}/")


class People:
    """One browser context (its own cookies) per person, logged in with ``password`` on first use; each
    irreversible action's confirmation is agreed to."""

    def __init__(self, browser, base: str, password: str) -> None:
        self.browser, self.base, self.password, self.pages = browser, base, password, {}

    def __call__(self, email: str):
        if email not in self.pages:
            context = self.browser.new_context()
            context.set_default_timeout(15_000)
            page = context.new_page()
            page.on("dialog", lambda dialog: dialog.accept())
            log_in(page, self.base, email, self.password)
            self.pages[email] = page
        return self.pages[email]

    def close(self) -> None:
        for page in self.pages.values():
            page.context.close()


# A proposal, section by section ------------------------------------------------------------------------------------


def _send(page, address: str, button: str, typed: dict[str, str], chosen: dict[str, str] | None = None) -> str:
    """On the page at ``address``, each field's value typed (``typed``) or chosen (``chosen``), by its selector;
    the form sent by its button. The page that answers has no error; its message is returned."""
    page.goto(address)
    for selector, value in (chosen or {}).items():
        page.locator(selector).select_option(value)
    for selector, value in typed.items():
        page.locator(selector).fill(value)
    page.locator("main form").get_by_role("button", name=button).click()
    succeeded(page)
    return page.locator(".flash").first.inner_text()


def start_proposal(page, title: str) -> str:
    """From the call's page (open in ``page``), start a proposal with its title; the proposal's overview address
    is returned."""
    page.get_by_role("link", name=re.compile("Start a proposal")).click()
    page.locator("#title").fill(title)
    page.locator("main button[type=submit]").click()
    page.wait_for_url(re.compile(r"/proposals/\d+$"))
    return page.url


def fill_cluster(page, overview: str, *, sector: str, territory: str, main_problem: str, market_failure: str,
                 stage: str = "potential") -> str:
    """The cluster section, saved."""
    return _send(page, f"{overview}/cluster", "Save the section", {
        "#sector": sector, "#territory": territory, "#main_problem": main_problem, "#market_failure": market_failure,
    }, {"#stage": stage})


def fill_objectives(page, overview: str, *, objectives: str, sustainability_plan: str) -> str:
    """The objectives section, saved."""
    return _send(page, f"{overview}/objectives", "Save the objectives",
                 {"#objectives": objectives, "#sustainability_plan": sustainability_plan})


def add_activity(page, overview: str, *, title: str, cost: str, kind: str = "facilitation", start_quarter: str = "1",
                 end_quarter: str = "2") -> str:
    """One activity added."""
    return _send(page, f"{overview}/activities", "Add the activity", {
        "#title": title, "#start_quarter": start_quarter, "#end_quarter": end_quarter, "#cost": cost,
    }, {"#kind": kind})


def add_budget_line(page, overview: str, *, cost_type: str, description: str, amount: str) -> str:
    """One budget line added."""
    return _send(page, f"{overview}/budget", "Add the line", {
        "#add-line input[name=description]": description, "#add-line input[name=amount]": amount,
    }, {"#add-line select[name=cost_type]": cost_type})


def set_requested_amount(page, overview: str, amount: str) -> str:
    """The amount requested, saved."""
    return _send(page, f"{overview}/budget", "Save the amount", {"input[name=requested_amount]": amount})


def add_indicator(page, overview: str, *, name: str, unit: str, baseline: str, target: str) -> str:
    """One indicator of success added."""
    return _send(page, f"{overview}/indicators", "Add the indicator",
                 {"#name": name, "#unit": unit, "#baseline": baseline, "#target": target})


def submit_proposal(page, overview: str) -> str:
    """The overview says every rule of the call is met; the proposal is submitted (its confirmation agreed to) as
    version 1, whose message is returned."""
    page.goto(overview)
    assert "Every rule of the call is met" in page.locator("main").inner_text()
    page.get_by_role("button", name=re.compile("Submit the proposal")).click()
    return succeeded(page, "version 1")


# A call and its review, by the programme manager -----------------------------------------------------------------


def create_draft_call(page, base: str, rules_file: str) -> int:
    """A draft call from a rules file; its id is returned (its page is open)."""
    page.goto(f"{base}/manage/calls/new")
    page.locator("#rules_file").select_option(rules_file)
    page.get_by_role("button", name="Create draft call").click()
    succeeded(page, "created as a draft")
    return int(re.search(r"/manage/calls/(\d+)$", page.url).group(1))


def close_call_now(page, base: str, call_id: int) -> str:
    page.goto(f"{base}/manage/calls/{call_id}")
    page.get_by_role("button", name="Close the call now").click()
    return succeeded(page, "is closed")


def start_review(page, base: str, call_id: int, deadline: date) -> str:
    """The review started, its deadline at 17:00 on ``deadline``."""
    page.goto(f"{base}/calls/{call_id}/review")
    page.locator("#deadline").fill(deadline.isoformat() + "T17:00")
    page.get_by_role("button", name="Start the review").click()
    return succeeded(page, "has started")


def add_to_pool(page, base: str, call_id: int, reviewer: str) -> str:
    """The reviewer whose name contains ``reviewer`` joins the call's pool."""
    page.goto(f"{base}/calls/{call_id}/review/reviewers")
    choose(page.locator("#user_id"), reviewer)
    page.get_by_role("button", name="Add to the pool").click()
    return succeeded(page, "joined the reviewer pool")


def assign_automatically(page, base: str, call_id: int) -> str:
    page.goto(f"{base}/calls/{call_id}/review/assignments")
    page.get_by_role("button", name="Assign automatically").click()
    return succeeded(page, "review(s) created")


def decide_as_ranked(page, base: str, call_id: int) -> str:
    page.goto(f"{base}/calls/{call_id}/review/ranking")
    page.get_by_role("button", name="Decide the rest as ranked").click()
    return succeeded(page, "")


def publish_decisions(page) -> str:
    """On the ranking page, the decisions published."""
    page.get_by_role("button", name="Publish the decisions").first.click()
    return succeeded(page, "")


# Scoring, by a reviewer ------------------------------------------------------------------------------------------


def fill_scores(page, scores: dict[str, str], justifications: dict[str, str]) -> None:
    """On a review's page, each criterion's score chosen and its justification typed (nothing sent)."""
    for key, points in scores.items():
        page.locator(f"#score_{key}").select_option(points)
        page.locator(f"#justification_{key}").fill(justifications[key])


def score_review(page, base: str, reference: str, points: str) -> str:
    """From the reviewer's list, the assigned review of proposal ``reference`` scored ``points`` on every
    criterion and submitted."""
    page.goto(f"{base}/reviewing")
    page.get_by_role("link", name=reference).first.click()
    page.wait_for_url(re.compile(r"/reviews/\d+$"))
    keys = [select.get_attribute("id").removeprefix("score_") for select in page.locator("select[id^=score_]").all()]
    weighed = "the proposal's evidence, the members' record and the plan were weighed."
    fill_scores(page, dict.fromkeys(keys, points), {key: f"On {key.replace('_', ' ')}: {weighed}" for key in keys})
    page.get_by_role("button", name="Submit review").click()
    return succeeded(page, "is submitted")
