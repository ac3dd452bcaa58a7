"""The initiative pages: the initiatives one may see, and one initiative with its start-up grant and the
disbursements that pay it (request, approve, reject, pay).

Managers, fund administrators and applicants (their groups' initiatives) read them; managers and fund
administrators act on disbursements; only a fund administrator records a payment (the service's rule). A
reviewer sees none (403 on the list, 404 on an initiative). Each view loads, checks access through the services,
validates its form, calls one service and commits once.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, current_app, flash, redirect, render_template, url_for
from flask_login import login_required

from programme.core.access import AccessDenied, Role, RuleViolation, require_role
from programme.core.forms import ActionForm
from programme.core.money import format_money
from programme.core.timezone import to_local
from programme.core.web import actor, commit, form_error, now
from programme.extensions import db
from programme.funding import services
from programme.funding.forms import PaymentForm, RejectForm, RequestForm, row_ids
from programme.funding.models import Disbursement, DisbursementStatus, Initiative

bp = Blueprint("funding", __name__)


def _zone() -> str:
    return current_app.config["PROGRAMME_TIMEZONE"]


def _handles(user: Any) -> bool:
    return any(user.has_role(role) for role in services.HANDLERS)


def _pays(user: Any) -> bool:
    return user.has_role(Role.FUND_ADMINISTRATOR)


@bp.route("/initiatives")
@login_required
def initiatives():
    shown = services.initiatives_for(actor())
    return render_template("funding/list.html", initiatives=shown, positions=services.positions_of(shown))


def _page(initiative: Initiative, *, request_form: RequestForm | None = None, failed: Disbursement | None = None,
          failed_form: Any = None, failed_action: str = "", message: str = "", status: int = 200):
    """The initiative's page; after a refusal, the refused row's form (with what was typed) and its message."""
    user = actor()
    grant = initiative.startup_grant
    disbursements = services.disbursements_of(initiative, actor=user)
    handles, pays = _handles(user), _pays(user)
    today = to_local(now(), _zone()).date()
    reject_forms: dict[int, RejectForm] = {}
    pay_forms: dict[int, PaymentForm] = {}
    if handles:
        for d in disbursements:
            if d.status in (DisbursementStatus.REQUESTED, DisbursementStatus.APPROVED):
                reject_forms[d.id] = row_ids(RejectForm(formdata=None), d.id)
            if d.status == DisbursementStatus.APPROVED and pays:
                pay_forms[d.id] = row_ids(PaymentForm(formdata=None, data={"value_date": today}), d.id)
    if failed is not None and failed_form is not None:
        row_ids(failed_form, failed.id)
        (reject_forms if failed_action == "reject" else pay_forms)[failed.id] = failed_form
    if handles and request_form is None and grant is not None:
        request_form = RequestForm(formdata=None)
    position = services.grant_position(grant) if grant is not None else None
    return render_template(
        "funding/initiative.html", initiative=initiative, grant=grant, position=position,
        ledger_paid=services.paid_from_ledger(initiative), disbursements=disbursements,
        people=services.people_of(disbursements), handles=handles, pays=pays, me=user.id,
        request_form=request_form, reject_forms=reject_forms, pay_forms=pay_forms, action_form=ActionForm(),
        failed_id=failed.id if failed is not None else None, failed_action=failed_action, message=message,
    ), status


@bp.route("/initiatives/<int:initiative_id>")
@login_required
def initiative(initiative_id: int):
    return _page(services.get_initiative(initiative_id, actor=actor()))


def _back(initiative: Initiative, disbursement: Disbursement | None = None):
    anchor = f"disbursement-{disbursement.id}" if disbursement is not None else "disbursements"
    return redirect(url_for("funding.initiative", initiative_id=initiative.id, _anchor=anchor))


@bp.route("/initiatives/<int:initiative_id>/disbursements", methods=["POST"])
@login_required
def request(initiative_id: int):
    initiative = services.get_initiative(initiative_id, actor=actor())
    require_role(actor(), *services.HANDLERS)
    grant = initiative.startup_grant
    if grant is None:
        raise RuleViolation(f"{initiative.reference} has no start-up grant to pay.")
    form = RequestForm()
    if form.validate_on_submit():
        try:
            d = services.request_disbursement(grant, amount=form.amount.data, purpose=form.purpose.data,
                                              actor=actor(), now=now())
        except RuleViolation as exc:
            db.session.rollback()
            form_error(form, exc)
        else:
            amount, left = d.amount, services.grant_position(grant).left
            commit()
            flash(f"{format_money(amount, d.currency)} requested for {initiative.reference}; "
                  f"{format_money(left, d.currency)} of the start-up grant is left to request. Another person "
                  "must approve it.", "success")
            return _back(initiative, d)
    return _page(initiative, request_form=form)


def _refusal(form: Any, exc: RuleViolation) -> str:
    """A service refused: forget what it changed; its message beside the field it names, else for the row."""
    db.session.rollback()
    field = getattr(form, exc.field, None) if exc.field else None
    if field is None:
        return exc.message
    field.errors = [*field.errors, exc.message] if isinstance(field.errors, list) else [exc.message]
    return ""


def _handled(disbursement_id: int) -> Disbursement:
    """A disbursement to act on: 404 if one may not see it, 403 if one may see it but not handle it."""
    d = services.get_disbursement(disbursement_id, actor=actor())
    require_role(actor(), *services.HANDLERS)
    return d


@bp.route("/disbursements/<int:disbursement_id>/approve", methods=["POST"])
@login_required
def approve(disbursement_id: int):
    d = _handled(disbursement_id)
    initiative = d.initiative
    if ActionForm().validate_on_submit():
        try:
            services.approve_disbursement(d, actor=actor(), now=now())
        except (RuleViolation, AccessDenied) as exc:
            # AccessDenied here is the rule that the requester never approves (the role was checked above).
            db.session.rollback()
            message = exc.message if isinstance(exc, RuleViolation) else str(exc)
            return _page(initiative, failed=d, failed_action="approve", message=message)
        amount, currency, reference = d.amount, d.currency, initiative.reference
        commit()
        flash(f"{format_money(amount, currency)} to {reference} approved: it may now be paid.", "success")
    return _back(initiative, d)


@bp.route("/disbursements/<int:disbursement_id>/reject", methods=["POST"])
@login_required
def reject(disbursement_id: int):
    d = _handled(disbursement_id)
    initiative = d.initiative
    form = RejectForm()
    if form.validate_on_submit():
        try:
            services.reject_disbursement(d, reason=form.reason.data, actor=actor(), now=now())
        except RuleViolation as exc:
            return _page(initiative, failed=d, failed_form=form, failed_action="reject",
                         message=_refusal(form, exc))
        amount, currency, reference = d.amount, d.currency, initiative.reference
        commit()
        flash(f"{format_money(amount, currency)} to {reference} rejected; the amount may be requested again.",
              "success")
        return _back(initiative, d)
    return _page(initiative, failed=d, failed_form=form, failed_action="reject")


@bp.route("/disbursements/<int:disbursement_id>/pay", methods=["POST"])
@login_required
def pay(disbursement_id: int):
    d = services.get_disbursement(disbursement_id, actor=actor())
    require_role(actor(), Role.FUND_ADMINISTRATOR)
    initiative = d.initiative
    form = PaymentForm()
    if form.validate_on_submit():
        try:
            services.record_payment(d, value_date=form.value_date.data, bank_reference=form.bank_reference.data,
                                    actor=actor(), now=now(), timezone=_zone())
        except RuleViolation as exc:
            return _page(initiative, failed=d, failed_form=form, failed_action="pay", message=_refusal(form, exc))
        amount, currency, reference = d.amount, d.currency, initiative.reference
        value_date, bank_reference = d.value_date, d.bank_reference
        commit()
        flash(f"{format_money(amount, currency)} paid to {reference} on {value_date.isoformat()}, "
              f"reference {bank_reference}.", "success")
        return _back(initiative, d)
    return _page(initiative, failed=d, failed_form=form, failed_action="pay")
