"""Matching grants through the initiative's page (the test client): a funding request submitted by the group
and judged by the manager, co-financing recorded with its evidence (and a bad file refused on its field, with
what was typed kept), verified by another administrator, a matching-grant tranche refused at a cap with the
figure, the external-share chart, and who may use each route."""

from __future__ import annotations

import io
import re
from decimal import Decimal

import pytest
from sqlalchemy import select

from programme.extensions import db
from programme.funding import services
from programme.funding.models import (
    CoFinancingContribution,
    ContributionStatus,
    Disbursement,
    FundingRequest,
    FundingRequestStatus,
)
from tests.funding.conftest import LATER, Funded, loginable, page_text
from tests.funding.matching import PDF, all_met, submit_request
from tests.reviews.world import user

D = Decimal
ON = "2027-06-15"  # a day of programme year 1, before the pages' frozen clock (1 July 2027)


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


def field_error(response, message: str) -> bool:
    html = response.get_data(as_text=True)
    return re.search(r'<p class="error" role="alert">[^<]*' + re.escape(message.replace("'", "&#39;")), html) \
        is not None


def approved_grant(f: Funded, amount: str = "50000.00"):
    request = submit_request(f, grant=amount, now=LATER)
    services.judge_funding_request(request, assessments=all_met(f), approve=True, reason="Sound.", actor=f.manager,
                                   now=LATER)
    db.session.commit()
    return request.grant


def contribution_data(grant_id: int, **changes) -> dict:
    data = {"grant_id": str(grant_id), "kind": "cash", "amount": "10,000.00", "contributed_on": ON,
            "description": "The members' cash for the stand", "contributor_id": "",
            "file": (io.BytesIO(PDF), "bank-statement.pdf")}
    data.update(changes)
    return data


def contributions() -> list[CoFinancingContribution]:
    db.session.expire_all()
    return list(db.session.scalars(select(CoFinancingContribution).order_by(CoFinancingContribution.id)))


# Funding requests ------------------------------------------------------------------------------------------


def test_the_group_submits_a_request_and_the_manager_judges_it(client, login, f):
    login(f.applicant.email)
    page = client.get(page_of(f)).get_data(as_text=True)
    assert f'action="/initiatives/{f.initiative.id}/funding-requests"' in page
    data = {"title": "Export fair", "description": "A stand at the fair.", "cost": "100,000.00",
            "instrument": "both", "grant_asked": "60000.00", "loan_asked": "40000.01"}
    response = client.post(f"{page_of(f)}/funding-requests", data=data)
    assert response.status_code == 200
    assert field_error(response, "The grant and the loan asked (EUR 100,000.01) are more than the cost")
    html = response.get_data(as_text=True)
    assert 'value="Export fair"' in html and 'value="40000.01"' in html  # nothing lost
    assert db.session.scalars(select(FundingRequest)).all() == []
    response = client.post(f"{page_of(f)}/funding-requests", data={**data, "loan_asked": "40000.00"})
    assert response.status_code == 302
    (request,) = db.session.scalars(select(FundingRequest)).all()
    assert "submitted; a programme manager will judge it" in text(client.get(page_of(f)))
    # the applicant cannot judge it
    assert client.post(f"/funding-requests/{request.id}/judge", data={"decision": "approve"}).status_code == 403
    client.post("/logout")

    login(f.manager.email)
    page = client.get(page_of(f)).get_data(as_text=True)
    assert f'action="/funding-requests/{request.id}/judge"' in page
    criteria = f.initiative.call.rules.funding.request_criteria
    judgement = {"decision": "approve", "grant_approved": "50000.00", "loan_approved": "", "reason": "Smaller."}
    for c in criteria:
        judgement[f"met_{c.key}"] = "yes"
        judgement[f"note_{c.key}"] = "Fine."
    judgement[f"note_{criteria[2].key}"] = ""
    response = client.post(f"/funding-requests/{request.id}/judge", data=judgement)
    assert response.status_code == 200 and field_error(response, "Write a note on this criterion.")
    assert 'value="50000.00"' in response.get_data(as_text=True)
    judgement[f"note_{criteria[2].key}"] = "Builds on the first fair."
    judgement["grant_approved"] = "60000.01"
    response = client.post(f"/funding-requests/{request.id}/judge", data=judgement)
    assert response.status_code == 200
    assert field_error(response, "The grant approved may not be more than the EUR 60,000.00 asked.")
    judgement["grant_approved"] = "50000.00"
    assert client.post(f"/funding-requests/{request.id}/judge", data=judgement).status_code == 302
    db.session.expire_all()
    request = db.session.get(FundingRequest, request.id)
    assert request.status == FundingRequestStatus.APPROVED and request.changed
    assert request.grant.committed == D("50000.00") and request.loan_approved == D("40000.00")
    page = text(client.get(page_of(f)))
    assert f"Matching grant {request.grant_id} · Export fair" in page and "approved with" not in page
    assert "Builds on the first fair." in page


