"""Pure rules on a proposal's content: section completeness, the budget's checks and eligibility.

All work on a snapshot: the plain dictionary that `services.build_snapshot` makes
from the draft, and that a submitted version stores as JSON. No database; the texts people read (labels,
reasons) are written through Flask-Babel in the language being answered in (English outside the application).
"""

from __future__ import annotations

import enum
import json
from dataclasses import asdict, dataclass
from datetime import datetime
from decimal import ROUND_FLOOR, Decimal
from typing import Any

from programme.core.money import format_money, quantum
from programme.core.texts import N_, ngettext
from programme.core.texts import gettext as _
from programme.core.texts import lazy_gettext as _l
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
        return str(ACTIVITY_KINDS[self.value])


ACTIVITY_KINDS = {"facilitation": _l("Facilitation"), "practical": _l("Practical activity")}


#: Cost types of budget lines: facilitation costs first, then those of practical activities.
COST_TYPES: dict[str, Any] = {
    "facilitator_fees": _l("Facilitator fees"),
    "venues": _l("Venues and meetings"),
    "travel": _l("Travel"),
    "fact_finding": _l("Fact-finding and studies"),
    "fairs": _l("Trips to fairs and joint stands"),
    "training": _l("Training"),
    "testing": _l("Testing and certification"),
    "export_consortium": _l("Export consortium"),
    "shared_equipment": _l("Shared equipment"),
    "other": _l("Other"),
}


class CoFinancingKind(enum.StrEnum):
    CASH = "cash"
    IN_KIND = "in_kind"

    @property
    def label(self) -> str:
        return str(COFINANCING_KINDS[self.value])


COFINANCING_KINDS = {"cash": _l("Cash"), "in_kind": _l("In kind")}


