"""Changing an active loan, or paying its borrower back: rescheduling, writing off, refunding the credit.

**Reschedule** (``loan:<id>:rescheduled``, once: Dr loans_rescheduled:loan, Cr loans_receivable:loan): the
instalments with anything unpaid are superseded (kept, with what was paid on them); a new schedule on the
outstanding principal, with the new terms, is numbered after them. The unpaid interest and penalties of
superseded instalments already due are carried onto the first new instalment, so nothing owed is forgotten.
The loan's terms become the new ones (the old ones are in the audit log).

**Write-off** and **refund** are four-eyes decisions: a fund administrator asks for one and a second person
approves it (``approvals``); only the approval posts, through ``_write_off_now`` / ``_refund_now`` here.

**Write-off** (``loan:<id>:written_off``: Dr write_offs:loan, Cr loans_receivable or loans_rescheduled:loan):
the whole outstanding principal; what is repaid afterwards is a recovery.

**Refund** (``credit_refund:<bank reference>``: Dr borrower_credit:loan, Cr revolving_fund_cash:fund): the
credit held for the borrower, under a lock on the fund, never more than its cash.
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import select

from programme.core import audit
from programme.core.access import Actor, RuleViolation, require_role
from programme.core.texts import gettext as _
from programme.core.timezone import format_day, local_date
from programme.extensions import db
from programme.ledger.models import AccountKind, JournalEntry
from programme.ledger.posting import credit, debit
from programme.loans.models import Loan, LoanEvent, LoanEventKind, LoanInstalment, LoanStatus
from programme.loans.schedule import LoanTerms, build_schedule
from programme.loans.services._common import (
    HANDLERS,
    ZERO,
    _a_date,
    _account,
    _assess,
    _cash_low_from,
    _check_terms,
    _event,
    _instalments,
    _last_repayment,
    _lock_fund,
    _lock_loan,
    _money_of,
    _post,
    _receivable_kind,
    _reference,
    _refuse_back_dated,
    _rules,
    _state,
)
from programme.loans.services.funds import fund_cash
from programme.loans.services.guarantees import refuse_after_call, refuse_write_off_while_guaranteed


def _reason(reason: str | None, what: str) -> str:
    reason = (reason or "").strip()
    if not reason:
        missing = {"reschedule": _("Give the reason for the reschedule."),
                   "write_off": _("Give the reason for the write-off."),
                   "refund": _("Give the reason for the refund.")}
        raise RuleViolation(missing.get(what, _("Give the reason.")), field="reason")
    return reason


def _must_be_active(loan: Loan, what: str) -> None:
    if loan.status != LoanStatus.ACTIVE:
        named = {"number": loan.number, "status": loan.status.label.lower()}
        if what == "rescheduled":
            raise RuleViolation(_("%(number)s is %(status)s; only an active loan can be rescheduled.", **named))
        raise RuleViolation(_("%(number)s is %(status)s; only an active loan can be written off.", **named))


def reschedule_loan(loan: Loan, *, term_periods: int, first_due: date, reason: str, actor: Actor, now: datetime,
                    annual_rate: object | None = None, grace_periods: int = 0, grace: str = "none",
                    method: str | None = None, frequency: str | None = None, timezone: str) -> LoanEvent:
    """Give an active loan a new schedule (module docstring) on its outstanding principal, with new terms
    within the call's rules (the rate, method and frequency stay as they were unless given). The first time,
    the outstanding principal moves from loans_receivable to loans_rescheduled."""
    require_role(actor, *HANDLERS)
    reason = _reason(reason, "reschedule")
    today = local_date(now, timezone)
    first_due = _a_date(first_due, "first_due", _("Give the first due date of the new schedule."))
    if first_due <= today:
        raise RuleViolation(_("The new schedule's first instalment falls due after today."), field="first_due")
    _lock_loan(loan)
    _must_be_active(loan, "rescheduled")
    refuse_after_call(loan, "reschedule")
    rules = _rules(loan.fund)
    terms = _check_terms(rules, annual_rate=loan.annual_rate if annual_rate is None else annual_rate,
                         term_periods=term_periods, grace_periods=grace_periods, grace=grace,
                         frequency=frequency or loan.frequency, method=method or loan.method)
    _refuse_back_dated(loan, today, "reschedule")
    outstanding = loan.principal_outstanding
    if outstanding <= 0:
        raise RuleViolation(_("%(number)s has no principal outstanding to reschedule.", number=loan.number))
    instalments = _instalments(loan, current_only=True)
    _assess(loan, instalments, today)
    carried_interest = carried_penalty = ZERO
    for instalment in instalments:
        state = _state(instalment)
        penalty_left = instalment.penalty_assessed - instalment.penalty_paid
        if state.unpaid <= 0 and penalty_left <= 0:
            continue
        instalment.superseded = True
        instalment.overdue = False
        instalment.days_late = 0
        instalment.arrears_bucket = None
        if instalment.due_date <= today:
            carried_interest += state.interest_due
        carried_penalty += penalty_left
    schedule = build_schedule(LoanTerms(
        principal=outstanding, annual_rate=terms.annual_rate, term_periods=terms.term_periods, first_due=first_due,
        currency=loan.currency, grace_periods=terms.grace_periods, grace=terms.grace,  # type: ignore[arg-type]
        frequency=terms.frequency, method=terms.method, rounding=loan.rounding,  # type: ignore[arg-type]
    ))
    start = max((i.number for i in _instalments(loan)), default=0)
    for index, line in enumerate(schedule):
        db.session.add(LoanInstalment(
            loan_id=loan.id, number=start + line.number, due_date=line.due_date, principal=line.principal,
            interest=line.interest + (carried_interest if index == 0 else ZERO),
            penalty_assessed=carried_penalty if index == 0 else ZERO,
        ))
    entry = None
    if not loan.rescheduled:
        entry = _post(
            [debit(_account(AccountKind.LOANS_RESCHEDULED, "loan", loan.id, loan.currency), outstanding),
             credit(_account(AccountKind.LOANS_RECEIVABLE, "loan", loan.id, loan.currency), outstanding)],
            description=f"{loan.number} rescheduled: {reason}", value_date=today,
            idempotency_key=f"loan:{loan.id}:rescheduled", actor=actor, source=("Loan", loan.id), now=now)
        loan.rescheduled = True
    old = {"annual_rate": str(loan.annual_rate), "term_periods": loan.term_periods,
           "grace_periods": loan.grace_periods, "grace": loan.grace, "frequency": loan.frequency,
           "method": loan.method, "first_due": loan.first_due.isoformat()}
    loan.annual_rate, loan.term_periods, loan.grace_periods = terms.annual_rate, terms.term_periods, terms.grace_periods
    loan.grace, loan.frequency, loan.method, loan.first_due = terms.grace, terms.frequency, terms.method, first_due
    loan.days_late = 0
    loan.arrears_bucket = None
    event = _event(loan, LoanEventKind.RESCHEDULED, on_date=today, actor=actor, now=now, reason=reason,
                   amount=outstanding, entry=entry)
    db.session.flush()
    db.session.expire(loan, ["instalments"])  # a view-only collection: reload it with the new instalments
    audit.record(db.session, actor, "loans.loan_rescheduled", loan, number=loan.number, reason=reason,
                 outstanding=str(outstanding), old=old, carried_interest=str(carried_interest),
                 carried_penalty=str(carried_penalty),
                 new={"annual_rate": str(terms.annual_rate), "term_periods": terms.term_periods,
                      "grace_periods": terms.grace_periods, "grace": terms.grace, "frequency": terms.frequency,
                      "method": terms.method, "first_due": first_due.isoformat()},
                 journal_entry=entry.id if entry is not None else None)
    return event


def _write_off_now(loan: Loan, *, reason: str, on_date: date, actor: Actor, now: datetime,
                   timezone: str) -> LoanEvent:
    """Write off an active loan's whole outstanding principal (Dr write_offs:loan, Cr loans_receivable or
    loans_rescheduled:loan); what is repaid afterwards is a recovery. Four eyes: only ``approvals`` calls this,
    when a second person approves a write-off one fund administrator asked for (it checks who may)."""
    reason = _reason(reason, "write_off")
    on_date = _a_date(on_date, "on_date", _("Give the date of the write-off."))
    if on_date > local_date(now, timezone):
        raise RuleViolation(_("The date %(day)s is in the future.", day=format_day(on_date)), field="on_date")
    _lock_loan(loan)
    _must_be_active(loan, "written off")
    refuse_write_off_while_guaranteed(loan)
    if on_date < loan.disbursed_on:
        raise RuleViolation(_("The date %(day)s is before %(number)s was paid out.", day=format_day(on_date),
                              number=loan.number), field="on_date")
    _refuse_back_dated(loan, on_date, "write_off")
    amount = loan.principal_outstanding
    if amount <= 0:
        raise RuleViolation(_("%(number)s has no principal outstanding to write off.", number=loan.number))
    entry = _post([debit(_account(AccountKind.WRITE_OFFS, "loan", loan.id, loan.currency), amount),
                   credit(_account(_receivable_kind(loan), "loan", loan.id, loan.currency), amount)],
                  description=f"{loan.number} written off: {reason}", value_date=on_date,
                  idempotency_key=f"loan:{loan.id}:written_off", actor=actor, source=("Loan", loan.id), now=now)
    loan.written_off = amount
    loan.principal_outstanding = ZERO
    loan.status = LoanStatus.WRITTEN_OFF
    loan.days_late = 0
    loan.arrears_bucket = None
    event = _event(loan, LoanEventKind.WRITTEN_OFF, on_date=on_date, actor=actor, now=now, reason=reason,
                   amount=amount, entry=entry)
    db.session.flush()
    audit.record(db.session, actor, "loans.loan_written_off", loan, number=loan.number, reason=reason,
                 amount=str(amount), on_date=on_date.isoformat(), journal_entry=entry.id)
    return event


def _refund_now(loan: Loan, *, bank_reference: str, value_date: date, actor: Actor, now: datetime,
                timezone: str) -> LoanEvent:
    """Pay the borrower back the credit held for them (Dr borrower_credit:loan, Cr revolving_fund_cash:fund).
    The same bank reference again for the same loan returns the refund already recorded. Four eyes: only
    ``approvals`` calls this, when a second person approves a refund one fund administrator asked for."""
    reference = _reference(bank_reference)
    value_date = _a_date(value_date, "value_date", _("Give the value date of the transfer."))
    key = f"credit_refund:{reference}"
    _lock_fund(loan.fund)
    _lock_loan(loan)
    done = db.session.scalar(select(LoanEvent).join(JournalEntry, JournalEntry.id == LoanEvent.journal_entry_id)
                             .where(JournalEntry.idempotency_key == key))
    if done is not None:
        if done.loan_id == loan.id:
            return done
        raise RuleViolation(_("The bank reference %(reference)s is already used for a refund on %(number)s.",
                              reference=reference, number=done.loan.number),
                            field="bank_reference")
    if value_date > local_date(now, timezone):
        raise RuleViolation(_("The value date %(day)s is in the future.", day=format_day(value_date)),
                            field="value_date")
    amount = loan.credit
    if amount <= 0:
        raise RuleViolation(_("%(number)s holds no credit for its borrower.", number=loan.number))
    last = _last_repayment(loan)
    if last is not None and value_date < last.value_date:
        raise RuleViolation(_("The refund is dated before the repayment of %(day)s that made the credit.",
                              day=format_day(last.value_date)), field="value_date")
    cash_now = fund_cash(loan.fund)
    low, low_on = _cash_low_from(loan.fund, value_date)
    if amount > min(cash_now, low):
        raise RuleViolation(_("The fund has only %(cash)s in cash; it cannot refund %(amount)s.",
                              cash=_money_of(min(cash_now, low), loan.currency),
                              amount=_money_of(amount, loan.currency)), field="value_date")
    entry = _post([debit(_account(AccountKind.BORROWER_CREDIT, "loan", loan.id, loan.currency), amount),
                   credit(_account(AccountKind.REVOLVING_FUND_CASH, "fund", loan.fund_id, loan.currency), amount)],
                  description=f"Credit on {loan.number} refunded to {loan.borrower.name} (bank {reference})",
                  value_date=value_date, idempotency_key=key, actor=actor, source=("Loan", loan.id), now=now)
    loan.credit = ZERO
    event = _event(loan, LoanEventKind.CREDIT_REFUNDED, on_date=value_date, actor=actor, now=now,
                   reason=f"Bank reference {reference}", amount=amount, entry=entry)
    db.session.flush()
    audit.record(db.session, actor, "loans.credit_refunded", loan, number=loan.number, amount=str(amount),
                 value_date=value_date.isoformat(), bank_reference=reference, journal_entry=entry.id)
    return event
