"""Revolving-fund foresight through the services and the pages: the base case against the LoanInstalment rows and
loans/schedule.py to the cent, the pipeline of approved loan requests, the fund's and the programme's pages, the
scenario form (a link; bad values named beside their field, nothing changed, no 500), the Excel export read back,
and the dashboard's early-warning list. The world is made through the real services (tests/loans/world.py); the
pages' clock is frozen on TODAY, after the loan was paid out and before its first instalment is due."""

from __future__ import annotations

import io
import re
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

import pytest
from openpyxl import load_workbook
from sqlalchemy import func, select

from programme.core.access import NotFound
from programme.extensions import db
from programme.funding import services as funding
from programme.ledger.models import JournalEntry
from programme.loans import services
from programme.loans.foresight import COLUMNS, HORIZON, Scenario
from programme.loans.models import LoanInstalment
from programme.loans.schedule import LoanTerms, build_schedule
from programme.loans.services import foresight
from tests.loans.world import DISBURSED_ON, FIRST_DUE, NOW, PRINCIPAL, LoanWorld, loan_world
from tests.worlds import Kept, keep, reload

D = Decimal
TODAY = date(2027, 7, 20)
PIPELINE = D("5000.00")


@pytest.fixture(autouse=True)
def frozen(clock):
    clock(datetime(2027, 7, 20, 9, 0, tzinfo=UTC))


@pytest.fixture(scope="module")
def world_once(built_once) -> Kept:
    """A fund of EUR 50,000.00 with one loan of EUR 12,000.00 (4 %, 12 months) and an approved funding request
    with a loan part of EUR 5,000.00 not yet lent; its people given addresses the login form accepts."""
    with built_once():
        w = loan_world()
        request = funding.submit_funding_request(
            w.initiative, title="A drying kiln", description="Shared by the members.", cost="10000.00",
            instrument="loan", grant_asked="0", loan_asked=str(PIPELINE), actor=w.applicant, now=NOW)
        funding.judge_funding_request(
            request, assessments={c.key: (True, "Shown.") for c in w.call.rules.funding.request_criteria},
            approve=True, reason="Sound.", grant_approved="0", loan_approved=str(PIPELINE), actor=w.manager, now=NOW)
        for person in (w.admin, w.admin2, w.manager, w.reviewer, w.applicant):
            person.email = person.email.replace(".test", ".example.org")
        return keep(w)


@pytest.fixture
def w(app, world_once: Kept) -> LoanWorld:
    return reload(world_once)


def text(response) -> str:
    return " ".join(re.sub(r"<[^>]+>", " ", response.get_data(as_text=True)).split())


def field_error(response, message: str) -> bool:
    escaped = re.escape(message.replace("'", "&#39;"))
    return re.search(r'<p class="error" role="alert">[^<]*' + escaped, response.get_data(as_text=True)) is not None


def dec(value: Any) -> Decimal:
    return Decimal(str(value))


ZERO_SCENARIO = Scenario()


# --- the base case against the schedule ---------------------------------------------------------------------------


