"""The bank-statement import: each kind of bad row rejects the whole file naming its row and column, and nothing
changes; a good file is applied in one transaction with its summary and the ledger balanced; the same file twice
changes nothing the second time; a refusal while applying undoes the rows before it."""

from __future__ import annotations

import io
from datetime import date, datetime
from decimal import Decimal
from typing import Any

import pytest
from openpyxl import Workbook
from sqlalchemy import func, select

from programme.core.access import AccessDenied, RuleViolation
from programme.extensions import db
from programme.ledger.balances import trial_balance
from programme.ledger.checks import check_ledger, check_loans
from programme.ledger.models import JournalEntry
from programme.loans import services
from programme.loans.models import BankStatementImport, Loan, LoanStatus, Repayment, RepaymentSource
from programme.loans.services.statements import MAX_ROWS, check_statement, read_amount
from tests.loans.world import DISBURSED_ON, FIRST_DUE, NOW, apply_statement, loan_world, write_off_loan
from tests.worlds import Kept, keep, reload

D = Decimal
HEADERS = ("Date", "Amount", "Reference", "Loan number")


def xlsx(rows: list[tuple[Any, ...]], headers: tuple[Any, ...] = HEADERS) -> bytes:
    book = Workbook()
    sheet = book.active
    if headers:
        sheet.append(list(headers))
    for row in rows:
        sheet.append(list(row))
    target = io.BytesIO()
    book.save(target)
    return target.getvalue()


def state() -> tuple[int, int, int, tuple[Decimal, ...]]:
    """What a statement could change: repayments, journal entries, imports, and every loan's outstanding."""
    return (
        db.session.scalar(select(func.count()).select_from(Repayment)),
        db.session.scalar(select(func.count()).select_from(JournalEntry)),
        db.session.scalar(select(func.count()).select_from(BankStatementImport)),
        tuple(db.session.scalars(select(Loan.principal_outstanding).order_by(Loan.id))),
    )


def consistent() -> None:
    assert check_loans() == []
    assert check_ledger() == []
    assert trial_balance().balanced


class World:
    def __init__(self) -> None:
        w = loan_world()
        self.w = w
        self.admin, self.manager, self.reviewer = w.admin, w.manager, w.reviewer
        self.loan = w.loan
        self.loan2 = services.make_loan(
            w.fund, borrower_id=w.borrower.id, principal=D("6000.00"), annual_rate=D("0"), term_periods=6,
            first_due=FIRST_DUE, disbursed_on=DISBURSED_ON, bank_reference="LOAN-2", purpose="Tools",
            actor=w.admin, now=NOW, timezone="UTC")
        db.session.commit()

    def check(self, rows: list[tuple[Any, ...]], **kwargs: Any):
        return check_statement(io.BytesIO(xlsx(rows, **kwargs)), "statement.xlsx", now=NOW, timezone="UTC")

    def rejected(self, rows: list[tuple[Any, ...]], *expected: str, **kwargs: Any) -> list[str]:
        """Check the file: it is refused with exactly the expected messages' beginnings, and applying it changes
        nothing."""
        before = state()
        check = self.check(rows, **kwargs)
        assert not check.ok
        assert check.rows == []
        for text in expected:
            assert any(text in error for error in check.errors), (text, check.errors)
        with pytest.raises(RuleViolation, match="cannot be applied"):
            apply_statement(check, actor=self.admin, now=NOW, timezone="UTC")
        assert state() == before
        db.session.rollback()
        assert state() == before
        return check.errors


@pytest.fixture(scope="module")
def world_once(built_once) -> Kept:
    with built_once():
        return keep(World())


@pytest.fixture
def world(app, world_once: Kept) -> World:
    return reload(world_once)


def row(n: str, amount: Any = "500.00", reference: str = "BANK-1", on: Any = date(2027, 8, 15)) -> tuple:
    return (on, amount, reference, n)


# ------------------------------------------------------------------------------------------------ a good file


