"""Revolving-fund foresight: a fund's projection (/funds/<id>/foresight) and the programme's (/funds/foresight),
each with its Excel workbook. Read-only GET pages; the scenario is a GET form, so a scenario is a link.

A fund's projection is seen by whoever sees the fund's page (404 otherwise: another group's fund typed by hand);
the programme's by programme managers, fund administrators and auditors (403 otherwise). Scenario values that are
not numbers, negative or over 100 % get a message beside their field (answered 400, with the base projection).
"""

from __future__ import annotations

from flask import render_template, request
from flask_login import login_required

from programme.core.web import actor, send_workbook
from programme.dashboard.cache import data_version
from programme.loans.foresight import COLUMN_TITLES, COLUMNS, HORIZON, Scenario
from programme.loans.foresight_form import ScenarioForm
from programme.loans.services import foresight, get_fund
from programme.loans.services.foresight_export import write_fund_foresight, write_programme_foresight
from programme.loans.views import bp
from programme.loans.views._common import _today
from programme.rulebook.foresight import DEFAULT_RULES


def _read_scenario(base: Scenario) -> tuple[ScenarioForm, Scenario | None, bool]:
    """The scenario form from the query string: (form, the scenario asked for or None for the base, valid)."""
    form = ScenarioForm.with_defaults(base, request.args)
    if not form.given:
        return form, None, True
    if form.validate():
        return form, form.scenario(base), True
    return form, None, False


def _fund_scenario(fund_id: int) -> tuple[object, ScenarioForm, Scenario | None, bool, Scenario]:
    fund = get_fund(fund_id, actor=actor())
    rules = foresight.rules_of_call(fund.initiative.call)
    base = foresight.scenario_of(rules.base)
    form, scenario, valid = _read_scenario(base)
    return fund, form, scenario, valid, base


@bp.route("/funds/<int:fund_id>/foresight")
@login_required
def fund_foresight(fund_id: int):
    fund, form, scenario, valid, base = _fund_scenario(fund_id)
    shown = foresight.fund_foresight(fund.id, actor=actor(), scenario=scenario, as_of=_today())
    chart = foresight.projection_chart(shown.scenario, shown.stress, currency=fund.currency)
    return render_template("loans/foresight.html", fund=fund, initiative=fund.initiative, shown=shown, form=form,
                           chart=chart, columns=COLUMNS, titles=COLUMN_TITLES, horizon=HORIZON,
                           asked=scenario is not None, base=base, export_args=form.link_args() if valid else None,
                           ), 200 if valid else 400


@bp.route("/funds/<int:fund_id>/foresight.xlsx")
@login_required
def fund_foresight_export(fund_id: int):
    fund, form, scenario, valid, base = _fund_scenario(fund_id)
    if not valid:
        return fund_foresight(fund_id)
    shown = foresight.fund_foresight(fund.id, actor=actor(), scenario=scenario, as_of=_today())
    return send_workbook(lambda target: write_fund_foresight(target, shown, scenario or base),
                         f"{fund.initiative.reference}-foresight-{_today().isoformat()}.xlsx")


def _programme():
    today = _today()
    version = data_version(today=today)
    own = foresight.programme_foresight(actor=actor(), scenario=None, as_of=today, version=version)
    bases = {f.rules.base for f in own.funds}
    base = foresight.scenario_of(bases.pop() if len(bases) == 1 else DEFAULT_RULES.base)
    form, scenario, valid = _read_scenario(base)
    shown = own if scenario is None else foresight.programme_foresight(
        actor=actor(), scenario=scenario, as_of=today, version=version)
    return shown, form, scenario, valid, today


@bp.route("/funds/foresight")
@login_required
def programme_foresight():
    shown, form, scenario, valid, today = _programme()
    charts = {currency: foresight.projection_chart(p["scenario"], p["stress"], currency=currency)
              for currency, p in shown.totals.items()}
    return render_template("loans/foresight_programme.html", shown=shown, form=form, charts=charts,
                           columns=COLUMNS, titles=COLUMN_TITLES, horizon=HORIZON, asked=scenario is not None,
                           export_args=form.link_args() if valid else None), 200 if valid else 400


@bp.route("/funds/foresight.xlsx")
@login_required
def programme_foresight_export():
    shown, form, scenario, valid, today = _programme()
    if not valid:
        return programme_foresight()
    return send_workbook(lambda target: write_programme_foresight(target, shown, scenario),
                         f"programme-foresight-{today.isoformat()}.xlsx")
