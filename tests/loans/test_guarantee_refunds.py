"""Refunding a guarantor's credit (issue 18): what a guarantor paid over what it owed is held as its credit; a fund
administrator asks for its refund (bank reference, value date, reason), a second real person approves it, and only
then is it posted once (Dr guarantor_credit:obligation, Cr revolving_fund_cash:fund); refused without a credit,
with a reference already named, with a date in the future (today accepted) or before the payment that made the
credit; the asker cannot approve; a rejection posts nothing and frees the reference; through the loan's page."""

from __future__ import annotations

import re
from datetime import timedelta
from decimal import Decimal

import pytest
from sqlalchemy import func, select

from programme.core.access import AccessDenied, RuleViolation
from programme.core.audit import AuditEntry
from programme.extensions import db
from programme.ledger.balances import trial_balance
from programme.ledger.checks import check_ledger, check_loans
from programme.ledger.models import AccountKind, JournalEntry
from programme.ledger.posting import get_account
from programme.loans import services
from programme.loans.guarantee_models import GuarantorCreditRefund, RefundStatus
from programme.loans.services import guarantee_calls, guarantees
from programme.loans.services import guarantee_collections as collections
from programme.loans.services import guarantee_refunds as refunds
from tests.loans.guarantee_world import BEFORE, DEFAULTED, GuaranteeWorld, guarantee_world
from tests.loans.world import loginable_loan_world

D = Decimal
TODAY = DEFAULTED.date()


def sound() -> None:
    assert check_loans() == []
    assert check_ledger() == []
    assert trial_balance().balanced


def _overpaid(g: GuaranteeWorld, extra: str = "250.00", reference: str = "GUA-OVER"):
    """The first guarantor's obligation (6,000.00), paid with ``extra`` over: held as its credit."""
    call = g.call()
    o = next(x for x in call.obligations if x.guarantor_id == g.first.id)
    collections.record_collection(o, amount=o.owed + D(extra), value_date=TODAY, bank_reference=reference,
                                  actor=g.w.admin, now=DEFAULTED, timezone="UTC")
    assert o.credit == D(extra)
    return o


def _ask(g: GuaranteeWorld, o, *, reference: str = "REF-OUT-1", day=TODAY, actor=None, reason: str = "Paid twice"):
    return refunds.request_credit_refund(o, bank_reference=reference, value_date=day, reason=reason,
                                         actor=actor or g.w.admin, now=DEFAULTED, timezone="UTC")


def test_a_guarantors_credit_is_refunded_with_four_eyes(app):
    g = guarantee_world()
    o = _overpaid(g)
    cash = services.fund_cash(g.w.fund)
    asked = _ask(g, o)
    assert asked.status == RefundStatus.REQUESTED and asked.amount == D("250.00")
    assert o.credit == D("250.00") and services.fund_cash(g.w.fund) == cash  # nothing posted yet
    assert _ask(g, o).id == asked.id  # the same request again: the one waiting
    # the asker cannot approve
    with pytest.raises(AccessDenied, match="someone else must approve"):
        refunds.approve_credit_refund(asked, actor=g.w.admin, now=DEFAULTED, timezone="UTC")
    assert not refunds.may_decide_refund(asked, g.w.admin) and refunds.may_decide_refund(asked, g.w.admin2)
    assert refunds.may_decide_refund(asked, g.w.manager)
    done = refunds.approve_credit_refund(asked, actor=g.w.admin2, now=DEFAULTED, timezone="UTC")
    assert done.status == RefundStatus.REFUNDED and done.decided_by_id == g.w.admin2.id
    assert o.credit == D("0.00") and o.collected == D("6000.00")
    assert services.fund_cash(g.w.fund) == cash - D("250.00")
    entry = db.session.get(JournalEntry, done.journal_entry_id)
    assert entry.idempotency_key == "guarantee_credit_refund:REF-OUT-1" and entry.value_date == TODAY
    account = get_account(AccountKind.GUARANTOR_CREDIT, "obligation", o.id)
    assert {(line.account_id, line.debit) for line in entry.lines if line.debit > 0} == {(account.id, D("250.00"))}
    # approved twice: posted once
    with pytest.raises(RuleViolation, match="refunded already"):
        refunds.approve_credit_refund(asked, actor=g.w.manager, now=DEFAULTED, timezone="UTC")
    assert db.session.scalar(select(func.count()).select_from(JournalEntry).where(
        JournalEntry.idempotency_key.like("guarantee_credit_refund:%"))) == 1
    actions = set(db.session.scalars(select(AuditEntry.action).where(AuditEntry.action.like("loans.guarantor_%"))))
    assert actions == {"loans.guarantor_credit_refund_requested", "loans.guarantor_credit_refunded"}
    # nothing left to refund
    with pytest.raises(RuleViolation, match="no credit"):
        _ask(g, o, reference="REF-OUT-2")
    sound()


