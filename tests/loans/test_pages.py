"""The fund and loan pages through the test client: every route for each role (anonymous, the group's applicant,
an applicant of another group, a reviewer, a manager, a fund administrator), ids changed by hand, the money
forms with bad input (the error on its field, nothing changed), a repayment that changes the schedule and the
fund's cash, the preview that saves nothing, the loan book's filters, sort and pages, the exports, and the
bank-statement import (a bad row named by row and column and nothing applied; a good file applied).

The world is made through the real services (``tests/loans/world.py``); the pages' clock is frozen at NOW."""

from __future__ import annotations

import io
import re
from datetime import date
from decimal import Decimal

import pytest
from openpyxl import Workbook, load_workbook
from sqlalchemy import func, select

from programme.core.timezone import format_day
from programme.extensions import db
from programme.ledger.models import JournalEntry
from programme.loans import services
from programme.loans.models import (
    BankStatementImport,
    Capitalisation,
    Loan,
    LoanApproval,
    LoanEvent,
    LoanInstalment,
    LoanStatus,
    Repayment,
    RevolvingFund,
)
from programme.loans.schedule import LoanTerms, build_schedule
from tests.funding.conftest import funded_initiative
from tests.loans.world import CASH, DISBURSED_ON, FIRST_DUE, NOW, PRINCIPAL, LoanWorld, loan_world
from tests.worlds import Kept, keep, reload

D = Decimal


@pytest.fixture(autouse=True)
def frozen(clock):
    clock(NOW)


@pytest.fixture(scope="module")
def loan_world_once(built_once) -> Kept:
    """A fund of EUR 50,000.00 with one loan of EUR 12,000.00 (4 %, 12 months); its people given addresses
    the login form accepts."""
    with built_once():
        world = loan_world()
        for person in (world.admin, world.admin2, world.manager, world.reviewer, world.applicant):
            person.email = person.email.replace(".test", ".example.org")
        return keep(world)


@pytest.fixture
def w(app, loan_world_once: Kept) -> LoanWorld:
    return reload(loan_world_once)


def text(response) -> str:
    return " ".join(re.sub(r"<[^>]+>", " ", response.get_data(as_text=True)).split())


def html(response) -> str:
    return response.get_data(as_text=True)


def field_error(response, message: str) -> bool:
    """The message is shown as an error of a field (the form macro's markup)."""
    escaped = re.escape(message.replace("'", "&#39;"))
    return re.search(r'<p class="error" role="alert">[^<]*' + escaped, html(response)) is not None


def entries() -> int:
    return db.session.scalar(select(func.count()).select_from(JournalEntry))


def count(model) -> int:
    return db.session.scalar(select(func.count()).select_from(model))


def first_instalment() -> LoanTerms:
    return build_schedule(LoanTerms(principal=PRINCIPAL, annual_rate=D("0.04"), term_periods=12, first_due=FIRST_DUE,
                                    currency="EUR"))[0]


def instalments(loan_id: int) -> list[LoanInstalment]:
    db.session.expire_all()
    return list(db.session.scalars(select(LoanInstalment).where(LoanInstalment.loan_id == loan_id)
                                   .order_by(LoanInstalment.number)))


def statement(*rows, header=("date", "amount", "reference", "loan number")) -> bytes:
    book = Workbook()
    sheet = book.active
    sheet.append(list(header))
    for row in rows:
        sheet.append(list(row))
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def upload(client, data: bytes, name: str = "statement.xlsx"):
    return client.post("/bank-statements", data={"statement": (io.BytesIO(data), name)},
                       content_type="multipart/form-data")


# Who may use which route -----------------------------------------------------------------------------------------


