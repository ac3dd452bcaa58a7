"""The programme's targets as an Excel workbook: each target against its figure, and each trend's points. Figures
and targets as Decimal cells (shares as decimals: 0.05 is 5 %), never a float."""

from __future__ import annotations

from typing import BinaryIO

from programme.core.spreadsheets import StreamingWorkbook
from programme.core.texts import gettext as _
from programme.dashboard.targets import TargetsReport, figure_label

#: The sheets' titles in English; the workbook is written in the language of whoever asks for it.
TARGETS_SHEET = "Targets"
TRENDS_SHEET = "Trends"


def _verdict(met: bool | None) -> str:
    return _("no figure") if met is None else _("met") if met else _("not met")


def _direction(direction: str) -> str:
    return _("at least") if direction == "at_least" else _("at most")


def write_targets(target: str | BinaryIO, report: TargetsReport) -> int:
    """Write the targets and their trends; returns the rows written."""
    book = StreamingWorkbook()
    rows = 0
    targets, trends, programme = _("Targets"), _("Trends"), _("programme")
    book.add_sheet(targets, [_("Figure"), _("Key"), _("Direction"), _("Target this year"), _("Scope"), _("Actual"),
                             _("Verdict"), _("Source")], widths=[50, 24, 10, 12, 10, 12, 10, 60])
    for result in report.results:
        t = result.target
        for actual in result.actuals or [None]:
            book.append(targets, [
                figure_label(t), t.figure, _direction(t.direction), result.year_target,
                (actual.scope or programme) if actual else "", actual.value if actual else None,
                _verdict(actual.met if actual else None), result.note])
            rows += 1
    book.add_sheet(trends, [_("Figure"), _("Scope"), _("Period end"), _("Figure value"), _("Target"), _("Verdict")],
                   widths=[50, 10, 12, 12, 12, 10])
    for result in report.results:
        for trend in result.trends:
            for point in trend.points:
                book.append(trends, [figure_label(result.target), trend.scope or programme, point.day, point.value,
                                           point.target, _verdict(point.met)])
                rows += 1
    book.save(target)
    return rows
