"""The reviewer's pages through the web: its calls, expertise and conflicts, the scoring page (drafts, a
submission refused with every typed value kept, the lock), what it may and may not see, and the applicant's
feedback without any reviewer's name."""

from __future__ import annotations

import io
import re
from datetime import timedelta
from decimal import Decimal

import pytest
from markupsafe import escape

from programme.calls import services as call_services
from programme.core.access import Role
from programme.extensions import db
from programme.proposals import services as proposal_services
from programme.proposals.models import AttachmentKind
from programme.reviews import services
from programme.reviews.forms import review_form
from programme.reviews.models import CallReviewer, ConflictOfInterest, Review, ReviewStatus
from tests.conftest import SETUP
from tests.proposals.builders import CLOSES, NOW, complete_proposal, make_call, make_group
from tests.reviews.world import AFTER, DEADLINE, DURING, GOOD, START, assign, build, justifications, submit_review

#: Distinctive names and addresses for the reviewers of the world, so that a page showing one is caught.
REVIEWERS = (("Agatha Marchbanks", "agatha.marchbanks@example.org"),
             ("Bertrand Oyelaran", "bertrand.oyelaran@example.org"),
             ("Cordelia Vishnevsky", "cordelia.vishnevsky@example.org"))
SECRET = "Distinctive remark of the second reviewer about the shared kiln and its cold chain."


@pytest.fixture(autouse=True)
def during_the_review(clock):
    """The programme's clock reads DURING: two days into the review."""
    clock(DURING)


@pytest.fixture
def world(app):
    made = build(proposals=2, reviewers=3)
    for reviewer, (name, email) in zip(made.reviewers, REVIEWERS, strict=True):
        reviewer.name, reviewer.email = name, email
    made.leads[0].email = "lead.one@example.org"
    made.manager.email = "manager.review@example.org"
    db.session.commit()
    return made


def _html(response) -> str:
    return response.get_data(as_text=True)


def _shown(text: str) -> str:
    """Text as the page writes it (HTML-escaped)."""
    return str(escape(text))


def _criterion(html: str, key: str) -> str:
    """The fieldset of one criterion on the scoring page."""
    start = html.index(f'id="criterion-{key}"')
    return html[start:html.index("</fieldset>", start)]


def _selected(html: str, key: str) -> str | None:
    match = re.search(rf'<select[^>]*name="score_{key}"[^>]*>(.*?)</select>', html, re.S)
    assert match, f"no score select for {key}"
    chosen = re.search(r'<option selected value="([^"]*)"', match.group(1))
    return chosen.group(1) if chosen else None


def _form(call, scores: dict[str, str], texts: dict[str, str], *, submit: bool,
          confirmed: bool = True) -> dict[str, str]:
    """The scoring form posted; "Submit review" confirmed (as the script's dialog does) unless told otherwise."""
    data = {f"score_{c.key}": scores.get(c.key, "") for c in call.criteria}
    data.update({f"justification_{c.key}": texts.get(c.key, "") for c in call.criteria})
    data["submit_review" if submit else "save_draft"] = "Submit review" if submit else "Save draft"
    if submit and confirmed:
        data["confirmed"] = "yes"
    return data


def _review(review_id: int) -> Review | None:
    db.session.expire_all()
    return db.session.get(Review, review_id)


# The reviewer's calls and a call's page ---------------------------------------------------------------------


def test_my_calls_and_the_call_page_list_the_assignments(world, client, login):
    review = assign(world, world.proposals[0], world.reviewers[0])[0]
    db.session.commit()
    login(world.reviewers[0].email)

    home = _html(client.get("/"))
    assert 'href="/reviewing"' in home and f"/reviews/{review.id}" in home
    page = client.get("/reviewing")
    assert page.status_code == 200
    html = _html(page)
    assert world.call.name in html and world.proposals[0].reference in html
    assert "Not started" in html and f"/reviews/{review.id}" in html
    assert world.proposals[1].reference not in html  # not assigned to this reviewer

    page = client.get(f"/reviewing/calls/{world.call.id}")
    assert page.status_code == 200
    html = _html(page)
    assert world.proposals[0].reference in html and "Your sectors of expertise" in html
    assert '<datalist id="known-sectors">' in html and '<option value="ceramics and tableware">' in html
    # The declaration form asks for a reference or a name: it lists neither the organisations nor the proposals.
    assert 'id="conflict-subject"' in html and "Proposal reference or organisation" in html
    assert "Group 2 firm 1" not in html and world.proposals[1].reference not in html
    assert "removes any assignment it conflicts with" in html


