"""Issue 19, the ledger and the audit log: their exports' sheets and headings, the account kinds and names, and the
filter forms' errors are in the reader's language; what is recorded (codes, descriptions, audit actions) is not
translated; English reads as it always did."""

from __future__ import annotations

import io
from datetime import date
from decimal import Decimal

from openpyxl import load_workbook

from programme.core.access import Role
from programme.extensions import db
from programme.ledger.models import AccountKind, Side
from programme.ledger.posting import credit, debit, get_or_create_account, post_entry
from tests.conftest import SETUP
from tests.languages import PORTUGUESE, SPANISH, speaking, text_of


def _budget_a_call() -> None:
    funds = get_or_create_account(AccountKind.PROGRAMME_FUNDS, "programme", None, "EUR")
    budget = get_or_create_account(AccountKind.PROGRAMME_BUDGET, "call", 1, "EUR")
    post_entry(lines=[debit(budget, Decimal("100.00")), credit(funds, Decimal("100.00"))], description="Budget",
               value_date=date(2025, 1, 15), idempotency_key="budget", actor=SETUP)
    db.session.commit()


def test_the_trial_balance_export_is_in_spanish(client, make_user, login):
    _budget_a_call()
    login(make_user("auditor@example.org", Role.AUDITOR))

    response = client.get("/ledger/trial-balance.xlsx", headers=SPANISH)

    book = load_workbook(io.BytesIO(response.data), read_only=True)
    assert book.sheetnames == ["Balance de comprobación", "Por tipo"]
    rows = list(book["Balance de comprobación"].iter_rows(values_only=True))
    assert rows[0][:7] == ("Cuenta", "Código de cuenta", "Tipo", "Titular", "Id del titular", "Moneda", "Lado normal")
    kinds = {row[2] for row in rows[1:3]}
    assert kinds == {"Fondos del programa", "Presupuesto del programa"}
    assert {row[1] for row in rows[1:3]} == {"programme_funds:programme", "programme_budget:call:1"}  # codes stay
    assert {row[6] for row in rows[1:3]} == {"débito", "crédito"}
    assert rows[3][0].startswith("Total EUR (a la fecha: hoy, todos los asientos)") and rows[3][2] == "balanceado"


def test_the_entries_export_is_in_portuguese_with_its_records_as_written(client, make_user, login):
    _budget_a_call()
    login(make_user("admin@example.org", Role.FUND_ADMINISTRATOR))

    response = client.get("/ledger/entries.xlsx?date_from=2025-01-01&date_to=2025-12-31", headers=PORTUGUESE)

    book = load_workbook(io.BytesIO(response.data), read_only=True)
    assert book.sheetnames == ["Lançamentos", "Linhas"]
    entries = list(book["Lançamentos"].iter_rows(values_only=True))
    assert entries[0][:4] == ("Lançamento", "Data-valor", "Lançado (UTC)", "Descrição")
    assert entries[1][3] == "Budget"  # the description, as recorded
    lines = list(book["Linhas"].iter_rows(values_only=True))
    # no call 1 is stored: its account is named by the owner's type and number
    assert {line[3] for line in lines[1:3]} == {"Recursos do programa", "Orçamento do programa, chamada nº 1"}
    assert lines[-1][3] == "Total EUR, de 2025-01-01 a 2025-12-31" and lines[-1][5] == "balanceado"


def test_a_period_the_wrong_way_round_is_refused_in_spanish(client, make_user, login):
    login(make_user("manager@example.org", Role.PROGRAMME_MANAGER))

    response = client.get("/ledger/entries.xlsx?date_from=2025-02-01&date_to=2025-01-01", headers=SPANISH)

    assert response.status_code == 400
    assert "El período termina (" in text_of(response)


def test_the_audit_log_export_is_in_spanish(client, make_user, login):
    login(make_user("auditor@example.org", Role.AUDITOR))

    response = client.get("/audit.xlsx", headers=SPANISH)

    book = load_workbook(io.BytesIO(response.data), read_only=True)
    assert book.sheetnames == ["Registro de auditoría"]
    headings = next(book["Registro de auditoría"].iter_rows(values_only=True))
    assert headings[0] == "Entrada" and headings[1].startswith("Cuándo (")
    assert headings[4:7] == ("Acción", "Tipo de objeto", "Id del objeto")


def test_the_kinds_and_sides_read_in_english_as_before(app):
    assert AccountKind.COFINANCING_RECEIVED.label == "Co-financing received"
    assert AccountKind.GUARANTEE_WRITE_OFFS.label == "Guarantee write offs"
    assert [side.label for side in Side] == ["debit", "credit"]


def test_the_ledger_page_names_its_accounts_and_says_what_the_checks_found_in_spanish(client, make_user, login):
    _budget_a_call()
    login(speaking(make_user("manager@example.org", Role.PROGRAMME_MANAGER), "es"))

    page = text_of(client.get("/ledger"))
    assert "Fondos del programa" in page
    assert "Presupuesto del programa, convocatoria n.º 1" in page  # no call 1 is stored: named by type and number

    checked = client.post("/ledger/checks", follow_redirects=True)
    assert "Los controles no encontraron ningún problema." in text_of(checked)
