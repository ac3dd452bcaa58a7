"""The programme manager's review pages, through the test client: the overview with its start and deadline
forms, the reviewer pool, assignments (automatic, by hand, moved, removed), the scores, one proposal's reviews
with consensus, reopening and decisions, the calibration, the ranking with its funding line and chart, the
publication, the exports, and who may open them.

The world is built through the services (``tests/reviews/world.py``); the pages' clock is frozen at ``DURING``
by replacing the views' ``now``."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from decimal import Decimal
from io import BytesIO

import pytest
from openpyxl import load_workbook

from programme.calls.models import CallStatus
from programme.core.access import Role
from programme.extensions import db
from programme.funding.models import Initiative
from programme.proposals import services as proposal_services
from programme.proposals.models import ProposalStatus
from programme.reviews import services
from programme.reviews.models import ConsensusScore, Decision, Review, ReviewStatus
from tests.proposals.builders import NOW, complete_proposal, make_call, make_group
from tests.reviews.world import DEADLINE, DURING, assign, loginable_build, submit_review, user

D = Decimal


@pytest.fixture(autouse=True)
def frozen(clock):
    """The pages' 'now' is a moment during the review, whatever the day the tests run."""
    clock(DURING)


def _text(response) -> str:
    return response.get_data(as_text=True)


def plain_number(html: str) -> str:
    """The page's text without tags, blanks collapsed (for sentences that span elements)."""
    return " ".join(re.sub(r"<[^>]+>", " ", html).split())


def _scored(world, values=("4", "3.5", "2.5")):
    """Every proposal reviewed by the first three reviewers, all of them submitted with the given score."""
    for proposal, value in zip(world.proposals, values, strict=True):
        for review in assign(world, proposal, *world.reviewers[:3]):
            submit_review(review, value)
    db.session.commit()


# The overview: start, deadline, figures ---------------------------------------------------------------------


def test_overview_shows_the_figures_of_the_review(client, login):
    world = loginable_build(proposals=3, reviewers=4)
    services.auto_assign(world.call, actor=world.manager, now=DURING)
    first = world.reviews_of(world.proposals[0])
    for review in first:
        submit_review(review, "4")
    db.session.commit()
    login(world.manager.email)
    page = _text(client.get(f"/calls/{world.call.id}/review"))
    text = plain_number(page)
    assert "3 proposals in review" in text
    assert "4 reviewers in the pool" in text
    assert "9 reviews assigned" in text
    assert "3 reviews submitted" in text and "33 % of those assigned" in text
    assert "6 reviews outstanding" in text
    assert "0 reviews late" in text and "the deadline has not passed" in text
    assert "0 decisions recorded" in text
    assert "Move the deadline" in page and "datetime-local" not in page
    assert re.search(r'<input[^>]*name="deadline"[^>]*placeholder="6 Dec 2026 17:00"[^>]*type="text"', page)
    assert "Publishing ends the review" in text
    for endpoint in ("reviewers", "assignments", "scores", "calibration", "ranking"):
        assert f"/calls/{world.call.id}/review/{endpoint}" in page
    # The manager's call page leads here.
    assert f'href="/calls/{world.call.id}/review"' in _text(client.get(f"/manage/calls/{world.call.id}"))


def test_the_review_starts_with_a_deadline_in_the_programme_time_zone(client, login):
    world = loginable_build(proposals=2, reviewers=3, start=False)
    login(world.manager.email)
    url = f"/calls/{world.call.id}/review"
    page = _text(client.get(url))
    assert "Start the review" in page and "2 proposals were submitted" in plain_number(page)

    past = _text(client.post(f"{url}/start", data={"deadline": "1 Mar 2027 12:00"}))
    assert "The review deadline must be in the future." in past
    assert 'value="1 Mar 2027 12:00"' in past  # what was typed stays
    db.session.expire_all()
    assert world.call.status == CallStatus.CLOSED and world.call.review_deadline is None

    garbled = _text(client.post(f"{url}/start", data={"deadline": "next friday"}))
    assert "has-error" in garbled and "Write the day and time as day month year hours:minutes" in garbled
    db.session.expire_all()
    assert world.call.status == CallStatus.CLOSED

    response = client.post(f"{url}/start", data={"deadline": "31/03/2027 17:00"})  # day first, as typed
    assert response.status_code == 302 and response.headers["Location"].endswith(url)
    db.session.expire_all()
    assert world.call.status == CallStatus.REVIEWING
    # 17:00 in Johannesburg (UTC+2) is 15:00 UTC.
    assert world.call.review_deadline == datetime(2027, 3, 31, 15, 0, tzinfo=UTC)
    assert {p.status for p in world.proposals} == {ProposalStatus.ELIGIBLE}
    page = _text(client.get(url))
    assert "has started with 2 eligible proposal(s)" in page and "31 Mar 2027, 17:00" in page


