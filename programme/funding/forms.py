"""The forms of the initiative pages: request a tranche, reject one, record its payment."""

from __future__ import annotations

import re

from flask_wtf import FlaskForm
from wtforms import DateField, StringField, TextAreaField
from wtforms.validators import DataRequired, InputRequired, Length

from programme.core.forms import MoneyField, at_most_places, positive

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


class RequestForm(FlaskForm):
    amount = AmountField("Amount", validators=[InputRequired(message="Give the amount."), positive,
                                               at_most_places(2)], description=AMOUNT_HELP,
                         render_kw={"inputmode": "decimal", "autocomplete": "off"})
    purpose = TextAreaField("Purpose", validators=[DataRequired(message="Say what the tranche is for."),
                                                   Length(max=2000, message="Write at most 2,000 characters.")])


class RejectForm(FlaskForm):
    reason = TextAreaField("Reason for the rejection", validators=[
        DataRequired(message="Give the reason for the rejection."),
        Length(max=2000, message="Write at most 2,000 characters.")])


class PaymentForm(FlaskForm):
    value_date = DateField("Value date", validators=[InputRequired(message="Give the value date of the transfer.")],
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
