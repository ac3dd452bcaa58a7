"""Pure rules of funding: what is left of a grant, and what blocks a tranche. No Flask, no database."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal

from programme.core.money import MoneyError, format_money, is_exact_amount, minor_unit, to_decimal

ZERO = Decimal("0.00")


@dataclass(frozen=True)
class GrantPosition:
    """A grant's committed amount and its disbursements by status; ``left`` is what may still be requested:
    the committed amount minus everything requested, approved or paid (rejected amounts hold nothing)."""

    committed: Decimal
    requested: Decimal
    approved: Decimal
    paid: Decimal
    left: Decimal

    @classmethod
    def of(cls, committed: Decimal, by_status: Mapping[str, Decimal]) -> GrantPosition:
        requested = Decimal(by_status.get("requested", ZERO))
        approved = Decimal(by_status.get("approved", ZERO))
        paid = Decimal(by_status.get("paid", ZERO))
        return cls(committed, requested, approved, paid, committed - requested - approved - paid)

    @property
    def held(self) -> Decimal:
        return self.requested + self.approved + self.paid


def tranche_amount(value: object, currency: str) -> Decimal:
    """The amount of a tranche as a Decimal: positive and in whole minor units (cents); floats refused.

    Raises MoneyError with a message for the user."""
    amount = to_decimal(value)
    if amount <= 0:
        raise MoneyError("The amount must be more than zero.")
    if not is_exact_amount(amount, currency):
        places = minor_unit(currency)
        raise MoneyError(f"The amount must be in whole {'units' if places == 0 else 'cents'} of {currency}.")
    return amount.quantize(Decimal(1).scaleb(-minor_unit(currency)))


def over_grant(amount: Decimal, left: Decimal, committed: Decimal, *, currency: str, grant_label: str) -> str | None:
    """Why a tranche of ``amount`` cannot be held against a grant with ``left`` remaining, or None if it can."""
    if amount <= left:
        return None
    left_shown = format_money(max(left, ZERO), currency)
    return (f"{format_money(amount, currency)} is more than is left: {left_shown} is left of the "
            f"{grant_label.lower()} of {format_money(committed, currency)}.")