def test_reviews_not_submitted_by_the_deadline_are_marked_late(world, client, login, clock):
    done, waiting = (assign(world, proposal, world.reviewers[0])[0] for proposal in world.proposals)
    submit_review(done, "4")
    db.session.commit()
    clock(DEADLINE + timedelta(days=1))
    login(world.reviewers[0].email)
    html = _html(client.get("/reviewing"))
    submitted, outstanding = (re.search(rf"<tr><td><a[^>]*>{p.reference}</a>.*?</tr>", html, re.S).group(0)
                              for p in world.proposals)
    assert "Submitted" in submitted and "late" not in submitted
    assert "Not started" in outstanding and ">late<" in outstanding
    assert ">late<" in _html(client.get(f"/reviews/{waiting.id}"))


def test_the_call_page_is_for_the_reviewers_of_its_pool(world, client, login, make_user):
    outsider = make_user("outsider.reviewer@example.org", Role.REVIEWER)
    login(outsider.email)
    assert client.get(f"/reviewing/calls/{world.call.id}").status_code == 404
    assert client.get("/reviewing/calls/999999").status_code == 404
    assert world.call.name not in _html(client.get("/reviewing"))
    client.post("/logout")
    login(world.leads[0].email)
    assert client.get("/reviewing").status_code == 403
    assert client.get(f"/reviewing/calls/{world.call.id}").status_code == 403


def test_expertise_is_saved(world, client, login):
    login(world.reviewers[0].email)
    response = client.post(f"/reviewing/calls/{world.call.id}/expertise",
                           data={"expertise": "Dairy;  Food processing, dairy"})
    assert response.status_code == 302
    entry = db.session.query(CallReviewer).filter_by(call_id=world.call.id, user_id=world.reviewers[0].id).one()
    db.session.refresh(entry)
    assert entry.expertise == "dairy; food processing"
    html = _html(client.get(response.headers["Location"]))
    assert "Your sectors of expertise are saved: dairy; food processing." in html
    assert 'value="dairy; food processing"' in html


@pytest.mark.parametrize("subject", ["organisation", "part of a name", "proposal"])
def test_declaring_a_conflict_removes_the_assignment_it_forbids(world, client, login, subject):
    reviewer = world.reviewers[0]
    conflicted = assign(world, world.proposals[1], reviewer)[0]
    kept = assign(world, world.proposals[0], reviewer)[0]
    db.session.commit()
    login(reviewer.email)
    assert client.get(f"/reviews/{conflicted.id}").status_code == 200

    # Typed as a reviewer would: any case, a part of a name that only one organisation has, a reference.
    typed = {"organisation": " group 2  FIRM 1 ", "part of a name": "2 institution",
             "proposal": world.proposals[1].reference.lower()}[subject]
    response = client.post(f"/reviewing/calls/{world.call.id}/conflicts",
                           data={"subject": typed, "note": "I advised them last year."})
    assert response.status_code == 302
    assert _review(conflicted.id) is None and _review(kept.id) is not None
    html = _html(client.get(response.headers["Location"]))
    assert "Conflict of interest declared with" in html and "1 assignment(s) it conflicts with were removed" in html
    assert "I advised them last year." in html
    assert "declared a conflict with" in html  # the reason, beside the proposal
    assert client.get(f"/reviews/{conflicted.id}").status_code == 404
    assert client.get(f"/reviews/{kept.id}").status_code == 200


