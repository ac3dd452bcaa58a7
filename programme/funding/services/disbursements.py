"""Disbursements: a grant paid in tranches, and the call's budget in the ledger that the tranches are paid
from.

A disbursement goes requested -> approved -> paid, or rejected (from requested or approved) with a reason;
the person who requested it never approves it. Paying one posts one balanced journal entry
(Dr grants_paid:initiative, Cr programme_budget:call) under the key ``disbursement:<id>:paid``. A
matching-grant tranche must also fit the caps of ``caps.tranche_limits`` when it is requested, approved and
paid. Also the reading of tranches: a grant's position, the pages' lists, what awaits the handlers.

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
from sqlalchemy.orm import selectinload

from programme.accounts.models import User
from programme.calls.models import Call
from programme.core import audit
from programme.core.access import (
    AccessDenied,
    Actor,
    NotFound,
    Role,
    RuleViolation,
    require_role,
    require_second_person,
)
from programme.core.money import format_money
from programme.core.texts import gettext as _
from programme.core.timezone import format_day, local_date
from programme.extensions import db
from programme.funding.domain import (
    ZERO,
    GrantPosition,
    over_grant,
)
from programme.funding.models import (
    Disbursement,
    DisbursementStatus,
    Grant,
    GrantKind,
    Initiative,
    InitiativeStatus,
)
from programme.funding.services._common import HANDLERS, _amount, _lock_grant, _lock_initiative, positions_of_ids
from programme.funding.services.caps import _refuse_over_caps, refuse_over_initiative_cap
from programme.funding.services.facilitation_caps import refuse_facilitation_tranche
from programme.ledger.balances import balance
from programme.ledger.domain import BankReferenceError
from programme.ledger.domain import bank_reference as checked_bank_reference
from programme.ledger.models import AccountKind, JournalEntry, LedgerError
from programme.ledger.posting import credit, debit, get_account, get_or_create_account, post_entry


def _lock(disbursement: Disbursement) -> Disbursement:
    """Lock the disbursement's row and reload it: another session may have changed it before we got the lock."""
    locked = db.session.execute(
        select(Disbursement).where(Disbursement.id == disbursement.id).with_for_update()
        .execution_options(populate_existing=True)
    ).scalar_one()
    return locked


def _named(d: Disbursement) -> dict[str, object]:
    """The placeholders that name a disbursement in a message: ``number`` and ``reference`` (its initiative's)."""
    return {"number": d.id, "reference": d.initiative.reference}


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
        raise AccessDenied(_("you may not see this initiative's disbursements"))
    return list(db.session.scalars(
        select(Disbursement).where(Disbursement.initiative_id == initiative.id).order_by(Disbursement.id)))


def get_disbursement(disbursement_id: int, *, actor: Actor) -> Disbursement:
    """One disbursement; NotFound for an unknown id and for one of an initiative the actor may not see."""
    disbursement = db.session.get(Disbursement, disbursement_id)
    if disbursement is None or not disbursement.can_view(actor):
        raise NotFound("no such disbursement")
    return disbursement


def positions_of(initiatives: list[Initiative]) -> dict[int, GrantPosition]:
    """The start-up grant position of each initiative that has one, by initiative id, in one query."""
    return positions_of_ids([i.id for i in initiatives])


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
        .options(selectinload(Disbursement.initiative))
        .order_by(Disbursement.requested_at, Disbursement.id)))


def request_disbursement(grant: Grant, *, amount: object, purpose: str, actor: Actor, now: datetime,
                         timezone: str) -> Disbursement:
    """Request a tranche of a grant. It may not exceed what is left of the grant (committed minus everything
    requested, approved or paid); a matching-grant tranche must also fit every cap of ``tranche_limits`` in
    today's programme year (``timezone`` is the programme's)."""
    require_role(actor, *HANDLERS)
    initiative = grant.initiative
    if grant.kind == GrantKind.FACILITATION:
        raise RuleViolation(_("A facilitation-fund tranche is requested by verifying the group's claim."))
    if initiative.status == InitiativeStatus.TERMINATED:
        raise RuleViolation(_("%(reference)s is terminated; nothing more is paid to it.",
                              reference=initiative.reference))
    value = _amount(amount, grant.currency, "amount", maximum=None)
    purpose = (purpose or "").strip()
    if not purpose:
        raise RuleViolation(_("Say what the tranche is for."), field="purpose")
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
        refuse_over_initiative_cap(initiative, value, what="a tranche")
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
                         timezone: str) -> Disbursement:
    """Approve a requested tranche. The approver is a named person other than the requester. Under a lock on
    the grant, what is approved and paid together with this tranche may not exceed the committed amount
    (a commitment may have been cut since the request). A matching-grant tranche must fit every cap of
    ``tranche_limits`` again, in today's programme year."""
    require_role(actor, *HANDLERS)
    if actor.id is None:
        raise AccessDenied(_("an approval needs a named person"))
    _lock_initiative(disbursement.initiative)
    grant = _lock_grant(disbursement.grant)
    d = _lock(disbursement)
    require_second_person(db.session.get(User, d.requested_by_id) if d.requested_by_id is not None else None,
                          actor, _("this disbursement"))
    if d.status != DisbursementStatus.REQUESTED:
        raise RuleViolation(_("The disbursement %(number)s of %(reference)s is %(status)s; only a requested "
                              "disbursement can be approved.", status=d.status.label.lower(), **_named(d)))
    if d.initiative.status == InitiativeStatus.TERMINATED:
        raise RuleViolation(_("%(reference)s is terminated; nothing more is paid to it.",
                              reference=d.initiative.reference))
    position = grant_position(grant, excluding=d)
    bound = position.approved + position.paid
    blocked = over_grant(d.amount, position.committed - bound, position.committed, currency=d.currency,
                         grant_label=grant.kind.label)
    if blocked:
        raise RuleViolation(_("%(refusal)s (%(bound)s is approved or paid already.)", refusal=blocked,
                              bound=format_money(bound, d.currency)), field="amount")
    if grant.kind == GrantKind.MATCHING:
        _refuse_over_caps(grant, d.amount, day=local_date(now, timezone), at_payment=False, excluding=d,
                          timezone=timezone, field="amount")
    elif grant.kind == GrantKind.FACILITATION:
        refuse_facilitation_tranche(d, day=local_date(now, timezone), at_payment=False, timezone=timezone,
                                    field="amount")
    else:
        refuse_over_initiative_cap(d.initiative, d.amount, what="a tranche", excluding=d)
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
        raise RuleViolation(_("Give the reason for the rejection."), field="reason")
    d = _lock(disbursement)
    if d.status not in (DisbursementStatus.REQUESTED, DisbursementStatus.APPROVED):
        raise RuleViolation(_("The disbursement %(number)s of %(reference)s is %(status)s; only a requested or "
                              "approved disbursement can be rejected.", status=d.status.label.lower(), **_named(d)))
    previous = d.status.value
    d.status = DisbursementStatus.REJECTED
    d.rejected_by_id = actor.id
    d.rejected_at = now
    d.rejection_reason = reason
    db.session.flush()
    audit.record(db.session, actor, "funding.disbursement_rejected", d, initiative=d.initiative.reference,
                 amount=str(d.amount), reason=reason, previous=previous)
    return d


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
        raise RuleViolation(_("The budget of %(call)s cannot be put in the ledger: %(error)s", call=call.reference,
                              error=error)) from None
    return entry


