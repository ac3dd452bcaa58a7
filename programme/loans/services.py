"""Operations on revolving funds and their loans: capitalising a fund, lending, repayments (and recoveries after
a write-off), rescheduling, writing off and refunding a borrower's credit. The checks that the cached figures
agree with the ledger are in ``programme.ledger.checks``.

Every movement of money is one balanced journal entry (``programme.ledger``), posted under an idempotency
key, in the same flush as the cached figures it changes (an instalment's ``*_paid``, a loan's
``principal_outstanding`` and ``credit``, its status)::

    capitalise   capitalisation:<bank reference>  Dr revolving_fund_cash:fund    Cr programme_budget:call
    lend         loan:<id>:disbursed              Dr loans_receivable:loan       Cr revolving_fund_cash:fund
    repayment    repayment:<bank reference>       Dr revolving_fund_cash:fund    Cr loans_receivable (or
                                                     loans_rescheduled):loan, interest_income:fund,
                                                     penalty_income:fund, borrower_credit:loan
    recovery     repayment:<bank reference>       Dr revolving_fund_cash:fund    Cr recoveries:loan
    reschedule   loan:<id>:rescheduled            Dr loans_rescheduled:loan      Cr loans_receivable:loan (once)
    write off    loan:<id>:written_off            Dr write_offs:loan             Cr loans_receivable or
                                                                                    loans_rescheduled:loan
    refund       credit_refund:<bank reference>   Dr borrower_credit:loan        Cr revolving_fund_cash:fund

Repayments of a loan are posted in value-date order: one dated before a repayment already posted on the loan
(or before its last reschedule or write-off) is refused with a message naming that repayment, never silently
allocated against a schedule that has moved on.

**Penalties** (when the call's rules have a ``penalty_rate``) are simple interest on an instalment's unpaid
principal and interest while it is late. They are assessed when a repayment is recorded, for the days since
the later of the instalment's due date and the loan's previous repayment (or reschedule), on the unpaid amount,
which no repayment changed in between; ``penalty_assessed`` is their running total.

**Reschedule**: the instalments with anything unpaid are superseded (kept, with what was paid on them); a new
schedule on the outstanding principal, with the new terms, is numbered after them. The unpaid interest and
penalties of superseded instalments already due are carried onto the first new instalment, so nothing owed
is forgotten. The loan's terms become the new ones (the old ones are in the audit log).

Every operation takes the actor and the time explicitly, checks permission, writes the audit log, flushes and
never commits. The fund's row is locked (``FOR UPDATE``) before its cash is read by anything that takes cash
out; the loan's row is locked by anything that changes the loan.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import BigInteger, cast, func, select, text
from sqlalchemy.exc import IntegrityError

from programme.accounts.models import GroupOrganisation, GroupUser, Organisation
from programme.calls.models import Call
from programme.core import audit
from programme.core.access import Actor, NotFound, Role, RuleViolation, require_role
from programme.core.money import MoneyError, format_money, parse_amount, to_decimal
from programme.core.timezone import local_date
from programme.extensions import db
from programme.funding import services as funding
from programme.funding.models import FundingRequest, FundingRequestStatus, Initiative, InitiativeStatus
from programme.ledger.balances import balance
from programme.ledger.domain import BankReferenceError, normal_bank_reference
from programme.ledger.domain import bank_reference as checked_bank_reference
from programme.ledger.models import Account, AccountKind, JournalEntry, JournalLine, LedgerError
from programme.ledger.posting import Line, credit, debit, get_account, get_or_create_account, post_entry
from programme.loans.allocation import Allocation, InstalmentState, allocate, penalty_amount
from programme.loans.models import (
    BankStatementImport,
    Capitalisation,
    Loan,
    LoanEvent,
    LoanEventKind,
    LoanInstalment,
    LoanStatus,
    Repayment,
    RepaymentPart,
    RepaymentSource,
    RevolvingFund,
)
from programme.loans.schedule import MONTHS_PER_PERIOD, LoanTerms, build_schedule
from programme.rulebook.schema import Loans as LoanRules

ZERO = Decimal("0.00")
#: Who handles a fund's money (capitalise, lend, record repayments, reschedule, write off, refund).
HANDLERS = (Role.FUND_ADMINISTRATOR,)
#: Who may see funds and loans at all (applicants only their own group's).
VIEWERS = (Role.FUND_ADMINISTRATOR, Role.PROGRAMME_MANAGER, Role.APPLICANT)
RATE_PLACES = 6


# ---------------------------------------------------------------------------------------------
# Small helpers


def _reference(value: str | None) -> str:
    try:
        return checked_bank_reference(value)
    except BankReferenceError as error:
        raise RuleViolation(str(error), field="bank_reference") from None


def _a_date(value: object, field_name: str, what: str) -> date:
    if not isinstance(value, date) or isinstance(value, datetime):
        raise RuleViolation(f"Give the {what}.", field=field_name)
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
        raise RuleViolation(f"The entry cannot be posted: {error}") from None


def _event(loan: Loan, kind: LoanEventKind, *, on_date: date, actor: Actor, now: datetime, reason: str = "",
           amount: Decimal | None = None, entry: JournalEntry | None = None) -> LoanEvent:
    event = LoanEvent(loan_id=loan.id, kind=kind, reason=reason, amount=amount, on_date=on_date,
                      actor_id=actor.id, actor_label=actor.actor_label, at=now,
                      journal_entry_id=entry.id if entry is not None else None)
    db.session.add(event)
    return event


# ---------------------------------------------------------------------------------------------
# Reading


def existing_fund(initiative: Initiative) -> RevolvingFund | None:
    """The initiative's revolving fund, or None if it has none yet (nothing is created)."""
    return db.session.scalar(select(RevolvingFund).where(RevolvingFund.initiative_id == initiative.id))


