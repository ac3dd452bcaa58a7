"""The ranking of a call's proposals and its funding line (pure: no Flask, no database).

- **Ranking**: fundable proposals by total, highest first; equal totals by the rules' tie-break
  criteria in order (higher counted score first), then by the smaller requested amount, then by the
  earlier submission, then by proposal id, so the order is total and deterministic.
- **Funding line**: in rank order, a proposal is funded when its requested amount fits what is left of
  the budget. One that does not fit: with ``"stop"`` it and every proposal after it go to the reserve
  list; with ``"skip"`` it goes to the reserve list and the next one that fits is funded. The reserve
  list is in rank order; not-fundable proposals are listed apart.

Totals and scores come exact from :mod:`programme.reviews.aggregation` (see :mod:`programme.reviews.domain`
on exact arithmetic).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal, localcontext
from fractions import Fraction
from typing import Any, Literal

from programme.core.money import MoneyError, to_decimal
from programme.reviews.aggregation import ProposalScore
from programme.reviews.domain import (
    EXACT_CONTEXT,
    FUNDING_LINES,
    ZERO,
    FundingLine,
    ProposalId,
    ScoreError,
    Scoring,
    exact,
    id_key,
)


@dataclass(frozen=True)
class RankingEntry:
    """A proposal as the ranking needs it. ``total`` is ``None`` for a proposal that is not scored.

    ``scores`` holds the counted score of (at least) every tie-break criterion.
    """

    proposal_id: ProposalId
    total: Fraction | None
    scores: Mapping[str, Fraction]
    requested: Decimal
    submitted_at: datetime
    fundable: bool

    def __post_init__(self) -> None:
        if self.total is not None:
            object.__setattr__(self, "total", exact(self.total))
        object.__setattr__(self, "scores", {k: exact(v) for k, v in self.scores.items()})
        try:
            requested = to_decimal(self.requested)
        except MoneyError as error:
            raise ScoreError(f"proposal {self.proposal_id}: requested amount: {error}") from None
        if requested < 0:
            raise ScoreError(f"proposal {self.proposal_id}: the requested amount must not be negative")
        object.__setattr__(self, "requested", requested)
        if self.fundable and self.total is None:
            raise ScoreError(f"proposal {self.proposal_id}: a proposal without a total cannot be fundable")

    @classmethod
    def from_score(
        cls, proposal_id: ProposalId, score: ProposalScore, *, requested: Decimal, submitted_at: datetime,
        keys: Iterable[str] | None = None,
    ) -> RankingEntry:
        """The entry of an aggregated proposal, with the counted scores of ``keys`` (default: all criteria)."""
        scores = score.counted if keys is None else score.counted_scores(keys)
        return cls(proposal_id, score.total, scores, requested, submitted_at, score.fundable)


Status = Literal["funded", "reserve"]


@dataclass(frozen=True)
class RankedProposal:
    """A fundable proposal at its place in the ranking.

    ``available`` is what was left of the budget when its turn came. ``decided_by`` names what put it
    after the previous proposal: ``"total"``, a tie-break criterion key, ``"requested"``,
    ``"submitted_at"`` or ``"proposal_id"`` (``None`` for the first).
    """

    rank: int
    entry: RankingEntry
    status: Status
    available: Decimal
    decided_by: str | None

    @property
    def proposal_id(self) -> ProposalId:
        return self.entry.proposal_id

    @property
    def funded(self) -> bool:
        return self.status == "funded"


@dataclass(frozen=True)
class Ranking:
    ranked: tuple[RankedProposal, ...]
    not_fundable: tuple[RankingEntry, ...]
    budget: Decimal
    used: Decimal
    funding_line: FundingLine
    tie_break: tuple[str, ...]

    @property
    def remaining(self) -> Decimal:
        return self.budget - self.used

    @property
    def funded(self) -> tuple[RankedProposal, ...]:
        return tuple(r for r in self.ranked if r.status == "funded")

    @property
    def reserve(self) -> tuple[RankedProposal, ...]:
        return tuple(r for r in self.ranked if r.status == "reserve")

    @property
    def line_after(self) -> int:
        """Rank after which the funding line is drawn: the number of proposals before the first unfunded one."""
        for ranked in self.ranked:
            if not ranked.funded:
                return ranked.rank - 1
        return len(self.ranked)

    def place(self, proposal_id: ProposalId) -> RankedProposal | None:
        for ranked in self.ranked:
            if ranked.entry.proposal_id == proposal_id:
                return ranked
        return None


def _rank_keys(entries: list[RankingEntry], tie_break: Sequence[str]) -> list[tuple[Any, ...]]:
    """Sort keys, best first: total and tie-break scores as integers over their common denominator
    (exact, and much faster to compare than fractions), then amount, submission time and id."""
    for entry in entries:
        missing = [k for k in tie_break if k not in entry.scores]
        if missing:
            raise ScoreError(f"proposal {entry.proposal_id}: no score for tie-break criterion {missing[0]!r}")
    denominators = {e.total.denominator for e in entries if e.total is not None}
    denominators |= {e.scores[k].denominator for e in entries for k in tie_break}
    scale = math.lcm(*denominators) if denominators else 1

    def scaled(value: Fraction) -> int:
        return value.numerator * (scale // value.denominator)

    return [
        (-scaled(e.total), *(-scaled(e.scores[k]) for k in tie_break), e.requested, e.submitted_at,
         id_key(e.proposal_id))
        for e in entries if e.total is not None
    ]


def rank(
    entries: Iterable[RankingEntry],
    budget: Decimal,
    *,
    tie_break: Sequence[str] = (),
    funding_line: FundingLine = "stop",
) -> Ranking:
    """Rank the fundable proposals, draw the funding line against ``budget`` and list the rest."""
    if funding_line not in FUNDING_LINES:
        raise ScoreError(f"funding_line: one of {FUNDING_LINES} (got {funding_line!r})")
    try:
        budget = to_decimal(budget)
    except MoneyError as error:
        raise ScoreError(f"budget: {error}") from None
    if budget < 0:
        raise ScoreError("budget: must not be negative")
    entries = list(entries)
    ids = [e.proposal_id for e in entries]
    if len(set(ids)) != len(ids):
        raise ScoreError("each proposal once in a ranking")
    tie_break = tuple(tie_break)
    names = ("total", *tie_break, "requested", "submitted_at", "proposal_id")

    fundable = [e for e in entries if e.fundable]
    keyed = sorted(zip(_rank_keys(fundable, tie_break), fundable, strict=True), key=lambda pair: pair[0])
    ranked: list[RankedProposal] = []
    left = budget
    stopped = False
    previous: tuple[Any, ...] | None = None
    for position, (key, entry) in enumerate(keyed, start=1):
        decided_by = None
        if previous is not None:
            decided_by = next(name for name, a, b in zip(names, previous, key, strict=True) if a != b)
        previous = key
        fits = not stopped and entry.requested <= left
        if fits:
            ranked.append(RankedProposal(position, entry, "funded", left, decided_by))
            with localcontext(EXACT_CONTEXT):
                left -= entry.requested
        else:
            ranked.append(RankedProposal(position, entry, "reserve", left, decided_by))
            if funding_line == "stop":
                stopped = True

    not_fundable = sorted(
        (e for e in entries if not e.fundable),
        key=lambda e: (e.total is None, -(e.total or ZERO), id_key(e.proposal_id)),
    )
    return Ranking(tuple(ranked), tuple(not_fundable), budget, budget - left, funding_line, tie_break)


def rank_scores(
    scores: Mapping[ProposalId, ProposalScore],
    scoring: Scoring,
    *,
    requested: Mapping[ProposalId, Decimal],
    submitted_at: Mapping[ProposalId, datetime],
    budget: Decimal,
) -> Ranking:
    """Rank aggregated proposals with the call's tie-break and funding-line rules."""
    entries = [
        RankingEntry.from_score(pid, score, requested=requested[pid], submitted_at=submitted_at[pid],
                                keys=scoring.tie_break)
        for pid, score in scores.items()
    ]
    return rank(entries, budget, tie_break=scoring.tie_break, funding_line=scoring.funding_line)
