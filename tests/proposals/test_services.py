"""Proposal services, called directly with an explicit actor and time: starting, the draft's sections,
bad inputs, who may edit, submission and the deadline at the second, frozen versions, withdrawal, the
manager's override, list and iteration."""

from __future__ import annotations

import copy
import hashlib
import json
from collections.abc import Callable
from datetime import timedelta
from decimal import Decimal

import pytest
from sqlalchemy import select

from programme.accounts import services as accounts
from programme.accounts.models import OrganisationType
from programme.calls import services as call_services
from programme.calls.models import CallStatus
from programme.core.access import AccessDenied, NotFound, Role, RuleViolation
from programme.core.audit import AuditEntry
from programme.core.notifications import Notification
from programme.extensions import db
from programme.proposals import services
from programme.proposals.domain import ActivityKind, ClusterStage, CoFinancingKind, dump_snapshot, load_snapshot
from programme.proposals.models import (
    Activity,
    BudgetLine,
    CoFinancing,
    Indicator,
    Proposal,
    ProposalStatus,
    ProposalVersion,
)
from programme.proposals.services import CoFinancingData, SubmissionFilter
from tests.conftest import SETUP
from tests.proposals.builders import (
    BUDGET_TOTAL,
    CLOSES,
    NOW,
    OPENS,
    REQUESTED,
    activity_data,
    add_group_user,
    audit_actions,
    cluster_section,
    complete_proposal,
    count,
    indicator_data,
    line_data,
    make_call,
    make_group,
)

SECOND = timedelta(seconds=1)


@pytest.fixture
def colleague(make_user, group, lead):
    """A second applicant acting for the lead's group."""
    user = make_user("colleague@vaal.example", Role.APPLICANT)
    add_group_user(group, lead, user)
    db.session.commit()
    return user


@pytest.fixture
def outsider(make_user):
    """An applicant of another group."""
    user = make_user("outsider@karoo.example", Role.APPLICANT)
    make_group(user, name="Karoo Wool Group")
    db.session.commit()
    return user


@pytest.fixture
def manager(make_user):
    return make_user("manager@programme.example", Role.PROGRAMME_MANAGER)


@pytest.fixture
def reviewer(make_user):
    return make_user("reviewer@programme.example", Role.REVIEWER)


@pytest.fixture
def fund_admin(make_user):
    return make_user("funds@programme.example", Role.FUND_ADMINISTRATOR)


def draft_state(proposal: Proposal) -> tuple:
    """Everything a refused call must leave alone, read back from the database."""
    db.session.flush()
    db.session.expire_all()
    return (
        dump_snapshot(services.build_snapshot(proposal)), proposal.status, proposal.updated_at,
        proposal.latest_version, count(AuditEntry), count(Activity), count(BudgetLine), count(CoFinancing),
        count(Indicator), count(ProposalVersion), count(Notification),
    )


def outbox(subject_prefix: str = "Proposal ") -> list[Notification]:
    return list(db.session.scalars(
        select(Notification).where(Notification.subject.like(f"{subject_prefix}%")).order_by(Notification.id)))


def stored_content(version_id: int) -> str:
    return db.session.scalar(select(ProposalVersion.content).where(ProposalVersion.id == version_id))


# Starting a proposal ------------------------------------------------------------------------------


def test_start_proposal_for_the_actors_group(call, group, lead):
    proposal = services.start_proposal(call, group, title="  Joint export  ", actor=lead, now=NOW)
    db.session.commit()

    proposal = db.session.get(Proposal, proposal.id)
    assert (proposal.call_id, proposal.group_id, proposal.title) == (call.id, group.id, "Joint export")
    assert proposal.status == ProposalStatus.DRAFT
    assert (proposal.created_at, proposal.updated_at) == (NOW, NOW)
    assert proposal.reference is None and proposal.latest_version is None and proposal.versions == []
    entry = db.session.scalar(select(AuditEntry).where(AuditEntry.action == "proposal.started"))
    assert (entry.actor_id, entry.object_type, entry.object_id) == (lead.id, "Proposal", proposal.id)
    assert entry.details_dict == {"call": call.reference, "group": group.name}


def test_start_proposal_for_another_applicants_group_is_not_found(call, group, outsider):
    with pytest.raises(NotFound):
        services.start_proposal(call, group, title="Take-over", actor=outsider, now=NOW)
    assert count(Proposal) == 0


@pytest.mark.parametrize("who", ["manager", "reviewer", "fund_admin"])
def test_staff_cannot_start_a_proposal(request, call, group, who):
    actor = request.getfixturevalue(who)
    with pytest.raises(AccessDenied):
        services.start_proposal(call, group, title="Staff proposal", actor=actor, now=NOW)
    assert count(Proposal) == 0


@pytest.mark.parametrize("moment", [OPENS - SECOND, CLOSES, CLOSES + SECOND], ids=["before-opening", "at-deadline",
                                                                                 "after-deadline"])
def test_start_proposal_only_while_the_call_accepts(call, group, lead, moment):
    with pytest.raises(RuleViolation, match="not open for proposals"):
        services.start_proposal(call, group, title="Late", actor=lead, now=moment)
    assert count(Proposal) == 0


def test_start_proposal_at_the_opening_second(call, group, lead):
    proposal = services.start_proposal(call, group, title="Early bird", actor=lead, now=OPENS)
    assert proposal.status == ProposalStatus.DRAFT


def test_start_proposal_refused_for_a_draft_call(app, group, lead):
    draft = make_call(publish=False)
    with pytest.raises(RuleViolation, match="not open for proposals"):
        services.start_proposal(draft, group, title="Too early", actor=lead, now=NOW)
    assert count(Proposal) == 0


def test_one_proposal_per_group_and_call(call, group, lead, colleague):
    services.start_proposal(call, group, title="First", actor=lead, now=NOW)
    db.session.commit()

    with pytest.raises(RuleViolation) as caught:
        services.start_proposal(call, group, title="Second", actor=colleague, now=NOW)
    assert caught.value.field == "group_id"
    assert group.name in caught.value.message
    assert count(Proposal) == 1

    another_call = make_call()
    services.start_proposal(another_call, group, title="To the other call", actor=lead, now=NOW)
    db.session.commit()
    assert count(Proposal) == 2


# The draft's sections: each saves and is audited ------------------------------------------------


@pytest.fixture
def bare(call, group, lead):
    proposal = services.start_proposal(call, group, title="Bare", actor=lead, now=NOW)
    db.session.commit()
    return proposal


def test_update_cluster_saves_stripped_values_and_audits(bare, lead):
    later = NOW + timedelta(hours=1)
    services.update_cluster(bare, cluster_section(" Vaal ceramics ", sector=" Ceramics ", territory=" Vaal ",
                                                  stage=ClusterStage.WORKING), actor=lead, now=later)
    db.session.commit()
    db.session.expire_all()

    assert (bare.title, bare.sector, bare.territory, bare.stage) == ("Vaal ceramics", "Ceramics", "Vaal",
                                                                     ClusterStage.WORKING)
    assert bare.main_problem == "Each firm is too small to exhibit abroad."
    assert bare.updated_at == later
    entry = db.session.scalar(select(AuditEntry).where(AuditEntry.action == "proposal.cluster_saved"))
    assert (entry.actor_id, entry.object_id, entry.actor_label) == (lead.id, bare.id, lead.email)


