"""Calibration of reviewers and agreement among them (pure: no Flask, no database).

Definitions (issue 4, the calibration page):

- A reviewer's **total** on a proposal is its own weighted sum, weight x score over the criteria.
- Its **offset** on a proposal reviewed by at least one other reviewer is its total minus the mean of
  the other reviewers' totals on that proposal. Proposals it reviewed alone are left out.
- Its **mean offset** is the mean of those offsets over the proposals it shares with others
  (``None`` when it shares none); their **spread** is maximum - minimum, the same measure as the
  disagreement spread of a criterion, and the population standard deviation is given beside it
  (rounded, for display only). Positive: more lenient than its co-reviewers; negative: harsher.
- The **calibrated ranking** removes each reviewer's offset from its scores and aggregates again.
  The offset is measured on the weighted total; it is removed from every criterion score of the
  reviewer by the same amount, ``mean offset / sum of weights`` (the *point offset*), so that the
  reviewer's calibrated total on each proposal is exactly its total minus its mean offset. The point
  offset equals the weight-averaged per-criterion offset. Calibrated scores are not clipped to the
  scale nor rounded to a step; consensus scores stay as recorded (they are the panel's, not one
  reviewer's); thresholds and the funding line apply to the calibrated values as to the plain ones.
  The plain ranking is the one that decides.
- **Krippendorff's alpha** for interval data: ``1 - D_o / D_e`` over the units that hold at least two
  values (others are ignored), with ``D_o`` the observed and ``D_e`` the expected squared
  difference between pairable values (Krippendorff 2011, "Computing Krippendorff's alpha-reliability").
  Exact with fractions; ``None`` when undefined (no pairable unit, or no variation at all). The units
  are the proposals (values: the reviewers' totals) or the proposal-criterion pairs (values: the
  criterion scores).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal, localcontext
from fractions import Fraction
from typing import Literal

from programme.reviews.aggregation import Consensus, ProposalScore, aggregate, as_number, weighted_sum
from programme.reviews.domain import EXACT_CONTEXT, ZERO, Number, ProposalId, ReviewerId, Scoring, exact, id_key
from programme.reviews.ranking import Ranking, RankingEntry, rank, rank_scores

#: Reviews of a call: proposal -> reviewer -> criterion key -> score.
Reviews = Mapping[ProposalId, Mapping[ReviewerId, Mapping[str, Number]]]


@dataclass(frozen=True)
class ReviewerCalibration:
    """How one reviewer's totals compare with its co-reviewers' on the proposals they share."""

    reviewer_id: ReviewerId
    reviewed: int
    offsets: tuple[tuple[ProposalId, Fraction], ...]
    offset: Fraction | None
    point_offset: Fraction | None
    minimum: Fraction | None
    maximum: Fraction | None

    @property
    def shared(self) -> int:
        return len(self.offsets)

    @property
    def spread(self) -> Fraction | None:
        if self.minimum is None or self.maximum is None:
            return None
        return self.maximum - self.minimum

    @property
    def stdev(self) -> Decimal | None:
        """Population standard deviation of the offsets, rounded to 28 digits (display only)."""
        if self.offset is None:
            return None
        variance = sum(((d - self.offset) ** 2 for _, d in self.offsets), ZERO) / len(self.offsets)
        with localcontext() as ctx:
            ctx.prec = 28
            return (Decimal(variance.numerator) / Decimal(variance.denominator)).sqrt()


def calibrate(reviews: Reviews, scoring: Scoring) -> dict[ReviewerId, ReviewerCalibration]:
    """Each reviewer's offsets from its co-reviewers, keyed by reviewer, in reviewer order."""
    per_reviewer: dict[ReviewerId, list[tuple[ProposalId, Fraction]]] = defaultdict(list)
    reviewed: dict[ReviewerId, int] = defaultdict(int)
    for proposal_id in sorted(reviews, key=id_key):
        totals = {r: weighted_sum(scores, scoring) for r, scores in reviews[proposal_id].items()}
        for reviewer in totals:
            reviewed[reviewer] += 1
        if len(totals) < 2:
            continue
        if not all(type(t) is Decimal for t in totals.values()):
            totals = {r: exact(t) for r, t in totals.items()}
        count = len(totals)
        with localcontext(EXACT_CONTEXT):
            whole = sum(totals.values(), Decimal(0) if isinstance(next(iter(totals.values())), Decimal) else ZERO)
            for reviewer, own in totals.items():
                # own - (whole - own) / (count - 1), as one exact fraction
                per_reviewer[reviewer].append((proposal_id, Fraction(own * count - whole) / (count - 1)))
    weight = exact(scoring.total_weight)
    result: dict[ReviewerId, ReviewerCalibration] = {}
    for reviewer in sorted(reviewed, key=id_key):
        offsets = tuple(per_reviewer.get(reviewer, ()))
        values = [d for _, d in offsets]
        mean = sum(values, ZERO) / len(values) if values else None
        result[reviewer] = ReviewerCalibration(
            reviewer_id=reviewer,
            reviewed=reviewed[reviewer],
            offsets=offsets,
            offset=mean,
            point_offset=None if mean is None else mean / weight,
            minimum=min(values, default=None),
            maximum=max(values, default=None),
        )
    return result


