"""The contest's own validity: for a decided call, how the reviewers' scores of the funded proposals (the total and
each criterion's counted score, from ``reviews.services.results``) relate to their initiatives' later progress on
their KPIs (from monitoring), as Spearman's rank correlation (``dashboard.rank_correlation``) with its sample size.

Definitions (the page states them too):

- **progress of an initiative**: in its latest submitted self-evaluation report (the latest period), for each KPI
  with a value there and a baseline and a target that differ, the share of the way from the baseline to the target
  reached (monitoring's ``progress``: (value − baseline) ÷ (target − baseline), so a KPI where lower is better needs
  no special case), held between 0 (no progress, or worse than the baseline) and 1 (target reached or passed); the
  initiative's progress is the mean over those KPIs. KPIs without a value in that report are left out, not carried
  forward from an earlier one.
- **terminated initiatives count**: they are the failures a good score should have predicted. Each is ranked below
  every initiative still running whatever its reports said (their outcome is taken as -1, under any progress),
  the terminated ones tied among themselves; one terminated before any report counts too.
- An initiative that is not terminated and has no submitted report (or no usable KPI in its latest one) has no
  outcome yet and is left out of the sample; the page lists it.
- With fewer than ``MIN_SAMPLE`` initiatives in the sample no conclusion is drawn and no coefficient is shown.
- A **stage of a staged call**: its initiatives are those funded from the proposals it passed, at this stage or a
  later one (a later stage's proposal is started from the earlier one: ``Proposal.previous_proposal_id``), each
  against the score this stage gave its proposal; a network funded at two stages counts once, with the initiative
  of the later stage (how it went on).

Managers and auditors read it (the reviewers' scores are theirs to read: ``reviews.call_results``).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from decimal import ROUND_HALF_UP, Decimal
from fractions import Fraction
from typing import Any

from sqlalchemy import func, select

from programme.calls.models import Call, CallStatus
from programme.core.access import Actor, NotFound, Role
from programme.core.texts import gettext as _
from programme.dashboard.rank_correlation import Correlation, spearman
from programme.extensions import db
from programme.funding.models import Initiative, InitiativeStatus
from programme.monitoring.models import ReportStatus, ReportValue, ScorecardKpi, SelfEvaluationReport
from programme.monitoring.services.benchmarking import progress
from programme.proposals.models import Proposal
from programme.reviews.services import call_results

#: Below this many initiatives with an outcome, no conclusion is drawn and no coefficient shown.
MIN_SAMPLE = 5
#: How many stages after a call a proposal's descendants are followed.
MOST_STAGES = 10
#: A terminated initiative's outcome: below any progress (which is held between 0 and 1).
TERMINATED_OUTCOME = Decimal(-1)
PLACES = Decimal("0.0001")
TOTAL = "total"


def initiative_progress(values: list[tuple[Decimal | None, Decimal | None, Decimal | None]]) -> Decimal | None:
    """The mean over (value, baseline, target) of the share of the way from baseline to target reached, each held
    between 0 and 1; None when no KPI is usable (no value, or no baseline or target, or target = baseline)."""
    shares = []
    for value, baseline, target in values:
        reached = progress(value, baseline, target)
        if reached is not None:
            shares.append(min(Decimal(1), max(Decimal(0), reached)))
    if not shares:
        return None
    return (sum(shares, Decimal(0)) / len(shares)).quantize(PLACES, ROUND_HALF_UP)


@dataclass(frozen=True)
class ValidityRow:
    initiative_id: int
    reference: str
    name: str
    status: InitiativeStatus
    total: Fraction | None
    scores: dict[str, Fraction]
    progress: Decimal | None
    kpis_used: int
    latest_report_end: date | None

    @property
    def terminated(self) -> bool:
        return self.status is InitiativeStatus.TERMINATED

    @property
    def outcome(self) -> Decimal | None:
        """What the correlation ranks: the progress, or ``TERMINATED_OUTCOME``; None: not in the sample."""
        if self.terminated:
            return TERMINATED_OUTCOME
        return self.progress

    @property
    def outcome_text(self) -> str:
        if self.terminated:
            return _("terminated")
        if self.latest_report_end is None:
            return _("no report submitted yet")
        if self.progress is None:
            return _("no usable KPI in its latest report")
        return ""


@dataclass(frozen=True)
class CriterionValidity:
    key: str
    name: str
    correlation: Correlation


@dataclass(frozen=True)
class CallValidity:
    call_id: int
    reference: str
    name: str
    decided_at: datetime | None
    criteria: list[tuple[str, str]]
    rows: list[ValidityRow]
    correlations: list[CriterionValidity]

    @property
    def sample(self) -> list[ValidityRow]:
        return [row for row in self.rows if row.outcome is not None and row.total is not None]

    @property
    def n(self) -> int:
        return len(self.sample)

    @property
    def enough(self) -> bool:
        return self.n >= MIN_SAMPLE

    @property
    def left_out(self) -> list[ValidityRow]:
        return [row for row in self.rows if row.outcome is None or row.total is None]


@dataclass(frozen=True)
class DecidedCall:
    id: int
    reference: str
    name: str
    decided_at: datetime | None
    initiatives: int


def reads_validity(actor: Actor | None) -> bool:
    return actor is not None and getattr(actor, "is_authenticated", False) and any(
        actor.has_role(role) for role in (Role.PROGRAMME_MANAGER, Role.AUDITOR))


def decided_calls(*, actor: Actor | None) -> list[DecidedCall]:
    """The decided calls with the number of their initiatives (those of later stages included), for the
    dashboard's list; none for a reader who may not see the reviewers' scores."""
    if not reads_validity(actor):
        return []
    return [DecidedCall(row.id, row.reference, row.name, row.decided_at, len(_initiatives_of(row.id)))
            for row in db.session.execute(
                select(Call.id, Call.reference, Call.name, Call.decided_at)
                .where(Call.status == CallStatus.DECIDED).order_by(Call.decided_at.desc(), Call.id))]


def _origins(call_id: int) -> dict[int, tuple[int, int]]:
    """The call's proposals and every proposal started from one of them at a later stage (and so on), each mapped
    to the call's proposal it comes from and how many stages after the call it is (0 for the call's own)."""
    origin = {pid: (pid, 0) for pid in db.session.scalars(select(Proposal.id).where(Proposal.call_id == call_id))}
    frontier = set(origin)
    for step in range(1, MOST_STAGES + 1):
        if not frontier:
            break
        found = db.session.execute(select(Proposal.id, Proposal.previous_proposal_id)
                                   .where(Proposal.previous_proposal_id.in_(frontier))).all()
        frontier = set()
        for proposal_id, previous in found:
            if proposal_id not in origin:
                origin[proposal_id] = (origin[previous][0], step)
                frontier.add(proposal_id)
    return origin


def _initiatives_of(call_id: int) -> list[tuple[Any, int]]:
    """The initiatives funded from the call's proposals (at this stage or a later one), each with the call's
    proposal it comes from: one per proposal, the one of the latest stage it reached (a network funded at two
    stages of a staged call has two initiatives; its later one tells how it went on, and one proposal's score
    counted twice would weigh twice in the sample)."""
    origin = _origins(call_id)
    if not origin:
        return []
    rows = db.session.execute(
        select(Initiative.id, Initiative.reference, Initiative.name, Initiative.status, Initiative.proposal_id)
        .where(Initiative.proposal_id.in_(list(origin))).order_by(Initiative.reference)).all()
    latest: dict[int, Any] = {}
    for row in rows:
        source, depth = origin[row.proposal_id]
        if source not in latest or depth > origin[latest[source].proposal_id][1]:
            latest[source] = row
    return sorted(((row, source) for source, row in latest.items()), key=lambda pair: pair[0].reference)


def _latest_reports(initiative_ids: list[int]) -> dict[int, tuple[date, list[tuple]]]:
    """Per initiative, its latest submitted report's period end and the (value, baseline, target) of each KPI value
    in it (two queries)."""
    if not initiative_ids:
        return {}
    position = func.row_number().over(partition_by=SelfEvaluationReport.initiative_id,
                                      order_by=(SelfEvaluationReport.period_end.desc(),
                                                SelfEvaluationReport.id.desc()))
    ranked = (select(SelfEvaluationReport.id, SelfEvaluationReport.initiative_id, SelfEvaluationReport.period_end,
                     position.label("position"))
              .where(SelfEvaluationReport.status == ReportStatus.SUBMITTED,
                     SelfEvaluationReport.initiative_id.in_(initiative_ids))
              .subquery())
    latest = {row.id: (row.initiative_id, row.period_end)
              for row in db.session.execute(select(ranked).where(ranked.c.position == 1))}
    found: dict[int, tuple[date, list[tuple]]] = {initiative_id: (end, []) for initiative_id, end in latest.values()}
    if latest:
        for report_id, value, baseline, target in db.session.execute(
                select(ReportValue.report_id, ReportValue.value, ScorecardKpi.baseline, ScorecardKpi.target)
                .join(ScorecardKpi, ScorecardKpi.id == ReportValue.kpi_id)
                .where(ReportValue.report_id.in_(list(latest)))):
            found[latest[report_id][0]][1].append((value, baseline, target))
    return found


def call_validity(call: Call, *, actor: Actor) -> CallValidity:
    """The validity of a decided call's scores (NotFound for a call not decided; AccessDenied for anyone but a
    programme manager or an auditor, by ``reviews.call_results``)."""
    results = call_results(call, actor=actor)
    if call.status != CallStatus.DECIDED:
        raise NotFound("the call is not decided")
    initiatives = _initiatives_of(call.id)
    reports = _latest_reports([row.id for row, _origin in initiatives])
    keys = list(results.scoring.keys)
    rows = []
    for row, scored_proposal in initiatives:
        score = results.scores.get(scored_proposal)
        end, values = reports.get(row.id, (None, []))
        rows.append(ValidityRow(
            initiative_id=row.id, reference=row.reference, name=row.name, status=InitiativeStatus(row.status),
            total=score.total if score is not None else None,
            scores=score.counted_scores(keys) if score is not None and score.scored else {},
            progress=initiative_progress(values), kpis_used=sum(
                1 for v, b, t in values if progress(v, b, t) is not None),
            latest_report_end=end))
    validity = CallValidity(call.id, call.reference, call.name, call.decided_at,
                            [(key, results.scoring.name_of(key)) for key in keys], rows, [])
    sample = validity.sample
    outcomes = [row.outcome for row in sample]
    correlations = [CriterionValidity(TOTAL, _("Total score"), spearman([row.total for row in sample], outcomes))]
    for key, name in validity.criteria:
        with_score = [row for row in sample if key in row.scores]
        correlations.append(CriterionValidity(key, name, spearman([row.scores[key] for row in with_score],
                                                                  [row.outcome for row in with_score])))
    return CallValidity(validity.call_id, validity.reference, validity.name, validity.decided_at,
                        validity.criteria, rows, correlations)
