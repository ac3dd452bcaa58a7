"""The review's Excel exports, written to memory and read back with openpyxl: the score matrix (scores,
reviews, consensus) and the ranking with its decisions."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal
from fractions import Fraction
from io import BytesIO

import pytest
from openpyxl import load_workbook

from programme.core.access import AccessDenied
from programme.core.timezone import to_local
from programme.reviews import services
from programme.reviews.aggregation import weighted_sum
from programme.reviews.domain import display
from programme.reviews.export import write_ranking_workbook, write_score_matrix
from programme.reviews.models import Outcome
from tests.reviews.world import DEADLINE, DURING, GOOD, assign, build, submit_review

ZONE = "Africa/Johannesburg"
D = Decimal


def _read(buffer: BytesIO):
    return load_workbook(BytesIO(buffer.getvalue()))


def _rows(sheet) -> tuple[list, list[dict]]:
    rows = [[cell.value for cell in row] for row in sheet.iter_rows()]
    header = rows[0]
    return header, [dict(zip(header, row, strict=True)) for row in rows[1:]]


def _dec(value) -> Decimal | None:
    """A number read back from a cell, as the Decimal it was written from."""
    return None if value is None else Decimal(str(value))


def _local(moment):
    return to_local(moment, ZONE).replace(tzinfo=None)


def _values(call, *points: str) -> dict[str, Decimal]:
    """Scores per criterion, in the call's order, cycling through ``points``."""
    return {c.key: D(points[i % len(points)]) for i, c in enumerate(call.criteria)}


def _submit(review, values, texts=None, *, now=DURING):
    call = review.call
    texts = texts or {c.key: f"{GOOD} ({c.key}, review {review.id})" for c in call.criteria}
    return services.save_review(review, scores=values, justifications=texts, submit=True, actor=review.reviewer,
                                now=now)


SCORE_HEADERS = [
    "Reference", "Title", "Applicant group", "Reviewer", "Reviewer e-mail", "Criterion", "Criterion title",
    "Weight", "Score", "Justification", f"Review submitted ({ZONE})", "Late",
]
REVIEW_HEADERS = [
    "Reference", "Title", "Applicant group", "Reviewer", "Reviewer e-mail", "Status", "Version reviewed",
    f"Assigned ({ZONE})", "Assigned by", f"Last saved ({ZONE})", f"Submitted ({ZONE})", "Reopened", "Late",
    "Reviewer total",
]
CONSENSUS_HEADERS = [
    "Reference", "Title", "Criterion", "Criterion title", "Consensus score", "Mean of the reviews", "Lowest",
    "Highest", "Spread", "Reason", "Recorded by", f"Recorded ({ZONE})",
]


@pytest.fixture
def reviewed(app):
    """Three proposals: the first two with three submitted reviews each (one of them late, one with awkward
    text), the third with a draft only; a consensus score on the first."""
    world = build(proposals=3, reviewers=4)
    call = world.call
    r = world.reviewers
    first = assign(world, world.proposals[0], r[0], r[1], r[2])
    second = assign(world, world.proposals[1], r[1], r[2], r[3])
    (draft,) = assign(world, world.proposals[2], r[0])
    keys = [c.key for c in call.criteria]
    awkward = {k: f"{GOOD} ({k})" for k in keys}
    awkward[keys[0]] = "=SUM(A1:A9) is not a formula here, only the reviewer's text, long enough."
    awkward[keys[1]] = "A vertical tab\x0bin pasted text is dropped, and the rest of it is kept as written."
    _submit(first[0], _values(call, "4", "3.5", "5"), awkward)
    _submit(first[1], _values(call, "3", "4.5"))
    _submit(first[2], _values(call, "4.5", "4", "3.5", "5"))
    _submit(second[0], _values(call, "3.5"))
    _submit(second[1], _values(call, "3", "2.5"))
    _submit(second[2], _values(call, "4"), now=DEADLINE + timedelta(hours=5))  # late
    services.save_review(draft, scores=_values(call, "0.5"),
                         justifications={k: "DRAFT NOT IN THE MATRIX" for k in keys},
                         submit=False, actor=draft.reviewer, now=DURING)
    services.record_consensus(world.proposals[0], criterion_key=keys[2], score=D("4"),
                              reason="The panel agreed the composition is strong.", actor=world.manager, now=DURING)
    world.extra.update(first=first, second=second, draft=draft, keys=keys)
    return world


