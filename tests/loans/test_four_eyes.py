"""Issue 14: four eyes on the funds' money decisions (write-offs, credit refunds, new loans above the rules'
threshold, bank statements) and the two money rules (a funding request's approved loan part is a ceiling over all
the loans drawn against it; the cap per initiative counts the fund's capitalisation). Each refused one cent over
and accepted at the limit; the requester never approves, nor an account linked to the requester's."""

from __future__ import annotations

import io
import zipfile
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest
from openpyxl import Workbook
from sqlalchemy import func, select

from programme.accounts import services as accounts
from programme.core.access import AccessDenied, Role, RuleViolation
from programme.extensions import db
from programme.funding import services as funding
from programme.ledger.models import JournalEntry
from programme.loans import services
from programme.loans.models import (
    ApprovalStatus,
    BankStatementImport,
    Loan,
    LoanApproval,
    LoanStatus,
    Repayment,
    StatementStatus,
)
from programme.loans.services import statements
from programme.rulebook.loader import parse_call_rules
from tests.funding.matching import all_met, submit_request
from tests.loans.world import CAPITALISED_ON, DISBURSED_ON, FIRST_DUE, NOW, loan_world, replace_loan_rule
from tests.reviews.world import PASSWORD, SETUP

D = Decimal


def count(model) -> int:
    return db.session.scalar(select(func.count()).select_from(model)) or 0


def entries() -> int:
    return count(JournalEntry)


def lend(w, principal: str, reference: str, *, request_id: int | None = None, actor=None, borrower=None):
    return services.make_loan(
        w.fund, borrower_id=(borrower or w.borrower).id, principal=D(principal), annual_rate=D("0.02"),
        term_periods=12, first_due=FIRST_DUE, disbursed_on=DISBURSED_ON, bank_reference=reference,
        purpose="Shared cold store", funding_request_id=request_id, actor=actor or w.admin, now=NOW, timezone="UTC")


def made_by(creator, email: str, *roles: Role):
    """An account created by ``creator`` (created_by_id names it)."""
    made = accounts.create_user(email=email, name=email.split("@")[0].title(), roles=roles, password=PASSWORD,
                                actor=SETUP)
    made.created_by_id = creator.id
    db.session.flush()
    return made


# --- the money rules (finding 11) -----------------------------------------------------------------------------


def loan_request(w, loan: str):
    from tests.funding.conftest import Funded

    f = Funded(w.initiative, w.initiative.startup_grant, w.admin, w.admin2, w.manager, w.reviewer, w.applicant)
    request = submit_request(f, grant="0", loan=loan, cost="50000.00", instrument="loan", now=NOW)
    funding.judge_funding_request(request, assessments=all_met(f), approve=True, reason="Sound.", actor=w.manager,
                                  now=NOW)
    return request


def test_the_loans_drawn_against_a_funding_request_never_exceed_its_approved_loan_part(app) -> None:
    w = loan_world(principal=None)
    request = loan_request(w, "10000.00")
    before = entries()
    with pytest.raises(RuleViolation, match="at most EUR 10,000.00 more can be lent; EUR 40,000.00 is too much"):
        lend(w, "40000.00", "L-BIG", request_id=request.id)
    with pytest.raises(RuleViolation, match="EUR 10,000.01 is too much") as over:
        lend(w, "10000.01", "L-OVER", request_id=request.id)
    assert over.value.field == "principal" and entries() == before
    first = lend(w, "6000.00", "L-A", request_id=request.id)
    assert isinstance(first, Loan)
    # a second loan naming the same request counts: 4,000.01 more is one cent over, 4,000.00 is at the limit
    with pytest.raises(RuleViolation, match="EUR 6,000.00 is lent or waiting for approval against it"):
        lend(w, "4000.01", "L-B", request_id=request.id, borrower=w.members()[1])
    second = lend(w, "4000.00", "L-B", request_id=request.id, borrower=w.members()[1])
    assert isinstance(second, Loan)
    with pytest.raises(RuleViolation, match="at most EUR 0.00 more"):
        lend(w, "0.01", "L-C", request_id=request.id)


