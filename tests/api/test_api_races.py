"""The same repayment sent twice at the same moment through the API (a bank integration that retries): recorded
once, both answered with it. PostgreSQL only."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import func, select

from programme.accounts.models import TokenScope
from programme.accounts.services import access_tokens
from programme.extensions import db
from programme.ledger.checks import check_ledger
from programme.loans.models import Repayment
from tests.loans.world import FIRST_DUE, NOW, loan_world
from tests.races import POSTGRES_RACES, at_once, committed

pytestmark = POSTGRES_RACES


def test_one_repayment_from_two_requests_at_once(app, clock):
    clock(NOW)
    world = committed(loan_world())
    made = committed(access_tokens.make_token(name="bank", scopes={TokenScope.READ, TokenScope.WRITE},
                                              expires_on=NOW.date() + timedelta(30), actor=world.admin, now=NOW,
                                              timezone="UTC"))
    loan_id = world.loan.id
    body = {"amount": "1021.79", "value_date": FIRST_DUE.isoformat(), "bank_reference": "RACE-1"}

    def post():
        response = app.test_client().post(f"/api/v1/loans/{loan_id}/repayments", json=body,
                                          headers={"Authorization": f"Bearer {made.secret}"})
        return response.status_code, response.get_json()

    results = at_once(app, [post, post])
    assert sorted(status for status, _ in results) == [200, 201], results
    assert results[0][1]["id"] == results[1][1]["id"]
    assert db.session.scalar(select(func.count(Repayment.id))) == 1
    assert check_ledger() == []


