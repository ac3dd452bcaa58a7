"""The whole programme in one browser test (issue 6): a manager opens a call; two groups submit proposals; two
reviewers score them; the manager decides as ranked (one funded, one below the thresholds) and publishes; one
fund administrator requests the start-up grant's tranche and another approves and pays it (four eyes); the
administrator opens and capitalises the initiative's revolving fund and makes a loan, then records the
borrower's repayment of the first instalment on the loan's page; the group starts its scorecard and files its
first self-evaluation report (which the manager then sees submitted on the initiative's reports page); and the
manager's dashboard shows each of these: the call, the start-up grant committed and paid, the fund's
capitalisation and cash, the loan and what is outstanding, the repayment, the initiative's status and the report
submitted (whose list it links to).

Only the people (users, the two groups and their member organisations) are seeded; every action is done on the
app's pages. No clock is moved: the manager closes the call with "Close the call now", and a report may be
submitted during its period. The rules are the shipped ``cluster-contest.toml`` with two reviewers per proposal
(a copy in a temporary rules folder), as the journey has two reviewers.
"""

from __future__ import annotations

import re
import shutil
from collections.abc import Iterator
from datetime import timedelta
from decimal import Decimal
from pathlib import Path

import pytest
from dateutil.relativedelta import relativedelta

from programme import create_app
from programme.accounts import services as accounts
from programme.accounts.models import OrganisationType
from programme.config import PROJECT_ROOT
from programme.core.access import Role
from programme.core.db import utcnow
from programme.core.money import format_money
from programme.core.timezone import to_local
from programme.extensions import db
from tests.browser import steps
from tests.browser.world import add_firms, seed_user, serving

pytestmark = [pytest.mark.browser, pytest.mark.commits]  # the live server reads what the test commits
PASSWORD = "journey-password-1"
MANAGER = "journey.manager@example.org"
ADMIN_A, ADMIN_B = "journey.admin.a@example.org", "journey.admin.b@example.org"
REVIEWERS = ["journey.reviewer.1@example.org", "journey.reviewer.2@example.org"]
GROUPS = [
    {"lead": "lead.valley@example.org", "name": "Valley Food Processors", "title": "Joint cold store for the valley",
     "requested": "25000.00", "score": "4.5"},
    {"lead": "lead.coast@example.org", "name": "Coast Boat Builders", "title": "A shared slipway on the coast",
     "requested": "30000.00", "score": "2"},
]
STARTUP_TRANCHE = Decimal("10000.00")
CAPITAL = Decimal("20000.00")
PRINCIPAL = Decimal("6000.00")


@pytest.fixture
def journey_server(app, database_url: str, tmp_path: Path) -> Iterator[dict]:
    """The real app on a free local port over the test database, with a rules folder whose call rules ask two
    reviewers per proposal; the people of the journey seeded."""
    rules = tmp_path / "rules"
    shutil.copytree(PROJECT_ROOT / "rules", rules)
    source = (rules / "cluster-contest.toml").read_text(encoding="utf-8")
    assert "reviewers_per_proposal = 3" in source
    (rules / "cluster-contest.toml").write_text(source.replace("reviewers_per_proposal = 3",
                                                               "reviewers_per_proposal = 2"), encoding="utf-8")
    live_app = create_app({
        "TESTING": True, "SQLALCHEMY_DATABASE_URI": database_url, "SECRET_KEY": "journey-secret",
        "RATELIMIT_ENABLED": False, "RULES_FOLDER": str(rules), "INSTANCE_PATH": str(tmp_path / "instance"),
    })
    with live_app.app_context():
        seed_user(MANAGER, "Journey Manager", Role.PROGRAMME_MANAGER, PASSWORD)
        seed_user(ADMIN_A, "Administrator Amara", Role.FUND_ADMINISTRATOR, PASSWORD)
        seed_user(ADMIN_B, "Administrator Bongani", Role.FUND_ADMINISTRATOR, PASSWORD)
        for n, email in enumerate(REVIEWERS, start=1):
            seed_user(email, f"Reviewer {n}", Role.REVIEWER, PASSWORD)
        for spec in GROUPS:
            lead = seed_user(spec["lead"], f"Lead of {spec['name']}", Role.APPLICANT, PASSWORD)
            group = accounts.create_group(name=spec["name"], description="", actor=lead)
            place = spec["name"].split()[0]
            add_firms(group, lead, name=f"{place} Firm", locality=place, sector="Manufacturing")
            accounts.add_organisation(group, accounts.OrganisationData(
                f"{place} Chamber of Commerce", OrganisationType.CHAMBER, place, None, ""), actor=lead)
        db.session.commit()
        today = to_local(utcnow(), live_app.config["PROGRAMME_TIMEZONE"]).date()
        db.session.remove()
    with serving(live_app, "journey-server") as url:
        yield {"url": url, "app": live_app, "today": today}


