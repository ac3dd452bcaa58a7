"""Recording what a borrower paid and allocating it, and finding a repayment by its bank reference.

On an active loan a repayment is allocated penalties, interest, principal, oldest instalment first; what is left
after the whole loan is repaid is a credit. On a written-off loan it is a recovery (``repayment:<bank
reference>``: Dr revolving_fund_cash:fund, Cr loans_receivable or loans_rescheduled:loan, interest_income:fund,
penalty_income:fund, borrower_credit:loan; a recovery Cr recoveries:loan).

Repayments of a loan are posted in value-date order: one dated before a repayment already posted on the loan
(or before its last reschedule or write-off) is refused with a message naming that repayment, never silently
allocated against a schedule that has moved on.

**Penalties** (when the call's rules have a ``penalty_rate``) are simple interest on an instalment's unpaid
principal and interest while it is late. They are assessed when a repayment is recorded, for the days since
the later of the instalment's due date and the loan's previous repayment (or reschedule), on the unpaid amount,
which no repayment changed in between; ``penalty_assessed`` is their running total (``_common._assess``).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from programme.core import audit
from programme.core.access import Actor, RuleViolation, require_role
from programme.core.texts import gettext as _
from programme.core.timezone import format_day, local_date
from programme.extensions import db
from programme.ledger.domain import normal_bank_reference
from programme.ledger.models import AccountKind
from programme.ledger.posting import credit, debit
from programme.loans.allocation import Allocation, allocate
from programme.loans.models import (
    BankStatementImport,
    Loan,
    LoanStatus,
    Repayment,
    RepaymentPart,
    RepaymentSource,
)
from programme.loans.services._common import (
    HANDLERS,
    _a_date,
    _account,
    _assess,
    _close,
    _instalments,
    _lock_loan,
    _money,
    _money_of,
    _post,
    _receivable_kind,
    _reference,
    _refuse_back_dated,
    _state,
)
from programme.loans.services.guarantees import refuse_after_call


def find_repayment(bank_reference: str) -> Repayment | None:
    return db.session.scalar(select(Repayment).where(Repayment.bank_reference == normal_bank_reference(
        bank_reference)))


@dataclass(frozen=True)
class RecordedRepayment:
    """A repayment, and whether this call recorded it (False: its bank reference was recorded before, with the same
    loan, amount and date, and the call changed nothing)."""

    repayment: Repayment
    new: bool


def record_repayment(loan: Loan, *, amount: object, value_date: date, bank_reference: str, actor: Actor,
                     now: datetime, source: RepaymentSource = RepaymentSource.MANUAL,
                     statement: BankStatementImport | None = None, timezone: str) -> Repayment:
    """See ``record_repayment_once``: the repayment alone."""
    return record_repayment_once(loan, amount=amount, value_date=value_date, bank_reference=bank_reference,
                                 actor=actor, now=now, source=source, statement=statement, timezone=timezone).repayment


def record_repayment_once(loan: Loan, *, amount: object, value_date: date, bank_reference: str, actor: Actor,
                          now: datetime, source: RepaymentSource = RepaymentSource.MANUAL,
                          statement: BankStatementImport | None = None, timezone: str) -> RecordedRepayment:
    """Record money the borrower paid. On an active loan it is allocated penalties (if the rules have them),
    interest, principal, oldest instalment first; what is left after the whole loan is repaid is a credit,
    and a full repayment closes the loan (the future interest is cancelled). On a written-off loan it is a
    recovery, never more than written off less recovered. The same reference again with the same loan, amount
    and date returns the repayment already recorded; used otherwise, it is refused."""
    require_role(actor, *HANDLERS)
    currency = loan.currency
    value = _money(amount, currency)
    reference = _reference(bank_reference)
    value_date = _a_date(value_date, "value_date", _("Give the value date of the transfer."))
    _lock_loan(loan)

    existing = find_repayment(reference)
    if existing is not None:
        if existing.loan_id == loan.id and existing.amount == value and existing.value_date == value_date:
            return RecordedRepayment(existing, new=False)
        raise RuleViolation(
            _("The bank reference %(reference)s is already used for a repayment of %(amount)s on %(number)s dated "
              "%(day)s.", reference=reference, amount=_money_of(existing.amount, currency),
              number=existing.loan.number, day=format_day(existing.value_date)), field="bank_reference")
    if value_date > local_date(now, timezone):
        raise RuleViolation(_("The value date %(day)s is in the future.", day=format_day(value_date)),
                            field="value_date")
    if value_date < loan.disbursed_on:
        raise RuleViolation(_("The value date %(day)s is before %(number)s was paid out on %(paid)s.",
                              day=format_day(value_date), number=loan.number, paid=format_day(loan.disbursed_on)),
                            field="value_date")
    if loan.status == LoanStatus.CLOSED:
        if loan.settled_by_guarantees:
            raise RuleViolation(_("%(number)s was settled by its guarantees on %(day)s: the guarantors owe what was "
                                  "outstanding, and nothing more is due from the borrower.",
                                  number=loan.number, day=format_day(loan.closed_on)), field="amount")
        raise RuleViolation(_("%(number)s was repaid in full on %(day)s; nothing more is due on it.",
                              number=loan.number, day=format_day(loan.closed_on)), field="amount")
    _refuse_back_dated(loan, value_date)
    refuse_after_call(loan, "repayment")

    fund = loan.fund
    cash = _account(AccountKind.REVOLVING_FUND_CASH, "fund", fund.id, currency)
    repayment = Repayment(loan_id=loan.id, amount=value, value_date=value_date, bank_reference=reference,
                          source=source, import_id=statement.id if statement is not None else None,
                          recorded_by_id=actor.id, recorded_at=now)
    description = f"Repayment on {loan.number} by {loan.borrower.name} (bank {reference})"
    key = f"repayment:{reference}"
    allocation: Allocation | None = None
    if loan.status == LoanStatus.WRITTEN_OFF:
        left = loan.written_off - loan.recovered
        if value > left:
            raise RuleViolation(_("%(amount)s is more than can be recovered on %(number)s: %(left)s of the "
                                  "%(written_off)s written off is not yet recovered.",
                                  amount=_money_of(value, currency), number=loan.number,
                                  left=_money_of(left, currency), written_off=_money_of(loan.written_off, currency)),
                                field="amount")
        recoveries = _account(AccountKind.RECOVERIES, "loan", loan.id, currency)
        lines = [debit(cash, value), credit(recoveries, value)]
        repayment.recovery = value
        description = f"Recovery on written-off {loan.number} from {loan.borrower.name} (bank {reference})"
    else:
        instalments = _instalments(loan, current_only=True)
        _assess(loan, instalments, value_date)
        states = [_state(i) for i in instalments]
        penalties = {i.number: i.penalty_assessed for i in instalments if i.penalty_assessed > 0}
        allocation = allocate(states, value, value_date, currency, penalties)
        lines = [
            debit(cash, value),
            credit(_account(_receivable_kind(loan), "loan", loan.id, currency), allocation.principal),
            credit(_account(AccountKind.INTEREST_INCOME, "fund", fund.id, currency), allocation.interest),
            credit(_account(AccountKind.PENALTY_INCOME, "fund", fund.id, currency), allocation.penalty),
            credit(_account(AccountKind.BORROWER_CREDIT, "loan", loan.id, currency), allocation.credit),
        ]
        repayment.penalty, repayment.interest = allocation.penalty, allocation.interest
        repayment.principal, repayment.credit = allocation.principal, allocation.credit

    try:
        with db.session.begin_nested():
            entry = _post(lines, description=description, value_date=value_date, idempotency_key=key,
                          actor=actor, source=("Loan", loan.id), now=now)
            repayment.journal_entry_id = entry.id
            db.session.add(repayment)
            db.session.flush()
    except IntegrityError:
        # Another session used the same reference (on another loan) and committed first.
        other = find_repayment(reference)
        if other is not None:
            raise RuleViolation(_("The bank reference %(reference)s is already used for a repayment on %(number)s.",
                                  reference=reference, number=other.loan.number),
                                field="bank_reference") from None
        raise

    if allocation is None:
        loan.recovered += value
    else:
        by_number = {i.number: i for i in instalments}
        for part in allocation.parts:
            instalment = by_number[part.number]
            instalment.principal_paid += part.principal
            instalment.interest_paid += part.interest
            instalment.penalty_paid += part.penalty
            db.session.add(RepaymentPart(repayment_id=repayment.id, instalment_id=instalment.id,
                                         penalty=part.penalty, interest=part.interest, principal=part.principal))
        for number, cancelled in allocation.interest_cancelled.items():
            by_number[number].interest_cancelled += cancelled
        loan.principal_outstanding -= allocation.principal
        loan.credit += allocation.credit
        if allocation.closes_loan:
            _close(loan, on_date=value_date, reason="Repaid in full", amount=loan.principal, actor=actor, now=now)
    db.session.flush()
    audit.record(db.session, actor, "loans.recovery_recorded" if allocation is None else "loans.repayment_recorded",
                 repayment, loan=loan.number, amount=str(value), value_date=value_date.isoformat(),
                 bank_reference=reference, source=source.value, penalty=str(repayment.penalty),
                 interest=str(repayment.interest), principal=str(repayment.principal), credit=str(repayment.credit),
                 recovery=str(repayment.recovery), closed=loan.status == LoanStatus.CLOSED,
                 journal_entry=entry.id)
    return RecordedRepayment(repayment, new=True)
