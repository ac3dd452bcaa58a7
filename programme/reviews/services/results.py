"""The call's results: the submitted scores aggregated per proposal, the ranking with its funding line,
the reviewers' calibration, and the figures of the review's overview.

Whatever changes the scores, the assignments or the decisions of a call calls ``call.touch_results()``,
so that :func:`results_of` recomputes; between changes its result is kept in memory under the call's
``results_token`` (a random value, so a token is never reused by another call or database).
"""

from __future__ import annotations

import gc
import threading
from collections import OrderedDict, defaultdict
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from fractions import Fraction

from sqlalchemy import case, func, select

from programme.accounts.models import ApplicantGroup, User
from programme.calls.models import Call, CallStatus
from programme.core.access import Actor
from programme.core.i18n import current_language
from programme.extensions import db
from programme.proposals import services as proposal_services
from programme.proposals.models import Proposal, ProposalStatus, ProposalVersion
from programme.reviews import agreement
from programme.reviews.aggregation import Consensus, ProposalScore, aggregate
from programme.reviews.domain import Scoring
from programme.reviews.models import CallReviewer, ConsensusScore, Decision, Review, ReviewScore, ReviewStatus
from programme.reviews.ranking import Ranking, rank_scores
from programme.reviews.services._common import (
    DECIDED,
    IN_REVIEW,
    grant_amount,
    require_decision_reader,
    require_manager,
    scoring_of,
)
from programme.reviews.services.reviewer_pool import pool


@dataclass(frozen=True)
class ProposalRow:
    """What the pages and exports need of a proposal in review."""

    id: int
    reference: str
    title: str
    group_name: str
    requested: Decimal
    amount: Decimal
    submitted_at: datetime
    status: ProposalStatus
    assigned: int
    submitted: int


@dataclass
class CallResults:
    call_id: int
    token: str
    scoring: Scoring
    rows: dict[int, ProposalRow]
    scores: dict[int, ProposalScore]
    ranking: Ranking
    reviews: dict[int, dict[int, dict[str, Decimal]]]
    consensus: dict[int, dict[str, Consensus]]
    decisions: dict[int, Decision] = field(default_factory=dict)

    def ranked_as(self, proposal_id: int) -> tuple[str, int | None]:
        place = self.ranking.place(proposal_id)
        if place is not None:
            return place.status, place.rank
        score = self.scores.get(proposal_id)
        return ("not_fundable" if score is not None and score.scored else "not_scored"), None

    def by_disagreement(self) -> list[int]:
        """Proposal ids, the largest spread on any criterion first (unscored last)."""
        def key(pid: int) -> tuple[int, Fraction, str]:
            spread = self.scores[pid].max_spread
            return (spread is None, -Fraction(spread or 0), self.rows[pid].reference)
        return sorted(self.rows, key=key)


_CACHE: OrderedDict[tuple[str, str], CallResults] = OrderedDict()
_CACHE_LOCK = threading.Lock()
_CACHE_SIZE = 8


@contextmanager
def _collector_paused() -> Iterator[None]:
    """Pause the cyclic garbage collector while the results are built: they are some 300,000 small acyclic
    objects at 5,000 proposals, and the collector would rescan the heap several times over (a third of the
    time). Reference counting still frees everything."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def _submitted_scores(call: Call, scoring: Scoring, rows: Mapping[int, ProposalRow]
                      ) -> dict[int, dict[int, dict[str, Decimal]]]:
    """Proposal -> reviewer -> criterion key -> score of the submitted reviews: one row per review."""
    keys = scoring.keys
    columns = [func.max(case((ReviewScore.criterion_key == key, ReviewScore.score))) for key in keys]
    reviews: dict[int, dict[int, dict[str, Decimal]]] = defaultdict(dict)
    for proposal_id, reviewer_id, *values in db.session.execute(
        select(Review.proposal_id, Review.reviewer_id, *columns)
        .join(ReviewScore, ReviewScore.review_id == Review.id)
        .where(Review.call_id == call.id, Review.status == ReviewStatus.SUBMITTED)
        .group_by(Review.id, Review.proposal_id, Review.reviewer_id)
    ):
        if proposal_id in rows:
            reviews[proposal_id][reviewer_id] = {k: v for k, v in zip(keys, values, strict=True) if v is not None}
    return reviews


def compute_results(call: Call) -> CallResults:
    """The call's results computed afresh, without the cache (what :func:`results_of` keeps)."""
    with _collector_paused():
        return _compute_results(call)


def _compute_results(call: Call) -> CallResults:
    scoring = scoring_of(call)
    token = call.results_token
    counts = {pid: (a, s) for pid, a, s in db.session.execute(
        select(Review.proposal_id, func.count(), func.count(Review.submitted_at))
        .where(Review.call_id == call.id).group_by(Review.proposal_id)
    )}
    rows: dict[int, ProposalRow] = {}
    for r in db.session.execute(
        select(Proposal.id, Proposal.reference, Proposal.title, Proposal.status, ApplicantGroup.name.label("group"),
               ProposalVersion.requested_amount, ProposalVersion.submitted_at.label("version_at"))
        .join(ProposalVersion, (ProposalVersion.proposal_id == Proposal.id)
              & (ProposalVersion.number == Proposal.latest_version))
        .join(ApplicantGroup, ApplicantGroup.id == Proposal.group_id)
        .where(Proposal.call_id == call.id, Proposal.status.in_(IN_REVIEW + DECIDED))
    ):
        assigned, submitted = counts.get(r.id, (0, 0))
        rows[r.id] = ProposalRow(r.id, r.reference or "", r.title, r.group, r.requested_amount,
                                 grant_amount(call, r.requested_amount), r.version_at, r.status, assigned, submitted)

    reviews = _submitted_scores(call, scoring, rows)
    consensus: dict[int, dict[str, Consensus]] = defaultdict(dict)
    for proposal_id, key, score, reason in db.session.execute(
        select(ConsensusScore.proposal_id, ConsensusScore.criterion_key, ConsensusScore.score, ConsensusScore.reason)
        .join(Proposal, Proposal.id == ConsensusScore.proposal_id).where(Proposal.call_id == call.id)
    ):
        consensus[proposal_id][key] = Consensus(score, reason)
    scores = {pid: aggregate(reviews.get(pid, {}), scoring, consensus.get(pid)) for pid in rows}
    ranking = rank_scores(
        scores, scoring, requested={pid: row.amount for pid, row in rows.items()},
        submitted_at={pid: row.submitted_at for pid, row in rows.items()}, budget=call.budget,
    )
    decisions = {d.proposal_id: d for d in db.session.scalars(select(Decision).where(Decision.call_id == call.id))}
    for decision in decisions.values():
        db.session.expunge(decision)
    return CallResults(call.id, token, scoring, rows, scores, ranking, dict(reviews), dict(consensus), decisions)


