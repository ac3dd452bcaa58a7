"""An initiative's balanced scorecard: perspectives, critical success factors and their KPIs, started from a
scorecard template in ``rules/scorecards/`` and then shaped by the group itself (the participatory part).

The template's text is copied into the scorecard when it is started (as a call copies its rules), so editing
the file later never changes a scorecard, and what the group changed can always be shown against what the
template said.
"""

from __future__ import annotations

import enum
from datetime import datetime
from decimal import Decimal
from functools import cached_property

from sqlalchemy import CheckConstraint, ForeignKey, Integer, Numeric, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from programme.core.db import Base, state_enum, utcnow
from programme.funding.models import Initiative
from programme.rulebook import ScorecardTemplate, parse_scorecard_template

#: KPI values, baselines and targets: counts, money, shares, scores; never a float.
KpiNumber = Numeric(18, 4)


class Scorecard(Base):
    """One initiative's scorecard, with the text of the template it started from."""

    __tablename__ = "scorecards"

    id: Mapped[int] = mapped_column(primary_key=True)
    initiative_id: Mapped[int] = mapped_column(ForeignKey("initiatives.id"), unique=True)
    template_key: Mapped[str] = mapped_column(String(60))
    template_file: Mapped[str] = mapped_column(String(255))
    template_source: Mapped[str] = mapped_column(Text)
    template_sha256: Mapped[str] = mapped_column(String(64))
    started_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    started_at: Mapped[datetime] = mapped_column(default=utcnow)

    initiative: Mapped[Initiative] = relationship(lazy="joined")
    kpis: Mapped[list[ScorecardKpi]] = relationship(
        back_populates="scorecard", order_by="ScorecardKpi.position", viewonly=True
    )

    @cached_property
    def template(self) -> ScorecardTemplate:
        """The scorecard's own copy of its template (never the file on disk, which may have changed)."""
        return parse_scorecard_template(self.template_source, f"scorecard {self.id} ({self.template_file})")

    def can_view(self, user: object) -> bool:
        return self.initiative.can_view(user)


class KpiOrigin(enum.StrEnum):
    TEMPLATE = "template"
    GROUP = "group"

    @property
    def label(self) -> str:
        return {"template": "From the template", "group": "The group's own"}[self.value]


class Direction(enum.StrEnum):
    HIGHER = "higher"
    LOWER = "lower"

    @property
    def label(self) -> str:
        return {"higher": "Higher is better", "lower": "Lower is better"}[self.value]


class ScorecardKpi(Base):
    """A KPI of a scorecard, under a perspective and a critical success factor. ``origin`` says whether it came
    from the template (``key`` is then the template's KPI key) or was added by the group. A dropped KPI is kept
    (``dropped_at``) so the reports that used it keep their meaning."""

    __tablename__ = "scorecard_kpis"

    id: Mapped[int] = mapped_column(primary_key=True)
    scorecard_id: Mapped[int] = mapped_column(ForeignKey("scorecards.id", ondelete="CASCADE"), index=True)
    position: Mapped[int] = mapped_column(Integer)
    perspective_key: Mapped[str] = mapped_column(String(60))
    perspective_title: Mapped[str] = mapped_column(String(200))
    factor_key: Mapped[str] = mapped_column(String(60))
    factor_title: Mapped[str] = mapped_column(String(200))
    key: Mapped[str] = mapped_column(String(60))
    name: Mapped[str] = mapped_column(String(200))
    unit: Mapped[str] = mapped_column(String(60))
    direction: Mapped[Direction] = mapped_column(state_enum(Direction, "direction"))
    source: Mapped[str] = mapped_column(Text)
    baseline: Mapped[Decimal | None] = mapped_column(KpiNumber)
    target: Mapped[Decimal | None] = mapped_column(KpiNumber)
    origin: Mapped[KpiOrigin] = mapped_column(state_enum(KpiOrigin, "origin"))
    added_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    added_at: Mapped[datetime] = mapped_column(default=utcnow)
    changed_at: Mapped[datetime | None]
    dropped_at: Mapped[datetime | None]
    dropped_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    drop_reason: Mapped[str | None] = mapped_column(Text)

    scorecard: Mapped[Scorecard] = relationship(back_populates="kpis")

    __table_args__ = (
        UniqueConstraint("scorecard_id", "key", name="uq_scorecard_kpi_key"),
        CheckConstraint("length(trim(name)) > 0 AND length(trim(unit)) > 0", name="named"),
        CheckConstraint("dropped_at IS NULL OR length(trim(coalesce(drop_reason, ''))) > 0", name="drop_has_reason"),
    )

    @property
    def live(self) -> bool:
        return self.dropped_at is None
