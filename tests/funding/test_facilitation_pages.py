"""The facilitation fund through the pages (the test client): the lead's claim form (a cost outside the first year
refused beside its field, nothing kept), the claim's page with its costs and evidence, verification by a fund
administrator, the tranche approved by another and paid, and the fund's figures on the initiative's page."""

from __future__ import annotations

import io
import re
from datetime import date
from decimal import Decimal

import pytest
from sqlalchemy import select

from programme.dashboard.figures import programme_figures
from programme.extensions import db
from programme.funding.models import ClaimStatus, Disbursement, FacilitationClaim
from tests.funding.conftest import LATER, Funded, loginable, page_text
from tests.funding.facilitation import NOW, PDF, cost, paid_claim

text = page_text


@pytest.fixture(autouse=True)
def frozen(clock):
    clock(LATER)  # 1 July 2027: the initiative started on 1 June 2027


@pytest.fixture
def f(funded: Funded) -> Funded:
    return loginable(funded)


def _row(index: int, *, kind: str = "facilitator", description: str = "Facilitator, two workshops",
         on: str = "2027-06-15", amount: str = "1,000.00", content: bytes = PDF) -> dict:
    return {f"items-{index}-kind": kind, f"items-{index}-description": description,
            f"items-{index}-incurred_on": on, f"items-{index}-amount": amount,
            f"items-{index}-file": (io.BytesIO(content), f"invoice-{index}.pdf")}


def _claims() -> list[FacilitationClaim]:
    db.session.expire_all()
    return list(db.session.scalars(select(FacilitationClaim)))


def _error_beside(html: str, field_id: str, message: str) -> bool:
    """The message is shown in the field's own block, after its input."""
    at = html.find(f'id="{field_id}"')
    return at >= 0 and re.search(re.escape(message.replace("'", "&#39;")), html[at:at + 3000]) is not None


def test_the_lead_claims_an_administrator_verifies_and_the_tranche_is_paid(client, login, f) -> None:
    url = f"/initiatives/{f.initiative.id}/facilitation-claims"
    login(f.applicant.email)
    page = text(client.get(f"/initiatives/{f.initiative.id}"))
    assert "Facilitation fund" in page and "Ceiling EUR 20,000.00" in page and "No claim yet." in page
    assert "Months left for costs to count 11" in page
    form = client.get(url)
    assert form.status_code == 200 and 'name="items-0-incurred_on"' in form.get_data(as_text=True)

    # a cost dated before the start: refused beside the row's date, nothing kept
    response = client.post(url, data={**_row(0), **_row(1, on="2027-05-31", kind="venue", amount="200.00"),
                                      "amount": "", "note": ""}, content_type="multipart/form-data")
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert _error_beside(html, "items-1-incurred_on", "Cost 2: 2027-05-31 is before the initiative started")
    assert 'value="Facilitator, two workshops"' in html  # what was typed is kept
    assert _claims() == []
    # one cent over the share: refused beside the amount
    response = client.post(url, data={**_row(0), "amount": "500.01"}, content_type="multipart/form-data")
    assert response.status_code == 200 and _error_beside(response.get_data(as_text=True), "amount",
                                                         "The facilitation fund pays 50 % of the costs")
    response = client.post(url, data={**_row(0), **_row(1, kind="catering", description="Lunch", amount="200.00"),
                                      "amount": "", "note": "Our first two meetings."},
                           content_type="multipart/form-data")
    assert response.status_code == 302
    (claim,) = _claims()
    assert (claim.costs, claim.amount, len(claim.items)) == (1200, 600, 2)
    page = client.get(f"/facilitation-claims/{claim.id}")
    assert page.status_code == 200
    assert "Catering at meetings and workshops" in text(page) and "invoice-1.pdf" in text(page)
    evidence = client.get(f"/facilitation-claims/{claim.id}/items/{claim.items[0].id}/evidence")
    assert evidence.status_code == 200 and evidence.data == PDF
    assert client.post(f"/facilitation-claims/{claim.id}/verify").status_code == 403  # the lead never verifies
    client.post("/logout")

    login(f.admin.email)
    page = text(client.get(f"/facilitation-claims/{claim.id}"))
    assert "Verify and request EUR 600.00" in page and "The most every limit allows EUR 600.00" in page
    assert "Left of the ceiling of EUR 20,000.00 EUR 20,000.00" in page
    assert client.post(f"/facilitation-claims/{claim.id}/verify").status_code == 302
    assert client.post(f"/facilitation-claims/{claim.id}/verify").status_code == 302  # again: nothing changes
    (claim,) = _claims()
    assert claim.status == ClaimStatus.VERIFIED
    d_id = claim.disbursement_id
    assert len(list(db.session.scalars(select(Disbursement).where(Disbursement.grant_id == claim.grant_id)))) == 1
    # the verifier requested the tranche: another person approves it
    assert "You requested this tranche" in text(client.get(f"/initiatives/{f.initiative.id}"))
    client.post("/logout")
    login(f.admin2.email)
    assert client.post(f"/disbursements/{d_id}/approve").status_code == 302
    assert client.post(f"/disbursements/{d_id}/pay", data={"value_date": "2027-07-01",
                                                            "bank_reference": "FAC-PAGE-1"}).status_code == 302
    page = text(client.get(f"/initiatives/{f.initiative.id}"))
    assert "Paid EUR 600.00" in page and "Remaining (ceiling less tranches requested, approved or paid) " \
                                         "EUR 19,400.00" in page
    assert "Facilitation claim" in text(client.get(f"/facilitation-claims/{claim.id}")) and \
        "FAC-PAGE-1" in text(client.get(f"/facilitation-claims/{claim.id}"))


def test_refusing_a_claim_needs_a_reason(client, login, f) -> None:
    login(f.applicant.email)
    client.post(f"/initiatives/{f.initiative.id}/facilitation-claims", data={**_row(0), "amount": ""},
                content_type="multipart/form-data")
    (claim,) = _claims()
    client.post("/logout")
    login(f.admin.email)
    response = client.post(f"/facilitation-claims/{claim.id}/refuse", data={"reason": ""})
    assert response.status_code == 200 and "Give the reason for the rejection." in text(response)
    assert client.post(f"/facilitation-claims/{claim.id}/refuse",
                       data={"reason": "The invoice is for another group."}).status_code == 302
    (claim,) = _claims()
    assert claim.status == ClaimStatus.REFUSED
    assert "The invoice is for another group." in text(client.get(f"/facilitation-claims/{claim.id}"))


def test_the_dashboard_counts_a_paid_claim_among_the_matching_grants(client, login, f, tmp_path) -> None:
    paid_claim(f, cost("1000.00", on=date(2027, 6, 10)), upload_root=tmp_path, now=NOW.replace(month=6, day=20))
    db.session.commit()
    figures = programme_figures(today=LATER.date(), timezone="UTC")
    (matching,) = [m for m in figures.money_totals if m.instrument == "matching_grant"]
    assert matching.paid == Decimal("500.00")
    login(f.manager.email)
    assert client.get("/dashboard").status_code == 200
    assert client.get("/programme-figures").status_code == 200