def loan_requests_of(fund: RevolvingFund) -> list[FundingRequest]:
    """The fund's initiative's approved funding requests with a loan part, which a new loan may name."""
    return list(db.session.scalars(select(FundingRequest).where(
        FundingRequest.initiative_id == fund.initiative_id, FundingRequest.status == FundingRequestStatus.APPROVED,
        FundingRequest.loan_approved > 0).order_by(FundingRequest.id)))


def fund_of(initiative: Initiative) -> RevolvingFund:
    """The initiative's revolving fund, created (and flushed) if it has none yet."""
    fund = existing_fund(initiative)
    if fund is not None:
        return fund
    try:
        with db.session.begin_nested():
            fund = RevolvingFund(initiative_id=initiative.id, currency=initiative.currency)
            db.session.add(fund)
    except IntegrityError:  # made by another session at the same moment
        fund = db.session.scalar(select(RevolvingFund).where(RevolvingFund.initiative_id == initiative.id))
        if fund is None:
            raise
    return fund


def get_fund(fund_id: int, *, actor: Actor) -> RevolvingFund:
    """One fund; NotFound for an unknown id and for one the actor may not see."""
    fund = db.session.get(RevolvingFund, fund_id)
    if fund is None or not fund.can_view(actor):
        raise NotFound("no such revolving fund")
    return fund


def get_loan(loan_id: int, *, actor: Actor) -> Loan:
    """One loan; NotFound for an unknown id and for one the actor may not see."""
    loan = db.session.get(Loan, loan_id)
    if loan is None or not loan.can_view(actor):
        raise NotFound("no such loan")
    return loan


def loan_by_number(number: str) -> Loan | None:
    """The loan with that number (no access check: for the bank-statement import)."""
    return db.session.scalar(select(Loan).where(Loan.number == " ".join((number or "").split()).upper()))


def find_repayment(bank_reference: str) -> Repayment | None:
    return db.session.scalar(select(Repayment).where(Repayment.bank_reference == normal_bank_reference(
        bank_reference)))


def funds_for(actor: Actor) -> list[RevolvingFund]:
    """The funds the actor may see: all for managers and fund administrators, its groups' for an applicant;
    AccessDenied for anyone else (a reviewer sees none)."""
    require_role(actor, *VIEWERS)
    query = select(RevolvingFund).join(Initiative, Initiative.id == RevolvingFund.initiative_id)
    if not (actor.has_role(Role.PROGRAMME_MANAGER) or actor.has_role(Role.FUND_ADMINISTRATOR)):
        query = query.join(GroupUser, GroupUser.group_id == Initiative.group_id).where(GroupUser.user_id == actor.id)
    return list(db.session.scalars(query.order_by(Initiative.reference)).unique())


