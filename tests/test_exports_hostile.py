"""Every Excel export of the app, run on hostile text: titles, names, purposes, descriptions and reasons that a
spreadsheet would take for a formula (=HYPERLINK(...), +1, -1, @SUM(A1), a leading tab). Each workbook is read
back with openpyxl: no cell is a formula, and the hostile text reads exactly as typed.

The exports are found from the app's routes (every rule ending in .xlsx): an export added without a case here
fails the first test."""

from __future__ import annotations

import io
from datetime import date
from decimal import Decimal

import pytest
from openpyxl import load_workbook
from sqlalchemy import select

from programme.accounts.models import ApplicantGroup, Organisation, User
from programme.calls.models import Call
from programme.core import audit
from programme.core.db import utcnow
from programme.core.spreadsheets import FORMULA_STARTS
from programme.extensions import db
from programme.funding.models import Initiative
from programme.ledger.models import AccountKind
from programme.ledger.posting import credit, debit, get_or_create_account, post_entry
from programme.loans.models import Loan
from programme.monitoring.models import ReportValue, ScorecardKpi
from programme.proposals.models import Proposal
from tests.conftest import SETUP
from tests.test_access import World, _build_world

LINK = '=HYPERLINK("http://x","y")'
PLUS = "+1"
MINUS = "-1"
AT = "@SUM(A1)"
TAB = "\t=1+1"
HOSTILE = (LINK, PLUS, MINUS, AT, TAB)

#: Each export (its route), the URL it is fetched at, who fetches it, and the hostile texts it must show as typed.
EXPORTS: dict[str, tuple[str, str, tuple[str, ...]]] = {
    "/manage/calls/<int:call_id>/submissions.xlsx": ("/manage/calls/{open_call}/submissions.xlsx", "manager",
                                                     (LINK,)),
    "/calls/<int:call_id>/review/scores.xlsx": ("/calls/{review_call}/review/scores.xlsx", "manager", (LINK,)),
    "/calls/<int:call_id>/review/ranking.xlsx": ("/calls/{review_call}/review/ranking.xlsx", "auditor", (LINK,)),
    "/kpi-matrix.xlsx": ("/kpi-matrix.xlsx", "manager", (LINK, MINUS)),
    "/dashboard.xlsx": ("/dashboard.xlsx", "auditor", (AT,)),
    "/loans.xlsx": ("/loans.xlsx", "auditor", (PLUS,)),
    "/loans/<int:loan_id>/schedule.xlsx": ("/loans/{loan_a}/schedule.xlsx", "fund_admin", (PLUS,)),
    "/ledger/trial-balance.xlsx": ("/ledger/trial-balance.xlsx", "fund_admin", ()),
    "/ledger/entries.xlsx": ("/ledger/entries.xlsx?date_from=2000-01-01&date_to=2049-12-31", "auditor", (TAB,)),
    "/audit.xlsx": ("/audit.xlsx", "auditor", (MINUS, TAB)),
    "/dashboard/targets.xlsx": ("/dashboard/targets.xlsx", "auditor", ()),
    # (the decided call of the access world funded no initiative: the sheet names none; a fund's sheet shows its
    # initiative's reference, not its name)
    "/dashboard/validity/<int:call_id>.xlsx": ("/dashboard/validity/{decided_call}.xlsx", "manager", ()),
    "/funds/<int:fund_id>/foresight.xlsx": ("/funds/{fund_a}/foresight.xlsx", "fund_admin", ()),
    "/funds/foresight.xlsx": ("/funds/foresight.xlsx", "auditor", (MINUS,)),
}


def _hostile(ids: dict[str, object]) -> None:
    """Put hostile text wherever people type text that an export shows."""
    for group in db.session.scalars(select(ApplicantGroup)):
        group.name = LINK
    for organisation in db.session.scalars(select(Organisation)):
        organisation.name = PLUS
    for proposal in db.session.scalars(select(Proposal)):
        proposal.title = LINK
    for initiative in db.session.scalars(select(Initiative)):
        initiative.name = MINUS
    for call in db.session.scalars(select(Call)):
        call.name = AT
    for kpi in db.session.scalars(select(ScorecardKpi)):
        kpi.name = LINK
    for loan in db.session.scalars(select(Loan)):
        loan.purpose = AT
    for user in db.session.scalars(select(User)):
        user.name = MINUS
    cash = get_or_create_account(AccountKind.PROGRAMME_FUNDS, "programme", None, "EUR")
    budget = get_or_create_account(AccountKind.PROGRAMME_BUDGET, "call", int(ids["open_call"]), "EUR")
    ten = Decimal("10.00")
    post_entry(lines=[debit(budget, ten), credit(cash, ten)], description=TAB, value_date=date(2025, 1, 2),
               idempotency_key="hostile-entry", actor=SETUP, now=utcnow())
    audit.record(db.session, SETUP, "test.hostile", None, reason=LINK)
    # a value in each draft report, so the KPI matrix has rows (names of initiatives and KPIs among them)
    for key in ("a", "b"):
        db.session.add(ReportValue(report_id=int(ids[f"report_{key}"]), kpi_id=int(ids[f"kpi_{key}"]),
                                   value=Decimal("3"), note=AT))


@pytest.fixture(scope="module")
def world_built_once(built_once) -> World:
    with built_once() as app:
        world = _build_world(app)
        _hostile(world.ids)
        # an entry whose label and object type start like formulas
        db.session.add(audit.AuditEntry(actor_id=None, actor_label=TAB, action="test.tab", object_type=MINUS,
                                        object_id=None, details="{}"))
        return world


@pytest.fixture
def world(app, world_built_once: World) -> World:
    return world_built_once


def test_every_export_of_the_app_is_listed_here(app):
    exports = {rule.rule for rule in app.url_map.iter_rules() if rule.rule.endswith(".xlsx")}
    assert exports == set(EXPORTS), f"exports without a hostile-text case: {sorted(exports - set(EXPORTS))}"


@pytest.mark.parametrize("route", sorted(EXPORTS))
def test_hostile_text_is_stored_as_text_and_reads_as_typed(client, login, world, route):
    template, role, shown = EXPORTS[route]
    login(world.emails[role])
    response = client.get(template.format(**world.ids))
    assert response.status_code == 200, response.get_data(as_text=True)[:500]
    assert response.mimetype == "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    book = load_workbook(io.BytesIO(response.data))
    formulas, texts = [], set()
    for sheet in book.worksheets:
        for row in sheet.iter_rows():
            for cell in row:
                if cell.data_type == "f":
                    formulas.append(f"{sheet.title}!{cell.coordinate}: {cell.value!r}")
                if isinstance(cell.value, str):
                    texts.add(cell.value)
                    if cell.value.startswith(FORMULA_STARTS):
                        assert cell.data_type == "s", f"{sheet.title}!{cell.coordinate}"
    assert not formulas, formulas
    missing = [text for text in shown if text not in texts]
    assert not missing, f"{route}: {missing!r} not read back as typed"