def routes(w: LoanWorld) -> dict[str, tuple[str, str, dict | None]]:
    f, loan = w.fund.id, w.loan.id
    return {
        "funds": ("GET", "/funds", None),
        "fund": ("GET", f"/funds/{f}", None),
        "initiative_fund": ("GET", f"/initiatives/{w.initiative.id}/fund", None),
        "capitalise": ("POST", f"/funds/{f}/capitalisations",
                       {"amount": "100.00", "value_date": "2032-12-01", "bank_reference": "CAP-X"}),
        "new_loan_get": ("GET", f"/funds/{f}/loans/new", None),
        "new_loan_post": ("POST", f"/funds/{f}/loans/new", {"principal": "100.00"}),
        "loan_book": ("GET", "/loans", None),
        "loan_book_export": ("GET", "/loans.xlsx", None),
        "loan": ("GET", f"/loans/{loan}", None),
        "repay": ("POST", f"/loans/{loan}/repayments",
                  {"amount": "1.00", "value_date": "2027-08-15", "bank_reference": "R-X"}),
        "reschedule": ("POST", f"/loans/{loan}/reschedule",
                       {"term_periods": "6", "first_due": "2033-02-01", "reason": "Hard times"}),
        "write_off": ("POST", f"/loans/{loan}/write-off", {"on_date": "2032-12-01", "reason": "Gone"}),
        "refund": ("POST", f"/loans/{loan}/refund", {"value_date": "2032-12-01", "bank_reference": "RF-X"}),
        "schedule_export": ("GET", f"/loans/{loan}/schedule.xlsx", None),
        "statements_get": ("GET", "/bank-statements", None),
        "statements_post": ("POST", "/bank-statements", {}),
    }


def call(client, method: str, url: str, data: dict | None):
    return client.get(url) if method == "GET" else client.post(url, data=data or {})


#: Expected status per role and route (anything changing money is for fund administrators only; reviewers see no
#: list and no fund or loan; an applicant of another group gets 404 on the group's fund and loan).
EXPECTED = {
    "applicant": {"funds": 200, "fund": 200, "initiative_fund": 302, "capitalise": 403, "new_loan_get": 403,
                  "new_loan_post": 403, "loan_book": 200, "loan_book_export": 403, "loan": 200, "repay": 403,
                  "reschedule": 403, "write_off": 403, "refund": 403, "schedule_export": 200, "statements_get": 403,
                  "statements_post": 403},
    "other": {"funds": 200, "fund": 404, "initiative_fund": 404, "capitalise": 404, "new_loan_get": 404,
              "new_loan_post": 404, "loan_book": 200, "loan_book_export": 403, "loan": 404, "repay": 404,
              "reschedule": 404, "write_off": 404, "refund": 404, "schedule_export": 404, "statements_get": 403,
              "statements_post": 403},
    "reviewer": {"funds": 403, "fund": 404, "initiative_fund": 404, "capitalise": 404, "new_loan_get": 404,
                 "new_loan_post": 404, "loan_book": 403, "loan_book_export": 403, "loan": 404, "repay": 404,
                 "reschedule": 404, "write_off": 404, "refund": 404, "schedule_export": 404, "statements_get": 403,
                 "statements_post": 403},
    "manager": {"funds": 200, "fund": 200, "initiative_fund": 302, "capitalise": 403, "new_loan_get": 403,
                "new_loan_post": 403, "loan_book": 200, "loan_book_export": 200, "loan": 200, "repay": 403,
                "reschedule": 403, "write_off": 403, "refund": 403, "schedule_export": 200, "statements_get": 403,
                "statements_post": 403},
}


def test_anonymous_visitors_are_sent_to_log_in(client, w):
    for name, (method, url, data) in routes(w).items():
        response = call(client, method, url, data)
        assert response.status_code == 302, name
        assert "/login" in response.headers["Location"], name


@pytest.mark.parametrize("who", ["applicant", "other", "reviewer", "manager"])
def test_each_role_may_use_only_its_routes_and_changes_nothing(client, login, make_user, w, who):
    person = make_user("other-lead@example.org") if who == "other" else getattr(w, who)
    login(person.email)
    before = entries(), count(Repayment), count(LoanEvent), count(Loan), count(Capitalisation)
    for name, (method, url, data) in routes(w).items():
        response = call(client, method, url, data)
        assert response.status_code == EXPECTED[who][name], (name, response.status_code)
    assert (entries(), count(Repayment), count(LoanEvent), count(Loan), count(Capitalisation)) == before


def test_a_fund_administrator_may_open_every_page(client, login, w):
    login(w.admin.email)
    for name, (method, url, _) in routes(w).items():
        if method == "GET":
            response = client.get(url)
            assert response.status_code == (302 if name == "initiative_fund" else 200), name


