"""The forms of the review pages."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from wtforms import HiddenField, SelectField, StringField, SubmitField, TextAreaField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, InputRequired, Length, Optional, ValidationError

from programme.calls.models import Criterion
from programme.core.fields import DayTimeField
from programme.core.forms import ProgrammeForm, choices
from programme.reviews.aggregation import weighted_sum
from programme.reviews.domain import ScoreError, ScoreScale, Scoring, display, plain_number
from programme.reviews.models import Outcome

# The programme manager's forms ------------------------------------------------------------------------


DEADLINE_HELP = ("Local time in the programme's time zone. Reviewers are reminded before it; reviews not submitted "
                 "by then are flagged late.")
OUTCOME_CHOICES = choices([
    (Outcome.FUNDED.value, "Funded: award the start-up grant"),
    (Outcome.RESERVE.value, "Reserve: on the reserve list"),
    (Outcome.REJECTED.value, "Rejected"),
])
REASON = [Length(max=5000, message="Write at most 5,000 characters.")]
#: The value of the hidden ``confirmed`` field that only a confirmation (its page, or the script's dialog) sets.
CONFIRMED = "yes"


class ConfirmForm(ProgrammeForm):
    """The button of an action that cannot be undone (publish the decisions, decide the rest as ranked): its POST
    does the action only with ``confirmed`` set; without it the view shows the confirmation page."""

    confirmed = HiddenField()

    @property
    def given(self) -> bool:
        return self.confirmed.data == CONFIRMED


def score_choices(points: Iterable[Decimal]) -> list[SelectChoice]:
    """The scale's points as options of a select, written plainly (0, 0.5, 1 ... 5), lowest first."""
    shown = [format(point.normalize(), "f") for point in points]
    return choices([("", "— score —"), *((value, value) for value in shown)])


def criterion_choices(criteria: Iterable[Criterion]) -> list[SelectChoice]:
    return choices([("", "— criterion —"), *((c.key, c.title) for c in criteria)])


class DeadlineForm(ProgrammeForm):
    """The review deadline: when the review starts, and when the manager moves it."""

    deadline = DayTimeField("Review deadline", description=DEADLINE_HELP,
                            validators=[InputRequired("Give the review deadline as a date and time.")])


class AddReviewerForm(ProgrammeForm):
    user_id = SelectField("Reviewer", coerce=int, validators=[DataRequired("Choose a reviewer to add.")],
                          description="People with the reviewer role who are not in this call's pool yet.")


class AssignForm(ProgrammeForm):
    proposal_id = SelectField("Proposal", coerce=int, validators=[DataRequired("Choose the proposal.")])
    reviewer_id = SelectField("Reviewer", coerce=int, validators=[DataRequired("Choose the reviewer.")],
                              description="Reviewers in conflict with the proposal are refused, with the reason.")


class MoveForm(ProgrammeForm):
    reviewer_id = SelectField("Give the review to", coerce=int,
                              validators=[DataRequired("Choose the reviewer who takes the review over.")])


class ConsensusForm(ProgrammeForm):
    criterion_key = SelectField("Criterion", validators=[DataRequired("Choose the criterion.")],
                                id="consensus-criterion")
    score = SelectField("Consensus score", validators=[DataRequired("Choose the score the panel agreed on.")],
                        id="consensus-score")
    reason = TextAreaField(
        "Why the panel agreed on it", id="consensus-reason",
        validators=[DataRequired("Write the reason the panel agreed on this score."), *REASON],
        description="Kept with the score and in the audit log; the score replaces the mean of the reviews.",
    )


class ReopenForm(ProgrammeForm):
    reason = TextAreaField(
        "Reason for reopening", id="reopen-reason",
        validators=[DataRequired("Give the reason for reopening the review."), *REASON],
        description="The reviewer reads it in its notification; the audit log keeps it.",
    )


