"""The reviewer pool of a call, conflicts of interest, reviews and their scores, consensus scores, decisions."""

from __future__ import annotations

import enum
import re
from datetime import datetime
from decimal import Decimal

from sqlalchemy import CheckConstraint, ForeignKey, Numeric, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from programme.accounts.models import Organisation, User
from programme.calls.models import Call
from programme.core.access import Role
from programme.core.db import Base, Money, state_enum, utcnow
from programme.core.texts import lazy_gettext as _l
from programme.core.texts import lazy_pgettext
from programme.proposals.models import Proposal

SCORE = Numeric(6, 2)


def split_sectors(text: str) -> list[str]:
    """Sectors written as a list ('food processing; dairy, tourism'), normalised: lower case, single spaces."""
    seen: dict[str, None] = {}
    for part in re.split(r"[,;/\n]+", text or ""):
        words = " ".join(part.lower().split())
        if words:
            seen.setdefault(words, None)
    return list(seen)


def _is(user: object, role: Role) -> bool:
    has_role = getattr(user, "has_role", None)
    return bool(has_role and getattr(user, "is_authenticated", False) and has_role(role))


class CallReviewer(Base):
    """A reviewer in the pool of a call, with the sectors it knows."""

    __tablename__ = "call_reviewers"

    id: Mapped[int] = mapped_column(primary_key=True)
    call_id: Mapped[int] = mapped_column(ForeignKey("calls.id"), index=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    expertise: Mapped[str] = mapped_column(Text, default="")
    added_at: Mapped[datetime] = mapped_column(default=utcnow)
    added_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))

    call: Mapped[Call] = relationship()
    user: Mapped[User] = relationship(foreign_keys=[user_id], lazy="joined")

    __table_args__ = (UniqueConstraint("call_id", "user_id", name="uq_call_reviewers_call_user"),)

    @property
    def sectors(self) -> frozenset[str]:
        return frozenset(split_sectors(self.expertise))


class ConflictOfInterest(Base):
    """A conflict a reviewer declared: with an organisation (and so every group it belongs to) or a proposal."""

    __tablename__ = "conflicts_of_interest"

    id: Mapped[int] = mapped_column(primary_key=True)
    call_id: Mapped[int] = mapped_column(ForeignKey("calls.id"), index=True)
    reviewer_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    organisation_id: Mapped[int | None] = mapped_column(ForeignKey("organisations.id"))
    proposal_id: Mapped[int | None] = mapped_column(ForeignKey("proposals.id"))
    note: Mapped[str] = mapped_column(Text, default="")
    declared_at: Mapped[datetime] = mapped_column(default=utcnow)

    organisation: Mapped[Organisation | None] = relationship(lazy="joined")
    proposal: Mapped[Proposal | None] = relationship(lazy="joined")

    __table_args__ = (
        CheckConstraint("(organisation_id IS NULL) <> (proposal_id IS NULL)", name="one_subject"),
    )


#: What a review's status and a decision's outcome say to people, in the language being answered in.
REVIEW_STATUS_LABELS = {"assigned": _l("Not started"), "draft": _l("Draft saved"), "submitted": _l("Submitted")}
OUTCOME_LABELS = {"funded": lazy_pgettext("decision outcome", "Funded"),
                  "reserve": lazy_pgettext("decision outcome", "Reserve"),
                  "rejected": lazy_pgettext("decision outcome", "Rejected")}


class ReviewStatus(enum.StrEnum):
    ASSIGNED = "assigned"
    DRAFT = "draft"
    SUBMITTED = "submitted"

    @property
    def label(self) -> str:
        return str(REVIEW_STATUS_LABELS[self.value])


