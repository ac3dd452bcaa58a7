"""Forms of a proposal's sections, its budget, attachments, submission and the manager's override.

Every section can be saved half done: the overview says what a section still lacks. The
services check the rules again (amounts, quarters, organisations) and raise RuleViolation
naming the field, which the view shows beside it.
"""

from __future__ import annotations

from flask_wtf import FlaskForm
from flask_wtf.file import FileField, FileRequired
from wtforms import HiddenField, IntegerField, SelectField, StringField, TextAreaField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, InputRequired, Length, NumberRange, Optional, ValidationError

from programme.accounts.models import Organisation
from programme.core.forms import FiniteDecimalField, MoneyField, ProgrammeForm, at_most_places, choices, positive
from programme.core.texts import gettext as _
from programme.core.texts import lazy_gettext as _l
from programme.proposals.domain import ACTIVITY_KINDS, COFINANCING_KINDS, COST_TYPES, MAX_QUARTER, ClusterStage
from programme.proposals.models import ATTACHMENT_KINDS, Activity

TEXT = [Optional(), Length(max=10000)]
LINE = [Optional(), Length(max=300)]

STAGE_CHOICES = choices([
    ("", _l("— choose —")),
    (ClusterStage.LATENT.value, _l("Latent: firms in the same trade, hardly any cooperation yet")),
    (ClusterStage.POTENTIAL.value, _l("Potential: some joint action, many links still missing")),
    (ClusterStage.WORKING.value, _l("Working: the members already cooperate and want to do more")),
])
KIND_CHOICES = choices(ACTIVITY_KINDS.items())
COST_TYPE_CHOICES = choices(COST_TYPES.items())
COFINANCING_CHOICES = choices(COFINANCING_KINDS.items())
ATTACHMENT_CHOICES = choices(ATTACHMENT_KINDS.items())
DECISION_CHOICES = choices([("eligible", _l("Eligible")), ("ineligible", _l("Ineligible"))])

ACTIVITY_KIND_HELP = _l(
    "Facilitation: facilitator fees, venues, travel, fact-finding. "
    "Practical activity: trips to fairs, joint stands, training, testing, export consortia, shared equipment."
)


def not_negative(form: FlaskForm, field: MoneyField) -> None:
    if field.data is not None and field.data < 0:
        raise ValidationError(_("The amount cannot be below zero."))


class StartProposalForm(ProgrammeForm):
    group_id = SelectField(_l("Applicant group"), coerce=int, validators=[DataRequired(_l("Choose the group."))])
    title = StringField(_l("Title of the initiative"), validators=[DataRequired(), Length(min=3, max=300)],
                        description=_l("A short name; you can change it later."))


class ClusterForm(ProgrammeForm):
    title = StringField(_l("Title of the initiative"), validators=[DataRequired(), Length(min=3, max=300)])
    sector = StringField(_l("Sector or value chain"), validators=LINE,
                         description=_l("What the members make or do together, e.g. wooden furniture."))
    territory = StringField(_l("Territory"), validators=LINE,
                            description=_l("Where the cluster is, in your own words: a town, a district, a valley."))
    stage = SelectField(_l("Stage of the cluster, as the group sees it"), choices=STAGE_CHOICES,
                        validators=[Optional()])
    main_problem = TextAreaField(_l("Its main problem"), validators=TEXT)
    market_failure = TextAreaField(
        _l("The market failure the initiative addresses"), validators=TEXT,
        description=_l("Why the firms would not solve the problem each on its own or through the market."),
    )


class ObjectivesForm(ProgrammeForm):
    objectives = TextAreaField(_l("Objectives of the initiative"), validators=TEXT)
    sustainability_plan = TextAreaField(
        _l("Plan to become self-funding"), validators=TEXT,
        description=_l("How the members will pay for the initiative as the programme's share declines."),
    )


