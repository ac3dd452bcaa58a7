"""Four eyes on a fund's money decisions: a write-off, a credit refund, and a new loan whose principal is above the
call's ``loans.second_approval_above`` (or every loan, with "all"), are asked for by one fund administrator and
posted only when a second person (a fund administrator or a programme manager) approves them.

- ``request_write_off`` / ``request_credit_refund`` / ``request_new_loan`` (called by ``lending.make_loan``):
  every check the posting makes is made at once (a write-off or refund is posted in a savepoint and rolled back:
  the same code judges the request and its approval), and a pending ``LoanApproval`` is kept, with who asked,
  when and why. One write-off and one refund at a time may wait per loan (a unique index).
- ``approve``: under a lock on the approval's row, then the locks the posting always takes (fund, loan, funding
  request), a pending request is posted by its approver. ``core.access.require_second_person`` refuses the
  person who asked, an account that person created, and the person who created the requester's account. A
  request approved or rejected already is refused (approving twice, approving a rejected one).
- ``reject``: a pending request is closed with a reason, by a possible approver or by the person who asked
  (withdrawing it); nothing is posted.

Every step is audited (``loans.approval_requested``, ``loans.approval_approved``, ``loans.approval_rejected``)
besides the posting's own audit entry. Flushes, never commits.
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from programme.accounts.models import User
from programme.core import audit
from programme.core.access import (
    AccessDenied,
    Actor,
    NotFound,
    Role,
    RuleViolation,
    require_role,
    require_second_person,
)
from programme.core.money import format_money
from programme.core.texts import gettext as _
from programme.core.timezone import format_day, local_date
from programme.extensions import db
from programme.ledger.models import JournalEntry
from programme.loans.models import (
    ApprovalKind,
    ApprovalStatus,
    Loan,
    LoanApproval,
    LoanEvent,
    RevolvingFund,
)
from programme.loans.services._common import HANDLERS, _lock_fund, _lock_loan, _money_of, _reference
from programme.loans.services.funds import fund_cash
from programme.loans.services.lending import CheckedLoan, _lend, checked_loan_of, refuse_over_loan_part
from programme.loans.services.loan_events import _reason, _refund_now, _write_off_now

#: Who may approve (or reject) a request: a second fund administrator, or a programme manager.
APPROVERS = (Role.FUND_ADMINISTRATOR, Role.PROGRAMME_MANAGER)


def _what(approval: LoanApproval) -> str:
    return {ApprovalKind.NEW_LOAN: _("this new loan"), ApprovalKind.WRITE_OFF: _("this write-off"),
            ApprovalKind.CREDIT_REFUND: _("this credit refund")}[approval.kind]


def _requested(approval: LoanApproval, actor: Actor, now: datetime) -> LoanApproval:
    try:
        with db.session.begin_nested():
            db.session.add(approval)
            db.session.flush()
    except IntegrityError:
        raise RuleViolation(_("A %(kind)s of this loan is already waiting for a second person's approval.",
                              kind=approval.kind.label.lower())) from None
    audit.record(db.session, actor, "loans.approval_requested", approval, kind=approval.kind.value,
                 amount=str(approval.amount), on_date=approval.on_date.isoformat(), reason=approval.reason,
                 bank_reference=approval.bank_reference, loan=approval.loan_id,
                 funding_request=approval.funding_request_id)
    return approval


def _refuse_pending(loan: Loan, kind: ApprovalKind, *, timezone: str) -> None:
    waiting = db.session.scalar(select(LoanApproval).where(LoanApproval.loan_id == loan.id, LoanApproval.kind == kind,
                                                           LoanApproval.status == ApprovalStatus.PENDING))
    if waiting is not None:
        raise RuleViolation(_("A %(kind)s of %(number)s is already waiting for a second person's approval (asked "
                              "on %(day)s).", kind=kind.label.lower(), number=loan.number,
                              day=format_day(local_date(waiting.requested_at, timezone))))


def request_write_off(loan: Loan, *, reason: str, on_date: date, actor: Actor, now: datetime,
                      timezone: str) -> LoanApproval:
    """Ask for a write-off of the loan's outstanding principal; a second person approves it (``approve``)."""
    require_role(actor, *HANDLERS)
    reason = _reason(reason, "write_off")
    _refuse_pending(loan, ApprovalKind.WRITE_OFF, timezone=timezone)
    with db.session.begin_nested() as trial:  # the posting's own checks, then undone
        event = _write_off_now(loan, reason=reason, on_date=on_date, actor=actor, now=now, timezone=timezone)
        amount = event.amount
        trial.rollback()
    _lock_loan(loan)
    return _requested(LoanApproval(
        kind=ApprovalKind.WRITE_OFF, status=ApprovalStatus.PENDING, fund_id=loan.fund_id, loan_id=loan.id,
        amount=amount, on_date=on_date, reason=reason, requested_by_id=actor.id, requested_at=now,
        decision_note=""), actor, now)


