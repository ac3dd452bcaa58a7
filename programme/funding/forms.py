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
from programme.core.money import symbols_in_use
from programme.core.texts import gettext as _
from programme.core.texts import lazy_gettext as _l


def _amount_pattern(decimal: str, group: str) -> re.Pattern[str]:
    """An amount as a person writes it: digits, the thousands separator only between groups of three, the decimal
    mark before the cents (English: commas and a point; Spanish and Portuguese: points and a comma)."""
    d, g = re.escape(decimal), re.escape(group)
    return re.compile(rf"^\d{{1,3}}({g}\d{{3}})+({d}\d+)?$|^\d+({d}\d+)?$")


#: An amount as a person writes it in English (``_amount_pattern``).
_AMOUNT = _amount_pattern(".", ",")
AMOUNT_HELP = _l("In euros and cents, with a point before the cents: 10000.00 or 10,000.00.")


class AmountField(MoneyField):
    """A money amount without a sign, an exponent ("1e3") or letters; thousands separators are MoneyField's to judge
    (in groups of three, in the language's way)."""

    def process_formdata(self, valuelist: list[str]) -> None:
        if valuelist and valuelist[0].strip():
            raw = valuelist[0].strip().replace(" ", "").replace("\u00a0", "")
            decimal, group = symbols_in_use()
            pattern = _AMOUNT if (decimal, group) == (".", ",") else _amount_pattern(decimal, group)
            if group not in raw and not pattern.match(raw):
                self.data = None
                raise ValueError(_("'%(typed)s' is not an amount. %(help)s", typed=valuelist[0].strip()[:40],
                                   help=str(AMOUNT_HELP)))
        super().process_formdata(valuelist)


class RequestForm(ProgrammeForm):
    amount = AmountField(_l("Amount"), validators=[InputRequired(message=_l("Give the amount.")), positive,
                                                   at_most_places(2)], description=AMOUNT_HELP,
                         render_kw={"inputmode": "decimal", "autocomplete": "off"})
    purpose = TextAreaField(_l("Purpose"), validators=[
        DataRequired(message=_l("Say what the tranche is for.")),
        Length(max=2000, message=_l("Write at most 2,000 characters."))])


class RejectForm(ProgrammeForm):
    reason = TextAreaField(_l("Reason for the rejection"), validators=[
        DataRequired(message=_l("Give the reason for the rejection.")),
        Length(max=2000, message=_l("Write at most 2,000 characters."))])


class PaymentForm(ProgrammeForm):
    value_date = DayField(_l("Value date"),
                          validators=[InputRequired(message=_l("Give the value date of the transfer."))],
                          description=_l("The day the bank moved the money (not after today)."))
    bank_reference = StringField(_l("Bank reference"), validators=[
        DataRequired(message=_l("Give the bank's reference of the transfer.")),
        Length(max=100, message=_l("Write at most 100 characters."))])


def row_ids(form: FlaskForm, row: int) -> FlaskForm:
    """Give the fields of a form repeated on each row of a table ids of their own (names stay the same)."""
    for name, field in form._fields.items():
        if name == "csrf_token":
            continue
        field.id = f"{name}-{row}"
        field.label.field_id = field.id
    return form


#: The instruments a funding request may ask for, and the kinds of co-financing (the models' enum values).
INSTRUMENTS = [("matching_grant", _l("Matching grant")), ("loan", _l("Loan")),
               ("both", _l("Matching grant and loan"))]
CONTRIBUTION_KINDS = [("cash", _l("Cash")), ("in_kind", _l("In kind"))]


class FundingRequestForm(ProgrammeForm):
    title = StringField(_l("Activity"), validators=[DataRequired(message=_l("Give the activity a title.")),
                                                    Length(max=200, message=_l("Write at most 200 characters."))])
    description = TextAreaField(_l("Description"), validators=[
        DataRequired(message=_l("Describe the activity.")),
        Length(max=10000, message=_l("Write at most 10,000 characters."))],
        description=_l("What the members will do, who takes part, what it should change for the firms."))
    cost = AmountField(_l("Total cost"), validators=[InputRequired(message=_l("Give the cost.")), positive,
                                                     at_most_places(2)], description=AMOUNT_HELP,
                       render_kw={"inputmode": "decimal", "autocomplete": "off"})
    instrument = RadioField(_l("Asking for"), choices=choices(INSTRUMENTS),
                            validators=[InputRequired(message=_l("Choose a matching grant, a loan or both."))])
    grant_asked = AmountField(_l("Matching grant asked"), default=None, validators=[Optional(), at_most_places(2)],
                              description=_l("0 or empty when only a loan is asked."),
                              render_kw={"inputmode": "decimal", "autocomplete": "off"})
    loan_asked = AmountField(_l("Loan asked"), default=None, validators=[Optional(), at_most_places(2)],
                             description=_l("0 or empty when only a matching grant is asked."),
                             render_kw={"inputmode": "decimal", "autocomplete": "off"})


