"""Seed a demo programme into an empty database, through the same services the web uses."""

from __future__ import annotations

import io
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal

from dateutil.relativedelta import relativedelta
from flask import Flask
from sqlalchemy import func, select, update

from programme.accounts import services as accounts
from programme.accounts.models import ApplicantGroup, OrganisationType, SizeClass, User
from programme.calls import services as calls
from programme.calls.demo_staged import seed_staged_call
from programme.calls.models import Call
from programme.core.access import Role, SystemActor
from programme.core.notifications import MailState, Notification
from programme.core.timezone import format_local
from programme.core.timezone import now as clock_now
from programme.core.web import programme_zone
from programme.extensions import db
from programme.funding import services as funding
from programme.funding.demo_facilitation import seed_facilitation_claim
from programme.funding.models import Initiative, InitiativeStatus
from programme.loans import services as loans
from programme.loans.demo_guarantees import seed_guaranteed_loan
from programme.loans.models import Loan, RevolvingFund
from programme.loans.services.arrears import run_daily
from programme.monitoring.services import benchmarking, milestones
from programme.monitoring.services import reports as monitoring_reports
from programme.monitoring.services import scorecards as monitoring
from programme.monitoring.services.reports import run_report_schedule
from programme.proposals import services as proposals
from programme.proposals.domain import ActivityKind, ClusterStage, CoFinancingKind
from programme.proposals.models import Proposal
from programme.reviews import services as reviews
from programme.reviews.models import Review

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
    # The second pair of eyes: a write-off, a refund, a large loan or a bank statement asked for by one is
    # approved by the other; a staff role granted by one manager is approved by the other.
    DemoUser("manager2@demo.example", "Naledi Khumalo", (Role.PROGRAMME_MANAGER,), "demo-manager-2026"),
    DemoUser("funds2@demo.example", "Grace Achieng", (Role.FUND_ADMINISTRATOR,), "demo-funds-2026"),
    DemoUser("auditor@demo.example", "Ravi Pillay", (Role.AUDITOR,), "demo-auditor-2026"),
    DemoUser("reviewer1@demo.example", "Ana Souza", (Role.REVIEWER,), "demo-reviewer-2026"),
    DemoUser("reviewer2@demo.example", "Jonas Keller", (Role.REVIEWER,), "demo-reviewer-2026"),
    DemoUser("reviewer3@demo.example", "Li Wei", (Role.REVIEWER,), "demo-reviewer-2026"),
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


#: The groups that applied to the earlier call, now in review: name, sector, town, title, amount, quality.
REVIEW_GROUPS = (
    ("Garden Route Wood Furniture Network", "Wooden furniture", "Knysna",
     "Shared finishing workshop and joint training for furniture makers", "42000.00", 4),
    ("Karoo Lamb Producers Forum", "Meat and livestock", "Graaff-Reinet",
     "A Karoo lamb origin mark and a joint cold chain", "48000.00", 4),
    ("Overberg Fynbos Essential Oils Cluster", "Essential oils", "Hermanus",
     "Shared distillation testing and export certification", "35000.00", 3),
    ("Vaal Ceramics and Tableware Group", "Ceramics", "Vereeniging",
     "Joint stand at two trade fairs and a glaze testing service", "30000.00", 3),
    ("West Coast Boatbuilders Initiative", "Boatbuilding", "Saldanha",
     "A common slipway study and welding certification", "50000.00", 2),
)

#: The two other groups of REVIEW_GROUPS (by index) that also won the pilot call, with the amount they asked.
PILOT_OTHERS = ((1, "30000.00"), (2, "25000.00"))

#: A stand-in for a scanned bank confirmation (a minimal PDF).
DEMO_EVIDENCE = b"%PDF-1.4\n% demo: confirmation of the members' transfer\n%%EOF\n"

GOOD_JUSTIFICATION = (
    "The members already share a training room and exhibit together; the plan builds on that record and "
    "leaves core production to each firm."
)
WEAK_JUSTIFICATION = (
    "The proposal names the problem, but the first activities touch the firms' core processes and the "
    "members have little record of working together."
)


def database_is_empty() -> bool:
    return not db.session.scalar(select(func.count()).select_from(User))


