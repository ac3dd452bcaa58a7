"""The home page as each staff role's work queue (issue 16): the manager sees the calls in review with the reviews
outstanding and the proposals to decide, and the week's submissions; the fund administrator sees the loans in
arrears, longest late first, and what waits for a second person; staff pages do not open with the public blurb,
and no one sees another role's queue."""

from __future__ import annotations

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
