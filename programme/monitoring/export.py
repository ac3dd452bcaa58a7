"""The KPI matrix: every KPI value of every report of every initiative (initiative × KPI × period) as an Excel
workbook, streamed from the database in batches into a write-only sheet (memory stays flat however many)."""

from __future__ import annotations

from decimal import Decimal
from typing import IO, Any

from sqlalchemy import select

from programme.calls.models import Call
from programme.core.access import Actor, Role, require_role
from programme.core.spreadsheets import StreamingWorkbook
from programme.core.texts import gettext as _
from programme.core.texts import lazy_gettext as _l
from programme.extensions import db
from programme.funding.models import Initiative
from programme.monitoring.models import ReportValue, Scorecard, ScorecardKpi, SelfEvaluationReport

SHEET = "KPI matrix"  # its title in English; the sheet is titled in the language of whoever asks
#: The columns' headings (written in the language of whoever asks).
HEADERS = (_l("Initiative reference"), _l("Initiative"), _l("Call"), _l("Perspective"), _l("Critical success factor"),
           _l("KPI key"), _l("KPI"), _l("Unit"), _l("Direction"), _l("Baseline"), _l("Target"), _l("Report"),
           _l("Period start"), _l("Period end"), _l("Value"), _l("Report status"))
WIDTHS = (16, 32, 14, 24, 28, 22, 32, 12, 16, 12, 12, 8, 12, 12, 14, 12)
PLACES = Decimal("0.0001")
BATCH = 1000


def _number(value: Decimal | None) -> Decimal | None:
    return None if value is None else Decimal(value).quantize(PLACES)


def write_kpi_matrix(target: IO[bytes] | Any, *, actor: Actor) -> int:
    """Write the KPI matrix to ``target`` (a file or a path) for a programme manager or fund administrator;
    returns the number of value rows written."""
    require_role(actor, Role.PROGRAMME_MANAGER, Role.FUND_ADMINISTRATOR)
    book = StreamingWorkbook()
    sheet = _("KPI matrix")
    book.add_sheet(sheet, [str(heading) for heading in HEADERS], WIDTHS)
    statement = (
        select(Initiative.reference, Initiative.name, Call.reference, ScorecardKpi.perspective_title,
               ScorecardKpi.factor_title, ScorecardKpi.key, ScorecardKpi.name, ScorecardKpi.unit,
               ScorecardKpi.direction, ScorecardKpi.baseline, ScorecardKpi.target, SelfEvaluationReport.number,
               SelfEvaluationReport.period_start, SelfEvaluationReport.period_end, ReportValue.value,
               SelfEvaluationReport.status)
        .select_from(ReportValue)
        .join(SelfEvaluationReport, SelfEvaluationReport.id == ReportValue.report_id)
        .join(ScorecardKpi, ScorecardKpi.id == ReportValue.kpi_id)
        .join(Scorecard, Scorecard.id == ScorecardKpi.scorecard_id)
        .join(Initiative, Initiative.id == SelfEvaluationReport.initiative_id)
        .join(Call, Call.id == Initiative.call_id)
        .order_by(Initiative.reference, ScorecardKpi.position, ScorecardKpi.id, SelfEvaluationReport.number)
        .execution_options(yield_per=BATCH)
    )
    written = 0
    for (reference, name, call, perspective, factor, key, kpi, unit, direction, baseline, goal, number, start,
         end, value, status) in db.session.execute(statement):
        book.append(sheet, [reference, name, call, perspective, factor, key, kpi, unit, direction.label,
                            _number(baseline), _number(goal), number, start, end, _number(value), status.label])
        written += 1
    book.save(target)
    return written
