"""The scores page's table: the proposals in review in the order asked for, found by reference or title, one page
at a time, each row's figures written out for display.

What does not depend on the request (the orders, the flagged count, the rows written out) is worked out once per
version of the call's results and kept in the worker (``core.kept``), under the results' ``results_token``: every
change of a submitted review, a consensus score, an assignment or a decision moves the token (``touch_results``),
so the next request works it out afresh. A row is written out the first time a page shows it.
"""

from __future__ import annotations

import math
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from fractions import Fraction

from programme.calls.models import Call
from programme.core.access import Actor
from programme.core.i18n import current_language
from programme.core.kept import Kept, database_key
from programme.reviews.aggregation import ProposalScore
from programme.reviews.domain import display
from programme.reviews.services._common import require_manager
from programme.reviews.services.results import CallResults, ProposalRow, results_of

#: Sort orders of the scores page; the first is the default.
SCORE_SORTS = ("disagreement", "total", "reference")
#: Rows per page of the scores table.
SCORES_PER_PAGE = 50


@dataclass(frozen=True)
class ScoreCell:
    """One criterion of one proposal as the table shows it: the score that counts, rounded for display."""

    text: str
    below: bool = False
    spread_flag: bool = False
    consensus: str | None = None


@dataclass(frozen=True)
class ScoreLine:
    """One row of the scores table, written out."""

    id: int
    reference: str
    title: str
    cells: tuple[ScoreCell, ...]
    total: str
    fundable: bool
    reasons: str
    reviews: str
    spread: str
    needs_consensus: bool
    settled: bool


@dataclass
class _Table:
    """What the scores page keeps per version of a call's results."""

    results: CallResults
    keys: tuple[str, ...]
    orders: dict[str, list[int]] = field(default_factory=dict)
    searchable: dict[int, str] = field(default_factory=dict)
    flagged: int = 0
    lines: dict[int, ScoreLine] = field(default_factory=dict)
    drawn: dict[tuple[int, str], str] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def order(self, sort: str) -> list[int]:
        with self.lock:
            found = self.orders.get(sort)
            if found is None:
                found = self.orders[sort] = _ordered(self.results, sort)
            return found

    def line(self, pid: int) -> ScoreLine:
        found = self.lines.get(pid)
        if found is None:
            found = self.lines[pid] = _line(self.results.rows[pid], self.results.scores[pid], self.keys)
        return found

    def drawing(self, pid: int, draw: Callable[[ScoreLine], str]) -> str:
        """A proposal's row as ``draw`` drew it, once per version of the results and language (numbers are written
        in the language's way)."""
        key = (pid, current_language())
        found = self.drawn.get(key)
        if found is None:
            found = self.drawn[key] = draw(self.line(pid))
        return found


@dataclass(frozen=True)
class ScorePage:
    """One page of the scores table."""

    lines: list[ScoreLine]
    #: The rows as the view drew them (``draw``), each drawn once per version of the results.
    drawn: list[str]
    sort: str
    search: str
    page: int
    pages: int
    count: int
    total: int
    flagged: int


_TABLES: Kept[_Table] = Kept(4)


def _shown(value: Fraction | None) -> str:
    return "–" if value is None else str(display(value))


def _ordered(results: CallResults, sort: str) -> list[int]:
    rows, scores = results.rows, results.scores
    if sort == "disagreement":
        # The largest spread on any criterion first, unscored last (spreads compared exactly, as Fractions once).
        spreads = {pid: scores[pid].max_spread for pid in rows}
        return sorted(rows, key=lambda pid: (spreads[pid] is None, -Fraction(spreads[pid] or 0), rows[pid].reference))
    if sort == "total":
        return sorted(rows, key=lambda pid: (scores[pid].total is None, -(scores[pid].total or 0), rows[pid].reference))
    return sorted(rows, key=lambda pid: rows[pid].reference)


def _line(row: ProposalRow, score: ProposalScore, keys: tuple[str, ...]) -> ScoreLine:
    cells: list[ScoreCell] = []
    for key in keys:
        if not score.scored:
            cells.append(ScoreCell("–"))
            continue
        result = score.criterion(key)
        cells.append(ScoreCell(_shown(result.counted), below=not result.passes, spread_flag=result.flagged,
                               consensus=result.consensus.reason if result.consensus is not None else None))
    needs = score.needs_consensus
    return ScoreLine(
        id=row.id, reference=row.reference, title=row.title, cells=tuple(cells),
        total=_shown(score.total), fundable=score.fundable, reasons="; ".join(score.reasons),
        reviews=f"{row.submitted} / {row.assigned}",
        spread="–" if score.max_spread is None else str(display(score.max_spread)),
        needs_consensus=needs, settled=score.flagged and not needs,
    )


def _table(call: Call, results: CallResults) -> _Table:
    table = _Table(results, tuple(c.key for c in results.scoring.criteria))
    table.searchable = {pid: f"{row.reference}\n{row.title}".casefold() for pid, row in results.rows.items()}
    table.flagged = sum(1 for score in results.scores.values() if score.needs_consensus)
    return table


def score_page(call: Call, *, sort: str, search: str, page: int, actor: Actor,
               draw: Callable[[ScoreLine], str] | None = None) -> ScorePage:
    """One page of the call's scores table (managers only), sorted by ``sort`` (one of ``SCORE_SORTS``, else the
    first), limited to the proposals whose reference or title contains ``search`` (any case); a page past the last
    shows the last. ``draw`` (the view's row of HTML) is called once per row and version of the results."""
    require_manager(actor)
    results = results_of(call)
    # Once per language too: the reasons a proposal is not fundable are written in it.
    table = _TABLES.get((database_key(), call.id, results.token, current_language()), lambda: _table(call, results))
    sort = sort if sort in SCORE_SORTS else SCORE_SORTS[0]
    ordered = table.order(sort)
    text = " ".join(search.split()).casefold()
    if text:
        ordered = [pid for pid in ordered if text in table.searchable[pid]]
    pages = max(1, math.ceil(len(ordered) / SCORES_PER_PAGE))
    page = min(page, pages)
    shown = ordered[(page - 1) * SCORES_PER_PAGE:page * SCORES_PER_PAGE]
    drawn = [table.drawing(pid, draw) for pid in shown] if draw is not None else []
    return ScorePage([table.line(pid) for pid in shown], drawn, sort, " ".join(search.split()), page, pages,
                     len(ordered), len(results.rows), table.flagged)
