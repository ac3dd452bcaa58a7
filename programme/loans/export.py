"""The loans' Excel exports: the loan book (one row per loan, stated as of a day) and one loan's schedule with
what was paid on each instalment, its repayments and its events.

Written in streaming mode (core.spreadsheets.StreamingWorkbook): the loan book reads its rows in batches
(``yield_per``) and writes each as it comes, so memory stays flat however many loans. Amounts are Decimal cells
with the money format, never a float. The callers (the loan pages) check who may download them.

The loan book's outstanding principal, credit, written-off and recovered amounts are the ledger's balances as of
the day (the loan's accounts, lines with a value date on or before it), so the book agrees with the trial balance
of that day; days late and the arrears bucket are those of the oldest current instalment still unpaid (as
recorded now) that fell due before the day; the status is the loan's status now.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any, BinaryIO

from sqlalchemy import and_, case, func, literal, or_, select

from programme.accounts.models import Organisation
from programme.core.db import cents, from_cents
from programme.core.spreadsheets import Money, StreamingWorkbook
from programme.core.texts import N_
from programme.core.texts import gettext as _
from programme.extensions import db
from programme.funding.models import Initiative
from programme.ledger.models import Account, AccountKind, JournalEntry, JournalLine
from programme.loans.allocation import arrears_bucket
from programme.loans.models import (
    Loan,
    LoanEvent,
    LoanInstalment,
    LoanStatus,
    Repayment,
    RepaymentPart,
    RevolvingFund,
)

ZERO = Decimal("0.00")
CENT = Decimal("0.01")


#: The sheets' names and the loan book's headings, in English; each workbook writes them in the language of the
#: person asking (``_``).
LOAN_BOOK = N_("Loan book")
LOAN = N_("Loan")
SCHEDULE = N_("Schedule")
REPAYMENTS = N_("Repayments")
PARTS = N_("Repayment parts")
EVENTS = N_("Events")
_BATCH = 1000

LOAN_BOOK_HEADERS = [
    N_("Loan"), N_("Fund"), N_("Initiative"), N_("Borrower"), N_("Currency"), N_("Principal"), N_("Annual rate"),
    N_("Term (periods)"), N_("Grace periods"), N_("Grace"), N_("Method"), N_("Frequency"), N_("First due"),
    N_("Disbursed on"), N_("Outstanding"), N_("Credit"), N_("Days late"), N_("Arrears bucket"), N_("Status"),
    N_("Rescheduled"), N_("Written off"), N_("Recovered"),
]


def _yes_no(value: bool) -> str:
    return _("yes") if value else _("no")




def _ledger_as_of(as_of: date) -> Any:
    """Per loan, from its ledger accounts as of the day: principal outstanding (loans_receivable and
    loans_rescheduled, debit-normal), credit (borrower_credit), written off, recovered; in whole cents."""
    net_debit = cents(JournalLine.debit) - cents(JournalLine.credit)

    def of(*kinds: AccountKind, sign: int = 1) -> Any:
        return func.coalesce(func.sum(case((Account.kind.in_(kinds), net_debit * sign), else_=literal(0))), 0)

    return (
        select(Account.owner_id.label("loan_id"),
               of(AccountKind.LOANS_RECEIVABLE, AccountKind.LOANS_RESCHEDULED).label("outstanding"),
               of(AccountKind.BORROWER_CREDIT, sign=-1).label("credit"),
               of(AccountKind.WRITE_OFFS).label("written_off"),
               of(AccountKind.RECOVERIES, sign=-1).label("recovered"))
        .join(JournalLine, JournalLine.account_id == Account.id)
        .join(JournalEntry, JournalEntry.id == JournalLine.entry_id)
        .where(Account.owner_type == "loan", JournalEntry.value_date <= as_of,
               Account.kind.in_((AccountKind.LOANS_RECEIVABLE, AccountKind.LOANS_RESCHEDULED,
                                 AccountKind.BORROWER_CREDIT, AccountKind.WRITE_OFFS, AccountKind.RECOVERIES)))
        .group_by(Account.owner_id)
        .subquery()
    )


def _oldest_late(as_of: date) -> Any:
    """Per loan, the due date of its oldest current instalment still unpaid that fell due before the day."""
    unpaid = or_(LoanInstalment.principal_paid < LoanInstalment.principal,
                 LoanInstalment.interest_paid + LoanInstalment.interest_cancelled < LoanInstalment.interest)
    return (
        select(LoanInstalment.loan_id.label("loan_id"), func.min(LoanInstalment.due_date).label("due"))
        .where(and_(LoanInstalment.superseded.is_(False), LoanInstalment.due_date < as_of, unpaid))
        .group_by(LoanInstalment.loan_id)
        .subquery()
    )


def write_loan_book(target: str | BinaryIO, *, as_of: date, fund_id: int | None = None) -> int:
    """Write the loan book (every loan, or a fund's) as of a day to an .xlsx, one row per loan; returns how many.

    Read in batches and written row by row: memory does not grow with the number of loans."""
    book = StreamingWorkbook()
    sheet = _(LOAN_BOOK)
    book.add_sheet(sheet, [_(heading) for heading in LOAN_BOOK_HEADERS],
                   widths=[12, 12, 36, 32, 9, 14, 10, 9, 8, 12, 15, 11, 11, 11, 14, 12, 9, 9, 12, 11, 12, 12])
    ledger = _ledger_as_of(as_of)
    late = _oldest_late(as_of)
    query = (
        select(Loan.number, Initiative.reference, Initiative.name, Organisation.name, Loan.currency, Loan.principal,
               Loan.annual_rate, Loan.term_periods, Loan.grace_periods, Loan.grace, Loan.method, Loan.frequency,
               Loan.first_due, Loan.disbursed_on, ledger.c.outstanding, ledger.c.credit, late.c.due, Loan.status,
               Loan.rescheduled, ledger.c.written_off, ledger.c.recovered)
        .join(RevolvingFund, RevolvingFund.id == Loan.fund_id)
        .join(Initiative, Initiative.id == RevolvingFund.initiative_id)
        .join(Organisation, Organisation.id == Loan.borrower_id)
        .outerjoin(ledger, ledger.c.loan_id == Loan.id)
        .outerjoin(late, late.c.loan_id == Loan.id)
        .where(Loan.disbursed_on <= as_of)
        .order_by(Loan.number, Loan.id)
        .execution_options(yield_per=_BATCH)
    )
    if fund_id is not None:
        query = query.where(Loan.fund_id == fund_id)
    count = 0
    for (number, fund, initiative, borrower, currency, principal, rate, term, grace_periods, grace, method,
         frequency, first_due, disbursed_on, outstanding, credit, oldest_due, status, rescheduled, written_off,
         recovered) in db.session.execute(query):
        count += 1
        days = (as_of - oldest_due).days if oldest_due is not None and status == LoanStatus.ACTIVE else 0
        book.append(sheet, [
            number, fund, initiative, borrower, currency,
            Money(principal), Decimal(rate), term, grace_periods, grace, method, frequency, first_due,
            disbursed_on, Money(from_cents(outstanding)), Money(from_cents(credit)), days, arrears_bucket(days) or "",
            LoanStatus(status).label, _yes_no(rescheduled), Money(from_cents(written_off)),
            Money(from_cents(recovered)),
        ])
    book.save(target)
    return count


def _status(instalment: LoanInstalment) -> str:
    if instalment.superseded:
        return _("superseded")
    if instalment.unpaid <= 0 and instalment.penalty_paid >= instalment.penalty_assessed:
        return _("paid")
    if instalment.loan.status == LoanStatus.CLOSED:
        return _("settled by the guarantees")
    if instalment.overdue:
        return _("late (%(days)s days)", days=instalment.days_late)
    if instalment.principal_paid or instalment.interest_paid:
        return _("partly paid")
    return _("due")


def write_loan_schedule(target: str | BinaryIO, loan: Loan) -> int:
    """Write one loan to an .xlsx: its terms (sheet "Loan"), its schedule with what was paid on each instalment
    (superseded instalments kept, marked), its repayments with their split, what each paid on which instalment,
    and its events; returns the number of instalments."""
    cur = loan.currency
    book = StreamingWorkbook()
    loan_sheet, schedule_sheet, repayments_sheet, parts_sheet, events_sheet = (
        _(LOAN), _(SCHEDULE), _(REPAYMENTS), _(PARTS), _(EVENTS))
    book.add_sheet(loan_sheet, [_("Field"), _("Value")], widths=[24, 48])
    book.add_sheet(schedule_sheet, [
        _("Instalment"), _("Due date"), _("Principal (%(currency)s)", currency=cur),
        _("Interest (%(currency)s)", currency=cur), _("Instalment (%(currency)s)", currency=cur),
        _("Principal paid (%(currency)s)", currency=cur), _("Interest paid (%(currency)s)", currency=cur),
        _("Interest cancelled (%(currency)s)", currency=cur), _("Penalty assessed (%(currency)s)", currency=cur),
        _("Penalty paid (%(currency)s)", currency=cur), _("Unpaid (%(currency)s)", currency=cur), _("Days late"),
        _("Status"),
    ], widths=[10, 11, 14, 14, 14, 14, 14, 14, 14, 14, 14, 9, 16])
    book.add_sheet(repayments_sheet, [
        _("Value date"), _("Bank reference"), _("Amount (%(currency)s)", currency=cur), _("Source"),
        _("Penalty (%(currency)s)", currency=cur), _("Interest (%(currency)s)", currency=cur),
        _("Principal (%(currency)s)", currency=cur), _("Credit (%(currency)s)", currency=cur),
        _("Recovery (%(currency)s)", currency=cur), _("Recorded (UTC)"), _("Journal entry"),
    ], widths=[11, 24, 14, 16, 12, 12, 14, 12, 12, 17, 10])
    book.add_sheet(parts_sheet, [_("Value date"), _("Bank reference"), _("Instalment"), _("Due date"),
                                 _("Penalty (%(currency)s)", currency=cur), _("Interest (%(currency)s)", currency=cur),
                                 _("Principal (%(currency)s)", currency=cur)], widths=[11, 24, 10, 11, 12, 12, 14])
    book.add_sheet(events_sheet, [_("Date"), _("Event"), _("Amount (%(currency)s)", currency=cur), _("Reason"),
                                  _("By"), _("At (UTC)"), _("Journal entry")],
                   widths=[11, 16, 14, 48, 28, 17, 10])
    fund = db.session.get(RevolvingFund, loan.fund_id)
    facts: list[tuple[str, Any]] = [
        (_("Loan"), loan.number), (_("Fund"), fund.initiative.reference if fund else ""),
        (_("Initiative"), fund.initiative.name if fund else ""),
        (_("Borrower"), loan.borrower.name), (_("Purpose"), loan.purpose),
        (_("Currency"), cur), (_("Principal"), Money(loan.principal)), (_("Annual rate"), Decimal(loan.annual_rate)),
        (_("Term (periods)"), loan.term_periods), (_("Grace periods"), loan.grace_periods), (_("Grace"), loan.grace),
        (_("Method"), loan.method), (_("Frequency"), loan.frequency), (_("Rounding"), loan.rounding),
        (_("First due"), loan.first_due), (_("Disbursed on"), loan.disbursed_on),
        (_("Bank reference"), loan.bank_reference), (_("Status"), loan.status.label),
        (_("Rescheduled"), _yes_no(loan.rescheduled)),
        (_("Principal outstanding"), Money(loan.principal_outstanding)), (_("Credit"), Money(loan.credit)),
        (_("Days late"), loan.days_late), (_("Arrears bucket"), loan.arrears_bucket or ""),
        (_("Written off"), Money(loan.written_off)), (_("Recovered"), Money(loan.recovered)),
        (_("Closed on"), loan.closed_on),
    ]
    for name, value in facts:
        book.append(loan_sheet, [name, value])
    count = 0
    instalments = db.session.scalars(select(LoanInstalment).where(LoanInstalment.loan_id == loan.id)
                                     .order_by(LoanInstalment.number)
                                     .execution_options(yield_per=_BATCH))
    for i in instalments:
        count += 1
        book.append(schedule_sheet, [
            i.number, i.due_date, Money(i.principal), Money(i.interest), Money(i.principal + i.interest),
            Money(i.principal_paid), Money(i.interest_paid), Money(i.interest_cancelled), Money(i.penalty_assessed),
            Money(i.penalty_paid), Money(i.unpaid + i.penalty_assessed - i.penalty_paid), i.days_late, _status(i),
        ])
    repayments = db.session.scalars(select(Repayment).where(Repayment.loan_id == loan.id)
                                    .order_by(Repayment.value_date, Repayment.id))
    for r in repayments:
        book.append(repayments_sheet, [
            r.value_date, r.bank_reference, Money(r.amount), r.source.label,
            Money(r.penalty), Money(r.interest), Money(r.principal), Money(r.credit), Money(r.recovery),
            r.recorded_at, r.journal_entry_id,
        ])
    parts = db.session.execute(
        select(Repayment.value_date, Repayment.bank_reference, LoanInstalment.number, LoanInstalment.due_date,
               RepaymentPart.penalty, RepaymentPart.interest, RepaymentPart.principal)
        .join(Repayment, Repayment.id == RepaymentPart.repayment_id)
        .join(LoanInstalment, LoanInstalment.id == RepaymentPart.instalment_id)
        .where(Repayment.loan_id == loan.id)
        .order_by(Repayment.value_date, Repayment.id, LoanInstalment.number))
    for value_date, reference, number, due, penalty, interest, principal in parts:
        book.append(parts_sheet, [value_date, reference, number, due, Money(penalty), Money(interest),
                            Money(principal)])
    events = db.session.scalars(select(LoanEvent).where(LoanEvent.loan_id == loan.id)
                                .order_by(LoanEvent.on_date, LoanEvent.id))
    for e in events:
        book.append(events_sheet, [
            e.on_date, e.kind.label, Money(e.amount) if e.amount is not None else None, e.reason,
            e.actor_label, e.at, e.journal_entry_id,
        ])
    book.save(target)
    return count