def request_credit_refund(loan: Loan, *, bank_reference: str, value_date: date, reason: str, actor: Actor,
                          now: datetime, timezone: str) -> LoanApproval:
    """Ask for the borrower's credit to be refunded; a second person approves it (``approve``)."""
    require_role(actor, *HANDLERS)
    reference = _reference(bank_reference)
    reason = _reason(reason, "refund")
    _refuse_pending(loan, ApprovalKind.CREDIT_REFUND, timezone=timezone)
    done = db.session.scalar(select(LoanEvent).join(JournalEntry, JournalEntry.id == LoanEvent.journal_entry_id)
                             .where(JournalEntry.idempotency_key == f"credit_refund:{reference}"))
    if done is not None:
        raise RuleViolation(_("The bank reference %(reference)s is already used for a refund on %(number)s: this "
                              "refund was already done.", reference=reference, number=done.loan.number),
                            field="bank_reference")
    used = db.session.scalar(select(LoanApproval).where(LoanApproval.bank_reference == reference,
                                                        LoanApproval.status == ApprovalStatus.PENDING))
    if used is not None:
        raise RuleViolation(_("The bank reference %(reference)s is already named by a request waiting for approval.",
                              reference=reference), field="bank_reference")
    with db.session.begin_nested() as trial:
        event = _refund_now(loan, bank_reference=reference, value_date=value_date, actor=actor, now=now,
                            timezone=timezone)
        amount = event.amount
        trial.rollback()
    _lock_loan(loan)
    return _requested(LoanApproval(
        kind=ApprovalKind.CREDIT_REFUND, status=ApprovalStatus.PENDING, fund_id=loan.fund_id, loan_id=loan.id,
        amount=amount, on_date=value_date, bank_reference=reference, reason=reason, requested_by_id=actor.id,
        requested_at=now, decision_note=""), actor, now)


def request_new_loan(fund: RevolvingFund, checked: CheckedLoan, *, actor: Actor, now: datetime,
                     timezone: str) -> LoanApproval:
    """Keep a checked new loan waiting for a second person's approval (``lending.make_loan`` calls this when the
    rules ask it). Under the fund's lock: the bank reference unused, the funding request's ceiling (a pending
    loan counts against it), the fund's cash today. The same request again (same reference, fund, borrower and
    principal) returns the one waiting."""
    require_role(actor, *HANDLERS)
    currency = fund.currency
    reference = checked.bank_reference
    _lock_fund(fund)
    loan = db.session.scalar(select(Loan).where(Loan.bank_reference == reference))
    if loan is not None:
        raise RuleViolation(_("The bank reference %(reference)s is already used for loan %(number)s.",
                              reference=reference, number=loan.number), field="bank_reference")
    waiting = db.session.scalar(select(LoanApproval).where(LoanApproval.bank_reference == reference,
                                                           LoanApproval.status == ApprovalStatus.PENDING))
    if waiting is not None:
        if (waiting.kind == ApprovalKind.NEW_LOAN and waiting.fund_id == fund.id and waiting.amount == checked.principal
                and (waiting.terms or {}).get("borrower_id") == checked.borrower_id):
            return waiting
        raise RuleViolation(_("The bank reference %(reference)s is already named by a request waiting for approval.",
                              reference=reference), field="bank_reference")
    refuse_over_loan_part(fund, checked)
    cash = fund_cash(fund)
    if checked.principal > cash:
        raise RuleViolation(_("%(amount)s is more than the fund's cash: it has %(cash)s.",
                              amount=_money_of(checked.principal, currency), cash=_money_of(cash, currency)),
                            field="principal")
    return _requested(LoanApproval(
        kind=ApprovalKind.NEW_LOAN, status=ApprovalStatus.PENDING, fund_id=fund.id,
        funding_request_id=checked.funding_request_id, amount=checked.principal, on_date=checked.disbursed_on,
        bank_reference=reference, reason=checked.purpose, terms=checked.as_terms(), requested_by_id=actor.id,
        requested_at=now, decision_note=""), actor, now)


def _lock(approval: LoanApproval) -> LoanApproval:
    return db.session.execute(select(LoanApproval).where(LoanApproval.id == approval.id).with_for_update()
                              .execution_options(populate_existing=True)).scalar_one()


def _requester(approval: LoanApproval) -> User | None:
    return db.session.get(User, approval.requested_by_id) if approval.requested_by_id is not None else None


def _refuse_decided(approval: LoanApproval, verb: str) -> None:
    if approval.status != ApprovalStatus.PENDING:
        who = db.session.get(User, approval.decided_by_id) if approval.decided_by_id else None
        named = {"what": _what(approval), "status": approval.status.label.lower()}
        if who is not None and getattr(who, "name", None):
            if verb == "approved":
                said = _("The request for %(what)s was %(status)s already by %(name)s: only a pending request can "
                         "be approved.", name=who.name, **named)
            else:
                said = _("The request for %(what)s was %(status)s already by %(name)s: only a pending request can "
                         "be rejected.", name=who.name, **named)
        elif verb == "approved":
            said = _("The request for %(what)s was %(status)s already: only a pending request can be approved.",
                     **named)
        else:
            said = _("The request for %(what)s was %(status)s already: only a pending request can be rejected.",
                     **named)
        raise RuleViolation(said)


