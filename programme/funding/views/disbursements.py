"""The tranches that pay a grant: request a start-up-grant or matching-grant tranche, approve it, reject it, record
its payment. Managers and fund administrators act; only a fund administrator records a payment; whoever
requested a tranche never approves it (the service's rule)."""

from __future__ import annotations

from flask import flash
from flask_login import login_required

from programme.core.access import AccessDenied, NotFound, Role, RuleViolation, require_role
from programme.core.forms import ActionForm
from programme.core.money import format_money
from programme.core.texts import gettext as _
from programme.core.timezone import format_day
from programme.core.web import actor, attempt, now, programme_zone
from programme.funding import services
from programme.funding.forms import PaymentForm, RejectForm, RequestForm
from programme.funding.models import Disbursement, GrantKind
from programme.funding.views import bp
from programme.funding.views._common import back, page


@bp.route("/initiatives/<int:initiative_id>/disbursements", methods=["POST"])
@login_required
def request(initiative_id: int):
    initiative = services.get_initiative(initiative_id, actor=actor())
    require_role(actor(), *services.HANDLERS)
    grant = initiative.startup_grant
    if grant is None:
        raise RuleViolation(_("%(reference)s has no start-up grant to pay.", reference=initiative.reference))
    form = RequestForm()
    if form.validate_on_submit():
        with attempt(form) as done:
            d = services.request_disbursement(grant, amount=form.amount.data, purpose=form.purpose.data,
                                              actor=actor(), now=now(), timezone=programme_zone())
            amount, left = d.amount, services.grant_position(grant).left
        if done.ok:
            flash(_("%(amount)s requested for %(reference)s; %(left)s of the start-up grant is left to request. "
                    "Another person must approve it.", amount=format_money(amount, d.currency),
                    reference=initiative.reference, left=format_money(left, d.currency)), "success")
            return back(initiative, d)
    return page(initiative, request_form=form)


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
        # AccessDenied here is the rule that the requester never approves (the role was checked above).
        with attempt(flash_unplaced=False, also=(AccessDenied,)) as done:
            services.approve_disbursement(d, actor=actor(), now=now(), timezone=programme_zone())
            amount, currency, reference = d.amount, d.currency, initiative.reference
        if not done.ok:
            return page(initiative, failed=d, failed_action="approve", message=done.message)
        flash(_("%(amount)s to %(reference)s approved: it may now be paid.", amount=format_money(amount, currency),
                reference=reference), "success")
    return back(initiative, d)


@bp.route("/disbursements/<int:disbursement_id>/reject", methods=["POST"])
@login_required
def reject(disbursement_id: int):
    d = _handled(disbursement_id)
    initiative = d.initiative
    form = RejectForm()
    if form.validate_on_submit():
        with attempt(form, flash_unplaced=False) as done:
            services.reject_disbursement(d, reason=form.reason.data, actor=actor(), now=now())
            amount, currency, reference = d.amount, d.currency, initiative.reference
        if not done.ok:
            return page(initiative, failed=d, failed_form=form, failed_action="reject", message=done.message)
        flash(_("%(amount)s to %(reference)s rejected; the amount may be requested again.",
                amount=format_money(amount, currency), reference=reference), "success")
        return back(initiative, d)
    return page(initiative, failed=d, failed_form=form, failed_action="reject")


@bp.route("/disbursements/<int:disbursement_id>/pay", methods=["POST"])
@login_required
def pay(disbursement_id: int):
    d = services.get_disbursement(disbursement_id, actor=actor())
    require_role(actor(), Role.FUND_ADMINISTRATOR)
    initiative = d.initiative
    form = PaymentForm()
    if form.validate_on_submit():
        with attempt(form, flash_unplaced=False) as done:
            services.record_payment(d, value_date=form.value_date.data, bank_reference=form.bank_reference.data,
                                    actor=actor(), now=now(), timezone=programme_zone())
            amount, currency, reference = d.amount, d.currency, initiative.reference
            value_date, bank_reference = d.value_date, d.bank_reference
        if not done.ok:
            return page(initiative, failed=d, failed_form=form, failed_action="pay", message=done.message)
        flash(_("%(amount)s paid to %(reference)s on %(day)s, reference %(bank_reference)s.",
                amount=format_money(amount, currency), reference=reference, day=format_day(value_date),
                bank_reference=bank_reference), "success")
        return back(initiative, d)
    return page(initiative, failed=d, failed_form=form, failed_action="pay")


@bp.route("/initiatives/<int:initiative_id>/grants/<int:grant_id>/disbursements", methods=["POST"])
@login_required
def request_matching(initiative_id: int, grant_id: int):
    initiative = services.get_initiative(initiative_id, actor=actor())
    require_role(actor(), *services.HANDLERS)
    grant = next((g for g in initiative.grants if g.id == grant_id and g.kind == GrantKind.MATCHING), None)
    if grant is None:
        raise NotFound("no such matching grant")
    form = RequestForm()
    key = f"tranche-{grant.id}"
    if form.validate_on_submit():
        with attempt(form, flash_unplaced=False) as done:
            d = services.request_disbursement(grant, amount=form.amount.data, purpose=form.purpose.data,
                                              actor=actor(), now=now(), timezone=programme_zone())
            amount, currency = d.amount, d.currency
        if not done.ok:
            return page(initiative, forms={key: form, f"message-{key}": done.message})
        flash(_("%(amount)s of matching grant %(grant)s requested for %(reference)s. Another person must approve it.",
                amount=format_money(amount, currency), grant=grant_id, reference=initiative.reference), "success")
        return back(initiative, d)
    return page(initiative, forms={key: form})