def test_only_a_fund_administrator_asks_and_only_an_approver_decides(app):
    g = guarantee_world()
    o = _overpaid(g)
    for person in (g.w.manager, g.w.applicant, g.w.reviewer):
        with pytest.raises(AccessDenied):
            _ask(g, o, actor=person)
    asked = _ask(g, o)
    for person in (g.w.applicant, g.w.reviewer):
        with pytest.raises(AccessDenied):
            refunds.approve_credit_refund(asked, actor=person, now=DEFAULTED, timezone="UTC")
        with pytest.raises(AccessDenied):
            refunds.reject_credit_refund(asked, reason="No", actor=person, now=DEFAULTED)
    refunds.approve_credit_refund(asked, actor=g.w.manager, now=DEFAULTED, timezone="UTC")
    assert o.credit == 0
    sound()


def test_refused_without_a_credit(app):
    g = guarantee_world()
    call = g.call()
    o = call.obligations[0]
    with pytest.raises(RuleViolation, match="no credit on this obligation"):
        _ask(g, o)
    # paid exactly what it owes: still no credit
    collections.record_collection(o, amount=o.owed, value_date=TODAY, bank_reference="GUA-EXACT", actor=g.w.admin,
                                  now=DEFAULTED, timezone="UTC")
    with pytest.raises(RuleViolation, match="no credit on this obligation"):
        _ask(g, o)
    assert db.session.scalar(select(func.count()).select_from(GuarantorCreditRefund)) == 0


def test_a_date_in_the_future_is_refused_today_accepted(app):
    g = guarantee_world()
    o = _overpaid(g)
    with pytest.raises(RuleViolation, match="in the future") as refused:
        _ask(g, o, day=TODAY + timedelta(days=1))
    assert refused.value.field == "value_date"
    assert _ask(g, o, day=TODAY).value_date == TODAY


def test_a_date_before_the_payment_that_made_the_credit_is_refused(app):
    g = guarantee_world()
    o = _overpaid(g)
    with pytest.raises(RuleViolation, match="before the payment") as refused:
        _ask(g, o, day=TODAY - timedelta(days=1))
    assert refused.value.field == "value_date"


def test_a_reference_already_named_is_refused_and_a_rejection_frees_it(app):
    g = guarantee_world()
    o = _overpaid(g)
    second = next(x for x in guarantees.guarantees_of(g.w.loan) if x.guarantor_id == g.second.id)
    other = next(x for x in o.call.obligations if x.guarantee_id == second.id)
    collections.record_collection(other, amount=other.owed + D("10.00"), value_date=TODAY, bank_reference="GUA-2",
                                  actor=g.w.admin, now=DEFAULTED, timezone="UTC")
    asked = _ask(g, o, reference="REF-SAME")
    # another obligation, the same reference: refused beside the reference
    with pytest.raises(RuleViolation, match="already used for a refund") as refused:
        _ask(g, other, reference="REF-SAME")
    assert refused.value.field == "bank_reference"
    # a second refund of the same obligation while one waits: refused
    with pytest.raises(RuleViolation, match="already waiting"):
        _ask(g, o, reference="REF-OTHER", actor=g.w.admin2)
    # a reason is needed to reject; the asker may withdraw it; nothing is posted and the reference is free
    with pytest.raises(RuleViolation, match="reason") as refused:
        refunds.reject_credit_refund(asked, reason=" ", actor=g.w.admin2, now=DEFAULTED)
    assert refused.value.field == "reason"
    refunds.reject_credit_refund(asked, reason="Wrong account", actor=g.w.admin, now=DEFAULTED)
    assert asked.status == RefundStatus.REJECTED and o.credit == D("250.00")
    with pytest.raises(RuleViolation, match="rejected already"):
        refunds.approve_credit_refund(asked, actor=g.w.admin2, now=DEFAULTED, timezone="UTC")
    again = _ask(g, other, reference="REF-SAME")
    refunds.approve_credit_refund(again, actor=g.w.admin2, now=DEFAULTED, timezone="UTC")
    assert other.credit == 0
    # a reference once refunded cannot be named again
    with pytest.raises(RuleViolation, match="already used for a refund of EUR 10.00"):
        _ask(g, o, reference="REF-SAME")
    sound()