def fund_cash(fund: RevolvingFund, as_of: date | None = None) -> Decimal:
    """The fund's cash: the balance of revolving_fund_cash:fund (on ``as_of`` if given)."""
    account = get_account(AccountKind.REVOLVING_FUND_CASH, "fund", fund.id)
    return ZERO if account is None else balance(account, as_of)


def capitalisations_of(fund: RevolvingFund) -> list[Capitalisation]:
    return list(db.session.scalars(
        select(Capitalisation).where(Capitalisation.fund_id == fund.id).order_by(Capitalisation.value_date,
                                                                                  Capitalisation.id)))


def repayments_of(loan: Loan) -> list[Repayment]:
    return list(db.session.scalars(
        select(Repayment).where(Repayment.loan_id == loan.id).order_by(Repayment.value_date, Repayment.id)))


def events_of(loan: Loan) -> list[LoanEvent]:
    return list(db.session.scalars(select(LoanEvent).where(LoanEvent.loan_id == loan.id).order_by(LoanEvent.id)))


def _cash_low_from(fund: RevolvingFund, day: date) -> tuple[Decimal, date]:
    """The lowest the fund's cash is on ``day`` or any later value date, and the date of that low."""
    account = get_account(AccountKind.REVOLVING_FUND_CASH, "fund", fund.id)
    if account is None:
        return ZERO, day
    net = func.sum(cast(func.round(JournalLine.debit * 100), BigInteger)
                   - cast(func.round(JournalLine.credit * 100), BigInteger))
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


# ---------------------------------------------------------------------------------------------
# Capitalising a fund


def capitalise_fund(fund: RevolvingFund, *, amount: object, value_date: date, bank_reference: str, note: str = "",
                    actor: Actor, now: datetime, timezone: str = "UTC") -> Capitalisation:
    """Put programme money into the fund (Dr revolving_fund_cash:fund, Cr programme_budget:call), never more
    than is left of the call's budget. The same bank reference again, for the same fund, amount and date,
    returns the capitalisation already recorded and changes nothing; used otherwise, it is refused."""
    require_role(actor, *HANDLERS)
    currency = fund.currency
    value = _money(amount, currency)
    reference = _reference(bank_reference)
    value_date = _a_date(value_date, "value_date", "value date of the transfer")
    if value_date > local_date(now, timezone):
        raise RuleViolation(f"The value date {value_date:%d %b %Y} is in the future.", field="value_date")
    initiative = fund.initiative
    call = initiative.call
    if initiative.status == InitiativeStatus.TERMINATED:
        raise RuleViolation(f"{initiative.reference} is terminated; nothing more is paid to it.")
    db.session.execute(select(Call.id).where(Call.id == call.id).with_for_update())
    existing = db.session.scalar(select(Capitalisation).where(Capitalisation.bank_reference == reference))
    if existing is not None:
        if existing.fund_id == fund.id and existing.amount == value and existing.value_date == value_date:
            return existing
        raise RuleViolation(f"The bank reference {reference} is already used for a capitalisation of "
                            f"{_money_of(existing.amount, currency)} on {existing.value_date:%d %b %Y}.",
                            field="bank_reference")
    funding.budget_call(call, actor=actor, now=now)
    budget = _account(AccountKind.PROGRAMME_BUDGET, "call", call.id, currency)
    left = balance(budget)
    if value > left:
        raise RuleViolation(f"{_money_of(value, currency)} is more than is left of the budget of {call.reference}: "
                            f"{_money_of(max(left, ZERO), currency)}.", field="amount")
    cash = _account(AccountKind.REVOLVING_FUND_CASH, "fund", fund.id, currency)
    entry = _post([debit(cash, value), credit(budget, value)],
                  description=f"Capitalisation of the revolving fund of {initiative.reference} (bank {reference})",
                  value_date=value_date, idempotency_key=f"capitalisation:{reference}", actor=actor,
                  source=fund, now=now)
    made = Capitalisation(fund_id=fund.id, amount=value, value_date=value_date, bank_reference=reference,
                          note=(note or "").strip(), recorded_by_id=actor.id, recorded_at=now,
                          journal_entry_id=entry.id)
    db.session.add(made)
    db.session.flush()
    audit.record(db.session, actor, "loans.fund_capitalised", made, initiative=initiative.reference,
                 amount=str(value), value_date=value_date.isoformat(), bank_reference=reference,
                 journal_entry=entry.id, budget_left=str(left - value))
    return made


