"""Operations on the money of initiatives: a grant paid in tranches (disbursements), and the call's budget
in the ledger that the tranches are paid from.

A disbursement goes requested -> approved -> paid, or rejected (from requested or approved) with a reason;
the person who requested it never approves it. Paying one posts one balanced journal entry
(Dr grants_paid:initiative, Cr programme_budget:call) under the key ``disbursement:<id>:paid``.

Matching grants (the second half of this module): an initiative's funding requests, judged by a manager against
the rules' request criteria (an approved grant part becomes a matching grant); the members' co-financing,
recorded with evidence and verified by a fund administrator who did not record it (Dr cofinancing_received,
Cr member_contributions under ``cofinancing:<id>:verified``); and the caps on a matching-grant tranche (the
ratio cap, the year's external-share cap, the overall cap per initiative, the commitment), enforced when the
tranche is requested, approved and paid, under a lock on the initiative's row (see ``tranche_limits``).

Every operation takes the actor and the time explicitly, checks permission, changes state, writes the
audit log, flushes and never commits. Rows are locked with ``FOR UPDATE`` where two people acting at
once could break a rule (PostgreSQL; SQLite serialises writers anyway).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path
from typing import Any, BinaryIO
from zoneinfo import ZoneInfo

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from programme.accounts.models import GroupUser, User
from programme.calls.models import Call
from programme.core import audit
from programme.core.access import AccessDenied, Actor, NotFound, Role, RuleViolation, require_role
from programme.core.files import store_upload
from programme.core.money import MAX_AMOUNT, MoneyError, format_money, parse_amount
from programme.core.notifications import notify
from programme.core.timezone import local_date
from programme.extensions import db
from programme.funding.domain import (
    ZERO,
    Contribution,
    GrantPosition,
    Matchable,
    TrancheLimits,
    YearShare,
    external_share_by_year,
    matchable_cofinancing,
    over_grant,
    programme_year,
    tranche_refusal,
    year_begins,
)
from programme.funding.models import (
    HOLDING,
    CoFinancingContribution,
    ContributionKind,
    ContributionStatus,
    Disbursement,
    DisbursementStatus,
    FundingRequest,
    FundingRequestAssessment,
    FundingRequestStatus,
    Grant,
    GrantKind,
    Initiative,
    InitiativeStatus,
    Instrument,
)
from programme.ledger.balances import balance
from programme.ledger.domain import BankReferenceError
from programme.ledger.domain import bank_reference as checked_bank_reference
from programme.ledger.models import AccountKind, JournalEntry, LedgerError
from programme.ledger.posting import credit, debit, get_account, get_or_create_account, post_entry
from programme.proposals.models import Proposal

#: Who handles disbursements (request, approve, reject).
HANDLERS = (Role.FUND_ADMINISTRATOR, Role.PROGRAMME_MANAGER)


def _lock_initiative(initiative: Initiative) -> Initiative:
    """Lock the initiative's row: every operation that checks a cap over the initiative's grants (a tranche
    requested, approved or paid; a matching grant committed) takes this lock first, then the grant's, then the
    disbursement's, so two of them never judge a cap on the same figures at once."""
    db.session.execute(select(Initiative.id).where(Initiative.id == initiative.id).with_for_update())
    return initiative


def _lock_grant(grant: Grant) -> Grant:
    db.session.execute(select(Grant.id).where(Grant.id == grant.id).with_for_update())
    return grant


def _lock(disbursement: Disbursement) -> Disbursement:
    """Lock the disbursement's row and reload it: another session may have changed it before we got the lock."""
    locked = db.session.execute(
        select(Disbursement).where(Disbursement.id == disbursement.id).with_for_update()
        .execution_options(populate_existing=True)
    ).scalar_one()
    return locked


def _label(d: Disbursement) -> str:
    return f"disbursement {d.id} of {d.initiative.reference}"


# ---------------------------------------------------------------------------------------------
# Reading


def grant_position(grant: Grant, *, excluding: Disbursement | None = None) -> GrantPosition:
    """The grant's committed amount and its disbursements by status, summed from the rows."""
    query = (select(Disbursement.status, func.coalesce(func.sum(Disbursement.amount), 0))
             .where(Disbursement.grant_id == grant.id).group_by(Disbursement.status))
    if excluding is not None:
        query = query.where(Disbursement.id != excluding.id)
    sums = {DisbursementStatus(status).value: Decimal(total).quantize(Decimal("0.01"))
            for status, total in db.session.execute(query)}
    return GrantPosition.of(Decimal(grant.committed), sums)


def paid_from_ledger(initiative: Initiative) -> Decimal:
    """What the ledger says the initiative was paid in grants: the balance of grants_paid:initiative."""
    account = get_account(AccountKind.GRANTS_PAID, "initiative", initiative.id)
    return ZERO if account is None else balance(account)


def disbursements_of(initiative: Initiative, *, actor: Actor) -> list[Disbursement]:
    if not initiative.can_view(actor):
        raise AccessDenied("you may not see this initiative's disbursements")
    return list(db.session.scalars(
        select(Disbursement).where(Disbursement.initiative_id == initiative.id).order_by(Disbursement.id)))


def _may_see_initiatives(actor: Actor) -> None:
    """The list of initiatives is for managers, fund administrators and applicants (who see their groups')."""
    require_role(actor, Role.PROGRAMME_MANAGER, Role.FUND_ADMINISTRATOR, Role.APPLICANT)


def initiatives_for(actor: Actor, *, status: InitiativeStatus | None = None, call_id: int | None = None,
                    year: int | None = None, today: date | None = None, timezone: str = "UTC") -> list[Initiative]:
    """The initiatives the actor may see: all for managers and fund administrators, its groups' for an
    applicant; 403 for anyone else (a reviewer sees none). Optionally only those with ``status``, of the call
    ``call_id``, or in programme ``year`` on ``today`` (a day before the start counts as year 1)."""
    _may_see_initiatives(actor)
    query = select(Initiative).order_by(Initiative.reference)
    if not (actor.has_role(Role.PROGRAMME_MANAGER) or actor.has_role(Role.FUND_ADMINISTRATOR)):
        query = query.join(GroupUser, GroupUser.group_id == Initiative.group_id).where(GroupUser.user_id == actor.id)
    if status is not None:
        query = query.where(Initiative.status == status)
    if call_id is not None:
        query = query.where(Initiative.call_id == call_id)
    shown = list(db.session.scalars(query).unique())
    if year is not None:
        day = today or datetime.now(ZoneInfo(timezone)).date()
        shown = [i for i in shown
                 if (programme_year(started_on(i, timezone), day) if day >= started_on(i, timezone) else 1) == year]
    return shown