class Review(Base):
    """One reviewer's review of one proposal: the frozen version it scores, its scores and its state."""

    __tablename__ = "reviews"

    id: Mapped[int] = mapped_column(primary_key=True)
    call_id: Mapped[int] = mapped_column(ForeignKey("calls.id"), index=True)
    proposal_id: Mapped[int] = mapped_column(ForeignKey("proposals.id"), index=True)
    reviewer_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    version_number: Mapped[int]
    status: Mapped[ReviewStatus] = mapped_column(state_enum(ReviewStatus, "status"), default=ReviewStatus.ASSIGNED)
    assigned_at: Mapped[datetime] = mapped_column(default=utcnow)
    assigned_by: Mapped[str] = mapped_column(String(255), default="")
    saved_at: Mapped[datetime | None]
    submitted_at: Mapped[datetime | None]
    reopened_count: Mapped[int] = mapped_column(default=0)
    # When the scheduler reminded the reviewer of the deadline, and flagged the review late to the manager.
    reminded_at: Mapped[datetime | None]
    late_flagged_at: Mapped[datetime | None]

    call: Mapped[Call] = relationship()
    proposal: Mapped[Proposal] = relationship()
    reviewer: Mapped[User] = relationship(lazy="joined")
    scores: Mapped[list[ReviewScore]] = relationship(
        back_populates="review", cascade="all, delete-orphan", lazy="selectin", order_by="ReviewScore.id"
    )

    __table_args__ = (
        UniqueConstraint("proposal_id", "reviewer_id", name="uq_reviews_proposal_reviewer"),
        CheckConstraint("(status = 'submitted') = (submitted_at IS NOT NULL)", name="submitted_has_time"),
        CheckConstraint("version_number >= 1", name="version_positive"),
    )

    @property
    def submitted(self) -> bool:
        return self.status == ReviewStatus.SUBMITTED

    def score_of(self, key: str) -> ReviewScore | None:
        return next((s for s in self.scores if s.criterion_key == key), None)

    def is_late(self, now: datetime) -> bool:
        deadline = self.call.review_deadline
        if deadline is None:
            return False
        return (self.submitted_at or now) > deadline

    # Permission rules.
    def is_reviewer(self, user: object) -> bool:
        return _is(user, Role.REVIEWER) and getattr(user, "id", None) == self.reviewer_id

    def can_view(self, user: object) -> bool:
        return self.is_reviewer(user) or _is(user, Role.PROGRAMME_MANAGER)

    def can_edit(self, user: object) -> bool:
        return self.is_reviewer(user) and not self.submitted and self.call.status.value == "reviewing"

    def can_reopen(self, user: object) -> bool:
        return self.submitted and _is(user, Role.PROGRAMME_MANAGER) and self.call.status.value == "reviewing"


class ReviewScore(Base):
    """The score and justification a review gives one criterion (a draft may leave either empty)."""

    __tablename__ = "review_scores"

    id: Mapped[int] = mapped_column(primary_key=True)
    review_id: Mapped[int] = mapped_column(ForeignKey("reviews.id", ondelete="CASCADE"), index=True)
    criterion_key: Mapped[str] = mapped_column(String(40))
    score: Mapped[Decimal | None] = mapped_column(SCORE)
    justification: Mapped[str] = mapped_column(Text, default="")

    review: Mapped[Review] = relationship(back_populates="scores")

    __table_args__ = (UniqueConstraint("review_id", "criterion_key", name="uq_review_scores_review_criterion"),)


class ConsensusScore(Base):
    """A score the panel agreed on one criterion of one proposal; it replaces the mean, with its reason."""

    __tablename__ = "consensus_scores"

    id: Mapped[int] = mapped_column(primary_key=True)
    proposal_id: Mapped[int] = mapped_column(ForeignKey("proposals.id"), index=True)
    criterion_key: Mapped[str] = mapped_column(String(40))
    score: Mapped[Decimal] = mapped_column(SCORE)
    reason: Mapped[str] = mapped_column(Text)
    recorded_at: Mapped[datetime] = mapped_column(default=utcnow)
    recorded_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))

    recorded_by: Mapped[User | None] = relationship(lazy="joined")

    __table_args__ = (
        UniqueConstraint("proposal_id", "criterion_key", name="uq_consensus_scores_proposal_criterion"),
        CheckConstraint("reason <> ''", name="reason_given"),
    )


class Outcome(enum.StrEnum):
    FUNDED = "funded"
    RESERVE = "reserve"
    REJECTED = "rejected"

    @property
    def label(self) -> str:
        return str(OUTCOME_LABELS[self.value])


class Decision(Base):
    """The manager's decision on a proposal, with its reason and what the ranking said at the time."""

    __tablename__ = "decisions"

    id: Mapped[int] = mapped_column(primary_key=True)
    call_id: Mapped[int] = mapped_column(ForeignKey("calls.id"), index=True)
    proposal_id: Mapped[int] = mapped_column(ForeignKey("proposals.id"), unique=True)
    outcome: Mapped[Outcome] = mapped_column(state_enum(Outcome, "outcome"))
    reason: Mapped[str] = mapped_column(Text)
    # What the ranking said when the decision was recorded: funded, reserve, not_fundable or not_scored.
    ranked_as: Mapped[str] = mapped_column(String(20))
    rank: Mapped[int | None]
    against_ranking: Mapped[bool] = mapped_column(default=False)
    # The start-up grant a funded proposal is committed.
    amount: Mapped[Money | None]
    decided_at: Mapped[datetime] = mapped_column(default=utcnow)
    decided_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))

    decided_by: Mapped[User | None] = relationship(lazy="joined")

    __table_args__ = (
        CheckConstraint("reason <> ''", name="reason_given"),
        CheckConstraint("(outcome = 'funded') = (amount IS NOT NULL)", name="funded_has_amount"),
        CheckConstraint(
            "ranked_as IN ('funded', 'reserve', 'not_fundable', 'not_scored')", name="ranked_as_known"
        ),
    )