def test_update_objectives_saves_and_audits(bare, lead):
    services.update_objectives(bare, objectives=" Export ", sustainability_plan=" Fees ", actor=lead, now=NOW)
    db.session.commit()
    db.session.expire_all()

    assert (bare.objectives, bare.sustainability_plan) == ("Export", "Fees")
    assert audit_actions(bare)[-1] == "proposal.objectives_saved"


def test_activities_are_added_updated_and_removed_with_audit(bare, lead):
    first = services.add_activity(bare, activity_data(title=" Fair "), actor=lead, now=NOW)
    second = services.add_activity(bare, activity_data(title="Meetings", kind=ActivityKind.FACILITATION,
                                                       start_quarter=1, end_quarter=1, cost=Decimal("0")),
                                   actor=lead, now=NOW)
    line = services.add_budget_line(bare, line_data(first.id), actor=lead, now=NOW)
    db.session.commit()
    assert [(a.position, a.title) for a in bare.activities] == [(1, "Fair"), (2, "Meetings")]
    assert second.cost == Decimal("0.00")

    services.update_activity(bare, first.id, activity_data(title="Two fairs", start_quarter=3, end_quarter=20,
                                                           cost=Decimal("30000.50")), actor=lead, now=NOW)
    db.session.commit()
    db.session.expire_all()
    first = db.session.get(Activity, first.id)
    assert (first.title, first.start_quarter, first.end_quarter, first.cost) == ("Two fairs", 3, 20,
                                                                               Decimal("30000.50"))

    services.remove_activity(bare, first.id, actor=lead, now=NOW)
    db.session.commit()
    db.session.expire_all()
    assert [a.title for a in bare.activities] == ["Meetings"]
    assert db.session.get(BudgetLine, line.id).activity_id is None  # the line stays, untied
    assert audit_actions(bare)[1:] == ["proposal.activity_added", "proposal.activity_added",
                                       "proposal.budget_line_added", "proposal.activity_updated",
                                       "proposal.activity_removed"]
    entry = db.session.scalar(select(AuditEntry).where(AuditEntry.action == "proposal.activity_added")
                              .order_by(AuditEntry.id))
    assert entry.details_dict == {"activity_id": first.id, "title": "Fair"}


def test_budget_lines_and_the_request_are_saved_with_audit(bare, lead):
    activity = services.add_activity(bare, activity_data(), actor=lead, now=NOW)
    line = services.add_budget_line(bare, line_data(activity.id, description=" Stand "), actor=lead, now=NOW)
    services.update_budget_line(bare, line.id, line_data(None, cost_type="travel", description="Trip",
                                                         amount=Decimal("1234.56")), actor=lead, now=NOW)
    services.set_requested_amount(bare, Decimal("1000.00"), actor=lead, now=NOW)
    services.set_requested_amount(bare, Decimal("1200.00"), actor=lead, now=NOW)
    db.session.commit()
    db.session.expire_all()

    line = db.session.get(BudgetLine, line.id)
    assert (line.activity_id, line.cost_type, line.description, line.amount) == (None, "travel", "Trip",
                                                                                 Decimal("1234.56"))
    assert bare.requested_amount == Decimal("1200.00")
    entries = db.session.scalars(select(AuditEntry).where(AuditEntry.action == "proposal.requested_amount_set")
                                 .order_by(AuditEntry.id)).all()
    assert [e.details_dict for e in entries] == [{"before": "None", "after": "1000.00"},
                                                 {"before": "1000.00", "after": "1200.00"}]

    services.remove_budget_line(bare, line.id, actor=lead, now=NOW)
    db.session.commit()
    assert count(BudgetLine) == 0
    assert "proposal.budget_line_removed" in audit_actions(bare)


def test_cofinancing_is_added_and_removed_with_audit(bare, group, lead):
    organisation = group.organisations[-1]
    commitment = services.add_cofinancing(bare, CoFinancingData(organisation.id, CoFinancingKind.IN_KIND,
                                                                Decimal("750.25"), " Rooms "), actor=lead, now=NOW)
    db.session.commit()
    db.session.expire_all()
    stored = db.session.get(CoFinancing, commitment.id)
    assert (stored.organisation_id, stored.kind, stored.amount, stored.description) == (
        organisation.id, CoFinancingKind.IN_KIND, Decimal("750.25"), "Rooms")

    services.remove_cofinancing(bare, commitment.id, actor=lead, now=NOW)
    db.session.commit()
    assert count(CoFinancing) == 0
    assert audit_actions(bare)[-2:] == ["proposal.cofinancing_added", "proposal.cofinancing_removed"]


def test_indicators_are_added_and_removed_with_audit(bare, lead):
    indicator = services.add_indicator(bare, indicator_data(name=" Jobs ", baseline=Decimal("10.5"),
                                                            target=Decimal("8.25")), actor=lead, now=NOW)
    db.session.commit()
    db.session.expire_all()
    stored = db.session.get(Indicator, indicator.id)
    assert (stored.name, stored.baseline, stored.target) == ("Jobs", Decimal("10.5"), Decimal("8.25"))

    services.remove_indicator(bare, indicator.id, actor=lead, now=NOW)
    db.session.commit()
    assert count(Indicator) == 0
    assert audit_actions(bare)[-2:] == ["proposal.indicator_added", "proposal.indicator_removed"]


def test_a_complete_proposal_is_eligible_live_and_every_write_was_audited(proposal, lead):
    verdict = services.live_eligibility(proposal, NOW)
    assert verdict.eligible, verdict.failures
    snapshot = services.build_snapshot(proposal)
    assert snapshot["budget_total"] == BUDGET_TOTAL and snapshot["requested_amount"] == REQUESTED
    actions = audit_actions(proposal)
    assert actions[0] == "proposal.started"
    assert actions.count("proposal.activity_added") == 2 and actions.count("proposal.budget_line_added") == 2
    actors = set(db.session.scalars(select(AuditEntry.actor_id).where(AuditEntry.object_type == "Proposal")))
    assert actors == {lead.id}


def test_live_eligibility_lists_what_is_missing(bare):
    verdict = services.live_eligibility(bare, NOW)
    failures = {c.key for c in verdict.failures}
    assert failures == {"requested_amount", "sections"}


# Bad inputs: refused with the field named, nothing changed ---------------------------------------


def _activity(proposal):
    return proposal.activities[0].id


