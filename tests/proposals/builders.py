"""Builders for proposal tests: an open call with a known deadline, an applicant group with N firms
and M institutions, a complete eligible proposal, and a snapshot made by hand for the pure rules."""

from __future__ import annotations

import copy
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import func, select

from programme.accounts import services as accounts
from programme.accounts.models import ApplicantGroup, OrganisationType, SizeClass, User
from programme.calls import services as call_services
from programme.calls.models import Call
from programme.calls.services import CallDraft
from programme.config import PROJECT_ROOT
from programme.core.access import Actor
from programme.core.audit import AuditEntry
from programme.extensions import db
from programme.proposals import services
from programme.proposals.domain import ActivityKind, ClusterStage, CoFinancingKind
from programme.proposals.models import Proposal
from programme.proposals.services import (
    ActivityData,
    BudgetLineData,
    ClusterSection,
    CoFinancingData,
    IndicatorData,
)
from tests.conftest import SETUP

RULES_FOLDER = PROJECT_ROOT / "rules"
RULES_FILE = RULES_FOLDER / "cluster-contest.toml"
ZONE = "Africa/Johannesburg"

#: The call is created and published at T0; it takes proposals from OPENS until CLOSES (exclusive).
T0 = datetime(2027, 1, 10, 8, 0, tzinfo=UTC)
OPENS = datetime(2027, 2, 1, 7, 0, tzinfo=UTC)
CLOSES = datetime(2027, 3, 1, 15, 0, tzinfo=UTC)
#: A moment while the call is open.
NOW = datetime(2027, 2, 10, 9, 0, tzinfo=UTC)

#: What `complete_proposal` puts in: two budget lines of 24,000 + 16,000 and a request of 30,000.
BUDGET_TOTAL = Decimal("40000.00")
REQUESTED = Decimal("30000.00")


def make_call(*, opens: datetime = OPENS, closes: datetime = CLOSES, publish: bool = True) -> Call:
    """A call from the shipped rules file with the given submission period, opened at T0 unless `publish` is
    False."""
    call = call_services.create_call("cluster-contest.toml", rules_folder=RULES_FOLDER, timezone=ZONE,
                                     actor=SETUP, now=T0)
    call_services.update_draft_call(call, CallDraft(
        name=call.name, description=call.description, budget=call.budget,
        per_initiative_cap=call.per_initiative_cap, opens_at=opens, closes_at=closes,
    ), actor=SETUP)
    if publish:
        call_services.open_call(call, actor=SETUP, now=T0)
    db.session.flush()
    return call


def make_group(lead: User, *, firms: int = 4, institutions: int = 1, name: str = "Vaal Ceramics Group",
               institution_kind: OrganisationType = OrganisationType.BUSINESS_ASSOCIATION) -> ApplicantGroup:
    """A group led by `lead` with `firms` firms and `institutions` support institutions."""
    group = accounts.create_group(name=name, description="Potters of the Vaal", actor=lead)
    for number in range(1, firms + 1):
        accounts.add_organisation(group, accounts.OrganisationData(
            name=f"{name} firm {number}", kind=OrganisationType.FIRM, locality="Vereeniging",
            size_class=SizeClass.SMALL, sector="Ceramics",
        ), actor=lead)
    for number in range(1, institutions + 1):
        accounts.add_organisation(group, accounts.OrganisationData(
            name=f"{name} institution {number}", kind=institution_kind, locality="Vereeniging",
        ), actor=lead)
    db.session.flush()
    return group


def add_group_user(group: ApplicantGroup, lead: User, user: User) -> None:
    """`user` comes to act for the group: invited by the lead, and accepting."""
    invitation = accounts.invite(group, user.email, actor=lead)
    accounts.accept_invitation(invitation, actor=user)
    db.session.flush()


def cluster_section(title: str = "Joint export of Vaal ceramics", **changes: Any) -> ClusterSection:
    values = {
        "title": title, "sector": "Ceramics and tableware", "territory": "Vaal triangle",
        "stage": ClusterStage.POTENTIAL, "main_problem": "Each firm is too small to exhibit abroad.",
        "market_failure": "Co-ordination failure: no firm pays for a stand the others would use.",
    }
    return ClusterSection(**{**values, **changes})


def activity_data(**changes: Any) -> ActivityData:
    values = {"title": "Joint stand at a trade fair", "kind": ActivityKind.PRACTICAL,
              "description": "A shared stand for five firms", "start_quarter": 2, "end_quarter": 3,
              "cost": Decimal("24000.00")}
    return ActivityData(**{**values, **changes})


def line_data(activity_id: int | None = None, **changes: Any) -> BudgetLineData:
    values = {"activity_id": activity_id, "cost_type": "fairs", "description": "Stand rent",
              "amount": Decimal("24000.00")}
    return BudgetLineData(**{**values, **changes})


def indicator_data(**changes: Any) -> IndicatorData:
    values = {"name": "Firms exporting", "unit": "firms", "baseline": Decimal("1"), "target": Decimal("4")}
    return IndicatorData(**{**values, **changes})