class DecisionForm(ProgrammeForm):
    outcome = SelectField("Decision", choices=OUTCOME_CHOICES, validators=[DataRequired("Choose the decision.")],
                          id="decision-outcome")
    reason = TextAreaField(
        "Reason", id="decision-reason",
        validators=[DataRequired("Write the reason for the decision."), *REASON],
        description="Shown to the group with its scores when the decisions are published. A decision against "
                    "the ranking is marked on the ranking page.",
    )


# The reviewer's forms ---------------------------------------------------------------------------------


EXPERTISE_HELP = ("The sectors you know, separated by commas or semicolons, e.g. food processing; dairy. Assignment "
                  "prefers proposals of these sectors for you.")
#: The longest justification a reviewer may write per criterion.
JUSTIFICATION_MAX = 10000


class ExpertiseForm(ProgrammeForm):
    expertise = StringField(
        "Your sectors of expertise", description=EXPERTISE_HELP,
        validators=[Optional(), Length(max=2000, message="Write at most 2,000 characters.")],
    )


SUBJECT_HELP = ("The reference of a proposal of this call, or the name of an organisation of its applicant groups "
                "(a part of the name is enough when only one organisation has it). A conflict with an organisation "
                "covers every group it is a member of.")


class DeclareConflictForm(ProgrammeForm):
    """A conflict with one organisation (and so every group it is a member of) or with one proposal, named by what
    the reviewer types: the service finds which (``reviews.conflict_subject``)."""

    subject = StringField("Proposal reference or organisation", id="conflict-subject", description=SUBJECT_HELP,
                          validators=[DataRequired("Type a proposal's reference or an organisation's name."),
                                      Length(max=200, message="Write at most 200 characters.")])
    note = TextAreaField("Note", id="conflict-note", description="Optional: the link, in a few words.",
                         validators=[Optional(), Length(max=2000, message="Write at most 2,000 characters.")])


class OnScale:
    """A score on the call's scale. Left empty, it is refused only when the review is submitted."""

    def __init__(self, scale: ScoreScale):
        self.scale = scale

    def __call__(self, form: ReviewForm, field: SelectField) -> None:
        value = (field.data or "").strip()
        if not value:
            if form.submitting:
                raise ValidationError(f"Give a score {self.scale.describe()}.")
            return
        try:
            self.scale.check(value)
        except ScoreError as error:
            raise ValidationError(f"Give {error}.") from None


class JustifiedEnough:
    """A justification of the rules' minimum length (blanks around it not counted), checked on submission."""

    def __init__(self, minimum: int):
        self.minimum = minimum

    def __call__(self, form: ReviewForm, field: TextAreaField) -> None:
        if not form.submitting:
            return
        count = len((field.data or "").strip())
        if count < self.minimum:
            raise ValidationError(f"Write at least {self.minimum} characters to justify this score: the "
                                  f"justification has {count}.")


class ReviewForm(ProgrammeForm):
    """A review's score and justification per criterion; :func:`review_form` adds the fields of a call's
    criteria. "Save draft" keeps partial work (a score given must be on the scale); "Submit review" needs
    everything."""

    keys: tuple[str, ...] = ()
    save_draft = SubmitField("Save draft")
    submit_review = SubmitField("Submit review")
    #: Set by the confirmation (the script's dialog); without it "Submit review" saves the draft and asks first.
    confirmed = HiddenField()

    @property
    def submitting(self) -> bool:
        return bool(self.submit_review.data)

    @property
    def confirmation_given(self) -> bool:
        return self.confirmed.data == CONFIRMED

    def score(self, key: str) -> SelectField:
        return self[f"score_{key}"]

    def justification(self, key: str) -> TextAreaField:
        return self[f"justification_{key}"]

    def scores(self) -> dict[str, str]:
        return {key: (self.score(key).data or "").strip() for key in self.keys}

    def justifications(self) -> dict[str, str]:
        return {key: self.justification(key).data or "" for key in self.keys}

    def add_problems(self, problems: Mapping[str, str]) -> None:
        """The service's reasons a review cannot be submitted (per criterion key), beside their fields."""
        for key, message in problems.items():
            if key not in self.keys:
                continue
            for part in message.split("; "):
                target = self.justification(key) if part.startswith("a justification") else self.score(key)
                text = f"{part[0].upper()}{part[1:]}."
                target.errors = [*target.errors, text] if isinstance(target.errors, list) else [text]


