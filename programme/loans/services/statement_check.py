"""Checking a bank statement (.xlsx) whole before anything is written: ``check_statement`` reads the file
(through ``core.spreadsheets.open_uploaded_workbook``: the zip and its row elements checked before openpyxl
parses it; read-only, values not formulas) and collects every problem with its row and column: an unknown loan,
a bad amount, a bad date (or one in the future), an empty reference, the same reference twice in the file, a
reference already applied with another amount, date or loan, a date the loan cannot take (before it was paid
out, before a repayment already recorded on it or its latest reschedule or write-off), a closed loan, money
beyond what a written-off loan may still recover. A row whose reference was already applied with the same loan,
amount and date is "already applied": skipped, not an error. The cells are read by ``statement_reading``;
applying a checked statement is ``statements.apply_statement``."""

from __future__ import annotations

import hashlib
from collections import defaultdict
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from typing import Any, BinaryIO
from zoneinfo import ZoneInfo

from openpyxl.utils import get_column_letter
from sqlalchemy import func, select

from programme.core.access import Actor, Role, require_role
from programme.core.db import utcnow
from programme.core.money import format_number, minor_unit
from programme.core.spreadsheets import WorkbookLimits, WorkbookRefused, open_uploaded_workbook
from programme.core.texts import gettext as _
from programme.core.timezone import format_day
from programme.extensions import db
from programme.ledger.domain import BANK_REFERENCE_MAX
from programme.loans.models import Loan, LoanEvent, LoanEventKind, LoanStatus, Repayment
from programme.loans.services.statement_reading import read_amount, read_date, read_text, shown

ZERO = Decimal("0.00")
#: A statement holds at most this many rows (besides its header).
MAX_ROWS = 10_000
#: The columns a statement must have, as named in its header row (case and spacing do not matter).
COLUMNS = ("date", "amount", "reference", "loan number")
_HEADER_ALIASES = {"loan no": "loan number", "loan": "loan number", "value date": "date"}
_BATCH = 500


@dataclass(frozen=True)
class StatementRow:
    """One good row of a statement: what it says, the loan it names, and whether it is applied already."""

    row: int
    value_date: date
    amount: Decimal
    reference: str
    loan_number: str
    loan_id: int
    already_applied: bool = False


@dataclass(frozen=True)
class LoanTotal:
    loan_id: int
    loan_number: str
    rows: int
    amount: Decimal


@dataclass(frozen=True)
class StatementSummary:
    """What applying the statement does: its rows, how many are new and how many applied before, the money the
    new ones bring and its split per loan (new rows only)."""

    rows: int
    to_apply: int
    already_applied: int
    total: Decimal
    per_loan: list[LoanTotal]


@dataclass
class StatementCheck:
    """The result of checking a statement: its good rows, or every problem found (then nothing may be applied)."""

    filename: str
    sha256: str = ""
    rows: list[StatementRow] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.errors

    @property
    def summary(self) -> StatementSummary:
        new = [row for row in self.rows if not row.already_applied]
        per_loan: dict[int, list[StatementRow]] = defaultdict(list)
        for row in new:
            per_loan[row.loan_id].append(row)
        return StatementSummary(
            rows=len(self.rows),
            to_apply=len(new),
            already_applied=len(self.rows) - len(new),
            total=sum((row.amount for row in new), ZERO),
            per_loan=sorted(
                (LoanTotal(loan_id, rows[0].loan_number, len(rows), sum((r.amount for r in rows), ZERO))
                 for loan_id, rows in per_loan.items()),
                key=lambda total: total.loan_number,
            ),
        )


class _Problems:
    """The errors of one statement, each naming its row and column."""

    def __init__(self, columns: dict[str, int]) -> None:
        self.columns = columns
        self.found: list[tuple[int, int, int, str]] = []

    def add(self, row: int, column: str, message: str) -> None:
        letter = get_column_letter(self.columns[column] + 1)
        self.found.append((row, self.columns[column], len(self.found),
                           _("Row %(row)s, column %(letter)s (%(column)s): %(message)s", row=row, letter=letter,
                             column=column, message=message)))

    @property
    def messages(self) -> list[str]:
        """By row, then by column (as the file reads)."""
        return [message for *_, message in sorted(self.found)]



# --------------------------------------------------------------------------------------------- checking


