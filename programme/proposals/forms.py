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
from programme.proposals.domain import COST_TYPES, MAX_QUARTER, ActivityKind, ClusterStage, CoFinancingKind
from programme.proposals.models import Activity, AttachmentKind

TEXT = [Optional(), Length(max=10000)]
LINE = [Optional(), Length(max=300)]

STAGE_CHOICES = choices([
    ("", "— choose —"),
    (ClusterStage.LATENT.value, "Latent: firms in the same trade, hardly any cooperation yet"),
    (ClusterStage.POTENTIAL.value, "Potential: some joint action, many links still missing"),
    (ClusterStage.WORKING.value, "Working: the members already cooperate and want to do more"),
])
KIND_CHOICES = choices((kind.value, kind.label) for kind in ActivityKind)
COST_TYPE_CHOICES = choices(COST_TYPES.items())
COFINANCING_CHOICES = choices((kind.value, kind.label) for kind in CoFinancingKind)
ATTACHMENT_CHOICES = choices((kind.value, kind.label) for kind in AttachmentKind)
DECISION_CHOICES = choices([("eligible", "Eligible"), ("ineligible", "Ineligible")])

ACTIVITY_KIND_HELP = (
    "Facilitation: facilitator fees, venues, travel, fact-finding. "
    "Practical activity: trips to fairs, joint stands, training, testing, export consortia, shared equipment."
)


def not_negative(form: FlaskForm, field: MoneyField) -> None:
    if field.data is not None and field.data < 0:
        raise ValidationError("The amount cannot be below zero.")


class StartProposalForm(ProgrammeForm):
    group_id = SelectField("Applicant group", coerce=int, validators=[DataRequired("Choose the group.")])
    title = StringField("Title of the initiative", validators=[DataRequired(), Length(min=3, max=300)],
                        description="A short name; you can change it later.")


class ClusterForm(ProgrammeForm):
    title = StringField("Title of the initiative", validators=[DataRequired(), Length(min=3, max=300)])
    sector = StringField("Sector or value chain", validators=LINE,
                         description="What the members make or do together, e.g. wooden furniture.")
    territory = StringField("Territory", validators=LINE,
                            description="Where the cluster is, in your own words: a town, a district, a valley.")
    stage = SelectField("Stage of the cluster, as the group sees it", choices=STAGE_CHOICES, validators=[Optional()])
    main_problem = TextAreaField("Its main problem", validators=TEXT)
    market_failure = TextAreaField(
        "The market failure the initiative addresses", validators=TEXT,
        description="Why the firms would not solve the problem each on its own or through the market.",
    )


class ObjectivesForm(ProgrammeForm):
    objectives = TextAreaField("Objectives of the initiative", validators=TEXT)
    sustainability_plan = TextAreaField(
        "Plan to become self-funding", validators=TEXT,
        description="How the members will pay for the initiative as the programme's share declines.",
    )


class ActivityForm(ProgrammeForm):
    title = StringField("Activity", validators=[DataRequired(), Length(max=300)])
    kind = SelectField("Kind", choices=KIND_CHOICES, validators=[DataRequired()], description=ACTIVITY_KIND_HELP)
    description = TextAreaField("Description", validators=TEXT)
    start_quarter = IntegerField(
        "First quarter", validators=[InputRequired("Give the first quarter."), NumberRange(1, MAX_QUARTER)],
        description=f"Quarters are counted from the start of the initiative: 1 to {MAX_QUARTER}.",
    )
    end_quarter = IntegerField(
        "Last quarter", validators=[InputRequired("Give the last quarter."), NumberRange(1, MAX_QUARTER)]
    )
    cost = MoneyField("Cost", validators=[InputRequired("Give the cost (0 if none)."), not_negative,
                                          at_most_places(2)])

    def validate_end_quarter(self, field: IntegerField) -> None:
        if field.data is not None and self.start_quarter.data is not None and field.data < self.start_quarter.data:
            raise ValidationError("The last quarter cannot be before the first.")


class BudgetLineForm(ProgrammeForm):
    activity_id = SelectField("Activity", coerce=int, default=0)
    cost_type = SelectField("Cost type", choices=COST_TYPE_CHOICES, validators=[DataRequired()])
    description = StringField("Description", validators=[DataRequired(), Length(max=500)])
    amount = MoneyField("Amount", validators=[InputRequired("Give the amount."), positive, at_most_places(2)])


class RequestedAmountForm(ProgrammeForm):
    requested_amount = MoneyField(
        "Amount requested from the programme",
        validators=[InputRequired("Give the amount requested."), positive, at_most_places(2)],
    )


class CoFinancingForm(ProgrammeForm):
    organisation_id = SelectField("Member organisation", coerce=int,
                                  validators=[DataRequired("Choose the organisation.")])
    kind = SelectField("Kind", choices=COFINANCING_CHOICES, validators=[DataRequired()],
                       description="Cash, or in kind: staff time, premises, equipment, valued at cost.")
    amount = MoneyField("Amount", validators=[InputRequired("Give the amount."), positive, at_most_places(2)])
    description = StringField("What it is", validators=[Optional(), Length(max=500)])


class IndicatorForm(ProgrammeForm):
    name = StringField("Indicator", validators=[DataRequired(), Length(max=300)],
                       description="Something the members can count or measure, e.g. joint orders won.")
    unit = StringField("Unit", validators=[DataRequired(), Length(max=60)])
    baseline = FiniteDecimalField("Baseline (now)", validators=[InputRequired("Give the baseline."),
                                                               at_most_places(4)])
    target = FiniteDecimalField("Target", validators=[InputRequired("Give the target."), at_most_places(4)])


class AttachmentForm(ProgrammeForm):
    kind = SelectField("Kind of document", choices=ATTACHMENT_CHOICES, validators=[DataRequired()])
    file = FileField("File", validators=[FileRequired("Choose a file to upload.")])


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
    reason = TextAreaField("Reason for withdrawing", validators=[
        DataRequired("Give the reason for withdrawing."),
        Length(min=10, max=5000, message="Write at least 10 characters."),
    ])


class OverrideForm(ProgrammeForm):
    decision = SelectField("Decision", choices=DECISION_CHOICES, validators=[DataRequired()])
    reason = TextAreaField("Reason", validators=[
        DataRequired("Write the reason for the decision."),
        Length(min=10, max=5000, message="Write at least 10 characters."),
    ])


def organisation_choices(organisations: list[Organisation]) -> list[SelectChoice]:
    return choices([(0, "— choose —"), *((o.id, f"{o.name} ({o.kind_label})") for o in organisations)])


def activity_choices(activities: list[Activity]) -> list[SelectChoice]:
    return choices([(0, "— not tied to an activity —"), *((a.id, a.title) for a in activities)])