def test_the_score_matrix_holds_every_submitted_score_with_its_justification(reviewed):
    world = reviewed
    call = world.call
    buffer = BytesIO()
    count = write_score_matrix(call, buffer, actor=world.manager, timezone=ZONE, now=DURING)
    keys = world.extra["keys"]
    assert count == 6 * len(keys)

    book = _read(buffer)
    assert book.sheetnames == ["Scores", "Reviews", "Consensus"]
    header, rows = _rows(book["Scores"])
    assert header == SCORE_HEADERS
    assert len(rows) == count
    weights = {c.key: c.weight for c in call.criteria}
    titles = {c.key: c.title for c in call.criteria}
    expected = {}
    for review in world.extra["first"] + world.extra["second"]:
        for score in review.scores:
            expected[(review.proposal.reference, review.reviewer.email, score.criterion_key)] = (review, score)
    seen = set()
    for row in rows:
        key = (row["Reference"], row["Reviewer e-mail"], row["Criterion"])
        review, score = expected[key]
        seen.add(key)
        assert row["Title"] == review.proposal.title
        assert row["Applicant group"] == review.proposal.group.name
        assert row["Reviewer"] == review.reviewer.name
        assert row["Criterion title"] == titles[score.criterion_key]
        assert _dec(row["Weight"]) == weights[score.criterion_key]
        assert _dec(row["Score"]) == score.score
        assert row["Justification"] == score.justification.replace("\x0b", "")
        assert row[f"Review submitted ({ZONE})"] == _local(review.submitted_at)
        assert row["Late"] == ("yes" if review.submitted_at > DEADLINE else "no")
    assert seen == set(expected)
    # Rows come by proposal, then reviewer, then criterion in the call's order.
    first_block = [r["Criterion"] for r in rows[:len(keys)]]
    assert first_block == keys
    assert [r["Reference"] for r in rows] == sorted(r["Reference"] for r in rows)
    # The draft's scores and text are nowhere in the matrix.
    draft = world.extra["draft"]
    assert draft.proposal.reference not in {r["Reference"] for r in rows}
    assert all("DRAFT" not in (r["Justification"] or "") for r in rows)
    # The reviewer's text is text: a leading '=' is not a formula, a control character is dropped.
    sheet = book["Scores"]
    formula_like = [c for row in sheet.iter_rows(min_row=2) for c in row
                    if isinstance(c.value, str) and c.value.startswith("=SUM")]
    assert len(formula_like) == 1 and formula_like[0].data_type == "s"
    assert any(r["Justification"].startswith("A vertical tabin pasted text") for r in rows)
    assert sum(1 for r in rows if r["Late"] == "yes") == len(keys)
    assert sheet["I2"].number_format == "0.00"


def test_the_reviews_sheet_has_every_review_and_each_reviewer_total(reviewed):
    world = reviewed
    scoring = services.scoring_of(world.call)
    buffer = BytesIO()
    write_score_matrix(world.call, buffer, actor=world.manager, timezone=ZONE, now=DURING)
    header, rows = _rows(_read(buffer)["Reviews"])
    assert header == REVIEW_HEADERS
    assert len(rows) == 7
    by_pair = {(r["Reference"], r["Reviewer e-mail"]): r for r in rows}
    for review in world.extra["first"] + world.extra["second"]:
        row = by_pair[(review.proposal.reference, review.reviewer.email)]
        total = weighted_sum({s.criterion_key: s.score for s in review.scores}, scoring)
        assert _dec(row["Reviewer total"]) == display(total)
        assert row["Status"] == "Submitted"
        assert row[f"Submitted ({ZONE})"] == _local(review.submitted_at)
        assert row[f"Assigned ({ZONE})"] == _local(review.assigned_at)
        assert row["Assigned by"] == world.manager.email
        assert row["Reopened"] == 0 and row["Version reviewed"] == 1
    draft = world.extra["draft"]
    row = by_pair[(draft.proposal.reference, draft.reviewer.email)]
    assert row["Status"] == "Draft saved"
    assert row["Reviewer total"] is None and row[f"Submitted ({ZONE})"] is None
    assert row["Late"] == "no"
    # After the deadline an unsubmitted review is late.
    buffer = BytesIO()
    write_score_matrix(world.call, buffer, actor=world.manager, timezone=ZONE, now=DEADLINE + timedelta(days=1))
    _, rows = _rows(_read(buffer)["Reviews"])
    assert [r["Late"] for r in rows if r["Status"] == "Draft saved"] == ["yes"]


