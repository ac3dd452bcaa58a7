"""An initiative with its start-up grant, made the real way (a call reviewed, decided and published), and the
people who handle its money."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal

import pytest

from programme.accounts.models import User
from programme.core.access import Role
from programme.extensions import db
from programme.funding.models import Grant, Initiative
from programme.reviews import services as reviews
from tests.reviews.world import AFTER, DURING, assign, build, submit_review, user
from tests.worlds import Kept, keep, reload

#: The start-up grant the fixture's initiative is committed.
COMMITTED = Decimal("30000.00")
#: A moment after the decisions were published, and a value date before it.
LATER = datetime(2027, 7, 1, 10, 0, tzinfo=UTC)
PAID_ON = date(2027, 6, 30)


@dataclass
class Funded:
    initiative: Initiative
    grant: Grant
    admin: User
    admin2: User
    manager: User
    reviewer: User
    applicant: User


def funded_initiative(amount: Decimal = COMMITTED) -> Funded:
    world = build(proposals=1, reviewers=3, requested=[amount])
    proposal = world.proposals[0]
    for review in assign(world, proposal, *world.reviewers):
        submit_review(review, "4")
    reviews.decide_as_ranked(world.call, actor=world.manager, now=DURING)
    (initiative,) = reviews.publish_decisions(world.call, actor=world.manager, now=AFTER)
    grant = initiative.startup_grant
    assert grant is not None and grant.committed == amount
    admin = user("admin@funds.test", Role.FUND_ADMINISTRATOR)
    admin2 = user("admin2@funds.test", Role.FUND_ADMINISTRATOR)
    return Funded(initiative, grant, admin, admin2, world.manager, world.reviewers[0], world.leads[0])


@pytest.fixture(scope="module")
def funded_once(built_once) -> Kept:
    with built_once():
        return keep(funded_initiative())


@pytest.fixture
def funded(app, funded_once: Kept) -> Funded:
    """The funded initiative, built once for the module (a module of races overrides this: they need commits)."""
    return reload(funded_once)


def loginable(made: Funded) -> Funded:
    """The funded initiative's people given addresses the login form accepts (it refuses the .test domain)."""
    for person in (made.admin, made.admin2, made.manager, made.reviewer, made.applicant):
        person.email = person.email.replace(".test", ".example.org")
    db.session.commit()
    return made


def page_text(response) -> str:
    """A page's text without its tags, with single spaces."""
    return " ".join(re.sub(r"<[^>]+>", " ", response.get_data(as_text=True)).split())
