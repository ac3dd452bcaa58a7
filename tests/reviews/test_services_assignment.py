"""Assignment through the services: the automatic assignment of a call with conflicts (exactly the rules'
number of reviewers per proposal, none conflicted, loads within one, kept assignments, expertise), its
refusals naming the proposal, moving and removing before scoring starts, and what is and is not assigned."""

from __future__ import annotations

from collections import Counter

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select

from programme.accounts.models import GroupRole, GroupUser
from programme.core.access import AccessDenied, Role, RuleViolation
from programme.core.audit import AuditEntry
from programme.extensions import db
from programme.proposals import services as proposal_services
from programme.proposals.models import ProposalStatus
from programme.reviews import services
from programme.reviews.models import ConflictOfInterest, Review
from tests.conftest import SETUP
from tests.reviews.world import DEADLINE, DURING, START, assign, build, card, review_of, submit_review, user

K = 3  # reviewers_per_proposal in the shipped rules


def _reviews(world) -> list[Review]:
    return list(db.session.scalars(select(Review).where(Review.call_id == world.call.id).order_by(Review.id)))


def _check_assignment(world, *, proposals) -> Counter:
    """Every proposal has exactly K distinct reviewers of the pool, none in conflict; returns the loads."""
    reviews = _reviews(world)
    pool = {e.user_id for e in services.pool(world.call)}
    conflicts = services.conflicts(world.call).pairs
    by_proposal: dict[int, list[int]] = {p.id: [] for p in proposals}
    for review in reviews:
        by_proposal[review.proposal_id].append(review.reviewer_id)
        assert (review.reviewer_id, review.proposal_id) not in conflicts
        assert review.reviewer_id in pool
    for reviewers in by_proposal.values():
        assert len(reviewers) == K and len(set(reviewers)) == K
    loads = Counter(r.reviewer_id for r in reviews)
    return Counter({r: loads.get(r, 0) for r in pool})


def test_every_eligible_proposal_gets_three_reviewers_without_conflicts_and_even_loads(app):
    world = build(proposals=7, reviewers=5)
    r1, r2, r3, r4, _ = world.reviewers
    p = world.proposals
    services.declare_conflict(world.call, proposal_id=p[0].id, actor=r1, now=START)
    services.declare_conflict(world.call, proposal_id=p[3].id, actor=r1, now=START)
    r2.organisation_id = world.groups[1].organisations[0].id  # works for a member of group 2
    db.session.add(GroupUser(group_id=world.groups[2].id, user_id=r3.id, role=GroupRole.MEMBER))
    services.declare_conflict(world.call, organisation_id=world.groups[0].organisations[2].id, actor=r4, now=START)
    db.session.flush()
    expected_conflicts = {(r1.id, p[0].id), (r1.id, p[3].id), (r2.id, p[1].id), (r3.id, p[2].id), (r4.id, p[0].id)}
    assert services.conflicts(world.call).pairs == expected_conflicts

    summary = services.auto_assign(world.call, actor=world.manager, now=DURING)
    assert (summary.created, summary.kept, summary.proposals) == (21, 0, 7)
    loads = _check_assignment(world, proposals=p)
    assert sorted(loads.values()) == [4, 4, 4, 4, 5]  # 21 reviews over 5 reviewers, within one
    assert summary.loads == dict(loads) and summary.spread == 1
    # p[0] has exactly three reviewers without a conflict: they are the ones.
    assert {r.reviewer_id for r in world.reviews_of(p[0])} == {r2.id, r3.id, world.reviewers[4].id}
    assert all(x.status == ProposalStatus.UNDER_REVIEW for x in p)
    assert all(r.version_number == 1 and r.assigned_at == DURING for r in _reviews(world))
    details = db.session.scalars(select(AuditEntry.details).where(AuditEntry.action == "review.auto_assigned")).one()
    assert '"created": 21' in details and '"spread": 1' in details

    # Run again: nothing to add, everything kept.
    again = services.auto_assign(world.call, actor=world.manager, now=DURING)
    assert (again.created, again.kept) == (0, 21)