def test_a_pending_loan_counts_against_the_loan_part(app) -> None:
    w = loan_world(principal=None)
    replace_loan_rule(w.call, "second_approval_above = 20_000.00", 'second_approval_above = "all"')
    request = loan_request(w, "10000.00")
    pending = lend(w, "7000.00", "L-P", request_id=request.id)
    assert isinstance(pending, LoanApproval) and pending.status == ApprovalStatus.PENDING
    with pytest.raises(RuleViolation, match="EUR 7,000.00 is lent or waiting"):
        lend(w, "3000.01", "L-Q", request_id=request.id)
    at_limit = lend(w, "3000.00", "L-Q", request_id=request.id)
    # approving the first: its own amount is not counted twice
    services.approve(pending, actor=w.admin2, now=NOW, timezone="UTC")
    services.approve(at_limit, actor=w.manager, now=NOW, timezone="UTC")
    assert db.session.scalar(select(func.sum(Loan.principal)).where(Loan.funding_request_id == request.id)) == \
        D("10000.00")


def test_the_cap_per_initiative_counts_the_capitalisation_of_its_fund(app) -> None:
    w = loan_world(principal=None, cash=0)
    cap = w.call.per_initiative_cap
    assert cap == D("250000.00")
    held = funding.programme_money_of(w.initiative)  # the start-up grant's tranches held or paid
    room = cap - held
    with pytest.raises(RuleViolation, match="overall cap of EUR 250,000.00") as over:
        services.capitalise_fund(w.fund, amount=D("500000.00"), value_date=CAPITALISED_ON, bank_reference="CAP-X",
                                 actor=w.admin, now=NOW, timezone="UTC")
    assert over.value.field == "amount"
    with pytest.raises(RuleViolation, match="is too much"):
        services.capitalise_fund(w.fund, amount=room + D("0.01"), value_date=CAPITALISED_ON,
                                 bank_reference="CAP-X", actor=w.admin, now=NOW, timezone="UTC")
    services.capitalise_fund(w.fund, amount=room, value_date=CAPITALISED_ON, bank_reference="CAP-1",
                             actor=w.admin, now=NOW, timezone="UTC")
    assert funding.programme_money_of(w.initiative) == cap
    # at the cap: nothing more, not a cent of capital, nor of a tranche of any grant
    with pytest.raises(RuleViolation, match="at most EUR 0.00 more"):
        services.capitalise_fund(w.fund, amount=D("0.01"), value_date=CAPITALISED_ON, bank_reference="CAP-2",
                                 actor=w.admin, now=NOW, timezone="UTC")
    grant = w.initiative.startup_grant
    if funding.grant_position(grant).left > 0:
        with pytest.raises(RuleViolation, match="overall cap"):
            funding.request_disbursement(grant, amount="0.01", purpose="More", actor=w.admin, now=NOW,
                                         timezone="UTC")


# --- four eyes on write-offs and refunds (the bad paths) ----------------------------------------------------------


def test_a_write_off_is_posted_only_when_a_second_person_approves_it(app) -> None:
    w = loan_world()
    loan = w.loan
    before = entries()
    asked = services.request_write_off(loan, reason="Bankrupt", on_date=date(2032, 12, 1), actor=w.admin, now=NOW,
                                       timezone="UTC")
    assert asked.status == ApprovalStatus.PENDING and asked.amount == loan.principal_outstanding
    assert entries() == before and loan.status == LoanStatus.ACTIVE
    assert services.pending_approvals(actor=w.admin2, loan=loan) == [asked]
    assert services.pending_approvals(actor=w.admin, for_me=True) == []  # not for the requester
    with pytest.raises(RuleViolation, match="already waiting"):
        services.request_write_off(loan, reason="Again", on_date=date(2032, 12, 1), actor=w.admin2, now=NOW,
                                   timezone="UTC")
    with pytest.raises(AccessDenied, match="You asked for this write-off"):
        services.approve(asked, actor=w.admin, now=NOW, timezone="UTC")
    created = made_by(w.admin, "made.by.admin@funds.test", Role.FUND_ADMINISTRATOR)
    with pytest.raises(AccessDenied, match="Your account was created by the person who asked"):
        services.approve(asked, actor=created, now=NOW, timezone="UTC")
    with pytest.raises(AccessDenied):
        services.approve(asked, actor=w.reviewer, now=NOW, timezone="UTC")
    assert entries() == before
    services.approve(asked, actor=w.manager, now=NOW, timezone="UTC")
    assert loan.status == LoanStatus.WRITTEN_OFF and entries() == before + 1
    with pytest.raises(RuleViolation, match="was approved already"):  # approving twice
        services.approve(asked, actor=w.admin2, now=NOW, timezone="UTC")
    assert entries() == before + 1


