"""Staged calls (issue 18, seed 004 section 4): the stages made from the rules, opened in turn, reviewed, ranked and
decided each on its own; passing a stage invites the group to the next, whose draft starts from the proposal that
passed; only invited groups take part in a later stage; the cap per group holds across all stages (one cent over
refused, exactly at the cap accepted); a one-stage call is as before."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from sqlalchemy import select

from programme.calls import services as call_services
from programme.calls import staging
from programme.calls.models import CallStatus
from programme.core.access import AccessDenied, RuleViolation
from programme.core.notifications import Notification
from programme.extensions import db
from programme.funding.models import Initiative
from programme.proposals import services as proposals
from programme.proposals.models import Proposal, ProposalStatus
from programme.reviews import services as reviews
from programme.reviews.models import Decision, Outcome
from tests.calls.staged import (
    PERIODS,
    T0,
    add_indicator,
    complete_budget,
    concept_note,
    decide_stage,
    during,
    make_staged,
    review_stage,
    review_time,
)
from tests.proposals.builders import make_call

pytestmark = pytest.mark.usefixtures("app")


def _through_concept(world, *, scores: dict[int, str] | None = None):
    """Both groups submit a concept note; the first scores 4 (passes), the second as ``scores`` says (1: fails)."""
    concept = world.stages[0]
    notes = [concept_note(concept, group, lead, title=f"Network plan {n}")
             for n, (group, lead) in enumerate(zip(world.groups, world.leads, strict=True), start=1)]
    review_stage(world, concept, scores or {notes[0].id: "4", notes[1].id: "1"}, index=1)
    decide_stage(world, concept, index=1)
    return notes


def _invited(stage, group) -> Proposal | None:
    return db.session.scalar(select(Proposal).where(Proposal.call_id == stage.id, Proposal.group_id == group.id))


def test_a_staged_call_has_one_call_per_stage_with_the_stage_rules():
    world = make_staged(groups=0, open_first=False)
    parent, stages = world.parent, world.stages
    assert parent.is_staged and not parent.is_stage
    assert [s.reference for s in stages] == [f"{parent.reference}-S{n}" for n in (1, 2, 3)]
    assert [s.stage_key for s in stages] == ["concept", "planning", "implementation"]
    concept, planning, implementation = stages
    assert concept.budget == Decimal("0") and concept.per_initiative_cap == Decimal("0")
    assert [c.key for c in concept.criteria] == ["common_interest", "precise_objective"]
    assert concept.rules.eligibility.required_sections == ["cluster", "activities"]
    assert planning.budget == Decimal("120000.00") and planning.per_initiative_cap == Decimal("12000.00")
    assert planning.rules.funding.startup_grant.share == Decimal("0.75")
    assert planning.rules.scoring.tie_break == ["broker", "cooperation"]
    assert [c.key for c in implementation.criteria] == [c.key for c in parent.criteria]
    # The parent's timetable spans its stages; it is listed publicly (the stages are reached from its page).
    assert parent.opens_at == PERIODS[0][0] and parent.closes_at == PERIODS[2][1]


def test_the_parent_takes_no_proposals_and_opens_with_its_first_stage():
    world = make_staged(groups=1, open_first=False)
    with pytest.raises(RuleViolation, match="stage by stage"):
        call_services.open_call(world.parent, actor=world.manager, now=T0)
    with pytest.raises(RuleViolation, match="once the one before it is decided"):
        call_services.open_call(world.stages[1], actor=world.manager, now=T0)
    call_services.open_call(world.stages[0], actor=world.manager, now=T0)
    assert world.parent.status == CallStatus.OPEN and not world.parent.is_accepting(during(1))
    with pytest.raises(RuleViolation, match="not open for proposals"):
        proposals.start_proposal(world.parent, world.groups[0], title="On the parent", actor=world.leads[0],
                                 now=during(1))
    public = call_services.public_calls()
    assert world.parent in public and not set(world.stages) & set(public)


def test_stage_dates_keep_the_stages_in_order():
    world = make_staged(groups=0, open_first=False)
    concept, planning, _ = world.stages
    with pytest.raises(RuleViolation, match="before the stage before it"):
        staging.set_stage_dates(planning, opens_at=PERIODS[0][1] - (PERIODS[0][1] - PERIODS[0][0]) / 2,
                                closes_at=PERIODS[1][1], actor=world.manager)
    with pytest.raises(RuleViolation, match="close after it opens"):
        staging.set_stage_dates(concept, opens_at=PERIODS[0][1], closes_at=PERIODS[0][0], actor=world.manager)


def test_passing_the_concept_note_invites_the_group_with_its_content_copied():
    world = make_staged()
    passed, failed = _through_concept(world)
    concept, planning, _ = world.stages
    assert concept.status == CallStatus.DECIDED
    assert passed.status == ProposalStatus.FUNDED and failed.status == ProposalStatus.REJECTED
    decision = db.session.scalar(select(Decision).where(Decision.proposal_id == passed.id))
    assert decision.amount == Decimal("0.00")  # a concept note awards no money, and opens no initiative
    assert db.session.scalar(select(Initiative).where(Initiative.proposal_id == passed.id)) is None
    draft = _invited(planning, world.groups[0])
    assert draft is not None and draft.status == ProposalStatus.DRAFT and draft.previous_proposal_id == passed.id
    assert _invited(planning, world.groups[1]) is None
    # The draft starts from the concept note.
    assert (draft.title, draft.sector, draft.objectives) == (passed.title, passed.sector, passed.objectives)
    assert [(a.title, a.cost) for a in draft.activities] == [(a.title, a.cost) for a in passed.activities]
    assert [a.id for a in draft.activities] != [a.id for a in passed.activities]
    note = db.session.scalar(select(Notification).where(Notification.user_id == world.leads[0].id,
                                                        Notification.subject.like("Invited to the next stage%")))
    assert note is not None and planning.reference in note.body
    decided = db.session.scalar(select(Notification).where(Notification.user_id == world.leads[0].id,
                                                           Notification.subject.like("Decision on %")))
    assert "It passes this stage" in decided.body and "start-up grant" not in decided.body
    # The concept note itself is unchanged (the copy is a new draft).
    assert passed.status == ProposalStatus.FUNDED and len(passed.versions) == 1


def test_only_invited_groups_take_part_in_a_later_stage():
    world = make_staged()
    _through_concept(world)
    planning = world.stages[1]
    call_services.open_call(planning, actor=world.manager, now=review_time(1))
    with pytest.raises(RuleViolation, match="Only the groups invited"):
        proposals.start_proposal(planning, world.groups[1], title="Uninvited", actor=world.leads[1], now=during(2))
    draft = _invited(planning, world.groups[0])
    complete_budget(draft, world.leads[0], index=2, requested=Decimal("12000.00"))
    version = proposals.submit(draft, actor=world.leads[0], now=during(2))
    assert version.requested_amount == Decimal("12000.00")


def test_a_stage_asks_its_own_limits_and_share():
    world = make_staged(groups=1)
    passed = _through_concept_one(world)
    planning = world.stages[1]
    call_services.open_call(planning, actor=world.manager, now=review_time(1))
    draft = _invited(planning, world.groups[0])
    # 75 % of a 20,000.00 budget is 15,000.00, but the stage pays at most 12,000.00 per network.
    complete_budget(draft, world.leads[0], index=2, requested=Decimal("12000.01"))
    verdict = proposals.live_eligibility(draft, during(2))
    assert not verdict.eligible and "12,000.00" in " ".join(c.reason for c in verdict.failures)
    # 75 % of 10,000.00 is 7,500.00: the support share of the stage.
    complete_budget(draft, world.leads[0], index=2, requested=Decimal("7500.01"), cost=Decimal("10000.00"))
    assert "75 %" in " ".join(c.reason for c in proposals.live_eligibility(draft, during(2)).failures)
    complete_budget(draft, world.leads[0], index=2, requested=Decimal("7500.00"), cost=Decimal("10000.00"))
    assert proposals.live_eligibility(draft, during(2)).eligible
    assert passed.id == draft.previous_proposal_id


def _through_concept_one(world):
    concept = world.stages[0]
    note = concept_note(concept, world.groups[0], world.leads[0])
    review_stage(world, concept, {note.id: "4"}, index=1)
    decide_stage(world, concept, index=1)
    return note


def _through_planning(world, *, requested: Decimal = Decimal("12000.00")):
    """The first group through the concept note and the planning stage (awarded ``requested``)."""
    _through_concept_one(world)
    planning, implementation = world.stages[1], world.stages[2]
    call_services.open_call(planning, actor=world.manager, now=review_time(1))
    draft = _invited(planning, world.groups[0])
    complete_budget(draft, world.leads[0], index=2, requested=requested)
    proposals.submit(draft, actor=world.leads[0], now=during(2))
    review_stage(world, planning, {draft.id: "4"}, index=2)
    made = decide_stage(world, planning, index=2)
    call_services.open_call(implementation, actor=world.manager, now=review_time(2))
    full = _invited(implementation, world.groups[0])
    complete_budget(full, world.leads[0], index=3, requested=Decimal("138000.00"), cost=Decimal("300000.00"))
    add_indicator(full, world.leads[0], index=3)
    return draft, made, full


def test_ranking_and_decisions_work_per_stage_and_an_intermediate_award_is_a_grant_at_the_stage_share():
    world = make_staged(groups=1)
    planned, made, full = _through_planning(world)
    assert planned.status == ProposalStatus.FUNDED
    assert [i.proposal_id for i in made] == [planned.id]
    grant = made[0].startup_grant
    assert grant.committed == Decimal("12000.00") and grant.external_share == Decimal("0.75")
    results = reviews.results_of(world.stages[1])
    assert set(results.rows) == {planned.id}  # the ranking of a stage holds that stage's proposals only
    assert full.previous_proposal_id == planned.id


@pytest.mark.parametrize(("requested", "refused"), [(Decimal("138000.01"), True), (Decimal("138000.00"), False)])
def test_the_cap_per_group_holds_across_all_stages(requested, refused):
    world = make_staged(groups=1)
    _, _, full = _through_planning(world)
    implementation = world.stages[2]
    complete_budget(full, world.leads[0], index=3, requested=requested, cost=Decimal("300000.00"))
    proposals.submit(full, actor=world.leads[0], now=during(3))
    review_stage(world, implementation, {full.id: "4"}, index=3)
    moment = review_time(3) + timedelta(days=1)
    if refused:  # 12,000.00 in planning + 138,000.01 is one cent over the 150,000.00 per network
        with pytest.raises(RuleViolation, match="0.01 over the staged call's cap per group") as caught:
            reviews.record_decision(full, outcome=Outcome.FUNDED, reason="Strong plan.", actor=world.manager,
                                    now=moment)
        assert caught.value.field == "outcome"
        reviews.decide_as_ranked(implementation, actor=world.manager, now=moment)
        decision = db.session.scalar(select(Decision).where(Decision.proposal_id == full.id))
        assert decision.outcome == Outcome.RESERVE and "cap per group" in decision.reason
    else:
        decision = reviews.record_decision(full, outcome=Outcome.FUNDED, reason="Strong plan.",
                                           actor=world.manager, now=moment)
        assert decision.amount == Decimal("138000.00")
        made = reviews.publish_decisions(implementation, actor=world.manager, now=moment)
        assert made[0].startup_grant.committed == Decimal("138000.00")
        assert made[0].startup_grant.external_share == Decimal("0.5")
        # The last stage invites nobody further.
        assert staging.next_stage(implementation) is None


def test_a_one_stage_call_is_as_before():
    call = make_call()
    assert not call.is_staged and not call.is_stage and call.parent_id is None and call.stage_index is None
    assert call.rules.stages is None and staging.stages_of(call) == []
    assert staging.group_commitment(call, 1, funded_statuses=()) is None
    assert staging.next_stage(call) is None
    staging.refuse_unless_invited(call)  # nothing to refuse
    assert call in call_services.public_calls()


def test_a_staged_call_needs_its_manager():
    world = make_staged(groups=0, open_first=False)
    with pytest.raises(AccessDenied):
        staging.set_stage_dates(world.stages[0], opens_at=PERIODS[0][0], closes_at=PERIODS[0][1],
                                actor=world.reviewers[0])


def test_the_initiative_page_shows_the_networks_way_through_the_stages(client, login, clock):
    """Each stage that pays opens an initiative of its own; each initiative's page shows the network's stages, the
    initiatives they opened and what was awarded over all stages against the limit per network."""
    import re

    world = make_staged(groups=1)
    planned, made, full = _through_planning(world)
    implementation = world.stages[2]
    proposals.submit(full, actor=world.leads[0], now=during(3))
    review_stage(world, implementation, {full.id: "4"}, index=3)
    moment = review_time(3) + timedelta(days=1)
    reviews.record_decision(full, outcome=Outcome.FUNDED, reason="Strong plan.", actor=world.manager, now=moment)
    last = reviews.publish_decisions(implementation, actor=world.manager, now=moment)[0]
    first = made[0]
    world.manager.email, world.leads[0].email = "stage.manager@example.org", "stage.lead@example.org"
    db.session.flush()
    clock(moment + timedelta(days=2))

    def text(path: str) -> str:
        response = client.get(path)
        assert response.status_code == 200, path
        return " ".join(re.sub(r"<[^>]+>", " ", response.get_data(as_text=True)).split())

    for person in (world.manager, world.leads[0]):
        login(person)
        page = text(f"/initiatives/{last.id}")
        assert "The network's stages" in page
        assert "1. Concept note" in page and "none (no money at this stage)" in page
        assert f"2. Feasibility and business plan {world.stages[1].reference} {planned.reference}" in page
        assert first.reference in page and "this initiative" in page
        assert "EUR 12,000.00" in page and "EUR 138,000.00" in page
        assert "Awarded over all stages, of the limit per network of EUR 150,000.00 EUR 150,000.00" in page
        earlier = text(f"/initiatives/{first.id}")
        assert "The network's stages" in earlier and last.reference in earlier
        client.post("/logout")