def test_a_declaration_needs_one_subject_and_can_be_withdrawn(world, client, login):
    reviewer = world.reviewers[0]
    login(reviewer.email)
    url = f"/reviewing/calls/{world.call.id}/conflicts"
    response = client.post(url, data={"subject": "  ", "note": "Kept note"})
    assert response.status_code == 200
    html = _html(response)
    assert "Type a proposal&#39;s reference or an organisation&#39;s name." in html and "Kept note" in html
    assert db.session.query(ConflictOfInterest).count() == 0

    reference = world.proposals[1].reference
    assert client.post(url, data={"subject": reference}).status_code == 302
    again = client.post(url, data={"subject": reference})
    assert again.status_code == 200 and "You have declared this conflict already." in _html(again)
    declared = db.session.query(ConflictOfInterest).one()
    response = client.post(f"/reviewing/calls/{world.call.id}/conflicts/{declared.id}/withdraw")
    assert response.status_code == 302
    assert db.session.query(ConflictOfInterest).count() == 0
    assert "Declaration withdrawn." in _html(client.get(response.headers["Location"]))
    # Another reviewer's declaration cannot be withdrawn by typing its id.
    theirs = services.declare_conflict(world.call, proposal_id=world.proposals[0].id, actor=world.reviewers[1],
                                       now=DURING)
    db.session.commit()
    assert client.post(f"/reviewing/calls/{world.call.id}/conflicts/{theirs.id}/withdraw").status_code == 404


def test_a_name_that_several_organisations_share_names_them_and_keeps_what_was_typed(world, client, login):
    login(world.reviewers[0].email)
    url = f"/reviewing/calls/{world.call.id}/conflicts"
    html = _html(client.post(url, data={"subject": "firm", "note": "Their consultant"}))
    assert "Several organisations of this call&#39;s groups match “firm”" in html
    for group in (1, 2):
        for firm in range(1, 5):
            assert f"Group {group} firm {firm}" in html
    assert "and more" not in html and "Type more of the name" in html
    assert 'value="firm"' in html and "Their consultant" in html
    # More than the eight shown: the message says there are more.
    html = _html(client.post(url, data={"subject": "group", "note": ""}))
    assert "match “group”" in html and "and more." in html
    assert db.session.query(ConflictOfInterest).count() == 0


def test_a_subject_that_matches_nothing_is_named_in_the_error(world, client, login, make_user):
    login(world.reviewers[0].email)
    url = f"/reviewing/calls/{world.call.id}/conflicts"
    html = _html(client.post(url, data={"subject": "Kiln 100%_x", "note": "Met at a fair"}))
    assert "No proposal of this call has the reference “Kiln 100%_x”" in html
    assert 'value="Kiln 100%_x"' in html and "Met at a fair" in html
    # An organisation outside the call's applicant groups is not found either, nor a draft's reference.
    lead = make_user("lead.elsewhere@example.org", Role.APPLICANT)
    make_group(lead, name="Outside Weavers")
    db.session.commit()
    assert "No proposal of this call" in _html(client.post(url, data={"subject": "Outside Weavers firm 1"}))
    assert db.session.query(ConflictOfInterest).count() == 0


def test_the_reviewers_own_conflicts_are_those_of_the_whole_map(world, login, make_user):
    """The reviewer's page reads its conflicts from its side; they are those the call's whole map gives it."""
    reviewer = world.reviewers[0]
    reviewer.organisation_id = world.groups[0].organisations[0].id
    services.declare_conflict(world.call, organisation_id=world.groups[1].organisations[1].id, actor=reviewer,
                              now=DURING)
    services.declare_conflict(world.call, proposal_id=world.proposals[1].id, actor=reviewer, now=DURING)
    db.session.flush()
    whole = services.conflicts(world.call).of_reviewer(reviewer.id)
    assert services.reviewer_conflicts(world.call, reviewer.id) == whole
    assert len(whole) == 2 and len(whole[world.proposals[1].id]) == 2
    assert services.reviewer_conflicts(world.call, world.reviewers[1].id) == {}


# Who may open a review ----------------------------------------------------------------------------------


