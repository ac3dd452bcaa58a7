"""Form pieces that every area uses."""

from __future__ import annotations

from collections.abc import Iterable
from decimal import Decimal
from typing import Any

from flask_wtf import FlaskForm
from wtforms import DateField, DateTimeField, DecimalField, Field, SelectMultipleField, StringField, widgets
from wtforms.fields.choices import SelectChoice
from wtforms.validators import ValidationError

from programme.core.money import MoneyError, format_number, symbols_in_use, typed_number
from programme.core.texts import gettext as _

#: The years a date typed into any form may fall in: far enough for any programme, near enough that converting it
#: between time zones or adding a loan's term never leaves what Python and the databases can hold.
FIRST_YEAR, LAST_YEAR = 1900, 2199


def choices(pairs: Iterable[tuple[object, str]]) -> list[SelectChoice]:
    """Options of a select field from (value, label) pairs."""
    return [SelectChoice(value, label) for value, label in pairs]


def _no_nul(form: FlaskForm, field: Field) -> None:
    if any("\x00" in value for value in field.raw_data or () if isinstance(value, str)):
        raise ValidationError(_("This contains a NUL character, which cannot be stored: remove it."))


def _year_in_range(form: FlaskForm, field: Field) -> None:
    if field.data is not None and not FIRST_YEAR <= field.data.year <= LAST_YEAR:
        raise ValidationError(_("Give a date between the years %(first)s and %(last)s.", first=FIRST_YEAR,
                                last=LAST_YEAR))


class ProgrammeForm(FlaskForm):
    """Every form of the app: FlaskForm (CSRF) whose text fields refuse a NUL character and whose date fields
    refuse a year outside FIRST_YEAR..LAST_YEAR, each as an error beside the field, whatever the form declares."""

    class Meta(FlaskForm.Meta):
        def bind_field(self, form: Any, unbound_field: Any, options: dict[str, Any]) -> Field:
            field = super().bind_field(form, unbound_field, options)
            if isinstance(field, StringField):
                field.validators = [_no_nul, *field.validators]
            elif isinstance(field, DateField | DateTimeField):
                field.validators = [*field.validators, _year_in_range]
            return field


class ActionForm(ProgrammeForm):
    """A button that posts: carries only the CSRF token."""


class MultiCheckboxField(SelectMultipleField):
    widget = widgets.ListWidget(prefix_label=False)
    option_widget = widgets.CheckboxInput()


class FiniteDecimalField(DecimalField):
    """A decimal number typed by a person: never a float, never NaN or infinity, never absurdly large
    (so that the validators after it can compare and quantize without an error)."""

    limit = Decimal(10) ** 15

    def process_formdata(self, valuelist: list[str]) -> None:
        super().process_formdata(valuelist)
        if self.data is not None and not self.data.is_finite():
            self.data = None
            raise ValueError(self.gettext("Not a valid decimal value."))
        if self.data is not None and abs(self.data) >= self.limit:
            self.data = None
            raise ValueError(_("Give a number below %(limit)s.", limit=format_number(self.limit, 0)))


class MoneyField(FiniteDecimalField):
    """An amount typed by a person in their language's way (12,500.50 in English, 12.500,50 in Spanish and
    Portuguese): spaces and thousands separators in groups of three are allowed, a float never appears, and an
    amount written the other way round is refused with a message that shows how to write it (``core.money``).

    A text input (inputmode decimal), since a number input would refuse the thousands separators; shown back in the
    language's way."""

    widget = widgets.TextInput()
    limit = Decimal(10) ** 12  # Numeric(14, 2)

    def process_formdata(self, valuelist: list[str]) -> None:
        if valuelist and valuelist[0].strip():
            try:
                valuelist = [typed_number(valuelist[0])]
            except MoneyError as refused:
                self.data = None
                raise ValueError(str(refused)) from None
        super().process_formdata(valuelist)

    def _value(self) -> str:
        if self.raw_data:
            return self.raw_data[0]
        if isinstance(self.data, Decimal):
            places = self.places if self.places is not None else 2
            return format_number(self.data, places).replace(symbols_in_use()[1], "")
        return super()._value()


def at_most_places(places: int):
    """Validator: no more decimal places than the currency's minor unit."""

    def check(form: FlaskForm, field: DecimalField) -> None:
        value = field.data
        if value is not None and value != value.quantize(Decimal(1).scaleb(-places)):
            raise ValidationError(_("Use at most %(places)s decimal places.", places=places))

    return check


def positive(form: FlaskForm, field: DecimalField) -> None:
    if field.data is not None and field.data <= 0:
        raise ValidationError(_("Give an amount above zero."))
