"""The guarantees on a loan's page, through the test client: a fund administrator gives a guarantee (bad input
named on its field, nothing changed), asks for the call once the loan is in default, a second person approves
it, a guarantor's payment is recorded; the loan's page, the fund's page and the dashboard show the coverage and
what was called and collected; pages work without JavaScript (plain forms)."""

from __future__ import annotations

import re
from decimal import Decimal

import pytest
from sqlalchemy import func, select

from programme.extensions import db
from programme.loans.guarantee_models import CallStatus, GuaranteeCall, GuaranteeCollection, LoanGuarantee
from tests.loans.guarantee_world import BEFORE, DEFAULTED
from tests.loans.world import loginable_loan_world

D = Decimal


def text(response) -> str:
    return " ".join(re.sub(r"<[^>]+>", " ", response.get_data(as_text=True)).split())


@pytest.fixture
def w(app):
    return loginable_loan_world()


def _count(model) -> int:
    return db.session.scalar(select(func.count()).select_from(model))


def test_a_fund_administrator_gives_a_guarantee_on_the_loan_page(client, login, clock, w):
    clock(BEFORE)
    login(w.admin.email)
    guarantor = [o for o in w.members() if o.id != w.borrower.id][0]
    page = client.get(f"/loans/{w.loan.id}")
    assert page.status_code == 200 and "Add a guarantee" in text(page) and guarantor.name in text(page)
    # both a share and an amount: named on the share field, nothing saved
    refused = client.post(f"/loans/{w.loan.id}/guarantees", data={"guarantor_id": guarantor.id, "share": "25",
                                                                 "amount": "100.00"})
    assert refused.status_code == 200 and "Give either a share or an amount" in text(refused)
    # more than half the loan: the rules' key named beside the amount
    refused = client.post(f"/loans/{w.loan.id}/guarantees", data={"guarantor_id": guarantor.id, "share": "",
                                                                 "amount": "6000.01"})
    assert refused.status_code == 200 and "max_share_per_guarantor" in text(refused)
    assert _count(LoanGuarantee) == 0
    done = client.post(f"/loans/{w.loan.id}/guarantees", data={"guarantor_id": guarantor.id, "share": "25",
                                                              "amount": ""})
    assert done.status_code == 302
    page = text(client.get(f"/loans/{w.loan.id}"))
    assert "now guarantees" in page and "EUR 3,000.00" in page and "25 %" in page
    fund = text(client.get(f"/funds/{w.fund.id}"))
    assert "Guaranteed loans" in fund and "EUR 3,000.00" in fund


def test_the_call_with_four_eyes_and_a_collection_through_the_pages(client, login, clock, w):
    from programme.loans.services import guarantees

    members = [o for o in w.members() if o.id != w.borrower.id]
    guarantees.add_guarantee(w.loan, guarantor_id=members[0].id, share=D("0.5"), actor=w.admin, now=BEFORE,
                             timezone="UTC")
    db.session.commit()
    clock(DEFAULTED)
    login(w.admin.email)
    page = text(client.get(f"/loans/{w.loan.id}"))
    assert "in default" in page and "Call the guarantees" in page and "Add a guarantee" not in page
    assert client.post(f"/loans/{w.loan.id}/guarantee-call", data={"reason": ""}).status_code == 200
    assert _count(GuaranteeCall) == 0
    assert client.post(f"/loans/{w.loan.id}/guarantee-call", data={"reason": "Years late"}).status_code == 302
    page = text(client.get(f"/loans/{w.loan.id}"))
    assert "You asked for this" in page
    assert client.post(f"/loans/{w.loan.id}/guarantee-call/approve").status_code == 403  # not by the one who asked
    client.post("/logout")
    login(w.admin2.email)
    assert "Approve the call and post it" in text(client.get(f"/loans/{w.loan.id}"))
    assert client.post(f"/loans/{w.loan.id}/guarantee-call/approve").status_code == 302
    call = db.session.scalar(select(GuaranteeCall))
    assert call.status == CallStatus.CALLED and call.called == D("6000.00")
    obligation = call.obligations[0]
    prefix = f"collect-{obligation.id}-"
    bad = client.post(f"/loans/{w.loan.id}/obligations/{obligation.id}/collections",
                      data={prefix + "amount": "12,34", prefix + "value_date": DEFAULTED.date().isoformat(),
                            prefix + "bank_reference": "GUA-P-1"})
    assert bad.status_code == 200 and _count(GuaranteeCollection) == 0
    for _ in range(2):  # the same transfer twice: once
        done = client.post(f"/loans/{w.loan.id}/obligations/{obligation.id}/collections",
                           data={prefix + "amount": "2500.00", prefix + "value_date": DEFAULTED.date().isoformat(),
                                 prefix + "bank_reference": "GUA-P-1"})
        assert done.status_code == 302
    assert _count(GuaranteeCollection) == 1
    page = text(client.get(f"/loans/{w.loan.id}"))
    assert "Collected from the guarantors" in page and "EUR 3,500.00" in page  # still owed
    # the guarantor cannot pay the rest: asked by this administrator, approved by the other
    wprefix = f"write-off-{obligation.id}-"
    asked = client.post(f"/loans/{w.loan.id}/obligations/{obligation.id}/write-off",
                        data={wprefix + "on_date": DEFAULTED.date().isoformat(), wprefix + "reason": "Insolvent"})
    assert asked.status_code == 302
    assert "You asked for this" in text(client.get(f"/loans/{w.loan.id}"))
    assert client.post(f"/loans/{w.loan.id}/obligations/{obligation.id}/write-off/approve").status_code == 403
    client.post("/logout")
    login(w.admin.email)
    assert "Approve and post" in text(client.get(f"/loans/{w.loan.id}"))
    assert client.post(f"/loans/{w.loan.id}/obligations/{obligation.id}/write-off/approve").status_code == 302
    db.session.refresh(obligation)
    assert obligation.written_off == D("3500.00") and obligation.owed == 0
    client.post("/logout")
    login(w.manager.email)
    dashboard = client.get("/dashboard")
    assert dashboard.status_code == 200
    shown = text(dashboard)
    assert "Mutual guarantees by member organisations" in shown
    row = re.search(r"Mutual guarantees by member organisations.*?EUR (.*?) Covered now", shown)
    assert row is not None and "EUR 6,000.00 EUR 2,500.00 EUR 3,500.00 EUR 0.00" in row.group(0)