def _write_proposal(page, base: str, call_id: int, spec: dict) -> str:
    """The group's lead writes and submits its proposal on the proposal pages; returns its reference."""
    page.goto(f"{base}/calls/{call_id}")
    overview = steps.start_proposal(page, spec["title"])
    steps.fill_cluster(page, overview, sector="Manufacturing",
                       territory=f"The {spec['name'].split()[0].lower()} and its market town",
                       main_problem="Each firm is too small to afford the shared facility alone.",
                       market_failure="No firm invests alone in a shared facility (coordination failure).")
    steps.fill_objectives(page, overview, objectives="Share the facility and buy supplies together.",
                          sustainability_plan="Members pay user fees from the second year.")
    steps.add_activity(page, overview, title="Feasibility study of the shared facility", cost="40000.00")
    steps.add_budget_line(page, overview, cost_type="fact_finding", description="Engineering study", amount="40000")
    steps.set_requested_amount(page, overview, spec["requested"])
    steps.add_indicator(page, overview, name="Members using the facility", unit="firms", baseline="0", target="5")
    flash = steps.submit_proposal(page, overview)
    return re.search(r"CALL-\d{4}-\d{3}-P\d{5}", flash).group(0)


def test_the_whole_programme_journey_ends_on_the_dashboard(chromium_browser, journey_server, tmp_path):
    base, today = journey_server["url"], journey_server["today"]
    people = steps.People(chromium_browser, base, PASSWORD)
    try:
        _journey(people, base, today, tmp_path)
    finally:
        people.close()


