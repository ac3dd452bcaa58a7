"""The forms of the initiative pages: request a tranche, reject one, record its payment; submit and judge a
funding request; record co-financing with its evidence."""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

from flask_wtf import FlaskForm
from flask_wtf.file import FileField, FileRequired
from wtforms import FieldList, FormField, RadioField, SelectField, StringField, TextAreaField
from wtforms.validators import DataRequired, InputRequired, Length, Optional

from programme.core.fields import DayField
from programme.core.forms import MoneyField, ProgrammeForm, at_most_places, choices, positive

#: An amount as a person writes it: digits, commas only between groups of three, a point before the cents.
_AMOUNT = re.compile(r"^\d{1,3}(,\d{3})+(\.\d+)?$|^\d+(\.\d+)?$")
AMOUNT_HELP = "In euros and cents, with a point before the cents: 10000.00 or 10,000.00."


class AmountField(MoneyField):
    """A money amount without a sign, an exponent ("1e3") or letters; commas are MoneyField's to judge
    (thousands in groups of three, never a decimal comma)."""

    def process_formdata(self, valuelist: list[str]) -> None:
        if valuelist and valuelist[0].strip():
            raw = valuelist[0].strip().replace(" ", "").replace("\u00a0", "")
            if "," not in raw and not _AMOUNT.match(raw):
                self.data = None
                raise ValueError(f"'{valuelist[0].strip()[:40]}' is not an amount. {AMOUNT_HELP}")
        super().process_formdata(valuelist)


class RequestForm(ProgrammeForm):
    amount = AmountField("Amount", validators=[InputRequired(message="Give the amount."), positive,
                                               at_most_places(2)], description=AMOUNT_HELP,
                         render_kw={"inputmode": "decimal", "autocomplete": "off"})
    purpose = TextAreaField("Purpose", validators=[DataRequired(message="Say what the tranche is for."),
                                                   Length(max=2000, message="Write at most 2,000 characters.")])


class RejectForm(ProgrammeForm):
    reason = TextAreaField("Reason for the rejection", validators=[
        DataRequired(message="Give the reason for the rejection."),
        Length(max=2000, message="Write at most 2,000 characters.")])


class PaymentForm(ProgrammeForm):
    value_date = DayField("Value date", validators=[InputRequired(message="Give the value date of the transfer.")],
                          description="The day the bank moved the money (not after today).")
    bank_reference = StringField("Bank reference", validators=[
        DataRequired(message="Give the bank's reference of the transfer."),
        Length(max=100, message="Write at most 100 characters.")])


def row_ids(form: FlaskForm, row: int) -> FlaskForm:
    """Give the fields of a form repeated on each row of a table ids of their own (names stay the same)."""
    for name, field in form._fields.items():
        if name == "csrf_token":
            continue
        field.id = f"{name}-{row}"
        field.label.field_id = field.id
    return form


#: The instruments a funding request may ask for, and the kinds of co-financing (the models' enum values).
INSTRUMENTS = [("matching_grant", "Matching grant"), ("loan", "Loan"), ("both", "Matching grant and loan")]
CONTRIBUTION_KINDS = [("cash", "Cash"), ("in_kind", "In kind")]


class FundingRequestForm(ProgrammeForm):
    title = StringField("Activity", validators=[DataRequired(message="Give the activity a title."),
                                                Length(max=200, message="Write at most 200 characters.")])
    description = TextAreaField("Description", validators=[
        DataRequired(message="Describe the activity."), Length(max=10000, message="Write at most 10,000 characters.")],
        description="What the members will do, who takes part, what it should change for the firms.")
    cost = AmountField("Total cost", validators=[InputRequired(message="Give the cost."), positive,
                                                 at_most_places(2)], description=AMOUNT_HELP,
                       render_kw={"inputmode": "decimal", "autocomplete": "off"})
    instrument = RadioField("Asking for", choices=choices(INSTRUMENTS),
                            validators=[InputRequired(message="Choose a matching grant, a loan or both.")])
    grant_asked = AmountField("Matching grant asked", default=None, validators=[Optional(), at_most_places(2)],
                              description="0 or empty when only a loan is asked.",
                              render_kw={"inputmode": "decimal", "autocomplete": "off"})
    loan_asked = AmountField("Loan asked", default=None, validators=[Optional(), at_most_places(2)],
                             description="0 or empty when only a matching grant is asked.",
                             render_kw={"inputmode": "decimal", "autocomplete": "off"})


