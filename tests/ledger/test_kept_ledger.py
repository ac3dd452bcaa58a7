"""The ledger page keeps its trial balance, its sums per account kind and per currency, and how many entries were
posted since the last run of the checks, per version of the ledger (issue 15): a repayment and a capitalisation
made through the services as a user makes them show at the next request, and what the page shows then is what it
shows when worked out from nothing (every kept thing forgotten)."""

from __future__ import annotations

import re
from datetime import date
from decimal import Decimal

import pytest

from programme.core.kept import forget_all
from programme.extensions import db
from programme.ledger import views
from programme.ledger.checks import run_checks
from programme.ledger.models import AccountKind
from programme.loans import services
from tests.loans.world import FIRST_DUE, NOW, LoanWorld, loginable_loan_world

D = Decimal


@pytest.fixture(autouse=True)
def frozen(clock, app):
    clock(NOW)
    app.config["PROGRAMME_TIMEZONE"] = "UTC"


@pytest.fixture
def w() -> LoanWorld:
    return loginable_loan_world()


def main_of(response) -> str:
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    return " ".join(re.sub(r"<[^>]+>", " ", html[html.index("<main"):html.index("</main>")]).split())


def test_a_repayment_and_a_capitalisation_show_at_the_next_request(client, login, w):
    login(w.admin.email)
    run_checks(actor=w.admin, now=NOW)
    db.session.commit()
    before = main_of(client.get("/ledger"))
    assert main_of(client.get("/ledger")) == before and "nothing was posted since" in before
    services.record_repayment(w.loan, amount=D("1000.00"), value_date=FIRST_DUE, bank_reference="KEPT-REP-1",
                              actor=w.admin, now=NOW, timezone="UTC")
    db.session.commit()
    after = main_of(client.get("/ledger"))
    assert after != before and "1 entry was posted since" in after
    forget_all()
    assert main_of(client.get("/ledger")) == after
    services.capitalise_fund(w.fund, amount=D("1000.00"), value_date=date(2027, 9, 1), bank_reference="KEPT-CAP-2",
                             actor=w.admin, now=NOW, timezone="UTC")
    db.session.commit()
    again = main_of(client.get("/ledger"))
    assert again != after and "2 entries were posted since" in again
    forget_all()
    assert main_of(client.get("/ledger")) == again


def test_the_accounts_are_listed_a_page_at_a_time(client, login, w, monkeypatch):
    monkeypatch.setattr(views, "PER_PAGE", 2)
    login(w.admin.email)
    first, second = main_of(client.get("/ledger")), main_of(client.get("/ledger?page=2"))
    assert first != second
    labels = "|".join(re.escape(kind.label) for kind in AccountKind)
    # Each row: the account's name (its kind's label and its owner), then its kind.
    accounts = re.findall(rf"((?:{labels})(?:, (?:call|initiative|loan|revolving fund of) \S+)?) (?:{labels}) ",
                          first.split("Per account", 1)[1])
    assert len(set(accounts)) == 2
