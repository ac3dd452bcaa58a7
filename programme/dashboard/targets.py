"""The programme's targets against its actual figures (seed 000: the programme is held to the standard it sets
itself). The targets come from the programme's rules file (``rulebook.programme``, read from the configured
``PROGRAMME_RULES_FILE``); each actual figure is the dashboard's own (``dashboard.figures.ProgrammeFigures``: read
here, never worked out again), and its trend is the figure at each period's end (``dashboard.target_trends``),
whose last point is today's figure itself.

A target is **met** when the figure is at least (``at_least``) or at most (``at_most``) the target of the year
(a figure equal to the target meets it). A figure the dashboard gives per currency is judged in each currency; a
figure that does not exist yet (nothing paid, no loan, no report due) is neither met nor missed: "no figure yet".
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from pathlib import Path

from programme.core.charts import Scale, coordinate, nice_step
from programme.core.i18n import current_language
from programme.core.kept import Kept
from programme.core.money import symbols_in_use
from programme.core.texts import gettext as _
from programme.core.texts import lazy_gettext as _l
from programme.dashboard.figures import ProgrammeFigures
from programme.dashboard.target_trends import HISTORIES, PROGRAMME, History, period_ends, programme_start
from programme.rulebook import ProgrammeRules, RulesError, parse_programme_rules
from programme.rulebook.programme import PROGRAMME_FIGURES, Target

#: Each figure a target may name, read from the dashboard's figures: (scope, value) per currency or once.
ACTUALS: dict[str, Callable[[ProgrammeFigures], list[tuple[str, Decimal | None]]]] = {
    "co_financing_leveraged": lambda f: [(row.currency, row.ratio) for row in f.leverage_totals],
    "self_funding_share": lambda f: [(PROGRAMME, f.self_funding.share)],
    "par30": lambda f: [(fund.currency, fund.par30) for fund in f.funds],
    "reports_on_time": lambda f: [(PROGRAMME, f.reports.on_time_share)],
    "recovery_rate": lambda f: [(fund.currency, fund.recovery_rate) for fund in f.funds],
    "write_off_recovery": lambda f: [(fund.currency, fund.write_off_recovery) for fund in f.funds],
    "initiatives_over_cap": lambda f: [(PROGRAMME, Decimal(sum(1 for share in f.shares if share.over)))],
}


#: The figures' titles (``rulebook.programme.PROGRAMME_FIGURES``, in English there) in the language being answered.
FIGURE_TITLES = {
    "co_financing_leveraged": _l("Co-financing leveraged per unit of programme money paid"),
    "self_funding_share": _l("Initiatives still running after their external-share schedule ended"),
    "par30": _l("Portfolio at risk over 30 days (PAR30)"),
    "reports_on_time": _l("Self-evaluation reports in on time"),
    "recovery_rate": _l("Recovery rate of the revolving funds' loans"),
    "write_off_recovery": _l("Money recovered on written-off loans"),
    "initiatives_over_cap": _l("Running initiatives over their external-share cap this year"),
}


def figure_label(target: Target) -> str:
    """What a target is called, in the language being answered: the title its rules file gives it (in that
    language where the file gives one), else its figure's title."""
    title = target.title_in(current_language())
    if title:
        return title
    title = FIGURE_TITLES.get(target.figure)
    return str(title) if title is not None else PROGRAMME_FIGURES[target.figure].title


# ------------------------------------------------------------------------------------------------ reading the rules


@dataclass(frozen=True)
class ProgrammeRulesFile:
    """The configured rules file: its rules, or the problems that keep it from being used; neither when absent."""

    path: str
    rules: ProgrammeRules | None = None
    problems: tuple[str, ...] = ()
    digest: str = ""

    @property
    def present(self) -> bool:
        return self.rules is not None or bool(self.problems)


_files: Kept[ProgrammeRulesFile] = Kept(4)


def rules_path(config: dict) -> Path:
    """``PROGRAMME_RULES_FILE``, or ``programme.toml`` in the rules folder."""
    configured = config.get("PROGRAMME_RULES_FILE")
    return Path(configured) if configured else Path(config["RULES_FOLDER"]) / "programme.toml"


