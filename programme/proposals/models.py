"""A proposal's working draft (sections, activities, budget, co-financing, indicators, attachments)
and its submitted versions, each frozen as it was submitted."""

from __future__ import annotations

import enum
import json
from datetime import datetime
from decimal import Decimal
from functools import cached_property
from typing import Any

from sqlalchemy import CheckConstraint, ForeignKey, Index, Numeric, String, Text, UniqueConstraint, event
from sqlalchemy.orm import Mapped, mapped_column, relationship

from programme.accounts.models import ApplicantGroup, Organisation, User
from programme.calls.models import Call
from programme.core.access import Role
from programme.core.db import Base, Money, state_enum, utcnow
from programme.core.texts import lazy_gettext as _l
from programme.core.texts import lazy_pgettext
from programme.proposals.domain import ActivityKind, ClusterStage, CoFinancingKind, Verdict, load_snapshot


class ProposalStatus(enum.StrEnum):
    DRAFT = "draft"
    SUBMITTED = "submitted"
    ELIGIBLE = "eligible"
    INELIGIBLE = "ineligible"
    UNDER_REVIEW = "under_review"
    SCORED = "scored"
    FUNDED = "funded"
    RESERVE = "reserve"
    REJECTED = "rejected"
    WITHDRAWN = "withdrawn"

    @property
    def label(self) -> str:
        return str(PROPOSAL_STATUSES[self.value])


PROPOSAL_STATUSES = {
    "draft": lazy_pgettext("proposal status", "Draft"),
    "submitted": lazy_pgettext("proposal status", "Submitted"),
    "eligible": lazy_pgettext("proposal status", "Eligible"),
    "ineligible": lazy_pgettext("proposal status", "Ineligible"),
    "under_review": lazy_pgettext("proposal status", "Under review"),
    "scored": lazy_pgettext("proposal status", "Scored"),
    "funded": lazy_pgettext("proposal status", "Funded"),
    "reserve": lazy_pgettext("proposal status", "Reserve"),
    "rejected": lazy_pgettext("proposal status", "Rejected"),
    "withdrawn": lazy_pgettext("proposal status", "Withdrawn"),
}


