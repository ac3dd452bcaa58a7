"""The Excel export of a call's submissions, written by openpyxl and read back."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal
from io import BytesIO

import pytest
from openpyxl import load_workbook

from programme.accounts import services as accounts
from programme.accounts.models import OrganisationType, SizeClass
from programme.calls import services as calls
from programme.core.access import AccessDenied, Role
from programme.core.db import utcnow
from programme.extensions import db
from programme.proposals import services as proposals
from programme.proposals.domain import ActivityKind, ClusterStage, CoFinancingKind
from programme.proposals.export import write_submissions_workbook
from programme.proposals.models import Proposal
from tests.conftest import SETUP

ZONE = "Africa/Johannesburg"


def _submitted_proposal(app, make_user, call, index: int, requested: Decimal, *, title: str | None = None,
                        organisation: str | None = None) -> Proposal:
    user = make_user(f"lead{index}@example.org", Role.APPLICANT)
    group = accounts.create_group(name=f"Group {index}", description="", actor=user)
    members = [("Firm", OrganisationType.FIRM)] * 4 + [("Chamber", OrganisationType.CHAMBER)]
    for n, (name, kind) in enumerate(members):
        size = SizeClass.SMALL if kind == OrganisationType.FIRM else None
        sector = "Food" if kind == OrganisationType.FIRM else None
        accounts.add_organisation(
            group, accounts.OrganisationData(organisation if organisation and n == 0 else f"{name} {index}.{n}",
                                             kind, "Town", size, sector), actor=user
        )
    now = utcnow()
    title = title or f"Proposal {index}"
    proposal = proposals.start_proposal(call, group, title=title, actor=user, now=now)
    proposals.update_cluster(proposal, proposals.ClusterSection(
        title, "Food processing", "Valley", ClusterStage.LATENT, "Small batches", "Missing trust"),
        actor=user, now=now)
    proposals.update_objectives(proposal, objectives="Buy together", sustainability_plan="Fees", actor=user, now=now)
    activity = proposals.add_activity(proposal, proposals.ActivityData(
        "Joint purchasing", ActivityKind.FACILITATION, "", 1, 3, Decimal("50000.35")), actor=user, now=now)
    proposals.add_budget_line(proposal, proposals.BudgetLineData(
        activity.id, "facilitator_fees", "Facilitator", Decimal("30000.10")), actor=user, now=now)
    proposals.add_budget_line(proposal, proposals.BudgetLineData(
        None, "venues", "Meetings", Decimal("20000.25")), actor=user, now=now)
    proposals.set_requested_amount(proposal, requested, actor=user, now=now)
    proposals.add_cofinancing(proposal, proposals.CoFinancingData(
        group.organisations[0].id, CoFinancingKind.CASH, Decimal("5000.05"), ""), actor=user, now=now)
    proposals.add_cofinancing(proposal, proposals.CoFinancingData(
        group.organisations[1].id, CoFinancingKind.IN_KIND, Decimal("2500.00"), "Rooms"), actor=user, now=now)
    proposals.add_indicator(proposal, proposals.IndicatorData(
        "Joint orders", "count", Decimal("0"), Decimal("12.5")), actor=user, now=now)
    proposals.submit(proposal, actor=user, now=now)
    db.session.commit()
    return proposal


@pytest.fixture
def call(app):
    now = utcnow()
    created = calls.create_call("cluster-contest.toml", rules_folder=app.config["RULES_FOLDER"], timezone=ZONE,
                                actor=SETUP, now=now)
    created.opens_at, created.closes_at = now - timedelta(hours=1), now + timedelta(days=10)
    calls.open_call(created, actor=SETUP, now=now)
    db.session.commit()
    return created


def _rows(sheet):
    rows = [[cell.value for cell in row] for row in sheet.iter_rows()]
    return rows[0], rows[1:]


def test_export_read_back_matches_the_database(app, make_user, call):
    submitted = [_submitted_proposal(app, make_user, call, i, Decimal(f"4000{i}.{i}5")) for i in range(3)]
    manager = make_user("manager@example.org", Role.PROGRAMME_MANAGER)
    buffer = BytesIO()
    assert write_submissions_workbook(call, buffer, actor=manager, timezone=ZONE) == 3

    book = load_workbook(BytesIO(buffer.getvalue()))
    assert book.sheetnames == ["Proposals", "Budget lines", "Activities", "Members", "Indicators"]
    header, rows = _rows(book["Proposals"])
    by_reference = {row[0]: dict(zip(header, row, strict=True)) for row in rows}
    assert set(by_reference) == {p.reference for p in submitted}
    for proposal in submitted:
        version = proposal.current_version
        row = by_reference[proposal.reference]
        assert row["Title"] == proposal.title
        assert row["Applicant group"] == proposal.group.name
        assert row["Status"] == "submitted"
        assert row["Members"] == version.members_count == 5
        assert (row["Firms"], row["Support institutions"]) == (4, 1)
        # Amounts are read back as numbers; to the cent they equal the database's Decimals.
        assert Decimal(str(row["Requested (EUR)"])) == version.requested_amount
        assert Decimal(str(row["Budget total (EUR)"])) == version.budget_total == Decimal("50000.35")
        assert Decimal(str(row["Co-financing cash (EUR)"])) == version.cofinancing_cash == Decimal("5000.05")
        assert Decimal(str(row["Co-financing in kind (EUR)"])) == version.cofinancing_in_kind
        assert row["Fingerprint"] == version.content_sha256[:16]
        assert row["Version"] == 1

    header, lines = _rows(book["Budget lines"])
    assert len(lines) == 6
    first = dict(zip(header, lines[0], strict=True))
    assert first["Activity"] == "Joint purchasing" and first["Cost type"] == "Facilitator fees"
    assert sum(Decimal(str(line[-1])) for line in lines) == sum(p.current_version.budget_total for p in submitted)

    header, members = _rows(book["Members"])
    assert len(members) == 15
    cash = [Decimal(str(dict(zip(header, m, strict=True))["Co-financing cash (EUR)"])) for m in members]
    assert sum(cash) == Decimal("15000.15")
    assert len(_rows(book["Activities"])[1]) == 3
    header, indicators = _rows(book["Indicators"])
    assert [dict(zip(header, i, strict=True))["Target"] for i in indicators] == [12.5] * 3


def test_export_shows_the_frozen_version_not_the_later_draft(app, make_user, call):
    proposal = _submitted_proposal(app, make_user, call, 7, Decimal("40000.00"))
    lead = proposal.group.lead
    proposals.set_requested_amount(proposal, Decimal("1.00"), actor=lead, now=utcnow())
    db.session.commit()
    manager = make_user("manager@example.org", Role.PROGRAMME_MANAGER)
    buffer = BytesIO()
    write_submissions_workbook(call, buffer, actor=manager, timezone=ZONE)
    header, rows = _rows(load_workbook(BytesIO(buffer.getvalue()))["Proposals"])
    assert Decimal(str(dict(zip(header, rows[0], strict=True))["Requested (EUR)"])) == Decimal("40000.00")


def test_only_a_manager_exports(app, make_user, call):
    applicant = make_user("someone@example.org", Role.APPLICANT)
    with pytest.raises(AccessDenied):
        write_submissions_workbook(call, BytesIO(), actor=applicant, timezone=ZONE)


def test_text_typed_by_applicants_is_never_a_formula(app, make_user, call):
    title, organisation = '=HYPERLINK("http://x","y")', "@SUM(A1) Ltd"
    _submitted_proposal(app, make_user, call, 8, Decimal("40000.00"), title=title, organisation=organisation)
    manager = make_user("manager@example.org", Role.PROGRAMME_MANAGER)
    buffer = BytesIO()
    write_submissions_workbook(call, buffer, actor=manager, timezone=ZONE)
    book = load_workbook(BytesIO(buffer.getvalue()))
    assert all(cell.data_type != "f" for sheet in book for row in sheet.iter_rows() for cell in row)
    header, rows = _rows(book["Proposals"])
    assert dict(zip(header, rows[0], strict=True))["Title"] == title
    header, members = _rows(book["Members"])
    assert organisation in [dict(zip(header, m, strict=True))["Organisation"] for m in members]
