"""The money of a draft: its budget lines, the amount requested and the members' co-financing commitments."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from programme.core.access import Actor, RuleViolation
from programme.core.texts import gettext as _
from programme.extensions import db
from programme.proposals.domain import COST_TYPES, CoFinancingKind
from programme.proposals.models import BudgetLine, CoFinancing, Proposal
from programme.proposals.services._common import _check_amount, _child, _require_edit, _touch


@dataclass(frozen=True)
class BudgetLineData:
    activity_id: int | None
    cost_type: str
    description: str
    amount: Decimal


def _apply_line(proposal: Proposal, line: BudgetLine, data: BudgetLineData) -> None:
    if data.cost_type not in COST_TYPES:
        raise RuleViolation(_("Choose a cost type from the list."), field="cost_type")
    if data.activity_id is not None:
        _child(proposal.activities, data.activity_id)
    _check_amount(data.amount, proposal.call.currency, "amount")
    line.activity_id, line.cost_type = data.activity_id, data.cost_type
    line.description, line.amount = data.description.strip(), data.amount


def add_budget_line(proposal: Proposal, data: BudgetLineData, *, actor: Actor, now: datetime) -> BudgetLine:
    _require_edit(proposal, actor, now)
    line = BudgetLine(position=len(proposal.budget_lines) + 1)
    _apply_line(proposal, line, data)
    proposal.budget_lines.append(line)
    db.session.flush()
    _touch(proposal, actor, now, "budget_line_added", line_id=line.id, amount=str(line.amount))
    return line


def update_budget_line(proposal: Proposal, line_id: int, data: BudgetLineData, *, actor: Actor,
                       now: datetime) -> None:
    _require_edit(proposal, actor, now)
    _apply_line(proposal, _child(proposal.budget_lines, line_id), data)
    _touch(proposal, actor, now, "budget_line_updated", line_id=line_id, amount=str(data.amount))


def remove_budget_line(proposal: Proposal, line_id: int, *, actor: Actor, now: datetime) -> None:
    _require_edit(proposal, actor, now)
    proposal.budget_lines.remove(_child(proposal.budget_lines, line_id))
    _touch(proposal, actor, now, "budget_line_removed", line_id=line_id)


def set_requested_amount(proposal: Proposal, amount: Decimal, *, actor: Actor, now: datetime) -> None:
    _require_edit(proposal, actor, now)
    _check_amount(amount, proposal.call.currency, "requested_amount")
    before = proposal.requested_amount
    proposal.requested_amount = amount
    _touch(proposal, actor, now, "requested_amount_set", before=str(before), after=str(amount))


@dataclass(frozen=True)
class CoFinancingData:
    organisation_id: int
    kind: CoFinancingKind
    amount: Decimal
    description: str


def add_cofinancing(proposal: Proposal, data: CoFinancingData, *, actor: Actor, now: datetime) -> CoFinancing:
    _require_edit(proposal, actor, now)
    if data.organisation_id not in {o.id for o in proposal.group.organisations}:
        raise RuleViolation(_("Choose one of the group's member organisations."), field="organisation_id")
    _check_amount(data.amount, proposal.call.currency, "amount")
    commitment = CoFinancing(organisation_id=data.organisation_id, kind=data.kind, amount=data.amount,
                             description=data.description.strip())
    proposal.cofinancing.append(commitment)
    db.session.flush()
    _touch(proposal, actor, now, "cofinancing_added", cofinancing_id=commitment.id, amount=str(data.amount))
    return commitment


def remove_cofinancing(proposal: Proposal, cofinancing_id: int, *, actor: Actor, now: datetime) -> None:
    _require_edit(proposal, actor, now)
    proposal.cofinancing.remove(_child(proposal.cofinancing, cofinancing_id))
    _touch(proposal, actor, now, "cofinancing_removed", cofinancing_id=cofinancing_id)
