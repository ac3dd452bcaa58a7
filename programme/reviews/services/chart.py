"""The ranking chart's geometry: bars of the totals with the overall threshold and the funding line, as the
coordinates of an inline SVG that the ranking page's template draws (plain arithmetic on the call's results).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from fractions import Fraction

from programme.core.charts import Bands, Scale, coordinate, tick_values
from programme.core.texts import gettext as _
from programme.reviews.domain import display
from programme.reviews.services.results import CallResults

#: The ranking chart draws at most this many bars; with more proposals, neighbours share a bar.
CHART_BARS = 250


@dataclass(frozen=True)
class Bar:
    """One bar of the chart: its box, its colour class and what it says to a screen reader."""

    x: str
    y: str
    width: str
    height: str
    css: str
    label: str


@dataclass(frozen=True)
class Chart:
    """The ranking chart, as coordinates of an inline SVG (drawn by the template)."""

    width: int
    height: int
    top: int
    left: int
    bottom: int
    bars: list[Bar]
    ticks: list[tuple[str, str]]
    threshold_y: str
    threshold: str
    line_x: str | None
    per_bar: int
    count: int
    description: str


def _coordinate(value: Fraction) -> str:
    return coordinate(value, half_up=True)


def ranking_chart(results: CallResults) -> Chart:
    """Bars of the totals, fundable proposals in rank order then the scored ones that are not fundable, with the
    overall threshold and the funding line. With more proposals than ``CHART_BARS`` neighbours share a bar, drawn
    at the highest total among them (the order is by total, so a bar spans a narrow band)."""
    ranking, scoring = results.ranking, results.scoring
    items: list[tuple[Fraction, str, str]] = []
    for place in ranking.ranked:
        items.append((place.entry.total, place.status, f"{place.rank}. {results.rows[place.proposal_id].reference}"))
    for entry in ranking.not_fundable:
        if entry.total is not None:
            items.append((entry.total, "not_fundable", results.rows[entry.proposal_id].reference))
    width, height, left, top, bottom = 720, 260, 44, 12, 28
    plot_w, plot_h = width - left - 8, height - top - bottom
    top_score = Fraction(scoring.scale.maximum) * Fraction(scoring.total_weight)
    per_bar = max(1, math.ceil(len(items) / CHART_BARS))
    groups = [items[i:i + per_bar] for i in range(0, len(items), per_bar)]
    bands = Bands(left, plot_w, len(groups))
    y_of = Scale(0, top_score, top + plot_h, top, clip=True).at

    bars = []
    for index, group in enumerate(groups):
        high = max(total for total, _, _ in group)
        statuses = {status for _, status, _ in group}
        css = next((s for s in ("funded", "reserve", "not_fundable") if s in statuses), "reserve")
        if len(statuses) > 1:
            css = "mixed"
        label = (_("%(proposal)s: total %(total)s", proposal=group[0][2], total=display(high)) if len(group) == 1
                 else _("%(first)s to %(last)s: totals %(low)s to %(high)s", first=group[0][2], last=group[-1][2],
                        low=display(group[-1][0]), high=display(high)))
        y = y_of(high)
        x, bar_width = bands.bar(index, Fraction(8, 10))
        bars.append(Bar(_coordinate(x), _coordinate(y), _coordinate(bar_width), _coordinate(top + plot_h - y), css,
                        label))
    funded = ranking.line_after
    line_x = _coordinate(bands.at(Fraction(funded, per_bar))) if ranking.ranked else None
    ticks = [(_coordinate(y_of(value)), coordinate(value, 0, half_up=True))
             for value in tick_values(Fraction(0), top_score, max(Fraction(1), top_score / 5))]
    threshold = Fraction(scoring.overall_threshold)
    funded_count = len(ranking.funded)
    description = _("%(count)s scored proposals by total, highest first: %(funded)s funded, %(reserve)s on the "
                    "reserve list, %(not_fundable)s not fundable. The horizontal line is the overall threshold of "
                    "%(threshold)s; the vertical line is the funding line after rank %(line)s.", count=len(items),
                    funded=funded_count, reserve=len(ranking.reserve), not_fundable=len(items) - len(ranking.ranked),
                    threshold=display(threshold), line=funded)
    return Chart(width, height, top, left, bottom, bars, ticks, _coordinate(y_of(threshold)),
                 f"{display(threshold).normalize():f}", line_x, per_bar, len(items), description)

