"""The demo's staged call (issue 18): the business network contest of rules/staged-network-contest.toml. Its concept
note stage ran two months ago: three groups sent a concept note, two reviewers scored them, the manager decided; the
demo group and one other passed and were invited to the feasibility and business plan stage, open now, where the
demo group's proposal starts from its concept note. The implementation stage is still a draft with its dates."""

from __future__ import annotations

from datetime import datetime, timedelta
from decimal import Decimal

from flask import Flask
from sqlalchemy import select

from programme.accounts.models import ApplicantGroup, User
from programme.calls import services as calls
from programme.calls import staging
from programme.calls.models import Call
from programme.core.web import programme_zone
from programme.extensions import db
from programme.proposals import services as proposals
from programme.proposals.domain import ActivityKind, ClusterStage
from programme.reviews import services as reviews

STAGED_RULES_FILE = "staged-network-contest.toml"

#: The groups that send a concept note: (group name, lead's address, title, what they have in common, score).
NOTES = (
    ("Garden Route Wood Furniture Network", "applicant@demo.example", "An export network for Garden Route furniture",
     "Furniture makers who each sell too little abroad to meet a buyer's volumes.", 4),
    ("Karoo Lamb Producers Forum", "lead1@groups.demo.example", "A Karoo lamb supply network for one retailer",
     "Lamb farmers who want one contract with a national retailer.", "3.5"),
    ("Overberg Fynbos Essential Oils Cluster", "lead2@groups.demo.example", "Shared oil testing",
     "Distillers with a common need for testing.", 2),
)
JUSTIFICATION = ("The concept note names the firms, what they have in common and a first joint project; the score "
                 "reflects how precise the common objective is.")


def seed_staged_call(app: Flask, users: dict[str, User], now: datetime) -> Call:
    """The staged call, its concept note stage decided and its planning stage open. Answers the staged call."""
    manager = users["manager@demo.example"]
    zone = programme_zone()
    created = now - timedelta(days=90)
    parent = calls.create_call(STAGED_RULES_FILE, rules_folder=app.config["RULES_FOLDER"], timezone=zone,
                               actor=manager, now=created)
    concept, planning, implementation = staging.stages_of(parent)

    def day(days: int) -> datetime:
        return (now + timedelta(days=days)).replace(second=0, microsecond=0)

    staging.set_stage_dates(concept, opens_at=day(-80), closes_at=day(-50), actor=manager)
    staging.set_stage_dates(planning, opens_at=day(-20), closes_at=day(40), actor=manager)
    staging.set_stage_dates(implementation, opens_at=day(60), closes_at=day(120), actor=manager)
    calls.open_call(concept, actor=manager, now=day(-80))
    written = day(-70)
    for name, email, title, interest, _ in NOTES:
        group = db.session.scalars(select(ApplicantGroup).where(ApplicantGroup.name == name)).one()
        lead = db.session.scalars(select(User).where(User.email == email)).one()
        note = proposals.start_proposal(concept, group, title=title, actor=lead, now=written)
        proposals.update_cluster(note, proposals.ClusterSection(
            title=title, sector=group.organisations[0].sector or "Manufacturing",
            territory=group.organisations[0].locality,
            stage=ClusterStage.POTENTIAL, main_problem=interest,
            market_failure="Co-ordination failure: no firm alone meets the buyer's volumes or pays the broker."),
            actor=lead, now=written)
        proposals.update_objectives(note, objectives="Win one buyer together within two years.",
                                    sustainability_plan="The members pay the broker from the second year.",
                                    actor=lead, now=written)
        proposals.add_activity(note, proposals.ActivityData(
            title="Broker-led meetings with buyers", kind=ActivityKind.FACILITATION,
            description="A network broker brings the firms and two buyers together.", start_quarter=1,
            end_quarter=2, cost=Decimal("15000.00")), actor=lead, now=written)
        proposals.submit(note, actor=lead, now=written)
    calls.close_call(concept, actor=manager, now=day(-50))
    start = day(-48)
    reviewers = [users[f"reviewer{n}@demo.example"] for n in (2, 3)]
    for reviewer in reviewers:
        reviews.add_reviewer(concept, reviewer, actor=manager, now=start)
    reviews.start_review(concept, deadline=day(-35), actor=manager, now=start)
    scores = {}
    for proposal in sorted(reviews.proposals_in_review(concept), key=lambda p: p.id):
        scores[proposal.id] = next(Decimal(str(s)) for n, e, t, i, s in NOTES if t == proposal.title)
        for reviewer in reviewers:
            review = reviews.assign_reviewer(concept, proposal, reviewer.id, actor=manager, now=start)
            reviews.save_review(review, scores={c.key: scores[proposal.id] for c in concept.criteria},
                                justifications={c.key: JUSTIFICATION for c in concept.criteria}, submit=True,
                                actor=reviewer, now=day(-40))
    reviews.decide_as_ranked(concept, actor=manager, now=day(-32))
    reviews.publish_decisions(concept, actor=manager, now=day(-32))
    calls.open_call(planning, actor=manager, now=day(-20))
    db.session.flush()
    return parent
