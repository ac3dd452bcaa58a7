"""Two managers record decisions at the same moment: the call's row lock in record_decision keeps the funded
total within the budget (PostgreSQL; SQLite serialises writers, so there is no race to prove)."""

from __future__ import annotations

import os
from decimal import Decimal

import pytest
from sqlalchemy import select

from programme.accounts.models import User
from programme.core.access import Role, RuleViolation
from programme.extensions import db
from programme.proposals.models import Proposal
from programme.reviews import services
from programme.reviews.models import Decision, Outcome
from tests.races import at_once
from tests.reviews.world import DURING, build, card, score_with, user

postgres_only = pytest.mark.skipif(
    not os.environ.get("TEST_DATABASE_URL", "").startswith("postgres"),
    reason="needs PostgreSQL (TEST_DATABASE_URL): SQLite serialises writers, so there is no race to prove",
)


@postgres_only
@pytest.mark.commits
def test_two_managers_funding_at_once_never_exceed_the_budget(app):
    world = build(proposals=2, reviewers=3, budget=Decimal("50000.00"))
    for proposal in world.proposals:
        score_with(world, proposal, [card("4")] * 3)
    second = user("manager2@review.test", Role.PROGRAMME_MANAGER)
    db.session.commit()
    work = [(world.proposals[0].id, world.manager.id), (world.proposals[1].id, second.id)]

    def funding(proposal_id: int, manager_id: int):
        def work() -> Decimal:
            proposal = db.session.get(Proposal, proposal_id)
            manager = db.session.get(User, manager_id)
            return services.record_decision(proposal, outcome=Outcome.FUNDED, reason="Funded.", actor=manager,
                                            now=DURING).amount
        return work

    results = at_once(app, [funding(*pair) for pair in work], expected=(RuleViolation,))
    winners = [r for r in results if isinstance(r, Decimal)]
    losers = [r for r in results if isinstance(r, RuleViolation)]
    assert winners == [Decimal("30000.00")] and len(losers) == 1
    assert "would commit EUR 60,000.00, EUR 10,000.00 over the call's budget of EUR 50,000.00" in str(losers[0])
    db.session.expire_all()
    funded = db.session.scalars(select(Decision.amount).where(Decision.outcome == Outcome.FUNDED)).all()
    assert funded == [Decimal("30000.00")]
