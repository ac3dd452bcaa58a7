"""Two administrators acting on guarantees at once, against PostgreSQL (each in its own session, started together,
committing after a pause): two requests to call a loan's guarantees make one call; two approvals of one call post
it once; one collection recorded twice at once (the same bank reference) is applied once; two guarantees by one
organisation that together pass its exposure limit: one is refused; two refunds of a guarantor's credit asked at
once make one, two approvals of it post it once, one bank reference named at once for two guarantors: one."""

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
from programme.loans.guarantee_models import (
    GuaranteeCall,
    GuaranteeCollection,
    GuaranteeObligation,
    GuarantorCreditRefund,
    LoanGuarantee,
    RefundStatus,
)
from programme.loans.models import Loan
from programme.loans.services import guarantee_calls, guarantee_collections, guarantee_refunds, guarantees
from tests.loans.guarantee_world import BEFORE, DEFAULTED, guarantee_world
from tests.loans.world import FIRST_DUE
from tests.races import POSTGRES_RACES, at_once

D = Decimal

pytestmark = POSTGRES_RACES


def sound() -> None:
    assert check_loans() == []
    assert check_ledger() == []
    assert trial_balance().balanced


def asking(loan_id: int, admin_id: int) -> Callable[[], int]:
    def work() -> int:
        return guarantee_calls.request_call(db.session.get(Loan, loan_id), reason="In default",
                                       actor=db.session.get(User, admin_id), now=DEFAULTED, timezone="UTC").id
    return work


def approving(call_id: int, person_id: int) -> Callable[[], int]:
    def work() -> int:
        return guarantee_calls.approve_call(db.session.get(GuaranteeCall, call_id),
                                            actor=db.session.get(User, person_id), now=DEFAULTED, timezone="UTC").id
    return work


def collecting(obligation_id: int, admin_id: int, amount: str, reference: str) -> Callable[[], int]:
    def work() -> int:
        return guarantee_collections.record_collection(
            db.session.get(GuaranteeObligation, obligation_id), amount=D(amount), value_date=DEFAULTED.date(),
            bank_reference=reference, actor=db.session.get(User, admin_id), now=DEFAULTED, timezone="UTC").id
    return work


def guaranteeing(loan_id: int, guarantor_id: int, admin_id: int, amount: str) -> Callable[[], int]:
    def work() -> int:
        return guarantees.add_guarantee(db.session.get(Loan, loan_id), guarantor_id=guarantor_id, amount=D(amount),
                                        actor=db.session.get(User, admin_id), now=BEFORE, timezone="UTC").id
    return work


def test_two_requests_to_call_at_once_make_one_call(app) -> None:
    g = guarantee_world()
    db.session.commit()
    results = at_once(app, [asking(g.w.loan.id, g.w.admin.id), asking(g.w.loan.id, g.w.admin2.id)],
                      expected=(RuleViolation,))
    assert len([r for r in results if isinstance(r, int)]) == 1
    assert len([r for r in results if isinstance(r, RuleViolation)]) == 1
    db.session.expire_all()
    assert db.session.scalar(select(func.count()).select_from(GuaranteeCall)) == 1


def test_two_approvals_of_one_call_at_once_post_it_once(app) -> None:
    g = guarantee_world()
    call = guarantee_calls.request_call(g.w.loan, reason="In default", actor=g.w.admin, now=DEFAULTED, timezone="UTC")
    db.session.commit()
    results = at_once(app, [approving(call.id, g.w.admin2.id), approving(call.id, g.w.manager.id)],
                      expected=(RuleViolation,))
    assert len([r for r in results if isinstance(r, int)]) == 1
    refused = [r for r in results if isinstance(r, RuleViolation)]
    assert len(refused) == 1 and "called already" in refused[0].message
    db.session.expire_all()
    assert db.session.scalar(select(func.count()).select_from(GuaranteeObligation)) == 2
    assert db.session.scalar(select(func.count()).select_from(JournalEntry).where(
        JournalEntry.idempotency_key == f"guarantee_call:{call.id}")) == 1
    assert db.session.get(Loan, g.w.loan.id).guarantees_called == D("12000.00")
    sound()


def test_one_collection_recorded_twice_at_once_is_applied_once(app) -> None:
    g = guarantee_world()
    call = g.call()
    obligation_id = call.obligations[0].id
    db.session.commit()
    results = at_once(app, [collecting(obligation_id, g.w.admin.id, "700.00", "GUA-7"),
                            collecting(obligation_id, g.w.admin2.id, "700.00", "GUA-7")], expected=(RuleViolation,))
    db.session.expire_all()
    (collection,) = db.session.scalars(select(GuaranteeCollection)).all()
    assert results == [collection.id, collection.id]
    assert db.session.get(GuaranteeObligation, obligation_id).collected == D("700.00")
    sound()


