"""Generated data for the dashboard tests, made through the real services where they exist: one call reviewed,
decided and published with five initiatives (two of them then moved to a second call), start-up grants with
paid, rejected and requested tranches, a matching grant with verified and unverified co-financing and a paid
tranche, two revolving funds with loans (one repaid in part and late), terminations (one with a milestone
review), and initiatives in different programme years (their start dates moved back)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path

from programme.accounts.models import User
from programme.calls.models import Call
from programme.core.access import Role
from programme.extensions import db
from programme.funding import services as funding
from programme.funding.models import Initiative, InitiativeStatus
from programme.loans import services as loans
from programme.loans.services import arrears
from programme.monitoring.models import MilestoneDecision, MilestoneReview
from programme.reviews import services as reviews
from tests.funding.conftest import Funded
from tests.funding.matching import contribute, matching_grant
from tests.proposals.builders import make_call
from tests.reviews.world import AFTER, DURING, assign, build, submit_review, user
from tests.worlds import Kept, keep

D = Decimal
#: The dashboard's day, and a moment on it.
TODAY = date(2028, 3, 1)
NOW = datetime(2028, 3, 1, 9, 0, tzinfo=UTC)
ZONE = "UTC"


@dataclass
class DashboardWorld:
    call: Call
    call2: Call
    initiatives: list[Initiative]
    manager: User
    admin: User
    admin2: User
    reviewer: User
    applicant: User
    users: list[User]


def _pay(grant, amount: str, *, on: date, reference: str, admin: User, admin2: User, now: datetime) -> None:
    made = funding.request_disbursement(grant, amount=amount, purpose="Activities", actor=admin, now=now,
                                        timezone="UTC")
    funding.approve_disbursement(made, actor=admin2, now=now, timezone="UTC")
    funding.record_payment(made, value_date=on, bank_reference=reference, actor=admin, now=now, timezone="UTC")


def dashboard_world(upload_root: Path | str) -> DashboardWorld:
    world = build(proposals=5, reviewers=3, requested=[D("30000.00")] * 5)
    for proposal in world.proposals:
        for review in assign(world, proposal, *world.reviewers):
            submit_review(review, "4")
    reviews.decide_as_ranked(world.call, actor=world.manager, now=DURING)
    initiatives = sorted(reviews.publish_decisions(world.call, actor=world.manager, now=AFTER),
                         key=lambda i: i.reference)
    assert len(initiatives) == 5, "every proposal funded"
    admin = user("admin@funds.test", Role.FUND_ADMINISTRATOR)
    admin2 = user("admin2@funds.test", Role.FUND_ADMINISTRATOR)
    i0, i1, i2, i3, i4 = initiatives
    f0 = Funded(i0, i0.startup_grant, admin, admin2, world.manager, world.reviewers[0], world.leads[0])

    # I0, year 1: start-up tranches paid, rejected and requested; a matching grant with co-financing.
    year1 = datetime(2027, 9, 1, 10, 0, tzinfo=UTC)
    _pay(i0.startup_grant, "10000.00", on=date(2027, 7, 1), reference="SU-0-1", admin=admin, admin2=admin2,
         now=year1)
    rejected = funding.request_disbursement(i0.startup_grant, amount="4000.00", purpose="Fair", actor=admin, now=year1,
                                            timezone="UTC")
    funding.reject_disbursement(rejected, reason="Not in the plan.", actor=admin2, now=year1)
    funding.request_disbursement(i0.startup_grant, amount="3000.00", purpose="Travel", actor=admin, now=year1,
                                 timezone="UTC")
    grant = matching_grant(f0, "50000.00", now=year1)
    contribute(f0, grant, "40000.00", on=date(2027, 8, 1), upload_root=upload_root, now=year1)
    contribute(f0, grant, "5000.00", on=date(2027, 8, 2), upload_root=upload_root, now=year1, verify=False,
               filename="second.pdf")
    _pay(grant, "20000.00", on=date(2027, 9, 15), reference="MG-0-1", admin=admin, admin2=admin2,
         now=datetime(2027, 9, 20, 10, 0, tzinfo=UTC))
    # I0's fund: capitalised, one loan repaid in part and now late.
    fund = loans.fund_of(i0)
    loans.capitalise_fund(fund, amount=D("50000.00"), value_date=date(2027, 7, 1), bank_reference="CAP-0",
                          actor=admin, now=NOW, timezone="UTC")
    loan = loans.make_loan(fund, borrower_id=i0.group.organisations[0].id, principal=D("12000.00"),
                           annual_rate=D("0.04"), term_periods=12, first_due=date(2027, 8, 15),
                           disbursed_on=date(2027, 7, 15), bank_reference="LOAN-0", purpose="A shared kiln",
                           actor=admin, now=NOW, timezone="UTC")
    loans.record_repayment(loan, amount=D("3000.00"), value_date=date(2027, 10, 20), bank_reference="REP-0-1",
                           actor=admin, now=NOW, timezone="UTC")

    # I1, year 1: paid a tranche, then terminated by a milestone review.
    _pay(i1.startup_grant, "5000.00", on=date(2027, 7, 2), reference="SU-1-1", admin=admin, admin2=admin2,
         now=year1)
    i1.status = InitiativeStatus.TERMINATED
    db.session.add(MilestoneReview(
        initiative_id=i1.id, decision=MilestoneDecision.TERMINATE, reason="No activity for a year.",
        status_before=InitiativeStatus.START_UP, status_after=InitiativeStatus.TERMINATED,
        decided_on=date(2028, 2, 1), decided_by_id=world.manager.id, recorded_at=NOW - timedelta(days=29)))

    # I4: a second fund with a loan not yet due; then moved to a second call and back to programme year 3.
    fund4 = loans.fund_of(i4)
    loans.capitalise_fund(fund4, amount=D("20000.00"), value_date=date(2028, 2, 1), bank_reference="CAP-4",
                          actor=admin, now=NOW, timezone="UTC")
    loans.make_loan(fund4, borrower_id=i4.group.organisations[0].id, principal=D("5000.00"),
                    annual_rate=D("0.03"), term_periods=6, first_due=date(2028, 4, 10),
                    disbursed_on=date(2028, 2, 10), bank_reference="LOAN-4", purpose="Moulds", actor=admin, now=NOW,
                    timezone="UTC")

    call2 = make_call()
    # I2: past the schedule (year 6), self-sustaining; I3: past it (year 7), terminated; I4 year 3.
    i2.started_at = datetime(2022, 1, 1, 8, 0, tzinfo=UTC)
    i2.status = InitiativeStatus.SELF_SUSTAINING
    i3.started_at = datetime(2021, 1, 1, 8, 0, tzinfo=UTC)
    i3.status = InitiativeStatus.TERMINATED
    i4.started_at = datetime(2025, 6, 1, 8, 0, tzinfo=UTC)
    i4.status = InitiativeStatus.IMPLEMENTATION
    i3.call = call2
    i4.call = call2
    db.session.flush()
    arrears.run_daily(as_of=TODAY, actor=admin, now=NOW)
    db.session.flush()
    users = [world.manager, *world.reviewers, *world.leads, admin, admin2]
    return DashboardWorld(world.call, call2, initiatives, world.manager, admin, admin2, world.reviewers[0],
                          world.leads[0], users)


def world_to_log_in(app) -> Kept:
    """The dashboard world built in ``app``'s database with addresses the login form accepts (``.example.org``),
    kept for the tests of a module that open its pages."""
    app.config["PROGRAMME_TIMEZONE"] = ZONE
    made = dashboard_world(app.config["UPLOAD_FOLDER"])
    for person in made.users:
        person.email = person.email.replace(".test", ".example.org")
    return keep(made)
