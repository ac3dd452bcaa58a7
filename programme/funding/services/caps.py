"""The caps on a matching-grant tranche: the grant's matchable co-financing (the ratio cap), the
programme year's external share, the overall cap per initiative and the commitment (``tranche_limits``), and
the refusal of a tranche over one of them, enforced when it is requested, approved and paid under a lock on
the initiative's row.

The overall cap per initiative (``per_initiative_cap``: "all programme money, grants and loans") counts every
kind of programme money that reaches the initiative: its grants' tranches requested, approved or paid, and the
capitalisations of its revolving fund (the money its loans are lent from: a loan from the fund is the fund's
money lent on, so it is not counted a second time). ``programme_money_of`` is that sum;
``refuse_over_initiative_cap`` refuses, under the initiative's lock, what would pass the cap (a capitalisation,
a start-up tranche)."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from sqlalchemy import Select, case, func, literal, select

from programme.core.access import RuleViolation
from programme.core.db import cents
from programme.core.money import format_money
from programme.core.texts import gettext as _
from programme.extensions import db
from programme.funding.domain import (
    Contribution,
    Matchable,
    TrancheLimits,
    matchable_cofinancing,
    tranche_refusal,
    year_begins,
)
from programme.funding.models import (
    EXTERNAL_SHARE_KINDS,
    HOLDING,
    ClaimStatus,
    CoFinancingContribution,
    ContributionStatus,
    Disbursement,
    DisbursementStatus,
    FacilitationClaim,
    Grant,
    Initiative,
)
from programme.funding.services._common import _lock_initiative, _money_sum
from programme.funding.services.initiatives import started_on, year_of


def _year_bounds(initiative: Initiative, year: int, timezone: str) -> tuple[date, date]:
    start = started_on(initiative, timezone)
    return year_begins(start, year), year_begins(start, year + 1)


def _held(initiative: Initiative, *, grant: Grant | None = None, excluding: Disbursement | None = None,
          statuses: tuple[DisbursementStatus, ...] = HOLDING, matching_only: bool = False) -> Decimal:
    query = (select(func.coalesce(func.sum(Disbursement.amount), 0))
             .where(Disbursement.initiative_id == initiative.id, Disbursement.status.in_(statuses)))
    if grant is not None:
        query = query.where(Disbursement.grant_id == grant.id)
    if matching_only:  # the external money under the declining schedule: matching and facilitation tranches
        query = query.join(Grant, Grant.id == Disbursement.grant_id).where(Grant.kind.in_(EXTERNAL_SHARE_KINDS))
    if excluding is not None:
        query = query.where(Disbursement.id != excluding.id)
    return _money_sum(query)


def capitalised(initiative: Initiative) -> Decimal:
    """What the programme has put into the initiative's revolving fund (its capitalisations)."""
    from programme.loans.models import Capitalisation, RevolvingFund

    return _money_sum(select(func.coalesce(func.sum(Capitalisation.amount), 0))
                      .join(RevolvingFund, RevolvingFund.id == Capitalisation.fund_id)
                      .where(RevolvingFund.initiative_id == initiative.id))


def programme_money_of(initiative: Initiative, *, excluding: Disbursement | None = None) -> Decimal:
    """All programme money counted against the initiative's overall cap: its grants' tranches requested, approved
    or paid (but ``excluding``) and its revolving fund's capitalisations."""
    return _held(initiative, excluding=excluding) + capitalised(initiative)


def lock_initiative(initiative: Initiative) -> Initiative:
    """Lock the initiative's row, as every operation that checks its caps does first (other areas call this)."""
    return _lock_initiative(initiative)


