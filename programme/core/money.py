"""Money as Decimal, never float.

Amounts are quantised to the currency's minor unit. The helpers here are pure:
no Flask, no database, so domain code and the rulebook can use them.
"""

from __future__ import annotations

from decimal import ROUND_HALF_EVEN, ROUND_HALF_UP, Decimal, InvalidOperation

#: The amount columns are Numeric(14, 2): twelve digits before the point.
MAX_AMOUNT = Decimal("999999999999.99")

# ISO 4217 minor units for currencies whose minor unit is not 2.
_MINOR_UNITS: dict[str, int] = {
    "BHD": 3, "CLP": 0, "IQD": 3, "ISK": 0, "JOD": 3, "JPY": 0, "KRW": 0, "KWD": 3,
    "LYD": 3, "OMR": 3, "PYG": 0, "RWF": 0, "TND": 3, "UGX": 0, "VND": 0, "XAF": 0, "XOF": 0,
}

ROUNDING_MODES = {"half_up": ROUND_HALF_UP, "half_even": ROUND_HALF_EVEN}


class MoneyError(ValueError):
    """A value that is not an acceptable amount of money."""


def minor_unit(currency: str) -> int:
    """Number of decimal places of the currency's minor unit (2 unless listed)."""
    return _MINOR_UNITS.get(currency.upper(), 2)


def quantum(currency: str) -> Decimal:
    return Decimal(1).scaleb(-minor_unit(currency))


def to_decimal(value: object) -> Decimal:
    """Convert int, str or Decimal to Decimal; refuse floats and garbage."""
    if isinstance(value, bool | float):
        raise MoneyError(f"money must not be a float or a boolean (got {value!r})")
    if isinstance(value, Decimal):
        result = value
    elif isinstance(value, int):
        result = Decimal(value)
    elif isinstance(value, str):
        text = value.strip().replace("_", "")
        try:
            result = Decimal(text)
        except InvalidOperation:
            raise MoneyError(f"{value!r} is not a number") from None
    else:
        raise MoneyError(f"cannot use {type(value).__name__} as money")
    if not result.is_finite():
        raise MoneyError(f"{value!r} is not a finite number")
    return result


def round_money(value: Decimal, currency: str, mode: str = "half_up") -> Decimal:
    """Round to the currency's minor unit with the named rounding mode."""
    return to_decimal(value).quantize(quantum(currency), rounding=ROUNDING_MODES[mode])


def is_exact_amount(value: Decimal, currency: str) -> bool:
    """True if the value has no more decimal places than the currency allows."""
    value = to_decimal(value)
    return value == value.quantize(quantum(currency))


def parse_amount(value: object, currency: str, *, places: int | None = None, what: str = "The amount",
                 zero: bool = False, maximum: Decimal | None = None, text: bool = True) -> Decimal:
    """The one parser of an amount of money: ``value`` as a Decimal quantised to ``places`` (the currency's minor
    unit unless given), or MoneyError with a message naming ``what`` (e.g. "The amount", "line 1 debit").

    Refused: nothing given (None or blank text), a float or a boolean, text when ``text`` is false, anything that
    is not a finite number, a negative amount, zero unless ``zero``, more than ``maximum`` when one is given
    (e.g. ``MAX_AMOUNT``, what the columns hold), and more decimal places than ``places``.
    """
    if value is None or (isinstance(value, str) and not value.strip()):
        raise MoneyError(f"Give {what[0].lower() + what[1:]}.")
    if isinstance(value, bool | float) or not (isinstance(value, Decimal | int) or (text and isinstance(value, str))):
        never = ": money is never a float or a boolean" if isinstance(value, bool | float) else ""
        raise MoneyError(f"{what} must be a Decimal, not {type(value).__name__} ({value!r}){never}.")
    try:
        amount = Decimal(value.strip().replace("_", "")) if isinstance(value, str) else Decimal(value)
    except InvalidOperation:
        raise MoneyError(f"{what} is not a number ({value!r}).") from None
    if not amount.is_finite():
        raise MoneyError(f"{what} is not a finite amount ({value!r}).")
    if amount < 0:
        rule = "zero or more" if zero else "more than zero"
        raise MoneyError(f"{what} must be {rule}, never negative (got {amount}).")
    if amount == 0 and not zero:
        raise MoneyError(f"{what} must be more than zero.")
    if maximum is not None and amount > maximum:
        raise MoneyError(f"{what} is too large: {amount} is more than {maximum}.")
    places = minor_unit(currency) if places is None else places
    step = Decimal(1).scaleb(-places)
    if amount != amount.quantize(step):
        unit = "units" if places == 0 else "cents"
        raise MoneyError(f"{what} must be in whole {unit} of {currency}: {amount} has more than {places} "
                         "decimal places.")
    return amount.quantize(step)


def format_money(value: Decimal | None, currency: str = "") -> str:
    """Human display: thousands separated by a thin space-free comma, fixed minor unit."""
    if value is None:
        return "–"
    places = minor_unit(currency) if currency else 2
    text = f"{to_decimal(value):,.{places}f}"
    return f"{currency} {text}".strip()
