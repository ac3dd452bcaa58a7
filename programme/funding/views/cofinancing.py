"""The members' co-financing of a matching grant: the group (or a fund administrator) records a contribution with
its evidence; a fund administrator who did not record it verifies or rejects it; the evidence is downloaded."""

from __future__ import annotations

from flask import current_app, flash, send_file
from flask_login import login_required

from programme.core.access import AccessDenied, Role, require_role
from programme.core.files import stored_path
from programme.core.forms import ActionForm, choices
from programme.core.money import format_money
from programme.core.texts import gettext as _
from programme.core.web import actor, attempt, now, programme_zone
from programme.funding import services
from programme.funding.forms import ContributionForm, RejectForm
from programme.funding.models import CoFinancingContribution
from programme.funding.views import bp
from programme.funding.views._common import page, to


@bp.route("/initiatives/<int:initiative_id>/contributions", methods=["POST"])
@login_required
def record_contribution(initiative_id: int):
    initiative = services.get_initiative(initiative_id, actor=actor())
    if not services.may_record_contributions(initiative, actor()):
        raise AccessDenied(_("only the initiative's group or a fund administrator records its co-financing"))
    form = ContributionForm()
    positions = services.matching_grants_of(initiative)
    form.grant_id.choices = choices((g.id, str(g.id)) for g in positions)
    form.contributor_id.choices = choices([("", "–")] + [(o.id, o.name) for o in initiative.group.organisations])
    if form.validate_on_submit():
        grant = next(g for g in positions if g.id == form.grant_id.data)
        upload = form.file.data
        with attempt(form, flash_unplaced=False) as done:
            made = services.record_contribution(
                grant, kind=form.kind.data, amount=form.amount.data, contributed_on=form.contributed_on.data,
                description=form.description.data, contributor_id=form.contributor_id.data, stream=upload.stream,
                filename=upload.filename, upload_root=current_app.config["UPLOAD_FOLDER"],
                max_bytes=current_app.config["MAX_ATTACHMENT_BYTES"], actor=actor(), now=now(),
                timezone=programme_zone())
            amount, currency, contribution_id = made.amount, made.currency, made.id
        if not done.ok:
            return page(initiative, forms={"contribution": form, "message-contribution": done.message})
        flash(_("Contribution of %(amount)s recorded; it counts once a fund administrator who did not record it has "
                "verified it.", amount=format_money(amount, currency)), "success")
        return to(initiative, f"contribution-{contribution_id}")
    return page(initiative, forms={"contribution": form})


def _judged_contribution(contribution_id: int) -> CoFinancingContribution:
    """A contribution to verify or reject: 404 if one may not see it, 403 if one may see it but is not a fund
    administrator."""
    c = services.get_contribution(contribution_id, actor=actor())
    require_role(actor(), Role.FUND_ADMINISTRATOR)
    return c


@bp.route("/contributions/<int:contribution_id>/verify", methods=["POST"])
@login_required
def verify_contribution(contribution_id: int):
    c = _judged_contribution(contribution_id)
    initiative = c.initiative
    if ActionForm().validate_on_submit():
        # AccessDenied here is the rule that the recorder never verifies (the role was checked above).
        with attempt(flash_unplaced=False, also=(AccessDenied,)) as done:
            services.verify_contribution(c, actor=actor(), now=now())
            amount, currency = c.amount, c.currency
        if not done.ok:
            return page(initiative, forms={f"message-contribution-{contribution_id}": done.message})
        flash(_("Contribution of %(amount)s verified: it now counts for matching grant %(grant)s.",
                amount=format_money(amount, currency), grant=c.grant_id), "success")
    return to(initiative, f"contribution-{contribution_id}")


@bp.route("/contributions/<int:contribution_id>/reject", methods=["POST"])
@login_required
def reject_contribution(contribution_id: int):
    c = _judged_contribution(contribution_id)
    initiative = c.initiative
    form = RejectForm()
    key = f"contribution-reject-{contribution_id}"
    if form.validate_on_submit():
        with attempt(form, flash_unplaced=False, also=(AccessDenied,)) as done:
            services.reject_contribution(c, reason=form.reason.data, actor=actor(), now=now())
            amount, currency = c.amount, c.currency
        if not done.ok:
            return page(initiative, forms={key: form, f"message-contribution-{contribution_id}": done.message})
        flash(_("Contribution of %(amount)s rejected; it does not count.", amount=format_money(amount, currency)),
              "success")
        return to(initiative, f"contribution-{contribution_id}")
    return page(initiative, forms={key: form})


@bp.route("/contributions/<int:contribution_id>/evidence")
@login_required
def contribution_evidence(contribution_id: int):
    c = services.get_contribution(contribution_id, actor=actor())
    folder = services.contributions_folder(current_app.config["UPLOAD_FOLDER"], c.initiative)
    response = send_file(stored_path(folder, c.evidence_stored_name), as_attachment=True,
                         download_name=c.evidence_name, mimetype=c.evidence_content_type)
    response.headers["X-Content-Type-Options"] = "nosniff"
    return response
