"""What the loans' flow modules share: who handles and who sees the money, reading and checking the inputs
(bank reference, dates, amounts, rates), locking a fund's or a loan's row, a loan's instalments and their
states, posting an entry and writing a loan event, the fund's lowest cash from a date, the terms checked
against the call's rules, and the ordering and penalty rules of a loan's repayments. Private to
``programme.loans.services``: the public names here are re-exported by the package."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import func, select

from programme.core.access import Actor, Role, RuleViolation
from programme.core.db import cents
from programme.core.money import MoneyError, format_money, parse_amount, to_decimal
from programme.core.texts import gettext as _
from programme.core.timezone import format_day
from programme.extensions import db
from programme.ledger.domain import BankReferenceError
from programme.ledger.domain import bank_reference as checked_bank_reference
from programme.ledger.models import Account, AccountKind, JournalEntry, JournalLine, LedgerError
from programme.ledger.posting import Line, get_account, get_or_create_account, post_entry
from programme.loans.allocation import InstalmentState, penalty_amount
from programme.loans.models import (
    Loan,
    LoanEvent,
    LoanEventKind,
    LoanInstalment,
    LoanStatus,
    Repayment,
    RevolvingFund,
)
from programme.loans.schedule import MONTHS_PER_PERIOD
from programme.rulebook.schema import Loans as LoanRules

ZERO = Decimal("0.00")
#: Who handles a fund's money (capitalise, lend, record repayments, reschedule, write off, refund).
HANDLERS = (Role.FUND_ADMINISTRATOR,)
#: Who may see funds and loans at all (applicants only their own group's).
VIEWERS = (Role.FUND_ADMINISTRATOR, Role.PROGRAMME_MANAGER, Role.AUDITOR, Role.APPLICANT)
RATE_PLACES = 6


def _reference(value: str | None) -> str:
    try:
        return checked_bank_reference(value)
    except BankReferenceError as error:
        raise RuleViolation(str(error), field="bank_reference") from None


def _a_date(value: object, field_name: str, missing: object) -> date:
    """The date given, else a RuleViolation saying ``missing`` (a whole sentence, marked: "Give the ... .")."""
    if not isinstance(value, date) or isinstance(value, datetime):
        raise RuleViolation(str(missing), field=field_name)
    return value


def _money(value: object, currency: str, field_name: str = "amount") -> Decimal:
    try:
        return parse_amount(value, currency)
    except MoneyError as error:
        raise RuleViolation(str(error), field=field_name) from None


def _percent(rate: Decimal) -> str:
    return f"{(rate * 100).normalize():f} %"


def _money_of(value: Decimal, currency: str) -> str:
    return format_money(value, currency)


def _rules(fund: RevolvingFund) -> LoanRules:
    return fund.initiative.call.rules.funding.loans


def _lock_fund(fund: RevolvingFund) -> RevolvingFund:
    db.session.execute(select(RevolvingFund.id).where(RevolvingFund.id == fund.id).with_for_update())
    return fund


def _lock_loan(loan: Loan) -> Loan:
    """Lock the loan's row and reload it: another session may have changed it before we got the lock."""
    db.session.execute(select(Loan.id).where(Loan.id == loan.id).with_for_update())
    db.session.refresh(loan)
    return loan


def _instalments(loan: Loan, *, current_only: bool = False) -> list[LoanInstalment]:
    query = select(LoanInstalment).where(LoanInstalment.loan_id == loan.id)
    if current_only:
        query = query.where(LoanInstalment.superseded.is_(False))
    return list(db.session.scalars(query.order_by(LoanInstalment.number)
                                    .execution_options(populate_existing=True)))


def _state(instalment: LoanInstalment) -> InstalmentState:
    return InstalmentState(
        number=instalment.number, due_date=instalment.due_date, principal=instalment.principal,
        interest=instalment.interest - instalment.interest_cancelled, principal_paid=instalment.principal_paid,
        interest_paid=instalment.interest_paid, penalty_paid=instalment.penalty_paid,
    )


def _receivable_kind(loan: Loan) -> AccountKind:
    return AccountKind.LOANS_RESCHEDULED if loan.rescheduled else AccountKind.LOANS_RECEIVABLE


def _account(kind: AccountKind, owner_type: str, owner_id: int, currency: str) -> Account:
    return get_or_create_account(kind, owner_type, owner_id, currency)


def _post(lines: list[Line], **kwargs: Any) -> JournalEntry:
    try:
        return post_entry(lines=[line for line in lines if line.debit > 0 or line.credit > 0], **kwargs)
    except LedgerError as error:
        raise RuleViolation(_("The entry cannot be posted: %(error)s", error=error)) from None


