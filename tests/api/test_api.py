"""The JSON API on the same services as the pages: public reads, reads by token with the pages' access rules,
cursor pages, problems that name their field, money as decimal strings, recording a repayment idempotently, and the
OpenAPI 3.1 description that covers every route."""

from __future__ import annotations

import json
from datetime import date, timedelta
from decimal import Decimal

import pytest
from sqlalchemy import func, select

from programme.accounts.models import TokenScope
from programme.accounts.services import access_tokens
from programme.extensions import db
from programme.ledger.checks import check_ledger
from programme.loans import services as loans
from programme.loans.models import Repayment
from tests.loans.world import FIRST_DUE, NOW, loan_world

D = Decimal
WRITE = {TokenScope.READ, TokenScope.WRITE}


def bearer(user, scopes=frozenset({TokenScope.READ})) -> dict[str, str]:
    made = access_tokens.make_token(name="test", scopes=set(scopes), expires_on=NOW.date() + timedelta(30),
                                    actor=user, now=NOW, timezone="UTC")
    db.session.commit()
    return {"Authorization": f"Bearer {made.secret}"}


@pytest.fixture
def world(app, clock):
    clock(NOW)
    made = loan_world()
    db.session.commit()
    return made


def _floats(value) -> list:
    """Every JSON number that is not an integer, anywhere in a document."""
    if isinstance(value, float):
        return [value]
    if isinstance(value, dict):
        return [f for v in value.values() for f in _floats(v)]
    if isinstance(value, list):
        return [f for v in value for f in _floats(v)]
    return []


def test_the_description_is_openapi_3_1_and_covers_every_route(app, client):
    spec = client.get("/api/v1/openapi.json").get_json()
    assert spec["openapi"] == "3.1.0"
    described = {(path, method.upper()) for path, item in spec["paths"].items() for method in item}
    routes = set()
    for rule in app.url_map.iter_rules():
        if rule.rule.startswith("/api/v1/") and rule.endpoint not in ("api.openapi", "api.docs", "api.viewer"):
            path = rule.rule.replace("<int:", "{").replace(">", "}")
            routes |= {(path, m) for m in rule.methods - {"HEAD", "OPTIONS"}}
    assert routes == described
    schemas = json.dumps(spec["components"]["schemas"])
    assert '"pattern": "^-?[0-9]+\\\\.[0-9]{2}$"' in schemas  # money is a decimal string
    assert spec["components"]["securitySchemes"]["token"]["scheme"] == "bearer"


def test_the_viewer_page_loads_only_vendored_assets(app, client):
    page = client.get("/api/v1/docs/viewer").get_data(as_text=True)
    assert "/static/vendor/swagger-ui/swagger-ui-bundle.js" in page and "/api/v1/openapi.json" in page
    assert "http://" not in page.replace("http://localhost", "") and "https://" not in page


def test_the_apis_page_lists_every_operation_without_script(app, client):
    page = client.get("/api/v1/docs").get_data(as_text=True)
    assert "<script src=\"/static/vendor" not in page
    for rule in app.url_map.iter_rules():
        if rule.rule.startswith("/api/v1/") and rule.endpoint not in ("api.openapi", "api.docs", "api.viewer"):
            shown = rule.rule.replace("<int:", "{").replace(">", "}")
            assert f"{shown}</code>" in page, shown
    assert "amount" in page and "bank_reference" in page and "needs a token" in page


def test_calls_are_public_and_money_is_a_string(world, client):
    listed = client.get("/api/v1/calls").get_json()
    assert [c["id"] for c in listed["items"]] == [world.call.id] and listed["next_cursor"] is None
    detail = client.get(f"/api/v1/calls/{world.call.id}").get_json()
    assert detail["budget"] == f"{world.call.budget:.2f}" and isinstance(detail["budget"], str)
    assert [c["key"] for c in detail["criteria"]] == [c.key for c in world.call.criteria]
    assert not _floats(detail)
    assert client.get("/api/v1/calls/999999").status_code == 404


def test_the_programme_figures_are_public(world, client):
    figures = client.get("/api/v1/programme-figures").get_json()
    assert figures["initiatives"] == 1 and not _floats(figures)
    paid = {row["instrument"]: D(row["paid"]) for row in figures["money"]}
    assert paid["fund_capitalisation"] == D("50000.00")


def test_a_loan_reads_as_on_its_page(world, client):
    loan = world.loan
    body = client.get(f"/api/v1/loans/{loan.id}", headers=bearer(world.admin)).get_json()
    assert body["number"] == loan.number and body["principal"] == "12000.00" and body["annual_rate"] == "0.04"
    assert len(body["schedule"]) == 12
    assert sum(D(row["principal"]) for row in body["schedule"]) == D("12000.00")
    assert body["schedule"][0]["due_date"] == FIRST_DUE.isoformat()
    assert not _floats(body)


def test_access_follows_the_pages(world, client, make_user):
    loan, fund = world.loan, world.fund
    outsider = make_user("outsider@example.org")
    assert client.get(f"/api/v1/loans/{loan.id}").status_code == 401
    assert client.get(f"/api/v1/loans/{loan.id}", headers=bearer(world.applicant)).status_code == 200
    assert client.get(f"/api/v1/loans/{loan.id}", headers=bearer(world.manager)).status_code == 200
    refused = client.get(f"/api/v1/loans/{loan.id}", headers=bearer(outsider))
    assert refused.status_code == 404 and refused.mimetype == "application/problem+json"
    assert client.get("/api/v1/loans", headers=bearer(outsider)).get_json()["items"] == []
    assert client.get(f"/api/v1/funds/{fund.id}", headers=bearer(outsider)).status_code == 404
    assert client.get("/api/v1/funds", headers=bearer(world.reviewer)).status_code == 403
    assert client.get("/api/v1/ledger/trial-balance", headers=bearer(world.applicant)).status_code == 403
    assert client.get("/api/v1/ledger/trial-balance", headers=bearer(world.admin)).get_json()["balanced"] is True


