"""What a fund administrator does with a loan's guarantees, on the loan's page: give and release a guarantee, ask
for the call of a defaulted loan's guarantees (a second person approves or rejects it), record what a guarantor
paid, ask for a write-off of what one cannot pay, or for the refund of a guarantor's credit (a second person
approves or rejects each).

Access as on the loan's other forms: a loan one may not see is a 404; acting needs a fund administrator (403),
deciding a four-eyes request a second fund administrator or a programme manager. A refusal is shown beside the
field it names on the loan's page, with what was typed kept."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from flask import flash, redirect, url_for
from flask_login import login_required

from programme.core.access import require_role
from programme.core.forms import ActionForm
from programme.core.money import format_money
from programme.core.texts import gettext as _
from programme.core.web import actor, attempt, now, programme_zone
from programme.loans import services
from programme.loans.forms import DecisionForm, RefundForm
from programme.loans.guarantee_forms import (
    CallForm,
    CollectionForm,
    GuaranteeForm,
    ObligationWriteOffForm,
    ReleaseForm,
    share_of,
)
from programme.loans.services import guarantee_calls, guarantee_collections, guarantee_refunds, guarantees
from programme.loans.views import bp
from programme.loans.views._common import _administered_loan
from programme.loans.views.guarantee_section import guarantor_choices
from programme.loans.views.loan_page import _loan_page


def _back(loan_id: int):
    return redirect(url_for("loans.loan", loan_id=loan_id, _anchor="guarantees"))


def _again(loan: Any, forms: dict[str, Any]):
    return _loan_page(loan, forms=forms, opened="guarantees")


@bp.route("/loans/<int:loan_id>/guarantees", methods=["POST"])
@login_required
def add_guarantee(loan_id: int):
    loan = _administered_loan(loan_id)
    form = GuaranteeForm()
    form.guarantor_id.choices = guarantor_choices(loan)
    if form.validate_on_submit():
        with attempt(form) as done:
            given = guarantees.add_guarantee(
                loan, guarantor_id=form.guarantor_id.data, share=share_of(form.share.data), amount=form.amount.data,
                actor=actor(), now=now(), timezone=programme_zone())
            message = _("%(guarantor)s now guarantees %(number)s.", guarantor=given.guarantor.name,
                        number=loan.number)
        if done.ok:
            flash(message, "success")
            return _back(loan_id)
    return _again(loan, {"guarantee_add": form})


@bp.route("/loans/<int:loan_id>/guarantees/<int:guarantee_id>/release", methods=["POST"])
@login_required
def release_guarantee(loan_id: int, guarantee_id: int):
    loan = _administered_loan(loan_id)
    guarantee = guarantees.get_guarantee(loan, guarantee_id)
    form = ReleaseForm()
    if form.validate_on_submit():
        with attempt(form) as done:
            guarantees.release_guarantee(guarantee, reason=form.reason.data.strip(), actor=actor(), now=now(),
                                         timezone=programme_zone())
            message = _("The guarantee of %(guarantor)s is released.", guarantor=guarantee.guarantor.name)
        if done.ok:
            flash(message, "success")
            return _back(loan_id)
    return _again(loan, {"guarantee_release": form})


@bp.route("/loans/<int:loan_id>/guarantee-call", methods=["POST"])
@login_required
def call_guarantees(loan_id: int):
    loan = _administered_loan(loan_id)
    form = CallForm()
    if form.validate_on_submit():
        with attempt(form) as done:
            guarantee_calls.request_call(loan, reason=form.reason.data.strip(), actor=actor(), now=now(),
                                    timezone=programme_zone())
            message = _("The call of the guarantees of %(number)s is waiting for a second person's approval.",
                        number=loan.number)
        if done.ok:
            flash(message, "success")
            return _back(loan_id)
    return _again(loan, {"guarantee_call": form})


def _deciding_loan(loan_id: int):
    loan = services.get_loan(loan_id, actor=actor())
    require_role(actor(), *guarantees.APPROVERS)
    return loan


def _approve(loan_id: int, approving: Callable[[], str]):
    """A request waiting for a second person, approved from its button: ``approving()`` decides it and answers the
    message shown; a refusal is flashed. Back to the loan's guarantees."""
    if ActionForm().validate_on_submit():
        with attempt() as done:
            message = approving()
        if done.ok:
            flash(message, "success")
    return _back(loan_id)


def _reject(loan_id: int, reject: Callable[[str], object], rejected: str):
    """A request waiting for a second person, rejected (or withdrawn by the one who asked) with the reason typed:
    ``reject(reason)`` decides it; ``rejected`` is the message shown. Back to the loan's guarantees."""
    form = DecisionForm()
    if form.validate_on_submit():
        with attempt(form) as done:
            reject(form.reason.data.strip())
        if done.ok:
            flash(rejected, "success")
    else:
        flash(_("Give the reason for the rejection."), "error")
    return _back(loan_id)


@bp.route("/loans/<int:loan_id>/guarantee-call/approve", methods=["POST"])
@login_required
def approve_guarantee_call(loan_id: int):
    loan = _deciding_loan(loan_id)

    def approving() -> str:
        call = guarantee_calls.approve_call(guarantees.requested_call(loan), actor=actor(), now=now(),
                                            timezone=programme_zone())
        return _("Guarantees of %(number)s called: the guarantors owe %(amount)s.", number=loan.number,
                 amount=format_money(call.called, loan.currency))

    return _approve(loan_id, approving)


@bp.route("/loans/<int:loan_id>/guarantee-call/reject", methods=["POST"])
@login_required
def reject_guarantee_call(loan_id: int):
    loan = _deciding_loan(loan_id)  # the one who asked (a fund administrator) withdraws, or a second person rejects
    return _reject(loan_id, lambda reason: guarantee_calls.reject_call(
        guarantees.requested_call(loan), reason=reason, actor=actor(), now=now()),
        _("The call is rejected: nothing was posted."))


