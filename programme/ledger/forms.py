"""The forms of the ledger page: the trial balance's as-of date, and the period of the ledger export. Both are
read from the query string (GET, no CSRF token: they change nothing)."""

from __future__ import annotations

from wtforms.validators import InputRequired, Optional, ValidationError

from programme.core.fields import DayField
from programme.core.forms import ProgrammeForm
from programme.core.timezone import format_day

#: A period of the ledger export: years from the first to the last day, at most.
MAX_PERIOD_YEARS = 50


class AsOfForm(ProgrammeForm):
    class Meta:
        csrf = False

    as_of = DayField("As of", validators=[Optional()],
                     description="Only entries with a value date on or before this day; empty for all.")


class PeriodForm(ProgrammeForm):
    class Meta:
        csrf = False

    date_from = DayField("From", validators=[InputRequired(message="Give the first day of the period.")])
    date_to = DayField("To", validators=[InputRequired(message="Give the last day of the period.")],
                       description="Included.")

    def validate_date_to(self, field: DayField) -> None:
        start, end = self.date_from.data, field.data
        if start is None or end is None:
            return
        if end < start:
            raise ValidationError(f"The period ends ({format_day(end)}) before it starts ({format_day(start)}).")
        if end.year - start.year > MAX_PERIOD_YEARS:
            raise ValidationError(f"Give a period of at most {MAX_PERIOD_YEARS} years.")