def refuse_over_initiative_cap(initiative: Initiative, amount: Decimal, *, what: str, field: str | None = "amount",
                               excluding: Disbursement | None = None) -> None:
    """Lock the initiative's row (the lock every cap check takes first) and refuse ``amount`` more programme money
    (``what``: "a capitalisation of the revolving fund", "a tranche") when it would take the initiative past the
    call's cap per initiative. At the cap is accepted, one cent over is refused."""
    _lock_initiative(initiative)
    cap = Decimal(initiative.call.per_initiative_cap)
    counted = programme_money_of(initiative, excluding=excluding)
    if counted + amount > cap:
        cur = initiative.currency
        figures = {"cap": format_money(cap, cur), "room": format_money(max(cap - counted, Decimal("0.00")), cur),
                   "reference": initiative.reference, "counted": format_money(counted, cur),
                   "amount": format_money(amount, cur)}
        if what == "a tranche":
            message = _("The overall cap of %(cap)s per initiative allows at most %(room)s more for %(reference)s "
                        "(%(counted)s is requested, approved or paid on its grants or put into its revolving fund): "
                        "a tranche of %(amount)s is too much.", **figures)
        elif what == "a capitalisation of the revolving fund":
            message = _("The overall cap of %(cap)s per initiative allows at most %(room)s more for %(reference)s "
                        "(%(counted)s is requested, approved or paid on its grants or put into its revolving fund): "
                        "a capitalisation of the revolving fund of %(amount)s is too much.", **figures)
        else:
            message = _("The overall cap of %(cap)s per initiative allows at most %(room)s more for %(reference)s "
                        "(%(counted)s is requested, approved or paid on its grants or put into its revolving fund): "
                        "%(what)s of %(amount)s is too much.", what=what, **figures)
        raise RuleViolation(message, field=field)


def _paid_matching_in(initiative: Initiative, first: date, after: date, excluding: Disbursement | None) -> Decimal:
    query = (select(func.coalesce(func.sum(Disbursement.amount), 0))
             .join(Grant, Grant.id == Disbursement.grant_id)
             .where(Disbursement.initiative_id == initiative.id, Grant.kind.in_(EXTERNAL_SHARE_KINDS),
                    Disbursement.status == DisbursementStatus.PAID,
                    Disbursement.value_date >= first, Disbursement.value_date < after))
    if excluding is not None:
        query = query.where(Disbursement.id != excluding.id)
    return _money_sum(query)


def _cofinancing_in(initiative: Initiative, first: date, after: date,
                    excluding_claim: FacilitationClaim | None = None) -> Decimal:
    """The members' own money of a programme year: their co-financing verified with a date in it, and their own
    part of the verified facilitation claims whose last cost is dated in it (``facilitation_own_parts``)."""
    cofinancing = _money_sum(
        select(func.coalesce(func.sum(CoFinancingContribution.amount), 0))
        .where(CoFinancingContribution.initiative_id == initiative.id,
               CoFinancingContribution.status == ContributionStatus.VERIFIED,
               CoFinancingContribution.contributed_on >= first, CoFinancingContribution.contributed_on < after))
    own = sum((amount for _, day, amount in facilitation_own_parts([initiative.id], since=first,
                                                                     excluding_claim=excluding_claim)
               if day < after), Decimal("0.00"))
    return cofinancing + own


def facilitation_own_cents(since: date) -> Select:
    """``facilitation_own_parts`` of every initiative as SQL (initiative id, day, own part in whole cents), to be
    summed with the co-financing in one statement (the dashboard's ``shares.current_year_shares``)."""
    held = Disbursement.status.in_(HOLDING)
    return (select(FacilitationClaim.initiative_id, FacilitationClaim.costs_until,
                   cents(FacilitationClaim.costs) - case((held, cents(FacilitationClaim.amount)), else_=literal(0)))
            .join(Disbursement, Disbursement.id == FacilitationClaim.disbursement_id)
            .where(FacilitationClaim.status == ClaimStatus.VERIFIED, FacilitationClaim.costs_until >= since))


def facilitation_own_parts(initiative_ids: list[int] | None, *, since: date | None = None,
                           excluding_claim: FacilitationClaim | None = None) -> list[tuple[int, date, Decimal]]:
    """The members' own part of each verified facilitation claim of these initiatives (one query): the claim's costs
    less the fund's payment while its tranche holds (requested, approved or paid), all of its costs once the tranche
    is rejected; dated by the claim's last cost (``costs_until``), on or after ``since``. It is their money in the
    year's external share, as co-financing is. ``initiative_ids`` None: every initiative's."""
    query = (select(FacilitationClaim.initiative_id, FacilitationClaim.costs_until, FacilitationClaim.costs,
                    FacilitationClaim.amount, Disbursement.status)
             .join(Disbursement, Disbursement.id == FacilitationClaim.disbursement_id)
             .where(FacilitationClaim.status == ClaimStatus.VERIFIED))
    if initiative_ids is not None:
        query = query.where(FacilitationClaim.initiative_id.in_(initiative_ids))
    if since is not None:
        query = query.where(FacilitationClaim.costs_until >= since)
    if excluding_claim is not None:
        query = query.where(FacilitationClaim.id != excluding_claim.id)
    parts = []
    for initiative_id, day, costs, amount, status in db.session.execute(query):
        paid_by_fund = Decimal(amount) if DisbursementStatus(status) in HOLDING else Decimal("0.00")
        parts.append((initiative_id, day, (Decimal(costs) - paid_by_fund).quantize(Decimal("0.01"))))
    return parts


