"""Calling a defaulted loan's guarantees, with four eyes (``services.guarantees`` has the rules of the flow): a fund
administrator asks (``request_call``) once the loan is in default; a second person (a fund administrator or a
programme manager who is not the one who asked, nor created nor was created by them) approves it
(``approve_call``) and only then is it posted, ``guarantee_call:<call id>``: Dr guarantee_receivable:obligation for
each guarantor's obligation (``loans.guarantees.obligations``: shares and amounts, to the cent), Cr
loans_receivable (or loans_rescheduled):loan for their total; or it is rejected with a reason (``reject_call``).
When the call covers all the principal outstanding, the loan is closed on the call's day, settled by its
guarantees (``_common._close``); otherwise it stays active until its uncovered part is written off.
One live call per loan (a unique index): two requests at once make one; the call's row is locked while it is
decided, so approving twice posts once. Flushes, never commits; audited."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

from sqlalchemy.exc import IntegrityError

from programme.accounts.models import User
from programme.core import audit
from programme.core.access import AccessDenied, Actor, RuleViolation, require_role, require_second_person
from programme.core.money import format_money
from programme.core.texts import gettext as _
from programme.extensions import db
from programme.ledger.models import AccountKind
from programme.ledger.posting import credit, debit
from programme.loans import guarantees as arithmetic
from programme.loans.guarantee_models import (
    CallStatus,
    GuaranteeCall,
    GuaranteeObligation,
    GuaranteeStatus,
    LoanGuarantee,
)
from programme.loans.models import Loan, LoanStatus
from programme.loans.services._common import (
    HANDLERS,
    ZERO,
    _account,
    _close,
    _lock_loan,
    _post,
    _receivable_kind,
)
from programme.loans.services.guarantees import (
    APPROVERS,
    _lock_call,
    _rules_or_refuse,
    _today,
    active_guarantees,
    live_call,
    loan_days_late,
    pledge,
)


def _planned(loan: Loan) -> tuple[dict[int, Decimal], list[LoanGuarantee]]:
    guarantees = active_guarantees(loan)
    return arithmetic.obligations([pledge(g) for g in guarantees], loan.principal_outstanding,
                                  loan.currency), guarantees


def _refuse_not_callable(loan: Loan, today: date) -> None:
    rules = _rules_or_refuse(loan)
    if loan.status != LoanStatus.ACTIVE:
        raise RuleViolation(_("%(number)s is %(status)s: only an active loan's guarantees can be called.",
                              number=loan.number, status=loan.status.label.lower()))
    late = loan_days_late(loan, today)
    if late < rules.default_after_days:
        raise RuleViolation(_("%(number)s is %(days)s days late; its guarantees can be called only once it is in "
                              "default, %(most)s days late or more (funding.loans.guarantees.default_after_days).",
                              number=loan.number, days=late, most=rules.default_after_days))
    if not active_guarantees(loan):
        raise RuleViolation(_("%(number)s has no active guarantee to call.", number=loan.number))
    if loan.principal_outstanding <= 0:
        raise RuleViolation(_("%(number)s has no principal outstanding.", number=loan.number))


def request_call(loan: Loan, *, reason: str, actor: Actor, now: datetime, timezone: str) -> GuaranteeCall:
    """Ask for the loan's guarantees to be called (it must be in default); a second person approves it. The same
    person asking again while it waits gets the call waiting."""
    require_role(actor, *HANDLERS)
    reason = (reason or "").strip()
    if not reason:
        raise RuleViolation(_("Give the reason for calling the guarantees."), field="reason")
    _lock_loan(loan)
    existing = live_call(loan)
    if existing is not None:
        if existing.status == CallStatus.REQUESTED and existing.requested_by_id == actor.id:
            return existing
        if existing.status == CallStatus.REQUESTED:
            raise RuleViolation(_("The guarantees of %(number)s are already being called.", number=loan.number))
        raise RuleViolation(_("The guarantees of %(number)s are already called.", number=loan.number))
    today = _today(now, timezone)
    _refuse_not_callable(loan, today)
    planned, _guarantees = _planned(loan)
    if not planned:
        raise RuleViolation(_("The guarantees of %(number)s cover nothing of what is owed.", number=loan.number))
    call = GuaranteeCall(loan_id=loan.id, status=CallStatus.REQUESTED, on_date=today,
                         owed_when_asked=loan.principal_outstanding, reason=reason, requested_by_id=actor.id,
                         requested_at=now, decision_note="")
    try:
        with db.session.begin_nested():
            db.session.add(call)
            db.session.flush()
    except IntegrityError:
        # Another administrator asked at the same moment and committed first: one call.
        raise RuleViolation(_("The guarantees of %(number)s are already being called.", number=loan.number)) from None
    audit.record(db.session, actor, "loans.guarantee_call_requested", call, loan=loan.number, reason=reason,
                 owed=str(loan.principal_outstanding), planned={str(k): str(v) for k, v in planned.items()})
    return call


def _requester(call: GuaranteeCall) -> User | None:
    return db.session.get(User, call.requested_by_id) if call.requested_by_id is not None else None


def may_decide_call(call: GuaranteeCall, actor: Actor) -> bool:
    if call.status != CallStatus.REQUESTED or not any(actor.has_role(r) for r in APPROVERS):
        return False
    try:
        require_second_person(_requester(call), actor, _("calling these guarantees"))
    except AccessDenied:
        return False
    return True


def approve_call(call: GuaranteeCall, *, actor: Actor, now: datetime, timezone: str) -> GuaranteeCall:
    """Approve a requested call and post it (module docstring). The approver is a second person."""
    require_role(actor, *APPROVERS)
    c = _lock_call(call)
    require_second_person(_requester(c), actor, _("calling these guarantees"))
    if c.status != CallStatus.REQUESTED:
        raise RuleViolation(_("This call was %(status)s already: only a requested call can be approved.",
                              status=c.status.label.lower()))
    loan = _lock_loan(c.loan)
    today = _today(now, timezone)
    _refuse_not_callable(loan, today)
    planned, guarantees = _planned(loan)
    if not planned:
        raise RuleViolation(_("The guarantees of %(number)s cover nothing of what is owed.", number=loan.number))
    owed = loan.principal_outstanding
    total = sum(planned.values(), ZERO)
    obligations = [GuaranteeObligation(call_id=c.id, guarantee_id=g.id, loan_id=loan.id, guarantor_id=g.guarantor_id,
                                       amount=planned[g.id], write_off_reason="")
                   for g in guarantees if g.id in planned]
    for obligation in obligations:
        db.session.add(obligation)
    db.session.flush()
    cur = loan.currency
    lines = [debit(_account(AccountKind.GUARANTEE_RECEIVABLE, "obligation", o.id, cur), o.amount) for o in obligations]
    lines.append(credit(_account(_receivable_kind(loan), "loan", loan.id, cur), total))
    entry = _post(lines, description=f"Guarantees of {loan.number} called: {format_money(total, cur)} of "
                                     f"{format_money(owed, cur)} owed", value_date=today,
                  idempotency_key=f"guarantee_call:{c.id}", actor=actor, source=("GuaranteeCall", c.id), now=now)
    for guarantee in guarantees:
        guarantee.status = GuaranteeStatus.CALLED
    loan.principal_outstanding -= total
    loan.guarantees_called += total
    settled = loan.principal_outstanding == 0
    if settled:  # the guarantees cover all the principal outstanding: nothing is left to write off
        _close(loan, on_date=today, reason="Settled by its guarantees", amount=total, actor=actor, now=now, entry=entry)
    c.status = CallStatus.CALLED
    c.decided_by_id = actor.id
    c.decided_at = now
    c.on_date = today
    c.owed = owed
    c.called = total
    c.journal_entry_id = entry.id
    db.session.flush()
    audit.record(db.session, actor, "loans.guarantees_called", c, loan=loan.number, owed=str(owed), called=str(total),
                 uncovered=str(owed - total), closed=settled, requested_by=c.requested_by_id, journal_entry=entry.id,
                 obligations={o.guarantor.name: str(o.amount) for o in obligations})
    return c


def reject_call(call: GuaranteeCall, *, reason: str, actor: Actor, now: datetime) -> GuaranteeCall:
    """Reject a requested call with a reason (a possible approver, or the person who asked, withdrawing it)."""
    reason = (reason or "").strip()
    if not reason:
        raise RuleViolation(_("Give the reason for the rejection."), field="reason")
    c = _lock_call(call)
    if c.requested_by_id is None or c.requested_by_id != actor.id:
        require_role(actor, *APPROVERS)
    if c.status != CallStatus.REQUESTED:
        raise RuleViolation(_("This call was %(status)s already: only a requested call can be rejected.",
                              status=c.status.label.lower()))
    c.status = CallStatus.REJECTED
    c.decided_by_id = actor.id
    c.decided_at = now
    c.decision_note = reason
    db.session.flush()
    audit.record(db.session, actor, "loans.guarantee_call_rejected", c, loan=c.loan.number, reason=reason)
    return c