def test_a_reviewer_cannot_open_an_unassigned_or_conflicted_review_by_url(world, client, login):
    mine = assign(world, world.proposals[0], world.reviewers[0])[0]
    theirs = assign(world, world.proposals[0], world.reviewers[1])[0]
    db.session.commit()
    login(world.reviewers[0].email)
    assert client.get(f"/reviews/{mine.id}").status_code == 200
    assert client.get(f"/reviews/{theirs.id}").status_code == 404
    assert client.post(f"/reviews/{theirs.id}", data=_form(world.call, {}, {}, submit=False)).status_code == 404
    assert client.get("/reviews/999999").status_code == 404
    assert client.get(f"/reviews/{mine.id}/attachments/999999").status_code == 404  # not in the reviewed version

    # The reviewer's own organisation becomes a member of the group: a conflict without any declaration.
    world.reviewers[0].organisation_id = world.groups[0].organisations[0].id
    db.session.commit()
    assert client.get(f"/reviews/{mine.id}").status_code == 404
    assert client.post(f"/reviews/{mine.id}", data=_form(world.call, {}, {}, submit=False)).status_code == 404
    html = _html(client.get(f"/reviewing/calls/{world.call.id}"))
    assert "works for Group 1 firm 1, a member of the group" in html


def test_a_reviewer_downloads_the_attachments_of_the_version_it_reviews(app, client, login, make_user):
    call = make_call()
    lead = make_user("lead.files@example.org", Role.APPLICANT)
    proposal = complete_proposal(call, make_group(lead), lead)
    letter = proposal_services.add_attachment(
        proposal, kind=AttachmentKind.LETTER_OF_COMMITMENT, stream=io.BytesIO(b"%PDF-1.4 letter"),
        filename="letter.pdf", upload_root=app.config["UPLOAD_FOLDER"],
        max_bytes=app.config["MAX_ATTACHMENT_BYTES"], actor=lead, now=NOW)
    proposal_services.submit(proposal, actor=lead, now=NOW)
    call_services.close_due_calls(actor=SETUP, now=CLOSES)
    manager = make_user("manager.files@example.org", Role.PROGRAMME_MANAGER)
    reviewer, other = (make_user(f"{name}.files@example.org", Role.REVIEWER) for name in ("reviewer", "other"))
    services.add_reviewer(call, reviewer, actor=manager, now=START)
    services.add_reviewer(call, other, actor=manager, now=START)
    services.start_review(call, deadline=DEADLINE, actor=manager, now=START)
    review = services.assign_reviewer(call, proposal, reviewer.id, actor=manager, now=DURING)
    db.session.commit()
    link = f"/reviews/{review.id}/attachments/{letter.id}"
    login(reviewer.email)
    assert link in _html(client.get(f"/reviews/{review.id}"))
    response = client.get(link)
    assert response.status_code == 200 and response.data == b"%PDF-1.4 letter"
    assert client.get(f"/proposals/{proposal.id}/attachments/{letter.id}").status_code == 404
    client.post("/logout")
    login(other.email)
    assert client.get(link).status_code == 404


def test_others_see_404_and_a_manager_reads_the_review(world, client, login, make_user):
    review = assign(world, world.proposals[0], world.reviewers[0])[0]
    db.session.commit()
    login(world.leads[0].email)
    assert client.get(f"/reviews/{review.id}").status_code == 404
    client.post("/logout")
    login(world.manager.email)
    page = client.get(f"/reviews/{review.id}")
    assert page.status_code == 200
    html = _html(page)
    assert world.reviewers[0].name in html and 'name="submit_review"' not in html
    assert client.post(f"/reviews/{review.id}", data=_form(world.call, {}, {}, submit=False)).status_code == 403


# Scoring --------------------------------------------------------------------------------------------------


def test_the_scoring_page_shows_the_frozen_version_and_the_criteria(world, client, login):
    review = assign(world, world.proposals[0], world.reviewers[0])[0]
    proposal = world.proposals[0]
    proposal.title = "A later draft title"  # the draft changes after submission; the review shows version 1
    db.session.commit()
    login(world.reviewers[0].email)
    html = _html(client.get(f"/reviews/{review.id}"))
    assert "Initiative 1" in html and "A later draft title" not in html
    assert "Joint stand at a trade fair" in html and "Stand rent" in html  # activities and budget of the version
    for criterion in world.call.criteria:
        part = _criterion(html, criterion.key)
        assert _shown(criterion.title) in part
        assert _shown(criterion.guidance.split("\n")[0][:60]) in part
        assert f"threshold {criterion.threshold.normalize():f}" in part
    assert "At least 50 characters" in html
    assert 'name="save_draft"' in html and 'name="submit_review"' in html
    assert "23 Mar 2027" in html  # the review deadline


