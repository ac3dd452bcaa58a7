"""Forms for creating and editing calls."""

from __future__ import annotations

from wtforms import SelectField, StringField, TextAreaField
from wtforms.validators import DataRequired, InputRequired, Length, Optional, ValidationError

from programme.core.fields import DayTimeField
from programme.core.forms import MoneyField, ProgrammeForm, at_most_places, positive
from programme.core.texts import gettext as _
from programme.core.texts import lazy_gettext as _l


class NewCallForm(ProgrammeForm):
    rules_file = SelectField(_l("Rules file"), validators=[DataRequired()])


class StageDatesForm(ProgrammeForm):
    """A stage's submission period (a staged call, issue 18)."""

    opens_at = DayTimeField(_l("Opens"), validators=[InputRequired(_l("Give the stage's opening time."))],
                            description=_l("In the programme's time zone."))
    closes_at = DayTimeField(_l("Closes (deadline)"), validators=[InputRequired(_l("Give the stage's deadline."))],
                             description=_l("In the programme's time zone."))

    def validate_closes_at(self, field: DayTimeField) -> None:
        if field.data and self.opens_at.data and field.data <= self.opens_at.data:
            raise ValidationError(_("The stage must close after it opens."))


class CallDraftForm(ProgrammeForm):
    name = StringField(_l("Name"), validators=[DataRequired(), Length(min=3, max=200)])
    description = TextAreaField(_l("Description"), validators=[Optional(), Length(max=10000)])
    # InputRequired, not DataRequired: a typed 0 or "abc" gets its own message, not "give the budget".
    budget = MoneyField(_l("Budget"), validators=[InputRequired(_l("Give the call's budget.")), positive,
                                                  at_most_places(2)])
    per_initiative_cap = MoneyField(
        _l("Cap per initiative"),
        validators=[InputRequired(_l("Give the cap per initiative.")), positive, at_most_places(2)],
    )
    opens_at = DayTimeField(_l("Opens"), validators=[Optional()], description=_l("In the programme's time zone."))
    closes_at = DayTimeField(_l("Closes (deadline)"), validators=[Optional()],
                             description=_l("In the programme's time zone."))

    def validate_per_initiative_cap(self, field: MoneyField) -> None:
        if self.budget.data is not None and field.data is not None and field.data > self.budget.data:
            raise ValidationError(_("The cap per initiative cannot exceed the budget."))

    def validate_closes_at(self, field: DayTimeField) -> None:
        if field.data and self.opens_at.data and field.data <= self.opens_at.data:
            raise ValidationError(_("The call must close after it opens."))
