"""Times are stored in UTC and shown in the programme's time zone."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

from babel.dates import format_date
from flask import current_app, has_app_context

from programme.core.i18n import current_language

#: The programme's clock: None is the system's; a test sets another once (tests/conftest.py's `clock`).
_clock: Callable[[], datetime] | None = None


def now() -> datetime:
    """The current moment (aware, UTC) by the programme's clock: what the pages pass to services as `now`."""
    return _clock() if _clock is not None else datetime.now(UTC)


def to_local(moment: datetime, zone: str) -> datetime:
    return moment.astimezone(ZoneInfo(zone))


def local_date(moment: datetime, zone: str) -> date:
    """The date of a moment in the programme's time zone."""
    return moment.astimezone(ZoneInfo(zone)).date()


def programme_today(zone: str) -> date:
    """Today's date in the programme's time zone, by the programme's clock."""
    return local_date(now(), zone)


def local_to_utc(moment: datetime, zone: str) -> datetime:
    """A wall-clock time typed in the programme's zone, as aware UTC."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=ZoneInfo(zone))
    return moment.astimezone(UTC)


#: How pages write a day: day, month, year ("6 Dec 2026"); a moment adds the time ("6 Dec 2026, 15:00 SAST").
#: The default of the configuration's DATE_FORMAT, which is what pages, messages and notifications use.
DATE_FORMAT = "%-d %b %Y"


def date_pattern() -> str:
    """The strftime pattern a day is written with: the configuration's DATE_FORMAT, or the default outside an app
    (the one place it is read, so a service, a form and a page write a day alike)."""
    return current_app.config.get("DATE_FORMAT", DATE_FORMAT) if has_app_context() else DATE_FORMAT


def format_day(value: date | None, pattern: str | None = None) -> str:
    """A day as every page, message and notification writes it (``pattern``, by default the configuration's
    ``DATE_FORMAT``: "6 Dec 2026"); in another language than English, the default is written with that language's
    month names ("6 dic 2026", "6 dez. 2026")."""
    if value is None:
        return "–"
    chosen = pattern or date_pattern()
    if chosen == DATE_FORMAT:
        language = current_language()
        if language != "en":
            return format_date(value, "d MMM y", locale=language)
    return value.strftime(chosen)


def format_local(moment: datetime | None, zone: str, with_zone: bool = True) -> str:
    """A moment in the programme's time zone as pages write it: the day, then the 24-hour time ("6 Dec 2026, 15:00
    SAST")."""
    if moment is None:
        return "–"
    local = to_local(moment, zone)
    text = f"{format_day(local.date())}, {local:%H:%M}"
    return f"{text} {local.tzname()}" if with_zone else text