def test_a_rejected_refund_is_never_posted(app) -> None:
    w = loan_world()
    services.record_repayment(w.loan, amount=D("20000.00"), value_date=FIRST_DUE, bank_reference="OVER",
                              actor=w.admin, now=NOW, timezone="UTC")
    credit = w.loan.credit
    assert credit > 0
    creator = made_by(w.admin2, "creator.child@funds.test", Role.FUND_ADMINISTRATOR)
    asked = services.request_credit_refund(w.loan, bank_reference="RF-1", value_date=FIRST_DUE, reason="Overpaid",
                                           actor=creator, now=NOW, timezone="UTC")
    with pytest.raises(AccessDenied, match="You created the account of the person who asked"):
        services.approve(asked, actor=w.admin2, now=NOW, timezone="UTC")
    with pytest.raises(RuleViolation, match="reason"):
        services.reject(asked, reason=" ", actor=w.admin, now=NOW)
    services.reject(asked, reason="Wrong account", actor=w.admin, now=NOW)
    with pytest.raises(RuleViolation, match="was rejected already"):  # approving a rejected request
        services.approve(asked, actor=w.admin, now=NOW, timezone="UTC")
    assert w.loan.credit == credit
    # asked again, and approved: posted once
    again = services.request_credit_refund(w.loan, bank_reference="RF-1", value_date=FIRST_DUE, reason="Overpaid",
                                           actor=w.admin, now=NOW, timezone="UTC")
    services.approve(again, actor=w.admin2, now=NOW, timezone="UTC")
    assert w.loan.credit == 0


# --- new loans above the rules' threshold ----------------------------------------------------------------------


def test_a_loan_above_the_threshold_waits_for_a_second_person(app) -> None:
    w = loan_world(principal=None)
    assert w.call.rules.funding.loans.second_approval_above == D("20000.00")
    at = lend(w, "20000.00", "L-AT")
    assert isinstance(at, Loan)  # at the threshold: made at once
    before = entries()
    above = lend(w, "20000.01", "L-ABOVE", borrower=w.members()[1])
    assert isinstance(above, LoanApproval) and entries() == before and count(Loan) == 1
    assert lend(w, "20000.01", "L-ABOVE", borrower=w.members()[1]).id == above.id  # the same request again
    with pytest.raises(AccessDenied):
        services.approve(above, actor=w.admin, now=NOW, timezone="UTC")
    services.approve(above, actor=w.admin2, now=NOW, timezone="UTC")
    loan = db.session.get(Loan, above.loan_id)
    assert loan.principal == D("20000.01") and loan.created_by_id == w.admin.id and entries() == before + 1


def test_the_threshold_rule_is_checked_when_the_rules_are_read() -> None:
    source = Path("rules/cluster-contest.toml").read_text(encoding="utf-8")
    rules = parse_call_rules(source.replace("second_approval_above = 20_000.00", 'second_approval_above = "all"'))
    assert rules.funding.loans.needs_second_approval(D("0.01"))
    left_out = parse_call_rules(source.replace("second_approval_above = 20_000.00", ""))
    assert left_out.funding.loans.second_approval_above == "all"
    with pytest.raises(Exception, match="second_approval_above"):
        parse_call_rules(source.replace("second_approval_above = 20_000.00", 'second_approval_above = "some"'))


# --- bank statements ------------------------------------------------------------------------------------------


