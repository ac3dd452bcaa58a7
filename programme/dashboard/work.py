"""The home page's work queues (issue 16): what waits for each staff role today, each in one short query.

Read-only, like the figures: for the programme manager the calls in review (reviews outstanding, proposals not
yet decided, the deadline), the submissions of the last days and the mail not delivered; for the fund
administrator the loans in arrears, longest late first, with a count by age, and the bank statements and loan
requests waiting for a second person.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import case, func, select

from programme.accounts.models import Organisation
from programme.calls.models import Call, CallStatus
from programme.core import mail
from programme.core.access import Actor, Role, require_role
from programme.extensions import db
from programme.loans.models import BankStatementImport, Loan, LoanStatus, StatementStatus
from programme.proposals import services as proposals
from programme.proposals.domain import RuleCheck
from programme.proposals.models import Proposal, ProposalStatus
from programme.reviews.models import Review, ReviewStatus

#: Submissions this recent are listed on the manager's home page.
RECENT_DAYS = 7
#: Late loans listed by name (the rest are counted).
LATE_LISTED = 10
#: Proposals that wait for the manager's decision in a call in review.
UNDECIDED = (ProposalStatus.ELIGIBLE, ProposalStatus.UNDER_REVIEW, ProposalStatus.SCORED)


@dataclass(frozen=True)
class CallInReview:
    id: int
    reference: str
    name: str
    deadline: datetime | None
    reviews: int
    outstanding: int
    to_decide: int


@dataclass(frozen=True)
class RecentSubmissions:
    call_id: int
    reference: str
    count: int


@dataclass(frozen=True)
class LateLoan:
    id: int
    number: str
    borrower: str
    days_late: int
    bucket: str | None


@dataclass(frozen=True)
class AdministratorQueue:
    late: list[LateLoan]
    late_by_bucket: dict[str, int]
    late_total: int
    statements_waiting: int


def calls_in_review(*, actor: Actor) -> list[CallInReview]:
    """The calls in review, soonest deadline first: how many reviews are assigned, how many are not submitted yet,
    and how many proposals wait for a decision."""
    require_role(actor, Role.PROGRAMME_MANAGER)
    outstanding = func.sum(case((Review.status != ReviewStatus.SUBMITTED, 1), else_=0))
    reviews = (select(Review.call_id, func.count(Review.id).label("reviews"), outstanding.label("outstanding"))
               .group_by(Review.call_id).subquery())
    undecided = (select(Proposal.call_id, func.count(Proposal.id).label("to_decide"))
                 .where(Proposal.status.in_(UNDECIDED)).group_by(Proposal.call_id).subquery())
    rows = db.session.execute(
        select(Call.id, Call.reference, Call.name, Call.review_deadline, reviews.c.reviews, reviews.c.outstanding,
               undecided.c.to_decide)
        .outerjoin(reviews, reviews.c.call_id == Call.id).outerjoin(undecided, undecided.c.call_id == Call.id)
        .where(Call.status == CallStatus.REVIEWING).order_by(Call.review_deadline, Call.id))
    return [CallInReview(r.id, r.reference, r.name, r.review_deadline, int(r.reviews or 0), int(r.outstanding or 0),
                         int(r.to_decide or 0)) for r in rows]


def recent_submissions(*, actor: Actor, now: datetime) -> list[RecentSubmissions]:
    """Proposals submitted in the last ``RECENT_DAYS`` days, counted per call."""
    require_role(actor, Role.PROGRAMME_MANAGER)
    rows = db.session.execute(
        select(Call.id, Call.reference, func.count(Proposal.id))
        .join(Proposal, Proposal.call_id == Call.id)
        .where(Proposal.submitted_at >= now - timedelta(days=RECENT_DAYS),
               Proposal.status != ProposalStatus.WITHDRAWN)
        .group_by(Call.id, Call.reference).order_by(Call.reference))
    return [RecentSubmissions(call_id, reference, int(count)) for call_id, reference, count in rows]


def administrator_queue(*, actor: Actor) -> AdministratorQueue:
    """The loans in arrears (as the daily job aged them), the longest late first, and their count by age; the
    bank statements checked and waiting for a second administrator."""
    require_role(actor, Role.FUND_ADMINISTRATOR)
    late_rows = db.session.execute(
        select(Loan.id, Loan.number, Organisation.name, Loan.days_late, Loan.arrears_bucket)
        .join(Organisation, Organisation.id == Loan.borrower_id)
        .where(Loan.status == LoanStatus.ACTIVE, Loan.days_late > 0)
        .order_by(Loan.days_late.desc(), Loan.id).limit(LATE_LISTED)).all()
    by_bucket = {bucket or "late": int(count) for bucket, count in db.session.execute(
        select(Loan.arrears_bucket, func.count(Loan.id))
        .where(Loan.status == LoanStatus.ACTIVE, Loan.days_late > 0).group_by(Loan.arrears_bucket))}
    waiting = db.session.scalar(select(func.count(BankStatementImport.id))
                                .where(BankStatementImport.status == StatementStatus.CHECKED)) or 0
    return AdministratorQueue(
        late=[LateLoan(r.id, r.number, r.name, int(r.days_late), r.arrears_bucket) for r in late_rows],
        late_by_bucket=dict(sorted(by_bucket.items())), late_total=sum(by_bucket.values()),
        statements_waiting=int(waiting))


def undelivered_mail(*, actor: Actor) -> int:
    """The programme's mail not delivered after every attempt, or not sure to be (core.mail counts it)."""
    return mail.undelivered_count(db.session, actor=actor)


@dataclass(frozen=True)
class DraftToFinish:
    """An applicant's draft in a call still taking proposals, and the call's rules it does not meet yet."""

    proposal: Proposal
    closes_at: datetime | None
    still_needed: list[RuleCheck]


def drafts_to_finish(*, actor: Actor, now: datetime) -> list[DraftToFinish]:
    """The drafts of the groups the actor acts for, in calls still taking proposals, the nearest deadline first,
    each with what it still needs (the live checklist the proposal's own pages show)."""
    drafts = [p for p in proposals.proposals_of(actor)
              if p.status == ProposalStatus.DRAFT and p.call.is_accepting(now)]
    listed = [DraftToFinish(p, p.call.closes_at, proposals.live_eligibility(p, now).failures) for p in drafts]
    return sorted(listed, key=lambda d: (d.closes_at is None, d.closes_at or now))
