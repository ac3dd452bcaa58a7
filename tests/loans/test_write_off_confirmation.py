"""Asking for a write-off asks first, through the web: the form posted without the confirmation shows a page with
the principal outstanding to write off, in plain words, and the date and reason typed kept in their fields; nothing
is asked. The POST with the confirmation asks (a second person still approves it)."""

from __future__ import annotations

import re

import pytest
from markupsafe import escape
from sqlalchemy import func, select

from programme.core.money import format_money
from programme.extensions import db
from programme.loans.models import LoanApproval, LoanEvent
from tests.loans.world import NOW, LoanWorld, loginable_loan_world

REASON = "The borrower's kiln burnt down & the firm is in liquidation."


@pytest.fixture(autouse=True)
def frozen(clock, app):
    clock(NOW)


@pytest.fixture
def w() -> LoanWorld:
    return loginable_loan_world()


def _text(response) -> str:
    return " ".join(re.sub(r"<[^>]+>", " ", response.get_data(as_text=True)).split())


def _count(model) -> int:
    return db.session.scalar(select(func.count()).select_from(model))


def test_a_write_off_is_confirmed_before_it_is_asked(client, login, w):
    login(w.admin.email)
    loan_page = client.get(f"/loans/{w.loan.id}").get_data(as_text=True)
    assert re.search(r'<button type="submit" class="danger" data-confirm="Ask for the write-off of', loan_page)
    outstanding = format_money(w.loan.principal_outstanding, w.loan.currency)
    events = _count(LoanEvent)

    response = client.post(f"/loans/{w.loan.id}/write-off", data={"on_date": "2032-12-01", "reason": REASON})
    assert response.status_code == 200
    page = _text(response)
    html = response.get_data(as_text=True)
    assert f"Ask for the write-off of loan {w.loan.number}?" in page
    assert f"Principal outstanding to write off {outstanding}" in page
    assert "Nothing is asked yet" in page and "waits for a second person" in page
    assert "Once approved, the write-off is posted to the ledger and cannot be undone" in page
    assert "Yes, ask for the write-off" in page and f'href="/loans/{w.loan.id}"' in html  # the cancel link
    # What was typed is kept in its fields, still editable; the confirmation is set by this page only.
    assert str(escape(REASON)) in html and 'value="1 Dec 2032"' in html  # the day typed, as pages write it
    assert 'name="confirmed" value="yes"' in html
    assert _count(LoanApproval) == 0 and _count(LoanEvent) == events

    # A mistake on the confirmation page is shown there, the reason kept.
    refused = client.post(f"/loans/{w.loan.id}/write-off",
                          data={"on_date": "", "reason": REASON, "confirmed": "yes"})
    assert refused.status_code == 200 and "Give the date of the write-off." in _text(refused)
    assert str(escape(REASON)) in refused.get_data(as_text=True)
    assert _count(LoanApproval) == 0

    done = client.post(f"/loans/{w.loan.id}/write-off",
                       data={"on_date": "2032-12-01", "reason": REASON, "confirmed": "yes"})
    assert done.status_code == 302
    assert "is waiting for a second person" in _text(client.get(done.headers["Location"]))
    asked = db.session.scalar(select(LoanApproval))
    assert asked.reason == REASON and asked.amount == w.loan.principal_outstanding
    assert _count(LoanEvent) == events  # nothing posted before the second person approves
