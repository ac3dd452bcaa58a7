"""A loan whose guarantees cover all its principal outstanding is closed when the call is posted, settled by its
guarantees (issue 18): closed on the call's day, no longer late, a CLOSED event; the borrower's repayment (and a
statement row) is refused saying why; the daily arrears job, the loan lists and the portfolio leave it alone; the
loan's page says so in English, Spanish and Portuguese; the ledger checks pass. A call that covers only part of it
leaves the loan active until its uncovered part is written off."""

from __future__ import annotations

import re
from decimal import Decimal

import pytest
from sqlalchemy import select

from programme.core.access import RuleViolation
from programme.extensions import db
from programme.ledger.balances import trial_balance
from programme.ledger.checks import check_ledger, check_loans
from programme.loans import services
from programme.loans.models import LoanEvent, LoanEventKind, LoanStatus
from programme.loans.services import guarantee_calls, guarantees
from programme.loans.services.arrears import latest_portfolio, run_daily
from tests.loans.guarantee_world import BEFORE, DEFAULTED, guarantee_world
from tests.loans.world import loginable_loan_world, write_off_loan

D = Decimal


def sound() -> None:
    assert check_loans() == []
    assert check_ledger() == []
    assert trial_balance().balanced


def _closed_events(loan_id: int) -> list[LoanEvent]:
    return list(db.session.scalars(select(LoanEvent).where(LoanEvent.loan_id == loan_id,
                                                           LoanEvent.kind == LoanEventKind.CLOSED)))


def test_a_call_covering_all_the_principal_outstanding_closes_the_loan(app):
    g = guarantee_world()  # half by share, 6,000.00 by amount: all of 12,000.00
    loan = g.w.loan
    run_daily(as_of=DEFAULTED.date(), actor=g.w.admin, now=DEFAULTED)  # the job has marked it late
    db.session.refresh(loan)
    assert loan.days_late > 0 and loan.arrears_bucket is not None
    call = g.call()
    assert call.called == D("12000.00") and loan.principal_outstanding == D("0.00")
    assert loan.status == LoanStatus.CLOSED and loan.settled_by_guarantees
    assert loan.closed_on == DEFAULTED.date() == call.on_date
    assert (loan.days_late, loan.arrears_bucket) == (0, None)
    (event,) = _closed_events(loan.id)
    assert event.reason == "Settled by its guarantees" and event.on_date == call.on_date
    assert event.amount == D("12000.00") and event.journal_entry_id == call.journal_entry_id
    # its unpaid instalments are no longer late: the page's schedule says they were settled by the guarantees
    rows = services.schedule_with_payments(loan, as_of=DEFAULTED.date())
    assert rows and all(r.days_late == 0 for r in rows)
    assert {r.status for r in rows} == {"settled by guarantees"}
    assert not guarantees.in_default(loan, DEFAULTED.date()) and guarantees.loan_days_late(loan, DEFAULTED.date()) == 0
    sound()


def test_a_call_covering_part_leaves_the_loan_active_until_the_rest_is_written_off(app):
    g = guarantee_world(share="0.25", amount="2500.00")
    loan = g.w.loan
    call = g.call()
    assert call.called == D("5500.00") and loan.principal_outstanding == D("6500.00")
    assert loan.status == LoanStatus.ACTIVE and not loan.settled_by_guarantees and loan.closed_on is None
    assert _closed_events(loan.id) == []
    event = write_off_loan(loan, reason="Closed down", on_date=DEFAULTED.date(), actor=g.w.admin)
    assert event.amount == D("6500.00") and loan.status == LoanStatus.WRITTEN_OFF
    sound()


