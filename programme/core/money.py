"""Money as Decimal, never float.

Amounts are quantised to the currency's minor unit. The helpers here are pure:
no Flask, no database, so domain code and the rulebook can use them.
"""

from __future__ import annotations

from collections.abc import Callable
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


#: (decimal mark, thousands separator) when none is given: English's, unless ``core.i18n`` names the language of the
#: request being answered (``answer_in``; this module stays pure: it knows no request).
ENGLISH_SYMBOLS = (".", ",")
_symbols: Callable[[], tuple[str, str]] = lambda: ENGLISH_SYMBOLS  # noqa: E731


def answer_in(symbols: Callable[[], tuple[str, str]]) -> None:
    """Say where the symbols of the language being answered come from (``core.i18n`` does, once)."""
    global _symbols
    _symbols = symbols


def symbols_in_use() -> tuple[str, str]:
    """(decimal mark, thousands separator) of the language being answered (English's outside a request)."""
    return _symbols()


def format_number(value: Decimal, places: int, symbols: tuple[str, str] | None = None) -> str:
    """A number with its thousands grouped and ``places`` decimals, in a language's way (1,500.00; 1.500,00)."""
    decimal, group = symbols or symbols_in_use()
    return f"{to_decimal(value):,.{places}f}".translate(str.maketrans({",": group, ".": decimal}))


def format_money(value: Decimal | None, currency: str = "", symbols: tuple[str, str] | None = None) -> str:
    """Human display: the currency, then the amount with its minor unit, grouped in the language's way."""
    if value is None:
        return "–"
    places = minor_unit(currency) if currency else 2
    return f"{currency} {format_number(value, places, symbols)}".strip()


def typed_number(text: str, symbols: tuple[str, str] | None = None) -> str:
    """A number as a person typed it in their language's way ("12.500,50" in Spanish, "12,500.50" in English;
    spaces anywhere, thousands grouped in threes or not at all), rewritten as Decimal reads it ("12500.50"), or
    MoneyError saying how to write it."""
    decimal, group = symbols or symbols_in_use()
    raw = "".join(text.split()).replace("\u00a0", "").replace("\u202f", "")
    point, comma = ("a point", "a comma") if decimal == "." else ("a comma", "a point")
    example = format_number(Decimal("12500"), 2, (decimal, group))
    if group in raw:
        whole, _, fraction = raw.partition(decimal)
        sign = whole[:1] if whole[:1] in "+-" else ""
        groups = whole[len(sign):].split(group)
        if not (groups[0].isdigit() and len(groups[0]) <= 3 and all(g.isdigit() and len(g) == 3 for g in groups[1:])):
            if len(groups) == 2 and groups[1].isdigit() and len(groups[1]) <= 2 and not fraction:
                raise MoneyError(f"Write the cents after {point}: {groups[0]}{decimal}{groups[1]}, not {raw} "
                                 f"({comma} only separates thousands).")
            separators = "commas" if group == "," else "points"
            raise MoneyError(f"Separate thousands with {separators} in groups of three ({example}), or not at all.")
        raw = sign + "".join(groups) + (decimal + fraction if fraction or raw.endswith(decimal) else "")
    if decimal != "." and "." in raw:
        raise MoneyError(f"Write the cents after {point}, as {example}.")
    return raw.replace(decimal, ".")
