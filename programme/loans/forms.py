"""The forms of the fund and loan pages: capitalise a fund, make a loan (with a preview of its schedule), record
a repayment, reschedule, write off, refund a credit, upload a bank statement.

Amounts are MoneyFields (Decimal, never a float); the annual rate is typed in percent (2.5 means 0.025) and
read as a Decimal. The limits of the call's rules are shown beside the fields; the services enforce them.
"""

from __future__ import annotations

from decimal import Decimal

from flask_wtf import FlaskForm
from flask_wtf.file import FileField, FileRequired
from wtforms import HiddenField, IntegerField, SelectField, StringField, SubmitField, TextAreaField
from wtforms.validators import DataRequired, InputRequired, Length, NumberRange, Optional, ValidationError

from programme.core.fields import DayField
from programme.core.forms import FiniteDecimalField, ProgrammeForm, at_most_places, choices, positive
from programme.funding.forms import AmountField
from programme.rulebook.schema import Loans

AMOUNT_HELP = "With a point before the cents: 10000.00 or 10,000.00."
GRACE_CHOICES = {"none": "No grace", "interest_only": "Interest only"}
FREQUENCY_CHOICES = {"monthly": "Monthly", "quarterly": "Quarterly"}
METHOD_CHOICES = {"annuity": "Annuity (equal instalments)", "equal_principal": "Equal principal (declining)"}
#: Places of the rate in percent: the column keeps six places of the fraction (0.025000), so four in percent.
RATE_PLACES = 4


def _amount(label: str, message: str) -> AmountField:
    return AmountField(label, validators=[InputRequired(message=message), positive, at_most_places(2)],
                       description=AMOUNT_HELP, render_kw={"inputmode": "decimal", "autocomplete": "off"})


def _reference(message: str = "Give the bank's reference of the transfer.") -> StringField:
    return StringField("Bank reference", validators=[DataRequired(message=message),
                                                     Length(max=100, message="Write at most 100 characters.")],
                       render_kw={"autocomplete": "off"})


def _rate_in_range(form: FlaskForm, field: FiniteDecimalField) -> None:
    if field.data is not None and not (Decimal(0) <= field.data <= Decimal(100)):
        raise ValidationError("Give a rate between 0 and 100 percent.")


def _percent(label: str, *required: object) -> FiniteDecimalField:
    return FiniteDecimalField(label, places=None, validators=[*required, _rate_in_range, at_most_places(RATE_PLACES)],
                              render_kw={"inputmode": "decimal", "autocomplete": "off"})


def rate_of(percent: Decimal | None) -> Decimal | None:
    """An annual rate typed in percent as the fraction the services take: 2.5 -> 0.025 (exact, Decimal)."""
    return None if percent is None else (percent / Decimal(100)).normalize()


def _periods(label: str, *, low: int, message: str) -> IntegerField:
    return IntegerField(label, validators=[InputRequired(message=message),
                                           NumberRange(min=low, max=1200, message=f"Give a whole number from {low}.")])


class CapitaliseForm(ProgrammeForm):
    amount = _amount("Amount", "Give the amount.")
    value_date = DayField("Value date", validators=[InputRequired(message="Give the value date of the transfer.")],
                          description="The day the bank moved the money (not after today).")
    bank_reference = _reference()
    note = TextAreaField("Note", validators=[Optional(), Length(max=2000, message="Write at most 2,000 characters.")])


