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
import threading
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from werkzeug.serving import make_server

from programme import create_app
from programme.accounts import services as accounts
from programme.accounts.models import OrganisationType, SizeClass
from programme.config import PROJECT_ROOT
from programme.core.access import Role, SystemActor
from programme.core.db import utcnow
from programme.core.timezone import to_local
from programme.extensions import db
from tests.browser.test_programme_journey import People, _ok, _score
from tests.rulebook.test_rules_files import read, to_toml

pytestmark = [pytest.mark.browser, pytest.mark.commits]  # the live server reads what the test commits
SEEDER = SystemActor("test")
PASSWORD = "journey-password-1"  # the password People logs in with
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
        def user(email: str, name: str, role: Role):
            return accounts.create_user(email=email, name=name, roles=[role], password=PASSWORD, actor=SEEDER)

        user(MANAGER, "Stage Manager", Role.PROGRAMME_MANAGER)
        for n, email in enumerate(REVIEWERS, start=1):
            user(email, f"Reviewer {n}", Role.REVIEWER)
        lead = user(LEAD, "Network Lead", Role.APPLICANT)
        group = accounts.create_group(name="Valley Furniture Network", description="", actor=lead)
        for n in range(4):
            accounts.add_organisation(group, accounts.OrganisationData(
                f"Valley Furniture Firm {n + 1}", OrganisationType.FIRM, "Valley", SizeClass.SMALL, "Furniture"),
                actor=lead)
        db.session.commit()
        today = to_local(utcnow(), live_app.config["PROGRAMME_TIMEZONE"]).date()
        db.session.remove()
    server = make_server("127.0.0.1", 0, live_app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, name="staged-journey-server", daemon=True)
    thread.start()
    try:
        yield {"url": f"http://127.0.0.1:{server.port}", "today": today}
    finally:
        server.shutdown()
        thread.join(timeout=10)
        server.server_close()
        with live_app.app_context():
            db.engine.dispose()


def _stage_dates(manager, base: str, parent_id: int, number: int, opens: str, closes: str) -> int:
    """Set stage ``number``'s dates on the stages page; its call id is answered."""
    manager.goto(f"{base}/manage/calls/{parent_id}/stages")
    section = manager.locator("section", has=manager.get_by_role("heading", name=re.compile(rf"^{number}\. ")))
    section.locator("input[name$=opens_at]").fill(opens)
    section.locator("input[name$=closes_at]").fill(closes)
    section.get_by_role("button", name=f"Save the dates of stage {number}").click()
    _ok(manager, "saved")
    link = manager.get_by_role("link", name=f"Open, close, review and decide stage {number}")
    return int(re.search(r"/manage/calls/(\d+)$", link.get_attribute("href")).group(1))


def _review_and_decide(manager, people: People, base: str, stage_id: int, today, points: str) -> str:
    """The manager closes the stage, starts its review with two reviewers, assigns; both reviewers score the one
    proposal; the manager decides as ranked and publishes. The publication's message is answered."""
    manager.goto(f"{base}/manage/calls/{stage_id}")
    manager.get_by_role("button", name="Close the call now").click()
    _ok(manager, "is closed")
    manager.goto(f"{base}/calls/{stage_id}/review")
    manager.locator("#deadline").fill((today + timedelta(days=14)).isoformat() + "T17:00")
    manager.get_by_role("button", name="Start the review").click()
    _ok(manager, "has started with 1 eligible")
    for n in range(len(REVIEWERS)):
        manager.goto(f"{base}/calls/{stage_id}/review/reviewers")
        select = manager.locator("#user_id")
        select.select_option(select.locator("option", has_text=f"Reviewer {n + 1}").first.get_attribute("value"))
        manager.get_by_role("button", name="Add to the pool").click()
        _ok(manager, "joined the reviewer pool")
    manager.goto(f"{base}/calls/{stage_id}/review/assignments")
    manager.get_by_role("button", name="Assign automatically").click()
    _ok(manager, "2 review(s) created")
    reference = re.search(r"CALL-\d{4}-\d{3}-S\d-P\d{5}", manager.locator("main").inner_text())
    assert reference, manager.locator("main").inner_text()
    for email in REVIEWERS:
        _score(people(email), base, reference.group(0), points)
    manager.goto(f"{base}/calls/{stage_id}/review/ranking")
    manager.get_by_role("button", name="Decide the rest as ranked").click()
    _ok(manager, "1 decision(s) recorded")
    manager.get_by_role("button", name="Publish the decisions").first.click()
    return _ok(manager, "are published")


def test_a_two_stage_call_from_concept_note_to_funded_full_proposal(chromium_browser, staged_server):
    base, today = staged_server["url"], staged_server["today"]
    people = People(chromium_browser, base)
    try:
        _journey(people, base, today)
    finally:
        people.close()