def seed_demo(app: Flask, echo: Callable[[str], None] = print) -> bool:
    """Seed users of every role, an applicant group with organisations and an open call. False if not empty."""
    if not database_is_empty():
        return False
    steps = 7
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
    now = clock_now()
    manager = users["manager@demo.example"]
    call = calls.create_call(
        DEMO_RULES_FILE, rules_folder=app.config["RULES_FOLDER"], timezone=programme_zone(),
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
        DEMO_RULES_FILE, rules_folder=app.config["RULES_FOLDER"], timezone=programme_zone(),
        actor=manager, now=now,
    )
    echo(f"[5/{steps}] an earlier call in review: {len(REVIEW_GROUPS)} proposals, 3 reviewers, reviews in progress")
    review_call = _call_in_review(app, users, group, now)
    echo(f"[6/{steps}] a pilot call decided 14 months ago: the demo group's initiative, its grants, co-financing, "
         "revolving fund and loans")
    initiative, others = _initiative_with_loans(app, users, group, now)
    echo("[+] a facilitation-fund claim on the demo group's initiative: verified, approved and paid")
    seed_facilitation_claim(app, users, initiative, programme_zone())
    echo("[+] a loan guaranteed by two members, in default: its guarantees called and partly collected")
    seed_guaranteed_loan(users, initiative, now=now, timezone=programme_zone())
    echo(f"[7/{steps}] scorecards, self-evaluation reports and milestone reviews of the pilot call's initiatives")
    _monitoring(app, users, [initiative, *others], now)
    echo("[+] a staged network call: its concept notes decided, the demo group invited to the business plan stage")
    seed_staged_call(app, users, now)
    # The story's notifications are its past (months of it, to addresses that do not exist): shown in the app, never
    # mailed; what happens from now on is mailed (printed to the console in demo mode).
    db.session.execute(update(Notification).where(Notification.mail_state == MailState.PENDING)
                       .values(mail_state=MailState.IN_APP_ONLY))
    db.session.commit()
    echo(f"Seeded: {len(DEMO_USERS)} accounts, 1 applicant group with {len(DEMO_ORGANISATIONS)} organisations, "
         f"call {call.reference} open until {format_local(call.closes_at, programme_zone())}, "
         f"call {review_call.reference} in review until {format_local(review_call.review_deadline, programme_zone())}, "
         f"initiative {initiative.reference} with {len(initiative_loans(initiative))} loans, "
         f"{len(others)} other initiatives of the pilot call.")
    return True


