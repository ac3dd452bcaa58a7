"""The ledger's Excel exports: the trial balance as of a date, and every journal entry and line of a period with
its reversals named. Written in streaming mode (rows go to disk as they are read, in batches), amounts as Decimal
cells with the money format: never a float."""

from __future__ import annotations

from collections import defaultdict
from datetime import date
from decimal import Decimal
from typing import BinaryIO

from sqlalchemy import func, select
from sqlalchemy.orm import aliased

from programme.core.db import cents, from_cents
from programme.core.spreadsheets import Money, StreamingWorkbook
from programme.core.texts import gettext as _
from programme.core.texts import pgettext
from programme.extensions import db
from programme.ledger.balances import currency_totals, kind_totals, trial_balance
from programme.ledger.domain import ZERO
from programme.ledger.models import Account, JournalEntry, JournalLine
from programme.ledger.naming import account_names

_BATCH = 2000


def _verdict(balanced: bool) -> str:
    return _("balanced") if balanced else _("NOT BALANCED")


def write_trial_balance(target: str | BinaryIO, *, as_of: date | None = None) -> int:
    """Write the trial balance (every account, its debits, credits and balance signed by its normal side; the
    totals per currency) and its sums per account kind to an .xlsx, its headings and names in the language being
    answered in (codes as stored); returns the number of accounts."""
    balance = trial_balance(as_of)
    label = as_of.isoformat() if as_of else _("today, every entry")
    book = StreamingWorkbook()
    trial_sheet, kind_sheet = _("Trial balance"), _("By kind")
    book.add_sheet(trial_sheet, [_("Account"), _("Account code"), _("Kind"), _("Owner"), _("Owner id"), _("Currency"),
                                 _("Normal side"), _("Debits"), _("Credits"), _("Balance")],
                   widths=[44, 36, 24, 12, 10, 9, 10, 16, 16, 16])
    book.add_sheet(kind_sheet, [_("Kind"), _("Currency"), _("Normal side"), _("Accounts"), _("Debits"), _("Credits"),
                                _("Balance")], widths=[24, 9, 10, 10, 16, 16, 16])
    names = account_names(row.account for row in balance.rows)
    for row in balance.rows:
        account = row.account
        book.append(trial_sheet, [names[account.id], account.code, account.kind.label, account.owner_type,
                                  account.owner_id, account.currency, account.normal_side.label, Money(row.debits),
                                  Money(row.credits), Money(row.balance)])
    for total in currency_totals(balance):
        book.append(trial_sheet, [_("Total %(currency)s (as of %(day)s)", currency=total.currency, day=label), None,
                                  _verdict(total.balanced), None, None, total.currency, None, Money(total.debits),
                                  Money(total.credits), Money(total.debits - total.credits)])
    for total in kind_totals(balance):
        book.append(kind_sheet, [total.kind.label, total.currency, total.kind.normal_side.label, total.accounts,
                                 Money(total.debits), Money(total.credits), Money(total.balance)])
    book.save(target)
    return len(balance.rows)


def write_ledger(target: str | BinaryIO, *, date_from: date, date_to: date) -> int:
    """Write every journal entry whose value date is in the period (both ends included) and every line of them
    to an .xlsx: sheet "Entries" (with the entry each reverses and the entry reversing it) and sheet "Lines"
    (with the totals of the period at the end); returns the number of entries. The sheets' names, headings and
    account names are in the language being answered in; descriptions, keys and codes as stored."""
    book = StreamingWorkbook()
    entry_sheet, line_sheet = _("Entries"), _("Lines")
    book.add_sheet(entry_sheet, [_("Entry"), _("Value date"), _("Posted (UTC)"), _("Description"),
                                 _("Reverses entry"), _("Reversed by entry"), _("Idempotency key"), _("By"),
                                 pgettext("journal entry", "Source"), pgettext("journal entry", "Source id"),
                                 _("Amount")],
                   widths=[9, 11, 17, 60, 10, 10, 36, 28, 18, 9, 16])
    book.add_sheet(line_sheet, [_("Entry"), _("Value date"), _("Line"), _("Account"), _("Account code"), _("Kind"),
                                _("Currency"), _("Debit"), _("Credit")], widths=[9, 11, 9, 44, 36, 24, 9, 16, 16])
    reversal = aliased(JournalEntry)
    period = (JournalEntry.value_date >= date_from) & (JournalEntry.value_date <= date_to)
    # Each entry's amount: the sum of its debits, in whole cents (exact on SQLite too).
    amounts = (select(JournalLine.entry_id.label("entry_id"),
                      func.sum(cents(JournalLine.debit)).label("cents"))
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
            entry_cents in db.session.execute(entries):
        count += 1
        book.append(entry_sheet, [entry_id, value_date, posted_at, description, reverses_id,
                                  reversed_by, key, by,
                                  source, source_id, Money(from_cents(entry_cents))])
    lines = (
        select(JournalLine.entry_id, JournalEntry.value_date, JournalLine.id, Account.id, Account.code, Account.kind,
               Account.currency, JournalLine.debit, JournalLine.credit)
        .join(JournalEntry, JournalEntry.id == JournalLine.entry_id)
        .join(Account, Account.id == JournalLine.account_id)
        .where(period)
        .order_by(JournalEntry.value_date, JournalLine.entry_id, JournalLine.id)
        .execution_options(yield_per=_BATCH)
    )
    totals: dict[str, list[Decimal]] = defaultdict(lambda: [ZERO, ZERO])
    names = account_names(db.session.scalars(
        select(Account).where(Account.id.in_(
            select(JournalLine.account_id).join(JournalEntry, JournalEntry.id == JournalLine.entry_id).where(period)))))
    for entry_id, value_date, line_id, account_id, code, kind, currency, debit, credit in db.session.execute(lines):
        totals[currency][0] += debit
        totals[currency][1] += credit
        book.append(line_sheet, [entry_id, value_date, line_id, names[account_id], code, kind.label, currency,
                                 Money(debit) if debit else None, Money(credit) if credit else None])
    for currency, (debits, credits) in sorted(totals.items()):
        book.append(line_sheet, [None, None, None, _("Total %(currency)s, %(start)s to %(end)s", currency=currency,
                                                     start=date_from.isoformat(), end=date_to.isoformat()),
                                 None, _verdict(debits == credits), currency, Money(debits), Money(credits)])
    book.save(target)
    return count
