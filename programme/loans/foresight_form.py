"""The scenario form of the foresight pages: a GET form (no CSRF: it changes nothing), so a scenario is a link.

Rates are typed in percent (2.5 means 2.5 %, read as the Decimal fraction 0.025); the new lending per year is an
amount of money. A value that is not a number, negative or over 100 % gets a message beside its field.
"""

from __future__ import annotations

import re
from decimal import Decimal, InvalidOperation
from typing import Any

from flask_wtf import FlaskForm
from wtforms import StringField
from wtforms.validators import ValidationError

from programme.core.forms import at_most_places
from programme.core.money import MoneyError, typed_number
from programme.core.texts import gettext as _
from programme.core.texts import lazy_gettext as _l
from programme.funding.forms import AmountField
from programme.loans.foresight import Scenario

#: Places of a rate typed in percent.
PERCENT_PLACES = 4
AMOUNT_HELP = _l("Per year, with a point before the cents: 24000.00 or 24,000.00; 0 for none.")


#: A number with one mark and one or two digits after it (2,5 or 1000.00): the mark can only be the decimal one
#: (thousands come in threes), whatever the language.
_ONE_MARK = re.compile(r"^\d+[.,]\d{1,2}$")


def _as_link_reads(text: str) -> str:
    """A scenario is a link, opened by people reading other languages: a value whose mark can only be the decimal
    one is read so in every language (12500.50 in a Spanish page, 2,5 in an English one); any other is read in the
    language's way (``core.money.typed_number``), or left for the field to refuse."""
    raw = text.strip()
    if _ONE_MARK.match(raw):
        return raw.replace(",", ".")
    try:
        return typed_number(raw)
    except MoneyError:
        return raw


class PercentField(StringField):
    """A share typed in percent, 0 to 100; its ``data`` is the percent as a Decimal (None if empty or wrong)."""

    def process_formdata(self, valuelist: list[str]) -> None:
        self.data = None
        if not valuelist or not valuelist[0].strip():
            return
        raw = _as_link_reads(valuelist[0].strip().removesuffix("%"))
        try:
            value = Decimal(raw)
        except InvalidOperation:
            raise ValueError(_("'%(typed)s' is not a number: give a percentage from 0 to 100, e.g. 2.5.",
                               typed=valuelist[0].strip()[:40])) from None
        if not value.is_finite():
            raise ValueError(_("Give a percentage from 0 to 100, e.g. 2.5."))
        self.data = value

    def _value(self) -> str:
        if self.raw_data:
            return self.raw_data[0]
        return "" if self.data is None else f"{self.data.normalize():f}"


def _within_percent(form: FlaskForm, field: PercentField) -> None:
    if field.data is not None and not Decimal(0) <= field.data <= Decimal(100):
        raise ValidationError(_("Give a percentage from 0 to 100 (got %(got)s).",
                                got=format(field.data.normalize(), "f")))


class ScenarioAmountField(AmountField):
    """The new lending per year: an amount read as ``_as_link_reads`` says, then as any amount."""

    def process_formdata(self, valuelist: list[str]) -> None:
        if valuelist and _ONE_MARK.match(valuelist[0].strip()):
            self.data = Decimal(valuelist[0].strip().replace(",", "."))
            return
        super().process_formdata(valuelist)


def _not_negative(form: FlaskForm, field: AmountField) -> None:
    if field.data is not None and field.data < 0:
        raise ValidationError(_("Give an amount of 0 or more."))


def _percent(label: str, description: str) -> PercentField:
    return PercentField(label, validators=[_within_percent, at_most_places(PERCENT_PLACES)], description=description,
                        render_kw={"inputmode": "decimal", "autocomplete": "off"})


class ScenarioForm(FlaskForm):
    """The scenario's assumptions; empty fields keep the base scenario's."""

    class Meta:
        csrf = False

    default_rate = _percent(_l("Default rate per year (%)"),
                            _l("Share of the performing principal that defaults in a year."))
    loss_given_default = _percent(_l("Loss given default (%)"), _l("Share of defaulted principal that is lost."))
    prepayment_rate = _percent(_l("Prepayment rate per year (%)"),
                               _l("Share of the performing principal repaid early in a year."))
    new_lending = ScenarioAmountField(_l("New lending per year"), validators=[_not_negative, at_most_places(2)],
                              description=AMOUNT_HELP, render_kw={"inputmode": "decimal", "autocomplete": "off"})
    admin_share = _percent(_l("Administrative costs (% of interest)"), _l("Drawn from the interest collected."))

    FIELDS = ("default_rate", "loss_given_default", "prepayment_rate", "new_lending", "admin_share")

    @classmethod
    def with_defaults(cls, base: Scenario, args: Any) -> ScenarioForm:
        """The form read from the query string ``args``, the base scenario's values where a field is left out."""
        defaults = {"default_rate": base.annual_default_rate * 100, "loss_given_default": base.loss_given_default * 100,
                    "prepayment_rate": base.prepayment_rate * 100, "new_lending": base.new_lending_per_year,
                    "admin_share": base.admin_cost_share * 100}
        form = cls(formdata=args if any(name in args for name in cls.FIELDS) else None, data=defaults)
        for name, value in defaults.items():  # an empty field shows the base's value it keeps
            field = getattr(form, name)
            field.render_kw = {**(field.render_kw or {}), "placeholder": f"{value.normalize():f}"}
        return form

    @property
    def given(self) -> bool:
        return any(getattr(self, name).raw_data for name in self.FIELDS)

    def scenario(self, base: Scenario) -> Scenario:
        """The scenario typed (after ``validate``), each empty field the base's value."""
        def share(field: PercentField, default: Decimal) -> Decimal:
            return default if field.data is None else (field.data / 100).normalize()

        return Scenario(annual_default_rate=share(self.default_rate, base.annual_default_rate),
                        loss_given_default=share(self.loss_given_default, base.loss_given_default),
                        prepayment_rate=share(self.prepayment_rate, base.prepayment_rate),
                        new_lending_per_year=base.new_lending_per_year if self.new_lending.data is None
                        else self.new_lending.data.quantize(Decimal("0.01")),
                        admin_cost_share=share(self.admin_share, base.admin_cost_share))

    def link_args(self) -> dict[str, str]:
        """The scenario as query arguments (for the export link)."""
        return {name: getattr(self, name).raw_data[0] for name in self.FIELDS
                if getattr(self, name).raw_data and getattr(self, name).raw_data[0].strip()}
