"""What the loan pages share: the programme's today, who administers, loading what one acts on, the pending
four-eyes requests shown on a page. Private to ``programme.loans.views``."""

from __future__ import annotations

from datetime import date
from typing import Any

from programme.core.access import Role, require_role
from programme.core.timezone import programme_today
from programme.core.web import actor, programme_zone
from programme.loans import services
from programme.loans.forms import (
    DecisionForm,
)
from programme.loans.models import (
    Loan,
    RevolvingFund,
)
from programme.loans.services import approvals


def _today() -> date:
    return programme_today(programme_zone())


def _administers() -> bool:
    return actor().has_role(Role.FUND_ADMINISTRATOR)


def _administered_fund(fund_id: int) -> RevolvingFund:
    """A fund to act on: 404 if one may not see it, 403 if one may see it but is not a fund administrator."""
    fund = services.get_fund(fund_id, actor=actor())
    require_role(actor(), Role.FUND_ADMINISTRATOR)
    return fund


def _administered_loan(loan_id: int) -> Loan:
    loan = services.get_loan(loan_id, actor=actor())
    require_role(actor(), Role.FUND_ADMINISTRATOR)
    return loan




def _approvals_shown(**which: Any) -> dict[str, Any]:
    """The pending four-eyes requests (of a loan or a fund) for the page, to managers and fund administrators."""
    me = actor()
    if not any(me.has_role(r) for r in approvals.APPROVERS):
        return {"pending": [], "may_decide": lambda a: False, "decision_form": None, "summary": None}
    return {"pending": services.pending_approvals(actor=me, **which),
            "may_decide": lambda a: services.may_decide(a, me), "decision_form": DecisionForm(formdata=None),
            "summary": approvals.approval_summary}
