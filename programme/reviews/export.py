"""The Excel exports of a call's review: the score matrix (proposal x reviewer x criterion, with the
justifications) and the ranking with its funding line and the decisions.

Both are written with the streaming workbook. The score matrix reads the database in batches of
proposals (keyset on the reference, plain Core rows that the session does not track), so its memory
does not grow with the number of reviews; the ranking workbook writes the computed ranking
(``services.call_results``), which the ranking page holds in memory anyway.

Scores are written as exact ``Decimal`` s (derived scores rounded by ``domain.display``, two places),
never floats; money cells carry the ``Money`` marker.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator, Sequence
from datetime import datetime
from decimal import Decimal
from fractions import Fraction
from typing import Any, BinaryIO

from openpyxl.cell import WriteOnlyCell
from sqlalchemy import or_, select

from programme.accounts.models import ApplicantGroup, User
from programme.calls.models import Call
from programme.core.access import Actor, Role, require_role
from programme.core.db import utcnow
from programme.core.spreadsheets import Money, StreamingWorkbook
from programme.core.texts import gettext as _
from programme.core.texts import lazy_gettext as _l
from programme.core.texts import lazy_pgettext
from programme.core.timezone import to_local
from programme.extensions import db
from programme.proposals.models import Proposal
from programme.reviews import services
from programme.reviews.aggregation import weighted_sum
from programme.reviews.domain import display
from programme.reviews.models import ConsensusScore, Outcome, Review, ReviewScore, ReviewStatus

#: The sheets' titles, in the language of whoever asks for the workbook (``str(...)`` of them).
SCORES = _l("Scores")
REVIEWS = _l("Reviews")
CONSENSUS = _l("Consensus")
RANKING = _l("Ranking")
SUMMARY = _l("Summary")

#: Scores: two decimals. Weights: at least two, up to the four the database keeps.
SCORE_FORMAT = "0.00"
WEIGHT_FORMAT = "0.00##"

#: Proposals read per batch by the score matrix (each brings its reviews x criteria score rows).
BATCH = 200

RANKED_AS = {"funded": lazy_pgettext("ranked as", "Funded"), "reserve": lazy_pgettext("ranked as", "Reserve"),
             "not_fundable": lazy_pgettext("ranked as", "Not fundable"),
             "not_scored": lazy_pgettext("ranked as", "Not scored")}
PLACED_BY = {None: "", "total": _l("total"), "requested": _l("smaller amount"),
             "submitted_at": _l("earlier submission"), "proposal_id": _l("proposal id")}
FUNDING_LINES = {
    "stop": _l("stop: funding stops at the first fundable proposal that does not fit what is left"),
    "skip": _l("skip: a proposal that does not fit is passed over and the next that fits is funded"),
}


# ---------------------------------------------------------------------------------------------
# Cells


def _number(book: StreamingWorkbook, sheet: str, value: Decimal | None, number_format: str = SCORE_FORMAT) -> Any:
    """A Decimal written as a number with ``number_format`` (``None`` stays an empty cell)."""
    if value is None:
        return None
    if not isinstance(value, Decimal):
        raise TypeError(f"scores go into a workbook as Decimal, not {type(value).__name__}")
    cell = WriteOnlyCell(book.sheets[sheet], value=value)
    cell.number_format = number_format
    return cell


def _local(moment: datetime | None, timezone: str) -> datetime | None:
    return None if moment is None else to_local(moment, timezone)


def _yes(flag: bool) -> str:
    return _("yes") if flag else _("no")


# ---------------------------------------------------------------------------------------------
# The score matrix


def _proposal_batches(call: Call, size: int) -> Iterator[list[tuple[int, str]]]:
    """(id, reference) of the call's proposals with a review or a consensus score, by reference, in
    batches (keyset: each batch starts after the last reference of the previous one)."""
    reviewed = select(Review.proposal_id).where(Review.call_id == call.id)
    agreed = select(ConsensusScore.proposal_id)
    base = (
        select(Proposal.id, Proposal.reference)
        .where(Proposal.call_id == call.id, Proposal.reference.is_not(None),
               or_(Proposal.id.in_(reviewed), Proposal.id.in_(agreed)))
        .order_by(Proposal.reference)
        .limit(size)
    )
    last: str | None = None
    while True:
        query = base if last is None else base.where(Proposal.reference > last)
        rows = [(r.id, r.reference) for r in db.session.execute(query)]
        if not rows:
            return
        yield rows
        last = rows[-1][1]


def write_score_matrix(call: Call, target: str | BinaryIO, *, actor: Actor, timezone: str,
                       now: datetime | None = None, batch: int = BATCH) -> int:
    """Write the call's score matrix to an .xlsx: sheet "Scores" with one row per (proposal, reviewer,
    criterion) of the submitted reviews, "Reviews" with one row per review (submitted or not) and its
    reviewer's weighted total, "Consensus" with the consensus scores and their reasons. Managers only.
    Returns the number of score rows. ``now`` (default: the current time) decides whether an unsubmitted
    review is late."""
    require_role(actor, Role.PROGRAMME_MANAGER)
    now = now or utcnow()
    scoring = services.scoring_of(call)
    titles = {c.key: c.title for c in call.criteria}
    position = {c.key: i for i, c in enumerate(scoring.criteria)}
    weights = {c.key: c.weight for c in scoring.criteria}
    deadline = call.review_deadline
    zone = timezone
    scores_sheet, reviews_sheet, consensus_sheet = str(SCORES), str(REVIEWS), str(CONSENSUS)

    book = StreamingWorkbook()
    book.add_sheet(scores_sheet, [
        _("Reference"), _("Title"), _("Applicant group"), _("Reviewer"), _("Reviewer e-mail"), _("Criterion"),
        _("Criterion title"), _("Weight"), _("Score"), _("Justification"),
        _("Review submitted (%(zone)s)", zone=zone), _("Late"),
    ], widths=[24, 36, 28, 24, 30, 20, 40, 8, 8, 80, 17, 6])
    book.add_sheet(reviews_sheet, [
        _("Reference"), _("Title"), _("Applicant group"), _("Reviewer"), _("Reviewer e-mail"), _("Status"),
        _("Version reviewed"), _("Assigned (%(zone)s)", zone=zone), _("Assigned by"),
        _("Last saved (%(zone)s)", zone=zone), _("Submitted (%(zone)s)", zone=zone), _("Reopened"), _("Late"),
        _("Reviewer total"),
    ], widths=[24, 36, 28, 24, 30, 14, 9, 17, 24, 17, 17, 9, 6, 10])
    book.add_sheet(consensus_sheet, [
        _("Reference"), _("Title"), _("Criterion"), _("Criterion title"), _("Consensus score"),
        _("Mean of the reviews"), _("Lowest"), _("Highest"), _("Spread"), _("Reason"), _("Recorded by"),
        _("Recorded (%(zone)s)", zone=zone),
    ], widths=[24, 36, 20, 40, 10, 10, 8, 8, 8, 60, 24, 17])

    score_query = (
        select(Review.proposal_id, Proposal.reference, Proposal.title, ApplicantGroup.name.label("group_name"),
               Review.id.label("review_id"), User.name.label("reviewer_name"), User.email.label("reviewer_email"),
               Review.submitted_at, ReviewScore.criterion_key, ReviewScore.score, ReviewScore.justification)
        .select_from(ReviewScore)
        .join(Review, Review.id == ReviewScore.review_id)
        .join(Proposal, Proposal.id == Review.proposal_id)
        .join(ApplicantGroup, ApplicantGroup.id == Proposal.group_id)
        .join(User, User.id == Review.reviewer_id)
        .where(Review.call_id == call.id, Review.status == ReviewStatus.SUBMITTED)
    )
    review_query = (
        select(Review.id, Review.proposal_id, Proposal.reference, Proposal.title,
               ApplicantGroup.name.label("group_name"), User.name.label("reviewer_name"),
               User.email.label("reviewer_email"), Review.status, Review.version_number, Review.assigned_at,
               Review.assigned_by, Review.saved_at, Review.submitted_at, Review.reopened_count)
        .join(Proposal, Proposal.id == Review.proposal_id)
        .join(ApplicantGroup, ApplicantGroup.id == Proposal.group_id)
        .join(User, User.id == Review.reviewer_id)
        .where(Review.call_id == call.id)
    )
    consensus_query = (
        select(ConsensusScore.proposal_id, Proposal.reference, Proposal.title, ConsensusScore.criterion_key,
               ConsensusScore.score, ConsensusScore.reason, ConsensusScore.recorded_at,
               User.name.label("recorded_by"))
        .join(Proposal, Proposal.id == ConsensusScore.proposal_id)
        .outerjoin(User, User.id == ConsensusScore.recorded_by_id)
    )

    count = 0
    for proposals in _proposal_batches(call, batch):
        ids = [pid for pid, _ in proposals]
        rows = db.session.execute(score_query.where(Review.proposal_id.in_(ids))).all()
        rows.sort(key=lambda r: (r.reference, r.reviewer_name, r.review_id, position.get(r.criterion_key, 99),
                                 r.criterion_key))
        # This batch's submitted scores: per review (for its total) and per proposal and criterion.
        by_review: dict[int, dict[str, Decimal | None]] = defaultdict(dict)
        by_criterion: dict[tuple[int, str], list[Decimal]] = defaultdict(list)
        for r in rows:
            count += 1
            by_review[r.review_id][r.criterion_key] = r.score
            if r.score is not None:
                by_criterion[(r.proposal_id, r.criterion_key)].append(r.score)
            late = deadline is not None and r.submitted_at is not None and r.submitted_at > deadline
            book.append(scores_sheet, [
                r.reference, r.title, r.group_name,
                r.reviewer_name, r.reviewer_email, r.criterion_key,
                titles.get(r.criterion_key, ""),
                _number(book, scores_sheet, weights.get(r.criterion_key), WEIGHT_FORMAT),
                _number(book, scores_sheet, r.score), r.justification,
                _local(r.submitted_at, timezone), _yes(late),
            ])

        reviews = db.session.execute(review_query.where(Review.proposal_id.in_(ids))).all()
        reviews.sort(key=lambda r: (r.reference, r.reviewer_name, r.id))
        for r in reviews:
            status = ReviewStatus(r.status)
            late = deadline is not None and (r.submitted_at or now) > deadline
            given = by_review.get(r.id, {})
            total = None
            if status == ReviewStatus.SUBMITTED and all(given.get(k) is not None for k in scoring.keys):
                total = display(weighted_sum(given, scoring))
            book.append(reviews_sheet, [
                r.reference, r.title, r.group_name,
                r.reviewer_name, r.reviewer_email, status.label, r.version_number,
                _local(r.assigned_at, timezone), r.assigned_by, _local(r.saved_at, timezone),
                _local(r.submitted_at, timezone), r.reopened_count, _yes(late), _number(book, reviews_sheet, total),
            ])

        agreed = db.session.execute(consensus_query.where(ConsensusScore.proposal_id.in_(ids))).all()
        agreed.sort(key=lambda r: (r.reference, position.get(r.criterion_key, 99), r.criterion_key))
        for r in agreed:
            values = by_criterion.get((r.proposal_id, r.criterion_key), [])
            mean = display(Fraction(sum(values, Decimal(0))) / len(values)) if values else None
            low, high = (min(values), max(values)) if values else (None, None)
            book.append(consensus_sheet, [
                r.reference, r.title, r.criterion_key, titles.get(r.criterion_key, ""),
                _number(book, consensus_sheet, r.score), _number(book, consensus_sheet, mean),
                _number(book, consensus_sheet, low), _number(book, consensus_sheet, high),
                _number(book, consensus_sheet, None if high is None or low is None else high - low),
                r.reason, r.recorded_by or "",
                _local(r.recorded_at, timezone),
            ])
    book.save(target)
    return count


# ---------------------------------------------------------------------------------------------
# The ranking with decisions


def write_ranking_workbook(call: Call, target: str | BinaryIO, *, actor: Actor, timezone: str,
                           now: datetime | None = None) -> int:
    """Write the ranking with its funding line and the decisions to an .xlsx: sheet "Ranking" (the
    fundable proposals in rank order, then the not fundable and the not scored ones) and a "Summary"
    sheet (budget, used, remaining, funding-line mode, counts). Returns the number of
    proposals written. Managers and auditors."""
    require_role(actor, Role.PROGRAMME_MANAGER, Role.AUDITOR)
    now = now or utcnow()
    results = services.call_results(call, actor=actor)
    scoring = results.scoring
    ranking = results.ranking
    cur = call.currency
    titles = {c.key: c.title for c in call.criteria}
    keys = scoring.keys
    deciders = {d.decided_by_id for d in results.decisions.values() if d.decided_by_id is not None}
    names = dict(db.session.execute(select(User.id, User.name).where(User.id.in_(deciders))).all()) if deciders else {}

    ranking_sheet, summary_sheet = str(RANKING), str(SUMMARY)
    book = StreamingWorkbook()
    headers = [
        _("Rank"), _("Reference"), _("Title"), _("Applicant group"), _("Reviews submitted"), _("Reviews assigned"),
        _("Total"), *(f"{titles.get(k, k)} ({k})" for k in keys), _("Flagged for consensus"), _("Fundable"),
        _("Why not fundable"), _("Requested (%(currency)s)", currency=cur),
        _("Start-up grant (%(currency)s)", currency=cur), _("Budget left at its turn (%(currency)s)", currency=cur),
        _("Ranking"), _("Placed after the previous by"), _("Decision"), _("Decision reason"), _("Against the ranking"),
        _("Decided amount (%(currency)s)", currency=cur), _("Decided by"), _("Decided (%(zone)s)", zone=timezone),
    ]
    book.add_sheet(ranking_sheet, headers, widths=[6, 24, 36, 28, 9, 9, 8, *([10] * len(keys)), 10, 9, 50,
                                             14, 14, 14, 12, 18, 10, 50, 9, 14, 24, 17])

    def decision_cells(pid: int) -> list[Any]:
        decision = results.decisions.get(pid)
        if decision is None:
            return [None, None, None, None, None, None]
        outcome = Outcome(decision.outcome)
        return [outcome.label, decision.reason, _yes(decision.against_ranking),
                None if decision.amount is None else Money(decision.amount),
                names.get(decision.decided_by_id, "") if decision.decided_by_id else "",
                _local(decision.decided_at, timezone)]

    def row(pid: int, rank: int | None, status: str, available: Decimal | None, placed_by: str | None) -> None:
        info = results.rows[pid]
        score = results.scores[pid]
        counted = [display(score.criterion(k).counted) if score.scored else None for k in keys]
        if placed_by is not None and placed_by in titles:
            placed = titles[placed_by]
        else:
            placed = str(PLACED_BY.get(placed_by, placed_by or ""))
        book.append(ranking_sheet, [
            rank, info.reference, info.title, info.group_name,
            info.submitted, info.assigned, _number(book, ranking_sheet, display(score.total)),
            *(_number(book, ranking_sheet, value) for value in counted),
            _yes(score.flagged) if score.scored else "", _yes(score.fundable),
            "" if score.fundable else "; ".join(score.reasons),
            Money(info.requested), Money(info.amount), None if available is None else Money(available),
            str(RANKED_AS[status]), placed, *decision_cells(pid),
        ])

    count = 0
    for place in ranking.ranked:
        row(place.proposal_id, place.rank, place.status, place.available, place.decided_by)
        count += 1
    not_fundable = not_scored = 0
    for entry in ranking.not_fundable:
        scored = results.scores[entry.proposal_id].scored
        not_fundable += scored
        not_scored += not scored
        row(entry.proposal_id, None, "not_fundable" if scored else "not_scored", None, None)
        count += 1

    decisions = list(results.decisions.values())
    outcomes = [Outcome(d.outcome) for d in decisions]
    committed = sum((d.amount for d in decisions if d.amount is not None and Outcome(d.outcome) == Outcome.FUNDED),
                    Decimal(0))
    funded = len(ranking.funded)
    book.add_sheet(summary_sheet, [_("Item"), _("Value")], widths=[44, 60])
    summary: Sequence[tuple[str, Any]] = [
        (_("Call"), call.reference),
        (_("Name"), call.name),
        (_("Status"), call.status.label),
        (_("Currency"), cur),
        (_("Budget (%(currency)s)", currency=cur), Money(ranking.budget)),
        (_("Used by the ranking's funded proposals (%(currency)s)", currency=cur), Money(ranking.used)),
        (_("Remaining (%(currency)s)", currency=cur), Money(ranking.remaining)),
        (_("Funding line"), str(FUNDING_LINES.get(ranking.funding_line, ranking.funding_line))),
        (_("Tie-break order"), ", ".join([*(titles.get(k, k) for k in ranking.tie_break), _("smaller amount"),
                                          _("earlier submission")])),
        (_("Overall threshold"), _number(book, summary_sheet, scoring.overall_threshold)),
        (_("Proposals in the review"), len(results.rows)),
        (_("Scored"), sum(1 for s in results.scores.values() if s.scored)),
        (_("Fundable (ranked)"), len(ranking.ranked)),
        (_("Funded by the ranking"), funded),
        (_("Reserve list"), len(ranking.ranked) - funded),
        (_("Not fundable"), not_fundable),
        (_("Not scored"), not_scored),
        (_("Flagged for consensus"), sum(1 for s in results.scores.values() if s.flagged)),
        (_("Waiting for a consensus score"), sum(1 for s in results.scores.values() if s.needs_consensus)),
        (_("Decisions recorded"), len(decisions)),
        (_("Decided funded"), outcomes.count(Outcome.FUNDED)),
        (_("Decided reserve"), outcomes.count(Outcome.RESERVE)),
        (_("Decided rejected"), outcomes.count(Outcome.REJECTED)),
        (_("Decisions against the ranking"), sum(1 for d in decisions if d.against_ranking)),
        (_("Committed by the funded decisions (%(currency)s)", currency=cur), Money(committed)),
        (_("Exported (%(zone)s)", zone=timezone), to_local(now, timezone)),
    ]
    for label, value in summary:
        book.append(summary_sheet, [label, value])
    book.save(target)
    return count