def test_the_deadline_moves_and_a_past_one_is_refused_on_the_field(client, login):
    world = loginable_build(proposals=1, reviewers=3)
    login(world.manager.email)
    url = f"/calls/{world.call.id}/review/deadline"
    refused = _text(client.post(url, data={"deadline": "2027-03-02T09:00"}))
    assert re.search(r'class="field has-error">.*?The review deadline must be in the future\.', refused, re.S)
    db.session.expire_all()
    assert world.call.review_deadline == DEADLINE

    response = client.post(url, data={"deadline": "2027-04-15T12:00"}, follow_redirects=True)
    db.session.expire_all()
    assert world.call.review_deadline == datetime(2027, 4, 15, 10, 0, tzinfo=UTC)
    assert "The review deadline is now 15 Apr 2027, 12:00" in _text(response)


# The reviewer pool ------------------------------------------------------------------------------------------


def test_the_manager_adds_and_removes_reviewers(client, login):
    world = loginable_build(proposals=2, reviewers=2)
    newcomer = user("newcomer@review.test", Role.REVIEWER)
    db.session.commit()
    login(world.manager.email)
    url = f"/calls/{world.call.id}/review/reviewers"
    page = _text(client.get(url))
    assert world.reviewers[0].name in page and "Add a reviewer" in page
    assert f'<option value="{newcomer.id}">{newcomer.name}</option>' in page
    assert f'<option value="{world.reviewers[0].id}">' not in page  # already in the pool

    nothing = _text(client.post(url, data={"user_id": "0"}))
    assert "Choose a reviewer to add." in nothing

    response = client.post(url, data={"user_id": str(newcomer.id)}, follow_redirects=True)
    assert f"{newcomer.name} joined the reviewer pool of {world.call.reference}, which now has 3 reviewer(s)" \
        in _text(response)
    assert newcomer.id in {e.user_id for e in services.pool(world.call)}

    assign(world, world.proposals[0], world.reviewers[0])
    db.session.commit()
    response = client.post(f"{url}/{world.reviewers[0].id}/remove", follow_redirects=True)
    assert f"{world.reviewers[0].name} left the pool of {world.call.reference} and its 1 assignment(s) were removed" \
        in _text(response)
    assert world.reviewers[0].id not in {e.user_id for e in services.pool(world.call)}
    assert db.session.query(Review).count() == 0


def test_the_pool_page_has_an_empty_state(client, login):
    world = loginable_build(proposals=1, reviewers=0)
    login(world.manager.email)
    assert "No reviewer yet: add one below." in _text(client.get(f"/calls/{world.call.id}/review/reviewers"))


# Assignments ------------------------------------------------------------------------------------------------


def test_automatic_assignment_flashes_a_summary(client, login):
    world = loginable_build(proposals=3, reviewers=4)
    login(world.manager.email)
    response = client.post(f"/calls/{world.call.id}/review/assignments/auto", follow_redirects=True)
    text = _text(response)
    assert "Automatic assignment done: 9 review(s) created and 0 kept for 3 proposal(s); loads from 2 to 3 per " \
           "reviewer" in text
    assert "match a reviewer&#39;s stated expertise" in text or "match a reviewer's stated expertise" in text
    assert db.session.query(Review).count() == 9
    for proposal in world.proposals:
        assert proposal.reference in text


