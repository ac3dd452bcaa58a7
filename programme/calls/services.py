"""Operations on calls: create from a rules file, edit while draft, open, close (by hand or at the deadline)."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from pathlib import Path

from sqlalchemy import func, select
from sqlalchemy.orm import lazyload

from programme.calls import staging
from programme.calls.models import Call, CallStatus, Criterion
from programme.core import audit
from programme.core.access import AccessDenied, Actor, NotFound, Role, RuleViolation, require_role
from programme.core.money import format_money, is_exact_amount
from programme.core.texts import gettext as _
from programme.extensions import db
from programme.rulebook import CallRules, RulesError, load_rules_file, parse_call_rules
from programme.rulebook.loader import to_utc


@dataclass(frozen=True)
class RulesFileEntry:
    """A call rules file in the rules folder, loaded, or the reason it cannot be."""

    name: str
    rules: CallRules | None
    error: str | None


def call_rules_files(folder: str | Path, *, actor: Actor) -> list[RulesFileEntry]:
    """The call rules files at the top of the rules folder (scorecard templates live in a subfolder)."""
    require_role(actor, Role.PROGRAMME_MANAGER)
    entries = []
    for path in sorted(Path(folder).glob("*.toml")):
        try:
            rules = load_rules_file(path)
        except RulesError as exc:
            entries.append(RulesFileEntry(path.name, None, str(exc)))
            continue
        if isinstance(rules, CallRules):
            entries.append(RulesFileEntry(path.name, rules, None))
    return entries


def _next_reference(now: datetime) -> str:
    prefix = f"CALL-{now:%Y}-"
    count = db.session.scalar(select(func.count()).select_from(Call).where(Call.reference.like(f"{prefix}%"),
                                                                           Call.parent_id.is_(None)))
    return f"{prefix}{count + 1:03d}"


def create_call(file_name: str, *, rules_folder: str | Path, timezone: str, actor: Actor, now: datetime) -> Call:
    """Create a draft call from a rules file; its rules are copied, so later edits of the file do not reach it."""
    require_role(actor, Role.PROGRAMME_MANAGER)
    folder = Path(rules_folder).resolve()
    path = (folder / file_name).resolve()
    if path.parent != folder or path.suffix != ".toml" or not path.is_file():
        raise RuleViolation(_("No rules file named %(name)s in the rules folder.", name=repr(file_name)),
                            field="rules_file")
    source = path.read_text(encoding="utf-8")
    try:
        rules = parse_call_rules(source, path.name)
    except RulesError as exc:
        raise RuleViolation(_("The rules file cannot be used: %(error)s", error=str(exc)), field="rules_file") from None
    zone = rules.call.timezone or timezone
    call = Call(
        reference=_next_reference(now),
        name=rules.call.name,
        description=rules.call.description,
        currency=rules.call.currency,
        budget=rules.call.budget,
        per_initiative_cap=rules.call.per_initiative_cap,
        opens_at=to_utc(rules.call.opens, zone) if rules.call.opens else None,
        closes_at=to_utc(rules.call.closes, zone) if rules.call.closes else None,
        rules_file=path.name,
        rules_source=source,
        rules_sha256=hashlib.sha256(source.encode("utf-8")).hexdigest(),
        created_by_id=actor.id,
        created_at=now,
    )
    call.criteria = [
        Criterion(position=i, key=c.key, title=c.title, guidance=c.guidance, weight=c.weight, threshold=c.threshold)
        for i, c in enumerate(rules.scoring.criteria, start=1)
    ]
    db.session.add(call)
    db.session.flush()
    audit.record(db.session, actor, "call.created", call, rules_file=path.name, sha256=call.rules_sha256)
    if rules.stages:  # a staged call: one call per stage beside it
        staging.add_stages(call, source=source, timezone=timezone, actor=actor, now=now)
    return call


@dataclass(frozen=True)
class CallDraft:
    """What a manager may change in a draft call."""

    name: str
    description: str
    budget: Decimal
    per_initiative_cap: Decimal
    opens_at: datetime | None
    closes_at: datetime | None


def update_draft_call(call: Call, draft: CallDraft, *, actor: Actor) -> None:
    require_role(actor, Role.PROGRAMME_MANAGER)
    if call.status != CallStatus.DRAFT:
        raise RuleViolation(_("Only a draft call can be edited; this one is published already."))
    for field in ("budget", "per_initiative_cap"):
        value = getattr(draft, field)
        if value <= 0:
            raise RuleViolation(_("Give an amount above zero."), field=field)
        if not is_exact_amount(value, call.currency):
            raise RuleViolation(_("Give the amount in whole minor units of %(currency)s.", currency=call.currency),
                                field=field)
    if draft.per_initiative_cap > draft.budget:
        raise RuleViolation(_("The cap per initiative cannot exceed the call's budget."), field="per_initiative_cap")
    startup_maximum = call.rules.funding.startup_grant.maximum
    if draft.per_initiative_cap < startup_maximum:
        raise RuleViolation(
            _("The cap per initiative cannot be below the start-up grant maximum of the rules (%(maximum)s).",
              maximum=format_money(startup_maximum, call.currency)),
            field="per_initiative_cap",
        )
    if draft.opens_at and draft.closes_at and draft.closes_at <= draft.opens_at:
        raise RuleViolation(_("The call must close after it opens."), field="closes_at")
    before = {"budget": str(call.budget), "per_initiative_cap": str(call.per_initiative_cap),
              "opens_at": call.opens_at, "closes_at": call.closes_at}
    call.name, call.description = draft.name.strip(), draft.description.strip()
    call.budget, call.per_initiative_cap = draft.budget, draft.per_initiative_cap
    call.opens_at, call.closes_at = draft.opens_at, draft.closes_at
    audit.record(db.session, actor, "call.updated", call, before=before,
                 after={"budget": str(call.budget), "per_initiative_cap": str(call.per_initiative_cap),
                        "opens_at": call.opens_at, "closes_at": call.closes_at})


def open_call(call: Call, *, actor: Actor, now: datetime) -> None:
    """Publish the call. It takes proposals from its opening time until its deadline."""
    require_role(actor, Role.PROGRAMME_MANAGER)
    if call.status != CallStatus.DRAFT:
        raise RuleViolation(_("The call is %(status)s; only a draft call can be opened.",
                                status=call.status.label.lower()))
    if call.is_staged:  # refused: a staged call opens stage by stage
        staging.before_opening(call, now=now)
    if call.opens_at is None or call.closes_at is None:
        raise RuleViolation(_("Set the opening and closing times before opening the call."), field="closes_at")
    if call.closes_at <= now:
        raise RuleViolation(_("The closing time has passed; set a later one before opening."), field="closes_at")
    staging.before_opening(call, now=now)  # a stage: the one before it decided; its opening publishes the parent
    call.status = CallStatus.OPEN
    call.opened_at = now
    audit.record(db.session, actor, "call.opened", call, opens_at=call.opens_at, closes_at=call.closes_at)


def close_call(call: Call, *, actor: Actor, now: datetime) -> None:
    """Close an open call by hand (before or after its deadline)."""
    require_role(actor, Role.PROGRAMME_MANAGER)
    if call.status != CallStatus.OPEN:
        raise RuleViolation(_("The call is %(status)s; only an open call can be closed.",
                                status=call.status.label.lower()))
    _close(call, actor, now, early=call.closes_at is not None and now < call.closes_at)


def _close(call: Call, actor: Actor, now: datetime, early: bool) -> None:
    call.status = CallStatus.CLOSED
    call.closed_at = now
    call.closed_by = actor.actor_label
    audit.record(db.session, actor, "call.closed", call, deadline=call.closes_at, early=early)


def close_due_calls(*, actor: Actor, now: datetime) -> list[Call]:
    """Close every open call whose deadline has passed. Run twice, the second run closes nothing."""
    due = db.session.scalars(
        select(Call)
        .where(Call.status == CallStatus.OPEN, Call.closes_at <= now)
        .order_by(Call.id)
        .with_for_update(skip_locked=True)
    ).all()
    for call in due:
        _close(call, actor, now, early=False)
    return list(due)


def get_call(call_id: int, *, actor: Actor | None) -> Call:
    """A call the actor may see: a draft is private to managers (404 for anyone else)."""
    call = db.session.get(Call, call_id)
    if call is None or not call.can_view(actor):
        raise NotFound()
    return call


def get_call_for_management(call_id: int, *, actor: Actor) -> Call:
    require_role(actor, Role.PROGRAMME_MANAGER)
    call = db.session.get(Call, call_id)
    if call is None:
        raise NotFound()
    return call


def get_call_for_oversight(call_id: int, *, actor: Actor) -> Call:
    """A call whose ranking and decisions are read (never changed): programme managers and auditors; 403 for
    anyone else, 404 for an unknown id."""
    require_role(actor, Role.PROGRAMME_MANAGER, Role.AUDITOR)
    call = db.session.get(Call, call_id)
    if call is None:
        raise NotFound()
    return call


def public_calls() -> list[Call]:
    """Every published call, newest deadline first: for lists, so without the rules' text and the criteria (one
    short query; either loads when read)."""
    return list(
        db.session.scalars(
            select(Call).where(Call.status != CallStatus.DRAFT, Call.parent_id.is_(None))
            .order_by(Call.closes_at.desc(), Call.id.desc())
            .options(lazyload(Call.criteria))
        )
    )


def all_calls(*, actor: Actor) -> list[Call]:
    if not Call.can_manage(actor):
        raise AccessDenied(_("only programme managers see every call"))
    return list(db.session.scalars(select(Call).order_by(Call.created_at.desc(), Call.id.desc())))
