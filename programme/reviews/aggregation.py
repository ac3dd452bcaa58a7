"""The aggregation of one proposal's submitted reviews (pure: no Flask, no database).

Definitions (DESIGN section 3, issue 4; exact arithmetic as in :mod:`programme.reviews.domain`):

- per criterion the mean of the submitted reviews, their minimum, maximum and spread (maximum - minimum). A
  criterion is **flagged** for consensus when its spread is strictly greater than the rules'
  ``disagreement_limit`` (a spread equal to the limit is not flagged).
- A recorded consensus score (with its reason) replaces the mean; the **counted** score is the consensus where
  there is one, else the mean. The **total** is the sum of weight x counted score.
- A proposal is **fundable** when every counted score is at least its criterion's threshold and the total is
  at least the overall threshold; otherwise the reasons say which. Without a submitted review a proposal is
  **not scored** (and not fundable).
- A reviewer's own weighted total (``reviewer_total``, ``weighted_sum``) for the calibration and the exports.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from decimal import Decimal, localcontext
from fractions import Fraction
from functools import cached_property
from typing import Any

from programme.core.texts import gettext as _
from programme.reviews.domain import (
    EXACT_CONTEXT,
    ZERO,
    Number,
    ReviewerId,
    ScoreError,
    Scoring,
    _decimal,
    display,
    exact,
    id_key,
    plain_number,
    ratio,
)


def _shown(value: Number) -> str:
    if isinstance(value, Decimal):
        return plain_number(value)
    shown = display(value)
    assert shown is not None
    return str(shown)


@dataclass(frozen=True)
class Consensus:
    """A score agreed for one criterion after a consensus discussion; it replaces the mean."""

    value: Decimal
    reason: str

    def __post_init__(self) -> None:
        object.__setattr__(self, "value", _decimal(self.value, "consensus score"))
        if not isinstance(self.reason, str) or not self.reason.strip():
            raise ScoreError("a consensus score needs a recorded reason")


@dataclass(frozen=True)
class CriterionResult:
    """One criterion of one proposal: the submitted scores summarised, and the score that counts.

    ``scores_sum``, ``minimum``, ``maximum`` and ``spread`` are Decimals for submitted scores (exact);
    ``mean`` and ``counted`` are exact fractions.
    """

    key: str
    weight: Decimal
    threshold: Decimal
    count: int
    scores_sum: Decimal | Fraction
    minimum: Decimal | Fraction
    maximum: Decimal | Fraction
    spread: Decimal | Fraction
    flagged: bool
    consensus: Consensus | None

    @cached_property
    def mean(self) -> Fraction:
        return ratio(self.scores_sum, self.count)

    @cached_property
    def counted(self) -> Fraction:
        """The score that counts: the consensus where there is one, else the mean."""
        return exact(self.consensus.value) if self.consensus is not None else self.mean

    @property
    def passes(self) -> bool:
        if self.consensus is not None:
            return self.consensus.value >= self.threshold
        with localcontext(EXACT_CONTEXT):
            return self.scores_sum >= self.threshold * self.count

    @property
    def needs_consensus(self) -> bool:
        return self.flagged and self.consensus is None

    @property
    def weighted(self) -> Fraction:
        return exact(self.weight) * self.counted


@dataclass(frozen=True)
class ProposalScore:
    """The aggregated scores of one proposal.

    ``total`` is ``None`` when the proposal is not scored (no submitted review).
    """

    reviewers: tuple[ReviewerId, ...]
    criteria: tuple[CriterionResult, ...]
    total: Fraction | None
    fundable: bool
    reasons: tuple[str, ...]

    @property
    def scored(self) -> bool:
        return self.total is not None

    @property
    def flagged(self) -> bool:
        return any(c.flagged for c in self.criteria)

    @property
    def needs_consensus(self) -> bool:
        return any(c.needs_consensus for c in self.criteria)

    @property
    def max_spread(self) -> Decimal | Fraction | None:
        """The largest spread over the criteria: the proposal's disagreement, for sorting."""
        return max((c.spread for c in self.criteria), default=None)

    @property
    def counted(self) -> dict[str, Fraction]:
        return {c.key: c.counted for c in self.criteria}

    def counted_scores(self, keys: Iterable[str]) -> dict[str, Fraction]:
        wanted = set(keys)
        return {c.key: c.counted for c in self.criteria if c.key in wanted}

    def criterion(self, key: str) -> CriterionResult:
        for result in self.criteria:
            if result.key == key:
                return result
        raise KeyError(key)


def as_number(value: Any) -> Decimal | Fraction:
    """A score kept in its exact form: Decimal (ints become Decimal) or Fraction; floats refused."""
    if type(value) is Decimal:
        if not value.is_finite():
            raise ScoreError(f"{value} is not a finite number")
        return value
    if isinstance(value, Fraction):
        return value
    if isinstance(value, int) and not isinstance(value, bool):
        return Decimal(value)
    return exact(value)  # raises for floats, booleans and anything else


