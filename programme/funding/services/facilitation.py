"""The facilitation fund (seed 003, section 8): the group's lead claims the facilitation costs of the initiative's
first months (a facilitator's time, venues, catering, transport, fact-finding research: the kinds the rules make
eligible), each cost with its date, amount and evidence; a fund administrator who did not submit the claim verifies
it, which requests a tranche of the initiative's facilitation grant for the claim's payment, or refuses it with a
reason. The tranche is then approved by another person and paid through the disbursement flow
(``disbursements.approve_disbursement``, ``record_payment``: Dr grants_paid:initiative, Cr programme_budget:call),
which checks the claim's limits again (``facilitation_caps``).

Verifying a verified claim again changes nothing; two administrators verifying at once are serialised by the lock
on the initiative's row, taken first as by every cap check."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from typing import BinaryIO

from flask_babel import force_locale
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from programme.accounts.models import GroupRole, User
from programme.core import audit
from programme.core.access import (
    AccessDenied,
    Actor,
    NotFound,
    Role,
    RuleViolation,
    require_role,
    require_second_person,
)
from programme.core.files import store_upload
from programme.core.money import format_number
from programme.core.texts import gettext as _
from programme.core.timezone import format_day, local_date
from programme.extensions import db
from programme.funding.domain import ZERO
from programme.funding.facilitation import FundPosition, claim_refusal, cost_day_refusal, months_left, window_ends
from programme.funding.models import (
    HOLDING,
    ClaimStatus,
    Disbursement,
    DisbursementStatus,
    FacilitationClaim,
    FacilitationCostItem,
    Grant,
    GrantKind,
    Initiative,
    cost_kind_label,
)
from programme.funding.services._common import _amount, _lock_initiative, _refuse_if_closed, _text, _visible
from programme.funding.services.facilitation_caps import (
    claim_limits,
    facilitation_grant,
    facilitation_rules,
    refuse_over_claim_limits,
)
from programme.funding.services.initiatives import started_on

#: The most cost items one claim lists.
MAX_ITEMS = 20


@dataclass(frozen=True)
class CostItemInput:
    """One cost as typed on the claim form (row ``row`` of the form, counted from 0): its kind, what it was, its
    date, its amount and its evidence file."""

    row: int
    kind: str | None
    description: str | None
    incurred_on: date | None
    amount: object
    stream: BinaryIO | None = None
    filename: str | None = None

    @property
    def blank(self) -> bool:
        """A row left empty (its kind aside, which the form always sends): not a cost."""
        return (not (self.description or "").strip() and self.incurred_on is None
                and (self.amount is None or not str(self.amount).strip()) and not self.filename)


def claims_folder(upload_root: str | Path, initiative: Initiative) -> Path:
    return Path(upload_root) / "facilitation" / str(initiative.id)


def may_claim(initiative: Initiative, actor: Actor) -> bool:
    """The lead of the initiative's group (an applicant) claims on the facilitation fund, when the call has one."""
    return (facilitation_rules(initiative) is not None and actor.has_role(Role.APPLICANT)
            and initiative.group.role_of(actor) == GroupRole.LEAD)


def claims_of(initiative: Initiative, *, actor: Actor) -> list[FacilitationClaim]:
    _visible(initiative, actor)
    return list(db.session.scalars(
        select(FacilitationClaim).where(FacilitationClaim.initiative_id == initiative.id)
        .options(selectinload(FacilitationClaim.items), selectinload(FacilitationClaim.disbursement))
        .order_by(FacilitationClaim.id)))


def get_claim(claim_id: int, *, actor: Actor) -> FacilitationClaim:
    """One claim; NotFound when missing or of an initiative the actor may not see."""
    found = db.session.get(FacilitationClaim, claim_id)
    if found is None or not found.can_view(actor):
        raise NotFound("no such claim")
    return found


def get_claim_item(claim: FacilitationClaim, item_id: int) -> FacilitationCostItem:
    """One cost item of the claim; NotFound for an item of another claim."""
    item = next((i for i in claim.items if i.id == item_id), None)
    if item is None:
        raise NotFound("no such cost item")
    return item