def test_a_conflicted_reviewer_is_refused_by_hand_with_the_reason(client, login):
    world = loginable_build(proposals=2, reviewers=3)
    target, reviewer = world.proposals[0], world.reviewers[0]
    services.declare_conflict(world.call, proposal_id=target.id, note="Former employer", actor=reviewer, now=DURING)
    db.session.commit()
    login(world.manager.email)
    url = f"/calls/{world.call.id}/review/assignments/add"
    page = _text(client.post(url, data={"proposal_id": str(target.id), "reviewer_id": str(reviewer.id)}))
    assert f"{reviewer.name} is in conflict with {target.reference}: declared a conflict with the proposal." in page
    assert re.search(rf'<option selected value="{target.id}">', page)  # the choice stays
    assert db.session.query(Review).count() == 0

    response = client.post(url, data={"proposal_id": str(target.id), "reviewer_id": str(world.reviewers[1].id)},
                           follow_redirects=True)
    assert f"{world.reviewers[1].name} now reviews {target.reference}." in _text(response)
    assert [r.reviewer_id for r in world.reviews_of(target)] == [world.reviewers[1].id]


def test_the_assignments_page_lists_reviewers_and_conflicts(client, login):
    world = loginable_build(proposals=2, reviewers=3)
    services.declare_conflict(world.call, proposal_id=world.proposals[1].id, note="", actor=world.reviewers[2],
                              now=DURING)
    assign(world, world.proposals[0], world.reviewers[0])
    db.session.commit()
    login(world.manager.email)
    page = _text(client.get(f"/calls/{world.call.id}/review/assignments"))
    assert world.proposals[0].reference in page and world.proposals[1].title in page
    assert world.reviewers[0].name in page and "nobody yet" in page
    assert "2 proposals short of reviewers" in plain_number(page)
    assert f"{world.reviewers[2].name}: declared a conflict with the proposal" in page


def test_a_review_not_started_moves_and_is_removed(client, login):
    world = loginable_build(proposals=1, reviewers=3)
    proposal = world.proposals[0]
    (review,) = assign(world, proposal, world.reviewers[0])
    db.session.commit()
    login(world.manager.email)
    assert "move to…" in _text(client.get(f"/calls/{world.call.id}/review/assignments"))
    page = _text(client.get(f"/reviews/{review.id}/move"))
    assert "Move the review of" in page and world.reviewers[1].name in page

    refused = _text(client.post(f"/reviews/{review.id}/move", data={"reviewer_id": "0"}))
    assert "Choose the reviewer who takes the review over." in refused

    response = client.post(f"/reviews/{review.id}/move", data={"reviewer_id": str(world.reviewers[1].id)},
                           follow_redirects=True)
    assert (f"The review of {proposal.reference} moved from {world.reviewers[0].name} to {world.reviewers[1].name}."
            in _text(response))
    db.session.expire_all()
    assert review.reviewer_id == world.reviewers[1].id

    response = client.post(f"/reviews/{review.id}/unassign", follow_redirects=True)
    assert f"{world.reviewers[1].name} no longer reviews {proposal.reference}." in _text(response)
    assert db.session.get(Review, review.id) is None


def test_a_started_review_cannot_be_moved(client, login):
    world = loginable_build(proposals=1, reviewers=3)
    (review,) = assign(world, world.proposals[0], world.reviewers[0])
    submit_review(review, "4")
    db.session.commit()
    login(world.manager.email)
    response = client.post(f"/reviews/{review.id}/unassign", follow_redirects=True)
    assert "The review has been submitted; an assignment is removed only before the reviewer starts scoring." \
        in _text(response)
    assert db.session.get(Review, review.id) is not None


# Scores, consensus, reopening ---------------------------------------------------------------------------------


def _disagreeing(world):
    """Proposal 0 reviewed by three reviewers who disagree (5, 5, 2: spread 3 on every criterion)."""
    reviews = assign(world, world.proposals[0], *world.reviewers[:3])
    for review, value in zip(reviews, ("5", "5", "2"), strict=True):
        submit_review(review, value)
    for review in assign(world, world.proposals[1], *world.reviewers[:3]):
        submit_review(review, "3.5")
    db.session.commit()
    return reviews


