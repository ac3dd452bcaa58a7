"""The bank-statement import: an Excel file of repayments (date, amount, reference, loan number), checked whole
before anything is written (``statement_check.check_statement``, its cells read by ``statement_reading``), kept
as a checked import with its good rows (``store_checked_statement``), then applied in one transaction by a
second person (``apply_statement``: four eyes) or rejected (``reject_statement``).

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
from sqlalchemy.exc import IntegrityError

from programme.accounts.models import User
from programme.core import audit
from programme.core.access import (
    AccessDenied,
    Actor,
    NotFound,
    Role,
    RuleViolation,
    require_role,
    require_second_person,
)
from programme.core.texts import gettext as _
from programme.extensions import db
from programme.ledger.models import LedgerError
from programme.loans.models import BankStatementImport, BankStatementLine, Loan, RepaymentSource, StatementStatus
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
    "check_statement", "get_statement", "read_amount", "read_date", "read_text", "recent_imports",
    "may_apply", "reject_statement", "store_checked_statement", "waiting_statements",
]

ZERO = Decimal("0.00")


def store_checked_statement(check: StatementCheck, *, actor: Actor, now: datetime) -> BankStatementImport:
    """Keep a checked statement (its good rows, its sha256) waiting for a second person to apply it (fund
    administrators). A statement with problems is refused. A file whose rows were all applied before writes
    nothing: the earlier import of the same file is returned, or (another file, or rows recorded by hand) an
    import not saved (``id`` None) saying that none of its rows is new. The same file already waiting is
    returned as it is (the file's sha256 is unique among imports not rejected)."""
    require_role(actor, Role.FUND_ADMINISTRATOR)
    if not check.ok:
        raise RuleViolation(_("The statement %(filename)s has %(count)s problem(s) and cannot be applied: correct "
                              "the file and upload it again.", filename=check.filename, count=len(check.errors)))
    summary = check.summary
    earlier = db.session.scalar(select(BankStatementImport).where(
        BankStatementImport.sha256 == check.sha256, BankStatementImport.status != StatementStatus.REJECTED))
    if earlier is not None:
        return earlier
    if summary.to_apply == 0:
        return BankStatementImport(filename=check.filename, sha256=check.sha256, rows=summary.rows, applied=0,
                                   already_applied=summary.already_applied, total=ZERO, imported_by_id=actor.id,
                                   imported_at=now, status=StatementStatus.APPLIED, decided_at=now)
    try:
        with db.session.begin_nested():
            statement = BankStatementImport(
                filename=check.filename, sha256=check.sha256, status=StatementStatus.CHECKED, rows=summary.rows,
                applied=0, already_applied=summary.already_applied, total=summary.total, imported_by_id=actor.id,
                imported_at=now, rejection_reason="")
            db.session.add(statement)
            db.session.flush()
            db.session.add_all(BankStatementLine(
                import_id=statement.id, row=row.row, value_date=row.value_date, amount=row.amount,
                reference=row.reference, loan_id=row.loan_id, loan_number=row.loan_number,
                already_applied=row.already_applied) for row in check.rows)
            db.session.flush()
    except IntegrityError:  # the same file stored by someone else at the same moment
        earlier = db.session.scalar(select(BankStatementImport).where(
            BankStatementImport.sha256 == check.sha256, BankStatementImport.status != StatementStatus.REJECTED))
        if earlier is None:
            raise
        return earlier
    audit.record(db.session, actor, "loans.statement_checked", statement, filename=check.filename,
                 sha256=check.sha256, rows=summary.rows, to_apply=summary.to_apply,
                 already_applied=summary.already_applied, total=str(summary.total))
    return statement


def _lock_statement(statement: BankStatementImport) -> BankStatementImport:
    return db.session.execute(select(BankStatementImport).where(BankStatementImport.id == statement.id)
                              .with_for_update().execution_options(populate_existing=True)).scalar_one()


def _refuse_decided(statement: BankStatementImport, verb: str) -> None:
    if statement.status != StatementStatus.CHECKED:
        named = {"filename": statement.filename, "status": statement.status.label.lower()}
        if verb == "applied":
            raise RuleViolation(_("The statement %(filename)s was %(status)s already: only a checked statement "
                                  "waiting for a second person can be applied.", **named))
        raise RuleViolation(_("The statement %(filename)s was %(status)s already: only a checked statement waiting "
                              "for a second person can be rejected.", **named))


def apply_statement(statement: BankStatementImport, *, actor: Actor, now: datetime,
                    timezone: str) -> BankStatementImport:
    """Apply a checked statement in one transaction (a fund administrator who is a second person: not the one
    who checked it, nor an account they created or that created theirs): its new rows, by value date, each a
    repayment through ``loans.services.record_repayment`` from the bank statement. A refusal on any row undoes
    every row before it and is raised as a RuleViolation naming the row. Applying twice is refused."""
    from programme.loans import services

    require_role(actor, Role.FUND_ADMINISTRATOR)
    statement = _lock_statement(statement)
    checker = db.session.get(User, statement.imported_by_id) if statement.imported_by_id is not None else None
    require_second_person(checker, actor, _("the bank statement %(filename)s", filename=statement.filename))
    _refuse_decided(statement, "applied")
    new = sorted((line for line in statement.lines if not line.already_applied),
                 key=lambda r: (r.value_date, r.row))
    with db.session.begin_nested():
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
                raise RuleViolation(_("Row %(row)s (reference %(reference)s, loan %(number)s): %(refusal)s Nothing "
                                      "of the statement was applied.", row=row.row, reference=row.reference,
                                      number=row.loan_number, refusal=exc.message)) from None
            except LedgerError as exc:
                raise RuleViolation(_("Row %(row)s (reference %(reference)s, loan %(number)s): %(refusal)s Nothing "
                                      "of the statement was applied.", row=row.row, reference=row.reference,
                                      number=row.loan_number, refusal=exc)) from None
            if repayment.import_id == statement.id:
                applied += 1
                total += row.amount
            else:  # applied meanwhile by someone else: record_repayment returned theirs
                statement.already_applied += 1
        statement.applied = applied
        statement.total = total
        statement.status = StatementStatus.APPLIED
        statement.decided_by_id = actor.id
        statement.decided_at = now
        db.session.flush()
    audit.record(db.session, actor, "loans.statement_imported", statement, filename=statement.filename,
                 sha256=statement.sha256, rows=statement.rows, applied=statement.applied,
                 already_applied=statement.already_applied, total=str(statement.total),
                 checked_by=statement.imported_by_id)
    db.session.flush()
    return statement


def reject_statement(statement: BankStatementImport, *, reason: str, actor: Actor,
                     now: datetime) -> BankStatementImport:
    """Reject a checked statement with a reason (a fund administrator; the one who checked it may withdraw it):
    nothing of it is applied, and the same file may be checked again."""
    require_role(actor, Role.FUND_ADMINISTRATOR)
    reason = (reason or "").strip()
    if not reason:
        raise RuleViolation(_("Give the reason for the rejection."), field="reason")
    statement = _lock_statement(statement)
    _refuse_decided(statement, "rejected")
    statement.status = StatementStatus.REJECTED
    statement.decided_by_id = actor.id
    statement.decided_at = now
    statement.rejection_reason = reason
    db.session.flush()
    audit.record(db.session, actor, "loans.statement_rejected", statement, filename=statement.filename,
                 sha256=statement.sha256, reason=reason, checked_by=statement.imported_by_id)
    return statement


def may_apply(statement: BankStatementImport, actor: Actor) -> bool:
    """Whether the actor may apply this checked statement (a second fund administrator)."""
    if statement.status != StatementStatus.CHECKED or not actor.has_role(Role.FUND_ADMINISTRATOR):
        return False
    checker = db.session.get(User, statement.imported_by_id) if statement.imported_by_id is not None else None
    try:
        require_second_person(checker, actor, _("the bank statement"))
    except AccessDenied:
        return False
    return True


def get_statement(statement_id: int, *, actor: Actor) -> BankStatementImport:
    require_role(actor, Role.FUND_ADMINISTRATOR)
    statement = db.session.get(BankStatementImport, statement_id)
    if statement is None:
        raise NotFound("no such bank statement")
    return statement


def waiting_statements(*, actor: Actor) -> list[BankStatementImport]:
    """The checked statements waiting for a second person, oldest first (fund administrators)."""
    require_role(actor, Role.FUND_ADMINISTRATOR)
    return list(db.session.scalars(select(BankStatementImport).where(
        BankStatementImport.status == StatementStatus.CHECKED).order_by(BankStatementImport.id)))


def recent_imports(*, actor: Actor, limit: int = 50) -> tuple[list[BankStatementImport], int]:
    """The latest bank-statement imports, newest first, and how many there are in all (fund administrators)."""
    require_role(actor, Role.FUND_ADMINISTRATOR)
    imports = list(db.session.scalars(select(BankStatementImport).order_by(BankStatementImport.id.desc())
                                      .limit(limit)))
    return imports, db.session.scalar(select(func.count(BankStatementImport.id))) or 0
