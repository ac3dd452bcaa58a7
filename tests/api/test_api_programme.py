"""The API's reads and writes of proposals, initiatives and reports, through the same services as the pages:
a proposal's submitted version as scored, an initiative's grants and tranches, a tranche asked for through the API
that its asker cannot approve (four eyes hold), KPI values saved and a report submitted, refusals naming fields."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import func, select

from programme.accounts.models import TokenScope
from programme.accounts.services import access_tokens
from programme.config import PROJECT_ROOT
from programme.core.access import AccessDenied
from programme.extensions import db
from programme.funding import services as funding
from programme.funding.models import Disbursement
from programme.monitoring.models import ReportStatus, ReportValue
from programme.monitoring.services import reports, scorecards
from tests.funding.conftest import LATER, Funded, funded_initiative
from tests.worlds import Kept, keep, reload

START = date(2027, 6, 1)
NOW = datetime(2027, 12, 16, 1, 0, tzinfo=UTC)
WRITE = {TokenScope.READ, TokenScope.WRITE}


def bearer(user, scopes=frozenset({TokenScope.READ})) -> dict[str, str]:
    made = access_tokens.make_token(name="test", scopes=set(scopes), expires_on=NOW.date() + timedelta(30),
                                    actor=user, now=NOW, timezone="UTC")
    db.session.commit()
    return {"Authorization": f"Bearer {made.secret}"}


@pytest.fixture(scope="module")
def funded_once(built_once) -> Kept:
    with built_once():
        return keep(funded_initiative())


@pytest.fixture
def f(app, clock, funded_once: Kept) -> Funded:
    clock(NOW)
    return reload(funded_once)


def _report(f):
    scorecards.start_scorecard(f.initiative, template_key="scottish_cluster", rules_folder=PROJECT_ROOT / "rules",
                               actor=f.applicant, now=LATER)
    (report, *_) = reports.open_reports(f.initiative, today=START, actor=f.applicant,
                                        now=datetime(2027, 6, 1, 1, 0, tzinfo=UTC), timezone="UTC")
    db.session.commit()
    return report


def test_a_proposal_and_its_version_as_submitted(f, client):
    proposal = f.initiative.proposal
    listed = client.get("/api/v1/proposals", headers=bearer(f.applicant)).get_json()
    assert [p["id"] for p in listed["items"]] == [proposal.id]
    detail = client.get(f"/api/v1/proposals/{proposal.id}", headers=bearer(f.applicant)).get_json()
    assert detail["versions"] == [1] and detail["status"] == proposal.status.value
    version = client.get(f"/api/v1/proposals/{proposal.id}/versions/1", headers=bearer(f.applicant)).get_json()
    assert version["content"]["title"] == proposal.title
    assert version["requested_amount"] == f"{proposal.requested_amount:.2f}"
    assert client.get(f"/api/v1/proposals/{proposal.id}", headers=bearer(f.admin)).status_code == 404


def test_an_initiative_with_its_grants_and_tranches(f, client):
    headers = bearer(f.admin, WRITE)
    grant = f.initiative.startup_grant
    asked = client.post(f"/api/v1/initiatives/{f.initiative.id}/grants/{grant.id}/disbursements", headers=headers,
                        json={"amount": "1000.00", "purpose": "The facilitator's first month"})
    assert asked.status_code == 201, asked.get_data(as_text=True)
    assert asked.get_json()["status"] == "requested" and asked.get_json()["amount"] == "1000.00"
    body = client.get(f"/api/v1/initiatives/{f.initiative.id}", headers=bearer(f.applicant)).get_json()
    (startup,) = [g for g in body["grants"] if g["kind"] == "startup"]
    assert startup["committed"] == f"{grant.committed:.2f}"
    assert [d["id"] for d in startup["disbursements"]] == [asked.get_json()["id"]]
    page = client.get("/api/v1/initiatives?status=start_up", headers=bearer(f.manager)).get_json()
    assert [i["id"] for i in page["items"]] == [f.initiative.id] and page["next_cursor"] is None


def test_four_eyes_hold_for_a_tranche_asked_through_the_api(f, client):
    grant = f.initiative.startup_grant
    asked = client.post(f"/api/v1/initiatives/{f.initiative.id}/grants/{grant.id}/disbursements",
                        headers=bearer(f.admin, WRITE), json={"amount": "1000.00", "purpose": "Meetings"})
    disbursement = db.session.get(Disbursement, asked.get_json()["id"])
    with pytest.raises(AccessDenied):
        funding.approve_disbursement(disbursement, actor=f.admin, now=NOW, timezone="UTC")
    db.session.rollback()
    funding.approve_disbursement(db.session.get(Disbursement, disbursement.id), actor=f.admin2, now=NOW,
                                 timezone="UTC")


def test_a_tranche_over_the_grant_is_refused_naming_the_amount(f, client):
    grant = f.initiative.startup_grant
    too_much = f"{grant.committed + 1:.2f}"
    response = client.post(f"/api/v1/initiatives/{f.initiative.id}/grants/{grant.id}/disbursements",
                           headers=bearer(f.admin, WRITE), json={"amount": too_much, "purpose": "All of it"})
    assert response.status_code == 422
    assert response.get_json()["errors"][0]["field"] == "amount"
    assert db.session.scalar(select(func.count(Disbursement.id))) == 0


def test_kpi_values_are_saved_and_the_report_submitted(f, client):
    report = _report(f)
    kpis = reports.live_kpis(report)
    headers = bearer(f.applicant, WRITE)
    values = [{"kpi": k.key, "value": "12.5"} for k in kpis]
    saved = client.post(f"/api/v1/reports/{report.id}/values", headers=headers, json={"values": values[:1]})
    assert saved.status_code == 200, saved.get_data(as_text=True)
    assert saved.get_json()["values"][0]["value"] == "12.5"
    refused = client.post(f"/api/v1/reports/{report.id}/values", headers=headers,
                          json={"values": values[1:2], "submit": True})
    assert refused.status_code == 422
    assert refused.get_json()["errors"][0]["field"] in ("narrative", "learned", "will_change")
    db.session.refresh(report)
    assert report.status == ReportStatus.DRAFT
    done = client.post(f"/api/v1/reports/{report.id}/values", headers=headers, json={
        "values": values, "narrative": "Two joint fairs.", "learned": "Start small.", "will_change": "Meet monthly.",
        "submit": True})
    assert done.status_code == 200, done.get_data(as_text=True)
    assert done.get_json()["status"] == "submitted"
    again = client.post(f"/api/v1/reports/{report.id}/values", headers=headers, json={"values": values[:1]})
    assert again.status_code == 422 and "frozen" in again.get_json()["detail"]


@pytest.mark.parametrize(("values", "field"), [
    ([{"kpi": "no_such_kpi", "value": "1"}], "values[0].kpi"),
    ([{"kpi": "KEY", "value": "1.23456"}], "values.0.value"),
    ([{"kpi": "KEY", "value": "1e5"}], "values.0.value"),
    ([{"kpi": "KEY", "value": 12}], "values.0.value"),
])
def test_bad_kpi_values_change_nothing_and_name_the_field(f, client, values, field):
    report = _report(f)
    key = reports.live_kpis(report)[0].key
    body = {"values": [{**v, "kpi": key if v["kpi"] == "KEY" else v["kpi"]} for v in values]}
    response = client.post(f"/api/v1/reports/{report.id}/values", headers=bearer(f.applicant, WRITE), json=body)
    assert response.status_code == 422, response.get_data(as_text=True)
    assert field in [e["field"] for e in response.get_json()["errors"]]
    assert db.session.scalar(select(func.count(ReportValue.id))) == 0