def approve(approval: LoanApproval, *, actor: Actor, now: datetime, timezone: str) -> LoanApproval:
    """Approve a pending request and post it (module docstring). The approver is a second person."""
    require_role(actor, *APPROVERS)
    a = _lock(approval)
    require_second_person(_requester(a), actor, _what(a))
    _refuse_decided(a, "approved")
    if a.kind == ApprovalKind.WRITE_OFF:
        assert a.loan is not None
        event = _write_off_now(a.loan, reason=a.reason, on_date=a.on_date, actor=actor, now=now, timezone=timezone)
        entry_id = event.journal_entry_id
    elif a.kind == ApprovalKind.CREDIT_REFUND:
        assert a.loan is not None and a.bank_reference is not None
        event = _refund_now(a.loan, bank_reference=a.bank_reference, value_date=a.on_date, actor=actor, now=now,
                            timezone=timezone)
        entry_id = event.journal_entry_id
    else:
        loan = _lend(a.fund, checked_loan_of(a.terms or {}), actor=actor, now=now,
                     requested_by_id=a.requested_by_id, approval_id=a.id)
        a.loan_id = loan.id
        entry_id = loan.journal_entry_id
    a.status = ApprovalStatus.APPROVED
    a.decided_by_id = actor.id
    a.decided_at = now
    a.journal_entry_id = entry_id
    db.session.flush()
    audit.record(db.session, actor, "loans.approval_approved", a, kind=a.kind.value, amount=str(a.amount),
                 requested_by=a.requested_by_id, loan=a.loan_id, journal_entry=entry_id)
    return a


def reject(approval: LoanApproval, *, reason: str, actor: Actor, now: datetime) -> LoanApproval:
    """Reject a pending request with a reason (a possible approver, or the person who asked, withdrawing it)."""
    reason = (reason or "").strip()
    if not reason:
        raise RuleViolation(_("Give the reason for the rejection."), field="reason")
    a = _lock(approval)
    if a.requested_by_id is None or a.requested_by_id != actor.id:
        require_role(actor, *APPROVERS)
    _refuse_decided(a, "rejected")
    a.status = ApprovalStatus.REJECTED
    a.decided_by_id = actor.id
    a.decided_at = now
    a.decision_note = reason
    db.session.flush()
    audit.record(db.session, actor, "loans.approval_rejected", a, kind=a.kind.value, amount=str(a.amount),
                 requested_by=a.requested_by_id, loan=a.loan_id, reason=reason)
    return a


def may_decide(approval: LoanApproval, actor: Actor) -> bool:
    """Whether the actor may approve this pending request (a second person holding an approver's role)."""
    if approval.status != ApprovalStatus.PENDING or not any(actor.has_role(r) for r in APPROVERS):
        return False
    try:
        require_second_person(_requester(approval), actor, _what(approval))
    except AccessDenied:
        return False
    return True


def get_approval(approval_id: int, *, actor: Actor) -> LoanApproval:
    """One request; NotFound for an unknown id and for one whose fund the actor may not see; AccessDenied for
    anyone but fund administrators and managers."""
    approval = db.session.get(LoanApproval, approval_id)
    if approval is None or not approval.fund.can_view(actor):
        raise NotFound("no such request")
    require_role(actor, *APPROVERS)
    return approval


def pending_approvals(*, actor: Actor, loan: Loan | None = None, fund: RevolvingFund | None = None,
                      for_me: bool = False) -> list[LoanApproval]:
    """The pending requests, oldest first (of one loan, or of one fund: its new loans and its loans' requests);
    ``for_me``: only those the actor may approve."""
    require_role(actor, *APPROVERS)
    query = select(LoanApproval).where(LoanApproval.status == ApprovalStatus.PENDING)
    if loan is not None:
        query = query.where(LoanApproval.loan_id == loan.id)
    if fund is not None:
        query = query.where(LoanApproval.fund_id == fund.id)
    found = list(db.session.scalars(query.order_by(LoanApproval.requested_at, LoanApproval.id)))
    return [a for a in found if may_decide(a, actor)] if for_me else found


def approval_summary(approval: LoanApproval) -> str:
    """One line saying what the request would do."""
    cur = approval.fund.currency
    if approval.kind == ApprovalKind.NEW_LOAN:
        return _("Lend %(amount)s (bank %(reference)s)", amount=format_money(approval.amount, cur),
                 reference=approval.bank_reference)
    number = approval.loan.number if approval.loan is not None else ""
    if approval.kind == ApprovalKind.WRITE_OFF:
        return _("Write off %(number)s (%(amount)s outstanding when asked)", number=number,
                 amount=format_money(approval.amount, cur))
    return _("Refund the credit on %(number)s (%(amount)s, bank %(reference)s)", number=number,
             amount=format_money(approval.amount, cur), reference=approval.bank_reference)