def get_initiative(initiative_id: int, *, actor: Actor) -> Initiative:
    """One initiative; NotFound for an unknown id and for one the actor may not see."""
    initiative = db.session.get(Initiative, initiative_id)
    if initiative is None or not initiative.can_view(actor):
        raise NotFound("no such initiative")
    return initiative


def get_disbursement(disbursement_id: int, *, actor: Actor) -> Disbursement:
    """One disbursement; NotFound for an unknown id and for one of an initiative the actor may not see."""
    disbursement = db.session.get(Disbursement, disbursement_id)
    if disbursement is None or not disbursement.can_view(actor):
        raise NotFound("no such disbursement")
    return disbursement


def positions_of(initiatives: list[Initiative]) -> dict[int, GrantPosition]:
    """The start-up grant position of each initiative that has one, by initiative id, in one query."""
    grants = {i.startup_grant.id: i for i in initiatives if i.startup_grant is not None}
    if not grants:
        return {}
    rows = db.session.execute(
        select(Disbursement.grant_id, Disbursement.status, func.coalesce(func.sum(Disbursement.amount), 0))
        .where(Disbursement.grant_id.in_(grants)).group_by(Disbursement.grant_id, Disbursement.status))
    sums: dict[int, dict[str, Decimal]] = {grant_id: {} for grant_id in grants}
    for grant_id, status, total in rows:
        sums[grant_id][DisbursementStatus(status).value] = Decimal(total).quantize(Decimal("0.01"))
    return {initiative.id: GrantPosition.of(Decimal(initiative.startup_grant.committed), sums[grant_id])
            for grant_id, initiative in grants.items()}


def people_of(disbursements: list[Disbursement]) -> dict[int, User]:
    """The users named on the disbursements (requester, approver, payer, rejecter), by id, in one query."""
    ids = {uid for d in disbursements
           for uid in (d.requested_by_id, d.approved_by_id, d.paid_by_id, d.rejected_by_id) if uid is not None}
    if not ids:
        return {}
    return {u.id: u for u in db.session.scalars(select(User).where(User.id.in_(ids)))}


def awaiting(*, actor: Actor) -> list[Disbursement]:
    """The disbursements waiting for a fund administrator or manager: requested (to approve or reject) and
    approved (to pay), oldest first."""
    require_role(actor, *HANDLERS)
    return list(db.session.scalars(
        select(Disbursement)
        .where(Disbursement.status.in_((DisbursementStatus.REQUESTED, DisbursementStatus.APPROVED)))
        .order_by(Disbursement.requested_at, Disbursement.id)))


def contributions_awaiting(*, actor: Actor) -> list[CoFinancingContribution]:
    """Co-financing recorded and not yet verified or rejected, oldest first (for the fund administrators)."""
    require_role(actor, Role.FUND_ADMINISTRATOR)
    return list(db.session.scalars(
        select(CoFinancingContribution).where(CoFinancingContribution.status == ContributionStatus.RECORDED)
        .order_by(CoFinancingContribution.recorded_at, CoFinancingContribution.id)))


def funding_requests_awaiting(*, actor: Actor) -> list[FundingRequest]:
    """Funding requests submitted and not yet judged, oldest first (for the programme managers)."""
    require_role(actor, Role.PROGRAMME_MANAGER)
    return list(db.session.scalars(
        select(FundingRequest).where(FundingRequest.status == FundingRequestStatus.SUBMITTED)
        .order_by(FundingRequest.submitted_at, FundingRequest.id)))


# ---------------------------------------------------------------------------------------------
# Requesting, approving, rejecting


def request_disbursement(grant: Grant, *, amount: object, purpose: str, actor: Actor, now: datetime,
                         timezone: str = "UTC") -> Disbursement:
    """Request a tranche of a grant. It may not exceed what is left of the grant (committed minus everything
    requested, approved or paid); a matching-grant tranche must also fit every cap of ``tranche_limits`` in
    today's programme year (``timezone`` is the programme's)."""
    require_role(actor, *HANDLERS)
    initiative = grant.initiative
    if initiative.status == InitiativeStatus.TERMINATED:
        raise RuleViolation(f"{initiative.reference} is terminated; nothing more is paid to it.")
    value = _amount(amount, grant.currency, "amount", maximum=None)
    purpose = (purpose or "").strip()
    if not purpose:
        raise RuleViolation("Say what the tranche is for.", field="purpose")
    _lock_initiative(initiative)
    _lock_grant(grant)
    position = grant_position(grant)
    if grant.kind == GrantKind.MATCHING:
        _refuse_over_caps(grant, value, day=local_date(now, timezone), at_payment=False, excluding=None,
                          timezone=timezone, field="amount")
    else:
        blocked = over_grant(value, position.left, position.committed, currency=grant.currency,
                             grant_label=grant.kind.label)
        if blocked:
            raise RuleViolation(blocked, field="amount")
    disbursement = Disbursement(
        initiative_id=initiative.id, grant_id=grant.id, amount=value, currency=grant.currency, purpose=purpose,
        status=DisbursementStatus.REQUESTED, requested_by_id=actor.id, requested_at=now,
    )
    db.session.add(disbursement)
    db.session.flush()
    audit.record(db.session, actor, "funding.disbursement_requested", disbursement, initiative=initiative.reference,
                 grant=grant.kind.value, amount=str(value), purpose=purpose, left=str(position.left - value))
    return disbursement