def test_existing_assignments_are_kept_and_counted_in_the_loads(app):
    world = build(proposals=4, reviewers=4)
    p1, p2, p3, p4 = world.proposals
    r1, r2, r3, r4 = world.reviewers
    kept = assign(world, p1, r1, r2) + assign(world, p2, r1)
    services.save_review(kept[0], scores=card("4"), justifications={}, submit=False, actor=r1, now=DURING)
    kept_ids = {r.id for r in kept}

    summary = services.auto_assign(world.call, actor=world.manager, now=DURING)
    assert (summary.created, summary.kept) == (9, 3)
    assert kept_ids <= {r.id for r in _reviews(world)}
    assert review_of(p1, r1).scores  # the draft is untouched
    loads = _check_assignment(world, proposals=world.proposals)
    assert sorted(loads.values()) == [3, 3, 3, 3]


def test_expertise_is_preferred_where_it_fits(app):
    world = build(proposals=5, reviewers=5)
    sectors = ["Dairy farming", "Wine and tourism", "Leather goods", "Software", "Furniture"]
    for proposal, sector in zip(world.proposals, sectors, strict=True):
        proposal.sector = sector
    # Three dairy experts; the other two each know one other sector.
    for reviewer in world.reviewers[:3]:
        services.set_expertise(world.call, expertise="dairy farming,  Cheese", actor=reviewer, now=START)
    services.set_expertise(world.call, expertise="Software", actor=world.reviewers[3], now=START)
    services.set_expertise(world.call, expertise="furniture; software", actor=world.reviewers[4], now=START)
    assert services.pool_entry(world.call, actor=world.reviewers[0]).expertise == "dairy farming; cheese"
    db.session.flush()

    summary = services.auto_assign(world.call, actor=world.manager, now=DURING)
    loads = _check_assignment(world, proposals=world.proposals)
    assert sorted(loads.values()) == [3, 3, 3, 3, 3]
    dairy, _, _, software, furniture = world.proposals
    assert {r.reviewer_id for r in world.reviews_of(dairy)} == {r.id for r in world.reviewers[:3]}
    assert {world.reviewers[3].id, world.reviewers[4].id} <= {r.reviewer_id for r in world.reviews_of(software)}
    assert world.reviewers[4].id in {r.reviewer_id for r in world.reviews_of(furniture)}
    assert summary.matches == 3 + 2 + 1


def test_too_few_reviewers_in_the_pool_is_refused(app):
    world = build(proposals=2, reviewers=2)
    with pytest.raises(RuleViolation, match="asks? for 3 reviewers per proposal; the pool has 2"):
        services.auto_assign(world.call, actor=world.manager, now=DURING)
    assert _reviews(world) == []


def test_a_proposal_with_too_few_reviewers_without_conflict_is_named(app):
    world = build(proposals=3, reviewers=4)
    p1, p2, p3 = world.proposals
    for reviewer in world.reviewers[:2]:
        services.declare_conflict(world.call, proposal_id=p2.id, actor=reviewer, now=START)
    with pytest.raises(RuleViolation) as refused:
        services.auto_assign(world.call, actor=world.manager, now=DURING)
    message = str(refused.value)
    assert message.startswith("No assignment is possible:")
    assert f"proposal {p2.reference} has 2 reviewers without a conflict of interest; 3 needed" in message
    assert p1.reference not in message and p3.reference not in message
    assert _reviews(world) == []


