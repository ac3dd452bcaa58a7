"""Co-financing: the members' contributions to a matching grant, recorded with evidence by the group or a
fund administrator, and verified (Dr cofinancing_received, Cr member_contributions under
``cofinancing:<id>:verified``) or rejected by a fund administrator who did not record them."""

from __future__ import annotations

from datetime import date, datetime
from pathlib import Path
from typing import BinaryIO

from sqlalchemy import select
from sqlalchemy.orm import selectinload

from programme.core import audit
from programme.core.access import AccessDenied, Actor, NotFound, Role, RuleViolation, require_role
from programme.core.files import store_upload
from programme.core.texts import gettext as _
from programme.core.timezone import format_day, local_date
from programme.extensions import db
from programme.funding.models import (
    CoFinancingContribution,
    ContributionKind,
    ContributionStatus,
    Grant,
    GrantKind,
    Initiative,
)
from programme.funding.services._common import _acts_for_group, _amount, _refuse_if_closed, _text, _visible
from programme.funding.services.initiatives import started_on
from programme.ledger.models import AccountKind, LedgerError
from programme.ledger.posting import credit, debit, get_or_create_account, post_entry


def contributions_awaiting(*, actor: Actor) -> list[CoFinancingContribution]:
    """Co-financing recorded and not yet verified or rejected, oldest first (for the fund administrators)."""
    require_role(actor, Role.FUND_ADMINISTRATOR)
    return list(db.session.scalars(
        select(CoFinancingContribution).where(CoFinancingContribution.status == ContributionStatus.RECORDED)
        .options(selectinload(CoFinancingContribution.initiative))
        .order_by(CoFinancingContribution.recorded_at, CoFinancingContribution.id)))


def contributions_folder(upload_root: str | Path, initiative: Initiative) -> Path:
    return Path(upload_root) / "cofinancing" / str(initiative.id)


def contributions_of(initiative: Initiative, *, actor: Actor) -> list[CoFinancingContribution]:
    _visible(initiative, actor)
    return list(db.session.scalars(select(CoFinancingContribution)
                                   .where(CoFinancingContribution.initiative_id == initiative.id)
                                   .order_by(CoFinancingContribution.id)))


def get_contribution(contribution_id: int, *, actor: Actor) -> CoFinancingContribution:
    """One contribution; NotFound when missing or of an initiative the actor may not see."""
    found = db.session.get(CoFinancingContribution, contribution_id)
    if found is None or not found.can_view(actor):
        raise NotFound("no such contribution")
    return found


def may_record_contributions(initiative: Initiative, actor: Actor) -> bool:
    return _acts_for_group(initiative, actor) or actor.has_role(Role.FUND_ADMINISTRATOR)


def record_contribution(
    grant: Grant, *, kind: str, amount: object, contributed_on: date, description: str,
    contributor_id: int | None, stream: BinaryIO | None, filename: str | None, upload_root: str | Path,
    max_bytes: int, actor: Actor, now: datetime, timezone: str,
) -> CoFinancingContribution:
    """Record the members' contribution to one matching grant: cash, or in kind at a documented value, its
    date (from the initiative's start to today), what it is, optionally the member organisation that gave it,
    and an evidence file (required; checked and stored by ``core.files.store_upload`` under a name the user
    does not choose). An applicant of the initiative's group or a fund administrator records it; it counts
    only once verified, and only for this grant."""
    initiative = grant.initiative
    _visible(initiative, actor)
    if not may_record_contributions(initiative, actor):
        raise AccessDenied(_("only the initiative's group or a fund administrator records its co-financing"))
    if grant.kind != GrantKind.MATCHING:
        raise RuleViolation(_("Co-financing is recorded for a matching grant."), field="grant_id")
    _refuse_if_closed(initiative, "record co-financing")
    try:
        chosen = ContributionKind(kind)
    except ValueError:
        raise RuleViolation(_("Choose cash or in kind."), field="kind") from None
    value = _amount(amount, grant.currency, "amount")
    if not isinstance(contributed_on, date) or isinstance(contributed_on, datetime):
        raise RuleViolation(_("Give the date of the contribution."), field="contributed_on")
    start, today = started_on(initiative, timezone), local_date(now, timezone)
    if contributed_on < start:
        raise RuleViolation(_("%(day)s is before %(reference)s started on %(start)s.", day=format_day(contributed_on),
                              reference=initiative.reference, start=format_day(start)), field="contributed_on")
    if contributed_on > today:
        raise RuleViolation(_("%(day)s is in the future: record a contribution once it is made.",
                              day=format_day(contributed_on)), field="contributed_on")
    description = _text(description, "description", _("Say what the contribution is."), 5000)
    if contributor_id is not None and contributor_id not in {o.id for o in initiative.group.organisations}:
        raise RuleViolation(_("The contributor must be a member organisation of the group."), field="contributor_id")
    if stream is None or not filename:
        raise RuleViolation(_("Upload the evidence of the contribution."), field="file")
    stored = store_upload(stream, filename, contributions_folder(upload_root, initiative), max_bytes=max_bytes)
    made = CoFinancingContribution(
        initiative_id=initiative.id, grant_id=grant.id, kind=chosen, amount=value, currency=grant.currency,
        description=description, contributor_id=contributor_id, contributed_on=contributed_on,
        status=ContributionStatus.RECORDED, evidence_name=stored.original_name,
        evidence_stored_name=stored.stored_name, evidence_content_type=stored.content_type,
        evidence_size_bytes=stored.size_bytes, evidence_sha256=stored.sha256, recorded_by_id=actor.id,
        recorded_at=now,
    )
    db.session.add(made)
    db.session.flush()
    audit.record(db.session, actor, "funding.cofinancing_recorded", made, initiative=initiative.reference,
                 grant=grant.id, kind=chosen.value, amount=str(value), contributed_on=contributed_on.isoformat(),
                 evidence=stored.original_name, sha256=stored.sha256)
    return made