def review_data(scores: Iterable[Any]) -> dict[str, str]:
    """A saved review's scores and justifications as the form's data."""
    data: dict[str, str] = {}
    for row in scores:
        data[f"score_{row.criterion_key}"] = "" if row.score is None else format(row.score.normalize(), "f")
        data[f"justification_{row.criterion_key}"] = row.justification
    return data


def one_kind_of_line_break(text: str | None) -> str | None:
    """A justification with its line breaks as typed (a browser sends each as CR LF): counted and kept as one
    character each, as the page's counter counts them."""
    return text.replace("\r\n", "\n").replace("\r", "\n") if isinstance(text, str) else text


def score_label(criterion: Criterion, scale: ScoreScale) -> str:
    """The label of a criterion's score field: its title, the scale and its weight."""
    return (f"Score for {criterion.title} ({plain_number(scale.minimum)}–{plain_number(scale.maximum)}, "
            f"weight {plain_number(criterion.weight)})")


def review_form(criteria: Iterable[Criterion], scale: ScoreScale, min_length: int, **kwargs: Any) -> ReviewForm:
    """The scoring form of a call: a score select (the scale's points, or none) and a justification per
    criterion, each labelled with its criterion, validated against the scale and, on submission, the rules'
    minimum length."""
    criteria = list(criteria)

    class CallReviewForm(ReviewForm):
        pass

    points = score_choices(scale.points)
    hint = f"At least {min_length} characters to submit." if min_length else None
    for criterion in criteria:
        setattr(CallReviewForm, f"score_{criterion.key}", SelectField(
            score_label(criterion, scale), choices=points, validate_choice=False, validators=[OnScale(scale)],
            description=f"{scale.describe().capitalize()}; at least {format(criterion.threshold.normalize(), 'f')} "
                        "to be fundable.",
        ))
        setattr(CallReviewForm, f"justification_{criterion.key}", TextAreaField(
            f"Justification for {criterion.title}", description=hint, filters=[one_kind_of_line_break],
            validators=[JustifiedEnough(min_length),
                        Length(max=JUSTIFICATION_MAX, message=f"Write at most {JUSTIFICATION_MAX:,} characters.")],
        ))
    CallReviewForm.keys = tuple(c.key for c in criteria)
    return CallReviewForm(**kwargs)


# The running weighted total -----------------------------------------------------------------------------


@dataclass(frozen=True)
class RunningTotal:
    """A review's weighted total so far: weight x score summed over the criteria scored yet (the review's total
    once every criterion is scored), as ``aggregation.weighted_sum`` computes it; the page's script computes the
    same from the weights the page carries."""

    value: Decimal
    scored: int
    criteria: int
    maximum: Decimal

    @property
    def shown(self) -> str:
        """The total as the page and its script write it: rounded to 2 places (half up), no trailing zeros."""
        rounded = display(self.value)
        assert rounded is not None
        return plain_number(rounded)

    @property
    def complete(self) -> bool:
        return self.scored == self.criteria


def running_total(scores: Mapping[str, str], scoring: Scoring) -> RunningTotal:
    """The weighted total of the scores given so far (as the form's text: a score off the scale, or none, is left
    out), by the server's own formula."""
    given: dict[str, Decimal] = {}
    for criterion in scoring.criteria:
        try:
            given[criterion.key] = scoring.scale.check((scores.get(criterion.key) or "").strip())
        except ScoreError:
            continue
    scored = tuple(c for c in scoring.criteria if c.key in given)
    value = Decimal(weighted_sum(given, Scoring(criteria=scored, scale=scoring.scale))) if scored else Decimal(0)
    return RunningTotal(value=value, scored=len(scored), criteria=len(scoring.criteria),
                        maximum=scoring.scale.maximum * scoring.total_weight)
