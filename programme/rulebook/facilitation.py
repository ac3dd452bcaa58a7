"""The rules of the facilitation fund ``[funding.facilitation]`` (seed 003, sections 6 and 8).

A "cluster initiative facilitation fund" offers "matching grants to cover the facilitation cost in the start-up
phase of a cluster initiative (e.g. during the first year)" [003, 8]; the cost of facilitation is "the fee of the
facilitator, the rental for venues and possibly catering, and transport cost", possibly research "to the extent
that research (in the sense of fact-finding) is actually needed to start the cluster initiative" [003, 6].

The section is optional: a call without it has no facilitation fund. Its ceiling is checked against the call's
``per_initiative_cap`` by ``CallRules`` (the section does not see the call's figures)."""

from __future__ import annotations

from decimal import Decimal

from pydantic import Field, field_validator

from programme.core.texts import LazyText
from programme.core.texts import lazy_gettext as _l
from programme.rulebook.base import PositiveMoney, Share, Strict

#: The kinds of facilitation cost a call may make eligible [003, 6], with their labels for people (``str(label)``
#: in the language it is shown in).
FACILITATION_COST_KINDS: dict[str, LazyText] = {
    "facilitator": _l("Facilitator's fee and time"),
    "venue": _l("Rental of venues for meetings and workshops"),
    "catering": _l("Catering at meetings and workshops"),
    "transport": _l("Transport to meetings"),
    "research": _l("Research (fact-finding) needed to start the initiative"),
}

#: The first year, in months: the fund pays costs of the start-up phase only [003, 8: "during the first year"].
MAX_MONTHS = 12


class Facilitation(Strict):
    """``share``: the part of each claimed cost the fund pays (above 0, at most 1); ``ceiling``: the most the
    fund pays one initiative in all (whole minor units, at most the call's ``per_initiative_cap``); ``months``:
    the months from the initiative's start in which a cost counts (1 to 12, default 12); ``cost_kinds``: the
    eligible kinds of cost, among ``FACILITATION_COST_KINDS``."""

    share: Share
    ceiling: PositiveMoney
    months: int = Field(default=MAX_MONTHS, ge=1, le=MAX_MONTHS,
                        description="months from the initiative's start in which facilitation costs count")
    cost_kinds: list[str] = Field(min_length=1)

    @field_validator("share")
    @classmethod
    def _some_share(cls, value: Decimal) -> Decimal:
        if value <= 0:
            raise ValueError("a share above 0 and at most 1 (the part of each cost the fund pays)")
        return value

    @field_validator("cost_kinds")
    @classmethod
    def _known_kinds(cls, value: list[str]) -> list[str]:
        unknown = [k for k in value if k not in FACILITATION_COST_KINDS]
        if unknown:
            raise ValueError(f"kinds among {sorted(FACILITATION_COST_KINDS)} (unknown: {unknown})")
        repeated = sorted({k for k in value if value.count(k) > 1})
        if repeated:
            raise ValueError(f"each kind once (repeated: {repeated})")
        return value
