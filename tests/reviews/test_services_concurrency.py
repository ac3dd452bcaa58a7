"""Two managers record decisions at the same moment: the call's row lock in record_decision keeps the funded
total within the budget (PostgreSQL; SQLite serialises writers, so there is no race to prove)."""

from __future__ import annotations

import os
import threading
import time
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import select

from programme.core.access import Role, RuleViolation
from programme.extensions import db
from programme.proposals.models import Proposal
from programme.reviews import services
from programme.reviews.models import Decision, Outcome
from tests.reviews.world import DURING, build, card, score_with, user

postgres_only = pytest.mark.skipif(
    not os.environ.get("TEST_DATABASE_URL", "").startswith("postgres"),
    reason="needs PostgreSQL (TEST_DATABASE_URL): SQLite serialises writers, so there is no race to prove",
)


@postgres_only
def test_two_managers_funding_at_once_never_exceed_the_budget(app):
    world = build(proposals=2, reviewers=3, budget=Decimal("50000.00"))
    for proposal in world.proposals:
        score_with(world, proposal, [card("4")] * 3)
    second = user("manager2@review.test", Role.PROGRAMME_MANAGER)
    db.session.commit()
    work = [(world.proposals[0].id, world.manager.id), (world.proposals[1].id, second.id)]

    barrier = threading.Barrier(2)
    results: list[Any] = [None, None]
    errors: list[BaseException] = []

    def run(i: int) -> None:
        proposal_id, manager_id = work[i]
        try:
            with app.app_context():
                from programme.accounts.models import User

                proposal = db.session.get(Proposal, proposal_id)
                manager = db.session.get(User, manager_id)
                proposal.call  # noqa: B018 - loaded before the race, as a request would
                barrier.wait(timeout=10)
                try:
                    decision = services.record_decision(proposal, outcome=Outcome.FUNDED, reason="Funded.",
                                                        actor=manager, now=DURING)
                    time.sleep(0.3)  # hold the lock: the other one waits, then sees this decision
                    db.session.commit()
                    results[i] = decision.amount
                except RuleViolation as error:
                    db.session.rollback()
                    results[i] = error
                finally:
                    db.session.remove()
        except BaseException as error:  # reported by the test
            errors.append(error)

    threads = [threading.Thread(target=run, args=(i,)) for i in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert not any(thread.is_alive() for thread in threads)
    assert errors == []
    winners = [r for r in results if isinstance(r, Decimal)]
    losers = [r for r in results if isinstance(r, RuleViolation)]
    assert winners == [Decimal("30000.00")] and len(losers) == 1
    assert "would commit EUR 60,000.00, EUR 10,000.00 over the call's budget of EUR 50,000.00" in str(losers[0])
    db.session.expire_all()
    funded = db.session.scalars(select(Decision.amount).where(Decision.outcome == Outcome.FUNDED)).all()
    assert funded == [Decimal("30000.00")]