def _refuse_used_reference(d: Disbursement, reference: str) -> None:
    other = db.session.scalar(
        select(Disbursement).where(Disbursement.bank_reference == reference, Disbursement.id != d.id))
    if other is not None:
        raise RuleViolation(_("The bank reference %(bank_reference)s is already used for disbursement %(number)s "
                              "of %(reference)s.", bank_reference=reference, **_named(other)), field="bank_reference")


def _refuse_payment_after_termination(initiative: Initiative, value_date: date) -> None:
    """A terminated initiative receives nothing more: a tranche approved before the termination may still be
    recorded only if the bank paid it on or before the day the manager decided to terminate."""
    if initiative.status != InitiativeStatus.TERMINATED:
        return
    ended = initiative.terminated_on
    if ended is None or value_date > ended:
        if ended:
            message = _("%(reference)s was terminated on %(day)s; nothing paid after that can be recorded. Reject "
                        "the tranche instead.", reference=initiative.reference, day=format_day(ended))
        else:
            message = _("%(reference)s was terminated; nothing paid after that can be recorded. Reject the tranche "
                        "instead.", reference=initiative.reference)
        raise RuleViolation(message, field="value_date")


def record_payment(
    disbursement: Disbursement, *, value_date: date, bank_reference: str, actor: Actor, now: datetime,
    timezone: str,
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
        raise RuleViolation(_("Give the value date of the transfer."), field="value_date")
    _lock_initiative(disbursement.initiative)
    d = _lock(disbursement)
    if d.status == DisbursementStatus.PAID:
        if d.bank_reference == reference:
            return d  # the same payment recorded again: nothing changes
        raise RuleViolation(_("The disbursement %(number)s of %(reference)s is already paid, with bank reference "
                              "%(bank_reference)s.", bank_reference=d.bank_reference, **_named(d)),
                            field="bank_reference")
    if d.status != DisbursementStatus.APPROVED:
        raise RuleViolation(_("The disbursement %(number)s of %(reference)s is %(status)s; only an approved "
                              "disbursement can be paid.", status=d.status.label.lower(), **_named(d)))
    today = now.astimezone(ZoneInfo(timezone)).date()
    if value_date > today:
        raise RuleViolation(_("The value date %(day)s is in the future.", day=format_day(value_date)),
                            field="value_date")
    _refuse_used_reference(d, reference)
    initiative = d.initiative
    _refuse_payment_after_termination(initiative, value_date)
    if d.grant.kind == GrantKind.MATCHING:
        _refuse_over_caps(d.grant, d.amount, day=value_date, at_payment=True, excluding=d, timezone=timezone,
                          field=None)
    elif d.grant.kind == GrantKind.FACILITATION:
        refuse_facilitation_tranche(d, day=value_date, at_payment=True, timezone=timezone, field=None)
    call = initiative.call
    budget_call(call, actor=actor, now=now)
    paid = get_or_create_account(AccountKind.GRANTS_PAID, "initiative", initiative.id, d.currency)
    budget = get_or_create_account(AccountKind.PROGRAMME_BUDGET, "call", call.id, d.currency)
    try:
        with db.session.begin_nested():
            entry = post_entry(
                lines=[debit(paid, d.amount), credit(budget, d.amount)],
                description=(f"{d.grant.kind.english_label} tranche to {initiative.reference}: {d.purpose} "
                             f"(bank {reference})"),
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
        raise RuleViolation(_("The payment cannot be posted: %(error)s", error=error)) from None
    audit.record(db.session, actor, "funding.disbursement_paid", d, initiative=initiative.reference,
                 amount=str(d.amount), value_date=value_date.isoformat(), bank_reference=reference,
                 journal_entry=entry.id)
    return d
