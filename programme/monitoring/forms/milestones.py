"""The form of the milestone-review page."""

from __future__ import annotations

from wtforms import RadioField, SelectField, TextAreaField
from wtforms.validators import DataRequired, InputRequired, Length, Optional

from programme.core.fields import DayField
from programme.core.forms import ProgrammeForm, choices
from programme.funding.models import InitiativeStatus
from programme.monitoring.models import MilestoneDecision

DECISIONS = [(d.value, d.label) for d in MilestoneDecision]


def decision_choices() -> list:
    return choices(DECISIONS)


def stage_choices(stages: list[InitiativeStatus]) -> list:
    """The next-stage select: keep the current stage, or one of the later ones."""
    return choices([("", "Keep the current stage"), *((s.value, s.label) for s in stages)])


class MilestoneReviewForm(ProgrammeForm):
    decision = RadioField("Decision", choices=decision_choices,
                          validators=[InputRequired(message="Choose continue, continue with conditions or "
                                                            "terminate.")])
    reason = TextAreaField("Reason", validators=[DataRequired(message="Give the reason for the decision."),
                                                 Length(max=10000, message="Write at most 10,000 characters.")])
    conditions = TextAreaField("Conditions", validators=[
        Optional(), Length(max=10000, message="Write at most 10,000 characters.")],
        description="Required when the initiative continues with conditions.")
    next_status = SelectField("Next stage", validators=[Optional()],
                              description="A review may move the initiative on to a later stage, never back.")
    decided_on = DayField("Decided on", validators=[InputRequired(message="Give the day of the decision.")],
                          description="The day of the decision; not after today.")
