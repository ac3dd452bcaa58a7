"""The draft frozen: its whole content as plain values (the snapshot), its eligibility against the call's rules,
submitting it as a new numbered version, withdrawing a submitted proposal, and a submitted version."""

from __future__ import annotations

import hashlib
import json
from datetime import datetime
from decimal import Decimal
from typing import Any

from flask_babel import force_locale
from sqlalchemy import select

from programme.calls.models import CallStatus
from programme.core import audit
from programme.core.access import AccessDenied, Actor, NotFound, Role, RuleViolation
from programme.core.i18n import DEFAULT_LANGUAGE, current_language, speaking_to
from programme.core.notifications import notify
from programme.core.texts import gettext as _
from programme.extensions import db
from programme.proposals.domain import (
    BudgetCheck,
    BudgetLimits,
    CoFinancingKind,
    Verdict,
    check_budget,
    check_eligibility,
    dump_snapshot,
)
from programme.proposals.models import Proposal, ProposalStatus, ProposalVersion
from programme.proposals.services._common import _require_edit
from programme.rulebook import SUPPORT_INSTITUTION_TYPES


def build_snapshot(proposal: Proposal) -> dict[str, Any]:
    """The draft's whole content as plain values: what eligibility checks and a version freezes."""
    activity_titles = {a.id: a.title for a in proposal.activities}
    return {
        "title": proposal.title,
        "cluster": {
            "sector": proposal.sector, "territory": proposal.territory,
            "stage": proposal.stage.value if proposal.stage else "",
            "main_problem": proposal.main_problem, "market_failure": proposal.market_failure,
        },
        "objectives": proposal.objectives,
        "sustainability_plan": proposal.sustainability_plan,
        "activities": [
            {"id": a.id, "title": a.title, "kind": a.kind.value, "description": a.description,
             "start_quarter": a.start_quarter, "end_quarter": a.end_quarter, "cost": a.cost}
            for a in proposal.activities
        ],
        "budget_lines": [
            {"activity_id": line.activity_id, "activity": activity_titles.get(line.activity_id, ""),
             "cost_type": line.cost_type, "description": line.description, "amount": line.amount}
            for line in proposal.budget_lines
        ],
        "budget_total": sum((line.amount for line in proposal.budget_lines), Decimal("0.00")),
        "requested_amount": proposal.requested_amount,
        "cofinancing": [
            {"organisation_id": c.organisation_id, "organisation": c.organisation.name, "kind": c.kind.value,
             "amount": c.amount, "description": c.description}
            for c in proposal.cofinancing
        ],
        "indicators": [
            {"name": i.name, "unit": i.unit, "baseline": i.baseline, "target": i.target}
            for i in proposal.indicators
        ],
        "members": [
            {"id": o.id, "name": o.name, "kind": o.kind.value,
             "size_class": o.size_class.value if o.size_class else "", "sector": o.sector or "",
             "locality": o.locality}
            for o in proposal.group.organisations
        ],
        "attachments": [
            {"id": a.id, "kind": a.kind.value, "name": a.original_name, "size": a.size_bytes, "sha256": a.sha256,
             "content_type": a.content_type}
            for a in proposal.live_attachments
        ],
    }


def eligibility(proposal: Proposal, snapshot: dict[str, Any], now: datetime) -> Verdict:
    call = proposal.call
    return check_eligibility(
        snapshot, call.rules, per_initiative_cap=call.per_initiative_cap, currency=call.currency,
        opens_at=call.opens_at if call.status == CallStatus.OPEN else None, closes_at=call.closes_at, now=now,
    )


def budget_check(proposal: Proposal, snapshot: dict[str, Any] | None = None) -> BudgetCheck:
    """The draft's budget against the call's limits (``domain.check_budget``, the checks eligibility makes too):
    what the pages say beside the amount requested, the budget lines and the activities' costs."""
    call = proposal.call
    limits = BudgetLimits.of(call.rules, per_initiative_cap=call.per_initiative_cap, currency=call.currency)
    return check_budget(build_snapshot(proposal) if snapshot is None else snapshot, limits)


def live_eligibility(proposal: Proposal, now: datetime) -> Verdict:
    """The verdict on the draft as it is now, shown to the applicant on every page of the proposal."""
    return eligibility(proposal, build_snapshot(proposal), now)