def read_rules(path: Path) -> ProgrammeRulesFile:
    """The programme's rules from ``path`` (parsed once per content of the file); a missing file gives none."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return ProgrammeRulesFile(str(path))
    except (OSError, UnicodeDecodeError) as exc:
        return ProgrammeRulesFile(str(path), problems=(f"{path}: cannot be read ({exc})",), digest="unreadable")
    digest = hashlib.sha256(text.encode("utf-8")).hexdigest()[:16]

    def parse() -> ProgrammeRulesFile:
        try:
            return ProgrammeRulesFile(str(path), parse_programme_rules(text, str(path)), digest=digest)
        except RulesError as exc:
            return ProgrammeRulesFile(str(path), problems=tuple(str(p) for p in exc.problems), digest=digest)

    return _files.get((str(path), digest), parse)


# ------------------------------------------------------------------------------------------------ the results


@dataclass(frozen=True)
class Actual:
    """The figure in one scope (a currency, or the programme) against the target of today's year."""

    scope: str
    value: Decimal | None
    met: bool | None


@dataclass(frozen=True)
class TrendPoint:
    day: date
    value: Decimal | None
    target: Decimal
    met: bool | None
    today: bool = False


@dataclass(frozen=True)
class TrendChart:
    """A small line chart of one scope's trend (inline SVG drawn by the template): the figure's points joined,
    the target as a dashed step line, each point's mark a filled circle when met and a cross when not."""

    width: int
    height: int
    left: int
    top: int
    bottom_y: int
    figure_path: str
    target_path: str
    marks: list[tuple[str, str, bool]]  # x, y, met
    y_ticks: list[tuple[str, str]]      # y, label
    x_labels: list[tuple[str, str]]     # x, label
    description: str


@dataclass(frozen=True)
class Trend:
    scope: str
    points: list[TrendPoint]
    chart: TrendChart | None


@dataclass(frozen=True)
class TargetResult:
    target: Target
    year: int
    year_target: Decimal
    actuals: list[Actual]
    trends: list[Trend] = field(default_factory=list)
    trend_how: str = ""
    reconstructed: bool = True

    @property
    def label(self) -> str:
        """The target's name, in the language being answered (``figure_label``)."""
        return figure_label(self.target)

    @property
    def note(self) -> str:
        """The rules' note on the target, in the language being answered where the file gives it."""
        return self.target.note_in(current_language())

    @property
    def status(self) -> str:
        """"met" when every scope meets it, "not_met" when any misses it, else "no_figure"."""
        judged = [a.met for a in self.actuals if a.met is not None]
        if not judged:
            return "no_figure"
        return "met" if all(judged) else "not_met"


@dataclass(frozen=True)
class TargetsReport:
    rules: ProgrammeRules
    results: list[TargetResult]
    step: str

    @property
    def met(self) -> int:
        return sum(1 for r in self.results if r.status == "met")

    @property
    def not_met(self) -> int:
        return sum(1 for r in self.results if r.status == "not_met")


def judge(target: Target, value: Decimal | None, year: int) -> bool | None:
    return None if value is None else target.met_by(value, year)


def target_results(rules: ProgrammeRules, figures: ProgrammeFigures, *, zone: str,
                   with_trends: bool = True) -> TargetsReport:
    """Each target of ``rules`` against the dashboard's ``figures`` of today, with its trend."""
    today = figures.today
    step = rules.programme.trend
    start = programme_start(zone) if with_trends else None
    ends = period_ends(start, today, step) if start is not None else []
    results = []
    for target in rules.targets:
        actuals = [Actual(scope, value, judge(target, value, today.year))
                   for scope, value in ACTUALS[target.figure](figures)]
        history: History | None = HISTORIES[target.figure](ends, zone) if ends else None
        trends = []
        if history is not None and history.reconstructed:
            for actual in actuals:
                past = history.values.get(actual.scope, [None] * len(ends))[:-1]
                points = [TrendPoint(end, value, target.value_in(end.year), judge(target, value, end.year))
                          for end, value in zip(ends, past, strict=False)]
                points.append(TrendPoint(today, actual.value, target.value_in(today.year), actual.met, today=True))
                trends.append(Trend(actual.scope, points, trend_chart(points, target, actual.scope, step)))
        results.append(TargetResult(
            target=target, year=today.year, year_target=target.value_in(today.year), actuals=actuals, trends=trends,
            trend_how=history.how if history is not None else _("No initiative yet: the programme has no history."),
            reconstructed=history.reconstructed if history is not None else False))
    return TargetsReport(rules, results, step)