def test_a_draft_keeps_partial_work(world, client, login):
    review = assign(world, world.proposals[0], world.reviewers[0])[0]
    db.session.commit()
    first, second = (c.key for c in world.call.criteria[:2])
    login(world.reviewers[0].email)
    response = client.post(f"/reviews/{review.id}",
                           data=_form(world.call, {first: "3.5"}, {second: "Half a thought"}, submit=False))
    assert response.status_code == 302
    saved = _review(review.id)
    assert saved.status == ReviewStatus.DRAFT
    assert saved.score_of(first).score == Decimal("3.5") and saved.score_of(second).score is None
    assert saved.score_of(second).justification == "Half a thought"
    html = _html(client.get(f"/reviews/{review.id}"))
    assert "Draft saved." in html
    assert _selected(html, first) == "3.5" and _selected(html, second) == ""
    assert "Half a thought" in _criterion(html, second)
    assert "Draft saved" in _html(client.get("/reviewing"))

    # A score off the scale is refused even in a draft, beside its field, and nothing changes.
    response = client.post(f"/reviews/{review.id}",
                           data=_form(world.call, {first: "3.7"}, {second: "Another thought"}, submit=False))
    assert response.status_code == 200
    html = _html(response)
    assert "not a whole step" in _criterion(html, first)
    assert "Another thought" in _criterion(html, second)
    assert _review(review.id).score_of(second).justification == "Half a thought"


def test_a_short_justification_is_refused_on_its_field_and_nothing_typed_is_lost(world, client, login):
    review = assign(world, world.proposals[0], world.reviewers[0])[0]
    db.session.commit()
    call = world.call
    points = ["4", "3.5", "2", "5", "4.5", "3", "1.5"]
    scores = {c.key: points[i % len(points)] for i, c in enumerate(call.criteria)}
    texts = {c.key: f"{GOOD} ({c.key})" for c in call.criteria}
    short_key = call.criteria[2].key
    texts[short_key] = "Too thin to count."
    login(world.reviewers[0].email)
    response = client.post(f"/reviews/{review.id}", data=_form(call, scores, texts, submit=True))
    assert response.status_code == 200
    html = _html(response)
    assert "Nothing was submitted" in html
    short = _criterion(html, short_key)
    assert "Write at least 50 characters to justify this score: the justification has 18." in short
    assert sum("Write at least" in _criterion(html, c.key) for c in call.criteria) == 1
    for criterion in call.criteria:
        assert _selected(html, criterion.key) == scores[criterion.key]
        assert _shown(texts[criterion.key]) in _criterion(html, criterion.key)
    assert _review(review.id).status == ReviewStatus.ASSIGNED

    # Without a score on one criterion, that score is asked for; the rest stays as typed.
    texts[short_key] = GOOD
    missing = dict(scores, **{call.criteria[0].key: ""})
    html = _html(client.post(f"/reviews/{review.id}", data=_form(call, missing, texts, submit=True)))
    assert "Give a score from 0 to 5 in steps of 0.5." in _criterion(html, call.criteria[0].key)
    assert _selected(html, call.criteria[1].key) == scores[call.criteria[1].key]


def test_the_services_reasons_land_on_their_fields(app, world):
    """The service stays the authority: what it refuses on submission is shown beside the field concerned."""
    scale = services.scoring_of(world.call).scale
    key, other = (c.key for c in world.call.criteria[:2])
    with app.test_request_context():
        form = review_form(world.call.criteria, scale, 50, formdata=None)
        form.add_problems({key: "a score from 0 to 5 in steps of 0.5 is needed; a justification of at least 50 "
                                "characters is needed (got 3)",
                           other: "a justification of at least 50 characters is needed (got 12)",
                           "unknown": "ignored"})
        assert form.score(key).errors == ["A score from 0 to 5 in steps of 0.5 is needed."]
        assert form.justification(key).errors == ["A justification of at least 50 characters is needed (got 3)."]
        assert not form.score(other).errors
        assert form.justification(other).errors == ["A justification of at least 50 characters is needed (got 12)."]


