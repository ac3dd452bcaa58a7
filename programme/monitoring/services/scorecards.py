"""Operations on an initiative's balanced scorecard: start it from a template in ``rules/scorecards/``, then let
the group shape it (add its own KPIs, rename or adjust any KPI, drop one with a reason, restore it), and show
the manager what was changed from the template.

Who may do what: the users of the initiative's group and programme managers edit; fund administrators read;
anybody else (reviewers, other groups) is told the initiative does not exist (NotFound). A terminated
initiative's scorecard is still shown but no longer changed.

Every operation takes the actor and the time explicitly, checks permission, changes state, writes the audit
log, flushes and never commits.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal, InvalidOperation
from pathlib import Path

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from programme.core import audit
from programme.core.access import AccessDenied, Actor, NotFound, Role, RuleViolation
from programme.core.i18n import DEFAULT_LANGUAGE, language_of
from programme.core.money import format_number
from programme.core.texts import gettext as _
from programme.core.texts import lazy_gettext as _l
from programme.extensions import db
from programme.funding.models import Initiative, InitiativeStatus
from programme.monitoring.models import Direction, KpiOrigin, Scorecard, ScorecardKpi
from programme.rulebook import RulesError, RulesProblem, ScorecardTemplate, parse_scorecard_template
from programme.rulebook.texts import localized_template

#: A critical success factor has one to three live KPIs (Meyer-Stamer and Harmes-Liedtke 2005, 7.2).
MAX_KPIS_PER_FACTOR = 3
#: Numeric(18, 4): four decimal places, fourteen digits before the point.
PLACES = 4
LIMIT = Decimal(10) ** 14
NAME_MAX, UNIT_MAX, KEY_MAX = 200, 60, 60


# Templates --------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class TemplateFile:
    key: str
    name: str
    file: str  # relative to the rules folder: scorecards/<name>.toml
    source: str
    template: ScorecardTemplate

    @property
    def sha256(self) -> str:
        return hashlib.sha256(self.source.encode("utf-8")).hexdigest()


def _template_paths(rules_folder: Path | str) -> list[Path]:
    return sorted(Path(rules_folder, "scorecards").glob("*.toml"))


def _read_template(path: Path, rules_folder: Path | str) -> TemplateFile:
    relative = path.relative_to(Path(rules_folder)).as_posix()
    try:
        source = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise RulesError([RulesProblem(relative, "", f"cannot be read ({exc})")]) from None
    template = parse_scorecard_template(source, relative)
    return TemplateFile(template.scorecard.key, template.scorecard.name, relative, source, template)


def templates_available(rules_folder: Path | str, language: str = DEFAULT_LANGUAGE) -> list[tuple[str, str, str]]:
    """(key, name, file) of every scorecard template in the rules folder that loads, the name in ``language``
    where the template gives it; a bad file is skipped here (``load_template`` names its faults)."""
    found: list[tuple[str, str, str]] = []
    for path in _template_paths(rules_folder):
        try:
            t = _read_template(path, rules_folder)
        except RulesError:
            continue
        found.append((t.key, localized_template(t.template, language).scorecard.name, t.file))
    return found


def load_template(rules_folder: Path | str, key: str) -> TemplateFile:
    """The template with this key: the file named after it (``scottish_cluster`` ->
    ``scorecards/scottish-cluster.toml``), else the file whose ``[scorecard] key`` it is. A file that is
    wrong raises RuleViolation naming the file and its faults."""
    paths = _template_paths(rules_folder)
    named = [p for p in paths if p.stem.replace("-", "_") == key]
    for path in named + [p for p in paths if p not in named]:
        try:
            t = _read_template(path, rules_folder)
        except RulesError as exc:
            if path in named:
                relative = path.relative_to(Path(rules_folder)).as_posix()
                raise RuleViolation(_("The scorecard template %(key)s (%(file)s) is not valid: %(problems)s",
                                      key=repr(key), file=relative, problems=exc), field="template") from None
            continue
        if t.key == key:
            return t
        if path in named:
            raise RuleViolation(_("The scorecard template file %(file)s has the key %(found)s, not %(key)s.",
                                  file=t.file, found=repr(t.key), key=repr(key)), field="template")
    raise RuleViolation(_("There is no scorecard template %(key)s in the rules folder.", key=repr(key)),
                        field="template")


# Access -----------------------------------------------------------------------------------------------------


def _viewable(initiative: Initiative, actor: Actor) -> None:
    if not initiative.can_view(actor):
        raise NotFound("no such initiative")


def may_edit(initiative: Initiative, actor: Actor) -> bool:
    """The group's users and programme managers shape the scorecard (whatever the initiative's status)."""
    if initiative.group.role_of(actor) is not None:
        return True
    return bool(getattr(actor, "has_role", None)) and actor.has_role(Role.PROGRAMME_MANAGER)


def require_edit(initiative: Initiative, actor: Actor) -> None:
    """NotFound if the actor may not see the initiative, AccessDenied if they may only read its scorecard,
    RuleViolation if the initiative was terminated."""
    _viewable(initiative, actor)
    if not may_edit(initiative, actor):
        raise AccessDenied(_("only the initiative's group and programme managers change its scorecard"))
    if initiative.status == InitiativeStatus.TERMINATED:
        raise RuleViolation(_("%(reference)s was terminated: its scorecard can be read, not changed.",
                                reference=initiative.reference))


def get_initiative(initiative_id: int, *, actor: Actor) -> Initiative:
    initiative = db.session.get(Initiative, initiative_id)
    if initiative is None or not initiative.can_view(actor):
        raise NotFound("no such initiative")
    return initiative


def get_scorecard(initiative: Initiative, *, actor: Actor) -> Scorecard | None:
    """The initiative's scorecard, or None before it is started; NotFound for one the actor may not see."""
    _viewable(initiative, actor)
    return db.session.scalar(select(Scorecard).where(Scorecard.initiative_id == initiative.id))


