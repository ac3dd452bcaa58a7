"""A staged call in the browser (issue 18), from concept note to funded full proposal: the manager creates a two-stage
call from its rules file, sets the first stage's dates and opens it; a group submits its concept note; two reviewers
score it; the manager decides and publishes; the group is invited (a notification) and its full proposal starts from
the concept note; the manager opens the second stage; the group completes and submits the full proposal; the
reviewers score it; the manager decides it funded and publishes: the initiative is created with its grant at the
stage's support share.

The rules are the shipped ``staged-network-contest.toml`` without its middle stage (concept note, then
implementation), in a temporary rules folder. No clock is moved: each stage is closed with "Close the call now".
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest

from programme import create_app
from programme.accounts import services as accounts
from programme.config import PROJECT_ROOT
from programme.core.access import Role
from programme.core.db import utcnow
from programme.core.timezone import to_local
from programme.extensions import db
from tests.browser import steps
from tests.browser.world import add_firms, seed_user, serving
from tests.rulebook.test_rules_files import read, to_toml

pytestmark = [pytest.mark.browser, pytest.mark.commits]  # the live server reads what the test commits
PASSWORD = "journey-password-1"
MANAGER = "staged.manager@example.org"
REVIEWERS = ["staged.reviewer.1@example.org", "staged.reviewer.2@example.org"]
LEAD = "staged.lead@example.org"
RULES = "two-stage-network.toml"
TITLE = "An export network for valley furniture"


@pytest.fixture
def staged_server(app, database_url: str, tmp_path: Path) -> Iterator[dict]:
    """The real app on a free local port, with a rules folder holding the two-stage network call; the people seeded
    (a manager, two reviewers, a group's lead with four firms)."""
    rules = tmp_path / "rules"
    (rules / "scorecards").mkdir(parents=True)
    data = read(PROJECT_ROOT / "rules" / "staged-network-contest.toml")
    data["stages"] = [s for s in data["stages"] if s["key"] != "planning"]
    (rules / RULES).write_text(to_toml(data), encoding="utf-8")
    for scorecard in (PROJECT_ROOT / "rules" / "scorecards").glob("*.toml"):
        (rules / "scorecards" / scorecard.name).write_text(scorecard.read_text(encoding="utf-8"), encoding="utf-8")
    live_app = create_app({
        "TESTING": True, "SQLALCHEMY_DATABASE_URI": database_url, "SECRET_KEY": "staged-journey-secret",
        "RATELIMIT_ENABLED": False, "RULES_FOLDER": str(rules), "INSTANCE_PATH": str(tmp_path / "instance"),
    })
    with live_app.app_context():
        seed_user(MANAGER, "Stage Manager", Role.PROGRAMME_MANAGER, PASSWORD)
        for n, email in enumerate(REVIEWERS, start=1):
            seed_user(email, f"Reviewer {n}", Role.REVIEWER, PASSWORD)
        lead = seed_user(LEAD, "Network Lead", Role.APPLICANT, PASSWORD)
        group = accounts.create_group(name="Valley Furniture Network", description="", actor=lead)
        add_firms(group, lead, name="Valley Furniture Firm", locality="Valley", sector="Furniture")
        db.session.commit()
        today = to_local(utcnow(), live_app.config["PROGRAMME_TIMEZONE"]).date()
        db.session.remove()
    with serving(live_app, "staged-journey-server") as url:
        yield {"url": url, "today": today}


def _open_stage(manager, base: str, parent_id: int, number: int, opens: str, closes: str) -> int:
    """Set stage ``number``'s dates on the stages page and open the stage; its call id is answered."""
    manager.goto(f"{base}/manage/calls/{parent_id}/stages")
    section = manager.locator("section", has=manager.get_by_role("heading", name=re.compile(rf"^{number}\. ")))
    section.locator("input[name$=opens_at]").fill(opens)
    section.locator("input[name$=closes_at]").fill(closes)
    section.get_by_role("button", name=f"Save the dates of stage {number}").click()
    steps.succeeded(manager, "saved")
    link = manager.get_by_role("link", name=f"Open, close, review and decide stage {number}")
    stage_id = int(re.search(r"/manage/calls/(\d+)$", link.get_attribute("href")).group(1))
    manager.goto(f"{base}/manage/calls/{stage_id}")
    manager.get_by_role("button", name="Open the stage").click()
    steps.succeeded(manager, "is open")
    return stage_id


def _review_and_decide(manager, people: steps.People, base: str, stage_id: int, today, points: str) -> str:
    """The manager closes the stage, starts its review with two reviewers, assigns; both reviewers score the one
    proposal; the manager decides as ranked and publishes. The publication's message is answered."""
    steps.close_call_now(manager, base, stage_id)
    assert "has started with 1 eligible" in steps.start_review(manager, base, stage_id, today + timedelta(days=14))
    for n in range(len(REVIEWERS)):
        steps.add_to_pool(manager, base, stage_id, f"Reviewer {n + 1}")
    assert "2 review(s) created" in steps.assign_automatically(manager, base, stage_id)
    reference = re.search(r"CALL-\d{4}-\d{3}-S\d-P\d{5}", manager.locator("main").inner_text())
    assert reference, manager.locator("main").inner_text()
    for email in REVIEWERS:
        steps.score_review(people(email), base, reference.group(0), points)
    assert "1 decision(s) recorded" in steps.decide_as_ranked(manager, base, stage_id)
    published = steps.publish_decisions(manager)
    assert "are published" in published
    return published


def test_a_two_stage_call_from_concept_note_to_funded_full_proposal(chromium_browser, staged_server):
    base, today = staged_server["url"], staged_server["today"]
    people = steps.People(chromium_browser, base, PASSWORD)
    try:
        _journey(people, base, today)
    finally:
        people.close()


def _journey(people: steps.People, base: str, today) -> None:  # noqa: PLR0915
    # 1. The manager creates the staged call, sets the concept note stage's dates and opens it.
    manager = people(MANAGER)
    parent_id = steps.create_draft_call(manager, base, RULES)
    manager.get_by_role("link", name=re.compile("Its stages")).click()
    assert "Concept note" in manager.locator("main").inner_text()
    concept_id = _open_stage(manager, base, parent_id, 1, (today - timedelta(days=1)).isoformat() + "T09:00",
                             (today + timedelta(days=30)).isoformat() + "T17:00")

    # 2. The public page of the staged call shows its stages; the group starts its concept note from stage 1's.
    lead = people(LEAD)
    lead.goto(f"{base}/calls/{parent_id}")
    stages = lead.locator("main").inner_text()
    assert "1. Concept note" in stages and "2. Implementation" in stages and "no money at this stage" in stages
    lead.get_by_role("link", name="1. Concept note").click()
    concept_note = steps.start_proposal(lead, TITLE)
    steps.fill_cluster(lead, concept_note, sector="Wooden furniture", territory="The valley and its market town",
                       main_problem="No firm alone meets an export buyer's volumes.",
                       market_failure="Co-ordination failure: no firm pays a broker for the others.")
    steps.fill_objectives(lead, concept_note, objectives="Win one export buyer together within two years.",
                          sustainability_plan="Members pay the broker from the second year.")
    steps.add_activity(lead, concept_note, title="Broker-led meetings with buyers", cost="40000.00")
    steps.submit_proposal(lead, concept_note)  # every rule met with no budget asked: no money at this stage

    # 3. Reviewed, decided and published: the group passes (no initiative: the concept note awards no money).
    published = _review_and_decide(manager, people, base, concept_id, today, "4")
    assert "0 initiative(s) created" in published

    # 4. The group is told it is invited; its full proposal starts from the concept note.
    lead.goto(f"{base}/notifications")
    assert "Invited to the next stage" in lead.locator("main").inner_text()
    # 5. The manager sets the implementation stage's dates and opens it.
    full_id = _open_stage(manager, base, parent_id, 2, (today - timedelta(days=1)).isoformat() + "T09:00",
                          (today + timedelta(days=40)).isoformat() + "T17:00")

    lead.goto(f"{base}/proposals")
    lead.locator("tr", has_text=re.compile(r"CALL-\d{4}-\d{3}-S2")).get_by_role("link").first.click()
    lead.wait_for_url(re.compile(r"/proposals/\d+$"))
    full = lead.url
    assert full != concept_note
    overview = lead.locator("main").inner_text()
    assert TITLE in overview and "started from" in overview
    lead.goto(f"{full}/activities")
    assert "Broker-led meetings with buyers" in lead.locator("main").inner_text()  # copied from the concept note
    steps.add_budget_line(lead, full, cost_type="facilitator_fees", description="Network broker", amount="40000")
    steps.set_requested_amount(lead, full, "20000.00")  # the stage pays at most half the costs: 20,000.00 of 40,000.00
    steps.add_indicator(lead, full, name="Firms exporting", unit="firms", baseline="0", target="4")
    steps.submit_proposal(lead, full)

    # 6. Reviewed, decided funded and published: the initiative is created with its grant at the stage's share.
    published = _review_and_decide(manager, people, base, full_id, today, "4")
    assert "1 initiative(s) created" in published and "20,000.00" in published
    lead.goto(f"{base}/initiatives")
    assert TITLE in lead.locator("main").inner_text()
    lead.goto(full)
    assert "Funded" in lead.locator("main").inner_text()
