"""The scoring page as the server writes it (issue 16): each field labelled with its criterion and described by its
guidance, the running weighted total by the server's own formula (what the page shows without the script, and what
the script must reproduce), the character counters' words, and the two panes with their links."""

from __future__ import annotations

import re
from decimal import Decimal

import pytest
from markupsafe import escape

from programme.extensions import db
from programme.reviews import services
from programme.reviews.aggregation import weighted_sum
from programme.reviews.domain import CriterionSpec, ScoreScale, Scoring, display, plain_number
from programme.reviews.forms import JUSTIFICATION_MAX, RunningTotal, review_form, running_total, score_label
from programme.reviews.models import Review, ReviewStatus
from tests.reviews.world import DURING, GOOD, assign, build, justifications

D = Decimal
POINTS = ("4", "3.5", "2.5", "5", "4.5", "3", "1.5")


@pytest.fixture(autouse=True)
def during_the_review(clock):
    clock(DURING)


@pytest.fixture
def world(app):
    made = build(proposals=1, reviewers=1)
    made.reviewers[0].email = "page.reviewer@example.org"
    db.session.commit()
    return made


@pytest.fixture
def review(world):
    made = assign(world, world.proposals[0], world.reviewers[0])[0]
    db.session.commit()
    return made


def _html(response) -> str:
    return response.get_data(as_text=True)


def _text(html: str) -> str:
    return " ".join(re.sub(r"<[^>]+>", " ", html).split())


def _tag(html: str, name: str, field_id: str) -> str:
    match = re.search(rf'<{name}\b[^>]*\bid="{field_id}"[^>]*>', html)
    assert match, f"no <{name}> with id {field_id}"
    return match.group(0)


def _attribute(tag: str, name: str) -> str | None:
    match = re.search(rf'\b{name}="([^"]*)"', tag)
    return match.group(1) if match else None


def _post(call, scores: dict[str, str], texts: dict[str, str], *, submit: bool = False) -> dict[str, str]:
    data = {f"score_{c.key}": scores.get(c.key, "") for c in call.criteria}
    data.update({f"justification_{c.key}": texts.get(c.key, "") for c in call.criteria})
    data["submit_review" if submit else "save_draft"] = "Submit review" if submit else "Save draft"
    return data


def _expected(call, given: dict[str, str]) -> str:
    """The running total's words, computed here from the criteria's weights (independently of the page's code)."""
    total = sum((c.weight * D(given[c.key]) for c in call.criteria if c.key in given), D(0))
    maximum = plain_number(D(5) * sum((c.weight for c in call.criteria), D(0)))
    shown = plain_number(display(total))
    if len(given) == len(call.criteria):
        return f"Weighted total: {shown} of {maximum} (all {len(call.criteria)} criteria scored)"
    return f"Weighted total so far: {shown} of {maximum} ({len(given)} of {len(call.criteria)} criteria scored)"


def _running_total(html: str) -> str:
    match = re.search(r'<p class="running-total" id="running-total" role="status"[^>]*>(.*?)</p>', html, re.S)
    assert match, "no running total on the page"
    return _text(match.group(1))


# Labels, guidance, counters, panes --------------------------------------------------------------------------


def test_each_field_is_labelled_with_its_criterion_and_described_by_its_guidance(world, review, client, login):
    login(world.reviewers[0].email)
    html = _html(client.get(f"/reviews/{review.id}"))
    assert ">Score</label>" not in html and ">Justification</label>" not in html
    for criterion in world.call.criteria:
        key, title = criterion.key, str(escape(criterion.title))
        weight = plain_number(criterion.weight)
        assert f'<label for="score_{key}">Score for {title} (0–5, weight {weight})</label>' in html
        assert f'<label for="justification_{key}">Justification for {title}</label>' in html
        select = _tag(html, "select", f"score_{key}")
        described = (_attribute(select, "aria-describedby") or "").split()
        assert described[0] == f"guidance-{key}" and f"score_{key}-help" in described
        assert all(f'id="{part}"' in html for part in described)
        guidance = _tag(html, "div", f"guidance-{key}")
        assert guidance and str(escape(criterion.guidance.split("\n")[0][:60])) in html
        assert _attribute(select, "data-weight") == weight

        area = _tag(html, "textarea", f"justification_{key}")
        assert _attribute(area, "data-count") == f"justification_{key}-count"
        assert _attribute(area, "data-count-min") == "50"
        assert _attribute(area, "maxlength") == str(JUSTIFICATION_MAX)
        assert f"justification_{key}-count" in (_attribute(area, "aria-describedby") or "").split()
        counter = re.search(rf'<small id="justification_{key}-count"[^>]*>([^<]*)</small>', html)
        assert counter and counter.group(1) == "At least 50 characters to submit: 0 written."
        assert 'data-template="At least {min} characters to submit: {count} written."' in counter.group(0)
    # The two panes, their links to each other, and the page's scripts (never inline).
    assert 'id="scoring"' in html and 'id="proposal"' in html
    assert html.index('id="scoring"') < html.index('id="proposal"')  # the scores first on a narrow screen
    assert '<a href="#proposal">Read the proposal</a>' in html and '<a href="#scoring">Back to the scores</a>' in html
    assert "/static/review.js" in html and "/static/counters.js" in html
    assert "<script>" not in html and " onchange=" not in html and " oninput=" not in html


