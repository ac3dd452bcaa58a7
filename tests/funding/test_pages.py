"""The initiative pages through the test client: the list and an initiative's page for each role, and its
start-up grant paid in tranches (request, approve by another person, pay), with every refusal shown on the
page and nothing changed.

The initiative is made the real way (``tests/funding/conftest.py``); the pages' clock is frozen at ``LATER``."""

from __future__ import annotations

import re
from decimal import Decimal

import pytest
from sqlalchemy import func, select

from programme.core.timezone import format_day
from programme.extensions import db
from programme.funding import services
from programme.funding.models import Disbursement, DisbursementStatus
from programme.ledger.models import JournalEntry
from tests.funding.conftest import LATER, PAID_ON, Funded, loginable, page_text
from tests.reviews.world import user

D = Decimal


@pytest.fixture(autouse=True)
def frozen(clock):
    clock(LATER)


@pytest.fixture
def f(funded: Funded) -> Funded:
    """The funded initiative, its people given addresses the login form accepts."""
    return loginable(funded)


text = page_text


def page_of(f: Funded) -> str:
    return f"/initiatives/{f.initiative.id}"


def request(client, f: Funded, amount: str = "10,000.00", purpose: str = "Facilitator's first quarter"):
    return client.post(f"{page_of(f)}/disbursements", data={"amount": amount, "purpose": purpose})


def disbursements() -> list[Disbursement]:
    db.session.expire_all()
    return list(db.session.scalars(select(Disbursement).order_by(Disbursement.id)))


def entries() -> int:
    return db.session.scalar(select(func.count()).select_from(JournalEntry))


def requested(f: Funded, amount: str = "10000.00", by=None) -> Disbursement:
    d = services.request_disbursement(f.grant, amount=amount, purpose="Tranche", actor=by or f.manager, now=LATER,
                                      timezone="UTC")
    db.session.commit()
    return d


# Who sees what -------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("who", ["manager", "admin"])
def test_staff_see_the_list_and_the_page_with_forms(client, login, f, who):
    login(getattr(f, who).email)
    listing = text(client.get("/initiatives"))
    assert f.initiative.reference in listing and f.initiative.group.name in listing
    assert "EUR 30,000.00" in listing
    page = client.get(page_of(f))
    assert page.status_code == 200
    body = page.get_data(as_text=True)
    assert f'action="/initiatives/{f.initiative.id}/disbursements"' in body
    assert f'href="/proposals/{f.initiative.proposal_id}"' in body
    assert "Initiatives</a>" in client.get("/").get_data(as_text=True)


def test_the_applicant_sees_its_own_initiative_read_only_and_not_another(client, login, f, make_user):
    d = requested(f)
    login(f.applicant.email)
    listing = text(client.get("/initiatives"))
    assert f.initiative.reference in listing
    page = client.get(page_of(f))
    assert page.status_code == 200
    body = page.get_data(as_text=True)
    # no disbursement form (the group's own forms, for funding requests, are tested in test_matching_pages.py)
    assert f'action="/initiatives/{f.initiative.id}/disbursements"' not in body and "/disbursements/" not in body
    assert "read-only" in text(page) and "EUR 10,000.00" in text(page)
    # an applicant of another group: not in its list, 404 on the page and on every action
    other = make_user("other-lead@example.org")
    client.post("/logout")
    login(other.email)
    assert f.initiative.reference not in text(client.get("/initiatives"))
    assert client.get(page_of(f)).status_code == 404
    assert request(client, f).status_code == 404
    assert client.post(f"/disbursements/{d.id}/approve").status_code == 404


def test_the_applicant_of_the_group_cannot_act(client, login, f):
    d = requested(f)
    login(f.applicant.email)
    assert request(client, f).status_code == 403
    assert client.post(f"/disbursements/{d.id}/approve").status_code == 403
    assert client.post(f"/disbursements/{d.id}/reject", data={"reason": "No"}).status_code == 403
    assert [x.status for x in disbursements()] == [DisbursementStatus.REQUESTED]


def test_a_reviewer_sees_no_initiative(client, login, f):
    d = requested(f)
    login(f.reviewer.email)
    assert client.get("/initiatives").status_code == 403
    for response in (client.get(page_of(f)), request(client, f), client.post(f"/disbursements/{d.id}/approve"),
                     client.post(f"/disbursements/{d.id}/reject", data={"reason": "No"}),
                     client.post(f"/disbursements/{d.id}/pay", data={"value_date": "2027-06-30",
                                                                     "bank_reference": "X"})):
        assert response.status_code in (403, 404)
    assert "Initiatives</a>" not in client.get("/").get_data(as_text=True)


# The whole path ------------------------------------------------------------------------------------------------


def test_request_approve_pay_through_the_pages(client, login, f):
    login(f.manager.email)
    response = request(client, f, "10,000.00")
    assert response.status_code == 302
    (d,) = disbursements()
    assert d.amount == D("10000.00") and d.status == DisbursementStatus.REQUESTED
    page = text(client.get(page_of(f)))
    assert "EUR 10,000.00 requested for" in page and "EUR 20,000.00 of the start-up grant is left" in page
    assert "You requested this tranche, so another" in page
    client.post("/logout")

    login(f.admin.email)
    home = client.get("/").get_data(as_text=True)
    assert f"/initiatives/{f.initiative.id}#disbursement-{d.id}" in home and "Awaiting approval" in home
    assert client.post(f"/disbursements/{d.id}/approve").status_code == 302
    page = text(client.get(page_of(f)))
    assert "approved: it may now be paid" in page and "Record the payment" in page
    assert f'value="{format_day(LATER.date())}"' in client.get(page_of(f)).get_data(as_text=True)
    response = client.post(f"/disbursements/{d.id}/pay",
                           data={"value_date": PAID_ON.isoformat(), "bank_reference": "BANK-123"})
    assert response.status_code == 302
    page = text(client.get(page_of(f)))
    assert f"EUR 10,000.00 paid to {f.initiative.reference} on 30 Jun 2027, reference BANK-123" in page
    (d,) = disbursements()
    assert d.status == DisbursementStatus.PAID and d.bank_reference == "BANK-123"
    assert services.paid_from_ledger(f.initiative) == D("10000.00")
    assert "Paid EUR 10,000.00" in page and "Grants paid, according to the ledger EUR 10,000.00" in page
    assert "Left to request EUR 20,000.00" in page and "does not agree" not in page
    listing = text(client.get("/initiatives"))
    assert "EUR 30,000.00 EUR 10,000.00 EUR 20,000.00" in listing


