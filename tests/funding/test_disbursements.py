"""Disbursements of a start-up grant through the services: requested -> approved -> paid, or rejected; the
cap of the grant at its boundary; the payment in the ledger; retries and references; who may do what."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from programme.core.access import AccessDenied, Role, RuleViolation
from programme.core.audit import AuditEntry
from programme.extensions import db
from programme.funding import services
from programme.funding.models import Disbursement, DisbursementStatus, InitiativeStatus
from programme.ledger.balances import balance, trial_balance
from programme.ledger.checks import check_ledger
from programme.ledger.models import AccountKind, JournalEntry
from programme.ledger.posting import get_account
from tests.conftest import SETUP
from tests.funding.conftest import COMMITTED, LATER, PAID_ON, Funded
from tests.reviews.world import user

D = Decimal


def request(f: Funded, amount: object = "10000.00", purpose: str = "First activities", by=None):
    return services.request_disbursement(f.grant, amount=amount, purpose=purpose, actor=by or f.admin, now=LATER,
                                         timezone="UTC")


def approve(f: Funded, d: Disbursement, by=None) -> Disbursement:
    return services.approve_disbursement(d, actor=by or f.manager, now=LATER, timezone="UTC")


def pay(f: Funded, d: Disbursement, reference: str = "BANK-001", by=None, value_date=PAID_ON) -> Disbursement:
    return services.record_payment(d, value_date=value_date, bank_reference=reference, actor=by or f.admin,
                                   now=LATER, timezone="UTC")


def entries() -> int:
    return db.session.scalar(select(func.count()).select_from(JournalEntry))


def test_requested_approved_paid_with_its_ledger_entry(funded: Funded) -> None:
    f = funded
    d = request(f, "12500.50")
    assert d.status == DisbursementStatus.REQUESTED and d.amount == D("12500.50") and d.currency == "EUR"
    assert services.grant_position(f.grant).requested == D("12500.50")
    approve(f, d)
    assert d.status == DisbursementStatus.APPROVED and d.approved_by_id == f.manager.id
    pay(f, d)
    db.session.commit()
    assert d.status == DisbursementStatus.PAID and d.bank_reference == "BANK-001" and d.value_date == PAID_ON
    entry = d.journal_entry
    assert entry.idempotency_key == f"disbursement:{d.id}:paid" and entry.value_date == PAID_ON
    assert {(line.account.code, line.debit, line.credit) for line in entry.lines} == {
        (f"grants_paid:initiative:{f.initiative.id}", D("12500.50"), D("0.00")),
        (f"programme_budget:call:{f.initiative.call_id}", D("0.00"), D("12500.50")),
    }
    # The call's budget went in first, once, under its own key.
    budget_entry = db.session.scalar(select(JournalEntry).where(
        JournalEntry.idempotency_key == f"call:{f.initiative.call_id}:budget"))
    assert budget_entry is not None and entries() == 2
    budget = get_account(AccountKind.PROGRAMME_BUDGET, "call", f.initiative.call_id)
    assert balance(budget) == f.initiative.call.budget - D("12500.50")
    position = services.grant_position(f.grant)
    assert position == services.GrantPosition(COMMITTED, D("0.00"), D("0.00"), D("12500.50"),
                                              COMMITTED - D("12500.50"))
    assert services.paid_from_ledger(f.initiative) == position.paid
    assert trial_balance().balanced
    assert check_ledger() == []
    actions = [a.action for a in db.session.scalars(select(AuditEntry).where(AuditEntry.object_type == "Disbursement")
                                                     .order_by(AuditEntry.id))]
    assert actions == ["funding.disbursement_requested", "funding.disbursement_approved",
                       "funding.disbursement_paid"]


def test_several_tranches_add_up_in_the_ledger(funded: Funded) -> None:
    f = funded
    for index, amount in enumerate(["10000.00", "7500.25", "0.01"]):
        d = request(f, amount)
        approve(f, d)
        pay(f, d, reference=f"BANK-{index}")
    db.session.commit()
    assert services.paid_from_ledger(f.initiative) == services.grant_position(f.grant).paid == D("17500.26")
    assert entries() == 4  # one budget entry, three payments
    assert check_ledger() == []


def test_the_requester_cannot_approve(funded: Funded) -> None:
    f = funded
    d = request(f, by=f.manager)
    with pytest.raises(AccessDenied, match="someone else must approve"):
        approve(f, d, by=f.manager)
    assert d.status == DisbursementStatus.REQUESTED
    approve(f, d, by=f.admin)
    assert d.status == DisbursementStatus.APPROVED


def test_an_account_the_requester_created_or_its_creator_cannot_approve(funded: Funded) -> None:
    """Four eyes means two people: require_second_person refuses the requester's own accounts (issue 14, 1)."""
    f = funded
    created = user("made.by.manager@funds.test", Role.FUND_ADMINISTRATOR)
    created.created_by_id = f.manager.id
    d = request(f, by=f.manager)
    with pytest.raises(AccessDenied, match="Your account was created by the person who asked"):
        approve(f, d, by=created)
    other = request(f, by=created)
    with pytest.raises(AccessDenied, match="You created the account of the person who asked"):
        approve(f, other, by=f.manager)
    assert d.status == other.status == DisbursementStatus.REQUESTED
    approve(f, d, by=f.admin)
    approve(f, other, by=f.admin2)
    assert d.status == other.status == DisbursementStatus.APPROVED


