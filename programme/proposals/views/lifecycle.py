"""A proposal's life: a group starts its proposal to an open call, the group's proposals, the overview,
submitting (a frozen, numbered version), withdrawing, and a submitted version exactly as submitted."""

from __future__ import annotations

from typing import Any

from flask import flash, redirect, render_template, request, url_for
from flask_login import current_user, login_required

from programme.accounts import services as accounts
from programme.calls import services as calls
from programme.core.access import Role, require_role
from programme.core.forms import choices
from programme.core.money import format_money
from programme.core.texts import gettext as _
from programme.core.web import actor, attempt, now
from programme.proposals import services
from programme.proposals.domain import COST_TYPES, SECTIONS, ActivityKind, section_gaps, snapshot_figures
from programme.proposals.forms import StartProposalForm, SubmitForm, WithdrawForm
from programme.proposals.models import Proposal
from programme.proposals.views import bp
from programme.proposals.views._common import overview_page, own
from programme.rulebook import ORGANISATION_TYPES


@bp.route("/calls/<int:call_id>/proposals/new", methods=["GET", "POST"])
@login_required
def new(call_id: int):
    call = calls.get_call(call_id, actor=actor())
    require_role(actor(), Role.APPLICANT)
    moment = now()
    groups = accounts.groups_of(current_user)
    existing = services.proposals_for_group_and_call([g.id for g in groups], call.id)
    free = [g for g in groups if g.id not in existing]
    form = StartProposalForm()
    form.group_id.choices = choices((g.id, g.name) for g in free)
    accepting = call.is_accepting(moment)
    if accepting and free and form.validate_on_submit():
        group = next(g for g in free if g.id == form.group_id.data)
        with attempt(form) as done:
            proposal = services.start_proposal(call, group, title=form.title.data, actor=actor(), now=moment)
        if done.ok:
            flash(_("Proposal started for %(group)s. Fill in the sections in any order; each is saved on its own.",
                    group=group.name), "success")
            return redirect(url_for("proposals.overview", proposal_id=proposal.id))
    return render_template("proposals/new.html", call=call, form=form, accepting=accepting, groups=groups,
                           existing=existing, free=free, now=moment)


@bp.route("/proposals")
@login_required
def mine():
    return render_template("proposals/list.html", proposals=services.proposals_of(actor()), now=now())


@bp.route("/proposals/<int:proposal_id>")
@login_required
def overview(proposal_id: int):
    return overview_page(services.get_proposal(proposal_id, actor=actor()))


@bp.route("/proposals/<int:proposal_id>/submit", methods=["GET", "POST"])
@login_required
def submit(proposal_id: int):
    """Submitting: the confirmation page (GET, or a POST without the confirmation), then the submission itself
    (a POST with ``confirmed``)."""
    proposal = services.get_proposal_for_edit(proposal_id, actor=actor())
    back = url_for("proposals.overview", proposal_id=proposal.id)
    form = SubmitForm()
    if request.method == "POST" and form.validate_on_submit():
        if not form.given:
            flash(_("Nothing was submitted: submitting the proposal needs your confirmation below."), "error")
            return redirect(url_for("proposals.submit", proposal_id=proposal.id))
        with attempt() as done:
            version = services.submit(proposal, actor=actor(), now=now())
        if done.ok:
            flash(_("Submitted as version %(number)s, reference %(reference)s. A confirmation is in your "
                    "notifications.", number=version.number, reference=proposal.reference), "success")
        return redirect(back)
    return render_template("confirm.html", form=form, confirm=_submit_confirmation(proposal, back))


def _submit_confirmation(proposal: Proposal, back: str) -> dict[str, Any]:
    moment = now()
    call = proposal.call
    snapshot = services.build_snapshot(proposal)
    verdict = services.eligibility(proposal, snapshot, moment)
    figures = snapshot_figures(snapshot)
    number = (proposal.latest_version or 0) + 1
    if proposal.latest_version:
        lead = _("Submitting freezes the draft as it is now as version %(number)s to %(call)s (%(reference)s): the "
                 "reviewers read exactly that version. Version %(latest)s stays readable; reviewers read the newest "
                 "version submitted before the deadline.", number=number, call=call.name, reference=call.reference,
                 latest=proposal.latest_version)
    else:
        lead = _("Submitting freezes the draft as it is now as version %(number)s to %(call)s (%(reference)s): the "
                 "reviewers read exactly that version.", number=number, call=call.name, reference=call.reference)
    return {
        "title": _("Submit “%(title)s” as version %(number)s?", title=snapshot["title"], number=number),
        "lead": [lead, _("Your draft stays editable; you may submit a new version until the call's deadline.")],
        "figures": [(_("Group"), proposal.group.name),
                    (_("Amount requested"), format_money(snapshot["requested_amount"], call.currency)),
                    (_("Budget total"), format_money(figures["budget_total"], call.currency)),
                    (_("Co-financing"), format_money(figures["cofinancing_total"], call.currency)),
                    (_("Eligibility now"), _("every rule of the call is met") if verdict.eligible
                     else _("%(failed)s of %(total)s rules are not met", failed=len(verdict.failures),
                            total=len(verdict.checks)))],
        "warning": None if verdict.eligible else _("The call refuses the proposal while a rule is not met: %(reasons)s",
                                                   reasons=" ".join(c.reason for c in verdict.failures)),
        "final": _("Version %(number)s cannot be changed or taken back once submitted; only withdrawing the whole "
                   "proposal stops its review.", number=number),
        "action": url_for("proposals.submit", proposal_id=proposal.id), "yes": _("Yes, submit the proposal"),
        "cancel": back,
    }


@bp.route("/proposals/<int:proposal_id>/withdraw", methods=["POST"])
@login_required
def withdraw(proposal_id: int):
    proposal = own(proposal_id)
    form = WithdrawForm()
    if form.validate_on_submit():
        with attempt() as done:
            services.withdraw(proposal, reason=form.reason.data, actor=actor(), now=now())
        if done.ok:
            flash(_("The proposal is withdrawn. Its submitted versions stay readable."), "success")
        return redirect(url_for("proposals.overview", proposal_id=proposal.id))
    return overview_page(proposal, withdraw_form=form)


@bp.route("/proposals/<int:proposal_id>/versions/<int:number>")
@login_required
def version(proposal_id: int, number: int):
    proposal = services.get_proposal(proposal_id, actor=actor())
    frozen = services.get_version(proposal, number)
    snapshot = frozen.snapshot
    return render_template(
        "proposals/version.html", proposal=proposal, call=proposal.call, version=frozen, snapshot=snapshot,
        verdict=services.recorded_verdict(proposal, frozen), organisation_types=ORGANISATION_TYPES,
        figures=snapshot_figures(snapshot), gaps=section_gaps(snapshot), sections=SECTIONS, cost_types=COST_TYPES,
        kinds={kind.value: kind.label for kind in ActivityKind},
    )
