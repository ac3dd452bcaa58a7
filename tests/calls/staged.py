"""A staged call for the tests, built through the real services: the shipped three-stage network contest (concept
note, feasibility and business plan, implementation) with each stage's dates, groups that submit to a stage, and
a stage reviewed and decided."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal

from programme.accounts.models import ApplicantGroup, User
from programme.calls import services as call_services
from programme.calls import staging
from programme.calls.models import Call
from programme.core.access import Role
from programme.extensions import db
from programme.proposals import services as proposals
from programme.proposals.domain import ActivityKind, CoFinancingKind
from programme.proposals.models import Proposal
from programme.reviews import services as reviews
from programme.reviews.models import Outcome
from tests.conftest import SETUP
from tests.proposals.builders import RULES_FOLDER, ZONE, cluster_section, make_group
from tests.reviews.world import user

STAGED_FILE = "staged-network-contest.toml"
T0 = datetime(2027, 1, 10, 8, 0, tzinfo=UTC)
#: Each stage's submission period: (opens, closes); a stage is reviewed in the month after it closes.
PERIODS = [
    (datetime(2027, 2, 1, 7, 0, tzinfo=UTC), datetime(2027, 3, 1, 15, 0, tzinfo=UTC)),
    (datetime(2027, 4, 1, 7, 0, tzinfo=UTC), datetime(2027, 5, 1, 15, 0, tzinfo=UTC)),
    (datetime(2027, 6, 1, 7, 0, tzinfo=UTC), datetime(2027, 7, 1, 15, 0, tzinfo=UTC)),
]
JUSTIFICATION = "A justification long enough for the rules of the staged call."


def during(index: int) -> datetime:
    """A moment while stage ``index`` (1, 2, 3) takes proposals."""
    return PERIODS[index - 1][0] + timedelta(days=5)


def review_time(index: int) -> datetime:
    """A moment in stage ``index``'s review (after its deadline, before the next stage opens)."""
    return PERIODS[index - 1][1] + timedelta(days=3)


@dataclass
class Staged:
    parent: Call
    stages: list[Call]
    manager: User
    reviewers: list[User]
    leads: list[User]
    groups: list[ApplicantGroup]


def make_staged(*, groups: int = 2, open_first: bool = True, rules_folder=RULES_FOLDER,
                file_name: str = STAGED_FILE) -> Staged:
    """The staged call (every stage's dates set, the first stage opened at T0), a manager, two reviewers and
    ``groups`` groups of four firms and a support institution."""
    parent = call_services.create_call(file_name, rules_folder=rules_folder, timezone=ZONE, actor=SETUP, now=T0)
    stages = staging.stages_of(parent)
    manager = user("manager@staged.test", Role.PROGRAMME_MANAGER)
    for stage, (opens, closes) in zip(stages, PERIODS, strict=False):
        staging.set_stage_dates(stage, opens_at=opens, closes_at=closes, actor=manager)
    if open_first:
        call_services.open_call(stages[0], actor=manager, now=T0)
    reviewers = [user(f"reviewer{n}@staged.test", Role.REVIEWER) for n in (1, 2)]
    leads, made = [], []
    for n in range(1, groups + 1):
        lead = user(f"lead{n}@staged.test")
        leads.append(lead)
        made.append(make_group(lead, name=f"Network {n}"))
    db.session.flush()
    return Staged(parent, stages, manager, reviewers, leads, made)


def concept_note(call: Call, group: ApplicantGroup, lead: User, *, title: str = "Joint export network") -> Proposal:
    """A concept note: the cluster and the objectives with one first activity (no budget: the stage awards no
    money), submitted."""
    now = during(1)
    proposal = proposals.start_proposal(call, group, title=title, actor=lead, now=now)
    proposals.update_cluster(proposal, cluster_section(title), actor=lead, now=now)
    proposals.update_objectives(proposal, objectives="Sell jointly to one buyer abroad.",
                                sustainability_plan="Members pay the broker from year two.", actor=lead, now=now)
    proposals.add_activity(proposal, proposals.ActivityData(
        title="Meetings with the buyer", kind=ActivityKind.FACILITATION, description="Broker-led meetings",
        start_quarter=1, end_quarter=2, cost=Decimal("20000.00")), actor=lead, now=now)
    proposals.submit(proposal, actor=lead, now=now)
    return proposal


def complete_budget(proposal: Proposal, lead: User, *, index: int, requested: Decimal,
                    cost: Decimal = Decimal("20000.00")) -> None:
    """The budget section of a copied draft: one line of ``cost`` for its first activity (whose cost it
    becomes), co-financing and ``requested``."""
    now = during(index)
    activity = proposal.activities[0]
    proposals.update_activity(proposal, activity.id, proposals.ActivityData(
        title=activity.title, kind=activity.kind, description=activity.description,
        start_quarter=activity.start_quarter, end_quarter=activity.end_quarter, cost=cost), actor=lead, now=now)
    for line in list(proposal.budget_lines):
        proposals.remove_budget_line(proposal, line.id, actor=lead, now=now)
    proposals.add_budget_line(proposal, proposals.BudgetLineData(
        activity_id=activity.id, cost_type="facilitator_fees", description="Network broker", amount=cost),
        actor=lead, now=now)
    proposals.set_requested_amount(proposal, requested, actor=lead, now=now)
    if not proposal.cofinancing:
        proposals.add_cofinancing(proposal, proposals.CoFinancingData(
            proposal.group.organisations[0].id, CoFinancingKind.CASH, Decimal("3000.00"), "Firms' share"),
            actor=lead, now=now)


def add_indicator(proposal: Proposal, lead: User, *, index: int) -> None:
    proposals.add_indicator(proposal, proposals.IndicatorData("Firms exporting", "firms", Decimal("1"),
                                                              Decimal("4")), actor=lead, now=during(index))


def review_stage(world: Staged, stage: Call, score: dict[int, str], *, index: int) -> None:
    """Close the stage, start its review, and have both reviewers score each proposal (``score``: proposal id to
    the score given on every criterion)."""
    moment = review_time(index)
    call_services.close_due_calls(actor=SETUP, now=PERIODS[index - 1][1])
    for reviewer in world.reviewers:
        reviews.add_reviewer(stage, reviewer, actor=world.manager, now=moment)
    reviews.start_review(stage, deadline=moment + timedelta(days=14), actor=world.manager, now=moment)
    for proposal_id, value in score.items():
        proposal = db.session.get(Proposal, proposal_id)
        for reviewer in world.reviewers:
            review = reviews.assign_reviewer(stage, proposal, reviewer.id, actor=world.manager, now=moment)
            reviews.save_review(review, scores={c.key: Decimal(value) for c in stage.criteria},
                                justifications={c.key: JUSTIFICATION for c in stage.criteria}, submit=True,
                                actor=reviewer, now=moment)
    db.session.flush()


def decide_stage(world: Staged, stage: Call, *, index: int, outcomes: dict[int, Outcome] | None = None) -> list:
    """Decide the stage (as ranked, or ``outcomes`` by hand) and publish the decisions; the initiatives made."""
    moment = review_time(index) + timedelta(days=1)
    if outcomes:
        for proposal_id, outcome in outcomes.items():
            reviews.record_decision(db.session.get(Proposal, proposal_id), outcome=outcome, reason="As discussed.",
                                    actor=world.manager, now=moment)
    reviews.decide_as_ranked(stage, actor=world.manager, now=moment)
    made = reviews.publish_decisions(stage, actor=world.manager, now=moment)
    db.session.flush()
    return made
