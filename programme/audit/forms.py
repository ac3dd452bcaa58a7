"""The audit log's filter form: read from the query string (GET, no CSRF token: it changes nothing)."""

from __future__ import annotations

from datetime import date

from wtforms import IntegerField, StringField
from wtforms.validators import Length, NumberRange, Optional, ValidationError

from programme.core.fields import DayField
from programme.core.forms import ProgrammeForm
from programme.core.texts import gettext as _
from programme.core.texts import lazy_gettext as _l
from programme.core.texts import lazy_pgettext
from programme.core.timezone import format_day

#: The largest id a filter accepts (the bounded integer of every route).
MAX_ID = 2**31 - 1


class AuditFilterForm(ProgrammeForm):
    class Meta:
        csrf = False

    object_type = StringField(_l("Object type"), validators=[Optional(), Length(max=40)],
                              description=_l("As the log names it, for example Loan or Initiative."))
    object_id = IntegerField(_l("Object id"), validators=[Optional(), NumberRange(min=1, max=MAX_ID)])
    person = StringField(_l("Person"), validators=[Optional(), Length(max=255)],
                         description=_l("An e-mail address, part of a name, or 'system'."))
    action = StringField(_l("Action"), validators=[Optional(), Length(max=80)],
                         description=_l("Exact (loans.loan_made), or every action of an area: loans. or loans*"))
    date_from = DayField(lazy_pgettext("period", "From"), validators=[Optional()],
                         description=_l("A day, in the programme's time zone."))
    date_to = DayField(lazy_pgettext("period", "To"), validators=[Optional()], description=_l("Included."))

    def validate_date_to(self, field: DayField) -> None:
        start, end = self.date_from.data, field.data
        if isinstance(start, date) and isinstance(end, date) and end < start:
            raise ValidationError(_("The period ends (%(end)s) before it starts (%(start)s).", end=format_day(end),
                                    start=format_day(start)))
