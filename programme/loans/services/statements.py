"""The bank-statement import: an Excel file of repayments (date, amount, reference, loan number), checked whole
before anything is written (``statement_check.check_statement``, its cells read by ``statement_reading``), then
applied in one transaction (``apply_statement``, here).

``apply_statement`` applies a checked file in one savepoint: the rows, by value date, each through
``loans.services.record_repayment``; a refusal on row N undoes rows 1..N-1 and is reported with its row. Amounts
are read as the cell holds them and converted through ``str`` to Decimal: a float is never kept. The programme's
time zone is passed by the caller (no default): it decides which value dates are in the future.

The names of the check are re-exported, so callers use this module for the whole import
(``statements.check_statement``, ``statements.StatementCheck``).
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from sqlalchemy import func, select

from programme.core import audit
from programme.core.access import Actor, Role, RuleViolation, require_role
from programme.extensions import db
from programme.ledger.models import LedgerError
from programme.loans.models import BankStatementImport, Loan, RepaymentSource
from programme.loans.services.statement_check import (
    COLUMNS,
    MAX_ROWS,
    LoanTotal,
    StatementCheck,
    StatementRow,
    StatementSummary,
    check_statement,
)
from programme.loans.services.statement_reading import read_amount, read_date, read_text

__all__ = [
    "COLUMNS", "MAX_ROWS", "LoanTotal", "StatementCheck", "StatementRow", "StatementSummary", "apply_statement",
    "check_statement", "read_amount", "read_date", "read_text", "recent_imports",
]

ZERO = Decimal("0.00")


def apply_statement(check: StatementCheck, *, actor: Actor, now: datetime, timezone: str) -> BankStatementImport:
    """Apply a checked statement in one transaction (fund administrators): its new rows, by value date, each a
    repayment through ``loans.services.record_repayment`` from the bank statement. A refusal on any row undoes
    every row before it and is raised as a RuleViolation naming the row. Flushes, never commits.

    A statement whose rows were all applied before writes nothing: the earlier import of the same file is
    returned, or (another file, or rows recorded by hand) an import not saved (``id`` None) saying that none of
    its rows was applied. ``check.summary`` says the same before applying.
    """
    from programme.loans import services

    require_role(actor, Role.FUND_ADMINISTRATOR)
    if not check.ok:
        raise RuleViolation(f"The statement {check.filename} has {len(check.errors)} problem(s) and cannot be "
                            "applied: correct the file and upload it again.")
    summary = check.summary
    if summary.to_apply == 0:
        # Every row applied before: nothing is written, not even an import row.
        earlier = db.session.scalar(select(BankStatementImport).where(BankStatementImport.sha256 == check.sha256)
                                    .order_by(BankStatementImport.id.desc()).limit(1))
        if earlier is not None:
            return earlier
        return BankStatementImport(filename=check.filename, sha256=check.sha256, rows=summary.rows, applied=0,
                                   already_applied=summary.already_applied, total=ZERO, imported_by_id=actor.id,
                                   imported_at=now)
    new = sorted((row for row in check.rows if not row.already_applied), key=lambda r: (r.value_date, r.row))
    with db.session.begin_nested():
        statement = BankStatementImport(
            filename=check.filename, sha256=check.sha256, rows=summary.rows, applied=0,
            already_applied=summary.already_applied, total=ZERO, imported_by_id=actor.id, imported_at=now,
        )
        db.session.add(statement)
        db.session.flush()
        applied, total = 0, ZERO
        for row in new:
            loan = db.session.get(Loan, row.loan_id)
            try:
                repayment = services.record_repayment(
                    loan, amount=row.amount, value_date=row.value_date, bank_reference=row.reference,
                    actor=actor, now=now, source=RepaymentSource.BANK_STATEMENT, statement=statement,
                    timezone=timezone,
                )
            except RuleViolation as exc:
                raise RuleViolation(f"Row {row.row} (reference {row.reference}, loan {row.loan_number}): "
                                    f"{exc.message} Nothing of the statement was applied.") from None
            except LedgerError as exc:
                raise RuleViolation(f"Row {row.row} (reference {row.reference}, loan {row.loan_number}): "
                                    f"{exc} Nothing of the statement was applied.") from None
            if repayment.import_id == statement.id:
                applied += 1
                total += row.amount
            else:  # applied meanwhile by someone else: record_repayment returned theirs
                statement.already_applied += 1
        statement.applied = applied
        statement.total = total
        db.session.flush()
    audit.record(db.session, actor, "loans.statement_imported", statement, filename=check.filename,
                 sha256=check.sha256, rows=statement.rows, applied=statement.applied,
                 already_applied=statement.already_applied, total=str(statement.total))
    db.session.flush()
    return statement


def recent_imports(*, actor: Actor, limit: int = 50) -> tuple[list[BankStatementImport], int]:
    """The latest bank-statement imports, newest first, and how many there are in all (fund administrators)."""
    require_role(actor, Role.FUND_ADMINISTRATOR)
    imports = list(db.session.scalars(select(BankStatementImport).order_by(BankStatementImport.id.desc())
                                      .limit(limit)))
    return imports, db.session.scalar(select(func.count(BankStatementImport.id))) or 0