def test_a_good_file_is_applied_in_date_order_with_its_summary(world: World) -> None:
    l1, l2 = world.loan.number, world.loan2.number
    before = state()
    check = world.check([
        row(l1, "500.00", "BANK-2", date(2027, 9, 15)),
        row(l1, 500.5, "BANK-1", date(2027, 8, 15)),          # a number cell: 500.5 exactly
        row(l2, 1000, "BANK-3", "2027-08-20"),                # an integer cell, an ISO date as text
        (None, None, None, None),                             # an empty row is skipped
        row(l2.lower(), "1,000.00", " BANK-4 ", datetime(2027, 9, 20, 0, 0)),
    ])
    assert check.ok, check.errors
    summary = check.summary
    assert (summary.rows, summary.to_apply, summary.already_applied) == (4, 4, 0)
    assert summary.total == D("3000.50")
    assert [(t.loan_number, t.rows, t.amount) for t in summary.per_loan] == [(l1, 2, D("1000.50")),
                                                                             (l2, 2, D("2000.00"))]
    statement = apply_statement(check, actor=world.admin, now=NOW, timezone="UTC")
    db.session.commit()
    assert (statement.rows, statement.applied, statement.already_applied, statement.total) == (4, 4, 0, D("3000.50"))
    assert statement.filename == "statement.xlsx" and len(statement.sha256) == 64
    repayments = db.session.scalars(select(Repayment).order_by(Repayment.id)).all()
    # Applied by value date: BANK-1 (15 Aug) before BANK-2 (15 Sep) though the file lists BANK-2 first.
    assert [r.bank_reference for r in repayments] == ["BANK-1", "BANK-3", "BANK-2", "BANK-4"]
    assert all(r.source == RepaymentSource.BANK_STATEMENT and r.import_id == statement.id for r in repayments)
    assert [r.amount for r in repayments] == [D("500.50"), D("1000.00"), D("500.00"), D("1000.00")]
    assert world.loan2.principal_outstanding == D("4000.00")
    after = state()
    assert after[0] == before[0] + 4 and after[1] == before[1] + 4 and after[2] == before[2] + 1
    consistent()


def test_the_same_file_twice_changes_nothing_the_second_time(world: World) -> None:
    l1, l2 = world.loan.number, world.loan2.number
    data = xlsx([row(l1, "500.00", "BANK-1", date(2027, 8, 15)), row(l2, "1000.00", "BANK-2", date(2027, 8, 16))])
    first = apply_statement(check_statement(io.BytesIO(data), "statement.xlsx", now=NOW, timezone="UTC"),
                            actor=world.admin, now=NOW, timezone="UTC")
    db.session.commit()
    before = state()
    again = check_statement(io.BytesIO(data), "statement.xlsx", now=NOW, timezone="UTC")
    assert again.ok, again.errors
    assert all(r.already_applied for r in again.rows)
    summary = again.summary
    assert (summary.rows, summary.to_apply, summary.already_applied, summary.total) == (2, 0, 2, D("0.00"))
    assert summary.per_loan == []
    assert apply_statement(again, actor=world.admin, now=NOW, timezone="UTC") is first
    db.session.commit()
    assert state() == before
    consistent()


def test_another_file_of_rows_all_applied_writes_nothing(world: World) -> None:
    l1 = world.loan.number
    apply_statement(world.check([row(l1, "500.00", "BANK-1", date(2027, 8, 15))]), actor=world.admin, now=NOW,
                    timezone="UTC")
    db.session.commit()
    before = state()
    other = world.check([row(l1, 500, "BANK-1", "2027-08-15")], headers=("date", "amount", "reference", "loan"))
    assert other.ok, other.errors
    result = apply_statement(other, actor=world.admin, now=NOW, timezone="UTC")
    assert result.id is None and (result.rows, result.applied, result.already_applied) == (1, 0, 1)
    db.session.commit()
    assert state() == before


def test_rows_applied_before_are_skipped_and_the_new_ones_applied(world: World) -> None:
    l1 = world.loan.number
    services.record_repayment(world.loan, amount=D("500.00"), value_date=date(2027, 8, 15), bank_reference="BANK-1",
                              actor=world.admin, now=NOW, timezone="UTC")
    db.session.commit()
    check = world.check([row(l1, "500.00", "BANK-1", date(2027, 8, 15)),
                         row(l1, "600.00", "BANK-2", date(2027, 9, 15))])
    assert check.ok, check.errors
    statement = apply_statement(check, actor=world.admin, now=NOW, timezone="UTC")
    assert (statement.rows, statement.applied, statement.already_applied, statement.total) == (2, 1, 1, D("600.00"))
    manual = services.find_repayment("BANK-1")
    assert manual is not None and manual.source == RepaymentSource.MANUAL and manual.import_id is None
    consistent()


