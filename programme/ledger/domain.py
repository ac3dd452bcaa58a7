"""The ledger's rules on plain values (pure: no Flask, no database): a line to post, and the check that the lines
of an entry balance.

Every line is a positive amount on exactly one side, in one currency, and the sum of an entry's debits equals the
sum of its credits. Amounts are Decimals (never floats), with no more decimal places than the currency's minor
unit (the column holds two).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from programme.core.money import minor_unit

ZERO = Decimal("0.00")
CENT = Decimal("0.01")
#: Numeric(14, 2): twelve digits before the point.
MAX_AMOUNT = Decimal("999999999999.99")
#: The column holds two decimal places; a currency with fewer minor units allows fewer.
COLUMN_PLACES = 2


class LedgerError(Exception):
    """A posting that would break the ledger's rules; the message says which."""


@dataclass(frozen=True)
class Line:
    """A line to post: an account and an amount on one side (the other side zero)."""

    account: Any
    debit: Decimal = ZERO
    credit: Decimal = ZERO


def debit(account: Any, amount: Decimal) -> Line:
    return Line(account, amount, ZERO)


def credit(account: Any, amount: Decimal) -> Line:
    return Line(account, ZERO, amount)


def _as_line(item: Line | Sequence[Any]) -> Line:
    if isinstance(item, Line):
        return item
    try:
        account, debit_amount, credit_amount = item
    except (TypeError, ValueError):
        raise LedgerError(f"a line is (account, debit, credit), not {item!r}") from None
    return Line(account, debit_amount, credit_amount)


def _amount(value: Any, places: int, where: str) -> Decimal:
    if isinstance(value, bool | float) or not isinstance(value, Decimal | int):
        raise LedgerError(f"{where}: an amount must be a Decimal, not {type(value).__name__} ({value!r})")
    amount = Decimal(value)
    if not amount.is_finite():
        raise LedgerError(f"{where}: {value!r} is not a finite amount")
    if amount < 0:
        raise LedgerError(f"{where}: amounts are never negative (got {amount}); use the other side")
    if amount != amount.quantize(Decimal(1).scaleb(-places)):
        raise LedgerError(f"{where}: {amount} has more than {places} decimal places")
    if amount > MAX_AMOUNT:
        raise LedgerError(f"{where}: {amount} is too large")
    return amount.quantize(CENT)


def check_balanced(lines: Iterable[Line | Sequence[Any]]) -> list[Line]:
    """Check lines about to be posted (pure: no database); return them normalised, or raise LedgerError.

    At least two lines; every amount a Decimal (or int), never a float or a bool, with no more decimal
    places than the currency's minor unit (and at most 2), not negative; on each line exactly one side
    positive; one currency (the accounts' ``currency``); the sum of debits equal to the sum of credits.
    """
    checked: list[Line] = []
    items = list(lines)
    if len(items) < 2:
        raise LedgerError(f"an entry needs at least two lines (got {len(items)})")
    currencies = {getattr(_as_line(item).account, "currency", None) for item in items}
    if None in currencies:
        raise LedgerError("every line needs an account with a currency")
    if len(currencies) != 1:
        raise LedgerError(f"an entry is in one currency (got {', '.join(sorted(currencies))})")
    currency = currencies.pop()
    places = min(COLUMN_PLACES, minor_unit(currency))
    for number, item in enumerate(items, start=1):
        line = _as_line(item)
        where = f"line {number}"
        debit_amount = _amount(line.debit, places, f"{where} debit")
        credit_amount = _amount(line.credit, places, f"{where} credit")
        if (debit_amount > 0) == (credit_amount > 0):
            raise LedgerError(f"{where}: exactly one of debit and credit must be positive")
        checked.append(Line(line.account, debit_amount, credit_amount))
    debits = sum((line.debit for line in checked), ZERO)
    credits = sum((line.credit for line in checked), ZERO)
    if debits != credits:
        raise LedgerError(f"debits ({debits}) do not equal credits ({credits})")
    return checked

