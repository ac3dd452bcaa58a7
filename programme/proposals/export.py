"""The Excel export of a call's submissions: one row per proposal, and sheets for budget lines,
activities, members and indicators, written in streaming mode from the frozen versions."""

from __future__ import annotations

import json
from typing import Any, BinaryIO

from programme.calls.models import Call
from programme.core.access import Actor, Role, require_role
from programme.core.spreadsheets import Money, StreamingWorkbook
from programme.core.timezone import to_local
from programme.proposals.domain import COST_TYPES, ActivityKind, CoFinancingKind, load_snapshot
from programme.proposals.services import iter_submissions
from programme.rulebook import ORGANISATION_TYPES

PROPOSALS = "Proposals"
BUDGET = "Budget lines"
ACTIVITIES = "Activities"
MEMBERS = "Members"
INDICATORS = "Indicators"


def write_submissions_workbook(call: Call, target: str | BinaryIO, *, actor: Actor, timezone: str) -> int:
    """Write every submitted proposal of the call (its newest version) to an .xlsx; returns how many."""
    require_role(actor, Role.PROGRAMME_MANAGER)
    cur = call.currency
    book = StreamingWorkbook()
    book.add_sheet(PROPOSALS, [
        "Reference", "Title", "Applicant group", "Status", "Eligible at submission", "Eligibility override",
        "Override reason", "Eligibility failures", "Members", "Firms", "Support institutions",
        f"Requested ({cur})", f"Budget total ({cur})", f"Co-financing cash ({cur})", f"Co-financing in kind ({cur})",
        f"Co-financing total ({cur})", "Version", f"Submitted ({timezone})", "Fingerprint",
    ], widths=[24, 40, 32, 12, 10, 12, 30, 40, 9, 7, 10, 14, 14, 14, 14, 14, 8, 17, 18])
    book.add_sheet(BUDGET, ["Reference", "Line", "Activity", "Cost type", "Description", f"Amount ({cur})"],
                   widths=[24, 6, 30, 26, 40, 14])
    book.add_sheet(ACTIVITIES, ["Reference", "Activity", "Kind", "First quarter", "Last quarter", f"Cost ({cur})"],
                   widths=[24, 36, 18, 8, 8, 14])
    book.add_sheet(MEMBERS, [
        "Reference", "Organisation", "Type", "Size class", "Sector", "Locality",
        f"Co-financing cash ({cur})", f"Co-financing in kind ({cur})",
    ], widths=[24, 36, 28, 10, 28, 20, 14, 14])
    book.add_sheet(INDICATORS, ["Reference", "Indicator", "Unit", "Baseline", "Target"], widths=[24, 40, 14, 12, 12])
    count = 0
    for row in iter_submissions(call, actor=actor):
        count += 1
        _write_proposal(book, row, timezone)
    book.save(target)
    return count


def _write_proposal(book: StreamingWorkbook, row: Any, timezone: str) -> None:
    ref = row.reference
    failures = [c["reason"] for c in json.loads(row.eligibility) if not c["passed"]]
    override = "" if row.override_eligible is None else ("eligible" if row.override_eligible else "ineligible")
    book.append(PROPOSALS, [
        ref, row.title, row.group_name, str(row.status), "yes" if row.eligible else "no", override,
        row.override_reason or "", " ".join(failures), row.members_count, row.firms_count, row.institutions_count,
        Money(row.requested_amount), Money(row.budget_total), Money(row.cofinancing_cash),
        Money(row.cofinancing_in_kind), Money(row.cofinancing_cash + row.cofinancing_in_kind), row.latest_version,
        to_local(row.submitted_at, timezone), row.content_sha256[:16],
    ])
    snapshot = load_snapshot(row.content)
    for number, line in enumerate(snapshot["budget_lines"], start=1):
        book.append(BUDGET, [ref, number, line["activity"], COST_TYPES.get(line["cost_type"], line["cost_type"]),
                             line["description"], Money(line["amount"])])
    for activity in snapshot["activities"]:
        book.append(ACTIVITIES, [ref, activity["title"], ActivityKind(activity["kind"]).label,
                                 activity["start_quarter"], activity["end_quarter"], Money(activity["cost"])])
    by_member: dict[int, dict[str, Any]] = {}
    for commitment in snapshot["cofinancing"]:
        totals = by_member.setdefault(commitment["organisation_id"], {"cash": 0, "in_kind": 0})
        key = "cash" if commitment["kind"] == CoFinancingKind.CASH else "in_kind"
        totals[key] += commitment["amount"]
    for member in snapshot["members"]:
        totals = by_member.get(member["id"], {"cash": 0, "in_kind": 0})
        book.append(MEMBERS, [ref, member["name"], ORGANISATION_TYPES.get(member["kind"], member["kind"]),
                              member["size_class"], member["sector"], member["locality"],
                              Money(totals["cash"]), Money(totals["in_kind"])])
    for indicator in snapshot["indicators"]:
        book.append(INDICATORS, [ref, indicator["name"], indicator["unit"], indicator["baseline"], indicator["target"]])