def test_the_daily_arrears_job_leaves_a_settled_loan_alone(app):
    g = guarantee_world()
    loan = g.w.loan
    run_daily(as_of=DEFAULTED.date(), actor=g.w.admin, now=DEFAULTED)
    g.call()
    for day in (DEFAULTED.date(), DEFAULTED.date().replace(day=2)):
        result = run_daily(as_of=day, actor=g.w.admin, now=DEFAULTED)
        assert (result.instalments_overdue, result.instalments_cleared, result.loans) == (0, 0, 0)
        assert (result.late_instalments, result.late_loans) == (0, 0)
        db.session.refresh(loan)
        assert loan.status == LoanStatus.CLOSED and (loan.days_late, loan.arrears_bucket) == (0, None)
    # the portfolio (and PAR) count a closed loan neither active nor late
    (figures,) = latest_portfolio()
    assert (figures.loans_active, figures.loans_late, figures.outstanding) == (0, 0, D("0.00"))
    sound()


def test_a_repayment_on_a_settled_loan_is_refused_saying_why(app):
    g = guarantee_world()
    g.call()
    with pytest.raises(RuleViolation, match="settled by its guarantees on") as refused:
        services.record_repayment(g.w.loan, amount=D("100.00"), value_date=DEFAULTED.date(), bank_reference="LATE-1",
                                  actor=g.w.admin, now=DEFAULTED, timezone="UTC")
    assert refused.value.field == "amount" and "repaid in full" not in refused.value.message
    assert "nothing more is due from the borrower" in refused.value.message


def test_a_repaid_loan_is_still_refused_as_repaid_in_full(app):
    g = guarantee_world(share=None, amount=None)
    loan = g.w.loan
    owed = sum((i.principal + i.interest for i in loan.instalments), D("0.00"))
    services.record_repayment(loan, amount=owed, value_date=DEFAULTED.date(), bank_reference="ALL-1",
                              actor=g.w.admin, now=DEFAULTED, timezone="UTC")
    assert loan.status == LoanStatus.CLOSED and not loan.settled_by_guarantees
    (event,) = _closed_events(loan.id)
    assert event.reason == "Repaid in full"
    with pytest.raises(RuleViolation, match="repaid in full"):
        services.record_repayment(loan, amount=D("1.00"), value_date=DEFAULTED.date(), bank_reference="ALL-2",
                                  actor=g.w.admin, now=DEFAULTED, timezone="UTC")


def _text(response) -> str:
    return " ".join(re.sub(r"<[^>]+>", " ", response.get_data(as_text=True)).split())


@pytest.mark.parametrize(("language", "closed", "settled"), [
    ("en", "Closed", "Settled by its guarantees"),
    ("es", "Cerrad", "Saldado por sus garantías"),
    ("pt", "Encerrad", "Quitado por suas garantias"),
])
def test_the_loan_page_shows_it_closed_and_settled_by_its_guarantees(client, login, clock, app, language, closed,
                                                                     settled):
    w = loginable_loan_world()
    first, second = [o for o in w.members() if o.id != w.borrower.id][:2]
    guarantees.add_guarantee(w.loan, guarantor_id=first.id, share=D("0.5"), actor=w.admin, now=BEFORE, timezone="UTC")
    guarantees.add_guarantee(w.loan, guarantor_id=second.id, amount=D("6000.00"), actor=w.admin, now=BEFORE,
                             timezone="UTC")
    asked = guarantee_calls.request_call(w.loan, reason="Years late", actor=w.admin, now=DEFAULTED, timezone="UTC")
    guarantee_calls.approve_call(asked, actor=w.admin2, now=DEFAULTED, timezone="UTC")
    db.session.commit()
    clock(DEFAULTED)
    login(w.admin.email)
    page = client.get(f"/loans/{w.loan.id}", headers={"Accept-Language": language})
    assert page.status_code == 200
    shown = _text(page)
    assert closed in shown and settled in shown
    assert 'id="guarantee-settled"' in page.get_data(as_text=True)
    # no repayment form on a closed loan
    assert f'action="/loans/{w.loan.id}/repayments"' not in page.get_data(as_text=True)
