"""Funding requests: the initiative's group (or a programme manager) submits one; a programme manager judges it
against the call's criteria (an approved grant part becomes a matching grant)."""

from __future__ import annotations

from flask import flash
from flask_login import login_required

from programme.core.access import AccessDenied, Role, require_role
from programme.core.texts import gettext as _
from programme.core.web import actor, attempt, now
from programme.funding import services
from programme.funding.forms import FundingRequestForm, judgement_form, row_ids
from programme.funding.models import FundingRequestStatus
from programme.funding.views import bp
from programme.funding.views._common import page, to


@bp.route("/initiatives/<int:initiative_id>/funding-requests", methods=["POST"])
@login_required
def submit_funding_request(initiative_id: int):
    initiative = services.get_initiative(initiative_id, actor=actor())
    if not services.may_submit_requests(initiative, actor()):
        raise AccessDenied(_("only the initiative's group or a programme manager submits its funding requests"))
    form = FundingRequestForm()
    if form.validate_on_submit():
        with attempt(form, flash_unplaced=False) as done:
            made = services.submit_funding_request(
                initiative, title=form.title.data, description=form.description.data, cost=form.cost.data,
                instrument=form.instrument.data, grant_asked=form.grant_asked.data, loan_asked=form.loan_asked.data,
                actor=actor(), now=now())
            title, request_id = made.title, made.id
        if not done.ok:
            return page(initiative, forms={"funding": form, "message-funding": done.message})
        flash(_("Funding request '%(title)s' submitted; a programme manager will judge it.", title=title), "success")
        return to(initiative, f"funding-request-{request_id}")
    return page(initiative, forms={"funding": form})


@bp.route("/funding-requests/<int:request_id>/judge", methods=["POST"])
@login_required
def judge_funding_request(request_id: int):
    found = services.get_funding_request(request_id, actor=actor())
    require_role(actor(), Role.PROGRAMME_MANAGER)
    initiative = found.initiative
    criteria = initiative.call.rules.funding.request_criteria
    form = judgement_form(criteria)
    key = f"judge-{found.id}"
    if form.validate_on_submit():
        assessments = {c.key: (met.data == "yes", note.data) for c, met, note in form.criteria}
        with attempt(form, flash_unplaced=False) as done:
            services.judge_funding_request(
                found, assessments=assessments, approve=form.decision.data == "approve", reason=form.reason.data,
                grant_approved=form.grant_approved.data, loan_approved=form.loan_approved.data, actor=actor(),
                now=now())
            title, outcome = found.title, found.status
        if not done.ok:
            row_ids(form, found.id)
            return page(initiative, forms={key: form, f"message-{key}": done.message})
        flash(_("Funding request '%(title)s' approved; the group is notified.", title=title)
              if outcome == FundingRequestStatus.APPROVED else
              _("Funding request '%(title)s' rejected; the group is notified.", title=title), "success")
        return to(initiative, f"funding-request-{request_id}")
    return page(initiative, forms={key: form})
