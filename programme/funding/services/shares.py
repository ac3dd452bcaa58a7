"""The external share of many initiatives at once, each in its current programme year, for the programme
dashboard: two set-based queries however many initiatives (no query per initiative), then
``domain.year_share`` per initiative, so the share paid and "over the cap" are worked out as on the initiative's
own chart (``matching.share_chart``). Read-only."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping
from datetime import date

from sqlalchemy import select, union_all

from programme.core.db import from_cents, sum_cents
from programme.extensions import db
from programme.funding.domain import YearShare, current_year, year_begins, year_share
from programme.funding.models import (
    EXTERNAL_SHARE_KINDS,
    CoFinancingContribution,
    ContributionStatus,
    Disbursement,
    DisbursementStatus,
    Grant,
)
from programme.funding.services.caps import facilitation_own_cents
from programme.rulebook.schema import ExternalShare


def current_year_shares(initiatives: Mapping[int, tuple[date, ExternalShare]], *,
                        today: date) -> dict[int, YearShare]:
    """Per initiative (id -> its start date in the programme's time zone and its call's external-share
    schedule), its external share in its current programme year on ``today``: the matching-grant tranches
    paid with a value date in that year and the co-financing verified dated in it, against the year's cap.

    Two queries over all of them (the paid matching and facilitation tranches, and the verified co-financing with
    the members' own part of verified facilitation claims, dated on or after the earliest start of a current year,
    per initiative and day), each summed per initiative over the days of its own current year."""
    if not initiatives:
        return {}
    years = {initiative_id: current_year(start, today) for initiative_id, (start, _) in initiatives.items()}
    bounds = {initiative_id: (year_begins(start, years[initiative_id]), year_begins(start, years[initiative_id] + 1))
              for initiative_id, (start, _) in initiatives.items()}
    earliest = min(first for first, _ in bounds.values())
    paid: dict[int, int] = defaultdict(int)
    cofinancing: dict[int, int] = defaultdict(int)
    for initiative_id, day, cents in db.session.execute(
            select(Disbursement.initiative_id, Disbursement.value_date, sum_cents(Disbursement.amount))
            .join(Grant, Grant.id == Disbursement.grant_id)
            .where(Grant.kind.in_(EXTERNAL_SHARE_KINDS), Disbursement.status == DisbursementStatus.PAID,
                   Disbursement.value_date >= earliest)
            .group_by(Disbursement.initiative_id, Disbursement.value_date)):
        if initiative_id in bounds and bounds[initiative_id][0] <= day < bounds[initiative_id][1]:
            paid[initiative_id] += int(cents)
    # the members' money: their verified co-financing, and their own part of verified facilitation claims (as on
    # the initiative's chart), in one statement
    for initiative_id, day, cents in db.session.execute(union_all(
            select(CoFinancingContribution.initiative_id, CoFinancingContribution.contributed_on,
                   sum_cents(CoFinancingContribution.amount))
            .where(CoFinancingContribution.status == ContributionStatus.VERIFIED,
                   CoFinancingContribution.contributed_on >= earliest)
            .group_by(CoFinancingContribution.initiative_id, CoFinancingContribution.contributed_on),
            facilitation_own_cents(earliest))):
        if initiative_id in bounds and bounds[initiative_id][0] <= day < bounds[initiative_id][1]:
            cofinancing[initiative_id] += int(cents)
    return {initiative_id: year_share(years[initiative_id], cap=schedule.cap_for_year(years[initiative_id]),
                                      schedule_length=len(schedule.schedule), paid=from_cents(paid[initiative_id]),
                                      cofinancing=from_cents(cofinancing[initiative_id]))
            for initiative_id, (_, schedule) in initiatives.items()}
