"""Four eyes: the write-offs, refunds and new loans waiting for a second person, approved or rejected."""

from __future__ import annotations

from flask import flash, redirect, render_template, url_for
from flask_login import login_required

from programme.core.access import Role
from programme.core.forms import ActionForm
from programme.core.texts import gettext as _
from programme.core.web import actor, attempt, now, programme_zone
from programme.loans import services
from programme.loans.forms import (
    DecisionForm,
)
from programme.loans.models import (
    LoanApproval,
)
from programme.loans.services import approvals, statements
from programme.loans.views import bp


@bp.route("/loan-approvals")
@login_required
def loan_approvals():
    """The write-offs, refunds and new loans waiting for a second person; "waiting for your approval" first."""
    me = actor()
    pending = services.pending_approvals(actor=me)
    mine = [a for a in pending if services.may_decide(a, me)]
    others = [a for a in pending if a not in mine]
    waiting_statements = statements.waiting_statements(actor=me) if me.has_role(Role.FUND_ADMINISTRATOR) else []
    return render_template("loans/approvals.html", mine=mine, others=others, summary=approvals.approval_summary,
                           may_all=lambda a: True, may_none=lambda a: False,
                           decision_form=DecisionForm(formdata=None), action_form=ActionForm(),
                           waiting_statements=waiting_statements)


def _after_decision(approval: LoanApproval):
    if approval.loan_id is not None:
        return redirect(url_for("loans.loan", loan_id=approval.loan_id, _anchor="events"))
    return redirect(url_for("loans.loan_approvals"))


@bp.route("/loan-approvals/<int:approval_id>/approve", methods=["POST"])
@login_required
def approve(approval_id: int):
    approval = services.get_approval(approval_id, actor=actor())
    if ActionForm().validate_on_submit():
        with attempt() as done:
            decided = services.approve(approval, actor=actor(), now=now(), timezone=programme_zone())
            message = _("Approved and posted: %(summary)s.", summary=approvals.approval_summary(decided))
        if done.ok:
            flash(message, "success")
    return _after_decision(approval)


@bp.route("/loan-approvals/<int:approval_id>/reject", methods=["POST"])
@login_required
def reject(approval_id: int):
    approval = services.get_approval(approval_id, actor=actor())
    form = DecisionForm()
    if form.validate_on_submit():
        with attempt(form) as done:
            services.reject(approval, reason=form.reason.data.strip(), actor=actor(), now=now())
        if done.ok:
            flash(_("Rejected: nothing was posted."), "success")
    else:
        flash(_("Give the reason for the rejection."), "error")
    return _after_decision(approval)
