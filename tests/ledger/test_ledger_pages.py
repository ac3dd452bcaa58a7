"""The ledger pages (trial balance and checks, its Excel exports) for each role, the ledger exports read back
with openpyxl, and the `programme ledger` commands."""

from __future__ import annotations

import io
from datetime import UTC, date, datetime
from decimal import Decimal

import pytest
from openpyxl import load_workbook
from sqlalchemy import select, text

from programme.core.access import Role
from programme.extensions import db
from programme.ledger.export import write_ledger, write_trial_balance
from programme.ledger.models import AccountKind
from programme.ledger.posting import credit, debit, get_or_create_account, post_entry, reverse_entry
from tests.conftest import SETUP

D = Decimal
NOW = datetime(2025, 3, 20, 9, 0, tzinfo=UTC)
JAN, FEB, MAR = date(2025, 1, 15), date(2025, 2, 15), date(2025, 3, 15)


def as_decimal(value: object) -> Decimal:
    """A cell read back, as the Decimal it says (through str, never float arithmetic)."""
    return Decimal(str(value))


@pytest.fixture
def posted(app):
    """A small ledger: a call budgeted, a fund capitalised, a loan lent, a repayment, one entry reversed."""
    funds = get_or_create_account(AccountKind.PROGRAMME_FUNDS, "programme", None, "EUR")
    budget = get_or_create_account(AccountKind.PROGRAMME_BUDGET, "call", 1, "EUR")
    cash = get_or_create_account(AccountKind.REVOLVING_FUND_CASH, "fund", 1, "EUR")
    loan = get_or_create_account(AccountKind.LOANS_RECEIVABLE, "loan", 1, "EUR")
    interest = get_or_create_account(AccountKind.INTEREST_INCOME, "fund", 1, "EUR")

    def post(lines, key, when, description="test"):
        return post_entry(lines=lines, description=description, value_date=when, idempotency_key=key, actor=SETUP,
                          now=NOW)

    post([debit(budget, D("100000.00")), credit(funds, D("100000.00"))], "budget", JAN, "Budget of the call")
    post([debit(cash, D("50000.00")), credit(budget, D("50000.00"))], "capitalise", JAN, "Capitalise the fund")
    lent = post([debit(loan, D("12000.10")), credit(cash, D("12000.10"))], "lend", FEB, "Lend =SUM(A1)")
    post([debit(cash, D("1010.33")), credit(loan, D("1000.01")), credit(interest, D("10.32"))], "repay", MAR,
         "A repayment")
    reverse_entry(lent, reason="typed twice", idempotency_key="lend-reversed", actor=SETUP, now=NOW)
    db.session.commit()
    return {"funds": funds, "budget": budget, "cash": cash, "loan": loan, "interest": interest, "lent": lent}


@pytest.fixture
def people(make_user):
    return {
        "manager": make_user("manager@ledger.example.org", Role.PROGRAMME_MANAGER),
        "admin": make_user("admin@ledger.example.org", Role.FUND_ADMINISTRATOR),
        "applicant": make_user("applicant@ledger.example.org", Role.APPLICANT),
        "reviewer": make_user("reviewer@ledger.example.org", Role.REVIEWER),
        "auditor": make_user("auditor@ledger.example.org", Role.AUDITOR),
    }


ROUTES = ["/ledger", "/ledger/trial-balance.xlsx", "/ledger/entries.xlsx?date_from=2025-01-01&date_to=2025-12-31"]


# ------------------------------------------------------------------------------------------------ access


@pytest.mark.parametrize("url", ROUTES)
def test_anonymous_visitors_are_sent_to_the_login_page(client, url):
    response = client.get(url)
    assert response.status_code == 302
    assert "/login" in response.headers["Location"]


@pytest.mark.parametrize("url", ROUTES)
@pytest.mark.parametrize("role", ["applicant", "reviewer"])
def test_applicants_and_reviewers_may_not_read_the_ledger(client, login, people, posted, url, role):
    login(people[role])
    response = client.get(url)
    assert response.status_code == 403
    assert b"100,000.00" not in response.data


@pytest.mark.parametrize("url", ROUTES)
@pytest.mark.parametrize("role", ["manager", "admin", "auditor"])
def test_managers_and_fund_administrators_read_the_ledger(client, login, people, posted, url, role):
    login(people[role])
    response = client.get(url)
    assert response.status_code == 200
    if url.endswith(".xlsx") or ".xlsx?" in url:
        assert response.mimetype == "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
        assert load_workbook(io.BytesIO(response.data), read_only=True).sheetnames


# -------------------------------------------------------------------------------------------------- page


def _checked_page(client) -> str:
    """The ledger page after its button ran the checks (the page shows the latest stored run)."""
    answer = client.post("/ledger/checks")
    assert answer.status_code == 302 and answer.headers["Location"].endswith("/ledger#verdict")
    return client.get("/ledger").get_data(as_text=True)