def get_kpi(kpi_id: int, *, actor: Actor) -> ScorecardKpi:
    """One KPI; NotFound for an unknown id and for one of a scorecard the actor may not see."""
    kpi = db.session.get(ScorecardKpi, kpi_id)
    if kpi is None or not kpi.scorecard.can_view(actor):
        raise NotFound("no such KPI")
    return kpi


def kpis_of(scorecard: Scorecard) -> list[ScorecardKpi]:
    """Every KPI of the scorecard, live and dropped, in their order."""
    return list(db.session.scalars(
        select(ScorecardKpi).where(ScorecardKpi.scorecard_id == scorecard.id).order_by(ScorecardKpi.position)
    ))


# Values -----------------------------------------------------------------------------------------------------


def _missing(field: str) -> str:
    """What a refusal asks for when a KPI's text is missing."""
    if field == "name":
        return _("Give the KPI's name.")
    if field == "unit":
        return _("Give the KPI's unit.")
    return _("Give the KPI's source (where its value comes from).")


def _text(value: str | None, field: str, maximum: int | None = None) -> str:
    text = (value or "").strip()
    if not text:
        raise RuleViolation(_missing(field), field=field)
    if maximum is not None and len(text) > maximum:
        raise RuleViolation(_("Write at most %(count)s characters.", count=maximum), field=field)
    return text


def _direction(value: str | Direction | None) -> Direction:
    try:
        return Direction(value)
    except ValueError:
        raise RuleViolation(_("Say whether higher or lower is better."), field="direction") from None


