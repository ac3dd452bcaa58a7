"""Benchmarking: for a KPI (by its key) that several initiatives' scorecards share, each initiative's latest
value from its submitted reports, its progress from baseline to target, and its rank among them.

Progress is (latest − baseline) / (target − baseline): 0 at the baseline, 1 at the target, whichever way the
target lies; so a KPI where lower is better (target below baseline) needs no special case. Rank 1 is the best
progress; equal progress shares a rank (1, 1, 3); an initiative without a value or a usable target is unranked.

Who sees what: programme managers and fund administrators see every initiative's name. A group's user sees a
KPI only if one of its own initiatives has it, its own row named and the others as "Initiative A", "B"…
(lettered by rank, never by anything that tells who they are) unless a manager has published the KPI's names.
Reviewers have no access. Reading is two set-based queries whatever the number of initiatives and reports (and,
the first time this process meets a template copied into a scorecard, one more to read it).

A KPI is compared by its key, and the initiatives' scorecards may have copied its texts in different languages
(and renamed it since): a KPI of a template is named, with its unit, as the template names it in the reader's
language (``template_names``); a KPI no template has (a group's own) as the first initiative's scorecard names it.
"""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Hashable, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import and_, func, select

from programme.accounts.models import GroupUser
from programme.core import audit
from programme.core.access import AccessDenied, Actor, NotFound, Role, require_role
from programme.core.i18n import current_language
from programme.core.kept import Kept, database_key
from programme.core.texts import gettext as _
from programme.extensions import db
from programme.funding.models import Initiative
from programme.monitoring.models import (
    BenchmarkPublication,
    Direction,
    KpiOrigin,
    ReportStatus,
    ReportValue,
    Scorecard,
    ScorecardKpi,
    SelfEvaluationReport,
)
from programme.rulebook import RulesError, ScorecardTemplate, parse_scorecard_template
from programme.rulebook.texts import localized_template

PLACES = Decimal("0.0001")


# Pure ranking ----------------------------------------------------------------------------------------------


def progress(latest: Decimal | None, baseline: Decimal | None, target: Decimal | None) -> Decimal | None:
    """(latest − baseline) / (target − baseline); None without a value, a baseline or a target, or when the
    target is the baseline."""
    if latest is None or baseline is None or target is None or target == baseline:
        return None
    return (Decimal(latest) - Decimal(baseline)) / (Decimal(target) - Decimal(baseline))


def ranks(progresses: Sequence[Decimal | None]) -> list[int | None]:
    """Competition ranks by progress, best first: ties share a rank (1, 1, 3); None stays unranked."""
    known = sorted((p for p in progresses if p is not None), reverse=True)
    first: dict[Decimal, int] = {}
    for position, value in enumerate(known, start=1):
        first.setdefault(value, position)
    return [None if p is None else first[p] for p in progresses]


def letters(index: int) -> str:
    """0 → A, 25 → Z, 26 → AA…"""
    text = ""
    index += 1
    while index:
        index, remainder = divmod(index - 1, 26)
        text = chr(65 + remainder) + text
    return text


# Access ----------------------------------------------------------------------------------------------------


def _sees_names(actor: Actor) -> bool:
    return actor.has_role(Role.PROGRAMME_MANAGER) or actor.has_role(Role.FUND_ADMINISTRATOR)


def _require_reader(actor: Actor) -> None:
    require_role(actor, Role.PROGRAMME_MANAGER, Role.FUND_ADMINISTRATOR, Role.APPLICANT)


def _own_group_ids(actor: Actor) -> set[int]:
    if actor.id is None:
        return set()
    return set(db.session.scalars(select(GroupUser.group_id).where(GroupUser.user_id == actor.id)))


def may_read(actor: Actor | None) -> bool:
    try:
        _require_reader(actor)  # type: ignore[arg-type]
    except AccessDenied:
        return False
    return True


# A KPI's name -----------------------------------------------------------------------------------------------


#: The scorecard templates copied into scorecards, by the SHA-256 of their text (None: a text that does not load,
#: or whose digest is not its own), and each one's KPIs' (name, unit) per language. Kept in this process: a digest
#: names one text for good.
_templates: dict[str, ScorecardTemplate | None] = {}
_kpi_texts: dict[tuple[str, str], dict[str, tuple[str, str]]] = {}
_templates_lock = threading.Lock()


