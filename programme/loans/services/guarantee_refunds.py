"""Paying a guarantor back the credit held for it on an obligation (what it paid over what it owed, held in
guarantor_credit:obligation), with four eyes, as the borrower's credit refund (``approvals``):

- **Ask** (``request_credit_refund``, a fund administrator): the bank reference of the transfer, its value date
  (not in the future, not before the payment that made the credit) and a reason; the whole credit held now is
  the amount. Refused when the obligation holds no credit, a refund of it already waits, or the reference is
  named by another refund (not rejected). The same person asking again the same gets the request waiting.
- **Approve** (``approve_credit_refund``, a second person: a fund administrator or a programme manager who is not
  the one who asked, nor created nor was created by them): posted once, ``guarantee_credit_refund:<bank
  reference>``: Dr guarantor_credit:obligation, Cr revolving_fund_cash:fund; never more than the credit held nor
  than the fund's cash from the value date on. The obligation's ``credit`` falls by it (to 0).
- **Reject** (``reject_credit_refund``): a possible approver, or the person who asked (withdrawing it), with a
  reason; nothing is posted and the reference is free again.

Under locks (the refund's row, then the fund's, then the obligation's) and unique indexes (one refund waiting
per obligation; a reference once among the refunds not rejected): two at once make one, approving twice posts
once. Flushes, never commits; audited.
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
from programme.loans.guarantee_models import (
    GuaranteeCollection,
    GuaranteeObligation,
    GuarantorCreditRefund,
    RefundStatus,
)
from programme.loans.services._common import HANDLERS, _a_date, _account, _cash_low_from, _lock_fund, _post, _reference
from programme.loans.services.funds import fund_cash
from programme.loans.services.guarantee_collections import _lock
from programme.loans.services.guarantees import APPROVERS


def _what() -> str:
    return _("this credit refund")


def _reason(reason: str | None) -> str:
    reason = (reason or "").strip()
    if not reason:
        raise RuleViolation(_("Give the reason for the refund."), field="reason")
    return reason


def _named(reference: str) -> GuarantorCreditRefund | None:
    """The refund (not rejected) that names this bank reference, if any."""
    return db.session.scalar(select(GuarantorCreditRefund).where(
        GuarantorCreditRefund.bank_reference == normal_bank_reference(reference),
        GuarantorCreditRefund.status != RefundStatus.REJECTED))


def waiting_refund(obligation: GuaranteeObligation) -> GuarantorCreditRefund | None:
    """The obligation's refund waiting for a second person, if any."""
    return db.session.scalar(select(GuarantorCreditRefund).where(
        GuarantorCreditRefund.obligation_id == obligation.id, GuarantorCreditRefund.status == RefundStatus.REQUESTED))


def refunds_of(obligations: list[GuaranteeObligation]) -> list[GuarantorCreditRefund]:
    """The refunds asked for on these obligations (every status), in the order they were asked."""
    ids = [o.id for o in obligations]
    if not ids:
        return []
    return list(db.session.scalars(select(GuarantorCreditRefund).where(GuarantorCreditRefund.obligation_id.in_(ids))
                                   .order_by(GuarantorCreditRefund.requested_at, GuarantorCreditRefund.id)))


def waiting_refund_of(obligation: GuaranteeObligation) -> GuarantorCreditRefund:
    """The obligation's waiting refund, for a decision; refused when none waits."""
    refund = waiting_refund(obligation)
    if refund is None:
        raise RuleViolation(_("No refund of the credit of %(guarantor)s is waiting for a decision.",
                              guarantor=obligation.guarantor.name))
    return refund


def _last_credit_day(obligation: GuaranteeObligation) -> date | None:
    """The value date of the latest collection that left a credit on the obligation."""
    return db.session.scalar(select(GuaranteeCollection.value_date).where(
        GuaranteeCollection.obligation_id == obligation.id, GuaranteeCollection.credit > 0)
        .order_by(GuaranteeCollection.value_date.desc()).limit(1))


def request_credit_refund(obligation: GuaranteeObligation, *, bank_reference: str, value_date: date, reason: str,
                          actor: Actor, now: datetime, timezone: str) -> GuarantorCreditRefund:
    """Ask for the credit held for the guarantor to be paid back (module docstring); a second person approves."""
    require_role(actor, *HANDLERS)
    reference = _reference(bank_reference)
    value_date = _a_date(value_date, "value_date", _("Give the value date of the refund."))
    reason = _reason(reason)
    if value_date > local_date(now, timezone):
        raise RuleViolation(_("The value date %(day)s is in the future.", day=format_day(value_date)),
                            field="value_date")
    o = _lock(obligation)
    cur = o.call.loan.currency
    named = _named(reference)
    if named is not None:
        if (named.obligation_id == o.id and named.status == RefundStatus.REQUESTED
                and named.requested_by_id == actor.id and named.value_date == value_date):
            return named
        raise RuleViolation(_("The bank reference %(reference)s is already used for a refund of %(amount)s to "
                              "%(guarantor)s dated %(day)s.", reference=reference,
                              amount=format_money(named.amount, cur), guarantor=named.obligation.guarantor.name,
                              day=format_day(named.value_date)), field="bank_reference")
    if waiting_refund(o) is not None:
        raise RuleViolation(_("A refund of the credit of %(guarantor)s is already waiting for a second person.",
                              guarantor=o.guarantor.name))
    if o.credit <= 0:
        raise RuleViolation(_("%(guarantor)s has no credit on this obligation: there is nothing to refund.",
                              guarantor=o.guarantor.name))
    made = _last_credit_day(o)
    if made is not None and value_date < made:
        raise RuleViolation(_("The refund is dated before the payment of %(day)s that made the credit.",
                              day=format_day(made)), field="value_date")
    refund = GuarantorCreditRefund(obligation_id=o.id, status=RefundStatus.REQUESTED, amount=o.credit,
                                   value_date=value_date, bank_reference=reference, reason=reason,
                                   requested_by_id=actor.id, requested_at=now, decision_note="")
    try:
        with db.session.begin_nested():
            db.session.add(refund)
            db.session.flush()
    except IntegrityError:
        # Another administrator named the same reference at the same moment and committed first.
        raise RuleViolation(_("The bank reference %(reference)s is already used for a refund.", reference=reference),
                            field="bank_reference") from None
    audit.record(db.session, actor, "loans.guarantor_credit_refund_requested", refund, loan=o.call.loan.number,
                 guarantor=o.guarantor.name, amount=str(refund.amount), value_date=value_date.isoformat(),
                 bank_reference=reference, reason=reason)
    return refund


