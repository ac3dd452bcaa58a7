"""Reading the cells of a bank statement: an amount (a Decimal of cents, never through a float), a value date
(a date cell or an ISO date), a reference or a loan number (text); each reader returns the value or the reason
it is not one, a message to show beside the row and column. No database."""

from __future__ import annotations

import re
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from programme.core.money import MAX_AMOUNT
from programme.core.texts import gettext as _
from programme.ledger.domain import normal_bank_reference

CENT = Decimal("0.01")
#: A plain amount: digits, an optional point and decimals; or thousands separated by commas in groups of three.
_PLAIN = re.compile(r"^[+-]?\d+(\.\d+)?$")
_GROUPED = re.compile(r"^[+-]?\d{1,3}(,\d{3})+(\.\d+)?$")
_ISO_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")


# ----------------------------------------------------------------------------------------- reading cells


def shown(value: Any) -> str:
    """A cell's value as a message quotes it: on one line, at most 40 characters."""
    text = value.isoformat(sep=" ") if isinstance(value, datetime) else str(value)
    text = " ".join(text.split())
    return text if len(text) <= 40 else text[:37] + "..."


def read_amount(value: Any) -> Decimal | str:
    """The cell's amount as a Decimal of cents, or the reason it is not one (a message to show)."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return _("is empty: give the amount")
    if isinstance(value, bool | date | datetime):
        return _("%(value)s is not an amount", value=shown(value))
    if isinstance(value, int):
        amount = Decimal(value)
    elif isinstance(value, float):
        # Through str, never float arithmetic: 12.5 stays 12.5, a float that is not an exact cent amount shows.
        try:
            amount = Decimal(str(value))
        except InvalidOperation:
            return _("%(value)s is not an amount", value=shown(value))
    elif isinstance(value, Decimal):
        amount = value
    elif isinstance(value, str):
        text = value.strip().replace(" ", "").replace("\u00a0", "")
        if _GROUPED.match(text):
            text = text.replace(",", "")
        elif "," in text:
            return _("%(value)s is not an amount: use a point for decimals", value=shown(value))
        if not _PLAIN.match(text):
            return _("%(value)s is not an amount", value=shown(value))
        amount = Decimal(text)
    else:
        return _("%(value)s is not an amount", value=shown(value))
    if not amount.is_finite():
        return _("%(value)s is not an amount", value=shown(value))
    if amount <= 0:
        return _("%(value)s is not above zero: a repayment is a positive amount", value=shown(value))
    if amount > MAX_AMOUNT:
        return _("%(value)s is too large", value=shown(value))
    if amount != amount.quantize(CENT):
        if isinstance(value, float):
            return _("%(value)s is not an exact amount of cents: give at most 2 decimal places", value=shown(value))
        return _("%(value)s has more than 2 decimal places", value=shown(value))
    return amount.quantize(CENT)


def read_date(value: Any) -> date | str:
    """The cell's date (a date cell, or text written as an ISO date YYYY-MM-DD), or the reason it is not one."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return _("is empty: give the value date")
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    if isinstance(value, str):
        text = value.strip()
        if _ISO_DATE.match(text):
            try:
                return date.fromisoformat(text)
            except ValueError:
                return _("%(value)s is not a date that exists", value=shown(value))
        return _("%(value)s is not a date: use a date cell or write it as YYYY-MM-DD", value=shown(value))
    return _("%(value)s is not a date: use a date cell or write it as YYYY-MM-DD", value=shown(value))


def read_text(value: Any) -> str | None:
    """A reference or a loan number: text (a whole number is taken as its digits); None if it is not text."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() else None
    if isinstance(value, str):
        return normal_bank_reference(value)
    return None
