"""The sections of a draft, each saved on its own: the cluster, the objectives, the first activities (added,
changed, removed) and the group's own indicators."""

from __future__ import annotations

from flask import flash, redirect, request, url_for
from flask_login import login_required

from programme.core.texts import gettext as _
from programme.core.web import actor, attempt, now
from programme.proposals import services
from programme.proposals.domain import ActivityKind, ClusterStage
from programme.proposals.forms import ActivityForm, ClusterForm, IndicatorForm, ObjectivesForm
from programme.proposals.views import bp
from programme.proposals.views._common import flash_saved, item_in, load, proposal_page, remove_item


@bp.route("/proposals/<int:proposal_id>/cluster", methods=["GET", "POST"])
@login_required
def cluster(proposal_id: int):
    proposal = load(proposal_id)
    form = ClusterForm(data={
        "title": proposal.title, "sector": proposal.sector, "territory": proposal.territory,
        "stage": proposal.stage.value if proposal.stage else "", "main_problem": proposal.main_problem,
        "market_failure": proposal.market_failure,
    } if request.method == "GET" else None)
    if form.validate_on_submit():
        data = services.ClusterSection(
            title=form.title.data, sector=form.sector.data or "", territory=form.territory.data or "",
            stage=ClusterStage(form.stage.data) if form.stage.data else None,
            main_problem=form.main_problem.data or "", market_failure=form.market_failure.data or "",
        )
        with attempt(form) as done:
            services.update_cluster(proposal, data, actor=actor(), now=now())
        if done.ok:
            flash(_("The cluster section is saved."), "success")
            return redirect(url_for("proposals.cluster", proposal_id=proposal.id))
    return proposal_page("proposals/cluster.html", proposal, form=form)


@bp.route("/proposals/<int:proposal_id>/objectives", methods=["GET", "POST"])
@login_required
def objectives(proposal_id: int):
    proposal = load(proposal_id)
    form = ObjectivesForm(obj=proposal if request.method == "GET" else None)
    if form.validate_on_submit():
        with attempt(form) as done:
            services.update_objectives(proposal, objectives=form.objectives.data or "",
                                       sustainability_plan=form.sustainability_plan.data or "",
                                       actor=actor(), now=now())
        if done.ok:
            flash(_("The objectives are saved."), "success")
            return redirect(url_for("proposals.objectives", proposal_id=proposal.id))
    return proposal_page("proposals/objectives.html", proposal, form=form)


def _activity_data(form: ActivityForm) -> services.ActivityData:
    return services.ActivityData(
        title=form.title.data, kind=ActivityKind(form.kind.data), description=form.description.data or "",
        start_quarter=form.start_quarter.data, end_quarter=form.end_quarter.data, cost=form.cost.data,
    )


@bp.route("/proposals/<int:proposal_id>/activities", methods=["GET", "POST"])
@login_required
def activities(proposal_id: int):
    proposal = load(proposal_id)
    form = ActivityForm()
    if form.validate_on_submit():
        with attempt(form) as done:
            activity = services.add_activity(proposal, _activity_data(form), actor=actor(), now=now())
        if done.ok:
            flash_saved(_("Activity '%(title)s' added.", title=activity.title), services.budget_check(proposal).costs)
            return redirect(url_for("proposals.activities", proposal_id=proposal.id))
    return proposal_page("proposals/activities.html", proposal, form=form)


@bp.route("/proposals/<int:proposal_id>/activities/<int:activity_id>", methods=["GET", "POST"])
@login_required
def edit_activity(proposal_id: int, activity_id: int):
    proposal = load(proposal_id)
    activity = item_in(proposal.activities, activity_id)
    form = ActivityForm(obj=activity, data={"kind": activity.kind.value} if request.method == "GET" else None)
    if form.validate_on_submit():
        with attempt(form) as done:
            services.update_activity(proposal, activity.id, _activity_data(form), actor=actor(), now=now())
        if done.ok:
            flash_saved(_("Activity '%(title)s' saved.", title=form.title.data), services.budget_check(proposal).costs)
            return redirect(url_for("proposals.activities", proposal_id=proposal.id))
    return proposal_page("proposals/activity_edit.html", proposal, form=form, activity=activity)


@bp.route("/proposals/<int:proposal_id>/activities/<int:activity_id>/remove", methods=["POST"])
@login_required
def remove_activity(proposal_id: int, activity_id: int):
    return remove_item(
        proposal_id, activity_id, services.remove_activity,
        _("Activity removed; its budget lines are kept, no longer tied to it."), "proposals.activities",
        warnings=lambda budget: budget.costs,
    )


@bp.route("/proposals/<int:proposal_id>/indicators", methods=["GET", "POST"])
@login_required
def indicators(proposal_id: int):
    proposal = load(proposal_id)
    form = IndicatorForm()
    if form.validate_on_submit():
        data = services.IndicatorData(name=form.name.data, unit=form.unit.data, baseline=form.baseline.data,
                                      target=form.target.data)
        with attempt(form) as done:
            services.add_indicator(proposal, data, actor=actor(), now=now())
        if done.ok:
            flash(_("Indicator added."), "success")
            return redirect(url_for("proposals.indicators", proposal_id=proposal.id))
    return proposal_page("proposals/indicators.html", proposal, form=form)


@bp.route("/proposals/<int:proposal_id>/indicators/<int:indicator_id>/remove", methods=["POST"])
@login_required
def remove_indicator(proposal_id: int, indicator_id: int):
    return remove_item(
        proposal_id, indicator_id, services.remove_indicator,
        _("Indicator removed."), "proposals.indicators",
    )
