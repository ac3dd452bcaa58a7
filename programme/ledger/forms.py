"""The forms of the ledger page: the trial balance's as-of date, and the period of the ledger export. Both are
read from the query string (GET, no CSRF token: they change nothing)."""

from __future__ import annotations

from wtforms.validators import InputRequired, Optional, ValidationError

from programme.core.fields import DayField
from programme.core.forms import ProgrammeForm
from programme.core.texts import gettext as _
from programme.core.texts import lazy_gettext as _l
from programme.core.texts import lazy_pgettext
from programme.core.timezone import format_day

#: A period of the ledger export: years from the first to the last day, at most.
MAX_PERIOD_YEARS = 50


class AsOfForm(ProgrammeForm):
    class Meta:
        csrf = False

    as_of = DayField(_l("As of"), validators=[Optional()],
                     description=_l("Only entries with a value date on or before this day; empty for all."))


class PeriodForm(ProgrammeForm):
    class Meta:
        csrf = False

    date_from = DayField(lazy_pgettext("period", "From"),
                         validators=[InputRequired(message=_l("Give the first day of the period."))])
    date_to = DayField(lazy_pgettext("period", "To"),
                       validators=[InputRequired(message=_l("Give the last day of the period."))],
                       description=_l("Included."))

    def validate_date_to(self, field: DayField) -> None:
        start, end = self.date_from.data, field.data
        if start is None or end is None:
            return
        if end < start:
            raise ValidationError(_("The period ends (%(end)s) before it starts (%(start)s).", end=format_day(end),
                                    start=format_day(start)))
        if end.year - start.year > MAX_PERIOD_YEARS:
            raise ValidationError(_("Give a period of at most %(number)s years.", number=MAX_PERIOD_YEARS))