def test_the_scores_page_sorts_by_disagreement_and_flags_consensus(client, login):
    world = loginable_build(proposals=3, reviewers=3)
    _disagreeing(world)
    login(world.manager.email)
    page = _text(client.get(f"/calls/{world.call.id}/review/scores"))
    first, second, third = (p.reference for p in world.proposals)
    assert page.index(first) < page.index(second) < page.index(third)
    assert "consensus needed" in page
    assert "1 proposal needs a consensus" in plain_number(page)
    assert "4.00" in page  # the mean of 5, 5 and 2
    assert "3 / 3" in page and "0 / 0" in page
    by_total = _text(client.get(f"/calls/{world.call.id}/review/scores?sort=total"))
    assert by_total.index(first) < by_total.index(second) < by_total.index(third)
    by_reference = _text(client.get(f"/calls/{world.call.id}/review/scores?sort=reference&page=1"))
    assert by_reference.index(first) < by_reference.index(second)
    assert client.get(f"/calls/{world.call.id}/review/scores?sort=nonsense").status_code == 200


def test_a_consensus_is_recorded_and_cleared(client, login):
    world = loginable_build(proposals=2, reviewers=3)
    _disagreeing(world)
    proposal = world.proposals[0]
    login(world.manager.email)
    url = f"/calls/{world.call.id}/review/proposals/{proposal.id}"
    page = _text(client.get(url))
    assert world.reviewers[0].name in page and "consensus needed" in page
    assert 'option value="4.5"' in page and 'option value="0"' in page

    kept = _text(client.post(f"{url}/consensus", data={"criterion_key": "cooperation", "score": "4.5", "reason": ""}))
    assert "Write the reason the panel agreed on this score." in kept
    assert '<option selected value="cooperation">' in kept and '<option selected value="4.5">' in kept
    assert db.session.query(ConsensusScore).count() == 0

    response = client.post(f"{url}/consensus", data={"criterion_key": "cooperation", "score": "4.5",
                                                     "reason": "The panel agreed the record of joint fairs counts."},
                           follow_redirects=True)
    text = _text(response)
    assert "Consensus recorded on &#39;Quality of co-operation among the members&#39;: 4.50 replaces the mean of 4.00" \
        in text
    assert "The panel agreed the record of joint fairs counts." in text
    row = db.session.query(ConsensusScore).one()
    assert row.score == D("4.5") and row.criterion_key == "cooperation"

    response = client.post(f"{url}/consensus/cooperation/clear", follow_redirects=True)
    assert "the mean of the reviews counts again" in _text(response)
    assert db.session.query(ConsensusScore).count() == 0
    assert client.post(f"{url}/consensus/cooperation/clear").status_code == 404


def test_reopening_a_review_needs_a_reason(client, login):
    world = loginable_build(proposals=1, reviewers=3)
    (review,) = assign(world, world.proposals[0], world.reviewers[0])
    submit_review(review, "4")
    db.session.commit()
    login(world.manager.email)
    page = _text(client.post(f"/reviews/{review.id}/reopen", data={"reason": "  "}))
    assert "Give the reason for reopening the review." in page
    db.session.expire_all()
    assert review.status == ReviewStatus.SUBMITTED

    response = client.post(f"/reviews/{review.id}/reopen", data={"reason": "Criterion 2 contradicts the text."},
                           follow_redirects=True)
    assert f"{world.reviewers[0].name}&#39;s review of {world.proposals[0].reference} is reopened" in _text(response)
    db.session.expire_all()
    assert review.status == ReviewStatus.DRAFT and review.reopened_count == 1


# Decisions and the ranking ------------------------------------------------------------------------------------