def test_the_database_refuses_an_approver_who_requested(funded: Funded) -> None:
    f = funded
    d = request(f)
    db.session.commit()
    d.status, d.approved_by_id, d.approved_at = DisbursementStatus.APPROVED, f.admin.id, LATER
    with pytest.raises(IntegrityError):
        db.session.flush()
    db.session.rollback()


def test_only_a_requested_disbursement_is_approved(funded: Funded) -> None:
    f = funded
    d = request(f)
    approve(f, d)
    with pytest.raises(RuleViolation, match="only a requested disbursement"):
        approve(f, d, by=f.admin2)


def test_reject_needs_a_reason_and_frees_the_grant(funded: Funded) -> None:
    f = funded
    d = request(f, COMMITTED)
    with pytest.raises(RuleViolation, match="reason"):
        services.reject_disbursement(d, reason="  ", actor=f.manager, now=LATER)
    assert d.status == DisbursementStatus.REQUESTED
    with pytest.raises(RuleViolation, match="EUR 0.00 is left of the start-up grant of EUR 30,000.00"):
        request(f, "0.01")
    services.reject_disbursement(d, reason="No quotes attached.", actor=f.manager, now=LATER)
    assert d.status == DisbursementStatus.REJECTED and d.rejection_reason == "No quotes attached."
    assert services.grant_position(f.grant).left == COMMITTED
    again = request(f, COMMITTED)
    assert again.status == DisbursementStatus.REQUESTED


def test_an_approved_disbursement_can_be_rejected_but_not_a_paid_one(funded: Funded) -> None:
    f = funded
    d = approve(f, request(f))
    services.reject_disbursement(d, reason="The activity was cancelled.", actor=f.admin2, now=LATER)
    assert d.status == DisbursementStatus.REJECTED
    with pytest.raises(RuleViolation, match="only an approved disbursement can be paid"):
        pay(f, d)
    paid = pay(f, approve(f, request(f)))
    with pytest.raises(RuleViolation, match="only a requested or approved"):
        services.reject_disbursement(paid, reason="Too late.", actor=f.manager, now=LATER)


def test_the_cap_at_its_boundary(funded: Funded) -> None:
    f = funded
    request(f, "18000.00")
    with pytest.raises(RuleViolation, match=r"EUR 12,000.00 is left of the start-up grant of EUR 30,000.00") as caught:
        request(f, "12000.01")
    assert caught.value.field == "amount"
    last = request(f, "12000.00")
    assert last.amount == D("12000.00")
    assert services.grant_position(f.grant).left == D("0.00")


def test_amounts_are_positive_whole_cents_and_never_floats(funded: Funded) -> None:
    f = funded
    for bad, message in [(100.0, "float"), ("0", "more than zero"), ("-5", "more than zero"),
                         ("10.001", "whole cents"), ("ten", "not a number"), (True, "float")]:
        with pytest.raises(RuleViolation, match=message):
            request(f, bad)
    assert request(f, 100).amount == D("100.00")
    with pytest.raises(RuleViolation, match="what the tranche is for"):
        request(f, "5.00", purpose=" ")
    assert db.session.scalar(select(func.count()).select_from(Disbursement)) == 1