def test_an_assignment_is_moved_or_removed_only_before_scoring_starts(app):
    world = build(proposals=1, reviewers=4)
    proposal = world.proposals[0]
    r1, r2, r3, r4 = world.reviewers
    first, second = assign(world, proposal, r1, r2)

    with pytest.raises(RuleViolation, match="already reviews"):
        services.move_assignment(first, r2.id, actor=world.manager, now=DURING)
    with pytest.raises(AccessDenied):
        services.move_assignment(first, r3.id, actor=r1, now=DURING)
    moved = services.move_assignment(first, r3.id, actor=world.manager, now=DURING)
    assert moved.id == first.id and moved.reviewer_id == r3.id and moved.reviewer.id == r3.id
    assert sorted(r.reviewer_id for r in world.reviews_of(proposal)) == sorted([r2.id, r3.id])

    services.save_review(second, scores={"cooperation": "3"}, justifications={}, submit=False, actor=r2, now=DURING)
    with pytest.raises(RuleViolation, match="started; an assignment is moved only before"):
        services.move_assignment(second, r4.id, actor=world.manager, now=DURING)
    with pytest.raises(RuleViolation, match="started; an assignment is removed only before"):
        services.remove_assignment(second, actor=world.manager, now=DURING)
    submit_review(second, card("4"))
    with pytest.raises(RuleViolation, match="submitted; an assignment is moved only before"):
        services.move_assignment(second, r4.id, actor=world.manager, now=DURING)

    services.remove_assignment(moved, actor=world.manager, now=DURING)
    db.session.flush()
    assert [r.reviewer_id for r in world.reviews_of(proposal)] == [r2.id]
    actions = db.session.scalars(select(AuditEntry.action).where(AuditEntry.action.in_(
        ["review.assigned", "review.moved", "review.unassigned"])).order_by(AuditEntry.id)).all()
    assert actions == ["review.assigned", "review.assigned", "review.moved", "review.unassigned"]


def test_the_last_assignment_removed_makes_the_proposal_eligible_again(app):
    world = build(proposals=1, reviewers=1)
    review = assign(world, world.proposals[0], world.reviewers[0])[0]
    assert world.proposals[0].status == ProposalStatus.UNDER_REVIEW
    services.remove_assignment(review, actor=world.manager, now=DURING)
    assert world.proposals[0].status == ProposalStatus.ELIGIBLE


def test_assignment_only_while_the_review_is_under_way(app):
    world = build(proposals=1, reviewers=3, start=False)
    with pytest.raises(RuleViolation, match="closed; reviewers are assigned only while its review is under way"):
        services.auto_assign(world.call, actor=world.manager, now=DURING)
    with pytest.raises(RuleViolation, match="only while its review is under way"):
        services.assign_reviewer(world.call, world.proposals[0], world.reviewers[0].id, actor=world.manager,
                                 now=DURING)
    assert _reviews(world) == []


def test_ineligible_proposals_are_not_reviewed(app):
    world = build(proposals=3, reviewers=3, start=False)
    p1, p2, p3 = world.proposals
    proposal_services.override_eligibility(p2, eligible=False, reason="The group's members are not independent.",
                                           actor=world.manager, now=START)
    assert services.start_review(world.call, deadline=DEADLINE, actor=world.manager, now=START) == 2
    assert [p.status for p in world.proposals] == [ProposalStatus.ELIGIBLE, ProposalStatus.INELIGIBLE,
                                                   ProposalStatus.ELIGIBLE]
    summary = services.auto_assign(world.call, actor=world.manager, now=DURING)
    assert (summary.created, summary.proposals) == (6, 2)
    assert world.reviews_of(p2) == []
    assert p2.status == ProposalStatus.INELIGIBLE
    with pytest.raises(RuleViolation, match="only eligible proposals are reviewed"):
        assign(world, p2, world.reviewers[0])
    assert [p.id for p in services.proposals_in_review(world.call)] == [p1.id, p3.id]


def test_the_review_starts_once_with_a_future_deadline(app):
    world = build(proposals=1, reviewers=1, start=False)
    with pytest.raises(RuleViolation, match="deadline must be in the future"):
        services.start_review(world.call, deadline=START, actor=world.manager, now=START)
    with pytest.raises(AccessDenied):
        services.start_review(world.call, deadline=DEADLINE, actor=world.reviewers[0], now=START)
    services.start_review(world.call, deadline=DEADLINE, actor=world.manager, now=START)
    assert world.call.review_deadline == DEADLINE
    with pytest.raises(RuleViolation, match="starts once the call is closed"):
        services.start_review(world.call, deadline=DEADLINE, actor=world.manager, now=START)