def calibrated_reviews(
    reviews: Reviews, scoring: Scoring, calibration: Mapping[ReviewerId, ReviewerCalibration] | None = None
) -> dict[ProposalId, dict[ReviewerId, dict[str, Fraction]]]:
    """The reviews with each reviewer's point offset subtracted from every one of its criterion scores."""
    calibration = calibrate(reviews, scoring) if calibration is None else calibration
    adjusted: dict[ProposalId, dict[ReviewerId, dict[str, Fraction]]] = {}
    for proposal_id, by_reviewer in reviews.items():
        adjusted[proposal_id] = {}
        for reviewer, scores in by_reviewer.items():
            entry = calibration.get(reviewer)
            shift = entry.point_offset if entry is not None and entry.point_offset is not None else ZERO
            adjusted[proposal_id][reviewer] = {k: exact(v) - shift for k, v in scores.items()}
    return adjusted


def aggregate_all(
    reviews: Reviews, scoring: Scoring, consensus: Mapping[ProposalId, Mapping[str, Consensus]] | None = None,
    *, on_scale: bool = True,
) -> dict[ProposalId, ProposalScore]:
    consensus = consensus or {}
    return {pid: aggregate(r, scoring, consensus.get(pid), on_scale=on_scale) for pid, r in reviews.items()}


@dataclass(frozen=True)
class CalibrationReport:
    reviewers: dict[ReviewerId, ReviewerCalibration]
    plain: Ranking
    calibrated: Ranking

    def rank_changes(self) -> dict[ProposalId, tuple[int | None, int | None]]:
        """Each proposal's rank in the plain and the calibrated ranking (``None``: not fundable there)."""
        plain = {r.proposal_id: r.rank for r in self.plain.ranked}
        calibrated = {r.proposal_id: r.rank for r in self.calibrated.ranked}
        ids = set(plain) | set(calibrated)
        ids |= {e.proposal_id for e in self.plain.not_fundable} | {e.proposal_id for e in self.calibrated.not_fundable}
        return {pid: (plain.get(pid), calibrated.get(pid)) for pid in sorted(ids, key=id_key)}


def calibrated_entries(
    scores: Mapping[ProposalId, ProposalScore],
    scoring: Scoring,
    calibration: Mapping[ReviewerId, ReviewerCalibration],
    *,
    requested: Mapping[ProposalId, Decimal],
    submitted_at: Mapping[ProposalId, datetime],
) -> list[RankingEntry]:
    """Ranking entries as :func:`aggregate` would give them for :func:`calibrated_reviews`, computed
    from the plain scores.

    Every score of reviewer ``r`` moves by its point offset ``o_r``, so on a proposal each criterion
    mean moves by the mean ``d`` of its reviewers' point offsets; a consensus does not move. Hence the
    calibrated counted score is ``counted - d`` (consensus: ``counted``) and the calibrated total is
    ``total - d x (sum of the weights of the criteria without consensus)``.
    """
    entries: list[RankingEntry] = []
    for pid, score in scores.items():
        if score.total is None:
            entries.append(RankingEntry(pid, None, {}, requested[pid], submitted_at[pid], False))
            continue
        shifts = [calibration[r].point_offset for r in score.reviewers if r in calibration]
        shift = sum((x for x in shifts if x is not None), ZERO) / len(score.reviewers)
        counted = {c.key: c.counted if c.consensus is not None else c.counted - shift for c in score.criteria}
        moving = sum((exact(c.weight) for c in score.criteria if c.consensus is None), ZERO)
        total = score.total - shift * moving
        fundable = total >= scoring.overall_threshold and all(
            counted[c.key] >= c.threshold for c in scoring.criteria
        )
        entries.append(RankingEntry(pid, total, counted, requested[pid], submitted_at[pid], fundable))
    return entries