class Proposal(Base):
    """One applicant group's proposal to one call: the working draft plus its submission state."""

    __tablename__ = "proposals"

    id: Mapped[int] = mapped_column(primary_key=True)
    call_id: Mapped[int] = mapped_column(ForeignKey("calls.id"))
    group_id: Mapped[int] = mapped_column(ForeignKey("applicant_groups.id"), index=True)
    reference: Mapped[str | None] = mapped_column(String(60), unique=True)
    title: Mapped[str] = mapped_column(String(300))
    status: Mapped[ProposalStatus] = mapped_column(state_enum(ProposalStatus, "status"), default=ProposalStatus.DRAFT)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)
    # The cluster, as the group defines it.
    sector: Mapped[str] = mapped_column(String(300), default="")
    territory: Mapped[str] = mapped_column(String(300), default="")
    stage: Mapped[ClusterStage | None] = mapped_column(state_enum(ClusterStage, "stage"))
    main_problem: Mapped[str] = mapped_column(Text, default="")
    market_failure: Mapped[str] = mapped_column(Text, default="")
    # Objectives and the plan to become self-funding.
    objectives: Mapped[str] = mapped_column(Text, default="")
    sustainability_plan: Mapped[str] = mapped_column(Text, default="")
    requested_amount: Mapped[Decimal | None] = mapped_column(Numeric(14, 2))
    # Submission: the number of the newest submitted version (None while never submitted).
    latest_version: Mapped[int | None]
    submitted_at: Mapped[datetime | None]
    withdrawn_at: Mapped[datetime | None]
    withdrawal_reason: Mapped[str | None] = mapped_column(Text)
    # A manager's eligibility decision that departs from the computed verdict, with its reason.
    override_eligible: Mapped[bool | None]
    override_reason: Mapped[str | None] = mapped_column(Text)
    override_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    override_at: Mapped[datetime | None]
    # In a later stage of a staged call: the proposal of the stage before that it was invited from (its content
    # copied as this draft's start). Only an invited group's proposal takes part in a later stage.
    previous_proposal_id: Mapped[int | None] = mapped_column(ForeignKey("proposals.id"), unique=True)

    call: Mapped[Call] = relationship(lazy="joined")
    group: Mapped[ApplicantGroup] = relationship(lazy="joined")
    activities: Mapped[list[Activity]] = relationship(
        back_populates="proposal", cascade="all, delete-orphan", order_by="Activity.position"
    )
    budget_lines: Mapped[list[BudgetLine]] = relationship(
        back_populates="proposal", cascade="all, delete-orphan", order_by="BudgetLine.position"
    )
    cofinancing: Mapped[list[CoFinancing]] = relationship(
        back_populates="proposal", cascade="all, delete-orphan", order_by="CoFinancing.id"
    )
    indicators: Mapped[list[Indicator]] = relationship(
        back_populates="proposal", cascade="all, delete-orphan", order_by="Indicator.position"
    )
    attachments: Mapped[list[Attachment]] = relationship(
        back_populates="proposal", cascade="all, delete-orphan", order_by="Attachment.id"
    )
    versions: Mapped[list[ProposalVersion]] = relationship(
        back_populates="proposal", cascade="all, delete-orphan", order_by="ProposalVersion.number"
    )
    override_by: Mapped[User | None] = relationship(foreign_keys=[override_by_id], viewonly=True)

    __table_args__ = (
        UniqueConstraint("call_id", "group_id", name="uq_proposals_call_group"),
        Index("ix_proposals_call_status", "call_id", "status"),
        # The sectors of a call's proposals, read without the table (the reviewer's expertise suggestions).
        Index("ix_proposals_call_sector", "call_id", "sector"),
        CheckConstraint("(status = 'draft') = (latest_version IS NULL)", name="submitted_has_version"),
        CheckConstraint("status <> 'withdrawn' OR withdrawn_at IS NOT NULL", name="withdrawn_has_time"),
        CheckConstraint("override_eligible IS NULL OR override_reason IS NOT NULL", name="override_has_reason"),
        CheckConstraint("requested_amount IS NULL OR requested_amount >= 0", name="requested_not_negative"),
    )

    @property
    def live_attachments(self) -> list[Attachment]:
        return [a for a in self.attachments if a.removed_at is None]

    @property
    def current_version(self) -> ProposalVersion | None:
        return self.versions[-1] if self.versions else None

    # Permission rules.
    def is_group_user(self, user: object) -> bool:
        return self.group.role_of(user) is not None

    def can_view(self, user: object) -> bool:
        has_role = getattr(user, "has_role", None)
        if has_role and getattr(user, "is_authenticated", False) and has_role(Role.PROGRAMME_MANAGER):
            return True
        return self.is_group_user(user)

    def can_edit(self, user: object) -> bool:
        """The group's applicants change the draft while the call takes proposals and it is not withdrawn."""
        return (
            self.is_group_user(user)
            and user.has_role(Role.APPLICANT)
            and self.status in (ProposalStatus.DRAFT, ProposalStatus.SUBMITTED)
        )


class Activity(Base):
    """A first activity of the initiative: facilitation or practical, with its quarters and cost."""

    __tablename__ = "proposal_activities"

    id: Mapped[int] = mapped_column(primary_key=True)
    proposal_id: Mapped[int] = mapped_column(ForeignKey("proposals.id", ondelete="CASCADE"), index=True)
    position: Mapped[int]
    title: Mapped[str] = mapped_column(String(300))
    kind: Mapped[ActivityKind] = mapped_column(state_enum(ActivityKind, "kind"))
    description: Mapped[str] = mapped_column(Text, default="")
    start_quarter: Mapped[int]
    end_quarter: Mapped[int]
    cost: Mapped[Money]

    proposal: Mapped[Proposal] = relationship(back_populates="activities")

    __table_args__ = (
        CheckConstraint("start_quarter >= 1 AND end_quarter >= start_quarter", name="quarters_in_order"),
        CheckConstraint("cost >= 0", name="cost_not_negative"),
    )


class BudgetLine(Base):
    __tablename__ = "proposal_budget_lines"

    id: Mapped[int] = mapped_column(primary_key=True)
    proposal_id: Mapped[int] = mapped_column(ForeignKey("proposals.id", ondelete="CASCADE"), index=True)
    position: Mapped[int]
    activity_id: Mapped[int | None] = mapped_column(ForeignKey("proposal_activities.id", ondelete="SET NULL"))
    cost_type: Mapped[str] = mapped_column(String(40))
    description: Mapped[str] = mapped_column(String(500))
    amount: Mapped[Money]

    proposal: Mapped[Proposal] = relationship(back_populates="budget_lines")
    activity: Mapped[Activity | None] = relationship()

    __table_args__ = (CheckConstraint("amount > 0", name="amount_positive"),)


