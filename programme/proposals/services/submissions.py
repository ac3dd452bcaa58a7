"""The programme manager's view of a call's submissions: the eligibility decided against the computed verdict
(with a reason), the list filtered, sorted and paged, the total requested, and the rows of the Excel export."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import Select, and_, func, or_, select

from programme.accounts.models import ApplicantGroup
from programme.calls.models import Call
from programme.core import audit
from programme.core.access import Actor, Role, RuleViolation, require_role
from programme.core.db import cents, from_cents
from programme.extensions import db
from programme.proposals.models import Proposal, ProposalStatus, ProposalVersion


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
