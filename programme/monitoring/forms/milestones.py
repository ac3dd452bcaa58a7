"""The form of the milestone-review page."""

from __future__ import annotations

from wtforms import RadioField, SelectField, TextAreaField
from wtforms.validators import DataRequired, InputRequired, Length, Optional

from programme.core.fields import DayField
from programme.core.forms import ProgrammeForm, choices
from programme.core.texts import gettext as _
from programme.core.texts import lazy_gettext as _l
from programme.funding.models import InitiativeStatus
from programme.monitoring.models import DECISION_LABELS, MilestoneDecision

DECISIONS = [(d.value, DECISION_LABELS[d.value]) for d in MilestoneDecision]


def decision_choices() -> list:
    return choices(DECISIONS)


def stage_choices(stages: list[InitiativeStatus]) -> list:
    """The next-stage select: keep the current stage, or one of the later ones."""
    return choices([("", _("Keep the current stage")), *((s.value, s.label) for s in stages)])


class MilestoneReviewForm(ProgrammeForm):
    decision = RadioField(_l("Decision"), choices=decision_choices,
                          validators=[InputRequired(message=_l("Choose continue, continue with conditions or "
                                                               "terminate."))])
    reason = TextAreaField(_l("Reason"), validators=[DataRequired(message=_l("Give the reason for the decision.")),
                                                     Length(max=10000, message=_l("Write at most 10,000 characters."))])
    conditions = TextAreaField(_l("Conditions"), validators=[
        Optional(), Length(max=10000, message=_l("Write at most 10,000 characters."))],
        description=_l("Required when the initiative continues with conditions."))
    next_status = SelectField(_l("Next stage"), validators=[Optional()],
                              description=_l("A review may move the initiative on to a later stage, never back."))
    decided_on = DayField(_l("Decided on"), validators=[InputRequired(message=_l("Give the day of the decision."))],
                          description=_l("The day of the decision; not after today."))