def _call_in_review(app: Flask, users: dict[str, User], demo_group: ApplicantGroup, now: datetime) -> Call:
    """A call that closed ten days ago with five submitted proposals, its review started and assigned; two of
    the three reviewers have submitted their reviews, the first demo reviewer has its own still to do."""
    manager = users["manager@demo.example"]
    opened, closes = now - timedelta(days=70), now - timedelta(days=10)
    call = calls.create_call(
        DEMO_RULES_FILE, rules_folder=app.config["RULES_FOLDER"], timezone=programme_zone(),
        actor=manager, now=opened - timedelta(days=1),
    )
    calls.update_draft_call(call, calls.CallDraft(
        name="Cluster Development Contest, first round", description=call.description, budget=Decimal("120000.00"),
        per_initiative_cap=Decimal("60000.00"), opens_at=opened, closes_at=closes,
    ), actor=manager)
    calls.open_call(call, actor=manager, now=opened)
    quality: dict[int, int] = {}
    for index, (name, sector, town, title, amount, score) in enumerate(REVIEW_GROUPS):
        if index == 0:
            group, lead = demo_group, users["applicant@demo.example"]
        else:
            lead = accounts.create_user(email=f"lead{index}@groups.demo.example", name=f"{name.split()[0]} lead",
                                        roles=(Role.APPLICANT,), password=secrets.token_urlsafe(16), actor=SEEDER)
            group = accounts.create_group(name=name, description=f"Firms and institutions of {town}.", actor=lead)
            for number in range(1, 4):
                accounts.add_organisation(group, accounts.OrganisationData(
                    name=f"{town} {sector.lower()} firm {number}", kind=OrganisationType.FIRM, locality=town,
                    size_class=SizeClass.SMALL, sector=sector), actor=lead)
            for institution, kind in ((f"{town} Business Chamber", OrganisationType.BUSINESS_ASSOCIATION),
                                      (f"{town} Technical College", OrganisationType.TRAINING_PROVIDER)):
                accounts.add_organisation(group, accounts.OrganisationData(
                    name=institution, kind=kind, locality=town), actor=lead)
        submitted = opened + timedelta(days=20 + index)
        proposal = _demo_proposal(call, group, lead, title, sector, town, Decimal(amount), submitted)
        proposals.submit(proposal, actor=lead, now=submitted)
        quality[proposal.id] = score
    calls.close_call(call, actor=manager, now=closes)
    start = closes + timedelta(days=2)
    reviewers = [users[f"reviewer{n}@demo.example"] for n in (1, 2, 3)]
    for reviewer in reviewers:
        reviews.add_reviewer(call, reviewer, actor=manager, now=start)
    reviews.start_review(call, deadline=now + timedelta(days=14), actor=manager, now=start)
    reviews.auto_assign(call, actor=manager, now=start)
    db.session.flush()
    for review in db.session.scalars(select(Review).where(Review.call_id == call.id).order_by(Review.id)):
        if review.reviewer_id == reviewers[0].id:
            continue
        base = quality[review.proposal_id] + (Decimal("0.5") if review.reviewer_id == reviewers[2].id else 0)
        marks = {c.key: min(Decimal(5), Decimal(base) + (Decimal("0.5") if i % 3 == 0 else 0))
                 for i, c in enumerate(call.criteria)}
        text = GOOD_JUSTIFICATION if base >= 3 else WEAK_JUSTIFICATION
        reviews.save_review(review, scores=marks, justifications={c.key: text for c in call.criteria},
                            submit=True, actor=review.reviewer, now=start + timedelta(days=3))
    return call