# Co-financing ----------------------------------------------------------------------------------------------


def test_recording_co_financing_with_evidence_and_verifying_it(client, login, f):
    grant = approved_grant(f)
    login(f.applicant.email)
    response = client.post(f"{page_of(f)}/contributions", data=contribution_data(
        grant.id, file=(io.BytesIO(b"MZ not a pdf"), "receipt.pdf")), content_type="multipart/form-data")
    assert response.status_code == 200
    assert field_error(response, "'receipt.pdf' does not contain what its name says (PDF).")
    html = response.get_data(as_text=True)
    assert 'value="10,000.00"' in html and "The members&#39; cash for the stand" in html
    assert contributions() == []
    response = client.post(f"{page_of(f)}/contributions", data=contribution_data(grant.id, file=(io.BytesIO(b""), "")),
                           content_type="multipart/form-data")
    assert response.status_code == 200 and field_error(response, "Upload the evidence of the contribution.")
    response = client.post(f"{page_of(f)}/contributions", data=contribution_data(grant.id, contributed_on="2027-07-02"),
                           content_type="multipart/form-data")
    assert response.status_code == 200 and field_error(response, "is in the future")
    response = client.post(f"{page_of(f)}/contributions", data=contribution_data(grant.id),
                           content_type="multipart/form-data")
    assert response.status_code == 302
    (made,) = contributions()
    assert made.amount == D("10000.00") and made.status == ContributionStatus.RECORDED
    download = client.get(f"/contributions/{made.id}/evidence")
    assert download.status_code == 200 and download.data == PDF
    assert "bank-statement.pdf" in download.headers["Content-Disposition"]
    assert client.post(f"/contributions/{made.id}/verify").status_code == 403
    client.post("/logout")

    login(f.admin.email)
    assert f"/contributions/{made.id}/verify" in client.get(page_of(f)).get_data(as_text=True)
    assert client.post(f"/contributions/{made.id}/verify").status_code == 302
    assert contributions()[0].status == ContributionStatus.VERIFIED
    page = text(client.get(page_of(f)))
    assert "verified: it now counts for matching grant" in page
    assert "Matchable co-financing EUR 10,000.00" in page


def test_the_recorder_cannot_verify_and_is_told_why(client, login, f):
    grant = approved_grant(f)
    login(f.admin.email)
    assert client.post(f"{page_of(f)}/contributions", data=contribution_data(grant.id),
                       content_type="multipart/form-data").status_code == 302
    (made,) = contributions()
    page = client.get(page_of(f)).get_data(as_text=True)
    assert f"/contributions/{made.id}/verify" not in page and "You recorded this contribution" in page
    response = client.post(f"/contributions/{made.id}/verify")
    assert response.status_code == 200
    assert "You recorded this contribution, so another fund administrator must verify it." in text(response)
    response = client.post(f"/contributions/{made.id}/reject", data={"reason": "Mine."})
    assert response.status_code == 200 and "must reject it" in text(response)
    assert contributions()[0].status == ContributionStatus.RECORDED
    client.post("/logout")
    login(f.admin2.email)
    response = client.post(f"/contributions/{made.id}/reject", data={"reason": ""})
    assert response.status_code == 200 and field_error(response, "Give the reason for the rejection.")
    assert client.post(f"/contributions/{made.id}/reject", data={"reason": "Unsigned."}).status_code == 302
    assert contributions()[0].status == ContributionStatus.REJECTED


# Matching-grant tranches and the chart ---------------------------------------------------------------------