def test_a_refusal_while_applying_undoes_every_row_before_it(world: World) -> None:
    l1, l2 = world.loan.number, world.loan2.number
    before = state()
    # Row 3 repays loan 2 in full and closes it; row 4, later, is then refused by record_repayment.
    check = world.check([
        row(l1, "500.00", "BANK-1", date(2027, 8, 15)),
        row(l2, "1000.00", "BANK-2", date(2027, 8, 16)),
        row(l2, "5000.00", "BANK-3", date(2027, 8, 17)),
        row(l2, "10.00", "BANK-4", date(2027, 8, 18)),
    ])
    assert check.ok, check.errors
    with pytest.raises(RuleViolation) as refused:
        apply_statement(check, actor=world.admin, now=NOW, timezone="UTC")
    message = refused.value.message
    assert message.startswith(f"Row 5 (reference BANK-4, loan {l2}): ")
    assert "repaid in full" in message and "Nothing of the statement was applied." in message
    assert state() == before
    assert world.loan2.status == LoanStatus.ACTIVE
    db.session.rollback()
    assert state() == before
    consistent()


def test_only_fund_administrators_apply_a_statement(world: World) -> None:
    check = world.check([row(world.loan.number)])
    for person in (world.manager, world.reviewer, world.w.applicant):
        with pytest.raises(AccessDenied):
            apply_statement(check, actor=person, now=NOW, timezone="UTC")
        with pytest.raises(AccessDenied):
            check_statement(io.BytesIO(xlsx([row(world.loan.number)])), "s.xlsx", actor=person, now=NOW, timezone="UTC")
    assert state()[0] == 0


def test_headers_in_any_order_and_case_with_other_columns(world: World) -> None:
    check = world.check([("ignored", world.loan.number, "BANK-1", "500.00", date(2027, 8, 15))],
                        headers=("Note", "LOAN NUMBER", " reference ", "Amount", "date"))
    assert check.ok, check.errors
    assert check.rows[0].amount == D("500.00") and check.rows[0].loan_number == world.loan.number


# ---------------------------------------------------------------------------------------- each bad row kind


def test_unknown_loan(world: World) -> None:
    world.rejected([row(world.loan.number), row("L-999999", reference="BANK-2")],
                   "Row 3, column D (loan number): L-999999 is not a loan of the programme")


def test_empty_loan_number(world: World) -> None:
    world.rejected([row(None)], "Row 2, column D (loan number): is empty")


def test_empty_amount(world: World) -> None:
    world.rejected([row(world.loan.number, None)], "Row 2, column B (amount): is empty: give the amount")


def test_text_amount(world: World) -> None:
    world.rejected([row(world.loan.number, "five hundred")], "Row 2, column B (amount): five hundred is not an amount")


def test_decimal_comma(world: World) -> None:
    world.rejected([row(world.loan.number, "ok"), row(world.loan.number, "12,5", "BANK-2"),
                    row(world.loan.number, "1.250,00", "BANK-3")],
                   "Row 3, column B (amount): 12,5 is not an amount: use a point for decimals",
                   "Row 4, column B (amount): 1.250,00 is not an amount: use a point for decimals")


@pytest.mark.parametrize("amount", ["-10.00", "0", -10, 0, "0.00"])
def test_amount_not_above_zero(world: World, amount: Any) -> None:
    world.rejected([row(world.loan.number, amount)], "Row 2, column B (amount):", "is not above zero")


def test_amount_with_more_than_two_decimals(world: World) -> None:
    world.rejected([row(world.loan.number, "10.005")],
                   "Row 2, column B (amount): 10.005 has more than 2 decimal places")


def test_a_number_cell_that_is_not_an_exact_cent_amount(world: World) -> None:
    errors = world.rejected([row(world.loan.number, 12.345), row(world.loan.number, 7.5, "BANK-2")],
                            "Row 2, column B (amount): 12.345 is not an exact amount of cents")
    assert len(errors) == 1  # 7.5 is exactly 7.50


