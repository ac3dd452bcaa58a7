"""The audit log's filter form: read from the query string (GET, no CSRF token: it changes nothing)."""

from __future__ import annotations

from datetime import date

from wtforms import IntegerField, StringField
from wtforms.validators import Length, NumberRange, Optional, ValidationError

from programme.core.fields import DayField
from programme.core.forms import ProgrammeForm
from programme.core.timezone import format_day

#: The largest id a filter accepts (the bounded integer of every route).
MAX_ID = 2**31 - 1


class AuditFilterForm(ProgrammeForm):
    class Meta:
        csrf = False

    object_type = StringField("Object type", validators=[Optional(), Length(max=40)],
                              description="As the log names it, for example Loan or Initiative.")
    object_id = IntegerField("Object id", validators=[Optional(), NumberRange(min=1, max=MAX_ID)])
    person = StringField("Person", validators=[Optional(), Length(max=255)],
                         description="An e-mail address, part of a name, or 'system'.")
    action = StringField("Action", validators=[Optional(), Length(max=80)],
                         description="Exact (loans.loan_made), or every action of an area: loans. or loans*")
    date_from = DayField("From", validators=[Optional()], description="A day, in the programme's time zone.")
    date_to = DayField("To", validators=[Optional()], description="Included.")

    def validate_date_to(self, field: DayField) -> None:
        start, end = self.date_from.data, field.data
        if isinstance(start, date) and isinstance(end, date) and end < start:
            raise ValidationError(f"The period ends ({format_day(end)}) before it starts ({format_day(start)}).")