def workbook(rows) -> bytes:
    book = Workbook()
    sheet = book.active
    sheet.append(("Date", "Amount", "Reference", "Loan number"))
    for row in rows:
        sheet.append(row)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def test_a_checked_statement_is_applied_by_a_second_person_once(app) -> None:
    w = loan_world()
    data = workbook([(FIRST_DUE, D("500.00"), "ST-1", w.loan.number)])
    check = statements.check_statement(data, "s.xlsx", actor=w.admin, now=NOW, timezone="UTC")
    stored = statements.store_checked_statement(check, actor=w.admin, now=NOW)
    assert stored.status == StatementStatus.CHECKED and len(stored.lines) == 1 and count(Repayment) == 0
    assert statements.store_checked_statement(check, actor=w.admin2, now=NOW).id == stored.id  # same file
    with pytest.raises(AccessDenied):
        statements.apply_statement(stored, actor=w.admin, now=NOW, timezone="UTC")
    with pytest.raises(AccessDenied):
        statements.apply_statement(stored, actor=made_by(w.admin, "child2@funds.test", Role.FUND_ADMINISTRATOR),
                                   now=NOW, timezone="UTC")
    statements.apply_statement(stored, actor=w.admin2, now=NOW, timezone="UTC")
    assert stored.status == StatementStatus.APPLIED and count(Repayment) == 1
    with pytest.raises(RuleViolation, match="applied already"):
        statements.apply_statement(stored, actor=w.manager if False else w.admin2, now=NOW, timezone="UTC")
    assert count(Repayment) == 1


def test_a_rejected_statement_is_never_applied(app) -> None:
    w = loan_world()
    check = statements.check_statement(workbook([(FIRST_DUE, D("500.00"), "ST-9", w.loan.number)]), "s.xlsx",
                                       actor=w.admin, now=NOW, timezone="UTC")
    stored = statements.store_checked_statement(check, actor=w.admin, now=NOW)
    statements.reject_statement(stored, reason="Wrong bank", actor=w.admin2, now=NOW)
    with pytest.raises(RuleViolation, match="rejected already"):
        statements.apply_statement(stored, actor=w.admin2, now=NOW, timezone="UTC")
    assert count(Repayment) == 0


def blank_rows(rows: int) -> bytes:
    """A statement whose sheet holds ``rows`` empty row elements and hides its size (no <dimension>)."""
    sheet = ('<?xml version="1.0" encoding="UTF-8"?><worksheet xmlns="http://schemas.openxmlformats.org/'
             'spreadsheetml/2006/main"><sheetData>' + "<row/>" * rows + "</sheetData></worksheet>")
    source = io.BytesIO(workbook([]))
    out = io.BytesIO()
    with zipfile.ZipFile(source) as old, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as new:
        for item in old.infolist():
            content = sheet.encode() if item.filename == "xl/worksheets/sheet1.xml" else old.read(item.filename)
            new.writestr(item.filename, content)
    return out.getvalue()


def test_a_million_blank_rows_or_a_zip_bomb_is_refused_at_once_and_nothing_changes(app) -> None:
    w = loan_world()
    before = (count(BankStatementImport), count(Repayment), entries())
    data = blank_rows(1_000_000)
    assert len(data) < 2_000_000
    check = statements.check_statement(data, "blank.xlsx", actor=w.admin, now=NOW, timezone="UTC")
    assert not check.ok
    assert any("rows (blank ones count too)" in e or "packed" in e for e in check.errors), check.errors
    with pytest.raises(RuleViolation, match="cannot be applied"):
        statements.store_checked_statement(check, actor=w.admin, now=NOW)
    bomb = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(workbook([]))) as old, zipfile.ZipFile(bomb, "w", zipfile.ZIP_DEFLATED) as new:
        for item in old.infolist():
            new.writestr(item.filename, old.read(item.filename))
        new.writestr("xl/sharedStrings.xml", b"<sst>" + b"<si><t>a</t></si>" * 3_000_000 + b"</sst>")
    check = statements.check_statement(bomb.getvalue(), "bomb.xlsx", actor=w.admin, now=NOW, timezone="UTC")
    assert not check.ok and any("not read" in e for e in check.errors), check.errors
    assert (count(BankStatementImport), count(Repayment), entries()) == before