def test_the_ranking_shows_the_funding_line_the_chart_and_a_decision_against_it(client, login):
    world = loginable_build(proposals=3, reviewers=3, budget=D("60000.00"))
    _scored(world, ("4", "3.5", "4.5"))
    first, second, third = world.proposals
    login(world.manager.email)
    url = f"/calls/{world.call.id}/review/ranking"
    page = _text(client.get(url))
    text = plain_number(page)
    eur = world.call.currency
    assert f"Funding line: {eur} 60,000.00 of {eur} 60,000.00 used by the 2 proposals above; {eur} 0.00 left." in text
    # Rank order: 4.5, 4, 3.5; the line drawn after the second.
    table = page[page.index('class="wide ranking"'):]
    assert table.index(third.reference) < table.index(first.reference) < table.index('id="funding-line"') \
        < table.index(second.reference)
    assert "tie on" not in table and "first place" in table
    assert "<svg" in page and 'role="img"' in page and "<title id=\"chart-title\">" in page
    assert 'class="funding-line"' in page and 'class="threshold"' in page
    assert page.count('class="bar bar-funded"') == 2 and page.count('class="bar bar-reserve"') == 1
    assert "stop" in text and "funding stops at the first fundable proposal" in text

    decision_url = f"/calls/{world.call.id}/review/proposals/{first.id}/decision"
    detail = _text(client.get(f"/calls/{world.call.id}/review/proposals/{first.id}"))
    assert "The ranking says: funded (rank 2, above the funding line)" in plain_number(detail)
    response = client.post(decision_url, data={"outcome": "reserve", "reason": "The group's letters are unsigned."},
                           follow_redirects=True)
    assert f"Decision recorded: {first.reference} reserve." in _text(response)
    assert "departs from the ranking" in _text(response)
    page = _text(client.get(url))
    table = page[page.index('class="wide ranking"'):]
    row = table[table.index(first.reference):]
    row = row[:row.index("</tr>")]
    assert "against the ranking" in row
    assert "1 against the ranking" in plain_number(page)


def test_a_decision_needs_a_reason_and_keeps_the_choice(client, login):
    world = loginable_build(proposals=1, reviewers=3)
    _scored(world, ("4",))
    proposal = world.proposals[0]
    login(world.manager.email)
    page = _text(client.post(f"/calls/{world.call.id}/review/proposals/{proposal.id}/decision",
                             data={"outcome": "reserve", "reason": ""}))
    assert "Write the reason for the decision." in page
    assert '<option selected value="reserve">' in page
    assert db.session.query(Decision).count() == 0


def test_funding_beyond_the_budget_is_refused_with_the_figure(client, login):
    world = loginable_build(proposals=3, reviewers=3, budget=D("60000.00"))
    _scored(world, ("4.5", "4", "3.5"))
    login(world.manager.email)
    for proposal in world.proposals[:2]:
        client.post(f"/calls/{world.call.id}/review/proposals/{proposal.id}/decision",
                    data={"outcome": "funded", "reason": "Above the funding line."})
    last = world.proposals[2]
    page = _text(client.post(f"/calls/{world.call.id}/review/proposals/{last.id}/decision",
                             data={"outcome": "funded", "reason": "We like it."}))
    eur = world.call.currency
    assert (f"Funding {last.reference} ({eur} 30,000.00) would commit {eur} 90,000.00, {eur} 30,000.00 over the "
            f"call&#39;s budget of {eur} 60,000.00.") in page
    assert db.session.query(Decision).filter_by(proposal_id=last.id).count() == 0
    assert "We like it." in page  # the reason typed stays


def test_decide_as_ranked_then_publish(client, login):
    world = loginable_build(proposals=3, reviewers=3, budget=D("60000.00"))
    _scored(world, ("4", "3.5", "2.5"))
    login(world.manager.email)
    base = f"/calls/{world.call.id}/review"
    early = client.post(f"{base}/publish", data={"confirmed": "yes"}, follow_redirects=True)
    assert "3 proposal(s) have no decision yet" in _text(early)
    assert world.call.status == CallStatus.REVIEWING

    response = client.post(f"{base}/decide-as-ranked", data={"confirmed": "yes"}, follow_redirects=True)
    assert "3 decision(s) recorded as the ranking says" in _text(response)
    assert "2 funded, 0 reserve, 1 rejected" in _text(response)
    overview = plain_number(_text(client.get(base)))
    assert "3 decisions recorded" in overview

    response = client.post(f"{base}/publish", data={"confirmed": "yes"}, follow_redirects=True)
    text = _text(response)
    assert f"The decisions of {world.call.reference} are published: 2 initiative(s) created with start-up grants of " \
           f"{world.call.currency} 60,000.00 in all" in text
    db.session.expire_all()
    assert world.call.status == CallStatus.DECIDED
    assert db.session.query(Initiative).count() == 2
    assert [p.status for p in world.proposals] == [ProposalStatus.FUNDED, ProposalStatus.FUNDED,
                                                   ProposalStatus.REJECTED]
    assert "the decisions are published" in _text(client.get(base))
    # The pages still open on a decided call, without their forms.
    for page in ("reviewers", "assignments", "scores", "calibration", "ranking",
                 f"proposals/{world.proposals[0].id}"):
        response = client.get(f"{base}/{page}")
        assert response.status_code == 200, page
        assert "Record the decision" not in _text(response)


