"""Issue 18, mutual guarantees on revolving-fund loans (seed 004, para. 42): giving guarantees within the rules'
limits (one cent over refused, at the limit accepted), calling them only in default and with four eyes, the
obligations (shares and amounts, to the cent), collections (partial, idempotent, overpayment held), the write-off
of only what the guarantees did not cover, and the write-off of what a guarantor cannot pay (four eyes); the
ledger checks pass after each."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest
from sqlalchemy import func, select

from programme.accounts.models import Organisation, OrganisationType, SizeClass
from programme.core.access import AccessDenied, RuleViolation
from programme.extensions import db
from programme.ledger.balances import trial_balance
from programme.ledger.checks import check_ledger, check_loans
from programme.ledger.models import AccountKind, JournalEntry
from programme.ledger.naming import account_name
from programme.ledger.posting import get_account
from programme.loans import services
from programme.loans.guarantee_models import CallStatus, GuaranteeCollection, GuaranteeStatus
from programme.loans.guarantees import Pledge, obligations
from programme.loans.models import LoanStatus
from programme.loans.services import guarantee_calls, guarantee_figures, guarantees
from programme.loans.services import guarantee_collections as collections
from tests.loans.guarantee_world import BEFORE, DEFAULTED, guarantee_world
from tests.loans.world import FIRST_DUE, loan_world, replace_loan_rule, write_off_loan

D = Decimal


def sound() -> None:
    assert check_loans() == []
    assert check_ledger() == []
    assert trial_balance().balanced


def _at(day: date) -> datetime:
    return datetime(day.year, day.month, day.day, 12, 0, tzinfo=UTC)


# --- the arithmetic -------------------------------------------------------------------------------


def test_shares_share_out_what_is_owed_to_the_cent():
    thirds = [Pledge(1, share=D("0.333333")), Pledge(2, share=D("0.333333")), Pledge(3, share=D("0.333334"))]
    assert obligations(thirds, D("100.00"), "EUR") == {1: D("33.33"), 2: D("33.33"), 3: D("33.34")}
    assert sum(obligations(thirds, D("100.01"), "EUR").values()) == D("100.01")


def test_amounts_are_owed_as_given_and_never_more_than_what_is_owed():
    assert obligations([Pledge(1, amount=D("300.00")), Pledge(2, share=D("0.5"))], D("1000.00"), "EUR") == {
        1: D("300.00"), 2: D("500.00")}
    # over-coverage (when the rules allow it): pro rata, together exactly what is owed
    over = obligations([Pledge(1, amount=D("80.00")), Pledge(2, amount=D("70.00"))], D("100.01"), "EUR")
    assert over == {1: D("53.34"), 2: D("46.67")} and sum(over.values()) == D("100.01")
    assert obligations([Pledge(1, amount=D("80.00"))], D("50.00"), "EUR") == {1: D("50.00")}


def test_what_is_not_covered_stays_with_the_loan():
    owed = D("999.99")
    result = obligations([Pledge(1, share=D("0.25")), Pledge(2, share=D("0.25"))], owed, "EUR")
    assert result == {1: D("250.00"), 2: D("250.00")}  # 249.9975 each: 499.995 rounds to 500.00 in all
    assert owed - sum(result.values()) == D("499.99")


# --- giving guarantees ------------------------------------------------------------------------------


def test_a_member_guarantees_a_share_or_an_amount(app):
    g = guarantee_world()
    shown = guarantee_figures.loan_guarantees(g.w.loan, BEFORE.date())
    assert [r.covers for r in shown.rows] == [D("6000.00"), D("6000.00")]
    assert shown.coverage.covered == D("12000.00") and shown.coverage.share == D("1.0000")
    assert not shown.in_default and shown.may_add


def test_the_borrower_and_outsiders_cannot_guarantee(app):
    g = guarantee_world(share=None, amount=None)
    with pytest.raises(RuleViolation, match="cannot guarantee its own loan") as refused:
        guarantees.add_guarantee(g.w.loan, guarantor_id=g.w.borrower.id, share=D("0.1"), actor=g.w.admin,
                                 now=BEFORE, timezone="UTC")
    assert refused.value.field == "guarantor_id"
    outsider = Organisation(name="Outside Ltd", kind=OrganisationType.FIRM, size_class=SizeClass.SMALL,
                            sector="Ceramics", locality="Elsewhere")
    db.session.add(outsider)
    db.session.flush()
    with pytest.raises(RuleViolation, match="must be a member organisation") as refused:
        guarantees.add_guarantee(g.w.loan, guarantor_id=outsider.id, share=D("0.1"), actor=g.w.admin, now=BEFORE,
                                 timezone="UTC")
    assert refused.value.field == "guarantor_id"


def test_only_a_fund_administrator_gives_a_guarantee(app):
    g = guarantee_world(share=None, amount=None)
    for person in (g.w.manager, g.w.applicant, g.w.reviewer):
        with pytest.raises(AccessDenied):
            guarantees.add_guarantee(g.w.loan, guarantor_id=g.first.id, share=D("0.1"), actor=person, now=BEFORE,
                                     timezone="UTC")


def test_one_guarantor_covers_at_most_its_share_one_cent_over_refused(app):
    g = guarantee_world(share=None, amount=None)
    with pytest.raises(RuleViolation, match="at most 50 %") as refused:
        guarantees.add_guarantee(g.w.loan, guarantor_id=g.first.id, amount=D("6000.01"), actor=g.w.admin,
                                 now=BEFORE, timezone="UTC")
    assert refused.value.field == "amount" and "max_share_per_guarantor" in refused.value.message
    with pytest.raises(RuleViolation, match="at most 50 %"):
        guarantees.add_guarantee(g.w.loan, guarantor_id=g.first.id, share=D("0.500001"), actor=g.w.admin,
                                 now=BEFORE, timezone="UTC")
    given = guarantees.add_guarantee(g.w.loan, guarantor_id=g.first.id, amount=D("6000.00"), actor=g.w.admin,
                                     now=BEFORE, timezone="UTC")
    assert given.status == GuaranteeStatus.ACTIVE


def test_the_guarantees_together_cover_at_most_what_is_owed(app):
    g = guarantee_world(share="0.5", amount="5000.00")
    third = [o for o in g.w.members() if o.id not in (g.w.borrower.id, g.first.id, g.second.id)][0]
    with pytest.raises(RuleViolation, match="allow_over_coverage") as refused:
        guarantees.add_guarantee(g.w.loan, guarantor_id=third.id, amount=D("1000.01"), actor=g.w.admin,
                                 now=BEFORE, timezone="UTC")
    assert "EUR 12,000.01" in refused.value.message
    guarantees.add_guarantee(g.w.loan, guarantor_id=third.id, amount=D("1000.00"), actor=g.w.admin, now=BEFORE,
                             timezone="UTC")
    assert guarantee_figures.loan_guarantees(g.w.loan, BEFORE.date()).coverage.covered == D("12000.00")


def test_the_exposure_limit_per_guarantor_one_cent_over_refused_at_the_limit_accepted(app):
    g = guarantee_world(share=None, amount=None)
    w = g.w
    other = services.make_loan(w.fund, borrower_id=g.second.id, principal=D("20000.00"), annual_rate=D("0.02"),
                               term_periods=12, first_due=FIRST_DUE, disbursed_on=w.loan.disbursed_on,
                               bank_reference="LOAN-2", purpose="Dryers", actor=w.admin, now=BEFORE, timezone="UTC")
    guarantees.add_guarantee(w.loan, guarantor_id=g.first.id, amount=D("6000.00"), actor=w.admin, now=BEFORE,
                             timezone="UTC")
    # 6,000.00 on the first loan; the limit is 15,000.00: 9,000.01 more is one cent over
    with pytest.raises(RuleViolation, match="max_exposure_per_guarantor") as refused:
        guarantees.add_guarantee(other, guarantor_id=g.first.id, amount=D("9000.01"), actor=w.admin, now=BEFORE,
                                 timezone="UTC")
    assert refused.value.field == "amount"
    assert "EUR 15,000.01" in refused.value.message and "EUR 6,000.00 already" in refused.value.message
    guarantees.add_guarantee(other, guarantor_id=g.first.id, amount=D("9000.00"), actor=w.admin, now=BEFORE,
                             timezone="UTC")
    assert guarantees.exposure(g.first.id, "EUR") == D("15000.00")


def test_a_call_without_the_section_cannot_guarantee(app):
    w = loan_world()
    source = w.call.rules_source
    start = source.index("[funding.loans.guarantees]")
    end = source.index("allow_over_coverage = false") + len("allow_over_coverage = false")
    replace_loan_rule(w.call, source[start:end], "")
    assert w.call.rules.funding.loans.guarantees is None
    with pytest.raises(RuleViolation, match=r"no \[funding.loans.guarantees\] section"):
        guarantees.add_guarantee(w.loan, guarantor_id=w.members()[1].id, share=D("0.1"), actor=w.admin,
                                 now=BEFORE, timezone="UTC")
    # and the loan's write-off works as ever
    write_off_loan(w.loan, reason="Closed down", on_date=DEFAULTED.date(), actor=w.admin)
    assert w.loan.status == LoanStatus.WRITTEN_OFF
    sound()


# --- default and the call ------------------------------------------------------------------------------


def test_the_guarantees_are_called_only_in_default(app):
    g = guarantee_world()
    loan = g.w.loan
    one_day_short = _at(FIRST_DUE + timedelta(days=89))
    with pytest.raises(RuleViolation, match="89 days late.*90 days late or more"):
        guarantee_calls.request_call(loan, reason="Late", actor=g.w.admin, now=one_day_short, timezone="UTC")
    # once in default, it can no longer be guaranteed nor released
    in_default = _at(FIRST_DUE + timedelta(days=90))
    with pytest.raises(RuleViolation, match="in default"):
        guarantees.release_guarantee(g.guarantees[0], reason="Changed mind", actor=g.w.admin, now=in_default,
                                     timezone="UTC")
    call = guarantee_calls.request_call(loan, reason="Ninety days late", actor=g.w.admin, now=in_default,
                                        timezone="UTC")
    assert call.status == CallStatus.REQUESTED
    assert loan.principal_outstanding == D("12000.00")  # nothing posted yet


def test_calling_needs_a_second_person(app):
    g = guarantee_world()
    asked = guarantee_calls.request_call(g.w.loan, reason="In default", actor=g.w.admin, now=DEFAULTED, timezone="UTC")
    with pytest.raises(AccessDenied, match="someone else must approve"):
        guarantee_calls.approve_call(asked, actor=g.w.admin, now=DEFAULTED, timezone="UTC")
    assert not guarantee_calls.may_decide_call(asked, g.w.admin) and guarantee_calls.may_decide_call(asked, g.w.admin2)
    with pytest.raises(AccessDenied):
        guarantee_calls.request_call(g.w.loan, reason="x", actor=g.w.manager, now=DEFAULTED, timezone="UTC")
    called = guarantee_calls.approve_call(asked, actor=g.w.manager, now=DEFAULTED, timezone="UTC")
    assert called.status == CallStatus.CALLED and called.decided_by_id == g.w.manager.id
    with pytest.raises(RuleViolation, match="called already"):
        guarantee_calls.approve_call(asked, actor=g.w.admin2, now=DEFAULTED, timezone="UTC")
    sound()


def test_a_rejected_call_posts_nothing_and_may_be_asked_again(app):
    g = guarantee_world()
    asked = guarantee_calls.request_call(g.w.loan, reason="In default", actor=g.w.admin, now=DEFAULTED, timezone="UTC")
    guarantee_calls.reject_call(asked, reason="The member is paying again", actor=g.w.admin2, now=DEFAULTED)
    assert g.w.loan.guarantees_called == D("0.00")
    again = guarantee_calls.request_call(g.w.loan, reason="Still late", actor=g.w.admin2, now=DEFAULTED, timezone="UTC")
    assert again.id != asked.id
    sound()


def test_the_call_moves_the_covered_part_to_the_guarantors(app):
    g = guarantee_world(share="0.25", amount="2500.00")
    w = g.w
    call = g.call()
    loan = w.loan
    assert call.owed == D("12000.00") and call.called == D("5500.00")
    amounts = {o.guarantor_id: o.amount for o in call.obligations}
    assert amounts == {g.first.id: D("3000.00"), g.second.id: D("2500.00")}
    assert loan.principal_outstanding == D("6500.00") and loan.guarantees_called == D("5500.00")
    assert all(x.status == GuaranteeStatus.CALLED for x in guarantees.guarantees_of(loan))
    entry = db.session.get(JournalEntry, call.journal_entry_id)
    assert entry.idempotency_key == f"guarantee_call:{call.id}"
    for obligation in call.obligations:
        account = get_account(AccountKind.GUARANTEE_RECEIVABLE, "obligation", obligation.id)
        assert account is not None and account.normal_side.value == "debit"
        assert account_name(account) == (f"Guarantee receivable, {obligation.guarantor.name} as guarantor of loan "
                                         f"{loan.number}")
    sound()
    # after the call the borrower's payments and a reschedule are refused; a second call too
    with pytest.raises(RuleViolation, match="were called"):
        services.record_repayment(loan, amount=D("100.00"), value_date=DEFAULTED.date(), bank_reference="LATE-1",
                                  actor=w.admin, now=DEFAULTED, timezone="UTC")
    with pytest.raises(RuleViolation, match="already called"):
        guarantee_calls.request_call(loan, reason="Again", actor=w.admin, now=DEFAULTED, timezone="UTC")


# --- collections ---------------------------------------------------------------------------------------------


def test_collections_partial_idempotent_and_an_overpayment_is_held(app):
    g = guarantee_world()
    call = g.call()
    first = next(o for o in call.obligations if o.guarantor_id == g.first.id)
    day = DEFAULTED.date()
    one = collections.record_collection(first, amount=D("1000.00"), value_date=day, bank_reference="GUA-1",
                                        actor=g.w.admin, now=DEFAULTED, timezone="UTC")
    again = collections.record_collection(first, amount=D("1000.00"), value_date=day, bank_reference="GUA-1",
                                          actor=g.w.admin2, now=DEFAULTED, timezone="UTC")
    assert again.id == one.id and first.collected == D("1000.00")
    with pytest.raises(RuleViolation, match="already used") as refused:
        collections.record_collection(first, amount=D("999.00"), value_date=day, bank_reference="GUA-1",
                                      actor=g.w.admin, now=DEFAULTED, timezone="UTC")
    assert refused.value.field == "bank_reference"
    rest = collections.record_collection(first, amount=D("5000.50"), value_date=day, bank_reference="GUA-2",
                                         actor=g.w.admin, now=DEFAULTED, timezone="UTC")
    assert (rest.applied, rest.credit) == (D("5000.00"), D("0.50"))
    assert first.owed == D("0.00") and first.credit == D("0.50")
    assert db.session.scalar(select(func.count()).select_from(GuaranteeCollection)) == 2
    cash = services.fund_cash(g.w.fund)
    assert cash == D("50000.00") - D("12000.00") + D("6000.50")
    sound()


# --- write-offs ------------------------------------------------------------------------------------------------


def test_the_loan_is_written_off_only_for_what_the_guarantees_did_not_cover(app):
    g = guarantee_world(share="0.25", amount=None)
    w = g.w
    with pytest.raises(RuleViolation, match="is guaranteed: call the guarantees"):
        services.request_write_off(w.loan, reason="Closed", on_date=DEFAULTED.date(), actor=w.admin, now=DEFAULTED,
                                   timezone="UTC")
    asked = guarantee_calls.request_call(w.loan, reason="In default", actor=w.admin, now=DEFAULTED, timezone="UTC")
    with pytest.raises(RuleViolation, match="being called"):
        services.request_write_off(w.loan, reason="Closed", on_date=DEFAULTED.date(), actor=w.admin, now=DEFAULTED,
                                   timezone="UTC")
    guarantee_calls.approve_call(asked, actor=w.admin2, now=DEFAULTED, timezone="UTC")
    event = write_off_loan(w.loan, reason="Closed down", on_date=DEFAULTED.date(), actor=w.admin)
    assert event.amount == D("9000.00")  # 12,000.00 less the 3,000.00 the guarantor owes
    assert w.loan.written_off == D("9000.00") and w.loan.guarantees_called == D("3000.00")
    assert w.loan.status == LoanStatus.WRITTEN_OFF
    sound()


def test_what_a_guarantor_cannot_pay_is_written_off_with_four_eyes(app):
    g = guarantee_world()
    call = g.call()
    first = next(o for o in call.obligations if o.guarantor_id == g.first.id)
    day = DEFAULTED.date()
    collections.record_collection(first, amount=D("1500.00"), value_date=day, bank_reference="GUA-1",
                                  actor=g.w.admin, now=DEFAULTED, timezone="UTC")
    collections.request_obligation_write_off(first, reason="Insolvent", on_date=day, actor=g.w.admin, now=DEFAULTED,
                                             timezone="UTC")
    with pytest.raises(AccessDenied):
        collections.approve_obligation_write_off(first, actor=g.w.admin, now=DEFAULTED, timezone="UTC")
    assert first.written_off == D("0.00")
    collections.approve_obligation_write_off(first, actor=g.w.admin2, now=DEFAULTED, timezone="UTC")
    assert (first.amount, first.collected, first.written_off, first.owed) == (
        D("6000.00"), D("1500.00"), D("4500.00"), D("0.00"))
    with pytest.raises(RuleViolation, match="No write-off"):
        collections.approve_obligation_write_off(first, actor=g.w.admin2, now=DEFAULTED, timezone="UTC")
    # paid after all: held as its credit, never lost
    late = collections.record_collection(first, amount=D("100.00"), value_date=day, bank_reference="GUA-9",
                                         actor=g.w.admin, now=DEFAULTED, timezone="UTC")
    assert late.credit == D("100.00")
    sound()


def test_a_rejected_obligation_write_off_posts_nothing(app):
    g = guarantee_world()
    call = g.call()
    second = next(o for o in call.obligations if o.guarantor_id == g.second.id)
    collections.request_obligation_write_off(second, reason="Insolvent", on_date=DEFAULTED.date(), actor=g.w.admin,
                                             now=DEFAULTED, timezone="UTC")
    collections.reject_obligation_write_off(second, reason="It will pay", actor=g.w.manager, now=DEFAULTED)
    assert second.written_off == D("0.00") and not second.write_off_pending
    sound()


def test_the_figures_of_the_programme(app):
    g = guarantee_world()
    call = g.call()
    collections.record_collection(call.obligations[0], amount=D("2000.00"), value_date=DEFAULTED.date(),
                                  bank_reference="GUA-1", actor=g.w.admin, now=DEFAULTED, timezone="UTC")
    (figures,) = guarantee_figures.guarantee_figures()
    assert (figures.currency, figures.called, figures.collected, figures.owed, figures.calls) == (
        "EUR", D("12000.00"), D("2000.00"), D("10000.00"), 1)


def test_a_guarantee_is_released_before_default_and_its_exposure_freed(app):
    g = guarantee_world()
    first = g.guarantees[0]
    with pytest.raises(RuleViolation, match="Give the reason") as refused:
        guarantees.release_guarantee(first, reason=" ", actor=g.w.admin, now=BEFORE, timezone="UTC")
    assert refused.value.field == "reason"
    guarantees.release_guarantee(first, reason="The loan is paying well", actor=g.w.admin, now=BEFORE,
                                 timezone="UTC")
    assert first.status == GuaranteeStatus.RELEASED and guarantees.exposure(g.first.id, "EUR") == D("0.00")
    with pytest.raises(RuleViolation, match="only an active one"):
        guarantees.release_guarantee(first, reason="Again", actor=g.w.admin, now=BEFORE, timezone="UTC")
    again = guarantees.add_guarantee(g.w.loan, guarantor_id=g.first.id, amount=D("1000.00"), actor=g.w.admin,
                                     now=BEFORE, timezone="UTC")
    assert again.id != first.id


def test_asking_twice_for_the_call_is_one_request(app):
    g = guarantee_world()
    asked = guarantee_calls.request_call(g.w.loan, reason="In default", actor=g.w.admin, now=DEFAULTED,
                                         timezone="UTC")
    assert guarantee_calls.request_call(g.w.loan, reason="In default", actor=g.w.admin, now=DEFAULTED,
                                        timezone="UTC").id == asked.id
    with pytest.raises(RuleViolation, match="already being called"):
        guarantee_calls.request_call(g.w.loan, reason="Me too", actor=g.w.admin2, now=DEFAULTED, timezone="UTC")
    with pytest.raises(RuleViolation, match="can no longer be guaranteed"):
        guarantees.add_guarantee(g.w.loan, guarantor_id=g.w.members()[4].id, share=D("0.1"), actor=g.w.admin,
                                 now=DEFAULTED, timezone="UTC")


def test_a_collection_dated_before_the_call_or_in_the_future_is_refused(app):
    g = guarantee_world()
    call = g.call()
    obligation = call.obligations[0]
    for day, message in ((DEFAULTED.date() - timedelta(days=1), "before the guarantees were called"),
                         (DEFAULTED.date() + timedelta(days=1), "in the future")):
        with pytest.raises(RuleViolation, match=message) as refused:
            collections.record_collection(obligation, amount=D("10.00"), value_date=day, bank_reference="GUA-D",
                                          actor=g.w.admin, now=DEFAULTED, timezone="UTC")
        assert refused.value.field == "value_date"
    assert obligation.collected == D("0.00")