@bp.route("/loans/<int:loan_id>/obligations/<int:obligation_id>/collections", methods=["POST"])
@login_required
def collect_guarantee(loan_id: int, obligation_id: int):
    loan = _administered_loan(loan_id)
    obligation = guarantees.get_obligation(loan, obligation_id)
    form = CollectionForm(prefix=f"collect-{obligation.id}")
    if form.validate_on_submit():
        with attempt(form) as done:
            collection = guarantee_collections.record_collection(
                obligation, amount=form.amount.data, value_date=form.value_date.data,
                bank_reference=form.bank_reference.data.strip(), actor=actor(), now=now(), timezone=programme_zone())
            message = _("%(amount)s received from %(guarantor)s, reference %(reference)s.",
                        amount=format_money(collection.amount, loan.currency), guarantor=obligation.guarantor.name,
                        reference=collection.bank_reference)
        if done.ok:
            flash(message, "success")
            return _back(loan_id)
    return _again(loan, {"collection": (obligation.id, form)})


@bp.route("/loans/<int:loan_id>/obligations/<int:obligation_id>/write-off", methods=["POST"])
@login_required
def write_off_obligation(loan_id: int, obligation_id: int):
    loan = _administered_loan(loan_id)
    obligation = guarantees.get_obligation(loan, obligation_id)
    form = ObligationWriteOffForm(prefix=f"write-off-{obligation.id}")
    if form.validate_on_submit():
        with attempt(form) as done:
            guarantee_collections.request_obligation_write_off(
                obligation, reason=form.reason.data.strip(), on_date=form.on_date.data, actor=actor(), now=now(),
                timezone=programme_zone())
            message = _("The write-off of what %(guarantor)s owes is waiting for a second person's approval.",
                        guarantor=obligation.guarantor.name)
        if done.ok:
            flash(message, "success")
            return _back(loan_id)
    return _again(loan, {"obligation_write_off": (obligation.id, form)})


@bp.route("/loans/<int:loan_id>/obligations/<int:obligation_id>/write-off/approve", methods=["POST"])
@login_required
def approve_obligation_write_off(loan_id: int, obligation_id: int):
    loan = _deciding_loan(loan_id)
    obligation = guarantees.get_obligation(loan, obligation_id)

    def approving() -> str:
        decided = guarantee_collections.approve_obligation_write_off(obligation, actor=actor(), now=now(),
                                                                     timezone=programme_zone())
        return _("Written off: %(amount)s that %(guarantor)s could not pay.",
                 amount=format_money(decided.written_off, loan.currency), guarantor=decided.guarantor.name)

    return _approve(loan_id, approving)


@bp.route("/loans/<int:loan_id>/obligations/<int:obligation_id>/write-off/reject", methods=["POST"])
@login_required
def reject_obligation_write_off(loan_id: int, obligation_id: int):
    loan = _deciding_loan(loan_id)
    obligation = guarantees.get_obligation(loan, obligation_id)
    return _reject(loan_id, lambda reason: guarantee_collections.reject_obligation_write_off(
        obligation, reason=reason, actor=actor(), now=now()), _("The write-off is rejected: nothing was posted."))


@bp.route("/loans/<int:loan_id>/obligations/<int:obligation_id>/credit-refund", methods=["POST"])
@login_required
def refund_guarantor_credit(loan_id: int, obligation_id: int):
    loan = _administered_loan(loan_id)
    obligation = guarantees.get_obligation(loan, obligation_id)
    form = RefundForm(prefix=f"refund-{obligation.id}")
    if form.validate_on_submit():
        with attempt(form) as done:
            asked = guarantee_refunds.request_credit_refund(
                obligation, bank_reference=form.bank_reference.data.strip(), value_date=form.value_date.data,
                reason=form.reason.data.strip(), actor=actor(), now=now(), timezone=programme_zone())
            message = _("The refund of %(amount)s of credit to %(guarantor)s is waiting for a second person's "
                        "approval.", amount=format_money(asked.amount, loan.currency),
                        guarantor=obligation.guarantor.name)
        if done.ok:
            flash(message, "success")
            return _back(loan_id)
    return _again(loan, {"guarantor_refund": (obligation.id, form)})


@bp.route("/loans/<int:loan_id>/obligations/<int:obligation_id>/credit-refund/approve", methods=["POST"])
@login_required
def approve_guarantor_credit_refund(loan_id: int, obligation_id: int):
    loan = _deciding_loan(loan_id)
    obligation = guarantees.get_obligation(loan, obligation_id)

    def approving() -> str:
        refunded = guarantee_refunds.approve_credit_refund(guarantee_refunds.waiting_refund_of(obligation),
                                                           actor=actor(), now=now(), timezone=programme_zone())
        return _("Refunded: %(amount)s of credit to %(guarantor)s, reference %(reference)s.",
                 amount=format_money(refunded.amount, loan.currency), guarantor=obligation.guarantor.name,
                 reference=refunded.bank_reference)

    return _approve(loan_id, approving)


@bp.route("/loans/<int:loan_id>/obligations/<int:obligation_id>/credit-refund/reject", methods=["POST"])
@login_required
def reject_guarantor_credit_refund(loan_id: int, obligation_id: int):
    loan = _deciding_loan(loan_id)  # the one who asked (a fund administrator) withdraws, or a second person rejects
    obligation = guarantees.get_obligation(loan, obligation_id)
    return _reject(loan_id, lambda reason: guarantee_refunds.reject_credit_refund(
        guarantee_refunds.waiting_refund_of(obligation), reason=reason, actor=actor(), now=now()),
        _("The refund is rejected: nothing was posted."))