BAD_INPUTS: dict[str, tuple[Callable, str]] = {
    "activity-negative-cost": (lambda p, a: services.add_activity(
        p, activity_data(cost=Decimal("-1.00")), actor=a, now=NOW), "cost"),
    "activity-three-decimals": (lambda p, a: services.add_activity(
        p, activity_data(cost=Decimal("10.005")), actor=a, now=NOW), "cost"),
    "activity-end-before-start": (lambda p, a: services.add_activity(
        p, activity_data(start_quarter=3, end_quarter=2), actor=a, now=NOW), "end_quarter"),
    "activity-quarter-0": (lambda p, a: services.add_activity(
        p, activity_data(start_quarter=0, end_quarter=1), actor=a, now=NOW), "start_quarter"),
    "activity-start-quarter-21": (lambda p, a: services.add_activity(
        p, activity_data(start_quarter=21, end_quarter=21), actor=a, now=NOW), "start_quarter"),
    "activity-end-quarter-21": (lambda p, a: services.add_activity(
        p, activity_data(start_quarter=20, end_quarter=21), actor=a, now=NOW), "end_quarter"),
    "update-activity-end-before-start": (lambda p, a: services.update_activity(
        p, _activity(p), activity_data(title="Changed", start_quarter=4, end_quarter=1), actor=a, now=NOW),
        "end_quarter"),
    "update-activity-negative-cost": (lambda p, a: services.update_activity(
        p, _activity(p), activity_data(title="Changed", cost=Decimal("-0.01")), actor=a, now=NOW), "cost"),
    "line-negative": (lambda p, a: services.add_budget_line(
        p, line_data(amount=Decimal("-5.00")), actor=a, now=NOW), "amount"),
    "line-zero": (lambda p, a: services.add_budget_line(p, line_data(amount=Decimal("0")), actor=a, now=NOW),
                  "amount"),
    "line-three-decimals": (lambda p, a: services.add_budget_line(
        p, line_data(amount=Decimal("100.001")), actor=a, now=NOW), "amount"),
    "line-unknown-cost-type": (lambda p, a: services.add_budget_line(
        p, line_data(cost_type="champagne"), actor=a, now=NOW), "cost_type"),
    "update-line-unknown-cost-type": (lambda p, a: services.update_budget_line(
        p, p.budget_lines[0].id, line_data(cost_type="bribes", description="Changed"), actor=a, now=NOW),
        "cost_type"),
    "update-line-three-decimals": (lambda p, a: services.update_budget_line(
        p, p.budget_lines[0].id, line_data(amount=Decimal("1.999"), description="Changed"), actor=a, now=NOW),
        "amount"),
    "request-negative": (lambda p, a: services.set_requested_amount(p, Decimal("-100.00"), actor=a, now=NOW),
                         "requested_amount"),
    "request-zero": (lambda p, a: services.set_requested_amount(p, Decimal("0.00"), actor=a, now=NOW),
                     "requested_amount"),
    "request-three-decimals": (lambda p, a: services.set_requested_amount(p, Decimal("100.125"), actor=a, now=NOW),
                               "requested_amount"),
    "cofinancing-negative": (lambda p, a: services.add_cofinancing(p, CoFinancingData(
        p.group.organisations[0].id, CoFinancingKind.CASH, Decimal("-1"), ""), actor=a, now=NOW), "amount"),
    "cofinancing-three-decimals": (lambda p, a: services.add_cofinancing(p, CoFinancingData(
        p.group.organisations[0].id, CoFinancingKind.CASH, Decimal("0.001"), ""), actor=a, now=NOW), "amount"),
    "indicator-target-equals-baseline": (lambda p, a: services.add_indicator(
        p, indicator_data(baseline=Decimal("2"), target=Decimal("2.00")), actor=a, now=NOW), "target"),
}


@pytest.mark.parametrize("case", list(BAD_INPUTS))
def test_bad_input_is_refused_with_its_field_and_changes_nothing(proposal, lead, case):
    action, field = BAD_INPUTS[case]
    before = draft_state(proposal)

    with pytest.raises(RuleViolation) as caught:
        action(proposal, lead)

    assert caught.value.field == field
    assert caught.value.message
    assert draft_state(proposal) == before


def test_cofinancing_from_an_organisation_outside_the_group_is_refused(proposal, lead, outsider):
    stranger = accounts.groups_of(outsider)[0].organisations[0]
    before = draft_state(proposal)

    with pytest.raises(RuleViolation) as caught:
        services.add_cofinancing(proposal, CoFinancingData(stranger.id, CoFinancingKind.CASH, Decimal("100.00"),
                                                           "Not ours"), actor=lead, now=NOW)

    assert caught.value.field == "organisation_id"
    assert draft_state(proposal) == before


def test_a_budget_line_tied_to_another_proposals_activity_is_not_found(proposal, lead, outsider):
    theirs = complete_proposal(proposal.call, accounts.groups_of(outsider)[0], outsider, title="Karoo wool")
    db.session.commit()
    their_activity = theirs.activities[0].id
    before = draft_state(proposal)

    with pytest.raises(NotFound):
        services.add_budget_line(proposal, line_data(their_activity), actor=lead, now=NOW)
    with pytest.raises(NotFound):
        services.update_budget_line(proposal, proposal.budget_lines[0].id, line_data(their_activity),
                                    actor=lead, now=NOW)

    assert draft_state(proposal) == before


@pytest.mark.parametrize("action", [
    lambda p, a, other: services.update_activity(p, other.activities[0].id, activity_data(), actor=a, now=NOW),
    lambda p, a, other: services.remove_activity(p, other.activities[0].id, actor=a, now=NOW),
    lambda p, a, other: services.remove_budget_line(p, other.budget_lines[0].id, actor=a, now=NOW),
    lambda p, a, other: services.remove_cofinancing(p, other.cofinancing[0].id, actor=a, now=NOW),
    lambda p, a, other: services.remove_indicator(p, other.indicators[0].id, actor=a, now=NOW),
], ids=["update-activity", "remove-activity", "remove-line", "remove-cofinancing", "remove-indicator"])
def test_items_of_another_proposal_are_not_found_through_ones_own(proposal, lead, outsider, action):
    theirs = complete_proposal(proposal.call, accounts.groups_of(outsider)[0], outsider, title="Karoo wool")
    db.session.commit()
    before, their_before = draft_state(proposal), draft_state(theirs)

    with pytest.raises(NotFound):
        action(proposal, lead, theirs)

    assert draft_state(proposal) == before
    assert draft_state(theirs) == their_before


# Who may edit ----------------------------------------------------------------------------------------


