"""Staged calls (seed 004 section 4): a call whose rules hold ``[[stages]]`` is a parent call that takes no proposals,
with one call per stage, reviewed, ranked and decided like a one-stage call. This module creates the stages with
their parent, sets a stage's dates, keeps the parent's timetable in step as the stages open, refuses what a stage may
not do (open before the stage before it is decided; take a proposal from a group that was not invited), and holds
the cap per group across all the stages."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from sqlalchemy import func, select

from programme.calls.models import Call, CallStatus, Criterion
from programme.core import audit
from programme.core.access import Actor, NotFound, Role, RuleViolation, require_role
from programme.core.money import format_money
from programme.core.texts import gettext as _
from programme.extensions import db
from programme.proposals.models import Proposal
from programme.reviews.models import Decision, Outcome
from programme.rulebook.loader import to_utc
from programme.rulebook.stages import Stage, stage_of


def add_stages(parent: Call, *, source: str, timezone: str, actor: Actor, now: datetime) -> list[Call]:
    """The stages of a call just created from rules with ``[[stages]]``: one draft call per stage, each with the
    stage's rules (its criteria copied like a call's), numbered after the parent (CALL-2026-001-S1, -S2, ...)."""
    rules = parent.rules
    zone = rules.call.timezone or timezone
    parent.stage_index = 0
    stages = []
    for index, stage in enumerate(rules.stages or [], start=1):
        call = Call(
            reference=f"{parent.reference}-S{index}", name=f"{parent.name}: {stage.title}",
            description=stage.description or parent.description, currency=parent.currency,
            budget=stage.budget, per_initiative_cap=stage.max_per_group,
            opens_at=to_utc(stage.opens, zone) if stage.opens else None,
            closes_at=to_utc(stage.closes, zone) if stage.closes else None,
            rules_file=parent.rules_file, rules_source=source, created_by_id=actor.id, created_at=now,
            parent_id=parent.id, stage_index=index, stage_key=stage.key,
        )
        call.criteria = [
            Criterion(position=i, key=c.key, title=c.title, guidance=c.guidance, weight=c.weight,
                      threshold=c.threshold)
            for i, c in enumerate(call.rules.scoring.criteria, start=1)
        ]
        db.session.add(call)
        stages.append(call)
    db.session.flush()
    audit.record(db.session, actor, "call.stages_created", parent, stages=[c.reference for c in stages])
    return stages


def stages_of(parent: Call) -> list[Call]:
    """The stages of a staged call, in order (empty for any other call)."""
    if not parent.is_staged:
        return []
    return list(db.session.scalars(select(Call).where(Call.parent_id == parent.id).order_by(Call.stage_index)))


def parent_of(stage: Call) -> Call:
    parent = db.session.get(Call, stage.parent_id)
    if parent is None:  # pragma: no cover - a foreign key
        raise NotFound()
    return parent


def stage_rule(call: Call) -> Stage:
    """The ``[[stages]]`` entry of a stage's call."""
    return stage_of(parent_of(call).rules, call.stage_key or "")


def next_stage(call: Call) -> Call | None:
    """The stage after ``call`` (None after the last stage, and for a call that is not a stage)."""
    if not call.is_stage:
        return None
    return db.session.scalar(select(Call).where(Call.parent_id == call.parent_id,
                                                Call.stage_index == (call.stage_index or 0) + 1))


def stage_count(call: Call) -> int:
    return db.session.scalar(select(func.count()).select_from(Call).where(Call.parent_id == call.parent_id)) or 0


def is_last_stage(call: Call) -> bool:
    return call.is_stage and next_stage(call) is None


def _keep_parent_timetable(parent: Call) -> None:
    """The parent's dates span its stages' (the first opening, the last deadline), as far as they are set."""
    stages = stages_of(parent)
    opens = [s.opens_at for s in stages if s.opens_at is not None]
    closes = [s.closes_at for s in stages if s.closes_at is not None]
    if opens and closes and max(closes) > min(opens):
        parent.opens_at, parent.closes_at = min(opens), max(closes)


def set_stage_dates(stage: Call, *, opens_at: datetime, closes_at: datetime, actor: Actor) -> None:
    """A draft stage's submission period; the parent's timetable follows. Each stage opens no earlier than the
    stage before it closes (once that one is closed, early or at its deadline, a later stage may open at any time:
    it opens only once the stage before is decided)."""
    require_role(actor, Role.PROGRAMME_MANAGER)
    if not stage.is_stage:
        raise NotFound()
    if stage.status != CallStatus.DRAFT:
        raise RuleViolation(_("Stage %(stage)s is %(status)s: only a draft stage's dates change.",
                              stage=stage.reference, status=stage.status.label.lower()))
    if closes_at <= opens_at:
        raise RuleViolation(_("The stage must close after it opens."), field="closes_at")
    siblings = {s.stage_index: s for s in stages_of(parent_of(stage))}
    before = siblings.get((stage.stage_index or 0) - 1)
    after = siblings.get((stage.stage_index or 0) + 1)
    if before is not None and before.closed_at is None and before.closes_at is not None \
            and opens_at < before.closes_at:
        raise RuleViolation(_("The stage cannot open before the stage before it (%(stage)s) closes.",
                              stage=before.reference),
                            field="opens_at")
    if after is not None and after.opens_at is not None and closes_at > after.opens_at:
        raise RuleViolation(_("The stage must close before the stage after it (%(stage)s) opens.",
                              stage=after.reference), field="closes_at")
    previous = {"opens_at": stage.opens_at, "closes_at": stage.closes_at}
    stage.opens_at, stage.closes_at = opens_at, closes_at
    _keep_parent_timetable(parent_of(stage))
    audit.record(db.session, actor, "call.stage_dates_set", stage, before=previous,
                 after={"opens_at": opens_at, "closes_at": closes_at})