def approve_disbursement(disbursement: Disbursement, *, actor: Actor, now: datetime,
                         timezone: str = "UTC") -> Disbursement:
    """Approve a requested tranche. The approver is a named person other than the requester. Under a lock on
    the grant, what is approved and paid together with this tranche may not exceed the committed amount
    (a commitment may have been cut since the request). A matching-grant tranche must fit every cap of
    ``tranche_limits`` again, in today's programme year."""
    require_role(actor, *HANDLERS)
    if actor.id is None:
        raise AccessDenied("an approval needs a named person")
    _lock_initiative(disbursement.initiative)
    grant = _lock_grant(disbursement.grant)
    d = _lock(disbursement)
    if d.requested_by_id is not None and d.requested_by_id == actor.id:
        raise AccessDenied("You requested this disbursement, so someone else must approve it.")
    if d.status != DisbursementStatus.REQUESTED:
        raise RuleViolation(f"The {_label(d)} is {d.status.value}; only a requested disbursement can be approved.")
    if d.initiative.status == InitiativeStatus.TERMINATED:
        raise RuleViolation(f"{d.initiative.reference} is terminated; nothing more is paid to it.")
    position = grant_position(grant, excluding=d)
    bound = position.approved + position.paid
    blocked = over_grant(d.amount, position.committed - bound, position.committed, currency=d.currency,
                         grant_label=grant.kind.label)
    if blocked:
        raise RuleViolation(f"{blocked} ({format_money(bound, d.currency)} is approved or paid already.)",
                            field="amount")
    if grant.kind == GrantKind.MATCHING:
        _refuse_over_caps(grant, d.amount, day=local_date(now, timezone), at_payment=False, excluding=d,
                          timezone=timezone, field="amount")
    d.status = DisbursementStatus.APPROVED
    d.approved_by_id = actor.id
    d.approved_at = now
    db.session.flush()
    audit.record(db.session, actor, "funding.disbursement_approved", d, initiative=d.initiative.reference,
                 amount=str(d.amount))
    return d


def reject_disbursement(disbursement: Disbursement, *, reason: str, actor: Actor, now: datetime) -> Disbursement:
    """Reject a requested or approved tranche, with a reason; its amount is free to request again."""
    require_role(actor, *HANDLERS)
    reason = (reason or "").strip()
    if not reason:
        raise RuleViolation("Give the reason for the rejection.", field="reason")
    d = _lock(disbursement)
    if d.status not in (DisbursementStatus.REQUESTED, DisbursementStatus.APPROVED):
        raise RuleViolation(f"The {_label(d)} is {d.status.value}; only a requested or approved disbursement "
                            "can be rejected.")
    previous = d.status.value
    d.status = DisbursementStatus.REJECTED
    d.rejected_by_id = actor.id
    d.rejected_at = now
    d.rejection_reason = reason
    db.session.flush()
    audit.record(db.session, actor, "funding.disbursement_rejected", d, initiative=d.initiative.reference,
                 amount=str(d.amount), reason=reason, previous=previous)
    return d


# ---------------------------------------------------------------------------------------------
# Paying


def budget_call(call: Call, *, actor: Actor, now: datetime) -> JournalEntry:
    """Put the call's budget in the ledger (Dr programme_budget:call, Cr programme_funds:programme), once:
    posting it again returns the entry already posted."""
    require_role(actor, Role.FUND_ADMINISTRATOR, Role.PROGRAMME_MANAGER)
    budget = get_or_create_account(AccountKind.PROGRAMME_BUDGET, "call", call.id, call.currency)
    funds = get_or_create_account(AccountKind.PROGRAMME_FUNDS, "programme", None, call.currency)
    when = call.created_at or now
    try:
        entry = post_entry(
            lines=[debit(budget, call.budget), credit(funds, call.budget)],
            description=f"Budget of {call.reference} ({call.name})",
            value_date=when.date(), idempotency_key=f"call:{call.id}:budget", actor=actor, source=call, now=now,
        )
    except LedgerError as error:
        raise RuleViolation(f"The budget of {call.reference} cannot be put in the ledger: {error}") from None
    return entry


def _refuse_used_reference(d: Disbursement, reference: str) -> None:
    other = db.session.scalar(
        select(Disbursement).where(Disbursement.bank_reference == reference, Disbursement.id != d.id))
    if other is not None:
        raise RuleViolation(f"The bank reference {reference} is already used for {_label(other)}.",
                            field="bank_reference")


def _refuse_payment_after_termination(initiative: Initiative, value_date: date) -> None:
    """A terminated initiative receives nothing more: a tranche approved before the termination may still be
    recorded only if the bank paid it on or before the day the manager decided to terminate."""
    if initiative.status != InitiativeStatus.TERMINATED:
        return
    ended = initiative.terminated_on
    if ended is None or value_date > ended:
        when = f" on {ended:%d %b %Y}" if ended else ""
        raise RuleViolation(f"{initiative.reference} was terminated{when}; nothing paid after that can be "
                            "recorded. Reject the tranche instead.", field="value_date")


def record_payment(
    disbursement: Disbursement, *, value_date: date, bank_reference: str, actor: Actor, now: datetime,
    timezone: str = "UTC",
) -> Disbursement:
    """Record that an approved tranche was paid: its value date and the bank's reference, and one journal
    entry (Dr grants_paid:initiative, Cr programme_budget:call). Recording the same reference for the same
    disbursement again changes nothing; a reference used for another disbursement is refused. ``timezone``
    is the programme's, in which a value date may not be after today. A matching-grant tranche must fit every
    cap of ``tranche_limits`` in the value date's programme year, under a lock on the initiative's row, so
    that two administrators paying at once never pass a cap together."""
    require_role(actor, Role.FUND_ADMINISTRATOR)
    try:
        reference = checked_bank_reference(bank_reference)
    except BankReferenceError as error:
        raise RuleViolation(str(error), field="bank_reference") from None
    if not isinstance(value_date, date) or isinstance(value_date, datetime):
        raise RuleViolation("Give the value date of the transfer.", field="value_date")
    _lock_initiative(disbursement.initiative)
    d = _lock(disbursement)
    if d.status == DisbursementStatus.PAID:
        if d.bank_reference == reference:
            return d  # the same payment recorded again: nothing changes
        raise RuleViolation(f"The {_label(d)} is already paid, with bank reference {d.bank_reference}.",
                            field="bank_reference")
    if d.status != DisbursementStatus.APPROVED:
        raise RuleViolation(f"The {_label(d)} is {d.status.value}; only an approved disbursement can be paid.")
    today = now.astimezone(ZoneInfo(timezone)).date()
    if value_date > today:
        raise RuleViolation(f"The value date {value_date:%d %b %Y} is in the future.", field="value_date")
    _refuse_used_reference(d, reference)
    initiative = d.initiative
    _refuse_payment_after_termination(initiative, value_date)
    if d.grant.kind == GrantKind.MATCHING:
        _refuse_over_caps(d.grant, d.amount, day=value_date, at_payment=True, excluding=d, timezone=timezone,
                          field=None)
    call = initiative.call
    budget_call(call, actor=actor, now=now)
    paid = get_or_create_account(AccountKind.GRANTS_PAID, "initiative", initiative.id, d.currency)
    budget = get_or_create_account(AccountKind.PROGRAMME_BUDGET, "call", call.id, d.currency)
    try:
        with db.session.begin_nested():
            entry = post_entry(
                lines=[debit(paid, d.amount), credit(budget, d.amount)],
                description=f"{d.grant.kind.label} tranche to {initiative.reference}: {d.purpose} (bank {reference})",
                value_date=value_date, idempotency_key=f"disbursement:{d.id}:paid", actor=actor, source=d, now=now,
            )
            d.status = DisbursementStatus.PAID
            d.paid_by_id = actor.id
            d.paid_at = now
            d.value_date = value_date
            d.bank_reference = reference
            d.journal_entry_id = entry.id
            db.session.flush()
    except IntegrityError:
        # Another session used the same reference for another disbursement and committed first.
        db.session.expire(d)
        _refuse_used_reference(d, reference)
        raise
    except LedgerError as error:
        raise RuleViolation(f"The payment cannot be posted: {error}") from None
    audit.record(db.session, actor, "funding.disbursement_paid", d, initiative=initiative.reference,
                 amount=str(d.amount), value_date=value_date.isoformat(), bank_reference=reference,
                 journal_entry=entry.id)
    return d