# ------------------------------------------------------------------------------ a property, at service level


@pytest.fixture
def small_world(app):
    return build(proposals=5, reviewers=5)


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(conflicts=st.permutations(range(5)), mask=st.lists(st.booleans(), min_size=5, max_size=5),
       keep=st.sets(st.tuples(st.integers(0, 4), st.integers(0, 4)), max_size=4), seed=st.integers(0, 3))
def test_automatic_assignment_never_breaks_a_conflict_and_keeps_loads_within_one(small_world, conflicts, mask,
                                                                                 keep, seed):
    """Conflicts form a partial matching (each reviewer and each proposal at most one), so an assignment with
    equal loads always exists; kept assignments by hand first (those not in conflict, at most K a proposal)."""
    world = small_world
    savepoint = db.session.begin_nested()
    try:
        reviewers, proposals = world.reviewers, world.proposals
        for r, p in enumerate(conflicts):
            if mask[r]:
                db.session.add(ConflictOfInterest(call_id=world.call.id, reviewer_id=reviewers[r].id,
                                                  proposal_id=proposals[p].id, declared_at=START))
        db.session.flush()
        conflicted = {(reviewers[r].id, proposals[p].id) for r, p in enumerate(conflicts) if mask[r]}
        assert services.conflicts(world.call).pairs == conflicted
        kept: set[tuple[int, int]] = set()
        for r, p in sorted(keep):
            # At most the fair load (15 reviews over 5 reviewers: 3) kept for one reviewer by hand: four kept for
            # one would make loads within one impossible (4 + 3 + 3 + 3 + 2), which Hypothesis once found.
            if sum(1 for reviewer_id, _ in kept if reviewer_id == reviewers[r].id) >= 3:
                continue
            if (reviewers[r].id, proposals[p].id) not in conflicted:
                assign(world, proposals[p], reviewers[r])
                kept.add((reviewers[r].id, proposals[p].id))
        summary = services.auto_assign(world.call, actor=world.manager, now=DURING, seed=seed)
        pairs = {(r.reviewer_id, r.proposal_id) for r in _reviews(world)}
        assert kept <= pairs and not pairs & conflicted
        loads = _check_assignment(world, proposals=proposals)
        assert max(loads.values()) - min(loads.values()) <= 1
        assert summary.created + summary.kept == 15 and summary.kept == len(kept)
        assert db.session.scalar(select(func.count()).select_from(Review)) == 15
    finally:
        savepoint.rollback()
        db.session.expire_all()


def test_a_reviewer_without_the_manager_role_cannot_assign(app):
    world = build(proposals=1, reviewers=3)
    intruder = user("intruder@review.test", Role.REVIEWER)
    with pytest.raises(AccessDenied):
        services.auto_assign(world.call, actor=intruder, now=DURING)
    with pytest.raises(AccessDenied):
        services.assignment_overview(world.call, actor=intruder)
    services.auto_assign(world.call, actor=SETUP, now=DURING)
    rows = services.assignment_overview(world.call, actor=world.manager)
    assert [len(row.reviews) for row in rows] == [3]
    assert services.reviewer_loads(world.call) == {r.id: (1, 0) for r in world.reviewers}


def test_a_proposal_with_more_reviewers_than_the_rules_ask_is_left_as_the_manager_made_it(app):
    world = build(proposals=2, reviewers=4)
    assign(world, world.proposals[0], *world.reviewers)
    summary = services.auto_assign(world.call, actor=world.manager, now=DURING)
    assert len(world.reviews_of(world.proposals[0])) == 4
    assert len(world.reviews_of(world.proposals[1])) == 3
    assert (summary.created, summary.kept, summary.proposals) == (3, 4, 2)
