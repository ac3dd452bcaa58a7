"""An initiative's balanced scorecard: perspectives, critical success factors and their KPIs, started from a
scorecard template in ``rules/scorecards/`` and then shaped by the group itself (the participatory part).

The template's text is copied into the scorecard when it is started (as a call copies its rules), so editing
the file later never changes a scorecard, and what the group changed can always be shown against what the
template said. Its perspectives', factors' and KPIs' texts are copied in the starter's language where the template
gives them (``Scorecard.language``); from then on they are the group's own.
"""

from __future__ import annotations

import enum
from datetime import date, datetime
from decimal import Decimal
from functools import cached_property

from sqlalchemy import CheckConstraint, Date, ForeignKey, Integer, Numeric, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from programme.core.db import Base, state_enum, utcnow
from programme.core.texts import lazy_gettext as _l
from programme.core.texts import lazy_pgettext
from programme.funding.models import Initiative, InitiativeStatus
from programme.rulebook import ScorecardTemplate, parse_scorecard_template
from programme.rulebook.texts import localized_template

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
    #: The language the template's texts were copied in ("en", "es", "pt"): the starter's.
    language: Mapped[str] = mapped_column(String(5), default="en", server_default="en")

    initiative: Mapped[Initiative] = relationship(lazy="joined")
    kpis: Mapped[list[ScorecardKpi]] = relationship(
        back_populates="scorecard", order_by="ScorecardKpi.position", viewonly=True
    )

    @cached_property
    def template(self) -> ScorecardTemplate:
        """The scorecard's own copy of its template (never the file on disk, which may have changed)."""
        return parse_scorecard_template(self.template_source, f"scorecard {self.id} ({self.template_file})")

    @cached_property
    def copied(self) -> ScorecardTemplate:
        """The template with its texts in the language they were copied in (``language``): the perspectives',
        factors' and KPIs' texts the scorecard started with, as the changes from the template compare them."""
        return localized_template(self.template, self.language or "en")

    def can_view(self, user: object) -> bool:
        return self.initiative.can_view(user)


#: The labels of the states and kinds below, in the language being answered (``.label`` gives a ``str``).
ORIGIN_LABELS = {"template": _l("From the template"), "group": _l("The group's own")}
DIRECTION_LABELS = {"higher": _l("Higher is better"), "lower": _l("Lower is better")}
#: A report's states (``report``: the words agree with "report" where a language gives words a gender).
REPORT_STATUS_LABELS = {"draft": lazy_pgettext("report", "Draft"), "submitted": lazy_pgettext("report", "Submitted")}
DECISION_LABELS = {"continue": _l("Continue"), "continue_with_conditions": _l("Continue with conditions"),
                   "terminate": _l("Terminate")}


class KpiOrigin(enum.StrEnum):
    TEMPLATE = "template"
    GROUP = "group"

    @property
    def label(self) -> str:
        return str(ORIGIN_LABELS[self.value])


class Direction(enum.StrEnum):
    HIGHER = "higher"
    LOWER = "lower"

    @property
    def label(self) -> str:
        return str(DIRECTION_LABELS[self.value])


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


class ReportStatus(enum.StrEnum):
    DRAFT = "draft"
    SUBMITTED = "submitted"

    @property
    def label(self) -> str:
        return str(REPORT_STATUS_LABELS[self.value])