# =============================================================================================
# Matching grants: programme years, the caps on a tranche, the position and the chart.


def started_on(initiative: Initiative, timezone: str = "UTC") -> date:
    """The initiative's start date: its ``started_at`` as a date in the programme's time zone."""
    return initiative.started_at.astimezone(ZoneInfo(timezone)).date()


def year_of(initiative: Initiative, day: date, timezone: str = "UTC") -> int:
    """The programme year of ``day`` (see ``domain.programme_year``); a day before the start is refused."""
    start = started_on(initiative, timezone)
    if day < start:
        raise RuleViolation(f"{day:%d %b %Y} is before {initiative.reference} started on {start:%d %b %Y}.")
    return programme_year(start, day)


def _year_bounds(initiative: Initiative, year: int, timezone: str) -> tuple[date, date]:
    start = started_on(initiative, timezone)
    return year_begins(start, year), year_begins(start, year + 1)


def _money_sum(query: Any) -> Decimal:
    return Decimal(db.session.scalar(query) or 0).quantize(Decimal("0.01"))


def _held(initiative: Initiative, *, grant: Grant | None = None, excluding: Disbursement | None = None,
          statuses: tuple[DisbursementStatus, ...] = HOLDING, matching_only: bool = False) -> Decimal:
    query = (select(func.coalesce(func.sum(Disbursement.amount), 0))
             .where(Disbursement.initiative_id == initiative.id, Disbursement.status.in_(statuses)))
    if grant is not None:
        query = query.where(Disbursement.grant_id == grant.id)
    if matching_only:
        query = query.join(Grant, Grant.id == Disbursement.grant_id).where(Grant.kind == GrantKind.MATCHING)
    if excluding is not None:
        query = query.where(Disbursement.id != excluding.id)
    return _money_sum(query)


def _paid_matching_in(initiative: Initiative, first: date, after: date, excluding: Disbursement | None) -> Decimal:
    query = (select(func.coalesce(func.sum(Disbursement.amount), 0))
             .join(Grant, Grant.id == Disbursement.grant_id)
             .where(Disbursement.initiative_id == initiative.id, Grant.kind == GrantKind.MATCHING,
                    Disbursement.status == DisbursementStatus.PAID,
                    Disbursement.value_date >= first, Disbursement.value_date < after))
    if excluding is not None:
        query = query.where(Disbursement.id != excluding.id)
    return _money_sum(query)


def _cofinancing_in(initiative: Initiative, first: date, after: date) -> Decimal:
    return _money_sum(
        select(func.coalesce(func.sum(CoFinancingContribution.amount), 0))
        .where(CoFinancingContribution.initiative_id == initiative.id,
               CoFinancingContribution.status == ContributionStatus.VERIFIED,
               CoFinancingContribution.contributed_on >= first, CoFinancingContribution.contributed_on < after))


def matchable_of(grant: Grant, *, timezone: str = "UTC") -> Matchable:
    """The grant's matchable co-financing (``domain.matchable_cofinancing``) from its verified contributions,
    with the ratios and the in-kind cap of the call's rules."""
    matching = grant.initiative.call.rules.funding.matching
    rows = db.session.scalars(select(CoFinancingContribution).where(
        CoFinancingContribution.grant_id == grant.id, CoFinancingContribution.status == ContributionStatus.VERIFIED))
    return matchable_cofinancing(
        [Contribution(c.kind.value, Decimal(c.amount), c.contributed_on) for c in rows],
        start=started_on(grant.initiative, timezone), ratio_for_year=matching.ratio_for_year,
        in_kind_max_share=matching.in_kind_max_share, currency=grant.currency)


def tranche_limits(grant: Grant, *, day: date, at_payment: bool, excluding: Disbursement | None = None,
                   timezone: str = "UTC") -> TrancheLimits:
    """The figures that limit a tranche of a matching grant dated ``day`` (today when it is requested or
    approved; the value date when it is paid), leaving out the tranche ``excluding`` itself.

    - the ratio cap: held + paid on the grant (requested, approved or paid) against its matchable co-financing;
    - the year cap: P = the initiative's matching-grant tranches paid with a value date in ``day``'s programme
      year, plus, when the tranche is requested or approved, every matching-grant tranche requested or approved
      but not yet paid (counted in the current year, where it will be paid); at payment only what is really
      paid counts, since a tranche approved in one year may be paid in the next, under that year's lower cap.
      C = the initiative's co-financing verified with a date in that year. The start-up grant is not in P: the
      rules allow it at 100 %;
    - the overall cap: held + paid on all the initiative's grants (the start-up grant too) against the call's
      cap per initiative;
    - the grant's commitment."""
    initiative = grant.initiative
    rules = initiative.call.rules.funding
    year = year_of(initiative, day, timezone)
    first, after = _year_bounds(initiative, year, timezone)
    programme_money = _paid_matching_in(initiative, first, after, excluding)
    if not at_payment:
        programme_money += _held(initiative, excluding=excluding, matching_only=True,
                                 statuses=(DisbursementStatus.REQUESTED, DisbursementStatus.APPROVED))
    return TrancheLimits(
        currency=grant.currency, grant_held=_held(initiative, grant=grant, excluding=excluding),
        matchable=matchable_of(grant, timezone=timezone).matchable, year=year,
        year_cap=rules.external_share.cap_for_year(year), year_programme=programme_money,
        year_cofinancing=_cofinancing_in(initiative, first, after),
        initiative_held=_held(initiative, excluding=excluding), overall_cap=Decimal(initiative.call.per_initiative_cap),
        committed=Decimal(grant.committed),
    )


