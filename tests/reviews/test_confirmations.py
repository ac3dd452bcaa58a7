"""The confirmation step of the review's irreversible actions, through the web: submitting a review, deciding the
rest as ranked and publishing the decisions. The first click shows a page that says in plain words what will
happen and changes nothing (a review's typed scores are saved as its draft, never lost); the POST with the
confirmation does the action; a POST without it changes nothing and says why."""

from __future__ import annotations

import re
from decimal import Decimal

import pytest

from programme.calls.models import CallStatus
from programme.extensions import db
from programme.funding.models import Initiative
from programme.reviews.models import Decision, Review, ReviewStatus
from tests.reviews.world import DURING, GOOD, assign, loginable_build, submit_review

D = Decimal


@pytest.fixture(autouse=True)
def frozen(clock):
    clock(DURING)


def _text(response) -> str:
    """The page's text without tags, blanks collapsed."""
    return " ".join(re.sub(r"<[^>]+>", " ", response.get_data(as_text=True)).split())


def _review(review_id: int) -> Review:
    db.session.expire_all()
    return db.session.get(Review, review_id)


def _typed(call) -> dict[str, str]:
    data = {f"score_{c.key}": "4" for c in call.criteria}
    data.update({f"justification_{c.key}": f"{GOOD} Typed for {c.key}." for c in call.criteria})
    data["submit_review"] = "Submit review"
    return data


# Submitting a review ----------------------------------------------------------------------------------------


def test_submit_review_saves_the_draft_then_asks_and_submits_only_when_confirmed(client, login):
    world = loginable_build(proposals=1, reviewers=1)
    review = assign(world, world.proposals[0], world.reviewers[0])[0]
    db.session.commit()
    call = world.call
    login(world.reviewers[0].email)

    # "Submit review": what was typed is saved as the draft, and the confirmation page is shown; nothing submitted.
    response = client.post(f"/reviews/{review.id}", data=_typed(call))
    assert response.status_code == 302 and response.headers["Location"].endswith(f"/reviews/{review.id}/submit")
    saved = _review(review.id)
    assert saved.status != ReviewStatus.SUBMITTED and saved.submitted_at is None
    assert {s.criterion_key: s.justification for s in saved.scores} == {
        c.key: f"{GOOD} Typed for {c.key}." for c in call.criteria}
    page = _text(client.get(response.headers["Location"]))
    assert f"Submit your review of {world.proposals[0].reference}?" in page
    assert "Submitting freezes your scores" in page and "only the programme manager can reopen the review" in page
    assert "Your draft is saved" in page
    total = sum((c.weight * 4 for c in call.criteria), D(0))
    assert f"Weighted total {format(total.normalize(), 'f')}" in page
    assert 'name="confirmed" value="yes"' in client.get(f"/reviews/{review.id}/submit").get_data(as_text=True)
    assert "Yes, submit the review" in page and "Cancel" in page
    assert _review(review.id).submitted_at is None

    # A POST of the confirmation page without the confirmation: refused, nothing submitted, the reason said.
    refused = client.post(f"/reviews/{review.id}/submit", follow_redirects=True)
    assert "Nothing was submitted: submitting a review needs your confirmation" in _text(refused)
    assert _review(review.id).submitted_at is None

    # Confirmed: submitted, with the scores as saved.
    done = client.post(f"/reviews/{review.id}/submit", data={"confirmed": "yes"}, follow_redirects=True)
    assert "is submitted" in _text(done)
    submitted = _review(review.id)
    assert submitted.status == ReviewStatus.SUBMITTED
    assert all(s.score == D(4) for s in submitted.scores)

    # Locked now: the confirmation page sends back with the reason.
    again = client.get(f"/reviews/{review.id}/submit", follow_redirects=True)
    assert "submitted and locked" in _text(again)


def test_the_scripts_confirmation_submits_the_typed_review_at_once(client, login):
    world = loginable_build(proposals=1, reviewers=1)
    review = assign(world, world.proposals[0], world.reviewers[0])[0]
    db.session.commit()
    login(world.reviewers[0].email)
    page = client.get(f"/reviews/{review.id}").get_data(as_text=True)
    assert re.search(r'<input[^>]*name="confirmed"[^>]*value=""', page)  # set by the dialog only
    assert re.search(r'<input[^>]*data-confirm="Submit your review of[^"]*freezes your scores', page)
    response = client.post(f"/reviews/{review.id}", data={**_typed(world.call), "confirmed": "yes"})
    assert response.status_code == 302 and response.headers["Location"].endswith(f"/reviews/{review.id}")
    assert _review(review.id).status == ReviewStatus.SUBMITTED