def _lock_refund(refund: GuarantorCreditRefund) -> GuarantorCreditRefund:
    return db.session.execute(select(GuarantorCreditRefund).where(GuarantorCreditRefund.id == refund.id)
                              .with_for_update().execution_options(populate_existing=True)).scalar_one()


def _asker(refund: GuarantorCreditRefund) -> User | None:
    return db.session.get(User, refund.requested_by_id) if refund.requested_by_id is not None else None


def may_decide_refund(refund: GuarantorCreditRefund, actor: Actor) -> bool:
    if refund.status != RefundStatus.REQUESTED or not any(actor.has_role(r) for r in APPROVERS):
        return False
    try:
        require_second_person(_asker(refund), actor, _what())
    except AccessDenied:
        return False
    return True


def _refuse_decided(refund: GuarantorCreditRefund) -> None:
    if refund.status != RefundStatus.REQUESTED:
        raise RuleViolation(_("This refund was %(status)s already: only a refund waiting for a second person can be "
                              "decided.", status=refund.status.label.lower()))


def approve_credit_refund(refund: GuarantorCreditRefund, *, actor: Actor, now: datetime,
                          timezone: str) -> GuarantorCreditRefund:
    """Approve a requested refund and post it (module docstring). The approver is a second person."""
    require_role(actor, *APPROVERS)
    r = _lock_refund(refund)
    require_second_person(_asker(r), actor, _what())
    _refuse_decided(r)
    loan = r.obligation.call.loan
    fund, cur = loan.fund, loan.currency
    _lock_fund(fund)
    o = _lock(r.obligation)
    if r.amount > o.credit:
        raise RuleViolation(_("%(guarantor)s has only %(credit)s of credit on this obligation; the refund of "
                              "%(amount)s cannot be posted.", guarantor=o.guarantor.name,
                              credit=format_money(o.credit, cur), amount=format_money(r.amount, cur)))
    low, _low_on = _cash_low_from(fund, r.value_date)
    cash = min(fund_cash(fund), low)
    if r.amount > cash:
        raise RuleViolation(_("The fund has only %(cash)s in cash; it cannot refund %(amount)s.",
                              cash=format_money(cash, cur), amount=format_money(r.amount, cur)))
    entry = _post([debit(_account(AccountKind.GUARANTOR_CREDIT, "obligation", o.id, cur), r.amount),
                   credit(_account(AccountKind.REVOLVING_FUND_CASH, "fund", fund.id, cur), r.amount)],
                  description=f"Credit of {o.guarantor.name} as guarantor of {loan.number} refunded "
                              f"(bank {r.bank_reference})", value_date=r.value_date,
                  idempotency_key=f"guarantee_credit_refund:{r.bank_reference}", actor=actor,
                  source=("GuaranteeObligation", o.id), now=now)
    o.credit -= r.amount
    r.status = RefundStatus.REFUNDED
    r.decided_by_id = actor.id
    r.decided_at = now
    r.journal_entry_id = entry.id
    db.session.flush()
    audit.record(db.session, actor, "loans.guarantor_credit_refunded", r, loan=loan.number,
                 guarantor=o.guarantor.name, amount=str(r.amount), value_date=r.value_date.isoformat(),
                 bank_reference=r.bank_reference, requested_by=r.requested_by_id, journal_entry=entry.id)
    return r


def reject_credit_refund(refund: GuarantorCreditRefund, *, reason: str, actor: Actor,
                         now: datetime) -> GuarantorCreditRefund:
    """Reject a requested refund with a reason (a possible approver, or the person who asked, withdrawing it):
    nothing is posted; its bank reference may be named again."""
    reason = (reason or "").strip()
    if not reason:
        raise RuleViolation(_("Give the reason for the rejection."), field="reason")
    r = _lock_refund(refund)
    if r.requested_by_id is None or r.requested_by_id != actor.id:
        require_role(actor, *APPROVERS)
    _refuse_decided(r)
    r.status = RefundStatus.REJECTED
    r.decided_by_id = actor.id
    r.decided_at = now
    r.decision_note = reason
    db.session.flush()
    audit.record(db.session, actor, "loans.guarantor_credit_refund_rejected", r, loan=r.obligation.call.loan.number,
                 guarantor=r.obligation.guarantor.name, amount=str(r.amount), requested_by=r.requested_by_id,
                 reason=reason)
    return r


__all__ = ["approve_credit_refund", "may_decide_refund", "refunds_of", "reject_credit_refund",
           "request_credit_refund", "waiting_refund", "waiting_refund_of"]