def test_a_tranche_over_the_ratio_cap_is_refused_on_the_field_with_the_figure(client, login, f, tmp_path):
    grant = approved_grant(f)
    made = services.record_contribution(
        grant, kind="cash", amount="10000.00", contributed_on=LATER.date().replace(day=15, month=6),
        description="Cash", contributor_id=None, stream=io.BytesIO(PDF), filename="a.pdf",
        upload_root=tmp_path, max_bytes=10000,
        actor=f.applicant, now=LATER, timezone="UTC")
    services.verify_contribution(made, actor=f.admin, now=LATER)
    db.session.commit()
    login(f.manager.email)
    url = f"{page_of(f)}/grants/{grant.id}/disbursements"
    response = client.post(url, data={"amount": "10,000.01", "purpose": "Stand"})
    assert response.status_code == 200
    assert field_error(response, "The matching ratio allows at most EUR 10,000.00 more on this grant")
    assert 'value="10,000.01"' in response.get_data(as_text=True)
    assert db.session.scalars(select(Disbursement)).all() == []
    assert client.post(url, data={"amount": "10,000.00", "purpose": "Stand"}).status_code == 302
    page = client.get(page_of(f)).get_data(as_text=True)
    assert "<svg" in page and "External share by programme year" in page
    # The chart is drawn on the server: the page's only script is the site's own file (no inline script; the words
    # the scripts show are data, not code).
    scripts = [tag for tag in re.findall(r"<script[^>]*>", page) if 'type="application/json"' not in tag]
    assert scripts == ['<script src="/static/programme.js" defer>']
    assert re.search(r"<th scope=\"row\">1</th><td>100 %</td>", page)
    assert client.post(f"{page_of(f)}/grants/{f.grant.id}/disbursements",
                       data={"amount": "1.00", "purpose": "x"}).status_code == 404  # the start-up grant


# Who may use which route -----------------------------------------------------------------------------------


def test_access_to_the_new_routes_for_each_role(client, login, f, tmp_path):
    grant = approved_grant(f)
    made = services.record_contribution(
        grant, kind="cash", amount="100.00", contributed_on=LATER.date().replace(day=15, month=6),
        description="Cash", contributor_id=None, stream=io.BytesIO(PDF), filename="a.pdf",
        upload_root=tmp_path, max_bytes=10000, actor=f.applicant, now=LATER, timezone="UTC")
    request = submit_request(f, now=LATER)
    stranger = user("stranger@example.org")
    db.session.commit()
    routes = {
        "submit": lambda: client.post(f"{page_of(f)}/funding-requests", data={"title": "x"}),
        "judge": lambda: client.post(f"/funding-requests/{request.id}/judge", data={"decision": "reject"}),
        "tranche": lambda: client.post(f"{page_of(f)}/grants/{grant.id}/disbursements", data={"amount": "1"}),
        "record": lambda: client.post(f"{page_of(f)}/contributions", data={"amount": "1"}),
        "verify": lambda: client.post(f"/contributions/{made.id}/verify"),
        "reject": lambda: client.post(f"/contributions/{made.id}/reject", data={"reason": "x"}),
        "evidence": lambda: client.get(f"/contributions/{made.id}/evidence"),
    }
    expected = {
        stranger: dict.fromkeys(routes, 404),
        f.reviewer: dict.fromkeys(routes, 404),
        f.applicant: {"submit": 200, "judge": 403, "tranche": 403, "record": 200, "verify": 403, "reject": 403,
                      "evidence": 404},  # the evidence is stored elsewhere in this test: the file is not found
        f.manager: {"submit": 200, "judge": 200, "tranche": 200, "record": 403, "verify": 403, "reject": 403,
                    "evidence": 404},
        f.admin: {"submit": 403, "judge": 403, "tranche": 200, "record": 200, "verify": 302, "reject": 200,
                  "evidence": 404},
    }
    for who, codes in expected.items():
        login(who.email)
        got = {name: route().status_code for name, route in routes.items()}
        assert got == codes, who.email
        client.post("/logout")
    assert contributions()[0].status == ContributionStatus.VERIFIED


def test_the_home_page_lists_requests_to_judge_and_co_financing_to_verify(client, login, f, tmp_path):
    """A manager's home lists the funding requests waiting for a judgement, a fund administrator's the
    co-financing waiting for verification, each linked to its place on the initiative's page; both lists empty
    once the work is done."""
    from tests.funding.matching import contribute, matching_grant

    request = submit_request(f, title="Shared laboratory")
    grant = matching_grant(f)
    recorded = contribute(f, grant, "2500.00", upload_root=tmp_path, verify=False)
    login(f.manager.email)
    home = client.get("/").get_data(as_text=True)
    assert f'/initiatives/{f.initiative.id}#funding-requests">{f.initiative.reference}: Shared laboratory' in home
    assert "Co-financing to verify" not in home  # not a fund administrator
    login(f.admin.email)
    home = client.get("/").get_data(as_text=True)
    assert f'/initiatives/{f.initiative.id}#cofinancing">{f.initiative.reference}: EUR 2,500.00 cash' in home
    assert "Funding requests to judge" not in home
    services.judge_funding_request(request, assessments=all_met(f), approve=False, reason="Not now.",
                                   actor=f.manager, now=LATER)
    services.verify_contribution(recorded, actor=f.admin, now=LATER)
    db.session.commit()
    assert re.search(r"Co-financing to verify:\s*none", text(client.get("/")))
    login(f.manager.email)
    assert re.search(r"Funding requests to judge:\s*none", text(client.get("/")))