def _initiative_with_loans(app: Flask, users: dict[str, User], demo_group: ApplicantGroup,
                           now: datetime) -> Initiative:
    """A pilot call decided about 14 months ago (so its initiative is in programme year 2): the demo group's
    proposal won. Its start-up grant has one tranche paid and one awaiting approval; a funding request was
    approved with a smaller grant; the members' cash co-financing is verified and a matching tranche paid;
    the revolving fund is capitalised and has lent to three members, one repaying on time, one in arrears
    over 30 days, one only started. The daily job has aged the arrears."""
    manager, admin = users["manager@demo.example"], users["funds@demo.example"]
    lead = users["applicant@demo.example"]
    zone = programme_zone()
    opened, closes = now - timedelta(days=520), now - timedelta(days=460)
    call = calls.create_call(DEMO_RULES_FILE, rules_folder=app.config["RULES_FOLDER"], timezone=zone,
                             actor=manager, now=opened - timedelta(days=1))
    calls.update_draft_call(call, calls.CallDraft(
        name="Cluster Development Contest, pilot round", description=call.description, budget=Decimal("150000.00"),
        per_initiative_cap=Decimal("80000.00"), opens_at=opened, closes_at=closes,
    ), actor=manager)
    calls.open_call(call, actor=manager, now=opened)
    submitted = opened + timedelta(days=30)
    proposal = _demo_proposal(call, demo_group, lead, "Joint kiln drying and timber grading for the network",
                              "Wooden furniture", "Knysna", Decimal("40000.00"), submitted)
    proposals.submit(proposal, actor=lead, now=submitted)
    for index, amount in PILOT_OTHERS:
        name, sector, town, title, _, _ = REVIEW_GROUPS[index]
        other = db.session.scalars(select(ApplicantGroup).where(ApplicantGroup.name == name)).one()
        other_lead = db.session.scalars(select(User).where(User.email == f"lead{index}@groups.demo.example")).one()
        pilot = _demo_proposal(call, other, other_lead, f"{title} (pilot)", sector, town, Decimal(amount),
                               submitted + timedelta(days=index))
        proposals.submit(pilot, actor=other_lead, now=submitted + timedelta(days=index))
    calls.close_call(call, actor=manager, now=closes)
    start = closes + timedelta(days=2)
    reviewers = [users[f"reviewer{n}@demo.example"] for n in (1, 2, 3)]
    for reviewer in reviewers:
        reviews.add_reviewer(call, reviewer, actor=manager, now=start)
    reviews.start_review(call, deadline=start + timedelta(days=14), actor=manager, now=start)
    reviews.auto_assign(call, actor=manager, now=start)
    db.session.flush()
    for review in db.session.scalars(select(Review).where(Review.call_id == call.id).order_by(Review.id)):
        reviews.save_review(review, scores={c.key: Decimal(4) for c in call.criteria},
                            justifications={c.key: GOOD_JUSTIFICATION for c in call.criteria},
                            submit=True, actor=review.reviewer, now=start + timedelta(days=5))
    decided = start + timedelta(days=16)
    reviews.decide_as_ranked(call, actor=manager, now=decided)
    published = reviews.publish_decisions(call, actor=manager, now=decided)
    (initiative,) = [i for i in published if i.group_id == demo_group.id]
    others = [i for i in published if i.group_id != demo_group.id]
    day0 = decided.date()
    for number, other in enumerate(others, start=2):  # each other initiative has its first tranche paid
        tranche = funding.request_disbursement(other.startup_grant, amount="10000.00", purpose="Facilitator",
                                               actor=manager, now=decided + timedelta(days=3), timezone=zone)
        funding.approve_disbursement(tranche, actor=admin, now=decided + timedelta(days=4), timezone=zone)
        funding.record_payment(tranche, value_date=day0 + timedelta(days=6), bank_reference=f"DEMO-SG-{number:04d}",
                               actor=admin, now=decided + timedelta(days=6), timezone=zone)

    # The start-up grant: one tranche paid, the next awaiting the fund administrator's approval.
    grant = initiative.startup_grant
    first = funding.request_disbursement(grant, amount="15000.00", purpose="Facilitator, first half-year",
                                         actor=manager, now=decided + timedelta(days=3), timezone=zone)
    funding.approve_disbursement(first, actor=admin, now=decided + timedelta(days=4), timezone=zone)
    funding.record_payment(first, value_date=day0 + timedelta(days=5), bank_reference="DEMO-SG-0001", actor=admin,
                           now=decided + timedelta(days=5), timezone=zone)
    funding.request_disbursement(grant, amount="10000.00", purpose="Facilitator, second half-year",
                                 actor=manager, now=now - timedelta(days=2), timezone=zone)

    # A funding request in year 2, approved with a smaller grant; co-financing verified; a matching tranche.
    asked_on = now - timedelta(days=40)
    request = funding.submit_funding_request(
        initiative, title="Shared finishing line", description="A spray booth and dust extraction the members share.",
        cost="36000.00", instrument="both", grant_asked="16000.00", loan_asked="12000.00", actor=lead, now=asked_on)
    criteria = call.rules.funding.request_criteria
    funding.judge_funding_request(
        request, assessments={c.key: (True, "Shown in the plan.") for c in criteria}, approve=True,
        reason="A shared line no member could afford alone; the grant is cut to the matching the members can raise.",
        grant_approved="12000.00", loan_approved="12000.00", actor=manager, now=asked_on + timedelta(days=5))
    matching = request.grant
    contribution = funding.record_contribution(
        matching, kind="cash", amount="8000.00", contributed_on=(asked_on + timedelta(days=10)).date(),
        description="Members' cash for the finishing line", contributor_id=demo_group.organisations[0].id,
        stream=io.BytesIO(DEMO_EVIDENCE), filename="members-transfer.pdf",
        upload_root=app.config["UPLOAD_FOLDER"], max_bytes=app.config["MAX_ATTACHMENT_BYTES"], actor=lead,
        now=asked_on + timedelta(days=10), timezone=zone)
    funding.verify_contribution(contribution, actor=admin, now=asked_on + timedelta(days=12))
    tranche = funding.request_disbursement(matching, amount="6000.00", purpose="Spray booth deposit",
                                           actor=manager, now=asked_on + timedelta(days=14), timezone=zone)
    funding.approve_disbursement(tranche, actor=admin, now=asked_on + timedelta(days=15), timezone=zone)
    funding.record_payment(tranche, value_date=(asked_on + timedelta(days=16)).date(), bank_reference="DEMO-MG-0001",
                           actor=admin, now=asked_on + timedelta(days=16), timezone=zone)

    # The revolving fund: capitalised, three loans to members, repayments, one loan in arrears.
    fund = loans.fund_of(initiative)
    loans.capitalise_fund(fund, amount="40000.00", value_date=day0 + timedelta(days=20),
                          bank_reference="DEMO-RF-0001", note="First capitalisation", actor=admin,
                          now=decided + timedelta(days=20), timezone=zone)
    members = demo_group.organisations
    today = now.date()
    plan = (  # borrower, principal, rate, months, disbursed days ago, instalments repaid
        (members[1], "9000.00", "0.02", 24, 330, 10),
        (members[3], "6000.00", "0", 12, 200, 3),
        (members[2], "12000.00", "0.03", 36, 45, 1),
    )
    for number, (borrower, principal, rate, months, days_ago, repaid) in enumerate(plan, start=1):
        disbursed = today - timedelta(days=days_ago)
        loan = loans.make_loan(
            fund, borrower_id=borrower.id, principal=principal, annual_rate=rate, term_periods=months,
            first_due=disbursed + relativedelta(months=1), disbursed_on=disbursed,
            bank_reference=f"DEMO-LOAN-{number:04d}", purpose=f"Equipment for {borrower.name}", actor=admin,
            now=now, timezone=zone)
        for instalment in loan.instalments[:repaid]:
            if instalment.due_date > today:
                break
            loans.record_repayment(loan, amount=instalment.principal + instalment.interest,
                                   value_date=instalment.due_date,
                                   bank_reference=f"DEMO-REP-{number:02d}-{instalment.number:03d}", actor=admin,
                                   now=now, timezone=zone)
    run_daily(as_of=today, actor=SEEDER, now=now)
    return initiative, others


