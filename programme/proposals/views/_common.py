"""What the proposal pages share: loading a proposal with its access check (and an activity or budget line of
it), the frame of every page of a proposal (the section tabs and the live eligibility checklist), removing one
item of the draft, and the overview. Private to ``programme.proposals.views``."""

from __future__ import annotations

import json
from collections.abc import Callable
from decimal import Decimal
from typing import Any

from flask import flash, redirect, render_template, request, url_for
from flask_login import current_user

from programme.calls.models import CallStatus
from programme.core.access import AccessDenied, NotFound, Role
from programme.core.forms import ActionForm
from programme.core.money import minor_unit
from programme.core.texts import gettext as _
from programme.core.web import actor, attempt, now
from programme.proposals import services
from programme.proposals.domain import SECTIONS, BudgetCheck, budget_messages, section_gaps, snapshot_figures
from programme.proposals.forms import OverrideForm, WithdrawForm
from programme.proposals.models import Proposal, ProposalStatus
from programme.reviews import services as reviews

#: Statuses in which a manager may still decide eligibility.
OVERRIDABLE = (ProposalStatus.SUBMITTED, ProposalStatus.ELIGIBLE, ProposalStatus.INELIGIBLE)


# Loading -----------------------------------------------------------------------------------------


def own(proposal_id: int) -> Proposal:
    """A proposal for its group's own pages: 404 unless the actor may read it, 403 for a reader outside
    the group (a programme manager reads the overview and the versions, not the editing pages)."""
    proposal = services.get_proposal(proposal_id, actor=actor())
    if not proposal.is_group_user(actor()):
        raise AccessDenied(_("only the people acting for the group change its proposal"))
    return proposal


def load(proposal_id: int) -> Proposal:
    """The proposal of a section page: on a POST, one the actor may change now (the service says why not)."""
    if request.method == "POST":
        return services.get_proposal_for_edit(proposal_id, actor=actor())
    return own(proposal_id)


def item_in(items: list[Any], item_id: int) -> Any:
    """An activity or budget line of this proposal; 404 for an id of another proposal."""
    item = next((i for i in items if i.id == item_id), None)
    if item is None:
        raise NotFound()
    return item


# What every page of a proposal shows ---------------------------------------------------------------


def _tabs(proposal: Proposal, snapshot: dict[str, Any], gaps: dict[str, list[str]],
          budget: BudgetCheck) -> list[dict[str, Any]]:
    """The section links beside every page of the proposal, each with a tick when complete (the budget's only
    when its amounts are also within the call's limits and agree with the activities' costs)."""
    objectives_done = bool((snapshot["objectives"] or "").strip())
    return [
        {"endpoint": "proposals.cluster", "label": SECTIONS["cluster"], "done": not gaps["cluster"]},
        {"endpoint": "proposals.objectives", "label": _("Objectives"), "done": objectives_done},
        {"endpoint": "proposals.activities", "label": _("First activities"), "done": bool(snapshot["activities"])},
        {"endpoint": "proposals.budget", "label": SECTIONS["budget"], "done": not gaps["budget"] and budget.ok},
        {"endpoint": "proposals.indicators", "label": SECTIONS["indicators"], "done": not gaps["indicators"]},
        {"endpoint": "proposals.attachments", "label": SECTIONS["attachments"],
         "done": bool(snapshot["attachments"]), "count": len(snapshot["attachments"])},
    ]


def budget_figures(budget: BudgetCheck) -> dict[str, str]:
    """What the page's budget script (static/budget.js) reads, as data- attributes: the saved figures and the
    limits in whole minor units (cents), the number of budget lines, the start-up share as a fraction, and the
    wording of its messages
    (``BUDGET_MESSAGES``, the server's own)."""
    limits = budget.limits
    numerator, denominator = limits.startup_share.as_integer_ratio()
    return {
        "data-currency": limits.currency, "data-minor-unit": str(minor_unit(limits.currency)),
        "data-maximum": in_minor_units(limits.startup_maximum, limits.currency),
        "data-cap": in_minor_units(limits.per_initiative_cap, limits.currency),
        "data-share": f"{numerator}/{denominator}", "data-share-text": limits.share_text,
        "data-requested": in_minor_units(budget.requested_amount, limits.currency),
        "data-budget": in_minor_units(budget.budget_total, limits.currency),
        "data-activities": in_minor_units(budget.activities_total, limits.currency),
        "data-lines": str(budget.lines),
        "data-messages": json.dumps(budget_messages()),
    }