def _header(cells: Iterable[Any]) -> dict[str, int]:
    names: dict[str, int] = {}
    for index, cell in enumerate(cells):
        if cell is None:
            continue
        name = " ".join(str(cell).replace("_", " ").replace("-", " ").lower().split())
        name = _HEADER_ALIASES.get(name, name)
        if name in COLUMNS and name not in names:
            names[name] = index
    return names


def _is_blank(values: tuple[Any, ...]) -> bool:
    return all(v is None or (isinstance(v, str) and not v.strip()) for v in values)


def _batches(items: list[str]) -> Iterator[list[str]]:
    for start in range(0, len(items), _BATCH):
        yield items[start:start + _BATCH]


def _loans_by_number(numbers: set[str]) -> dict[str, Loan]:
    wanted = sorted(numbers | {n.upper() for n in numbers})
    found: dict[str, Loan] = {}
    for batch in _batches(wanted):
        for loan in db.session.scalars(select(Loan).where(Loan.number.in_(batch))):
            found[loan.number] = loan
    return found


def _repayments_by_reference(references: set[str]) -> dict[str, Repayment]:
    found: dict[str, Repayment] = {}
    for batch in _batches(sorted(references)):
        for repayment in db.session.scalars(select(Repayment).where(Repayment.bank_reference.in_(batch))):
            found[repayment.bank_reference] = repayment
    return found


def _latest_repayments(loan_ids: set[int]) -> dict[int, Repayment]:
    """Per loan, its repayment with the latest value date (the last posted of those)."""
    latest: dict[int, Repayment] = {}
    ids = sorted(loan_ids)
    for start in range(0, len(ids), _BATCH):
        batch = ids[start:start + _BATCH]
        newest = (select(Repayment.loan_id, func.max(Repayment.value_date).label("day"))
                  .where(Repayment.loan_id.in_(batch)).group_by(Repayment.loan_id).subquery())
        query = (select(Repayment).join(newest, (newest.c.loan_id == Repayment.loan_id)
                                        & (newest.c.day == Repayment.value_date))
                 .order_by(Repayment.id))
        for repayment in db.session.scalars(query):
            latest[repayment.loan_id] = repayment
    return latest


def _latest_changes(loan_ids: set[int]) -> dict[int, LoanEvent]:
    """Per loan, its latest reschedule or write-off: a repayment may not be dated before it."""
    latest: dict[int, LoanEvent] = {}
    ids = sorted(loan_ids)
    for start in range(0, len(ids), _BATCH):
        query = (select(LoanEvent).where(LoanEvent.loan_id.in_(ids[start:start + _BATCH]),
                                         LoanEvent.kind.in_((LoanEventKind.RESCHEDULED, LoanEventKind.WRITTEN_OFF)))
                 .order_by(LoanEvent.on_date, LoanEvent.id))
        for event in db.session.scalars(query):
            latest[event.loan_id] = event
    return latest


def _refusal(check: StatementCheck, message: str) -> StatementCheck:
    check.errors.append(message)
    return check


def check_statement(
    stream: BinaryIO | bytes, filename: str, *, actor: Actor | None = None, now: datetime | None = None,
    timezone: str,
) -> StatementCheck:
    """Read and check a whole bank statement (.xlsx) without writing anything.

    The header row names the columns date, amount, reference and loan number (any case, any order; other
    columns are ignored). Every problem is collected, each naming its row and column; ``check.ok`` is True only
    when there are none. ``now`` and ``timezone`` (the programme's, required) decide which value dates are in the
    future (the programme's today). With an ``actor``, only a fund administrator may check a statement.
    """
    if actor is not None:
        require_role(actor, Role.FUND_ADMINISTRATOR)
    name = filename or "statement"
    check = StatementCheck(filename=name[:255])
    data = stream if isinstance(stream, bytes) else stream.read()
    if not name.lower().endswith(".xlsx"):
        return _refusal(check, _("%(name)s is not an Excel workbook (.xlsx): save the statement as .xlsx and upload "
                                 "it again.", name=name))
    if not data:
        return _refusal(check, _("%(name)s is empty.", name=name))
    check.sha256 = hashlib.sha256(data).hexdigest()
    try:  # the one safe reader: a zip bomb or a sheet of a million blank rows is refused before it is parsed
        workbook = open_uploaded_workbook(data, name, WorkbookLimits(max_rows=MAX_ROWS + 1000))
    except WorkbookRefused as refused:
        return _refusal(check, refused.message)
    try:
        _read(workbook, check, now or utcnow(), timezone)
    finally:
        workbook.close()
    return check