def facilitation_position(initiative: Initiative, *, now: datetime, timezone: str) -> FundPosition | None:
    """The initiative's facilitation fund (``facilitation.FundPosition``), or None when its call has none."""
    rules = facilitation_rules(initiative)
    if rules is None:
        return None
    costs_claimed = claimed = paid = held = ZERO
    for claim in db.session.scalars(select(FacilitationClaim).where(
            FacilitationClaim.initiative_id == initiative.id, FacilitationClaim.status != ClaimStatus.REFUSED)):
        costs_claimed += Decimal(claim.costs)
        claimed += Decimal(claim.amount)
    grant = facilitation_grant(initiative)
    if grant is not None:
        for status, amount in db.session.execute(select(Disbursement.status, Disbursement.amount)
                                                 .where(Disbursement.grant_id == grant.id)):
            if DisbursementStatus(status) in HOLDING:
                held += Decimal(amount)
            if DisbursementStatus(status) == DisbursementStatus.PAID:
                paid += Decimal(amount)
    start, today = started_on(initiative, timezone), local_date(now, timezone)
    return FundPosition(ceiling=Decimal(rules.ceiling), share=rules.share, costs_claimed=costs_claimed,
                        claimed=claimed, paid=paid, held=held, window_ends=window_ends(start, rules.months),
                        months_left=months_left(start, rules.months, today))


def _checked_items(initiative: Initiative, items: list[CostItemInput], *, start: date,
                   today: date) -> list[tuple[CostItemInput, str, str, Decimal]]:
    """The filled rows, each checked (its kind among the rules' kinds, what it was, its date in the fund's window,
    its amount, its evidence), with its kind, description and amount; a refusal names the row's field."""
    rules = facilitation_rules(initiative)
    assert rules is not None
    filled = [i for i in items if not i.blank]
    if not filled:
        raise RuleViolation(_("List at least one cost, with its kind, date, amount and evidence."),
                            field="items-0-description")
    if len(filled) > MAX_ITEMS:
        raise RuleViolation(_("A claim lists at most %(most)s costs.", most=MAX_ITEMS))
    checked = []
    for item in filled:
        row, n = item.row, item.row + 1
        kind = (item.kind or "").strip()
        if kind not in rules.cost_kinds:
            raise RuleViolation(_("Cost %(number)s: choose one of the kinds the fund pays (%(kinds)s).", number=n,
                                  kinds=", ".join(cost_kind_label(k).lower() for k in rules.cost_kinds)),
                                field=f"items-{row}-kind")
        description = _text(item.description, f"items-{row}-description",
                            _("Cost %(number)s: say what the cost was.", number=n), 2000)
        if not isinstance(item.incurred_on, date) or isinstance(item.incurred_on, datetime):
            raise RuleViolation(_("Cost %(number)s: give the date of the cost.", number=n),
                                field=f"items-{row}-incurred_on")
        refused = cost_day_refusal(item.incurred_on, start=start, months=rules.months, today=today)
        if refused:
            raise RuleViolation(_("Cost %(number)s: %(refusal)s", number=n, refusal=refused),
                                field=f"items-{row}-incurred_on")
        try:
            amount = _amount(item.amount, initiative.currency, f"items-{row}-amount")
        except RuleViolation as error:
            raise RuleViolation(_("Cost %(number)s: %(refusal)s", number=n, refusal=error.message),
                                field=error.field) from None
        if item.stream is None or not item.filename:
            raise RuleViolation(_("Cost %(number)s: upload the evidence of this cost (an invoice, a receipt, a "
                                  "contract).", number=n), field=f"items-{row}-file")
        checked.append((item, kind, description, amount))
    return checked