def submit(proposal: Proposal, *, actor: Actor, now: datetime) -> ProposalVersion:
    """Freeze the draft as a new version. Only an eligible draft, only while the call is open, checked now."""
    _require_edit(proposal, actor)
    # Lock the proposal row: two submissions at once make two versions one after the other, never the same number.
    db.session.execute(select(Proposal.id).where(Proposal.id == proposal.id).with_for_update())
    db.session.refresh(proposal, attribute_names=["versions", "latest_version", "status"])
    if proposal.status not in (ProposalStatus.DRAFT, ProposalStatus.SUBMITTED):
        raise RuleViolation(_("This proposal is %(status)s: it cannot be submitted.",
                              status=proposal.status.label.lower()))
    call = proposal.call
    if not call.is_accepting(now):
        raise RuleViolation(
            _("The deadline has passed: the call no longer takes proposals.")
            if call.closes_at and now >= call.closes_at else _("This call is not open for proposals.")
        )
    snapshot = build_snapshot(proposal)
    verdict = eligibility(proposal, snapshot, now)
    if not verdict.eligible:
        raise RuleViolation(_("The proposal is not eligible yet: %(reasons)s",
                              reasons=" ".join(c.reason for c in verdict.failures)))
    if current_language() != DEFAULT_LANGUAGE:
        # The verdict the version keeps is a record, written in English whoever submits (``recorded_verdict``
        # gives it in the reader's language).
        with force_locale(DEFAULT_LANGUAGE):
            verdict = eligibility(proposal, snapshot, now)
    content = dump_snapshot(snapshot)
    number = (proposal.latest_version or 0) + 1
    members = snapshot["members"]
    kinds = [m["kind"] for m in members]
    cash = sum((c["amount"] for c in snapshot["cofinancing"] if c["kind"] == CoFinancingKind.CASH), Decimal("0.00"))
    in_kind = sum((c["amount"] for c in snapshot["cofinancing"] if c["kind"] == CoFinancingKind.IN_KIND),
                  Decimal("0.00"))
    version = ProposalVersion(
        number=number, submitted_at=now, submitted_by_id=actor.id, content=content,
        content_sha256=hashlib.sha256(content.encode("utf-8")).hexdigest(),
        eligibility=json.dumps(verdict.as_json()), eligible=verdict.eligible,
        members_count=len(members), firms_count=kinds.count("firm"),
        institutions_count=sum(1 for k in kinds if k in SUPPORT_INSTITUTION_TYPES),
        # A stage that awards no money (a concept note) asks for no amount: zero is recorded.
        requested_amount=snapshot["requested_amount"] or Decimal("0.00"), budget_total=snapshot["budget_total"],
        cofinancing_cash=cash, cofinancing_in_kind=in_kind,
    )
    proposal.versions.append(version)
    proposal.latest_version = number
    proposal.status = ProposalStatus.SUBMITTED
    proposal.submitted_at = now
    if proposal.reference is None:
        proposal.reference = f"{call.reference}-P{proposal.id:05d}"
    db.session.flush()
    audit.record(db.session, actor, "proposal.submitted", proposal, version=number, sha256=version.content_sha256)
    for group_user in proposal.group.users:
        with speaking_to(group_user.user):
            subject = _("Proposal %(reference)s received (version %(number)s)", reference=proposal.reference,
                        number=number)
            body = _("The proposal '%(title)s' of %(group)s to %(call)s was submitted as version %(number)s by "
                     "%(actor)s. Reference: %(reference)s. Fingerprint of the submitted content: %(fingerprint)s.",
                     title=proposal.title, group=proposal.group.name, call=call.name, number=number,
                     actor=actor.actor_label, reference=proposal.reference,
                     fingerprint=version.content_sha256[:16])
        notify(db.session, email=group_user.user.email, user_id=group_user.user_id, subject=subject, body=body)
    return version


def withdraw(proposal: Proposal, *, reason: str, actor: Actor, now: datetime) -> None:
    """The group withdraws a submitted proposal before the call is decided."""
    if not proposal.is_group_user(actor) or not actor.has_role(Role.APPLICANT):
        raise AccessDenied(_("only the people acting for the group withdraw its proposal"))
    if proposal.status in (ProposalStatus.DRAFT, ProposalStatus.WITHDRAWN):
        raise RuleViolation(_("Only a submitted proposal can be withdrawn."))
    if proposal.call.status == CallStatus.DECIDED:
        raise RuleViolation(_("The call is decided: the proposal can no longer be withdrawn."))
    proposal.status = ProposalStatus.WITHDRAWN
    proposal.withdrawn_at, proposal.withdrawal_reason = now, reason.strip()
    proposal.call.touch_results()  # a withdrawn proposal leaves the ranking of a call in review
    audit.record(db.session, actor, "proposal.withdrawn", proposal, reason=reason.strip())


def recorded_verdict(proposal: Proposal, version: ProposalVersion) -> Verdict:
    """The verdict a submitted version keeps (a record, in English), in the reader's language: worked out again
    from the version's frozen content, the call's rules and the moment it was submitted, when that gives exactly the
    verdict recorded; else the record as it is."""
    recorded = version.verdict
    if current_language() == DEFAULT_LANGUAGE:
        return recorded
    call = proposal.call

    def again() -> Verdict:
        return check_eligibility(version.snapshot, call.rules, per_initiative_cap=call.per_initiative_cap,
                                 currency=call.currency, opens_at=call.opens_at, closes_at=call.closes_at,
                                 now=version.submitted_at)

    try:
        with force_locale(DEFAULT_LANGUAGE):
            same = again().as_json() == recorded.as_json()
        return again() if same else recorded
    except Exception:  # noqa: BLE001 - a record that cannot be worked out again is shown as recorded
        return recorded


def get_version(proposal: Proposal, number: int) -> ProposalVersion:
    version = next((v for v in proposal.versions if v.number == number), None)
    if version is None:
        raise NotFound()
    return version
