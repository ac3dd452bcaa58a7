"""The loan services: capitalising a fund, lending within the rules and the fund's cash, repayments (partial,
late, early, too large, back-dated, repeated), penalties, reschedule, write-off and recovery, refunds, access.
After each scenario the cached figures agree with the ledger (check_loans), the ledger is sound and balanced."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal

import pytest
from sqlalchemy import func, select

from programme.core.access import AccessDenied, NotFound, RuleViolation
from programme.core.audit import AuditEntry
from programme.extensions import db
from programme.ledger.balances import balance, trial_balance
from programme.ledger.checks import check_ledger, check_loans
from programme.ledger.models import AccountKind, JournalEntry
from programme.ledger.posting import get_account
from programme.loans import services
from programme.loans.allocation import penalty_amount
from programme.loans.models import (
    Capitalisation,
    Loan,
    LoanEvent,
    LoanEventKind,
    LoanInstalment,
    LoanStatus,
    Repayment,
    RepaymentPart,
)
from programme.loans.schedule import LoanTerms, build_schedule
from tests.loans.world import (
    CAPITALISED_ON,
    CASH,
    DISBURSED_ON,
    FIRST_DUE,
    NOW,
    PRINCIPAL,
    LoanWorld,
    loan_world,
    refund_credit,
    replace_loan_rule,
    write_off_loan,
)
from tests.proposals.builders import make_group
from tests.reviews.world import user

D = Decimal
EUR = "EUR"


# ------------------------------------------------------------------------------------------------- helpers


def consistent() -> None:
    """Every cached figure agrees with the ledger, and the ledger is sound and balanced."""
    db.session.flush()
    assert check_loans() == []
    assert check_ledger() == []
    assert trial_balance().balanced


def entries() -> int:
    return db.session.scalar(select(func.count()).select_from(JournalEntry))


def count(model: type) -> int:
    return db.session.scalar(select(func.count()).select_from(model))


def ledger(kind: AccountKind, owner_type: str, owner_id: int) -> Decimal:
    account = get_account(kind, owner_type, owner_id)
    return D("0.00") if account is None else balance(account)


def entry_of(row) -> JournalEntry:
    return db.session.get(JournalEntry, row.journal_entry_id)


def lines_of(entry: JournalEntry) -> set[tuple[str, Decimal, Decimal]]:
    return {(line.account.code, line.debit, line.credit) for line in entry.lines}


def pay(w: LoanWorld, amount: str | Decimal, on: date, reference: str, *, by=None, now: datetime = NOW,
        loan: Loan | None = None) -> Repayment:
    return services.record_repayment(loan or w.loan, amount=D(amount), value_date=on, bank_reference=reference,
                                     actor=by or w.admin, now=now, timezone="UTC")


def current(loan: Loan) -> list[LoanInstalment]:
    return list(db.session.scalars(select(LoanInstalment).where(LoanInstalment.loan_id == loan.id,
                                                                LoanInstalment.superseded.is_(False))
                                   .order_by(LoanInstalment.number)))


def lend(w: LoanWorld, principal: str | Decimal = "1000.00", reference: str = "LOAN-2", **changes):
    principal = D(principal) if isinstance(principal, str) else principal
    arguments = dict(borrower_id=w.borrower.id, principal=principal, annual_rate=D("0.04"), term_periods=12,
                     first_due=FIRST_DUE, disbursed_on=DISBURSED_ON, bank_reference=reference,
                     purpose="Packaging machine", actor=w.admin, now=NOW, timezone="UTC")
    arguments.update(changes)
    return services.make_loan(w.fund, **arguments)


def check_field(info: pytest.ExceptionInfo, field: str | None) -> None:
    assert info.value.field == field, (info.value.field, info.value.message)


# ---------------------------------------------------------------------------------------- capitalisation


def test_a_capitalisation_posts_one_entry_and_its_reference_makes_it_idempotent(app) -> None:
    w = loan_world(principal=None, cash=0)
    made = services.capitalise_fund(w.fund, amount=D("25000.00"), value_date=CAPITALISED_ON,
                                    bank_reference="  CAP  77 ", note="First tranche", actor=w.admin, now=NOW,
                                    timezone="UTC")
    assert made.bank_reference == "CAP 77" and made.amount == D("25000.00")
    assert entry_of(made).idempotency_key == "capitalisation:CAP 77"
    assert lines_of(entry_of(made)) == {
        (f"revolving_fund_cash:fund:{w.fund.id}", D("25000.00"), D("0.00")),
        (f"programme_budget:call:{w.call.id}", D("0.00"), D("25000.00")),
    }
    assert services.fund_cash(w.fund) == D("25000.00")
    assert services.fund_cash(w.fund, CAPITALISED_ON) == D("25000.00")
    assert services.fund_cash(w.fund, date(2027, 6, 30)) == D("0.00")
    before = entries()
    again = services.capitalise_fund(w.fund, amount=D("25000.00"), value_date=CAPITALISED_ON,
                                     bank_reference="CAP 77", actor=w.admin2, now=NOW, timezone="UTC")
    assert again.id == made.id and entries() == before and count(Capitalisation) == 1
    with pytest.raises(RuleViolation, match="already used for a capitalisation") as info:
        services.capitalise_fund(w.fund, amount=D("25000.01"), value_date=CAPITALISED_ON,
                                 bank_reference="CAP 77", actor=w.admin, now=NOW, timezone="UTC")
    check_field(info, "bank_reference")
    assert services.capitalisations_of(w.fund) == [made]
    consistent()


def test_a_capitalisation_never_exceeds_the_budget_left(app) -> None:
    w = loan_world(principal=None, cash=0)
    budget = w.call.budget
    w.call.per_initiative_cap = budget  # the cap per initiative out of the way: the budget is what refuses here
    db.session.flush()
    services.capitalise_fund(w.fund, amount=budget - D("500000.00"), value_date=CAPITALISED_ON,
                             bank_reference="CAP-A", actor=w.admin, now=NOW, timezone="UTC")
    with pytest.raises(RuleViolation, match="EUR 500,000.01 is more than is left of the budget") as info:
        services.capitalise_fund(w.fund, amount=D("500000.01"), value_date=CAPITALISED_ON,
                                 bank_reference="CAP-B", actor=w.admin, now=NOW, timezone="UTC")
    check_field(info, "amount")
    assert "EUR 500,000.00" in info.value.message
    services.capitalise_fund(w.fund, amount=D("500000.00"), value_date=CAPITALISED_ON, bank_reference="CAP-B",
                             actor=w.admin, now=NOW, timezone="UTC")
    assert ledger(AccountKind.PROGRAMME_BUDGET, "call", w.call.id) == D("0.00")
    with pytest.raises(RuleViolation, match="EUR 0.01 is more than is left"):
        services.capitalise_fund(w.fund, amount=D("0.01"), value_date=CAPITALISED_ON, bank_reference="CAP-C",
                                 actor=w.admin, now=NOW, timezone="UTC")
    assert services.fund_cash(w.fund) == budget
    consistent()


@pytest.mark.parametrize(("changes", "field", "match"), [
    ({"amount": D("0.00")}, "amount", "more than zero"),
    ({"amount": D("1.001")}, "amount", "whole cents"),
    ({"amount": 1.5}, "amount", "float"),
    ({"bank_reference": "  "}, "bank_reference", "reference"),
    ({"value_date": date(2033, 1, 2)}, "value_date", "in the future"),
    ({"value_date": None}, "value_date", "value date"),
])
def test_a_bad_capitalisation_is_refused_on_its_field(app, changes, field, match) -> None:
    w = loan_world(principal=None, cash=0)
    arguments = dict(amount=D("100.00"), value_date=CAPITALISED_ON, bank_reference="CAP-9", actor=w.admin, now=NOW,
                     timezone="UTC")
    arguments.update(changes)
    with pytest.raises(RuleViolation, match=match) as info:
        services.capitalise_fund(w.fund, **arguments)
    check_field(info, field)
    assert count(Capitalisation) == 0


def test_only_fund_administrators_capitalise(app) -> None:
    w = loan_world(principal=None, cash=0)
    for someone in (w.manager, w.reviewer, w.applicant):
        with pytest.raises(AccessDenied):
            services.capitalise_fund(w.fund, amount=D("1.00"), value_date=CAPITALISED_ON, bank_reference="C",
                                     actor=someone, now=NOW, timezone="UTC")


def test_the_fund_is_made_once_per_initiative(app) -> None:
    w = loan_world(principal=None, cash=0)
    assert services.fund_of(w.initiative).id == w.fund.id
    assert w.fund.currency == EUR and services.fund_cash(w.fund) == D("0.00")


# -------------------------------------------------------------------------------------------------- lending


def test_a_loan_posts_its_entry_and_writes_its_schedule(app) -> None:
    w = loan_world()
    loan = w.loan
    assert loan.number == f"L-{loan.id:06d}" and services.loan_by_number(loan.number.lower()).id == loan.id
    assert loan.status == LoanStatus.ACTIVE and loan.principal_outstanding == PRINCIPAL and loan.credit == 0
    assert loan.rounding == "half_up" and loan.borrower_id == w.borrower.id and loan.created_by_id == w.admin.id
    assert entry_of(loan).idempotency_key == f"loan:{loan.id}:disbursed"
    assert entry_of(loan).value_date == DISBURSED_ON
    assert lines_of(entry_of(loan)) == {
        (f"loans_receivable:loan:{loan.id}", PRINCIPAL, D("0.00")),
        (f"revolving_fund_cash:fund:{w.fund.id}", D("0.00"), PRINCIPAL),
    }
    expected = build_schedule(LoanTerms(PRINCIPAL, D("0.04"), 12, FIRST_DUE, EUR))
    assert [(i.number, i.due_date, i.principal, i.interest) for i in loan.instalments] == [
        (e.number, e.due_date, e.principal, e.interest) for e in expected]
    assert sum(i.principal for i in loan.instalments) == PRINCIPAL
    assert services.fund_cash(w.fund) == CASH - PRINCIPAL
    assert ledger(AccountKind.LOANS_RECEIVABLE, "loan", loan.id) == PRINCIPAL
    (event,) = services.events_of(loan)
    assert event.kind == LoanEventKind.DISBURSED and event.amount == PRINCIPAL and event.on_date == DISBURSED_ON
    assert db.session.scalar(select(AuditEntry.action).where(AuditEntry.object_type == "Loan")) == "loans.loan_made"
    consistent()


def test_the_same_loan_reference_again_changes_nothing_and_another_use_is_refused(app) -> None:
    w = loan_world()
    before = entries(), count(Loan), count(LoanInstalment)
    again = lend(w, PRINCIPAL, "LOAN-1")
    assert again.id == w.loan.id and (entries(), count(Loan), count(LoanInstalment)) == before
    with pytest.raises(RuleViolation, match=f"already used for loan {w.loan.number}") as info:
        lend(w, "500.00", "LOAN-1")
    check_field(info, "bank_reference")
    consistent()


def test_the_rate_is_accepted_at_the_rules_maximum_and_refused_above_it(app) -> None:
    w = loan_world(principal=None)
    assert lend(w, reference="AT-MAX", annual_rate=D("0.04")).annual_rate == D("0.04")
    with pytest.raises(RuleViolation, match=r"4\.0001 % is above the rules' maximum of 4 %") as info:
        lend(w, reference="ABOVE", annual_rate=D("0.040001"))
    check_field(info, "annual_rate")
    assert lend(w, reference="ZERO", annual_rate=D("0")).annual_rate == 0
    for bad, match in ((D("-0.01"), "0 or more"), (D("0.0000001"), "decimal places"), (0.03, "number")):
        with pytest.raises(RuleViolation, match=match) as info:
            lend(w, reference="BAD", annual_rate=bad)
        check_field(info, "annual_rate")
    consistent()


@pytest.mark.parametrize(("frequency", "longest"), [("monthly", 60), ("quarterly", 20)])
def test_the_term_is_accepted_at_the_rules_maximum_and_refused_above_it(app, frequency, longest) -> None:
    w = loan_world(principal=None)
    loan = lend(w, reference="LONGEST", frequency=frequency, term_periods=longest)
    assert len(loan.instalments) == longest
    with pytest.raises(RuleViolation, match=r"longer than the rules' maximum of 60 months") as info:
        lend(w, reference="TOO-LONG", frequency=frequency, term_periods=longest + 1)
    check_field(info, "term_periods")
    for bad in (0, True, "12"):
        with pytest.raises(RuleViolation) as info:
            lend(w, reference="BAD", frequency=frequency, term_periods=bad)
        check_field(info, "term_periods")
    consistent()


@pytest.mark.parametrize(("frequency", "longest"), [("monthly", 12), ("quarterly", 4)])
def test_the_grace_is_accepted_at_the_rules_maximum_and_refused_above_it(app, frequency, longest) -> None:
    w = loan_world(principal=None)
    loan = lend(w, reference="GRACE", frequency=frequency, term_periods=4, grace="interest_only",
                grace_periods=longest)
    assert len(loan.instalments) == longest + 4 and all(i.principal == 0 for i in loan.instalments[:longest])
    with pytest.raises(RuleViolation, match="longer than the rules' maximum of 12 months") as info:
        lend(w, reference="TOO-MUCH", frequency=frequency, term_periods=4, grace="interest_only",
             grace_periods=longest + 1)
    check_field(info, "grace_periods")
    with pytest.raises(RuleViolation, match="interest-only grace") as info:
        lend(w, reference="NO-KIND", grace="none", grace_periods=1)
    check_field(info, "grace")
    with pytest.raises(RuleViolation) as info:
        lend(w, reference="ODD", grace="capitalised")
    check_field(info, "grace")
    consistent()


def test_a_method_or_frequency_the_rules_leave_out_is_refused(app) -> None:
    w = loan_world(principal=None)
    replace_loan_rule(w.call, 'methods = ["annuity", "equal_principal"]', 'methods = ["annuity"]')
    replace_loan_rule(w.call, 'frequencies = ["monthly", "quarterly"]', 'frequencies = ["monthly"]')
    with pytest.raises(RuleViolation, match="do not allow the equal principal method") as info:
        lend(w, reference="EP", method="equal_principal")
    check_field(info, "method")
    with pytest.raises(RuleViolation, match="do not allow quarterly repayments") as info:
        lend(w, reference="Q", frequency="quarterly")
    check_field(info, "frequency")
    with pytest.raises(RuleViolation) as info:
        lend(w, reference="X", method="balloon")
    check_field(info, "method")
    assert lend(w, reference="OK").method == "annuity"
    assert count(Loan) == 1


def test_the_rules_rounding_mode_is_the_loans(app) -> None:
    w = loan_world(principal=None)
    replace_loan_rule(w.call, 'rounding = "half_up"', 'rounding = "half_even"')
    loan = lend(w, reference="EVEN", principal="4077.60", annual_rate=D("0.025"))
    assert loan.rounding == "half_even"
    expected = build_schedule(LoanTerms(D("4077.60"), D("0.025"), 12, FIRST_DUE, EUR, rounding="half_even"))
    assert [(i.principal, i.interest) for i in loan.instalments] == [(e.principal, e.interest) for e in expected]


def test_the_borrower_must_be_a_member_of_the_initiatives_group(app) -> None:
    w = loan_world(principal=None)
    stranger = user("lead@elsewhere.test")
    other = make_group(stranger, name="Elsewhere Weavers")
    with pytest.raises(RuleViolation, match="member organisation of") as info:
        lend(w, reference="STRANGER", borrower_id=other.organisations[0].id)
    check_field(info, "borrower_id")
    with pytest.raises(RuleViolation) as info:
        lend(w, reference="NOBODY", borrower_id=999999)
    check_field(info, "borrower_id")
    last = w.members()[-1]
    assert lend(w, reference="MEMBER", borrower_id=last.id).borrower_id == last.id


def test_a_principal_one_cent_above_the_cash_is_refused_and_exactly_the_cash_accepted(app) -> None:
    w = loan_world(principal=None, cash="5000.00")
    lend(w, "1000.00", "FIRST")
    with pytest.raises(RuleViolation, match="EUR 4,000.01 is more than the fund's cash: it has EUR 4,000.00") as info:
        lend(w, "4000.01", "SECOND")
    check_field(info, "principal")
    assert count(Loan) == 1
    loan = lend(w, "4000.00", "SECOND")
    assert loan.principal == D("4000.00") and services.fund_cash(w.fund) == D("0.00")
    with pytest.raises(RuleViolation, match="it has EUR 0.00"):
        lend(w, "0.01", "THIRD")
    consistent()


def test_a_loan_dated_before_the_fund_had_the_cash_is_refused(app) -> None:
    w = loan_world(principal=None, cash="5000.00")
    with pytest.raises(RuleViolation, match="had EUR 0.00 on 30 Jun 2027") as info:
        lend(w, "10.00", "EARLY", disbursed_on=date(2027, 6, 30), first_due=date(2027, 7, 30))
    check_field(info, "disbursed_on")
    # Cash lent later cannot be lent again on an earlier date.
    lend(w, "5000.00", "ALL", disbursed_on=date(2027, 9, 1), first_due=date(2027, 10, 1))
    with pytest.raises(RuleViolation, match="it has EUR 0.00"):
        lend(w, "10.00", "BEFORE", disbursed_on=date(2027, 8, 1), first_due=date(2027, 9, 1))


@pytest.mark.parametrize(("changes", "field", "match"), [
    ({"principal": D("0")}, "principal", "more than zero"),
    ({"principal": D("10.005")}, "principal", "whole cents"),
    ({"principal": 100.0}, "principal", "float"),
    ({"purpose": "  "}, "purpose", "what the loan is for"),
    ({"bank_reference": ""}, "bank_reference", "reference"),
    ({"disbursed_on": date(2033, 1, 2), "first_due": date(2033, 2, 2)}, "disbursed_on", "in the future"),
    ({"first_due": DISBURSED_ON}, "first_due", "after the loan is paid out"),
    ({"first_due": None}, "first_due", "first due date"),
    ({"funding_request_id": 999999}, "funding_request_id", "No such funding request"),
])
def test_a_bad_loan_is_refused_on_its_field(app, changes, field, match) -> None:
    w = loan_world(principal=None)
    with pytest.raises(RuleViolation, match=match) as info:
        lend(w, reference="BAD", **changes)
    check_field(info, field)
    assert count(Loan) == 0 and services.fund_cash(w.fund) == CASH


def test_only_fund_administrators_lend(app) -> None:
    w = loan_world(principal=None)
    for someone in (w.manager, w.reviewer, w.applicant):
        with pytest.raises(AccessDenied):
            lend(w, reference="NO", actor=someone)
    assert count(Loan) == 0


# ----------------------------------------------------------------------------------------------- repayments


def test_a_partial_repayment_pays_interest_before_principal(app) -> None:
    w = loan_world()
    first = current(w.loan)[0]
    r = pay(w, "25.00", FIRST_DUE, "R-1")
    assert (r.penalty, r.interest, r.principal, r.credit, r.recovery) == (0, D("25.00"), 0, 0, 0)
    assert first.interest_paid == D("25.00") and first.principal_paid == 0
    assert w.loan.principal_outstanding == PRINCIPAL and w.loan.status == LoanStatus.ACTIVE
    (part,) = r.parts
    assert (part.instalment_id, part.interest, part.principal) == (first.id, D("25.00"), D("0.00"))
    assert entry_of(r).idempotency_key == "repayment:R-1"
    assert lines_of(entry_of(r)) == {
        (f"revolving_fund_cash:fund:{w.fund.id}", D("25.00"), D("0.00")),
        (f"interest_income:fund:{w.fund.id}", D("0.00"), D("25.00")),
    }
    consistent()


def test_a_repayment_on_time_pays_its_instalment(app) -> None:
    w = loan_world()
    first = current(w.loan)[0]
    due = first.principal + first.interest
    r = pay(w, due, FIRST_DUE, "R-1")
    assert (r.interest, r.principal) == (first.interest, first.principal)
    assert first.unpaid == 0 and w.loan.principal_outstanding == PRINCIPAL - first.principal
    assert ledger(AccountKind.LOANS_RECEIVABLE, "loan", w.loan.id) == w.loan.principal_outstanding
    assert ledger(AccountKind.INTEREST_INCOME, "fund", w.fund.id) == first.interest
    assert services.fund_cash(w.fund) == CASH - PRINCIPAL + due
    rows = services.schedule_with_payments(w.loan, as_of=FIRST_DUE)
    assert rows[0].status == "paid" and rows[0].payments[0].bank_reference == "R-1"
    assert rows[0].payments[0].total == due and rows[1].status == "due"
    consistent()


def test_a_late_repayment_pays_all_interest_due_first_then_the_oldest_principal(app) -> None:
    w = loan_world()
    one, two, three = current(w.loan)[:3]
    on = three.due_date  # three instalments due, none paid
    interest = one.interest + two.interest + three.interest
    r = pay(w, interest + D("100.00"), on, "R-LATE")
    assert r.interest == interest and r.principal == D("100.00")
    assert (one.interest_paid, two.interest_paid, three.interest_paid) == (one.interest, two.interest, three.interest)
    assert (one.principal_paid, two.principal_paid) == (D("100.00"), D("0.00"))
    rows = services.schedule_with_payments(w.loan, as_of=on)
    assert [row.status for row in rows[:4]] == ["overdue", "overdue", "partly paid", "due"]
    assert rows[0].days_late == (on - one.due_date).days
    consistent()


def test_an_early_full_repayment_closes_the_loan_and_cancels_the_future_interest(app) -> None:
    w = loan_world()
    first = current(w.loan)[0]
    pay(w, first.principal + first.interest, FIRST_DUE, "R-1")
    on = date(2027, 9, 1)  # before the second instalment falls due
    r = pay(w, w.loan.principal_outstanding, on, "R-ALL")
    assert r.principal == PRINCIPAL - first.principal and r.interest == 0 and r.credit == 0
    assert w.loan.status == LoanStatus.CLOSED and w.loan.closed_on == on and w.loan.principal_outstanding == 0
    later = current(w.loan)[1:]
    assert all(i.interest_cancelled == i.interest and i.unpaid == 0 for i in later)
    rows = services.schedule_with_payments(w.loan)
    assert {row.status for row in rows[1:]} == {"interest cancelled"}
    assert [e.kind for e in services.events_of(w.loan)] == [LoanEventKind.DISBURSED, LoanEventKind.CLOSED]
    assert ledger(AccountKind.LOANS_RECEIVABLE, "loan", w.loan.id) == 0
    with pytest.raises(RuleViolation, match="was repaid in full on 1 Sep 2027;"):
        pay(w, "1.00", date(2027, 9, 2), "R-AFTER")
    consistent()


def test_an_overpayment_becomes_a_credit_that_can_be_refunded(app) -> None:
    w = loan_world()
    first = current(w.loan)[0]
    r = pay(w, PRINCIPAL + first.interest + D("50.00"), FIRST_DUE, "R-BIG")
    assert (r.interest, r.principal, r.credit) == (first.interest, PRINCIPAL, D("50.00"))
    assert w.loan.credit == D("50.00") and w.loan.status == LoanStatus.CLOSED
    assert ledger(AccountKind.BORROWER_CREDIT, "loan", w.loan.id) == D("50.00")
    consistent()
    cash = services.fund_cash(w.fund)
    event = refund_credit(w.loan, bank_reference="REFUND-1", value_date=date(2027, 8, 20), actor=w.admin,
                                   now=NOW, timezone="UTC")
    assert event.kind == LoanEventKind.CREDIT_REFUNDED and event.amount == D("50.00")
    assert lines_of(entry_of(event)) == {
        (f"borrower_credit:loan:{w.loan.id}", D("50.00"), D("0.00")),
        (f"revolving_fund_cash:fund:{w.fund.id}", D("0.00"), D("50.00")),
    }
    assert w.loan.credit == 0 and services.fund_cash(w.fund) == cash - D("50.00")
    before = entries()
    with pytest.raises(RuleViolation, match="this refund was already done"):  # the same transfer asked again
        refund_credit(w.loan, bank_reference="REFUND-1", value_date=date(2027, 8, 20), actor=w.admin2, now=NOW,
                      timezone="UTC")
    assert entries() == before
    with pytest.raises(RuleViolation, match="holds no credit"):
        refund_credit(w.loan, bank_reference="REFUND-2", value_date=date(2027, 8, 20), actor=w.admin,
                               now=NOW, timezone="UTC")
    with pytest.raises(AccessDenied):
        refund_credit(w.loan, bank_reference="REFUND-3", value_date=date(2027, 8, 20), actor=w.manager,
                               now=NOW, timezone="UTC")
    consistent()


def test_a_back_dated_repayment_is_refused_naming_the_later_one(app) -> None:
    w = loan_world()
    pay(w, "100.00", date(2027, 9, 20), "R-LATER")
    before = entries(), count(Repayment)
    with pytest.raises(RuleViolation) as info:
        pay(w, "100.00", date(2027, 9, 19), "R-EARLIER")
    check_field(info, "value_date")
    message = info.value.message
    assert "19 Sep 2027" in message and "20 Sep 2027" in message and "R-LATER" in message
    assert "EUR 100.00" in message and w.loan.number in message
    assert (entries(), count(Repayment)) == before
    pay(w, "100.00", date(2027, 9, 20), "R-SAME-DAY")  # the same day is in order
    consistent()


def test_a_repayment_in_the_future_or_before_the_loan_is_refused(app) -> None:
    w = loan_world()
    today = NOW.date()
    with pytest.raises(RuleViolation, match="in the future") as info:
        pay(w, "10.00", date(2033, 1, 2), "R-FUTURE")
    check_field(info, "value_date")
    with pytest.raises(RuleViolation, match="before .* was paid out") as info:
        pay(w, "10.00", date(2027, 7, 14), "R-EARLY")
    check_field(info, "value_date")
    assert pay(w, "10.00", today, "R-TODAY").value_date == today
    # "Today" is the programme's: 23:30 UTC on 31 December is already 1 January in Johannesburg.
    late = datetime(2033, 1, 1, 23, 30, tzinfo=UTC)
    r = services.record_repayment(w.loan, amount=D("1.00"), value_date=date(2033, 1, 2), bank_reference="R-TZ",
                                  actor=w.admin, now=late, timezone="Africa/Johannesburg")
    assert r.value_date == date(2033, 1, 2)
    consistent()


@pytest.mark.parametrize(("amount", "match"), [
    (D("0"), "more than zero"), (D("-5"), "more than zero"), (D("1.234"), "whole cents"), (2.5, "float"),
    ("abc", "number|amount|money|valid"),
])
def test_a_bad_amount_is_refused(app, amount, match) -> None:
    w = loan_world()
    with pytest.raises(RuleViolation, match=match) as info:
        services.record_repayment(w.loan, amount=amount, value_date=FIRST_DUE, bank_reference="R", actor=w.admin,
                                  now=NOW, timezone="UTC")
    check_field(info, "amount")
    assert count(Repayment) == 0


def test_the_same_reference_twice_changes_nothing_and_another_use_is_refused(app) -> None:
    w = loan_world()
    first = pay(w, "300.00", FIRST_DUE, "R-1")
    before = entries(), count(Repayment), count(RepaymentPart), w.loan.principal_outstanding
    again = pay(w, "300.00", FIRST_DUE, " R-1 ", by=w.admin2)
    assert again.id == first.id
    assert (entries(), count(Repayment), count(RepaymentPart), w.loan.principal_outstanding) == before
    for amount, on in (("300.01", FIRST_DUE), ("300.00", date(2027, 8, 16))):
        with pytest.raises(RuleViolation, match="R-1 is already used for a repayment of EUR 300.00") as info:
            pay(w, amount, on, "R-1")
        check_field(info, "bank_reference")
    other = lend(w, "1000.00", "LOAN-2")
    with pytest.raises(RuleViolation, match="already used") as info:
        pay(w, "300.00", FIRST_DUE, "R-1", loan=other)
    check_field(info, "bank_reference")
    assert services.find_repayment("R-1").id == first.id and services.find_repayment("nope") is None
    assert services.repayments_of(w.loan) == [first]
    consistent()


def test_only_fund_administrators_record_repayments(app) -> None:
    w = loan_world()
    for someone in (w.manager, w.reviewer, w.applicant):
        with pytest.raises(AccessDenied):
            pay(w, "10.00", FIRST_DUE, "R-NO", by=someone)
    assert count(Repayment) == 0


# ------------------------------------------------------------------------------------------------ penalties


def test_penalties_come_first_when_the_rules_have_a_penalty_rate(app) -> None:
    w = loan_world(penalty_rate="0.10")
    first = current(w.loan)[0]
    due = first.principal + first.interest
    on = date(2027, 9, 14)  # 30 days late, the second instalment not yet due
    expected = penalty_amount(due, D("0.10"), 30, EUR)
    assert expected > 0
    r = pay(w, due, on, "R-LATE")
    assert r.penalty == expected and r.interest == first.interest and r.principal == first.principal - expected
    assert first.penalty_assessed == expected == first.penalty_paid
    assert ledger(AccountKind.PENALTY_INCOME, "fund", w.fund.id) == expected
    # Ten days on, the rest of the first instalment pays ten more days of penalty on what was left.
    on2 = date(2027, 9, 24)
    second = current(w.loan)[1]
    left = first.principal - first.principal_paid
    more = penalty_amount(left, D("0.10"), 10, EUR)
    second_penalty = penalty_amount(second.principal + second.interest, D("0.10"), 9, EUR)
    r2 = pay(w, "5000.00", on2, "R-REST")
    assert r2.penalty == more + second_penalty
    assert first.penalty_assessed == expected + more and second.penalty_assessed == second_penalty
    assert first.unpaid == 0
    consistent()


def test_no_penalty_without_a_penalty_rate(app) -> None:
    w = loan_world()
    first = current(w.loan)[0]
    r = pay(w, first.principal + first.interest, date(2027, 12, 1), "R-LATE")
    assert r.penalty == 0 and first.penalty_assessed == 0
    consistent()


# ------------------------------------------------------------------------------------------ reschedule


RESCHEDULED_AT = datetime(2027, 11, 1, 9, 0, tzinfo=UTC)


def test_a_reschedule_supersedes_the_unpaid_instalments_and_moves_the_principal(app) -> None:
    w = loan_world()
    loan = w.loan
    first = current(loan)[0]
    pay(w, first.principal + first.interest, FIRST_DUE, "R-1", now=RESCHEDULED_AT)
    old = current(loan)
    arrears_interest = sum((i.interest for i in old if i.due_date <= RESCHEDULED_AT.date() and i.unpaid > 0),
                           D("0.00"))
    assert arrears_interest > 0
    outstanding = loan.principal_outstanding
    with pytest.raises(RuleViolation, match="reason") as info:
        services.reschedule_loan(loan, term_periods=24, first_due=date(2027, 12, 1), reason=" ", actor=w.admin,
                                 now=RESCHEDULED_AT, timezone="UTC")
    check_field(info, "reason")
    with pytest.raises(RuleViolation, match="longer than the rules' maximum") as info:
        services.reschedule_loan(loan, term_periods=61, first_due=date(2027, 12, 1), reason="Harvest failed",
                                 actor=w.admin, now=RESCHEDULED_AT, timezone="UTC")
    check_field(info, "term_periods")
    event = services.reschedule_loan(loan, term_periods=24, first_due=date(2027, 12, 1), reason="Harvest failed",
                                     actor=w.admin, now=RESCHEDULED_AT, annual_rate=D("0.02"), timezone="UTC")
    assert event.kind == LoanEventKind.RESCHEDULED and event.reason == "Harvest failed"
    assert event.amount == outstanding and event.on_date == RESCHEDULED_AT.date()
    assert lines_of(entry_of(event)) == {
        (f"loans_rescheduled:loan:{loan.id}", outstanding, D("0.00")),
        (f"loans_receivable:loan:{loan.id}", D("0.00"), outstanding),
    }
    assert loan.rescheduled and loan.annual_rate == D("0.02") and loan.term_periods == 24
    superseded = [i for i in loan.instalments if i.superseded]
    assert [i.number for i in superseded] == list(range(2, 13))
    new = current(loan)[1:]
    assert [i.number for i in new] == list(range(13, 37)) and new[0].due_date == date(2027, 12, 1)
    expected = build_schedule(LoanTerms(outstanding, D("0.02"), 24, date(2027, 12, 1), EUR))
    assert sum(i.principal for i in new) == outstanding
    assert new[0].interest == expected[0].interest + arrears_interest
    assert [i.interest for i in new[1:]] == [e.interest for e in expected[1:]]
    assert ledger(AccountKind.LOANS_RESCHEDULED, "loan", loan.id) == outstanding
    assert ledger(AccountKind.LOANS_RECEIVABLE, "loan", loan.id) == 0
    consistent()
    # A repayment before the reschedule is refused; one after it reduces loans_rescheduled.
    with pytest.raises(RuleViolation, match="rescheduled on 1 Nov 2027"):
        pay(w, "10.00", date(2027, 10, 31), "R-BEFORE", now=RESCHEDULED_AT)
    r = pay(w, new[0].principal + new[0].interest, date(2027, 12, 1), "R-NEW")
    assert r.principal == new[0].principal and r.interest == new[0].interest
    assert ledger(AccountKind.LOANS_RESCHEDULED, "loan", loan.id) == outstanding - new[0].principal
    # A second reschedule moves nothing more in the ledger.
    before = entries()
    again = services.reschedule_loan(loan, term_periods=12, first_due=date(2028, 2, 1), reason="Second look",
                                     actor=w.admin, now=datetime(2028, 1, 1, tzinfo=UTC), timezone="UTC")
    assert again.journal_entry_id is None and entries() == before
    assert sum(i.principal - i.principal_paid for i in current(loan)) == loan.principal_outstanding
    kinds = [a for a in db.session.scalars(select(AuditEntry.action).where(
        AuditEntry.action == "loans.loan_rescheduled"))]
    assert len(kinds) == 2
    consistent()


def test_a_reschedule_carries_the_penalties_and_interest_in_arrears_onto_the_new_schedule(app) -> None:
    w = loan_world(penalty_rate="0.10")
    loan = w.loan
    today = RESCHEDULED_AT.date()
    late = [i for i in current(loan) if i.due_date < today]
    assert len(late) == 3
    penalties = sum((penalty_amount(i.principal + i.interest, D("0.10"), (today - i.due_date).days, EUR)
                     for i in late), D("0.00"))
    interest = sum((i.interest for i in late), D("0.00"))
    services.reschedule_loan(loan, term_periods=6, first_due=date(2027, 12, 1), reason="Fire in the workshop",
                             actor=w.admin, now=RESCHEDULED_AT, timezone="UTC")
    first = current(loan)[0]
    assert first.number == 13 and first.penalty_assessed == penalties
    expected = build_schedule(LoanTerms(PRINCIPAL, D("0.04"), 6, date(2027, 12, 1), EUR))
    assert first.interest == expected[0].interest + interest
    r = pay(w, penalties + first.interest, date(2027, 12, 1), "R-1")
    assert (r.penalty, r.interest, r.principal) == (penalties, first.interest, D("0.00"))
    assert ledger(AccountKind.PENALTY_INCOME, "fund", w.fund.id) == penalties
    consistent()


def test_only_an_active_loan_is_rescheduled_by_an_administrator(app) -> None:
    w = loan_world()
    with pytest.raises(AccessDenied):
        services.reschedule_loan(w.loan, term_periods=12, first_due=date(2027, 12, 1), reason="x", actor=w.manager,
                                 now=RESCHEDULED_AT, timezone="UTC")
    pay(w, PRINCIPAL + D("40.00"), FIRST_DUE, "R-ALL", now=RESCHEDULED_AT)
    assert w.loan.status == LoanStatus.CLOSED
    with pytest.raises(RuleViolation, match="only an active loan"):
        services.reschedule_loan(w.loan, term_periods=12, first_due=date(2027, 12, 1), reason="x", actor=w.admin,
                                 now=RESCHEDULED_AT, timezone="UTC")


# ------------------------------------------------------------------------------------- write-off, recovery


def test_a_write_off_moves_the_outstanding_principal_and_recoveries_never_exceed_it(app) -> None:
    w = loan_world()
    loan = w.loan
    first = current(loan)[0]
    pay(w, first.principal + first.interest, FIRST_DUE, "R-1")
    outstanding = loan.principal_outstanding
    with pytest.raises(RuleViolation, match="reason") as info:
        write_off_loan(loan, reason="", on_date=date(2028, 3, 1), actor=w.admin, now=NOW, timezone="UTC")
    check_field(info, "reason")
    with pytest.raises(RuleViolation, match="before the repayment"):
        write_off_loan(loan, reason="Bankrupt", on_date=date(2027, 8, 1), actor=w.admin, now=NOW,
                                timezone="UTC")
    with pytest.raises(AccessDenied):
        write_off_loan(loan, reason="Bankrupt", on_date=date(2028, 3, 1), actor=w.manager, now=NOW,
                                timezone="UTC")
    event = write_off_loan(loan, reason="Bankrupt", on_date=date(2028, 3, 1), actor=w.admin, now=NOW,
                                    timezone="UTC")
    assert event.kind == LoanEventKind.WRITTEN_OFF and event.amount == outstanding
    assert lines_of(entry_of(event)) == {
        (f"write_offs:loan:{loan.id}", outstanding, D("0.00")),
        (f"loans_receivable:loan:{loan.id}", D("0.00"), outstanding),
    }
    assert loan.status == LoanStatus.WRITTEN_OFF and loan.written_off == outstanding
    assert loan.principal_outstanding == 0
    assert services.schedule_with_payments(loan, as_of=date(2028, 3, 1))[-1].status == "written off"
    consistent()
    with pytest.raises(RuleViolation, match="written off"):
        pay(w, "1.00", date(2028, 2, 1), "R-EARLY")
    part = D("1000.00")
    r = pay(w, part, date(2028, 4, 1), "REC-1")
    assert r.recovery == part and (r.principal, r.interest, r.credit) == (0, 0, 0) and r.parts == []
    assert lines_of(entry_of(r)) == {
        (f"revolving_fund_cash:fund:{w.fund.id}", part, D("0.00")),
        (f"recoveries:loan:{loan.id}", D("0.00"), part),
    }
    left = outstanding - part
    with pytest.raises(RuleViolation, match=f"{left:,} of the EUR {outstanding:,} written off") as info:
        pay(w, left + D("0.01"), date(2028, 5, 1), "REC-2")
    check_field(info, "amount")
    pay(w, left, date(2028, 5, 1), "REC-2")
    assert loan.recovered == loan.written_off
    with pytest.raises(RuleViolation, match="EUR 0.00 of the"):
        pay(w, "0.01", date(2028, 5, 2), "REC-3")
    assert ledger(AccountKind.RECOVERIES, "loan", loan.id) == outstanding
    with pytest.raises(RuleViolation, match="only an active loan"):
        write_off_loan(loan, reason="Again", on_date=date(2028, 6, 1), actor=w.admin, now=NOW, timezone="UTC")
    actions = list(db.session.scalars(select(AuditEntry.action).where(AuditEntry.action.like("loans.%"))
                                      .order_by(AuditEntry.id)))
    assert actions == ["loans.fund_capitalised", "loans.loan_made", "loans.repayment_recorded",
                       "loans.approval_requested", "loans.loan_written_off", "loans.approval_approved",
                       "loans.recovery_recorded", "loans.recovery_recorded"]
    consistent()


def test_a_rescheduled_loan_is_written_off_from_loans_rescheduled(app) -> None:
    w = loan_world()
    loan = w.loan
    services.reschedule_loan(loan, term_periods=12, first_due=date(2027, 12, 1), reason="Drought", actor=w.admin,
                             now=RESCHEDULED_AT, timezone="UTC")
    event = write_off_loan(loan, reason="Closed down", on_date=date(2028, 1, 1), actor=w.admin, now=NOW,
                                    timezone="UTC")
    assert lines_of(entry_of(event)) == {
        (f"write_offs:loan:{loan.id}", PRINCIPAL, D("0.00")),
        (f"loans_rescheduled:loan:{loan.id}", D("0.00"), PRINCIPAL),
    }
    events = db.session.scalars(select(LoanEvent.kind).where(LoanEvent.loan_id == loan.id).order_by(LoanEvent.id))
    assert list(events) == [LoanEventKind.DISBURSED, LoanEventKind.RESCHEDULED, LoanEventKind.WRITTEN_OFF]
    consistent()


# --------------------------------------------------------------------------------------------------- access


def test_who_sees_funds_and_loans(app) -> None:
    w = loan_world()
    for someone in (w.admin, w.manager, w.applicant):
        assert services.get_loan(w.loan.id, actor=someone).id == w.loan.id
        assert services.get_fund(w.fund.id, actor=someone).id == w.fund.id
        assert [f.id for f in services.funds_for(someone)] == [w.fund.id]
    stranger = user("lead@elsewhere.test")
    make_group(stranger, name="Elsewhere Weavers")
    for someone in (stranger, w.reviewer):
        with pytest.raises(NotFound):
            services.get_loan(w.loan.id, actor=someone)
        with pytest.raises(NotFound):
            services.get_fund(w.fund.id, actor=someone)
    assert services.funds_for(stranger) == []
    with pytest.raises(AccessDenied):
        services.funds_for(w.reviewer)
    with pytest.raises(NotFound):
        services.get_loan(999999, actor=w.admin)
    with pytest.raises(NotFound):
        services.get_fund(999999, actor=w.admin)


# ----------------------------------------------------------------------------------------- check_loans


def test_check_loans_names_a_cached_figure_that_differs_from_the_ledger(app) -> None:
    w = loan_world()
    pay(w, "500.00", FIRST_DUE, "R-1")
    consistent()
    w.loan.principal_outstanding -= D("0.01")
    first = current(w.loan)[0]
    first.interest_paid -= D("0.01")
    db.session.flush()
    problems = check_loans()
    assert any("outstanding principal" in p and w.loan.number in p for p in problems)
    assert any("instalment 1" in p and "repayment parts" in p for p in problems)