def call_results(call: Call, *, actor: Actor) -> CallResults:
    """The call's aggregated scores and ranking (managers and auditors read them), computed once per change of
    its results."""
    require_decision_reader(actor)
    return results_of(call)


def results_of(call: Call) -> CallResults:
    """The call's results, from the cache while the call's ``results_token`` is unchanged."""
    # Once per language: the reasons a proposal is not fundable, and the conflicts, are written in it.
    token = (call.results_token, current_language())
    with _CACHE_LOCK:
        cached = _CACHE.get(token)
        if cached is not None and cached.call_id == call.id:
            _CACHE.move_to_end(token)
            return cached
    results = compute_results(call)
    current = db.session.scalar(select(Call.results_token).where(Call.id == call.id))
    if current == token[0] and not db.session.dirty and not db.session.new:
        with _CACHE_LOCK:
            _CACHE[token] = results
            while len(_CACHE) > _CACHE_SIZE:
                _CACHE.popitem(last=False)
    return results


def clear_results_cache() -> None:
    """Forget every call's cached results and calibration (the next reading computes them afresh)."""
    with _CACHE_LOCK:
        _CACHE.clear()
        _CALIBRATIONS.clear()


@dataclass(frozen=True)
class Calibration:
    report: agreement.CalibrationReport
    alpha_totals: Fraction | None
    alpha_scores: Fraction | None
    names: dict[int, str]


_CALIBRATIONS: OrderedDict[str, tuple[agreement.CalibrationReport, Fraction | None, Fraction | None]] = OrderedDict()


def calibration(call: Call, *, actor: Actor) -> Calibration:
    """The reviewers' offsets, the agreement statistics and the calibrated ranking (kept until the next change
    of the call's results, like the results themselves)."""
    require_manager(actor)
    results = results_of(call)
    with _CACHE_LOCK:
        cached = _CALIBRATIONS.get(results.token)
    if cached is None:
        report = agreement.calibration_report(
            results.reviews, results.scoring, consensus=results.consensus,
            requested={pid: row.amount for pid, row in results.rows.items()},
            submitted_at={pid: row.submitted_at for pid, row in results.rows.items()},
            budget=call.budget, scores=results.scores,
        )
        cached = (report, agreement.alpha(results.reviews, results.scoring, unit="proposal"),
                  agreement.alpha(results.reviews, results.scoring, unit="criterion"))
        with _CACHE_LOCK:
            if (results.token, current_language()) in _CACHE:
                _CALIBRATIONS[results.token] = cached
                while len(_CALIBRATIONS) > _CACHE_SIZE:
                    _CALIBRATIONS.popitem(last=False)
    names = dict(db.session.execute(
        select(User.id, User.name).join(CallReviewer, CallReviewer.user_id == User.id)
        .where(CallReviewer.call_id == call.id)).all())
    return Calibration(cached[0], cached[1], cached[2], names)


@dataclass(frozen=True)
class Figures:
    """The review's counts on the overview page."""

    proposals: int
    waiting: int
    assigned: int
    submitted: int
    outstanding: int
    late: int
    reviewers: int
    decisions: int
    against: int
    needs_consensus: int
    scored: int


def review_figures(call: Call, *, actor: Actor, now: datetime) -> Figures:
    """The counts of the call's review at this moment (managers only): proposals waiting for the review to
    start, reviews assigned, submitted, outstanding and late, the pool, the decisions and the scores."""
    results = call_results(call, actor=actor)
    in_review = [row for row in results.rows.values() if row.status in IN_REVIEW]
    assigned = sum(row.assigned for row in results.rows.values())
    submitted = sum(row.submitted for row in results.rows.values())
    overdue = call.review_deadline is not None and now > call.review_deadline
    waiting = 0
    if call.status == CallStatus.CLOSED:
        _, waiting = proposal_services.list_submissions(call, proposal_services.SubmissionFilter(status="submitted"),
                                                        page=1, per_page=1, actor=actor)
    return Figures(
        proposals=len(results.rows), waiting=waiting, assigned=assigned, submitted=submitted,
        outstanding=assigned - submitted, late=assigned - submitted if overdue else 0,
        reviewers=len(pool(call)), decisions=len(results.decisions),
        against=sum(1 for d in results.decisions.values() if d.against_ranking),
        needs_consensus=sum(1 for pid, s in results.scores.items() if s.needs_consensus
                            and results.rows[pid].status in IN_REVIEW),
        scored=sum(1 for row in in_review if results.scores[row.id].scored),
    )