EDITS: dict[str, Callable] = {
    "cluster": lambda p, a, now=NOW: services.update_cluster(p, cluster_section("Hijacked"), actor=a, now=now),
    "objectives": lambda p, a, now=NOW: services.update_objectives(
        p, objectives="Ours now", sustainability_plan="", actor=a, now=now),
    "add-activity": lambda p, a, now=NOW: services.add_activity(p, activity_data(), actor=a, now=now),
    "update-activity": lambda p, a, now=NOW: services.update_activity(
        p, p.activities[0].id, activity_data(title="X"), actor=a, now=now),
    "remove-activity": lambda p, a, now=NOW: services.remove_activity(p, p.activities[0].id, actor=a, now=now),
    "add-line": lambda p, a, now=NOW: services.add_budget_line(p, line_data(), actor=a, now=now),
    "update-line": lambda p, a, now=NOW: services.update_budget_line(
        p, p.budget_lines[0].id, line_data(description="X"), actor=a, now=now),
    "remove-line": lambda p, a, now=NOW: services.remove_budget_line(p, p.budget_lines[0].id, actor=a, now=now),
    "request": lambda p, a, now=NOW: services.set_requested_amount(p, Decimal("1.00"), actor=a, now=now),
    "add-cofinancing": lambda p, a, now=NOW: services.add_cofinancing(p, CoFinancingData(
        p.group.organisations[0].id, CoFinancingKind.CASH, Decimal("1.00"), ""), actor=a, now=now),
    "remove-cofinancing": lambda p, a, now=NOW: services.remove_cofinancing(p, p.cofinancing[0].id, actor=a, now=now),
    "add-indicator": lambda p, a, now=NOW: services.add_indicator(p, indicator_data(name="X"), actor=a, now=now),
    "remove-indicator": lambda p, a, now=NOW: services.remove_indicator(p, p.indicators[0].id, actor=a, now=now),
    "submit": lambda p, a, now=NOW: services.submit(p, actor=a, now=now),
}

INTRUDERS = ["outsider", "reviewer", "fund_admin", "manager"]


@pytest.mark.parametrize("who", INTRUDERS)
@pytest.mark.parametrize("edit", list(EDITS))
def test_only_the_groups_applicants_edit_the_draft(request, proposal, who, edit):
    actor = request.getfixturevalue(who)
    before = draft_state(proposal)

    with pytest.raises(AccessDenied):
        EDITS[edit](proposal, actor)

    assert draft_state(proposal) == before


@pytest.mark.parametrize("who", ["outsider", "reviewer", "fund_admin"])
def test_others_do_not_even_find_the_proposal(request, proposal, who):
    actor = request.getfixturevalue(who)
    with pytest.raises(NotFound):
        services.get_proposal(proposal.id, actor=actor)
    with pytest.raises(NotFound):
        services.get_proposal_for_edit(proposal.id, actor=actor)
    assert services.proposals_of(actor) == []


def test_a_manager_reads_but_does_not_edit(proposal, manager):
    assert services.get_proposal(proposal.id, actor=manager) is proposal
    with pytest.raises(AccessDenied):
        services.get_proposal_for_edit(proposal.id, actor=manager)


def test_a_missing_proposal_is_not_found(proposal, lead):
    with pytest.raises(NotFound):
        services.get_proposal(proposal.id + 1000, actor=lead)


def test_every_applicant_of_the_group_edits_and_lists_it(proposal, lead, colleague):
    assert services.get_proposal_for_edit(proposal.id, actor=colleague) is proposal
    assert services.proposals_of(colleague) == [proposal] == services.proposals_of(lead)
    services.update_objectives(proposal, objectives="Revised by a colleague", sustainability_plan="",
                               actor=colleague, now=NOW)
    db.session.commit()
    entry = db.session.scalar(select(AuditEntry).where(AuditEntry.action == "proposal.objectives_saved")
                              .order_by(AuditEntry.id.desc()).limit(1))
    assert entry.actor_id == colleague.id


# Submission ----------------------------------------------------------------------------------------------


def test_an_ineligible_proposal_is_refused_with_its_reasons(call, lead):
    small = make_group(lead, firms=3, institutions=1, name="Small Group")
    proposal = complete_proposal(call, small, lead)
    db.session.commit()
    before = draft_state(proposal)

    with pytest.raises(RuleViolation) as caught:
        services.submit(proposal, actor=lead, now=NOW)

    assert caught.value.message == ("The proposal is not eligible yet: The group has 4 member organisations; "
                                    "the call asks for at least 5.")
    assert draft_state(proposal) == before
    assert proposal.reference is None and proposal.versions == []
    assert outbox() == []

    # With one more institution, the same draft goes through.
    accounts.add_organisation(small, accounts.OrganisationData(
        name="Vaal Technikon", kind=OrganisationType.UNIVERSITY, locality="Vanderbijlpark"), actor=lead)
    version = services.submit(proposal, actor=lead, now=NOW)
    db.session.commit()
    assert version.number == 1 and version.institutions_count == 2


def test_an_incomplete_proposal_lists_every_failing_reason(bare, lead):
    with pytest.raises(RuleViolation) as caught:
        services.submit(bare, actor=lead, now=NOW)
    message = caught.value.message
    assert message.startswith("The proposal is not eligible yet: ")
    for reason in ("No amount is requested from the programme yet.", "The cluster: Give the sector or value chain.",
                   "Add at least one first activity.", "Add at least one budget line.",
                   "Add at least one indicator of success."):
        assert reason in message
    assert bare.status == ProposalStatus.DRAFT


def test_submit_freezes_version_1_with_a_reference_and_tells_every_group_user(proposal, lead, colleague, call):
    expected_snapshot = services.build_snapshot(proposal)

    version = services.submit(proposal, actor=colleague, now=NOW)
    db.session.commit()
    db.session.expire_all()

    reference = f"{call.reference}-P{proposal.id:05d}"
    assert (proposal.status, proposal.reference, proposal.latest_version) == (ProposalStatus.SUBMITTED, reference, 1)
    assert proposal.submitted_at == NOW
    assert proposal.current_version.id == version.id
    assert (version.number, version.submitted_at, version.submitted_by_id) == (1, NOW, colleague.id)
    assert version.content_sha256 == hashlib.sha256(version.content.encode("utf-8")).hexdigest()
    assert load_snapshot(version.content) == expected_snapshot
    assert version.eligible is True and version.verdict.eligible
    assert [c["key"] for c in json.loads(version.eligibility)][-1] == "deadline"
    assert (version.members_count, version.firms_count, version.institutions_count) == (5, 4, 1)
    assert (version.requested_amount, version.budget_total) == (REQUESTED, BUDGET_TOTAL)
    assert (version.cofinancing_cash, version.cofinancing_in_kind) == (Decimal("5000.00"), Decimal("2500.50"))

    notes = outbox()
    assert {(n.user_id, n.email) for n in notes} == {(lead.id, lead.email), (colleague.id, colleague.email)}
    assert len(notes) == 2
    for note in notes:
        assert note.subject == f"Proposal {reference} received (version 1)"
        assert reference in note.body and colleague.email in note.body
        assert version.content_sha256[:16] in note.body

    entry = db.session.scalar(select(AuditEntry).where(AuditEntry.action == "proposal.submitted"))
    assert (entry.actor_id, entry.object_id) == (colleague.id, proposal.id)
    assert entry.details_dict == {"version": 1, "sha256": version.content_sha256}