def test_the_calibration_page_names_a_lenient_reviewer(client, login):
    world = loginable_build(proposals=3, reviewers=3)
    lenient, *others = world.reviewers
    for proposal in world.proposals:
        reviews = {r.reviewer_id: r for r in assign(world, proposal, *world.reviewers)}
        submit_review(reviews[lenient.id], "5")
        for other in others:
            submit_review(reviews[other.id], "3.5")
    db.session.commit()
    login(world.manager.email)
    page = _text(client.get(f"/calls/{world.call.id}/review/calibration"))
    text = plain_number(page)
    assert "Krippendorff" in text and "Reading guide" in text
    # 1.5 points above the others on every criterion: 1.5 x the weights' sum of 3 = 4.5 on the total.
    assert f"{lenient.name} 3 3 +4.50 0.00 0.00 lenient : 4.50 above its co-reviewers on average" in text
    assert f"{others[0].name} 3 3 -2.25 0.00 0.00 harsh : 2.25 below its co-reviewers on average" in text
    assert "The plain ranking decides" in text
    for proposal in world.proposals:
        assert proposal.reference in page


def test_the_pages_render_before_anything_is_scored(client, login):
    world = loginable_build(proposals=2, reviewers=3)
    login(world.manager.email)
    base = f"/calls/{world.call.id}/review"
    assert "No fundable proposal yet" in _text(client.get(f"{base}/ranking"))
    assert "No submitted review yet" in _text(client.get(f"{base}/calibration"))
    detail = _text(client.get(f"{base}/proposals/{world.proposals[0].id}"))
    assert "No reviewer is assigned yet" in detail and "not scored" in detail


def test_the_exports_are_workbooks(client, login):
    world = loginable_build(proposals=2, reviewers=3)
    _scored(world, ("4", "3"))
    login(world.manager.email)
    for name in ("scores", "ranking"):
        response = client.get(f"/calls/{world.call.id}/review/{name}.xlsx")
        assert response.status_code == 200
        assert response.mimetype == "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
        assert f"{world.call.reference}-{name}-" in response.headers["Content-Disposition"]
        book = load_workbook(BytesIO(response.data))
        assert book.sheetnames
        response.close()


# Access ------------------------------------------------------------------------------------------------------


def _routes(world, review_id: int) -> list[tuple[str, str]]:
    call, proposal = world.call.id, world.proposals[0].id
    base = f"/calls/{call}/review"
    return [
        ("GET", base), ("POST", f"{base}/start"), ("POST", f"{base}/deadline"), ("POST", f"{base}/publish"),
        ("GET", f"{base}/reviewers"), ("POST", f"{base}/reviewers"),
        ("POST", f"{base}/reviewers/{world.reviewers[0].id}/remove"),
        ("GET", f"{base}/assignments"), ("POST", f"{base}/assignments/auto"), ("POST", f"{base}/assignments/add"),
        ("GET", f"/reviews/{review_id}/move"), ("POST", f"/reviews/{review_id}/move"),
        ("POST", f"/reviews/{review_id}/unassign"), ("POST", f"/reviews/{review_id}/reopen"),
        ("GET", f"{base}/scores"), ("GET", f"{base}/proposals/{proposal}"),
        ("POST", f"{base}/proposals/{proposal}/consensus"),
        ("POST", f"{base}/proposals/{proposal}/consensus/cooperation/clear"),
        ("POST", f"{base}/proposals/{proposal}/decision"),
        ("GET", f"{base}/calibration"), ("GET", f"{base}/ranking"), ("POST", f"{base}/decide-as-ranked"),
        ("GET", f"{base}/scores.xlsx"), ("GET", f"{base}/ranking.xlsx"),
    ]