def test_an_unknown_id_is_not_found(client, login, w):
    login(w.admin.email)
    for url in ("/funds/999999", "/loans/999999", "/loans/999999/schedule.xlsx", "/funds/999999/loans/new",
                "/initiatives/999999/fund"):
        assert client.get(url).status_code == 404, url
    assert client.post("/loans/999999/repayments", data={"amount": "1.00"}).status_code == 404


def test_the_applicant_sees_its_own_fund_and_loan_read_only(client, login, make_user, w):
    login(w.applicant.email)
    funds = text(client.get("/funds"))
    assert w.initiative.reference in funds and "EUR 38,000.00" in funds  # 50,000 capitalised, 12,000 lent
    page = client.get(f"/funds/{w.fund.id}")
    assert "read-only" in text(page) and "/capitalisations" not in html(page) and "/loans/new" not in html(page)
    loan = client.get(f"/loans/{w.loan.id}")
    assert w.loan.number in text(loan) and "read-only" in text(loan)
    assert "/repayments" not in html(loan) and "/write-off" not in html(loan)
    book = text(client.get("/loans"))
    assert w.loan.number in book and "Export to Excel" not in book
    client.post("/logout")
    login(make_user("other-lead@example.org").email)
    assert w.initiative.reference not in text(client.get("/funds"))
    assert w.loan.number not in text(client.get("/loans"))
    assert client.get(f"/loans/{w.loan.id}").status_code == 404


# Fund pages ------------------------------------------------------------------------------------------------------


def test_the_fund_page_shows_its_position_chart_and_loans(client, login, w):
    login(w.admin.email)
    page = client.get(f"/funds/{w.fund.id}")
    body = text(page)
    assert "Cash EUR 38,000.00" in body and "Capitalised by the programme EUR 50,000.00" in body
    assert "Loans outstanding (1 active) EUR 12,000.00" in body and "Principal repaid EUR 0.00" in body
    assert "<svg" in html(page) and 'class="cash"' in html(page)
    assert f"{format_day(DISBURSED_ON)} EUR 38,000.00 EUR 12,000.00" in body  # the chart's figures as text
    assert w.loan.number in body and "CAP-1" in body
    assert f'href="/funds/{w.fund.id}/loans/new"' in html(page)
    # at NOW every instalment of the loan is long overdue: the whole of it is at risk
    assert re.search(r'id="fund-par30">100 %', html(page))


def test_capitalising_through_the_page_and_a_bad_amount_on_its_field(client, login, w):
    login(w.admin.email)
    before = entries()
    response = client.post(f"/funds/{w.fund.id}/capitalisations",
                           data={"amount": "12,5", "value_date": "2032-12-01", "bank_reference": "CAP-2"})
    assert response.status_code == 200 and field_error(response, "Write the cents after a point")
    assert 'value="CAP-2"' in html(response)
    response = client.post(f"/funds/{w.fund.id}/capitalisations",
                           data={"amount": "1000.00", "value_date": "2033-02-01", "bank_reference": "CAP-2"})
    assert response.status_code == 200 and field_error(response, "is in the future")
    assert entries() == before
    response = client.post(f"/funds/{w.fund.id}/capitalisations",
                           data={"amount": "1,000.00", "value_date": "2032-12-01", "bank_reference": "CAP-2"})
    assert response.status_code == 302
    assert "Cash EUR 39,000.00" in text(client.get(f"/funds/{w.fund.id}"))
    assert entries() == before + 1


def test_the_initiative_fund_link_redirects_to_the_fund(client, login, w):
    login(w.manager.email)
    response = client.get(f"/initiatives/{w.initiative.id}/fund")
    assert response.status_code == 302 and response.headers["Location"].endswith(f"/funds/{w.fund.id}")


