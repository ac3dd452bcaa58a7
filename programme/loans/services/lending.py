"""Lending from a revolving fund: the approved funding requests a loan may name, and making a loan (terms
within the call's rules, the fund's cash under a lock, Dr loans_receivable:loan, Cr revolving_fund_cash:fund,
its schedule written)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import func, select, text
from sqlalchemy.exc import IntegrityError

from programme.accounts.models import GroupOrganisation, Organisation
from programme.core import audit
from programme.core.access import Actor, RuleViolation, require_role
from programme.core.texts import gettext as _
from programme.core.timezone import format_day, local_date
from programme.extensions import db
from programme.funding.models import FundingRequest, FundingRequestStatus, InitiativeStatus
from programme.ledger.models import AccountKind
from programme.ledger.posting import credit, debit
from programme.loans.models import Loan, LoanApproval, LoanEventKind, LoanInstalment, LoanStatus, RevolvingFund
from programme.loans.schedule import LoanTerms, build_schedule
from programme.loans.services._common import (
    HANDLERS,
    ZERO,
    _a_date,
    _account,
    _cash_low_from,
    _check_terms,
    _event,
    _lock_fund,
    _money,
    _money_of,
    _post,
    _reference,
    _rules,
    _Terms,
)
from programme.loans.services.funds import fund_cash


def loan_requests_of(fund: RevolvingFund) -> list[FundingRequest]:
    """The fund's initiative's approved funding requests with a loan part, which a new loan may name."""
    return list(db.session.scalars(select(FundingRequest).where(
        FundingRequest.initiative_id == fund.initiative_id, FundingRequest.status == FundingRequestStatus.APPROVED,
        FundingRequest.loan_approved > 0).order_by(FundingRequest.id)))


def _new_loan_id() -> int:
    """The next loan id, taken before the row is written: the ledger accounts and the idempotency key of the
    loan's entry name it, and the row needs that entry."""
    if db.session.get_bind().dialect.name == "postgresql":
        return int(db.session.scalar(text("SELECT nextval(pg_get_serial_sequence('loans', 'id'))")))
    return int(db.session.scalar(select(func.coalesce(func.max(Loan.id), 0) + 1)))


def make_loan(fund: RevolvingFund, *, borrower_id: int, principal: object, annual_rate: object, term_periods: int,
              grace_periods: int = 0, grace: str = "none", frequency: str = "monthly", method: str = "annuity",
              first_due: date, disbursed_on: date, bank_reference: str, purpose: str,
              funding_request_id: int | None = None, actor: Actor, now: datetime,
              timezone: str) -> Loan | LoanApproval:
    """Lend from the fund to a member organisation of the initiative's group, on terms within the call's rules
    (``annual_rate`` is a fraction: 0.04 for 4 %). Under a lock on the fund, the principal may not exceed its
    cash (on the disbursement date and every later date). Posts Dr loans_receivable:loan, Cr
    revolving_fund_cash:fund and writes the schedule. The same bank reference again, for the same fund,
    borrower and principal, returns the loan already made; used otherwise, it is refused.

    An approved loan part is a ceiling: under a lock on the funding request named, the loans drawn against it
    (made, or waiting for approval) never exceed its approved loan part in total.

    Four eyes: when the call's rules ask a second approval for this principal (``loans.second_approval_above``),
    nothing is lent yet: every check above is made, and a pending ``LoanApproval`` is returned, which a second
    person approves (``approvals.approve``: the loan is made then, under the same locks and checks) or rejects."""
    require_role(actor, *HANDLERS)
    checked = _checked_loan(fund, borrower_id=borrower_id, principal=principal, annual_rate=annual_rate,
                            term_periods=term_periods, grace_periods=grace_periods, grace=grace,
                            frequency=frequency, method=method, first_due=first_due, disbursed_on=disbursed_on,
                            bank_reference=bank_reference, purpose=purpose, funding_request_id=funding_request_id,
                            now=now, timezone=timezone)
    if _rules(fund).needs_second_approval(checked.principal):
        from programme.loans.services.approvals import request_new_loan

        return request_new_loan(fund, checked, actor=actor, now=now, timezone=timezone)
    return _lend(fund, checked, actor=actor, now=now)


