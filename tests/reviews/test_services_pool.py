"""The reviewer pool and conflicts of interest, through the services: who may join, who may leave, the
automatic conflicts (own organisation, acting for the group), declared conflicts (an organisation, and so
every group it is in; a proposal), what a declaration does to existing assignments and to the results, and
that a conflicted reviewer is never assigned and cannot open the review."""

from __future__ import annotations

import json
from decimal import Decimal

import pytest
from sqlalchemy import select

from programme.accounts.models import GroupOrganisation, GroupRole, GroupUser
from programme.core.access import AccessDenied, NotFound, Role, RuleViolation
from programme.core.audit import AuditEntry
from programme.core.notifications import Notification
from programme.extensions import db
from programme.proposals.models import ProposalStatus
from programme.reviews import services
from programme.reviews.models import CallReviewer, ConflictOfInterest, Review
from tests.reviews.world import AFTER, DURING, START, assign, build, card, review_of, score_with, submit_review, user


def _pairs(world) -> set[tuple[int, int]]:
    return services.conflicts(world.call).pairs


def _share(organisation_id: int, group) -> None:
    """The organisation becomes a member of another group as well."""
    db.session.add(GroupOrganisation(group_id=group.id, organisation_id=organisation_id))
    db.session.flush()


# --------------------------------------------------------------------------------------------- the pool


def test_only_users_with_the_reviewer_role_join_and_only_once(app):
    world = build(proposals=1, reviewers=2, pool=False, start=False)
    first, second = world.reviewers
    with pytest.raises(RuleViolation, match="does not hold the reviewer role") as refused:
        services.add_reviewer(world.call, world.leads[0], actor=world.manager, now=START)
    assert refused.value.field == "user"
    with pytest.raises(AccessDenied):
        services.add_reviewer(world.call, first, actor=first, now=START)

    entry = services.add_reviewer(world.call, first, actor=world.manager, now=START)
    assert entry.user_id == first.id and entry.added_by_id == world.manager.id
    with pytest.raises(RuleViolation, match="already a reviewer of this call") as duplicate:
        services.add_reviewer(world.call, first, actor=world.manager, now=START)
    assert duplicate.value.field == "user"
    assert [e.user_id for e in services.pool(world.call)] == [first.id]
    assert [u.id for u in services.reviewer_candidates(world.call, actor=world.manager)] == [second.id]
    welcome = db.session.scalars(select(Notification.subject).where(
        Notification.user_id == first.id, Notification.subject.like("You are a reviewer%"))).all()
    assert welcome == [f"You are a reviewer of {world.call.reference}"]


def test_a_reviewer_leaves_the_pool_only_before_starting_a_review(app):
    world = build(proposals=2, reviewers=3)
    p1, p2 = world.proposals
    r1, r2, _ = world.reviewers
    assign(world, p1, r1)
    assign(world, p2, r1, r2)
    services.save_review(review_of(p2, r2), scores={"cooperation": "4"}, justifications={}, submit=False,
                         actor=r2, now=DURING)

    with pytest.raises(RuleViolation, match="started or submitted 1 review"):
        services.remove_reviewer(world.call, r2.id, actor=world.manager, now=DURING)
    token = world.call.results_token
    services.remove_reviewer(world.call, r1.id, actor=world.manager, now=DURING)
    db.session.flush()
    assert db.session.scalars(select(Review.reviewer_id).where(Review.call_id == world.call.id)).all() == [r2.id]
    assert p1.status == ProposalStatus.ELIGIBLE  # its only assignment went with the reviewer
    assert p2.status == ProposalStatus.UNDER_REVIEW
    assert world.call.results_token != token
    assert r1.id not in {e.user_id for e in services.pool(world.call)}
    with pytest.raises(NotFound):
        services.remove_reviewer(world.call, r1.id, actor=world.manager, now=DURING)


def test_a_reviewer_outside_the_pool_has_no_place_in_it(app):
    world = build(proposals=1, reviewers=1)
    outsider = user("outsider@review.test", Role.REVIEWER)
    with pytest.raises(NotFound):
        services.pool_entry(world.call, actor=outsider)
    with pytest.raises(NotFound):
        services.declare_conflict(world.call, proposal_id=world.proposals[0].id, actor=outsider, now=DURING)
    with pytest.raises(RuleViolation, match="from the call's pool"):
        services.assign_reviewer(world.call, world.proposals[0], outsider.id, actor=world.manager, now=DURING)


# ---------------------------------------------------------------------------------- automatic conflicts


