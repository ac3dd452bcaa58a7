"""Self-evaluation reports: the list of an initiative's reports and one report's page (its form while a draft,
read-only once submitted and for fund administrators).

The group's users and programme managers write and submit; fund administrators read (403 on a form);
reviewers and other groups get 404. Each view loads, checks, validates its form, calls one service and commits
once.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import Any, cast

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_login import login_required
from sqlalchemy import select

from programme.accounts.models import User
from programme.core.access import RuleViolation
from programme.core.forms import ActionForm
from programme.core.texts import gettext as _
from programme.core.timezone import programme_today
from programme.core.web import actor, attempt, commit, form_error, now, programme_zone
from programme.extensions import db
from programme.monitoring.domain import is_overdue
from programme.monitoring.forms.reports import ReportForm, SubmitReportForm, report_form
from programme.monitoring.models import SelfEvaluationReport
from programme.monitoring.services import reports as services
from programme.monitoring.services.scorecards import get_initiative, get_scorecard, may_edit

bp = Blueprint("reports", __name__)


def _today() -> date:
    return programme_today(programme_zone())


def _names(ids: set[int | None]) -> dict[int, str]:
    wanted = {i for i in ids if i is not None}
    if not wanted:
        return {}
    return {row.id: row.name for row in db.session.execute(select(User.id, User.name).where(User.id.in_(wanted)))}


def _overdue(report: SelfEvaluationReport, today: date) -> bool:
    return not report.frozen and (report.overdue_at is not None or is_overdue(report.due_on, today))


@bp.route("/initiatives/<int:initiative_id>/reports")
@login_required
def reports(initiative_id: int):
    user = actor()
    initiative = get_initiative(initiative_id, actor=user)
    listed = services.reports_of(initiative, actor=user)
    today = _today()
    editor = may_edit(initiative, user)
    return render_template(
        "monitoring/reports.html", initiative=initiative, reports=listed, today=today,
        scorecard=get_scorecard(initiative, actor=user), editor=editor,
        overdue={r.id: _overdue(r, today) for r in listed},
        names=_names({r.submitted_by_id for r in listed}),
        missing=(services.missing_periods(initiative, today=today, actor=user, timezone=programme_zone())
                 if editor else []),
        rules=initiative.call.rules.monitoring, action_form=ActionForm(),
    )


@bp.route("/initiatives/<int:initiative_id>/reports", methods=["POST"])
@login_required
def open_due(initiative_id: int):
    """Open the drafts of the periods that have begun (the daily job does the same at night)."""
    user = actor()
    initiative = get_initiative(initiative_id, actor=user)
    form = ActionForm()
    if not form.validate_on_submit():
        flash(_("The form was stale or incomplete. Reload the page and try again."), "error")
        return redirect(url_for("reports.reports", initiative_id=initiative.id))
    opened = services.open_reports(initiative, today=_today(), actor=user, now=now(), timezone=programme_zone())
    numbers = [r.number for r in opened]
    commit()
    if numbers:
        flash(_("Report(s) %(numbers)s opened.", numbers=", ".join(map(str, numbers))), "success")
    else:
        flash(_("Every period that has begun already has its report."), "info")
    return redirect(url_for("reports.reports", initiative_id=initiative.id))


@dataclass
class PerspectiveLines:
    """A scorecard perspective's KPIs on a report, under the perspective's title."""

    key: str
    title: str
    lines: list[services.KpiLine] = field(default_factory=list)


def _by_perspective(lines: list[services.KpiLine]) -> list[PerspectiveLines]:
    """The report's KPI lines grouped by their scorecard perspective, the perspectives in the order of their first
    KPI and the KPIs in the scorecard's order."""
    groups: dict[str, PerspectiveLines] = {}
    for line in lines:
        kpi = line.kpi
        groups.setdefault(kpi.perspective_key, PerspectiveLines(kpi.perspective_key, kpi.perspective_title))
        groups[kpi.perspective_key].lines.append(line)
    return list(groups.values())


def _data(report: SelfEvaluationReport, lines: list[services.KpiLine]) -> dict[str, Any]:
    data: dict[str, Any] = {"narrative": report.narrative, "learned": report.learned,
                            "will_change": report.will_change}
    for line in lines:
        data[services.value_field(line.kpi.id)] = line.value
        data[services.note_field(line.kpi.id)] = line.note
    return data


def _page(report: SelfEvaluationReport, *, form: ReportForm | None = None, refusal: str | None = None,
          status: int = 200):
    user = actor()
    lines = services.kpi_lines(report)
    editable = services.may_write(report, user)
    if editable and form is None:
        form = report_form([line.kpi for line in lines], formdata=None, data=_data(report, lines))
    today = _today()
    return render_template(
        "monitoring/report.html", report=report, initiative=report.initiative, lines=lines,
        perspectives=_by_perspective(lines),
        form=form if editable else None, submit_form=SubmitReportForm(formdata=None) if editable else None,
        editable=editable, refusal=refusal, overdue=_overdue(report, today), today=today,
        missing=services.missing_for_submission(report) if editable else [],
        names=_names({report.submitted_by_id, report.updated_by_id}),
    ), status


def _writable(report_id: int) -> SelfEvaluationReport:
    report = services.get_report(report_id, actor=actor())
    services.require_write(report, actor())
    return report


@bp.route("/reports/<int:report_id>")
@login_required
def report(report_id: int):
    return _page(services.get_report(report_id, actor=actor()))


@bp.route("/reports/<int:report_id>", methods=["POST"])
@login_required
def save(report_id: int):
    report = _writable(report_id)
    form = report_form(services.live_kpis(report))
    if form.validate_on_submit():
        with attempt(form) as done:
            services.save_report(report, values=form.values(), narrative=form.narrative.data or "",
                                 learned=form.learned.data or "", will_change=form.will_change.data or "",
                                 actor=actor(), now=now())
        if done.ok:
            flash(_("Report %(number)s was saved (a draft: submit it when it is complete).", number=report.number),
                  "success")
            return redirect(url_for("reports.report", report_id=report.id))
    return _page(report, form=form, status=422)


@bp.route("/reports/<int:report_id>/submit", methods=["POST"])
@login_required
def submit(report_id: int):
    report = _writable(report_id)
    form = SubmitReportForm()
    if form.validate_on_submit():
        # The refusal is shown on the report's page below: beside the field it names, and at the top.
        with attempt(flash_unplaced=False) as done:
            services.submit_report(report, actor=actor(), now=now())
        if done.ok:
            flash(_("Report %(number)s was submitted; it is frozen from now on.", number=report.number), "success")
            return redirect(url_for("reports.report", report_id=report.id))
        refusal = cast(RuleViolation, done.refused)  # without ``also``, only a RuleViolation is caught
    else:
        refusal = RuleViolation(_("The form was stale or incomplete. Reload the page and try again."))
    lines = services.kpi_lines(report)
    page_form = report_form([line.kpi for line in lines], formdata=None, data=_data(report, lines))
    if refusal.field:
        form_error(page_form, refusal)
    return _page(report, form=page_form, refusal=refusal.message, status=422)


@bp.route("/reports")
@login_required
def all_reports():
    state = request.args.get("state", "overdue")
    today = _today()
    listed = services.reports_in_state(state, today=today, actor=actor())
    return render_template("monitoring/all_reports.html", reports=listed, state=state, today=today,
                           states=services.REPORT_STATES, limit=500)