def _event(loan: Loan, kind: LoanEventKind, *, on_date: date, actor: Actor, now: datetime, reason: str = "",
           amount: Decimal | None = None, entry: JournalEntry | None = None) -> LoanEvent:
    event = LoanEvent(loan_id=loan.id, kind=kind, reason=reason, amount=amount, on_date=on_date,
                      actor_id=actor.id, actor_label=actor.actor_label, at=now,
                      journal_entry_id=entry.id if entry is not None else None)
    db.session.add(event)
    return event


def _close(loan: Loan, *, on_date: date, reason: str, amount: Decimal, actor: Actor, now: datetime,
           entry: JournalEntry | None = None) -> LoanEvent:
    """Close a loan with nothing outstanding (repaid in full, or settled by its guarantees): status closed on
    ``on_date``, no longer late (the loan and its current instalments: the daily arrears job leaves a closed loan
    alone), and a CLOSED event with the (English) ``reason``."""
    loan.status = LoanStatus.CLOSED
    loan.closed_on = on_date
    loan.days_late = 0
    loan.arrears_bucket = None
    for instalment in _instalments(loan, current_only=True):
        instalment.overdue = False
        instalment.days_late = 0
        instalment.arrears_bucket = None
    return _event(loan, LoanEventKind.CLOSED, on_date=on_date, actor=actor, now=now, reason=reason, amount=amount,
                  entry=entry)


def _cash_low_from(fund: RevolvingFund, day: date) -> tuple[Decimal, date]:
    """The lowest the fund's cash is on ``day`` or any later value date, and the date of that low."""
    account = get_account(AccountKind.REVOLVING_FUND_CASH, "fund", fund.id)
    if account is None:
        return ZERO, day
    net = func.sum(cents(JournalLine.debit) - cents(JournalLine.credit))
    rows = db.session.execute(
        select(JournalEntry.value_date, net).join(JournalLine, JournalLine.entry_id == JournalEntry.id)
        .where(JournalLine.account_id == account.id).group_by(JournalEntry.value_date)
        .order_by(JournalEntry.value_date)).all()
    running = 0
    low: tuple[int, date] | None = None
    for value_date, amount_cents in rows:
        running += int(amount_cents or 0)
        if value_date < day:
            continue
        if low is None or running < low[0]:
            low = (running, value_date)
    before = sum(int(amount_cents or 0) for value_date, amount_cents in rows if value_date <= day)
    if low is None or before <= low[0]:
        low = (before, day)
    return (Decimal(low[0]) / 100).quantize(Decimal("0.01")), low[1]


@dataclass(frozen=True)
class _Terms:
    annual_rate: Decimal
    term_periods: int
    grace_periods: int
    grace: str
    frequency: str
    method: str


def _check_terms(rules: LoanRules, *, annual_rate: object, term_periods: object, grace_periods: object, grace: str,
                 frequency: str, method: str) -> _Terms:
    """The terms, checked against the call's loan rules; RuleViolation naming the field and the limit."""
    try:
        rate = to_decimal(annual_rate)
    except MoneyError:
        raise RuleViolation(_("Give the annual rate as a number (0.04 for 4 %)."), field="annual_rate") from None
    if not rate.is_finite() or rate < 0:
        raise RuleViolation(_("The annual rate must be 0 or more."), field="annual_rate")
    if rate != rate.quantize(Decimal(1).scaleb(-RATE_PLACES)):
        raise RuleViolation(_("The annual rate has more than %(places)s decimal places.", places=RATE_PLACES),
                            field="annual_rate")
    if rate > rules.max_rate:
        raise RuleViolation(_("An annual rate of %(rate)s is above the rules' maximum of %(most)s.",
                              rate=_percent(rate), most=_percent(rules.max_rate)), field="annual_rate")
    if frequency not in MONTHS_PER_PERIOD:
        raise RuleViolation(_("Repayments are monthly or quarterly."), field="frequency")
    if frequency not in rules.frequencies:
        raise RuleViolation(_("The rules do not allow %(frequency)s repayments (only %(allowed)s).",
                              frequency=_frequency_word(frequency),
                              allowed=", ".join(_frequency_word(f) for f in rules.frequencies)), field="frequency")
    if method not in ("annuity", "equal_principal"):
        raise RuleViolation(_("The method is annuity or equal principal."), field="method")
    if method not in rules.methods:
        raise RuleViolation(_("The rules do not allow the %(method)s method (only %(allowed)s).",
                              method=_method_word(method),
                              allowed=", ".join(_method_word(m) for m in rules.methods)), field="method")
    if isinstance(term_periods, bool) or not isinstance(term_periods, int) or term_periods < 1:
        raise RuleViolation(_("The term is a whole number of periods, 1 or more."), field="term_periods")
    step = MONTHS_PER_PERIOD[frequency]
    if term_periods * step > rules.max_term_months:
        raise RuleViolation(_("A term of %(months)s months is longer than the rules' maximum of %(most)s months.",
                              months=term_periods * step, most=rules.max_term_months), field="term_periods")
    if grace not in ("none", "interest_only"):
        raise RuleViolation(_("The grace is none or interest only."), field="grace")
    if isinstance(grace_periods, bool) or not isinstance(grace_periods, int) or grace_periods < 0:
        raise RuleViolation(_("The grace is a whole number of periods, 0 or more."), field="grace_periods")
    if grace == "none" and grace_periods:
        raise RuleViolation(_("Choose an interest-only grace for grace periods."), field="grace")
    if grace_periods * step > rules.max_grace_months:
        raise RuleViolation(_("A grace of %(months)s months is longer than the rules' maximum of %(most)s months.",
                              months=grace_periods * step, most=rules.max_grace_months), field="grace_periods")
    return _Terms(rate, term_periods, grace_periods, grace, frequency, method)


