"""Chart geometry for inline SVG, shared by every chart (pure: no Flask, no database, never a float).

A chart is drawn by its template from coordinates computed here on the server: values are mapped to pixels by a
``Scale`` in exact fractions, bars stand side by side in ``Bands``, axes get ``tick_values`` (on a ``nice_step``),
and a coordinate becomes text with ``coordinate`` (rounded to a tenth of a pixel, exactly, as ``rounded`` does).
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from fractions import Fraction
from typing import TypeVar

Number = int | Decimal | Fraction
N = TypeVar("N", int, Decimal, Fraction)


@dataclass(frozen=True)
class Tick:
    """A tick on an axis: where it stands (an SVG coordinate) and what it reads."""

    at: str
    label: str


def exact(value: Number) -> Fraction:
    """A value as an exact fraction (ints, Decimals and fractions only: never a float)."""
    if isinstance(value, float):
        raise TypeError("chart geometry takes no floats")
    return Fraction(value)


@dataclass(frozen=True)
class Scale:
    """A linear map of values from ``low``…``high`` onto pixels ``start``…``end`` (``end`` below ``start`` for a
    y axis, whose pixels grow downwards). With ``clip`` values outside ``low``…``high`` are drawn at its ends;
    an empty domain (``high == low``) maps everything to ``start``."""

    low: Number
    high: Number
    start: Number
    end: Number
    clip: bool = False

    def at(self, value: Number) -> Fraction:
        low, high, start = exact(self.low), exact(self.high), exact(self.start)
        if high == low:
            return start
        number = exact(value)
        if self.clip:
            number = min(max(number, min(low, high)), max(low, high))
        return start + (exact(self.end) - start) * (number - low) / (high - low)


@dataclass(frozen=True)
class Bands:
    """``count`` equal slots side by side from ``start`` over ``extent`` pixels (one slot when there are none),
    a bar in each filling ``fill`` of its slot, centred."""

    start: Number
    extent: Number
    count: int

    @property
    def slot(self) -> Fraction:
        return exact(self.extent) / max(1, self.count)

    def at(self, index: Number) -> Fraction:
        """Where slot ``index`` begins (a fractional index is a point inside the slots)."""
        return exact(self.start) + self.slot * exact(index)

    def bar(self, index: int, fill: Number) -> tuple[Fraction, Fraction]:
        """The (x, width) of the bar in slot ``index``."""
        width = self.slot * exact(fill)
        return self.at(index) + (self.slot - width) / 2, width


def rounded(value: Number, places: int = 1, *, half_up: bool = False) -> Decimal:
    """``value`` rounded exactly to ``places`` decimals, half to even (or half away from zero with ``half_up``),
    as a Decimal with exactly ``places`` decimals."""
    number = exact(value)
    scaled = abs(number) * 10**places
    whole, rest = divmod(scaled.numerator, scaled.denominator)
    twice = 2 * rest
    if twice > scaled.denominator or (twice == scaled.denominator and (half_up or whole % 2 == 1)):
        whole += 1
    return Decimal(-whole if number < 0 else whole).scaleb(-places)


def coordinate(value: Number, places: int = 1, *, half_up: bool = False, trim: bool = True) -> str:
    """A coordinate as SVG text, to ``places`` decimals: ``"12.5"``, and ``"12"`` for 12.0 unless ``trim`` is
    false."""
    number = rounded(value, places, half_up=half_up)
    if trim:
        text = f"{number.normalize():f}"
        return "0" if text == "-0" else text
    return f"{number:f}"


def pixels(value: Number) -> int:
    """A length in whole pixels, rounded half to even."""
    return int(rounded(value, 0))


def nice_step(extent: Decimal) -> Decimal:
    """A round step for about four grid lines over ``extent``: 1, 2 or 5 times a power of ten."""
    raw = extent / 4
    power = Decimal(10) ** (len(str(int(raw))) - 1) if raw >= 1 else Decimal(1)
    for factor in (1, 2, 5, 10):
        if power * factor >= raw:
            return power * factor
    return power * 10


def tick_values(low: N, high: N, step: N) -> list[N]:
    """The values of an axis's ticks: ``low``, ``low + step``, … up to ``high`` inclusive (none if ``step`` is not
    positive)."""
    if step <= 0:
        return []
    values, value = [], low
    while value <= high:
        values.append(value)
        value += step
    return values