def test_a_date_cell_in_the_amount_column(world: World) -> None:
    world.rejected([row(world.loan.number, date(2027, 1, 1))], "Row 2, column B (amount): 2027-01-01", "not an amount")


def test_empty_date(world: World) -> None:
    world.rejected([row(world.loan.number, on=None)], "Row 2, column A (date): is empty: give the value date")


@pytest.mark.parametrize("on", ["15/08/2027", "2027-02-30", "yesterday", 46000, "20270815"])
def test_bad_date(world: World, on: Any) -> None:
    world.rejected([row(world.loan.number, on=on)], "Row 2, column A (date):", "not a date")


def test_future_date(world: World) -> None:
    world.rejected([row(world.loan.number, on=date(2033, 1, 2))],
                   "Row 2, column A (date): 2 Jan 2033 is in the future")


def test_date_before_the_loan_was_paid_out(world: World) -> None:
    world.rejected([row(world.loan.number, on=date(2027, 7, 14))],
                   f"Row 2, column A (date): 14 Jul 2027 is before loan {world.loan.number} was paid out (15 Jul 2027)")


def test_date_before_a_repayment_already_recorded(world: World) -> None:
    services.record_repayment(world.loan, amount=D("500.00"), value_date=date(2027, 9, 15), bank_reference="HAND-1",
                              actor=world.admin, now=NOW, timezone="UTC")
    db.session.commit()
    world.rejected([row(world.loan.number, on=date(2027, 9, 1))],
                   "Row 2, column A (date): 1 Sep 2027 is before repayment HAND-1 of 15 Sep 2027")


def test_empty_reference(world: World) -> None:
    world.rejected([row(world.loan.number, reference="  ")],
                   "Row 2, column C (reference): is empty: give the bank's reference")


def test_the_same_reference_twice_in_the_file(world: World) -> None:
    world.rejected([row(world.loan.number), row(world.loan2.number, "20.00", "BANK-1", date(2027, 8, 20))],
                   "Row 3, column C (reference): BANK-1 is also on row 2")


def test_a_reference_already_applied_with_another_amount(world: World) -> None:
    services.record_repayment(world.loan, amount=D("500.00"), value_date=date(2027, 8, 15), bank_reference="BANK-1",
                              actor=world.admin, now=NOW, timezone="UTC")
    db.session.commit()
    world.rejected([row(world.loan.number, "600.00")],
                   "Row 2, column C (reference): BANK-1 was already applied: 500.00 to loan", "not 600.00")


def test_a_reference_already_applied_to_another_loan(world: World) -> None:
    services.record_repayment(world.loan, amount=D("500.00"), value_date=date(2027, 8, 15), bank_reference="BANK-1",
                              actor=world.admin, now=NOW, timezone="UTC")
    db.session.commit()
    world.rejected([row(world.loan2.number, "500.00")],
                   "Row 2, column C (reference): BANK-1 was already applied", f"not to loan {world.loan2.number}")


def test_a_reference_already_applied_on_another_date(world: World) -> None:
    services.record_repayment(world.loan, amount=D("500.00"), value_date=date(2027, 8, 15), bank_reference="BANK-1",
                              actor=world.admin, now=NOW, timezone="UTC")
    db.session.commit()
    world.rejected([row(world.loan.number, "500.00", on=date(2027, 8, 16))],
                   "Row 2, column C (reference): BANK-1 was already applied", "on 15 Aug 2027, not on 16 Aug 2027")


def test_a_closed_loan(world: World) -> None:
    services.record_repayment(world.loan2, amount=D("6000.00"), value_date=date(2027, 8, 15), bank_reference="HAND-1",
                              actor=world.admin, now=NOW, timezone="UTC")
    db.session.commit()
    assert world.loan2.status == LoanStatus.CLOSED
    world.rejected([row(world.loan2.number, "10.00", on=date(2027, 9, 1))],
                   f"Row 2, column D (loan number): loan {world.loan2.number} was repaid in full and closed")


