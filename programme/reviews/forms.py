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
from programme.core.money import symbols_in_use
from programme.core.texts import gettext as _
from programme.core.texts import lazy_gettext as _l
from programme.core.texts import lazy_pgettext
from programme.reviews.aggregation import weighted_sum
from programme.reviews.domain import ScoreError, ScoreScale, Scoring, display, is_justification_note, plain_number
from programme.reviews.models import Outcome

# The programme manager's forms ------------------------------------------------------------------------


DEADLINE_HELP = _l("Local time in the programme's time zone. Reviewers are reminded before it; reviews not submitted "
                   "by then are flagged late.")
OUTCOME_CHOICES = choices([
    (Outcome.FUNDED.value, _l("Funded: award the start-up grant")),
    (Outcome.RESERVE.value, _l("Reserve: on the reserve list")),
    (Outcome.REJECTED.value, lazy_pgettext("decision outcome", "Rejected")),
])


REASON = [Length(max=5000, message=_l("Write at most 5,000 characters."))]
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
    """The scale's points as options of a select, lowest first: each valued plainly (0, 0.5, 1 ... 5, as the form and
    the script read it) and shown with the language's decimal mark (0,5 in Spanish)."""
    shown = [format(point.normalize(), "f") for point in points]
    mark = symbols_in_use()[0]
    return choices([("", _("— score —")), *((value, value.replace(".", mark)) for value in shown)])


def criterion_choices(criteria: Iterable[Criterion]) -> list[SelectChoice]:
    return choices([("", _("— criterion —")), *((c.key, c.title) for c in criteria)])


class DeadlineForm(ProgrammeForm):
    """The review deadline: when the review starts, and when the manager moves it."""

    deadline = DayTimeField(_l("Review deadline"), description=DEADLINE_HELP,
                            validators=[InputRequired(_l("Give the review deadline as a date and time."))])


class AddReviewerForm(ProgrammeForm):
    user_id = SelectField(_l("Reviewer"), coerce=int, validators=[DataRequired(_l("Choose a reviewer to add."))],
                          description=_l("People with the reviewer role who are not in this call's pool yet."))


class AssignForm(ProgrammeForm):
    proposal_id = SelectField(_l("Proposal"), coerce=int, validators=[DataRequired(_l("Choose the proposal."))])
    reviewer_id = SelectField(_l("Reviewer"), coerce=int, validators=[DataRequired(_l("Choose the reviewer."))],
                              description=_l("Reviewers in conflict with the proposal are refused, with the reason."))


class MoveForm(ProgrammeForm):
    reviewer_id = SelectField(_l("Give the review to"), coerce=int,
                              validators=[DataRequired(_l("Choose the reviewer who takes the review over."))])


class ConsensusForm(ProgrammeForm):
    criterion_key = SelectField(_l("Criterion"), validators=[DataRequired(_l("Choose the criterion."))],
                                id="consensus-criterion")
    score = SelectField(_l("Consensus score"), validators=[DataRequired(_l("Choose the score the panel agreed on."))],
                        id="consensus-score")
    reason = TextAreaField(
        _l("Why the panel agreed on it"), id="consensus-reason",
        validators=[DataRequired(_l("Write the reason the panel agreed on this score.")), *REASON],
        description=_l("Kept with the score and in the audit log; the score replaces the mean of the reviews."),
    )


class ReopenForm(ProgrammeForm):
    reason = TextAreaField(
        _l("Reason for reopening"), id="reopen-reason",
        validators=[DataRequired(_l("Give the reason for reopening the review.")), *REASON],
        description=_l("The reviewer reads it in its notification; the audit log keeps it."),
    )


class DecisionForm(ProgrammeForm):
    outcome = SelectField(_l("Decision"), choices=OUTCOME_CHOICES,
                          validators=[DataRequired(_l("Choose the decision."))], id="decision-outcome")
    reason = TextAreaField(
        _l("Reason"), id="decision-reason",
        validators=[DataRequired(_l("Write the reason for the decision.")), *REASON],
        description=_l("Shown to the group with its scores when the decisions are published. A decision against "
                       "the ranking is marked on the ranking page."),
    )


# The reviewer's forms ---------------------------------------------------------------------------------


EXPERTISE_HELP = _l("The sectors you know, separated by commas or semicolons, e.g. food processing; dairy. "
                    "Assignment prefers proposals of these sectors for you.")
#: The longest justification a reviewer may write per criterion.
JUSTIFICATION_MAX = 10000


