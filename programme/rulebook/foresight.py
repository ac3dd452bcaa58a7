"""The rules of revolving-fund foresight (issue 18): ``[funding.revolving_fund]`` of a call's rules file.

A public loan fund plans ahead, as the US EDA asks of its Revolving Loan Funds in their RLF plan: a projection
of the fund's capital, a **capital-utilisation standard** (the EDA's: at least 75 % of the capital loaned or
committed), a **cash floor** under which the fund should not fall, and a risk score. The section is optional:
without it a call works as before and the foresight pages use the defaults below.

Every share is a fraction (0.05 for 5 %); money is exact (whole cents, never a float: the loader reads TOML
numbers as Decimal).
"""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated

from pydantic import Field, field_validator, model_validator

from programme.rulebook.base import Share, Strict

#: Money of the section: zero or more, whole cents (checked below), at most what the columns hold.
Amount = Annotated[Decimal, Field(ge=0, le=10**12)]
CENT = Decimal("0.01")


def _whole_cents(value: Decimal | None, key: str) -> None:
    if value is not None and value != value.quantize(CENT):
        raise ValueError(f"{key}: an amount in whole cents (at most two decimal places), got {value}")


class Scenario(Strict):
    """The assumptions of one scenario: yearly rates as shares of the loans outstanding, money per year."""

    #: Share of the performing principal that defaults in a year (a twelfth of it each month).
    annual_default_rate: Share = Decimal(0)
    #: Share of defaulted principal that is lost (the rest is recovered in the month of the default).
    loss_given_default: Share = Decimal(1)
    #: Share of the performing principal repaid early in a year (a twelfth of it each month).
    prepayment_rate: Share = Decimal(0)
    #: New loans the fund plans to make in a year (a twelfth each month), never more than its cash.
    new_lending_per_year: Amount = Decimal(0)
    #: The fund's administrative costs, as a share of the interest it collects.
    admin_cost_share: Share = Decimal(0)

    @model_validator(mode="after")
    def _cents(self) -> Scenario:
        _whole_cents(self.new_lending_per_year, "new_lending_per_year")
        return self


def _stress() -> Scenario:
    return Scenario(annual_default_rate=Decimal("0.15"), loss_given_default=Decimal("0.8"))


class RevolvingFundRules(Strict):
    """``[funding.revolving_fund]``: the fund plan's standards and its scenarios."""

    #: The share of the fund's capital (cash + loans outstanding) that should be loaned or committed.
    capital_utilisation_standard: Share = Decimal("0.75")
    #: The floor under which the fund's cash should not fall: the larger of an amount and a share of its capital.
    cash_floor: Amount = Decimal(0)
    cash_floor_share: Share = Decimal(0)
    #: Terms the projection gives new loans (and the approved requests not yet lent): annuity, monthly.
    new_loan_rate: Annotated[Decimal, Field(ge=0, le=1)] = Decimal(0)
    new_loan_term_months: int = Field(default=36, ge=1, le=360)
    #: A loan this many days late when the projection starts is taken as defaulted in its first month.
    arrears_default_days: int = Field(default=90, ge=1, le=3650)
    #: Early warning: PAR30 above this share is a warning sign.
    par30_warning: Share = Decimal("0.10")
    #: Early warning: cash under the floor within this many months (stress scenario) is a warning sign.
    warning_months: int = Field(default=12, ge=1, le=60)
    #: The base scenario (the page's defaults) and the stress scenario.
    base: Scenario = Field(default_factory=Scenario)
    stress: Scenario = Field(default_factory=_stress)

    @field_validator("cash_floor", "cash_floor_share", mode="before")
    @classmethod
    def _no_float(cls, value: object) -> object:
        return Decimal(str(value)) if isinstance(value, float) else value

    @model_validator(mode="after")
    def _consistent(self) -> RevolvingFundRules:
        _whole_cents(self.cash_floor, "cash_floor")
        return self


#: What a call without the section gets.
DEFAULT_RULES = RevolvingFundRules()