def _journey(people: steps.People, base: str, today, tmp_path: Path) -> None:  # noqa: PLR0915
    # 1. The manager creates a call from the rules file, sets its dates and budget, and opens it.
    manager = people(MANAGER)
    call_id = steps.create_draft_call(manager, base, "cluster-contest.toml")
    manager.get_by_role("link", name="Edit dates and budget").click()
    manager.locator("#name").fill("Journey cluster contest")
    manager.locator("#budget").fill("500000.00")
    manager.locator("#per_initiative_cap").fill("150000.00")
    manager.locator("#opens_at").fill((today - timedelta(days=1)).isoformat() + "T09:00")
    manager.locator("#closes_at").fill((today + timedelta(days=30)).isoformat() + "T17:00")
    manager.get_by_role("button", name="Save").click()
    steps.succeeded(manager, "Call updated")
    manager.get_by_role("button", name="Open the call").click()
    steps.succeeded(manager, "is open")
    call_reference = re.search(r"CALL-\d{4}-\d{3}", manager.locator("main").inner_text()).group(0)

    # 2. Two groups submit their proposals.
    references = [_write_proposal(people(spec["lead"]), base, call_id, spec) for spec in GROUPS]

    # 3. The manager closes the call, starts the review, builds the pool of two and assigns automatically.
    steps.close_call_now(manager, base, call_id)
    assert "has started with 2 eligible" in steps.start_review(manager, base, call_id, today + timedelta(days=14))
    for n in range(len(REVIEWERS)):
        steps.add_to_pool(manager, base, call_id, f"Reviewer {n + 1}")
    assert "4 review(s) created" in steps.assign_automatically(manager, base, call_id)

    # 4. Each reviewer scores both proposals: the first well, the second under the thresholds.
    for email in REVIEWERS:
        reviewer = people(email)
        for spec, reference in zip(GROUPS, references, strict=True):
            steps.score_review(reviewer, base, reference, spec["score"])

    # 5. The manager decides as ranked (one funded, one not fundable) and publishes the decisions.
    assert "1 funded" in steps.decide_as_ranked(manager, base, call_id)
    assert "1 initiative(s) created" in steps.publish_decisions(manager)

    # 6. Administrator A requests a start-up tranche; B approves and pays it (four eyes).
    admin_a, admin_b = people(ADMIN_A), people(ADMIN_B)
    admin_a.goto(f"{base}/initiatives")
    admin_a.locator("tr", has_text=GROUPS[0]["title"]).locator("a[href*='/initiatives/']").first.click()
    admin_a.wait_for_url(re.compile(r"/initiatives/\d+$"))
    initiative_url = admin_a.url
    initiative_id = int(initiative_url.rsplit("/", 1)[1])
    request = admin_a.locator("form#request")
    request.locator("#amount").fill(str(STARTUP_TRANCHE))
    request.locator("#purpose").fill("Facilitator and venues of the first quarter")
    request.get_by_role("button", name="Request the tranche").click()
    steps.succeeded(admin_a, "requested for")
    admin_b.goto(initiative_url)
    admin_b.get_by_role("button", name=re.compile("^Approve")).click()
    steps.succeeded(admin_b, "approved")
    pay = admin_b.locator("form.pay")
    pay.locator("input[name=value_date]").fill(today.isoformat())
    pay.locator("input[name=bank_reference]").fill("JOURNEY-GRANT-1")
    pay.get_by_role("button", name="Record the payment").click()
    steps.succeeded(admin_b, "reference JOURNEY-GRANT-1")

    # 7. Administrator A opens and capitalises the revolving fund and makes a loan to a member firm.
    admin_a.goto(f"{base}/initiatives/{initiative_id}/fund")
    admin_a.get_by_role("button", name="Open the revolving fund").click()
    steps.succeeded(admin_a, "is open")
    capitalise = admin_a.locator("form#capitalise")
    capitalise.locator("#amount").fill(str(CAPITAL))
    capitalise.locator("#value_date").fill((today - timedelta(days=60)).isoformat())
    capitalise.locator("#bank_reference").fill("JOURNEY-CAP-1")
    capitalise.get_by_role("button", name="Capitalise").click()
    steps.succeeded(admin_a)
    admin_a.get_by_role("link", name="Make a loan").click()
    form = admin_a.locator("form#loan-form")
    steps.choose(form.locator("#borrower_id"), "Valley Firm 1")
    form.locator("#principal").fill(str(PRINCIPAL))
    form.locator("#annual_rate").fill("3")
    form.locator("#term_periods").fill("12")
    # Paid out 45 days ago, first due 15 days ago: the first instalment is due (and late) today.
    form.locator("#first_due").fill((today - timedelta(days=15)).isoformat())
    form.locator("#disbursed_on").fill((today - timedelta(days=15) - relativedelta(months=1)).isoformat())
    form.locator("#bank_reference").fill("JOURNEY-LOAN-1")
    form.locator("#purpose").fill("A shared packaging line")
    form.get_by_role("button", name="Make the loan").click()
    admin_a.wait_for_url(re.compile(r"/loans/\d+$"))
    steps.succeeded(admin_a)
    first_total = admin_a.locator("#instalment-1 td.unpaid").inner_text()

    # 8. The borrower pays the first instalment: the administrator records it on the loan's page.
    repayment = admin_a.locator("form#repayment")
    repaid = _amount(first_total)
    repayment.locator("#amount").fill(str(repaid))
    repayment.locator("#value_date").fill(today.isoformat())
    repayment.locator("#bank_reference").fill("JOURNEY-PAY-1")
    repayment.get_by_role("button", name="Record the repayment").click()
    steps.succeeded(admin_a, "reference JOURNEY-PAY-1")
    assert admin_a.locator("#instalment-1 td.status").inner_text() == "paid"

    # 9. The group starts its scorecard and files its first self-evaluation report.
    lead = people(GROUPS[0]["lead"])
    lead.goto(f"{base}/initiatives/{initiative_id}/scorecard")
    lead.get_by_role("button", name="Start the scorecard").click()
    steps.succeeded(lead, "")
    lead.goto(f"{base}/initiatives/{initiative_id}/reports")
    if lead.locator("a[href*='/reports/']").count() == 0:
        lead.locator("main form button[type=submit]").first.click()
        steps.succeeded(lead, "opened")
    lead.locator("a[href*='/reports/']").first.click()
    lead.wait_for_url(re.compile(r"/reports/\d+$"))
    for n, value in enumerate(lead.locator("#report-form input[name^=value_]").all()):
        value.fill(str(n + 1))
    lead.locator("#narrative").fill("The members met monthly and agreed the cold store's design.")
    lead.locator("#learned").fill("Joint buying of packaging saves more than expected.")
    lead.locator("#will_change").fill("We will invite the chamber to every meeting.")
    lead.get_by_role("button", name="Save the draft").click()
    steps.succeeded(lead, "was saved")
    lead.get_by_role("button", name="Submit the report").click()
    steps.succeeded(lead)
    assert "Submitted" in lead.locator("main").inner_text()

    principal_1 = _amount(admin_a.locator("#instalment-1 td").nth(2).inner_text())
    lead.goto(f"{base}/initiatives/{initiative_id}/reports")
    assert "Submitted" in lead.locator("main").inner_text()

    # 10. The manager sees the report filed, then the dashboard shows each of these.
    manager.goto(f"{base}/initiatives/{initiative_id}/reports")
    assert "Submitted" in manager.locator("main").inner_text()
    manager.goto(f"{base}/dashboard")
    steps.succeeded(manager)
    manager.screenshot(path=str(tmp_path / "dashboard.png"), full_page=True)
    text = manager.locator("main").inner_text()
    money = manager.locator("table.dashboard-money tbody tr")

    def row(instrument: str) -> list[str]:
        found = money.filter(has_text=call_reference).filter(has_text=instrument)
        assert found.count() == 1, f"the dashboard has no row for {instrument} in {call_reference}: {text}"
        return found.first.locator("td").all_inner_texts()

    eur = "EUR"
    # The call, its start-up grant committed (the amount requested) and paid (the tranche).
    assert row("Start-up grants")[3:] == [format_money(Decimal(GROUPS[0]["requested"]), eur),
                                          format_money(STARTUP_TRANCHE, eur)]
    # The fund's capitalisation and the loan.
    assert row("Revolving-fund capitalisation")[3:] == [format_money(CAPITAL, eur), format_money(CAPITAL, eur)]
    assert row("Loans")[3:] == [format_money(PRINCIPAL, eur), format_money(PRINCIPAL, eur)]
    # The fund's cash after the loan and the repayment, the loan outstanding, the repayment.
    funds = manager.locator("table.dashboard-funds tbody tr").first.locator("td").all_inner_texts()
    assert funds[0] == "1", "one revolving fund"
    assert funds[1] == format_money(CAPITAL - PRINCIPAL + repaid, eur), "the fund's cash"
    assert funds[2] == "1", "one active loan"
    assert funds[3] == format_money(PRINCIPAL - principal_1, eur), "the loan outstanding after the repayment"
    assert funds[4] == format_money(principal_1, eur), "the principal repaid"
    # The initiative's status: one start-up initiative, none terminated.
    assert manager.locator("table.dashboard-stages tfoot td.status-start_up").inner_text() == "1"
    assert manager.locator("td.terminated").inner_text() == "0"
    # The report filed by the group: one scorecard, one report submitted, none overdue.
    assert manager.locator("td.reports-scorecards").inner_text() == "1"
    assert manager.locator("td.reports-submitted").inner_text() == "1"
    assert manager.locator("td.reports-overdue").inner_text() == "0"
    manager.locator("td.reports-submitted a").click()
    assert manager.locator("table.reports-list tbody tr").count() == 1
    assert "Report 1" in manager.locator("table.reports-list").inner_text()
    assert "Traceback" not in manager.content()



def _amount(text: str) -> Decimal:
    return Decimal(re.sub(r"[^\d.]", "", text))
