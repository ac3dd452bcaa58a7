"""The programme's targets as an Excel workbook: each target against its figure, and each trend's points. Figures
and targets as Decimal cells (shares as decimals: 0.05 is 5 %), never a float."""

from __future__ import annotations

from typing import BinaryIO

from programme.core.spreadsheets import StreamingWorkbook
from programme.dashboard.targets import TargetsReport

TARGETS_SHEET = "Targets"
TRENDS_SHEET = "Trends"


def _verdict(met: bool | None) -> str:
    return "no figure" if met is None else "met" if met else "not met"


def write_targets(target: str | BinaryIO, report: TargetsReport) -> int:
    """Write the targets and their trends; returns the rows written."""
    book = StreamingWorkbook()
    rows = 0
    book.add_sheet(TARGETS_SHEET, ["Figure", "Key", "Direction", "Target this year", "Scope", "Actual", "Verdict",
                                   "Source"], widths=[50, 24, 10, 12, 10, 12, 10, 60])
    for result in report.results:
        t = result.target
        for actual in result.actuals or [None]:
            book.append(TARGETS_SHEET, [
                t.label, t.figure, t.direction.replace("_", " "), result.year_target,
                (actual.scope or "programme") if actual else "", actual.value if actual else None,
                _verdict(actual.met if actual else None), t.note])
            rows += 1
    book.add_sheet(TRENDS_SHEET, ["Figure", "Scope", "Period end", "Figure value", "Target", "Verdict"],
                   widths=[50, 10, 12, 12, 12, 10])
    for result in report.results:
        for trend in result.trends:
            for point in trend.points:
                book.append(TRENDS_SHEET, [result.target.label, trend.scope or "programme", point.day, point.value,
                                           point.target, _verdict(point.met)])
                rows += 1
    book.save(target)
    return rows