def _templates_by_digest(digests: set[str]) -> dict[str, ScorecardTemplate | None]:
    """The templates with these digests, each read from one scorecard that copied it the first time it is met."""
    missing = digests - _templates.keys()
    if missing:
        first = (select(func.min(Scorecard.id)).where(Scorecard.template_sha256.in_(missing))
                 .group_by(Scorecard.template_sha256))
        read: dict[str, ScorecardTemplate | None] = dict.fromkeys(missing)
        for digest, source in db.session.execute(
                select(Scorecard.template_sha256, Scorecard.template_source).where(Scorecard.id.in_(first))):
            if hashlib.sha256(source.encode("utf-8")).hexdigest() != digest:
                continue
            try:
                read[digest] = parse_scorecard_template(source)
            except RulesError:
                continue
        with _templates_lock:
            if len(_templates) >= 256:
                _templates.clear()
                _kpi_texts.clear()
            _templates.update(read)
    return {digest: _templates.get(digest) for digest in digests}


def _texts_in(digest: str, template: ScorecardTemplate, language: str) -> dict[str, tuple[str, str]]:
    found = _kpi_texts.get((digest, language))
    if found is None:
        found = {k.key: (k.name, k.unit) for p in localized_template(template, language).perspectives
                 for f in p.factors for k in f.kpis}
        with _templates_lock:
            _kpi_texts[(digest, language)] = found
    return found


def template_names(rows: Sequence[Any], language: str) -> dict[str, tuple[str, str]]:
    """Per KPI key of ``rows`` (each with ``key``, ``origin`` and the scorecard's ``template_sha256``, in the
    order read), the (name, unit) the template of the first row from a template gives it in ``language``; a key
    no template row has is left out (the caller names it by its first row)."""
    from_templates = [r for r in rows if r.origin == KpiOrigin.TEMPLATE]
    if not from_templates:
        return {}
    templates = _templates_by_digest({r.template_sha256 for r in from_templates})
    names: dict[str, tuple[str, str]] = {}
    for r in from_templates:
        template = templates.get(r.template_sha256)
        if r.key in names or template is None:
            continue
        texts = _texts_in(r.template_sha256, template, language).get(r.key)
        if texts is not None:
            names[r.key] = texts
    return names


# Shared KPIs -----------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class SharedKpi:
    key: str
    name: str
    unit: str
    direction: Direction
    initiatives: int
    published: bool
    own: bool = False


def _live_kpis():
    return (select(ScorecardKpi.key, Scorecard.initiative_id, Initiative.group_id)
            .join(Scorecard, Scorecard.id == ScorecardKpi.scorecard_id)
            .join(Initiative, Initiative.id == Scorecard.initiative_id)
            .where(ScorecardKpi.dropped_at.is_(None)))


def _shared_rows() -> tuple[list[Any], frozenset[str]]:
    """The live KPIs that at least two initiatives share, with each initiative's group, and the published keys."""
    live = _live_kpis().subquery()
    counts = (select(live.c.key, func.count(func.distinct(live.c.initiative_id)).label("initiatives"))
              .group_by(live.c.key).having(func.count(func.distinct(live.c.initiative_id)) >= 2).subquery())
    rows = db.session.execute(
        select(counts.c.key, counts.c.initiatives, ScorecardKpi.name, ScorecardKpi.unit, ScorecardKpi.direction,
               Initiative.group_id, ScorecardKpi.origin, Scorecard.template_sha256)
        .join(ScorecardKpi, ScorecardKpi.key == counts.c.key)
        .join(Scorecard, Scorecard.id == ScorecardKpi.scorecard_id)
        .join(Initiative, Initiative.id == Scorecard.initiative_id)
        .where(ScorecardKpi.dropped_at.is_(None))
        .order_by(counts.c.key, ScorecardKpi.id)
    ).all()
    return rows, frozenset(db.session.scalars(select(BenchmarkPublication.kpi_key)))


#: What the benchmarking pages read, per version of the data: the shared KPIs, and one KPI's rows.
_shared_kept: Kept[tuple[list[Any], frozenset[str]]] = Kept(4)
_benchmark_kept: Kept[tuple[list[Any], bool]] = Kept(32)
#: One KPI's benchmark as a reader sees it (named, or anonymous but for the reader's groups), per version and
#: language.
_ranked_kept: Kept[Benchmark] = Kept(128)


