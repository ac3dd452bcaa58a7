"""Money as Decimal, never float.

Amounts are quantised to the currency's minor unit. The helpers here are pure:
no request, no database, so domain code and the rulebook can use them. Their messages are marked for translation
(``flask_babel.gettext``): in the language of the request, English outside one.
"""

from __future__ import annotations

from collections.abc import Callable
from decimal import ROUND_HALF_EVEN, ROUND_HALF_UP, Decimal, InvalidOperation

# Flask-Babel's gettext answers in English outside an application (this module still needs no request).
from programme.core.texts import gettext as _

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
        raise MoneyError(_("money must not be a float or a boolean (got %(value)s)", value=repr(value)))
    if isinstance(value, Decimal):
        result = value
    elif isinstance(value, int):
        result = Decimal(value)
    elif isinstance(value, str):
        text = value.strip().replace("_", "")
        try:
            result = Decimal(text)
        except InvalidOperation:
            raise MoneyError(_("%(value)s is not a number", value=repr(value))) from None
    else:
        raise MoneyError(_("cannot use %(type)s as money", type=type(value).__name__))
    if not result.is_finite():
        raise MoneyError(_("%(value)s is not a finite number", value=repr(value)))
    return result


def round_money(value: Decimal, currency: str, mode: str = "half_up") -> Decimal:
    """Round to the currency's minor unit with the named rounding mode."""
    return to_decimal(value).quantize(quantum(currency), rounding=ROUNDING_MODES[mode])


def is_exact_amount(value: Decimal, currency: str) -> bool:
    """True if the value has no more decimal places than the currency allows."""
    value = to_decimal(value)
    return value == value.quantize(quantum(currency))


def parse_amount(value: object, currency: str, *, places: int | None = None, what: str | None = None,
                 zero: bool = False, maximum: Decimal | None = None, text: bool = True) -> Decimal:
    """The one parser of an amount of money: ``value`` as a Decimal quantised to ``places`` (the currency's minor
    unit unless given), or MoneyError with a message naming ``what`` (e.g. "The amount", "line 1 debit"; "The
    amount" in the request's language when not given: a caller gives ``what`` already translated).

    Refused: nothing given (None or blank text), a float or a boolean, text when ``text`` is false, anything that
    is not a finite number, a negative amount, zero unless ``zero``, more than ``maximum`` when one is given
    (e.g. ``MAX_AMOUNT``, what the columns hold), and more decimal places than ``places``.
    """
    what = what or _("The amount")
    if value is None or (isinstance(value, str) and not value.strip()):
        raise MoneyError(_("Give %(what)s.", what=what[0].lower() + what[1:]))
    if isinstance(value, bool | float):
        raise MoneyError(_("%(what)s must be a Decimal, not %(type)s (%(value)s): money is never a float or a "
                           "boolean.", what=what, type=type(value).__name__, value=repr(value)))
    if not (isinstance(value, Decimal | int) or (text and isinstance(value, str))):
        raise MoneyError(_("%(what)s must be a Decimal, not %(type)s (%(value)s).", what=what,
                           type=type(value).__name__, value=repr(value)))
    try:
        amount = Decimal(value.strip().replace("_", "")) if isinstance(value, str) else Decimal(value)
    except InvalidOperation:
        raise MoneyError(_("%(what)s is not a number (%(value)s).", what=what, value=repr(value))) from None
    if not amount.is_finite():
        raise MoneyError(_("%(what)s is not a finite amount (%(value)s).", what=what, value=repr(value)))
    if amount < 0 and zero:
        raise MoneyError(_("%(what)s must be zero or more, never negative (got %(amount)s).", what=what,
                           amount=amount))
    if amount < 0:
        raise MoneyError(_("%(what)s must be more than zero, never negative (got %(amount)s).", what=what,
                           amount=amount))
    if amount == 0 and not zero:
        raise MoneyError(_("%(what)s must be more than zero.", what=what))
    if maximum is not None and amount > maximum:
        raise MoneyError(_("%(what)s is too large: %(amount)s is more than %(maximum)s.", what=what, amount=amount,
                           maximum=maximum))
    places = minor_unit(currency) if places is None else places
    step = Decimal(1).scaleb(-places)
    if amount != amount.quantize(step):
        if places == 0:
            raise MoneyError(_("%(what)s must be in whole units of %(currency)s: %(amount)s has more than %(places)s "
                               "decimal places.", what=what, currency=currency, amount=amount, places=places))
        raise MoneyError(_("%(what)s must be in whole cents of %(currency)s: %(amount)s has more than %(places)s "
                           "decimal places.", what=what, currency=currency, amount=amount, places=places))
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
    example = format_number(Decimal("12500"), 2, (decimal, group))
    if group in raw:
        whole, _mark, fraction = raw.partition(decimal)
        sign = whole[:1] if whole[:1] in "+-" else ""
        groups = whole[len(sign):].split(group)
        if not (groups[0].isdigit() and len(groups[0]) <= 3 and all(g.isdigit() and len(g) == 3 for g in groups[1:])):
            if len(groups) == 2 and groups[1].isdigit() and len(groups[1]) <= 2 and not fraction:
                right = f"{groups[0]}{decimal}{groups[1]}"
                if decimal == ".":
                    raise MoneyError(_("Write the cents after a point: %(right)s, not %(typed)s (a comma only "
                                       "separates thousands).", right=right, typed=raw))
                raise MoneyError(_("Write the cents after a comma: %(right)s, not %(typed)s (a point only separates "
                                   "thousands).", right=right, typed=raw))
            if group == ",":
                raise MoneyError(_("Separate thousands with commas in groups of three (%(example)s), or not at all.",
                                   example=example))
            raise MoneyError(_("Separate thousands with points in groups of three (%(example)s), or not at all.",
                               example=example))
        raw = sign + "".join(groups) + (decimal + fraction if fraction or raw.endswith(decimal) else "")
    if decimal != "." and "." in raw:
        raise MoneyError(_("Write the cents after a comma, as %(example)s.", example=example))
    return raw.replace(decimal, ".")