def test_submission_one_second_before_the_deadline_is_accepted(proposal, lead):
    version = services.submit(proposal, actor=lead, now=CLOSES - SECOND)
    db.session.commit()
    assert version.number == 1
    assert proposal.status == ProposalStatus.SUBMITTED
    assert proposal.submitted_at == CLOSES - SECOND


@pytest.mark.parametrize("moment", [CLOSES, CLOSES + SECOND], ids=["at-deadline", "one-second-after"])
def test_submission_at_or_after_the_deadline_is_refused(proposal, lead, moment):
    before = draft_state(proposal)

    with pytest.raises(RuleViolation) as caught:
        services.submit(proposal, actor=lead, now=moment)

    assert "deadline" in caught.value.message.lower()
    assert caught.value.message == "The deadline has passed: the call no longer takes proposals."
    assert draft_state(proposal) == before
    assert proposal.reference is None
    assert outbox() == []


@pytest.mark.parametrize("moment", [CLOSES, CLOSES + SECOND], ids=["at-deadline", "one-second-after"])
def test_a_new_version_at_or_after_the_deadline_is_refused(proposal, lead, moment):
    services.submit(proposal, actor=lead, now=NOW)
    db.session.commit()
    before = draft_state(proposal)

    with pytest.raises(RuleViolation, match="deadline"):
        services.submit(proposal, actor=lead, now=moment)

    assert draft_state(proposal) == before
    assert proposal.latest_version == 1


def test_submission_to_a_call_closed_early_is_refused(proposal, lead):
    call_services.close_call(proposal.call, actor=SETUP, now=NOW)
    db.session.commit()

    with pytest.raises(RuleViolation, match="not open for proposals"):
        services.submit(proposal, actor=lead, now=NOW + SECOND)
    assert proposal.status == ProposalStatus.DRAFT


@pytest.mark.parametrize("edit", [e for e in EDITS if e != "submit"])
@pytest.mark.parametrize("moment", [CLOSES, CLOSES + SECOND], ids=["at-deadline", "one-second-after"])
def test_editing_the_draft_after_the_deadline_is_refused_and_changes_nothing(proposal, lead, edit, moment):
    before = draft_state(proposal)

    with pytest.raises(RuleViolation, match="not open for proposals"):
        EDITS[edit](proposal, lead, moment)

    assert draft_state(proposal) == before


def test_editing_a_submitted_proposal_after_the_deadline_is_refused(proposal, lead):
    services.submit(proposal, actor=lead, now=NOW)
    db.session.commit()
    before = draft_state(proposal)

    with pytest.raises(RuleViolation, match="not open for proposals"):
        services.update_cluster(proposal, cluster_section("After hours"), actor=lead, now=CLOSES)

    assert draft_state(proposal) == before


def test_a_frozen_version_is_unchanged_by_later_edits_of_the_draft(proposal, lead):
    version = services.submit(proposal, actor=lead, now=NOW)
    db.session.commit()
    content, sha, eligibility = version.content, version.content_sha256, version.eligibility
    snapshot = copy.deepcopy(version.snapshot)
    figures = (version.members_count, version.requested_amount, version.budget_total, version.cofinancing_cash)

    later = NOW + timedelta(days=1)
    services.update_cluster(proposal, cluster_section("Renamed", sector="Glassware"), actor=lead, now=later)
    services.remove_activity(proposal, proposal.activities[0].id, actor=lead, now=later)
    services.update_budget_line(proposal, proposal.budget_lines[1].id,
                                line_data(None, cost_type="travel", amount=Decimal("9000.00")), actor=lead, now=later)
    services.set_requested_amount(proposal, Decimal("20000.00"), actor=lead, now=later)
    services.remove_cofinancing(proposal, proposal.cofinancing[0].id, actor=lead, now=later)
    services.add_indicator(proposal, indicator_data(name="Jobs"), actor=lead, now=later)
    accounts.add_organisation(proposal.group, accounts.OrganisationData(
        name="Emfuleni Municipality", kind=OrganisationType.LOCAL_GOVERNMENT, locality="Vanderbijlpark"), actor=lead)
    db.session.commit()
    db.session.expire_all()

    assert stored_content(version.id) == content
    stored = db.session.get(ProposalVersion, version.id)
    assert (stored.content_sha256, stored.eligibility) == (sha, eligibility)
    assert load_snapshot(stored.content) == snapshot
    assert stored.snapshot == snapshot
    assert (stored.members_count, stored.requested_amount, stored.budget_total, stored.cofinancing_cash) == figures
    assert snapshot["title"] == "Joint export of Vaal ceramics" and snapshot["cluster"]["sector"] != "Glassware"
    assert len(snapshot["activities"]) == 2 and snapshot["budget_lines"][0]["activity"] == "Joint stand at a trade fair"
    # ... while the draft moved on.
    draft = services.build_snapshot(proposal)
    assert draft != snapshot
    assert draft["title"] == "Renamed" and draft["requested_amount"] == Decimal("20000.00")
    assert len(draft["members"]) == 6 and len(snapshot["members"]) == 5


@pytest.mark.parametrize(("attribute", "value"), [
    ("content", "{}"), ("eligible", False), ("requested_amount", Decimal("1.00")), ("content_sha256", "0" * 64),
])
def test_the_orm_refuses_to_update_a_version(proposal, lead, attribute, value):
    version = services.submit(proposal, actor=lead, now=NOW)
    db.session.commit()
    content = version.content

    setattr(version, attribute, value)
    with pytest.raises(RuntimeError, match="frozen"):
        db.session.flush()
    db.session.rollback()

    assert stored_content(version.id) == content
    assert db.session.get(ProposalVersion, version.id).eligible is True


def test_a_second_submission_makes_version_2_and_version_1_stays(proposal, lead):
    first = services.submit(proposal, actor=lead, now=NOW)
    db.session.commit()
    first_content, reference = first.content, proposal.reference

    services.update_cluster(proposal, cluster_section("Second thoughts"), actor=lead, now=NOW + SECOND)
    second = services.submit(proposal, actor=lead, now=NOW + timedelta(hours=2))
    db.session.commit()
    db.session.expire_all()

    assert (second.number, proposal.latest_version, proposal.reference) == (2, 2, reference)
    assert proposal.status == ProposalStatus.SUBMITTED
    assert proposal.submitted_at == NOW + timedelta(hours=2)
    assert [v.number for v in proposal.versions] == [1, 2]
    assert proposal.current_version.id == second.id
    one = services.get_version(proposal, 1)
    assert one.content == first_content and one.snapshot["title"] == "Joint export of Vaal ceramics"
    assert services.get_version(proposal, 2).snapshot["title"] == "Second thoughts"
    with pytest.raises(NotFound):
        services.get_version(proposal, 3)
    assert [n.subject for n in outbox()] == [f"Proposal {reference} received (version 1)",
                                             f"Proposal {reference} received (version 2)"]
    assert audit_actions(proposal).count("proposal.submitted") == 2


