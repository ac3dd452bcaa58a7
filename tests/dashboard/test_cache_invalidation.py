"""Kept figures are never stale (issue 15): a decision published, a report submitted and a milestone review that
moves an initiative on each show at the next request of the dashboard and of the public figures, and what those
pages show then is what they show when worked out from nothing (every kept thing forgotten). The payment, the
repayment and the termination are in test_dashboard_pages.py."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from programme.config import PROJECT_ROOT
from programme.core.kept import forget_all
from programme.extensions import db
from programme.funding.models import InitiativeStatus
from programme.monitoring.services import reports, scorecards
from programme.monitoring.services.milestones import record_milestone_review
from programme.reviews import services as reviews
from tests.funding.conftest import LATER, funded_initiative, loginable
from tests.reviews.world import AFTER, DURING, assign, build, submit_review

#: The day of the pages: the funded initiative's first report period (June to November 2027) has begun.
NOW = datetime(2027, 12, 16, 9, 0, tzinfo=UTC)
TODAY = NOW.date()


@pytest.fixture(autouse=True)
def frozen(clock, app):
    clock(NOW)
    app.config["PROGRAMME_TIMEZONE"] = "UTC"


def main_of(response) -> str:
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    return html[html.index("<main"):html.index("</main>")]


def logged_in_pages(app, client, login, manager) -> dict[str, str]:
    login(manager)
    seen = {"dashboard": main_of(client.get("/dashboard"))}
    assert main_of(client.get("/dashboard")) == seen["dashboard"]
    anonymous = app.test_client()
    seen["public"] = main_of(anonymous.get("/programme-figures"))
    assert main_of(anonymous.get("/programme-figures")) == seen["public"]
    return seen


def again(app, client) -> dict[str, str]:
    return {"dashboard": main_of(client.get("/dashboard")),
            "public": main_of(app.test_client().get("/programme-figures"))}


def fresh(app, client) -> dict[str, str]:
    forget_all()
    return again(app, client)


def test_published_decisions_show_at_the_next_request(app, client, login):
    world = build(proposals=2, reviewers=3)
    for proposal in world.proposals:
        for review in assign(world, proposal, *world.reviewers):
            submit_review(review, "4")
    reviews.decide_as_ranked(world.call, actor=world.manager, now=DURING)
    world.manager.email = world.manager.email.replace(".test", ".example.org")
    db.session.commit()
    before = logged_in_pages(app, client, login, world.manager)

    made = reviews.publish_decisions(world.call, actor=world.manager, now=AFTER)
    db.session.commit()
    assert len(made) == 2

    after = again(app, client)
    assert after["dashboard"] != before["dashboard"] and after["public"] != before["public"]
    assert after == fresh(app, client)


def test_a_submitted_report_shows_at_the_next_request(app, client, login):
    funded = loginable(funded_initiative())
    card = scorecards.start_scorecard(funded.initiative, template_key="scottish_cluster",
                                      rules_folder=PROJECT_ROOT / "rules", actor=funded.applicant, now=LATER)
    db.session.commit()
    (report, *_) = reports.open_reports(funded.initiative, today=date(2027, 6, 1), actor=funded.applicant,
                                        now=LATER, timezone="UTC")
    values = {k.id: (index + 1, "") for index, k in enumerate(k for k in scorecards.kpis_of(card) if k.live)}
    reports.save_report(report, values=values, narrative="We met four times.", learned="Firms share more.",
                        will_change="Meet monthly.", actor=funded.applicant, now=NOW)
    db.session.commit()
    before = logged_in_pages(app, client, login, funded.manager)

    reports.submit_report(report, actor=funded.applicant, now=NOW)
    db.session.commit()

    after = again(app, client)
    assert after["dashboard"] != before["dashboard"]
    assert after == fresh(app, client)


def test_a_milestone_review_that_moves_an_initiative_on_shows_at_the_next_request(app, client, login):
    funded = loginable(funded_initiative())
    status = funded.initiative.status
    before = logged_in_pages(app, client, login, funded.manager)

    record_milestone_review(funded.initiative, decision="continue", reason="The plan is met.", conditions="",
                            next_status=InitiativeStatus.IMPLEMENTATION, decided_on=TODAY, actor=funded.manager,
                            now=NOW, timezone="UTC")
    db.session.commit()
    assert funded.initiative.status != status

    after = again(app, client)
    assert after["dashboard"] != before["dashboard"] and after["public"] != before["public"]
    assert after == fresh(app, client)
