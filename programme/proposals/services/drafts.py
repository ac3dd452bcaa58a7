"""Loading proposals, a group's start of its proposal to an open call, and the sections of the draft that are
not money: the cluster, the objectives, the first activities and the group's own indicators."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.orm import selectinload

from programme.accounts.models import ApplicantGroup, GroupUser
from programme.calls import staging
from programme.calls.models import Call
from programme.core import audit
from programme.core.access import Actor, NotFound, Role, RuleViolation, require_role
from programme.core.texts import gettext as _
from programme.extensions import db
from programme.proposals.domain import MAX_QUARTER, ActivityKind, ClusterStage
from programme.proposals.models import Activity, Indicator, Proposal
from programme.proposals.services._common import _check_amount, _child, _require_edit, _touch

# Loading and starting ---------------------------------------------------------------------------------


def get_proposal(proposal_id: int, *, actor: Actor) -> Proposal:
    """The proposal if the actor may read it; NotFound otherwise (its existence is private)."""
    proposal = db.session.get(Proposal, proposal_id)
    if proposal is None or not proposal.can_view(actor):
        raise NotFound()
    return proposal


def get_proposal_for_edit(proposal_id: int, *, actor: Actor) -> Proposal:
    proposal = get_proposal(proposal_id, actor=actor)
    _require_edit(proposal, actor)
    return proposal


def proposals_of(actor: Actor) -> list[Proposal]:
    """The proposals of every group the actor acts for."""
    query = (
        select(Proposal).join(GroupUser, GroupUser.group_id == Proposal.group_id)
        .where(GroupUser.user_id == actor.id).order_by(Proposal.created_at.desc())
    )
    return list(db.session.scalars(query))


def proposals_for_group_and_call(group_ids: list[int], call_id: int) -> dict[int, Proposal]:
    rows = db.session.scalars(
        select(Proposal).where(Proposal.call_id == call_id, Proposal.group_id.in_(group_ids))
        .options(selectinload(Proposal.versions))
    )
    return {p.group_id: p for p in rows}


def start_proposal(call: Call, group: ApplicantGroup, *, title: str, actor: Actor, now: datetime) -> Proposal:
    """A group starts its proposal to an open call (one per group and call)."""
    require_role(actor, Role.APPLICANT)
    if group.role_of(actor) is None:
        raise NotFound()
    if not call.is_accepting(now):
        raise RuleViolation(_("This call is not open for proposals."))
    staging.refuse_unless_invited(call)
    existing = db.session.scalar(select(Proposal).where(Proposal.call_id == call.id, Proposal.group_id == group.id))
    if existing is not None:
        raise RuleViolation(_("%(group)s has a proposal to this call already.", group=group.name), field="group_id")
    proposal = Proposal(call=call, group=group, title=title.strip(), created_at=now, updated_at=now)
    db.session.add(proposal)
    db.session.flush()
    audit.record(db.session, actor, "proposal.started", proposal, call=call.reference, group=group.name)
    return proposal


# The cluster and the objectives -----------------------------------------------------------------------


@dataclass(frozen=True)
class ClusterSection:
    title: str
    sector: str
    territory: str
    stage: ClusterStage | None
    main_problem: str
    market_failure: str


def update_cluster(proposal: Proposal, data: ClusterSection, *, actor: Actor, now: datetime) -> None:
    _require_edit(proposal, actor, now)
    proposal.title = data.title.strip()
    proposal.sector, proposal.territory, proposal.stage = data.sector.strip(), data.territory.strip(), data.stage
    proposal.main_problem, proposal.market_failure = data.main_problem.strip(), data.market_failure.strip()
    _touch(proposal, actor, now, "cluster_saved")


def update_objectives(proposal: Proposal, *, objectives: str, sustainability_plan: str, actor: Actor,
                      now: datetime) -> None:
    _require_edit(proposal, actor, now)
    proposal.objectives, proposal.sustainability_plan = objectives.strip(), sustainability_plan.strip()
    _touch(proposal, actor, now, "objectives_saved")


# The first activities ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class ActivityData:
    title: str
    kind: ActivityKind
    description: str
    start_quarter: int
    end_quarter: int
    cost: Decimal


def _apply_activity(activity: Activity, data: ActivityData, currency: str) -> None:
    if not 1 <= data.start_quarter <= MAX_QUARTER:
        raise RuleViolation(_("Give a quarter from 1 to %(last)s.", last=MAX_QUARTER), field="start_quarter")
    if not data.start_quarter <= data.end_quarter <= MAX_QUARTER:
        raise RuleViolation(_("The last quarter cannot be before the first."), field="end_quarter")
    _check_amount(data.cost, currency, "cost", allow_zero=True)
    activity.title, activity.kind, activity.description = data.title.strip(), data.kind, data.description.strip()
    activity.start_quarter, activity.end_quarter, activity.cost = data.start_quarter, data.end_quarter, data.cost


def add_activity(proposal: Proposal, data: ActivityData, *, actor: Actor, now: datetime) -> Activity:
    _require_edit(proposal, actor, now)
    activity = Activity(position=len(proposal.activities) + 1)
    _apply_activity(activity, data, proposal.call.currency)
    proposal.activities.append(activity)
    db.session.flush()
    _touch(proposal, actor, now, "activity_added", activity_id=activity.id, title=activity.title)
    return activity


def update_activity(proposal: Proposal, activity_id: int, data: ActivityData, *, actor: Actor,
                    now: datetime) -> None:
    _require_edit(proposal, actor, now)
    _apply_activity(_child(proposal.activities, activity_id), data, proposal.call.currency)
    _touch(proposal, actor, now, "activity_updated", activity_id=activity_id)


def remove_activity(proposal: Proposal, activity_id: int, *, actor: Actor, now: datetime) -> None:
    _require_edit(proposal, actor, now)
    activity = _child(proposal.activities, activity_id)
    for line in proposal.budget_lines:
        if line.activity_id == activity.id:
            line.activity = None
    proposal.activities.remove(activity)
    _touch(proposal, actor, now, "activity_removed", activity_id=activity_id)


# The group's own indicators ---------------------------------------------------------------------------


@dataclass(frozen=True)
class IndicatorData:
    name: str
    unit: str
    baseline: Decimal
    target: Decimal


def add_indicator(proposal: Proposal, data: IndicatorData, *, actor: Actor, now: datetime) -> Indicator:
    _require_edit(proposal, actor, now)
    if data.target == data.baseline:
        raise RuleViolation(_("The target should differ from the baseline."), field="target")
    indicator = Indicator(position=len(proposal.indicators) + 1, name=data.name.strip(), unit=data.unit.strip(),
                          baseline=data.baseline, target=data.target)
    proposal.indicators.append(indicator)
    db.session.flush()
    _touch(proposal, actor, now, "indicator_added", indicator_id=indicator.id, name=indicator.name)
    return indicator


def remove_indicator(proposal: Proposal, indicator_id: int, *, actor: Actor, now: datetime) -> None:
    _require_edit(proposal, actor, now)
    proposal.indicators.remove(_child(proposal.indicators, indicator_id))
    _touch(proposal, actor, now, "indicator_removed", indicator_id=indicator_id)
