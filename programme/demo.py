"""Seed a demo programme into an empty database, through the same services the web uses."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta

from flask import Flask
from sqlalchemy import func, select

from programme.accounts import services as accounts
from programme.accounts.models import OrganisationType, SizeClass, User
from programme.calls import services as calls
from programme.core.access import Role, SystemActor
from programme.core.db import utcnow
from programme.extensions import db

SEEDER = SystemActor("demo seeding")
DEMO_RULES_FILE = "cluster-contest.toml"


@dataclass(frozen=True)
class DemoUser:
    email: str
    name: str
    roles: tuple[Role, ...]
    password: str

    @property
    def role_label(self) -> str:
        return " + ".join(r.label for r in self.roles)


DEMO_USERS = (
    DemoUser("manager@demo.example", "Mpho Dlamini", (Role.PROGRAMME_MANAGER,), "demo-manager-2026"),
    DemoUser("funds@demo.example", "Pieter van Wyk", (Role.FUND_ADMINISTRATOR,), "demo-funds-2026"),
    DemoUser("reviewer1@demo.example", "Ana Souza", (Role.REVIEWER,), "demo-reviewer-2026"),
    DemoUser("reviewer2@demo.example", "Jonas Keller", (Role.REVIEWER,), "demo-reviewer-2026"),
    DemoUser("applicant@demo.example", "Thandi Mokoena", (Role.APPLICANT,), "demo-applicant-2026"),
    DemoUser("member@demo.example", "Sipho Nkosi", (Role.APPLICANT,), "demo-applicant-2026"),
)

DEMO_ORGANISATIONS = (
    ("Knysna Timber Works", OrganisationType.FIRM, SizeClass.SMALL, "Wooden furniture"),
    ("Outeniqua Joinery", OrganisationType.FIRM, SizeClass.MICRO, "Wooden furniture"),
    ("Garden Route Cabinets", OrganisationType.FIRM, SizeClass.MEDIUM, "Kitchen and office furniture"),
    ("Sedgefield Upholstery", OrganisationType.FIRM, SizeClass.MICRO, "Upholstered furniture"),
    ("Southern Cape Furniture Association", OrganisationType.BUSINESS_ASSOCIATION, None, None),
    ("George Technical College", OrganisationType.TRAINING_PROVIDER, None, None),
)


def database_is_empty() -> bool:
    return not db.session.scalar(select(func.count()).select_from(User))


def seed_demo(app: Flask, echo: Callable[[str], None] = print) -> bool:
    """Seed users of every role, an applicant group with organisations and an open call. False if not empty."""
    if not database_is_empty():
        return False
    steps = 4
    echo(f"[1/{steps}] demo accounts")
    users: dict[str, User] = {}
    for demo in DEMO_USERS:
        users[demo.email] = accounts.create_user(
            email=demo.email, name=demo.name, roles=demo.roles, password=demo.password, actor=SEEDER
        )
    echo(f"[2/{steps}] an applicant group and its organisations")
    lead = users["applicant@demo.example"]
    group = accounts.create_group(
        name="Garden Route Wood Furniture Network",
        description="Furniture makers of the Garden Route with their association and the local technical college.",
        actor=lead,
    )
    for name, kind, size, sector in DEMO_ORGANISATIONS:
        accounts.add_organisation(
            group,
            accounts.OrganisationData(name=name, kind=kind, locality="Knysna", size_class=size, sector=sector),
            actor=lead,
        )
    invitation = accounts.invite(group, "member@demo.example", actor=lead)
    accounts.accept_invitation(invitation, actor=users["member@demo.example"])
    echo(f"[3/{steps}] an open call from rules/{DEMO_RULES_FILE}")
    now = utcnow()
    manager = users["manager@demo.example"]
    call = calls.create_call(
        DEMO_RULES_FILE, rules_folder=app.config["RULES_FOLDER"], timezone=app.config["PROGRAMME_TIMEZONE"],
        actor=manager, now=now,
    )
    calls.update_draft_call(
        call,
        calls.CallDraft(
            name=call.name, description=call.description, budget=call.budget,
            per_initiative_cap=call.per_initiative_cap,
            opens_at=(now - timedelta(days=1)).replace(second=0, microsecond=0),
            closes_at=(now + timedelta(days=60)).replace(hour=15, minute=0, second=0, microsecond=0),
        ),
        actor=manager,
    )
    calls.open_call(call, actor=manager, now=now)
    echo(f"[4/{steps}] a second call, left as a draft for the manager to edit")
    calls.create_call(
        DEMO_RULES_FILE, rules_folder=app.config["RULES_FOLDER"], timezone=app.config["PROGRAMME_TIMEZONE"],
        actor=manager, now=now,
    )
    db.session.commit()
    echo(f"Seeded: {len(DEMO_USERS)} accounts, 1 applicant group with {len(DEMO_ORGANISATIONS)} organisations, "
         f"call {call.reference} open until {call.closes_at:%Y-%m-%d %H:%M} UTC.")
    return True