def calibration_report(
    reviews: Reviews,
    scoring: Scoring,
    *,
    consensus: Mapping[ProposalId, Mapping[str, Consensus]] | None = None,
    requested: Mapping[ProposalId, Decimal],
    submitted_at: Mapping[ProposalId, datetime],
    budget: Decimal,
    scores: Mapping[ProposalId, ProposalScore] | None = None,
) -> CalibrationReport:
    """The reviewers' offsets and the plain ranking beside the one recomputed without the offsets.

    ``scores``: the plain aggregated scores, when the caller has them already.
    """
    reviewers = calibrate(reviews, scoring)
    plain = aggregate_all(reviews, scoring, consensus) if scores is None else scores
    entries = calibrated_entries(plain, scoring, reviewers, requested=requested, submitted_at=submitted_at)
    return CalibrationReport(
        reviewers,
        rank_scores(plain, scoring, requested=requested, submitted_at=submitted_at, budget=budget),
        rank(entries, budget, tie_break=scoring.tie_break, funding_line=scoring.funding_line),
    )


# ---------------------------------------------------------------------------------------------
# Krippendorff's alpha


def interval_alpha(units: Iterable[Iterable[Number]]) -> Fraction | None:
    """Krippendorff's alpha for interval data over units of values (missing values simply left out).

    ``alpha = 1 - (n - 1) * sum_u (S_u / (m_u - 1)) / S`` where, over the units with ``m_u >= 2``
    values, ``n`` is the number of their values, ``S_u`` the sum of squared differences over the
    ordered pairs of values within unit ``u`` and ``S`` the same sum over all pairable values. For
    ``m`` values, the sum over ordered pairs is ``2 (m * sum v^2 - (sum v)^2)``.
    """
    # Sums per unit size m: sum over the units of (m * sum v^2 - (sum v)^2); exact in Decimal when the
    # values are Decimals, else in fractions.
    within: dict[int, Decimal | Fraction] = defaultdict(int)
    count = 0
    total: Decimal | Fraction = Decimal(0)
    total_squares: Decimal | Fraction = Decimal(0)
    fractional = False
    with localcontext(EXACT_CONTEXT):
        for unit in units:
            values = [as_number(v) for v in unit]
            m = len(values)
            if m < 2:
                continue
            if fractional or not all(type(v) is Decimal for v in values):
                values = [exact(v) for v in values]
                if not fractional:  # from now on in fractions
                    fractional = True
                    total, total_squares = exact(total), exact(total_squares)
                    within = defaultdict(int, {size: exact(x) for size, x in within.items()})
            s = sum(values[1:], values[0])
            squares = sum((v * v for v in values[1:]), values[0] * values[0])
            within[m] += m * squares - s * s
            count += m
            total += s
            total_squares += squares
        if count < 2:
            return None
        expected = Fraction(count * total_squares - total * total)
    if expected == 0:
        return None
    observed = sum((Fraction(x) / (m - 1) for m, x in within.items()), ZERO)
    return 1 - (count - 1) * observed / expected


Unit = Literal["proposal", "criterion"]


def alpha(reviews: Reviews, scoring: Scoring, *, unit: Unit = "proposal", criterion: str | None = None
          ) -> Fraction | None:
    """Agreement of a call's reviewers.

    ``unit="proposal"``: one unit per proposal, the values are the reviewers' weighted totals.
    ``unit="criterion"``: one unit per proposal and criterion, the values are the criterion scores
    (only ``criterion`` when given).
    """
    if unit == "proposal":
        units: list[list[Number]] = [
            [weighted_sum(scores, scoring) for scores in by_reviewer.values()] for by_reviewer in reviews.values()
        ]
    elif unit == "criterion":
        keys = scoring.keys if criterion is None else (criterion,)
        if criterion is not None and criterion not in scoring.keys:
            raise KeyError(criterion)
        units = [
            [scores[key] for scores in by_reviewer.values()]
            for by_reviewer in reviews.values()
            for key in keys
        ]
    else:
        raise ValueError(f"unit: 'proposal' or 'criterion' (got {unit!r})")
    return interval_alpha(units)
