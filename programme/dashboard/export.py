"""The ledger's Excel exports: the trial balance as of a date, and every journal entry and line of a period with
its reversals named. Written in streaming mode (rows go to disk as they are read, in batches), amounts as Decimal
cells with the money format: never a float."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any, BinaryIO

from openpyxl.cell import WriteOnlyCell
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE
from sqlalchemy import BigInteger, cast, func, select
from sqlalchemy.orm import aliased

from programme.core.ledger import Account, JournalEntry, JournalLine, TrialBalance, trial_balance
from programme.core.spreadsheets import Money, StreamingWorkbook
from programme.extensions import db

ZERO = Decimal("0.00")
CENT = Decimal("0.01")
TRIAL_BALANCE = "Trial balance"
BY_KIND = "By kind"
ENTRIES = "Entries"
LINES = "Lines"
_BATCH = 2000


def _text(book: StreamingWorkbook, sheet: str, value: str | None) -> Any:
    """Text that may come from a person: characters Excel refuses are dropped; a leading '=' stays text."""
    if not value:
        return value or ""
    value = ILLEGAL_CHARACTERS_RE.sub("", value)
    if value.startswith("="):
        cell = WriteOnlyCell(book.sheets[sheet], value=value)
        cell.data_type = "s"
        return cell
    return value


@dataclass(frozen=True)
class KindTotal:
    """The accounts of one kind in one currency: how many, their debits, credits and balance."""

    kind: Any
    currency: str
    accounts: int
    debits: Decimal
    credits: Decimal
    balance: Decimal


@dataclass(frozen=True)
class CurrencyTotal:
    currency: str
    debits: Decimal
    credits: Decimal

    @property
    def balanced(self) -> bool:
        return self.debits == self.credits


def kind_totals(balance: TrialBalance) -> list[KindTotal]:
    """The trial balance summed per account kind and currency, in the chart's order."""
    sums: dict[tuple[Any, str], list[Any]] = defaultdict(lambda: [0, ZERO, ZERO, ZERO])
    for row in balance.rows:
        total = sums[(row.account.kind, row.account.currency)]
        total[0] += 1
        total[1] += row.debits
        total[2] += row.credits
        total[3] += row.balance
    order = {kind: index for index, kind in enumerate(type(next(iter(sums))[0]))} if sums else {}
    return [KindTotal(kind, currency, *values)
            for (kind, currency), values in sorted(sums.items(), key=lambda item: (item[0][1], order[item[0][0]]))]


def currency_totals(balance: TrialBalance) -> list[CurrencyTotal]:
    """Debits and credits per currency (amounts in two currencies are never added together)."""
    sums: dict[str, list[Decimal]] = defaultdict(lambda: [ZERO, ZERO])
    for row in balance.rows:
        sums[row.account.currency][0] += row.debits
        sums[row.account.currency][1] += row.credits
    return [CurrencyTotal(currency, *values) for currency, values in sorted(sums.items())]


def write_trial_balance(target: str | BinaryIO, *, as_of: date | None = None) -> int:
    """Write the trial balance (every account, its debits, credits and balance signed by its normal side; the
    totals per currency) and its sums per account kind to an .xlsx; returns the number of accounts."""
    balance = trial_balance(as_of)
    label = as_of.isoformat() if as_of else "today, every entry"
    book = StreamingWorkbook()
    book.add_sheet(TRIAL_BALANCE, ["Account", "Kind", "Owner", "Owner id", "Currency", "Normal side", "Debits",
                                   "Credits", "Balance"], widths=[36, 24, 12, 10, 9, 10, 16, 16, 16])
    book.add_sheet(BY_KIND, ["Kind", "Currency", "Normal side", "Accounts", "Debits", "Credits", "Balance"],
                   widths=[24, 9, 10, 10, 16, 16, 16])
    for row in balance.rows:
        account = row.account
        book.append(TRIAL_BALANCE, [account.code, account.kind.label, account.owner_type, account.owner_id,
                                    account.currency, account.normal_side.value, Money(row.debits),
                                    Money(row.credits), Money(row.balance)])
    for total in currency_totals(balance):
        verdict = "balanced" if total.balanced else "NOT BALANCED"
        book.append(TRIAL_BALANCE, [f"Total {total.currency} (as of {label})", verdict, None, None, total.currency,
                                    None, Money(total.debits), Money(total.credits),
                                    Money(total.debits - total.credits)])
    for total in kind_totals(balance):
        book.append(BY_KIND, [total.kind.label, total.currency, total.kind.normal_side.value, total.accounts,
                              Money(total.debits), Money(total.credits), Money(total.balance)])
    book.save(target)
    return len(balance.rows)