def test_the_requester_cannot_approve_and_is_told_why(client, login, f):
    d = requested(f, by=f.admin)
    login(f.admin.email)
    page = client.get(page_of(f)).get_data(as_text=True)
    assert f"/disbursements/{d.id}/approve" not in page and "You requested this tranche" in page
    response = client.post(f"/disbursements/{d.id}/approve")
    assert response.status_code == 200
    assert "You asked for this disbursement, so someone else must approve it." in text(response)
    assert disbursements()[0].status == DisbursementStatus.REQUESTED


def test_a_request_over_the_remainder_is_refused_with_the_figure(client, login, f):
    requested(f, "25000.00")
    login(f.admin.email)
    response = request(client, f, "5000.01")
    assert response.status_code == 200
    body = text(response)
    assert "EUR 5,000.01 is more than is left: EUR 5,000.00 is left of the start-up grant of EUR 30,000.00" in body
    assert 'value="5000.01"' in response.get_data(as_text=True)  # what was typed stays
    assert len(disbursements()) == 1
    assert request(client, f, "5000.00").status_code == 302


@pytest.mark.parametrize(("typed", "message"), [
    ("12,5", "Write the cents after a point: 12.5, not 12,5"),
    ("abc", "'abc' is not an amount."),
    ("1e3", "'1e3' is not an amount."),
    ("12.345", "Use at most 2 decimal places."),
    ("0", "Give an amount above zero."),
    ("", "Give the amount."),
])
def test_a_bad_amount_gets_a_field_message(client, login, f, typed, message):
    login(f.manager.email)
    response = request(client, f, typed)
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert re.search(r'<p class="error" role="alert">[^<]*' + re.escape(message.replace("'", "&#39;")), html), html
    assert disbursements() == []


def test_a_bank_reference_used_twice_is_refused(client, login, f):
    first, second = requested(f, "1000.00"), requested(f, "2000.00")
    for d in (first, second):
        services.approve_disbursement(d, actor=f.admin2, now=LATER, timezone="UTC")
    db.session.commit()
    login(f.admin.email)
    data = {"value_date": PAID_ON.isoformat(), "bank_reference": "BANK-777"}
    assert client.post(f"/disbursements/{first.id}/pay", data=data).status_code == 302
    before = entries()
    response = client.post(f"/disbursements/{second.id}/pay", data=data)
    assert response.status_code == 200
    assert f"The bank reference BANK-777 is already used for disbursement {first.id}" in text(response)
    assert 'value="BANK-777"' in response.get_data(as_text=True)
    assert entries() == before
    assert [d.status for d in disbursements()] == [DisbursementStatus.PAID, DisbursementStatus.APPROVED]
    # the same payment recorded again changes nothing
    assert client.post(f"/disbursements/{first.id}/pay", data=data).status_code == 302
    assert entries() == before


def test_a_future_value_date_is_refused_on_the_field(client, login, f):
    d = requested(f)
    services.approve_disbursement(d, actor=f.admin2, now=LATER, timezone="UTC")
    db.session.commit()
    login(f.admin.email)
    response = client.post(f"/disbursements/{d.id}/pay", data={"value_date": "2027-07-02", "bank_reference": "B-1"})
    assert response.status_code == 200 and "is in the future" in text(response)
    assert disbursements()[0].status == DisbursementStatus.APPROVED


def test_a_manager_rejects_with_a_reason_and_cannot_pay(client, login, f):
    d = requested(f, by=f.admin)
    login(f.manager.email)
    response = client.post(f"/disbursements/{d.id}/reject", data={"reason": ""})
    assert response.status_code == 200 and "Give the reason for the rejection." in text(response)
    assert disbursements()[0].status == DisbursementStatus.REQUESTED
    response = client.post(f"/disbursements/{d.id}/reject", data={"reason": "No invoice yet."})
    assert response.status_code == 302
    page = text(client.get(page_of(f)))
    assert "rejected; the amount may be requested again" in page and "No invoice yet." in page
    assert "Left to request EUR 30,000.00" in page
    second = requested(f, by=f.admin)
    services.approve_disbursement(second, actor=f.manager, now=LATER, timezone="UTC")
    db.session.commit()
    assert "A fund administrator records the payment." in text(client.get(page_of(f)))
    response = client.post(f"/disbursements/{second.id}/pay", data={"value_date": PAID_ON.isoformat(),
                                                                    "bank_reference": "B-2"})
    assert response.status_code == 403
    assert disbursements()[1].status == DisbursementStatus.APPROVED


def test_an_applicant_with_no_initiative_sees_an_empty_list(client, login, f):
    lead = user("lonely@example.org")
    db.session.commit()
    login(lead.email)
    assert "No initiative to show" in text(client.get("/initiatives"))