def _review_scores(
    reviews: Mapping[ReviewerId, Mapping[str, Number]], scoring: Scoring, *, on_scale: bool
) -> dict[ReviewerId, dict[str, Decimal | Fraction]]:
    keys = scoring.keys
    key_set = set(keys)
    allowed = scoring.scale.allowed
    checked: dict[ReviewerId, dict[str, Decimal | Fraction]] = {}
    for reviewer, scores in reviews.items():
        if len(scores) != len(keys) or not key_set.issuperset(scores):
            missing = [k for k in keys if k not in scores]
            unknown = sorted(k for k in scores if k not in key_set)
            if missing:
                raise ScoreError(f"review by {reviewer}: no score for {', '.join(missing)}")
            raise ScoreError(f"review by {reviewer}: unknown criteria {', '.join(unknown)}")
        row: dict[str, Decimal | Fraction] = {}
        for key in keys:
            value = scores[key]
            if on_scale:
                if type(value) is Decimal and value in allowed:
                    row[key] = value
                    continue
                try:
                    value = scoring.scale.check(value)
                except ScoreError as error:
                    raise ScoreError(f"review by {reviewer}, {key}: {error}") from None
            row[key] = as_number(value)
        checked[reviewer] = row
    return checked


def aggregate(
    reviews: Mapping[ReviewerId, Mapping[str, Number]],
    scoring: Scoring,
    consensus: Mapping[str, Consensus] | None = None,
    *,
    on_scale: bool = True,
) -> ProposalScore:
    """Aggregate the submitted reviews of one proposal (reviewer -> criterion key -> score).

    Each review must score every criterion. With ``on_scale`` (the default) every score and consensus
    must lie on the call's scale; the calibration passes ``False`` for its shifted scores.
    """
    consensus = dict(consensus or {})
    if consensus:
        unknown = sorted(k for k in consensus if k not in scoring.keys)
        if unknown:
            raise ScoreError(f"consensus for unknown criteria {', '.join(unknown)}")
        for key, agreed in consensus.items():
            if on_scale:
                try:
                    scoring.scale.check(agreed.value)
                except ScoreError as error:
                    raise ScoreError(f"consensus on {key}: {error}") from None
    rows = _review_scores(reviews, scoring, on_scale=on_scale)
    if not rows:
        return ProposalScore((), (), None, False, (_("not scored: no submitted review"),))

    count = len(rows)
    columns: list[list[Decimal | Fraction]] = [[row[c.key] for row in rows.values()] for c in scoring.criteria]
    as_decimal = all(type(v) is Decimal for column in columns for v in column)
    if not as_decimal:
        columns = [[exact(v) for v in column] for column in columns]
    results: list[CriterionResult] = []
    reasons: list[str] = []
    with localcontext(EXACT_CONTEXT):
        # count x total, exactly: the sum of weight x (sum of the scores, or count x the consensus)
        scaled_total: Decimal | Fraction = Decimal(0) if as_decimal else ZERO
        for spec, values in zip(scoring.criteria, columns, strict=True):
            sum_: Decimal | Fraction = sum(values[1:], values[0])
            low, high = min(values), max(values)
            agreed = consensus.get(spec.key)
            result = CriterionResult(
                key=spec.key, weight=spec.weight, threshold=spec.threshold, count=count, scores_sum=sum_,
                minimum=low, maximum=high, spread=high - low, flagged=high - low > scoring.disagreement_limit,
                consensus=agreed,
            )
            results.append(result)
            part = agreed.value * count if agreed is not None else sum_
            scaled_total += spec.weight * part if as_decimal else exact(spec.weight) * exact(part)
            if part < spec.threshold * count:
                reasons.append(
                    _("%(criterion)s: consensus %(score)s is below the criterion threshold %(threshold)s",
                      criterion=spec.name, score=_shown(result.counted), threshold=plain_number(spec.threshold))
                    if agreed is not None else
                    _("%(criterion)s: mean %(score)s is below the criterion threshold %(threshold)s",
                      criterion=spec.name, score=_shown(result.counted), threshold=plain_number(spec.threshold)))
        total = ratio(scaled_total, count)
        if scaled_total < scoring.overall_threshold * count:
            reasons.append(_("total %(total)s is below the overall threshold %(threshold)s", total=_shown(total),
                             threshold=plain_number(scoring.overall_threshold)))
    reviewers = tuple(sorted(rows, key=id_key))
    return ProposalScore(reviewers, tuple(results), total, not reasons, tuple(reasons))


def reviewer_total(scores: Mapping[str, Number], scoring: Scoring) -> Fraction:
    """One reviewer's own weighted total on one proposal: the sum of weight x its score."""
    return Fraction(weighted_sum(scores, scoring))


def weighted_sum(scores: Mapping[str, Number], scoring: Scoring) -> Decimal | Fraction:
    """The sum of weight x score, exact: a Decimal when every score is one, else a Fraction."""
    values = [as_number(scores[c.key]) for c in scoring.criteria]
    if all(type(v) is Decimal for v in values):
        with localcontext(EXACT_CONTEXT):
            return sum((c.weight * v for c, v in zip(scoring.criteria, values, strict=True)), Decimal(0))
    return sum((exact(c.weight) * exact(v) for c, v in zip(scoring.criteria, values, strict=True)), ZERO)