def test_the_page_shows_the_trial_balance_balanced_and_both_checks_clean(client, login, people, posted):
    login(people["manager"])
    page = _checked_page(client)
    assert "Balanced" in page and "Not balanced" not in page
    # Totals: 100000 + 50000 + 12000.10 + 1010.33 + 12000.10 (the reversal) on each side.
    assert "EUR 175,010.53" in page
    for name in ("Programme budget, call no. 1", "Revolving fund cash, revolving fund no. 1",
                 "Loans receivable, loan no. 1"):
        assert name in page
    # People read the accounts' names, never their codes.
    for code in ("programme_budget:", "revolving_fund_cash:", "loans_receivable:", "interest_income:"):
        assert code not in page
    assert "The ledger check found nothing wrong" in page
    assert "Every derived balance equals the ledger" in page
    # The cash: 50000 - 12000.10 + 1010.33 + 12000.10 (reversal) = 51010.33
    assert "EUR 51,010.33" in page


def test_the_as_of_date_leaves_out_later_entries(client, login, people, posted):
    login(people["admin"])
    page = client.get("/ledger?as_of=2025-01-31").get_data(as_text=True)
    assert "EUR 150,000.00" in page  # the budget and the capitalisation only
    assert "12,000.10" not in page
    assert "on or before 31 Jan 2025" in page


@pytest.mark.parametrize("query, message", [
    ("as_of=01/31/2025", "Write the day before the month."),
    ("as_of=2025-02-30", "That day does not exist"),
    ("as_of=yesterday", "Write the day as day month year"),
])
def test_a_bad_as_of_date_is_an_error_on_the_page(client, login, people, posted, query, message):
    login(people["manager"])
    response = client.get(f"/ledger?{query}")
    assert response.status_code == 400
    page = response.get_data(as_text=True)
    assert message in page and "day month year, for example 6 Dec 2026" in page
    assert "Balanced" in page  # the page still shows the whole trial balance


@pytest.mark.parametrize("query, message", [
    ("date_from=2025-01-01&date_to=12.31.2025", "Write the day before the month."),
    ("date_from=&date_to=2025-12-31", "Give the first day of the period."),
    ("date_from=2025-01-01", "Give the last day of the period."),
    ("date_from=2025-12-31&date_to=2025-01-01", "ends (1 Jan 2025) before it starts (31 Dec 2025)"),
])
def test_a_bad_period_is_an_error_on_the_page_not_a_download(client, login, people, posted, query, message):
    login(people["admin"])
    response = client.get(f"/ledger/entries.xlsx?{query}")
    assert response.status_code == 400
    assert response.mimetype == "text/html"
    assert message in response.get_data(as_text=True)


def test_a_bad_as_of_on_the_trial_balance_download_is_an_error_on_the_page(client, login, people, posted):
    login(people["admin"])
    response = client.get("/ledger/trial-balance.xlsx?as_of=2025-13-01")
    assert response.status_code == 400 and response.mimetype == "text/html"
    assert "That day does not exist" in response.get_data(as_text=True)


def test_an_unbalanced_ledger_shows_on_the_page(client, login, people, posted):
    _break(posted)
    login(people["manager"])
    page = _checked_page(client)
    assert "Not balanced" in page
    assert "is unbalanced: debits 5.00, credits 0.00" in page


def test_the_page_shows_the_latest_stored_check_and_what_was_posted_since(client, login, people, posted, clock):
    from programme.ledger.checks import run_checks

    login(people["admin"])
    page = client.get("/ledger").get_data(as_text=True)
    assert "The checks of the whole ledger have not run yet" in page and "Run the checks now" in page
    clock(datetime(2025, 3, 1, 1, 0, tzinfo=UTC))
    run_checks(actor=SETUP, now=datetime(2025, 3, 1, 1, 0, tzinfo=UTC))  # the night's job
    db.session.commit()
    page = client.get("/ledger").get_data(as_text=True)
    assert "The ledger check found nothing wrong" in page and "run by system: test setup" in page
    assert "nothing was posted since" in page
    _break(posted)  # a broken entry posted after the night's run: the page says the verdict does not cover it
    page = client.get("/ledger").get_data(as_text=True)
    assert "1 entry was posted since" in page and "is unbalanced" not in page
    page = _checked_page(client)
    assert "is unbalanced: debits 5.00, credits 0.00" in page and "nothing was posted since" in page
    assert "run by admin" in page