def test_a_score_label_names_the_scale_and_the_weight():
    class Named:
        title, weight = "Quality of the cluster analysis", D("0.20")

    assert (score_label(Named(), ScoreScale(D(1), D(10), D(1)))  # type: ignore[arg-type]
            == "Score for Quality of the cluster analysis (1–10, weight 0.2)")


def test_the_counter_counts_what_was_saved_and_errors_describe_their_field(world, review, client, login):
    call = world.call
    first, second = (c.key for c in call.criteria[:2])
    login(world.reviewers[0].email)
    client.post(f"/reviews/{review.id}", data=_post(call, {}, {first: "  Twelve chars  "}))
    html = _html(client.get(f"/reviews/{review.id}"))
    counter = re.search(rf'<small id="justification_{first}-count" class="([^"]*)"[^>]*>([^<]*)</small>', html)
    assert counter and counter.group(2) == "At least 50 characters to submit: 12 written."
    assert "counter-short" in counter.group(1)
    client.post(f"/reviews/{review.id}", data=_post(call, {}, {first: GOOD}))
    html = _html(client.get(f"/reviews/{review.id}"))
    counter = re.search(rf'<small id="justification_{first}-count" class="([^"]*)"[^>]*>([^<]*)</small>', html)
    assert counter and counter.group(2) == f"At least 50 characters to submit: {len(GOOD)} written."
    assert "counter-enough" in counter.group(1)

    # A refused submission: each error is tied to its field and listed with a link to it at the top.
    texts = justifications(call)
    texts[second] = "Too thin."
    html = _html(client.post(f"/reviews/{review.id}",
                             data=_post(call, {c.key: "4" for c in call.criteria}, texts, submit=True)))
    area = _tag(html, "textarea", f"justification_{second}")
    assert _attribute(area, "aria-invalid") == "true"
    described = (_attribute(area, "aria-describedby") or "").split()
    assert f"justification_{second}-error-1" in described
    assert re.search(rf'<p class="error" id="justification_{second}-error-1">Write at least 50 characters', html)
    assert f'<a href="#justification_{second}">Justification for {escape(call.criteria[1].title)}</a>' in html


def test_line_breaks_count_once_as_on_the_page(world, review, client, login):
    """A browser sends each line break as CR LF; the page's counter counts one character: so does the server."""
    call = world.call
    key = call.criteria[0].key
    text = "a" * 24 + "\r\n" + "b" * 24  # 49 characters as typed
    login(world.reviewers[0].email)
    texts = dict(justifications(call), **{key: text})
    html = _html(client.post(f"/reviews/{review.id}",
                             data=_post(call, {c.key: "4" for c in call.criteria}, texts, submit=True)))
    assert "the justification has 49." in html
    client.post(f"/reviews/{review.id}", data=_post(call, {}, texts))
    db.session.expire_all()
    saved = db.session.get(Review, review.id).score_of(key)
    assert saved.justification == "a" * 24 + "\n" + "b" * 24


def test_a_justification_too_long_is_refused_beside_its_field(world, review, client, login):
    call = world.call
    key = call.criteria[0].key
    login(world.reviewers[0].email)
    html = _html(client.post(f"/reviews/{review.id}", data=_post(call, {}, {key: "x" * (JUSTIFICATION_MAX + 1)})))
    assert f"Write at most {JUSTIFICATION_MAX:,} characters." in html
    assert db.session.get(Review, review.id).status == ReviewStatus.ASSIGNED


# The running weighted total ----------------------------------------------------------------------------------