def _read(workbook: Any, check: StatementCheck, now: datetime, timezone: str) -> None:
    sheet = workbook.worksheets[0] if workbook.worksheets else None
    if sheet is None:
        check.errors.append(_("%(name)s has no sheet.", name=check.filename))
        return
    rows = sheet.iter_rows(values_only=True)
    header_row = 0
    header: tuple[Any, ...] = ()
    for number, values in enumerate(rows, start=1):
        if not _is_blank(values):
            header_row, header = number, values
            break
    if not header_row:
        check.errors.append(_("%(name)s is empty: it has no header row and no rows.", name=check.filename))
        return
    columns = _header(header)
    missing = [column for column in COLUMNS if column not in columns]
    if missing:
        check.errors.append(
            _("Row %(row)s: the header has no column %(missing)s; a statement has the columns %(columns)s (in any "
              "order).", row=header_row, missing=", ".join(repr(m) for m in missing), columns=", ".join(COLUMNS))
        )
        return
    raw: list[tuple[int, tuple[Any, ...]]] = []
    for number, values in enumerate(rows, start=header_row + 1):
        cells = tuple(values[columns[c]] if columns[c] < len(values) else None for c in COLUMNS)
        if _is_blank(cells):
            continue
        if len(raw) == MAX_ROWS:
            check.errors.append(_("%(name)s has more than %(most)s rows: split the statement in parts and import "
                                  "each.", name=check.filename, most=format_number(Decimal(MAX_ROWS), 0)))
            return
        raw.append((number, cells))
    if not raw:
        check.errors.append(_("%(name)s has a header but no rows.", name=check.filename))
        return
    _check_rows(raw, columns, check, now.astimezone(ZoneInfo(timezone)).date())


def _check_rows(raw: list[tuple[int, tuple[Any, ...]]], columns: dict[str, int], check: StatementCheck,
                today: date) -> None:
    problems = _Problems(columns)
    parsed: list[tuple[int, date | None, Decimal | None, str, str]] = []
    first_row_of: dict[str, int] = {}
    for number, (date_cell, amount_cell, reference_cell, loan_cell) in raw:
        value_date = read_date(date_cell)
        if isinstance(value_date, str):
            problems.add(number, "date", value_date)
            value_date = None
        elif value_date > today:
            problems.add(number, "date", _("%(day)s is in the future", day=format_day(value_date)))
            value_date = None
        amount = read_amount(amount_cell)
        if isinstance(amount, str):
            problems.add(number, "amount", amount)
            amount = None
        reference = read_text(reference_cell)
        if reference is None:
            problems.add(number, "reference", _("%(value)s is not a reference: write it as text",
                                                value=shown(reference_cell)))
            reference = ""
        elif not reference:
            problems.add(number, "reference", _("is empty: give the bank's reference of the transfer"))
        elif len(reference) > BANK_REFERENCE_MAX:
            problems.add(number, "reference", _("is longer than %(most)s characters", most=BANK_REFERENCE_MAX))
            reference = ""
        elif reference in first_row_of:
            problems.add(number, "reference", _("%(reference)s is also on row %(row)s: each transfer appears once in "
                                                "a statement", reference=reference, row=first_row_of[reference]))
            reference = ""
        else:
            first_row_of[reference] = number
        loan_number = read_text(loan_cell)
        if loan_number is None:
            problems.add(number, "loan number", _("%(value)s is not a loan number", value=shown(loan_cell)))
            loan_number = ""
        elif not loan_number:
            problems.add(number, "loan number", _("is empty: give the loan number (as L-000123)"))
        parsed.append((number, value_date, amount, reference, loan_number))

    loans = _loans_by_number({p[4] for p in parsed if p[4]})
    applied = _repayments_by_reference({p[3] for p in parsed if p[3]})
    latest = _latest_repayments({loan.id for loan in loans.values()})
    changes = _latest_changes({loan.id for loan in loans.values()})
    recoverable: dict[int, Decimal] = {}
    for number, value_date, amount, reference, loan_number in parsed:
        loan = (loans.get(loan_number) or loans.get(loan_number.upper())) if loan_number else None
        if loan_number and loan is None:
            problems.add(number, "loan number", _("%(number)s is not a loan of the programme", number=loan_number))
        if amount is not None and loan is not None:
            places = min(2, minor_unit(loan.currency))
            if amount != amount.quantize(Decimal(1).scaleb(-places)):
                problems.add(number, "amount", _("%(amount)s has more than %(places)s decimal places for "
                                                 "%(currency)s, the currency of loan %(number)s", amount=amount,
                                                 places=places, currency=loan.currency, number=loan.number))
                amount = None
        earlier = applied.get(reference) if reference else None
        if earlier is not None:
            if loan is not None and amount is not None and value_date is not None \
                    and (earlier.loan_id, earlier.amount, earlier.value_date) == (loan.id, amount, value_date):
                check.rows.append(StatementRow(number, value_date, amount, reference, loan.number, loan.id,
                                               already_applied=True))
                continue
            problems.add(number, "reference", _used_reference(reference, earlier, loan, amount, value_date))
            continue
        if loan is None or amount is None or value_date is None or not reference:
            continue
        if not _loan_takes(problems, number, loan, value_date, amount, latest.get(loan.id), changes.get(loan.id),
                           recoverable):
            continue
        check.rows.append(StatementRow(number, value_date, amount, reference, loan.number, loan.id))
    check.errors.extend(problems.messages)
    if check.errors:
        check.rows.clear()


