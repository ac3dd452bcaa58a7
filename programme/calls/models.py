"""A call for proposals and the criteria copied from its rules file."""

from __future__ import annotations

import enum
import hashlib
import uuid
from datetime import datetime
from decimal import Decimal
from functools import cached_property

from sqlalchemy import CheckConstraint, ForeignKey, Numeric, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship, validates

from programme.core.access import Role
from programme.core.db import Base, Money, state_enum, utcnow
from programme.core.i18n import current_language
from programme.core.texts import lazy_pgettext
from programme.rulebook import CallRules, call_rules_by_digest
from programme.rulebook.stages import stage_rules
from programme.rulebook.texts import localized


class CallStatus(enum.StrEnum):
    DRAFT = "draft"
    OPEN = "open"
    CLOSED = "closed"
    REVIEWING = "reviewing"
    DECIDED = "decided"

    @property
    def label(self) -> str:
        return str(CALL_STATUSES[self.value])


CALL_STATUSES = {
    "draft": lazy_pgettext("call status", "Draft"),
    "open": lazy_pgettext("call status", "Open"),
    "closed": lazy_pgettext("call status", "Closed"),
    "reviewing": lazy_pgettext("call status", "Reviewing"),
    "decided": lazy_pgettext("call status", "Decided"),
}
#: What the public sees of a call (``Call.phase``), as a badge.
CALL_PHASES = {
    "draft": lazy_pgettext("call phase", "draft"),
    "upcoming": lazy_pgettext("call phase", "upcoming"),
    "open": lazy_pgettext("call phase", "open"),
    "closing": lazy_pgettext("call phase", "closing"),
    "closed": lazy_pgettext("call phase", "closed"),
    "reviewing": lazy_pgettext("call phase", "reviewing"),
    "decided": lazy_pgettext("call phase", "decided"),
}


