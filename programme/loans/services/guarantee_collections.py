"""What the guarantors pay on their obligations after a call, and writing off what one cannot pay.

- **Collect** (``record_collection``, a fund administrator, like a repayment): ``guarantee_collection:<bank
  reference>``: Dr revolving_fund_cash:fund, Cr guarantee_receivable:obligation (what it still owes) and
  guarantor_credit:obligation (the rest: an overpayment is held for the guarantor, never lost). Partial payments
  are fine. The same bank reference again with the same obligation, amount and date returns the collection
  already recorded (safe to retry); used otherwise it is refused; two at once: the unique reference decides.
- **Write off** what a guarantor cannot pay (four eyes, a money decision): one fund administrator asks with a
  reason (``request_obligation_write_off``), a second person approves (``approve_obligation_write_off``), and only
  then is what it still owes posted: ``guarantee_obligation:<id>:written_off``: Dr guarantee_write_offs:obligation,
  Cr guarantee_receivable:obligation. What it pays afterwards is held as its credit.

Flushes, never commits; audited.
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from programme.accounts.models import User
from programme.core import audit
from programme.core.access import AccessDenied, Actor, RuleViolation, require_role, require_second_person
from programme.core.money import format_money
from programme.core.texts import gettext as _
from programme.core.timezone import format_day, local_date
from programme.extensions import db
from programme.ledger.domain import normal_bank_reference
from programme.ledger.models import AccountKind
from programme.ledger.posting import credit, debit
from programme.loans.guarantee_models import GuaranteeCollection, GuaranteeObligation
from programme.loans.models import Repayment
from programme.loans.services._common import HANDLERS, ZERO, _a_date, _account, _money, _post, _reference
from programme.loans.services.guarantees import APPROVERS


def _lock(obligation: GuaranteeObligation) -> GuaranteeObligation:
    """Lock the obligation's row and reload it (another session may have changed it before we got the lock)."""
    db.session.execute(select(GuaranteeObligation.id).where(GuaranteeObligation.id == obligation.id)
                       .with_for_update())
    db.session.refresh(obligation)
    return obligation


def find_collection(bank_reference: str) -> GuaranteeCollection | None:
    return db.session.scalar(select(GuaranteeCollection).where(
        GuaranteeCollection.bank_reference == normal_bank_reference(bank_reference)))


def collections_of(obligations: list[GuaranteeObligation]) -> list[GuaranteeCollection]:
    ids = [o.id for o in obligations]
    if not ids:
        return []
    return list(db.session.scalars(select(GuaranteeCollection).where(GuaranteeCollection.obligation_id.in_(ids))
                                   .order_by(GuaranteeCollection.value_date, GuaranteeCollection.id)))


def record_collection(obligation: GuaranteeObligation, *, amount: object, value_date: date, bank_reference: str,
                      actor: Actor, now: datetime, timezone: str) -> GuaranteeCollection:
    """Record money a guarantor paid on its obligation (module docstring)."""
    require_role(actor, *HANDLERS)
    loan = obligation.call.loan
    cur = loan.currency
    value = _money(amount, cur)
    reference = _reference(bank_reference)
    value_date = _a_date(value_date, "value_date", _("Give the value date of the transfer."))
    o = _lock(obligation)
    existing = find_collection(reference)
    if existing is not None:
        if existing.obligation_id == o.id and existing.amount == value and existing.value_date == value_date:
            return existing
        raise RuleViolation(_("The bank reference %(reference)s is already used for a collection of %(amount)s from "
                              "%(guarantor)s dated %(day)s.", reference=reference,
                              amount=format_money(existing.amount, cur), guarantor=existing.obligation.guarantor.name,
                              day=format_day(existing.value_date)), field="bank_reference")
    repayment = db.session.scalar(select(Repayment).where(Repayment.bank_reference == reference))
    if repayment is not None:
        raise RuleViolation(_("The bank reference %(reference)s is already used for a repayment on %(number)s.",
                              reference=reference, number=repayment.loan.number), field="bank_reference")
    if value_date > local_date(now, timezone):
        raise RuleViolation(_("The value date %(day)s is in the future.", day=format_day(value_date)),
                            field="value_date")
    if value_date < o.call.on_date:
        raise RuleViolation(_("The value date %(day)s is before the guarantees were called on %(called)s.",
                              day=format_day(value_date), called=format_day(o.call.on_date)), field="value_date")
    applied = min(value, o.owed)
    extra = value - applied
    fund = loan.fund
    lines = [debit(_account(AccountKind.REVOLVING_FUND_CASH, "fund", fund.id, cur), value),
             credit(_account(AccountKind.GUARANTEE_RECEIVABLE, "obligation", o.id, cur), applied),
             credit(_account(AccountKind.GUARANTOR_CREDIT, "obligation", o.id, cur), extra)]
    collection = GuaranteeCollection(obligation_id=o.id, amount=value, applied=applied, credit=extra,
                                     value_date=value_date, bank_reference=reference, recorded_by_id=actor.id,
                                     recorded_at=now)
    try:
        with db.session.begin_nested():
            entry = _post(lines, description=f"Collected from {o.guarantor.name}, guarantor of {loan.number} "
                                             f"(bank {reference})", value_date=value_date,
                          idempotency_key=f"guarantee_collection:{reference}", actor=actor,
                          source=("GuaranteeObligation", o.id), now=now)
            collection.journal_entry_id = entry.id
            db.session.add(collection)
            db.session.flush()
    except IntegrityError:
        other = find_collection(reference)
        if other is not None and other.obligation_id == o.id and other.amount == value \
                and other.value_date == value_date:
            return other
        raise RuleViolation(_("The bank reference %(reference)s is already used for a collection.",
                              reference=reference),
                            field="bank_reference") from None
    o.collected += applied
    o.credit += extra
    db.session.flush()
    audit.record(db.session, actor, "loans.guarantee_collected", collection, loan=loan.number,
                 guarantor=o.guarantor.name, amount=str(value), applied=str(applied), credit=str(extra),
                 value_date=value_date.isoformat(), bank_reference=reference, journal_entry=entry.id)
    return collection