def test_a_reviewer_whose_organisation_is_a_member_is_in_conflict_with_every_group_it_is_in(app):
    world = build(proposals=3, reviewers=1)
    g1, g2, _ = world.groups
    p1, p2, p3 = world.proposals
    firm = g1.organisations[0]
    insider = user("insider@review.test", Role.REVIEWER, organisation_id=firm.id)
    services.add_reviewer(world.call, insider, actor=world.manager, now=DURING)

    found = services.conflicts(world.call)
    assert found.of_reviewer(insider.id) == {p1.id: [f"works for {firm.name}, a member of the group"]}
    assert found.of_reviewer(world.reviewers[0].id) == {}
    _share(firm.id, g2)
    assert set(services.conflicts(world.call).of_reviewer(insider.id)) == {p1.id, p2.id}
    assert services.is_conflicted(world.call, insider.id, p2.id)
    assert not services.is_conflicted(world.call, insider.id, p3.id)


def test_a_reviewer_who_acts_for_a_group_is_in_conflict_with_its_proposal(app):
    world = build(proposals=2, reviewers=2)
    member = world.reviewers[0]
    db.session.add(GroupUser(group_id=world.groups[1].id, user_id=member.id, role=GroupRole.MEMBER))
    db.session.flush()
    assert services.conflicts(world.call).of_reviewer(member.id) == {
        world.proposals[1].id: ["acts for the applicant group"]}
    assert _pairs(world) == {(member.id, world.proposals[1].id)}


# ----------------------------------------------------------------------------------- declared conflicts


def test_a_declared_organisation_reaches_every_group_that_has_it(app):
    world = build(proposals=3, reviewers=2)
    g1, _, g3 = world.groups
    p1, p2, p3 = world.proposals
    reviewer = world.reviewers[0]
    institution = g1.organisations[-1]
    _share(institution.id, g3)
    assert institution in services.organisations_of_call(world.call)

    declared = services.declare_conflict(world.call, organisation_id=institution.id, note="  I advise them  ",
                                         actor=reviewer, now=DURING)
    assert declared.note == "I advise them"
    mine = services.conflicts(world.call).of_reviewer(reviewer.id)
    why = f"declared a conflict with {institution.name}, a member of the group"
    assert mine == {p1.id: [why], p3.id: [why]}
    assert not services.is_conflicted(world.call, reviewer.id, p2.id)
    assert [d.id for d in services.declarations_of(world.call, reviewer.id)] == [declared.id]
    with pytest.raises(RuleViolation, match="declared this conflict already") as again:
        services.declare_conflict(world.call, organisation_id=institution.id, actor=reviewer, now=DURING)
    assert again.value.field == "organisation_id"


def test_a_declared_proposal_conflict_concerns_that_proposal_only(app):
    world = build(proposals=2, reviewers=2)
    reviewer = world.reviewers[1]
    services.declare_conflict(world.call, proposal_id=world.proposals[1].id, actor=reviewer, now=DURING)
    assert _pairs(world) == {(reviewer.id, world.proposals[1].id)}
    assert services.conflicts(world.call).of_proposal(world.proposals[1].id) == {
        reviewer.id: ["declared a conflict with the proposal"]}


@pytest.mark.parametrize("kwargs, field", [
    ({}, "organisation_id"),
    ({"organisation_id": 1, "proposal_id": 1}, "organisation_id"),
    ({"organisation_id": 10**6}, "organisation_id"),
    ({"proposal_id": 10**6}, "proposal_id"),
])
def test_a_declaration_names_one_known_organisation_or_proposal(app, kwargs, field):
    world = build(proposals=1, reviewers=1)
    with pytest.raises(RuleViolation) as refused:
        services.declare_conflict(world.call, actor=world.reviewers[0], now=DURING, **kwargs)
    assert refused.value.field == field
    assert db.session.scalar(select(ConflictOfInterest.id)) is None


def test_declaring_a_conflict_removes_the_assignments_it_forbids_even_a_submitted_review(app):
    world = build(proposals=2, reviewers=4)
    p1, p2 = world.proposals
    r1, r2, r3, r4 = world.reviewers
    assign(world, p1, r1, r2, r3)
    assign(world, p2, r1, r2, r4)
    submit_review(review_of(p1, r1), card("5"))
    submit_review(review_of(p1, r2), card("3"))
    submit_review(review_of(p1, r3), card("4"))
    assert p1.status == ProposalStatus.SCORED
    before = services.call_results(world.call, actor=world.manager)
    # (5 + 3 + 4) / 3 = 4 on each criterion, weights summing to 3: a total of 12.
    assert before.scores[p1.id].total == 12 and set(before.scores[p1.id].reviewers) == {r1.id, r2.id, r3.id}

    services.declare_conflict(world.call, organisation_id=world.groups[0].organisations[0].id, actor=r1, now=DURING)
    db.session.flush()
    assert {(r.reviewer_id, r.proposal_id) for r in db.session.scalars(select(Review))} == {
        (r2.id, p1.id), (r3.id, p1.id), (r1.id, p2.id), (r2.id, p2.id), (r4.id, p2.id)}
    # Two submitted reviews of two, fewer than the three the rules ask for: under review again.
    assert p1.status == ProposalStatus.UNDER_REVIEW
    after = services.call_results(world.call, actor=world.manager)
    assert after is not before and after.token != before.token
    assert set(after.scores[p1.id].reviewers) == {r2.id, r3.id}
    assert after.scores[p1.id].total == Decimal("10.5")  # (3 + 4) / 2 = 3.5 on each criterion
    entry = db.session.scalars(select(AuditEntry).where(AuditEntry.action == "review.conflict_declared")).one()
    assert json.loads(entry.details)["reviews_removed"] == [{"proposal_id": p1.id, "status": "submitted"}]

    # The last assignment of a proposal gone: it waits for reviewers again.
    assign(world, p2, world.reviewers[2])
    for reviewer in (r1, r2, r3, r4):
        services.declare_conflict(world.call, proposal_id=p2.id, actor=reviewer, now=DURING)
    assert world.reviews_of(p2) == []
    assert p2.status == ProposalStatus.ELIGIBLE