class _Judgement(ProgrammeForm):
    decision = RadioField("Decision", choices=choices([("approve", "Approve"), ("reject", "Reject")]),
                          validators=[InputRequired(message="Approve or reject the request.")])
    grant_approved = AmountField("Matching grant approved", validators=[Optional(), at_most_places(2)],
                                 description="Empty: as asked. Lower to approve with changes.",
                                 render_kw={"inputmode": "decimal", "autocomplete": "off"})
    loan_approved = AmountField("Loan ceiling approved", validators=[Optional(), at_most_places(2)],
                                description="Empty: as asked. Lower to approve with changes.",
                                render_kw={"inputmode": "decimal", "autocomplete": "off"})
    reason = TextAreaField("Reason for the decision", validators=[
        DataRequired(message="Give the reason for the decision."),
        Length(max=5000, message="Write at most 5,000 characters.")])


def judgement_form(criteria: Sequence[Any], **kwargs: Any) -> FlaskForm:
    """The manager's judgement of a funding request: for each of the rules' request criteria (``key``,
    ``title``) whether it is met (``met_<key>``) and a note (``note_<key>``), then the decision."""

    class JudgementForm(_Judgement):
        pass

    for criterion in criteria:
        setattr(JudgementForm, f"met_{criterion.key}", RadioField(
            criterion.title, choices=choices([("yes", "Met"), ("no", "Not met")]),
            validators=[InputRequired(message="Say whether the request meets this criterion.")]))
        setattr(JudgementForm, f"note_{criterion.key}", TextAreaField(
            "Note", validators=[DataRequired(message="Write a note on this criterion."),
                                Length(max=2000, message="Write at most 2,000 characters.")]))
    form = JudgementForm(**kwargs)
    form.criteria = [(c, form[f"met_{c.key}"], form[f"note_{c.key}"]) for c in criteria]
    return form


def _optional_id(value: object) -> int | None:
    if value in (None, "", "None"):
        return None
    return int(value)  # type: ignore[arg-type]


class ContributionForm(ProgrammeForm):
    grant_id = SelectField("For the matching grant", coerce=int,
                           validators=[InputRequired(message="Choose the matching grant.")])
    kind = RadioField("Kind", choices=choices(CONTRIBUTION_KINDS), default="cash",
                      validators=[InputRequired(message="Choose cash or in kind.")])
    amount = AmountField("Amount (in kind: its documented value)", validators=[
        InputRequired(message="Give the amount."), positive, at_most_places(2)], description=AMOUNT_HELP,
        render_kw={"inputmode": "decimal", "autocomplete": "off"})
    contributed_on = DayField("Date of the contribution", validators=[
        InputRequired(message="Give the date of the contribution.")],
        description="The day the members paid or provided it (not after today).")
    description = TextAreaField("What it is", validators=[
        DataRequired(message="Say what the contribution is."), Length(max=5000, message="Write at most 5,000 "
                                                                                        "characters.")])
    contributor_id = SelectField("Contributed by (optional)", coerce=_optional_id, validate_choice=False)
    file = FileField("Evidence", validators=[FileRequired("Upload the evidence of the contribution.")],
                     description="An invoice, a bank statement, a signed valuation: PDF or an office document.")


# The facilitation fund: a claim lists its costs, one row each (rows left empty are not costs).

#: The rows of a new claim's form.
CLAIM_ROWS = 5


class CostItemForm(ProgrammeForm):
    """One cost of a facilitation claim (a row of ``ClaimForm``; the claim's own form carries the CSRF token)."""

    class Meta:
        csrf = False

    kind = SelectField("Kind of cost", validate_choice=False)
    description = StringField("What it was", validators=[Optional(), Length(max=2000, message="Write at most "
                                                                                              "2,000 characters.")],
                              description="For example: facilitator, two days of workshops.")
    incurred_on = DayField("Date of the cost", validators=[Optional()])
    amount = AmountField("Amount", validators=[Optional(), positive, at_most_places(2)], description=AMOUNT_HELP,
                         render_kw={"inputmode": "decimal", "autocomplete": "off"})
    file = FileField("Evidence", description="The invoice or receipt: PDF or an office document.")


class ClaimForm(ProgrammeForm):
    items = FieldList(FormField(CostItemForm), min_entries=CLAIM_ROWS, max_entries=CLAIM_ROWS)
    amount = AmountField("Payment asked (optional)", validators=[Optional(), positive, at_most_places(2)],
                         description="Empty: the most the fund allows for these costs (its share, within its "
                                     "ceiling and caps).",
                         render_kw={"inputmode": "decimal", "autocomplete": "off"})
    note = TextAreaField("Note for the fund administrator (optional)", validators=[
        Optional(), Length(max=5000, message="Write at most 5,000 characters.")])


def claim_form(kinds: Sequence[tuple[str, str]], **kwargs: Any) -> ClaimForm:
    """The claim form with the kinds of cost the call's rules make eligible on every row."""
    form = ClaimForm(**kwargs)
    for row in form.items:
        row.form.kind.choices = choices(kinds)
    return form
