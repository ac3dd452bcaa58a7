"""Submitting a proposal asks first, through the web: the button without the confirmation shows a page that says
what submitting freezes, with the figures, and changes nothing; the POST with the confirmation submits."""

from __future__ import annotations

import re

import pytest

from programme.core.access import Role
from programme.extensions import db
from programme.proposals.models import Proposal, ProposalVersion
from tests.proposals.builders import NOW, complete_proposal, count


@pytest.fixture(autouse=True)
def during_the_call(clock):
    clock(NOW)


@pytest.fixture
def lead(make_user):
    return make_user("lead@vaal.example.org", Role.APPLICANT)


def _text(response) -> str:
    return " ".join(re.sub(r"<[^>]+>", " ", response.get_data(as_text=True)).split())


def test_submitting_shows_the_confirmation_then_submits_when_confirmed(client, login, call, group, lead):
    proposal = complete_proposal(call, group, lead)
    db.session.commit()
    login(lead)
    url = f"/proposals/{proposal.id}/submit"

    overview = client.get(f"/proposals/{proposal.id}").get_data(as_text=True)
    assert re.search(r'<button type="submit" data-confirm="Submit the proposal as version 1\?', overview)
    assert 'name="confirmed" value=""' in overview

    # The button without the confirmation: the confirmation page, nothing submitted.
    response = client.post(url, follow_redirects=True)
    page = _text(response)
    assert "Nothing was submitted: submitting the proposal needs your confirmation" in page
    assert "as version 1?" in page
    assert "Submitting freezes the draft as it is now as version 1" in page
    assert f"Amount requested {call.currency} " in page and "every rule of the call is met" in page
    assert "cannot be changed or taken back once submitted" in page
    assert "Yes, submit the proposal" in page and "Cancel" in page
    assert count(ProposalVersion) == 0
    assert "Yes, submit the proposal" in _text(client.get(url))  # the same page by its own address

    done = client.post(url, data={"confirmed": "yes"}, follow_redirects=True)
    assert "Submitted as version 1" in _text(done)
    db.session.expire_all()
    assert db.session.get(Proposal, proposal.id).latest_version == 1
    assert "as version 2?" in _text(client.get(url))


def test_an_ineligible_draft_is_named_on_the_confirmation(client, login, call, group, lead):
    proposal = complete_proposal(call, group, lead)
    proposal.requested_amount = None
    db.session.commit()
    login(lead)
    page = _text(client.get(f"/proposals/{proposal.id}/submit"))
    assert "The call refuses the proposal while a rule is not met" in page
    refused = client.post(f"/proposals/{proposal.id}/submit", data={"confirmed": "yes"}, follow_redirects=True)
    assert "not eligible" in _text(refused)
    assert count(ProposalVersion) == 0
