"""A loan's page (schedule with payments, repayments, events) and what a fund
administrator does on it: record a repayment, reschedule, write off, refund a credit; its schedule in Excel."""

from __future__ import annotations

from typing import Any

from flask import flash, redirect, render_template, url_for
from flask_login import login_required

from programme.core.money import format_money
from programme.core.texts import gettext as _
from programme.core.timezone import format_day
from programme.core.web import actor, attempt, now, programme_zone, send_workbook
from programme.loans import export, services
from programme.loans.forms import (
    RefundForm,
    RepaymentForm,
    RescheduleForm,
    WriteOffForm,
    rate_of,
)
from programme.loans.models import (
    Loan,
)
from programme.loans.views import bp
from programme.loans.views._common import _administered_loan, _administers, _approvals_shown, _today
from programme.loans.views.guarantee_section import guarantee_section


def _prefixed(form: Any, prefix: str) -> Any:
    """Give a form's fields ids of their own (several forms on the loan page share field names)."""
    for name, field in form._fields.items():
        if name != "csrf_token":
            field.id = f"{prefix}-{name}"
            field.label.field_id = field.id
    return form


def _loan_page(loan: Loan, *, forms: dict[str, Any] | None = None, opened: str = "", status: int = 200):
    today = _today()
    administers = _administers()
    shown: dict[str, Any] = {}
    if administers:
        shown = {
            "repayment": RepaymentForm(formdata=None, data={"value_date": today}),
            "reschedule": RescheduleForm(formdata=None, data={"grace_periods": 0}),
            "write_off": WriteOffForm(formdata=None, data={"on_date": today}),
            "refund": RefundForm(formdata=None, data={"value_date": today}),
        }
        shown.update(forms or {})
        for name in ("reschedule", "write_off", "refund"):
            _prefixed(shown[name], name.replace("_", "-"))
    rows = services.schedule_with_payments(loan, as_of=today)
    return render_template(
        "loans/loan.html", loan=loan, fund=loan.fund, initiative=loan.fund.initiative,
        current=[row for row in rows if not row.superseded], superseded=[row for row in rows if row.superseded],
        repayments=services.repayments_of(loan), events=services.events_of(loan), administers=administers,
        forms=shown, opened=opened, today=today, **_approvals_shown(loan=loan),
        **guarantee_section(loan, today, forms),
    ), status


@bp.route("/loans/<int:loan_id>")
@login_required
def loan(loan_id: int):
    return _loan_page(services.get_loan(loan_id, actor=actor()))


def _back(loan_id: int, anchor: str = "main"):
    """Back to the loan's page, at the top of its content, where the confirmation is shown (not at the schedule:
    the message would be off screen)."""
    return redirect(url_for("loans.loan", loan_id=loan_id, _anchor=anchor))


@bp.route("/loans/<int:loan_id>/repayments", methods=["POST"])
@login_required
def repay(loan_id: int):
    loan = _administered_loan(loan_id)
    form = RepaymentForm()
    if form.validate_on_submit():
        with attempt(form) as done:
            repayment = services.record_repayment(
                loan, amount=form.amount.data, value_date=form.value_date.data,
                bank_reference=form.bank_reference.data.strip(), actor=actor(), now=now(), timezone=programme_zone())
            message = _("%(amount)s received on %(number)s on %(day)s, reference %(reference)s.",
                        amount=format_money(repayment.amount, loan.currency), number=loan.number,
                        day=format_day(repayment.value_date), reference=repayment.bank_reference)
        if done.ok:
            flash(message, "success")
            return _back(loan_id)
    return _loan_page(loan, forms={"repayment": form}, opened="repayment")


