"""A call in review for the review tests: N groups that submitted complete proposals, the call closed and its
review started, a pool of reviewers and a manager. Built through the real services."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from programme.accounts import services as accounts
from programme.accounts.models import ApplicantGroup, User
from programme.calls import services as call_services
from programme.calls.models import Call
from programme.core.access import Role
from programme.extensions import db
from programme.proposals import services as proposal_services
from programme.proposals.models import Proposal
from programme.reviews import services
from programme.reviews.models import Review
from tests.conftest import PASSWORD, SETUP
from tests.proposals.builders import CLOSES, NOW, REQUESTED, complete_proposal, make_call, make_group

#: The call closed at CLOSES; the review starts at START and its deadline is DEADLINE.
START = CLOSES + timedelta(days=1)
DEADLINE = START + timedelta(days=21)
#: A moment during the review.
DURING = START + timedelta(days=2)

#: A justification long enough for the shipped rules (50 characters).
GOOD = "A careful justification that is long enough to pass the rules' minimum."


def user(email: str, *roles: Role, organisation_id: int | None = None) -> User:
    made = accounts.create_user(email=email, name=email.split("@")[0].replace(".", " ").title(),
                                roles=roles or (Role.APPLICANT,), password=PASSWORD, actor=SETUP)
    if organisation_id is not None:
        made.organisation_id = organisation_id
    db.session.flush()
    return made


@dataclass
class World:
    call: Call
    manager: User
    reviewers: list[User]
    leads: list[User]
    groups: list[ApplicantGroup]
    proposals: list[Proposal]
    extra: dict[str, Any] = field(default_factory=dict)

    def reviews_of(self, proposal: Proposal) -> list[Review]:
        return [r for r in db.session.query(Review).filter_by(proposal_id=proposal.id).order_by(Review.id)]


def build(*, proposals: int = 3, reviewers: int = 4, requested: list[Decimal] | None = None,
          start: bool = True, pool: bool = True, budget: Decimal | None = None) -> World:
    """A call with `proposals` submitted proposals (one group each) and `reviewers` reviewers in its pool."""
    call = make_call()
    if budget is not None:
        call.budget = budget
        call.per_initiative_cap = min(call.per_initiative_cap, budget)
    manager = user("manager@review.test", Role.PROGRAMME_MANAGER)
    leads, groups, made = [], [], []
    for index in range(proposals):
        lead = user(f"lead{index + 1}@group.test")
        group = make_group(lead, name=f"Group {index + 1}")
        amount = requested[index] if requested else REQUESTED
        proposal = complete_proposal(call, group, lead, title=f"Initiative {index + 1}", requested=amount,
                                     now=NOW + timedelta(minutes=index))
        proposal_services.submit(proposal, actor=lead, now=NOW + timedelta(minutes=index))
        leads.append(lead)
        groups.append(group)
        made.append(proposal)
    call_services.close_due_calls(actor=SETUP, now=CLOSES)
    staff = [user(f"reviewer{index + 1}@review.test", Role.REVIEWER) for index in range(reviewers)]
    if pool:
        for reviewer in staff:
            services.add_reviewer(call, reviewer, actor=manager, now=START)
    if start:
        services.start_review(call, deadline=DEADLINE, actor=manager, now=START)
    db.session.flush()
    return World(call, manager, staff, leads, groups, made)


def loginable_build(**kwargs: Any) -> World:
    """``build``, its people given addresses the login form accepts (it refuses the .test domain), committed."""
    world = build(**kwargs)
    for person in (world.manager, *world.reviewers, *world.leads):
        person.email = person.email.replace(".test", ".example.org")
    db.session.commit()
    return world


def scores(value: str | Decimal, call: Call) -> dict[str, Decimal]:
    return {c.key: Decimal(value) for c in call.criteria}


def justifications(call: Call, text: str = GOOD) -> dict[str, str]:
    return {c.key: text for c in call.criteria}


def submit_review(review: Review, values: dict[str, Decimal] | str, *, now: datetime = DURING) -> Review:
    call = review.call
    given = scores(values, call) if isinstance(values, str) else values
    return services.save_review(review, scores=given, justifications=justifications(call), submit=True,
                                actor=review.reviewer, now=now)


def assign(world: World, proposal: Proposal, *reviewers: User, now: datetime = DURING) -> list[Review]:
    return [services.assign_reviewer(world.call, proposal, r.id, actor=world.manager, now=now) for r in reviewers]


AFTER = datetime(2027, 6, 1, tzinfo=UTC)


# Helpers of the service-level tests (tests/reviews/test_services_*.py) ---------------------------------

#: The criteria of the shipped rules, in their order.
SHIPPED_KEYS = ("cooperation", "first_activities", "composition", "private_leadership", "market_failure",
                "self_funding", "own_indicators")


def card(base: str = "4", **changes: str) -> dict[str, Decimal]:
    """One reviewer's scores on the shipped criteria: `base` on each, except the criteria named."""
    unknown = set(changes) - set(SHIPPED_KEYS)
    assert not unknown, f"not a criterion of the shipped rules: {unknown}"
    return {key: Decimal(changes.get(key, base)) for key in SHIPPED_KEYS}


def review_of(proposal: Proposal, reviewer: User) -> Review:
    found = db.session.query(Review).filter_by(proposal_id=proposal.id, reviewer_id=reviewer.id).one_or_none()
    assert found is not None, f"{reviewer.email} does not review {proposal.reference}"
    return found


def score_with(world: World, proposal: Proposal, cards: list[dict[str, Decimal]], *, now: datetime = DURING) -> None:
    """Assign the first len(cards) reviewers of the pool to the proposal by hand and submit one card each."""
    for reviewer, values in zip(world.reviewers, cards, strict=False):
        review = services.assign_reviewer(world.call, proposal, reviewer.id, actor=world.manager, now=now)
        services.save_review(review, scores=values, justifications=justifications(world.call), submit=True,
                             actor=reviewer, now=now)
    assert len(cards) <= len(world.reviewers), "more cards than reviewers in the pool"


def replace_rule(call: Call, old: str, new: str) -> None:
    """Change the call's own copy of its rules (a test of a rules option) and drop the parsed rules."""
    assert old in call.rules_source, f"{old!r} is not in the call's rules"
    call.rules_source = call.rules_source.replace(old, new)
    call.__dict__.pop("_rules_as_written", None)
    call.touch_results()
    db.session.flush()
