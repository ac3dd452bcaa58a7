"""Operations on the money of initiatives: a grant paid in tranches (disbursements), and the call's budget
in the ledger that the tranches are paid from.

A disbursement goes requested -> approved -> paid, or rejected (from requested or approved) with a reason;
the person who requested it never approves it. Paying one posts one balanced journal entry
(Dr grants_paid:initiative, Cr programme_budget:call) under the key ``disbursement:<id>:paid``.

Every operation takes the actor and the time explicitly, checks permission, changes state, writes the
audit log, flushes and never commits. Rows are locked with ``FOR UPDATE`` where two people acting at
once could break a rule (PostgreSQL; SQLite serialises writers anyway).
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from programme.accounts.models import GroupUser, User
from programme.calls.models import Call
from programme.core import audit
from programme.core.access import AccessDenied, Actor, NotFound, Role, RuleViolation, require_role
from programme.core.ledger import (
    AccountKind,
    JournalEntry,
    LedgerError,
    balance,
    credit,
    debit,
    get_account,
    get_or_create_account,
    post_entry,
)
from programme.core.money import MoneyError, format_money
from programme.extensions import db
from programme.funding.domain import ZERO, GrantPosition, over_grant, tranche_amount
from programme.funding.models import (
    HOLDING,
    Disbursement,
    DisbursementStatus,
    Grant,
    Initiative,
    InitiativeStatus,
)

#: Who handles disbursements (request, approve, reject).
HANDLERS = (Role.FUND_ADMINISTRATOR, Role.PROGRAMME_MANAGER)


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


def initiatives_for(actor: Actor) -> list[Initiative]:
    """The initiatives the actor may see: all for managers and fund administrators, its groups' for an
    applicant; 403 for anyone else (a reviewer sees none)."""
    _may_see_initiatives(actor)
    query = select(Initiative).order_by(Initiative.reference)
    if not (actor.has_role(Role.PROGRAMME_MANAGER) or actor.has_role(Role.FUND_ADMINISTRATOR)):
        query = query.join(GroupUser, GroupUser.group_id == Initiative.group_id).where(GroupUser.user_id == actor.id)
    return list(db.session.scalars(query).unique())


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


# ---------------------------------------------------------------------------------------------
# Requesting, approving, rejecting


def request_disbursement(grant: Grant, *, amount: object, purpose: str, actor: Actor, now: datetime) -> Disbursement:
    """Request a tranche of a grant. It may not exceed what is left of the grant (committed minus everything
    requested, approved or paid)."""
    require_role(actor, *HANDLERS)
    initiative = grant.initiative
    if initiative.status == InitiativeStatus.TERMINATED:
        raise RuleViolation(f"{initiative.reference} is terminated; nothing more is paid to it.")
    try:
        value = tranche_amount(amount, grant.currency)
    except MoneyError as error:
        raise RuleViolation(str(error), field="amount") from None
    purpose = (purpose or "").strip()
    if not purpose:
        raise RuleViolation("Say what the tranche is for.", field="purpose")
    _lock_grant(grant)
    position = grant_position(grant)
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


def approve_disbursement(disbursement: Disbursement, *, actor: Actor, now: datetime) -> Disbursement:
    """Approve a requested tranche. The approver is a named person other than the requester. Under a lock on
    the grant, what is approved and paid together with this tranche may not exceed the committed amount
    (a commitment may have been cut since the request)."""
    require_role(actor, *HANDLERS)
    if actor.id is None:
        raise AccessDenied("an approval needs a named person")
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


def _normal_reference(reference: str) -> str:
    return " ".join((reference or "").split())


def _refuse_used_reference(d: Disbursement, reference: str) -> None:
    other = db.session.scalar(
        select(Disbursement).where(Disbursement.bank_reference == reference, Disbursement.id != d.id))
    if other is not None:
        raise RuleViolation(f"The bank reference {reference} is already used for {_label(other)}.",
                            field="bank_reference")


def record_payment(
    disbursement: Disbursement, *, value_date: date, bank_reference: str, actor: Actor, now: datetime,
    timezone: str = "UTC",
) -> Disbursement:
    """Record that an approved tranche was paid: its value date and the bank's reference, and one journal
    entry (Dr grants_paid:initiative, Cr programme_budget:call). Recording the same reference for the same
    disbursement again changes nothing; a reference used for another disbursement is refused. ``timezone``
    is the programme's, in which a value date may not be after today."""
    require_role(actor, Role.FUND_ADMINISTRATOR)
    reference = _normal_reference(bank_reference)
    if not reference:
        raise RuleViolation("Give the bank's reference of the transfer.", field="bank_reference")
    if len(reference) > 100:
        raise RuleViolation("The bank reference is longer than 100 characters.", field="bank_reference")
    if not isinstance(value_date, date) or isinstance(value_date, datetime):
        raise RuleViolation("Give the value date of the transfer.", field="value_date")
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


__all__ = [
    "HANDLERS", "HOLDING", "GrantPosition", "approve_disbursement", "awaiting", "budget_call", "disbursements_of",
    "get_disbursement", "get_initiative", "grant_position", "initiatives_for", "paid_from_ledger", "people_of",
    "positions_of", "record_payment", "reject_disbursement", "request_disbursement",
]