def write_ledger(target: str | BinaryIO, *, date_from: date, date_to: date) -> int:
    """Write every journal entry whose value date is in the period (both ends included) and every line of them
    to an .xlsx: sheet "Entries" (with the entry each reverses and the entry reversing it) and sheet "Lines"
    (with the totals of the period at the end); returns the number of entries."""
    book = StreamingWorkbook()
    book.add_sheet(ENTRIES, ["Entry", "Value date", "Posted (UTC)", "Description", "Reverses entry",
                             "Reversed by entry", "Idempotency key", "By", "Source", "Source id", "Amount"],
                   widths=[9, 11, 17, 60, 10, 10, 36, 28, 18, 9, 16])
    book.add_sheet(LINES, ["Entry", "Value date", "Line", "Account", "Kind", "Currency", "Debit", "Credit"],
                   widths=[9, 11, 9, 36, 24, 9, 16, 16])
    reversal = aliased(JournalEntry)
    period = (JournalEntry.value_date >= date_from) & (JournalEntry.value_date <= date_to)
    # Each entry's amount: the sum of its debits, in whole cents (exact on SQLite too).
    amounts = (select(JournalLine.entry_id.label("entry_id"),
                      func.sum(cast(func.round(JournalLine.debit * 100), BigInteger)).label("cents"))
               .join(JournalEntry, JournalEntry.id == JournalLine.entry_id).where(period)
               .group_by(JournalLine.entry_id).subquery())
    entries = (
        select(JournalEntry.id, JournalEntry.value_date, JournalEntry.posted_at, JournalEntry.description,
               JournalEntry.reverses_id, reversal.id, JournalEntry.idempotency_key, JournalEntry.actor_label,
               JournalEntry.source_type, JournalEntry.source_id, amounts.c.cents)
        .outerjoin(reversal, reversal.reverses_id == JournalEntry.id)
        .outerjoin(amounts, amounts.c.entry_id == JournalEntry.id)
        .where(period)
        .order_by(JournalEntry.value_date, JournalEntry.id)
        .execution_options(yield_per=_BATCH)
    )
    count = 0
    for entry_id, value_date, posted_at, description, reverses_id, reversed_by, key, by, source, source_id, \
            cents in db.session.execute(entries):
        count += 1
        book.append(ENTRIES, [entry_id, value_date, posted_at, _text(book, ENTRIES, description), reverses_id,
                              reversed_by, _text(book, ENTRIES, key), _text(book, ENTRIES, by),
                              source, source_id, Money((Decimal(int(cents or 0)) / 100).quantize(CENT))])
    lines = (
        select(JournalLine.entry_id, JournalEntry.value_date, JournalLine.id, Account.code, Account.kind,
               Account.currency, JournalLine.debit, JournalLine.credit)
        .join(JournalEntry, JournalEntry.id == JournalLine.entry_id)
        .join(Account, Account.id == JournalLine.account_id)
        .where(period)
        .order_by(JournalEntry.value_date, JournalLine.entry_id, JournalLine.id)
        .execution_options(yield_per=_BATCH)
    )
    totals: dict[str, list[Decimal]] = defaultdict(lambda: [ZERO, ZERO])
    for entry_id, value_date, line_id, code, kind, currency, debit, credit in db.session.execute(lines):
        totals[currency][0] += debit
        totals[currency][1] += credit
        book.append(LINES, [entry_id, value_date, line_id, code, kind.label, currency,
                            Money(debit) if debit else None, Money(credit) if credit else None])
    for currency, (debits, credits) in sorted(totals.items()):
        book.append(LINES, [None, None, None, f"Total {currency}, {date_from.isoformat()} to {date_to.isoformat()}",
                            "balanced" if debits == credits else "NOT BALANCED", currency, Money(debits),
                            Money(credits)])
    book.save(target)
    return count


# ---------------------------------------------------------------------------------------------------------
# The programme dashboard's figures (``dashboard.figures``), one sheet per group of figures.

MONEY_SHEET = "Money"
LEVERAGE_SHEET = "Co-financing leveraged"
SHARES_SHEET = "External share"
FUNDS_SHEET = "Revolving funds"
STAGES_SHEET = "Initiatives"
OUTCOMES_SHEET = "Self-funding, terminations"


def _share_cell(value: Decimal | None) -> Decimal | None:
    return None if value is None else Decimal(value)