# ---------------------------------------------------------------------------------------------
# Lending


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
        raise RuleViolation("Give the annual rate as a number (0.04 for 4 %).", field="annual_rate") from None
    if not rate.is_finite() or rate < 0:
        raise RuleViolation("The annual rate must be 0 or more.", field="annual_rate")
    if rate != rate.quantize(Decimal(1).scaleb(-RATE_PLACES)):
        raise RuleViolation(f"The annual rate has more than {RATE_PLACES} decimal places.", field="annual_rate")
    if rate > rules.max_rate:
        raise RuleViolation(f"An annual rate of {_percent(rate)} is above the rules' maximum of "
                            f"{_percent(rules.max_rate)}.", field="annual_rate")
    if frequency not in MONTHS_PER_PERIOD:
        raise RuleViolation("Repayments are monthly or quarterly.", field="frequency")
    if frequency not in rules.frequencies:
        raise RuleViolation(f"The rules do not allow {frequency} repayments (only {', '.join(rules.frequencies)}).",
                            field="frequency")
    if method not in ("annuity", "equal_principal"):
        raise RuleViolation("The method is annuity or equal principal.", field="method")
    if method not in rules.methods:
        raise RuleViolation(f"The rules do not allow the {method.replace('_', ' ')} method (only "
                            f"{', '.join(m.replace('_', ' ') for m in rules.methods)}).", field="method")
    if isinstance(term_periods, bool) or not isinstance(term_periods, int) or term_periods < 1:
        raise RuleViolation("The term is a whole number of periods, 1 or more.", field="term_periods")
    step = MONTHS_PER_PERIOD[frequency]
    if term_periods * step > rules.max_term_months:
        raise RuleViolation(f"A term of {term_periods * step} months is longer than the rules' maximum of "
                            f"{rules.max_term_months} months.", field="term_periods")
    if grace not in ("none", "interest_only"):
        raise RuleViolation("The grace is none or interest only.", field="grace")
    if isinstance(grace_periods, bool) or not isinstance(grace_periods, int) or grace_periods < 0:
        raise RuleViolation("The grace is a whole number of periods, 0 or more.", field="grace_periods")
    if grace == "none" and grace_periods:
        raise RuleViolation("Choose an interest-only grace for grace periods.", field="grace")
    if grace_periods * step > rules.max_grace_months:
        raise RuleViolation(f"A grace of {grace_periods * step} months is longer than the rules' maximum of "
                            f"{rules.max_grace_months} months.", field="grace_periods")
    return _Terms(rate, term_periods, grace_periods, grace, frequency, method)


def _new_loan_id() -> int:
    """The next loan id, taken before the row is written: the ledger accounts and the idempotency key of the
    loan's entry name it, and the row needs that entry."""
    if db.session.get_bind().dialect.name == "postgresql":
        return int(db.session.scalar(text("SELECT nextval(pg_get_serial_sequence('loans', 'id'))")))
    return int(db.session.scalar(select(func.coalesce(func.max(Loan.id), 0) + 1)))