def test_an_incomplete_review_is_not_confirmed_and_keeps_what_was_typed(client, login):
    world = loginable_build(proposals=1, reviewers=1)
    review = assign(world, world.proposals[0], world.reviewers[0])[0]
    db.session.commit()
    login(world.reviewers[0].email)
    data = _typed(world.call)
    first = world.call.criteria[0].key
    data[f"justification_{first}"] = "Short but kept."
    response = client.post(f"/reviews/{review.id}", data=data)
    assert response.status_code == 200  # the errors beside the fields, no confirmation page
    html = response.get_data(as_text=True)
    assert "Nothing was submitted" in html and "Short but kept." in html
    assert "Yes, submit the review" not in html
    assert _review(review.id).submitted_at is None

    # The confirmation page of a draft saved incomplete says so; confirming it is refused with the reason.
    client.post(f"/reviews/{review.id}", data={**data, "submit_review": "", "save_draft": "Save draft"})
    page = _text(client.get(f"/reviews/{review.id}/submit"))
    assert "Yes, submit the review" in page
    refused = client.post(f"/reviews/{review.id}/submit", data={"confirmed": "yes"}, follow_redirects=True)
    assert "cannot be submitted yet" in _text(refused)
    kept = _review(review.id)
    assert kept.submitted_at is None
    assert {s.criterion_key: s.justification for s in kept.scores}[first] == "Short but kept."


# Deciding the rest as ranked and publishing ----------------------------------------------------------------


def _scored(world, values=("4", "3.5", "2.5")):
    for proposal, value in zip(world.proposals, values, strict=True):
        for review in assign(world, proposal, *world.reviewers[:3]):
            submit_review(review, value)
    db.session.commit()


def test_deciding_the_rest_as_ranked_asks_first(client, login):
    world = loginable_build(proposals=3, reviewers=3, budget=D("60000.00"))
    _scored(world)
    login(world.manager.email)
    url = f"/calls/{world.call.id}/review/decide-as-ranked"
    ranking = client.get(f"/calls/{world.call.id}/review/ranking").get_data(as_text=True)
    assert 'data-confirm="Decide every proposal' in ranking and 'name="confirmed" value=""' in ranking

    # The button without the confirmation: the confirmation page, nothing decided.
    response = client.post(url, follow_redirects=True)
    page = _text(response)
    assert "Nothing was decided: deciding the rest as ranked needs your confirmation" in page
    assert f"Decide the rest of {world.call.reference} as ranked?" in page
    eur = world.call.currency
    assert f"Funded 2 proposal(s), {eur} 60,000.00 of start-up grants" in page
    assert "Reserve list 0 proposal(s)" in page and "Rejected as not fundable 1 proposal(s)" in page
    assert "Yes, decide the rest as ranked" in page
    assert db.session.query(Decision).count() == 0
    assert "Yes, decide the rest as ranked" in _text(client.get(url))

    done = client.post(url, data={"confirmed": "yes"}, follow_redirects=True)
    assert "3 decision(s) recorded as the ranking says" in _text(done)
    assert db.session.query(Decision).count() == 3


def test_publishing_asks_first_with_the_figures(client, login):
    world = loginable_build(proposals=3, reviewers=3, budget=D("60000.00"))
    _scored(world)
    login(world.manager.email)
    base = f"/calls/{world.call.id}/review"
    client.post(f"{base}/decide-as-ranked", data={"confirmed": "yes"})
    overview = client.get(base).get_data(as_text=True)
    assert 'data-confirm="Publish the decisions of' in overview

    response = client.post(f"{base}/publish", follow_redirects=True)
    page = _text(response)
    assert "Nothing was published: publishing the decisions needs your confirmation" in page
    assert f"Publish the decisions of {world.call.reference}?" in page
    eur = world.call.currency
    assert f"2 proposal(s), {eur} 60,000.00 in all" in page
    assert "Rejected 1 proposal(s)" in page
    assert "Publishing cannot be undone: the groups are told at once and the initiatives are opened." in page
    db.session.expire_all()
    assert world.call.status == CallStatus.REVIEWING and db.session.query(Initiative).count() == 0
    assert "Yes, publish the decisions" in _text(client.get(f"{base}/publish"))

    done = client.post(f"{base}/publish", data={"confirmed": "yes"}, follow_redirects=True)
    assert "are published: 2 initiative(s)" in _text(done)
    db.session.expire_all()
    assert world.call.status == CallStatus.DECIDED and db.session.query(Initiative).count() == 2

    # Published: the confirmation page is no longer offered.
    after = client.get(f"{base}/publish", follow_redirects=True)
    assert "Nothing was changed" in _text(after) and "Yes, publish" not in _text(after)


def test_publishing_without_every_decision_warns_on_the_confirmation(client, login):
    world = loginable_build(proposals=3, reviewers=3, budget=D("60000.00"))
    _scored(world)
    login(world.manager.email)
    page = _text(client.get(f"/calls/{world.call.id}/review/publish"))
    assert "3 of 3 proposals have no decision yet: publishing is refused" in page
