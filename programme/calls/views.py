"""Public call pages and the programme manager's call management."""

from __future__ import annotations

from flask import Blueprint, current_app, flash, redirect, render_template, url_for
from flask_login import login_required

from programme.calls import services, staging
from programme.calls.forms import CallDraftForm, NewCallForm, StageDatesForm
from programme.core.forms import ActionForm, choices
from programme.core.texts import gettext as _
from programme.core.timezone import local_to_utc, to_local
from programme.core.web import actor, attempt, now, programme_zone
from programme.proposals.domain import SECTIONS

bp = Blueprint("calls", __name__)


@bp.route("/calls")
def public_list():
    calls = services.public_calls()
    moment = now()
    current = [c for c in calls if c.phase(moment) in ("open", "upcoming")]
    past = [c for c in calls if c not in current]
    return render_template("calls/public_list.html", current=current, past=past, now=moment)


@bp.route("/calls/<int:call_id>")
def public_detail(call_id: int):
    call = services.get_call(call_id, actor=actor())
    return render_template("calls/public_detail.html", call=call, rules=call.rules, now=now(),
                           stages=staging.stage_views(call), stage=staging.stage_view(call), sections=SECTIONS)


@bp.route("/manage/calls")
@login_required
def manage_list():
    return render_template("calls/manage_list.html", calls=services.all_calls(actor=actor()), now=now())


@bp.route("/manage/calls/new", methods=["GET", "POST"])
@login_required
def new():
    entries = services.call_rules_files(current_app.config["RULES_FOLDER"], actor=actor())
    form = NewCallForm()
    form.rules_file.choices = choices(
        (e.name, _("%(file)s: %(name)s (in %(stages)s stages)", file=e.name, name=e.rules.call.name,
                   stages=len(e.rules.stages)) if e.rules.stages else f"{e.name}: {e.rules.call.name}")
        for e in entries if e.rules)
    if form.validate_on_submit():
        with attempt(form) as done:
            call = services.create_call(
                form.rules_file.data, rules_folder=current_app.config["RULES_FOLDER"],
                timezone=programme_zone(), actor=actor(), now=now(),
            )
        if done.ok:
            flash(_("Call %(reference)s created as a draft. Check its dates and budget, then open it.",
                    reference=call.reference), "success")
            return redirect(url_for("calls.manage_detail", call_id=call.id))
    return render_template("calls/manage_new.html", form=form, entries=entries)


@bp.route("/manage/calls/<int:call_id>")
@login_required
def manage_detail(call_id: int):
    call = services.get_call_for_management(call_id, actor=actor())
    return render_template("calls/manage_detail.html", call=call, rules=call.rules, action_form=ActionForm(), now=now(),
                           stage=staging.stage_view(call))


@bp.route("/manage/calls/<int:call_id>/edit", methods=["GET", "POST"])
@login_required
def edit(call_id: int):
    call = services.get_call_for_management(call_id, actor=actor())
    zone = programme_zone()
    form = CallDraftForm(obj=call)
    if not form.is_submitted():
        form.opens_at.data = to_local(call.opens_at, zone).replace(tzinfo=None) if call.opens_at else None
        form.closes_at.data = to_local(call.closes_at, zone).replace(tzinfo=None) if call.closes_at else None
    if form.validate_on_submit():
        draft = services.CallDraft(
            name=form.name.data, description=form.description.data or "",
            budget=form.budget.data, per_initiative_cap=form.per_initiative_cap.data,
            opens_at=local_to_utc(form.opens_at.data, zone) if form.opens_at.data else None,
            closes_at=local_to_utc(form.closes_at.data, zone) if form.closes_at.data else None,
        )
        with attempt(form) as done:
            services.update_draft_call(call, draft, actor=actor())
        if done.ok:
            flash(_("Call updated."), "success")
            return redirect(url_for("calls.manage_detail", call_id=call.id))
    return render_template("calls/manage_edit.html", form=form, call=call)


@bp.route("/manage/calls/<int:call_id>/open", methods=["POST"])
@login_required
def open_(call_id: int):
    call = services.get_call_for_management(call_id, actor=actor())
    if ActionForm().validate_on_submit():
        with attempt() as done:
            services.open_call(call, actor=actor(), now=now())
        if done.ok:
            flash(_("Call %(reference)s is open and on the public calls page.", reference=call.reference), "success")
    return redirect(url_for("calls.manage_detail", call_id=call.id))


@bp.route("/manage/calls/<int:call_id>/close", methods=["POST"])
@login_required
def close(call_id: int):
    call = services.get_call_for_management(call_id, actor=actor())
    if ActionForm().validate_on_submit():
        with attempt() as done:
            services.close_call(call, actor=actor(), now=now())
        if done.ok:
            flash(_("Call %(reference)s is closed.", reference=call.reference), "success")
    return redirect(url_for("calls.manage_detail", call_id=call.id))


# Staged calls (issue 18): the stages of a staged call, their dates, and each stage opened and closed on its own page.


def _stages_page(parent, refused: StageDatesForm | None = None, refused_id: int | None = None):
    """The stages page: each stage's dates form shows its saved dates, or the refused form with its messages."""
    zone = programme_zone()
    views = staging.stage_views(parent)
    forms = {}
    for view in views:
        if view.call.id == refused_id and refused is not None:
            forms[view.call.id] = refused
            continue
        form = StageDatesForm(prefix=f"stage{view.call.id}", formdata=None)
        for name in ("opens_at", "closes_at"):
            moment = getattr(view.call, name)
            getattr(form, name).data = to_local(moment, zone).replace(tzinfo=None) if moment else None
        forms[view.call.id] = form
    return render_template("calls/manage_stages.html", call=parent, stages=views, forms=forms, sections=SECTIONS,
                           action_form=ActionForm(), now=now())


@bp.route("/manage/calls/<int:call_id>/stages")
@login_required
def stages(call_id: int):
    return _stages_page(staging.get_staged_call_for_management(call_id, actor=actor()))


@bp.route("/manage/calls/<int:call_id>/stages/<int:stage_id>/dates", methods=["POST"])
@login_required
def stage_dates(call_id: int, stage_id: int):
    parent = staging.get_staged_call_for_management(call_id, actor=actor())
    stage = staging.get_stage(parent, stage_id)
    zone = programme_zone()
    form = StageDatesForm(prefix=f"stage{stage.id}")
    if form.validate_on_submit():
        with attempt(form) as done:
            staging.set_stage_dates(stage, opens_at=local_to_utc(form.opens_at.data, zone),
                                    closes_at=local_to_utc(form.closes_at.data, zone), actor=actor())
        if done.ok:
            flash(_("Dates of %(reference)s saved.", reference=stage.reference), "success")
            return redirect(url_for("calls.stages", call_id=parent.id))
    return _stages_page(parent, form, stage.id)
