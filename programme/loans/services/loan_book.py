"""Reading the loan book: one loan (with its access check) or one by number, its repayments and events, and
its schedule with what was paid on each instalment."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal

from sqlalchemy import select

from programme.core.access import Actor, NotFound
from programme.core.texts import lazy_gettext as _l
from programme.extensions import db
from programme.loans.models import Loan, LoanEvent, LoanStatus, Repayment, RepaymentPart
from programme.loans.services._common import _instalments


def get_loan(loan_id: int, *, actor: Actor) -> Loan:
    """One loan; NotFound for an unknown id and for one the actor may not see."""
    loan = db.session.get(Loan, loan_id)
    if loan is None or not loan.can_view(actor):
        raise NotFound("no such loan")
    return loan


def loan_by_number(number: str) -> Loan | None:
    """The loan with that number (no access check: for the bank-statement import)."""
    return db.session.scalar(select(Loan).where(Loan.number == " ".join((number or "").split()).upper()))


def repayments_of(loan: Loan) -> list[Repayment]:
    return list(db.session.scalars(
        select(Repayment).where(Repayment.loan_id == loan.id).order_by(Repayment.value_date, Repayment.id)))


def events_of(loan: Loan) -> list[LoanEvent]:
    return list(db.session.scalars(select(LoanEvent).where(LoanEvent.loan_id == loan.id).order_by(LoanEvent.id)))


@dataclass(frozen=True)
class PaymentOnInstalment:
    repayment_id: int
    value_date: date
    bank_reference: str
    penalty: Decimal
    interest: Decimal
    principal: Decimal

    @property
    def total(self) -> Decimal:
        return self.penalty + self.interest + self.principal


#: What a person reads for an instalment's ``status`` (the status itself is a code: pages style rows by it).
SCHEDULE_STATUS_LABELS = {"superseded": _l("superseded"), "interest cancelled": _l("interest cancelled"),
                          "paid": _l("paid"), "written off": _l("written off"), "overdue": _l("overdue"),
                          "partly paid": _l("partly paid"), "due": _l("due"),
                          "settled by guarantees": _l("settled by the guarantees")}


@dataclass(frozen=True)
class ScheduleRow:
    """One instalment of a loan's schedule (superseded ones included) and what was paid on it."""

    instalment_id: int
    number: int
    due_date: date
    principal: Decimal
    interest: Decimal           # as scheduled
    interest_cancelled: Decimal
    penalty: Decimal            # assessed
    principal_paid: Decimal
    interest_paid: Decimal
    penalty_paid: Decimal
    unpaid: Decimal             # principal, interest and penalty still owed on it
    days_late: int
    superseded: bool
    status: str
    payments: tuple[PaymentOnInstalment, ...] = field(default_factory=tuple)

    @property
    def status_label(self) -> str:
        """The status in the language being answered in."""
        label = SCHEDULE_STATUS_LABELS.get(self.status)
        return self.status if label is None else str(label)

    @property
    def due(self) -> Decimal:
        return self.principal + self.interest - self.interest_cancelled + self.penalty

    @property
    def paid(self) -> Decimal:
        return self.principal_paid + self.interest_paid + self.penalty_paid


def schedule_with_payments(loan: Loan, as_of: date | None = None) -> list[ScheduleRow]:
    """Each instalment of the loan in order, with what was paid on it (per repayment), what is unpaid, its days
    late (on ``as_of`` if given, else as the daily job last wrote them) and a status label: paid, interest
    cancelled, superseded, written off, settled by guarantees, overdue, partly paid, due."""
    instalments = _instalments(loan)
    payments: dict[int, list[PaymentOnInstalment]] = defaultdict(list)
    if instalments:
        rows = db.session.execute(
            select(RepaymentPart, Repayment).join(Repayment, Repayment.id == RepaymentPart.repayment_id)
            .where(Repayment.loan_id == loan.id).order_by(Repayment.value_date, Repayment.id, RepaymentPart.id))
        for part, repayment in rows:
            payments[part.instalment_id].append(PaymentOnInstalment(
                repayment.id, repayment.value_date, repayment.bank_reference, part.penalty, part.interest,
                part.principal))
    result = []
    for i in instalments:
        unpaid = i.unpaid + (i.penalty_assessed - i.penalty_paid)
        if loan.status == LoanStatus.CLOSED:
            days = 0  # a loan settled by its guarantees keeps its unpaid instalments; it is not late
        elif as_of is not None:
            days = max((as_of - i.due_date).days, 0) if unpaid > 0 else 0
        else:
            days = i.days_late
        if i.superseded:
            status = "superseded"
        elif unpaid <= 0:
            status = "interest cancelled" if i.interest_cancelled > 0 and i.principal_paid == i.principal \
                and i.interest_paid == 0 else "paid"
        elif loan.status == LoanStatus.WRITTEN_OFF:
            status = "written off"
        elif loan.status == LoanStatus.CLOSED:
            status = "settled by guarantees"
        elif days > 0 or (as_of is None and i.overdue):
            status = "overdue"
        elif i.principal_paid + i.interest_paid + i.penalty_paid > 0:
            status = "partly paid"
        else:
            status = "due"
        result.append(ScheduleRow(
            instalment_id=i.id, number=i.number, due_date=i.due_date, principal=i.principal, interest=i.interest,
            interest_cancelled=i.interest_cancelled, penalty=i.penalty_assessed, principal_paid=i.principal_paid,
            interest_paid=i.interest_paid, penalty_paid=i.penalty_paid, unpaid=unpaid, days_late=days,
            superseded=i.superseded, status=status, payments=tuple(payments.get(i.id, ())),
        ))
    return result
