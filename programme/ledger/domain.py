"""The ledger's rules on plain values (pure: no application, no database): a line to post, the check that the lines
of an entry balance, and the bank reference that identifies the transfer behind a cash posting.

Every line is a positive amount on exactly one side, in one currency, and the sum of an entry's debits equals the
sum of its credits. Amounts are Decimals (never floats), with no more decimal places than the currency's minor
unit (the column holds two). A message for a person (a bank reference refused) is in the language being answered
in (English outside a request).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from programme.core.money import MAX_AMOUNT, MoneyError, minor_unit, parse_amount
from programme.core.texts import gettext as _

ZERO = Decimal("0.00")
CENT = Decimal("0.01")
#: The column holds two decimal places; a currency with fewer minor units allows fewer.
COLUMN_PLACES = 2


#: The bank_reference columns (disbursements, capitalisations, loans, repayments) are String(100).
BANK_REFERENCE_MAX = 100


class LedgerError(Exception):
    """A posting that would break the ledger's rules; the message says which."""


class BankReferenceError(ValueError):
    """A bank reference that cannot be recorded; the message is for the person who typed it."""


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


def _amount(value: Any, currency: str, places: int, where: str) -> Decimal:
    try:
        amount = parse_amount(value, currency, places=places, what=where, zero=True, maximum=MAX_AMOUNT, text=False)
    except MoneyError as error:
        raise LedgerError(str(error)) from None
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
        debit_amount = _amount(line.debit, currency, places, f"{where} debit")
        credit_amount = _amount(line.credit, currency, places, f"{where} credit")
        if (debit_amount > 0) == (credit_amount > 0):
            raise LedgerError(f"{where}: exactly one of debit and credit must be positive")
        checked.append(Line(line.account, debit_amount, credit_amount))
    debits = sum((line.debit for line in checked), ZERO)
    credits = sum((line.credit for line in checked), ZERO)
    if debits != credits:
        raise LedgerError(f"debits ({debits}) do not equal credits ({credits})")
    return checked



def normal_bank_reference(value: str | None) -> str:
    """A bank reference as stored and looked up: runs of white space made one space, trimmed (may be empty)."""
    return " ".join((value or "").split())


def bank_reference(value: str | None) -> str:
    """The bank's reference of a transfer, normalised; BankReferenceError if it is empty or longer than
    ``BANK_REFERENCE_MAX`` characters."""
    reference = normal_bank_reference(value)
    if not reference:
        raise BankReferenceError(_("Give the bank's reference of the transfer."))
    if len(reference) > BANK_REFERENCE_MAX:
        raise BankReferenceError(_("The bank reference is longer than %(number)s characters.",
                                   number=BANK_REFERENCE_MAX))
    return reference
