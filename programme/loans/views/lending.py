"""Making a loan, with a preview of its schedule."""

from __future__ import annotations

from typing import Any

from dateutil.relativedelta import relativedelta
from flask import flash, redirect, render_template, request, url_for
from flask_login import login_required

from programme.core.forms import choices
from programme.core.money import format_money
from programme.core.texts import gettext as _
from programme.core.web import actor, attempt, now, programme_zone
from programme.loans import services
from programme.loans.forms import (
    LoanForm,
    rate_of,
)
from programme.loans.models import (
    LoanApproval,
    RevolvingFund,
)
from programme.loans.schedule import LoanTerms, build_schedule
from programme.loans.views import bp
from programme.loans.views._common import _administered_fund, _today

#: The fields of the new-loan form that make its schedule (what a preview needs).
SCHEDULE_FIELDS = ("principal", "annual_rate", "term_periods", "grace_periods", "grace", "frequency", "method",
                   "first_due")


def _loan_form(fund: RevolvingFund, *, formdata: Any = "post", data: dict | None = None) -> LoanForm:
    form = LoanForm(formdata=None, data=data) if formdata is None else LoanForm()
    form.limit(fund.initiative.call.rules.funding.loans)
    form.borrower_id.choices = choices([(0, _("Choose the borrower")), *(
        (o.id, f"{o.name} ({o.kind_label})") for o in fund.initiative.group.organisations)])
    requests = services.loan_requests_of(fund)
    form.funding_request_id.choices = choices([(0, _("None")), *(
        (r.id, _("%(title)s: loan of %(amount)s approved", title=r.title,
                 amount=format_money(r.loan_approved, r.currency))) for r in requests)])
    return form


def _terms(fund: RevolvingFund, form: LoanForm) -> LoanTerms:
    rules = fund.initiative.call.rules.funding.loans
    return LoanTerms(principal=form.principal.data, annual_rate=rate_of(form.annual_rate.data),
                     term_periods=form.term_periods.data, first_due=form.first_due.data, currency=fund.currency,
                     grace_periods=form.grace_periods.data or 0, grace=form.grace.data, frequency=form.frequency.data,
                     method=form.method.data, rounding=rules.rounding)


@bp.route("/funds/<int:fund_id>/loans/new", methods=["GET", "POST"])
@login_required
def new_loan(fund_id: int):
    fund = _administered_fund(fund_id)
    today = _today()
    schedule = None
    if request.method == "GET":
        form = _loan_form(fund, formdata=None, data={
            "disbursed_on": today, "first_due": today + relativedelta(months=1), "grace_periods": 0,
            "annual_rate": None})
    else:
        form = _loan_form(fund)
        if form.preview.data and not form.make.data:
            # A preview needs only the terms: the other fields' errors wait for "Make the loan".
            form.validate()
            for name in set(form._fields) - set(SCHEDULE_FIELDS) - {"csrf_token"}:
                form[name].errors = []
            if not any(form[name].errors for name in SCHEDULE_FIELDS):
                try:
                    schedule = build_schedule(_terms(fund, form))
                except ValueError as exc:
                    flash(_("The schedule cannot be built: %(error)s.", error=exc), "error")
        elif form.validate_on_submit():
            with attempt(form) as done:
                loan = services.make_loan(
                    fund, borrower_id=form.borrower_id.data, principal=form.principal.data,
                    annual_rate=rate_of(form.annual_rate.data), term_periods=form.term_periods.data,
                    grace_periods=form.grace_periods.data or 0, grace=form.grace.data,
                    frequency=form.frequency.data, method=form.method.data, first_due=form.first_due.data,
                    disbursed_on=form.disbursed_on.data, bank_reference=form.bank_reference.data.strip(),
                    purpose=form.purpose.data.strip(), funding_request_id=form.funding_request_id.data or None,
                    actor=actor(), now=now(), timezone=programme_zone())
                if isinstance(loan, LoanApproval):
                    target = url_for("loans.fund", fund_id=fund.id, _anchor="approvals")
                    message = _("A loan of %(amount)s is waiting for a second person's approval: nothing is paid "
                                "out until then.", amount=format_money(loan.amount, fund.currency))
                else:
                    target = url_for("loans.loan", loan_id=loan.id)
                    message = _("Loan %(number)s of %(amount)s made to %(borrower)s.", number=loan.number,
                                amount=format_money(loan.principal, loan.currency), borrower=loan.borrower.name)
            if done.ok:
                flash(message, "success")
                return redirect(target)
    return render_template("loans/new_loan.html", fund=fund, initiative=fund.initiative, form=form,
                           schedule=schedule, rules=fund.initiative.call.rules.funding.loans,
                           cash=services.fund_cash(fund))