def request_obligation_write_off(obligation: GuaranteeObligation, *, reason: str, on_date: date, actor: Actor,
                                 now: datetime, timezone: str) -> GuaranteeObligation:
    """Ask for what a guarantor still owes to be written off (it cannot pay); a second person approves it."""
    require_role(actor, *HANDLERS)
    reason = (reason or "").strip()
    if not reason:
        raise RuleViolation(_("Give the reason for the write-off."), field="reason")
    on_date = _a_date(on_date, "on_date", _("Give the date of the write-off."))
    if on_date > local_date(now, timezone):
        raise RuleViolation(_("The date %(day)s is in the future.", day=format_day(on_date)), field="on_date")
    o = _lock(obligation)
    if on_date < o.call.on_date:
        raise RuleViolation(_("The date %(day)s is before the guarantees were called.", day=format_day(on_date)),
                            field="on_date")
    if o.write_off_pending:
        raise RuleViolation(_("A write-off of what %(guarantor)s owes is already waiting for a second person.",
                              guarantor=o.guarantor.name))
    if o.owed <= 0:
        raise RuleViolation(_("%(guarantor)s owes nothing more on this call.", guarantor=o.guarantor.name))
    o.write_off_reason = reason
    o.write_off_on = on_date
    o.write_off_asked_by_id = actor.id
    o.write_off_asked_at = now
    o.written_off_by_id = None
    db.session.flush()
    audit.record(db.session, actor, "loans.guarantee_write_off_requested", o, loan=o.call.loan.number,
                 guarantor=o.guarantor.name, owed=str(o.owed), reason=reason, on_date=on_date.isoformat())
    return o


def _asker(o: GuaranteeObligation) -> User | None:
    return db.session.get(User, o.write_off_asked_by_id) if o.write_off_asked_by_id is not None else None


def may_decide_write_off(obligation: GuaranteeObligation, actor: Actor) -> bool:
    if not obligation.write_off_pending or not any(actor.has_role(r) for r in APPROVERS):
        return False
    try:
        require_second_person(_asker(obligation), actor, _("this write-off"))
    except AccessDenied:
        return False
    return True


def approve_obligation_write_off(obligation: GuaranteeObligation, *, actor: Actor, now: datetime,
                                 timezone: str) -> GuaranteeObligation:
    """Approve a requested write-off and post what the guarantor still owes (a second person)."""
    require_role(actor, *APPROVERS)
    o = _lock(obligation)
    if not o.write_off_pending:
        raise RuleViolation(_("No write-off of this obligation is waiting for approval."))
    require_second_person(_asker(o), actor, _("this write-off"))
    amount = o.owed
    if amount <= 0:
        raise RuleViolation(_("%(guarantor)s owes nothing more: there is nothing to write off.",
                              guarantor=o.guarantor.name))
    cur = o.call.loan.currency
    assert o.write_off_on is not None
    entry = _post([debit(_account(AccountKind.GUARANTEE_WRITE_OFFS, "obligation", o.id, cur), amount),
                   credit(_account(AccountKind.GUARANTEE_RECEIVABLE, "obligation", o.id, cur), amount)],
                  description=f"Written off: what {o.guarantor.name} owes as guarantor of {o.call.loan.number}: "
                              f"{o.write_off_reason}", value_date=o.write_off_on,
                  idempotency_key=f"guarantee_obligation:{o.id}:written_off", actor=actor,
                  source=("GuaranteeObligation", o.id), now=now)
    o.written_off += amount
    o.written_off_by_id = actor.id
    db.session.flush()
    audit.record(db.session, actor, "loans.guarantee_written_off", o, loan=o.call.loan.number,
                 guarantor=o.guarantor.name, amount=str(amount), requested_by=o.write_off_asked_by_id,
                 journal_entry=entry.id)
    return o


def reject_obligation_write_off(obligation: GuaranteeObligation, *, reason: str, actor: Actor,
                                now: datetime) -> GuaranteeObligation:
    """Reject a requested write-off with a reason (a possible approver, or the person who asked, withdrawing it):
    the request is cleared (the audit log keeps it); nothing is posted."""
    reason = (reason or "").strip()
    if not reason:
        raise RuleViolation(_("Give the reason for the rejection."), field="reason")
    o = _lock(obligation)
    if o.write_off_asked_by_id != actor.id:
        require_role(actor, *APPROVERS)
    if not o.write_off_pending:
        raise RuleViolation(_("No write-off of this obligation is waiting for approval."))
    asked_by = o.write_off_asked_by_id
    o.write_off_asked_by_id = None
    o.write_off_asked_at = None
    o.write_off_on = None
    o.write_off_reason = ""
    db.session.flush()
    audit.record(db.session, actor, "loans.guarantee_write_off_rejected", o, loan=o.call.loan.number,
                 guarantor=o.guarantor.name, requested_by=asked_by, reason=reason)
    return o


__all__ = ["ZERO", "approve_obligation_write_off", "collections_of", "find_collection", "may_decide_write_off",
           "record_collection", "reject_obligation_write_off", "request_obligation_write_off"]