def test_the_consensus_sheet_gives_the_agreed_score_beside_the_reviews(reviewed):
    world = reviewed
    key = world.extra["keys"][2]
    buffer = BytesIO()
    write_score_matrix(world.call, buffer, actor=world.manager, timezone=ZONE, now=DURING)
    header, rows = _rows(_read(buffer)["Consensus"])
    assert header == CONSENSUS_HEADERS
    assert len(rows) == 1
    row = rows[0]
    values = [r.score_of(key).score for r in world.extra["first"]]
    assert row["Reference"] == world.proposals[0].reference and row["Criterion"] == key
    assert _dec(row["Consensus score"]) == D("4")
    assert _dec(row["Mean of the reviews"]) == display(Fraction(sum(values)) / 3)
    assert (_dec(row["Lowest"]), _dec(row["Highest"])) == (min(values), max(values))
    assert _dec(row["Spread"]) == max(values) - min(values)
    assert row["Reason"] == "The panel agreed the composition is strong."
    assert row["Recorded by"] == world.manager.name


def test_the_score_matrix_is_the_same_whatever_the_batch_size(reviewed):
    world = reviewed
    books = []
    for batch in (1, 2, 200):
        buffer = BytesIO()
        write_score_matrix(world.call, buffer, actor=world.manager, timezone=ZONE, now=DURING, batch=batch)
        book = _read(buffer)
        books.append({name: [[c.value for c in row] for row in book[name].iter_rows()] for name in book.sheetnames})
    assert books[0] == books[1] == books[2]


def test_a_call_without_reviews_gives_headers_only(app):
    world = build(proposals=2, reviewers=3)
    buffer = BytesIO()
    assert write_score_matrix(world.call, buffer, actor=world.manager, timezone=ZONE) == 0
    book = _read(buffer)
    assert _rows(book["Scores"]) == (SCORE_HEADERS, [])
    assert _rows(book["Reviews"]) == (REVIEW_HEADERS, [])
    assert _rows(book["Consensus"]) == (CONSENSUS_HEADERS, [])