def _refuse_over_caps(grant: Grant, amount: Decimal, *, day: date, at_payment: bool,
                      excluding: Disbursement | None, timezone: str, field: str | None) -> None:
    try:
        limits = tranche_limits(grant, day=day, at_payment=at_payment, excluding=excluding, timezone=timezone)
    except RuleViolation as error:
        raise RuleViolation(error.message, field="value_date" if at_payment else field) from None
    blocked = tranche_refusal(amount, limits)
    if blocked:
        raise RuleViolation(blocked, field=field)


@dataclass(frozen=True)
class MatchingPosition:
    """A matching grant on the initiative's page: its tranches by status, its matchable co-financing, the
    limits of a tranche requested today, and the funding request it came from."""

    grant: Grant
    position: GrantPosition
    matchable: Matchable
    limits: TrancheLimits | None
    request: FundingRequest | None


def matching_grants_of(initiative: Initiative) -> list[Grant]:
    return [g for g in initiative.grants if g.kind == GrantKind.MATCHING]


def matching_positions(initiative: Initiative, *, now: datetime, timezone: str = "UTC") -> list[MatchingPosition]:
    today = local_date(now, timezone)
    requests = {r.grant_id: r for r in db.session.scalars(
        select(FundingRequest).where(FundingRequest.initiative_id == initiative.id,
                                     FundingRequest.grant_id.is_not(None)))}
    positions = []
    for grant in matching_grants_of(initiative):
        limits = (tranche_limits(grant, day=today, at_payment=False, timezone=timezone)
                  if today >= started_on(initiative, timezone) else None)
        positions.append(MatchingPosition(grant, grant_position(grant), matchable_of(grant, timezone=timezone),
                                          limits, requests.get(grant.id)))
    return positions


def share_chart(initiative: Initiative, *, now: datetime, timezone: str = "UTC") -> list[YearShare]:
    """The chart of the initiative's page: per programme year, the schedule's cap and the external share
    actually paid (``domain.external_share_by_year``)."""
    start = started_on(initiative, timezone)
    schedule = initiative.call.rules.funding.external_share
    paid: dict[int, Decimal] = {}
    for value_date, amount in db.session.execute(
            select(Disbursement.value_date, Disbursement.amount).join(Grant, Grant.id == Disbursement.grant_id)
            .where(Disbursement.initiative_id == initiative.id, Grant.kind == GrantKind.MATCHING,
                   Disbursement.status == DisbursementStatus.PAID)):
        if value_date >= start:
            year = programme_year(start, value_date)
            paid[year] = paid.get(year, ZERO) + Decimal(amount)
    cofinancing: dict[int, Decimal] = {}
    for day, amount in db.session.execute(
            select(CoFinancingContribution.contributed_on, CoFinancingContribution.amount)
            .where(CoFinancingContribution.initiative_id == initiative.id,
                   CoFinancingContribution.status == ContributionStatus.VERIFIED)):
        if day >= start:
            year = programme_year(start, day)
            cofinancing[year] = cofinancing.get(year, ZERO) + Decimal(amount)
    today = local_date(now, timezone)
    current = programme_year(start, today) if today >= start else 1
    return external_share_by_year(current_year=current, schedule_length=len(schedule.schedule),
                                  cap_for_year=schedule.cap_for_year, paid_by_year=paid,
                                  cofinancing_by_year=cofinancing)


# ---------------------------------------------------------------------------------------------
# Funding requests


def _acts_for_group(initiative: Initiative, actor: Actor) -> bool:
    """An applicant who acts for the initiative's group."""
    return actor.has_role(Role.APPLICANT) and initiative.group.role_of(actor) is not None


def _visible(initiative: Initiative, actor: Actor) -> None:
    if not initiative.can_view(actor):
        raise NotFound("no such initiative")


def _refuse_if_closed(initiative: Initiative, what: str) -> None:
    if initiative.status in (InitiativeStatus.TERMINATED, InitiativeStatus.COMPLETED):
        raise RuleViolation(f"{initiative.reference} is {initiative.status.value}; it can no longer {what}.")


def _amount(value: object, currency: str, field: str, *, zero: bool = False, what: str = "The amount",
            maximum: Decimal | None = MAX_AMOUNT) -> Decimal:
    """An amount typed for ``field`` (core.money.parse_amount): above zero, or zero when ``zero`` (then nothing
    typed means zero), at most ``maximum``; a refusal is a RuleViolation on ``field``."""
    if zero and (value is None or (isinstance(value, str) and not value.strip())):
        return ZERO
    try:
        return parse_amount(value, currency, what=what, zero=zero, maximum=maximum)
    except MoneyError as error:
        raise RuleViolation(str(error), field=field) from None


def _text(value: str | None, field: str, message: str, limit: int) -> str:
    text = (value or "").strip()
    if not text:
        raise RuleViolation(message, field=field)
    if len(text) > limit:
        raise RuleViolation(f"Write at most {limit:,} characters.", field=field)
    return text


def funding_requests_of(initiative: Initiative, *, actor: Actor) -> list[FundingRequest]:
    _visible(initiative, actor)
    return list(db.session.scalars(select(FundingRequest).where(FundingRequest.initiative_id == initiative.id)
                                   .order_by(FundingRequest.id)))


def get_funding_request(request_id: int, *, actor: Actor) -> FundingRequest:
    """One funding request; NotFound when missing or of an initiative the actor may not see."""
    found = db.session.get(FundingRequest, request_id)
    if found is None or not found.can_view(actor):
        raise NotFound("no such funding request")
    return found


def may_submit_requests(initiative: Initiative, actor: Actor) -> bool:
    return _acts_for_group(initiative, actor) or actor.has_role(Role.PROGRAMME_MANAGER)


