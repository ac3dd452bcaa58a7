"""The Excel export of a call's submissions: one row per proposal, and sheets for budget lines,
activities, members and indicators, written in streaming mode from the frozen versions."""

from __future__ import annotations

import json
from typing import Any, BinaryIO, NamedTuple

from programme.calls.models import Call
from programme.core.access import Actor, Role, require_role
from programme.core.spreadsheets import Money, StreamingWorkbook
from programme.core.texts import gettext as _
from programme.core.texts import lazy_gettext as _l
from programme.core.timezone import to_local
from programme.proposals.domain import COST_TYPES, ActivityKind, CoFinancingKind, load_snapshot
from programme.proposals.services import iter_submissions
from programme.rulebook import ORGANISATION_TYPES

#: The sheets, by their titles (written in the language of whoever asks for the export).
PROPOSALS = _l("Proposals")
BUDGET = _l("Budget lines")
ACTIVITIES = _l("Activities")
MEMBERS = _l("Members")
INDICATORS = _l("Indicators")


def write_submissions_workbook(call: Call, target: str | BinaryIO, *, actor: Actor, timezone: str) -> int:
    """Write every submitted proposal of the call (its newest version) to an .xlsx; returns how many."""
    require_role(actor, Role.PROGRAMME_MANAGER)
    cur = call.currency
    book = StreamingWorkbook()
    sheets = _Sheets(str(PROPOSALS), str(BUDGET), str(ACTIVITIES), str(MEMBERS), str(INDICATORS))
    reference = _("Reference")
    book.add_sheet(sheets.proposals, [
        reference, _("Title"), _("Applicant group"), _("Status"), _("Eligible at submission"),
        _("Eligibility override"), _("Override reason"), _("Eligibility failures"), _("Members"), _("Firms"),
        _("Support institutions"), _("Requested (%(currency)s)", currency=cur),
        _("Budget total (%(currency)s)", currency=cur), _("Co-financing cash (%(currency)s)", currency=cur),
        _("Co-financing in kind (%(currency)s)", currency=cur), _("Co-financing total (%(currency)s)", currency=cur),
        _("Version"), _("Submitted (%(zone)s)", zone=timezone), _("Fingerprint"),
    ], widths=[24, 40, 32, 12, 10, 12, 30, 40, 9, 7, 10, 14, 14, 14, 14, 14, 8, 17, 18])
    book.add_sheet(sheets.budget, [reference, _("Line"), _("Activity"), _("Cost type"), _("Description"),
                                   _("Amount (%(currency)s)", currency=cur)], widths=[24, 6, 30, 26, 40, 14])
    book.add_sheet(sheets.activities, [reference, _("Activity"), _("Kind"), _("First quarter"), _("Last quarter"),
                                       _("Cost (%(currency)s)", currency=cur)], widths=[24, 36, 18, 8, 8, 14])
    book.add_sheet(sheets.members, [
        reference, _("Organisation"), _("Type"), _("Size class"), _("Sector"), _("Locality"),
        _("Co-financing cash (%(currency)s)", currency=cur), _("Co-financing in kind (%(currency)s)", currency=cur),
    ], widths=[24, 36, 28, 10, 28, 20, 14, 14])
    book.add_sheet(sheets.indicators, [reference, _("Indicator"), _("Unit"), _("Baseline"), _("Target")],
                   widths=[24, 40, 14, 12, 12])
    count = 0
    for row in iter_submissions(call, actor=actor):
        count += 1
        _write_proposal(book, sheets, row, timezone)
    book.save(target)
    return count


class _Sheets(NamedTuple):
    """The sheets' titles, in the language of the export."""

    proposals: str
    budget: str
    activities: str
    members: str
    indicators: str


def _write_proposal(book: StreamingWorkbook, sheets: _Sheets, row: Any, timezone: str) -> None:
    ref = row.reference
    failures = [c["reason"] for c in json.loads(row.eligibility) if not c["passed"]]
    override = "" if row.override_eligible is None else (_("eligible") if row.override_eligible else _("ineligible"))
    book.append(sheets.proposals, [
        ref, row.title, row.group_name, str(row.status), _("yes") if row.eligible else _("no"), override,
        row.override_reason or "", " ".join(failures), row.members_count, row.firms_count, row.institutions_count,
        Money(row.requested_amount), Money(row.budget_total), Money(row.cofinancing_cash),
        Money(row.cofinancing_in_kind), Money(row.cofinancing_cash + row.cofinancing_in_kind), row.latest_version,
        to_local(row.submitted_at, timezone), row.content_sha256[:16],
    ])
    snapshot = load_snapshot(row.content)
    for number, line in enumerate(snapshot["budget_lines"], start=1):
        book.append(sheets.budget, [ref, number, line["activity"],
                                    str(COST_TYPES.get(line["cost_type"], line["cost_type"])), line["description"],
                                    Money(line["amount"])])
    for activity in snapshot["activities"]:
        book.append(sheets.activities, [ref, activity["title"], ActivityKind(activity["kind"]).label,
                                        activity["start_quarter"], activity["end_quarter"], Money(activity["cost"])])
    by_member: dict[int, dict[str, Any]] = {}
    for commitment in snapshot["cofinancing"]:
        totals = by_member.setdefault(commitment["organisation_id"], {"cash": 0, "in_kind": 0})
        key = "cash" if commitment["kind"] == CoFinancingKind.CASH else "in_kind"
        totals[key] += commitment["amount"]
    for member in snapshot["members"]:
        totals = by_member.get(member["id"], {"cash": 0, "in_kind": 0})
        book.append(sheets.members, [ref, member["name"], str(ORGANISATION_TYPES.get(member["kind"], member["kind"])),
                                     member["size_class"], member["sector"], member["locality"],
                                     Money(totals["cash"]), Money(totals["in_kind"])])
    for indicator in snapshot["indicators"]:
        book.append(sheets.indicators, [ref, indicator["name"], indicator["unit"], indicator["baseline"],
                                        indicator["target"]])