def make_loan(fund: RevolvingFund, *, borrower_id: int, principal: object, annual_rate: object, term_periods: int,
              grace_periods: int = 0, grace: str = "none", frequency: str = "monthly", method: str = "annuity",
              first_due: date, disbursed_on: date, bank_reference: str, purpose: str,
              funding_request_id: int | None = None, actor: Actor, now: datetime, timezone: str = "UTC") -> Loan:
    """Lend from the fund to a member organisation of the initiative's group, on terms within the call's rules
    (``annual_rate`` is a fraction: 0.04 for 4 %). Under a lock on the fund, the principal may not exceed its
    cash (on the disbursement date and every later date). Posts Dr loans_receivable:loan, Cr
    revolving_fund_cash:fund and writes the schedule. The same bank reference again, for the same fund,
    borrower and principal, returns the loan already made; used otherwise, it is refused."""
    require_role(actor, *HANDLERS)
    currency = fund.currency
    initiative = fund.initiative
    rules = _rules(fund)
    reference = _reference(bank_reference)
    value = _money(principal, currency, "principal")
    terms = _check_terms(rules, annual_rate=annual_rate, term_periods=term_periods, grace_periods=grace_periods,
                         grace=grace, frequency=frequency, method=method)
    disbursed_on = _a_date(disbursed_on, "disbursed_on", "date the loan is paid out")
    first_due = _a_date(first_due, "first_due", "first due date")
    if disbursed_on > local_date(now, timezone):
        raise RuleViolation(f"The disbursement date {disbursed_on:%d %b %Y} is in the future.", field="disbursed_on")
    if first_due <= disbursed_on:
        raise RuleViolation("The first instalment falls due after the loan is paid out.", field="first_due")
    purpose = (purpose or "").strip()
    if not purpose:
        raise RuleViolation("Say what the loan is for.", field="purpose")
    member = db.session.scalar(select(GroupOrganisation).where(
        GroupOrganisation.group_id == initiative.group_id, GroupOrganisation.organisation_id == borrower_id))
    if member is None:
        raise RuleViolation(f"The borrower must be a member organisation of {initiative.group.name}.",
                            field="borrower_id")
    if funding_request_id is not None:
        request = db.session.get(FundingRequest, funding_request_id)
        if request is None or request.initiative_id != initiative.id:
            raise RuleViolation(f"No such funding request of {initiative.reference}.", field="funding_request_id")
    if initiative.status == InitiativeStatus.TERMINATED:
        raise RuleViolation(f"{initiative.reference} is terminated; nothing more is lent to it.")

    _lock_fund(fund)
    existing = db.session.scalar(select(Loan).where(Loan.bank_reference == reference))
    if existing is not None:
        if existing.fund_id == fund.id and existing.borrower_id == borrower_id and existing.principal == value:
            return existing
        raise RuleViolation(f"The bank reference {reference} is already used for loan {existing.number}.",
                            field="bank_reference")
    cash = fund_cash(fund)
    if value > cash:
        raise RuleViolation(f"{_money_of(value, currency)} is more than the fund's cash: it has "
                            f"{_money_of(cash, currency)}.", field="principal")
    low, low_on = _cash_low_from(fund, disbursed_on)
    if value > low:
        raise RuleViolation(f"{_money_of(value, currency)} is more than the fund had in cash from "
                            f"{disbursed_on:%d %b %Y}: it had {_money_of(low, currency)} on {low_on:%d %b %Y}.",
                            field="disbursed_on")
    schedule = build_schedule(LoanTerms(
        principal=value, annual_rate=terms.annual_rate, term_periods=terms.term_periods, first_due=first_due,
        currency=currency, grace_periods=terms.grace_periods, grace=terms.grace,  # type: ignore[arg-type]
        frequency=terms.frequency, method=terms.method, rounding=rules.rounding,  # type: ignore[arg-type]
    ))
    borrower = db.session.get(Organisation, borrower_id)
    assert borrower is not None
    try:
        with db.session.begin_nested():
            loan_id = _new_loan_id()
            number = f"L-{loan_id:06d}"
            receivable = _account(AccountKind.LOANS_RECEIVABLE, "loan", loan_id, currency)
            cash_account = _account(AccountKind.REVOLVING_FUND_CASH, "fund", fund.id, currency)
            entry = _post([debit(receivable, value), credit(cash_account, value)],
                          description=f"Loan {number} to {borrower.name} from the revolving fund of "
                                      f"{initiative.reference}: {purpose} (bank {reference})",
                          value_date=disbursed_on, idempotency_key=f"loan:{loan_id}:disbursed", actor=actor,
                          source=("Loan", loan_id), now=now)
            loan = Loan(
                id=loan_id, number=number, fund_id=fund.id, borrower_id=borrower_id,
                funding_request_id=funding_request_id, purpose=purpose, currency=currency, principal=value,
                annual_rate=terms.annual_rate, term_periods=terms.term_periods, grace_periods=terms.grace_periods,
                grace=terms.grace, frequency=terms.frequency, method=terms.method, rounding=rules.rounding,
                first_due=first_due, disbursed_on=disbursed_on, bank_reference=reference,
                status=LoanStatus.ACTIVE, principal_outstanding=value, credit=ZERO, created_by_id=actor.id,
                created_at=now, journal_entry_id=entry.id,
            )
            db.session.add(loan)
            db.session.flush()
            db.session.add_all(LoanInstalment(loan_id=loan.id, number=line.number, due_date=line.due_date,
                                              principal=line.principal, interest=line.interest)
                               for line in schedule)
            _event(loan, LoanEventKind.DISBURSED, on_date=disbursed_on, actor=actor, now=now, amount=value,
                   entry=entry)
            db.session.flush()
    except IntegrityError:
        # Another session used the same reference for another loan and committed first.
        other = db.session.scalar(select(Loan).where(Loan.bank_reference == reference))
        if other is not None:
            raise RuleViolation(f"The bank reference {reference} is already used for loan {other.number}.",
                                field="bank_reference") from None
        raise
    db.session.expire(fund, ["loans"])  # a view-only collection: reload it with the new loan
    audit.record(db.session, actor, "loans.loan_made", loan, number=loan.number, initiative=initiative.reference,
                 borrower=borrower.name, principal=str(value), annual_rate=str(terms.annual_rate),
                 term_periods=terms.term_periods, grace_periods=terms.grace_periods, grace=terms.grace,
                 frequency=terms.frequency, method=terms.method, first_due=first_due.isoformat(),
                 disbursed_on=disbursed_on.isoformat(), bank_reference=reference, journal_entry=entry.id,
                 cash_left=str(cash - value))
    return loan