@dataclass(frozen=True)
class CheckedLoan:
    """A new loan's inputs, checked against the rules (not yet against the fund's cash or the request's ceiling)."""

    borrower_id: int
    principal: Decimal
    terms: _Terms
    first_due: date
    disbursed_on: date
    bank_reference: str
    purpose: str
    funding_request_id: int | None

    def as_terms(self) -> dict[str, object]:
        """What a pending approval keeps of it (amounts and rates as text: never a float)."""
        return {"borrower_id": self.borrower_id, "principal": str(self.principal),
                "annual_rate": str(self.terms.annual_rate), "term_periods": self.terms.term_periods,
                "grace_periods": self.terms.grace_periods, "grace": self.terms.grace,
                "frequency": self.terms.frequency, "method": self.terms.method,
                "first_due": self.first_due.isoformat(), "disbursed_on": self.disbursed_on.isoformat(),
                "bank_reference": self.bank_reference, "purpose": self.purpose,
                "funding_request_id": self.funding_request_id}


def _checked_loan(fund: RevolvingFund, *, borrower_id: int, principal: object, annual_rate: object,
                  term_periods: int, grace_periods: int, grace: str, frequency: str, method: str, first_due: date,
                  disbursed_on: date, bank_reference: str, purpose: str, funding_request_id: int | None,
                  now: datetime, timezone: str) -> CheckedLoan:
    currency = fund.currency
    initiative = fund.initiative
    rules = _rules(fund)
    reference = _reference(bank_reference)
    value = _money(principal, currency, "principal")
    terms = _check_terms(rules, annual_rate=annual_rate, term_periods=term_periods, grace_periods=grace_periods,
                         grace=grace, frequency=frequency, method=method)
    disbursed_on = _a_date(disbursed_on, "disbursed_on", _("Give the date the loan is paid out."))
    first_due = _a_date(first_due, "first_due", _("Give the first due date."))
    if disbursed_on > local_date(now, timezone):
        raise RuleViolation(_("The disbursement date %(day)s is in the future.", day=format_day(disbursed_on)),
                            field="disbursed_on")
    if first_due <= disbursed_on:
        raise RuleViolation(_("The first instalment falls due after the loan is paid out."), field="first_due")
    purpose = (purpose or "").strip()
    if not purpose:
        raise RuleViolation(_("Say what the loan is for."), field="purpose")
    member = db.session.scalar(select(GroupOrganisation).where(
        GroupOrganisation.group_id == initiative.group_id, GroupOrganisation.organisation_id == borrower_id))
    if member is None:
        raise RuleViolation(_("The borrower must be a member organisation of %(group)s.", group=initiative.group.name),
                            field="borrower_id")
    if funding_request_id is not None:
        request = db.session.get(FundingRequest, funding_request_id)
        if request is None or request.initiative_id != initiative.id:
            raise RuleViolation(_("No such funding request of %(initiative)s.", initiative=initiative.reference),
                                field="funding_request_id")
    if initiative.status == InitiativeStatus.TERMINATED:
        raise RuleViolation(_("%(initiative)s is terminated; nothing more is lent to it.",
                              initiative=initiative.reference))
    return CheckedLoan(borrower_id, value, terms, first_due, disbursed_on, reference, purpose, funding_request_id)


def checked_loan_of(terms: dict[str, object]) -> CheckedLoan:
    """The checked loan a pending approval keeps (``CheckedLoan.as_terms``), read back."""
    return CheckedLoan(
        borrower_id=int(terms["borrower_id"]), principal=Decimal(str(terms["principal"])),  # type: ignore[arg-type]
        terms=_Terms(Decimal(str(terms["annual_rate"])), int(terms["term_periods"]),  # type: ignore[arg-type]
                     int(terms["grace_periods"]), str(terms["grace"]), str(terms["frequency"]),  # type: ignore[arg-type]
                     str(terms["method"])),
        first_due=date.fromisoformat(str(terms["first_due"])),
        disbursed_on=date.fromisoformat(str(terms["disbursed_on"])), bank_reference=str(terms["bank_reference"]),
        purpose=str(terms["purpose"]),
        funding_request_id=(int(terms["funding_request_id"])  # type: ignore[arg-type]
                            if terms.get("funding_request_id") is not None else None))