def test_an_initiative_without_a_fund_gets_one_from_a_fund_administrator(client, login, app):
    made = funded_initiative()
    for person in (made.admin, made.manager, made.applicant):
        person.email = person.email.replace(".test", ".example.org")
    db.session.commit()
    url = f"/initiatives/{made.initiative.id}/fund"
    login(made.applicant.email)
    page = client.get(url)
    assert page.status_code == 200 and "has no revolving fund yet" in text(page) and f'action="{url}"' not in html(page)
    assert client.post(url).status_code == 403
    client.post("/logout")
    login(made.manager.email)
    assert client.post(url).status_code == 403
    assert count(RevolvingFund) == 0
    client.post("/logout")
    login(made.admin.email)
    assert "Open the revolving fund" in text(client.get(url))
    response = client.post(url)
    assert response.status_code == 302
    fund = db.session.scalar(select(RevolvingFund))
    assert fund.initiative_id == made.initiative.id and response.headers["Location"].endswith(f"/funds/{fund.id}")
    assert "Cash EUR 0.00" in text(client.get(f"/funds/{fund.id}"))
    assert client.post(url).status_code == 302 and count(RevolvingFund) == 1


# Making a loan ---------------------------------------------------------------------------------------------------


def loan_data(w: LoanWorld, **changes) -> dict:
    data = {"borrower_id": str(w.borrower.id), "principal": "6,000.00", "annual_rate": "2.5", "term_periods": "6",
            "grace_periods": "0", "grace": "none", "frequency": "monthly", "method": "annuity",
            "first_due": "2033-01-31", "disbursed_on": "2032-12-31", "bank_reference": "LOAN-2",
            "purpose": "A cold room", "funding_request_id": "0", "make": "Make the loan"}
    data.update(changes)
    return data


def test_the_new_loan_page_limits_the_choices_and_shows_the_rules(client, login, w):
    login(w.admin.email)
    page = client.get(f"/funds/{w.fund.id}/loans/new")
    assert page.status_code == 200
    body = text(page)
    assert "At most 4 % a year" in body and "at most 60 months" in body and "at most 12 months" in body
    assert "EUR 38,000.00" in body
    assert all(o.name in body for o in w.members())


def test_the_preview_shows_the_schedule_and_saves_nothing(client, login, w):
    login(w.admin.email)
    before = entries(), count(Loan), count(LoanInstalment)
    data = loan_data(w)
    data.pop("make")
    data["preview"] = "Preview schedule"
    response = client.post(f"/funds/{w.fund.id}/loans/new", data=data)
    assert response.status_code == 200
    expected = build_schedule(LoanTerms(principal=D("6000.00"), annual_rate=D("0.025"), term_periods=6,
                                        first_due=date(2033, 1, 31), currency="EUR"))
    body = text(response)
    assert "The schedule, not saved" in body
    assert f"2 28 Feb 2033 EUR {expected[1].principal:,}" in body  # the day of the month kept (or the last day)
    assert f"Total EUR 6,000.00 EUR {sum(i.interest for i in expected):,}" in body
    assert 'value="LOAN-2"' in html(response) and "A cold room" in body  # nothing typed lost
    # a preview needs only the terms; a bad term is shown on its field and no schedule
    bare = {**data, "bank_reference": "", "purpose": "", "borrower_id": "0"}
    response = client.post(f"/funds/{w.fund.id}/loans/new", data=bare)
    assert "The schedule, not saved" in text(response) and 'class="field has-error"' not in html(response)
    response = client.post(f"/funds/{w.fund.id}/loans/new", data={**bare, "term_periods": "none"})
    assert "The schedule, not saved" not in text(response) and field_error(response, "Not a valid integer value.")
    assert (entries(), count(Loan), count(LoanInstalment)) == before


def test_making_a_loan_through_the_page(client, login, w):
    login(w.admin.email)
    response = client.post(f"/funds/{w.fund.id}/loans/new", data=loan_data(w))
    assert response.status_code == 302
    loan = db.session.scalar(select(Loan).where(Loan.bank_reference == "LOAN-2"))
    assert loan.annual_rate == D("0.025") and loan.principal == D("6000.00") and loan.term_periods == 6
    assert response.headers["Location"].endswith(f"/loans/{loan.id}")
    page = text(client.get(f"/loans/{loan.id}"))
    assert f"Loan {loan.number} of EUR 6,000.00 made to {w.borrower.name}" in page
    assert "Cash EUR 32,000.00" in text(client.get(f"/funds/{w.fund.id}"))