def _journey(people: People, base: str, today) -> None:  # noqa: PLR0915
    # 1. The manager creates the staged call, sets the concept note stage's dates and opens it.
    manager = people(MANAGER)
    manager.goto(f"{base}/manage/calls/new")
    manager.locator("#rules_file").select_option(RULES)
    manager.get_by_role("button", name="Create draft call").click()
    _ok(manager, "created as a draft")
    parent_id = int(re.search(r"/manage/calls/(\d+)$", manager.url).group(1))
    manager.get_by_role("link", name=re.compile("Its stages")).click()
    assert "Concept note" in manager.locator("main").inner_text()
    concept_id = _stage_dates(manager, base, parent_id, 1, (today - timedelta(days=1)).isoformat() + "T09:00",
                              (today + timedelta(days=30)).isoformat() + "T17:00")
    manager.goto(f"{base}/manage/calls/{concept_id}")
    manager.get_by_role("button", name="Open the stage").click()
    _ok(manager, "is open")

    # 2. The public page of the staged call shows its stages; the group starts its concept note from stage 1's.
    lead = people(LEAD)
    lead.goto(f"{base}/calls/{parent_id}")
    stages = lead.locator("main").inner_text()
    assert "1. Concept note" in stages and "2. Implementation" in stages and "no money at this stage" in stages
    lead.get_by_role("link", name="1. Concept note").click()
    lead.get_by_role("link", name=re.compile("Start a proposal")).click()
    lead.locator("#title").fill(TITLE)
    lead.locator("main button[type=submit]").click()
    lead.wait_for_url(re.compile(r"/proposals/\d+$"))
    concept_note = lead.url
    lead.goto(f"{concept_note}/cluster")
    lead.locator("#sector").fill("Wooden furniture")
    lead.locator("#territory").fill("The valley and its market town")
    lead.locator("#stage").select_option("potential")
    lead.locator("#main_problem").fill("No firm alone meets an export buyer's volumes.")
    lead.locator("#market_failure").fill("Co-ordination failure: no firm pays a broker for the others.")
    lead.locator("main button[type=submit]").click()
    _ok(lead)
    lead.goto(f"{concept_note}/objectives")
    lead.locator("#objectives").fill("Win one export buyer together within two years.")
    lead.locator("#sustainability_plan").fill("Members pay the broker from the second year.")
    lead.locator("main button[type=submit]").click()
    _ok(lead)
    lead.goto(f"{concept_note}/activities")
    lead.locator("#title").fill("Broker-led meetings with buyers")
    lead.locator("#kind").select_option("facilitation")
    lead.locator("#start_quarter").fill("1")
    lead.locator("#end_quarter").fill("2")
    lead.locator("#cost").fill("40000.00")
    lead.locator("main form button[type=submit]").last.click()
    _ok(lead)
    lead.goto(concept_note)
    assert "Every rule of the call is met" in lead.locator("main").inner_text()  # no budget asked: no money here
    lead.get_by_role("button", name=re.compile("Submit the proposal")).click()
    _ok(lead, "version 1")

    # 3. Reviewed, decided and published: the group passes (no initiative: the concept note awards no money).
    published = _review_and_decide(manager, people, base, concept_id, today, "4")
    assert "0 initiative(s) created" in published

    # 4. The group is told it is invited; its full proposal starts from the concept note.
    lead.goto(f"{base}/notifications")
    assert "Invited to the next stage" in lead.locator("main").inner_text()
    # 5. The manager sets the implementation stage's dates and opens it.
    full_id = _stage_dates(manager, base, parent_id, 2, (today - timedelta(days=1)).isoformat() + "T09:00",
                           (today + timedelta(days=40)).isoformat() + "T17:00")
    manager.goto(f"{base}/manage/calls/{full_id}")
    manager.get_by_role("button", name="Open the stage").click()
    _ok(manager, "is open")

    lead.goto(f"{base}/proposals")
    lead.locator("tr", has_text=re.compile(r"CALL-\d{4}-\d{3}-S2")).get_by_role("link").first.click()
    lead.wait_for_url(re.compile(r"/proposals/\d+$"))
    full = lead.url
    assert full != concept_note
    overview = lead.locator("main").inner_text()
    assert TITLE in overview and "started from" in overview
    lead.goto(f"{full}/activities")
    assert "Broker-led meetings with buyers" in lead.locator("main").inner_text()  # copied from the concept note
    lead.goto(f"{full}/budget")
    lead.locator("#add-line select[name=cost_type]").select_option("facilitator_fees")
    lead.locator("#add-line input[name=description]").fill("Network broker")
    lead.locator("#add-line input[name=amount]").fill("40000")
    lead.locator("#add-line button[type=submit]").click()
    _ok(lead)
    # The stage pays at most half the costs: 20,000.00 of 40,000.00.
    lead.locator("input[name=requested_amount]").fill("20000.00")
    lead.locator("form:has(input[name=requested_amount]) button[type=submit]").click()
    _ok(lead)
    lead.goto(f"{full}/indicators")
    lead.locator("#name").fill("Firms exporting")
    lead.locator("#unit").fill("firms")
    lead.locator("#baseline").fill("0")
    lead.locator("#target").fill("4")
    lead.locator("main form button[type=submit]").last.click()
    _ok(lead)
    lead.goto(full)
    assert "Every rule of the call is met" in lead.locator("main").inner_text()
    lead.get_by_role("button", name=re.compile("Submit the proposal")).click()
    _ok(lead, "version 1")

    # 6. Reviewed, decided funded and published: the initiative is created with its grant at the stage's share.
    published = _review_and_decide(manager, people, base, full_id, today, "4")
    assert "1 initiative(s) created" in published and "20,000.00" in published
    lead.goto(f"{base}/initiatives")
    assert TITLE in lead.locator("main").inner_text()
    lead.goto(full)
    assert "Funded" in lead.locator("main").inner_text()