def _lock_contribution(contribution: CoFinancingContribution) -> CoFinancingContribution:
    return db.session.execute(
        select(CoFinancingContribution).where(CoFinancingContribution.id == contribution.id).with_for_update()
        .execution_options(populate_existing=True)).scalar_one()


def _judge_contribution(contribution: CoFinancingContribution, actor: Actor, verb: str) -> CoFinancingContribution:
    require_role(actor, Role.FUND_ADMINISTRATOR)
    _visible(contribution.initiative, actor)
    if actor.id is None:
        raise AccessDenied(_("to verify a contribution needs a named person") if verb == "verify"
                           else _("to reject a contribution needs a named person"))
    c = _lock_contribution(contribution)
    if c.recorded_by_id is not None and c.recorded_by_id == actor.id:
        raise AccessDenied(_("You recorded this contribution, so another fund administrator must verify it.")
                           if verb == "verify" else
                           _("You recorded this contribution, so another fund administrator must reject it."))
    return c


def verify_contribution(contribution: CoFinancingContribution, *, actor: Actor,
                        now: datetime) -> CoFinancingContribution:
    """A fund administrator who did not record it verifies a contribution: one journal entry (Dr
    cofinancing_received:initiative, Cr member_contributions:initiative, dated the day of the contribution)
    under the key ``cofinancing:<id>:verified``. From then on it counts for its grant. Verifying it again
    changes nothing; a rejected one cannot be verified."""
    c = _judge_contribution(contribution, actor, "verify")
    if c.status == ContributionStatus.VERIFIED:
        return c
    if c.status != ContributionStatus.RECORDED:
        raise RuleViolation(_("Contribution %(number)s is %(status)s; only a recorded contribution can be verified.",
                              number=c.id, status=c.status.label.lower()))
    initiative = c.initiative
    received = get_or_create_account(AccountKind.COFINANCING_RECEIVED, "initiative", initiative.id, c.currency)
    members = get_or_create_account(AccountKind.MEMBER_CONTRIBUTIONS, "initiative", initiative.id, c.currency)
    try:
        entry = post_entry(
            lines=[debit(received, c.amount), credit(members, c.amount)],
            description=(f"Co-financing of {initiative.reference} ({c.kind.english_label.lower()}): "
                         f"{c.description[:200]}"),
            value_date=c.contributed_on, idempotency_key=f"cofinancing:{c.id}:verified", actor=actor, source=c,
            now=now,
        )
    except LedgerError as error:
        raise RuleViolation(_("The contribution cannot be posted: %(error)s", error=error)) from None
    c.status = ContributionStatus.VERIFIED
    c.verified_by_id = actor.id
    c.verified_at = now
    c.journal_entry_id = entry.id
    db.session.flush()
    audit.record(db.session, actor, "funding.cofinancing_verified", c, initiative=initiative.reference,
                 grant=c.grant_id, amount=str(c.amount), journal_entry=entry.id)
    return c


def reject_contribution(contribution: CoFinancingContribution, *, reason: str, actor: Actor,
                        now: datetime) -> CoFinancingContribution:
    """A fund administrator who did not record it rejects a recorded contribution, with a reason; it never
    counts. A verified contribution is in the ledger and cannot be rejected."""
    reason = _text(reason, "reason", _("Give the reason for the rejection."), 2000)
    c = _judge_contribution(contribution, actor, "reject")
    if c.status != ContributionStatus.RECORDED:
        raise RuleViolation(_("Contribution %(number)s is %(status)s; only a recorded contribution can be rejected.",
                              number=c.id, status=c.status.label.lower()))
    c.status = ContributionStatus.REJECTED
    c.rejected_by_id = actor.id
    c.rejected_at = now
    c.rejection_reason = reason
    db.session.flush()
    audit.record(db.session, actor, "funding.cofinancing_rejected", c, initiative=c.initiative.reference,
                 amount=str(c.amount), reason=reason)
    return c