def refuse_over_loan_part(fund: RevolvingFund, loan: CheckedLoan, *, excluding_approval: int | None = None) -> None:
    """Lock the funding request the loan names and refuse the loan when the loans drawn against the request (made,
    or waiting for a second approval, but ``excluding_approval``) and this one would exceed its approved loan
    part. At the limit is accepted, one cent over is refused."""
    from programme.loans.models import ApprovalKind, ApprovalStatus, LoanApproval

    if loan.funding_request_id is None:
        return
    request = db.session.execute(select(FundingRequest).where(FundingRequest.id == loan.funding_request_id)
                                 .with_for_update().execution_options(populate_existing=True)).scalar_one()
    currency = fund.currency
    if request.status != FundingRequestStatus.APPROVED or not request.loan_approved:
        raise RuleViolation(_("The funding request '%(title)s' has no approved loan part to lend against.",
                              title=request.title),
                            field="funding_request_id")
    lent = Decimal(db.session.scalar(select(func.coalesce(func.sum(Loan.principal), 0))
                                     .where(Loan.funding_request_id == request.id)) or 0)
    waiting = select(func.coalesce(func.sum(LoanApproval.amount), 0)).where(
        LoanApproval.funding_request_id == request.id, LoanApproval.kind == ApprovalKind.NEW_LOAN,
        LoanApproval.status == ApprovalStatus.PENDING)
    if excluding_approval is not None:
        waiting = waiting.where(LoanApproval.id != excluding_approval)
    drawn = (lent + Decimal(db.session.scalar(waiting) or 0)).quantize(Decimal("0.01"))
    ceiling = Decimal(request.loan_approved)
    if drawn + loan.principal > ceiling:
        raise RuleViolation(
            _("The funding request '%(title)s' approved a loan part of %(ceiling)s: %(drawn)s is lent or waiting for "
              "approval against it, so at most %(left)s more can be lent; %(asked)s is too much.",
              title=request.title, ceiling=_money_of(ceiling, currency), drawn=_money_of(drawn, currency),
              left=_money_of(max(ceiling - drawn, ZERO), currency), asked=_money_of(loan.principal, currency)),
            field="principal")


def _lend(fund: RevolvingFund, checked: CheckedLoan, *, actor: Actor, now: datetime,
          requested_by_id: int | None = None, approval_id: int | None = None) -> Loan:
    """Make the checked loan: under the fund's lock (then the funding request's), its cash, the request's ceiling
    and the bank reference checked, its entry posted and its schedule written. ``requested_by_id``: who asked for
    it, when a second person (``actor``) approved it (``approval_id``)."""
    currency = fund.currency
    initiative = fund.initiative
    rules = _rules(fund)
    terms = checked.terms
    reference, value, borrower_id = checked.bank_reference, checked.principal, checked.borrower_id
    disbursed_on, first_due, purpose = checked.disbursed_on, checked.first_due, checked.purpose
    funding_request_id = checked.funding_request_id
    _lock_fund(fund)
    existing = db.session.scalar(select(Loan).where(Loan.bank_reference == reference))
    if existing is not None:
        if existing.fund_id == fund.id and existing.borrower_id == borrower_id and existing.principal == value:
            return existing
        raise RuleViolation(_("The bank reference %(reference)s is already used for loan %(number)s.",
                              reference=reference, number=existing.number),
                            field="bank_reference")
    refuse_over_loan_part(fund, checked, excluding_approval=approval_id)
    cash = fund_cash(fund)
    if value > cash:
        raise RuleViolation(_("%(amount)s is more than the fund's cash: it has %(cash)s.",
                              amount=_money_of(value, currency), cash=_money_of(cash, currency)), field="principal")
    low, low_on = _cash_low_from(fund, disbursed_on)
    if value > low:
        raise RuleViolation(_("%(amount)s is more than the fund had in cash from %(day)s: it had %(low)s on "
                              "%(low_on)s.", amount=_money_of(value, currency), day=format_day(disbursed_on),
                              low=_money_of(low, currency), low_on=format_day(low_on)),
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
                status=LoanStatus.ACTIVE, principal_outstanding=value, credit=ZERO,
                created_by_id=requested_by_id if requested_by_id is not None else actor.id,
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
            raise RuleViolation(_("The bank reference %(reference)s is already used for loan %(number)s.",
                                  reference=reference, number=other.number),
                                field="bank_reference") from None
        raise
    db.session.expire(fund, ["loans"])  # a view-only collection: reload it with the new loan
    audit.record(db.session, actor, "loans.loan_made", loan, number=loan.number, initiative=initiative.reference,
                 borrower=borrower.name, principal=str(value), annual_rate=str(terms.annual_rate),
                 term_periods=terms.term_periods, grace_periods=terms.grace_periods, grace=terms.grace,
                 frequency=terms.frequency, method=terms.method, first_due=first_due.isoformat(),
                 disbursed_on=disbursed_on.isoformat(), bank_reference=reference, journal_entry=entry.id,
                 cash_left=str(cash - value), funding_request=funding_request_id, requested_by=requested_by_id,
                 approval=approval_id)
    return loan