def submit_funding_request(
    initiative: Initiative, *, title: str, description: str, cost: object, instrument: str, grant_asked: object,
    loan_asked: object, actor: Actor, now: datetime,
) -> FundingRequest:
    """An initiative asks for a matching grant, a loan or both for a major activity. An applicant of the
    initiative's group or a manager submits it; a terminated (or completed) initiative cannot.

    The amounts follow the instrument: a matching grant asks a grant and no loan, a loan a loan and no grant,
    both asks both; together they are at most the activity's cost."""
    _visible(initiative, actor)
    if not may_submit_requests(initiative, actor):
        raise AccessDenied("only the initiative's group or a programme manager submits its funding requests")
    _refuse_if_closed(initiative, "ask for funding")
    currency = initiative.currency
    title = _text(title, "title", "Give the activity a title.", 200)
    description = _text(description, "description", "Describe the activity.", 10000)
    try:
        chosen = Instrument(instrument)
    except ValueError:
        raise RuleViolation("Choose a matching grant, a loan or both.", field="instrument") from None
    cost_value = _amount(cost, currency, "cost", what="The cost")
    grant_value = _amount(grant_asked, currency, "grant_asked", zero=True, what="The grant asked")
    loan_value = _amount(loan_asked, currency, "loan_asked", zero=True, what="The loan asked")
    if chosen in (Instrument.MATCHING_GRANT, Instrument.BOTH) and grant_value == 0:
        raise RuleViolation("Give the matching grant asked.", field="grant_asked")
    if chosen in (Instrument.LOAN, Instrument.BOTH) and loan_value == 0:
        raise RuleViolation("Give the loan asked.", field="loan_asked")
    if chosen == Instrument.MATCHING_GRANT and loan_value != 0:
        raise RuleViolation("A request for a matching grant asks no loan: choose both, or leave the loan at 0.",
                            field="loan_asked")
    if chosen == Instrument.LOAN and grant_value != 0:
        raise RuleViolation("A request for a loan asks no grant: choose both, or leave the grant at 0.",
                            field="grant_asked")
    if grant_value + loan_value > cost_value:
        raise RuleViolation(f"The grant and the loan asked ({format_money(grant_value + loan_value, currency)}) "
                            f"are more than the cost of {format_money(cost_value, currency)}.",
                            field="grant_asked" if grant_value else "loan_asked")
    made = FundingRequest(
        initiative_id=initiative.id, title=title, description=description, cost=cost_value, currency=currency,
        instrument=chosen, grant_asked=grant_value, loan_asked=loan_value, status=FundingRequestStatus.SUBMITTED,
        submitted_by_id=actor.id, submitted_at=now,
    )
    db.session.add(made)
    db.session.flush()
    audit.record(db.session, actor, "funding.request_submitted", made, initiative=initiative.reference,
                 title=title, cost=str(cost_value), instrument=chosen.value, grant_asked=str(grant_value),
                 loan_asked=str(loan_value))
    return made


def judge_funding_request(
    request: FundingRequest, *, assessments: Mapping[str, tuple[bool | None, str]], approve: bool, reason: str,
    actor: Actor, now: datetime, grant_approved: object = None, loan_approved: object = None,
) -> FundingRequest:
    """A programme manager judges a submitted request: met yes/no and a note on EVERY one of the rules'
    ``funding.request_criteria`` (``assessments`` by criterion key), then approves it (as asked, or changed:
    other amounts, none above what was asked) or rejects it, always with a reason. The group's users are
    notified.

    An approved grant part becomes a matching grant (committed = the grant approved, basis = the request's
    title) linked to the request, refused if the commitments of all the initiative's grants would then pass
    the call's cap per initiative (checked under a lock on the initiative's row). An approved loan part is a
    ceiling for the fund administrators, who make the loan."""
    require_role(actor, Role.PROGRAMME_MANAGER)
    _visible(request.initiative, actor)
    initiative = request.initiative
    currency = request.currency
    reason = _text(reason, "reason", "Give the reason for the decision.", 5000)
    criteria = initiative.call.rules.funding.request_criteria
    judged: list[tuple[str, bool, str]] = []
    for criterion in criteria:
        met, note = assessments.get(criterion.key, (None, ""))
        if met is None:
            raise RuleViolation(f"Say whether the request meets '{criterion.title}'.", field=f"met_{criterion.key}")
        note = _text(note, f"note_{criterion.key}", f"Write a note on '{criterion.title}'.", 2000)
        judged.append((criterion.key, bool(met), note))
    unknown = set(assessments) - {c.key for c in criteria}
    if unknown:
        raise RuleViolation(f"Not a criterion of the rules: {', '.join(sorted(unknown))}.")
    grant_value = loan_value = None
    if approve:
        grant_value = (Decimal(request.grant_asked) if grant_approved is None
                       else _amount(grant_approved, currency, "grant_approved", zero=True, what="The grant approved"))
        loan_value = (Decimal(request.loan_asked) if loan_approved is None
                      else _amount(loan_approved, currency, "loan_approved", zero=True, what="The loan approved"))
        if grant_value > request.grant_asked:
            asked = format_money(request.grant_asked, currency)
            raise RuleViolation(f"The grant approved may not be more than the {asked} asked.", field="grant_approved")
        if loan_value > request.loan_asked:
            asked = format_money(request.loan_asked, currency)
            raise RuleViolation(f"The loan approved may not be more than the {asked} asked.", field="loan_approved")
        if grant_value + loan_value == 0:
            raise RuleViolation("An approval gives a grant or a loan: approve an amount, or reject the request.",
                                field="grant_approved" if request.grant_asked else "loan_approved")
    _lock_initiative(initiative)
    locked = db.session.execute(select(FundingRequest).where(FundingRequest.id == request.id).with_for_update()
                                .execution_options(populate_existing=True)).scalar_one()
    if locked.status != FundingRequestStatus.SUBMITTED:
        raise RuleViolation(f"The request '{locked.title}' is {locked.status.value} already.")
    if approve and grant_value:
        committed = _money_sum(select(func.coalesce(func.sum(Grant.committed), 0))
                               .where(Grant.initiative_id == initiative.id))
        cap = Decimal(initiative.call.per_initiative_cap)
        if committed + grant_value > cap:
            raise RuleViolation(
                f"A matching grant of {format_money(grant_value, currency)} would bring the commitments of "
                f"{initiative.reference} to {format_money(committed + grant_value, currency)}, above the overall "
                f"cap of {format_money(cap, currency)} per initiative: at most "
                f"{format_money(max(cap - committed, ZERO), currency)} more can be committed.",
                field="grant_approved")
    for key, met, note in judged:
        locked.assessments.append(FundingRequestAssessment(criterion_key=key, met=met, note=note))
    locked.decided_by_id = actor.id
    locked.decided_at = now
    locked.decision_reason = reason
    if approve:
        locked.status = FundingRequestStatus.APPROVED
        locked.grant_approved = grant_value
        locked.loan_approved = loan_value
        if grant_value:
            share = max((grant_value / Decimal(locked.cost)).quantize(Decimal("0.0001"), rounding=ROUND_HALF_UP),
                        Decimal("0.0001"))
            grant = Grant(initiative_id=initiative.id, kind=GrantKind.MATCHING, committed=grant_value,
                          currency=currency, external_share=min(share, Decimal(1)), basis=locked.title,
                          committed_at=now, committed_by_id=actor.id)
            db.session.add(grant)
            db.session.flush()
            locked.grant_id = grant.id
            db.session.expire(initiative, ["grants"])
    else:
        locked.status = FundingRequestStatus.REJECTED
    db.session.flush()
    audit.record(db.session, actor, f"funding.request_{locked.status.value}", locked, initiative=initiative.reference,
                 reason=reason, grant_approved=str(grant_value), loan_approved=str(loan_value),
                 criteria={key: met for key, met, _ in judged}, grant=locked.grant_id)
    _notify_decision(locked)
    return locked


