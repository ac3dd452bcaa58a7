"""The home page as each staff role's work queue (issue 16): the manager sees the calls in review with the reviews
outstanding and the proposals to decide, and the week's submissions; the fund administrator sees the loans in
arrears, longest late first, and what waits for a second person; staff pages do not open with the public blurb,
and no one sees another role's queue."""

from __future__ import annotations

import html
import re
from datetime import timedelta

from programme.extensions import db
from tests.loans.world import loan_world
from tests.proposals.builders import NOW
from tests.reviews.world import assign, build, submit_review

BLURB = "Groups of firms and local institutions compete"


def _main(response) -> str:
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    return " ".join(re.sub(r"<[^>]+>", " ", html[html.index("<main"):html.index("</main>")]).split())


def _loginable(*people) -> None:
    for person in people:
        person.email = person.email.replace(".test", ".example.org")
    db.session.commit()


def test_the_manager_sees_the_calls_in_review_and_what_is_left(client, login, clock):
    world = build(proposals=2, reviewers=2)
    clock(NOW + timedelta(days=3))  # the proposals were submitted three days ago
    first = assign(world, world.proposals[0], *world.reviewers)
    assign(world, world.proposals[1], world.reviewers[0])
    submit_review(first[0], "4")
    _loginable(world.manager, world.reviewers[1], world.leads[0])
    login(world.manager)
    page = _main(client.get("/"))
    assert "Today's work" in page and BLURB not in page
    assert world.call.reference in page
    assert "2 of 3 reviews outstanding" in page and "2 proposals to decide" in page
    assert f"{world.call.reference}: 2 new submissions" in page
    clock(NOW + timedelta(days=8))
    login(world.manager)  # a week later: a new session
    assert "Submissions in the last 7 days None." in _main(client.get("/"))
    assert "Loans in arrears" not in page  # another role's queue

    client.post("/logout")
    login(world.reviewers[1])
    reviewer_page = _main(client.get("/"))
    assert "Calls in review" not in reviewer_page and "Today's work" in reviewer_page
    client.post("/logout")
    login(world.leads[0])
    assert BLURB in _main(client.get("/"))  # applicants keep the programme's introduction


def test_the_fund_administrator_sees_the_late_loans_longest_first(client, login):
    world = loan_world()
    loan = world.loan
    loan.days_late, loan.arrears_bucket = 77, "61-90"
    db.session.commit()
    _loginable(world.admin)
    login(world.admin)
    page = _main(client.get("/"))
    assert "Loans in arrears" in page and BLURB not in page
    assert f"{loan.number} {loan.borrower.name} 77" in page
    assert "1 loan late: 1 in 61-90 days" in page
    assert "No loan request waits for you." in page and "No bank statement waits to be applied." in page
    assert "Calls in review" not in page


def test_the_reviewer_sees_the_reviews_to_score_with_their_deadline(client, login, clock):
    world = build(proposals=2, reviewers=1)
    clock(NOW + timedelta(days=3))
    reviews = assign(world, world.proposals[0], world.reviewers[0]) + assign(world, world.proposals[1],
                                                                           world.reviewers[0])
    submit_review(reviews[0], "4")
    _loginable(world.reviewers[0])
    login(world.reviewers[0])
    answer = client.get("/").get_data(as_text=True)
    page = _main(client.get("/"))
    assert "Reviews to score" in page
    section = answer[answer.index('id="work-reviewer"'):]
    section = section[:section.index("</section>")]
    # Only the review still to submit, with its call and its deadline, linked to the review page.
    assert world.proposals[1].reference in section and world.proposals[0].reference not in section
    assert f'href="/reviews/{reviews[1].id}"' in section and world.call.reference in section
    assert "1 review to submit (above)" in page


def test_the_applicant_sees_each_draft_and_what_it_still_needs(client, login, clock, make_user):
    from programme.proposals import services as proposals
    from tests.proposals.builders import complete_proposal, make_call, make_group

    lead = make_user("home-lead@example.org")
    call = make_call()
    group = make_group(lead)
    ready = complete_proposal(call, group, lead, title="A proposal ready to submit")
    other_group = make_group(lead, name="Second Group of the lead")
    started = proposals.start_proposal(call, other_group, title="A proposal just started", actor=lead, now=NOW)
    db.session.commit()
    clock(NOW)
    login(lead)
    page = _main(client.get("/"))
    assert "Proposals to finish" in page and BLURB in page
    assert "A proposal ready to submit" in page and "Every rule of the call is met" in page
    assert "A proposal just started" in page and "Still needed before it can be submitted:" in page
    checklist = proposals.live_eligibility(started, NOW)
    assert checklist.failures and all(check.label in html.unescape(page) for check in checklist.failures)
    assert ready.id != started.id
    clock(call.closes_at + timedelta(hours=1))  # the call no longer takes proposals: nothing left to finish
    login(lead)
    assert "Proposals to finish" not in _main(client.get("/"))


def test_the_auditor_sees_the_ledgers_last_check_and_what_to_read(client, login, make_user):
    from programme.core.access import Role, SystemActor
    from programme.core.timezone import now
    from programme.ledger.checks import run_checks

    auditor = make_user("home-auditor@example.org", Role.AUDITOR)
    login(auditor)
    page = _main(client.get("/"))
    assert "Today's work" in page and "The ledger's checks have not run yet" in page
    assert "The audit log" in page and "Your work" not in page  # nothing of another role's list, no empty heading
    run_checks(actor=SystemActor("scheduler"), now=now())
    db.session.commit()
    page = _main(client.get("/"))
    assert "nothing wrong found; 0 journal entries posted since" in page

