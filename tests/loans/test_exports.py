"""The loan exports read back with openpyxl: the loan book (as of a day, per fund) and a loan's schedule with its
payments, repayments and events. Amounts are Decimal-exact when read through str."""

from __future__ import annotations

import io
from datetime import date
from decimal import Decimal
from typing import Any

import pytest
from openpyxl import load_workbook

from programme.extensions import db
from programme.loans import services
from programme.loans.export import LOAN_BOOK_HEADERS, write_loan_book, write_loan_schedule
from tests.loans.world import DISBURSED_ON, FIRST_DUE, NOW, loan_world

D = Decimal


def dec(value: Any) -> Decimal:
    return Decimal(str(value))


def sheet_rows(data: bytes, title: str, width: int) -> list[tuple[Any, ...]]:
    book = load_workbook(io.BytesIO(data), read_only=True)
    # Empty cells at a row's end are not written: pad them back.
    return [row + (None,) * (width - len(row)) for row in book[title].iter_rows(values_only=True)]


@pytest.fixture
def world(app):
    w = loan_world()
    loan2 = services.make_loan(
        w.fund, borrower_id=w.borrower.id, principal=D("6000.00"), annual_rate=D("0"), term_periods=6,
        first_due=FIRST_DUE, disbursed_on=DISBURSED_ON, bank_reference="LOAN-2", purpose="=HYPERLINK(\"x\")",
        actor=w.admin, now=NOW, timezone="UTC")
    services.record_repayment(w.loan, amount=D("1021.99"), value_date=date(2027, 8, 15), bank_reference="R-1",
                              actor=w.admin, now=NOW, timezone="UTC")
    services.record_repayment(w.loan, amount=D("500.00"), value_date=date(2027, 9, 20), bank_reference="R-2",
                              actor=w.admin, now=NOW, timezone="UTC")
    services.record_repayment(loan2, amount=D("6000.01"), value_date=date(2027, 9, 1), bank_reference="R-3",
                              actor=w.admin, now=NOW, timezone="UTC")
    db.session.commit()
    w.loan2 = loan2
    return w


def export_book(**kwargs: Any) -> list[tuple[Any, ...]]:
    target = io.BytesIO()
    count = write_loan_book(target, **kwargs)
    rows = sheet_rows(target.getvalue(), "Loan book", len(LOAN_BOOK_HEADERS))
    assert len(rows) == count + 1
    return rows


def test_the_loan_book_has_one_row_per_loan_with_its_figures(world) -> None:
    rows = export_book(as_of=date(2032, 12, 31))
    assert rows[0] == tuple(LOAN_BOOK_HEADERS)
    book = {row[0]: dict(zip(LOAN_BOOK_HEADERS, row, strict=True)) for row in rows[1:]}
    assert set(book) == {world.loan.number, world.loan2.number}
    first = book[world.loan.number]
    assert first["Initiative"] == world.initiative.name and first["Borrower"] == world.borrower.name
    assert first["Fund"] == world.initiative.reference
    assert dec(first["Principal"]) == D("12000.00")
    assert dec(first["Annual rate"]) == D("0.04")
    assert (first["Term (periods)"], first["Method"], first["Frequency"]) == (12, "annuity", "monthly")
    assert first["Disbursed on"].date() == DISBURSED_ON and first["First due"].date() == FIRST_DUE
    assert dec(first["Outstanding"]) == world.loan.principal_outstanding
    assert first["Status"] == "Active" and first["Rescheduled"] == "no"
    # Unpaid since long before the day: late, in the oldest bucket.
    assert first["Days late"] > 90 and first["Arrears bucket"] == "over 90"
    second = book[world.loan2.number]
    assert second["Status"] == "Closed" and dec(second["Outstanding"]) == D("0")
    assert dec(second["Credit"]) == D("0.01") == world.loan2.credit
    assert second["Days late"] == 0 and second["Arrears bucket"] is None
    assert dec(second["Written off"]) == D("0") and dec(second["Recovered"]) == D("0")


