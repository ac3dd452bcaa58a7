"""The guarantees' cached figures against the ledger (``loans.guarantee_models``; called by ``checks.check_loans``):
each obligation's amount still owed, credit and write-off against its accounts, what its collections applied and
held (less the credit refunded to the guarantor) against its cache, each collection's parts against its amount,
each loan's principal moved to its guarantors against its obligations, and each call's total against its
obligations."""

from __future__ import annotations

from decimal import Decimal

from sqlalchemy import func, select

from programme.core.db import cents, from_cents
from programme.extensions import db
from programme.ledger.models import Account, AccountKind, JournalLine
from programme.loans.guarantee_models import (
    CallStatus,
    GuaranteeCall,
    GuaranteeCollection,
    GuaranteeObligation,
    GuarantorCreditRefund,
    RefundStatus,
)
from programme.loans.models import Loan

ZERO = Decimal("0.00")


def _balances(owner_type: str) -> dict[tuple[int, AccountKind], Decimal]:
    net = func.coalesce(func.sum(cents(JournalLine.debit) - cents(JournalLine.credit)), 0)
    result: dict[tuple[int, AccountKind], Decimal] = {}
    for owner_id, kind, net_cents in db.session.execute(
            select(Account.owner_id, Account.kind, net).join(JournalLine, JournalLine.account_id == Account.id)
            .where(Account.owner_type == owner_type).group_by(Account.owner_id, Account.kind)):
        kind = AccountKind(kind)
        signed = int(net_cents or 0) if kind.normal_side.value == "debit" else -int(net_cents or 0)
        result[(owner_id, kind)] = from_cents(signed)
    return result


def check_guarantees() -> list[str]:
    """Every guarantee figure that differs from the ledger or from the rows it sums (empty when all agree)."""
    problems: list[str] = []
    ledger = _balances("obligation")
    by_obligation = {
        obligation_id: (from_cents(applied), from_cents(held))
        for obligation_id, applied, held in db.session.execute(
            select(GuaranteeCollection.obligation_id, func.sum(cents(GuaranteeCollection.applied)),
                   func.sum(cents(GuaranteeCollection.credit))).group_by(GuaranteeCollection.obligation_id))}
    refunded = {
        obligation_id: from_cents(total)
        for obligation_id, total in db.session.execute(
            select(GuarantorCreditRefund.obligation_id, func.sum(cents(GuarantorCreditRefund.amount)))
            .where(GuarantorCreditRefund.status == RefundStatus.REFUNDED)
            .group_by(GuarantorCreditRefund.obligation_id))}
    for reference, amount, applied, held in db.session.execute(
            select(GuaranteeCollection.bank_reference, cents(GuaranteeCollection.amount),
                   cents(GuaranteeCollection.applied), cents(GuaranteeCollection.credit))
            .order_by(GuaranteeCollection.id)):
        if int(applied) + int(held) != int(amount):
            problems.append(f"guarantee collection {reference}: applied {from_cents(applied)} and credit "
                            f"{from_cents(held)} do not add up to {from_cents(amount)}")
    called_by_loan: dict[int, Decimal] = {}
    called_by_call: dict[int, Decimal] = {}
    for o in db.session.scalars(select(GuaranteeObligation).order_by(GuaranteeObligation.id)):
        name = f"obligation {o.id} ({o.guarantor.name})"
        for what, cached, kind in (("owed", o.owed, AccountKind.GUARANTEE_RECEIVABLE),
                                   ("credit", o.credit, AccountKind.GUARANTOR_CREDIT),
                                   ("written off", o.written_off, AccountKind.GUARANTEE_WRITE_OFFS)):
            booked = ledger.get((o.id, kind), ZERO)
            if cached != booked:
                problems.append(f"{name}: {what} {cached} but the ledger has {booked}")
        applied, held = by_obligation.get(o.id, (ZERO, ZERO))
        paid_back = refunded.get(o.id, ZERO)
        if applied != o.collected or held - paid_back != o.credit:
            problems.append(f"{name}: collected {o.collected} and credit {o.credit} but its collections applied "
                            f"{applied} and held {held}, of which {paid_back} was refunded")
        called_by_loan[o.loan_id] = called_by_loan.get(o.loan_id, ZERO) + o.amount
        called_by_call[o.call_id] = called_by_call.get(o.call_id, ZERO) + o.amount
    for loan_id, number, called in db.session.execute(
            select(Loan.id, Loan.number, Loan.guarantees_called).order_by(Loan.id)):
        if called != called_by_loan.get(loan_id, ZERO):
            problems.append(f"{number}: {called} moved to its guarantors but their obligations are "
                            f"{called_by_loan.get(loan_id, ZERO)}")
    for call_id, status, called in db.session.execute(
            select(GuaranteeCall.id, GuaranteeCall.status, GuaranteeCall.called).order_by(GuaranteeCall.id)):
        expected = called_by_call.get(call_id, ZERO)
        if CallStatus(status) == CallStatus.CALLED and called != expected:
            problems.append(f"guarantee call {call_id}: called {called} but its obligations are {expected}")
        if CallStatus(status) != CallStatus.CALLED and expected:
            problems.append(f"guarantee call {call_id} is {status} but has obligations")
    return problems
