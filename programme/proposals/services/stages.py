"""A staged call's next stage: the group whose proposal passed a stage is invited to the next one, whose draft starts
from the proposal that passed (its cluster, objectives, first activities, budget lines, co-financing and indicators
copied; attachments are uploaded again, each file belonging to one proposal)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select

from programme.calls.models import Call
from programme.core import audit
from programme.core.access import Actor, Role, RuleViolation, require_role
from programme.core.i18n import speaking_to
from programme.core.notifications import notify
from programme.core.texts import gettext as _
from programme.extensions import db
from programme.proposals.models import Activity, BudgetLine, CoFinancing, Indicator, Proposal


def copy_content(source: Proposal, target: Proposal) -> None:
    """The content of ``source`` as ``target``'s draft (a budget line keeps its link to the copied activity)."""
    target.title = source.title
    target.sector, target.territory, target.stage = source.sector, source.territory, source.stage
    target.main_problem, target.market_failure = source.main_problem, source.market_failure
    target.objectives, target.sustainability_plan = source.objectives, source.sustainability_plan
    target.requested_amount = source.requested_amount or None
    copies: dict[int, Activity] = {}
    for activity in source.activities:
        copy = Activity(position=activity.position, title=activity.title, kind=activity.kind,
                        description=activity.description, start_quarter=activity.start_quarter,
                        end_quarter=activity.end_quarter, cost=activity.cost)
        target.activities.append(copy)
        copies[activity.id] = copy
    for line in source.budget_lines:
        target.budget_lines.append(BudgetLine(
            position=line.position, activity=copies.get(line.activity_id) if line.activity_id else None,
            cost_type=line.cost_type, description=line.description, amount=line.amount))
    for commitment in source.cofinancing:
        target.cofinancing.append(CoFinancing(organisation_id=commitment.organisation_id, kind=commitment.kind,
                                              amount=commitment.amount, description=commitment.description))
    for indicator in source.indicators:
        target.indicators.append(Indicator(position=indicator.position, name=indicator.name, unit=indicator.unit,
                                           baseline=indicator.baseline, target=indicator.target))


#: At most this many stages are followed from one proposal (a staged call has a handful).
MOST_STAGES = 20


def stage_path(proposal: Proposal) -> list[Proposal]:
    """The group's proposals through the stages of a staged call, first stage first: the ones ``proposal`` was
    started from (each invited after the stage before) and the ones started from it. Just ``[proposal]`` for a
    proposal of a one-stage call. One statement per stage."""
    if not proposal.call.is_stage:
        return [proposal]
    earlier: list[Proposal] = []
    current = proposal
    while current.previous_proposal_id is not None and len(earlier) < MOST_STAGES:
        before = db.session.get(Proposal, current.previous_proposal_id)
        if before is None:  # pragma: no cover - a foreign key
            break
        earlier.append(before)
        current = before
    later: list[Proposal] = []
    current = proposal
    while len(later) < MOST_STAGES:
        after = db.session.scalar(select(Proposal).where(Proposal.previous_proposal_id == current.id))
        if after is None:
            break
        later.append(after)
        current = after
    return [*reversed(earlier), proposal, *later]


def invite_to_next_stage(proposal: Proposal, next_call: Call, *, actor: Actor, now: datetime,
                         link_for: str | None = None) -> Proposal:
    """The group of ``proposal`` (which passed its stage) invited to ``next_call``: its draft there, started from
    ``proposal``, and a notification to each person acting for the group. Run twice, the second run finds the
    draft made by the first and changes nothing."""
    require_role(actor, Role.PROGRAMME_MANAGER)
    if next_call.parent_id is None or next_call.parent_id != proposal.call.parent_id:
        raise RuleViolation(_("%(next)s is not a later stage of %(call)s's call.", next=next_call.reference,
                              call=proposal.call.reference))
    existing = db.session.scalar(select(Proposal).where(Proposal.call_id == next_call.id,
                                                        Proposal.group_id == proposal.group_id))
    if existing is not None:
        return existing
    draft = Proposal(call=next_call, group=proposal.group, title=proposal.title, created_at=now, updated_at=now,
                     previous_proposal_id=proposal.id)
    copy_content(proposal, draft)
    db.session.add(draft)
    db.session.flush()
    audit.record(db.session, actor, "proposal.invited_to_next_stage", draft, call=next_call.reference,
                 previous=proposal.reference, group=proposal.group.name)
    for member in proposal.group.users:
        with speaking_to(member.user):
            subject = _("Invited to the next stage: %(call)s", call=next_call.name)
            body = _("Your proposal %(reference)s passed %(passed)s. %(group)s is invited to %(call)s "
                     "(%(call_reference)s); its dates are on the call's page. Your proposal to it starts from the one "
                     "that passed: complete the sections the stage asks for and submit it before its deadline. "
                     "Attachments are uploaded again.", reference=proposal.reference, passed=proposal.call.name,
                     group=proposal.group.name, call=next_call.name, call_reference=next_call.reference)
        notify(db.session, email=member.user.email, user_id=member.user_id, subject=subject, body=body,
               link=link_for or f"/proposals/{draft.id}")
    return draft
