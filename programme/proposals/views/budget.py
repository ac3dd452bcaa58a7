"""The budget page of a draft: the amount requested, the budget lines (added, changed, removed) and the members'
co-financing commitments."""

from __future__ import annotations

from flask import flash, redirect, request, url_for
from flask_login import login_required

from programme.core.texts import gettext as _
from programme.core.web import actor, attempt, now
from programme.proposals import services
from programme.proposals.domain import COST_TYPES, BudgetCheck, CoFinancingKind
from programme.proposals.forms import (
    BudgetLineForm,
    CoFinancingForm,
    RequestedAmountForm,
    activity_choices,
    organisation_choices,
)
from programme.proposals.models import Proposal
from programme.proposals.views import bp
from programme.proposals.views._common import flash_saved, item_in, load, own, proposal_page, remove_item


def _budget_page(proposal: Proposal, *, requested_form: RequestedAmountForm | None = None,
                 line_form: BudgetLineForm | None = None, cofinancing_form: CoFinancingForm | None = None):
    """The budget page; the form that was posted comes back with its values and errors, the others fresh."""
    requested_form = requested_form or RequestedAmountForm(
        formdata=None, data={"requested_amount": proposal.requested_amount}
    )
    line_form = line_form or BudgetLineForm(formdata=None)
    line_form.activity_id.choices = activity_choices(proposal.activities)
    cofinancing_form = cofinancing_form or CoFinancingForm(formdata=None, prefix="cofinancing")
    cofinancing_form.organisation_id.choices = organisation_choices(proposal.group.organisations)
    return proposal_page("proposals/budget.html", proposal, requested_form=requested_form, line_form=line_form,
                         cofinancing_form=cofinancing_form, cost_types=COST_TYPES)


@bp.route("/proposals/<int:proposal_id>/budget")
@login_required
def budget(proposal_id: int):
    return _budget_page(own(proposal_id))


@bp.route("/proposals/<int:proposal_id>/budget/requested", methods=["POST"])
@login_required
def set_requested(proposal_id: int):
    proposal = services.get_proposal_for_edit(proposal_id, actor=actor())
    form = RequestedAmountForm()
    if form.validate_on_submit():
        with attempt(form) as done:
            services.set_requested_amount(proposal, form.requested_amount.data, actor=actor(), now=now())
        if done.ok:
            flash_saved(_("The amount requested is saved."), services.budget_check(proposal).requested)
            return redirect(url_for("proposals.budget", proposal_id=proposal.id))
    return _budget_page(proposal, requested_form=form)


def _line_warnings(budget: BudgetCheck) -> tuple[str, ...]:
    """What a change of the budget lines may put out of line: their total against the activities' costs, and the
    amount requested against the budget total."""
    return budget.costs + budget.requested


def _line_data(form: BudgetLineForm) -> services.BudgetLineData:
    return services.BudgetLineData(activity_id=form.activity_id.data or None, cost_type=form.cost_type.data,
                                   description=form.description.data, amount=form.amount.data)


@bp.route("/proposals/<int:proposal_id>/budget/lines", methods=["POST"])
@login_required
def add_line(proposal_id: int):
    proposal = services.get_proposal_for_edit(proposal_id, actor=actor())
    form = BudgetLineForm()
    form.activity_id.choices = activity_choices(proposal.activities)
    if form.validate_on_submit():
        with attempt(form) as done:
            services.add_budget_line(proposal, _line_data(form), actor=actor(), now=now())
        if done.ok:
            flash_saved(_("Budget line added."), _line_warnings(services.budget_check(proposal)))
            return redirect(url_for("proposals.budget", proposal_id=proposal.id))
    return _budget_page(proposal, line_form=form)


@bp.route("/proposals/<int:proposal_id>/budget/<int:line_id>", methods=["GET", "POST"])
@login_required
def edit_line(proposal_id: int, line_id: int):
    proposal = load(proposal_id)
    line = item_in(proposal.budget_lines, line_id)
    form = BudgetLineForm(data={
        "activity_id": line.activity_id or 0, "cost_type": line.cost_type, "description": line.description,
        "amount": line.amount,
    } if request.method == "GET" else None)
    form.activity_id.choices = activity_choices(proposal.activities)
    if form.validate_on_submit():
        with attempt(form) as done:
            services.update_budget_line(proposal, line.id, _line_data(form), actor=actor(), now=now())
        if done.ok:
            flash_saved(_("Budget line saved."), _line_warnings(services.budget_check(proposal)))
            return redirect(url_for("proposals.budget", proposal_id=proposal.id))
    return proposal_page("proposals/budget_line_edit.html", proposal, form=form, line=line)


@bp.route("/proposals/<int:proposal_id>/budget/<int:line_id>/remove", methods=["POST"])
@login_required
def remove_line(proposal_id: int, line_id: int):
    return remove_item(proposal_id, line_id, services.remove_budget_line, _("Budget line removed."), "proposals.budget",
                       warnings=_line_warnings)


@bp.route("/proposals/<int:proposal_id>/cofinancing", methods=["POST"])
@login_required
def add_cofinancing(proposal_id: int):
    proposal = services.get_proposal_for_edit(proposal_id, actor=actor())
    form = CoFinancingForm(prefix="cofinancing")
    form.organisation_id.choices = organisation_choices(proposal.group.organisations)
    if form.validate_on_submit():
        data = services.CoFinancingData(
            organisation_id=form.organisation_id.data, kind=CoFinancingKind(form.kind.data),
            amount=form.amount.data, description=form.description.data or "",
        )
        with attempt(form) as done:
            services.add_cofinancing(proposal, data, actor=actor(), now=now())
        if done.ok:
            flash(_("Co-financing commitment added."), "success")
            return redirect(url_for("proposals.budget", proposal_id=proposal.id) + "#cofinancing")
    return _budget_page(proposal, cofinancing_form=form)


@bp.route("/proposals/<int:proposal_id>/cofinancing/<int:cofinancing_id>/remove", methods=["POST"])
@login_required
def remove_cofinancing(proposal_id: int, cofinancing_id: int):
    return remove_item(
        proposal_id, cofinancing_id, services.remove_cofinancing,
        _("Co-financing commitment removed."), "proposals.budget", anchor="cofinancing",
    )