def test_approval_rechecks_a_commitment_cut_since_the_request(funded: Funded) -> None:
    f = funded
    first, second = request(f, "20000.00"), request(f, "10000.00")
    f.grant.committed = D("25000.00")
    approve(f, first)
    with pytest.raises(RuleViolation, match="EUR 5,000.00 is left of the start-up grant of EUR 25,000.00"):
        approve(f, second)
    assert second.status == DisbursementStatus.REQUESTED


def test_a_terminated_initiative_gets_nothing_more(funded: Funded) -> None:
    f = funded
    d = request(f)
    f.initiative.status = InitiativeStatus.TERMINATED
    with pytest.raises(RuleViolation, match="terminated"):
        request(f)
    with pytest.raises(RuleViolation, match="terminated"):
        approve(f, d)


def test_a_payment_recorded_twice_changes_nothing(funded: Funded) -> None:
    f = funded
    d = pay(f, approve(f, request(f)), reference=" BANK-7 ")
    db.session.commit()
    assert d.bank_reference == "BANK-7"
    before = (entries(), db.session.scalar(select(func.count()).select_from(AuditEntry)), d.paid_at)
    again = pay(f, d, reference="BANK-7", by=f.admin2)
    db.session.commit()
    assert again is d and d.paid_by_id == f.admin.id
    assert (entries(), db.session.scalar(select(func.count()).select_from(AuditEntry)), d.paid_at) == before
    with pytest.raises(RuleViolation, match="already paid, with bank reference BANK-7"):
        pay(f, d, reference="BANK-8")
    assert services.paid_from_ledger(f.initiative) == D("10000.00")


def test_a_reference_used_for_another_disbursement_is_refused(funded: Funded) -> None:
    f = funded
    first = pay(f, approve(f, request(f)), reference="BANK-7")
    second = approve(f, request(f))
    with pytest.raises(RuleViolation, match=f"already used for disbursement {first.id} of {f.initiative.reference}"):
        pay(f, second, reference="BANK-7")
    assert second.status == DisbursementStatus.APPROVED
    pay(f, second, reference="BANK-9")
    assert services.paid_from_ledger(f.initiative) == D("20000.00")


def test_a_value_date_in_the_future_is_refused(funded: Funded) -> None:
    f = funded
    d = approve(f, request(f))
    with pytest.raises(RuleViolation, match="in the future") as caught:
        pay(f, d, value_date=LATER.date() + timedelta(days=1))
    assert caught.value.field == "value_date"
    # Today in the programme's time zone is accepted, though it is still yesterday in UTC.
    late_evening = LATER.replace(hour=23, minute=30)
    services.record_payment(d, value_date=late_evening.date() + timedelta(days=1), bank_reference="BANK-1",
                            actor=f.admin, now=late_evening, timezone="Africa/Johannesburg")
    assert d.status == DisbursementStatus.PAID


@pytest.mark.parametrize("who", ["reviewer", "applicant"])
def test_reviewers_and_applicants_are_refused(funded: Funded, who: str) -> None:
    f = funded
    person = getattr(f, who)
    with pytest.raises(AccessDenied):
        request(f, by=person)
    d = request(f)
    with pytest.raises(AccessDenied):
        approve(f, d, by=person)
    with pytest.raises(AccessDenied):
        services.reject_disbursement(d, reason="no", actor=person, now=LATER)
    approve(f, d)
    with pytest.raises(AccessDenied):
        pay(f, d, by=person)
    with pytest.raises(AccessDenied):
        services.budget_call(f.initiative.call, actor=person, now=LATER)
    if who == "reviewer":
        with pytest.raises(AccessDenied):
            services.disbursements_of(f.initiative, actor=person)
    else:
        assert services.disbursements_of(f.initiative, actor=person) == [d]


def test_only_a_fund_administrator_records_a_payment(funded: Funded) -> None:
    f = funded
    d = approve(f, request(f), by=f.admin2)
    with pytest.raises(AccessDenied):
        pay(f, d, by=f.manager)


def test_the_call_budget_is_posted_once(funded: Funded) -> None:
    call = funded.initiative.call
    first = services.budget_call(call, actor=SETUP, now=LATER)
    assert services.budget_call(call, actor=funded.admin, now=LATER).id == first.id
    assert entries() == 1
    assert balance(get_account(AccountKind.PROGRAMME_BUDGET, "call", call.id)) == call.budget