class _Judgement(ProgrammeForm):
    decision = RadioField(_l("Decision"), choices=choices([("approve", _l("Approve")), ("reject", _l("Reject"))]),
                          validators=[InputRequired(message=_l("Approve or reject the request."))])
    grant_approved = AmountField(_l("Matching grant approved"), validators=[Optional(), at_most_places(2)],
                                 description=_l("Empty: as asked. Lower to approve with changes."),
                                 render_kw={"inputmode": "decimal", "autocomplete": "off"})
    loan_approved = AmountField(_l("Loan ceiling approved"), validators=[Optional(), at_most_places(2)],
                                description=_l("Empty: as asked. Lower to approve with changes."),
                                render_kw={"inputmode": "decimal", "autocomplete": "off"})
    reason = TextAreaField(_l("Reason for the decision"), validators=[
        DataRequired(message=_l("Give the reason for the decision.")),
        Length(max=5000, message=_l("Write at most 5,000 characters."))])


def judgement_form(criteria: Sequence[Any], **kwargs: Any) -> FlaskForm:
    """The manager's judgement of a funding request: for each of the rules' request criteria (``key``,
    ``title``) whether it is met (``met_<key>``) and a note (``note_<key>``), then the decision."""

    class JudgementForm(_Judgement):
        pass

    for criterion in criteria:
        setattr(JudgementForm, f"met_{criterion.key}", RadioField(
            criterion.title, choices=choices([("yes", _l("Met")), ("no", _l("Not met"))]),
            validators=[InputRequired(message=_l("Say whether the request meets this criterion."))]))
        setattr(JudgementForm, f"note_{criterion.key}", TextAreaField(
            _l("Note"), validators=[DataRequired(message=_l("Write a note on this criterion.")),
                                Length(max=2000, message=_l("Write at most 2,000 characters."))]))
    form = JudgementForm(**kwargs)
    form.criteria = [(c, form[f"met_{c.key}"], form[f"note_{c.key}"]) for c in criteria]
    return form


def _optional_id(value: object) -> int | None:
    if value in (None, "", "None"):
        return None
    return int(value)  # type: ignore[arg-type]


class ContributionForm(ProgrammeForm):
    grant_id = SelectField(_l("For the matching grant"), coerce=int,
                           validators=[InputRequired(message=_l("Choose the matching grant."))])
    kind = RadioField(_l("Kind"), choices=choices(CONTRIBUTION_KINDS), default="cash",
                      validators=[InputRequired(message=_l("Choose cash or in kind."))])
    amount = AmountField(_l("Amount (in kind: its documented value)"), validators=[
        InputRequired(message=_l("Give the amount.")), positive, at_most_places(2)], description=AMOUNT_HELP,
        render_kw={"inputmode": "decimal", "autocomplete": "off"})
    contributed_on = DayField(_l("Date of the contribution"), validators=[
        InputRequired(message=_l("Give the date of the contribution."))],
        description=_l("The day the members paid or provided it (not after today)."))
    description = TextAreaField(_l("What it is"), validators=[
        DataRequired(message=_l("Say what the contribution is.")),
        Length(max=5000, message=_l("Write at most 5,000 characters."))])
    contributor_id = SelectField(_l("Contributed by (optional)"), coerce=_optional_id, validate_choice=False)
    file = FileField(_l("Evidence"), validators=[FileRequired(_l("Upload the evidence of the contribution."))],
                     description=_l("An invoice, a bank statement, a signed valuation: PDF or an office document."))


# The facilitation fund: a claim lists its costs, one row each (rows left empty are not costs).

#: The rows of a new claim's form.
CLAIM_ROWS = 5


class CostItemForm(ProgrammeForm):
    """One cost of a facilitation claim (a row of ``ClaimForm``; the claim's own form carries the CSRF token)."""

    class Meta:
        csrf = False

    kind = SelectField(_l("Kind of cost"), validate_choice=False)
    description = StringField(_l("What it was"), validators=[
        Optional(), Length(max=2000, message=_l("Write at most 2,000 characters."))],
                              description=_l("For example: facilitator, two days of workshops."))
    incurred_on = DayField(_l("Date of the cost"), validators=[Optional()])
    amount = AmountField(_l("Amount"), validators=[Optional(), positive, at_most_places(2)], description=AMOUNT_HELP,
                         render_kw={"inputmode": "decimal", "autocomplete": "off"})
    file = FileField(_l("Evidence"), description=_l("The invoice or receipt: PDF or an office document."))


class ClaimForm(ProgrammeForm):
    items = FieldList(FormField(CostItemForm), min_entries=CLAIM_ROWS, max_entries=CLAIM_ROWS)
    amount = AmountField(_l("Payment asked (optional)"), validators=[Optional(), positive, at_most_places(2)],
                         description=_l("Empty: the most the fund allows for these costs (its share, within its "
                                        "ceiling and caps)."),
                         render_kw={"inputmode": "decimal", "autocomplete": "off"})
    note = TextAreaField(_l("Note for the fund administrator (optional)"), validators=[
        Optional(), Length(max=5000, message=_l("Write at most 5,000 characters."))])


def claim_form(kinds: Sequence[tuple[str, str]], **kwargs: Any) -> ClaimForm:
    """The claim form with the kinds of cost the call's rules make eligible on every row."""
    form = ClaimForm(**kwargs)
    for row in form.items:
        row.form.kind.choices = choices(kinds)
    return form