def shared_kpis(*, actor: Actor, version: Hashable | None = None) -> list[SharedKpi]:
    """KPI keys that at least two initiatives' scorecards use live, by name; a group's user sees only those of
    its own initiatives. Reviewers: AccessDenied. With a ``version`` of the data (the caller's data version, which
    every audited change moves: a scorecard changed, a report submitted, a publication), what is read is worked
    out once per version and kept in this process."""
    _require_reader(actor)
    named = _sees_names(actor)
    groups = set() if named else _own_group_ids(actor)
    rows, published = (_shared_rows() if version is None
                       else _shared_kept.get((database_key(), version), _shared_rows))
    found: dict[str, SharedKpi] = {}
    own: set[str] = set()
    names = template_names(rows, current_language())
    for key, count, name, unit, direction, group_id, _origin, _digest in rows:
        name, unit = names.get(key, (name, unit))
        found.setdefault(key, SharedKpi(key, name, unit, direction, count, key in published))
        if group_id in groups:
            own.add(key)
    if not named:
        return sorted((SharedKpi(k.key, k.name, k.unit, k.direction, k.initiatives, k.published, True)
                       for k in found.values() if k.key in own), key=lambda k: (k.name.lower(), k.key))
    return sorted(found.values(), key=lambda k: (k.name.lower(), k.key))


# One KPI's benchmark ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class BenchmarkRow:
    label: str  # the initiative's reference and name, or "Initiative A" when anonymous
    initiative_id: int | None  # None when anonymous
    reference: str | None
    name: str | None
    latest: Decimal | None
    period_end: date | None
    baseline: Decimal | None
    target: Decimal | None
    progress: Decimal | None
    rank: int | None
    own: bool

    @property
    def anonymous(self) -> bool:
        return self.initiative_id is None


@dataclass(frozen=True)
class Benchmark:
    key: str
    name: str
    unit: str
    direction: Direction
    published: bool
    names_shown: bool  # every name is shown to this reader
    rows: list[BenchmarkRow]

    @property
    def ranked(self) -> int:
        return sum(1 for r in self.rows if r.rank is not None)


def _number(value: Decimal | None) -> Decimal | None:
    return None if value is None else Decimal(value).quantize(PLACES)


def _latest_values(kpi_key: str):
    """Per KPI row of the key: its value in the submitted report with the latest period end (a set-based
    window over every report of every initiative at once)."""
    order = func.row_number().over(partition_by=ReportValue.kpi_id,
                                   order_by=(SelfEvaluationReport.period_end.desc(), SelfEvaluationReport.id.desc()))
    return (select(ReportValue.kpi_id, ReportValue.value, SelfEvaluationReport.period_end, order.label("position"))
            .join(SelfEvaluationReport, SelfEvaluationReport.id == ReportValue.report_id)
            .join(ScorecardKpi, ScorecardKpi.id == ReportValue.kpi_id)
            .where(ScorecardKpi.key == kpi_key, SelfEvaluationReport.status == ReportStatus.SUBMITTED,
                   ReportValue.value.is_not(None))
            .subquery())


def _anonymous_order(kpi_key: str, initiative_id: int) -> str:
    """A tie-breaker for anonymous rows that tells nothing about who they are (nor when they started)."""
    return hashlib.sha256(f"{kpi_key}:{initiative_id}".encode()).hexdigest()


def benchmark(kpi_key: str, *, actor: Actor, published: bool | None = None,
              version: Hashable | None = None) -> Benchmark:
    """The ranking of every initiative that has the KPI live. NotFound for an unknown key, for a reviewer, and
    for a group's user none of whose initiatives has the KPI. ``published`` saves a look-up when known. With a
    ``version`` of the data (as ``shared_kpis``), the rows read are kept per version and KPI."""
    try:
        _require_reader(actor)
    except AccessDenied:
        raise NotFound("no such KPI") from None
    if version is None:
        rows, publication_found = _benchmark_rows(kpi_key, published is None)
    else:
        rows, publication_found = _benchmark_kept.get(
            (database_key(), version, kpi_key), lambda: _benchmark_rows(kpi_key, True))
    if not rows:
        raise NotFound("no such KPI")
    named = _sees_names(actor)
    groups = set() if named else _own_group_ids(actor)
    if not named and not any(r.group_id in groups for r in rows):
        raise NotFound("no such KPI")
    if published is None:
        published = publication_found
    if version is None:
        return _ranked(kpi_key, rows, named=named, groups=groups, published=published)
    # The anonymous rows' labels are written in the reader's language: one kept per language.
    return _ranked_kept.get((database_key(), version, kpi_key, named, frozenset(groups), published,
                             current_language()),
                            lambda: _ranked(kpi_key, rows, named=named, groups=groups, published=published))