def _used_reference(reference: str, earlier: Repayment, loan: Loan | None, amount: Decimal | None,
                    value_date: date | None) -> str:
    named = {"reference": reference, "amount": earlier.amount, "number": earlier.loan.number,
             "day": format_day(earlier.value_date)}
    if loan is not None and earlier.loan_id != loan.id:
        return _("%(reference)s was already applied: %(amount)s to loan %(number)s on %(day)s, not to loan "
                 "%(other)s", other=loan.number, **named)
    if amount is not None and earlier.amount != amount:
        return _("%(reference)s was already applied: %(amount)s to loan %(number)s on %(day)s, not %(other)s",
                 other=amount, **named)
    if value_date is not None and earlier.value_date != value_date:
        return _("%(reference)s was already applied: %(amount)s to loan %(number)s on %(day)s, not on %(other)s",
                 other=format_day(value_date), **named)
    return _("%(reference)s was already applied: %(amount)s to loan %(number)s on %(day)s", **named)


def _loan_takes(problems: _Problems, number: int, loan: Loan, value_date: date, amount: Decimal,
                latest: Repayment | None, change: LoanEvent | None, recoverable: dict[int, Decimal]) -> bool:
    """What can be known up front of what record_repayment would refuse; the rest is refused at apply time."""
    if value_date < loan.disbursed_on:
        problems.add(number, "date", _("%(day)s is before loan %(number)s was paid out (%(paid)s)",
                                       day=format_day(value_date), number=loan.number,
                                       paid=format_day(loan.disbursed_on)))
        return False
    if latest is not None and value_date < latest.value_date:
        problems.add(number, "date", _("%(day)s is before repayment %(reference)s of %(earlier)s already recorded "
                                       "on loan %(number)s; record an earlier payment by hand after correcting the "
                                       "later ones", day=format_day(value_date), reference=latest.bank_reference,
                                       earlier=format_day(latest.value_date), number=loan.number))
        return False
    if change is not None and value_date < change.on_date:
        problems.add(number, "date", _("%(day)s is before loan %(number)s was %(change)s on %(on)s",
                                       day=format_day(value_date), number=loan.number,
                                       change=change.kind.label.lower(), on=format_day(change.on_date)))
        return False
    if loan.status == LoanStatus.CLOSED:
        if loan.settled_by_guarantees:
            said = _("loan %(number)s was settled by its guarantees on %(day)s: a payment by the borrower on it "
                     "cannot be applied from a statement", number=loan.number, day=format_day(loan.closed_on))
        elif loan.closed_on:
            said = _("loan %(number)s was repaid in full and closed on %(day)s: a payment on it cannot be applied "
                     "from a statement", number=loan.number, day=format_day(loan.closed_on))
        else:
            said = _("loan %(number)s was repaid in full and closed: a payment on it cannot be applied from a "
                     "statement", number=loan.number)
        problems.add(number, "loan number", said)
        return False
    if loan.status == LoanStatus.WRITTEN_OFF:
        room = recoverable.setdefault(loan.id, loan.written_off - loan.recovered)
        if amount > room:
            problems.add(number, "amount", _("%(amount)s is more than can still be recovered on loan %(number)s, "
                                             "written off: %(room)s (written off %(written_off)s, recovered "
                                             "%(recovered)s, and earlier rows of this statement)", amount=amount,
                                             number=loan.number, room=room, written_off=loan.written_off,
                                             recovered=loan.recovered))
            return False
        recoverable[loan.id] = room - amount
    return True
