"""Forms for creating and editing calls."""

from __future__ import annotations

from wtforms import SelectField, StringField, TextAreaField
from wtforms.validators import DataRequired, InputRequired, Length, Optional, ValidationError

from programme.core.fields import DayTimeField
from programme.core.forms import MoneyField, ProgrammeForm, at_most_places, positive


class NewCallForm(ProgrammeForm):
    rules_file = SelectField("Rules file", validators=[DataRequired()])


class StageDatesForm(ProgrammeForm):
    """A stage's submission period (a staged call, issue 18)."""

    opens_at = DayTimeField("Opens", validators=[InputRequired("Give the stage's opening time.")],
                            description="In the programme's time zone.")
    closes_at = DayTimeField("Closes (deadline)", validators=[InputRequired("Give the stage's deadline.")],
                             description="In the programme's time zone.")

    def validate_closes_at(self, field: DayTimeField) -> None:
        if field.data and self.opens_at.data and field.data <= self.opens_at.data:
            raise ValidationError("The stage must close after it opens.")


class CallDraftForm(ProgrammeForm):
    name = StringField("Name", validators=[DataRequired(), Length(min=3, max=200)])
    description = TextAreaField("Description", validators=[Optional(), Length(max=10000)])
    # InputRequired, not DataRequired: a typed 0 or "abc" gets its own message, not "give the budget".
    budget = MoneyField("Budget", validators=[InputRequired("Give the call's budget."), positive, at_most_places(2)])
    per_initiative_cap = MoneyField(
        "Cap per initiative", validators=[InputRequired("Give the cap per initiative."), positive, at_most_places(2)]
    )
    opens_at = DayTimeField("Opens", validators=[Optional()], description="In the programme's time zone.")
    closes_at = DayTimeField("Closes (deadline)", validators=[Optional()], description="In the programme's time zone.")

    def validate_per_initiative_cap(self, field: MoneyField) -> None:
        if self.budget.data is not None and field.data is not None and field.data > self.budget.data:
            raise ValidationError("The cap per initiative cannot exceed the budget.")

    def validate_closes_at(self, field: DayTimeField) -> None:
        if field.data and self.opens_at.data and field.data <= self.opens_at.data:
            raise ValidationError("The call must close after it opens.")
