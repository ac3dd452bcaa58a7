"""A guaranteed loan for the guarantee tests: ``tests/loans/world.loan_world`` (a 12,000.00 loan, 4 % over 12 months,
first due FIRST_DUE) whose call has the shipped ``[funding.loans.guarantees]`` (default after 90 days, 15,000.00
per guarantor, at most half of a loan per guarantor, no over-coverage), guaranteed by two other members.

BEFORE is a moment before the first instalment falls due (guarantees may be given); DEFAULTED one when the loan
is long in default (the world's NOW)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from programme.accounts.models import Organisation
from programme.loans.guarantee_models import GuaranteeCall, LoanGuarantee
from programme.loans.services import guarantee_calls, guarantees
from tests.loans.world import NOW, LoanWorld, loan_world

D = Decimal
BEFORE = datetime(2027, 8, 1, 9, 0, tzinfo=UTC)
DEFAULTED = NOW


@dataclass
class GuaranteeWorld:
    w: LoanWorld
    first: Organisation
    second: Organisation
    guarantees: list[LoanGuarantee]

    def call(self, *, reason: str = "Ninety days late", now: datetime = DEFAULTED) -> GuaranteeCall:
        """The guarantees called: asked by the first administrator, approved by the second."""
        asked = guarantee_calls.request_call(self.w.loan, reason=reason, actor=self.w.admin, now=now, timezone="UTC")
        return guarantee_calls.approve_call(asked, actor=self.w.admin2, now=now, timezone="UTC")


def guarantee_world(*, share: str | None = "0.5", amount: str | None = "6000.00", **kwargs: Any) -> GuaranteeWorld:
    """The loan guaranteed by the group's second member for ``share`` and its third for ``amount`` (None: not)."""
    w = loan_world(**kwargs)
    first, second = [o for o in w.members() if o.id != w.borrower.id][:2]
    given = []
    if share is not None:
        given.append(guarantees.add_guarantee(w.loan, guarantor_id=first.id, share=D(share), actor=w.admin,
                                              now=BEFORE, timezone="UTC"))
    if amount is not None:
        given.append(guarantees.add_guarantee(w.loan, guarantor_id=second.id, amount=D(amount), actor=w.admin,
                                              now=BEFORE, timezone="UTC"))
    return GuaranteeWorld(w, first, second, given)