def matchable_of(grant: Grant, *, timezone: str) -> Matchable:
    """The grant's matchable co-financing (``domain.matchable_cofinancing``) from its verified contributions,
    with the ratios and the in-kind cap of the call's rules."""
    matching = grant.initiative.call.rules.funding.matching
    rows = db.session.scalars(select(CoFinancingContribution).where(
        CoFinancingContribution.grant_id == grant.id, CoFinancingContribution.status == ContributionStatus.VERIFIED))
    return matchable_cofinancing(
        [Contribution(c.kind.value, Decimal(c.amount), c.contributed_on) for c in rows],
        start=started_on(grant.initiative, timezone), ratio_for_year=matching.ratio_for_year,
        in_kind_max_share=matching.in_kind_max_share, currency=grant.currency)


def tranche_limits(grant: Grant, *, day: date, at_payment: bool, excluding: Disbursement | None = None,
                   timezone: str) -> TrancheLimits:
    """The figures that limit a tranche of a matching grant dated ``day`` (today when it is requested or
    approved; the value date when it is paid), leaving out the tranche ``excluding`` itself.

    - the ratio cap: held + paid on the grant (requested, approved or paid) against its matchable co-financing;
    - the year cap: P = the initiative's matching-grant (and facilitation-fund) tranches paid with a value date in
      ``day``'s programme year, plus, when the tranche is requested or approved, every such tranche requested or
      approved but not yet paid (counted in the current year, where it will be paid); at payment only what is really
      paid counts, since a tranche approved in one year may be paid in the next, under that year's lower cap.
      C = the initiative's co-financing verified with a date in that year, and the members' own part of its
      verified facilitation claims dated in it (``facilitation_own_parts``). The start-up grant is not in P: the
      rules allow it at 100 %;
    - the overall cap: held + paid on all the initiative's grants (the start-up grant too), and the capitalisations
      of its revolving fund, against the call's cap per initiative;
    - the grant's commitment."""
    initiative = grant.initiative
    rules = initiative.call.rules.funding
    year = year_of(initiative, day, timezone)
    first, after = _year_bounds(initiative, year, timezone)
    programme_money = _paid_matching_in(initiative, first, after, excluding)
    if not at_payment:
        programme_money += _held(initiative, excluding=excluding, matching_only=True,
                                 statuses=(DisbursementStatus.REQUESTED, DisbursementStatus.APPROVED))
    return TrancheLimits(
        currency=grant.currency, grant_held=_held(initiative, grant=grant, excluding=excluding),
        matchable=matchable_of(grant, timezone=timezone).matchable, year=year,
        year_cap=rules.external_share.cap_for_year(year), year_programme=programme_money,
        year_cofinancing=_cofinancing_in(initiative, first, after),
        initiative_held=programme_money_of(initiative, excluding=excluding),
        overall_cap=Decimal(initiative.call.per_initiative_cap),
        committed=Decimal(grant.committed),
    )


def _refuse_over_caps(grant: Grant, amount: Decimal, *, day: date, at_payment: bool,
                      excluding: Disbursement | None, timezone: str, field: str | None) -> None:
    try:
        limits = tranche_limits(grant, day=day, at_payment=at_payment, excluding=excluding, timezone=timezone)
    except RuleViolation as error:
        raise RuleViolation(error.message, field="value_date" if at_payment else field) from None
    blocked = tranche_refusal(amount, limits)
    if blocked:
        raise RuleViolation(blocked, field=field)
