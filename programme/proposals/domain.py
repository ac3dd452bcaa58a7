"""Pure rules on a proposal's content: section completeness and eligibility.

Both work on a snapshot: the plain dictionary that `services.build_snapshot` makes
from the draft, and that a submitted version stores as JSON. No Flask, no database.
"""

from __future__ import annotations

import enum
import json
from dataclasses import asdict, dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from programme.core.money import format_money
from programme.rulebook import ORGANISATION_TYPES, SUPPORT_INSTITUTION_TYPES, CallRules


class ClusterStage(enum.StrEnum):
    LATENT = "latent"
    POTENTIAL = "potential"
    WORKING = "working"


class ActivityKind(enum.StrEnum):
    FACILITATION = "facilitation"
    PRACTICAL = "practical"

    @property
    def label(self) -> str:
        return {"facilitation": "Facilitation", "practical": "Practical activity"}[self.value]


#: Cost types of budget lines: facilitation costs first, then those of practical activities.
COST_TYPES: dict[str, str] = {
    "facilitator_fees": "Facilitator fees",
    "venues": "Venues and meetings",
    "travel": "Travel",
    "fact_finding": "Fact-finding and studies",
    "fairs": "Trips to fairs and joint stands",
    "training": "Training",
    "testing": "Testing and certification",
    "export_consortium": "Export consortium",
    "shared_equipment": "Shared equipment",
    "other": "Other",
}


class CoFinancingKind(enum.StrEnum):
    CASH = "cash"
    IN_KIND = "in_kind"

    @property
    def label(self) -> str:
        return "Cash" if self is CoFinancingKind.CASH else "In kind"


#: The sections of a proposal, in the order an applicant fills them.
SECTIONS: dict[str, str] = {
    "cluster": "The cluster",
    "activities": "Objectives and first activities",
    "budget": "Budget and co-financing",
    "indicators": "Indicators of success",
    "attachments": "Attachments",
}

MAX_QUARTER = 20

#: Keys of a snapshot whose values are decimals (stored in JSON as strings, never as floats).
_DECIMAL_KEYS = frozenset({"cost", "amount", "requested_amount", "budget_total", "baseline", "target"})


def dump_snapshot(snapshot: dict[str, Any]) -> str:
    """The snapshot as canonical JSON text; decimals become strings. A float anywhere is refused (TypeError)."""

    def refuse_floats(value: object) -> None:
        # json.dumps writes floats itself, without calling `default`: look for them first.
        if isinstance(value, float):
            raise TypeError("cannot store float in a proposal snapshot: use Decimal")
        if isinstance(value, dict):
            for item in value.values():
                refuse_floats(item)
        elif isinstance(value, list | tuple):
            for item in value:
                refuse_floats(item)

    refuse_floats(snapshot)

    def default(value: object) -> str:
        if isinstance(value, Decimal):
            return str(value)
        raise TypeError(f"cannot store {type(value).__name__} in a proposal snapshot")

    return json.dumps(snapshot, default=default, sort_keys=True, ensure_ascii=False)


def load_snapshot(text: str) -> dict[str, Any]:
    """The snapshot from its JSON text, decimals restored."""

    def restore(value: Any, key: str | None = None) -> Any:
        if isinstance(value, dict):
            return {k: restore(v, k) for k, v in value.items()}
        if isinstance(value, list):
            return [restore(v) for v in value]
        if key in _DECIMAL_KEYS and value is not None:
            return Decimal(value)
        return value

    return restore(json.loads(text, parse_float=Decimal))


def section_gaps(snapshot: dict[str, Any]) -> dict[str, list[str]]:
    """What each section still lacks (an empty list: the section is complete)."""
    cluster = snapshot["cluster"]
    gaps: dict[str, list[str]] = {key: [] for key in SECTIONS}
    labels = {
        "sector": "the sector or value chain", "territory": "the territory", "stage": "the cluster's stage",
        "main_problem": "its main problem", "market_failure": "the market failure addressed",
    }
    gaps["cluster"] = [f"Give {label}." for key, label in labels.items() if not (cluster.get(key) or "").strip()]
    if not (snapshot["objectives"] or "").strip():
        gaps["activities"].append("Give the initiative's objectives.")
    if not snapshot["activities"]:
        gaps["activities"].append("Add at least one first activity.")
    if not snapshot["budget_lines"]:
        gaps["budget"].append("Add at least one budget line.")
    if snapshot["requested_amount"] is None:
        gaps["budget"].append("Give the amount requested from the programme.")
    if not snapshot["indicators"]:
        gaps["indicators"].append("Add at least one indicator of success.")
    return gaps


@dataclass(frozen=True)
class RuleCheck:
    key: str
    label: str
    passed: bool
    reason: str


@dataclass(frozen=True)
class Verdict:
    checks: tuple[RuleCheck, ...]

    @property
    def eligible(self) -> bool:
        return all(check.passed for check in self.checks)

    @property
    def failures(self) -> list[RuleCheck]:
        return [check for check in self.checks if not check.passed]

    def as_json(self) -> list[dict[str, Any]]:
        return [asdict(check) for check in self.checks]

    @classmethod
    def from_json(cls, data: list[dict[str, Any]]) -> Verdict:
        return cls(tuple(RuleCheck(**item) for item in data))


def _count(number: int, word: str) -> str:
    return f"{number} {word}{'' if number == 1 else 's'}"