class ActivityForm(ProgrammeForm):
    title = StringField(_l("Activity"), validators=[DataRequired(), Length(max=300)])
    kind = SelectField(_l("Kind"), choices=KIND_CHOICES, validators=[DataRequired()], description=ACTIVITY_KIND_HELP)
    description = TextAreaField(_l("Description"), validators=TEXT)
    start_quarter = IntegerField(
        _l("First quarter"), validators=[InputRequired(_l("Give the first quarter.")), NumberRange(1, MAX_QUARTER)],
        description=_l("Quarters are counted from the start of the initiative: 1 to %(last)s.", last=MAX_QUARTER),
    )
    end_quarter = IntegerField(
        _l("Last quarter"), validators=[InputRequired(_l("Give the last quarter.")), NumberRange(1, MAX_QUARTER)]
    )
    cost = MoneyField(_l("Cost"), validators=[InputRequired(_l("Give the cost (0 if none).")), not_negative,
                                          at_most_places(2)])

    def validate_end_quarter(self, field: IntegerField) -> None:
        if field.data is not None and self.start_quarter.data is not None and field.data < self.start_quarter.data:
            raise ValidationError(_("The last quarter cannot be before the first."))


class BudgetLineForm(ProgrammeForm):
    activity_id = SelectField(_l("Activity"), coerce=int, default=0)
    cost_type = SelectField(_l("Cost type"), choices=COST_TYPE_CHOICES, validators=[DataRequired()])
    description = StringField(_l("Description"), validators=[DataRequired(), Length(max=500)])
    amount = MoneyField(_l("Amount"), validators=[InputRequired(_l("Give the amount.")), positive,
                                                  at_most_places(2)])


class RequestedAmountForm(ProgrammeForm):
    requested_amount = MoneyField(
        _l("Amount requested from the programme"),
        validators=[InputRequired(_l("Give the amount requested.")), positive, at_most_places(2)],
    )


class CoFinancingForm(ProgrammeForm):
    organisation_id = SelectField(_l("Member organisation"), coerce=int,
                                  validators=[DataRequired(_l("Choose the organisation."))])
    kind = SelectField(_l("Kind"), choices=COFINANCING_CHOICES, validators=[DataRequired()],
                       description=_l("Cash, or in kind: staff time, premises, equipment, valued at cost."))
    amount = MoneyField(_l("Amount"), validators=[InputRequired(_l("Give the amount.")), positive,
                                                  at_most_places(2)])
    description = StringField(_l("What it is"), validators=[Optional(), Length(max=500)])


class IndicatorForm(ProgrammeForm):
    name = StringField(_l("Indicator"), validators=[DataRequired(), Length(max=300)],
                       description=_l("Something the members can count or measure, e.g. joint orders won."))
    unit = StringField(_l("Unit"), validators=[DataRequired(), Length(max=60)])
    baseline = FiniteDecimalField(_l("Baseline (now)"), validators=[InputRequired(_l("Give the baseline.")),
                                                               at_most_places(4)])
    target = FiniteDecimalField(_l("Target"), validators=[InputRequired(_l("Give the target.")), at_most_places(4)])


class AttachmentForm(ProgrammeForm):
    kind = SelectField(_l("Kind of document"), choices=ATTACHMENT_CHOICES, validators=[DataRequired()])
    file = FileField(_l("File"), validators=[FileRequired(_l("Choose a file to upload."))])


#: The value of the hidden ``confirmed`` field that only a confirmation (its page, or the script's dialog) sets.
CONFIRMED = "yes"


class SubmitForm(ProgrammeForm):
    """Submitting the proposal: the POST submits only with ``confirmed`` set; without it the view shows the
    confirmation page (what submitting freezes, and whether the call accepts the draft as it is)."""

    confirmed = HiddenField()

    @property
    def given(self) -> bool:
        return self.confirmed.data == CONFIRMED


class WithdrawForm(ProgrammeForm):
    reason = TextAreaField(_l("Reason for withdrawing"), validators=[
        DataRequired(_l("Give the reason for withdrawing.")),
        Length(min=10, max=5000, message=_l("Write at least 10 characters.")),
    ])


class OverrideForm(ProgrammeForm):
    decision = SelectField(_l("Decision"), choices=DECISION_CHOICES, validators=[DataRequired()])
    reason = TextAreaField(_l("Reason"), validators=[
        DataRequired(_l("Write the reason for the decision.")),
        Length(min=10, max=5000, message=_l("Write at least 10 characters.")),
    ])


def organisation_choices(organisations: list[Organisation]) -> list[SelectChoice]:
    return choices([(0, _("— choose —")), *((o.id, f"{o.name} ({o.kind_label})") for o in organisations)])


def activity_choices(activities: list[Activity]) -> list[SelectChoice]:
    return choices([(0, _("— not tied to an activity —")), *((a.id, a.title) for a in activities)])

