"""Accounts are named for people on the ledger page and in the exports' "Account" columns (their kind's label and
the call, initiative, loan or fund they belong to); the machine code stays only in the exports' "Account code"."""

from __future__ import annotations

import io
import re

import pytest
from openpyxl import load_workbook
from sqlalchemy import select

from programme.extensions import db
from programme.ledger.export import write_trial_balance
from programme.ledger.models import Account, AccountKind
from programme.ledger.naming import account_name, account_names
from programme.loans.models import Loan, RevolvingFund
from tests.dashboard.world import DashboardWorld, dashboard_world
from tests.worlds import Kept, keep, reload

CODE = re.compile(r"\b[a-z]+(?:_[a-z]+)+:(?:programme|call|initiative|loan|fund)\b")


@pytest.fixture(scope="module")
def world_once(built_once) -> Kept:
    with built_once() as app:
        made = dashboard_world(app.config["UPLOAD_FOLDER"])
        for person in made.users:  # addresses the login form accepts
            person.email = person.email.replace(".test", ".example.org")
        return keep(made)


@pytest.fixture
def world(app, world_once: Kept) -> DashboardWorld:
    return reload(world_once)


def test_an_account_is_named_by_its_kind_and_its_owner(world: DashboardWorld):
    loan = db.session.scalars(select(Loan).order_by(Loan.id)).first()
    receivable = db.session.scalar(select(Account).where(Account.kind == AccountKind.LOANS_RECEIVABLE,
                                                         Account.owner_id == loan.id))
    assert account_name(receivable) == f"Loans receivable, loan {loan.number}"
    fund = db.session.get(RevolvingFund, loan.fund_id)
    cash = db.session.scalar(select(Account).where(Account.kind == AccountKind.REVOLVING_FUND_CASH,
                                                   Account.owner_id == fund.id))
    assert account_name(cash) == f"Revolving fund cash, revolving fund of {fund.initiative.reference}"
    budget = db.session.scalar(select(Account).where(Account.kind == AccountKind.PROGRAMME_BUDGET,
                                                     Account.owner_id == world.call.id))
    assert account_name(budget) == f"Programme budget, call {world.call.reference}"
    names = account_names(db.session.scalars(select(Account)))
    assert names and not any(CODE.search(name) for name in names.values())


def test_the_ledger_page_shows_names_not_codes(world: DashboardWorld, client, login):
    login(world.manager)
    page = client.get("/ledger").get_data(as_text=True)
    loan = db.session.scalars(select(Loan).order_by(Loan.id)).first()
    assert f"loan {loan.number}" in page and f"call {world.call.reference}" in page
    assert not CODE.search(page), CODE.search(page)
    assert "borrower_credit:" not in page and "loans_receivable:" not in page


def test_the_trial_balance_export_keeps_the_code_beside_the_name(world: DashboardWorld):
    target = io.BytesIO()
    write_trial_balance(target)
    rows = list(load_workbook(io.BytesIO(target.getvalue()), read_only=True)["Trial balance"]
                .iter_rows(values_only=True))
    assert rows[0][:2] == ("Account", "Account code")
    body = [row for row in rows[1:] if row[1]]
    assert body and all(CODE.fullmatch(row[1].rsplit(":", 1)[0]) or row[1].endswith(":programme") for row in body)
    assert not any(CODE.search(row[0]) for row in body)
