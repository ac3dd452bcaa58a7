"""The scorecard page of an initiative: its KPIs by perspective and critical success factor, the start form while
there is none, the group's forms to add, change, drop and restore KPIs, and what changed from the template.

The group's users and programme managers edit; fund administrators read (403 on a form); reviewers and other
groups get 404. Each view loads, checks, validates its form, calls one service and commits once.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from flask import Blueprint, current_app, flash, redirect, render_template, url_for
from flask_login import login_required

from programme.core.access import RuleViolation
from programme.core.forms import ActionForm, choices
from programme.core.i18n import current_language
from programme.core.texts import gettext as _
from programme.core.web import actor, attempt, now
from programme.funding.models import Initiative, InitiativeStatus
from programme.monitoring.forms.scorecards import AddKpiForm, DropForm, EditKpiForm, StartForm, row_ids
from programme.monitoring.models import Scorecard, ScorecardKpi
from programme.monitoring.services import scorecards as services

bp = Blueprint("monitoring", __name__)


def _rules_folder() -> str:
    return current_app.config["RULES_FOLDER"]


@dataclass
class Factor:
    key: str
    title: str
    kpis: list[ScorecardKpi] = field(default_factory=list)


@dataclass
class Perspective:
    key: str
    title: str
    factors: list[Factor] = field(default_factory=list)


def _sections(scorecard: Scorecard, kpis: list[ScorecardKpi]) -> list[Perspective]:
    """The live KPIs under the template's perspectives and factors (titled in the language the scorecard was copied
    in, as its KPIs are), in the template's order."""
    perspectives: dict[str, Perspective] = {}
    factors: dict[str, Factor] = {}
    for p in scorecard.copied.perspectives:
        perspectives[p.key] = Perspective(p.key, p.title)
        for f in p.factors:
            factors[f.key] = Factor(f.key, f.title)
            perspectives[p.key].factors.append(factors[f.key])
    for kpi in kpis:
        if not kpi.live:
            continue
        if kpi.perspective_key not in perspectives:
            perspectives[kpi.perspective_key] = Perspective(kpi.perspective_key, kpi.perspective_title)
        if kpi.factor_key not in factors:
            factors[kpi.factor_key] = Factor(kpi.factor_key, kpi.factor_title)
            perspectives[kpi.perspective_key].factors.append(factors[kpi.factor_key])
        factors[kpi.factor_key].kpis.append(kpi)
    return list(perspectives.values())


def _template_choices(initiative: Initiative) -> tuple[list[Any], str]:
    default = initiative.call.rules.monitoring.scorecard
    available = services.templates_available(_rules_folder(), current_language())
    pairs = [(key, _("%(name)s (%(file)s) · the call's default", name=name, file=file) if key == default
              else f"{name} ({file})") for key, name, file in available]
    if default not in {key for key, _name, _file in available}:
        pairs.insert(0, (default, _("%(key)s · the call's default", key=default)))
    return choices(pairs), default


def _factor_choices(scorecard: Scorecard) -> list[Any]:
    return choices((f.key, f"{p.title} › {f.title}") for p in scorecard.copied.perspectives for f in p.factors)


def _edit_form(kpi: ScorecardKpi) -> EditKpiForm:
    data = {"name": kpi.name, "unit": kpi.unit, "direction": kpi.direction.value, "source": kpi.source,
            "baseline": kpi.baseline, "target": kpi.target}
    return row_ids(EditKpiForm(formdata=None, data=data), kpi.id)


def _page(initiative: Initiative, *, start_form: StartForm | None = None, add_form: AddKpiForm | None = None,
          failed: ScorecardKpi | None = None, failed_form: Any = None, failed_action: str = "",
          status: int = 200):
    """The scorecard page; after a refusal, the refused form with what was typed and its errors."""
    user = actor()
    scorecard = services.get_scorecard(initiative, actor=user)
    editor = services.may_edit(initiative, user)
    editable = editor and initiative.status != InitiativeStatus.TERMINATED
    context: dict[str, Any] = {"initiative": initiative, "scorecard": scorecard, "editor": editor,
                               "editable": editable, "action_form": ActionForm(), "failed_id": None,
                               "failed_action": failed_action}
    if scorecard is None:
        if editable:
            start_form = start_form or StartForm(formdata=None)
            start_form.template.choices, default = _template_choices(initiative)
            if start_form.template.data is None:
                start_form.template.data = default
        context["start_form"] = start_form
        return render_template("monitoring/scorecard.html", **context), status
    kpis = services.kpis_of(scorecard)
    edit_forms: dict[int, EditKpiForm] = {}
    drop_forms: dict[int, Any] = {}
    if editable:
        add_form = add_form or AddKpiForm(formdata=None)
        add_form.factor.choices = _factor_choices(scorecard)
        for kpi in kpis:
            if kpi.live:
                edit_forms[kpi.id] = _edit_form(kpi)
                drop_forms[kpi.id] = row_ids(DropForm(formdata=None), kpi.id)
        if failed is not None and failed_form is not None:
            row_ids(failed_form, failed.id)
            (drop_forms if failed_action == "drop" else edit_forms)[failed.id] = failed_form
            context["failed_id"] = failed.id
    context.update(
        kpis=kpis, sections=_sections(scorecard, kpis), dropped=[k for k in kpis if not k.live],
        changes=services.changes_from_template(scorecard) if editor else None,
        add_form=add_form, edit_forms=edit_forms, drop_forms=drop_forms,
    )
    return render_template("monitoring/scorecard.html", **context), status