@bp.route("/loans/<int:loan_id>/reschedule", methods=["POST"])
@login_required
def reschedule(loan_id: int):
    loan = _administered_loan(loan_id)
    form = RescheduleForm()
    if form.validate_on_submit():
        with attempt(form) as done:
            services.reschedule_loan(
                loan, term_periods=form.term_periods.data, first_due=form.first_due.data,
                reason=form.reason.data.strip(), actor=actor(), now=now(), annual_rate=rate_of(form.annual_rate.data),
                grace_periods=form.grace_periods.data or 0, grace=form.grace.data, method=form.method.data or None,
                timezone=programme_zone())
            number = loan.number
        if done.ok:
            flash(_("Loan %(number)s rescheduled: the unpaid instalments are replaced by the new schedule.",
                    number=number), "success")
            return _back(loan_id)
    return _loan_page(loan, forms={"reschedule": form}, opened="reschedule")


@bp.route("/loans/<int:loan_id>/write-off", methods=["POST"])
@login_required
def write_off(loan_id: int):
    """Asking for a write-off: with the date and reason typed, first the confirmation page (the fields kept,
    still editable), then the request itself (the POST with ``confirmed``), which a second person approves."""
    loan = _administered_loan(loan_id)
    form = WriteOffForm()
    if form.validate_on_submit():
        if not form.given:
            return _write_off_confirmation(loan, form)
        with attempt(form) as done:
            asked = services.request_write_off(loan, reason=form.reason.data.strip(), on_date=form.on_date.data,
                                               actor=actor(), now=now(), timezone=programme_zone())
            message = _("The write-off of %(number)s (%(amount)s) is waiting for a second person's approval.",
                        number=loan.number, amount=format_money(asked.amount, loan.currency))
        if done.ok:
            flash(message, "success")
            return _back(loan_id, "approvals")
    return _loan_page(loan, forms={"write_off": form}, opened="write_off")


def _write_off_confirmation(loan: Loan, form: WriteOffForm):
    """The write-off's confirmation: the amounts, in plain words, with the date and reason typed kept in their
    fields (nothing is asked yet)."""
    cur = loan.currency
    confirm = {
        "title": _("Ask for the write-off of loan %(number)s?", number=loan.number),
        "lead": [_("The principal outstanding of %(amount)s owed by %(borrower)s is to be written off as a loss of "
                   "the fund; money received afterwards is booked as a recovery.",
                   amount=format_money(loan.principal_outstanding, cur), borrower=loan.borrower.name),
                 _("Nothing is posted yet: the request waits for a second person (another fund administrator or a "
                   "manager), who approves or rejects it.")],
        "figures": [(_("Loan"), f"{loan.number}, {loan.borrower.name}"),
                    (_("Principal outstanding to write off"), format_money(loan.principal_outstanding, cur)),
                    (_("Date of the write-off"), format_day(form.on_date.data))],
        "warning": None,
        "final": _("Once approved, the write-off is posted to the ledger and cannot be undone; the loan stays "
                   "written off."),
        "action": url_for("loans.write_off", loan_id=loan.id), "yes": _("Yes, ask for the write-off"),
        "cancel": url_for("loans.loan", loan_id=loan.id), "fields": [form.on_date, form.reason],
    }
    flash(_("Nothing is asked yet: read what the write-off does and confirm it below."), "info")
    return render_template("confirm.html", form=form, confirm=confirm)


@bp.route("/loans/<int:loan_id>/refund", methods=["POST"])
@login_required
def refund(loan_id: int):
    loan = _administered_loan(loan_id)
    form = RefundForm()
    if form.validate_on_submit():
        with attempt(form) as done:
            asked = services.request_credit_refund(loan, bank_reference=form.bank_reference.data.strip(),
                                                   value_date=form.value_date.data, reason=form.reason.data.strip(),
                                                   actor=actor(), now=now(), timezone=programme_zone())
            message = _("The refund of %(amount)s of credit to %(borrower)s is waiting for a second person's "
                        "approval.", amount=format_money(asked.amount, loan.currency), borrower=loan.borrower.name)
        if done.ok:
            flash(message, "success")
            return _back(loan_id, "approvals")
    return _loan_page(loan, forms={"refund": form}, opened="refund")


@bp.route("/loans/<int:loan_id>/schedule.xlsx")
@login_required
def schedule_export(loan_id: int):
    loan = services.get_loan(loan_id, actor=actor())
    return send_workbook(lambda target: export.write_loan_schedule(target, loan), f"{loan.number}-schedule.xlsx")