# ---------------------------------------------------------------------------------------------
# Repayments


def _last_repayment(loan: Loan) -> Repayment | None:
    return db.session.scalar(select(Repayment).where(Repayment.loan_id == loan.id)
                             .order_by(Repayment.value_date.desc(), Repayment.id.desc()).limit(1))


def _last_change(loan: Loan) -> LoanEvent | None:
    return db.session.scalar(select(LoanEvent).where(
        LoanEvent.loan_id == loan.id,
        LoanEvent.kind.in_((LoanEventKind.RESCHEDULED, LoanEventKind.WRITTEN_OFF)))
        .order_by(LoanEvent.on_date.desc(), LoanEvent.id.desc()).limit(1))


def _refuse_back_dated(loan: Loan, value_date: date, what: str = "A repayment") -> None:
    """Refuse a date before the loan's latest repayment, reschedule or write-off (naming it)."""
    last = _last_repayment(loan)
    if last is not None and value_date < last.value_date:
        raise RuleViolation(
            f"{what} dated {value_date:%d %b %Y} is before the repayment of {_money_of(last.amount, loan.currency)} "
            f"already posted on {loan.number} on {last.value_date:%d %b %Y} (bank reference {last.bank_reference}). "
            "Repayments are applied in date order: record it with a date on or after that one, or reverse the "
            "later repayment first.", field="value_date")
    change = _last_change(loan)
    if change is not None and value_date < change.on_date:
        raise RuleViolation(f"{what} dated {value_date:%d %b %Y} is before {loan.number} was "
                            f"{change.kind.label.lower()} on {change.on_date:%d %b %Y}.", field="value_date")


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