class ExpertiseForm(ProgrammeForm):
    expertise = StringField(
        _l("Your sectors of expertise"), description=EXPERTISE_HELP,
        validators=[Optional(), Length(max=2000, message=_l("Write at most 2,000 characters."))],
    )


SUBJECT_HELP = _l("The reference of a proposal of this call, or the name of an organisation of its applicant "
                  "groups (a part of the name is enough when only one organisation has it). A conflict with an "
                  "organisation covers every group it is a member of.")


class DeclareConflictForm(ProgrammeForm):
    """A conflict with one organisation (and so every group it is a member of) or with one proposal, named by what
    the reviewer types: the service finds which (``reviews.conflict_subject``)."""

    subject = StringField(_l("Proposal reference or organisation"), id="conflict-subject", description=SUBJECT_HELP,
                          validators=[DataRequired(_l("Type a proposal's reference or an organisation's name.")),
                                      Length(max=200, message=_l("Write at most 200 characters."))])
    note = TextAreaField(_l("Note"), id="conflict-note", description=_l("Optional: the link, in a few words."),
                         validators=[Optional(), Length(max=2000, message=_l("Write at most 2,000 characters."))])


class OnScale:
    """A score on the call's scale. Left empty, it is refused only when the review is submitted."""

    def __init__(self, scale: ScoreScale):
        self.scale = scale

    def __call__(self, form: ReviewForm, field: SelectField) -> None:
        value = (field.data or "").strip()
        if not value:
            if form.submitting:
                raise ValidationError(_("Give a score %(scale)s.", scale=self.scale.describe()))
            return
        try:
            self.scale.check(value)
        except ScoreError as error:
            raise ValidationError(_("Give %(what)s.", what=str(error))) from None


class JustifiedEnough:
    """A justification of the rules' minimum length (blanks around it not counted), checked on submission."""

    def __init__(self, minimum: int):
        self.minimum = minimum

    def __call__(self, form: ReviewForm, field: TextAreaField) -> None:
        if not form.submitting:
            return
        count = len((field.data or "").strip())
        if count < self.minimum:
            raise ValidationError(_("Write at least %(minimum)s characters to justify this score: the "
                                    "justification has %(count)s.", minimum=self.minimum, count=count))


class ReviewForm(ProgrammeForm):
    """A review's score and justification per criterion; :func:`review_form` adds the fields of a call's
    criteria. "Save draft" keeps partial work (a score given must be on the scale); "Submit review" needs
    everything."""

    keys: tuple[str, ...] = ()
    save_draft = SubmitField(_l("Save draft"))
    submit_review = SubmitField(_l("Submit review"))
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
                target = self.justification(key) if is_justification_note(part) else self.score(key)
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
    return _("Score for %(criterion)s (%(low)s–%(high)s, weight %(weight)s)", criterion=criterion.title,
             low=plain_number(scale.minimum), high=plain_number(scale.maximum), weight=plain_number(criterion.weight))


def review_form(criteria: Iterable[Criterion], scale: ScoreScale, min_length: int, **kwargs: Any) -> ReviewForm:
    """The scoring form of a call: a score select (the scale's points, or none) and a justification per
    criterion, each labelled with its criterion, validated against the scale and, on submission, the rules'
    minimum length."""
    criteria = list(criteria)

    class CallReviewForm(ReviewForm):
        pass

    points = score_choices(scale.points)
    most = f"{JUSTIFICATION_MAX:,}"
    hint = _("At least %(minimum)s characters to submit.", minimum=min_length) if min_length else None
    for criterion in criteria:
        setattr(CallReviewForm, f"score_{criterion.key}", SelectField(
            score_label(criterion, scale), choices=points, validate_choice=False, validators=[OnScale(scale)],
            description=_("%(scale)s; at least %(threshold)s to be fundable.", scale=scale.describe().capitalize(),
                          threshold=format(criterion.threshold.normalize(), "f")),
        ))
        setattr(CallReviewForm, f"justification_{criterion.key}", TextAreaField(
            _("Justification for %(criterion)s", criterion=criterion.title), description=hint,
            filters=[one_kind_of_line_break],
            validators=[JustifiedEnough(min_length),
                        Length(max=JUSTIFICATION_MAX, message=_("Write at most %(maximum)s characters.",
                                                                maximum=most))],
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
    def rounded(self) -> Decimal:
        """The total as the page and its script write it: rounded to 2 places (half up); the page writes it without
        trailing zeros, with the language's decimal mark (``|number``)."""
        rounded = display(self.value)
        assert rounded is not None
        return rounded

    @property
    def shown(self) -> str:
        """The rounded total as plain text (a point before the decimals, no trailing zeros)."""
        return plain_number(self.rounded)

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