def test_with_zero_rates_the_projection_equals_the_instalment_rows_and_the_schedule(w):
    rows = list(db.session.scalars(select(LoanInstalment).where(LoanInstalment.loan_id == w.loan.id)
                                   .order_by(LoanInstalment.number)))
    reference = build_schedule(LoanTerms(principal=PRINCIPAL, annual_rate=D("0.04"), term_periods=12,
                                         first_due=FIRST_DUE, currency="EUR"))
    assert [(r.principal, r.interest) for r in rows] == [(x.principal, x.interest) for x in reference]
    # The fund's loan book, read in one query, puts each row in the month of its due date (month 1 is July 2027).
    book = foresight.load(as_of=TODAY, fund_ids=[w.fund.id]).books[w.fund.id]
    assert [D(c).scaleb(-2) for c in book.principal[1:13]] == [r.principal for r in rows]
    assert [D(c).scaleb(-2) for c in book.interest[1:13]] == [r.interest for r in rows]
    # The existing loan alone (no pipeline, no new lending) collects exactly its rows, month by month.
    shown = foresight.fund_foresight(w.fund.id, actor=w.admin, scenario=ZERO_SCENARIO, as_of=TODAY)
    plain = foresight.Projector(ZERO_SCENARIO, foresight.policy_of(shown.rules)).project(
        book, cash=0, pipeline=0, start=TODAY)
    for row in rows:
        month = plain.months[(row.due_date.year - 2027) * 12 + row.due_date.month - 7]
        assert month.first_day == date(row.due_date.year, row.due_date.month, 1)
        assert (month.principal, month.interest) == (row.principal, row.interest)
    assert plain.total("principal") == PRINCIPAL and plain.months[-1].outstanding == D("0.00")
    assert plain.months[-1].ending_cash == PRINCIPAL + sum((r.interest for r in rows), D(0))
    # The page's projection adds the approved 5,000.00, lent in July and repaid from August on.
    months = shown.scenario.months
    assert months[0].principal == months[0].interest == D("0.00") and months[0].new_loans == PIPELINE
    assert shown.scenario.total("principal") == PRINCIPAL + PIPELINE


def test_a_partial_repayment_leaves_its_unpaid_part_to_collect(w):
    services.record_repayment(w.loan, amount=D("500.00"), value_date=date(2027, 7, 20), bank_reference="R-EARLY",
                              actor=w.admin, now=NOW, timezone="UTC")
    first = db.session.scalars(select(LoanInstalment).where(LoanInstalment.loan_id == w.loan.id,
                                                            LoanInstalment.number == 1)).one()
    unpaid = first.principal - first.principal_paid + first.interest - first.interest_paid - first.interest_cancelled
    book = foresight.load(as_of=TODAY, fund_ids=[w.fund.id]).books[w.fund.id]
    assert D(book.principal[1] + book.interest[1]).scaleb(-2) == unpaid
    assert D(book.outstanding).scaleb(-2) == PRINCIPAL - first.principal_paid
    db.session.rollback()


def test_the_books_summed_in_the_database_equal_the_loans_read_one_by_one(w):
    from programme.loans.foresight import books_from_rows
    from programme.loans.services.arrears import run_daily

    later = date(2028, 1, 10)  # nothing paid: the oldest instalment (15 Aug 2027) is 148 days late
    run_daily(as_of=later, actor=w.admin, now=NOW)
    db.session.flush()
    for as_of, days in ((TODAY, 90), (later, 90), (later, 200)):
        summed = foresight._books([w.fund.id], start=as_of, default_days=days)[w.fund.id]
        one_by_one = books_from_rows(foresight._unpaid_rows([w.fund.id]), start=as_of, default_days=days)[w.fund.id]
        assert (summed.principal, summed.interest, summed.principal_later, summed.defaulted) == (
            one_by_one.principal, one_by_one.interest, one_by_one.principal_later, one_by_one.defaulted)
    assert foresight._books([w.fund.id], start=later, default_days=90)[w.fund.id].defaulted == 1_200_000
    lost = foresight.fund_foresight(w.fund.id, actor=w.admin, scenario=ZERO_SCENARIO, as_of=later).scenario
    assert lost.months[0].defaulted == PRINCIPAL and lost.months[0].losses == PRINCIPAL
    db.session.rollback()


def test_the_pipeline_is_the_approved_loan_part_not_yet_lent(w):
    shown = foresight.fund_foresight(w.fund.id, actor=w.admin, scenario=None, as_of=TODAY)
    assert shown.base.money("pipeline") == PIPELINE
    assert shown.base.money("cash") == D("50000.00") - PRINCIPAL
    assert shown.risk.utilisation == ((PRINCIPAL + PIPELINE) / D("50000.00")).quantize(D("0.0001"))