def _frequency_word(frequency: str) -> str:
    """A frequency as a sentence names it ("monthly repayments")."""
    words = {"monthly": _("monthly"), "quarterly": _("quarterly")}
    return words.get(frequency, frequency)


def _method_word(method: str) -> str:
    """A method as a sentence names it ("the annuity method")."""
    words = {"annuity": _("annuity"), "equal_principal": _("equal principal")}
    return words.get(method, method.replace("_", " "))


def _last_repayment(loan: Loan) -> Repayment | None:
    return db.session.scalar(select(Repayment).where(Repayment.loan_id == loan.id)
                             .order_by(Repayment.value_date.desc(), Repayment.id.desc()).limit(1))


def _last_change(loan: Loan) -> LoanEvent | None:
    return db.session.scalar(select(LoanEvent).where(
        LoanEvent.loan_id == loan.id,
        LoanEvent.kind.in_((LoanEventKind.RESCHEDULED, LoanEventKind.WRITTEN_OFF)))
        .order_by(LoanEvent.on_date.desc(), LoanEvent.id.desc()).limit(1))


def _refuse_back_dated(loan: Loan, value_date: date, what: str = "repayment") -> None:
    """Refuse a date before the loan's latest repayment, reschedule or write-off (naming it). ``what`` is what is
    being dated: "repayment", "reschedule" or "write_off"."""
    last = _last_repayment(loan)
    if last is not None and value_date < last.value_date:
        named = {"day": format_day(value_date), "amount": _money_of(last.amount, loan.currency),
                 "number": loan.number, "posted": format_day(last.value_date), "reference": last.bank_reference}
        after = _("Repayments are applied in date order: record it with a date on or after that one, or reverse "
                  "the later repayment first.")
        if what == "reschedule":
            said = _("A reschedule dated %(day)s is before the repayment of %(amount)s already posted on %(number)s "
                     "on %(posted)s (bank reference %(reference)s).", **named)
        elif what == "write_off":
            said = _("A write-off dated %(day)s is before the repayment of %(amount)s already posted on %(number)s "
                     "on %(posted)s (bank reference %(reference)s).", **named)
        else:
            said = _("A repayment dated %(day)s is before the repayment of %(amount)s already posted on %(number)s "
                     "on %(posted)s (bank reference %(reference)s).", **named)
        raise RuleViolation(f"{said} {after}", field="value_date")
    change = _last_change(loan)
    if change is not None and value_date < change.on_date:
        named = {"day": format_day(value_date), "number": loan.number, "change": change.kind.label.lower(),
                 "on": format_day(change.on_date)}
        if what == "reschedule":
            said = _("A reschedule dated %(day)s is before %(number)s was %(change)s on %(on)s.", **named)
        elif what == "write_off":
            said = _("A write-off dated %(day)s is before %(number)s was %(change)s on %(on)s.", **named)
        else:
            said = _("A repayment dated %(day)s is before %(number)s was %(change)s on %(on)s.", **named)
        raise RuleViolation(said, field="value_date")


def _assess(loan: Loan, instalments: list[LoanInstalment], value_date: date) -> None:
    """Add the penalties accrued up to ``value_date`` to each late instalment's ``penalty_assessed``."""
    rules = _rules(loan.fund)
    if rules.penalty_rate == 0:
        return
    last = _last_repayment(loan)
    change = _last_change(loan)
    since = max((d for d in (last.value_date if last else None, change.on_date if change else None) if d),
                default=None)
    for instalment in instalments:
        start = instalment.due_date if since is None else max(instalment.due_date, since)
        days = (value_date - start).days
        if days <= 0:
            continue
        state = _state(instalment)
        if state.unpaid <= 0:
            continue
        instalment.penalty_assessed += penalty_amount(state.unpaid, rules.penalty_rate, days, loan.currency,
                                                      loan.rounding)  # type: ignore[arg-type]