class LoanForm(ProgrammeForm):
    borrower_id = SelectField("Borrower", coerce=int, validators=[DataRequired(message="Choose the borrower.")],
                              description="A member organisation of the initiative's group.")
    principal = _amount("Principal", "Give the principal.")
    annual_rate = _percent("Annual rate (percent)", InputRequired(message="Give the annual rate (0 is allowed)."))
    term_periods = _periods("Term (repayment periods)", low=1, message="Give the number of repayment periods.")
    grace_periods = _periods("Grace periods", low=0, message="Give the grace periods (0 for none).")
    grace = SelectField("Grace", choices=choices(GRACE_CHOICES.items()), default="none")
    frequency = SelectField("Frequency", choices=choices(FREQUENCY_CHOICES.items()), default="monthly")
    method = SelectField("Method", choices=choices(METHOD_CHOICES.items()), default="annuity")
    first_due = DayField("First due date", validators=[InputRequired(message="Give the first due date.")],
                         description="Later instalments keep its day of the month (or the month's last day).")
    disbursed_on = DayField("Disbursed on", validators=[InputRequired(message="Give the day the money was sent.")])
    bank_reference = _reference("Give the bank's reference of the disbursement.")
    purpose = TextAreaField("Purpose", validators=[DataRequired(message="Say what the loan is for."),
                                                   Length(max=2000, message="Write at most 2,000 characters.")])
    funding_request_id = SelectField("Funding request", coerce=int, default=0,
                                     description="An approved request with a loan part, if the loan answers one.")
    preview = SubmitField("Preview schedule")
    make = SubmitField("Make the loan")

    def validate_grace_periods(self, field: IntegerField) -> None:
        if field.data and self.grace.data == "none":
            raise ValidationError("Choose 'Interest only' as the grace, or give 0 grace periods.")

    def limit(self, rules: Loans) -> None:
        """Offer only what the call's rules allow, and say the limits beside the fields."""
        self.method.choices = choices((m, METHOD_CHOICES[m]) for m in rules.methods)
        self.frequency.choices = choices((f, FREQUENCY_CHOICES[f]) for f in rules.frequencies)
        rate = f"{(rules.max_rate * 100).normalize():f}"
        self.annual_rate.description = f"At most {rate} % a year under the call's rules; 0 is allowed. 2.5 means 2.5 %."
        self.term_periods.description = (f"Periods that repay principal, after the grace: at most "
                                         f"{rules.max_term_months} months in all.")
        self.grace_periods.description = f"Interest-only periods at the start: at most {rules.max_grace_months} months."


class RepaymentForm(ProgrammeForm):
    amount = _amount("Amount", "Give the amount received.")
    value_date = DayField("Value date", validators=[InputRequired(message="Give the value date of the transfer.")],
                          description="The day the bank received the money (not after today).")
    bank_reference = _reference()


class RescheduleForm(ProgrammeForm):
    term_periods = _periods("New term (repayment periods)", low=1, message="Give the number of repayment periods.")
    first_due = DayField("First due date of the new schedule", validators=[
        InputRequired(message="Give the first due date of the new schedule.")])
    annual_rate = _percent("New annual rate (percent)", Optional())
    grace_periods = IntegerField("Grace periods", default=0, validators=[
        Optional(), NumberRange(min=0, max=1200, message="Give a whole number from 0.")])
    grace = SelectField("Grace", choices=choices(GRACE_CHOICES.items()), default="none")
    method = SelectField("Method", choices=choices([("", "Keep the loan's"), *METHOD_CHOICES.items()]), default="")
    reason = TextAreaField("Reason", validators=[DataRequired(message="Give the reason for the reschedule."),
                                                 Length(max=2000, message="Write at most 2,000 characters.")])

    def validate_grace_periods(self, field: IntegerField) -> None:
        if field.data and self.grace.data == "none":
            raise ValidationError("Choose 'Interest only' as the grace, or give 0 grace periods.")


#: The value of the hidden ``confirmed`` field that only a confirmation (its page, or the script's dialog) sets.
CONFIRMED = "yes"


class WriteOffForm(ProgrammeForm):
    """Ask for a write-off: the POST asks only with ``confirmed`` set; without it the view shows the confirmation
    page with the date and reason typed, kept in its fields."""

    on_date = DayField("Date of the write-off", validators=[InputRequired(message="Give the date of the write-off.")])
    reason = TextAreaField("Reason", validators=[DataRequired(message="Give the reason for the write-off."),
                                                 Length(max=2000, message="Write at most 2,000 characters.")])
    confirmed = HiddenField()

    @property
    def given(self) -> bool:
        return self.confirmed.data == CONFIRMED


class RefundForm(ProgrammeForm):
    value_date = DayField("Value date", validators=[InputRequired(message="Give the value date of the refund.")])
    bank_reference = _reference("Give the bank's reference of the refund.")
    reason = TextAreaField("Reason", validators=[DataRequired(message="Give the reason for the refund."),
                                                 Length(max=2000, message="Write at most 2,000 characters.")])


class DecisionForm(ProgrammeForm):
    """Reject a request waiting for a second person (a write-off, refund, new loan or bank statement)."""

    reason = TextAreaField("Reason for the rejection", validators=[
        DataRequired(message="Give the reason for the rejection."),
        Length(max=2000, message="Write at most 2,000 characters.")])


class StatementForm(ProgrammeForm):
    statement = FileField("Bank statement (.xlsx)", validators=[FileRequired(message="Choose the statement file.")],
                          description="Columns: date, amount, reference, loan number. A file with any bad row is "
                                      "refused whole, and nothing is applied.")

    def validate_statement(self, field: FileField) -> None:
        name = getattr(field.data, "filename", "") or ""
        if not name.lower().endswith(".xlsx"):
            raise ValidationError("Upload an Excel workbook (.xlsx).")