#: The sections of a proposal, in the order an applicant fills them.
SECTIONS: dict[str, Any] = {
    "cluster": _l("The cluster"),
    "activities": _l("Objectives and first activities"),
    "budget": _l("Budget and co-financing"),
    "indicators": _l("Indicators of success"),
    "attachments": _l("Attachments"),
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
    asks = {
        "sector": _("Give the sector or value chain."), "territory": _("Give the territory."),
        "stage": _("Give the cluster's stage."), "main_problem": _("Give its main problem."),
        "market_failure": _("Give the market failure addressed."),
    }
    gaps["cluster"] = [ask for key, ask in asks.items() if not (cluster.get(key) or "").strip()]
    if not (snapshot["objectives"] or "").strip():
        gaps["activities"].append(_("Give the initiative's objectives."))
    if not snapshot["activities"]:
        gaps["activities"].append(_("Add at least one first activity."))
    if not snapshot["budget_lines"]:
        gaps["budget"].append(_("Add at least one budget line."))
    if snapshot["requested_amount"] is None:
        gaps["budget"].append(_("Give the amount requested from the programme."))
    if not snapshot["indicators"]:
        gaps["indicators"].append(_("Add at least one indicator of success."))
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


# The budget's checks ----------------------------------------------------------------------------------

#: What a page says when the amount requested or the costs are out of line: one wording for the server's messages
#: (beside the field, in the eligibility checklist, in a refused submission) and for the live ones the page's
#: script writes as the applicant types ({names} are amounts, filled in by ``check_budget`` or by the script).
BUDGET_MESSAGES: dict[str, str] = {
    "over_maximum": N_("{requested} requested is more than the call's start-up maximum of {maximum}."),
    "over_cap": N_("{requested} requested is more than the call's cap per initiative of {cap}."),
    "over_budget": N_("{requested} requested is more than the budget total of {budget}."),
    "over_share": N_("{requested} requested is more than {payable}, the {share} of the budget total of {budget} "
                    "that the programme may pay."),
    "lines_under": N_("The budget lines add up to {budget}, {difference} less than the {activities} the first "
                     "activities cost: the two totals must be equal."),
    "lines_over": N_("The budget lines add up to {budget}, {difference} more than the {activities} the first "
                    "activities cost: the two totals must be equal."),
}


def budget_messages() -> dict[str, str]:
    """``BUDGET_MESSAGES`` in the language being written (for the page's script, as JSON)."""
    return {key: _(message) for key, message in BUDGET_MESSAGES.items()}


@dataclass(frozen=True)
class BudgetLimits:
    """What limits a proposal's money, in the call's currency: the rules' start-up grant (its maximum, and the
    share of the budget total it may pay) and the call's cap per initiative."""

    currency: str
    startup_maximum: Decimal
    per_initiative_cap: Decimal
    startup_share: Decimal

    @classmethod
    def of(cls, rules: CallRules, *, per_initiative_cap: Decimal, currency: str) -> BudgetLimits:
        grant = rules.funding.startup_grant
        return cls(currency=currency, startup_maximum=grant.maximum, per_initiative_cap=per_initiative_cap,
                   startup_share=grant.share)

    @property
    def limit(self) -> Decimal:
        """The most a proposal may request: the lower of the start-up maximum and the cap per initiative."""
        return min(self.startup_maximum, self.per_initiative_cap)

    @property
    def share_text(self) -> str:
        """The start-up share as people write it: 1.0 is '100 %', 0.75 is '75 %'."""
        return f"{(self.startup_share * 100).normalize():f} %"

    def payable(self, budget_total: Decimal) -> Decimal:
        """The most of ``budget_total`` the start-up share lets the programme pay, down to the minor unit."""
        return (budget_total * self.startup_share).quantize(quantum(self.currency), rounding=ROUND_FLOOR)


@dataclass(frozen=True)
class BudgetCheck:
    """The budget of a snapshot against its limits: ``requested`` says why the amount requested is more than the
    call allows (empty when it is within, or when none is requested yet); ``costs`` why the budget lines and the
    first activities' costs disagree (empty when their totals are equal, or while there is no budget line to
    compare: the budget section asks for one). Each message names its figures."""

    limits: BudgetLimits
    requested_amount: Decimal | None
    budget_total: Decimal
    activities_total: Decimal
    lines: int
    requested: tuple[str, ...]
    costs: tuple[str, ...]

    @property
    def ok(self) -> bool:
        return not self.requested and not self.costs


def check_budget(snapshot: dict[str, Any], limits: BudgetLimits) -> BudgetCheck:
    """The amount requested against the lower of the start-up maximum and the cap per initiative, and against
    the share of the budget total the programme may pay; the budget lines' total against the first activities'
    costs, once there is a budget line. Exactly at a limit is within it; one cent over is not."""
    currency = limits.currency
    requested: Decimal | None = snapshot["requested_amount"]
    budget_total: Decimal = snapshot["budget_total"]
    activities_total = sum((a["cost"] for a in snapshot["activities"]), Decimal("0.00"))
    over: list[str] = []
    if requested is not None and requested > 0:
        figures = {
            "requested": format_money(requested, currency), "maximum": format_money(limits.startup_maximum, currency),
            "cap": format_money(limits.per_initiative_cap, currency), "budget": format_money(budget_total, currency),
            "payable": format_money(limits.payable(budget_total), currency), "share": limits.share_text,
        }
        if requested > limits.limit:
            key = "over_cap" if limits.per_initiative_cap < limits.startup_maximum else "over_maximum"
            over.append(_(BUDGET_MESSAGES[key]).format(**figures))
        if requested > budget_total * limits.startup_share:
            over.append(_(BUDGET_MESSAGES["over_budget" if limits.startup_share >= 1 else "over_share"])
                        .format(**figures))
    costs: list[str] = []
    if snapshot["budget_lines"] and budget_total != activities_total:
        costs.append(_(BUDGET_MESSAGES["lines_under" if budget_total < activities_total else "lines_over"]).format(
            budget=format_money(budget_total, currency), activities=format_money(activities_total, currency),
            difference=format_money(abs(budget_total - activities_total), currency),
        ))
    return BudgetCheck(limits=limits, requested_amount=requested, budget_total=budget_total,
                       activities_total=activities_total, lines=len(snapshot["budget_lines"]), requested=tuple(over),
                       costs=tuple(costs))


def _requested_check(budget: BudgetCheck) -> RuleCheck:
    limits, requested = budget.limits, budget.requested_amount
    label = _("Amount requested within the call's limits")
    if limits.limit == 0 and not requested:  # a stage of a staged call that awards no money (a concept note)
        return RuleCheck("requested_amount", label, True, _("This stage awards no money: nothing is requested."))
    if requested is None:
        return RuleCheck("requested_amount", label, False, _("No amount is requested from the programme yet."))
    if requested <= 0:
        return RuleCheck("requested_amount", label, False, _("The amount requested must be above zero."))
    if budget.requested:
        return RuleCheck("requested_amount", label, False, " ".join(budget.requested))

    def money(value: Decimal) -> str:
        return format_money(value, limits.currency)

    figures = {"requested": money(requested), "limit": money(limits.limit), "budget": money(budget.budget_total),
               "payable": money(limits.payable(budget.budget_total)), "share": limits.share_text}
    if limits.per_initiative_cap < limits.startup_maximum:
        if limits.startup_share >= 1:
            reason = _("%(requested)s is within the cap per initiative of %(limit)s and the budget total of "
                       "%(budget)s.", **figures)
        else:
            reason = _("%(requested)s is within the cap per initiative of %(limit)s and %(payable)s, the %(share)s "
                       "of the budget total the programme may pay.", **figures)
    elif limits.startup_share >= 1:
        reason = _("%(requested)s is within the start-up maximum of %(limit)s and the budget total of %(budget)s.",
                   **figures)
    else:
        reason = _("%(requested)s is within the start-up maximum of %(limit)s and %(payable)s, the %(share)s of the "
                   "budget total the programme may pay.", **figures)
    return RuleCheck("requested_amount", label, True, reason)


def _costs_check(budget: BudgetCheck) -> RuleCheck:
    label = _("Budget lines equal the first activities' costs")
    if budget.costs:
        return RuleCheck("costs", label, False, " ".join(budget.costs))
    if not budget.lines:
        return RuleCheck("costs", label, True, _("No budget line yet: the first activities' costs are compared with "
                                                 "the budget lines once there is one."))
    total = format_money(budget.budget_total, budget.limits.currency)
    return RuleCheck("costs", label, True,
                     _("The budget lines and the first activities' costs both add up to %(total)s.", total=total))


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
            "members", _("At least %(least)s member organisations", least=rule.min_members),
            len(members) >= rule.min_members,
            ngettext("The group has %(num)d member organisation; the call asks for at least %(least)s.",
                     "The group has %(num)d member organisations; the call asks for at least %(least)s.",
                     len(members), least=rule.min_members),
        ),
        RuleCheck(
            "firms", _("At least %(least)s firms", least=rule.min_firms), firms >= rule.min_firms,
            ngettext("The group has %(num)d firm; the call asks for at least %(least)s.",
                     "The group has %(num)d firms; the call asks for at least %(least)s.",
                     firms, least=rule.min_firms),
        ),
        RuleCheck(
            "support_institutions",
            _("At least %(least)s local support institution(s)", least=rule.min_support_institutions),
            institutions >= rule.min_support_institutions,
            ngettext("The group has %(num)d support institution; the call asks for at least %(least)s (a business "
                     "association, chamber, training provider, technology institute, university, local government, "
                     "bank or similar).",
                     "The group has %(num)d support institutions; the call asks for at least %(least)s (a business "
                     "association, chamber, training provider, technology institute, university, local government, "
                     "bank or similar).",
                     institutions, least=rule.min_support_institutions),
        ),
    ]
    allowed = set(rule.allowed_organisation_types)
    not_allowed = [m["name"] for m in members if m["kind"] not in allowed]
    checks.append(RuleCheck(
        "organisation_types", _("Only organisation types the call accepts"), not not_allowed,
        _("All members are of accepted types.") if not not_allowed else
        _("Not accepted by this call: %(names)s (accepted types: %(types)s).", names=", ".join(not_allowed),
          types=", ".join(str(ORGANISATION_TYPES[t]) for t in rule.allowed_organisation_types)),
    ))
    budget = check_budget(snapshot, BudgetLimits.of(rules, per_initiative_cap=per_initiative_cap, currency=currency))
    checks.append(_requested_check(budget))
    checks.append(_costs_check(budget))
    gaps = section_gaps(snapshot)
    missing = [f"{SECTIONS[key]}: {' '.join(gaps[key])}" for key in rule.required_sections if gaps.get(key)]
    checks.append(RuleCheck(
        "sections", _("Required sections complete"), not missing,
        _("All required sections are complete.") if not missing else " ".join(missing),
    ))
    if closes_at is None or opens_at is None:
        deadline_ok, deadline_reason = False, _("The call has no submission period.")
    elif now < opens_at:
        deadline_ok, deadline_reason = False, _("The call is not open yet.")
    elif now >= closes_at:
        deadline_ok, deadline_reason = False, _("The deadline has passed.")
    else:
        deadline_ok, deadline_reason = True, _("The call is open.")
    checks.append(RuleCheck("deadline", _("Before the deadline"), deadline_ok, deadline_reason))
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
        "by_type": [(str(COST_TYPES.get(key, key)), by_type[key]) for key in sorted(by_type, key=_cost_type_order)],
        "budget_total": snapshot["budget_total"],
        "per_member": sorted(per_member.values(), key=lambda m: m["name"]),
        "cash": cash, "in_kind": in_kind, "cofinancing_total": cash + in_kind,
        "quarters": list(range(1, min(max(last_quarter, 4), MAX_QUARTER) + 1)),
    }
