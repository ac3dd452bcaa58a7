"""Initiatives (funded proposals) and the grants committed to them."""

from __future__ import annotations

import enum
from datetime import datetime
from decimal import Decimal

from sqlalchemy import CheckConstraint, ForeignKey, Index, Numeric, String, Text, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from programme.accounts.models import ApplicantGroup
from programme.calls.models import Call
from programme.core.access import Role
from programme.core.db import Base, Money, state_enum, utcnow
from programme.proposals.models import Proposal


class InitiativeStatus(enum.StrEnum):
    START_UP = "start_up"
    IMPLEMENTATION = "implementation"
    SELF_SUSTAINING = "self_sustaining"
    TERMINATED = "terminated"
    COMPLETED = "completed"

    @property
    def label(self) -> str:
        return self.value.replace("_", "-" if self is InitiativeStatus.START_UP else " ").capitalize()


class Initiative(Base):
    """A cluster initiative: what a funded proposal becomes when its call is decided."""

    __tablename__ = "initiatives"

    id: Mapped[int] = mapped_column(primary_key=True)
    reference: Mapped[str] = mapped_column(String(60), unique=True)
    name: Mapped[str] = mapped_column(String(300))
    call_id: Mapped[int] = mapped_column(ForeignKey("calls.id"), index=True)
    proposal_id: Mapped[int] = mapped_column(ForeignKey("proposals.id"), unique=True)
    group_id: Mapped[int] = mapped_column(ForeignKey("applicant_groups.id"), index=True)
    status: Mapped[InitiativeStatus] = mapped_column(
        state_enum(InitiativeStatus, "status"), default=InitiativeStatus.START_UP, index=True
    )
    currency: Mapped[str] = mapped_column(String(3))
    started_at: Mapped[datetime] = mapped_column(default=utcnow)

    call: Mapped[Call] = relationship(lazy="joined")
    proposal: Mapped[Proposal] = relationship()
    group: Mapped[ApplicantGroup] = relationship(lazy="joined")
    grants: Mapped[list[Grant]] = relationship(back_populates="initiative", order_by="Grant.id")

    @property
    def startup_grant(self) -> Grant | None:
        return next((g for g in self.grants if g.kind == GrantKind.STARTUP), None)

    # Permission rules.
    def can_view(self, user: object) -> bool:
        has_role = getattr(user, "has_role", None)
        if not (has_role and getattr(user, "is_authenticated", False)):
            return False
        if has_role(Role.PROGRAMME_MANAGER) or has_role(Role.FUND_ADMINISTRATOR):
            return True
        return self.group.role_of(user) is not None


class GrantKind(enum.StrEnum):
    STARTUP = "startup"
    MATCHING = "matching"

    @property
    def label(self) -> str:
        return {"startup": "Start-up grant", "matching": "Matching grant"}[self.value]


class Grant(Base):
    """A grant committed to an initiative; it is paid in tranches (disbursements) up to the committed amount."""

    __tablename__ = "grants"

    id: Mapped[int] = mapped_column(primary_key=True)
    initiative_id: Mapped[int] = mapped_column(ForeignKey("initiatives.id"), index=True)
    kind: Mapped[GrantKind] = mapped_column(state_enum(GrantKind, "kind"))
    committed: Mapped[Money]
    currency: Mapped[str] = mapped_column(String(3))
    # The share of the costs the programme pays (1 for the start-up grant, as the rules allow).
    external_share: Mapped[Decimal] = mapped_column(Numeric(5, 4), default=Decimal(1))
    basis: Mapped[str] = mapped_column(Text, default="")
    committed_at: Mapped[datetime] = mapped_column(default=utcnow)
    committed_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))

    initiative: Mapped[Initiative] = relationship(back_populates="grants")

    __table_args__ = (
        CheckConstraint("committed > 0", name="committed_positive"),
        CheckConstraint("external_share > 0 AND external_share <= 1", name="share_within_one"),
        # One start-up grant per initiative.
        Index(
            "uq_grants_one_startup", "initiative_id", unique=True,
            sqlite_where=text("kind = 'startup'"), postgresql_where=text("kind = 'startup'"),
        ),
    )