def check_eligibility(
    snapshot: dict[str, Any],
    rules: CallRules,
    *,
    per_initiative_cap: Decimal,
    currency: str,
    opens_at: datetime | None,
    closes_at: datetime | None,
    now: datetime,
) -> Verdict:
    """Every eligibility rule of the call, each with its reason, on a proposal's snapshot at `now`."""
    rule = rules.eligibility
    members = snapshot["members"]
    kinds = [m["kind"] for m in members]
    firms = kinds.count("firm")
    institutions = sum(1 for k in kinds if k in SUPPORT_INSTITUTION_TYPES)
    checks = [
        RuleCheck(
            "members", f"At least {rule.min_members} member organisations", len(members) >= rule.min_members,
            f"The group has {_count(len(members), 'member organisation')}; the call asks for at least "
            f"{rule.min_members}.",
        ),
        RuleCheck(
            "firms", f"At least {rule.min_firms} firms", firms >= rule.min_firms,
            f"The group has {_count(firms, 'firm')}; the call asks for at least {rule.min_firms}.",
        ),
        RuleCheck(
            "support_institutions", f"At least {rule.min_support_institutions} local support institution(s)",
            institutions >= rule.min_support_institutions,
            f"The group has {_count(institutions, 'support institution')}; the call asks for at least "
            f"{rule.min_support_institutions} (a business association, chamber, training provider, technology "
            "institute, university, local government, bank or similar).",
        ),
    ]
    allowed = set(rule.allowed_organisation_types)
    not_allowed = [m["name"] for m in members if m["kind"] not in allowed]
    checks.append(RuleCheck(
        "organisation_types", "Only organisation types the call accepts", not not_allowed,
        "All members are of accepted types." if not not_allowed else
        f"Not accepted by this call: {', '.join(not_allowed)} (accepted types: "
        f"{', '.join(ORGANISATION_TYPES[t] for t in rule.allowed_organisation_types)}).",
    ))
    requested: Decimal | None = snapshot["requested_amount"]
    startup = rules.funding.startup_grant
    limit = min(per_initiative_cap, startup.maximum)
    budget_total: Decimal = snapshot["budget_total"]
    if requested is None:
        ok, reason = False, "No amount is requested from the programme yet."
    elif requested <= 0:
        ok, reason = False, "The amount requested must be above zero."
    elif requested > limit:
        ok, reason = False, (
            f"The request of {format_money(requested, currency)} is above the limit of "
            f"{format_money(limit, currency)} (the start-up grant maximum and the cap per initiative)."
        )
    elif requested > budget_total * startup.share:
        ok, reason = False, (
            f"The request of {format_money(requested, currency)} is above "
            f"{format_money(budget_total * startup.share, currency)}, the share of the budget total "
            f"({format_money(budget_total, currency)}) the programme may pay."
        )
    else:
        ok, reason = True, (
            f"{format_money(requested, currency)} is within the limit of {format_money(limit, currency)}."
        )
    checks.append(RuleCheck("requested_amount", "Amount requested within the cap", ok, reason))
    gaps = section_gaps(snapshot)
    missing = [f"{SECTIONS[key]}: {' '.join(gaps[key])}" for key in rule.required_sections if gaps.get(key)]
    checks.append(RuleCheck(
        "sections", "Required sections complete", not missing,
        "All required sections are complete." if not missing else " ".join(missing),
    ))
    if closes_at is None or opens_at is None:
        deadline_ok, deadline_reason = False, "The call has no submission period."
    elif now < opens_at:
        deadline_ok, deadline_reason = False, "The call is not open yet."
    elif now >= closes_at:
        deadline_ok, deadline_reason = False, "The deadline has passed."
    else:
        deadline_ok, deadline_reason = True, "The call is open."
    checks.append(RuleCheck("deadline", "Before the deadline", deadline_ok, deadline_reason))
    return Verdict(tuple(checks))


def _cost_type_order(key: str) -> tuple[int, str]:
    order = list(COST_TYPES)
    return (order.index(key), key) if key in order else (len(order), key)


def snapshot_figures(snapshot: dict[str, Any]) -> dict[str, Any]:
    """Totals for display, from a snapshot (the live draft's or a frozen version's)."""
    by_kind = {kind.value: Decimal("0.00") for kind in ActivityKind}
    for activity in snapshot["activities"]:
        by_kind[activity["kind"]] = by_kind.get(activity["kind"], Decimal("0.00")) + activity["cost"]
    by_type: dict[str, Decimal] = {}
    for line in snapshot["budget_lines"]:
        by_type[line["cost_type"]] = by_type.get(line["cost_type"], Decimal("0.00")) + line["amount"]
    per_member: dict[Any, dict[str, Any]] = {}
    for commitment in snapshot["cofinancing"]:
        entry = per_member.setdefault(commitment["organisation_id"], {
            "name": commitment["organisation"], "cash": Decimal("0.00"), "in_kind": Decimal("0.00"),
        })
        entry["cash" if commitment["kind"] == CoFinancingKind.CASH else "in_kind"] += commitment["amount"]
    cash = sum((m["cash"] for m in per_member.values()), Decimal("0.00"))
    in_kind = sum((m["in_kind"] for m in per_member.values()), Decimal("0.00"))
    last_quarter = max((a["end_quarter"] for a in snapshot["activities"]), default=0)
    return {
        "by_kind": [(ActivityKind(kind).label, amount) for kind, amount in by_kind.items()],
        "activities_total": sum(by_kind.values(), Decimal("0.00")),
        "by_type": [(COST_TYPES.get(key, key), by_type[key]) for key in sorted(by_type, key=_cost_type_order)],
        "budget_total": snapshot["budget_total"],
        "per_member": sorted(per_member.values(), key=lambda m: m["name"]),
        "cash": cash, "in_kind": in_kind, "cofinancing_total": cash + in_kind,
        "quarters": list(range(1, min(max(last_quarter, 4), MAX_QUARTER) + 1)),
    }
