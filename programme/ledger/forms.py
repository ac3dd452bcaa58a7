"""The forms of the ledger page: the trial balance's as-of date, and the period of the ledger export. Both are
read from the query string (GET, no CSRF token: they change nothing)."""

from __future__ import annotations

from datetime import date

from wtforms import DateField
from wtforms.validators import InputRequired, Optional, ValidationError

from programme.core.forms import ProgrammeForm

DATE_HELP = "A date as YYYY-MM-DD."
#: A period of the ledger export: years from the first to the last day, at most.
MAX_PERIOD_YEARS = 50


class IsoDateField(DateField):
    """A date typed as YYYY-MM-DD; anything else is refused with a message that says so."""

    def process_formdata(self, valuelist: list[str]) -> None:
        if not valuelist or not valuelist[0].strip():
            self.data = None
            return
        text = valuelist[0].strip()
        try:
            self.data = date.fromisoformat(text) if len(text) == 10 else None
        except ValueError:
            self.data = None
        if self.data is None:
            raise ValueError(f"'{text[:40]}' is not a date: write it as YYYY-MM-DD, for example 2025-03-31.")


class AsOfForm(ProgrammeForm):
    class Meta:
        csrf = False

    as_of = IsoDateField("As of", validators=[Optional()],
                         description="Only entries with a value date on or before this day; empty for all.")


class PeriodForm(ProgrammeForm):
    class Meta:
        csrf = False

    date_from = IsoDateField("From", validators=[InputRequired(message="Give the first day of the period.")],
                             description=DATE_HELP)
    date_to = IsoDateField("To", validators=[InputRequired(message="Give the last day of the period.")],
                           description=DATE_HELP + " Included.")

    def validate_date_to(self, field: IsoDateField) -> None:
        start, end = self.date_from.data, field.data
        if start is None or end is None:
            return
        if end < start:
            raise ValidationError(f"The period ends ({end.isoformat()}) before it starts ({start.isoformat()}).")
        if end.year - start.year > MAX_PERIOD_YEARS:
            raise ValidationError(f"Give a period of at most {MAX_PERIOD_YEARS} years.")
