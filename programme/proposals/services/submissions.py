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
from programme.core.kept import Kept, database_key, newest_rows
from programme.core.texts import gettext as _
from programme.extensions import db
from programme.proposals.models import Proposal, ProposalStatus, ProposalVersion


def override_eligibility(proposal: Proposal, *, eligible: bool, reason: str, actor: Actor, now: datetime) -> None:
    """A manager decides eligibility against the computed verdict, with a written reason (audited)."""
    require_role(actor, Role.PROGRAMME_MANAGER)
    if proposal.latest_version is None or proposal.status == ProposalStatus.WITHDRAWN:
        raise RuleViolation(_("Only a submitted proposal has an eligibility to decide."))
    if len(reason.strip()) < 10:
        raise RuleViolation(_("Write the reason for the decision (at least 10 characters)."), field="reason")
    if proposal.status not in (ProposalStatus.SUBMITTED, ProposalStatus.ELIGIBLE, ProposalStatus.INELIGIBLE):
        raise RuleViolation(_("The proposal is %(status)s: its eligibility is settled.",
                              status=proposal.status.label.lower()))
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


#: The columns the submissions page shows, and nothing else (a version's content is large).
PAGE_COLUMNS = (
    Proposal.id, Proposal.reference, Proposal.title, Proposal.status, Proposal.submitted_at, Proposal.latest_version,
    Proposal.override_eligible, Proposal.override_reason, ApplicantGroup.name.label("group_name"),
    ProposalVersion.eligible, ProposalVersion.members_count, ProposalVersion.firms_count,
    ProposalVersion.institutions_count, ProposalVersion.requested_amount, ProposalVersion.budget_total,
    ProposalVersion.cofinancing_cash, ProposalVersion.cofinancing_in_kind,
)


@dataclass(frozen=True)
class SubmissionsPage:
    """One page of a call's submissions as the manager's list shows them (plain rows of ``PAGE_COLUMNS``), with
    the number of submissions that match the filters and the amount they request."""

    rows: list[Any]
    count: int
    requested: Decimal


#: The number and requested amount of every submission of a call, by call and version of its submissions.
_all_figures: Kept[tuple[int, Decimal]] = Kept(size=16)


def _figures(call: Call, filters: SubmissionFilter) -> tuple[int, Decimal]:
    """How many submissions match and what they request, in one statement; summed in whole cents as integers
    (exact on SQLite too, which would otherwise add binary floats)."""
    matching = _submissions_query(call, filters).with_only_columns(
        cents(ProposalVersion.requested_amount).label("cents")).subquery()
    count, total = db.session.execute(
        select(func.count(), func.coalesce(func.sum(matching.c.cents), 0))).one()
    return count, from_cents(total)


def submissions_page(call: Call, filters: SubmissionFilter, *, page: int, per_page: int, actor: Actor
                     ) -> SubmissionsPage:
    """One page of a call's submissions, filtered and sorted, with how many match and what they request.

    Without a filter, the figures cover every submission of the call: they change only when a version is
    submitted (versions are only ever added, and a proposal's newest version is the one counted; a withdrawal
    keeps it listed), so they are worked out once per newest version id and kept (``core.kept``). With a filter
    (status, eligibility, search: which a review, a decision or a group's new name may move), they are read
    afresh, in one statement."""
    require_role(actor, Role.PROGRAMME_MANAGER)
    if filters.status or filters.eligibility or filters.search:
        count, requested = _figures(call, filters)
    else:
        key = (database_key(), call.id, newest_rows(ProposalVersion.id))
        count, requested = _all_figures.get(key, lambda: _figures(call, SubmissionFilter()))
    column = SORTS.get(filters.sort, Proposal.reference)
    order = [column.desc() if filters.descending else column.asc(), Proposal.id]
    rows = db.session.execute(_submissions_query(call, filters).with_only_columns(*PAGE_COLUMNS)
                              .order_by(*order).limit(per_page).offset((page - 1) * per_page)).all()
    return SubmissionsPage(list(rows), count, requested)


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
