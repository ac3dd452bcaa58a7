"""The KPI-matrix export (initiative × KPI × period) read back with openpyxl: every value row, exact numbers,
draft and submitted reports, the download's access per role."""

from __future__ import annotations

import io
from datetime import date, datetime
from decimal import Decimal
from typing import Any

import pytest
from openpyxl import load_workbook

from programme.core.access import AccessDenied, Role
from programme.extensions import db
from programme.monitoring.export import HEADERS, SHEET, write_kpi_matrix
from programme.monitoring.models import Direction
from tests.monitoring.test_benchmarking import add_kpi, add_report, make_initiative
from tests.proposals.builders import make_call
from tests.reviews.world import user

D = Decimal


def dec(value: Any) -> Decimal | None:
    return None if value is None else Decimal(str(value))


def day(value: Any) -> date:
    return value.date() if isinstance(value, datetime) else value


@pytest.fixture
def world(app):
    call = make_call()
    a, b = make_initiative(call, 1), make_initiative(call, 2)
    add_kpi(a, "firms", "1.5", "12.25")
    add_kpi(a, "waste", "100", "40.0001", Direction.LOWER)
    add_kpi(b, "firms", "0", "3")
    add_report(a, 1, {"firms": "2.0001", "waste": "99.9999"})
    add_report(a, 2, {"firms": "1234567890.1234", "waste": None}, submitted=False)
    add_report(b, 1, {"firms": "-0.0001"})
    people = {"manager": user("pm@programme.example.org", Role.PROGRAMME_MANAGER),
              "admin": user("admin@programme.example.org", Role.FUND_ADMINISTRATOR),
              "reviewer": user("rev@programme.example.org", Role.REVIEWER), "applicant": a.lead}
    db.session.commit()
    return call, people


def read(data: bytes) -> list[tuple]:
    book = load_workbook(io.BytesIO(data), read_only=True)
    return [tuple(row) for row in book[SHEET].iter_rows(values_only=True)]


def test_the_matrix_has_every_value_exactly(world):
    call, people = world
    handle = io.BytesIO()
    assert write_kpi_matrix(handle, actor=people["admin"]) == 5
    rows = read(handle.getvalue())
    assert rows[0] == HEADERS
    got = [(r[0], r[1], r[2], r[3], r[4], r[5], r[6], r[7], r[8], dec(r[9]), dec(r[10]), r[11], day(r[12]),
            day(r[13]), dec(r[14]), r[15]) for r in rows[1:]]
    ref = call.reference
    assert got == [
        ("INI-001", "Cluster initiative 1", ref, "Market", "Exports", "firms", "Firms", "firms", "Higher is better",
         D("1.5"), D("12.25"), 1, date(2027, 1, 1), date(2027, 6, 30), D("2.0001"), "Submitted"),
        ("INI-001", "Cluster initiative 1", ref, "Market", "Exports", "firms", "Firms", "firms", "Higher is better",
         D("1.5"), D("12.25"), 2, date(2027, 7, 1), date(2027, 12, 31), D("1234567890.1234"), "Draft"),
        ("INI-001", "Cluster initiative 1", ref, "Market", "Exports", "waste", "Waste", "firms", "Lower is better",
         D("100"), D("40.0001"), 1, date(2027, 1, 1), date(2027, 6, 30), D("99.9999"), "Submitted"),
        ("INI-001", "Cluster initiative 1", ref, "Market", "Exports", "waste", "Waste", "firms", "Lower is better",
         D("100"), D("40.0001"), 2, date(2027, 7, 1), date(2027, 12, 31), None, "Draft"),
        ("INI-002", "Cluster initiative 2", ref, "Market", "Exports", "firms", "Firms", "firms", "Higher is better",
         D("0"), D("3"), 1, date(2027, 1, 1), date(2027, 6, 30), D("-0.0001"), "Submitted"),
    ]


@pytest.mark.parametrize("who", ["reviewer", "applicant"])
def test_only_managers_and_fund_administrators_export(world, who):
    _, people = world
    with pytest.raises(AccessDenied):
        write_kpi_matrix(io.BytesIO(), actor=people[who])


@pytest.mark.parametrize("who, status", [("manager", 200), ("admin", 200), ("reviewer", 403), ("applicant", 403)])
def test_the_download(world, client, login, who, status):
    _, people = world
    login(people[who])
    response = client.get("/kpi-matrix.xlsx")
    assert response.status_code == status
    if status == 200:
        assert response.mimetype.endswith("spreadsheetml.sheet")
        assert len(read(response.data)) == 6


def test_a_kpi_name_or_initiative_name_is_never_a_formula(app):
    call = make_call()
    made = make_initiative(call, 3)
    made.initiative.name = "=1+1"
    add_kpi(made, "firms", "1", "2", name='=HYPERLINK("http://x","y")')
    add_report(made, 1, {"firms": "1.5"})
    admin = user("admin@programme.example.org", Role.FUND_ADMINISTRATOR)
    db.session.commit()
    handle = io.BytesIO()
    assert write_kpi_matrix(handle, actor=admin) == 1
    sheet = load_workbook(io.BytesIO(handle.getvalue()))[SHEET]
    assert all(cell.data_type != "f" for row in sheet.iter_rows() for cell in row)
    row = [cell.value for cell in sheet[2]]
    assert (row[1], row[6]) == ("=1+1", '=HYPERLINK("http://x","y")')
