"""core.money.parse_amount: the one parser of an amount, with the messages its callers show."""

from __future__ import annotations

from decimal import Decimal

import pytest

from programme.core.money import MAX_AMOUNT, MoneyError, parse_amount


def test_an_amount_is_quantised_to_the_currency() -> None:
    assert str(parse_amount("12.5", "EUR")) == "12.50"
    assert str(parse_amount(Decimal("150"), "JPY")) == "150"
    assert parse_amount(0, "EUR", zero=True) == 0


@pytest.mark.parametrize(("value", "kwargs", "message"), [
    (None, {}, "Give the amount."),
    ("  ", {"what": "The cost"}, "Give the cost."),
    (2.5, {}, "not float .*never a float"),
    (True, {}, "not bool .*never a float"),
    ("1.00", {"text": False}, "Decimal, not str"),
    ("ten", {}, "The amount is not a number"),
    (Decimal("NaN"), {}, "not a finite amount"),
    ("0", {}, "must be more than zero"),
    ("-5", {}, "more than zero, never negative"),
    ("-5", {"zero": True}, "zero or more, never negative"),
    ("10.001", {}, "whole cents of EUR: 10.001 has more than 2 decimal places"),
    ("1000000000000.00", {"maximum": MAX_AMOUNT}, "too large"),
])
def test_refusals_say_why(value: object, kwargs: dict, message: str) -> None:
    with pytest.raises(MoneyError, match=message):
        parse_amount(value, "EUR", **kwargs)


def test_places_can_be_fewer_than_the_currency_allows() -> None:
    with pytest.raises(MoneyError, match="whole units of JPY: 1.5 has more than 0 decimal places"):
        parse_amount(Decimal("1.5"), "JPY")
    with pytest.raises(MoneyError, match="more than 2 decimal places"):
        parse_amount(Decimal("1.005"), "BHD", places=2)
