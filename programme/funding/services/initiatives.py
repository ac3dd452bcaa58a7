"""Initiatives: listing and loading them, their start date and programme years, and their life — opened
when a call's decisions are published, moved on to a later stage or ended (with its ``terminated_on``) at a
milestone review."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

from sqlalchemy import func, select

from programme.accounts.models import ApplicantGroup, GroupUser
from programme.calls.models import Call
from programme.core.access import Actor, NotFound, Role, RuleViolation, require_role
from programme.core.texts import gettext as _
from programme.core.timezone import format_day, programme_today
from programme.extensions import db
from programme.funding.domain import (
    GrantPosition,
    current_year,
    programme_year,
)
from programme.funding.models import (
    Grant,
    GrantKind,
    Initiative,
    InitiativeStatus,
)
from programme.funding.services._common import _lock_initiative, positions_of_ids
from programme.proposals.models import Proposal


def started_on(initiative: Initiative, timezone: str) -> date:
    """The initiative's start date: its ``started_at`` as a date in the programme's time zone."""
    return initiative.started_at.astimezone(ZoneInfo(timezone)).date()


def year_of(initiative: Initiative, day: date, timezone: str) -> int:
    """The programme year of ``day`` (see ``domain.programme_year``); a day before the start is refused."""
    start = started_on(initiative, timezone)
    if day < start:
        raise RuleViolation(_("%(day)s is before %(reference)s started on %(start)s.", day=format_day(day),
                              reference=initiative.reference, start=format_day(start)))
    return programme_year(start, day)


def _may_see_initiatives(actor: Actor) -> None:
    """The list of initiatives is for managers, fund administrators and applicants (who see their groups')."""
    require_role(actor, Role.PROGRAMME_MANAGER, Role.FUND_ADMINISTRATOR, Role.AUDITOR, Role.APPLICANT)


def initiatives_for(actor: Actor, *, status: InitiativeStatus | None = None, call_id: int | None = None,
                    year: int | None = None, today: date | None = None, timezone: str) -> list[Initiative]:
    """The initiatives the actor may see: all for managers and fund administrators, its groups' for an
    applicant; 403 for anyone else (a reviewer sees none). Optionally only those with ``status``, of the call
    ``call_id``, or in programme ``year`` on ``today`` (a day before the start counts as year 1)."""
    _may_see_initiatives(actor)
    query = select(Initiative).order_by(Initiative.reference)
    if not _sees_all(actor):
        query = query.join(GroupUser, GroupUser.group_id == Initiative.group_id).where(GroupUser.user_id == actor.id)
    if status is not None:
        query = query.where(Initiative.status == status)
    if call_id is not None:
        query = query.where(Initiative.call_id == call_id)
    shown = list(db.session.scalars(query).unique())
    if year is not None:
        day = today or programme_today(timezone)
        shown = [i for i in shown
                 if current_year(started_on(i, timezone), day) == year]
    return shown


def initiatives_after(actor: Actor, *, after_id: int | None, limit: int, status: InitiativeStatus | None = None,
                      call_id: int | None = None) -> list[Initiative]:
    """The initiatives the actor may see (``initiatives_for``'s rule), in the order of their ids from the one after
    ``after_id``, ``limit`` of them: for programs that read the list page by page."""
    _may_see_initiatives(actor)
    query = select(Initiative)
    if not _sees_all(actor):
        query = query.where(Initiative.group_id.in_(select(GroupUser.group_id).where(GroupUser.user_id == actor.id)))
    if status is not None:
        query = query.where(Initiative.status == status)
    if call_id is not None:
        query = query.where(Initiative.call_id == call_id)
    if after_id is not None:
        query = query.where(Initiative.id > after_id)
    return list(db.session.scalars(query.order_by(Initiative.id).limit(limit)))


#: Initiatives per page of the list.
PER_PAGE = 50


@dataclass(frozen=True)
class InitiativeRow:
    """One line of the list of initiatives: the columns it shows, read without loading the initiative."""

    id: int
    reference: str
    name: str
    status: InitiativeStatus
    currency: str
    group_name: str
    call_reference: str


@dataclass(frozen=True)
class InitiativeList:
    """A page of the initiatives one may see, with their start-up grant positions, and how many there are."""

    rows: list[InitiativeRow]
    positions: dict[int, GrantPosition]
    count: int
    page: int
    pages: int


def initiative_list(actor: Actor, *, status: InitiativeStatus | None = None, call_id: int | None = None,
                    year: int | None = None, today: date, timezone: str, page: int = 1) -> InitiativeList:
    """The page ``page`` of the initiatives ``initiatives_for`` answers (same people, same filters), by
    reference, with their start-up grant positions: two statements (the shown columns of the matching
    initiatives, then the positions of the page's), whatever the number of initiatives."""
    _may_see_initiatives(actor)
    query = (select(Initiative.id, Initiative.reference, Initiative.name, Initiative.status, Initiative.currency,
                    Initiative.started_at, ApplicantGroup.name, Call.reference)
             .join(ApplicantGroup, ApplicantGroup.id == Initiative.group_id)
             .join(Call, Call.id == Initiative.call_id)
             .order_by(Initiative.reference))
    if not _sees_all(actor):
        query = query.where(Initiative.group_id.in_(
            select(GroupUser.group_id).where(GroupUser.user_id == actor.id)))
    if status is not None:
        query = query.where(Initiative.status == status)
    if call_id is not None:
        query = query.where(Initiative.call_id == call_id)
    zone = ZoneInfo(timezone)
    matching = [InitiativeRow(id_, reference, name, InitiativeStatus(state), currency, group_name, call_reference)
                for id_, reference, name, state, currency, started_at, group_name, call_reference
                in db.session.execute(query)
                if year is None or current_year(started_at.astimezone(zone).date(), today) == year]
    pages = max(1, -(-len(matching) // PER_PAGE))
    page = min(max(page, 1), pages)
    rows = matching[(page - 1) * PER_PAGE:page * PER_PAGE]
    return InitiativeList(rows=rows, positions=positions_of_ids([row.id for row in rows]), count=len(matching),
                          page=page, pages=pages)


def _sees_all(actor: Actor) -> bool:
    return any(actor.has_role(role) for role in (Role.PROGRAMME_MANAGER, Role.FUND_ADMINISTRATOR, Role.AUDITOR))


def get_initiative(initiative_id: int, *, actor: Actor) -> Initiative:
    """One initiative; NotFound for an unknown id and for one the actor may not see."""
    initiative = db.session.get(Initiative, initiative_id)
    if initiative is None or not initiative.can_view(actor):
        raise NotFound("no such initiative")
    return initiative


#: The stages an initiative moves through, in order; it moves on, never back.
STAGES = (InitiativeStatus.START_UP, InitiativeStatus.IMPLEMENTATION, InitiativeStatus.SELF_SUSTAINING,
          InitiativeStatus.COMPLETED)


#: An initiative in one of these has ended: nothing changes its stage any more.
CLOSED = (InitiativeStatus.TERMINATED, InitiativeStatus.COMPLETED)


def later_stages(status: InitiativeStatus) -> list[InitiativeStatus]:
    """The stages an initiative in ``status`` may move on to."""
    if status not in STAGES:
        return []
    return list(STAGES[STAGES.index(status) + 1:])


def open_initiative(call: Call, proposal: Proposal, *, amount: Decimal, actor: Actor, now: datetime) -> Initiative:
    """The initiative a funded proposal becomes when its call's decisions are published, with its start-up grant
    commitment of ``amount`` at the rules' share. References number the initiatives started in a year:
    INI-<year>-0001, ...; the caller holds the call's lock, so two publications never draw the same number."""
    require_role(actor, Role.PROGRAMME_MANAGER)
    prefix = f"INI-{now:%Y}-"
    count = db.session.scalar(select(func.count()).select_from(Initiative).where(
        Initiative.reference.like(f"{prefix}%"))) or 0
    initiative = Initiative(reference=f"{prefix}{count + 1:04d}", name=proposal.title, call_id=call.id,
                            proposal_id=proposal.id, group_id=proposal.group_id, currency=call.currency,
                            started_at=now)
    initiative.grants.append(Grant(
        kind=GrantKind.STARTUP, committed=amount, currency=call.currency,
        external_share=call.rules.funding.startup_grant.share, committed_at=now, committed_by_id=actor.id,
        basis=f"Start-up grant awarded by {call.reference} to proposal {proposal.reference}.",
    ))
    db.session.add(initiative)
    return initiative


def initiatives_of_proposals(proposal_ids: list[int]) -> dict[int, Initiative]:
    """The initiatives these proposals became (a proposal of a stage that awards no money became none), by
    proposal id, in one statement."""
    if not proposal_ids:
        return {}
    return {i.proposal_id: i for i in db.session.scalars(select(Initiative).where(
        Initiative.proposal_id.in_(proposal_ids)))}


def change_initiative_stage(
    initiative: Initiative, *, terminate: bool, to: InitiativeStatus | None, on: date, actor: Actor,
) -> tuple[InitiativeStatus, InitiativeStatus]:
    """End the initiative (``terminate``: on the day ``on``, after which nothing more is paid to it), or move it on
    to the later stage ``to`` (None or its own stage: it stays). Answers its stage before and after. Only programme
    managers decide it, at a milestone review; an ended initiative changes no more."""
    require_role(actor, Role.PROGRAMME_MANAGER)
    _lock_initiative(initiative)
    db.session.refresh(initiative, ["status"])
    before = initiative.status
    if before in CLOSED:
        raise RuleViolation(_("%(reference)s is %(stage)s: it gets no more milestone reviews.",
                              reference=initiative.reference, stage=before.label.lower()))
    if terminate:
        if to not in (None, InitiativeStatus.TERMINATED):
            raise RuleViolation(_("A terminated initiative moves to no other stage: leave the next stage empty."),
                                field="next_status")
        after = InitiativeStatus.TERMINATED
        initiative.terminated_on = on
    elif to is None or to == before:
        after = before
    elif to == InitiativeStatus.TERMINATED:
        raise RuleViolation(_("To end the initiative, choose the decision terminate."), field="next_status")
    elif to not in later_stages(before):
        raise RuleViolation(_("%(reference)s is in the %(stage)s stage: a review moves it on to a later stage, never "
                              "back to %(back)s.", reference=initiative.reference, stage=before.label.lower(),
                              back=to.label.lower()), field="next_status")
    else:
        after = to
    initiative.status = after
    return before, after


def terminate_initiative(initiative: Initiative, *, on: date, actor: Actor) -> InitiativeStatus:
    """End the initiative on the day ``on``; answers its stage before."""
    before, _ = change_initiative_stage(initiative, terminate=True, to=None, on=on, actor=actor)
    return before
