"""Two administrators acting on a revolving fund at once, against PostgreSQL (each in its own session, started
together, committing after a pause): a fund that can pay one loan pays exactly one; a repayment recorded twice
at once is one repayment; a bank reference used at once for two things is used for one."""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal

from sqlalchemy import func, select

from programme.accounts.models import User
from programme.core.access import RuleViolation
from programme.extensions import db
from programme.ledger.balances import trial_balance
from programme.ledger.checks import check_ledger, check_loans
from programme.ledger.models import JournalEntry
from programme.loans import services
from programme.loans.models import Loan, Repayment, RepaymentPart, RevolvingFund
from tests.loans.world import DISBURSED_ON, FIRST_DUE, NOW, loan_world
from tests.races import POSTGRES_RACES, at_once

D = Decimal

pytestmark = POSTGRES_RACES


def sound() -> None:
    assert check_loans() == []
    assert check_ledger() == []
    assert trial_balance().balanced


def lending(fund_id: int, borrower_id: int, admin_id: int, principal: str, reference: str) -> Callable[[], int]:
    def work() -> int:
        loan = services.make_loan(
            db.session.get(RevolvingFund, fund_id), borrower_id=borrower_id, principal=D(principal),
            annual_rate=D("0.03"), term_periods=12, first_due=FIRST_DUE, disbursed_on=DISBURSED_ON,
            bank_reference=reference, purpose="Drying racks", actor=db.session.get(User, admin_id), now=NOW,
                                  timezone="UTC")
        return loan.id
    return work


def repaying(loan_id: int, admin_id: int, amount: str, reference: str) -> Callable[[], int]:
    def work() -> int:
        return services.record_repayment(
            db.session.get(Loan, loan_id), amount=D(amount), value_date=FIRST_DUE, bank_reference=reference,
            actor=db.session.get(User, admin_id), now=NOW, timezone="UTC").id
    return work


def test_two_loans_drawn_at_once_from_a_fund_that_can_pay_one_make_one_loan(app) -> None:
    w = loan_world(principal=None, cash="10000.00")
    db.session.commit()
    first, second = w.members()[:2]
    results = at_once(app, [lending(w.fund.id, first.id, w.admin.id, "8000.00", "LOAN-A"),
                            lending(w.fund.id, second.id, w.admin2.id, "8000.00", "LOAN-B")],
                      expected=(RuleViolation,))
    made = [r for r in results if isinstance(r, int)]
    refused = [r for r in results if isinstance(r, RuleViolation)]
    assert len(made) == 1 and len(refused) == 1
    assert "EUR 8,000.00 is more than the fund's cash: it has EUR 2,000.00" in refused[0].message
    db.session.expire_all()
    assert db.session.scalar(select(func.count()).select_from(Loan)) == 1
    assert services.fund_cash(db.session.get(RevolvingFund, w.fund.id)) == D("2000.00")
    sound()


def test_two_loans_that_together_fit_are_both_made(app) -> None:
    w = loan_world(principal=None, cash="10000.00")
    db.session.commit()
    first, second = w.members()[:2]
    results = at_once(app, [lending(w.fund.id, first.id, w.admin.id, "5000.00", "LOAN-A"),
                            lending(w.fund.id, second.id, w.admin2.id, "5000.00", "LOAN-B")],
                      expected=(RuleViolation,))
    assert all(isinstance(r, int) for r in results)
    db.session.expire_all()
    assert services.fund_cash(db.session.get(RevolvingFund, w.fund.id)) == D("0.00")
    sound()


def test_two_administrators_recording_one_repayment_at_once_record_it_once(app) -> None:
    w = loan_world()
    db.session.commit()
    loan_id = w.loan.id
    results = at_once(app, [repaying(loan_id, w.admin.id, "700.00", "BANK-7"),
                            repaying(loan_id, w.admin2.id, "700.00", "BANK-7")], expected=(RuleViolation,))
    db.session.expire_all()
    (repayment,) = db.session.scalars(select(Repayment)).all()
    assert results == [repayment.id, repayment.id]
    assert db.session.scalar(select(func.count()).select_from(JournalEntry).where(
        JournalEntry.idempotency_key == "repayment:BANK-7")) == 1
    loan = db.session.get(Loan, loan_id)
    assert loan.principal_outstanding == D("12000.00") - repayment.principal
    assert sum(p.principal for p in db.session.scalars(select(RepaymentPart))) == repayment.principal
    sound()


def test_two_repayments_of_one_loan_at_once_are_both_allocated_once(app) -> None:
    w = loan_world()
    db.session.commit()
    loan_id = w.loan.id
    results = at_once(app, [repaying(loan_id, w.admin.id, "700.00", "BANK-1"),
                            repaying(loan_id, w.admin2.id, "700.00", "BANK-2")], expected=(RuleViolation,))
    assert all(isinstance(r, int) for r in results)
    db.session.expire_all()
    loan = db.session.get(Loan, loan_id)
    repaid = sum(r.principal for r in db.session.scalars(select(Repayment)))
    assert loan.principal_outstanding == D("12000.00") - repaid
    sound()


def test_one_reference_used_at_once_on_two_loans_is_used_once(app) -> None:
    w = loan_world()
    other = services.make_loan(w.fund, borrower_id=w.members()[1].id, principal=D("3000.00"),
                               annual_rate=D("0.02"), term_periods=6, first_due=FIRST_DUE, disbursed_on=DISBURSED_ON,
                               bank_reference="LOAN-2", purpose="Dies", actor=w.admin, now=NOW, timezone="UTC")
    db.session.commit()
    results = at_once(app, [repaying(w.loan.id, w.admin.id, "500.00", "BANK-9"),
                            repaying(other.id, w.admin2.id, "500.00", "BANK-9")], expected=(RuleViolation,))
    made = [r for r in results if isinstance(r, int)]
    refused = [r for r in results if isinstance(r, RuleViolation)]
    assert len(made) == 1 and len(refused) == 1
    assert "BANK-9" in refused[0].message
    db.session.expire_all()
    assert db.session.scalar(select(func.count()).select_from(Repayment)) == 1
    sound()


def test_ten_identical_repayments_posted_at_once_make_one_repayment(app) -> None:
    """Issue 14, finding 9: ten identical posts of one repayment at once give one effect, and no error (the others
    get the repayment already recorded: "already done")."""
    w = loan_world(principal="1200.00")
    db.session.commit()
    admins = [w.admin.id, w.admin2.id] * 5
    results = at_once(app, [repaying(w.loan.id, admin_id, "100.00", "SAME-REF") for admin_id in admins],
                      expected=(RuleViolation,))
    ids = {r for r in results if isinstance(r, int)}
    assert len(ids) == 1, results
    assert all(isinstance(r, int | RuleViolation) for r in results)
    db.session.expire_all()
    assert db.session.scalar(select(func.count(Repayment.id))) == 1
    assert db.session.scalar(select(func.count(JournalEntry.id)).where(JournalEntry.idempotency_key.like(
        "repayment:%"))) == 1
    sound()
