"""The audit log page and its Excel export: who reads them, each filter (object, person, action exact and by
prefix, period in the programme's zone), paging newest first, the link to the object's page, the export read back
with openpyxl (the filter applied, the details as text, never a formula), and ids or filters typed by hand."""

from __future__ import annotations

import io
import json
import re
from datetime import UTC, datetime, timedelta

import pytest
from openpyxl import load_workbook
from sqlalchemy import select

from programme.audit import services
from programme.audit.services import AuditFilter
from programme.core import audit
from programme.core.access import AccessDenied, Role, SystemActor
from programme.core.audit import AuditEntry
from programme.extensions import db

ZONE = "Europe/Berlin"
#: 2025-03-01 23:30 UTC is 2 March 00:30 in Berlin: the local day decides the period.
LATE_EVENING = datetime(2025, 3, 1, 23, 30, tzinfo=UTC)
HOSTILE = '=HYPERLINK("http://x","y")'


@pytest.fixture
def app_config() -> dict:
    return {"PROGRAMME_TIMEZONE": ZONE}


class Thing:
    """Stands for an audited object: ``record`` names it by its class and id."""

    def __init__(self, kind: str, id: int) -> None:
        self.__class__ = type(kind, (Thing,), {})
        self.id = id


def entry(actor, action: str, obj=None, at: datetime = LATE_EVENING, **details):
    made = audit.record(db.session, actor, action, obj, **details)
    made.at = at
    db.session.flush()
    return made


@pytest.fixture
def people(make_user):
    return {
        "manager": make_user("manager@audit.example.org", Role.PROGRAMME_MANAGER, name="Mpho Manager"),
        "auditor": make_user("auditor@audit.example.org", Role.AUDITOR, name="Ada Auditor"),
        "admin": make_user("admin@audit.example.org", Role.FUND_ADMINISTRATOR, name="Pieter Funds"),
        "applicant": make_user("applicant@audit.example.org", Role.APPLICANT, name="Lea Lead"),
        "reviewer": make_user("reviewer@audit.example.org", Role.REVIEWER, name="Rui Reviewer"),
    }


@pytest.fixture
def log(people):
    """A small log: the fund administrator's loan actions, the manager's call actions, the system's daily run."""
    admin, manager = people["admin"], people["manager"]
    made = {
        "loan_made": entry(admin, "loans.loan_made", Thing("Loan", 7), at=LATE_EVENING, principal="5000.00"),
        "repaid": entry(admin, "loans.repayment_recorded", Thing("Loan", 7), at=LATE_EVENING + timedelta(days=1),
                        amount="100.00"),
        "other_loan": entry(admin, "loans.loan_made", Thing("Loan", 8), at=LATE_EVENING - timedelta(hours=1)),
        "call": entry(manager, "call.opened", Thing("Call", 3), at=LATE_EVENING + timedelta(days=2),
                      reason=HOSTILE),
        "daily": entry(SystemActor("scheduler"), "loans.daily_run", None, at=LATE_EVENING + timedelta(days=3)),
        "loansx": entry(admin, "loansx.other", Thing("Loan", 7), at=LATE_EVENING + timedelta(days=4)),
    }
    db.session.commit()
    return {key: value.id for key, value in made.items()}


def shown(page: str, among: dict[str, int] | None = None) -> list[int]:
    """The ids of the entries on a page, in the order shown (only those of ``among`` if given: creating and logging
    in the people writes entries too)."""
    ids = [int(n) for n in re.findall(r'<tr id="entry-(\d+)"', page)]
    return ids if among is None else [i for i in ids if i in among.values()]


# ------------------------------------------------------------------------------------------------ access


@pytest.mark.parametrize("url", ["/audit", "/audit.xlsx", "/audit?action=loans."])
def test_anonymous_visitors_are_sent_to_the_login_page(client, url):
    response = client.get(url)
    assert response.status_code == 302 and "/login" in response.headers["Location"]


@pytest.mark.parametrize("url", ["/audit", "/audit.xlsx", "/audit?object_type=Loan&object_id=7"])
@pytest.mark.parametrize(("role", "status"), [("manager", 200), ("auditor", 200), ("admin", 403),
                                              ("applicant", 403), ("reviewer", 403)])
def test_managers_and_auditors_read_the_log_and_no_one_else(client, login, people, log, url, role, status):
    login(people[role])
    response = client.get(url)
    assert response.status_code == status
    if status == 403:
        assert b"loans.loan_made" not in response.data


def test_the_service_refuses_anyone_but_managers_and_auditors(app, people, log):
    with pytest.raises(AccessDenied):
        services.audit_page(AuditFilter(), page=1, actor=people["admin"], timezone=ZONE)
    with pytest.raises(AccessDenied):
        list(services.audit_rows(AuditFilter(), actor=people["applicant"], timezone=ZONE))


def test_the_nav_shows_the_audit_log_to_managers_and_auditors_only(client, login, people):
    for role, shown_to in (("auditor", True), ("manager", True), ("admin", False), ("applicant", False)):
        login(people[role])
        assert ('href="/audit"' in client.get("/").get_data(as_text=True)) is shown_to, role
        client.post("/logout")


