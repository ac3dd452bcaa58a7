"""The dashboard's workbook has the mutual guarantees (issue 18): per currency what active guarantees cover now, the
calls, what was called, collected, written off and is still owed, the same figures as the dashboard's page, as exact
money cells; written in the reader's language (Spanish here), through the dashboard's own export route too."""

from __future__ import annotations

import io
from decimal import Decimal

from flask_babel import refresh
from openpyxl import load_workbook

from programme.dashboard import export
from programme.dashboard.figures import programme_figures
from programme.extensions import db
from programme.loans.services import guarantee_collections, guarantees
from tests.languages import ENGLISH, SPANISH
from tests.loans.guarantee_world import BEFORE, DEFAULTED, guarantee_world
from tests.loans.world import loan_world, loginable_loan_world

D = Decimal


def _a_called_guarantee() -> None:
    """A loan guaranteed in full and its guarantees called (12,000.00), 2,000.00 collected from one guarantor."""
    g = guarantee_world()
    call = g.call()
    guarantee_collections.record_collection(call.obligations[0], amount=D("2000.00"), value_date=DEFAULTED.date(),
                                            bank_reference="GUA-DASH-1", actor=g.w.admin, now=DEFAULTED,
                                            timezone="UTC")


def _rows(book, sheet: str) -> list[tuple]:
    return [tuple(row) for row in book[sheet].iter_rows(values_only=True)]


def test_the_guarantees_sheet_has_the_dashboards_figures(app):
    _a_called_guarantee()
    with app.test_request_context("/", headers=ENGLISH):
        refresh()
        figures = programme_figures(today=DEFAULTED.date(), timezone="UTC")
        target = io.BytesIO()
        export.write_dashboard(target, figures)
    (shown,) = figures.guarantees
    assert (shown.called, shown.collected, shown.owed, shown.calls) == (D("12000.00"), D("2000.00"),
                                                                        D("10000.00"), 1)
    book = load_workbook(io.BytesIO(target.getvalue()))
    assert export.GUARANTEES_SHEET in book.sheetnames
    heading, *rows = _rows(book, export.GUARANTEES_SHEET)
    assert heading == ("Currency", "Covered now", "Calls", "Called", "Collected", "Written off", "Still owed")
    assert [(r[0], D(str(r[1])), r[2], D(str(r[3])), D(str(r[4])), D(str(r[5])), D(str(r[6]))) for r in rows] == [
        (g.currency, g.guaranteed, g.calls, g.called, g.collected, g.written_off, g.owed) for g in figures.guarantees]
    assert book[export.GUARANTEES_SHEET]["D2"].number_format != "General"  # money, never a bare float


def test_the_guarantees_sheet_in_spanish(app):
    _a_called_guarantee()
    with app.test_request_context("/", headers=SPANISH):
        refresh()
        figures = programme_figures(today=DEFAULTED.date(), timezone="UTC")
        target = io.BytesIO()
        export.write_dashboard(target, figures)
    book = load_workbook(io.BytesIO(target.getvalue()))
    assert "Garantías mutuas" in book.sheetnames
    heading, row = _rows(book, "Garantías mutuas")
    assert heading == ("Moneda", "Cubierto ahora", "Ejecuciones", "Ejecutado", "Cobrado", "Castigado",
                       "Aún adeudado")
    assert row[0] == "EUR" and D(str(row[3])) == D("12000.00") and D(str(row[6])) == D("10000.00")


def test_the_dashboard_route_writes_the_guarantees(client, login, clock):
    w = loginable_loan_world()
    member = [o for o in w.members() if o.id != w.borrower.id][0]
    guarantees.add_guarantee(w.loan, guarantor_id=member.id, amount=D("2500.00"), actor=w.admin, now=BEFORE,
                             timezone="UTC")
    db.session.commit()
    clock(BEFORE)
    login(w.manager.email)
    page = client.get("/dashboard")
    assert page.status_code == 200 and "Mutual guarantees by member organisations" in page.get_data(as_text=True)
    response = client.get("/dashboard.xlsx")
    assert response.status_code == 200
    book = load_workbook(io.BytesIO(response.data))
    _heading, row = _rows(book, export.GUARANTEES_SHEET)
    assert row[0] == "EUR" and D(str(row[1])) == D("2500.00") and row[2] == 0 and D(str(row[3])) == D("0.00")


def test_no_guarantee_no_row(app):
    loan_world()
    with app.test_request_context("/", headers=ENGLISH):
        refresh()
        target = io.BytesIO()
        export.write_dashboard(target, programme_figures(today=DEFAULTED.date(), timezone="UTC"))
    book = load_workbook(io.BytesIO(target.getvalue()))
    assert _rows(book, export.GUARANTEES_SHEET) == [
        ("Currency", "Covered now", "Calls", "Called", "Collected", "Written off", "Still owed")]
