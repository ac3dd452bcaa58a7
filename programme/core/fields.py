"""The date field of every form: a day typed the way pages write it, day before month ("6 Dec 2026", "06/12/2026",
"6.12.2026", month names in full or short, in any case; ISO "2026-12-06" too), and shown back the way pages write it
(``core.timezone.format_day`` with the configuration's ``DATE_FORMAT``).

A text input, not ``<input type="date">``: a browser writes a date input in its own locale (month first in an
en-US Chromium), whatever the programme writes on its pages. Digits are always read day first: 03/04/2026 is the
3rd of April, never the 4th of March, and 12/31/2026 is refused rather than guessed (so a DATE_FORMAT must write
the day before the month for a day shown in a field to read back).

``DayTimeField`` is the same for a moment (a call's opening and deadline, the review deadline): the day as above,
then the 24-hour time ("6 Dec 2026 17:00"), a wall-clock time in the programme's time zone, as the views convert it
(``core.timezone.local_to_utc``); ISO "2026-12-06T17:00" (what a datetime-local input posted) is read too.
"""

from __future__ import annotations

import re
from datetime import date, datetime, time
from functools import cache
from typing import Any

from babel import Locale
from dateutil.parser import ParserError, parse, parserinfo
from wtforms import DateField, DateTimeField
from wtforms.widgets import TextInput

from programme.core.i18n import current_language
from programme.core.texts import gettext as _
from programme.core.timezone import format_day

#: The day every hint, placeholder and message shows as its example; the moment adds a time to it.
EXAMPLE_DAY = date(2026, 12, 6)
EXAMPLE_MOMENT = datetime(2026, 12, 6, 17, 0)
#: Longer than any day written by hand ("Wednesday 30 September 2026" is 27): longer text is refused unread.
MAX_LENGTH = 40
#: A day, a comma and a time ("Wednesday 30 September 2026, 17:00").
MAX_MOMENT_LENGTH = MAX_LENGTH + 8

#: Year first, as ISO writes it (2026-12-06; slashes or points also): read year, month, day, since dateutil's
#: dayfirst would read 2026-12-06 as the 12th of June.
_YEAR_FIRST = re.compile(r"(\d{4})[-/.](\d{1,2})[-/.](\d{1,2})")
_NAMES = parserinfo()  # dateutil's English month and weekday names


class _Names(parserinfo):
    """The month and weekday names of a language beside English's (a Spanish reader may type "6 dic 2026", or
    paste "6 Dec 2026"), and the little words a day is written with ("6 de dezembro de 2026")."""

    def __init__(self, language: str) -> None:
        locale = Locale.parse(language)
        months, weekdays = locale.months["format"], locale.days["format"]
        self.MONTHS = [tuple({*english, *(n.lower().rstrip(".") for n in (months["abbreviated"][i + 1],
                                                                          months["wide"][i + 1]))})
                       for i, english in enumerate(parserinfo.MONTHS)]
        # Babel counts weekdays from Monday (0), as dateutil does.
        self.WEEKDAYS = [tuple({*english, *(n.lower().rstrip(".") for n in (weekdays["abbreviated"][i],
                                                                            weekdays["wide"][i]))})
                         for i, english in enumerate(parserinfo.WEEKDAYS)]
        self.JUMP = [*parserinfo.JUMP, "de", "del"]
        super().__init__(dayfirst=True)


@cache
def _names_of(language: str) -> parserinfo:
    return _NAMES if language == "en" else _Names(language)


def _names() -> parserinfo:
    """The names a day may be typed with in the language being answered."""
    return _names_of(current_language())
#: A moment as a datetime-local input posts it: ISO, the day, a T, hours:minutes.
_ISO_MOMENT = re.compile(r"(?P<day>\d{4}-\d{1,2}-\d{1,2})T(?P<hours>\d{2}):(?P<minutes>\d{2})")
#: A day followed by a time, hours:minutes (a space or a comma between them).
_DAY_THEN_TIME = re.compile(r"(?P<day>.+?)(?:\s*,\s*|\s+)(?P<hours>\d{1,2}):(?P<minutes>\d{2})")


def how_to_write(pattern: str | None = None) -> str:
    """The sentence every refusal ends with: "Write the day as day month year, for example 6 Dec 2026."."""
    return _("Write the day as day month year, for example %(example)s.", example=format_day(EXAMPLE_DAY, pattern))