def test_running_the_checks_is_audited_and_the_auditor_may_read_but_not_run_them(client, login, people, posted):
    from programme.core.audit import AuditEntry

    login(people["manager"])
    _checked_page(client)
    (entry,) = db.session.scalars(select(AuditEntry).where(AuditEntry.action == "ledger.checked")).all()
    assert entry.details_dict == {"ledger_problems": 0, "loan_problems": 0,
                                  "last_entry_id": entry.details_dict["last_entry_id"]}
    client.post("/logout")
    login(people["auditor"])
    page = client.get("/ledger").get_data(as_text=True)
    assert "The ledger check found nothing wrong" in page and "Run the checks now" not in page
    assert client.post("/ledger/checks").status_code == 403


def test_the_trial_balance_kept_per_version_shows_a_new_entry_at_the_next_request(client, login, people, posted):
    login(people["admin"])
    assert "EUR 175,010.53" in client.get("/ledger").get_data(as_text=True)
    assert "EUR 175,010.53" in client.get("/ledger").get_data(as_text=True)  # kept
    post_entry(lines=[debit(posted["cash"], D("5.00")), credit(posted["budget"], D("5.00"))],
               description="Five more", value_date=MAR, idempotency_key="five-more", actor=SETUP, now=NOW)
    db.session.commit()
    page = client.get("/ledger").get_data(as_text=True)
    assert "EUR 175,015.53" in page and "EUR 175,010.53" not in page


def _break(posted) -> None:
    """An entry with one line, written by raw SQL (the ORM would refuse it)."""
    entry_id = db.session.execute(text(
        "INSERT INTO journal_entries (posted_at, value_date, description, idempotency_key, actor_label) "
        "VALUES (:posted, :day, 'raw', 'raw-1', 'raw sql') RETURNING id"),
        {"posted": "2025-01-15 10:00:00", "day": "2025-01-15"}).scalar_one()
    db.session.execute(text("INSERT INTO journal_lines (entry_id, account_id, debit, credit) VALUES (:e, :a, 5, 0)"),
                       {"e": entry_id, "a": posted["cash"].id})
    db.session.commit()


# ----------------------------------------------------------------------------------------------- exports


def test_the_trial_balance_workbook_reads_back_exactly(posted):
    target = io.BytesIO()
    assert write_trial_balance(target) == 5
    book = load_workbook(io.BytesIO(target.getvalue()), read_only=True)
    assert book.sheetnames == ["Trial balance", "By kind"]
    rows = list(book["Trial balance"].iter_rows(values_only=True))
    assert rows[0] == ("Account", "Account code", "Kind", "Owner", "Owner id", "Currency", "Normal side", "Debits",
                       "Credits", "Balance")
    by_code = {row[1]: row for row in rows[1:]}
    cash = by_code["revolving_fund_cash:fund:1"]
    assert cash[0] == "Revolving fund cash, revolving fund no. 1"  # the people's name; the code beside it
    assert [as_decimal(v) for v in cash[7:10]] == [D("63010.43"), D("12000.10"), D("51010.33")]
    interest = by_code["interest_income:fund:1"]
    assert [as_decimal(v) for v in interest[7:10]] == [D("0"), D("10.32"), D("10.32")]
    assert by_code["programme_funds:programme"][0] == "Programme funds"
    total = rows[-1]
    assert total[0].startswith("Total EUR") and total[2] == "balanced"
    assert as_decimal(total[7]) == as_decimal(total[8]) == D("175010.53")
    kinds = list(book["By kind"].iter_rows(values_only=True))
    assert kinds[0] == ("Kind", "Currency", "Normal side", "Accounts", "Debits", "Credits", "Balance")
    # The loan: 12000.10 lent, 1000.01 repaid, the 12000.10 reversed.
    assert {row[0]: as_decimal(row[6]) for row in kinds[1:]}["Loans receivable"] == D("-1000.01")


def test_the_trial_balance_as_of_a_day(posted):
    target = io.BytesIO()
    write_trial_balance(target, as_of=JAN)
    rows = list(load_workbook(io.BytesIO(target.getvalue()), read_only=True)["Trial balance"]
                .iter_rows(values_only=True))
    by_code = {row[1]: row for row in rows[1:]}
    assert as_decimal(by_code["revolving_fund_cash:fund:1"][9]) == D("50000.00")
    assert as_decimal(by_code["loans_receivable:loan:1"][9]) == D("0")
    assert "2025-01-15" in rows[-1][0]


