"""Staged calls: a call in two or more stages (a short concept note before a full proposal; a network programme's
feasibility, planning and implementation, seed 004 section 4), each with its own proposal sections, criteria,
thresholds, budget, maximum per group and support share.

A staged call's rules hold the optional ``[[stages]]`` list. ``check_stages`` validates it against the rest of the
rules (the schema's ``CallRules`` calls it); ``stage_rules`` derives the rules of one stage: the same file with the
stage's sections, criteria, budget, maximum and share in place of the call's, so that the review, the ranking, the
funding line and the decisions work on a stage exactly as on a one-stage call.
"""

from __future__ import annotations

import threading
from datetime import datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

from pydantic import Field, ValidationError, model_validator

from programme.core.money import is_exact_amount
from programme.rulebook.base import Share, StageTexts, Strict, TextLanguage

if TYPE_CHECKING:  # the schema imports this module
    from programme.rulebook.schema import CallRules, Criterion, ScoringSection

#: The sections of a proposal a stage may ask for (the keys of ``proposals.domain.SECTIONS``; a test keeps the two
#: in step: the rules are pure and do not import the proposals).
PROPOSAL_SECTIONS = ("cluster", "activities", "budget", "indicators", "attachments")

ZERO = Decimal(0)


class Stage(Strict):
    """One stage of a staged call."""

    key: str = Field(pattern=r"^[a-z][a-z0-9_]*$", max_length=40)
    title: str = Field(min_length=3, max_length=120)
    description: str = ""
    #: The proposal sections a group must complete at this stage.
    sections: list[str] = Field(min_length=1)
    #: The stage's own criteria and overall threshold; left out, the call's ``[scoring]`` ones.
    criteria: list[Criterion] | None = None
    overall_threshold: Decimal | None = Field(default=None, ge=0)
    tie_break: list[str] | None = None
    #: Money: a stage awards some (budget, max_per_group and support_share all above zero) or none (all zero, as a
    #: concept note).
    budget: Decimal = Field(default=ZERO, ge=0)
    max_per_group: Decimal = Field(default=ZERO, ge=0)
    support_share: Share = ZERO
    opens: datetime | None = None
    closes: datetime | None = None
    #: The title and description in the other languages the programme speaks (``rulebook.texts``).
    translations: dict[TextLanguage, StageTexts] = Field(default_factory=dict)

    @property
    def awards_money(self) -> bool:
        return self.budget > 0

    @model_validator(mode="after")
    def _consistent(self) -> Stage:
        unknown = [s for s in self.sections if s not in PROPOSAL_SECTIONS]
        if unknown:
            raise ValueError(f"sections: sections among {list(PROPOSAL_SECTIONS)} (unknown: {unknown})")
        if len(set(self.sections)) != len(self.sections):
            raise ValueError("sections: each section once")
        money = [self.budget > 0, self.max_per_group > 0, self.support_share > 0]
        if any(money) and not all(money):
            raise ValueError("budget: a stage awards money (budget, max_per_group and support_share all above zero) "
                             "or none (all three zero)")
        if self.max_per_group > self.budget:
            raise ValueError("max_per_group: at most the stage's budget")
        if self.opens and self.closes and self.closes <= self.opens:
            raise ValueError("closes: a time after 'opens'")
        return self


def _stage_scoring(rules: CallRules, stage: Stage) -> ScoringSection:
    """The stage's scoring section, validated like the call's (raises ``ValidationError``)."""
    base = rules.scoring.model_dump()
    if stage.criteria is not None:
        base["criteria"] = [c.model_dump() for c in stage.criteria]
    if stage.overall_threshold is not None:
        base["overall_threshold"] = stage.overall_threshold
    keys = [c["key"] for c in base["criteria"]]
    base["tie_break"] = (list(stage.tie_break) if stage.tie_break is not None
                         else [k for k in rules.scoring.tie_break if k in keys])
    return type(rules.scoring).model_validate(base)


def _where(error: dict[str, Any]) -> str:
    parts = []
    for part in error["loc"]:
        parts.append(f"[{part}]" if isinstance(part, int) else (f".{part}" if parts else str(part)))
    message = error["msg"].removeprefix("Value error, ")
    return "".join(parts), message


