"""Matching grants on the initiative's page: each grant's position (tranches by status, matchable
co-financing, the limits of a tranche requested today, the funding request it came from) and the chart of
the external share per programme year."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from sqlalchemy import select

from programme.core.timezone import local_date
from programme.extensions import db
from programme.funding.domain import (
    ZERO,
    GrantPosition,
    Matchable,
    TrancheLimits,
    YearShare,
    current_year,
    external_share_by_year,
    programme_year,
)
from programme.funding.models import (
    CoFinancingContribution,
    ContributionStatus,
    Disbursement,
    DisbursementStatus,
    FundingRequest,
    Grant,
    GrantKind,
    Initiative,
)
from programme.funding.services.caps import matchable_of, tranche_limits
from programme.funding.services.disbursements import grant_position
from programme.funding.services.initiatives import started_on


@dataclass(frozen=True)
class MatchingPosition:
    """A matching grant on the initiative's page: its tranches by status, its matchable co-financing, the
    limits of a tranche requested today, and the funding request it came from."""

    grant: Grant
    position: GrantPosition
    matchable: Matchable
    limits: TrancheLimits | None
    request: FundingRequest | None


def matching_grants_of(initiative: Initiative) -> list[Grant]:
    return [g for g in initiative.grants if g.kind == GrantKind.MATCHING]


def matching_positions(initiative: Initiative, *, now: datetime, timezone: str) -> list[MatchingPosition]:
    today = local_date(now, timezone)
    requests = {r.grant_id: r for r in db.session.scalars(
        select(FundingRequest).where(FundingRequest.initiative_id == initiative.id,
                                     FundingRequest.grant_id.is_not(None)))}
    positions = []
    for grant in matching_grants_of(initiative):
        limits = (tranche_limits(grant, day=today, at_payment=False, timezone=timezone)
                  if today >= started_on(initiative, timezone) else None)
        positions.append(MatchingPosition(grant, grant_position(grant), matchable_of(grant, timezone=timezone),
                                          limits, requests.get(grant.id)))
    return positions


def share_chart(initiative: Initiative, *, now: datetime, timezone: str) -> list[YearShare]:
    """The chart of the initiative's page: per programme year, the schedule's cap and the external share
    actually paid (``domain.external_share_by_year``)."""
    start = started_on(initiative, timezone)
    schedule = initiative.call.rules.funding.external_share
    paid: dict[int, Decimal] = {}
    for value_date, amount in db.session.execute(
            select(Disbursement.value_date, Disbursement.amount).join(Grant, Grant.id == Disbursement.grant_id)
            .where(Disbursement.initiative_id == initiative.id, Grant.kind == GrantKind.MATCHING,
                   Disbursement.status == DisbursementStatus.PAID)):
        if value_date >= start:
            year = programme_year(start, value_date)
            paid[year] = paid.get(year, ZERO) + Decimal(amount)
    cofinancing: dict[int, Decimal] = {}
    for day, amount in db.session.execute(
            select(CoFinancingContribution.contributed_on, CoFinancingContribution.amount)
            .where(CoFinancingContribution.initiative_id == initiative.id,
                   CoFinancingContribution.status == ContributionStatus.VERIFIED)):
        if day >= start:
            year = programme_year(start, day)
            cofinancing[year] = cofinancing.get(year, ZERO) + Decimal(amount)
    today = local_date(now, timezone)
    current = current_year(start, today)
    return external_share_by_year(current_year=current, schedule_length=len(schedule.schedule),
                                  cap_for_year=schedule.cap_for_year, paid_by_year=paid,
                                  cofinancing_by_year=cofinancing)