def test_two_guarantees_past_the_exposure_limit_at_once_one_is_refused(app) -> None:
    g = guarantee_world(share=None, amount=None)
    w = g.w
    other = services.make_loan(w.fund, borrower_id=g.second.id, principal=D("20000.00"), annual_rate=D("0.02"),
                               term_periods=12, first_due=FIRST_DUE, disbursed_on=w.loan.disbursed_on,
                               bank_reference="LOAN-2", purpose="Dryers", actor=w.admin, now=BEFORE, timezone="UTC")
    db.session.commit()
    # 6,000.00 + 9,500.00 = 15,500.00: over the 15,000.00 limit together, within it alone
    results = at_once(app, [guaranteeing(w.loan.id, g.first.id, w.admin.id, "6000.00"),
                            guaranteeing(other.id, g.first.id, w.admin2.id, "9500.00")], expected=(RuleViolation,))
    refused = [r for r in results if isinstance(r, RuleViolation)]
    assert len(refused) == 1 and "max_exposure_per_guarantor" in refused[0].message
    db.session.expire_all()
    assert db.session.scalar(select(func.count()).select_from(LoanGuarantee)) == 1


def asking_refund(obligation_id: int, admin_id: int, reference: str) -> Callable[[], int]:
    def work() -> int:
        return guarantee_refunds.request_credit_refund(
            db.session.get(GuaranteeObligation, obligation_id), bank_reference=reference, value_date=DEFAULTED.date(),
            reason="Paid over", actor=db.session.get(User, admin_id), now=DEFAULTED, timezone="UTC").id
    return work


def approving_refund(refund_id: int, person_id: int) -> Callable[[], int]:
    def work() -> int:
        return guarantee_refunds.approve_credit_refund(
            db.session.get(GuarantorCreditRefund, refund_id), actor=db.session.get(User, person_id), now=DEFAULTED,
            timezone="UTC").id
    return work


def _overpaid_both(g) -> list[GuaranteeObligation]:
    call = g.call()
    for number, obligation in enumerate(call.obligations):
        guarantee_collections.record_collection(
            obligation, amount=obligation.owed + D("75.00"), value_date=DEFAULTED.date(),
            bank_reference=f"GUA-OVER-{number}", actor=g.w.admin, now=DEFAULTED, timezone="UTC")
    return list(call.obligations)


def test_two_refunds_of_one_credit_asked_at_once_make_one(app) -> None:
    g = guarantee_world()
    obligation = _overpaid_both(g)[0]
    db.session.commit()
    results = at_once(app, [asking_refund(obligation.id, g.w.admin.id, "REF-A"),
                            asking_refund(obligation.id, g.w.admin2.id, "REF-B")], expected=(RuleViolation,))
    assert len([r for r in results if isinstance(r, int)]) == 1
    assert len([r for r in results if isinstance(r, RuleViolation)]) == 1
    db.session.expire_all()
    assert db.session.scalar(select(func.count()).select_from(GuarantorCreditRefund)) == 1


def test_one_reference_named_for_two_guarantors_at_once_is_one_refund(app) -> None:
    g = guarantee_world()
    first, second = _overpaid_both(g)
    db.session.commit()
    results = at_once(app, [asking_refund(first.id, g.w.admin.id, "REF-SAME"),
                            asking_refund(second.id, g.w.admin2.id, "REF-SAME")], expected=(RuleViolation,))
    refused = [r for r in results if isinstance(r, RuleViolation)]
    assert len(refused) == 1 and refused[0].field == "bank_reference"
    db.session.expire_all()
    assert db.session.scalar(select(func.count()).select_from(GuarantorCreditRefund)) == 1


def test_two_approvals_of_one_refund_at_once_post_it_once(app) -> None:
    g = guarantee_world()
    obligation = _overpaid_both(g)[0]
    asked = guarantee_refunds.request_credit_refund(obligation, bank_reference="REF-ONCE",
                                                    value_date=DEFAULTED.date(), reason="Paid over", actor=g.w.admin,
                                                    now=DEFAULTED, timezone="UTC")
    db.session.commit()
    results = at_once(app, [approving_refund(asked.id, g.w.admin2.id), approving_refund(asked.id, g.w.manager.id)],
                      expected=(RuleViolation,))
    assert len([r for r in results if isinstance(r, int)]) == 1
    refused = [r for r in results if isinstance(r, RuleViolation)]
    assert len(refused) == 1 and "refunded already" in refused[0].message
    db.session.expire_all()
    assert db.session.get(GuarantorCreditRefund, asked.id).status == RefundStatus.REFUNDED
    assert db.session.get(GuaranteeObligation, obligation.id).credit == D("0.00")
    assert db.session.scalar(select(func.count()).select_from(JournalEntry).where(
        JournalEntry.idempotency_key == "guarantee_credit_refund:REF-ONCE")) == 1
    sound()