def check_stages(rules: CallRules) -> None:
    """The ``[[stages]]`` of ``rules`` against the rest of them; a ValueError naming the key at the first fault."""
    stages = rules.stages or []
    currency = rules.call.currency
    if len(stages) < 2:
        raise ValueError(f"stages: at least two stages in a staged call (got {len(stages)}); leave the list out for "
                         "a call in one stage")
    keys = [s.key for s in stages]
    repeated = sorted({k for k in keys if keys.count(k) > 1})
    if repeated:
        raise ValueError(f"stages: each key once (repeated: {repeated})")
    total = ZERO
    previous: tuple[int, Stage] | None = None
    for index, stage in enumerate(stages):
        where = f"stages[{index}]"
        for field in ("budget", "max_per_group"):
            if not is_exact_amount(getattr(stage, field), currency):
                raise ValueError(f"{where}.{field}: an amount in whole minor units of {currency}")
        if stage.max_per_group > rules.call.per_initiative_cap:
            raise ValueError(f"{where}.max_per_group: at most call.per_initiative_cap "
                             f"({rules.call.per_initiative_cap}), the cap per group across all stages")
        if stage.awards_money:
            if previous is not None and stage.support_share > previous[1].support_share:
                raise ValueError(f"{where}.support_share: at most the share of the stage before "
                                 f"(stages[{previous[0]}]: {previous[1].support_share}); support declines from "
                                 "stage to stage")
            previous = (index, stage)
        total += stage.budget
        try:
            _stage_scoring(rules, stage)
        except ValidationError as exc:
            key, message = _where(exc.errors(include_url=False)[0])
            if ": " in message and not key:
                key, message = message.split(": ", 1)
            raise ValueError(f"{where}.{key or 'criteria'}: {message}") from None
    if total > rules.call.budget:
        raise ValueError(f"stages: the stages' budgets add up to {total}, more than call.budget ({rules.call.budget})")
    if not stages[-1].awards_money:
        raise ValueError(f"stages[{len(stages) - 1}].budget: the last stage awards the funding (a budget above zero)")
    zone = ZoneInfo(rules.call.timezone or "UTC")
    for index, (before, after) in enumerate(zip(stages, stages[1:], strict=False), start=1):
        if before.closes and after.opens:
            closes, opens = (t if t.tzinfo else t.replace(tzinfo=zone) for t in (before.closes, after.opens))
            if opens < closes:
                raise ValueError(f"stages[{index}].opens: not before stages[{index - 1}].closes")


_derived: dict[tuple[int, str], tuple[CallRules, CallRules]] = {}
_derived_lock = threading.Lock()


def stage_of(rules: CallRules, key: str) -> Stage:
    for stage in rules.stages or []:
        if stage.key == key:
            return stage
    raise KeyError(f"no stage {key!r} in the rules")


def stage_rules(rules: CallRules, key: str) -> CallRules:
    """The rules of the stage ``key``: the call's, with the stage's sections as the required ones, its criteria,
    thresholds and tie-break as the scoring, its budget as the call's budget, its maximum per group as the cap per
    initiative and the start-up grant's maximum, and its support share as the grant's share. Kept per rules object
    (the rules are frozen; the caller keeps them by digest)."""
    cache_key = (id(rules), key)
    found = _derived.get(cache_key)
    if found is not None and found[0] is rules:  # the entry holds the rules: their id is not reused meanwhile
        return found[1]
    stage = stage_of(rules, key)
    call = rules.call.model_copy(update={
        "name": f"{rules.call.name}: {stage.title}",
        "description": stage.description or rules.call.description,
        "budget": stage.budget, "per_initiative_cap": stage.max_per_group, "opens": stage.opens,
        "closes": stage.closes,
    })
    grant = rules.funding.startup_grant.model_copy(update={"maximum": stage.max_per_group,
                                                           "share": stage.support_share})
    derived = rules.model_copy(update={
        "call": call,
        "eligibility": rules.eligibility.model_copy(update={"required_sections": list(stage.sections)}),
        "scoring": _stage_scoring(rules, stage),
        "funding": rules.funding.model_copy(update={"startup_grant": grant}),
        "stages": None,
    })
    with _derived_lock:
        if len(_derived) >= 256:
            _derived.clear()
        _derived[cache_key] = (rules, derived)
    return derived