def how_to_write_moment(pattern: str | None = None) -> str:
    """The sentence every refusal of a moment ends with: "Write the day and time as day month year hours:minutes,
    for example 6 Dec 2026 17:00."."""
    return _("Write the day and time as day month year hours:minutes, for example %(example)s.",
             example=write_moment(EXAMPLE_MOMENT, pattern))


def write_moment(moment: datetime, pattern: str | None = None) -> str:
    """A wall-clock moment as a DayTimeField shows it: the day as pages write it, then the 24-hour time."""
    return f"{format_day(moment.date(), pattern)} {moment:%H:%M}"


def read_day(text: str, pattern: str | None = None, *, how: str | None = None) -> date:
    """The day a person typed, day before month; a ValueError whose message says how to write it otherwise.

    ``pattern`` (the pages' DATE_FORMAT) only shapes the example in the messages; ``how`` is the sentence they end
    with (``how_to_write`` by default)."""
    text = text.strip()
    refused = how or how_to_write(pattern)
    if not text or len(text) > MAX_LENGTH:
        raise ValueError(refused)
    year_first = _YEAR_FIRST.fullmatch(text)
    if year_first:
        try:
            return date(*(int(part) for part in year_first.groups()))
        except ValueError:
            raise ValueError(_("That day does not exist: check the day and the month. %(how)s",
                               how=refused)) from None
    try:
        moment = parse(text, _names(), dayfirst=True, default=datetime(2000, 1, 1))
    except ParserError as error:
        if isinstance(error.__cause__, ValueError):  # read as a day, month and year that make no day (31/02)
            raise ValueError(_("That day does not exist: check the day and the month. %(how)s",
                               how=refused)) from None
        raise ValueError(refused) from None
    except (ValueError, OverflowError):
        raise ValueError(refused) from None
    if moment.tzinfo is not None or moment.time() != time():
        raise ValueError(refused)
    day = moment.date()
    words = re.findall(r"[^\W\d_]+", text)
    names = _names()
    named_month = any(names.month(word) is not None for word in words)
    # The numbers, in the order typed: the day, the month unless named, the year (two digits or four).
    numbers = re.findall(r"\d+", text)
    wanted = [day.day, day.year] if named_month else [day.day, day.month, day.year]
    if len(numbers) != len(wanted) or len(numbers[-1]) not in (2, 4) or any(len(n) > 2 for n in numbers[:-1]):
        raise ValueError(refused)
    if int(numbers[-1]) != (day.year if len(numbers[-1]) == 4 else day.year % 100):
        raise ValueError(refused)
    if [int(n) for n in numbers[:-1]] != wanted[:-1]:  # dateutil turned a month-first 12/31/2026 round
        raise ValueError(_("Write the day before the month. %(how)s", how=refused))
    for word in words:
        weekday = names.weekday(word)
        if weekday is not None and weekday != day.weekday():
            shown = format_day(day, pattern)
            raise ValueError(_("%(day)s is a %(weekday)s, not a %(typed)s: check the day. %(how)s", day=shown,
                               weekday=_weekday_name(day.weekday()), typed=_weekday_name(weekday), how=refused))
    return day


def read_moment(text: str, pattern: str | None = None) -> datetime:
    """The moment a person typed: a day as ``read_day`` reads it, then the time as hours:minutes, 24-hour (ISO
    2026-12-06T17:00 too); a naive wall-clock time. A ValueError whose message says how to write it otherwise."""
    text = text.strip()
    refused = how_to_write_moment(pattern)
    if not text or len(text) > MAX_MOMENT_LENGTH:
        raise ValueError(refused)
    typed = _ISO_MOMENT.fullmatch(text) or _DAY_THEN_TIME.fullmatch(text)
    if typed is None:
        if ":" not in text:  # no time typed: a day gets "give the time", anything else read_day's own message
            read_day(text, pattern, how=refused)
            raise ValueError(_("Give the time as well as the day. %(how)s", how=refused))
        raise ValueError(refused)
    day = read_day(typed["day"], pattern, how=refused)
    hours, minutes = int(typed["hours"]), int(typed["minutes"])
    if hours > 23 or minutes > 59:
        raise ValueError(_("That time does not exist: hours go from 0 to 23, minutes from 00 to 59. %(how)s",
                           how=refused))
    return datetime.combine(day, time(hours, minutes))