# ------------------------------------------------------------------------------------------------ the chart


def _shown(value: Decimal, kind: str) -> str:
    """A figure as a chart writes it, with the decimal mark of the language being answered."""
    if kind == "share":
        text = f"{(value * 100).quantize(Decimal('0.1')).normalize():f} %"
    elif kind == "count":
        text = f"{value.normalize():f}"
    else:
        text = f"{value.normalize():f} ×"
    return text.replace(".", symbols_in_use()[0])


def period_label(day: date, step: str) -> str:
    if step == "quarter":
        return _("Q%(quarter)s %(year)s", quarter=(day.month - 1) // 3 + 1, year=day.year)
    return str(day.year)


def _point_text(point: TrendPoint, kind: str, step: str) -> str:
    """One point of a trend, as the chart's description says it."""
    when = _("today") if point.today else period_label(point.day, step)
    value = _("no figure") if point.value is None else _shown(point.value, kind)
    if point.met is None:
        return _("%(period)s: %(value)s", period=when, value=value)
    if point.met:
        return _("%(period)s: %(value)s (met)", period=when, value=value)
    return _("%(period)s: %(value)s (not met)", period=when, value=value)


def trend_chart(points: list[TrendPoint], target: Target, scope: str, step: str) -> TrendChart | None:
    """The trend as a small line chart; None when no point has a figure."""
    known = [p for p in points if p.value is not None]
    if not known:
        return None
    width, height, left, right, top, bottom = 420, 150, 56, 12, 10, 24
    kind = target.spec.kind
    highest = max([p.value for p in known if p.value is not None] + [p.target for p in points])
    if kind == "share":
        highest = min(Decimal(1), max(highest, Decimal("0.1")))
    step_value = nice_step(highest if highest > 0 else Decimal(1))
    top_value = max(step_value, (highest / step_value).to_integral_value(rounding="ROUND_CEILING") * step_value)
    across = Scale(0, max(1, len(points) - 1), left, width - right)
    up = Scale(0, top_value, height - bottom, top, clip=True)

    def x(index: int) -> str:
        return coordinate(across.at(index))

    def y(value: Decimal) -> str:
        return coordinate(up.at(value))

    figure_parts: list[str] = []
    drawing = False
    for index, point in enumerate(points):
        if point.value is None:
            drawing = False
            continue
        figure_parts.append(f"{'L' if drawing else 'M'}{x(index)},{y(point.value)}")
        drawing = True
    target_parts = [f"M{x(0)},{y(points[0].target)}"]
    for index in range(1, len(points)):
        target_parts.append(f"H{x(index)}V{y(points[index].target)}")
    marks = [(x(i), y(p.value), bool(p.met)) for i, p in enumerate(points) if p.value is not None]
    ticks = [(y(v), _shown(v, kind)) for v in (Decimal(0), top_value / 2, top_value)]
    labels = [(x(0), period_label(points[0].day, step)), (x(len(points) - 1), _("today"))]
    shown = "; ".join(_point_text(p, kind, step) for p in points)
    named = f"{figure_label(target)} ({scope})" if scope else figure_label(target)
    description = _("%(figure)s at each period's end against the target: %(points)s.", figure=named, points=shown)
    return TrendChart(width, height, left, top, height - bottom, " ".join(figure_parts), " ".join(target_parts),
                      marks, ticks, labels, description)
