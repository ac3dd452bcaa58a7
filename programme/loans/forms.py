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
from programme.core.texts import gettext as _
from programme.core.texts import lazy_gettext as _l
from programme.funding.forms import AmountField
from programme.rulebook.schema import Loans

AMOUNT_HELP = _l("With a point before the cents: 10000.00 or 10,000.00.")
GRACE_CHOICES = {"none": _l("No grace"), "interest_only": _l("Interest only")}
FREQUENCY_CHOICES = {"monthly": _l("Monthly"), "quarterly": _l("Quarterly")}
METHOD_CHOICES = {"annuity": _l("Annuity (equal instalments)"), "equal_principal": _l("Equal principal (declining)")}
#: Places of the rate in percent: the column keeps six places of the fraction (0.025000), so four in percent.
RATE_PLACES = 4


def _amount(label: str, message: str) -> AmountField:
    return AmountField(label, validators=[InputRequired(message=message), positive, at_most_places(2)],
                       description=AMOUNT_HELP, render_kw={"inputmode": "decimal", "autocomplete": "off"})


def _reference(message: str = _l("Give the bank's reference of the transfer.")) -> StringField:
    return StringField(_l("Bank reference"), validators=[DataRequired(message=message),
                                                         Length(max=100, message=_l("Write at most 100 characters."))],
                       render_kw={"autocomplete": "off"})


def _rate_in_range(form: FlaskForm, field: FiniteDecimalField) -> None:
    if field.data is not None and not (Decimal(0) <= field.data <= Decimal(100)):
        raise ValidationError(_("Give a rate between 0 and 100 percent."))


def _percent(label: str, *required: object) -> FiniteDecimalField:
    return FiniteDecimalField(label, places=None, validators=[*required, _rate_in_range, at_most_places(RATE_PLACES)],
                              render_kw={"inputmode": "decimal", "autocomplete": "off"})


def rate_of(percent: Decimal | None) -> Decimal | None:
    """An annual rate typed in percent as the fraction the services take: 2.5 -> 0.025 (exact, Decimal)."""
    return None if percent is None else (percent / Decimal(100)).normalize()


def _periods(label: str, *, low: int, message: str) -> IntegerField:
    return IntegerField(label, validators=[
        InputRequired(message=message),
        NumberRange(min=low, max=1200, message=_l("Give a whole number from %(low)s.", low=low))])


class CapitaliseForm(ProgrammeForm):
    amount = _amount(_l("Amount"), _l("Give the amount."))
    value_date = DayField(_l("Value date"),
                          validators=[InputRequired(message=_l("Give the value date of the transfer."))],
                          description=_l("The day the bank moved the money (not after today)."))
    bank_reference = _reference()
    note = TextAreaField(_l("Note"), validators=[Optional(),
                                                 Length(max=2000, message=_l("Write at most 2,000 characters."))])


class LoanForm(ProgrammeForm):
    borrower_id = SelectField(_l("Borrower"), coerce=int,
                              validators=[DataRequired(message=_l("Choose the borrower."))],
                              description=_l("A member organisation of the initiative's group."))
    principal = _amount(_l("Principal"), _l("Give the principal."))
    annual_rate = _percent(_l("Annual rate (percent)"),
                           InputRequired(message=_l("Give the annual rate (0 is allowed).")))
    term_periods = _periods(_l("Term (repayment periods)"), low=1,
                            message=_l("Give the number of repayment periods."))
    grace_periods = _periods(_l("Grace periods"), low=0, message=_l("Give the grace periods (0 for none)."))
    grace = SelectField(_l("Grace"), choices=choices(GRACE_CHOICES.items()), default="none")
    frequency = SelectField(_l("Frequency"), choices=choices(FREQUENCY_CHOICES.items()), default="monthly")
    method = SelectField(_l("Method"), choices=choices(METHOD_CHOICES.items()), default="annuity")
    first_due = DayField(_l("First due date"), validators=[InputRequired(message=_l("Give the first due date."))],
                         description=_l("Later instalments keep its day of the month (or the month's last day)."))
    disbursed_on = DayField(_l("Disbursed on"),
                            validators=[InputRequired(message=_l("Give the day the money was sent."))])
    bank_reference = _reference(_l("Give the bank's reference of the disbursement."))
    purpose = TextAreaField(_l("Purpose"), validators=[DataRequired(message=_l("Say what the loan is for.")),
                                                       Length(max=2000, message=_l("Write at most 2,000 characters."))])
    funding_request_id = SelectField(_l("Funding request"), coerce=int, default=0,
                                     description=_l("An approved request with a loan part, if the loan answers one."))
    preview = SubmitField(_l("Preview schedule"))
    make = SubmitField(_l("Make the loan"))

    def validate_grace_periods(self, field: IntegerField) -> None:
        if field.data and self.grace.data == "none":
            raise ValidationError(_("Choose 'Interest only' as the grace, or give 0 grace periods."))

    def limit(self, rules: Loans) -> None:
        """Offer only what the call's rules allow, and say the limits beside the fields."""
        self.method.choices = choices((m, METHOD_CHOICES[m]) for m in rules.methods)
        self.frequency.choices = choices((f, FREQUENCY_CHOICES[f]) for f in rules.frequencies)
        rate = f"{(rules.max_rate * 100).normalize():f}"
        self.annual_rate.description = _("At most %(rate)s %% a year under the call's rules; 0 is allowed. "
                                         "2.5 means 2.5 %%.", rate=rate)
        self.term_periods.description = _("Periods that repay principal, after the grace: at most %(months)s months "
                                          "in all.", months=rules.max_term_months)
        self.grace_periods.description = _("Interest-only periods at the start: at most %(months)s months.",
                                           months=rules.max_grace_months)


