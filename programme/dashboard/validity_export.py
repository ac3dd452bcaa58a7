"""The contest's validity of a call as an Excel workbook: the coefficients with their sample sizes, and each
initiative's scores and outcome. Scores and progress as Decimal cells (never a float)."""

from __future__ import annotations

from decimal import Decimal
from typing import BinaryIO

from programme.core.spreadsheets import StreamingWorkbook
from programme.dashboard.validity import CallValidity
from programme.reviews.domain import display

CORRELATIONS_SHEET = "Rank correlations"
INITIATIVES_SHEET = "Initiatives"


def write_validity(target: str | BinaryIO, validity: CallValidity, *, min_sample: int) -> int:
    """Write the call's validity; a coefficient is written only when defined and the sample reaches
    ``min_sample`` (else the reason); returns the rows written."""
    book = StreamingWorkbook()
    rows = 0
    book.add_sheet(CORRELATIONS_SHEET, ["Score", "Sample (n)", "Spearman's rho", "Note"], widths=[50, 10, 14, 60])
    for item in validity.correlations:
        c = item.correlation
        if c.rho is None:
            rho, note = None, f"undefined: {c.reason}"
        elif c.n < min_sample:
            rho, note = None, f"not shown: fewer than {min_sample} initiatives, no conclusion can be drawn"
        else:
            rho, note = c.rho, ""
        book.append(CORRELATIONS_SHEET, [item.name, c.n, rho, note])
        rows += 1
    keys = [key for key, _ in validity.criteria]
    book.add_sheet(INITIATIVES_SHEET, ["Initiative", "Name", "Status", "Total score",
                                       *[name for _, name in validity.criteria], "Progress (0 to 1)",
                                       "KPIs counted", "Latest report's period end", "Outcome note"])
    for row in validity.rows:
        book.append(INITIATIVES_SHEET, [
            row.reference, row.name, row.status.label, display(row.total),
            *[display(row.scores.get(key)) for key in keys],
            None if row.progress is None else Decimal(row.progress), row.kpis_used, row.latest_report_end,
            row.outcome_text])
        rows += 1
    book.save(target)
    return rows