# Withdrawal -----------------------------------------------------------------------------------------------


def test_withdraw_a_submitted_proposal_keeps_the_reason(proposal, lead):
    services.submit(proposal, actor=lead, now=NOW)
    db.session.commit()

    services.withdraw(proposal, reason="  Two firms left the group.  ", actor=lead, now=NOW + SECOND)
    db.session.commit()
    db.session.expire_all()

    assert proposal.status == ProposalStatus.WITHDRAWN
    assert (proposal.withdrawn_at, proposal.withdrawal_reason) == (NOW + SECOND, "Two firms left the group.")
    assert proposal.latest_version == 1 and len(proposal.versions) == 1
    entry = db.session.scalar(select(AuditEntry).where(AuditEntry.action == "proposal.withdrawn"))
    assert (entry.actor_id, entry.object_id) == (lead.id, proposal.id)
    assert entry.details_dict == {"reason": "Two firms left the group."}


def test_a_withdrawn_proposal_can_no_longer_be_edited_submitted_or_withdrawn(proposal, lead):
    services.submit(proposal, actor=lead, now=NOW)
    services.withdraw(proposal, reason="Changed our minds", actor=lead, now=NOW)
    db.session.commit()
    before = draft_state(proposal)

    for name, edit in EDITS.items():
        with pytest.raises(RuleViolation, match="withdrawn") as caught:
            edit(proposal, lead)
        assert caught.value.message, name
    with pytest.raises(RuleViolation, match="Only a submitted proposal"):
        services.withdraw(proposal, reason="Again", actor=lead, now=NOW)
    with pytest.raises(RuleViolation, match="withdrawn"):
        services.get_proposal_for_edit(proposal.id, actor=lead)

    assert draft_state(proposal) == before
    assert proposal.withdrawal_reason == "Changed our minds"


def test_a_draft_cannot_be_withdrawn(proposal, lead):
    with pytest.raises(RuleViolation, match="Only a submitted proposal"):
        services.withdraw(proposal, reason="Never mind", actor=lead, now=NOW)
    assert proposal.status == ProposalStatus.DRAFT and proposal.withdrawn_at is None


@pytest.mark.parametrize("who", INTRUDERS)
def test_only_the_groups_applicants_withdraw(request, proposal, lead, who):
    services.submit(proposal, actor=lead, now=NOW)
    db.session.commit()
    actor = request.getfixturevalue(who)

    with pytest.raises(AccessDenied):
        services.withdraw(proposal, reason="Not yours", actor=actor, now=NOW)
    assert proposal.status == ProposalStatus.SUBMITTED and proposal.withdrawal_reason is None


def test_withdrawal_is_refused_once_the_call_is_decided(proposal, lead):
    services.submit(proposal, actor=lead, now=NOW)
    call = proposal.call
    call.status, call.closed_at = CallStatus.DECIDED, CLOSES
    call.review_started_at, call.review_deadline = CLOSES, CLOSES + timedelta(days=14)
    call.decided_at = CLOSES + timedelta(days=20)
    db.session.commit()

    with pytest.raises(RuleViolation, match="decided"):
        services.withdraw(proposal, reason="Too late", actor=lead, now=CLOSES + timedelta(days=30))
    assert proposal.status == ProposalStatus.SUBMITTED


def test_withdrawal_after_the_deadline_while_the_call_is_not_decided(proposal, lead):
    services.submit(proposal, actor=lead, now=NOW)
    services.withdraw(proposal, reason="Lost our partner", actor=lead, now=CLOSES + timedelta(days=1))
    db.session.commit()
    assert proposal.status == ProposalStatus.WITHDRAWN


# The manager's override ------------------------------------------------------------------------------------


REASON = "The statutes of firm 3 show it is a branch of a large group."


@pytest.fixture
def submitted(proposal, lead):
    services.submit(proposal, actor=lead, now=NOW)
    db.session.commit()
    return proposal


@pytest.mark.parametrize(("eligible", "status"), [(False, ProposalStatus.INELIGIBLE),
                                                  (True, ProposalStatus.ELIGIBLE)])
def test_a_manager_overrides_eligibility_with_a_reason(submitted, manager, eligible, status):
    later = NOW + timedelta(days=20)
    services.override_eligibility(submitted, eligible=eligible, reason=f"  {REASON}  ", actor=manager, now=later)
    db.session.commit()
    db.session.expire_all()

    assert submitted.status == status
    assert (submitted.override_eligible, submitted.override_reason) == (eligible, REASON)
    assert (submitted.override_by_id, submitted.override_at) == (manager.id, later)
    assert submitted.current_version.eligible is True  # the computed verdict is kept
    entry = db.session.scalar(select(AuditEntry).where(AuditEntry.action == "proposal.eligibility_overridden"))
    assert (entry.actor_id, entry.object_id) == (manager.id, submitted.id)
    assert entry.details_dict == {"before": "submitted", "after": status.value, "computed": True, "reason": REASON}


def test_an_override_can_be_overridden_again(submitted, manager):
    services.override_eligibility(submitted, eligible=False, reason=REASON, actor=manager, now=NOW)
    services.override_eligibility(submitted, eligible=True, reason="The branch is independently owned after all.",
                                  actor=manager, now=NOW)
    db.session.commit()
    assert submitted.status == ProposalStatus.ELIGIBLE
    assert submitted.override_reason == "The branch is independently owned after all."
    assert audit_actions(submitted).count("proposal.eligibility_overridden") == 2


@pytest.mark.parametrize("reason", ["", "too short", "   short   ", "\n\n\n\n\n\n\n\n\n\n\n"])
def test_an_override_needs_a_reason_of_ten_characters(submitted, manager, reason):
    before = draft_state(submitted)

    with pytest.raises(RuleViolation) as caught:
        services.override_eligibility(submitted, eligible=False, reason=reason, actor=manager, now=NOW)

    assert caught.value.field == "reason"
    assert draft_state(submitted) == before
    assert submitted.status == ProposalStatus.SUBMITTED and submitted.override_eligible is None


@pytest.mark.parametrize("who", ["lead", "colleague", "outsider", "reviewer", "fund_admin"])
def test_only_a_manager_overrides(request, submitted, who):
    actor = request.getfixturevalue(who)
    with pytest.raises(AccessDenied):
        services.override_eligibility(submitted, eligible=False, reason=REASON, actor=actor, now=NOW)
    assert submitted.status == ProposalStatus.SUBMITTED and submitted.override_reason is None


def test_a_draft_has_no_eligibility_to_override(proposal, manager):
    with pytest.raises(RuleViolation, match="Only a submitted proposal"):
        services.override_eligibility(proposal, eligible=True, reason=REASON, actor=manager, now=NOW)
    assert proposal.status == ProposalStatus.DRAFT and proposal.override_eligible is None