def test_a_declaration_is_withdrawn_by_its_author_only(app):
    world = build(proposals=1, reviewers=2)
    proposal = world.proposals[0]
    mine, other = world.reviewers
    declared = services.declare_conflict(world.call, proposal_id=proposal.id, actor=mine, now=DURING)
    with pytest.raises(NotFound):
        services.withdraw_conflict(world.call, declared.id, actor=other, now=DURING)
    services.withdraw_conflict(world.call, declared.id, actor=mine, now=DURING)
    db.session.flush()
    assert services.declarations_of(world.call, mine.id) == []
    assert not services.is_conflicted(world.call, mine.id, proposal.id)
    assert len(assign(world, proposal, mine)) == 1
    actions = db.session.scalars(select(AuditEntry.action).where(AuditEntry.action.like("review.conflict_%"))).all()
    assert actions == ["review.conflict_declared", "review.conflict_withdrawn"]


# ------------------------------------------------------------------ a conflict keeps the reviewer away


def test_a_conflicted_reviewer_is_never_assigned_by_hand_or_automatically(app):
    world = build(proposals=2, reviewers=4)
    p1, p2 = world.proposals
    conflicted = world.reviewers[0]
    services.declare_conflict(world.call, proposal_id=p1.id, actor=conflicted, now=DURING)
    with pytest.raises(RuleViolation, match=f"in conflict with {p1.reference}: declared a conflict") as refused:
        assign(world, p1, conflicted)
    assert refused.value.field == "reviewer_id"
    moved = assign(world, p1, world.reviewers[1])[0]
    with pytest.raises(RuleViolation, match="in conflict"):
        services.move_assignment(moved, conflicted.id, actor=world.manager, now=DURING)

    services.auto_assign(world.call, actor=world.manager, now=DURING)
    assert conflicted.id not in {r.reviewer_id for r in world.reviews_of(p1)}
    assert len(world.reviews_of(p1)) == 3 and len(world.reviews_of(p2)) == 3


def test_a_reviewer_who_comes_into_conflict_after_assignment_can_no_longer_open_or_score_the_review(app):
    world = build(proposals=1, reviewers=1)
    reviewer = world.reviewers[0]
    review = assign(world, world.proposals[0], reviewer)[0]
    assert services.get_review(review.id, actor=reviewer) is review
    # The reviewer takes a job with a member of the group: an automatic conflict, nothing declared.
    reviewer.organisation_id = world.groups[0].organisations[1].id
    db.session.flush()
    with pytest.raises(NotFound):
        services.get_review(review.id, actor=reviewer)
    with pytest.raises(NotFound):
        services.save_review(review, scores=card("4"), justifications={}, submit=False, actor=reviewer, now=DURING)
    assert services.get_review(review.id, actor=world.manager) is review  # the manager sees it, to move it


def test_the_pool_is_private_to_its_members_and_lists_names_in_order(app):
    world = build(proposals=1, reviewers=3)
    names = [e.user.name for e in services.pool(world.call)]
    assert names == sorted(names)
    assert db.session.scalar(select(CallReviewer).where(CallReviewer.user_id == world.reviewers[0].id)) is not None
    with pytest.raises(AccessDenied):
        services.pool_entry(world.call, actor=world.leads[0])


def test_no_reviewer_leaves_the_pool_of_a_decided_call(app):
    world = build(proposals=1, reviewers=4)
    score_with(world, world.proposals[0], [card("4")] * 3)
    assign(world, world.proposals[0], world.reviewers[3])  # never started
    services.decide_as_ranked(world.call, actor=world.manager, now=DURING)
    services.publish_decisions(world.call, actor=world.manager, now=AFTER)
    with pytest.raises(RuleViolation, match="decided"):
        services.remove_reviewer(world.call, world.reviewers[3].id, actor=world.manager, now=AFTER)
    assert len(world.reviews_of(world.proposals[0])) == 4
