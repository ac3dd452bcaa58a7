"""The limits of a facilitation-fund payment (``facilitation.ClaimLimits``): the rules' share of the claim's costs,
the fund's ceiling, the programme year's external-share cap and the overall cap per initiative, read from the rows
and checked when a claim is submitted and verified and when its tranche is approved and paid, always under the
lock on the initiative's row (the lock every cap check takes first)."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from sqlalchemy import select

from programme.core.access import RuleViolation
from programme.core.texts import gettext as _
from programme.extensions import db
from programme.funding.domain import ZERO
from programme.funding.facilitation import ClaimLimits, claim_refusal
from programme.funding.models import (
    Disbursement,
    DisbursementStatus,
    FacilitationClaim,
    Grant,
    GrantKind,
    Initiative,
)
from programme.funding.services._common import _lock_initiative
from programme.funding.services.caps import (
    _cofinancing_in,
    _held,
    _paid_matching_in,
    _year_bounds,
    programme_money_of,
)
from programme.funding.services.initiatives import year_of
from programme.rulebook.facilitation import Facilitation


def facilitation_rules(initiative: Initiative) -> Facilitation | None:
    """The facilitation fund of the initiative's call (``[funding.facilitation]``), or None when it has none."""
    return initiative.call.rules.funding.facilitation


def facilitation_grant(initiative: Initiative) -> Grant | None:
    """The initiative's facilitation grant (made when its first claim is verified), or None."""
    return db.session.scalar(select(Grant).where(Grant.initiative_id == initiative.id,
                                                 Grant.kind == GrantKind.FACILITATION))


def claim_limits(initiative: Initiative, *, costs: Decimal, costs_until: date, day: date, at_payment: bool,
                 timezone: str, excluding: Disbursement | None = None,
                 excluding_claim: FacilitationClaim | None = None) -> ClaimLimits:
    """The figures that limit a payment of a facilitation claim with costs ``costs`` dated ``day`` (today when
    the claim is submitted or verified or its tranche approved; the value date when it is paid), leaving out the
    claim's own tranche ``excluding`` and the claim itself ``excluding_claim``.

    P (the year's external money) and the overall cap are read as for a matching-grant tranche
    (``caps.tranche_limits``): tranches paid in the year, plus those requested or approved unless at payment; C
    is the members' own money of the year (verified co-financing and the own part of other verified claims); the
    claim's own part counts in it when its last cost (``costs_until``) is dated in the year."""
    rules = facilitation_rules(initiative)
    if rules is None:
        raise RuleViolation(_("The call of %(reference)s has no facilitation fund.", reference=initiative.reference))
    year = year_of(initiative, day, timezone)
    first, after = _year_bounds(initiative, year, timezone)
    programme_money = _paid_matching_in(initiative, first, after, excluding)
    if not at_payment:
        programme_money += _held(initiative, excluding=excluding, matching_only=True,
                                 statuses=(DisbursementStatus.REQUESTED, DisbursementStatus.APPROVED))
    grant = facilitation_grant(initiative)
    return ClaimLimits(
        currency=initiative.currency, costs=Decimal(costs), share=rules.share, ceiling=Decimal(rules.ceiling),
        fund_held=_held(initiative, grant=grant, excluding=excluding) if grant is not None else ZERO,
        year=year, year_cap=initiative.call.rules.funding.external_share.cap_for_year(year),
        year_programme=programme_money,
        year_own=_cofinancing_in(initiative, first, after, excluding_claim=excluding_claim),
        initiative_held=programme_money_of(initiative, excluding=excluding),
        overall_cap=Decimal(initiative.call.per_initiative_cap),
        costs_in_year=first <= costs_until < after,
    )


def refuse_over_claim_limits(initiative: Initiative, amount: Decimal, *, costs: Decimal, costs_until: date,
                             day: date, at_payment: bool, timezone: str, field: str | None,
                             excluding: Disbursement | None = None,
                             excluding_claim: FacilitationClaim | None = None) -> ClaimLimits:
    """Lock the initiative's row and refuse a payment of ``amount`` over any limit of ``claim_limits``."""
    _lock_initiative(initiative)
    try:
        limits = claim_limits(initiative, costs=costs, costs_until=costs_until, day=day, at_payment=at_payment,
                              timezone=timezone, excluding=excluding, excluding_claim=excluding_claim)
    except RuleViolation as error:
        raise RuleViolation(error.message, field="value_date" if at_payment else field) from None
    blocked = claim_refusal(amount, limits)
    if blocked:
        raise RuleViolation(blocked, field=field)
    return limits


def refuse_facilitation_tranche(d: Disbursement, *, day: date, at_payment: bool, timezone: str,
                                field: str | None) -> None:
    """The check of a facilitation-fund tranche when it is approved or paid (the disbursement flow calls this):
    its claim's limits again, on ``day``, leaving out the tranche and the claim themselves."""
    claim = db.session.scalar(select(FacilitationClaim).where(FacilitationClaim.disbursement_id == d.id))
    if claim is None:
        raise RuleViolation(_("Disbursement %(number)s pays no facilitation claim.", number=d.id))
    refuse_over_claim_limits(d.initiative, Decimal(d.amount), costs=Decimal(claim.costs),
                             costs_until=claim.costs_until, day=day,
                             at_payment=at_payment, timezone=timezone, field=field, excluding=d,
                             excluding_claim=claim)