class RepaymentForm(ProgrammeForm):
    amount = _amount(_l("Amount"), _l("Give the amount received."))
    value_date = DayField(_l("Value date"),
                          validators=[InputRequired(message=_l("Give the value date of the transfer."))],
                          description=_l("The day the bank received the money (not after today)."))
    bank_reference = _reference()


class RescheduleForm(ProgrammeForm):
    term_periods = _periods(_l("New term (repayment periods)"), low=1,
                            message=_l("Give the number of repayment periods."))
    first_due = DayField(_l("First due date of the new schedule"), validators=[
        InputRequired(message=_l("Give the first due date of the new schedule."))])
    annual_rate = _percent(_l("New annual rate (percent)"), Optional())
    grace_periods = IntegerField(_l("Grace periods"), default=0, validators=[
        Optional(), NumberRange(min=0, max=1200, message=_l("Give a whole number from 0."))])
    grace = SelectField(_l("Grace"), choices=choices(GRACE_CHOICES.items()), default="none")
    method = SelectField(_l("Method"), choices=choices([("", _l("Keep the loan's")), *METHOD_CHOICES.items()]),
                         default="")
    reason = TextAreaField(_l("Reason"), validators=[DataRequired(message=_l("Give the reason for the reschedule.")),
                                                     Length(max=2000, message=_l("Write at most 2,000 characters."))])

    def validate_grace_periods(self, field: IntegerField) -> None:
        if field.data and self.grace.data == "none":
            raise ValidationError(_("Choose 'Interest only' as the grace, or give 0 grace periods."))


#: The value of the hidden ``confirmed`` field that only a confirmation (its page, or the script's dialog) sets.
CONFIRMED = "yes"


class WriteOffForm(ProgrammeForm):
    """Ask for a write-off: the POST asks only with ``confirmed`` set; without it the view shows the confirmation
    page with the date and reason typed, kept in its fields."""

    on_date = DayField(_l("Date of the write-off"),
                       validators=[InputRequired(message=_l("Give the date of the write-off."))])
    reason = TextAreaField(_l("Reason"), validators=[DataRequired(message=_l("Give the reason for the write-off.")),
                                                     Length(max=2000, message=_l("Write at most 2,000 characters."))])
    confirmed = HiddenField()

    @property
    def given(self) -> bool:
        return self.confirmed.data == CONFIRMED


class RefundForm(ProgrammeForm):
    value_date = DayField(_l("Value date"),
                          validators=[InputRequired(message=_l("Give the value date of the refund."))])
    bank_reference = _reference(_l("Give the bank's reference of the refund."))
    reason = TextAreaField(_l("Reason"), validators=[DataRequired(message=_l("Give the reason for the refund.")),
                                                     Length(max=2000, message=_l("Write at most 2,000 characters."))])


class DecisionForm(ProgrammeForm):
    """Reject a request waiting for a second person (a write-off, refund, new loan or bank statement)."""

    reason = TextAreaField(_l("Reason for the rejection"), validators=[
        DataRequired(message=_l("Give the reason for the rejection.")),
        Length(max=2000, message=_l("Write at most 2,000 characters."))])


class StatementForm(ProgrammeForm):
    statement = FileField(_l("Bank statement (.xlsx)"),
                          validators=[FileRequired(message=_l("Choose the statement file."))],
                          description=_l("Columns: date, amount, reference, loan number. A file with any bad row is "
                                         "refused whole, and nothing is applied."))

    def validate_statement(self, field: FileField) -> None:
        name = getattr(field.data, "filename", "") or ""
        if not name.lower().endswith(".xlsx"):
            raise ValidationError(_("Upload an Excel workbook (.xlsx)."))