class Call(Base):
    """A contest call. Its rules are a copy of the rules file taken when it was created."""

    __tablename__ = "calls"

    id: Mapped[int] = mapped_column(primary_key=True)
    reference: Mapped[str] = mapped_column(String(40), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(Text, default="")
    status: Mapped[CallStatus] = mapped_column(state_enum(CallStatus, "status"), default=CallStatus.DRAFT, index=True)
    currency: Mapped[str] = mapped_column(String(3))
    budget: Mapped[Money]
    per_initiative_cap: Mapped[Money]
    opens_at: Mapped[datetime | None]
    closes_at: Mapped[datetime | None] = mapped_column(index=True)
    # The rules as they were when the call was created: the file's name, its text and its digest.
    rules_file: Mapped[str] = mapped_column(String(255))
    # Deferred: the text (about 17 KB) is read only when a worker meets its digest the first time (``rules``), not
    # with every row that joins its call (an initiative, a proposal, a loan).
    rules_source: Mapped[str] = mapped_column(Text, deferred=True)
    rules_sha256: Mapped[str] = mapped_column(String(64))
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    opened_at: Mapped[datetime | None]
    closed_at: Mapped[datetime | None]
    closed_by: Mapped[str | None] = mapped_column(String(255))
    # The review: started by the manager with a deadline for the reviewers; decided when published.
    review_started_at: Mapped[datetime | None]
    review_deadline: Mapped[datetime | None]
    decided_at: Mapped[datetime | None]
    # Changes whenever a submitted review, a consensus score or a decision changes, so that the
    # computed ranking can be kept until the next change (a random token, never reused).
    results_token: Mapped[str] = mapped_column(String(32), default=lambda: uuid.uuid4().hex)
    # A staged call (issue 18): the parent holds the rules and takes no proposals (stage_index 0); each stage is a
    # call of its own (stage_index 1, 2, ...; its stage_key names its [[stages]] entry), reviewed and decided like
    # a one-stage call. A one-stage call has none of the three.
    parent_id: Mapped[int | None] = mapped_column(ForeignKey("calls.id"), index=True)
    stage_index: Mapped[int | None]
    stage_key: Mapped[str | None] = mapped_column(String(40))

    # Loaded when read (one short query): most pages that load a call never read its criteria.
    criteria: Mapped[list[Criterion]] = relationship(
        back_populates="call", cascade="all, delete-orphan", order_by="Criterion.position"
    )

    __table_args__ = (
        # A stage that awards no money (a concept note) has a budget and a cap of zero; every other call above zero.
        CheckConstraint("budget > 0 OR (parent_id IS NOT NULL AND budget = 0)", name="budget_positive"),
        CheckConstraint("(per_initiative_cap > 0 OR (parent_id IS NOT NULL AND per_initiative_cap = 0)) "
                        "AND per_initiative_cap <= budget", name="cap_within_budget"),
        CheckConstraint("(parent_id IS NULL) = (stage_key IS NULL)", name="stage_has_key"),
        CheckConstraint("(parent_id IS NULL AND (stage_index IS NULL OR stage_index = 0)) "
                        "OR (parent_id IS NOT NULL AND stage_index >= 1)", name="stage_index_in_order"),
        UniqueConstraint("parent_id", "stage_index", name="uq_calls_parent_stage_index"),
        CheckConstraint("closes_at IS NULL OR opens_at IS NULL OR closes_at > opens_at", name="closes_after_opens"),
        CheckConstraint(
            "status = 'draft' OR (opens_at IS NOT NULL AND closes_at IS NOT NULL AND opened_at IS NOT NULL)",
            name="published_has_dates",
        ),
        CheckConstraint("status IN ('draft', 'open') OR closed_at IS NOT NULL", name="closed_has_time"),
        CheckConstraint(
            "status NOT IN ('reviewing', 'decided') OR (review_started_at IS NOT NULL AND review_deadline IS NOT NULL)",
            name="review_has_deadline",
        ),
        CheckConstraint("status <> 'decided' OR decided_at IS NOT NULL", name="decided_has_time"),
    )

    @cached_property
    def _rules_as_written(self) -> CallRules:
        return call_rules_by_digest(self.rules_sha256, lambda: self.rules_source,
                                    f"call {self.reference} ({self.rules_file})")

    @property
    def rules(self) -> CallRules:
        """The call's own copy of its rules (never the file on disk, which may have changed), by its digest, with
        their criteria's and stages' texts in the language being answered in (``rulebook.texts``); a stage's are
        its staged call's, with the stage's sections, criteria, budget, maximum and share."""
        rules = localized(self._rules_as_written, current_language())
        return rules if self.stage_key is None else stage_rules(rules, self.stage_key)

    @property
    def is_staged(self) -> bool:
        """A staged call's parent: it holds the stages and takes no proposals itself."""
        return self.stage_index == 0 and self.parent_id is None

    @property
    def is_stage(self) -> bool:
        return self.parent_id is not None

    @validates("rules_source")
    def _keep_digest(self, _key: str, source: str) -> str:
        """The digest always follows the text (the rules are found by it)."""
        self.rules_sha256 = hashlib.sha256(source.encode("utf-8")).hexdigest()
        self.__dict__.pop("_rules_as_written", None)
        return source

    @property
    def is_public(self) -> bool:
        return self.status != CallStatus.DRAFT

    def is_accepting(self, now: datetime) -> bool:
        """Open for submissions at `now`: published, opened, and before the deadline."""
        return (
            self.status == CallStatus.OPEN
            and not self.is_staged
            and self.opens_at is not None
            and self.closes_at is not None
            and self.opens_at <= now < self.closes_at
        )

    def phase(self, now: datetime) -> str:
        """What the public sees: upcoming, open, closed and so on."""
        if self.status == CallStatus.OPEN and self.opens_at and now < self.opens_at:
            return "upcoming"
        if self.status == CallStatus.OPEN and self.closes_at and now >= self.closes_at:
            return "closing"
        return self.status.value

    def phase_label(self, now: datetime) -> str:
        """The phase as people read it (lower case, in the language being answered in)."""
        phase = self.phase(now)
        return str(CALL_PHASES[phase]) if phase in CALL_PHASES else phase.replace("_", " ")

    # Permission rules.
    def can_view(self, user: object) -> bool:
        return self.is_public or self.can_manage(user)

    @staticmethod
    def can_manage(user: object) -> bool:
        has_role = getattr(user, "has_role", None)
        return bool(has_role and getattr(user, "is_authenticated", False) and has_role(Role.PROGRAMME_MANAGER))

    def can_edit(self, user: object) -> bool:
        return self.status == CallStatus.DRAFT and self.can_manage(user)

    def touch_results(self) -> None:
        """Mark the computed scores and ranking of the call as out of date."""
        self.results_token = uuid.uuid4().hex


class Criterion(Base):
    """A quality criterion of a call, copied from its rules, with its weight and threshold."""

    __tablename__ = "criteria"

    id: Mapped[int] = mapped_column(primary_key=True)
    call_id: Mapped[int] = mapped_column(ForeignKey("calls.id", ondelete="CASCADE"))
    position: Mapped[int]
    key: Mapped[str] = mapped_column(String(40))
    #: The title and guidance as the rules file wrote them (English); ``title`` and ``guidance`` read them in the
    #: language being answered in.
    title_as_written: Mapped[str] = mapped_column("title", String(200))
    guidance_as_written: Mapped[str] = mapped_column("guidance", Text)
    weight: Mapped[Decimal] = mapped_column(Numeric(8, 4))
    threshold: Mapped[Decimal] = mapped_column(Numeric(8, 4))

    call: Mapped[Call] = relationship(back_populates="criteria")

    def _in_language(self, name: str) -> str:
        written = getattr(self, f"{name}_as_written")
        if current_language() == "en" or self.call is None:
            return written
        rule = next((c for c in self.call.rules.scoring.criteria if c.key == self.key), None)
        return getattr(rule, name) if rule is not None else written

    @property
    def title(self) -> str:
        return self._in_language("title")

    @title.setter
    def title(self, value: str) -> None:
        self.title_as_written = value

    @property
    def guidance(self) -> str:
        return self._in_language("guidance")

    @guidance.setter
    def guidance(self, value: str) -> None:
        self.guidance_as_written = value

    __table_args__ = (
        UniqueConstraint("call_id", "key", name="uq_criteria_call_key"),
        CheckConstraint("weight > 0", name="weight_positive"),
    )