@pytest.mark.parametrize("role", ["reviewer", "applicant", "fund_administrator"])
def test_only_a_programme_manager_opens_the_pages(client, login, role):
    world = loginable_build(proposals=1, reviewers=3)
    (review,) = assign(world, world.proposals[0], world.reviewers[0])
    db.session.commit()
    who = {"reviewer": world.reviewers[0].email, "applicant": world.leads[0].email,
           "fund_administrator": user("funds@review.example.org", Role.FUND_ADMINISTRATOR).email}[role]
    db.session.commit()
    login(who)
    for method, url in _routes(world, review.id):
        response = client.get(url) if method == "GET" else client.post(url, data={"reason": "x", "outcome": "funded"})
        assert response.status_code == 403, (method, url, response.status_code)
    assert db.session.query(Review).count() == 1
    assert world.call.status == CallStatus.REVIEWING


def test_anonymous_visitors_are_sent_to_log_in(client):
    world = loginable_build(proposals=1, reviewers=3)
    response = client.get(f"/calls/{world.call.id}/review")
    assert response.status_code == 302 and "/login" in response.headers["Location"]


def test_ids_changed_by_hand_are_not_found(client, login):
    world = loginable_build(proposals=1, reviewers=3)
    # A proposal submitted to another call: its id in this call's URL is not found.
    lead = user("other-lead@group.test")
    elsewhere = complete_proposal(make_call(), make_group(lead, name="Other group"), lead)
    proposal_services.submit(elsewhere, actor=lead, now=NOW)
    db.session.commit()
    login(world.manager.email)
    base = f"/calls/{world.call.id}/review"
    for url in ("/calls/999999/review", "/calls/999999/review/ranking", f"{base}/proposals/999999",
                f"{base}/proposals/{elsewhere.id}", "/reviews/999999/move"):
        assert client.get(url).status_code == 404, url
    for url in (f"{base}/proposals/{elsewhere.id}/decision", "/reviews/999999/reopen",
                "/reviews/999999/unassign", f"{base}/reviewers/999999/remove"):
        assert client.post(url, data={"reason": "x", "outcome": "funded"}).status_code == 404, url


def test_long_lists_are_paged_and_the_chart_shares_bars(client, login, monkeypatch):
    monkeypatch.setattr("programme.reviews.views._common.REVIEW_PAGE_SIZE", 2)
    monkeypatch.setattr("programme.reviews.services.chart.CHART_BARS", 2)
    monkeypatch.setattr("programme.reviews.services.score_table.SCORES_PER_PAGE", 2)
    world = loginable_build(proposals=5, reviewers=3, budget=D("90000.00"))
    _scored(world, ("4.5", "4", "3.5", "3", "2"))
    login(world.manager.email)
    base = f"/calls/{world.call.id}/review"
    references = [p.reference for p in world.proposals]

    first = _text(client.get(f"{base}/assignments"))
    assert references[0] in first and references[2] not in first and "page 1 of 3" in first
    second = _text(client.get(f"{base}/assignments?page=2"))
    assert references[2] in second and references[0] not in second
    # By hand, on page 2: the form offers that page's proposals and comes back to it.
    extra = user("fourth@review.example.org", Role.REVIEWER)
    services.add_reviewer(world.call, extra, actor=world.manager, now=DURING)
    db.session.commit()
    response = client.post(f"{base}/assignments/add?page=2",
                           data={"proposal_id": str(world.proposals[2].id), "reviewer_id": str(extra.id)})
    assert response.status_code == 302 and response.headers["Location"].endswith("/assignments?page=2")
    refused = _text(client.post(f"{base}/assignments/add?page=2",
                                data={"proposal_id": str(world.proposals[0].id), "reviewer_id": str(extra.id)}))
    assert "Not a valid choice" in refused  # a proposal of another page is not offered here

    # Ranked 1, 2, 3 funded (3 x 30,000 = 90,000), the line after rank 3: on page 2 of the ranking.
    ranking = _text(client.get(f"{base}/ranking"))
    assert "Go to the funding line (page 2)" in ranking and 'id="funding-line"' not in ranking
    assert 'id="funding-line"' in _text(client.get(f"{base}/ranking?page=2"))
    assert "Each bar stands for 3 neighbouring proposals" in ranking
    assert ranking.count('class="bar bar-') == 2
    assert 'class="bar bar-funded"' in ranking and 'class="bar bar-not_fundable"' in ranking
    scores = _text(client.get(f"{base}/scores?sort=total&page=3"))
    assert references[4] in scores and references[0] not in scores