@pytest.mark.parametrize(("changes", "field", "message"), [
    ({"annual_rate": "abc"}, "annual_rate", "Not a valid decimal value"),
    ({"annual_rate": "4.5"}, "annual_rate", "4"),
    ({"annual_rate": "2.12345"}, "annual_rate", "Use at most 4 decimal places."),
    ({"principal": "0"}, "principal", "Give an amount above zero."),
    ({"principal": "38,000.01"}, "principal", "38,000.00"),
    ({"term_periods": "61"}, "term_periods", "60 months"),
    ({"term_periods": "x"}, "term_periods", "Not a valid integer value."),
    ({"grace_periods": "2"}, "grace_periods", "Choose 'Interest only' as the grace"),
    ({"borrower_id": "0"}, "borrower_id", "Choose the borrower."),
    ({"purpose": ""}, "purpose", "Say what the loan is for."),
    ({"bank_reference": "LOAN-1"}, "bank_reference", "LOAN-1"),
    ({"disbursed_on": "2033-01-02"}, "disbursed_on", "in the future"),
])
def test_a_bad_loan_is_refused_on_its_field_and_nothing_is_made(client, login, w, changes, field, message):
    login(w.admin.email)
    before = entries(), count(Loan)
    response = client.post(f"/funds/{w.fund.id}/loans/new", data=loan_data(w, **changes))
    assert response.status_code == 200
    page = html(response)
    block = re.search(rf'<div class="field has-error">\s*<label for="{field}".*?</div>', page, re.S)
    assert block is not None, (field, text(response)[:3000])
    assert message.replace("'", "&#39;") in block.group(0)
    assert "A cold room" in page or changes.get("purpose") == ""
    assert (entries(), count(Loan)) == before


# A loan ----------------------------------------------------------------------------------------------------------


def test_a_repayment_through_the_page_changes_the_schedule_and_the_fund_cash(client, login, w):
    login(w.admin.email)
    first = first_instalment()
    page = client.get(f"/loans/{w.loan.id}")
    assert re.search(r'id="instalment-1"[^>]*data-status="overdue"', html(page))
    response = client.post(f"/loans/{w.loan.id}/repayments", data={
        "amount": f"{first.total}", "value_date": FIRST_DUE.isoformat(), "bank_reference": "PAY-1"})
    assert response.status_code == 302
    page = client.get(f"/loans/{w.loan.id}")
    body = text(page)
    assert f"EUR {first.total:,} received on {w.loan.number} on {format_day(FIRST_DUE)}, reference PAY-1" in body
    assert re.search(r'id="instalment-1"[^>]*data-status="paid"', html(page))
    assert re.search(r'id="instalment-2"[^>]*data-status="overdue"', html(page))
    assert f"EUR {PRINCIPAL - first.principal:,}" in re.search(r'id="loan-outstanding">[^<]*', html(page)).group(0)
    (one, *_rest) = instalments(w.loan.id)
    assert one.principal_paid == one.principal and one.interest_paid == one.interest
    cash = CASH - PRINCIPAL + first.total
    fund = client.get(f"/funds/{w.fund.id}")
    assert f"Cash EUR {cash:,}" in text(fund) and f"Principal repaid EUR {first.principal:,}" in text(fund)
    assert f"{format_day(FIRST_DUE)} EUR {cash:,}" in text(fund)  # the chart's table has the new point


