"""A proposal's life: a group starts its proposal to an open call, the group's proposals, the overview,
submitting (a frozen, numbered version), withdrawing, and a submitted version exactly as submitted."""

from __future__ import annotations

from flask import flash, redirect, render_template, url_for
from flask_login import current_user, login_required

from programme.accounts import services as accounts
from programme.calls import services as calls
from programme.core.access import Role, require_role
from programme.core.forms import ActionForm, choices
from programme.core.web import actor, attempt, now
from programme.proposals import services
from programme.proposals.domain import COST_TYPES, SECTIONS, ActivityKind, section_gaps, snapshot_figures
from programme.proposals.forms import StartProposalForm, WithdrawForm
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
            flash(f"Proposal started for {group.name}. Fill in the sections in any order; "
                  "each is saved on its own.", "success")
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


@bp.route("/proposals/<int:proposal_id>/submit", methods=["POST"])
@login_required
def submit(proposal_id: int):
    proposal = services.get_proposal_for_edit(proposal_id, actor=actor())
    if ActionForm().validate_on_submit():
        with attempt() as done:
            version = services.submit(proposal, actor=actor(), now=now())
        if done.ok:
            flash(f"Submitted as version {version.number}, reference {proposal.reference}. "
                  f"A confirmation is in your notifications.", "success")
    return redirect(url_for("proposals.overview", proposal_id=proposal.id))


@bp.route("/proposals/<int:proposal_id>/withdraw", methods=["POST"])
@login_required
def withdraw(proposal_id: int):
    proposal = own(proposal_id)
    form = WithdrawForm()
    if form.validate_on_submit():
        with attempt() as done:
            services.withdraw(proposal, reason=form.reason.data, actor=actor(), now=now())
        if done.ok:
            flash("The proposal is withdrawn. Its submitted versions stay readable.", "success")
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
        verdict=frozen.verdict, organisation_types=ORGANISATION_TYPES,
        figures=snapshot_figures(snapshot), gaps=section_gaps(snapshot), sections=SECTIONS, cost_types=COST_TYPES,
        kinds={kind.value: kind.label for kind in ActivityKind},
    )