def _notify_decision(request: FundingRequest) -> None:
    initiative = request.initiative
    cur = request.currency
    if request.status == FundingRequestStatus.APPROVED:
        parts = []
        if request.grant_approved:
            parts.append(f"a matching grant of {format_money(request.grant_approved, cur)} "
                         f"(asked {format_money(request.grant_asked, cur)})")
        if request.loan_approved:
            parts.append(f"a loan of up to {format_money(request.loan_approved, cur)} "
                         f"(asked {format_money(request.loan_asked, cur)})")
        subject = f"Funding request approved{' with changes' if request.changed else ''}: {request.title}"
        body = f"Your request '{request.title}' for {initiative.reference} is approved: {' and '.join(parts)}."
    else:
        subject = f"Funding request rejected: {request.title}"
        body = f"Your request '{request.title}' for {initiative.reference} is rejected."
    body += f"\n\nReason: {request.decision_reason}"
    for member in initiative.group.users:
        notify(db.session, email=member.user.email, user_id=member.user_id, subject=subject, body=body,
               link=f"/initiatives/{initiative.id}#funding-request-{request.id}")


# ---------------------------------------------------------------------------------------------
# Co-financing


def contributions_folder(upload_root: str | Path, initiative: Initiative) -> Path:
    return Path(upload_root) / "cofinancing" / str(initiative.id)


def contributions_of(initiative: Initiative, *, actor: Actor) -> list[CoFinancingContribution]:
    _visible(initiative, actor)
    return list(db.session.scalars(select(CoFinancingContribution)
                                   .where(CoFinancingContribution.initiative_id == initiative.id)
                                   .order_by(CoFinancingContribution.id)))


def get_contribution(contribution_id: int, *, actor: Actor) -> CoFinancingContribution:
    """One contribution; NotFound when missing or of an initiative the actor may not see."""
    found = db.session.get(CoFinancingContribution, contribution_id)
    if found is None or not found.can_view(actor):
        raise NotFound("no such contribution")
    return found


def may_record_contributions(initiative: Initiative, actor: Actor) -> bool:
    return _acts_for_group(initiative, actor) or actor.has_role(Role.FUND_ADMINISTRATOR)


def record_contribution(
    grant: Grant, *, kind: str, amount: object, contributed_on: date, description: str,
    contributor_id: int | None, stream: BinaryIO | None, filename: str | None, upload_root: str | Path,
    max_bytes: int, actor: Actor, now: datetime, timezone: str = "UTC",
) -> CoFinancingContribution:
    """Record the members' contribution to one matching grant: cash, or in kind at a documented value, its
    date (from the initiative's start to today), what it is, optionally the member organisation that gave it,
    and an evidence file (required; checked and stored by ``core.files.store_upload`` under a name the user
    does not choose). An applicant of the initiative's group or a fund administrator records it; it counts
    only once verified, and only for this grant."""
    initiative = grant.initiative
    _visible(initiative, actor)
    if not may_record_contributions(initiative, actor):
        raise AccessDenied("only the initiative's group or a fund administrator records its co-financing")
    if grant.kind != GrantKind.MATCHING:
        raise RuleViolation("Co-financing is recorded for a matching grant.", field="grant_id")
    _refuse_if_closed(initiative, "record co-financing")
    try:
        chosen = ContributionKind(kind)
    except ValueError:
        raise RuleViolation("Choose cash or in kind.", field="kind") from None
    value = _amount(amount, grant.currency, "amount")
    if not isinstance(contributed_on, date) or isinstance(contributed_on, datetime):
        raise RuleViolation("Give the date of the contribution.", field="contributed_on")
    start, today = started_on(initiative, timezone), local_date(now, timezone)
    if contributed_on < start:
        raise RuleViolation(f"{contributed_on:%d %b %Y} is before {initiative.reference} started on "
                            f"{start:%d %b %Y}.", field="contributed_on")
    if contributed_on > today:
        raise RuleViolation(f"{contributed_on:%d %b %Y} is in the future: record a contribution once it is made.",
                            field="contributed_on")
    description = _text(description, "description", "Say what the contribution is.", 5000)
    if contributor_id is not None and contributor_id not in {o.id for o in initiative.group.organisations}:
        raise RuleViolation("The contributor must be a member organisation of the group.", field="contributor_id")
    if stream is None or not filename:
        raise RuleViolation("Upload the evidence of the contribution.", field="file")
    stored = store_upload(stream, filename, contributions_folder(upload_root, initiative), max_bytes=max_bytes)
    made = CoFinancingContribution(
        initiative_id=initiative.id, grant_id=grant.id, kind=chosen, amount=value, currency=grant.currency,
        description=description, contributor_id=contributor_id, contributed_on=contributed_on,
        status=ContributionStatus.RECORDED, evidence_name=stored.original_name,
        evidence_stored_name=stored.stored_name, evidence_content_type=stored.content_type,
        evidence_size_bytes=stored.size_bytes, evidence_sha256=stored.sha256, recorded_by_id=actor.id,
        recorded_at=now,
    )
    db.session.add(made)
    db.session.flush()
    audit.record(db.session, actor, "funding.cofinancing_recorded", made, initiative=initiative.reference,
                 grant=grant.id, kind=chosen.value, amount=str(value), contributed_on=contributed_on.isoformat(),
                 evidence=stored.original_name, sha256=stored.sha256)
    return made


