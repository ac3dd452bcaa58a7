"""The loans' texts written in Python, seen through the real pages in the language the browser asks for
(issue 19): a service's refusal shown beside its field, and a label the loan page takes from Python (the loan's
status, the amount hint of the repayment form, an instalment's status). English stays as it was."""

from __future__ import annotations

import pytest

from tests.languages import ENGLISH, SPANISH, words_of
from tests.loans.world import NOW, LoanWorld, loan_world
from tests.worlds import Kept, keep, reload


@pytest.fixture(autouse=True)
def frozen(clock):
    clock(NOW)


@pytest.fixture(scope="module")
def loan_world_once(built_once) -> Kept:
    with built_once():
        world = loan_world()
        world.admin.email = world.admin.email.replace(".test", ".example.org")
        return keep(world)


@pytest.fixture
def w(app, loan_world_once: Kept) -> LoanWorld:
    return reload(loan_world_once)


def test_a_refusal_of_the_loans_services_is_in_the_language_asked_for(client, login, w):
    login(w.admin.email)
    before_paid_out = {"amount": "100,00", "value_date": "2027-07-01", "bank_reference": "EARLY-1"}
    page = client.post(f"/loans/{w.loan.id}/repayments", data=before_paid_out, headers=SPANISH)
    assert page.status_code == 200
    assert f"La fecha valor 1 jul 2027 es anterior al desembolso de {w.loan.number} el 15 jul 2027." in words_of(page)
    assert "is before" not in words_of(page)
    page = client.post(f"/loans/{w.loan.id}/repayments", data={**before_paid_out, "amount": "100.00"},
                       headers=ENGLISH)
    assert f"The value date 1 Jul 2027 is before {w.loan.number} was paid out on 15 Jul 2027." in words_of(page)


def test_the_loan_page_shows_its_python_written_labels_in_the_language_asked_for(client, login, w):
    login(w.admin.email)
    spanish = words_of(client.get(f"/loans/{w.loan.id}", headers=SPANISH))
    assert "Activo" in spanish  # the loan's status
    assert "Con coma antes de los centavos: 10000,00 o 10.000,00." in spanish  # the repayment form's amount hint
    assert "por vencer" in spanish or "vencida" in spanish  # an instalment's status
    assert "With a point before the cents" not in spanish
    english = words_of(client.get(f"/loans/{w.loan.id}", headers=ENGLISH))
    assert "Active" in english and "With a point before the cents: 10000.00 or 10,000.00." in english


def test_a_reminder_is_written_in_its_reader_s_language(app):
    """The daily job's reminder is written once per language of its readers (``speaking_to``)."""
    from datetime import date
    from decimal import Decimal
    from types import SimpleNamespace

    from programme.core.i18n import speaking_to
    from programme.loans.services.arrears import _reminder_text

    rows = [(1, 3, date(2033, 1, 5), 0, Decimal("1234.50"))]
    with speaking_to(SimpleNamespace(language="es")):
        subject, body = _reminder_text("L-000001", "EUR", rows, date(2033, 1, 1))
    assert subject == "Préstamo L-000001: un reembolso vence pronto"
    assert "- la cuota 3 de EUR 1.234,50 vence el 5 ene 2033 (en 4 día(s))" in body
    with speaking_to(SimpleNamespace(language="en")):
        subject, body = _reminder_text("L-000001", "EUR", rows, date(2033, 1, 1))
    assert subject == "Loan L-000001: a repayment is due soon"
    assert "- instalment 3 of EUR 1,234.50 is due on 5 Jan 2033 (in 4 day(s))" in body


@pytest.mark.parametrize(("language", "query", "lending", "default"), [
    ("es", "new_lending=1000.00&default_rate=2.5", "1000.00", "2.5"),   # an English reader's link, opened in Spanish
    ("en", "new_lending=1000,00&default_rate=2,5", "1000.00", "2.5"),   # a Spanish reader's link, opened in English
    ("es", "new_lending=1.000&default_rate=2,5", "1000", "2.5"),        # thousands: the language's way
    ("en", "new_lending=1,000&default_rate=2.5", "1000", "2.5"),
])
def test_a_scenario_link_reads_the_same_in_every_language(app, language, query, lending, default):
    """A foresight scenario is a link: a value whose mark can only be a decimal one (one or two digits after it)
    reads the same whatever the reader's language; a thousands separator is read in the language's way."""
    from decimal import Decimal

    from flask_babel import refresh

    from programme.loans.foresight_form import ScenarioForm

    with app.test_request_context(f"/funds/1/foresight?{query}", headers={"Accept-Language": language}):
        refresh()
        from flask import request
        form = ScenarioForm(request.args)
        assert form.validate(), form.errors
        assert form.new_lending.data == Decimal(lending) and form.default_rate.data == Decimal(default)
