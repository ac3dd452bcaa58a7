"""The forms of a loan's guarantees (``loans.services.guarantees``): give one (a share in percent, or an amount),
release one, ask for the call, record what a guarantor paid, ask for a write-off of what one cannot pay.

Amounts are MoneyFields (Decimal); the share is typed in percent (25 means 0.25) and read as a Decimal. The limits
of the call's rules are enforced by the services, whose refusal is shown beside the field it names."""

from __future__ import annotations

from decimal import Decimal

from wtforms import SelectField, TextAreaField
from wtforms.validators import DataRequired, InputRequired, Length, Optional, ValidationError

from programme.core.fields import DayField
from programme.core.forms import FiniteDecimalField, ProgrammeForm, at_most_places, positive
from programme.core.texts import gettext as _
from programme.core.texts import lazy_gettext as _l
from programme.funding.forms import AmountField
from programme.loans.forms import AMOUNT_HELP, _reference

#: Places of a share in percent: the column keeps six places of the fraction, so four in percent.
SHARE_PLACES = 4


def _reason(message: str) -> TextAreaField:
    return TextAreaField(_l("Reason"), validators=[DataRequired(message=message),
                                                   Length(max=2000, message=_l("Write at most 2,000 characters."))])


def share_of(percent: Decimal | None) -> Decimal | None:
    """A share typed in percent as the fraction the services take: 25 -> 0.25 (exact, Decimal)."""
    return None if percent is None else (percent / Decimal(100)).normalize()


class GuaranteeForm(ProgrammeForm):
    guarantor_id = SelectField(_l("Guarantor (a member organisation, not the borrower)"), coerce=int,
                               validators=[InputRequired(message=_l("Choose the guarantor."))])
    share = FiniteDecimalField(_l("Share of what is owed (percent)"), places=None,
                               validators=[Optional(), at_most_places(SHARE_PLACES)],
                               render_kw={"inputmode": "decimal", "autocomplete": "off"},
                               description=_l("For example 25 for a quarter. Leave empty to give an amount."))
    amount = AmountField(_l("Or an amount"), validators=[Optional(), positive, at_most_places(2)],
                         description=AMOUNT_HELP, render_kw={"inputmode": "decimal", "autocomplete": "off"})

    def validate_share(self, field: FiniteDecimalField) -> None:
        if field.data is not None and not (Decimal(0) < field.data <= Decimal(100)):
            raise ValidationError(_("Give a share more than 0 and at most 100 percent."))
        if (field.data is None) == (self.amount.data is None):
            raise ValidationError(_("Give either a share or an amount (one of them)."))


class ReleaseForm(ProgrammeForm):
    reason = _reason(_l("Give the reason for the release."))


class CallForm(ProgrammeForm):
    reason = _reason(_l("Give the reason for calling the guarantees."))


class CollectionForm(ProgrammeForm):
    amount = AmountField(_l("Amount received"),
                         validators=[InputRequired(message=_l("Give the amount received.")), positive,
                                     at_most_places(2)],
                         description=AMOUNT_HELP, render_kw={"inputmode": "decimal", "autocomplete": "off"})
    value_date = DayField(_l("Value date"),
                          validators=[InputRequired(message=_l("Give the value date of the transfer."))])
    bank_reference = _reference()


class ObligationWriteOffForm(ProgrammeForm):
    on_date = DayField(_l("Date of the write-off"),
                       validators=[InputRequired(message=_l("Give the date of the write-off."))])
    reason = _reason(_l("Give the reason for the write-off."))
