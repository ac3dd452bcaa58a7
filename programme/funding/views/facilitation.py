"""The facilitation fund (seed 003, section 8): the group's lead claims facilitation costs with their evidence; a
fund administrator who did not submit the claim verifies it (its tranche then goes through the disbursements:
approved by another person, paid by a fund administrator) or refuses it; the claim's page shows its costs and
evidence."""

from __future__ import annotations

import re

from flask import current_app, flash, redirect, render_template, send_file, url_for
from flask_login import login_required

from programme.core.access import AccessDenied, NotFound, Role, RuleViolation, require_role
from programme.core.files import stored_path
from programme.core.forms import ActionForm
from programme.core.money import format_money
from programme.core.texts import gettext as _
from programme.core.timezone import local_date
from programme.core.web import actor, attempt, now, programme_zone
from programme.funding import services
from programme.funding.forms import ClaimForm, RejectForm, claim_form
from programme.funding.models import ClaimStatus, FacilitationClaim, Initiative, cost_kind_label
from programme.funding.views import bp
from programme.funding.views._common import handles

_ROW_FIELD = re.compile(r"^items-(\d+)-(\w+)$")


def _kinds(initiative: Initiative) -> list[tuple[str, str]]:
    rules = services.facilitation_rules(initiative)
    return [] if rules is None else [(k, cost_kind_label(k)) for k in rules.cost_kinds]


def _claim_page(initiative: Initiative, form: ClaimForm, message: str = ""):
    position = services.facilitation_position(initiative, now=now(), timezone=programme_zone())
    return render_template("funding/facilitation_claim_form.html", initiative=initiative, form=form,
                           fund=position, rules=services.facilitation_rules(initiative), message=message)


def _place(form: ClaimForm, error: RuleViolation) -> str:
    """Put a refusal beside the field it names (a cost row's field, or the claim's own); the message when it names
    none."""
    match = _ROW_FIELD.match(error.field or "")
    if match and int(match.group(1)) < len(form.items):
        field = form.items[int(match.group(1))].form[match.group(2)]
    else:
        field = getattr(form, error.field, None) if error.field else None
    if field is None:
        return error.message
    field.errors = [*field.errors, error.message] if isinstance(field.errors, list) else [error.message]
    return ""


def _claimant(initiative_id: int) -> Initiative:
    """The initiative to claim on: 404 if one may not see it or its call has no fund, 403 if one is not its
    group's lead."""
    initiative = services.get_initiative(initiative_id, actor=actor())
    if services.facilitation_rules(initiative) is None:
        raise NotFound("this initiative's call has no facilitation fund")
    if not services.may_claim(initiative, actor()):
        raise AccessDenied(_("only the lead of the initiative's group claims on its facilitation fund"))
    return initiative


@bp.route("/initiatives/<int:initiative_id>/facilitation-claims", methods=["GET", "POST"])
@login_required
def facilitation_claim_new(initiative_id: int):
    initiative = _claimant(initiative_id)
    form = claim_form(_kinds(initiative))
    if not form.validate_on_submit():
        return _claim_page(initiative, form)
    items = [services.CostItemInput(
        row=index, kind=row.form.kind.data, description=row.form.description.data,
        incurred_on=row.form.incurred_on.data, amount=row.form.amount.data,
        stream=row.form.file.data.stream if row.form.file.data else None,
        filename=row.form.file.data.filename if row.form.file.data else None) for index, row in enumerate(form.items)]
    with attempt(flash_unplaced=False) as done:
        made = services.submit_claim(
            initiative, items=items, amount=form.amount.data, note=form.note.data, actor=actor(), now=now(),
            upload_root=current_app.config["UPLOAD_FOLDER"], max_bytes=current_app.config["MAX_ATTACHMENT_BYTES"],
            timezone=programme_zone())
        claim_id, amount, currency = made.id, made.amount, made.currency
    if not done.ok:
        return _claim_page(initiative, form, _place(form, done.refused))
    flash(_("Claim %(number)s submitted for %(amount)s: a fund administrator verifies it against its evidence.",
            number=claim_id, amount=format_money(amount, currency)), "success")
    return redirect(url_for("funding.facilitation_claim", claim_id=claim_id))


