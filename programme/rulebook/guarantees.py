"""Mutual guarantees on revolving-fund loans (seed 004, paragraph 42): ``[funding.loans.guarantees]``.

Member organisations of the initiative's applicant group (never the borrower itself) guarantee a loan jointly, each
for a share of what is owed or for a stated amount. A section left out means the call's loans cannot be
guaranteed, and everything else works as before.

- ``default_after_days``: a loan this many days late (or more: the days since the due date of its oldest unpaid
  instalment) is in default, and only then may its guarantees be called;
- ``max_exposure_per_guarantor``: the most one organisation may stand guarantor for, over all loans of all funds
  (its active guarantees plus what it still owes on called ones), in exact minor units of the call's currency;
- ``max_share_per_guarantor``: the largest share of a loan's outstanding principal one guarantor may cover;
- ``allow_over_coverage``: whether the guarantees together may cover more than the principal outstanding (when
  they do and are called, each guarantor owes pro rata, never more than it guaranteed, and never more in all
  than what is owed).
"""

from __future__ import annotations

from decimal import Decimal

from pydantic import Field

from programme.core.money import is_exact_amount
from programme.rulebook.base import PositiveMoney, Strict


class Guarantees(Strict):
    default_after_days: int = Field(default=90, ge=1, le=3650,
                                    description="days late after which a loan is in default")
    max_exposure_per_guarantor: PositiveMoney = Field(le=10**12)
    max_share_per_guarantor: Decimal = Field(default=Decimal(1), gt=0, le=1)
    allow_over_coverage: bool = False

    def exposure_error(self, currency: str) -> str | None:
        """What is wrong with the section given the call's currency (None when nothing): the exposure limit in
        whole minor units. ``schema.CallRules`` calls it, since only the call knows its currency."""
        if not is_exact_amount(self.max_exposure_per_guarantor, currency):
            return f"funding.loans.guarantees.max_exposure_per_guarantor: whole minor units of {currency}"
        return None