def _back(initiative: Initiative, kpi: ScorecardKpi | None = None):
    anchor = f"kpi-{kpi.id}" if kpi is not None else "scorecard"
    return redirect(url_for("monitoring.scorecard", initiative_id=initiative.id, _anchor=anchor))


@bp.route("/initiatives/<int:initiative_id>/scorecard")
@login_required
def scorecard(initiative_id: int):
    return _page(services.get_initiative(initiative_id, actor=actor()))


@bp.route("/initiatives/<int:initiative_id>/scorecard", methods=["POST"])
@login_required
def start(initiative_id: int):
    initiative = services.get_initiative(initiative_id, actor=actor())
    services.require_edit(initiative, actor())
    form = StartForm()
    form.template.choices, _default = _template_choices(initiative)
    if form.validate_on_submit():
        with attempt(form) as done:
            started = services.start_scorecard(initiative, template_key=form.template.data,
                                               rules_folder=_rules_folder(), actor=actor(), now=now())
            count = len(services.kpis_of(started))
        if done.ok:
            flash(_("The scorecard was started from “%(template)s” with %(count)s KPIs.",
                    template=started.copied.scorecard.name, count=count), "success")
            return _back(initiative)
    return _page(initiative, start_form=form, status=422)


@bp.route("/initiatives/<int:initiative_id>/scorecard/kpis", methods=["POST"])
@login_required
def add(initiative_id: int):
    initiative = services.get_initiative(initiative_id, actor=actor())
    services.require_edit(initiative, actor())
    card = services.get_scorecard(initiative, actor=actor())
    if card is None:
        raise RuleViolation(_("%(reference)s has no scorecard yet: start it first.", reference=initiative.reference))
    form = AddKpiForm()
    form.factor.choices = _factor_choices(card)
    if form.validate_on_submit():
        with attempt(form) as done:
            kpi = services.add_kpi(card, factor_key=form.factor.data, name=form.name.data, unit=form.unit.data,
                                   direction=form.direction.data, source=form.source.data,
                                   baseline=form.baseline.data, target=form.target.data, actor=actor(), now=now())
            name = kpi.name
        if done.ok:
            flash(_("“%(name)s” was added to the scorecard.", name=name), "success")
            return _back(initiative, kpi)
    return _page(initiative, add_form=form, status=422)


def _kpi(kpi_id: int) -> ScorecardKpi:
    kpi = services.get_kpi(kpi_id, actor=actor())
    services.require_edit(kpi.scorecard.initiative, actor())
    return kpi


@bp.route("/scorecard-kpis/<int:kpi_id>", methods=["POST"])
@login_required
def update(kpi_id: int):
    kpi = _kpi(kpi_id)
    initiative = kpi.scorecard.initiative
    form = EditKpiForm()
    if form.validate_on_submit():
        with attempt(form) as done:
            services.update_kpi(kpi, name=form.name.data, unit=form.unit.data, direction=form.direction.data,
                                source=form.source.data, baseline=form.baseline.data, target=form.target.data,
                                actor=actor(), now=now())
        if done.ok:
            flash(_("“%(name)s” was saved.", name=kpi.name), "success")
            return _back(initiative, kpi)
    return _page(initiative, failed=kpi, failed_form=form, failed_action="update", status=422)


@bp.route("/scorecard-kpis/<int:kpi_id>/drop", methods=["POST"])
@login_required
def drop(kpi_id: int):
    kpi = _kpi(kpi_id)
    initiative = kpi.scorecard.initiative
    form = DropForm()
    if form.validate_on_submit():
        with attempt(form) as done:
            services.drop_kpi(kpi, reason=form.reason.data, actor=actor(), now=now())
        if done.ok:
            flash(_("“%(name)s” was dropped; it is kept, with the reason, below the scorecard.", name=kpi.name),
                  "success")
            return _back(initiative)
    return _page(initiative, failed=kpi, failed_form=form, failed_action="drop", status=422)


@bp.route("/scorecard-kpis/<int:kpi_id>/restore", methods=["POST"])
@login_required
def restore(kpi_id: int):
    kpi = _kpi(kpi_id)
    initiative = kpi.scorecard.initiative
    form = ActionForm()
    if form.validate_on_submit():
        with attempt() as done:
            services.restore_kpi(kpi, actor=actor(), now=now())
        if done.ok:
            flash(_("“%(name)s” is back on the scorecard.", name=kpi.name), "success")
            return _back(initiative, kpi)
    return _page(initiative, status=422)
