"""The contest's validity of a call as an Excel workbook: the coefficients with their sample sizes, and each
initiative's scores and outcome. Scores and progress as Decimal cells (never a float)."""

from __future__ import annotations

from decimal import Decimal
from typing import BinaryIO

from programme.core.spreadsheets import StreamingWorkbook
from programme.core.texts import gettext as _
from programme.dashboard.validity import CallValidity
from programme.reviews.domain import display

#: The sheets' titles in English; the workbook is written in the language of whoever asks for it.
CORRELATIONS_SHEET = "Rank correlations"
INITIATIVES_SHEET = "Initiatives"


def write_validity(target: str | BinaryIO, validity: CallValidity, *, min_sample: int) -> int:
    """Write the call's validity; a coefficient is written only when defined and the sample reaches
    ``min_sample`` (else the reason); returns the rows written."""
    book = StreamingWorkbook()
    rows = 0
    correlations, initiatives = _("Rank correlations"), _("Initiatives")
    book.add_sheet(correlations, [_("Score"), _("Sample (n)"), _("Spearman's rho"), _("Note")],
                   widths=[50, 10, 14, 60])
    for item in validity.correlations:
        c = item.correlation
        if c.rho is None:
            rho, note = None, _("undefined: %(reason)s", reason=c.reason)
        elif c.n < min_sample:
            rho, note = None, _("not shown: fewer than %(min_sample)s initiatives, no conclusion can be drawn",
                                min_sample=min_sample)
        else:
            rho, note = c.rho, ""
        book.append(correlations, [item.name, c.n, rho, note])
        rows += 1
    keys = [key for key, _name in validity.criteria]
    book.add_sheet(initiatives, [_("Initiative"), _("Name"), _("Status"), _("Total score"),
                                 *[name for _key, name in validity.criteria], _("Progress (0 to 1)"),
                                 _("KPIs counted"), _("Latest report's period end"), _("Outcome note")])
    for row in validity.rows:
        book.append(initiatives, [
            row.reference, row.name, row.status.label, display(row.total),
            *[display(row.scores.get(key)) for key in keys],
            None if row.progress is None else Decimal(row.progress), row.kpis_used, row.latest_report_end,
            row.outcome_text])
        rows += 1
    book.save(target)
    return rows