def _lock_contribution(contribution: CoFinancingContribution) -> CoFinancingContribution:
    return db.session.execute(
        select(CoFinancingContribution).where(CoFinancingContribution.id == contribution.id).with_for_update()
        .execution_options(populate_existing=True)).scalar_one()


def _judge_contribution(contribution: CoFinancingContribution, actor: Actor, verb: str) -> CoFinancingContribution:
    require_role(actor, Role.FUND_ADMINISTRATOR)
    _visible(contribution.initiative, actor)
    if actor.id is None:
        raise AccessDenied(f"to {verb} a contribution needs a named person")
    c = _lock_contribution(contribution)
    if c.recorded_by_id is not None and c.recorded_by_id == actor.id:
        raise AccessDenied(f"You recorded this contribution, so another fund administrator must {verb} it.")
    return c


def verify_contribution(contribution: CoFinancingContribution, *, actor: Actor,
                        now: datetime) -> CoFinancingContribution:
    """A fund administrator who did not record it verifies a contribution: one journal entry (Dr
    cofinancing_received:initiative, Cr member_contributions:initiative, dated the day of the contribution)
    under the key ``cofinancing:<id>:verified``. From then on it counts for its grant. Verifying it again
    changes nothing; a rejected one cannot be verified."""
    c = _judge_contribution(contribution, actor, "verify")
    if c.status == ContributionStatus.VERIFIED:
        return c
    if c.status != ContributionStatus.RECORDED:
        raise RuleViolation(f"Contribution {c.id} is {c.status.value}; only a recorded contribution can be verified.")
    initiative = c.initiative
    received = get_or_create_account(AccountKind.COFINANCING_RECEIVED, "initiative", initiative.id, c.currency)
    members = get_or_create_account(AccountKind.MEMBER_CONTRIBUTIONS, "initiative", initiative.id, c.currency)
    try:
        entry = post_entry(
            lines=[debit(received, c.amount), credit(members, c.amount)],
            description=f"Co-financing of {initiative.reference} ({c.kind.label.lower()}): {c.description[:200]}",
            value_date=c.contributed_on, idempotency_key=f"cofinancing:{c.id}:verified", actor=actor, source=c,
            now=now,
        )
    except LedgerError as error:
        raise RuleViolation(f"The contribution cannot be posted: {error}") from None
    c.status = ContributionStatus.VERIFIED
    c.verified_by_id = actor.id
    c.verified_at = now
    c.journal_entry_id = entry.id
    db.session.flush()
    audit.record(db.session, actor, "funding.cofinancing_verified", c, initiative=initiative.reference,
                 grant=c.grant_id, amount=str(c.amount), journal_entry=entry.id)
    return c


def reject_contribution(contribution: CoFinancingContribution, *, reason: str, actor: Actor,
                        now: datetime) -> CoFinancingContribution:
    """A fund administrator who did not record it rejects a recorded contribution, with a reason; it never
    counts. A verified contribution is in the ledger and cannot be rejected."""
    reason = _text(reason, "reason", "Give the reason for the rejection.", 2000)
    c = _judge_contribution(contribution, actor, "reject")
    if c.status != ContributionStatus.RECORDED:
        raise RuleViolation(f"Contribution {c.id} is {c.status.value}; only a recorded contribution can be "
                            "rejected.")
    c.status = ContributionStatus.REJECTED
    c.rejected_by_id = actor.id
    c.rejected_at = now
    c.rejection_reason = reason
    db.session.flush()
    audit.record(db.session, actor, "funding.cofinancing_rejected", c, initiative=c.initiative.reference,
                 amount=str(c.amount), reason=reason)
    return c


def people_named(ids: set[int | None]) -> dict[int, User]:
    wanted = {i for i in ids if i is not None}
    if not wanted:
        return {}
    return {u.id: u for u in db.session.scalars(select(User).where(User.id.in_(wanted)))}


__all__ = [
    "HANDLERS", "HOLDING", "GrantPosition", "approve_disbursement", "awaiting", "budget_call", "disbursements_of",
    "get_disbursement", "get_initiative", "grant_position", "initiatives_for", "paid_from_ledger", "people_of",
    "positions_of", "record_payment", "reject_disbursement", "request_disbursement",
    "MatchingPosition", "contributions_of", "get_contribution", "get_funding_request", "funding_requests_of",
    "judge_funding_request", "matchable_of", "matching_positions", "record_contribution", "reject_contribution",
    "share_chart", "submit_funding_request", "tranche_limits", "verify_contribution",
]


# ---------------------------------------------------------------------------------------------
# An initiative's life: opened when its call's decisions are published, moved on or ended by a milestone review

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
        raise RuleViolation(f"{initiative.reference} is {before.label.lower()}: it gets no more milestone reviews.")
    if terminate:
        if to not in (None, InitiativeStatus.TERMINATED):
            raise RuleViolation("A terminated initiative moves to no other stage: leave the next stage empty.",
                                field="next_status")
        after = InitiativeStatus.TERMINATED
        initiative.terminated_on = on
    elif to is None or to == before:
        after = before
    elif to == InitiativeStatus.TERMINATED:
        raise RuleViolation("To end the initiative, choose the decision terminate.", field="next_status")
    elif to not in later_stages(before):
        raise RuleViolation(f"{initiative.reference} is in the {before.label.lower()} stage: a review moves it on "
                            f"to a later stage, never back to {to.label.lower()}.", field="next_status")
    else:
        after = to
    initiative.status = after
    return before, after


def terminate_initiative(initiative: Initiative, *, on: date, actor: Actor) -> InitiativeStatus:
    """End the initiative on the day ``on``; answers its stage before."""
    before, _ = change_initiative_stage(initiative, terminate=True, to=None, on=on, actor=actor)
    return before

