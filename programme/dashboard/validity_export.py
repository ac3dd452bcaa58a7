"""The contest's validity of a call as an Excel workbook: the coefficients with their sample sizes and p-values, and
each initiative's scores and outcome. Scores, progress and p-values as Decimal cells (never a float; a p-value
rounded as the page shows it, and "< 0.001" as text under that)."""

from __future__ import annotations

from decimal import Decimal
from typing import BinaryIO

from programme.core.money import format_number
from programme.core.spreadsheets import StreamingWorkbook
from programme.core.texts import gettext as _
from programme.dashboard.rank_correlation import SMALLEST_SHOWN, p_rounded
from programme.dashboard.validity import CallValidity
from programme.reviews.domain import display

#: The sheets' titles in English; the workbook is written in the language of whoever asks for it.
CORRELATIONS_SHEET = "Rank correlations"
INITIATIVES_SHEET = "Initiatives"


def write_validity(target: str | BinaryIO, validity: CallValidity, *, min_sample: int) -> int:
    """Write the call's validity; a coefficient and its p-value are written only when defined and the sample
    reaches ``min_sample`` (else the reason); returns the rows written."""
    book = StreamingWorkbook()
    rows = 0
    correlations, initiatives = _("Rank correlations"), _("Initiatives")
    book.add_sheet(correlations, [_("Score"), _("Sample (n)"), _("Spearman's rho"), _("p-value (two-sided)"),
                                  _("How the p-value is worked out"), _("Note")], widths=[50, 10, 14, 16, 40, 60])
    for item in validity.correlations:
        c = item.correlation
        p: Decimal | str | None = None
        method = ""
        if c.rho is None:
            rho, note = None, _("undefined: %(reason)s", reason=c.reason)
        elif c.n < min_sample:
            rho, note = None, _("not shown: fewer than %(min_sample)s initiatives, no conclusion can be drawn",
                                min_sample=min_sample)
        else:
            rho, note = c.rho, ""
            if c.p_value is not None:
                p = p_rounded(c.p_value)
                if p is None:
                    p = f"< {format_number(Decimal(repr(SMALLEST_SHOWN)), 3)}"
                method = (_("exact: every ordering of the outcomes counted") if c.p_exact
                          else _("t approximation (n - 2 degrees of freedom)"))
        book.append(correlations, [item.name, c.n, rho, p, method, note])
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