def test_the_ledger_workbook_has_every_entry_and_line_of_the_period_with_reversals_named(posted):
    target = io.BytesIO()
    assert write_ledger(target, date_from=FEB, date_to=date(2025, 12, 31)) == 3
    book = load_workbook(io.BytesIO(target.getvalue()), read_only=True)
    assert book.sheetnames == ["Entries", "Lines"]
    entries = list(book["Entries"].iter_rows(values_only=True))
    assert entries[0][:6] == ("Entry", "Value date", "Posted (UTC)", "Description", "Reverses entry",
                              "Reversed by entry")
    lent_id = posted["lent"].id
    by_id = {row[0]: row for row in entries[1:]}
    assert set(by_id) == {lent_id, lent_id + 1, lent_id + 2}
    lent, repay, reversal = by_id[lent_id], by_id[lent_id + 1], by_id[lent_id + 2]
    assert lent[3] == "Lend =SUM(A1)"  # text, never a formula
    assert lent[5] == reversal[0] and reversal[4] == lent_id
    assert reversal[3].startswith(f"Reversal of entry {lent_id}")
    assert as_decimal(repay[10]) == D("1010.33")
    # A row's empty cells at its end are not written: pad them back.
    lines = [row + (None,) * (9 - len(row)) for row in book["Lines"].iter_rows(values_only=True)]
    assert lines[0] == ("Entry", "Value date", "Line", "Account", "Account code", "Kind", "Currency", "Debit",
                        "Credit")
    body = lines[1:-1]
    assert len(body) == 7
    repay_lines = [row for row in body if row[0] == lent_id + 1]
    def amount(value: object) -> Decimal | None:
        return None if value is None else as_decimal(value)

    assert {row[4]: (amount(row[7]), amount(row[8])) for row in repay_lines} == {
        "revolving_fund_cash:fund:1": (D("1010.33"), None),
        "loans_receivable:loan:1": (None, D("1000.01")),
        "interest_income:fund:1": (None, D("10.32")),
    }
    assert {row[3] for row in repay_lines} == {"Revolving fund cash, revolving fund no. 1",
                                               "Loans receivable, loan no. 1", "Interest income, revolving fund no. 1"}
    total = lines[-1]
    assert total[5] == "balanced"
    assert as_decimal(total[7]) == as_decimal(total[8]) == D("25010.53")


def test_the_ledger_workbook_of_an_empty_period(posted):
    target = io.BytesIO()
    assert write_ledger(target, date_from=date(2030, 1, 1), date_to=date(2030, 12, 31)) == 0
    book = load_workbook(io.BytesIO(target.getvalue()), read_only=True)
    assert len(list(book["Entries"].iter_rows(values_only=True))) == 1
    assert len(list(book["Lines"].iter_rows(values_only=True))) == 1


# ------------------------------------------------------------------------------------------------ commands


def test_ledger_check_passes_on_a_good_ledger(runner, posted):
    result = runner.invoke(args=["ledger", "check"])
    assert result.exit_code == 0, result.output
    assert "Total EUR: debits 175,010.53, credits 175,010.53: balanced." in result.output
    assert "Ledger: ok" in result.output and "Derived balances: ok" in result.output


def test_ledger_check_passes_on_an_empty_ledger(runner, app):
    result = runner.invoke(args=["ledger", "check"])
    assert result.exit_code == 0, result.output
    assert "Nothing is posted yet" in result.output


def test_ledger_check_fails_with_every_problem_named(runner, posted):
    _break(posted)
    result = runner.invoke(args=["ledger", "check"])
    assert result.exit_code == 1
    assert "NOT BALANCED" in result.output
    assert "is unbalanced: debits 5.00, credits 0.00" in result.output
    assert "has 1 line(s)" in result.output
    assert "FAILED" in result.output


def test_ledger_trial_balance_prints_kinds_and_totals(runner, posted):
    result = runner.invoke(args=["ledger", "trial-balance", "--as-of", "2025-01-31", "--accounts"])
    assert result.exit_code == 0, result.output
    assert "as of 2025-01-31" in result.output
    assert "Revolving fund cash" in result.output and "50,000.00" in result.output
    assert "revolving_fund_cash:fund:1" in result.output
    assert "Total EUR: debits 150,000.00, credits 150,000.00: balanced." in result.output


def test_ledger_trial_balance_refuses_a_bad_date(runner, app):
    result = runner.invoke(args=["ledger", "trial-balance", "--as-of", "31/01/2025"])
    assert result.exit_code == 2
    assert "--as-of" in result.output


def test_ledger_check_on_real_loans_then_a_derived_balance_broken(runner, client, login, people):
    from tests.loans.world import loan_world

    w = loan_world()
    db.session.commit()
    result = runner.invoke(args=["ledger", "check"])
    assert result.exit_code == 0, result.output
    assert "Derived balances: ok" in result.output
    # A cached figure that no longer equals the ledger (raw SQL: no service would write it).
    db.session.execute(text("UPDATE loans SET credit = 1.00 WHERE id = :id"), {"id": w.loan.id})
    db.session.commit()
    db.session.expire_all()
    result = runner.invoke(args=["ledger", "check"])
    assert result.exit_code == 1
    assert "Derived balances: 1 problem(s)" in result.output and w.loan.number in result.output
    assert "Ledger: ok" in result.output
    login(people["manager"])
    page = _checked_page(client)
    assert "differ from the ledger" in page and w.loan.number in page
