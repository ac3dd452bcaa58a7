"""Two administrators acting on disbursements at once, against PostgreSQL (each in its own session, started
together, committing after a pause): one payment and one journal entry; approvals never overcommit a grant."""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal

import pytest
from sqlalchemy import func, select, update

from programme.accounts.models import User
from programme.core.access import RuleViolation
from programme.extensions import db
from programme.funding import services
from programme.funding.models import Disbursement, DisbursementStatus, Grant
from programme.ledger.checks import check_ledger
from programme.ledger.models import JournalEntry
from tests.funding.conftest import LATER, PAID_ON, Funded, funded_initiative
from tests.races import POSTGRES_RACES, at_once, committed

D = Decimal

pytestmark = POSTGRES_RACES


@pytest.fixture
def funded(app) -> Funded:
    return committed(funded_initiative())


def test_two_administrators_paying_one_disbursement_make_one_payment(app, funded: Funded) -> None:
    f = funded
    d = services.request_disbursement(f.grant, amount="10000.00", purpose="Workshop", actor=f.manager, now=LATER,
                                      timezone="UTC")
    services.approve_disbursement(d, actor=f.admin, now=LATER, timezone="UTC")
    db.session.commit()
    d_id, admin_ids = d.id, [f.admin.id, f.admin2.id]

    def paying(admin_id: int) -> Callable[[], int | None]:
        def work() -> int | None:
            paid = services.record_payment(db.session.get(Disbursement, d_id), value_date=PAID_ON,
                                           bank_reference="BANK-42", actor=db.session.get(User, admin_id), now=LATER,
                                           timezone="UTC")
            return paid.journal_entry_id
        return work

    results = at_once(app, [paying(i) for i in admin_ids], expected=(RuleViolation,))
    db.session.expire_all()
    d = db.session.get(Disbursement, d_id)
    assert d.status == DisbursementStatus.PAID
    assert results == [d.journal_entry_id, d.journal_entry_id]
    payments = db.session.scalars(select(JournalEntry).where(JournalEntry.source_type == "Disbursement")).all()
    assert [e.id for e in payments] == [d.journal_entry_id]
    assert db.session.scalar(select(func.count()).select_from(JournalEntry)) == 2  # with the call's budget
    assert services.paid_from_ledger(d.initiative) == D("10000.00") == services.grant_position(d.grant).paid
    assert check_ledger() == []


def test_two_approvals_that_together_exceed_the_grant_one_succeeds(app, funded: Funded) -> None:
    f = funded
    first = services.request_disbursement(f.grant, amount="20000.00", purpose="A", actor=f.manager, now=LATER,
                                          timezone="UTC")
    second = services.request_disbursement(f.grant, amount="10000.00", purpose="B", actor=f.manager, now=LATER,
                                           timezone="UTC")
    # The commitment is cut after the requests: each fits alone, both do not.
    db.session.execute(update(Grant).where(Grant.id == f.grant.id).values(committed=D("25000.00")))
    db.session.commit()
    ids, admin_ids = [first.id, second.id], [f.admin.id, f.admin2.id]

    def approving(d_id: int, admin_id: int) -> Callable[[], str]:
        def work() -> str:
            approved = services.approve_disbursement(db.session.get(Disbursement, d_id),
                                                     actor=db.session.get(User, admin_id), now=LATER, timezone="UTC")
            return approved.status.value
        return work

    results = at_once(app, [approving(d_id, admin_id) for d_id, admin_id in zip(ids, admin_ids, strict=True)],
                      expected=(RuleViolation,))
    assert sorted(map(type, results), key=str) == sorted([str, RuleViolation], key=str)
    refused = next(r for r in results if isinstance(r, RuleViolation))
    assert "is left of the start-up grant of EUR 25,000.00" in refused.message
    db.session.expire_all()
    position = services.grant_position(db.session.get(Grant, f.grant.id))
    assert position.approved + position.paid <= D("25000.00")
    assert position.approved in (D("20000.00"), D("10000.00"))


def test_two_administrators_using_one_reference_for_two_disbursements(app, funded: Funded) -> None:
    f = funded
    made = [services.request_disbursement(f.grant, amount="1000.00", purpose=p, actor=f.manager, now=LATER,
                                          timezone="UTC")
            for p in ("A", "B")]
    for d in made:
        services.approve_disbursement(d, actor=f.admin, now=LATER, timezone="UTC")
    db.session.commit()
    ids, admin_ids = [d.id for d in made], [f.admin.id, f.admin2.id]

    def paying(d_id: int, admin_id: int) -> Callable[[], int]:
        def work() -> int:
            return services.record_payment(db.session.get(Disbursement, d_id), value_date=PAID_ON,
                                           bank_reference="BANK-1", actor=db.session.get(User, admin_id),
                                           now=LATER, timezone="UTC").id
        return work

    results = at_once(app, [paying(d_id, admin_id) for d_id, admin_id in zip(ids, admin_ids, strict=True)],
                      expected=(RuleViolation,))
    winners = [r for r in results if isinstance(r, int)]
    losers = [r for r in results if isinstance(r, RuleViolation)]
    assert len(winners) == 1 and len(losers) == 1
    assert f"already used for disbursement {winners[0]}" in losers[0].message
    db.session.expire_all()
    assert services.paid_from_ledger(f.initiative) == D("1000.00")
    assert check_ledger() == []


def test_ten_identical_payments_of_one_tranche_at_once_pay_it_once(app, funded: Funded) -> None:
    """Issue 14, finding 9: ten identical payment posts of one tranche at once give one payment and no error: the
    others find it paid with the same reference and change nothing."""
    f = funded
    d = services.request_disbursement(f.grant, amount="1000.00", purpose="Once", actor=f.manager, now=LATER,
                                      timezone="UTC")
    services.approve_disbursement(d, actor=f.admin, now=LATER, timezone="UTC")
    db.session.commit()
    admins = [f.admin.id, f.admin2.id] * 5

    def paying(admin_id: int) -> Callable[[], int]:
        def work() -> int:
            return services.record_payment(db.session.get(Disbursement, d.id), value_date=PAID_ON,
                                           bank_reference="BANK-SAME", actor=db.session.get(User, admin_id),
                                           now=LATER, timezone="UTC").id
        return work

    results = at_once(app, [paying(admin_id) for admin_id in admins], expected=(RuleViolation,))
    assert results == [d.id] * 10
    db.session.expire_all()
    assert services.paid_from_ledger(f.initiative) == D("1000.00")
    assert check_ledger() == []
