"""A revolving fund with one loan, for the loan tests: built through the real services on top of
tests/funding/conftest.funded_initiative() (a call reviewed, decided and published, its initiative, and the
people who handle its money).

Dates: the fund is capitalised on CAPITALISED_ON, the loan paid out on DISBURSED_ON and first due on
FIRST_DUE; NOW is a moment long after, so that any repayment of the schedule can be recorded "today"."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

from programme.accounts.models import Organisation, User
from programme.calls.models import Call
from programme.extensions import db
from programme.funding.models import Initiative
from programme.loans import services
from programme.loans.models import Loan, RevolvingFund
from tests.funding.conftest import funded_initiative

D = Decimal
CAPITALISED_ON = date(2027, 7, 1)
DISBURSED_ON = date(2027, 7, 15)
FIRST_DUE = date(2027, 8, 15)
#: "Now" for the services: after the last due date of any loan the rules allow (60 months).
NOW = datetime(2033, 1, 1, 9, 0, tzinfo=UTC)
PRINCIPAL = D("12000.00")
CASH = D("50000.00")


@dataclass
class LoanWorld:
    initiative: Initiative
    fund: RevolvingFund
    loan: Loan | None
    borrower: Organisation
    admin: User
    admin2: User
    manager: User
    reviewer: User
    applicant: User

    @property
    def call(self) -> Call:
        return self.initiative.call

    def members(self) -> list[Organisation]:
        return list(self.initiative.group.organisations)


def replace_loan_rule(call: Call, old: str, new: str) -> None:
    """Change the call's own copy of its loan rules (e.g. add a penalty_rate) and drop the parsed rules."""
    assert old in call.rules_source, f"{old!r} is not in the call's rules"
    call.rules_source = call.rules_source.replace(old, new, 1)
    call.__dict__.pop("_rules_as_written", None)
    db.session.flush()


def with_penalty(call: Call, rate: str = "0.10") -> None:
    """The call's loan rules get a penalty rate (a yearly rate of simple interest on what is late)."""
    replace_loan_rule(call, "penalty_rate = 0.0", f"penalty_rate = {rate}")
    assert call.rules.funding.loans.penalty_rate == D(rate)


def loginable_loan_world(**kwargs: Any) -> LoanWorld:
    """``loan_world``, its people given addresses the login form accepts (it refuses the .test domain), committed."""
    world = loan_world(**kwargs)
    for person in (world.admin, world.admin2, world.manager, world.reviewer, world.applicant):
        person.email = person.email.replace(".test", ".example.org")
    db.session.commit()
    return world


def loan_world(principal: Decimal | str | None = PRINCIPAL, cash: Decimal | str = CASH, *,
               penalty_rate: str | None = None, **terms: Any) -> LoanWorld:
    """An initiative whose fund holds `cash`, and (unless `principal` is None) one loan of `principal` to the
    group's first member organisation: 4 % annuity over 12 months by default; `terms` override make_loan's
    arguments (annual_rate, term_periods, grace_periods, grace, frequency, method, first_due, disbursed_on,
    bank_reference, purpose, borrower_id)."""
    f = funded_initiative()
    initiative = f.initiative
    if penalty_rate is not None:
        with_penalty(initiative.call, penalty_rate)
    fund = services.fund_of(initiative)
    borrower = initiative.group.organisations[0]
    if D(cash) > 0:
        services.capitalise_fund(fund, amount=D(cash), value_date=CAPITALISED_ON, bank_reference="CAP-1",
                                 actor=f.admin, now=NOW, timezone="UTC")
    loan = None
    if principal is not None:
        arguments: dict[str, Any] = {
            "borrower_id": borrower.id, "annual_rate": D("0.04"), "term_periods": 12, "first_due": FIRST_DUE,
            "disbursed_on": DISBURSED_ON, "bank_reference": "LOAN-1", "purpose": "A shared kiln",
        }
        arguments.update(terms)
        loan = services.make_loan(fund, principal=D(principal), actor=f.admin, now=NOW, timezone="UTC", **arguments)
    db.session.flush()
    return LoanWorld(initiative, fund, loan, borrower, f.admin, f.admin2, f.manager, f.reviewer, f.applicant)


# Four eyes: a write-off, a refund and a bank statement are asked for by one person and posted by a second.


def _second_person(actor: User) -> User:
    """A fund administrator other than ``actor`` who neither created nor was created by its account."""
    from sqlalchemy import select

    from programme.accounts.models import UserRole
    from programme.core.access import Role

    for other in db.session.scalars(select(User).join(UserRole, UserRole.user_id == User.id)
                                    .where(UserRole.role == Role.FUND_ADMINISTRATOR).order_by(User.id)):
        if other.id != actor.id and other.created_by_id != actor.id and actor.created_by_id != other.id:
            return other
    raise AssertionError("no second fund administrator")


def write_off_loan(loan: Loan, *, reason: str, on_date: date, actor: User, now: datetime = NOW,
                   timezone: str = "UTC", approver: User | None = None) -> Any:
    """A write-off asked for by ``actor`` and approved by a second fund administrator: the loan's event."""
    from programme.loans.models import LoanEvent

    asked = services.request_write_off(loan, reason=reason, on_date=on_date, actor=actor, now=now, timezone=timezone)
    done = services.approve(asked, actor=approver or _second_person(actor), now=now, timezone=timezone)
    return db.session.query(LoanEvent).filter_by(journal_entry_id=done.journal_entry_id).one()


def refund_credit(loan: Loan, *, bank_reference: str, value_date: date, actor: User, now: datetime = NOW,
                  timezone: str = "UTC", approver: User | None = None, reason: str = "Overpayment returned") -> Any:
    """A credit refund asked for by ``actor`` and approved by a second fund administrator: the loan's event."""
    from programme.loans.models import LoanEvent

    asked = services.request_credit_refund(loan, bank_reference=bank_reference, value_date=value_date,
                                           reason=reason, actor=actor, now=now, timezone=timezone)
    done = services.approve(asked, actor=approver or _second_person(actor), now=now, timezone=timezone)
    return db.session.query(LoanEvent).filter_by(journal_entry_id=done.journal_entry_id).one()


def apply_statement(check: Any, *, actor: User, now: datetime = NOW, timezone: str = "UTC",
                    approver: User | None = None) -> Any:
    """A checked statement stored by ``actor`` and applied by a second fund administrator (a statement with
    nothing new, or stored already and decided, is returned as stored)."""
    from programme.loans.models import StatementStatus
    from programme.loans.services import statements

    with db.session.begin_nested():  # a refusal leaves nothing, the stored import included
        stored = statements.store_checked_statement(check, actor=actor, now=now)
        if stored.id is None or stored.status != StatementStatus.CHECKED:
            return stored
        return statements.apply_statement(stored, actor=approver or _second_person(actor), now=now,
                                          timezone=timezone)
