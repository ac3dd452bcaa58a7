"""The scores and ranking pages keep what they work out per version of the call's results (issue 15): every change
a user makes to the results (a review submitted or reopened, a consensus recorded, a decision) shows on the next
request. The scores table is paged and found by reference or title."""

from __future__ import annotations

import pytest

from programme.extensions import db
from programme.reviews import services
from tests.reviews.world import DURING, assign, loginable_build, submit_review

CONSENSUS = "The panel agreed the record of joint fairs counts."


@pytest.fixture(autouse=True)
def frozen(clock):
    clock(DURING)


def _row(html: str, reference: str) -> str:
    """The table row of a proposal, as the page writes it."""
    table = html[html.index("<tbody>"):]
    at = table.index(f">{reference}<")
    return table[table.rindex("<tr", 0, at):table.index("</tr>", at)]


def test_the_scores_page_shows_each_change_of_the_results_on_the_next_request(client, login):
    world = loginable_build(proposals=2, reviewers=3)
    first = world.proposals[0]
    reviews = assign(world, first, *world.reviewers[:3])
    submit_review(reviews[0], "4")
    submit_review(reviews[1], "4")
    db.session.commit()
    login(world.manager.email)
    url = f"/calls/{world.call.id}/review/scores?sort=reference"

    row = _row(client.get(url).get_data(as_text=True), first.reference)
    assert "2 / 3" in row and "4.00" in row and "consensus needed" not in row

    submit_review(reviews[2], "1")  # the third reviewer submits: the mean falls to 3, the spread calls for consensus
    db.session.commit()
    row = _row(client.get(url).get_data(as_text=True), first.reference)
    assert "3 / 3" in row and "3.00" in row and "consensus needed" in row

    response = client.post(f"/calls/{world.call.id}/review/proposals/{first.id}/consensus",
                           data={"criterion_key": "cooperation", "score": "4.5", "reason": CONSENSUS})
    assert response.status_code == 302
    row = _row(client.get(url).get_data(as_text=True), first.reference)
    assert "4.50" in row and f"consensus: {CONSENSUS}" in row

    services.reopen_review(reviews[2], reason="Criterion 2 contradicts the text.", actor=world.manager, now=DURING)
    db.session.commit()
    row = _row(client.get(url).get_data(as_text=True), first.reference)
    assert "2 / 3" in row and "consensus needed" not in row


def test_the_ranking_shows_each_change_of_the_results_on_the_next_request(client, login):
    world = loginable_build(proposals=2, reviewers=3)
    first, second = world.proposals
    for proposal, value in ((first, "4"), (second, "3.5")):
        for review in assign(world, proposal, *world.reviewers[:3]):
            submit_review(review, value)
    db.session.commit()
    login(world.manager.email)
    url = f"/calls/{world.call.id}/review/ranking"
    html = client.get(url).get_data(as_text=True)
    assert html.index(first.reference) < html.index(second.reference)
    assert "none yet" in _row(html, first.reference)

    # A consensus on the second proposal lifts it above the first.
    for criterion in world.call.criteria:
        client.post(f"/calls/{world.call.id}/review/proposals/{second.id}/consensus",
                    data={"criterion_key": criterion.key, "score": "5", "reason": CONSENSUS})
    html = client.get(url).get_data(as_text=True)
    table = html[html.index('class="wide ranking"'):]
    assert table.index(second.reference) < table.index(first.reference)

    client.post(f"/calls/{world.call.id}/review/proposals/{first.id}/decision",
                data={"outcome": "rejected", "reason": "The letters of the members are unsigned."})
    row = _row(client.get(url).get_data(as_text=True), first.reference)
    assert "The letters of the members are unsigned." in row and "none yet" not in row


def test_the_scores_are_found_by_reference_or_title_and_paged(client, login, monkeypatch):
    monkeypatch.setattr("programme.reviews.services.score_table.SCORES_PER_PAGE", 2)
    world = loginable_build(proposals=3, reviewers=3)
    login(world.manager.email)
    url = f"/calls/{world.call.id}/review/scores"
    one, two, three = (p.reference for p in world.proposals)

    found = client.get(f"{url}?q={two.lower()}").get_data(as_text=True)
    assert two in found and one not in found and three not in found
    assert "1 proposal of 3 match" in found and f'value="{two.lower()}"' in found
    found = client.get(f"{url}?q=INITIATIVE+3&sort=total").get_data(as_text=True)
    assert three in found and one not in found and two not in found
    assert "No proposal in review has “kiln”" in client.get(f"{url}?q=kiln").get_data(as_text=True)

    # Two a page: the search and the order are kept in the page links; a page past the last shows the last.
    first = client.get(f"{url}?sort=reference&q=initiative").get_data(as_text=True)
    assert one in first and two in first and three not in first and "page 1 of 2" in first
    assert "sort=reference" in first and "q=initiative" in first and "page=2" in first
    last = client.get(f"{url}?sort=reference&q=initiative&page=9").get_data(as_text=True)
    assert three in last and one not in last and "page 2 of 2" in last