@pytest.mark.parametrize(("data", "field", "message"), [
    ({"amount": "12,5"}, "amount", "Write the cents after a point"),
    ({"amount": "-5"}, "amount", "is not an amount"),
    ({"amount": ""}, "amount", "Give the amount received."),
    ({"value_date": "2033-01-02"}, "value_date", "is in the future"),
    ({"value_date": "2027-07-01"}, "value_date", "15 Jul 2027"),
    ({"value_date": "not a date"}, "value_date", "Write the day as day month year, for example 6 Dec 2026."),
    ({"value_date": "07/15/2027"}, "value_date", "Write the day before the month."),
    ({"bank_reference": ""}, "bank_reference", "Give the bank's reference of the transfer."),
    ({"bank_reference": "LOAN-1"}, "bank_reference", "LOAN-1"),
])
def test_a_bad_repayment_is_refused_on_its_field_and_changes_nothing(client, login, w, data, field, message):
    login(w.admin.email)
    if data.get("bank_reference") == "LOAN-1":  # a reference used by another repayment
        client.post(f"/loans/{w.loan.id}/repayments",
                    data={"amount": "10.00", "value_date": FIRST_DUE.isoformat(), "bank_reference": "LOAN-1"})
        data = {**data, "amount": "20.00"}
    before = entries(), count(Repayment)
    sent = {"amount": "100.00", "value_date": FIRST_DUE.isoformat(), "bank_reference": "PAY-9", **data}
    response = client.post(f"/loans/{w.loan.id}/repayments", data=sent)
    assert response.status_code == 200
    block = re.search(rf'<div class="field has-error">\s*<label for="{field}".*?</div>', html(response), re.S)
    assert block is not None, (field, text(response)[:3000])
    assert message.replace("'", "&#39;") in block.group(0)
    assert (entries(), count(Repayment)) == before
    assert instalments(w.loan.id)[0].principal_paid == 0 or data.get("bank_reference") == "LOAN-1"


def test_a_repayment_before_the_latest_is_refused_naming_it(client, login, w):
    login(w.admin.email)
    client.post(f"/loans/{w.loan.id}/repayments",
                data={"amount": "100.00", "value_date": "2027-10-01", "bank_reference": "PAY-1"})
    before = entries()
    response = client.post(f"/loans/{w.loan.id}/repayments",
                           data={"amount": "100.00", "value_date": "2027-09-01", "bank_reference": "PAY-2"})
    assert response.status_code == 200 and "PAY-1" in text(response) and "on 1 Oct 2027" in text(response)
    assert entries() == before


def test_reschedule_write_off_and_refund_through_the_page(client, login, w):
    login(w.admin.email)
    response = client.post(f"/loans/{w.loan.id}/reschedule", data={"term_periods": "6", "first_due": "2033-02-01"})
    assert response.status_code == 200 and field_error(response, "Give the reason for the reschedule.")
    response = client.post(f"/loans/{w.loan.id}/reschedule",
                           data={"term_periods": "6", "first_due": "2033-02-01", "reason": "A hard season",
                                 "grace_periods": "0", "grace": "none", "method": ""})
    assert response.status_code == 302
    page = client.get(f"/loans/{w.loan.id}")
    assert "replaced by a reschedule" in text(page) and "A hard season" in text(page)
    assert re.search(r'data-status="superseded"', html(page))
    db.session.expire_all()
    assert db.session.get(Loan, w.loan.id).rescheduled
    # an overpayment leaves a credit, refunded through the page
    client.post(f"/loans/{w.loan.id}/repayments",
                data={"amount": "13,000.00", "value_date": "2033-01-01", "bank_reference": "PAY-ALL"})
    db.session.expire_all()
    loan = db.session.get(Loan, w.loan.id)
    assert loan.status == LoanStatus.CLOSED and loan.credit > 0
    credit = loan.credit
    response = client.post(f"/loans/{w.loan.id}/refund", data={"value_date": "2033-01-01", "bank_reference": ""})
    assert response.status_code == 200 and field_error(response, "Give the bank&#39;s reference of the refund."
                                                       .replace("&#39;", "'"))
    response = client.post(f"/loans/{w.loan.id}/refund", data={"value_date": "2033-01-01", "bank_reference": "RF-1",
                                                                "reason": "Overpaid"})
    assert response.status_code == 302
    page = text(client.get(f"/loans/{w.loan.id}"))
    assert f"EUR {credit:,} of credit to" in page and "is waiting for a second person" in page
    assert "You asked for this: a second person must approve it." in page
    asked = db.session.scalar(select(LoanApproval))
    assert client.post(f"/loan-approvals/{asked.id}/approve").status_code == 403  # the requester never approves
    assert db.session.get(Loan, w.loan.id).credit == credit
    login(w.admin2.email)
    response = client.post(f"/loan-approvals/{asked.id}/approve")
    assert response.status_code == 302
    assert "Approved and posted: Refund the credit" in text(client.get(response.headers["Location"]))
    db.session.expire_all()
    assert db.session.get(Loan, w.loan.id).credit == 0