def before_opening(call: Call, *, now: datetime) -> None:
    """Called when a call is opened. A staged call's parent is never opened by hand (its stages are); a stage opens
    once the stage before it is decided, and its opening publishes the parent with the stages' timetable."""
    if call.is_staged:
        raise RuleViolation(_("A staged call opens stage by stage: open its first stage."))
    if not call.is_stage:
        return
    parent = parent_of(call)
    siblings = {s.stage_index: s for s in stages_of(parent)}
    before = siblings.get((call.stage_index or 0) - 1)
    if before is not None and before.status != CallStatus.DECIDED:
        raise RuleViolation(_("The stage before (%(stage)s) is %(status)s: a stage opens once the one before it is "
                              "decided, for the groups it invites.", stage=before.reference,
                              status=before.status.label.lower()))
    _keep_parent_timetable(parent)
    if parent.status in (CallStatus.DRAFT, CallStatus.CLOSED):
        # Published with its first stage; open again with a later one (closed by the deadline job meanwhile, when
        # the later stages' dates were not set yet).
        if parent.opens_at is None or parent.closes_at is None:  # pragma: no cover - the stage's dates are set
            raise RuleViolation(_("Set the stage's dates before opening it."), field="closes_at")
        parent.status = CallStatus.OPEN
        parent.opened_at = parent.opened_at or now


def refuse_unless_invited(call: Call) -> None:
    """Only the groups a stage invites take part in the later stages: nobody starts a proposal there."""
    if call.is_stage and (call.stage_index or 0) > 1:
        raise RuleViolation(_("Only the groups invited after the stage before take part in this stage: their "
                              "proposal is started for them, from the one that passed."))


@dataclass(frozen=True)
class GroupCommitment:
    """What a group was awarded in the other stages of a staged call, and the cap per group over all stages."""

    awarded: Decimal
    cap: Decimal
    currency: str


def group_commitment(call: Call, group_id: int, *, funded_statuses: tuple[object, ...]) -> GroupCommitment | None:
    """For a stage: the amounts of the funded decisions on the group's proposals in the other stages (proposals
    in ``funded_statuses``: in review or funded, not withdrawn), and the parent's cap per group. None for a call
    that is not a stage."""
    if not call.is_stage:
        return None
    parent = parent_of(call)
    # The staged call's row locked: two stages' decisions for one group are counted one after the other.
    db.session.execute(select(Call.id).where(Call.id == parent.id).with_for_update())
    awarded = db.session.scalar(
        select(func.coalesce(func.sum(Decision.amount), 0))
        .join(Proposal, Proposal.id == Decision.proposal_id)
        .join(Call, Call.id == Decision.call_id)
        .where(Call.parent_id == parent.id, Call.id != call.id, Proposal.group_id == group_id,
               Decision.outcome == Outcome.FUNDED, Proposal.status.in_(funded_statuses))
    )
    return GroupCommitment(Decimal(awarded).quantize(Decimal("0.01")), parent.per_initiative_cap, call.currency)


def over_group_cap(commitment: GroupCommitment | None, amount: Decimal) -> str | None:
    """Why ``amount`` more would pass the cap per group over all stages (None when within it: at the cap is)."""
    if commitment is None or amount <= 0:
        return None
    total = commitment.awarded + amount
    if total <= commitment.cap:
        return None
    def money(value: Decimal) -> str:
        return format_money(value, commitment.currency)

    return _("%(amount)s more would bring the group's awards over all stages to %(total)s, %(over)s over the staged "
             "call's cap per group of %(cap)s (%(awarded)s awarded in the other stages).", amount=money(amount),
             total=money(total), over=money(total - commitment.cap), cap=money(commitment.cap),
             awarded=money(commitment.awarded))


# What the pages read ----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class StageView:
    """A stage as its pages show it: its call and its ``[[stages]]`` entry."""

    call: Call
    rule: Stage
    number: int
    count: int


def stage_views(parent: Call) -> list[StageView]:
    """The stages of a staged call with their rules, in order (empty for any other call)."""
    stages = stages_of(parent)
    return [StageView(stage, stage_of(parent.rules, stage.stage_key or ""), stage.stage_index or 0, len(stages))
            for stage in stages]


def stage_view(call: Call) -> StageView | None:
    """The place of a stage in its staged call (None for any other call)."""
    if not call.is_stage:
        return None
    parent = parent_of(call)
    return StageView(call, stage_of(parent.rules, call.stage_key or ""), call.stage_index or 0, stage_count(call))


def get_staged_call_for_management(call_id: int, *, actor: Actor) -> Call:
    """A staged call's parent, for its manager; 403 for anyone else, 404 for an unknown id or another call."""
    require_role(actor, Role.PROGRAMME_MANAGER)
    call = db.session.get(Call, call_id)
    if call is None or not call.is_staged:
        raise NotFound()
    return call


def get_stage(parent: Call, stage_id: int) -> Call:
    """A stage of ``parent`` (404 for an id of another call's stage, typed by hand)."""
    stage = db.session.get(Call, stage_id)
    if stage is None or stage.parent_id != parent.id:
        raise NotFound()
    return stage