def complete_proposal(call: Call, group: ApplicantGroup, actor: Actor, *, now: datetime = NOW,
                      title: str = "Joint export of Vaal ceramics", requested: Decimal = REQUESTED) -> Proposal:
    """A draft with every section filled that passes every eligibility rule at `now` (if the group does)."""
    proposal = services.start_proposal(call, group, title=title, actor=actor, now=now)
    services.update_cluster(proposal, cluster_section(title), actor=actor, now=now)
    services.update_objectives(proposal, objectives="Export jointly within two years.",
                               sustainability_plan="Members pay a yearly fee to the association.",
                               actor=actor, now=now)
    fair = services.add_activity(proposal, activity_data(), actor=actor, now=now)
    facilitation = services.add_activity(proposal, activity_data(
        title="Facilitated meetings", kind=ActivityKind.FACILITATION, start_quarter=1, end_quarter=4,
        cost=Decimal("16000.00"),
    ), actor=actor, now=now)
    services.add_budget_line(proposal, line_data(fair.id), actor=actor, now=now)
    services.add_budget_line(proposal, line_data(facilitation.id, cost_type="facilitator_fees",
                                                 description="Facilitator", amount=Decimal("16000.00")),
                             actor=actor, now=now)
    services.set_requested_amount(proposal, requested, actor=actor, now=now)
    firm = group.organisations[0]
    services.add_cofinancing(proposal, CoFinancingData(firm.id, CoFinancingKind.CASH, Decimal("5000.00"),
                                                       "Fair fees"), actor=actor, now=now)
    services.add_cofinancing(proposal, CoFinancingData(firm.id, CoFinancingKind.IN_KIND, Decimal("2500.50"),
                                                       "Staff time"), actor=actor, now=now)
    services.add_indicator(proposal, indicator_data(), actor=actor, now=now)
    db.session.flush()
    return proposal


def count(model: type, *where: Any) -> int:
    return db.session.scalar(select(func.count()).select_from(model).where(*where))


def audit_actions(proposal: Proposal) -> list[str]:
    return list(db.session.scalars(
        select(AuditEntry.action).where(AuditEntry.object_type == "Proposal", AuditEntry.object_id == proposal.id)
        .order_by(AuditEntry.id)
    ))


# Snapshots made by hand, for the pure rules ------------------------------------------------------


def member(number: int, kind: str, name: str | None = None) -> dict[str, Any]:
    return {"id": number, "name": name or f"{kind.replace('_', ' ').title()} {number}", "kind": kind,
            "size_class": "small" if kind == "firm" else "", "sector": "Ceramics" if kind == "firm" else "",
            "locality": "Vereeniging"}


def members(*kinds: str) -> list[dict[str, Any]]:
    return [member(number, kind) for number, kind in enumerate(kinds, start=1)]


def budget_line(amount: Decimal, cost_type: str = "fairs") -> dict[str, Any]:
    return {"activity_id": 1, "activity": "Joint stand", "cost_type": cost_type, "description": "Stand rent",
            "amount": amount}


def activity(cost: Decimal, number: int = 1, kind: str = "practical", title: str = "Joint stand") -> dict[str, Any]:
    return {"id": number, "title": title, "kind": kind, "description": "", "start_quarter": 2, "end_quarter": 3,
            "cost": cost}


def snapshot(**changes: Any) -> dict[str, Any]:
    """A complete snapshot, as `services.build_snapshot` makes it, of an eligible proposal: four firms and a
    business association; two activities costing 24,000 + 16,000 and budget lines of the same; request 30,000.
    `changes` replace top-level keys."""
    lines = [budget_line(Decimal("24000.00")), budget_line(Decimal("16000.00"), "facilitator_fees")]
    base: dict[str, Any] = {
        "title": "Joint export of Vaal ceramics",
        "cluster": {"sector": "Ceramics", "territory": "Vaal triangle", "stage": "potential",
                    "main_problem": "Too small to exhibit abroad.", "market_failure": "Co-ordination failure."},
        "objectives": "Export jointly within two years.",
        "sustainability_plan": "Member fees.",
        "activities": [activity(Decimal("24000.00")),
                       activity(Decimal("16000.00"), 2, "facilitation", "Facilitated meetings")],
        "budget_lines": lines,
        "budget_total": sum((line["amount"] for line in lines), Decimal("0.00")),
        "requested_amount": Decimal("30000.00"),
        "cofinancing": [{"organisation_id": 1, "organisation": "Firm 1", "kind": "cash",
                         "amount": Decimal("5000.00"), "description": "Fair fees"}],
        "indicators": [{"name": "Firms exporting", "unit": "firms", "baseline": Decimal("1"),
                        "target": Decimal("4.5")}],
        "members": members("firm", "firm", "firm", "firm", "business_association"),
        "attachments": [],
    }
    result = copy.deepcopy(base)
    result.update(copy.deepcopy(changes))
    if "budget_lines" in changes and "budget_total" not in changes:
        result["budget_total"] = sum((line["amount"] for line in result["budget_lines"]), Decimal("0.00"))
    return result
