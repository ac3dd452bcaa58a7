"""The demo's guaranteed loan (issue 18, mutual guarantees, seed 004 para. 42): the demo group's revolving fund lends
to its furniture association, two member firms guarantee the loan (one for a share, one for an amount), the
association stops paying after two instalments, and once the loan is in default the fund administrator calls the
guarantees, a second fund administrator approves the call, and one guarantor has paid part of what it owes."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime, time, timedelta
from decimal import Decimal

from dateutil.relativedelta import relativedelta

from programme.accounts.models import User
from programme.core.access import SystemActor
from programme.funding.models import Initiative
from programme.loans import services as loans
from programme.loans.guarantee_models import GuaranteeCall
from programme.loans.services import guarantee_calls, guarantee_collections, guarantees
from programme.loans.services.arrears import run_daily


def seed_guaranteed_loan(users: Mapping[str, User], initiative: Initiative, *, now: datetime,
                         timezone: str) -> GuaranteeCall | None:
    """The guaranteed loan and its called guarantee, partly collected; None when the call has no guarantees."""
    fund = loans.fund_of(initiative)
    members = initiative.group.organisations
    admin, admin2 = users["funds@demo.example"], users["funds2@demo.example"]
    today = now.date()
    disbursed = today - timedelta(days=300)
    loan = loans.make_loan(
        fund, borrower_id=members[4].id, principal="5000.00", annual_rate="0.02", term_periods=12,
        first_due=disbursed + relativedelta(months=1), disbursed_on=disbursed, bank_reference="DEMO-LOAN-0004",
        purpose="A shared stand for the furniture fair", actor=admin, now=now, timezone=timezone)
    if guarantees.guarantee_rules(loan) is None:
        return None
    given_at = datetime.combine(disbursed + timedelta(days=2), time(10), tzinfo=UTC)
    guarantees.add_guarantee(loan, guarantor_id=members[0].id, share=Decimal("0.4"), actor=admin, now=given_at,
                             timezone=timezone)
    guarantees.add_guarantee(loan, guarantor_id=members[2].id, amount=Decimal("1500.00"), actor=admin,
                             now=given_at, timezone=timezone)
    for instalment in loan.instalments[:2]:
        loans.record_repayment(loan, amount=instalment.principal + instalment.interest, value_date=instalment.due_date,
                               bank_reference=f"DEMO-REP-04-{instalment.number:03d}", actor=admin, now=now,
                               timezone=timezone)
    asked_at = now - timedelta(days=20)
    asked = guarantee_calls.request_call(loan, reason="The association stopped paying after its second instalment.",
                                    actor=admin, now=asked_at, timezone=timezone)
    call = guarantee_calls.approve_call(asked, actor=admin2, now=asked_at + timedelta(hours=3), timezone=timezone)
    first = next(o for o in call.obligations if o.guarantor_id == members[0].id)
    guarantee_collections.record_collection(
        first, amount=Decimal("1000.00"), value_date=(asked_at + timedelta(days=7)).date(),
        bank_reference="DEMO-GUA-0001", actor=admin, now=now, timezone=timezone)
    run_daily(as_of=today, actor=SystemActor("demo seeding"), now=now)  # the day's arrears, this loan included
    return call
