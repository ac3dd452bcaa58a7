"""The shared money field: a decimal comma is never read as a thousands separator."""

from __future__ import annotations

from decimal import Decimal

import pytest
from flask_wtf import FlaskForm
from werkzeug.datastructures import MultiDict

from programme.core.forms import MoneyField


class AmountForm(FlaskForm):
    amount = MoneyField("Amount")


@pytest.mark.parametrize(("typed", "read"), [
    ("12500", Decimal("12500")), ("12,500.00", Decimal("12500.00")), ("1,250", Decimal("1250")),
    (" 3,000 ", Decimal("3000")), ("1 250.50", Decimal("1250.50")), ("1,234,567.89", Decimal("1234567.89")),
])
def test_thousands_commas_and_spaces_are_read(app, typed, read):
    with app.test_request_context():
        form = AmountForm(formdata=MultiDict({"amount": typed}), meta={"csrf": False})
        assert form.validate(), form.errors
        assert form.amount.data == read


@pytest.mark.parametrize(("typed", "message"), [
    ("12,5", "Write the cents after a point: 12.5, not 12,5"),
    ("12,50", "Write the cents after a point: 12.50, not 12,50"),
    ("1,2345", "groups of three"),
    ("12,5000.00", "groups of three"),
    ("abc", "Not a valid decimal value"),
])
def test_a_decimal_comma_or_bad_grouping_is_refused_with_a_message(app, typed, message):
    with app.test_request_context():
        form = AmountForm(formdata=MultiDict({"amount": typed}), meta={"csrf": False})
        assert not form.validate()
        assert form.amount.data is None
        assert message in " ".join(form.amount.errors)