# ------------------------------------------------------------------------------------------------ filters


def test_every_entry_newest_first_without_a_filter(client, login, people, log):
    login(people["auditor"])
    ids = shown(client.get("/audit").get_data(as_text=True), log)
    assert ids == [log["loansx"], log["daily"], log["call"], log["repaid"], log["loan_made"], log["other_loan"]]


def test_filter_by_object(client, login, people, log):
    login(people["auditor"])
    page = client.get("/audit?object_type=Loan&object_id=7").get_data(as_text=True)
    assert shown(page) == [log["loansx"], log["repaid"], log["loan_made"]]
    assert shown(client.get("/audit?object_type=Loan").get_data(as_text=True)) == [
        log["loansx"], log["repaid"], log["loan_made"], log["other_loan"]]
    assert shown(client.get("/audit?object_type=Call&object_id=7").get_data(as_text=True)) == []


def test_filter_by_person(client, login, people, log):
    login(people["manager"])
    by_address = shown(client.get("/audit?person=ADMIN@audit.example.org").get_data(as_text=True))
    assert by_address == [log["loansx"], log["repaid"], log["loan_made"], log["other_loan"]]
    by_name = shown(client.get("/audit?person=mpho").get_data(as_text=True))
    assert log["call"] in by_name and log["repaid"] not in by_name
    by_system = shown(client.get("/audit?person=system").get_data(as_text=True))
    assert log["daily"] in by_system and shown(client.get("/audit?person=system").get_data(as_text=True), log) == [
        log["daily"]]
    assert all(e.actor_id is None for e in db.session.scalars(select(AuditEntry).where(AuditEntry.id.in_(by_system))))
    assert shown(client.get("/audit?person=nobody-at-all").get_data(as_text=True)) == []
    # a LIKE wildcard typed in is a character, not "anything"
    assert shown(client.get("/audit?person=%25").get_data(as_text=True)) == []


def test_filter_by_action_exact_and_by_prefix(client, login, people, log):
    login(people["auditor"])
    assert shown(client.get("/audit?action=loans.loan_made").get_data(as_text=True)) == [
        log["loan_made"], log["other_loan"]]
    every_loans = [log["daily"], log["repaid"], log["loan_made"], log["other_loan"]]
    assert shown(client.get("/audit?action=loans.").get_data(as_text=True)) == every_loans
    assert shown(client.get("/audit?action=loans*").get_data(as_text=True)) == every_loans  # never loansx.
    assert shown(client.get("/audit?action=loans").get_data(as_text=True)) == []  # exact: no such action


def test_filter_by_period_in_the_programme_zone(client, login, people, log):
    """23:30 UTC on 1 March is 00:30 on 2 March in Berlin: that entry is on the 2nd; the one an hour earlier
    (23:30 in Berlin) on the 1st."""
    login(people["auditor"])
    on_the_2nd = shown(client.get("/audit?date_from=2025-03-02&date_to=2025-03-02").get_data(as_text=True))
    assert on_the_2nd == [log["loan_made"]]
    assert shown(client.get("/audit?date_to=2025-03-01").get_data(as_text=True), log) == [log["other_loan"]]
    # the daily run at 23:30 UTC on 4 March is on the 5th in Berlin
    assert shown(client.get("/audit?date_from=2025-03-05").get_data(as_text=True), log) == [log["loansx"], log["daily"]]


def test_filters_combine(client, login, people, log):
    login(people["auditor"])
    url = "/audit?object_type=Loan&object_id=7&action=loans.&person=admin@audit.example.org&date_from=2025-03-03"
    assert shown(client.get(url).get_data(as_text=True)) == [log["repaid"]]


def test_a_bad_filter_is_refused_beside_its_field_not_a_500(client, login, people, log):
    login(people["auditor"])
    for query in ("object_id=99999999999999999999", "object_id=abc", "object_id=-3", "date_from=2025-13-01",
                  "date_from=2025-03-05&date_to=2025-03-01", "person=a%00b", "date_from=0001-01-01"):
        response = client.get(f"/audit?{query}")
        assert response.status_code == 400, query
        assert 'class="error"' in response.get_data(as_text=True), query
        assert client.get(f"/audit.xlsx?{query}").status_code == 400, query


# ------------------------------------------------------------------------------------------------ paging