def test_lists_come_in_cursor_pages_that_neither_skip_nor_repeat(world, client):
    for n in range(2, 6):
        loans.make_loan(world.fund, principal=D("1000.00"), borrower_id=world.borrower.id, annual_rate=D("0"),
                        term_periods=6, first_due=FIRST_DUE, disbursed_on=date(2027, 7, 15),
                        bank_reference=f"LOAN-{n}", purpose="Tools", actor=world.admin, now=NOW, timezone="UTC")
    db.session.commit()
    headers = bearer(world.admin)
    seen, cursor, pages = [], None, 0
    while True:
        url = "/api/v1/loans?limit=2" + (f"&cursor={cursor}" if cursor else "")
        page = client.get(url, headers=headers).get_json()
        seen += [row["id"] for row in page["items"]]
        pages += 1
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert pages == 3 and len(seen) == 5 and seen == sorted(set(seen))
    filtered = client.get(f"/api/v1/loans?fund_id={world.fund.id}&status=closed", headers=headers).get_json()
    assert filtered == {"items": [], "next_cursor": None}


@pytest.mark.parametrize(("url", "field"), [
    ("/api/v1/loans?cursor=bm9wZQ", "cursor"),
    ("/api/v1/loans?limit=500", "limit"),
    ("/api/v1/loans?status=lost", "status"),
    ("/api/v1/ledger/entries?date_from=2026-13-01", "date_from"),
])
def test_bad_queries_are_problems_naming_the_field(world, client, url, field):
    response = client.get(url, headers=bearer(world.admin))
    assert response.status_code == 422, response.get_data(as_text=True)
    assert response.mimetype == "application/problem+json"
    assert field in [e["field"] for e in response.get_json()["errors"]]


def test_a_repayment_is_recorded_once_by_its_bank_reference(world, client):
    loan, headers = world.loan, bearer(world.admin, WRITE)
    body = {"amount": "1021.79", "value_date": FIRST_DUE.isoformat(), "bank_reference": "BANK-77"}
    first = client.post(f"/api/v1/loans/{loan.id}/repayments", headers=headers, json=body)
    assert first.status_code == 201, first.get_data(as_text=True)
    again = client.post(f"/api/v1/loans/{loan.id}/repayments", headers=headers, json=body)
    assert again.status_code == 200 and again.get_json() == first.get_json()
    assert first.get_json()["amount"] == "1021.79"
    assert db.session.scalar(select(func.count(Repayment.id))) == 1
    other = client.post(f"/api/v1/loans/{loan.id}/repayments", headers=headers, json={**body, "amount": "5.00"})
    assert other.status_code == 422
    assert other.get_json()["errors"][0]["field"] == "bank_reference"
    assert check_ledger() == []


@pytest.mark.parametrize(("body", "field"), [
    ({"amount": "12,50", "value_date": "2027-08-15", "bank_reference": "B"}, "amount"),
    ({"amount": 12.5, "value_date": "2027-08-15", "bank_reference": "B"}, "amount"),
    ({"amount": "12.50", "value_date": "15/08/2027", "bank_reference": "B"}, "value_date"),
    ({"amount": "12.50", "value_date": "2027-08-15"}, "bank_reference"),
    ({"amount": "12.50", "value_date": "2027-08-15", "bank_reference": "B", "extra": 1}, "extra"),
    ({"amount": "12.50", "value_date": "2040-01-01", "bank_reference": "B"}, "value_date"),
])
def test_a_bad_repayment_changes_nothing_and_names_its_field(world, client, body, field):
    response = client.post(f"/api/v1/loans/{world.loan.id}/repayments", headers=bearer(world.admin, WRITE),
                           json=body)
    assert response.status_code == 422, response.get_data(as_text=True)
    assert field in [e["field"] for e in response.get_json()["errors"]]
    assert db.session.scalar(select(func.count(Repayment.id))) == 0


def test_only_fund_administrators_record_repayments(world, client):
    body = {"amount": "10.00", "value_date": FIRST_DUE.isoformat(), "bank_reference": "B-2"}
    for person, status in ((world.applicant, 403), (world.manager, 403), (world.reviewer, 404)):
        response = client.post(f"/api/v1/loans/{world.loan.id}/repayments", headers=bearer(person, WRITE), json=body)
        assert response.status_code == status, person.email
    assert db.session.scalar(select(func.count(Repayment.id))) == 0


def test_the_journal_reads_page_by_page(world, client):
    headers = bearer(world.auditor if hasattr(world, "auditor") else world.manager)
    first = client.get("/api/v1/ledger/entries?limit=1", headers=headers).get_json()
    assert len(first["items"]) == 1 and first["next_cursor"]
    entry = first["items"][0]
    assert sum(D(line["debit"]) for line in entry["lines"]) == sum(D(line["credit"]) for line in entry["lines"])
    rest = client.get(f"/api/v1/ledger/entries?cursor={first['next_cursor']}", headers=headers).get_json()
    assert entry["id"] not in [e["id"] for e in rest["items"]]
