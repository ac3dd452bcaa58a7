"""What the browser tests set up off the pages, before their steps (see steps.py): the live app served on a local
port, people and groups, a draft proposal, a review assigned to a reviewer, a loan with an overdue instalment.
``seed_user`` and ``add_firms`` run inside the live app's context and leave the commit to their caller; the functions
given the live server enter its context and commit.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from decimal import Decimal

from dateutil.relativedelta import relativedelta
from flask import Flask
from werkzeug.serving import make_server

from programme.accounts import services as accounts
from programme.accounts.models import ApplicantGroup, OrganisationType, SizeClass, User
from programme.calls.models import Call
from programme.core.access import Role, SystemActor
from programme.core.db import utcnow
from programme.core.timezone import to_local
from programme.extensions import db
from programme.loans import services as loans
from programme.loans.schedule import LoanTerms, build_schedule
from programme.proposals import services as proposals
from programme.reviews import services as reviews
from tests.funding.conftest import funded_initiative
from tests.proposals.builders import activity_data, cluster_section, indicator_data, line_data, make_group
from tests.reviews.world import START, build

SEEDER = SystemActor("test")
#: The fund administrator of ``seed_overdue_loan``'s world logs in with this address; the fund's cash and the loan.
LOAN_ADMIN = "loans.admin@example.org"
LOAN_CASH = Decimal("20000.00")
LOAN_PRINCIPAL = Decimal("6000.00")


@contextmanager
def serving(live_app: Flask, name: str) -> Iterator[str]:
    """The app on 127.0.0.1 (a free port) in a daemon thread named ``name``, its address given, while the block
    runs; then stopped, and its database connections closed."""
    server = make_server("127.0.0.1", 0, live_app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, name=name, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.port}"
    finally:
        server.shutdown()
        thread.join(timeout=10)
        server.server_close()
        with live_app.app_context():
            db.engine.dispose()


def seed_user(email: str, name: str, role: Role, password: str) -> User:
    """A user with one role, inside the live app's context."""
    return accounts.create_user(email=email, name=name, roles=[role], password=password, actor=SEEDER)


def add_firms(group: ApplicantGroup, lead: User, *, name: str, locality: str, sector: str, count: int = 4) -> None:
    """``count`` small firms, "{name} 1" on, join the group."""
    for n in range(1, count + 1):
        accounts.add_organisation(group, accounts.OrganisationData(
            f"{name} {n}", OrganisationType.FIRM, locality, SizeClass.SMALL, sector), actor=lead)


def seed_assigned_review(live_server, *, email: str, name: str, password: str) -> dict:
    """A call in review with one proposal, assigned to a reviewer who logs in with ``email`` and ``password``: the
    review's id, the proposal's reference, the criteria's keys and the justifications' minimum length."""
    with live_server.app.app_context():
        world = build(proposals=1, reviewers=0)
        reviewer = accounts.create_user(email=email, name=name, roles=[Role.REVIEWER], password=password,
                                        actor=SEEDER)
        reviews.add_reviewer(world.call, reviewer, actor=world.manager, now=START)
        review = reviews.assign_reviewer(world.call, world.proposals[0], reviewer.id, actor=world.manager, now=START)
        seeded = {
            "review_id": review.id,
            "reference": world.proposals[0].reference,
            "keys": [c.key for c in world.call.criteria],
            "minimum": world.call.rules.scoring.justification_min_length,
        }
        db.session.commit()
        db.session.remove()
    return seeded


def seed_kiln_proposal(live_server, *, email: str, password: str, group: str, draft: bool) -> int | None:
    """The lead of a group of four firms and a business association; with ``draft``, its proposal to the open call
    (its id is returned): one activity costing 50,000.00, budget lines of 30,000.00 + 12,000.00, 30,000.00
    requested."""
    with live_server.app.app_context():
        lead = seed_user(email, "Budget Lead", Role.APPLICANT, password)
        applicants = make_group(lead, name=group)
        proposal_id = None
        if draft:
            now = utcnow()
            call = db.session.get(Call, live_server.seeded.open_call_id)
            proposal = proposals.start_proposal(call, applicants, title="Joint kiln", actor=lead, now=now)
            proposals.update_cluster(proposal, cluster_section("Joint kiln"), actor=lead, now=now)
            proposals.update_objectives(proposal, objectives="Fire together.", sustainability_plan="Member fees.",
                                        actor=lead, now=now)
            kiln = proposals.add_activity(proposal, activity_data(title="Shared kiln", cost=Decimal("50000.00")),
                                          actor=lead, now=now)
            proposals.add_budget_line(proposal, line_data(kiln.id, description="Kiln", amount=Decimal("30000.00")),
                                      actor=lead, now=now)
            proposals.add_budget_line(proposal, line_data(kiln.id, cost_type="venues", description="Shed",
                                                          amount=Decimal("12000.00")), actor=lead, now=now)
            proposals.set_requested_amount(proposal, Decimal("30000.00"), actor=lead, now=now)
            proposals.add_indicator(proposal, indicator_data(), actor=lead, now=now)
            proposal_id = proposal.id
        db.session.commit()
        db.session.remove()
    return proposal_id


def seed_overdue_loan(live_server) -> dict:
    """A fund capitalised with LOAN_CASH two months ago and a loan of LOAN_PRINCIPAL paid out 45 days ago, first due
    15 days ago (so its first instalment is overdue today), at 3 % over 12 months; the administrator logs in with
    LOAN_ADMIN. The fund's and the loan's ids, the loan's number, the currency, the first instalment's total, today
    (ISO) and the fund's cash after the loan."""
    app = live_server.app
    with app.app_context():
        today = to_local(utcnow(), app.config["PROGRAMME_TIMEZONE"]).date()
        now = utcnow()
        made = funded_initiative()
        admin = made.admin
        admin.email = LOAN_ADMIN
        fund = loans.fund_of(made.initiative)
        loans.capitalise_fund(fund, amount=LOAN_CASH, value_date=today - timedelta(days=60), bank_reference="B-CAP-1",
                              actor=admin, now=now, timezone=app.config["PROGRAMME_TIMEZONE"])
        first_due = today - timedelta(days=15)
        loan = loans.make_loan(
            fund, borrower_id=made.initiative.group.organisations[0].id, principal=LOAN_PRINCIPAL,
            annual_rate=Decimal("0.03"), term_periods=12, first_due=first_due,
            disbursed_on=first_due - relativedelta(months=1), bank_reference="B-LOAN-1",
            purpose="Shared packaging line",
            actor=admin, now=now, timezone=app.config["PROGRAMME_TIMEZONE"])
        first = build_schedule(LoanTerms(principal=LOAN_PRINCIPAL, annual_rate=Decimal("0.03"), term_periods=12,
                                         first_due=first_due, currency=fund.currency))[0]
        seeded = {"fund_id": fund.id, "loan_id": loan.id, "number": loan.number, "currency": fund.currency,
                  "first": first.total, "today": today.isoformat(), "cash": LOAN_CASH - LOAN_PRINCIPAL}
        db.session.commit()
        db.session.remove()
    return seeded
