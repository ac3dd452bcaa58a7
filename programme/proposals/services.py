"""Operations on proposals: start, edit the draft section by section, upload, check, submit, withdraw;
the manager's list, eligibility override and export.

Each takes the actor explicitly and flushes; the view, command or job commits.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from pathlib import Path
from typing import Any, BinaryIO

from sqlalchemy import Select, and_, func, or_, select
from sqlalchemy.orm import selectinload

from programme.accounts.models import ApplicantGroup
from programme.calls.models import Call, CallStatus
from programme.core import audit
from programme.core.access import AccessDenied, Actor, NotFound, Role, RuleViolation, require_role
from programme.core.db import cents, from_cents
from programme.core.files import store_upload
from programme.core.money import is_exact_amount
from programme.core.notifications import notify
from programme.extensions import db
from programme.proposals.domain import (
    COST_TYPES,
    MAX_QUARTER,
    ActivityKind,
    ClusterStage,
    CoFinancingKind,
    Verdict,
    check_eligibility,
    dump_snapshot,
)
from programme.proposals.models import (
    Activity,
    Attachment,
    AttachmentKind,
    BudgetLine,
    CoFinancing,
    Indicator,
    Proposal,
    ProposalStatus,
    ProposalVersion,
)
from programme.rulebook import SUPPORT_INSTITUTION_TYPES

# Loading and permission -------------------------------------------------------------------------


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


def _require_edit(proposal: Proposal, actor: Actor, now: datetime | None = None) -> None:
    """Refuse before anything changes; with `now`, also once the call no longer takes proposals."""
    if not proposal.is_group_user(actor):
        raise AccessDenied("only the people acting for the group change its proposal")
    if not proposal.can_edit(actor):
        raise RuleViolation(f"This proposal is {proposal.status.label.lower()}: it can no longer be changed.")
    if now is not None and not proposal.call.is_accepting(now):
        raise RuleViolation("The call is not open for proposals: the draft can no longer be changed.")


def _touch(proposal: Proposal, actor: Actor, now: datetime, what: str, **details: Any) -> None:
    """Every change of the draft: only while the call takes proposals; stamped and audited."""
    if not proposal.call.is_accepting(now):
        raise RuleViolation("The call is not open for proposals: the draft can no longer be changed.")
    proposal.updated_at = now
    audit.record(db.session, actor, f"proposal.{what}", proposal, **details)


def proposals_of(actor: Actor) -> list[Proposal]:
    """The proposals of every group the actor acts for."""
    from programme.accounts.models import GroupUser

    query = (
        select(Proposal).join(GroupUser, GroupUser.group_id == Proposal.group_id)
        .where(GroupUser.user_id == actor.id).order_by(Proposal.created_at.desc())
    )
    return list(db.session.scalars(query))


def start_proposal(call: Call, group: ApplicantGroup, *, title: str, actor: Actor, now: datetime) -> Proposal:
    """A group starts its proposal to an open call (one per group and call)."""
    require_role(actor, Role.APPLICANT)
    if group.role_of(actor) is None:
        raise NotFound()
    if not call.is_accepting(now):
        raise RuleViolation("This call is not open for proposals.")
    existing = db.session.scalar(select(Proposal).where(Proposal.call_id == call.id, Proposal.group_id == group.id))
    if existing is not None:
        raise RuleViolation(f"{group.name} has a proposal to this call already.", field="group_id")
    proposal = Proposal(call=call, group=group, title=title.strip(), created_at=now, updated_at=now)
    db.session.add(proposal)
    db.session.flush()
    audit.record(db.session, actor, "proposal.started", proposal, call=call.reference, group=group.name)
    return proposal


# Sections of the draft ---------------------------------------------------------------------------


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


def _check_amount(value: Decimal, currency: str, field: str, *, allow_zero: bool = False) -> None:
    if value < 0 or (value == 0 and not allow_zero):
        raise RuleViolation("Give an amount above zero.", field=field)
    if not is_exact_amount(value, currency):
        raise RuleViolation(f"Give the amount in whole minor units of {currency}.", field=field)


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
        raise RuleViolation(f"Give a quarter from 1 to {MAX_QUARTER}.", field="start_quarter")
    if not data.start_quarter <= data.end_quarter <= MAX_QUARTER:
        raise RuleViolation("The last quarter cannot be before the first.", field="end_quarter")
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


def _child(items: list[Any], item_id: int) -> Any:
    item = next((i for i in items if i.id == item_id), None)
    if item is None:
        raise NotFound()
    return item


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


@dataclass(frozen=True)
class BudgetLineData:
    activity_id: int | None
    cost_type: str
    description: str
    amount: Decimal


def _apply_line(proposal: Proposal, line: BudgetLine, data: BudgetLineData) -> None:
    if data.cost_type not in COST_TYPES:
        raise RuleViolation("Choose a cost type from the list.", field="cost_type")
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
        raise RuleViolation("Choose one of the group's member organisations.", field="organisation_id")
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


@dataclass(frozen=True)
class IndicatorData:
    name: str
    unit: str
    baseline: Decimal
    target: Decimal


def add_indicator(proposal: Proposal, data: IndicatorData, *, actor: Actor, now: datetime) -> Indicator:
    _require_edit(proposal, actor, now)
    if data.target == data.baseline:
        raise RuleViolation("The target should differ from the baseline.", field="target")
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


def attachments_folder(upload_root: str | Path, proposal: Proposal) -> Path:
    return Path(upload_root) / "proposals" / str(proposal.id)


def add_attachment(proposal: Proposal, *, kind: AttachmentKind, stream: BinaryIO, filename: str | None,
                   upload_root: str | Path, max_bytes: int, actor: Actor, now: datetime) -> Attachment:
    _require_edit(proposal, actor, now)
    stored = store_upload(stream, filename, attachments_folder(upload_root, proposal), max_bytes=max_bytes)
    attachment = Attachment(
        kind=kind, original_name=stored.original_name, stored_name=stored.stored_name,
        content_type=stored.content_type, size_bytes=stored.size_bytes, sha256=stored.sha256,
        uploaded_by_id=actor.id, uploaded_at=now,
    )
    proposal.attachments.append(attachment)
    db.session.flush()
    _touch(proposal, actor, now, "attachment_added", attachment_id=attachment.id, name=stored.original_name,
           sha256=stored.sha256)
    return attachment


def remove_attachment(proposal: Proposal, attachment_id: int, *, actor: Actor, now: datetime) -> None:
    """Hide an attachment from the draft; the file stays, since a submitted version may refer to it."""
    _require_edit(proposal, actor, now)
    attachment = _child(proposal.live_attachments, attachment_id)
    attachment.removed_at = now
    _touch(proposal, actor, now, "attachment_removed", attachment_id=attachment_id)


def get_attachment(proposal: Proposal, attachment_id: int) -> Attachment:
    """An attachment of this proposal (the caller has loaded the proposal with the reader's permission)."""
    return _child(proposal.attachments, attachment_id)


# Snapshot, eligibility, submission ---------------------------------------------------------------


def build_snapshot(proposal: Proposal) -> dict[str, Any]:
    """The draft's whole content as plain values: what eligibility checks and a version freezes."""
    activity_titles = {a.id: a.title for a in proposal.activities}
    return {
        "title": proposal.title,
        "cluster": {
            "sector": proposal.sector, "territory": proposal.territory,
            "stage": proposal.stage.value if proposal.stage else "",
            "main_problem": proposal.main_problem, "market_failure": proposal.market_failure,
        },
        "objectives": proposal.objectives,
        "sustainability_plan": proposal.sustainability_plan,
        "activities": [
            {"id": a.id, "title": a.title, "kind": a.kind.value, "description": a.description,
             "start_quarter": a.start_quarter, "end_quarter": a.end_quarter, "cost": a.cost}
            for a in proposal.activities
        ],
        "budget_lines": [
            {"activity_id": line.activity_id, "activity": activity_titles.get(line.activity_id, ""),
             "cost_type": line.cost_type, "description": line.description, "amount": line.amount}
            for line in proposal.budget_lines
        ],
        "budget_total": sum((line.amount for line in proposal.budget_lines), Decimal("0.00")),
        "requested_amount": proposal.requested_amount,
        "cofinancing": [
            {"organisation_id": c.organisation_id, "organisation": c.organisation.name, "kind": c.kind.value,
             "amount": c.amount, "description": c.description}
            for c in proposal.cofinancing
        ],
        "indicators": [
            {"name": i.name, "unit": i.unit, "baseline": i.baseline, "target": i.target}
            for i in proposal.indicators
        ],
        "members": [
            {"id": o.id, "name": o.name, "kind": o.kind.value,
             "size_class": o.size_class.value if o.size_class else "", "sector": o.sector or "",
             "locality": o.locality}
            for o in proposal.group.organisations
        ],
        "attachments": [
            {"id": a.id, "kind": a.kind.value, "name": a.original_name, "size": a.size_bytes, "sha256": a.sha256,
             "content_type": a.content_type}
            for a in proposal.live_attachments
        ],
    }


def eligibility(proposal: Proposal, snapshot: dict[str, Any], now: datetime) -> Verdict:
    call = proposal.call
    return check_eligibility(
        snapshot, call.rules, per_initiative_cap=call.per_initiative_cap, currency=call.currency,
        opens_at=call.opens_at if call.status == CallStatus.OPEN else None, closes_at=call.closes_at, now=now,
    )


def live_eligibility(proposal: Proposal, now: datetime) -> Verdict:
    """The verdict on the draft as it is now, shown to the applicant on every page of the proposal."""
    return eligibility(proposal, build_snapshot(proposal), now)


def submit(proposal: Proposal, *, actor: Actor, now: datetime) -> ProposalVersion:
    """Freeze the draft as a new version. Only an eligible draft, only while the call is open, checked now."""
    _require_edit(proposal, actor)
    # Lock the proposal row: two submissions at once make two versions one after the other, never the same number.
    db.session.execute(select(Proposal.id).where(Proposal.id == proposal.id).with_for_update())
    db.session.refresh(proposal, attribute_names=["versions", "latest_version", "status"])
    if proposal.status not in (ProposalStatus.DRAFT, ProposalStatus.SUBMITTED):
        raise RuleViolation(f"This proposal is {proposal.status.label.lower()}: it cannot be submitted.")
    call = proposal.call
    if not call.is_accepting(now):
        raise RuleViolation(
            "The deadline has passed: the call no longer takes proposals." if call.closes_at and now >= call.closes_at
            else "This call is not open for proposals."
        )
    snapshot = build_snapshot(proposal)
    verdict = eligibility(proposal, snapshot, now)
    if not verdict.eligible:
        raise RuleViolation("The proposal is not eligible yet: " + " ".join(c.reason for c in verdict.failures))
    content = dump_snapshot(snapshot)
    number = (proposal.latest_version or 0) + 1
    members = snapshot["members"]
    kinds = [m["kind"] for m in members]
    cash = sum((c["amount"] for c in snapshot["cofinancing"] if c["kind"] == CoFinancingKind.CASH), Decimal("0.00"))
    in_kind = sum((c["amount"] for c in snapshot["cofinancing"] if c["kind"] == CoFinancingKind.IN_KIND),
                  Decimal("0.00"))
    version = ProposalVersion(
        number=number, submitted_at=now, submitted_by_id=actor.id, content=content,
        content_sha256=hashlib.sha256(content.encode("utf-8")).hexdigest(),
        eligibility=json.dumps(verdict.as_json()), eligible=verdict.eligible,
        members_count=len(members), firms_count=kinds.count("firm"),
        institutions_count=sum(1 for k in kinds if k in SUPPORT_INSTITUTION_TYPES),
        requested_amount=snapshot["requested_amount"], budget_total=snapshot["budget_total"],
        cofinancing_cash=cash, cofinancing_in_kind=in_kind,
    )
    proposal.versions.append(version)
    proposal.latest_version = number
    proposal.status = ProposalStatus.SUBMITTED
    proposal.submitted_at = now
    if proposal.reference is None:
        proposal.reference = f"{call.reference}-P{proposal.id:05d}"
    db.session.flush()
    audit.record(db.session, actor, "proposal.submitted", proposal, version=number, sha256=version.content_sha256)
    for group_user in proposal.group.users:
        notify(
            db.session, email=group_user.user.email, user_id=group_user.user_id,
            subject=f"Proposal {proposal.reference} received (version {number})",
            body=f"The proposal '{proposal.title}' of {proposal.group.name} to {call.name} was submitted as "
                 f"version {number} by {actor.actor_label}. Reference: {proposal.reference}. "
                 f"Fingerprint of the submitted content: {version.content_sha256[:16]}.",
        )
    return version


def withdraw(proposal: Proposal, *, reason: str, actor: Actor, now: datetime) -> None:
    """The group withdraws a submitted proposal before the call is decided."""
    if not proposal.is_group_user(actor) or not actor.has_role(Role.APPLICANT):
        raise AccessDenied("only the people acting for the group withdraw its proposal")
    if proposal.status in (ProposalStatus.DRAFT, ProposalStatus.WITHDRAWN):
        raise RuleViolation("Only a submitted proposal can be withdrawn.")
    if proposal.call.status == CallStatus.DECIDED:
        raise RuleViolation("The call is decided: the proposal can no longer be withdrawn.")
    proposal.status = ProposalStatus.WITHDRAWN
    proposal.withdrawn_at, proposal.withdrawal_reason = now, reason.strip()
    proposal.call.touch_results()  # a withdrawn proposal leaves the ranking of a call in review
    audit.record(db.session, actor, "proposal.withdrawn", proposal, reason=reason.strip())


def get_version(proposal: Proposal, number: int) -> ProposalVersion:
    version = next((v for v in proposal.versions if v.number == number), None)
    if version is None:
        raise NotFound()
    return version


# The manager's view -------------------------------------------------------------------------------


def override_eligibility(proposal: Proposal, *, eligible: bool, reason: str, actor: Actor, now: datetime) -> None:
    """A manager decides eligibility against the computed verdict, with a written reason (audited)."""
    require_role(actor, Role.PROGRAMME_MANAGER)
    if proposal.latest_version is None or proposal.status == ProposalStatus.WITHDRAWN:
        raise RuleViolation("Only a submitted proposal has an eligibility to decide.")
    if len(reason.strip()) < 10:
        raise RuleViolation("Write the reason for the decision (at least 10 characters).", field="reason")
    if proposal.status not in (ProposalStatus.SUBMITTED, ProposalStatus.ELIGIBLE, ProposalStatus.INELIGIBLE):
        raise RuleViolation(f"The proposal is {proposal.status.label.lower()}: its eligibility is settled.")
    before = proposal.status.value
    proposal.override_eligible, proposal.override_reason = eligible, reason.strip()
    proposal.override_by_id, proposal.override_at = actor.id, now
    proposal.status = ProposalStatus.ELIGIBLE if eligible else ProposalStatus.INELIGIBLE
    proposal.call.touch_results()
    audit.record(db.session, actor, "proposal.eligibility_overridden", proposal, before=before,
                 after=proposal.status.value, computed=proposal.current_version.eligible, reason=reason.strip())


@dataclass(frozen=True)
class SubmissionFilter:
    status: str | None = None
    eligibility: str | None = None  # "eligible" | "ineligible" (computed at submission, or overridden)
    search: str | None = None
    sort: str = "reference"
    descending: bool = False


SORTS = {
    "reference": Proposal.reference,
    "title": Proposal.title,
    "group": ApplicantGroup.name,
    "submitted": Proposal.submitted_at,
    "requested": ProposalVersion.requested_amount,
    "members": ProposalVersion.members_count,
    "cofinancing": ProposalVersion.cofinancing_cash + ProposalVersion.cofinancing_in_kind,
    "budget": ProposalVersion.budget_total,
    "eligibility": func.coalesce(Proposal.override_eligible, ProposalVersion.eligible),
    "version": Proposal.latest_version,
    "status": Proposal.status,
}


def _submissions_query(call: Call, filters: SubmissionFilter) -> Select:
    eligible_now = func.coalesce(Proposal.override_eligible, ProposalVersion.eligible)
    query = (
        select(Proposal, ProposalVersion, ApplicantGroup)
        .join(ProposalVersion, and_(ProposalVersion.proposal_id == Proposal.id,
                                    ProposalVersion.number == Proposal.latest_version))
        .join(ApplicantGroup, ApplicantGroup.id == Proposal.group_id)
        .where(Proposal.call_id == call.id)
    )
    if filters.status:
        query = query.where(Proposal.status == filters.status)
    if filters.eligibility == "eligible":
        query = query.where(eligible_now.is_(True))
    elif filters.eligibility == "ineligible":
        query = query.where(eligible_now.is_(False))
    if filters.search:
        pattern = f"%{filters.search.strip().lower()}%"
        query = query.where(or_(func.lower(Proposal.title).like(pattern), func.lower(ApplicantGroup.name).like(pattern),
                                func.lower(Proposal.reference).like(pattern)))
    return query


def list_submissions(call: Call, filters: SubmissionFilter, *, page: int, per_page: int, actor: Actor
                     ) -> tuple[list[tuple[Proposal, ProposalVersion, ApplicantGroup]], int]:
    """One page of a call's submitted proposals, filtered and sorted, and the number that match."""
    require_role(actor, Role.PROGRAMME_MANAGER)
    query = _submissions_query(call, filters)
    total = db.session.scalar(select(func.count()).select_from(query.order_by(None).subquery()))
    column = SORTS.get(filters.sort, Proposal.reference)
    order = [column.desc() if filters.descending else column.asc(), Proposal.id]
    rows = db.session.execute(query.order_by(*order).limit(per_page).offset((page - 1) * per_page)).all()
    return [tuple(row) for row in rows], total


def requested_total(call: Call, filters: SubmissionFilter, *, actor: Actor) -> Decimal:
    """The sum of the amounts requested by the submissions that match the filters (newest versions)."""
    require_role(actor, Role.PROGRAMME_MANAGER)
    # Summed in whole cents as integers: exact on SQLite too, which would otherwise add binary floats.
    matching = _submissions_query(call, filters).with_only_columns(
        cents(ProposalVersion.requested_amount).label("cents")).subquery()
    return from_cents(db.session.scalar(select(func.coalesce(func.sum(matching.c.cents), 0))))


EXPORT_COLUMNS = (
    Proposal.id, Proposal.reference, Proposal.title, Proposal.status, Proposal.submitted_at, Proposal.latest_version,
    Proposal.override_eligible, Proposal.override_reason, ApplicantGroup.name.label("group_name"),
    ProposalVersion.eligible, ProposalVersion.eligibility, ProposalVersion.members_count, ProposalVersion.firms_count,
    ProposalVersion.institutions_count, ProposalVersion.requested_amount, ProposalVersion.budget_total,
    ProposalVersion.cofinancing_cash, ProposalVersion.cofinancing_in_kind, ProposalVersion.content_sha256,
    ProposalVersion.content,
)


def iter_submissions(call: Call, *, actor: Actor, batch: int = 500) -> Iterator[Any]:
    """Every submitted proposal of a call as plain rows (not tracked by the session), in batches by id,
    so that memory stays flat however many there are."""
    require_role(actor, Role.PROGRAMME_MANAGER)
    base = _submissions_query(call, SubmissionFilter()).with_only_columns(*EXPORT_COLUMNS)
    last_id = 0
    while True:
        rows = db.session.execute(base.where(Proposal.id > last_id).order_by(Proposal.id).limit(batch)).all()
        if not rows:
            return
        yield from rows
        last_id = rows[-1].id


def proposals_for_group_and_call(group_ids: list[int], call_id: int) -> dict[int, Proposal]:
    rows = db.session.scalars(
        select(Proposal).where(Proposal.call_id == call_id, Proposal.group_id.in_(group_ids))
        .options(selectinload(Proposal.versions))
    )
    return {p.group_id: p for p in rows}