def test_writing_off_through_the_page(client, login, w):
    login(w.admin.email)
    confirmed = {"confirmed": "yes"}  # as the confirmation page (or the script's dialog) posts
    url = f"/loans/{w.loan.id}/write-off"
    response = client.post(url, data={"on_date": "2033-02-01", "reason": "Gone", **confirmed})
    assert response.status_code == 200 and field_error(response, "is in the future")
    response = client.post(f"/loans/{w.loan.id}/write-off", data={"on_date": "2032-12-01", "reason": "", **confirmed})
    assert response.status_code == 200 and field_error(response, "Give the reason for the write-off.")
    assert count(LoanEvent) == 1  # the disbursement only
    response = client.post(url, data={"on_date": "2032-12-01", "reason": "Bankrupt", **confirmed})
    assert response.status_code == 302
    page = text(client.get(f"/loans/{w.loan.id}"))
    assert "is waiting for a second person" in page and "Bankrupt" in page
    assert count(LoanEvent) == 1  # nothing posted yet
    login(w.manager.email)  # a programme manager may be the second person
    overview = text(client.get("/funds"))
    assert "Waiting for your approval: 1" in overview
    assert "Bankrupt" in text(client.get("/loan-approvals"))
    asked = db.session.scalar(select(LoanApproval))
    response = client.post(f"/loan-approvals/{asked.id}/approve")
    assert response.status_code == 302
    page = text(client.get(f"/loans/{w.loan.id}"))
    assert "Approved and posted: Write off" in page and "Record a recovery" not in page  # the manager sees it read-only
    assert db.session.get(Loan, w.loan.id).status == LoanStatus.WRITTEN_OFF
    assert client.post(f"/loan-approvals/{asked.id}/approve").status_code == 302  # approving twice: refused, shown
    assert count(LoanEvent) == 2


# The loan book ---------------------------------------------------------------------------------------------------


def test_the_loan_book_filters_sorts_and_pages(client, login, w):
    for n in range(2, 53):  # 52 loans in all: two pages of 50
        services.make_loan(w.fund, borrower_id=w.members()[n % 2].id, principal=D(100 + n), annual_rate=D("0"),
                           term_periods=1, first_due=date(2032, 12, 31), disbursed_on=date(2032, 12, 1),
                           bank_reference=f"LOAN-{n}", purpose="Tools", actor=w.admin, now=NOW, timezone="UTC")
    db.session.commit()
    login(w.manager.email)
    first = client.get("/loans")
    body = text(first)
    assert "page 1 of 2 (52 loans)" in body and "EUR 18,477.00" in body  # 12,000 + sum(102..152)
    assert len(re.findall(r'<tr id="loan-\d+">', html(first))) == 50
    second = text(client.get("/loans?page=2"))
    assert "page 2 of 2" in second
    by_outstanding = html(client.get("/loans?sort=outstanding&desc=1"))
    numbers = re.findall(r'<tr id="loan-\d+"><td class="nowrap"><a href="[^"]+">([^<]+)</a>', by_outstanding)
    assert numbers[0] == w.loan.number and len(numbers) == 50  # EUR 12,000.00 first, then 152, 151...
    smallest = re.findall(r'<tr id="loan-\d+"><td class="nowrap"><a href="[^"]+">([^<]+)</a>',
                          html(client.get("/loans?sort=outstanding&page=1")))
    assert smallest[0] != w.loan.number and smallest[-1] != w.loan.number
    found = text(client.get(f"/loans?q={w.loan.number}"))
    assert "1 EUR 12,000.00" in found
    second_member = w.members()[1]
    expected = db.session.scalar(select(func.count(Loan.id)).where(Loan.borrower_id == second_member.id))
    assert expected == 25
    by_name = text(client.get("/loans", query_string={"q": second_member.name.upper()}))
    assert f"EUR {expected} EUR" in by_name and w.loan.number not in by_name
    assert "No loan matches these filters." in text(client.get("/loans", query_string={"q": "%"}))
    assert "No loan matches these filters." in text(client.get("/loans?status=written_off"))
    assert "No loan matches these filters." in text(client.get("/loans?bucket=over+90"))
    assert "page 1 of 2" in text(client.get(f"/loans?fund={w.fund.id}"))
    export = client.get("/loans.xlsx")
    assert export.status_code == 200 and export.mimetype.endswith("spreadsheetml.sheet")
    book = load_workbook(io.BytesIO(export.data), read_only=True)
    assert sum(1 for _ in book.worksheets[0].iter_rows()) >= 53