def test_a_withdrawn_proposal_has_no_eligibility_to_override(submitted, lead, manager):
    services.withdraw(submitted, reason="We withdraw", actor=lead, now=NOW)
    db.session.commit()
    with pytest.raises(RuleViolation, match="Only a submitted proposal"):
        services.override_eligibility(submitted, eligible=True, reason=REASON, actor=manager, now=NOW)
    assert submitted.status == ProposalStatus.WITHDRAWN


def test_an_overridden_proposal_is_no_longer_editable_by_the_group(submitted, lead, manager):
    services.override_eligibility(submitted, eligible=False, reason=REASON, actor=manager, now=NOW)
    db.session.commit()
    # An ineligible proposal is not a draft any more: the group cannot change it.
    with pytest.raises(RuleViolation, match="ineligible"):
        services.update_objectives(submitted, objectives="Fix", sustainability_plan="", actor=lead, now=NOW)


# The manager's list and the iteration for the export ----------------------------------------------------


def _hand_made_ineligible_version(proposal: Proposal, lead) -> None:
    """A submitted version whose computed verdict is ineligible (submit never freezes one; an older version or
    an import might): made by hand as `submit` would, with the verdict of the draft in a too-small group."""
    snapshot = services.build_snapshot(proposal)
    verdict = services.live_eligibility(proposal, NOW)
    assert not verdict.eligible
    content = dump_snapshot(snapshot)
    proposal.versions.append(ProposalVersion(
        number=1, submitted_at=NOW, submitted_by_id=lead.id, content=content,
        content_sha256=hashlib.sha256(content.encode()).hexdigest(), eligibility=json.dumps(verdict.as_json()),
        eligible=False, members_count=len(snapshot["members"]), firms_count=3, institutions_count=0,
        requested_amount=snapshot["requested_amount"], budget_total=snapshot["budget_total"],
        cofinancing_cash=Decimal("5000.00"), cofinancing_in_kind=Decimal("2500.50"),
    ))
    proposal.latest_version, proposal.status, proposal.submitted_at = 1, ProposalStatus.SUBMITTED, NOW
    proposal.reference = f"{proposal.call.reference}-P{proposal.id:05d}"


@pytest.fixture
def submissions(call, lead, manager):
    """Four submitted proposals and a draft:
    Alpha (5 members, 10,000, submitted), Bravo (6 members, 20,000, overridden ineligible),
    Charlie (7 members, 30,000, withdrawn), Echo (3 members, 40,000, computed ineligible), Delta (a draft)."""
    made = {}
    plan = [("Alpha", "Alpha ceramics", 4, 1, "10000.00"), ("Bravo", "Bravo leather", 4, 2, "20000.00"),
            ("Charlie", "Charlie wine", 5, 2, "30000.00"), ("Delta", "Delta textiles", 4, 1, "15000.00")]
    for name, title, firms, institutions, requested in plan:
        group = make_group(lead, firms=firms, institutions=institutions, name=f"{name} Group")
        made[name] = complete_proposal(call, group, lead, title=title, requested=Decimal(requested))
    for name in ("Alpha", "Bravo", "Charlie"):
        services.submit(made[name], actor=lead, now=NOW)
    services.override_eligibility(made["Bravo"], eligible=False, reason=REASON, actor=manager, now=NOW)
    services.withdraw(made["Charlie"], reason="Merged with another group", actor=lead, now=NOW)
    echo_group = make_group(lead, firms=3, institutions=0, name="Echo Group")
    made["Echo"] = complete_proposal(call, echo_group, lead, title="Echo furniture", requested=Decimal("40000.00"))
    _hand_made_ineligible_version(made["Echo"], lead)
    db.session.commit()
    return made


def titles(rows) -> list[str]:
    return [proposal.title for proposal, _version, _group in rows]


def listed(call, manager, **filters) -> tuple[list[str], int]:
    rows, total = services.list_submissions(call, SubmissionFilter(**filters), page=1, per_page=50, actor=manager)
    return titles(rows), total


def test_the_list_shows_every_submitted_proposal_with_its_latest_version(call, manager, submissions):
    rows, total = services.list_submissions(call, SubmissionFilter(), page=1, per_page=50, actor=manager)

    assert total == 4
    assert titles(rows) == ["Alpha ceramics", "Bravo leather", "Charlie wine", "Echo furniture"]  # by reference
    for proposal, version, group in rows:
        assert version.proposal_id == proposal.id and version.number == proposal.latest_version
        assert group.id == proposal.group_id
    alpha = rows[0]
    assert (alpha[1].members_count, alpha[1].requested_amount, alpha[2].name) == (5, Decimal("10000.00"),
                                                                                 "Alpha Group")


def test_a_resubmitted_proposal_is_listed_once_with_its_newest_version(call, lead, manager, submissions):
    services.submit(submissions["Alpha"], actor=lead, now=NOW + SECOND)
    db.session.commit()

    rows, total = services.list_submissions(call, SubmissionFilter(search="alpha"), page=1, per_page=50,
                                            actor=manager)
    assert total == 1 and len(rows) == 1
    assert rows[0][1].number == 2


@pytest.mark.parametrize(("status", "expected"), [
    ("submitted", ["Alpha ceramics", "Echo furniture"]),
    ("ineligible", ["Bravo leather"]),
    ("withdrawn", ["Charlie wine"]),
    ("eligible", []),
    ("draft", []),
])
def test_filter_by_status(call, manager, submissions, status, expected):
    assert listed(call, manager, status=status) == (expected, len(expected))


def test_filter_by_eligibility_computed_and_overridden(call, manager, submissions):
    # Bravo was computed eligible but overridden; Echo was computed ineligible.
    assert listed(call, manager, eligibility="eligible") == (["Alpha ceramics", "Charlie wine"], 2)
    assert listed(call, manager, eligibility="ineligible") == (["Bravo leather", "Echo furniture"], 2)

    services.override_eligibility(submissions["Echo"], eligible=True, reason="A third institution joined late.",
                                  actor=manager, now=NOW)
    db.session.commit()
    assert listed(call, manager, eligibility="eligible") == (["Alpha ceramics", "Charlie wine", "Echo furniture"], 3)
    assert listed(call, manager, eligibility="ineligible") == (["Bravo leather"], 1)
    assert listed(call, manager, eligibility="eligible", status="eligible") == (["Echo furniture"], 1)


def test_search_by_title_group_and_reference_ignoring_case(call, manager, submissions):
    assert listed(call, manager, search="LEATHER") == (["Bravo leather"], 1)
    assert listed(call, manager, search="  charlie group ") == (["Charlie wine"], 1)
    assert listed(call, manager, search=submissions["Echo"].reference.lower()) == (["Echo furniture"], 1)
    assert listed(call, manager, search=call.reference) == (
        ["Alpha ceramics", "Bravo leather", "Charlie wine", "Echo furniture"], 4)
    assert listed(call, manager, search="delta") == ([], 0)  # a draft is never listed
    assert listed(call, manager, search="nothing like this") == ([], 0)