def test_the_loan_book_as_of_an_earlier_day_is_the_ledger_of_that_day(world) -> None:
    rows = export_book(as_of=date(2027, 8, 31))
    book = {row[0]: row for row in rows[1:]}
    outstanding = LOAN_BOOK_HEADERS.index("Outstanding")
    days = LOAN_BOOK_HEADERS.index("Days late")
    first = book[world.loan.number]
    repayment = services.find_repayment("R-1")
    assert dec(first[outstanding]) == D("12000.00") - repayment.principal
    assert first[days] == 0  # the first instalment was paid on its due day
    assert dec(book[world.loan2.number][outstanding]) == D("6000.00")
    # Before any loan was paid out, the book is empty.
    assert export_book(as_of=date(2027, 7, 1)) == [tuple(LOAN_BOOK_HEADERS)]


def test_the_loan_book_of_one_fund(world) -> None:
    assert len(export_book(as_of=date(2032, 12, 31), fund_id=world.fund.id)) == 3
    assert export_book(as_of=date(2032, 12, 31), fund_id=world.fund.id + 1000) == [tuple(LOAN_BOOK_HEADERS)]


def test_a_loans_schedule_with_its_payments(world) -> None:
    target = io.BytesIO()
    assert write_loan_schedule(target, world.loan) == 12
    data = target.getvalue()
    book = load_workbook(io.BytesIO(data), read_only=True)
    assert book.sheetnames == ["Loan", "Schedule", "Repayments", "Repayment parts", "Events"]
    facts = {row[0]: row[1] for row in sheet_rows(data, "Loan", 2)[1:]}
    assert facts["Loan"] == world.loan.number and dec(facts["Principal"]) == D("12000.00")
    assert dec(facts["Principal outstanding"]) == world.loan.principal_outstanding
    schedule = sheet_rows(data, "Schedule", 13)
    assert schedule[0][:5] == ("Instalment", "Due date", "Principal (EUR)", "Interest (EUR)", "Instalment (EUR)")
    body = schedule[1:]
    assert [row[0] for row in body] == list(range(1, 13))
    assert sum(dec(row[2]) for row in body) == D("12000.00")
    instalments = {i.number: i for i in world.loan.instalments}
    for row in body:
        i = instalments[row[0]]
        assert (dec(row[2]), dec(row[3]), dec(row[5]), dec(row[6])) == (i.principal, i.interest, i.principal_paid,
                                                                       i.interest_paid)
        assert dec(row[4]) == i.principal + i.interest
    assert body[0][12] == "paid"
    repayments = sheet_rows(data, "Repayments", 11)
    assert repayments[0][:4] == ("Value date", "Bank reference", "Amount (EUR)", "Source")
    assert [(r[1], dec(r[2])) for r in repayments[1:]] == [("R-1", D("1021.99")), ("R-2", D("500.00"))]
    for r in repayments[1:]:
        assert dec(r[4]) + dec(r[5]) + dec(r[6]) + dec(r[7]) + dec(r[8]) == dec(r[2])
    parts = sheet_rows(data, "Repayment parts", 7)[1:]
    assert sum(dec(p[4]) + dec(p[5]) + dec(p[6]) for p in parts) == D("1521.99")
    events = sheet_rows(data, "Events", 7)
    assert events[0][:3] == ("Date", "Event", "Amount (EUR)")


def test_a_closed_loans_schedule_names_its_events_and_keeps_text_as_text(world) -> None:
    target = io.BytesIO()
    write_loan_schedule(target, world.loan2)
    data = target.getvalue()
    facts = {row[0]: row[1] for row in sheet_rows(data, "Loan", 2)[1:]}
    assert facts["Purpose"] == '=HYPERLINK("x")'  # text, never a formula
    assert facts["Status"] == "Closed" and dec(facts["Credit"]) == D("0.01")
    events = [row[1] for row in sheet_rows(data, "Events", 7)[1:]]
    assert "Closed" in events
