"""Balances from the ledger's lines: one account's, several at once, the trial balance, and the trial balance
summed per account kind and per currency.

Sums are taken in SQL in whole cents as integers (``core.db``): exact on SQLite too, which would otherwise add
binary floats.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any

from sqlalchemy import select

from programme.core.db import from_cents, sum_cents
from programme.extensions import db
from programme.ledger.domain import ZERO
from programme.ledger.models import Account, JournalEntry, JournalLine, Side


def _signed(account: Account, debits: Decimal, credits: Decimal) -> Decimal:
    return debits - credits if account.normal_side is Side.DEBIT else credits - debits


def _sums_by_account(account_ids: Sequence[int] | None, as_of: date | None) -> dict[int, tuple[Decimal, Decimal]]:
    query = select(
        JournalLine.account_id,
        sum_cents(JournalLine.debit),
        sum_cents(JournalLine.credit),
    ).group_by(JournalLine.account_id)
    if account_ids is not None:
        query = query.where(JournalLine.account_id.in_(account_ids))
    if as_of is not None:
        query = query.join(JournalEntry, JournalEntry.id == JournalLine.entry_id).where(
            JournalEntry.value_date <= as_of
        )
    return {account_id: (from_cents(d), from_cents(c)) for account_id, d, c in db.session.execute(query)}


def balance(account: Account, as_of: date | None = None) -> Decimal:
    """The account's balance from its lines (value date on or before ``as_of``), signed by its normal side."""
    debits, credits = _sums_by_account([account.id], as_of).get(account.id, (ZERO, ZERO))
    return _signed(account, debits, credits)


def balances(accounts: Iterable[Account], as_of: date | None = None) -> dict[Account, Decimal]:
    """The balances of several accounts in one query, by account."""
    accounts = list(accounts)
    sums = _sums_by_account([account.id for account in accounts], as_of) if accounts else {}
    return {account: _signed(account, *sums.get(account.id, (ZERO, ZERO))) for account in accounts}


@dataclass(frozen=True)
class TrialBalanceRow:
    account: Account
    debits: Decimal
    credits: Decimal
    balance: Decimal  # signed by the account's normal side


@dataclass(frozen=True)
class TrialBalance:
    rows: list[TrialBalanceRow]
    total_debits: Decimal
    total_credits: Decimal

    @property
    def balanced(self) -> bool:
        return self.total_debits == self.total_credits


def trial_balance(as_of: date | None = None) -> TrialBalance:
    """Every account with its debits, credits and balance, by code; the totals of debits and credits."""
    sums = _sums_by_account(None, as_of)
    rows = []
    for account in db.session.scalars(select(Account).order_by(Account.code)):
        debits, credits = sums.get(account.id, (ZERO, ZERO))
        rows.append(TrialBalanceRow(account, debits, credits, _signed(account, debits, credits)))
    return TrialBalance(
        rows=rows,
        total_debits=sum((row.debits for row in rows), ZERO),
        total_credits=sum((row.credits for row in rows), ZERO),
    )


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