def test_submitting_locks_the_review_and_a_later_post_is_refused(world, client, login):
    review = assign(world, world.proposals[0], world.reviewers[0])[0]
    db.session.commit()
    call = world.call
    login(world.reviewers[0].email)
    response = client.post(f"/reviews/{review.id}",
                           data=_form(call, {c.key: "4" for c in call.criteria}, justifications(call), submit=True))
    assert response.status_code == 302
    saved = _review(review.id)
    assert saved.status == ReviewStatus.SUBMITTED and saved.submitted_at == DURING
    html = _html(client.get(f"/reviews/{review.id}"))
    assert "is submitted. It is locked now" in html
    assert "Your review is submitted and locked." in html
    assert 'name="submit_review"' not in html and "<textarea" not in html

    again = client.post(f"/reviews/{review.id}",
                        data=_form(call, {c.key: "1" for c in call.criteria}, justifications(call), submit=True))
    assert again.status_code == 302
    assert "submitted and locked: nothing was changed" in _html(client.get(again.headers["Location"]))
    assert {s.score for s in _review(review.id).scores} == {Decimal("4")}


def test_other_reviewers_scores_appear_only_after_ones_own_submission(world, client, login):
    mine, theirs = assign(world, world.proposals[0], world.reviewers[0], world.reviewers[1])
    call = world.call
    services.save_review(theirs, scores={c.key: Decimal("1.5") for c in call.criteria},
                         justifications={c.key: SECRET for c in call.criteria}, submit=True,
                         actor=world.reviewers[1], now=DURING)
    db.session.commit()
    login(world.reviewers[0].email)
    url = f"/reviews/{mine.id}"
    html = _html(client.get(url))
    assert SECRET not in html and "Another reviewer" not in html and world.reviewers[1].name not in html
    client.post(url, data=_form(call, {call.criteria[0].key: "4"}, {}, submit=False))
    html = _html(client.get(url))
    assert SECRET not in html and "Another reviewer" not in html

    client.post(url, data=_form(call, {c.key: "4" for c in call.criteria}, justifications(call), submit=True))
    html = _html(client.get(url))
    assert SECRET in html and "Another reviewer (1)" in html
    assert world.reviewers[1].name not in html and world.reviewers[1].email not in html


# The applicant's feedback --------------------------------------------------------------------------------------