def test_after_the_daily_job_the_lists_show_its_arrears_and_par30(client, login, w):
    from programme.core.access import SystemActor
    from programme.loans.services.arrears import run_daily

    login(w.manager.email)
    assert "0 %" in text(client.get("/funds"))  # days late not yet computed by the job
    run_daily(as_of=NOW.date(), actor=SystemActor("test"), now=NOW)
    db.session.commit()
    funds = text(client.get("/funds"))
    assert f"EUR 12,000.00 EUR 0.00 EUR 12,000.00 100 % on {format_day(NOW.date())}" in funds
    late = text(client.get("/loans?bucket=over+90"))
    assert w.loan.number in late and "EUR 12,000.00 EUR 12,000.00 100 %" in late
    assert "No loan matches these filters." in text(client.get("/loans?bucket=current"))


def test_the_loan_schedule_export(client, login, w):
    login(w.applicant.email)
    response = client.get(f"/loans/{w.loan.id}/schedule.xlsx")
    assert response.status_code == 200
    book = load_workbook(io.BytesIO(response.data), read_only=True)
    assert w.loan.number in " ".join(str(c) for row in book.worksheets[0].iter_rows(values_only=True) for c in row)


# Bank statements -------------------------------------------------------------------------------------------------


def test_a_statement_with_a_bad_row_names_row_and_column_and_applies_nothing(client, login, w):
    login(w.admin.email)
    before = entries(), count(Repayment), count(BankStatementImport)
    data = statement((date(2027, 8, 15), "100.00", "ST-1", w.loan.number),
                     (date(2027, 9, 15), "abc", "ST-2", w.loan.number),
                     (date(2027, 9, 15), "10.00", "ST-3", "L-999999"))
    response = upload(client, data)
    assert response.status_code == 200
    body = text(response)
    assert "was refused: nothing was applied" in body
    assert re.search(r"[Rr]ow 3\b.*amount", body) and re.search(r"[Rr]ow 4\b.*loan number", body)
    assert (entries(), count(Repayment), count(BankStatementImport)) == before


def test_a_good_statement_is_applied_with_a_summary_and_twice_changes_nothing(client, login, w):
    login(w.admin.email)
    first = first_instalment()
    data = statement((date(2027, 8, 15), str(first.total), "ST-1", w.loan.number),
                     (date(2027, 9, 15), "50.00", "ST-2", w.loan.number))
    response = upload(client, data)
    assert response.status_code == 200
    body = text(response)
    assert "statement.xlsx checked: it waits for a second fund administrator to apply it." in body
    assert count(Repayment) == 0 and count(BankStatementImport) == 1
    stored = db.session.scalar(select(BankStatementImport))
    assert client.post(f"/bank-statements/{stored.id}/apply").status_code == 403  # the checker never applies
    assert count(Repayment) == 0
    login(w.admin2.email)
    response = client.post(f"/bank-statements/{stored.id}/apply")
    assert response.status_code == 302
    assert "statement.xlsx applied: 2 row(s)" in text(client.get("/bank-statements"))
    assert count(Repayment) == 2 and count(BankStatementImport) == 1
    assert instalments(w.loan.id)[0].principal_paid == first.principal
    before = entries()
    again = text(upload(client, data))
    assert "2 rows: 0 applied, 2 already applied before" in again
    assert entries() == before and count(Repayment) == 2


def test_a_file_that_is_not_a_workbook_is_refused_on_its_field(client, login, w):
    login(w.admin.email)
    response = upload(client, b"date,amount\n", name="statement.csv")
    assert response.status_code == 200 and field_error(response, "Upload an Excel workbook (.xlsx).")
    response = client.post("/bank-statements", data={}, content_type="multipart/form-data")
    assert response.status_code == 200 and field_error(response, "Choose the statement file.")
    assert count(BankStatementImport) == 0
