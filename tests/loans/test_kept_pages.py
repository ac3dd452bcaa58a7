"""The fund and loan pages keep their figures per data version (issue 15): the list of funds, a fund's page and
the loan book's totals. A change made through the services as a user makes it (a repayment, the daily job that
ages the arrears, a capitalisation, a new loan, a milestone review that ends the initiative) shows at the next
request, and what the pages show then is what they show when worked out from nothing (every kept thing
forgotten). The pages also list their rows a page at a time."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import date
from decimal import Decimal

import pytest

from programme.core.kept import forget_all
from programme.extensions import db
from programme.loans import services
from programme.loans.services import portfolio
from programme.loans.services.arrears import run_daily
from programme.monitoring.services.milestones import record_milestone_review
from tests.loans.world import FIRST_DUE, NOW, LoanWorld, loginable_loan_world

D = Decimal
TODAY = NOW.date()


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
    # A form's token is signed with the time: it may differ between two requests when a second passes.
    return re.sub(r'name="csrf_token"[^>]*>', "", html[html.index("<main"):html.index("</main>")])


def text(html: str) -> str:
    return " ".join(re.sub(r"<[^>]+>", " ", html).split())


def pages(client, w: LoanWorld) -> dict[str, str]:
    return {path: main_of(client.get(path)) for path in ("/funds", f"/funds/{w.fund.id}", "/loans")}


def _repay(w: LoanWorld) -> None:
    services.record_repayment(w.loan, amount=D("1000.00"), value_date=FIRST_DUE, bank_reference="KEPT-REP-1",
                              actor=w.admin, now=NOW, timezone="UTC")


def _age_arrears(w: LoanWorld) -> None:
    run_daily(as_of=TODAY, actor=w.admin, now=NOW)


def _capitalise(w: LoanWorld) -> None:
    services.capitalise_fund(w.fund, amount=D("1000.00"), value_date=date(2027, 9, 1), bank_reference="KEPT-CAP-2",
                             actor=w.admin, now=NOW, timezone="UTC")


def _lend(w: LoanWorld) -> None:
    services.make_loan(w.fund, borrower_id=w.borrower.id, principal=D("2000.00"), annual_rate=D("0.04"),
                       term_periods=12, first_due=date(2027, 10, 15), disbursed_on=date(2027, 9, 15),
                       bank_reference="KEPT-LOAN-2", purpose="A second kiln", actor=w.admin, now=NOW, timezone="UTC")


def _terminate(w: LoanWorld) -> None:
    record_milestone_review(w.initiative, decision="terminate", reason="Nothing produced in a year.",
                            conditions="", next_status=None, decided_on=TODAY, actor=w.manager, now=NOW,
                            timezone="UTC")


CHANGES: dict[str, Callable[[LoanWorld], None]] = {
    "repayment": _repay, "daily job": _age_arrears, "capitalisation": _capitalise, "new loan": _lend,
}


@pytest.mark.parametrize("change", CHANGES.values(), ids=CHANGES.keys())
def test_a_change_shows_at_the_next_request_of_the_fund_pages(client, login, w, change):
    login(w.admin.email)
    before = pages(client, w)
    assert pages(client, w) == before  # kept: the same while nothing changes

    change(w)
    db.session.commit()

    after = pages(client, w)
    assert after["/funds"] != before["/funds"]
    assert after[f"/funds/{w.fund.id}"] != before[f"/funds/{w.fund.id}"]
    if change is not _capitalise:  # a capitalisation moves no loan
        assert after["/loans"] != before["/loans"]
    forget_all()
    assert pages(client, w) == after  # what is kept is what is worked out from nothing


def test_the_figures_shown_after_a_repayment_and_the_daily_job(client, login, w):
    login(w.admin.email)
    pages(client, w)
    _repay(w)
    _age_arrears(w)
    db.session.commit()
    funds, fund, book = (text(page) for page in pages(client, w).values())
    outstanding = db.session.get(type(w.loan), w.loan.id).principal_outstanding
    assert f"EUR {outstanding:,}" in funds and f"(1 active) EUR {outstanding:,}" in fund
    assert f"EUR {outstanding:,}" in book
    assert "1 EUR" in book  # one loan in the totals, and it is now late (the daily job aged it)
    assert db.session.get(type(w.loan), w.loan.id).days_late > 0


def test_a_milestone_review_that_ends_the_initiative_shows_at_the_next_request(client, login, w):
    login(w.manager.email)
    before = {path: main_of(client.get(path)) for path in (f"/initiatives/{w.initiative.id}", "/initiatives")}
    _terminate(w)
    db.session.commit()
    for path, page in before.items():
        after = main_of(client.get(path))
        assert after != page and "terminated" in text(after) and "terminated" not in text(page)
    assert main_of(client.get("/funds")) == (forget_all() or main_of(client.get("/funds")))


def test_the_applicant_sees_only_its_own_funds_from_what_is_kept(client, login, make_user, w):
    login(w.admin.email)
    assert w.initiative.reference in text(main_of(client.get("/funds")))
    client.post("/logout")
    stranger = make_user("kept-stranger@example.org")
    db.session.commit()
    login(stranger.email)
    assert w.initiative.reference not in text(main_of(client.get("/funds")))
    client.post("/logout")
    login(w.applicant.email)
    assert w.initiative.reference in text(main_of(client.get("/funds")))


def test_the_funds_are_listed_a_page_at_a_time(client, login, w, monkeypatch):
    monkeypatch.setattr(portfolio, "FUNDS_PER_PAGE", 1)
    login(w.admin.email)
    first = text(main_of(client.get("/funds")))
    assert w.initiative.reference in first
    assert "page 1 of" not in first  # one fund: one page
    assert text(main_of(client.get("/funds?page=7"))) == first  # a page past the last shows the last