def submit_claim(initiative: Initiative, *, items: list[CostItemInput], amount: object, note: str,
                 upload_root: str | Path, max_bytes: int, actor: Actor, now: datetime,
                 timezone: str) -> FacilitationClaim:
    """The group's lead claims facilitation costs: each cost of an eligible kind, dated in the fund's window (from
    the initiative's start for the rules' months, not after today), with its amount and evidence (checked and
    stored by ``core.files.store_upload``). ``amount`` is the payment asked; left empty, the most every limit
    allows today. It must fit the limits of ``facilitation_caps`` (share, ceiling, the year's external share, the
    overall cap); a fund administrator checks them again when verifying."""
    _visible(initiative, actor)
    if facilitation_rules(initiative) is None:
        raise NotFound("this initiative's call has no facilitation fund")
    if not may_claim(initiative, actor):
        raise AccessDenied(_("only the lead of the initiative's group claims on its facilitation fund"))
    _refuse_if_closed(initiative, "claim on the facilitation fund")
    start, today = started_on(initiative, timezone), local_date(now, timezone)
    if today < start:
        raise RuleViolation(_("%(reference)s starts on %(day)s: claim once it has started.",
                              reference=initiative.reference, day=format_day(start)))
    checked = _checked_items(initiative, items, start=start, today=today)
    costs = sum((a for *_rest, a in checked), ZERO)
    costs_until = max(i.incurred_on for i, *_rest in checked)
    note = (note or "").strip()
    if len(note) > 5000:
        raise RuleViolation(_("Write at most %(limit)s characters.", limit=format_number(Decimal(5000), 0)),
                            field="note")
    _lock_initiative(initiative)
    if amount is None or (isinstance(amount, str) and not amount.strip()):
        limits = claim_limits(initiative, costs=costs, costs_until=costs_until, day=today, at_payment=False,
                              timezone=timezone)
        asked = limits.most
        if asked <= 0:
            blocked = claim_refusal(Decimal("0.01"), limits) or _("The facilitation fund can pay nothing more.")
            raise RuleViolation(blocked, field="amount")
    else:
        asked = _amount(amount, initiative.currency, "amount")
        refuse_over_claim_limits(initiative, asked, costs=costs, costs_until=costs_until, day=today,
                                 at_payment=False, timezone=timezone, field="amount")
    folder = claims_folder(upload_root, initiative)
    stored = []
    try:
        for item, *_rest in checked:
            try:
                stored.append(store_upload(item.stream, item.filename, folder, max_bytes=max_bytes))
            except RuleViolation as error:
                raise RuleViolation(_("Cost %(number)s: %(refusal)s", number=item.row + 1, refusal=error.message),
                                    field=f"items-{item.row}-file") from None
    except RuleViolation:
        for file in stored:  # nothing is kept of a refused claim
            (folder / file.stored_name).unlink(missing_ok=True)
        raise
    claim = FacilitationClaim(
        initiative_id=initiative.id, currency=initiative.currency, costs=costs, amount=asked,
        costs_from=min(i.incurred_on for i, *_rest in checked), costs_until=costs_until,
        note=note, status=ClaimStatus.SUBMITTED, submitted_by_id=actor.id, submitted_at=now)
    for position, ((item, kind, description, value), file) in enumerate(zip(checked, stored, strict=True), start=1):
        claim.items.append(FacilitationCostItem(
            position=position, kind=kind, description=description, incurred_on=item.incurred_on, amount=value,
            evidence_name=file.original_name, evidence_stored_name=file.stored_name,
            evidence_content_type=file.content_type, evidence_size_bytes=file.size_bytes,
            evidence_sha256=file.sha256))
    db.session.add(claim)
    db.session.flush()
    audit.record(db.session, actor, "funding.facilitation_claim_submitted", claim, initiative=initiative.reference,
                 costs=str(costs), amount=str(asked), items=len(checked),
                 evidence=[f.sha256 for f in stored])
    return claim


def _lock_claim(claim: FacilitationClaim) -> FacilitationClaim:
    return db.session.execute(
        select(FacilitationClaim).where(FacilitationClaim.id == claim.id).with_for_update()
        .execution_options(populate_existing=True)).scalar_one()


def _judge(claim: FacilitationClaim, actor: Actor, verb: str) -> FacilitationClaim:
    """The claim locked for a fund administrator who is not its submitter (two real people), after the lock on
    the initiative's row (the order every cap check takes its locks in)."""
    require_role(actor, Role.FUND_ADMINISTRATOR)
    _visible(claim.initiative, actor)
    if actor.id is None:
        raise AccessDenied(_("to verify a claim needs a named person") if verb == "verify"
                           else _("to refuse a claim needs a named person"))
    _lock_initiative(claim.initiative)
    c = _lock_claim(claim)
    submitter = db.session.get(User, c.submitted_by_id) if c.submitted_by_id is not None else None
    if submitter is not None and submitter.id == actor.id:
        raise AccessDenied(_("You submitted this claim, so another fund administrator must verify it.")
                           if verb == "verify" else
                           _("You submitted this claim, so another fund administrator must refuse it."))
    require_second_person(submitter, actor, _("claim %(number)s", number=c.id))
    return c