class CoFinancing(Base):
    """A member organisation's commitment to co-finance the initiative, in cash or in kind."""

    __tablename__ = "proposal_cofinancing"

    id: Mapped[int] = mapped_column(primary_key=True)
    proposal_id: Mapped[int] = mapped_column(ForeignKey("proposals.id", ondelete="CASCADE"), index=True)
    organisation_id: Mapped[int] = mapped_column(ForeignKey("organisations.id"))
    kind: Mapped[CoFinancingKind] = mapped_column(state_enum(CoFinancingKind, "kind"))
    amount: Mapped[Money]
    description: Mapped[str] = mapped_column(String(500), default="")

    proposal: Mapped[Proposal] = relationship(back_populates="cofinancing")
    organisation: Mapped[Organisation] = relationship(lazy="joined")

    __table_args__ = (CheckConstraint("amount > 0", name="amount_positive"),)


class Indicator(Base):
    """An indicator of success the group defines itself (participatory evaluation)."""

    __tablename__ = "proposal_indicators"

    id: Mapped[int] = mapped_column(primary_key=True)
    proposal_id: Mapped[int] = mapped_column(ForeignKey("proposals.id", ondelete="CASCADE"), index=True)
    position: Mapped[int]
    name: Mapped[str] = mapped_column(String(300))
    unit: Mapped[str] = mapped_column(String(60))
    baseline: Mapped[Decimal] = mapped_column(Numeric(18, 4))
    target: Mapped[Decimal] = mapped_column(Numeric(18, 4))

    proposal: Mapped[Proposal] = relationship(back_populates="indicators")


class AttachmentKind(enum.StrEnum):
    LETTER_OF_COMMITMENT = "letter_of_commitment"
    STATUTES = "statutes"
    OTHER = "other"

    @property
    def label(self) -> str:
        return str(ATTACHMENT_KINDS[self.value])


ATTACHMENT_KINDS = {"letter_of_commitment": _l("Letter of commitment"), "statutes": _l("Statutes"),
                    "other": _l("Other")}


class Attachment(Base):
    """An uploaded file, stored under a name the user does not choose. Never changed; removal only hides it
    from the draft (a submitted version may still refer to it)."""

    __tablename__ = "proposal_attachments"

    id: Mapped[int] = mapped_column(primary_key=True)
    proposal_id: Mapped[int] = mapped_column(ForeignKey("proposals.id", ondelete="CASCADE"), index=True)
    kind: Mapped[AttachmentKind] = mapped_column(state_enum(AttachmentKind, "kind"))
    original_name: Mapped[str] = mapped_column(String(255))
    stored_name: Mapped[str] = mapped_column(String(80), unique=True)
    content_type: Mapped[str] = mapped_column(String(120))
    size_bytes: Mapped[int]
    sha256: Mapped[str] = mapped_column(String(64))
    uploaded_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    uploaded_at: Mapped[datetime] = mapped_column(default=utcnow)
    removed_at: Mapped[datetime | None]

    proposal: Mapped[Proposal] = relationship(back_populates="attachments")


class ProposalVersion(Base):
    """A submitted version, frozen: its content is exactly what was submitted, and it never changes."""

    __tablename__ = "proposal_versions"

    id: Mapped[int] = mapped_column(primary_key=True)
    proposal_id: Mapped[int] = mapped_column(ForeignKey("proposals.id", ondelete="CASCADE"))
    number: Mapped[int]
    submitted_at: Mapped[datetime]
    submitted_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    content: Mapped[str] = mapped_column(Text)
    content_sha256: Mapped[str] = mapped_column(String(64))
    eligibility: Mapped[str] = mapped_column(Text)
    eligible: Mapped[bool]
    # Figures of the content, kept as columns for the manager's list and export.
    members_count: Mapped[int]
    firms_count: Mapped[int]
    institutions_count: Mapped[int]
    requested_amount: Mapped[Money]
    budget_total: Mapped[Money]
    cofinancing_cash: Mapped[Money]
    cofinancing_in_kind: Mapped[Money]

    proposal: Mapped[Proposal] = relationship(back_populates="versions")
    submitted_by: Mapped[User | None] = relationship(viewonly=True)

    __table_args__ = (
        UniqueConstraint("proposal_id", "number", name="uq_proposal_versions_proposal_number"),
        CheckConstraint("number >= 1", name="number_positive"),
    )

    @cached_property
    def snapshot(self) -> dict[str, Any]:
        return load_snapshot(self.content)

    @cached_property
    def verdict(self) -> Verdict:
        return Verdict.from_json(json.loads(self.eligibility))


@event.listens_for(ProposalVersion, "before_update")
def _versions_are_frozen(mapper: Any, connection: Any, target: ProposalVersion) -> None:
    raise RuntimeError("a submitted proposal version is frozen and cannot be changed")