class SelfEvaluationReport(Base):
    """A group's self-evaluation for one reporting period of its initiative: the KPI values for the period, a
    short narrative, what the group learned and what it will change.

    Periods follow the rules' ``report_frequency_months`` from the initiative's start: period ``number`` covers
    ``period_start`` to ``period_end`` (both inclusive) and the report is due on ``due_on``. The daily job opens
    the report of each period that has begun (a draft), reminds the group ``reminder_days`` before the due date
    (``reminded_at``) and flags it overdue the day after (``overdue_at``); each at most once. A submitted report
    is frozen: its values and texts never change again.
    """

    __tablename__ = "self_evaluation_reports"

    id: Mapped[int] = mapped_column(primary_key=True)
    initiative_id: Mapped[int] = mapped_column(ForeignKey("initiatives.id"), index=True)
    scorecard_id: Mapped[int] = mapped_column(ForeignKey("scorecards.id"), index=True)
    number: Mapped[int] = mapped_column(Integer)
    period_start: Mapped[date] = mapped_column(Date)
    period_end: Mapped[date] = mapped_column(Date)
    due_on: Mapped[date] = mapped_column(Date, index=True)
    status: Mapped[ReportStatus] = mapped_column(
        state_enum(ReportStatus, "status"), default=ReportStatus.DRAFT, index=True
    )
    narrative: Mapped[str] = mapped_column(Text, default="")
    learned: Mapped[str] = mapped_column(Text, default="")
    will_change: Mapped[str] = mapped_column(Text, default="")
    opened_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime | None]
    updated_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    submitted_at: Mapped[datetime | None]
    submitted_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    reminded_at: Mapped[datetime | None]
    overdue_at: Mapped[datetime | None]

    initiative: Mapped[Initiative] = relationship(lazy="joined")
    scorecard: Mapped[Scorecard] = relationship()
    values: Mapped[list[ReportValue]] = relationship(back_populates="report", viewonly=True)

    __table_args__ = (
        UniqueConstraint("initiative_id", "number", name="uq_report_period"),
        CheckConstraint("number >= 1", name="number_positive"),
        CheckConstraint("period_end >= period_start AND due_on >= period_end", name="period_order"),
        CheckConstraint(
            "status <> 'submitted' OR (submitted_at IS NOT NULL AND length(trim(narrative)) > 0)",
            name="submitted_complete",
        ),
    )

    @property
    def frozen(self) -> bool:
        return self.status is ReportStatus.SUBMITTED

    def can_view(self, user: object) -> bool:
        return self.initiative.can_view(user)


class ReportValue(Base):
    """A KPI's value for a report's period (``value`` may be empty in a draft; a note says why if it stays so)."""

    __tablename__ = "report_kpi_values"

    id: Mapped[int] = mapped_column(primary_key=True)
    report_id: Mapped[int] = mapped_column(ForeignKey("self_evaluation_reports.id", ondelete="CASCADE"))
    kpi_id: Mapped[int] = mapped_column(ForeignKey("scorecard_kpis.id"), index=True)
    value: Mapped[Decimal | None] = mapped_column(KpiNumber)
    note: Mapped[str] = mapped_column(Text, default="")

    report: Mapped[SelfEvaluationReport] = relationship(back_populates="values")
    kpi: Mapped[ScorecardKpi] = relationship()

    __table_args__ = (UniqueConstraint("report_id", "kpi_id", name="uq_report_kpi_value"),)


class MilestoneDecision(enum.StrEnum):
    CONTINUE = "continue"
    CONDITIONS = "continue_with_conditions"
    TERMINATE = "terminate"

    @property
    def label(self) -> str:
        return str(DECISION_LABELS[self.value])


class MilestoneReview(Base):
    """A programme manager's decision at a milestone: continue, continue with conditions, or terminate, always
    with a reason. The initiative's status before and after is kept (a review may also move it on to the next
    stage: implementation, self-sustaining, completed). Reviews are never changed or deleted."""

    __tablename__ = "milestone_reviews"

    id: Mapped[int] = mapped_column(primary_key=True)
    initiative_id: Mapped[int] = mapped_column(ForeignKey("initiatives.id"), index=True)
    decision: Mapped[MilestoneDecision] = mapped_column(state_enum(MilestoneDecision, "decision"))
    reason: Mapped[str] = mapped_column(Text)
    conditions: Mapped[str] = mapped_column(Text, default="")
    status_before: Mapped[InitiativeStatus] = mapped_column(state_enum(InitiativeStatus, "status_before"))
    status_after: Mapped[InitiativeStatus] = mapped_column(state_enum(InitiativeStatus, "status_after"))
    decided_on: Mapped[date] = mapped_column(Date)
    decided_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    recorded_at: Mapped[datetime] = mapped_column(default=utcnow)

    initiative: Mapped[Initiative] = relationship(lazy="joined")

    __table_args__ = (
        CheckConstraint("length(trim(reason)) > 0", name="has_reason"),
        CheckConstraint(
            "decision <> 'continue_with_conditions' OR length(trim(conditions)) > 0", name="conditions_stated"
        ),
        CheckConstraint(
            "(decision = 'terminate') = (status_after = 'terminated')", name="terminate_means_terminated"
        ),
    )


class BenchmarkPublication(Base):
    """A programme manager's decision to publish initiatives' names on the benchmark of one KPI (by its key).
    Without it, a group sees its own position among anonymous others. Withdrawing deletes the row (audited)."""

    __tablename__ = "benchmark_publications"

    id: Mapped[int] = mapped_column(primary_key=True)
    kpi_key: Mapped[str] = mapped_column(String(60), unique=True)
    published_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    published_at: Mapped[datetime] = mapped_column(default=utcnow)