def _monitoring(app: Flask, users: dict[str, User], initiatives: list[Initiative], now: datetime) -> None:
    """Each pilot initiative's scorecard (the call's template, baselines and targets set; the demo group adds a
    KPI of its own) and its half-yearly reports: the demo group has submitted two and drafts the third; the
    second group has submitted one and let its second go overdue; the third submitted one. At the one-year milestone
    the manager let the demo group continue with conditions (into implementation), let the second continue and
    terminated the third. The daily job has flagged the overdue report; one benchmark's names are published."""
    manager, zone = users["manager@demo.example"], programme_zone()
    today = now.date()
    pace = (Decimal("0.30"), Decimal("0.20"), Decimal("0.05"))  # share of the way to target per half-year
    for rank, initiative in enumerate(initiatives):
        lead = initiative.group.lead
        begun = initiative.started_at + timedelta(days=10)
        card = monitoring.start_scorecard(initiative, template_key=None, rules_folder=app.config["RULES_FOLDER"],
                                          actor=lead, now=begun)
        for number, kpi in enumerate(monitoring.kpis_of(card), start=1):
            base = Decimal(10 * number + 5 * rank)
            target = base * 2 if kpi.direction.value == "higher" else (base / 2).quantize(Decimal("0.01"))
            monitoring.update_kpi(kpi, name=kpi.name, unit=kpi.unit, direction=kpi.direction, source=kpi.source,
                                  baseline=base, target=target, actor=lead, now=begun)
        if rank == 0:
            monitoring.add_kpi(card, factor_key="overall_investment", name="Kiln-dried timber sold by the network",
                               unit="cubic metres", direction="higher", source="kiln log book", baseline="0",
                               target="400", actor=lead, now=begun)
        drafts = monitoring_reports.open_reports(initiative, today=today, actor=lead, now=now, timezone=zone)
        for report in drafts:
            latest = report is drafts[-1]
            if report.due_on >= today and not latest:
                continue
            if rank >= 1 and report.number >= 2:
                continue  # the second group's second report is overdue; the third group stopped meeting
            kpis = [k for k in monitoring.kpis_of(card) if k.live]
            share = min(Decimal(1), pace[rank] * report.number)
            values = {k.id: (((k.baseline or 0) + ((k.target or 0) - (k.baseline or 0)) * share)
                             .quantize(Decimal("0.01")), "") for k in kpis}
            if latest and rank == 0:
                values = dict(list(values.items())[:3])
            filed = datetime.combine(min(report.due_on, today), datetime.min.time(), tzinfo=now.tzinfo) \
                - timedelta(days=3)
            monitoring_reports.save_report(
                report, values=values, actor=lead, now=filed,
                narrative=f"Half-year {report.number}: the joint activities ran as planned; "
                          f"{len(kpis)} indicators reported.",
                learned="Members come when the activity answers a problem they have this season.",
                will_change="Fewer meetings, more visits to each other's workshops.")
            if not latest:
                monitoring_reports.submit_report(report, actor=lead, now=filed)
        year_one = initiative.started_at + timedelta(days=380)
        decision, conditions, next_status = (
            ("continue_with_conditions", "Open the kiln to non-member firms at cost price by the next milestone.",
             InitiativeStatus.IMPLEMENTATION),
            ("continue", "", InitiativeStatus.IMPLEMENTATION),
            ("terminate", "", None),
        )[rank]
        reason = ("The first report shows joint activity and co-financing as planned." if rank < 2
                  else "No joint activity in the second half-year; the members no longer meet.")
        milestones.record_milestone_review(
            initiative, decision=decision, reason=reason, conditions=conditions, next_status=next_status,
            decided_on=year_one.date(), actor=manager, now=year_one, timezone=zone)
    run_report_schedule(today=today, actor=SEEDER, now=now, timezone=zone)
    benchmarking.publish("companies_in_cluster", actor=manager, now=now)