def record_repayment(loan: Loan, *, amount: object, value_date: date, bank_reference: str, actor: Actor,
                     now: datetime, source: RepaymentSource = RepaymentSource.MANUAL,
                     statement: BankStatementImport | None = None, timezone: str = "UTC") -> Repayment:
    """Record money the borrower paid. On an active loan it is allocated penalties (if the rules have them),
    interest, principal, oldest instalment first; what is left after the whole loan is repaid is a credit,
    and a full repayment closes the loan (the future interest is cancelled). On a written-off loan it is a
    recovery, never more than written off less recovered. The same reference again with the same loan, amount
    and date returns the repayment already recorded; used otherwise, it is refused."""
    require_role(actor, *HANDLERS)
    currency = loan.currency
    value = _money(amount, currency)
    reference = _reference(bank_reference)
    value_date = _a_date(value_date, "value_date", "value date of the transfer")
    _lock_loan(loan)

    existing = find_repayment(reference)
    if existing is not None:
        if existing.loan_id == loan.id and existing.amount == value and existing.value_date == value_date:
            return existing
        raise RuleViolation(
            f"The bank reference {reference} is already used for a repayment of "
            f"{_money_of(existing.amount, currency)} on {existing.loan.number} dated "
            f"{existing.value_date:%d %b %Y}.", field="bank_reference")
    if value_date > local_date(now, timezone):
        raise RuleViolation(f"The value date {value_date:%d %b %Y} is in the future.", field="value_date")
    if value_date < loan.disbursed_on:
        raise RuleViolation(f"The value date {value_date:%d %b %Y} is before {loan.number} was paid out on "
                            f"{loan.disbursed_on:%d %b %Y}.", field="value_date")
    if loan.status == LoanStatus.CLOSED:
        raise RuleViolation(f"{loan.number} was repaid in full on {loan.closed_on:%d %b %Y}; nothing more is "
                            "due on it.", field="amount")
    _refuse_back_dated(loan, value_date)

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
            raise RuleViolation(f"{_money_of(value, currency)} is more than can be recovered on {loan.number}: "
                                f"{_money_of(left, currency)} of the {_money_of(loan.written_off, currency)} "
                                "written off is not yet recovered.", field="amount")
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
            raise RuleViolation(f"The bank reference {reference} is already used for a repayment on "
                                f"{other.loan.number}.", field="bank_reference") from None
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
            loan.status = LoanStatus.CLOSED
            loan.closed_on = value_date
            loan.days_late = 0
            loan.arrears_bucket = None
            _event(loan, LoanEventKind.CLOSED, on_date=value_date, actor=actor, now=now,
                   reason="Repaid in full", amount=loan.principal)
    db.session.flush()
    audit.record(db.session, actor, "loans.recovery_recorded" if allocation is None else "loans.repayment_recorded",
                 repayment, loan=loan.number, amount=str(value), value_date=value_date.isoformat(),
                 bank_reference=reference, source=source.value, penalty=str(repayment.penalty),
                 interest=str(repayment.interest), principal=str(repayment.principal), credit=str(repayment.credit),
                 recovery=str(repayment.recovery), closed=loan.status == LoanStatus.CLOSED,
                 journal_entry=entry.id)
    return repayment


# ---------------------------------------------------------------------------------------------
# Reschedule, write-off, refund


def _reason(reason: str | None, what: str) -> str:
    reason = (reason or "").strip()
    if not reason:
        raise RuleViolation(f"Give the reason for the {what}.", field="reason")
    return reason


def _must_be_active(loan: Loan, what: str) -> None:
    if loan.status != LoanStatus.ACTIVE:
        raise RuleViolation(f"{loan.number} is {loan.status.label.lower()}; only an active loan can be {what}.")


def reschedule_loan(loan: Loan, *, term_periods: int, first_due: date, reason: str, actor: Actor, now: datetime,
                    annual_rate: object | None = None, grace_periods: int = 0, grace: str = "none",
                    method: str | None = None, frequency: str | None = None, timezone: str = "UTC") -> LoanEvent:
    """Give an active loan a new schedule (module docstring) on its outstanding principal, with new terms
    within the call's rules (the rate, method and frequency stay as they were unless given). The first time,
    the outstanding principal moves from loans_receivable to loans_rescheduled."""
    require_role(actor, *HANDLERS)
    reason = _reason(reason, "reschedule")
    today = local_date(now, timezone)
    first_due = _a_date(first_due, "first_due", "first due date of the new schedule")
    if first_due <= today:
        raise RuleViolation("The new schedule's first instalment falls due after today.", field="first_due")
    _lock_loan(loan)
    _must_be_active(loan, "rescheduled")
    rules = _rules(loan.fund)
    terms = _check_terms(rules, annual_rate=loan.annual_rate if annual_rate is None else annual_rate,
                         term_periods=term_periods, grace_periods=grace_periods, grace=grace,
                         frequency=frequency or loan.frequency, method=method or loan.method)
    _refuse_back_dated(loan, today, "A reschedule")
    outstanding = loan.principal_outstanding
    if outstanding <= 0:
        raise RuleViolation(f"{loan.number} has no principal outstanding to reschedule.")
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


