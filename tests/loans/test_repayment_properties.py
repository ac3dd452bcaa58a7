"""Properties of repayments through the real services and database (hypothesis): whatever loan and whatever
sequence of repayments (dates moving on, amounts partial, exact, too large or arbitrary, with or without
penalties, sometimes a write-off and recoveries after it), the ledger stays sound and balanced, no repayment
is allocated more than was due plus what becomes credit, and not a cent is lost.

Each example runs inside a savepoint on one world built per test (a call reviewed and decided is slow to
build), rolled back at the end of the example, as tests/reviews/test_services_assignment.py does."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal

import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select

from programme.core.access import RuleViolation
from programme.extensions import db
from programme.ledger.balances import balance, trial_balance
from programme.ledger.checks import check_ledger, check_loans
from programme.ledger.models import AccountKind
from programme.ledger.posting import get_account
from programme.loans import services
from programme.loans.models import Loan, LoanInstalment, LoanStatus, Repayment
from tests.loans.world import (
    DISBURSED_ON,
    NOW,
    LoanWorld,
    loan_world,
    refund_credit,
    replace_loan_rule,
    write_off_loan,
)

D = Decimal
ZERO = D("0.00")
CENT = D("0.01")


@pytest.fixture
def world(app) -> LoanWorld:
    made = loan_world(principal=None, cash="200000.00")
    db.session.commit()
    return made


@dataclass(frozen=True)
class Step:
    gap_days: int
    kind: str       # due, partial, large, arbitrary, write_off
    cents: int
    fraction: int   # percent, for partial


steps = st.lists(
    st.builds(Step, gap_days=st.integers(0, 75),
              kind=st.sampled_from(["due", "due", "partial", "partial", "large", "arbitrary", "write_off"]),
              cents=st.integers(1, 3_000_000), fraction=st.integers(1, 99)),
    min_size=1, max_size=9,
)
loans = st.fixed_dictionaries({
    "principal": st.integers(100, 2_000_000).map(lambda c: (D(c) / 100).quantize(CENT)),
    "annual_rate": st.sampled_from([D("0"), D("0.015"), D("0.0333"), D("0.04")]),
    "frequency": st.sampled_from(["monthly", "quarterly"]),
    "method": st.sampled_from(["annuity", "equal_principal"]),
    "term_periods": st.integers(1, 18),
    "grace_periods": st.integers(0, 3),
    "first_gap": st.integers(1, 60),
    "penalty": st.booleans(),
})


def _current(loan: Loan) -> list[LoanInstalment]:
    return list(db.session.scalars(select(LoanInstalment).where(
        LoanInstalment.loan_id == loan.id, LoanInstalment.superseded.is_(False)).order_by(LoanInstalment.number)))


def _ledger(kind: AccountKind, owner_type: str, owner_id: int) -> Decimal:
    account = get_account(kind, owner_type, owner_id)
    return ZERO if account is None else balance(account)


def _due_on(loan: Loan, on: date) -> tuple[Decimal, Decimal, Decimal]:
    """Interest due, principal due and penalty assessed-but-unpaid on the current instalments, on a date."""
    interest = principal = penalty = ZERO
    for i in _current(loan):
        penalty += i.penalty_assessed - i.penalty_paid
        if i.due_date <= on:
            interest += i.interest - i.interest_paid - i.interest_cancelled
            principal += i.principal - i.principal_paid
    return interest, principal, penalty


def _amount(step: Step, loan: Loan, on: date) -> Decimal:
    interest, principal, penalty = _due_on(loan, on)
    due = interest + principal + penalty
    if loan.status == LoanStatus.WRITTEN_OFF:
        left = loan.written_off - loan.recovered
        return max(CENT, {"due": left, "partial": (left * step.fraction / 100).quantize(CENT)}.get(
            step.kind, (D(step.cents) / 100).quantize(CENT)))
    if step.kind == "due":
        return max(due, CENT)
    if step.kind == "partial":
        return max((due * step.fraction / 100).quantize(CENT), CENT)
    if step.kind == "large":
        return loan.principal_outstanding + interest + penalty + (D(step.cents) / 100).quantize(CENT)
    return (D(step.cents) / 100).quantize(CENT)


def _sound() -> None:
    assert check_loans() == []
    assert check_ledger() == []
    assert trial_balance().balanced


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(terms=loans, sequence=steps)
def test_any_sequence_of_repayments_keeps_the_ledger_whole(world: LoanWorld, terms: dict, sequence: list[Step]):
    w = world
    savepoint = db.session.begin_nested()
    try:
        if terms["penalty"]:
            replace_loan_rule(w.call, "penalty_rate = 0.0", "penalty_rate = 0.12")
        step_months = 1 if terms["frequency"] == "monthly" else 3
        term = min(terms["term_periods"], 60 // step_months)
        grace = min(terms["grace_periods"], 12 // step_months)
        loan = services.make_loan(
            w.fund, borrower_id=w.borrower.id, principal=terms["principal"], annual_rate=terms["annual_rate"],
            term_periods=term, grace_periods=grace, grace="interest_only" if grace else "none",
            frequency=terms["frequency"], method=terms["method"],
            first_due=DISBURSED_ON + timedelta(days=terms["first_gap"]), disbursed_on=DISBURSED_ON,
            bank_reference="PROP-LOAN", purpose="Property", actor=w.admin, now=NOW, timezone="UTC")
        capital = services.fund_cash(w.fund) + loan.principal  # capitalised, as nothing else was lent
        _sound()
        on = DISBURSED_ON
        refunded = ZERO
        for number, step in enumerate(sequence):
            on = min(on + timedelta(days=step.gap_days), NOW.date())
            if step.kind == "write_off" and loan.status == LoanStatus.ACTIVE:
                before = loan.principal_outstanding
                write_off_loan(loan, reason="Property test", on_date=on, actor=w.admin, now=NOW,
                                        timezone="UTC")
                assert loan.written_off == before and loan.principal_outstanding == 0
                _sound()
                continue
            amount = _amount(step, loan, on)
            status, outstanding = loan.status, loan.principal_outstanding
            recoverable = loan.written_off - loan.recovered
            paid_before = {i.id: (i.principal_paid, i.interest_paid, i.penalty_paid) for i in _current(loan)}
            interest_due, _, _ = _due_on(loan, on)
            count_before = db.session.scalar(select(func.count()).select_from(Repayment))
            try:
                r = services.record_repayment(loan, amount=amount, value_date=on, bank_reference=f"PROP-{number}",
                                              actor=w.admin, now=NOW, timezone="UTC")
            except RuleViolation as refusal:
                # Only a closed loan or a recovery above what is left to recover is refused here.
                assert status == LoanStatus.CLOSED or (status == LoanStatus.WRITTEN_OFF and amount > recoverable), \
                    refusal.message
                event("a repayment refused")
                assert db.session.scalar(select(func.count()).select_from(Repayment)) == count_before
                continue
            # Never more than was due plus what becomes credit; the parts add up to the amount.
            assert r.penalty + r.interest + r.principal + r.credit + r.recovery == amount
            if status == LoanStatus.WRITTEN_OFF:
                assert r.recovery == amount <= recoverable
            else:
                assert r.recovery == 0
                assert r.principal <= outstanding
                assert r.interest <= interest_due
                penalty_due = sum((i.penalty_assessed - paid_before.get(i.id, (0, 0, 0))[2]
                                   for i in _current(loan)), ZERO)
                assert r.penalty <= penalty_due
                if r.credit > 0:
                    assert loan.status == LoanStatus.CLOSED and loan.principal_outstanding == 0
                assert loan.principal_outstanding == outstanding - r.principal
            _sound()
            if loan.status == LoanStatus.CLOSED and loan.credit > 0 and step.fraction % 2:
                refund = refund_credit(loan, bank_reference=f"PROP-REFUND-{number}", value_date=on,
                                               actor=w.admin, now=NOW, timezone="UTC")
                refunded += refund.amount
                _sound()

        # Not a cent lost: every repayment is split exactly, and the fund's cash is its capital less what it
        # lent plus what came back, less the credit refunded.
        repayments = list(db.session.scalars(select(Repayment).where(Repayment.loan_id == loan.id)))
        received = sum((r.amount for r in repayments), ZERO)
        assert received == sum((r.penalty + r.interest + r.principal + r.credit + r.recovery for r in repayments),
                               ZERO)
        assert services.fund_cash(w.fund) == capital - loan.principal + received - refunded
        principal_back = sum((r.principal for r in repayments), ZERO)
        assert loan.principal == principal_back + loan.principal_outstanding + loan.written_off
        assert _ledger(AccountKind.INTEREST_INCOME, "fund", w.fund.id) == sum((r.interest for r in repayments), ZERO)
        assert _ledger(AccountKind.PENALTY_INCOME, "fund", w.fund.id) == sum((r.penalty for r in repayments), ZERO)
        assert _ledger(AccountKind.BORROWER_CREDIT, "loan", loan.id) == loan.credit == \
            sum((r.credit for r in repayments), ZERO) - refunded
        assert _ledger(AccountKind.RECOVERIES, "loan", loan.id) == loan.recovered <= loan.written_off
        for what, happened in (("closed", loan.status == LoanStatus.CLOSED), ("written off", loan.written_off > 0),
                               ("credit", any(r.credit for r in repayments)), ("recovered", loan.recovered > 0),
                               ("penalty paid", any(r.penalty for r in repayments)), ("refunded", refunded > 0)):
            if happened:
                event(what)
        if not terms["penalty"]:
            assert sum((r.penalty for r in repayments), ZERO) == 0
        _sound()
    finally:
        savepoint.rollback()
        db.session.expire_all()
        w.call.__dict__.pop("_rules_as_written", None)
