"""The ranking page's figures and tables: the chart, the counts of decisions, and the rows of the ranked and the
not fundable proposals, one page at a time.

All of it depends only on the call's results, so it is worked out once per version of them and kept in the worker
(``core.kept``) under the results' ``results_token``, which every change of a submitted review, a consensus score,
an assignment or a decision moves (``touch_results``). A row is drawn (by the view) the first time a page shows it.
"""

from __future__ import annotations

import math
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from programme.calls.models import Call
from programme.core.access import Actor
from programme.core.i18n import current_language
from programme.core.kept import Kept, database_key
from programme.reviews.services._common import IN_REVIEW, require_decision_reader
from programme.reviews.services.chart import Chart, ranking_chart
from programme.reviews.services.results import CallResults, results_of


@dataclass
class RankingView:
    """What the ranking page shows of one version of a call's results."""

    results: CallResults
    chart: Chart
    line_after: int
    against: int
    undecided: int
    _drawn: dict[tuple[Any, ...], str] = field(default_factory=dict, repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def _rows(self, kind: str, items: Sequence[Any], page: int, per_page: int, readers: Any,
              draw: Callable[[Any], str]) -> list[tuple[Any, str]]:
        shown = items[(page - 1) * per_page:page * per_page]
        rows = []
        for item in shown:
            key = (kind, readers, item.proposal_id, current_language())
            drawn = self._drawn.get(key)
            if drawn is None:
                drawn = draw(item)
                with self._lock:
                    self._drawn[key] = drawn
            rows.append((item, drawn))
        return rows

    def ranked_rows(self, page: int, per_page: int, *, readers: Any, draw: Callable[[Any], str]
                    ) -> list[tuple[Any, str]]:
        """The fundable proposals of one page, each with its row as ``draw`` drew it (once per ``readers``: a row
        drawn for a manager has links an auditor's has not; and once per language: amounts are written its way)."""
        return self._rows("ranked", self.results.ranking.ranked, page, per_page, readers, draw)

    def other_rows(self, page: int, per_page: int, *, readers: Any, draw: Callable[[Any], str]
                   ) -> list[tuple[Any, str]]:
        """The proposals that are not fundable, one page of them, each with its row."""
        return self._rows("other", self.results.ranking.not_fundable, page, per_page, readers, draw)

    def drawn_chart(self, draw: Callable[[Chart], str]) -> str:
        """The chart as ``draw`` drew it, once per version of the results."""
        key = ("chart", current_language())
        drawn = self._drawn.get(key)
        if drawn is None:
            drawn = draw(self.chart)
            with self._lock:
                self._drawn[key] = drawn
        return drawn

    @staticmethod
    def pages(count: int, per_page: int) -> int:
        return max(1, math.ceil(count / per_page))


_VIEWS: Kept[RankingView] = Kept(4)


def _view(results: CallResults) -> RankingView:
    decisions = results.decisions
    return RankingView(
        results=results, chart=ranking_chart(results), line_after=results.ranking.line_after,
        against=sum(1 for d in decisions.values() if d.against_ranking),
        undecided=sum(1 for pid, row in results.rows.items() if row.status in IN_REVIEW and pid not in decisions),
    )


def ranking_view(call: Call, *, actor: Actor) -> RankingView:
    """The ranking page's figures and rows of the call's current results (programme managers and auditors)."""
    require_decision_reader(actor)
    results = results_of(call)
    # Once per language too: the chart's labels and description are written in it.
    return _VIEWS.get((database_key(), call.id, results.token, current_language()), lambda: _view(results))