@pytest.mark.parametrize(("sort", "descending", "expected"), [
    ("requested", True, ["Echo furniture", "Charlie wine", "Bravo leather", "Alpha ceramics"]),
    ("requested", False, ["Alpha ceramics", "Bravo leather", "Charlie wine", "Echo furniture"]),
    ("members", False, ["Echo furniture", "Alpha ceramics", "Bravo leather", "Charlie wine"]),
    ("group", True, ["Echo furniture", "Charlie wine", "Bravo leather", "Alpha ceramics"]),
    ("title", False, ["Alpha ceramics", "Bravo leather", "Charlie wine", "Echo furniture"]),
    ("reference", True, ["Echo furniture", "Charlie wine", "Bravo leather", "Alpha ceramics"]),
    ("no-such-sort", False, ["Alpha ceramics", "Bravo leather", "Charlie wine", "Echo furniture"]),
])
def test_sorting(call, manager, submissions, sort, descending, expected):
    assert listed(call, manager, sort=sort, descending=descending) == (expected, 4)


def test_pagination_counts_every_match_on_every_page(call, manager, submissions):
    pages = [services.list_submissions(call, SubmissionFilter(sort="requested"), page=page, per_page=3,
                                       actor=manager) for page in (1, 2, 3)]

    assert [total for _rows, total in pages] == [4, 4, 4]
    assert [titles(rows) for rows, _total in pages] == [
        ["Alpha ceramics", "Bravo leather", "Charlie wine"], ["Echo furniture"], []]
    rows, total = services.list_submissions(call, SubmissionFilter(eligibility="ineligible"), page=1, per_page=1,
                                            actor=manager)
    assert (titles(rows), total) == (["Bravo leather"], 2)


def test_another_calls_submissions_are_not_listed(call, lead, manager, submissions):
    other_call = make_call()
    db.session.commit()
    assert listed(other_call, manager) == ([], 0)


@pytest.mark.parametrize("who", ["lead", "reviewer", "fund_admin"])
def test_only_a_manager_lists_and_iterates(request, call, submissions, who):
    actor = request.getfixturevalue(who)
    with pytest.raises(AccessDenied):
        services.list_submissions(call, SubmissionFilter(), page=1, per_page=10, actor=actor)
    with pytest.raises(AccessDenied):
        list(services.iter_submissions(call, actor=actor))


def test_iter_submissions_yields_every_submitted_proposal_once_across_batches(call, lead, manager):
    proposals = []
    for number in range(1, 6):
        group = make_group(lead, name=f"Group {number}")
        proposal = complete_proposal(call, group, lead, title=f"Proposal {number}")
        services.submit(proposal, actor=lead, now=NOW)
        proposals.append(proposal)
    draft_group = make_group(lead, name="Draft Group")
    complete_proposal(call, draft_group, lead, title="Still a draft")
    services.submit(proposals[2], actor=lead, now=NOW + SECOND)  # a second version: still one row
    db.session.commit()

    rows = list(services.iter_submissions(call, actor=manager, batch=2))

    assert [row.id for row in rows] == [p.id for p in proposals]
    assert len({row.id for row in rows}) == 5
    by_id = {row.id: row for row in rows}
    assert by_id[proposals[2].id].latest_version == 2
    for proposal in proposals:
        row = by_id[proposal.id]
        assert (row.reference, row.title, row.group_name) == (proposal.reference, proposal.title,
                                                               proposal.group.name)
        assert row.requested_amount == REQUESTED and isinstance(row.requested_amount, Decimal)
        assert load_snapshot(row.content)["title"] == proposal.title
    # Batches of 2 over 5 rows and batches larger than the whole give the same rows.
    assert [row.id for row in services.iter_submissions(call, actor=manager, batch=500)] == [r.id for r in rows]
    assert [row.id for row in services.iter_submissions(call, actor=manager, batch=1)] == [r.id for r in rows]


@pytest.mark.parametrize("who", ["lead", "reviewer", "fund_admin"])
def test_only_a_manager_reads_the_page_of_submissions(request, call, submissions, who):
    with pytest.raises(AccessDenied):
        services.submissions_page(call, SubmissionFilter(), page=1, per_page=10, actor=request.getfixturevalue(who))


def test_the_page_of_submissions_counts_and_totals_what_matches(call, manager, submissions):
    found = services.submissions_page(call, SubmissionFilter(), page=1, per_page=2, actor=manager)
    assert (found.count, found.requested) == (4, Decimal("100000.00"))
    assert [row.title for row in found.rows] == ["Alpha ceramics", "Bravo leather"]
    assert (found.rows[0].group_name, found.rows[0].members_count, found.rows[0].requested_amount) == (
        "Alpha Group", 5, Decimal("10000.00"))
    ineligible = services.submissions_page(call, SubmissionFilter(eligibility="ineligible"), page=1, per_page=50,
                                           actor=manager)
    assert (ineligible.count, ineligible.requested) == (2, Decimal("60000.00"))


def test_the_kept_figures_move_with_every_submission(call, lead, manager, submissions):
    """The unfiltered count and total are kept between requests: a new submission and a resubmission with
    another amount, made through the services, show at the next reading."""
    def figures():
        found = services.submissions_page(call, SubmissionFilter(), page=1, per_page=50, actor=manager)
        return found.count, found.requested

    assert figures() == (4, Decimal("100000.00"))
    services.submit(submissions["Delta"], actor=lead, now=NOW)
    db.session.commit()
    assert figures() == (5, Decimal("115000.00"))
    services.set_requested_amount(submissions["Alpha"], Decimal("12000.00"), actor=lead, now=NOW + SECOND)
    services.submit(submissions["Alpha"], actor=lead, now=NOW + SECOND)
    db.session.commit()
    assert figures() == (5, Decimal("117000.00"))
    # A withdrawal keeps the proposal listed (and counted), with its status.
    services.withdraw(submissions["Delta"], reason="Merged with another group", actor=lead, now=NOW + SECOND)
    db.session.commit()
    assert figures() == (5, Decimal("117000.00"))
    assert services.submissions_page(call, SubmissionFilter(status="withdrawn"), page=1, per_page=50,
                                     actor=manager).count == 2


def test_the_submissions_page_shows_a_new_submission_at_the_next_request(client, login, call, lead, manager,
                                                                          submissions):
    login(manager)
    page = client.get(f"/manage/calls/{call.id}/submissions").get_data(as_text=True)
    assert "<strong>4</strong> submissions" in page and "Delta textiles" not in page
    assert f'href="/proposals/{submissions["Alpha"].id}"' in page
    services.submit(submissions["Delta"], actor=lead, now=NOW)
    db.session.commit()
    page = client.get(f"/manage/calls/{call.id}/submissions").get_data(as_text=True)
    assert "<strong>5</strong> submissions" in page and "Delta textiles" in page
    assert "115,000.00" in page or "115 000.00" in page or "115000.00" in page