def test_the_ranking_workbook_matches_the_ranking(app):
    # Three proposals of 30,000 against a budget of 60,000, a fourth that falls below the thresholds
    # and a fifth without any review.
    world = build(proposals=5, reviewers=4, budget=D("60000.00"),
                  requested=[D("30000.00"), D("30000.00"), D("30000.00"), D("20000.00"), D("10000.00")])
    call = world.call
    r = world.reviewers
    plan = [("4", "3.5", "4.5"), ("4", "4.5"), ("3.5", "4"), ("2", "3")]
    for proposal, points in zip(world.proposals, plan, strict=False):
        for index, review in enumerate(assign(world, proposal, r[0], r[1], r[2])):
            submit_review(review, _values(call, *points[index:], *points[:index]))
    assign(world, world.proposals[4], r[3])
    results = services.call_results(call, actor=world.manager)
    ranked = results.ranking.ranked
    assert [p.status for p in ranked] == ["funded", "funded", "reserve"]
    services.record_decision(next(p for p in world.proposals if p.id == ranked[0].proposal_id),
                             outcome=Outcome.RESERVE, reason="Waits for a clarification of its budget.",
                             actor=world.manager, now=DURING)
    results = services.call_results(call, actor=world.manager)

    buffer = BytesIO()
    assert write_ranking_workbook(call, buffer, actor=world.manager, timezone=ZONE, now=DURING) == 5
    book = _read(buffer)
    assert book.sheetnames == ["Ranking", "Summary"]
    header, rows = _rows(book["Ranking"])
    titles = [f"{c.title} ({c.key})" for c in call.criteria]
    assert header[:7] == ["Rank", "Reference", "Title", "Applicant group", "Reviews submitted", "Reviews assigned",
                          "Total"]
    assert header[7:7 + len(titles)] == titles
    assert header[7 + len(titles):] == [
        "Flagged for consensus", "Fundable", "Why not fundable", "Requested (EUR)", "Start-up grant (EUR)",
        "Budget left at its turn (EUR)", "Ranking", "Placed after the previous by", "Decision", "Decision reason",
        "Against the ranking", "Decided amount (EUR)", "Decided by", f"Decided ({ZONE})",
    ]
    references = {p.id: p.reference for p in world.proposals}
    order = [p.proposal_id for p in ranked] + [e.proposal_id for e in results.ranking.not_fundable]
    assert [row["Reference"] for row in rows] == [references[pid] for pid in order]
    for row, pid in zip(rows, order, strict=True):
        score = results.scores[pid]
        info = results.rows[pid]
        place = results.ranking.place(pid)
        assert row["Rank"] == (place.rank if place else None)
        assert _dec(row["Total"]) == display(score.total)
        for criterion, title in zip(call.criteria, titles, strict=True):
            expected = display(score.criterion(criterion.key).counted) if score.scored else None
            assert _dec(row[title]) == expected
        assert row["Fundable"] == ("yes" if score.fundable else "no")
        assert row["Why not fundable"] == (None if score.fundable else "; ".join(score.reasons))
        assert _dec(row["Requested (EUR)"]) == info.requested
        assert _dec(row["Start-up grant (EUR)"]) == info.amount
        assert _dec(row["Budget left at its turn (EUR)"]) == (place.available if place else None)
        status, _ = results.ranked_as(pid)
        assert row["Ranking"] == {"funded": "Funded", "reserve": "Reserve", "not_fundable": "Not fundable",
                                  "not_scored": "Not scored"}[status]
        assert (row["Reviews submitted"], row["Reviews assigned"]) == (info.submitted, info.assigned)
    # A total with no exact decimal form is rounded for display, two places, from the exact value.
    first = rows[0]
    assert _dec(first["Total"]) == display(results.scores[ranked[0].proposal_id].total)
    assert first["Placed after the previous by"] is None
    assert rows[1]["Placed after the previous by"] == "total"
    assert rows[3]["Ranking"] == "Not fundable" and "below" in rows[3]["Why not fundable"]
    assert rows[4]["Ranking"] == "Not scored" and rows[4]["Total"] is None
    # The decision against the ranking.
    decided = rows[0]
    assert decided["Decision"] == "Reserve" and decided["Against the ranking"] == "yes"
    assert decided["Decision reason"] == "Waits for a clarification of its budget."
    assert decided["Decided by"] == world.manager.name and decided[f"Decided ({ZONE})"] == _local(DURING)
    assert decided["Decided amount (EUR)"] is None
    assert all(row["Decision"] is None for row in rows[1:])
    sheet = book["Ranking"]
    assert sheet["G2"].number_format == "0.00"
    assert sheet.cell(row=2, column=header.index("Requested (EUR)") + 1).number_format == "#,##0.00"

    _, summary = _rows(book["Summary"])
    items = {row["Item"]: row["Value"] for row in summary}
    assert _dec(items["Budget (EUR)"]) == D("60000.00")
    assert _dec(items["Used by the ranking's funded proposals (EUR)"]) == results.ranking.used == D("60000.00")
    assert _dec(items["Remaining (EUR)"]) == D("0.00")
    assert items["Funding line"].startswith("stop")
    assert _dec(items["Overall threshold"]) == D("10")
    assert (items["Proposals in the review"], items["Scored"], items["Fundable (ranked)"]) == (5, 4, 3)
    assert (items["Funded by the ranking"], items["Reserve list"]) == (2, 1)
    assert (items["Not fundable"], items["Not scored"]) == (1, 1)
    assert (items["Decisions recorded"], items["Decided reserve"], items["Decisions against the ranking"]) == (1, 1, 1)


def test_only_a_manager_exports(app):
    world = build(proposals=1, reviewers=3)
    for actor in (world.reviewers[0], world.leads[0]):
        with pytest.raises(AccessDenied):
            write_score_matrix(world.call, BytesIO(), actor=actor, timezone=ZONE)
        with pytest.raises(AccessDenied):
            write_ranking_workbook(world.call, BytesIO(), actor=actor, timezone=ZONE)
