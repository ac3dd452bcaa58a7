"""Milestone reviews: each decision, bad input (the field named, nothing changed), no review after termination
or completion, stages only forward, termination blocking grants and funding requests while loans are still
collected, notifications and audit, access for every role, and the page."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest
from sqlalchemy import func, select

from programme.core.access import AccessDenied, NotFound, Role, RuleViolation
from programme.core.audit import AuditEntry
from programme.core.notifications import Notification
from programme.extensions import db
from programme.funding import services as funding
from programme.funding.models import InitiativeStatus, Instrument
from programme.loans import services as loans
from programme.loans.services.arrears import run_daily
from programme.monitoring.models import MilestoneDecision, MilestoneReview
from programme.monitoring.services import milestones
from tests.funding.conftest import LATER, PAID_ON, Funded, funded_initiative
from tests.loans.world import NOW as LOANS_NOW
from tests.loans.world import loan_world
from tests.reviews.world import user
from tests.worlds import Kept, keep, reload

D = Decimal
TODAY = LATER.date()
STATUS = InitiativeStatus


@pytest.fixture(scope="module")
def funded_once(built_once) -> Kept:
    with built_once():
        made = funded_initiative()
        for person in (made.admin, made.admin2, made.manager, made.reviewer, made.applicant):
            person.email = person.email.replace(".test", ".example.org")  # addresses the login form accepts
        return keep(made)


@pytest.fixture
def f(app, funded_once: Kept) -> Funded:
    return reload(funded_once)


@pytest.fixture(autouse=True)
def frozen(clock):
    clock(LATER)


def review(f: Funded, decision: str = "continue", *, reason: str = "On track with the plan.",
           conditions: str = "", next_status=None, decided_on: date = TODAY, by=None) -> MilestoneReview:
    made = milestones.record_milestone_review(f.initiative, decision=decision, reason=reason, conditions=conditions,
                                              next_status=next_status, decided_on=decided_on,
                                              actor=by or f.manager, now=LATER, timezone="UTC")
    db.session.commit()
    return made


def count_reviews() -> int:
    return db.session.scalar(select(func.count()).select_from(MilestoneReview))


# Decisions ----------------------------------------------------------------------------------------------------


def test_continue_keeps_the_stage_and_notifies_the_group(f):
    made = review(f)
    assert made.decision is MilestoneDecision.CONTINUE and made.status_before == made.status_after == STATUS.START_UP
    assert f.initiative.status == STATUS.START_UP and made.decided_by_id == f.manager.id
    notes = db.session.scalars(select(Notification).where(Notification.user_id == f.applicant.id)).all()
    assert any("Milestone review" in n.subject for n in notes)
    entry = db.session.scalars(select(AuditEntry).where(AuditEntry.action == "milestone.reviewed")).one()
    assert entry.details_dict["decision"] == "continue" and entry.object_id == made.id


def test_continue_moves_the_stage_on_never_back(f):
    review(f, next_status=STATUS.IMPLEMENTATION)
    assert f.initiative.status == STATUS.IMPLEMENTATION
    made = review(f, "continue_with_conditions", conditions="Hire a facilitator by June.",
                  next_status=STATUS.SELF_SUSTAINING)
    assert (made.status_before, made.status_after) == (STATUS.IMPLEMENTATION, STATUS.SELF_SUSTAINING)
    assert made.conditions == "Hire a facilitator by June."
    with pytest.raises(RuleViolation) as refused:
        review(f, next_status=STATUS.IMPLEMENTATION)
    assert refused.value.field == "next_status"
    db.session.rollback()
    assert f.initiative.status == STATUS.SELF_SUSTAINING and count_reviews() == 2
    review(f, next_status=STATUS.COMPLETED)
    assert f.initiative.status == STATUS.COMPLETED
    with pytest.raises(RuleViolation):
        review(f)
    db.session.rollback()
    assert count_reviews() == 3


def test_a_continue_cannot_terminate(f):
    with pytest.raises(RuleViolation) as refused:
        review(f, next_status=STATUS.TERMINATED)
    assert refused.value.field == "next_status"


def test_terminate_ends_the_initiative_and_no_review_follows(f):
    made = review(f, "terminate", reason="The group stopped meeting.")
    assert (made.status_before, made.status_after) == (STATUS.START_UP, STATUS.TERMINATED)
    assert f.initiative.status == STATUS.TERMINATED
    with pytest.raises(RuleViolation):
        review(f)
    db.session.rollback()
    with pytest.raises(RuleViolation):
        review(f, "terminate")
    db.session.rollback()
    assert count_reviews() == 1


def test_the_initiative_keeps_the_day_it_was_terminated(f):
    assert f.initiative.terminated_on is None
    review(f, "continue", next_status=STATUS.IMPLEMENTATION)
    assert f.initiative.terminated_on is None
    review(f, "terminate", reason="The group stopped meeting.", decided_on=TODAY - timedelta(days=3))
    db.session.expire_all()
    assert f.initiative.terminated_on == TODAY - timedelta(days=3)


def test_only_a_programme_manager_changes_an_initiatives_stage_in_funding(f):
    with pytest.raises(AccessDenied):
        funding.terminate_initiative(f.initiative, on=TODAY, actor=f.admin)
    with pytest.raises(AccessDenied):
        funding.change_initiative_stage(f.initiative, terminate=False, to=STATUS.IMPLEMENTATION, on=TODAY,
                                        actor=f.applicant)
    db.session.rollback()
    assert f.initiative.status == STATUS.START_UP and f.initiative.terminated_on is None


@pytest.mark.parametrize("changes, field", [
    ({"reason": "  "}, "reason"),
    ({"decision": "continue_with_conditions", "conditions": ""}, "conditions"),
    ({"decided_on": TODAY + timedelta(days=1)}, "decided_on"),
    ({"decision": "pause"}, "decision"),
    ({"next_status": "sideways"}, "next_status"),
    ({"decision": "terminate", "next_status": STATUS.IMPLEMENTATION}, "next_status"),
])
def test_bad_input_names_the_field_and_changes_nothing(f, changes, field):
    review(f, next_status=STATUS.IMPLEMENTATION)
    audits = db.session.scalar(select(func.count()).select_from(AuditEntry))
    arguments = {"decision": "terminate", "reason": "Reason", "conditions": "", "next_status": None,
                 "decided_on": TODAY, **changes}
    with pytest.raises(RuleViolation) as refused:
        milestones.record_milestone_review(f.initiative, actor=f.manager, now=LATER, timezone="UTC", **arguments)
    assert refused.value.field == field
    db.session.rollback()
    assert f.initiative.status == STATUS.IMPLEMENTATION and count_reviews() == 1
    assert db.session.scalar(select(func.count()).select_from(AuditEntry)) == audits


def test_backwards_stage_is_refused(f):
    review(f, next_status=STATUS.SELF_SUSTAINING)
    with pytest.raises(RuleViolation) as refused:
        review(f, "continue_with_conditions", conditions="Some", next_status=STATUS.START_UP)
    assert refused.value.field == "next_status"


# Access -------------------------------------------------------------------------------------------------------


def test_access_per_role(f):
    review(f)
    other = user("other@groups.example.org", Role.APPLICANT)
    for reader in (f.manager, f.admin, f.applicant):
        assert len(milestones.reviews_of(f.initiative, actor=reader)) == 1
    for stranger in (f.reviewer, other):
        with pytest.raises(NotFound):
            milestones.reviews_of(f.initiative, actor=stranger)
        with pytest.raises(NotFound):
            review(f, by=stranger)
    for reader in (f.admin, f.applicant):
        with pytest.raises(AccessDenied):
            review(f, by=reader)
    db.session.rollback()
    assert count_reviews() == 1


# Termination and the money -----------------------------------------------------------------------------------


def _terminate(f: Funded) -> None:
    review(f, "terminate", reason="The group dissolved.")


def test_termination_blocks_new_tranches_and_approvals(f):
    waiting = funding.request_disbursement(f.grant, amount="5000.00", purpose="Fair", actor=f.admin, now=LATER,
                                           timezone="UTC")
    db.session.commit()
    _terminate(f)
    with pytest.raises(RuleViolation):
        funding.request_disbursement(f.grant, amount="1000.00", purpose="More", actor=f.admin, now=LATER,
                                     timezone="UTC")
    db.session.rollback()
    with pytest.raises(RuleViolation):
        funding.approve_disbursement(waiting, actor=f.admin2, now=LATER, timezone="UTC")
    db.session.rollback()
    assert waiting.status.value == "requested"


def test_termination_blocks_funding_requests(f):
    _terminate(f)
    with pytest.raises(RuleViolation):
        funding.submit_funding_request(f.initiative, title="Kiln", description="A shared kiln", cost="10000.00",
                                       instrument=Instrument.MATCHING_GRANT.value, grant_asked="5000.00",
                                       loan_asked="0", actor=f.applicant, now=LATER)


def test_termination_blocks_paying_an_approved_tranche_after_the_termination(f):
    approved = funding.request_disbursement(f.grant, amount="5000.00", purpose="Fair", actor=f.admin, now=LATER,
                                            timezone="UTC")
    funding.approve_disbursement(approved, actor=f.admin2, now=LATER, timezone="UTC")
    db.session.commit()
    review(f, "terminate", reason="The group dissolved.", decided_on=PAID_ON)
    later = datetime(2027, 7, 2, 10, 0, tzinfo=UTC)
    with pytest.raises(RuleViolation, match="terminated on 30 Jun 2027") as refused:
        funding.record_payment(approved, value_date=later.date(), bank_reference="BANK-9", actor=f.admin, now=later,
                               timezone="UTC")
    assert refused.value.field == "value_date"
    db.session.rollback()
    assert approved.status.value == "approved"
    # The bank paid it the day the manager decided: that transfer is recorded, so the books stay true.
    paid = funding.record_payment(approved, value_date=PAID_ON, bank_reference="BANK-9", actor=f.admin, now=later,
                                  timezone="UTC")
    assert paid.status.value == "paid"


def test_a_terminated_initiatives_loans_are_still_collected(app):
    w = loan_world()
    db.session.commit()
    milestones.record_milestone_review(w.initiative, decision="terminate", reason="Stopped.", conditions="",
                                       next_status=None, decided_on=LOANS_NOW.date(), actor=w.manager,
                                       now=LOANS_NOW, timezone="UTC")
    db.session.commit()
    assert w.initiative.status == STATUS.TERMINATED
    first = w.loan.instalments[0]
    amount = first.principal + first.interest
    repayment = loans.record_repayment(w.loan, amount=amount, value_date=date(2027, 8, 15), bank_reference="R-1",
                                       actor=w.admin, now=LOANS_NOW, timezone="UTC")
    db.session.commit()
    assert repayment.id is not None and repayment.amount == amount
    result = run_daily(as_of=LOANS_NOW.date(), actor=w.admin, now=LOANS_NOW)
    db.session.commit()
    assert result.as_of == LOANS_NOW.date()


# The page -----------------------------------------------------------------------------------------------------


def test_the_manager_records_a_review_on_the_page(f, client, login):
    login(f.manager)
    page = client.get(f"/initiatives/{f.initiative.id}/milestone-reviews")
    assert page.status_code == 200 and "Record the review" in page.get_data(as_text=True)
    response = client.post(f"/initiatives/{f.initiative.id}/milestone-reviews", data={
        "decision": "continue_with_conditions", "reason": "Good start.", "conditions": "",
        "next_status": "implementation", "decided_on": TODAY.isoformat()})
    assert response.status_code == 422
    assert "State the conditions" in response.get_data(as_text=True) and count_reviews() == 0
    response = client.post(f"/initiatives/{f.initiative.id}/milestone-reviews", data={
        "decision": "continue", "reason": "", "next_status": "", "decided_on": TODAY.isoformat()})
    assert response.status_code == 422 and "Give the reason" in response.get_data(as_text=True)
    response = client.post(f"/initiatives/{f.initiative.id}/milestone-reviews", data={
        "decision": "continue_with_conditions", "reason": "Good start.", "conditions": "Report monthly.",
        "next_status": "implementation", "decided_on": TODAY.isoformat()})
    assert response.status_code == 302
    db.session.expire_all()
    assert f.initiative.status == STATUS.IMPLEMENTATION
    html = client.get(f"/initiatives/{f.initiative.id}/milestone-reviews").get_data(as_text=True)
    assert "Report monthly." in html and "Continue with conditions" in html
    response = client.post(f"/initiatives/{f.initiative.id}/milestone-reviews", data={
        "decision": "terminate", "reason": "Dissolved.", "next_status": "", "decided_on": TODAY.isoformat()})
    assert response.status_code == 302
    html = client.get(f"/initiatives/{f.initiative.id}/milestone-reviews").get_data(as_text=True)
    assert "was terminated" in html and "Record the review" not in html


@pytest.mark.parametrize("who, get, post", [("admin", 200, 403), ("applicant", 200, 403), ("reviewer", 404, 404)])
def test_page_access(f, client, login, who, get, post):
    review(f, "terminate", reason="Dissolved.")
    login(getattr(f, who))
    page = client.get(f"/initiatives/{f.initiative.id}/milestone-reviews")
    assert page.status_code == get
    if get == 200:
        html = page.get_data(as_text=True)
        assert "was terminated" in html and "Dissolved." in html and "Record the review" not in html
    response = client.post(f"/initiatives/{f.initiative.id}/milestone-reviews", data={
        "decision": "continue", "reason": "x", "decided_on": TODAY.isoformat()})
    assert response.status_code == post


def test_anonymous_is_sent_to_log_in(f, client):
    response = client.get(f"/initiatives/{f.initiative.id}/milestone-reviews")
    assert response.status_code == 302 and "/login" in response.headers["Location"]