def test_the_group_sees_its_scores_and_justifications_without_reviewer_names(app, client, login):
    world = build(proposals=1, reviewers=4)
    for reviewer, (name, email) in zip(world.reviewers, REVIEWERS, strict=False):
        reviewer.name, reviewer.email = name, email
    late = world.reviewers[3]
    late.name, late.email = "Desmond Latecomer", "desmond.latecomer@example.org"
    lead = world.leads[0]
    lead.email = "lead.one@example.org"
    proposal = world.proposals[0]
    reviews = assign(world, proposal, *world.reviewers)
    for review, value in zip(reviews, ("4", "3.5", "4.5"), strict=False):  # the fourth never submits
        submit_review(review, value)
    remark = "Reviewer three's remark on the joint stand and its quick wins for the potters."
    services.reopen_review(reviews[2], reason="Add a remark.", actor=world.manager, now=DURING)
    services.save_review(reviews[2], scores={c.key: Decimal("4.5") for c in world.call.criteria},
                         justifications={c.key: remark for c in world.call.criteria}, submit=True,
                         actor=world.reviewers[2], now=DURING)
    services.decide_as_ranked(world.call, actor=world.manager, now=DURING)
    services.publish_decisions(world.call, actor=world.manager, now=AFTER)
    db.session.commit()

    login(lead.email)
    page = client.get(f"/proposals/{proposal.id}")
    assert page.status_code == 200
    html = _html(page)
    section = html[html.index('id="decision"'):html.index("</section>", html.index('id="decision"'))]
    assert "Decision and review" in section and "Funded" in section and "Ranked 1, above the funding line." in section
    assert "Reviewer 1" in section and "Reviewer 2" in section and "Reviewer 3" in section
    assert _shown(remark) in section
    assert "Total score" in section
    first = world.call.criteria[0]
    # Each criterion's counted score is the mean of 4, 3.5 and 4.5, beside its threshold.
    row = re.search(rf"<tr><td>{re.escape(_shown(first.title))}.*?</tr>", section, re.S)
    assert row and re.findall(r'<td class="num">([^<]*)</td>', row.group(0)) == ["0.5", "3", "4"]
    assert "Reviewer 4" not in section  # only submitted reviews count
    for reviewer in world.reviewers:
        assert reviewer.name not in html and reviewer.email not in html
        assert reviewer.name.split()[1] not in html

    # The review is over: the post of a reviewer who never submitted is refused with the reason.
    client.post("/logout")
    login(late.email)
    response = client.post(f"/reviews/{reviews[3].id}",
                           data=_form(world.call, {first.key: "1"}, {}, submit=False))
    assert response.status_code == 302
    assert "The call is decided" in _html(client.get(response.headers["Location"]))


def test_no_feedback_before_the_call_is_decided(world, client, login):
    review = assign(world, world.proposals[0], world.reviewers[0])[0]
    submit_review(review, "4")
    db.session.commit()
    login(world.leads[0].email)
    html = _html(client.get(f"/proposals/{world.proposals[0].id}"))
    assert "Decision and review" not in html and "Reviewer 1" not in html
    assert world.reviewers[0].name not in html


def test_the_call_page_shows_the_first_conflicts_and_links_to_every_one_a_page_at_a_time(world, client, login,
                                                                                         monkeypatch):
    from programme.reviews.views import reviewer as reviewer_views

    monkeypatch.setattr(reviewer_views, "CONFLICTS_SHOWN", 1)
    monkeypatch.setattr(reviewer_views, "CONFLICTS_PER_PAGE", 1)
    reviewer = world.reviewers[0]
    first, second = sorted(world.proposals, key=lambda p: p.reference)
    for proposal in (second, first):
        services.declare_conflict(world.call, proposal_id=proposal.id, note=f"Note on {proposal.reference}",
                                  actor=reviewer, now=DURING)
    db.session.commit()
    login(reviewer.email)
    html = _html(client.get(f"/reviewing/calls/{world.call.id}"))
    assert "The first 1 of <strong>2</strong>" in html
    assert f"/reviewing/calls/{world.call.id}/conflicts/proposals" in html
    assert f"/reviewing/calls/{world.call.id}/conflicts/declarations" in html
    assert f"Note on {second.reference}" in html and f"Note on {first.reference}" not in html  # oldest first

    pages = [_html(client.get(f"/reviewing/calls/{world.call.id}/conflicts/proposals?page={n}")) for n in (1, 2)]
    assert first.title in pages[0] and second.title not in pages[0] and "page 1 of 2" in pages[0]
    assert second.title in pages[1] and "declared a conflict with the proposal" in pages[1]
    declared = [_html(client.get(f"/reviewing/calls/{world.call.id}/conflicts/declarations?page={n}"))
                for n in (1, 2)]
    assert f"Note on {second.reference}" in declared[0] and f"Note on {first.reference}" in declared[1]
    assert "Withdraw" in declared[1]
    assert "None on this page." in _html(client.get(f"/reviewing/calls/{world.call.id}/conflicts/declarations"
                                                    "?page=3"))

    # Another reviewer's lists are its own; someone outside the pool gets 404.
    login(world.reviewers[1].email)
    assert "None." in _html(client.get(f"/reviewing/calls/{world.call.id}/conflicts/declarations"))
    login(world.manager.email)
    assert client.get(f"/reviewing/calls/{world.call.id}/conflicts/proposals").status_code == 403