def kpi_number(value: object, field: str) -> Decimal | None:
    """A KPI number (a baseline, a target, a reported value): a decimal with at most four places, or nothing;
    never a float. A refusal names ``field``."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    if isinstance(value, float | bool):
        raise RuleViolation(_("Give the number as a decimal, not a binary float."), field=field)
    try:
        number = Decimal(value.strip() if isinstance(value, str) else value)  # type: ignore[arg-type]
    except (InvalidOperation, TypeError, ValueError):
        raise RuleViolation(_("%(value)s is not a number.", value=repr(str(value)[:40])), field=field) from None
    if not number.is_finite():
        raise RuleViolation(_("Give a finite number."), field=field)
    if abs(number) >= LIMIT:
        raise RuleViolation(_("Give a number below %(limit)s.", limit=format_number(LIMIT, 0)), field=field)
    if number != number.quantize(Decimal(1).scaleb(-PLACES)):
        raise RuleViolation(_("Use at most %(places)s decimal places.", places=PLACES), field=field)
    return number


def _slug(name: str) -> str:
    slug = re.sub(r"[^a-z0-9]+", "_", name.lower()).strip("_") or "kpi"
    if not slug[0].isalpha():
        slug = f"kpi_{slug}"
    return slug[: KEY_MAX - 4].rstrip("_")


def _lock(scorecard: Scorecard) -> None:
    """Serialise changes to one scorecard (PostgreSQL; SQLite serialises writers anyway)."""
    db.session.execute(select(Scorecard.id).where(Scorecard.id == scorecard.id).with_for_update())


def _live_in_factor(scorecard: Scorecard, factor_key: str) -> int:
    return db.session.scalar(select(func.count()).select_from(ScorecardKpi).where(
        ScorecardKpi.scorecard_id == scorecard.id, ScorecardKpi.factor_key == factor_key,
        ScorecardKpi.dropped_at.is_(None),
    )) or 0


# Operations -------------------------------------------------------------------------------------------------


def start_scorecard(initiative: Initiative, *, template_key: str | None, rules_folder: Path | str, actor: Actor,
                    now: datetime) -> Scorecard:
    """Start the initiative's scorecard from a template (default: the call's), copying the template's text
    and one KPI per template KPI. Once per initiative. The perspectives', factors' and KPIs' texts are copied in
    the starter's language (the one chosen on their account, else the one being answered in) where the template
    gives them, English otherwise; the scorecard records which."""
    require_edit(initiative, actor)
    if get_scorecard(initiative, actor=actor) is not None:
        raise RuleViolation(_("%(reference)s already has a scorecard.", reference=initiative.reference),
                            field="template")
    key = (template_key or "").strip() or initiative.call.rules.monitoring.scorecard
    loaded = load_template(rules_folder, key)
    language = language_of(actor)
    scorecard = Scorecard(initiative_id=initiative.id, template_key=loaded.key, template_file=loaded.file,
                          template_source=loaded.source, template_sha256=loaded.sha256,
                          started_by_id=actor.id, started_at=now, language=language)
    try:
        with db.session.begin_nested():
            db.session.add(scorecard)
            db.session.flush()
    except IntegrityError:
        raise RuleViolation(_("%(reference)s already has a scorecard.", reference=initiative.reference),
                            field="template") from None
    position = 0
    for perspective in localized_template(loaded.template, language).perspectives:
        for factor in perspective.factors:
            for kpi in factor.kpis:
                position += 1
                db.session.add(ScorecardKpi(
                    scorecard_id=scorecard.id, position=position,
                    perspective_key=perspective.key, perspective_title=perspective.title,
                    factor_key=factor.key, factor_title=factor.title, key=kpi.key, name=kpi.name,
                    unit=kpi.unit, direction=Direction(kpi.direction), source=kpi.source,
                    baseline=kpi_number(kpi.baseline, "baseline"), target=kpi_number(kpi.target, "target"),
                    origin=KpiOrigin.TEMPLATE, added_by_id=actor.id, added_at=now,
                ))
    db.session.flush()
    audit.record(db.session, actor, "scorecard.started", scorecard, initiative=initiative.reference,
                 template=loaded.key, file=loaded.file, sha256=loaded.sha256, kpis=position, language=language)
    return scorecard


def add_kpi(scorecard: Scorecard, *, factor_key: str, name: str, unit: str, direction: str | Direction,
            source: str, baseline: Decimal | str | None, target: Decimal | str | None, actor: Actor,
            now: datetime) -> ScorecardKpi:
    """The group's own KPI under one of the scorecard's critical success factors (at most three live each)."""
    require_edit(scorecard.initiative, actor)
    factor = next(((p, f) for p in scorecard.copied.perspectives for f in p.factors if f.key == factor_key),
                  None)
    if factor is None:
        raise RuleViolation(_("Choose one of the scorecard's critical success factors."), field="factor")
    perspective, success_factor = factor
    name = _text(name, "name", NAME_MAX)
    unit = _text(unit, "unit", UNIT_MAX)
    chosen = _direction(direction)
    source = _text(source, "source")
    base, goal = kpi_number(baseline, "baseline"), kpi_number(target, "target")
    _lock(scorecard)
    if _live_in_factor(scorecard, factor_key) >= MAX_KPIS_PER_FACTOR:
        raise RuleViolation(_("“%(factor)s” already has %(count)s KPIs: drop one first.",
                              factor=success_factor.title, count=MAX_KPIS_PER_FACTOR), field="factor")
    existing = kpis_of(scorecard)
    if any(k.live and k.name.casefold() == name.casefold() for k in existing):
        raise RuleViolation(_("The scorecard already has a KPI with this name."), field="name")
    keys = {k.key for k in existing}
    key, suffix = _slug(name), 1
    base_key = key
    while key in keys:
        suffix += 1
        key = f"{base_key}_{suffix}"
    kpi = ScorecardKpi(
        scorecard_id=scorecard.id, position=max((k.position for k in existing), default=0) + 1,
        perspective_key=perspective.key, perspective_title=perspective.title, factor_key=success_factor.key,
        factor_title=success_factor.title, key=key, name=name, unit=unit, direction=chosen, source=source,
        baseline=base, target=goal, origin=KpiOrigin.GROUP, added_by_id=actor.id, added_at=now,
    )
    db.session.add(kpi)
    db.session.flush()
    audit.record(db.session, actor, "scorecard.kpi_added", kpi, scorecard=scorecard.id, key=key, name=name,
                 factor=factor_key)
    return kpi


def update_kpi(kpi: ScorecardKpi, *, name: str, unit: str, direction: str | Direction, source: str,
               baseline: Decimal | str | None, target: Decimal | str | None, actor: Actor,
               now: datetime) -> ScorecardKpi:
    """Rename a KPI, change its unit, direction or source, set its baseline and target."""
    require_edit(kpi.scorecard.initiative, actor)
    name = _text(name, "name", NAME_MAX)
    unit = _text(unit, "unit", UNIT_MAX)
    chosen = _direction(direction)
    source = _text(source, "source")
    base, goal = kpi_number(baseline, "baseline"), kpi_number(target, "target")
    _lock(kpi.scorecard)
    if any(k.id != kpi.id and k.live and k.name.casefold() == name.casefold() for k in kpis_of(kpi.scorecard)):
        raise RuleViolation(_("The scorecard already has a KPI with this name."), field="name")
    before = {"name": kpi.name, "unit": kpi.unit, "direction": kpi.direction.value, "source": kpi.source,
              "baseline": kpi.baseline, "target": kpi.target}
    kpi.name, kpi.unit, kpi.direction, kpi.source = name, unit, chosen, source
    kpi.baseline, kpi.target = base, goal
    after = {"name": name, "unit": unit, "direction": chosen.value, "source": source, "baseline": base,
             "target": goal}
    changed = {k: [str(before[k]), str(after[k])] for k in after if before[k] != after[k]}
    if changed:
        kpi.changed_at = now
        db.session.flush()
        audit.record(db.session, actor, "scorecard.kpi_updated", kpi, key=kpi.key, changes=changed)
    return kpi


def drop_kpi(kpi: ScorecardKpi, *, reason: str, actor: Actor, now: datetime) -> ScorecardKpi:
    """Drop a live KPI, saying why; its factor keeps at least one live KPI. The row stays (reports keep it)."""
    require_edit(kpi.scorecard.initiative, actor)
    if not kpi.live:
        raise RuleViolation(_("“%(name)s” was already dropped.", name=kpi.name))
    reason = (reason or "").strip()
    if not reason:
        raise RuleViolation(_("Say why the KPI is dropped."), field="reason")
    if len(reason) > 2000:
        raise RuleViolation(_("Write at most 2,000 characters."), field="reason")
    _lock(kpi.scorecard)
    if _live_in_factor(kpi.scorecard, kpi.factor_key) <= 1:
        raise RuleViolation(_("“%(name)s” is the last KPI of “%(factor)s”: a critical success factor keeps at "
                              "least one. Add another first.", name=kpi.name, factor=kpi.factor_title),
                            field="reason")
    kpi.dropped_at, kpi.dropped_by_id, kpi.drop_reason = now, actor.id, reason
    db.session.flush()
    audit.record(db.session, actor, "scorecard.kpi_dropped", kpi, key=kpi.key, reason=reason)
    return kpi


def restore_kpi(kpi: ScorecardKpi, *, actor: Actor, now: datetime) -> ScorecardKpi:
    """Bring a dropped KPI back, if its factor has room (at most three live)."""
    require_edit(kpi.scorecard.initiative, actor)
    if kpi.live:
        raise RuleViolation(_("“%(name)s” is not dropped.", name=kpi.name))
    _lock(kpi.scorecard)
    if _live_in_factor(kpi.scorecard, kpi.factor_key) >= MAX_KPIS_PER_FACTOR:
        raise RuleViolation(_("“%(factor)s” already has %(count)s KPIs: drop one first.",
                              factor=kpi.factor_title, count=MAX_KPIS_PER_FACTOR))
    if any(k.live and k.name.casefold() == kpi.name.casefold() for k in kpis_of(kpi.scorecard)):
        raise RuleViolation(_("The scorecard already has a live KPI with this name: rename that one first."))
    reason = kpi.drop_reason
    kpi.dropped_at, kpi.dropped_by_id, kpi.drop_reason = None, None, None
    kpi.changed_at = now
    db.session.flush()
    audit.record(db.session, actor, "scorecard.kpi_restored", kpi, key=kpi.key, dropped_because=reason)
    return kpi


# What changed -----------------------------------------------------------------------------------------------


#: What a change from the template is called (``Change.label``).
CHANGE_LABELS = {"added": _l("Added by the group"), "renamed": _l("Renamed"), "unit": _l("Unit changed"),
                 "direction": _l("Direction changed"), "source": _l("Source changed"), "dropped": _l("Dropped")}


@dataclass(frozen=True)
class Change:
    """One difference from the template: ``kind`` is added, renamed, unit, direction, source or dropped;
    ``before`` and ``after`` are the template's and the scorecard's (the reason, for dropped)."""

    kind: str
    kpi_key: str
    factor_title: str
    name: str
    before: str | None
    after: str | None

    @property
    def label(self) -> str:
        return str(CHANGE_LABELS[self.kind])


def changes_from_template(scorecard: Scorecard) -> list[Change]:
    """What the scorecard's KPIs differ in from the template copy (baselines and targets are the group's to set,
    so not changes), in the KPIs' order: against the template's texts in the language they were copied in."""
    template = {k.key: k for p in scorecard.copied.perspectives for f in p.factors for k in f.kpis}
    changes: list[Change] = []
    for kpi in kpis_of(scorecard):
        def change(kind: str, before: str | None, after: str | None, kpi: ScorecardKpi = kpi) -> None:
            changes.append(Change(kind, kpi.key, kpi.factor_title, kpi.name, before, after))

        original = template.get(kpi.key) if kpi.origin == KpiOrigin.TEMPLATE else None
        if original is None:
            change("added", None, kpi.name)
        else:
            if kpi.name != original.name:
                change("renamed", original.name, kpi.name)
            if kpi.unit != original.unit:
                change("unit", original.unit, kpi.unit)
            if kpi.direction.value != original.direction:
                change("direction", Direction(original.direction).label, kpi.direction.label)
            if kpi.source != original.source:
                change("source", original.source, kpi.source)
        if not kpi.live:
            change("dropped", None, kpi.drop_reason)
    return changes
