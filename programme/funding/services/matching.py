"""Matching grants on the initiative's page: each grant's position (tranches by status, matchable
co-financing, the limits of a tranche requested today, the funding request it came from) and the chart of
the external share per programme year."""

from __future__ import annotations

from collections.abc import Hashable
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from sqlalchemy import select

from programme.accounts.models import User
from programme.core.kept import Kept, database_key
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
    EXTERNAL_SHARE_KINDS,
    CoFinancingContribution,
    ContributionStatus,
    Disbursement,
    DisbursementStatus,
    FundingRequest,
    Grant,
    GrantKind,
    Initiative,
)
from programme.funding.services.caps import facilitation_own_parts, matchable_of, tranche_limits
from programme.funding.services.disbursements import grant_position, paid_from_ledger
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
    actually paid (``domain.external_share_by_year``): matching and facilitation tranches paid against them and
    the members' own money (verified co-financing, their own part of verified facilitation claims)."""
    start = started_on(initiative, timezone)
    schedule = initiative.call.rules.funding.external_share
    paid: dict[int, Decimal] = {}
    for value_date, amount in db.session.execute(
            select(Disbursement.value_date, Disbursement.amount).join(Grant, Grant.id == Disbursement.grant_id)
            .where(Disbursement.initiative_id == initiative.id, Grant.kind.in_(EXTERNAL_SHARE_KINDS),
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
    for _, day, amount in facilitation_own_parts([initiative.id], since=start):
        year = programme_year(start, day)
        cofinancing[year] = cofinancing.get(year, ZERO) + amount
    today = local_date(now, timezone)
    current = current_year(start, today)
    return external_share_by_year(current_year=current, schedule_length=len(schedule.schedule),
                                  cap_for_year=schedule.cap_for_year, paid_by_year=paid,
                                  cofinancing_by_year=cofinancing)


# What the initiative's page reads of its money, kept per data version ----------------------------------------


@dataclass(frozen=True)
class MatchingFigures:
    """A matching grant's figures on the initiative's page (its grant and request are the page's own rows)."""

    grant_id: int
    position: GrantPosition
    matchable: Matchable
    limits: TrancheLimits | None


@dataclass(frozen=True)
class InitiativeFigures:
    """The figures of the initiative's page that are the same for every reader: the start-up grant's position,
    what the ledger says was paid, each matching grant's figures and the external share per programme year."""

    startup: GrantPosition | None
    ledger_paid: Decimal
    matching: tuple[MatchingFigures, ...]
    share_rows: tuple[YearShare, ...]


#: The figures per database, data version, initiative, day and time zone.
_figures_kept: Kept[InitiativeFigures] = Kept(64)


def initiative_figures(initiative: Initiative, *, version: Hashable | None, now: datetime,
                       timezone: str) -> InitiativeFigures:
    """The initiative's figures (``InitiativeFigures``), worked out at the first request of a ``version`` of the
    data (the caller's data version, which every audited change and every journal entry moves: a tranche
    requested, approved or paid, co-financing recorded or judged, a funding request decided, a capitalisation,
    a milestone review) and then kept in this process."""
    if version is None:  # read afresh, kept for no one
        return _work_out(initiative, now=now, timezone=timezone)
    key = (database_key(), version, initiative.id, local_date(now, timezone), timezone)
    return _figures_kept.get(key, lambda: _work_out(initiative, now=now, timezone=timezone))


def _work_out(initiative: Initiative, *, now: datetime, timezone: str) -> InitiativeFigures:
    startup = initiative.startup_grant
    positions = matching_positions(initiative, now=now, timezone=timezone)
    return InitiativeFigures(
        startup=grant_position(startup) if startup is not None else None,
        ledger_paid=paid_from_ledger(initiative),
        matching=tuple(MatchingFigures(p.grant.id, p.position, p.matchable, p.limits) for p in positions),
        share_rows=tuple(share_chart(initiative, now=now, timezone=timezone)),
    )


def matching_positions_of(figures: InitiativeFigures, initiative: Initiative,
                          requests: list[FundingRequest]) -> list[MatchingPosition]:
    """The matching grants' positions of the kept ``figures``, with the page's own grant and request rows."""
    grants = {g.id: g for g in initiative.grants}
    by_grant = {r.grant_id: r for r in requests if r.grant_id is not None}
    return [MatchingPosition(grants[m.grant_id], m.position, m.matchable, m.limits, by_grant.get(m.grant_id))
            for m in figures.matching]


@dataclass(frozen=True)
class Person:
    """Who is named on a row of the page."""

    id: int
    name: str


def names_of(ids: set[int | None]) -> dict[int, Person]:
    """The people with these ids, by id, in one statement of their names only."""
    wanted = {i for i in ids if i is not None}
    if not wanted:
        return {}
    return {id_: Person(id_, name) for id_, name in db.session.execute(
        select(User.id, User.name).where(User.id.in_(wanted)))}