def verify_claim(claim: FacilitationClaim, *, actor: Actor, now: datetime, timezone: str) -> FacilitationClaim:
    """A fund administrator who did not submit it verifies a claim against its evidence: its payment must still fit
    every limit today; the initiative's facilitation grant is committed (once, at the rules' ceiling) and a tranche
    of the claim's amount is requested under the administrator's name, for another person to approve and a fund
    administrator to pay. Verifying a verified claim again changes nothing; a refused one cannot be verified."""
    c = _judge(claim, actor, "verify")
    if c.status == ClaimStatus.VERIFIED:
        return c
    if c.status != ClaimStatus.SUBMITTED:
        raise RuleViolation(_("Claim %(number)s is %(status)s; only a submitted claim can be verified.", number=c.id,
                              status=c.status.label.lower()))
    initiative = c.initiative
    _refuse_if_closed(initiative, "be paid from the facilitation fund")
    today = local_date(now, timezone)
    refuse_over_claim_limits(initiative, Decimal(c.amount), costs=Decimal(c.costs), costs_until=c.costs_until,
                             day=today, at_payment=False, timezone=timezone, field=None, excluding_claim=c)
    rules = facilitation_rules(initiative)
    assert rules is not None
    grant = facilitation_grant(initiative)
    if grant is None:
        grant = Grant(initiative_id=initiative.id, kind=GrantKind.FACILITATION, committed=Decimal(rules.ceiling),
                      currency=initiative.currency, external_share=rules.share,
                      basis="Facilitation fund: a share of the facilitation costs of the first months, paid "
                            "against verified claims.", committed_at=now, committed_by_id=actor.id)
        db.session.add(grant)
        db.session.flush()
    with force_locale("en"):  # the tranche's purpose is a record: in English, as every record
        purpose = f"Facilitation claim {c.id}: costs of {format_day(c.costs_from)} to {format_day(c.costs_until)}"
    d = Disbursement(initiative_id=initiative.id, grant_id=grant.id, amount=c.amount, currency=c.currency,
                     purpose=purpose,
                     status=DisbursementStatus.REQUESTED, requested_by_id=actor.id, requested_at=now)
    db.session.add(d)
    db.session.flush()
    c.status = ClaimStatus.VERIFIED
    c.verified_by_id = actor.id
    c.verified_at = now
    c.grant_id = grant.id
    c.disbursement_id = d.id
    db.session.flush()
    audit.record(db.session, actor, "funding.disbursement_requested", d, initiative=initiative.reference,
                 grant=grant.kind.value, amount=str(d.amount), purpose=d.purpose)
    audit.record(db.session, actor, "funding.facilitation_claim_verified", c, initiative=initiative.reference,
                 amount=str(c.amount), costs=str(c.costs), disbursement=d.id)
    return c


def refuse_claim(claim: FacilitationClaim, *, reason: str, actor: Actor, now: datetime) -> FacilitationClaim:
    """A fund administrator who did not submit it refuses a submitted claim, with a reason; it never counts."""
    reason = _text(reason, "reason", _("Give the reason for refusing the claim."), 2000)
    c = _judge(claim, actor, "refuse")
    if c.status != ClaimStatus.SUBMITTED:
        raise RuleViolation(_("Claim %(number)s is %(status)s; only a submitted claim can be refused.", number=c.id,
                              status=c.status.label.lower()))
    c.status = ClaimStatus.REFUSED
    c.refused_by_id = actor.id
    c.refused_at = now
    c.refusal_reason = reason
    db.session.flush()
    audit.record(db.session, actor, "funding.facilitation_claim_refused", c, initiative=c.initiative.reference,
                 amount=str(c.amount), reason=reason)
    return c
