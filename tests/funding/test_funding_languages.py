"""The funding area's texts written in Python, in the reader's language (issue 19): a refusal of a service and the
labels of a form seen in Spanish through the initiative's page (Accept-Language: es), with amounts written the
Spanish way, and the notification of a funding request's decision written in each recipient's own language, whatever
the language of the manager who decided."""

from __future__ import annotations

import re
from decimal import Decimal

import pytest
from sqlalchemy import select

from programme.accounts.models import GroupRole, GroupUser
from programme.core.notifications import Notification
from programme.extensions import db
from programme.funding import services
from programme.funding.models import FundingRequest, FundingRequestStatus
from tests.funding.conftest import LATER, Funded, loginable, page_text
from tests.funding.matching import submit_request
from tests.languages import ENGLISH, SPANISH
from tests.reviews.world import user


@pytest.fixture(autouse=True)
def frozen(clock):
    clock(LATER)


@pytest.fixture
def f(funded: Funded) -> Funded:
    return loginable(funded)


def page_of(f: Funded) -> str:
    return f"/initiatives/{f.initiative.id}"


def test_a_refused_tranche_is_explained_in_spanish_with_spanish_amounts(client, login, f):
    services.request_disbursement(f.grant, amount="25000.00", purpose="Primer tramo", actor=f.manager, now=LATER,
                                  timezone="UTC")
    db.session.commit()
    login(f.admin.email)
    response = client.post(f"{page_of(f)}/disbursements", data={"amount": "5000,01", "purpose": "Segundo tramo"},
                           headers=SPANISH)
    assert response.status_code == 200
    body = page_text(response)
    assert ("EUR 5.000,01 es más de lo que queda: quedan EUR 5.000,00 de EUR 30.000,00 (subvención inicial)."
            in body), body
    assert "is more than is left" not in body
    # the same refusal in English, word for word as before
    english = page_text(client.post(f"{page_of(f)}/disbursements",
                                    data={"amount": "5000.01", "purpose": "Second tranche"}, headers=ENGLISH))
    assert "EUR 5,000.01 is more than is left: EUR 5,000.00 is left of the start-up grant of EUR 30,000.00." in english


def test_the_funding_request_form_and_its_message_are_in_spanish(client, login, f):
    login(f.applicant.email)
    html = client.get(page_of(f), headers=SPANISH).get_data(as_text=True)
    for label in ("Subvención de contrapartida solicitada", "Préstamo solicitado", "Costo total",
                  "Subvención de contrapartida y préstamo", "0 o vacío cuando solo se solicita un préstamo."):
        assert label in html, label
    assert "Matching grant asked" not in html and "Matching grant and loan" not in html
    # a refusal from the form's own check, and one from the service, both in Spanish
    data = {"title": "Feria de exportación", "description": "Un stand en la feria.", "cost": "abc",
            "instrument": "both", "grant_asked": "60000", "loan_asked": "40000"}
    refused = client.post(f"{page_of(f)}/funding-requests", data=data, headers=SPANISH)
    assert refused.status_code == 200
    assert re.search(r"«abc» no es un monto\. En euros y céntimos, con una coma antes de los céntimos",
                     page_text(refused))
    data["cost"], data["loan_asked"] = "100.000,00", "40.000,01"
    refused = client.post(f"{page_of(f)}/funding-requests", data=data, headers=SPANISH)
    assert refused.status_code == 200
    assert ("La subvención y el préstamo solicitados (EUR 100.000,01) superan el costo de EUR 100.000,00."
            in page_text(refused))
    data["loan_asked"] = "40.000,00"
    assert client.post(f"{page_of(f)}/funding-requests", data=data, headers=SPANISH).status_code == 302
    (request,) = db.session.scalars(select(FundingRequest)).all()
    assert (request.grant_asked, request.loan_asked) == (Decimal("60000.00"), Decimal("40000.00"))
    page = page_text(client.get(page_of(f), headers=SPANISH))
    assert "Solicitud de financiamiento «Feria de exportación» presentada; un gerente del programa la evaluará." in page


def test_the_decision_is_written_to_each_member_in_their_own_language(client, login, f):
    """The manager decides in English; the group's lead chose Portuguese and reads the notification in Portuguese,
    with Portuguese amounts; a member who never chose a language reads the manager's (English)."""
    request = submit_request(f, grant="50000.00", now=LATER)
    f.applicant.language = "pt"
    other = user("member@group.example.org")
    db.session.add(GroupUser(group_id=f.initiative.group_id, user_id=other.id, role=GroupRole.MEMBER))
    db.session.commit()
    login(f.manager.email)
    judgement = {"decision": "approve", "grant_approved": "", "loan_approved": "", "reason": "Plano sólido."}
    for criterion in f.initiative.call.rules.funding.request_criteria:
        judgement[f"met_{criterion.key}"] = "yes"
        judgement[f"note_{criterion.key}"] = "Fine."
    response = client.post(f"/funding-requests/{request.id}/judge", data=judgement, headers=ENGLISH)
    assert response.status_code == 302
    assert "Funding request &#39;Joint export fair&#39; approved; the group is notified." in page_text(
        client.get(response.headers["Location"], headers=ENGLISH))
    db.session.expire_all()
    assert db.session.get(FundingRequest, request.id).status == FundingRequestStatus.APPROVED

    about = Notification.link == f"/initiatives/{f.initiative.id}#funding-request-{request.id}"
    (lead,) = db.session.scalars(select(Notification).where(Notification.user_id == f.applicant.id, about)).all()
    assert lead.subject == "Solicitação de financiamento aprovada: Joint export fair"
    assert lead.body == ("Sua solicitação “Joint export fair” para " + f.initiative.reference + " foi aprovada: uma "
                         "subvenção de contrapartida de EUR 50.000,00 (solicitado: EUR 50.000,00).\n\n"
                         "Motivo: Plano sólido.")
    (member,) = db.session.scalars(select(Notification).where(Notification.user_id == other.id, about)).all()
    assert member.subject == "Funding request approved: Joint export fair"
    assert member.body.startswith("Your request 'Joint export fair' for ")
    assert member.body.endswith("is approved: a matching grant of EUR 50,000.00 (asked EUR 50,000.00).\n\n"
                                "Reason: Plano sólido.")