def test_a_fund_one_may_not_see_is_not_found(w):
    with pytest.raises(NotFound):
        foresight.fund_foresight(w.fund.id, actor=w.reviewer, scenario=None, as_of=TODAY)
    with pytest.raises(NotFound):
        foresight.fund_foresight(999999, actor=w.admin, scenario=None, as_of=TODAY)


# --- the pages ------------------------------------------------------------------------------------------------------


def test_the_fund_page_links_to_its_foresight_page_with_table_chart_floor_and_risk(w, client, login):
    login(w.admin)
    fund_page = client.get(f"/funds/{w.fund.id}").get_data(as_text=True)
    assert f'href="/funds/{w.fund.id}/foresight"' in fund_page
    response = client.get(f"/funds/{w.fund.id}/foresight")
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assert "<svg" in page and "<figure class=\"balance-chart foresight-chart\">" in page
    assert page.count('<th scope="row">') >= HORIZON
    shown = text(response)
    assert "Approved loan requests not yet lent EUR 5,000.00" in shown
    # 12,000.00 lent and 5,000.00 approved of a capital of 38,000.00 cash + 12,000.00 outstanding
    assert "Capital utilisation (loaned or committed ÷ capital) 34 %" in shown
    assert "standard 75 %" in shown and "Risk score:" in shown and "number of warning signs" in shown
    assert "Base (the rules')" in shown and "Stress (the rules'" in shown


def test_a_scenario_is_a_link_and_changes_the_projection(w, client, login):
    login(w.manager)
    base = client.get(f"/funds/{w.fund.id}/foresight")
    link = (f"/funds/{w.fund.id}/foresight?default_rate=20&loss_given_default=100&prepayment_rate=0"
            "&new_lending=60000.00&admin_share=10")
    response = client.get(link)
    assert response.status_code == 200
    assert "This scenario" in text(response) and "This scenario" not in text(base)
    assert 'value="60000.00"' in response.get_data(as_text=True)
    assert f'/funds/{w.fund.id}/foresight.xlsx?default_rate=20' in response.get_data(as_text=True)
    shown = foresight.fund_foresight(w.fund.id, actor=w.manager, as_of=TODAY, scenario=Scenario(
        annual_default_rate=D("0.2"), loss_given_default=D("1"), new_lending_per_year=D("60000.00"),
        admin_cost_share=D("0.1")))
    floor = shown.scenario.floor_month
    assert floor is not None and f"month {floor}" in text(response)


@pytest.mark.parametrize(("field", "value", "message"), [
    ("default_rate", "-1", "Give a percentage from 0 to 100"),
    ("default_rate", "abc", "is not a number"),
    ("loss_given_default", "100.5", "Give a percentage from 0 to 100"),
    ("prepayment_rate", "NaN", "Give a percentage from 0 to 100"),
    ("admin_share", "1e9", "Give a percentage from 0 to 100"),
    ("new_lending", "-500", "is not an amount"),
    ("new_lending", "12.345", "Use at most 2 decimal places"),
    ("new_lending", "lots", "is not an amount"),
])
def test_bad_scenario_values_are_named_beside_their_field_and_change_nothing(w, client, login, field, value,
                                                                              message):
    login(w.admin)
    before = db.session.scalar(select(func.count()).select_from(JournalEntry))
    for url in (f"/funds/{w.fund.id}/foresight", "/funds/foresight", f"/funds/{w.fund.id}/foresight.xlsx"):
        response = client.get(url, query_string={field: value})
        assert response.status_code == 400, url
        assert field_error(response, message), (url, text(response)[:3000])
    assert db.session.scalar(select(func.count()).select_from(JournalEntry)) == before