def test_paging_newest_first(client, login, people):
    base = datetime(2025, 6, 1, 8, 0, tzinfo=UTC)
    made = [entry(people["admin"], "loans.repayment_recorded", Thing("Loan", 1), at=base + timedelta(minutes=i)).id
            for i in range(services.PER_PAGE * 2 + 5)]
    db.session.commit()
    newest_first = made[::-1]
    login(people["auditor"])
    first = client.get("/audit?action=loans.repayment_recorded").get_data(as_text=True)
    assert shown(first) == newest_first[:services.PER_PAGE]
    assert "page 1 of 3" in first and "older →" in first
    second = client.get("/audit?action=loans.repayment_recorded&page=2").get_data(as_text=True)
    assert shown(second) == newest_first[services.PER_PAGE:services.PER_PAGE * 2]
    # the pager keeps the filter
    assert "action=loans.repayment_recorded" in second and "page=3" in second
    last = client.get("/audit?action=loans.repayment_recorded&page=3").get_data(as_text=True)
    assert shown(last) == newest_first[services.PER_PAGE * 2:]
    # a page typed by hand: past the end shows the last; not a number, the first
    assert shown(client.get("/audit?action=loans.repayment_recorded&page=999").get_data(as_text=True)) == \
        newest_first[services.PER_PAGE * 2:]
    assert shown(client.get("/audit?action=loans.repayment_recorded&page=x").get_data(as_text=True)) == \
        newest_first[:services.PER_PAGE]
    assert client.get("/audit?page=99999999999999999999").status_code == 200


# ------------------------------------------------------------------------------------------------ links


def test_each_row_links_to_its_objects_page_where_it_has_one(client, login, people, log, make_user):
    user = people["applicant"]
    account = entry(people["manager"], "user.roles_changed", user, at=LATE_EVENING + timedelta(days=9))
    disbursement = entry(people["admin"], "funding.disbursement_paid", Thing("Disbursement", 4),
                         at=LATE_EVENING + timedelta(days=8))
    db.session.commit()
    login(people["auditor"])
    page = client.get("/audit").get_data(as_text=True)
    assert '<a href="/loans/7">Loan 7</a>' in page
    assert '<a href="/calls/3">Call 3</a>' in page
    assert "Disbursement 4" in page and 'href="/disbursements/4"' not in page  # no page of its own: no link
    # a user's page is the managers': the auditor sees no link to it, the manager does
    assert f"User {user.id}" in page and f'href="/manage/users/{user.id}"' not in page
    client.post("/logout")
    login(people["manager"])
    page = client.get("/audit").get_data(as_text=True)
    assert f'<a href="/manage/users/{user.id}">User {user.id}</a>' in page
    assert account.id and disbursement.id


def test_an_object_id_typed_by_hand(client, login, people, log):
    """Any id may be typed: one with no entry shows none; the page never tells a non-reader anything."""
    login(people["auditor"])
    page = client.get("/audit?object_type=Loan&object_id=2147483647").get_data(as_text=True)
    assert shown(page) == [] and "No entry matches" in page
    client.post("/logout")
    login(people["applicant"])
    response = client.get("/audit?object_type=Loan&object_id=7")
    assert response.status_code == 403 and b"loans.loan_made" not in response.data


# ------------------------------------------------------------------------------------------------ export


def read_back(data: bytes):
    book = load_workbook(io.BytesIO(data))
    sheet = book["Audit log"]
    return [[cell for cell in row] for row in sheet.iter_rows()]


def test_the_export_holds_the_filtered_log_as_text(client, login, people, log):
    login(people["auditor"])
    response = client.get("/audit.xlsx?action=loans.&person=admin@audit.example.org")
    assert response.status_code == 200
    assert response.mimetype == "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    rows = read_back(response.data)
    header, body = [c.value for c in rows[0]], rows[1:]
    assert header == ["Entry", f"When ({ZONE})", "Person", "Account", "Action", "Object type", "Object id",
                      "Details"]
    assert [row[0].value for row in body] == [log["repaid"], log["loan_made"], log["other_loan"]]
    first = {h: c.value for h, c in zip(header, body[1], strict=True)}
    assert first["Person"] == "Pieter Funds" and first["Account"] == "admin@audit.example.org"
    assert first["Action"] == "loans.loan_made" and first["Object type"] == "Loan" and first["Object id"] == 7
    assert first[f"When ({ZONE})"] == datetime(2025, 3, 2, 0, 30)  # in the programme's zone
    assert json.loads(first["Details"]) == {"principal": "5000.00"}
    assert all(cell.data_type != "f" for row in rows for cell in row)


def test_the_export_writes_hostile_text_as_typed(client, login, people, log, make_user):
    hostile = make_user("hostile@audit.example.org", Role.FUND_ADMINISTRATOR, name='=HYPERLINK("http://x","y")')
    entry(hostile, "loans.loan_written_off", Thing("Loan", 7), at=LATE_EVENING + timedelta(days=20),
          reason="@SUM(A1)")
    db.session.commit()
    login(people["manager"])
    rows = read_back(client.get("/audit.xlsx?person=hostile@audit.example.org").data)
    assert len(rows) == 2
    cells = {cell.value: cell for cell in rows[1]}
    assert '=HYPERLINK("http://x","y")' in cells
    assert cells['=HYPERLINK("http://x","y")'].data_type == "s"
    assert json.loads(rows[1][7].value) == {"reason": "@SUM(A1)"}
    unfiltered = read_back(client.get("/audit.xlsx").data)
    assert len(unfiltered) >= 1 + 7
    assert all(cell.data_type != "f" for row in unfiltered for cell in row)