def initiative_loans(initiative: Initiative) -> list[Loan]:
    return list(db.session.scalars(
        select(Loan).join(RevolvingFund).where(RevolvingFund.initiative_id == initiative.id).order_by(Loan.id)))


def _demo_proposal(call: Call, group: ApplicantGroup, lead: User, title: str, sector: str, town: str,
                   amount: Decimal, now: datetime) -> Proposal:
    proposal = proposals.start_proposal(call, group, title=title, actor=lead, now=now)
    proposals.update_cluster(proposal, proposals.ClusterSection(
        title=title, sector=sector, territory=town, stage=ClusterStage.POTENTIAL,
        main_problem="Each firm is too small to reach buyers and skills alone.",
        market_failure="Co-ordination failure: no single firm pays for what all would use.",
    ), actor=lead, now=now)
    proposals.update_objectives(proposal, objectives="Act jointly on the firms' most immediate problems.",
                                sustainability_plan="Members pay a yearly fee to the association from year two.",
                                actor=lead, now=now)
    facilitation = proposals.add_activity(proposal, proposals.ActivityData(
        title="Facilitated meetings of the members", kind=ActivityKind.FACILITATION, description="",
        start_quarter=1, end_quarter=4, cost=Decimal("20000.00")), actor=lead, now=now)
    practical = proposals.add_activity(proposal, proposals.ActivityData(
        title=title, kind=ActivityKind.PRACTICAL, description="", start_quarter=2, end_quarter=4,
        cost=amount), actor=lead, now=now)
    proposals.add_budget_line(proposal, proposals.BudgetLineData(
        activity_id=facilitation.id, cost_type="facilitator_fees", description="Facilitator",
        amount=Decimal("20000.00")), actor=lead, now=now)
    proposals.add_budget_line(proposal, proposals.BudgetLineData(
        activity_id=practical.id, cost_type="fairs", description=title, amount=amount), actor=lead, now=now)
    proposals.set_requested_amount(proposal, amount, actor=lead, now=now)
    proposals.add_cofinancing(proposal, proposals.CoFinancingData(
        organisation_id=group.organisations[0].id, kind=CoFinancingKind.CASH, amount=Decimal("10000.00"),
        description="Members' cash contribution"), actor=lead, now=now)
    proposals.add_indicator(proposal, proposals.IndicatorData(
        name="Firms taking part in joint activities", unit="firms", baseline=Decimal("2"), target=Decimal("8")),
        actor=lead, now=now)
    return proposal
