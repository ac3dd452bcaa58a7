"""Issue 16, items 5 and 6: the review's pages name each criterion by its title (never its key) and fold long
reasons and justifications after their first words, in a native <details>."""

from __future__ import annotations

import re
from html import unescape

import pytest

from programme.extensions import db
from programme.reviews import services
from tests.reviews.world import DURING, assign, loginable_build, scores, submit_review

LONG = ("The group shows that its members already share a kiln and a cold chain, and the first activities build on "
        "that: a joint purchase of packaging, a common stand at the regional fair and a shared quality label. Yet "
        "the budget lines do not say who pays the stand, and the letters of two members are unsigned, so the "
        "co-financing cannot be verified before the first tranche. Distinctive closing remark about the cold room.")


@pytest.fixture(autouse=True)
def frozen(clock):
    clock(DURING)


def _text(html: str) -> str:
    """What a person reads: the page without its tags (attributes are for machines and browsers)."""
    return " ".join(unescape(re.sub(r"<[^>]+>", " ", html)).split())


def _keys_in(text: str, call) -> list[str]:
    return [c.key for c in call.criteria if "_" in c.key and c.key in text] + [
        c.key for c in call.criteria if re.search(rf"\b{c.key}:", text)]


def _scored_low(world):
    """Three proposals, each scored 2.5 everywhere by three reviewers (below every threshold: long reasons); the
    first reviewer's justifications on the first proposal are long."""
    for number, proposal in enumerate(world.proposals):
        for index, review in enumerate(assign(world, proposal, *world.reviewers[:3])):
            if number == 0 and index == 0:
                services.save_review(review, scores=scores("2.5", world.call),
                                     justifications={c.key: LONG for c in world.call.criteria}, submit=True,
                                     actor=review.reviewer, now=DURING)
            else:
                submit_review(review, "2.5" if number == 0 else "4")
    db.session.commit()


def test_the_scores_page_names_criteria_by_title_and_folds_the_reasons(client, login):
    world = loginable_build(proposals=3, reviewers=3)
    _scored_low(world)
    login(world.manager.email)
    html = client.get(f"/calls/{world.call.id}/review/scores").get_data(as_text=True)
    text = _text(html)
    for criterion in world.call.criteria:
        assert criterion.title in text
    assert not _keys_in(text, world.call), _keys_in(text, world.call)
    assert "first_activities" not in text and "first activities" not in text  # neither the key nor its words
    # The reasons of the first proposal (every criterion below its threshold) are folded after their first words.
    assert '<details class="fold"><summary>more</summary>' in html
    heads = re.findall(r'<span class="fold-head">([^<]*)</span>', html)
    assert heads and all(len(head) <= 125 for head in heads)
    # Total, Fundable, Reviews and Spread are in the table, after the criteria.
    header = html[html.index('class="wide scores'):html.index("</thead>")]
    assert header.index("Total") < header.index("Fundable") < header.index("Reviews") < header.index("Spread")


def test_the_ranking_page_names_criteria_by_title(client, login):
    world = loginable_build(proposals=3, reviewers=3)
    _scored_low(world)
    login(world.manager.email)
    html = client.get(f"/calls/{world.call.id}/review/ranking").get_data(as_text=True)
    text = _text(html)
    assert not _keys_in(text, world.call), _keys_in(text, world.call)
    assert "first_activities" not in text
    tie_break = [c for key in services.scoring_of(world.call).tie_break for c in world.call.criteria if c.key == key]
    for criterion in tie_break:  # "equal totals by <title>, ..."
        assert criterion.title in text
    not_fundable = _text(html[html.index('id="not-fundable"'):])
    first_title = world.call.criteria[0].title
    assert f"{first_title}: mean 2.50 is below the criterion threshold" in not_fundable


def test_a_long_justification_is_folded_on_the_proposal_page(client, login):
    world = loginable_build(proposals=3, reviewers=3)
    _scored_low(world)
    login(world.manager.email)
    first = world.proposals[0]
    html = client.get(f"/calls/{world.call.id}/review/proposals/{first.id}").get_data(as_text=True)
    assert LONG[:60] in html and "Distinctive closing remark about the cold room." in html  # all of it is there
    folds = re.findall(r'<span class="fold-head">([^<]*)</span> <details class="fold"><summary>([^<]*)</summary>',
                       html)
    assert folds and all(summary == "more" and len(head) <= 125 for head, summary in folds)
    # The closing remark is inside the fold, not in the first words.
    assert all("cold room" not in head for head, _ in folds)
    assert not _keys_in(_text(html), world.call)
