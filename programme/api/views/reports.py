"""Self-evaluation reports and their KPI values: an initiative's reports, one report with its values, and saving
KPI values on a draft (and submitting it) as the group's members do on the report's page."""

from __future__ import annotations

from decimal import Decimal

from spectree import Response

from programme.accounts.models import TokenScope
from programme.api import auth
from programme.api.pagination import page_from
from programme.api.schemas import KpiValueOut, ListQuery, Page, Problem, ReportDetail, ReportOut, ReportValuesIn
from programme.api.spec import NEEDS_TOKEN, api_spec
from programme.api.views._common import bp
from programme.core.access import RuleViolation
from programme.core.texts import gettext as _
from programme.core.timezone import now
from programme.core.web import commit
from programme.funding import services as funding
from programme.monitoring.models import SelfEvaluationReport
from programme.monitoring.services import reports

REFUSED = {"HTTP_401": Problem, "HTTP_403": Problem, "HTTP_404": Problem, "HTTP_422": Problem}


def _fields(report: SelfEvaluationReport) -> dict:
    return dict(id=report.id, initiative_id=report.initiative_id, number=report.number,
                period_start=report.period_start, period_end=report.period_end, due_on=report.due_on,
                status=report.status.value, submitted_at=report.submitted_at)


def _detail(report: SelfEvaluationReport) -> ReportDetail:
    return ReportDetail(**_fields(report), narrative=report.narrative, learned=report.learned,
                        will_change=report.will_change, values=[
                            KpiValueOut(kpi=line.kpi.key, name=line.kpi.name, unit=line.kpi.unit, value=line.value,
                                        note=line.note, previous=line.previous)
                            for line in reports.kpi_lines(report)])


@bp.get("/initiatives/<int:initiative_id>/reports")
@api_spec.validate(query=ListQuery, resp=Response(HTTP_200=Page[ReportOut], **REFUSED), tags=["reports"],
                   security=NEEDS_TOKEN)
def report_list(initiative_id: int, query: ListQuery):
    """An initiative's self-evaluation reports, by id (their periods' order), page by page."""
    me = auth.acting()
    initiative = funding.get_initiative(initiative_id, actor=me)
    shown, cursor = page_from(reports.reports_of(initiative, actor=me), query.cursor, query.limit,
                              key=lambda report: report.id)
    return Page[ReportOut](items=[ReportOut(**_fields(r)) for r in shown], next_cursor=cursor)


@bp.get("/reports/<int:report_id>")
@api_spec.validate(resp=Response(HTTP_200=ReportDetail, **REFUSED), tags=["reports"], security=NEEDS_TOKEN)
def report_detail(report_id: int):
    """A report with its texts and each KPI's value, note and value in the report before."""
    return _detail(reports.get_report(report_id, actor=auth.acting()))


@bp.post("/reports/<int:report_id>/values")
@api_spec.validate(json=ReportValuesIn, resp=Response(HTTP_200=ReportDetail, **REFUSED), tags=["reports"],
                   security=NEEDS_TOKEN)
def save_values(report_id: int, json: ReportValuesIn):
    """Save KPI values (by the KPI's key) on a draft report, and the texts given; with ``submit`` true, then submit
    it. The group's users and programme managers, with a token that may write. Everything is checked before
    anything changes: a KPI not on the scorecard, a value with more than four decimals, or (to submit) a KPI left
    with neither value nor note is refused with the field named, and nothing is saved."""
    me = auth.acting(TokenScope.WRITE)
    report = reports.get_report(report_id, actor=me)
    reports.require_write(report, me)
    by_key = {kpi.key: kpi for kpi in reports.live_kpis(report)}
    fields = {}
    values: dict[int, tuple[Decimal | None, str]] = {}
    for index, given in enumerate(json.values):
        kpi = by_key.get(given.kpi)
        if kpi is None:
            raise RuleViolation(_("No KPI with the key %(key)s is on this report's scorecard.", key=repr(given.kpi)),
                                field=f"values[{index}].kpi")
        values[kpi.id] = (Decimal(given.value) if given.value is not None else None, given.note)
        fields[reports.value_field(kpi.id)] = f"values[{index}].value"
        fields[reports.note_field(kpi.id)] = f"values[{index}].note"
    for kpi in by_key.values():  # a KPI not given: named by its key if submitting finds it missing
        fields.setdefault(reports.value_field(kpi.id), f"values[{kpi.key}]")
    moment = now()
    try:
        reports.save_report(report, values=values, narrative=_or(json.narrative, report.narrative),
                            learned=_or(json.learned, report.learned),
                            will_change=_or(json.will_change, report.will_change), actor=me, now=moment)
        if json.submit:
            reports.submit_report(report, actor=me, now=moment)
    except RuleViolation as refused:
        raise RuleViolation(refused.message, field=fields.get(refused.field or "", refused.field)) from None
    commit()
    return _detail(report)


def _or(given: str | None, current: str) -> str:
    return current if given is None else given