def write_dashboard(target: str | BinaryIO, figures: Any) -> int:
    """Write the dashboard's figures (a ``dashboard.figures.ProgrammeFigures``) to an .xlsx, one sheet per group
    of figures, money as exact Decimal cells, shares as decimals (0.25 is 25 %); returns the rows written."""
    from programme.dashboard.figures import INSTRUMENTS  # noqa: PLC0415 (figures imports nothing of this file)

    book = StreamingWorkbook()
    rows = 0

    def put(sheet: str, values: list[Any]) -> None:
        nonlocal rows
        book.append(sheet, values)
        rows += 1

    calls = {call.id: call for call in figures.calls}
    book.add_sheet(MONEY_SHEET, ["Call", "Call name", "Instrument", "Currency", "Committed", "Paid"],
                   widths=[16, 40, 28, 9, 16, 16])
    for m in figures.money:
        call = calls.get(m.call_id)
        put(MONEY_SHEET, [call.reference if call else m.call_id, _text(book, MONEY_SHEET, call.name if call else ""),
                          INSTRUMENTS[m.instrument], m.currency, Money(m.committed), Money(m.paid)])
    for m in figures.money_totals:
        put(MONEY_SHEET, ["All calls", None, INSTRUMENTS[m.instrument], m.currency, Money(m.committed), Money(m.paid)])

    book.add_sheet(LEVERAGE_SHEET, ["Call", "Currency", "Grants paid", "Fund capitalisation paid",
                                    "Programme money paid", "Co-financing verified", "Leverage (co-financing ÷ paid)"],
                   widths=[16, 9, 16, 16, 16, 16, 14])
    for lev in [*figures.leverage, *figures.leverage_totals]:
        call = calls.get(lev.call_id) if lev.call_id is not None else None
        put(LEVERAGE_SHEET, [call.reference if call else "All calls", lev.currency, Money(lev.grants_paid),
                             Money(lev.capitalisation_paid), Money(lev.programme_paid), Money(lev.cofinancing),
                             _share_cell(lev.ratio)])

    book.add_sheet(SHARES_SHEET, ["Initiative", "Name", "Call", "Status", "Programme year", "Cap", "At floor",
                                  "Currency", "Matching grants paid in year", "Co-financing verified in year",
                                  "External share", "Over the cap"],
                   widths=[16, 40, 16, 16, 9, 9, 9, 9, 16, 16, 10, 9])
    for s in figures.shares:
        call = calls.get(s.call_id)
        put(SHARES_SHEET, [s.reference, _text(book, SHARES_SHEET, s.name), call.reference if call else s.call_id,
                           s.status.label, s.year, Decimal(s.cap), "yes" if s.at_floor else "no", s.currency,
                           Money(s.paid), Money(s.cofinancing), _share_cell(s.share), "yes" if s.over else "no"])

    book.add_sheet(FUNDS_SHEET, ["Currency", "Funds", "Cash", "Loans active", "Loans outstanding",
                                 "Principal + interest due to date", "Repaid of it", "Recovery rate (repaid ÷ due)",
                                 "Arrears", "Principal repaid", "Written off", "Recovered",
                                 "Write-off recovery (recovered ÷ written off)", "PAR30", "Daily figures of"],
                   widths=[9, 8, 16, 9, 16, 16, 16, 12, 16, 16, 16, 16, 12, 10, 12])

    def money_or_none(value: Decimal | None) -> Money | None:
        return None if value is None else Money(value)

    for f in figures.funds:
        put(FUNDS_SHEET, [f.currency, f.funds, Money(f.cash), f.loans_active, Money(f.outstanding),
                          money_or_none(f.due), money_or_none(f.repaid), _share_cell(f.recovery_rate),
                          money_or_none(f.arrears), Money(f.principal_repaid), Money(f.written_off),
                          Money(f.recovered), _share_cell(f.write_off_recovery), Decimal(f.par30), f.par30_as_of])

    book.add_sheet(STAGES_SHEET, ["Programme year", "Status", "Initiatives"], widths=[14, 18, 12])
    for (year, status), count in sorted(figures.by_year_status.items()):
        put(STAGES_SHEET, [year, status, count])
    for status, count in figures.by_status.items():
        put(STAGES_SHEET, ["All years", status, count])

    book.add_sheet(OUTCOMES_SHEET, ["Figure", "Value"], widths=[60, 12])
    sf = figures.self_funding
    put(OUTCOMES_SHEET, ["Initiatives past their schedule (at the floor)", sf.reached_floor])
    put(OUTCOMES_SHEET, ["Of them not terminated (self-funding)", sf.still_running])
    put(OUTCOMES_SHEET, ["Share self-funding", _share_cell(sf.share)])
    put(OUTCOMES_SHEET, ["Initiatives terminated", figures.terminated])
    put(OUTCOMES_SHEET, ["Milestone reviews that decided to terminate", figures.termination_reviews])
    put(OUTCOMES_SHEET, ["Scorecards started", figures.reports.scorecards])
    put(OUTCOMES_SHEET, ["Self-evaluation reports submitted", figures.reports.submitted])
    put(OUTCOMES_SHEET, ["Self-evaluation reports being drafted, not yet due", figures.reports.open])
    put(OUTCOMES_SHEET, ["Self-evaluation reports overdue", figures.reports.overdue])
    put(OUTCOMES_SHEET, ["Figures as of", figures.today])
    book.save(target)
    return rows