def write_off_loan(loan: Loan, *, reason: str, on_date: date, actor: Actor, now: datetime,
                   timezone: str = "UTC") -> LoanEvent:
    """Write off an active loan's whole outstanding principal (Dr write_offs:loan, Cr loans_receivable or
    loans_rescheduled:loan); what is repaid afterwards is a recovery."""
    require_role(actor, *HANDLERS)
    reason = _reason(reason, "write-off")
    on_date = _a_date(on_date, "on_date", "date of the write-off")
    if on_date > local_date(now, timezone):
        raise RuleViolation(f"The date {on_date:%d %b %Y} is in the future.", field="on_date")
    _lock_loan(loan)
    _must_be_active(loan, "written off")
    if on_date < loan.disbursed_on:
        raise RuleViolation(f"The date {on_date:%d %b %Y} is before {loan.number} was paid out.", field="on_date")
    _refuse_back_dated(loan, on_date, "A write-off")
    amount = loan.principal_outstanding
    if amount <= 0:
        raise RuleViolation(f"{loan.number} has no principal outstanding to write off.")
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


def refund_credit(loan: Loan, *, bank_reference: str, value_date: date, actor: Actor, now: datetime,
                  timezone: str = "UTC") -> LoanEvent:
    """Pay the borrower back the credit held for them (Dr borrower_credit:loan, Cr revolving_fund_cash:fund).
    The same bank reference again for the same loan returns the refund already recorded."""
    require_role(actor, *HANDLERS)
    reference = _reference(bank_reference)
    value_date = _a_date(value_date, "value_date", "value date of the transfer")
    key = f"credit_refund:{reference}"
    _lock_fund(loan.fund)
    _lock_loan(loan)
    done = db.session.scalar(select(LoanEvent).join(JournalEntry, JournalEntry.id == LoanEvent.journal_entry_id)
                             .where(JournalEntry.idempotency_key == key))
    if done is not None:
        if done.loan_id == loan.id:
            return done
        raise RuleViolation(f"The bank reference {reference} is already used for a refund on {done.loan.number}.",
                            field="bank_reference")
    if value_date > local_date(now, timezone):
        raise RuleViolation(f"The value date {value_date:%d %b %Y} is in the future.", field="value_date")
    amount = loan.credit
    if amount <= 0:
        raise RuleViolation(f"{loan.number} holds no credit for its borrower.")
    last = _last_repayment(loan)
    if last is not None and value_date < last.value_date:
        raise RuleViolation(f"The refund is dated before the repayment of {last.value_date:%d %b %Y} that made "
                            "the credit.", field="value_date")
    cash_now = fund_cash(loan.fund)
    low, low_on = _cash_low_from(loan.fund, value_date)
    if amount > min(cash_now, low):
        raise RuleViolation(f"The fund has only {_money_of(min(cash_now, low), loan.currency)} in cash; it cannot "
                            f"refund {_money_of(amount, loan.currency)}.", field="value_date")
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


# ---------------------------------------------------------------------------------------------
# The schedule with its payments


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
    def due(self) -> Decimal:
        return self.principal + self.interest - self.interest_cancelled + self.penalty

    @property
    def paid(self) -> Decimal:
        return self.principal_paid + self.interest_paid + self.penalty_paid


def schedule_with_payments(loan: Loan, as_of: date | None = None) -> list[ScheduleRow]:
    """Each instalment of the loan in order, with what was paid on it (per repayment), what is unpaid, its days
    late (on ``as_of`` if given, else as the daily job last wrote them) and a status label: paid, interest
    cancelled, superseded, written off, overdue, partly paid, due."""
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
        if as_of is not None:
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


__all__ = [
    "HANDLERS", "PaymentOnInstalment", "ScheduleRow", "capitalisations_of", "capitalise_fund",
    "events_of", "find_repayment", "fund_cash", "fund_of", "funds_for", "get_fund", "get_loan", "loan_by_number",
    "make_loan", "record_repayment", "refund_credit", "repayments_of", "reschedule_loan", "schedule_with_payments",
    "write_off_loan",
]