def in_minor_units(amount: Decimal | None, currency: str) -> str:
    """An amount as a whole number of the currency's minor unit, as text for a data- attribute ('' for none)."""
    return "" if amount is None else str(int(amount.scaleb(minor_unit(currency))))


def proposal_page(template: str, proposal: Proposal, **context: Any):
    """A page of the proposal: its content, the section tabs, the live eligibility checklist and the budget's
    checks (shown beside the amounts they concern)."""
    moment = now()
    snapshot = services.build_snapshot(proposal)
    gaps = section_gaps(snapshot)
    budget = services.budget_check(proposal, snapshot)
    return render_template(
        template, proposal=proposal, call=proposal.call, snapshot=snapshot, gaps=gaps,
        tabs=_tabs(proposal, snapshot, gaps, budget), verdict=services.eligibility(proposal, snapshot, moment),
        figures=snapshot_figures(snapshot), is_group_user=proposal.is_group_user(current_user),
        editable=proposal.can_edit(current_user) and proposal.call.is_accepting(moment),
        action_form=ActionForm(), now=moment, sections=SECTIONS, budget=budget,
        budget_figures=budget_figures(budget),
        in_minor_units=lambda amount: in_minor_units(amount, proposal.call.currency), **context,
    )


def flash_saved(message: str, warnings: tuple[str, ...] | list[str]) -> None:
    """The confirmation of a saved change of the draft; when the budget's checks find the amounts out of line, it
    says so plainly with their figures (the draft keeps what was typed: it may be incomplete or over)."""
    if warnings:
        flash(_("%(message)s The call does not accept the budget as it is: %(warnings)s", message=message,
                warnings=" ".join(warnings)), "warning")
    else:
        flash(message, "success")


def remove_item(proposal_id: int, item_id: int, remove: Callable[..., None], message: str, endpoint: str,
                anchor: str | None = None, warnings: Callable[[BudgetCheck], tuple[str, ...]] | None = None):
    """Remove one item of the draft (an activity, a budget line...) and go back to its section; ``warnings``
    picks the budget's findings the removal may change, said with the confirmation."""
    proposal = services.get_proposal_for_edit(proposal_id, actor=actor())
    if ActionForm().validate_on_submit():
        with attempt() as done:
            remove(proposal, item_id, actor=actor(), now=now())
        if done.ok:
            flash_saved(message, warnings(services.budget_check(proposal)) if warnings else ())
    return redirect(url_for(endpoint, proposal_id=proposal.id, _anchor=anchor))


# The overview ---------------------------------------------------------------------------------------


def overview_page(proposal: Proposal, *, withdraw_form: WithdrawForm | None = None,
                  override_form: OverrideForm | None = None):
    """The proposal's overview; the withdrawal or the override form that was posted comes back with its errors."""
    is_group_user = proposal.is_group_user(current_user)
    can_withdraw = (
        is_group_user and current_user.has_role(Role.APPLICANT)
        and proposal.status not in (ProposalStatus.DRAFT, ProposalStatus.WITHDRAWN)
        and proposal.call.status != CallStatus.DECIDED
    )
    can_override = (
        current_user.has_role(Role.PROGRAMME_MANAGER) and proposal.latest_version is not None
        and proposal.status in OVERRIDABLE
    )
    if override_form is None and can_override:
        decided = proposal.override_eligible
        current = decided if decided is not None else proposal.current_version.eligible
        override_form = OverrideForm(formdata=None, data={"decision": "eligible" if current else "ineligible"})
    return proposal_page(
        "proposals/overview.html", proposal,
        withdraw_form=(withdraw_form or WithdrawForm(formdata=None)) if can_withdraw else None,
        override_form=override_form if can_override else None,
        feedback=reviews.feedback_for(proposal, actor=actor()),
    )
