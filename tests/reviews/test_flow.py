"""The whole review of a call through the services: pool, automatic assignment, scoring, ranking, decisions,
publication, initiatives with their start-up grants, and the group's feedback without reviewers' names."""

from __future__ import annotations

from decimal import Decimal

from programme.calls.models import CallStatus
from programme.core.notifications import Notification
from programme.extensions import db
from programme.funding.models import GrantKind, Initiative
from programme.proposals.models import ProposalStatus
from programme.reviews import services
from programme.reviews.models import Outcome, Review, ReviewStatus
from tests.reviews.world import AFTER, DURING, build, submit_review


def test_a_call_is_reviewed_ranked_decided_and_awarded(app):
    world = build(proposals=3, reviewers=4, budget=Decimal("60000.00"))
    summary = services.auto_assign(world.call, actor=world.manager, now=DURING)
    assert summary.created == 9 and summary.spread <= 1
    values = {0: "4", 1: "3.5", 2: "2.5"}
    for index, proposal in enumerate(world.proposals):
        reviews = world.reviews_of(proposal)
        assert len(reviews) == 3
        assert proposal.status == ProposalStatus.UNDER_REVIEW
        for review in reviews:
            submit_review(review, values[index])
        assert proposal.status == ProposalStatus.SCORED
    results = services.call_results(world.call, actor=world.manager)
    assert [r.proposal_id for r in results.ranking.ranked] == [world.proposals[0].id, world.proposals[1].id]
    assert [r.status for r in results.ranking.ranked] == ["funded", "funded"]
    assert [e.proposal_id for e in results.ranking.not_fundable] == [world.proposals[2].id]
    assert services.decide_as_ranked(world.call, actor=world.manager, now=DURING) == 3
    initiatives = services.publish_decisions(world.call, actor=world.manager, now=AFTER)
    db.session.flush()
    assert world.call.status == CallStatus.DECIDED
    assert [p.status for p in world.proposals] == [ProposalStatus.FUNDED, ProposalStatus.FUNDED,
                                                   ProposalStatus.REJECTED]
    assert len(initiatives) == 2
    grant = initiatives[0].startup_grant
    assert grant is not None and grant.kind == GrantKind.STARTUP and grant.committed == Decimal("30000.00")
    assert db.session.query(Initiative).count() == 2
    feedback = services.feedback_for(world.proposals[2], actor=world.leads[2])
    assert feedback is not None and feedback.decision.outcome == Outcome.REJECTED
    labels = {label for c in feedback.criteria for label, _, _ in c.justifications}
    assert labels == {"Reviewer 1", "Reviewer 2", "Reviewer 3"}
    notes = db.session.query(Notification).filter_by(user_id=world.leads[2].id).all()
    body = "\n".join(n.body for n in notes)
    assert "rejected" in body
    for reviewer in world.reviewers:
        assert reviewer.name not in body and reviewer.email not in body
    assert all(r.status == ReviewStatus.SUBMITTED for r in db.session.query(Review))
