"""The programme held to its own rules: the contest's validity page of a decided call (programme managers and
auditors) and its Excel export, and the Excel export of the programme's targets (the dashboard's readers; the
targets themselves are a section of the dashboard, ``dashboard.targets_page``)."""

from __future__ import annotations

from flask import Blueprint, current_app, render_template
from flask_login import login_required

from programme.calls import services as calls
from programme.core.access import NotFound, Role, require_role
from programme.core.timezone import programme_today
from programme.core.web import actor, programme_zone, send_workbook
from programme.dashboard.cache import data_version, figures_at
from programme.dashboard.rank_correlation import EXACT_UP_TO, p_shown, strength
from programme.dashboard.targets import read_rules, rules_path, target_results
from programme.dashboard.targets_export import write_targets
from programme.dashboard.validity import MIN_SAMPLE, TERMINATED_OUTCOME, call_validity
from programme.dashboard.validity_export import write_validity
from programme.reviews.domain import display

bp = Blueprint("validity", __name__)


@bp.route("/dashboard/validity/<int:call_id>")
@login_required
def call_page(call_id: int):
    call = calls.get_call_for_oversight(call_id, actor=actor())
    validity = call_validity(call, actor=actor())
    return render_template("dashboard/validity.html", validity=validity, min_sample=MIN_SAMPLE, display=display,
                           strength=strength, terminated_outcome=TERMINATED_OUTCOME, p_shown=p_shown,
                           exact_up_to=EXACT_UP_TO)


@bp.route("/dashboard/validity/<int:call_id>.xlsx")
@login_required
def call_export(call_id: int):
    call = calls.get_call_for_oversight(call_id, actor=actor())
    validity = call_validity(call, actor=actor())
    return send_workbook(lambda handle: write_validity(handle, validity, min_sample=MIN_SAMPLE),
                         f"validity-{validity.reference}.xlsx")


@bp.route("/dashboard/targets.xlsx")
@login_required
def targets_export():
    """The targets against the figures and their trends (404 when no usable programme rules file is there)."""
    require_role(actor(), Role.PROGRAMME_MANAGER, Role.FUND_ADMINISTRATOR, Role.AUDITOR)
    found = read_rules(rules_path(current_app.config))
    if found.rules is None:
        raise NotFound("no usable programme rules file")
    zone = programme_zone()
    today = programme_today(zone)
    report = target_results(found.rules, figures_at(data_version(today=today), today=today, timezone=zone),
                            zone=zone)
    return send_workbook(lambda handle: write_targets(handle, report), f"programme-targets-{today.isoformat()}.xlsx")