def test_the_fund_projection_exports_to_excel_and_reads_back(w, client, login):
    login(w.manager)
    response = client.get(f"/funds/{w.fund.id}/foresight.xlsx?default_rate=6&new_lending=1200")
    assert response.status_code == 200
    book = load_workbook(io.BytesIO(response.data), read_only=True)
    assert book.sheetnames == ["Projection", "Scenarios", "Risk"]
    rows = list(book["Projection"].iter_rows(values_only=True))
    assert len(rows) == HORIZON + 1 and rows[0][3] == "Beginning cash"
    shown = foresight.fund_foresight(w.fund.id, actor=w.manager, as_of=TODAY, scenario=Scenario(
        annual_default_rate=D("0.06"), loss_given_default=D("0.6"), prepayment_rate=D("0.02"),
        new_lending_per_year=D("1200.00"), admin_cost_share=D("0.10")))
    for row, month in zip(rows[1:], shown.scenario.months, strict=True):
        assert row[0] == month.number
        assert [dec(v) for v in row[3:3 + len(COLUMNS)]] == [month.values[c] for c in COLUMNS]
    scenarios = list(book["Scenarios"].iter_rows(values_only=True))
    assert scenarios[2][0] == "This scenario" and dec(scenarios[2][1]) == D("0.06")


def test_the_programme_page_sums_the_funds_and_exports(w, client, login):
    login(w.manager)
    response = client.get("/funds/foresight")
    assert response.status_code == 200
    shown = text(response)
    assert "The programme's funds in EUR" in shown and w.initiative.reference in shown
    funds_page = client.get("/funds").get_data(as_text=True)
    assert 'href="/funds/foresight"' in funds_page
    export = client.get("/funds/foresight.xlsx?prepayment_rate=5")
    assert export.status_code == 200
    book = load_workbook(io.BytesIO(export.data), read_only=True)
    assert "Programme EUR" in book.sheetnames and "Funds" in book.sheetnames
    funds = list(book["Funds"].iter_rows(values_only=True))
    assert funds[1][0] == w.initiative.reference and dec(funds[1][5]) == PIPELINE
    months = list(book["Programme EUR"].iter_rows(values_only=True))
    assert len(months) == HORIZON + 1 and dec(months[1][3]) == D("38000.00")


def test_an_applicant_sees_only_its_own_funds_projection(w, client, login):
    login(w.applicant)
    assert client.get(f"/funds/{w.fund.id}/foresight").status_code == 200
    assert client.get("/funds/foresight").status_code == 403
    funds_page = client.get("/funds").get_data(as_text=True)
    assert 'href="/funds/foresight"' not in funds_page


# --- the dashboard ------------------------------------------------------------------------------------------------


def test_the_dashboard_lists_the_funds_at_risk(w, client, login):
    login(w.manager)
    page = client.get("/dashboard")
    assert page.status_code == 200
    shown = text(page)
    assert "Revolving funds at risk" in shown
    # the fund lends 12,000 of a capital of 50,000 and has 5,000 approved: 34 % loaned or committed, under 75 %
    assert w.initiative.reference in shown and "capital utilisation 34.0 % is under the standard 75.0 %" in shown
    warnings = foresight.early_warnings(actor=w.manager, as_of=TODAY, moment=datetime(2030, 1, 1, tzinfo=UTC))
    assert [f.fund.fund_id for f in warnings] == [w.fund.id] and warnings[0].risk.score == 1


def test_a_fund_lending_most_of_its_capital_warns_only_of_its_cash_runway(app):
    w = loan_world(principal="18000.00", cash="20000.00", term_periods=60)  # under the four-eyes threshold
    shown = foresight.fund_foresight(w.fund.id, actor=w.manager, scenario=None, as_of=TODAY)
    assert shown.risk.utilisation == D("0.9000")
    # the rules' stress: lending 12,000.00 a year from 2,000.00 of cash takes it below a tenth of the capital
    assert shown.stress.floor_month is not None and shown.risk.score == 1
    assert "under stress" in shown.risk.signs[0]
    assert DISBURSED_ON < TODAY