def _weekday_name(index: int) -> str:
    """A weekday's name in the language being answered (Monday is 0): "Monday", "lunes", "segunda-feira"."""
    language = current_language()
    if language == "en":
        return _NAMES.WEEKDAYS[index][1]
    return Locale.parse(language).days["format"]["wide"][index]


class _WrittenAsShown:
    """What DayField and DayTimeField share: a text input showing its value as pages write it, with an example as
    placeholder and at the end of the hint, reading what a person typed (``_read``), showing a refused text back as
    typed, to be corrected."""

    widget = TextInput()
    data: Any
    raw_data: list[str] | None
    process_errors: list[Any]

    def _example(self) -> str:
        raise NotImplementedError

    def _hint(self, example: str) -> str:
        raise NotImplementedError

    def _write(self, value: Any) -> str:
        raise NotImplementedError

    def _read(self, text: str) -> Any:
        raise NotImplementedError

    def _is_value(self, value: Any) -> bool:
        raise NotImplementedError

    def _typed_input(self, description: str, render_kw: dict[str, Any] | None,
                     max_length: int) -> tuple[str, dict[str, Any]]:
        """The description with the hint at its end, and the input's attributes."""
        example = self._example()
        given = {"placeholder": example, "autocomplete": "off", "spellcheck": "false", "maxlength": max_length,
                 # text, not numeric: the value shown ("6 Dec 2026") has letters and a phone's number pad has no "/"
                 "inputmode": "text"}
        return f"{description} {self._hint(example)}".strip(), {**given, **(render_kw or {})}

    def _value(self) -> str:
        if self._is_value(self.data) and not self.process_errors:
            return self._write(self.data)
        return self.raw_data[0] if self.raw_data else ""

    def process_formdata(self, valuelist: list[str]) -> None:
        if not valuelist:
            return
        self.data = None
        if valuelist[0] == "":
            return  # nothing typed: InputRequired or Optional says what that means
        self.data = self._read(valuelist[0])


class DayField(_WrittenAsShown, DateField):
    """A day in a form: a text input showing its value as pages write a day, reading what a person types day
    first (``read_day``), refusing anything else with a message beside the field that says how to write it.

    A DateField still (ProgrammeForm's year range applies), rendered as text with the format as its placeholder and
    at the end of its hint. An input that was read is shown back as the pages write it ("6/12/2026" comes back as
    "6 Dec 2026"); one that was refused is shown as typed, to be corrected."""

    def __init__(self, label: str | None = None, validators: Any = None, *, description: str = "",
                 render_kw: dict[str, Any] | None = None, **kwargs: Any) -> None:
        description, render_kw = self._typed_input(description, render_kw, MAX_LENGTH)
        super().__init__(label, validators, description=description, render_kw=render_kw, **kwargs)

    def _example(self) -> str:
        return format_day(EXAMPLE_DAY)

    def _hint(self, example: str) -> str:
        return _("Day month year, for example %(example)s.", example=example)

    def _is_value(self, value: Any) -> bool:
        return isinstance(value, date)

    def _write(self, value: date) -> str:
        return format_day(value)

    def _read(self, text: str) -> date:
        return read_day(text)


class DayTimeField(_WrittenAsShown, DateTimeField):
    """A moment in a form (a wall-clock time in the programme's time zone, naive, as a datetime-local input gave
    it): a text input showing "6 Dec 2026 17:00", reading a day as DayField does followed by hours:minutes
    (``read_moment``), refusing anything else with a message that says how to write it.

    A DateTimeField still (ProgrammeForm's year range applies)."""

    def __init__(self, label: str | None = None, validators: Any = None, *, description: str = "",
                 render_kw: dict[str, Any] | None = None, **kwargs: Any) -> None:
        description, render_kw = self._typed_input(description, render_kw, MAX_MOMENT_LENGTH)
        super().__init__(label, validators, description=description, render_kw=render_kw, **kwargs)

    def _example(self) -> str:
        return write_moment(EXAMPLE_MOMENT)

    def _hint(self, example: str) -> str:
        return _("Day month year and the time, 24-hour, for example %(example)s.", example=example)

    def _is_value(self, value: Any) -> bool:
        return isinstance(value, datetime)

    def _write(self, value: datetime) -> str:
        return write_moment(value)

    def _read(self, text: str) -> datetime:
        return read_moment(text)