def _benchmark_rows(kpi_key: str, look_up_publication: bool) -> tuple[list[Any], bool]:
    """Every initiative's row of the KPI (its latest value, baseline and target), by initiative id, and whether
    the KPI's benchmark is published (looked up only when asked)."""
    latest = _latest_values(kpi_key)
    rows = db.session.execute(
        select(ScorecardKpi.name.label("kpi_name"), ScorecardKpi.unit, ScorecardKpi.direction,
               ScorecardKpi.baseline, ScorecardKpi.target, Initiative.id, Initiative.reference,
               Initiative.name.label("initiative_name"), Initiative.group_id,
               latest.c.value, latest.c.period_end, ScorecardKpi.origin, Scorecard.template_sha256,
               ScorecardKpi.key)
        .join(Scorecard, Scorecard.id == ScorecardKpi.scorecard_id)
        .join(Initiative, Initiative.id == Scorecard.initiative_id)
        .outerjoin(latest, and_(latest.c.kpi_id == ScorecardKpi.id, latest.c.position == 1))
        .where(ScorecardKpi.key == kpi_key, ScorecardKpi.dropped_at.is_(None))
        .order_by(Initiative.id)
    ).all()
    found = bool(rows) and look_up_publication and db.session.scalar(
        select(BenchmarkPublication.id).where(BenchmarkPublication.kpi_key == kpi_key)) is not None
    return rows, found


def _ranked(kpi_key: str, rows: list[Any], *, named: bool, groups: set[int], published: bool) -> Benchmark:
    """The benchmark of the KPI's rows as the reader sees it: ranked, named or anonymous."""
    shown = named or published
    figures = []
    for r in rows:
        value, baseline, target = _number(r.value), _number(r.baseline), _number(r.target)
        figures.append((r, value, baseline, target, progress(value, baseline, target)))
    ranked = ranks([f[4] for f in figures])
    order = sorted(range(len(figures)), key=lambda i: (
        ranked[i] is None, ranked[i] or 0,
        figures[i][0].reference if shown else _anonymous_order(kpi_key, figures[i][0].id)))
    result: list[BenchmarkRow] = []
    anonymous = 0
    for i in order:
        r, value, baseline, target, made = figures[i]
        own = r.group_id in groups
        if shown or own:
            result.append(BenchmarkRow(f"{r.reference} · {r.initiative_name}", r.id, r.reference, r.initiative_name,
                                       value, r.period_end,
                                       baseline, target, made, ranked[i], own))
        else:
            result.append(BenchmarkRow(_("Initiative %(letter)s", letter=letters(anonymous)), None, None, None,
                                       value, r.period_end, baseline, target, made, ranked[i], own))
            anonymous += 1
    first = rows[0]
    name, unit = template_names(rows, current_language()).get(kpi_key, (first.kpi_name, first.unit))
    return Benchmark(kpi_key, name, unit, first.direction, bool(published), shown, result)


# Publication -----------------------------------------------------------------------------------------------


def _require_key(kpi_key: str) -> None:
    exists = db.session.scalar(select(ScorecardKpi.id).where(ScorecardKpi.key == kpi_key).limit(1))
    if exists is None:
        raise NotFound("no such KPI")


def publication(kpi_key: str) -> BenchmarkPublication | None:
    return db.session.scalar(select(BenchmarkPublication).where(BenchmarkPublication.kpi_key == kpi_key))


def publish(kpi_key: str, *, actor: Actor, now: datetime) -> BenchmarkPublication:
    """Show every initiative's name on the KPI's benchmark to the groups too. Publishing again changes nothing."""
    require_role(actor, Role.PROGRAMME_MANAGER)
    _require_key(kpi_key)
    found = publication(kpi_key)
    if found is not None:
        return found
    made = BenchmarkPublication(kpi_key=kpi_key, published_by_id=actor.id, published_at=now)
    db.session.add(made)
    db.session.flush()
    audit.record(db.session, actor, "benchmark.published", made, kpi_key=kpi_key)
    return made


def withdraw(kpi_key: str, *, actor: Actor, now: datetime) -> bool:
    """Hide the other initiatives' names from the groups again. Returns whether a publication was withdrawn
    (withdrawing again changes nothing)."""
    require_role(actor, Role.PROGRAMME_MANAGER)
    _require_key(kpi_key)
    found = publication(kpi_key)
    if found is None:
        return False
    audit.record(db.session, actor, "benchmark.withdrawn", found, kpi_key=kpi_key,
                 published_at=found.published_at.isoformat(), withdrawn_at=now.isoformat())
    db.session.delete(found)
    db.session.flush()
    return True