def test_more_than_a_written_off_loan_may_still_recover(world: World) -> None:
    write_off_loan(world.loan2, reason="The borrower closed", on_date=date(2027, 9, 1), actor=world.admin,
                            now=NOW, timezone="UTC")
    db.session.commit()
    errors = world.rejected([row(world.loan2.number, "4000.00", "BANK-1", date(2027, 10, 1)),
                             row(world.loan2.number, "2000.01", "BANK-2", date(2027, 10, 2))],
                            "Row 3, column B (amount): 2000.01 is more than can still be recovered")
    assert len(errors) == 1
    # Within what was written off, it is a recovery.
    check = world.check([row(world.loan2.number, "6000.00", "BANK-1", date(2027, 10, 1))])
    assert check.ok, check.errors
    apply_statement(check, actor=world.admin, now=NOW, timezone="UTC")
    assert world.loan2.recovered == D("6000.00")
    consistent()


def test_a_date_before_a_write_off(world: World) -> None:
    write_off_loan(world.loan2, reason="The borrower closed", on_date=date(2027, 9, 1), actor=world.admin,
                            now=NOW, timezone="UTC")
    db.session.commit()
    world.rejected([row(world.loan2.number, "10.00", on=date(2027, 8, 20))],
                   f"Row 2, column A (date): 20 Aug 2027 is before loan {world.loan2.number} was written off "
                   "on 1 Sep 2027")


def test_every_problem_is_listed_at_once(world: World) -> None:
    errors = world.rejected([
        row(world.loan.number),                                   # good
        row("L-404", "12,5", "", "someday"),                      # four problems
        row(world.loan.number, "10.00", "BANK-1", date(2027, 9, 1)),
    ])
    assert errors == [
        "Row 3, column A (date): someday is not a date: use a date cell or write it as YYYY-MM-DD",
        "Row 3, column B (amount): 12,5 is not an amount: use a point for decimals",
        "Row 3, column C (reference): is empty: give the bank's reference of the transfer",
        "Row 3, column D (loan number): L-404 is not a loan of the programme",
        "Row 4, column C (reference): BANK-1 is also on row 2: each transfer appears once in a statement",
    ]


# ------------------------------------------------------------------------------------------------ bad files


def test_a_missing_column_is_named(world: World) -> None:
    errors = world.rejected([("2027-08-15", "500.00", world.loan.number)], headers=("Date", "Amount", "Loan number"))
    assert errors == ["Row 1: the header has no column 'reference'; a statement has the columns date, amount, "
                      "reference, loan number (in any order)."]


def test_a_file_that_is_not_xlsx(world: World) -> None:
    for data, name in ((b"date,amount\n", "statement.csv"), (b"not a zip at all", "statement.xlsx"),
                       (b"PK\x03\x04 broken", "statement.xlsx")):
        check = check_statement(io.BytesIO(data), name, now=NOW, timezone="UTC")
        assert not check.ok and "is not an Excel workbook (.xlsx)" in check.errors[0]


def test_an_empty_file(world: World) -> None:
    assert check_statement(io.BytesIO(b""), "statement.xlsx", now=NOW, timezone="UTC").errors == [
        "statement.xlsx is empty."]
    assert "is empty: it has no header row" in world.check([], headers=()).errors[0]
    assert world.check([]).errors == ["statement.xlsx has a header but no rows."]


def test_more_than_ten_thousand_rows(world: World) -> None:
    rows = [row(world.loan.number, "1.00", f"B-{n}") for n in range(MAX_ROWS + 1)]
    check = world.check(rows)
    assert check.errors == [f"statement.xlsx has more than {MAX_ROWS:,} rows: split the statement in parts and "
                            "import each."]


def test_amounts_are_read_through_str_never_kept_as_floats() -> None:
    assert read_amount(500.5) == D("500.50") and isinstance(read_amount(500.5), Decimal)
    assert read_amount(1e20) == "1e+20 is too large"
    assert read_amount(float("nan")) == "nan is not an amount"
    assert read_amount(True) == "True is not an amount"
    assert read_amount("1,250.00") == D("1250.00")
    assert read_amount("1e3") == "1e3 is not an amount"
    assert read_amount(0.1 + 0.2) == "0.30000000000000004 is not an exact amount of cents: give at most 2 decimal " \
                                     "places"