def test_asking_needs_a_reference_and_a_reason(app):
    g = guarantee_world()
    o = _overpaid(g)
    with pytest.raises(RuleViolation) as refused:
        _ask(g, o, reference=" ")
    assert refused.value.field == "bank_reference"
    with pytest.raises(RuleViolation, match="reason") as refused:
        _ask(g, o, reason="  ")
    assert refused.value.field == "reason"


def test_credit_paid_after_the_request_stays_held(app):
    g = guarantee_world()
    o = _overpaid(g, extra="100.00")
    asked = _ask(g, o)
    collections.record_collection(o, amount=D("40.00"), value_date=TODAY, bank_reference="GUA-MORE",
                                  actor=g.w.admin, now=DEFAULTED, timezone="UTC")
    refunds.approve_credit_refund(asked, actor=g.w.admin2, now=DEFAULTED, timezone="UTC")
    assert asked.amount == D("100.00") and o.credit == D("40.00")  # the second person approved what was asked
    sound()


def _text(response) -> str:
    return " ".join(re.sub(r"<[^>]+>", " ", response.get_data(as_text=True)).split())


def test_the_refund_through_the_loan_page(client, login, clock, app):
    w = loginable_loan_world()
    member = [o for o in w.members() if o.id != w.borrower.id][0]
    guarantees.add_guarantee(w.loan, guarantor_id=member.id, share=D("0.5"), actor=w.admin, now=BEFORE,
                             timezone="UTC")
    asked = guarantee_calls.request_call(w.loan, reason="Years late", actor=w.admin, now=DEFAULTED, timezone="UTC")
    call = guarantee_calls.approve_call(asked, actor=w.admin2, now=DEFAULTED, timezone="UTC")
    o = call.obligations[0]
    collections.record_collection(o, amount=D("6100.00"), value_date=TODAY, bank_reference="GUA-PAGE",
                                  actor=w.admin, now=DEFAULTED, timezone="UTC")
    db.session.commit()
    clock(DEFAULTED)
    login(w.admin.email)
    url = f"/loans/{w.loan.id}/obligations/{o.id}/credit-refund"
    page = _text(client.get(f"/loans/{w.loan.id}"))
    assert "Refund the credit of EUR 100.00 to" in page
    prefix = f"refund-{o.id}-"
    # a date in the future: refused beside its field, nothing asked
    refused = client.post(url, data={prefix + "value_date": (TODAY + timedelta(days=1)).isoformat(),
                                     prefix + "bank_reference": "REF-PAGE", prefix + "reason": "Paid twice"})
    assert refused.status_code == 200 and "in the future" in _text(refused)
    assert db.session.scalar(select(func.count()).select_from(GuarantorCreditRefund)) == 0
    done = client.post(url, data={prefix + "value_date": TODAY.isoformat(), prefix + "bank_reference": "REF-PAGE",
                                  prefix + "reason": "Paid twice"})
    assert done.status_code == 302
    page = _text(client.get(f"/loans/{w.loan.id}"))
    assert "is waiting for a second person" in page and "You asked for this" in page
    assert client.post(url + "/approve").status_code == 403  # not by the one who asked
    db.session.expire_all()
    assert db.session.scalar(select(GuarantorCreditRefund)).status == RefundStatus.REQUESTED
    client.post("/logout")
    login(w.admin2.email)
    assert "Approve and post" in _text(client.get(f"/loans/{w.loan.id}"))
    assert client.post(url + "/approve").status_code == 302
    db.session.expire_all()
    refund = db.session.scalar(select(GuarantorCreditRefund))
    assert refund.status == RefundStatus.REFUNDED and refund.obligation.credit == 0
    page = _text(client.get(f"/loans/{w.loan.id}"))
    assert "Credit refunded to the guarantors" in page and "REF-PAGE" in page and "Refunded" in page
    assert "Refund the credit of" not in page
    sound()