def test_the_page_shows_the_servers_running_total_of_the_saved_scores(world, review, client, login):
    call = world.call
    login(world.reviewers[0].email)
    url = f"/reviews/{review.id}"
    assert _running_total(_html(client.get(url))) == _expected(call, {})

    given = {c.key: POINTS[i] for i, c in enumerate(call.criteria[:3])}
    client.post(url, data=_post(call, given, {}))
    html = _html(client.get(url))
    assert _running_total(html) == _expected(call, given)
    tag = re.search(r'<p class="running-total"[^>]*>', html).group(0)
    assert "data-running-total" in tag and 'data-total-max="15"' in tag

    # A refused post shows the total of the valid scores as typed (one off the scale is left out).
    typed = dict(given, **{call.criteria[3].key: "3.7", call.criteria[4].key: "2"})
    html = _html(client.post(url, data=_post(call, typed, {})))
    assert "not a whole step" in html
    assert _running_total(html) == _expected(call, dict(given, **{call.criteria[4].key: "2"}))

    # Every criterion scored: the review's total, as the server's aggregation computes it.
    every = {c.key: POINTS[i] for i, c in enumerate(call.criteria)}
    client.post(url, data=_post(call, every, justifications(call)))
    html = _html(client.get(url))
    assert _running_total(html) == _expected(call, every)
    db.session.expire_all()
    stored = {s.criterion_key: s.score for s in db.session.get(Review, review.id).scores}
    total = weighted_sum(stored, services.scoring_of(call))
    assert f"Weighted total: {plain_number(display(total))} of 15" in _running_total(html)
    # The confirmation page of the submission says the same total.
    client.post(url, data={**_post(call, every, justifications(call), submit=True)})
    assert f"Weighted total {plain_number(display(total))} of 15" in _text(_html(client.get(f"{url}/submit")))


def test_a_submitted_review_shows_its_total_read_only(world, review, client, login):
    call = world.call
    every = {c.key: POINTS[i] for i, c in enumerate(call.criteria)}
    services.save_review(review, scores=every, justifications=justifications(call), submit=True,
                         actor=world.reviewers[0], now=DURING)
    db.session.commit()
    login(world.reviewers[0].email)
    html = _html(client.get(f"/reviews/{review.id}"))
    assert _running_total(html) == _expected(call, every)
    assert "data-running-total" not in html and "/static/review.js" not in html
    # The read-only pane scrolls on its own on a wide screen: it can take the keyboard's focus.
    assert re.search(r'<section id="scoring"[^>]*tabindex="0"', html)


def _scoring(*weights: str) -> Scoring:
    return Scoring(criteria=tuple(CriterionSpec(f"c{i}", D(w)) for i, w in enumerate(weights)))


@pytest.mark.parametrize(("weights", "scores", "shown", "scored"), [
    (("0.5", "0.4"), {}, "0", 0),
    (("0.5", "0.4"), {"c0": "3.5"}, "1.75", 1),
    (("0.5", "0.4"), {"c0": "3.5", "c1": "4"}, "3.35", 2),
    (("0.125", "1"), {"c0": "0.5", "c1": "0"}, "0.06", 2),  # 0.0625 rounds down
    (("0.005", "1"), {"c0": "1"}, "0.01", 1),  # 0.005 rounds half up
    (("0.0125", "1"), {"c0": "1.5"}, "0.02", 1),  # 0.01875
    (("2", "1"), {"c0": "5", "c1": "5"}, "15", 2),  # no trailing zeros
])
def test_the_running_total_by_the_servers_formula(weights, scores, shown, scored):
    scoring = _scoring(*weights)
    total = running_total(scores, scoring)
    assert (total.shown, total.scored, total.criteria) == (shown, scored, 2)
    assert total.maximum == D(5) * sum((D(w) for w in weights), D(0))
    if total.complete:
        assert total.value == weighted_sum({k: D(v) for k, v in scores.items()}, scoring)


@pytest.mark.parametrize("bad", ["", "  ", "3.7", "5.5", "-1", "abc", "NaN", "Infinity", "1e1"])
def test_a_score_off_the_scale_or_not_a_number_is_left_out_of_the_running_total(bad):
    total = running_total({"c0": bad, "c1": "2"}, _scoring("0.5", "0.4"))
    assert total == RunningTotal(value=D("0.8"), scored=1, criteria=2, maximum=D("4.5"))


def test_the_form_labels_come_from_the_criteria(app, world):
    scale = services.scoring_of(world.call).scale
    with app.test_request_context():
        form = review_form(world.call.criteria, scale, 50, formdata=None)
        for criterion in world.call.criteria:
            assert form.score(criterion.key).label.text.startswith(f"Score for {criterion.title} (0–5, weight ")
            assert form.justification(criterion.key).label.text == f"Justification for {criterion.title}"