def _show(claim: FacilitationClaim, *, refuse_form: RejectForm | None = None, message: str = ""):
    user = actor()
    judges = user.has_role(Role.FUND_ADMINISTRATOR)
    people = services.names_of({claim.submitted_by_id, claim.verified_by_id, claim.refused_by_id}
                               | ({claim.disbursement.requested_by_id, claim.disbursement.approved_by_id,
                                   claim.disbursement.paid_by_id} if claim.disbursement else set()))
    limits = None
    if judges and claim.status == ClaimStatus.SUBMITTED:
        if refuse_form is None:
            refuse_form = RejectForm(formdata=None)
        try:  # what every limit allows today, for the verifier to see before verifying
            limits = services.claim_limits(claim.initiative, costs=claim.costs, costs_until=claim.costs_until,
                                           day=local_date(now(), programme_zone()), at_payment=False,
                                           timezone=programme_zone(), excluding_claim=claim)
        except RuleViolation:
            limits = None
    return render_template("funding/facilitation_claim.html", claim=claim, initiative=claim.initiative,
                           rules=services.facilitation_rules(claim.initiative), people=people, judges=judges,
                           handles=handles(user), me=user.id, action_form=ActionForm(), refuse_form=refuse_form,
                           limits=limits, message=message, kind_label=cost_kind_label)


@bp.route("/facilitation-claims/<int:claim_id>")
@login_required
def facilitation_claim(claim_id: int):
    return _show(services.get_claim(claim_id, actor=actor()))


def _judged(claim_id: int) -> FacilitationClaim:
    """A claim to verify or refuse: 404 if one may not see it, 403 if one is not a fund administrator."""
    claim = services.get_claim(claim_id, actor=actor())
    require_role(actor(), Role.FUND_ADMINISTRATOR)
    return claim


@bp.route("/facilitation-claims/<int:claim_id>/verify", methods=["POST"])
@login_required
def facilitation_claim_verify(claim_id: int):
    claim = _judged(claim_id)
    if ActionForm().validate_on_submit():
        # AccessDenied here is the rule that the submitter never verifies (the role was checked above).
        with attempt(flash_unplaced=False, also=(AccessDenied,)) as done:
            services.verify_claim(claim, actor=actor(), now=now(), timezone=programme_zone())
            amount, currency = claim.amount, claim.currency
        if not done.ok:
            return _show(services.get_claim(claim_id, actor=actor()), message=done.message)
        flash(_("Claim %(number)s verified: a tranche of %(amount)s is requested; another person approves it and a "
                "fund administrator records its payment.", number=claim_id, amount=format_money(amount, currency)),
              "success")
    return redirect(url_for("funding.facilitation_claim", claim_id=claim_id))


@bp.route("/facilitation-claims/<int:claim_id>/refuse", methods=["POST"])
@login_required
def facilitation_claim_refuse(claim_id: int):
    claim = _judged(claim_id)
    form = RejectForm()
    if form.validate_on_submit():
        with attempt(form, flash_unplaced=False, also=(AccessDenied,)) as done:
            services.refuse_claim(claim, reason=form.reason.data, actor=actor(), now=now())
        if not done.ok:
            return _show(services.get_claim(claim_id, actor=actor()), refuse_form=form, message=done.message)
        flash(_("Claim %(number)s refused; it does not count.", number=claim_id), "success")
        return redirect(url_for("funding.facilitation_claim", claim_id=claim_id))
    return _show(claim, refuse_form=form)


@bp.route("/facilitation-claims/<int:claim_id>/items/<int:item_id>/evidence")
@login_required
def facilitation_evidence(claim_id: int, item_id: int):
    claim = services.get_claim(claim_id, actor=actor())
    item = services.get_claim_item(claim, item_id)
    folder = services.claims_folder(current_app.config["UPLOAD_FOLDER"], claim.initiative)
    response = send_file(stored_path(folder, item.evidence_stored_name), as_attachment=True,
                         download_name=item.evidence_name, mimetype=item.evidence_content_type)
    response.headers["X-Content-Type-Options"] = "nosniff"
    return response
