"""Properties of mutual guarantees through the real services and database (hypothesis): whatever loan, guarantees
(shares and amounts) and sequence of guarantee calls, collections (partial, exact, too large), write-offs of what a
guarantor cannot pay, refunds of a guarantor's credit (four eyes) and the write-off of the loan's uncovered part,
the ledger stays balanced, its checks pass, and no cent is lost: the loan's principal outstanding + what the
guarantors paid on their obligations + what was written off (on the loan and on the obligations) + what the
guarantors still owe = what was owed when called; the fund's cash is what it had, less the loan, plus every cent
received, less every cent refunded; what the guarantors paid is what they were owed, their credit held and their
credit refunded.

Each example runs in a savepoint on one world built per test, rolled back at the end of the example."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from programme.core.access import RuleViolation
from programme.extensions import db
from programme.ledger.balances import trial_balance
from programme.ledger.checks import check_ledger, check_loans
from programme.loans import services
from programme.loans.models import LoanStatus
from programme.loans.services import guarantee_calls, guarantees
from programme.loans.services import guarantee_collections as collections
from programme.loans.services import guarantee_refunds as refunds
from tests.loans.guarantee_world import BEFORE
from tests.loans.world import DISBURSED_ON, FIRST_DUE, NOW, LoanWorld, loan_world, write_off_loan

D = Decimal
ZERO = D("0.00")
CENT = D("0.01")


@pytest.fixture
def world(app) -> LoanWorld:
    made = loan_world(principal=None, cash="200000.00")
    db.session.commit()
    return made


@dataclass(frozen=True)
class Pledge:
    share_percent: int | None  # 1..50, or None for an amount
    amount_cents: int


@dataclass(frozen=True)
class Step:
    kind: str        # collect, collect_all, overpay, write_off_obligation, write_off_loan, refund
    which: int
    cents: int


pledges = st.lists(st.builds(Pledge, share_percent=st.one_of(st.none(), st.integers(1, 50)),
                             amount_cents=st.integers(1, 1_000_000)), min_size=1, max_size=3)
steps = st.lists(st.builds(Step, kind=st.sampled_from(["collect", "collect", "collect_all", "overpay",
                                                       "write_off_obligation", "write_off_loan", "refund",
                                                       "refund"]),
                           which=st.integers(0, 2), cents=st.integers(1, 800_000)), max_size=8)


def _sound() -> None:
    assert check_loans() == []
    assert check_ledger() == []
    assert trial_balance().balanced


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(principal_cents=st.integers(100, 2_000_000), paid_cents=st.integers(0, 300_000), given_pledges=pledges,
       sequence=steps)
def test_any_sequence_of_calls_collections_and_write_offs_loses_no_cent(
        world: LoanWorld, principal_cents: int, paid_cents: int, given_pledges: list[Pledge], sequence: list[Step]):
    w = world
    savepoint = db.session.begin_nested()
    try:
        principal = (D(principal_cents) / 100).quantize(CENT)
        loan = services.make_loan(w.fund, borrower_id=w.borrower.id, principal=principal, annual_rate=D("0.03"),
                                  term_periods=12, first_due=FIRST_DUE, disbursed_on=DISBURSED_ON,
                                  bank_reference="PROP-LOAN", purpose="Property", actor=w.admin, now=BEFORE,
                                  timezone="UTC")
        cash_before = services.fund_cash(w.fund) + principal
        guarantors = [o for o in w.members() if o.id != w.borrower.id]
        for index, p in enumerate(given_pledges):
            try:
                guarantees.add_guarantee(
                    loan, guarantor_id=guarantors[index].id, actor=w.admin, now=BEFORE, timezone="UTC",
                    share=D(p.share_percent) / 100 if p.share_percent else None,
                    amount=(D(p.amount_cents) / 100).quantize(CENT) if p.share_percent is None else None)
            except RuleViolation:
                event("a guarantee over a limit refused")
        received = ZERO
        if paid_cents:  # the borrower paid something before defaulting
            paid = (D(paid_cents) / 100).quantize(CENT)
            services.record_repayment(loan, amount=paid, value_date=FIRST_DUE, bank_reference="PROP-PAID",
                                      actor=w.admin, now=NOW, timezone="UTC")
            received += paid
        _sound()
        if not guarantees.active_guarantees(loan) or loan.status != LoanStatus.ACTIVE \
                or not guarantees.in_default(loan, NOW.date()):
            event("nothing to call")
            return
        try:
            asked = guarantee_calls.request_call(loan, reason="In default", actor=w.admin, now=NOW, timezone="UTC")
        except RuleViolation as refusal:
            # a small share of a small remainder rounds to no cent: nothing to call, and nothing was written
            assert "cover nothing" in refusal.message, refusal.message
            assert guarantees.live_call(loan) is None
            event("the guarantees round to no cent")
            return
        call = guarantee_calls.approve_call(asked, actor=w.admin2, now=NOW, timezone="UTC")
        owed = call.owed
        assert call.called <= owed
        obligations = list(call.obligations)
        assert sum((o.amount for o in obligations), ZERO) == call.called
        _sound()
        day = NOW.date()
        refunded = ZERO
        for number, step in enumerate(sequence):
            o = obligations[step.which % len(obligations)]
            try:
                if step.kind == "write_off_loan":
                    if loan.status == LoanStatus.ACTIVE and loan.principal_outstanding > 0:
                        before = loan.principal_outstanding
                        write_off_loan(loan, reason="Property", on_date=NOW.date(), actor=w.admin, now=NOW,
                                       timezone="UTC")
                        assert loan.written_off == before  # only what the guarantees did not cover
                elif step.kind == "refund":
                    if o.credit > 0:
                        held = o.credit
                        asked = refunds.request_credit_refund(o, bank_reference=f"PROP-R-{number}", value_date=day,
                                                              reason="Paid over", actor=w.admin, now=NOW,
                                                              timezone="UTC")
                        refunds.approve_credit_refund(asked, actor=w.manager, now=NOW, timezone="UTC")
                        assert asked.amount == held and o.credit == 0
                        refunded += held
                        event("a guarantor's credit refunded")
                        # approved again: posted once
                        with pytest.raises(RuleViolation, match="already"):
                            refunds.approve_credit_refund(asked, actor=w.admin2, now=NOW, timezone="UTC")
                    else:
                        with pytest.raises(RuleViolation, match="no credit"):
                            refunds.request_credit_refund(o, bank_reference=f"PROP-R-{number}", value_date=day,
                                                          reason="Paid over", actor=w.admin, now=NOW,
                                                          timezone="UTC")
                        event("no credit to refund")
                elif step.kind == "write_off_obligation":
                    if o.owed > 0:
                        collections.request_obligation_write_off(o, reason="Cannot pay", on_date=NOW.date(),
                                                                 actor=w.admin, now=NOW, timezone="UTC")
                        collections.approve_obligation_write_off(o, actor=w.manager, now=NOW, timezone="UTC")
                        assert o.owed == 0
                else:
                    amount = {"collect": (D(step.cents) / 100).quantize(CENT), "collect_all": max(o.owed, CENT),
                              "overpay": o.owed + (D(step.cents) / 100).quantize(CENT)}[step.kind]
                    owed_before = o.owed
                    c = collections.record_collection(o, amount=amount, value_date=day,
                                                      bank_reference=f"PROP-C-{number}", actor=w.admin, now=NOW,
                                                      timezone="UTC")
                    assert c.applied == min(amount, owed_before) and c.applied + c.credit == amount
                    received += amount
                    # the same transfer again changes nothing
                    again = collections.record_collection(o, amount=amount, value_date=day,
                                                          bank_reference=f"PROP-C-{number}", actor=w.admin2,
                                                          now=NOW, timezone="UTC")
                    assert again.id == c.id
            except RuleViolation as refusal:  # pragma: no cover - reported by hypothesis
                raise AssertionError(f"{step}: {refusal.message}") from None
            _sound()
            # no cent lost
            collected = sum((x.collected for x in obligations), ZERO)
            written_off = sum((x.written_off for x in obligations), ZERO)
            still_owed = sum((x.owed for x in obligations), ZERO)
            assert loan.principal_outstanding + loan.written_off + collected + written_off + still_owed == owed
            credits = sum((x.credit for x in obligations), ZERO)
            assert services.fund_cash(w.fund) == cash_before - principal + received - refunded
            assert received - (D(paid_cents) / 100).quantize(CENT) == collected + credits + refunded
    finally:
        savepoint.rollback()
        db.session.expire_all()
