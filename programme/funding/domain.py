"""Pure rules of funding: what is left of a grant, what blocks a tranche, the programme years of an initiative,
the matchable co-financing of a matching grant and the caps on its tranches, and the external share paid in a
programme year against its cap (the initiative's chart and the programme dashboard). No database; the refusals are
written in the language being answered in (Flask-Babel's ``gettext``, English outside a request)."""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import date
from decimal import ROUND_HALF_UP, Decimal, localcontext
from fractions import Fraction

from dateutil.relativedelta import relativedelta

from programme.core.money import format_money, minor_unit, symbols_in_use
from programme.core.texts import gettext as _
from programme.core.texts import pgettext

ZERO = Decimal("0.00")


@dataclass(frozen=True)
class GrantPosition:
    """A grant's committed amount and its disbursements by status; ``left`` is what may still be requested:
    the committed amount minus everything requested, approved or paid (rejected amounts hold nothing)."""

    committed: Decimal
    requested: Decimal
    approved: Decimal
    paid: Decimal
    left: Decimal

    @classmethod
    def of(cls, committed: Decimal, by_status: Mapping[str, Decimal]) -> GrantPosition:
        requested = Decimal(by_status.get("requested", ZERO))
        approved = Decimal(by_status.get("approved", ZERO))
        paid = Decimal(by_status.get("paid", ZERO))
        return cls(committed, requested, approved, paid, committed - requested - approved - paid)

    @property
    def held(self) -> Decimal:
        return self.requested + self.approved + self.paid


def over_grant(amount: Decimal, left: Decimal, committed: Decimal, *, currency: str, grant_label: str) -> str | None:
    """Why a tranche of ``amount`` cannot be held against a grant with ``left`` remaining, or None if it can."""
    if amount <= left:
        return None
    return _("%(amount)s is more than is left: %(left)s is left of the %(grant)s of %(committed)s.",
             amount=format_money(amount, currency), left=format_money(max(left, ZERO), currency),
             grant=grant_label.lower(), committed=format_money(committed, currency))


# ---------------------------------------------------------------------------------------------
# Matching grants: programme years, matchable co-financing, the caps on a tranche, the chart.
#
# Every figure below is computed exactly (fractions) and rounded DOWN to the currency's minor unit only at
# the end, so a cap is never exceeded by a rounding: a tranche exactly at a cap is accepted, one cent over
# is refused.

CASH = "cash"
IN_KIND = "in_kind"


def programme_year(start: date, day: date) -> int:
    """The programme year of ``day`` for an initiative that started on ``start`` (its ``started_at`` as a date in
    the programme's time zone): year 1 runs 12 months from the start date (``start`` up to but not including
    ``start + 12 months``), year 2 the next 12 months, and so on. Months are added with dateutil's relativedelta
    from the start date each time (a start on 29 February gives years that begin on 28 February in common
    years and on 29 February in leap years, with no drift). A day before the start is refused (ValueError)."""
    if day < start:
        raise ValueError(f"{day.isoformat()} is before the initiative started on {start.isoformat()}")
    years = ((day.year - start.year) * 12 + day.month - start.month) // 12
    years = max(years, 0)
    while start + relativedelta(months=12 * (years + 1)) <= day:
        years += 1
    while years > 0 and start + relativedelta(months=12 * years) > day:
        years -= 1
    return years + 1


def current_year(start: date, today: date) -> int:
    """The programme year an initiative is in on ``today``: year 1 until it has started, then ``programme_year``."""
    return programme_year(start, today) if today >= start else 1


def year_begins(start: date, year: int) -> date:
    """The first day of programme ``year`` (1, 2, ...) of an initiative that started on ``start``."""
    if year < 1:
        raise ValueError("programme years start at 1")
    return start + relativedelta(months=12 * (year - 1))


def floor_money(value: Fraction | Decimal | int, currency: str = "EUR") -> Decimal:
    """``value`` rounded down (towards minus infinity) to the currency's minor unit, as a Decimal."""
    places = minor_unit(currency)
    exact = Fraction(value)
    scaled = math.floor(exact * 10 ** places)
    return (Decimal(scaled).scaleb(-places)).quantize(Decimal(1).scaleb(-places))


def percent(share: Decimal | Fraction) -> str:
    """A share as people write it: 0.75 -> '75 %', 0.125 -> '12.5 %' (with the decimal mark of the language being
    answered in: '12,5 %' in Spanish and Portuguese)."""
    value = (Decimal(share.numerator) / Decimal(share.denominator) if isinstance(share, Fraction)
             else Decimal(share)) * 100
    return f"{value.quantize(Decimal('0.01')).normalize():f} %".replace(".", symbols_in_use()[0])


@dataclass(frozen=True)
class Contribution:
    """A co-financing contribution as the rules see it: ``kind`` is 'cash' or 'in_kind', ``amount`` its
    (documented) value, ``on`` the day it was made; only a verified one counts."""

    kind: str
    amount: Decimal
    on: date
    verified: bool = True


@dataclass(frozen=True)
class Matchable:
    """What a grant's verified co-financing is worth for matching.

    ``cash`` and ``in_kind`` are the verified amounts; ``in_kind_counted`` the in-kind amount that counts after
    the in-kind cap; ``matchable`` the programme money they allow (each counted amount times the ratio of its
    programme year), rounded down to the cent."""

    cash: Decimal
    in_kind: Decimal
    in_kind_counted: Decimal
    matchable: Decimal

    @property
    def counted(self) -> Decimal:
        return self.cash + self.in_kind_counted


def matchable_cofinancing(
    contributions: Iterable[Contribution], *, start: date, ratio_for_year: Callable[[int], Decimal],
    in_kind_max_share: Decimal, currency: str = "EUR",
) -> Matchable:
    """The matchable co-financing of a grant.

    Sum over its VERIFIED contributions of amount x ``ratio_for_year(programme year of the contribution's
    date)``. In-kind contributions count at most so that in kind is no more than ``in_kind_max_share`` (s) of
    the counted co-financing: counted in-kind = min(in-kind, s / (1 - s) x cash); s = 1 is no cap, s = 0
    counts no in-kind at all. When the cap cuts, every in-kind contribution is cut in the same proportion
    (counted / in-kind), so each keeps the ratio of its own year. The result is rounded down to the cent
    (only at the end)."""
    counted = [c for c in contributions if c.verified]
    cash = sum((Fraction(c.amount) for c in counted if c.kind == CASH), Fraction(0))
    in_kind = sum((Fraction(c.amount) for c in counted if c.kind == IN_KIND), Fraction(0))
    share = Fraction(in_kind_max_share)
    if not 0 <= share <= 1:
        raise ValueError("in_kind_max_share is a share between 0 and 1")
    if share == 1:
        in_kind_counted = in_kind
    else:
        in_kind_counted = min(in_kind, share / (1 - share) * cash)
    factor = Fraction(1) if in_kind == 0 else in_kind_counted / in_kind
    total = Fraction(0)
    for c in counted:
        ratio = Fraction(ratio_for_year(programme_year(start, c.on)))
        weight = factor if c.kind == IN_KIND else Fraction(1)
        total += Fraction(c.amount) * weight * ratio
    return Matchable(floor_money(cash, currency), floor_money(in_kind, currency),
                     floor_money(in_kind_counted, currency), floor_money(total, currency))


def year_cap_room(cap: Decimal, programme_money: Decimal, cofinancing: Decimal,
                  currency: str = "EUR") -> Decimal | None:
    """The most programme money that may still go out in a programme year under its external-share cap.

    With P = programme money (matching-grant tranches) paid or held in the year and C = the verified
    co-financing dated in it, a tranche A is allowed when (P + A) / (P + A + C) <= cap, that is
    A <= (cap x C - (1 - cap) x P) / (1 - cap), rounded down to the cent (never below zero). ``None`` when
    the cap is 1 (100 %: no limit)."""
    share = Fraction(cap)
    if share >= 1:
        return None
    room = (share * Fraction(cofinancing) - (1 - share) * Fraction(programme_money)) / (1 - share)
    return max(floor_money(room, currency), ZERO)


@dataclass(frozen=True)
class TrancheLimits:
    """Everything that limits a matching-grant tranche (all amounts in the grant's currency).

    ``grant_held``: requested + approved + paid on this grant (other tranches); ``matchable``: the grant's
    matchable co-financing; ``year``: the programme year of the tranche; ``year_cap``: the external-share cap
    of that year; ``year_programme``: P, the matching-grant money paid or held in that year (other tranches);
    ``year_cofinancing``: C, the verified co-financing dated in that year; ``initiative_held``: requested +
    approved + paid on all the initiative's grants (other tranches); ``overall_cap``: the call's cap per
    initiative; ``committed``: the grant's commitment."""

    currency: str
    grant_held: Decimal
    matchable: Decimal
    year: int
    year_cap: Decimal
    year_programme: Decimal
    year_cofinancing: Decimal
    initiative_held: Decimal
    overall_cap: Decimal
    committed: Decimal

    @property
    def ratio_room(self) -> Decimal:
        return max(self.matchable - self.grant_held, ZERO)

    @property
    def year_room(self) -> Decimal | None:
        return year_cap_room(self.year_cap, self.year_programme, self.year_cofinancing, self.currency)

    @property
    def overall_room(self) -> Decimal:
        return max(self.overall_cap - self.initiative_held, ZERO)

    @property
    def grant_room(self) -> Decimal:
        return max(self.committed - self.grant_held, ZERO)

    @property
    def most(self) -> Decimal:
        """The largest tranche every limit allows."""
        rooms = [self.ratio_room, self.overall_room, self.grant_room]
        if self.year_room is not None:
            rooms.append(self.year_room)
        return min(rooms)


def tranche_refusal(amount: Decimal, limits: TrancheLimits) -> str | None:
    """Why a matching-grant tranche of ``amount`` is refused, or None when every cap allows it.

    A tranche A is allowed only if ALL hold: (a) the ratio cap: held + paid on the grant + A <= its matchable
    co-financing; (b) the year cap: (P + A) / (P + A + C) <= the external-share cap of the tranche's programme
    year (see ``year_cap_room``; a cap of 100 % is no limit); (c) the overall cap: held + paid on all the
    initiative's grants + A <= the call's cap per initiative; (d) the grant's commitment (``over_grant``).
    Exactly at a cap is accepted, one cent over is refused. The message names the blocking figure and the
    most that is allowed."""
    cur = limits.currency
    shown = format_money(amount, cur)
    if amount > limits.ratio_room:
        return _("The matching ratio allows at most %(room)s more on this grant (verified co-financing matches "
                 "%(matchable)s; %(held)s is requested, approved or paid already): %(amount)s is too much.",
                 room=format_money(limits.ratio_room, cur), matchable=format_money(limits.matchable, cur),
                 held=format_money(limits.grant_held, cur), amount=shown)
    room = limits.year_room
    if room is not None and amount > room:
        return _("The year-%(year)s external-share cap of %(cap)s allows at most %(room)s more this year (paid or "
                 "held %(programme)s, co-financing %(cofinancing)s): %(amount)s is too much.",
                 year=limits.year, cap=percent(limits.year_cap), room=format_money(room, cur),
                 programme=format_money(limits.year_programme, cur),
                 cofinancing=format_money(limits.year_cofinancing, cur), amount=shown)
    if amount > limits.overall_room:
        return _("The overall cap of %(cap)s per initiative allows at most %(room)s more (%(held)s is requested, "
                 "approved or paid on the initiative's grants or put into its revolving fund): %(amount)s is too "
                 "much.", cap=format_money(limits.overall_cap, cur), room=format_money(limits.overall_room, cur),
                 held=format_money(limits.initiative_held, cur), amount=shown)
    left = limits.committed - limits.grant_held
    return over_grant(amount, left, limits.committed, currency=cur,
                      grant_label=pgettext("grant kind", "Matching grant"))


# ---------------------------------------------------------------------------------------------
# The external share actually paid in a programme year, against the year's cap (the initiative's chart and
# the programme dashboard both read it from here).

#: The external share paid is shown to four places (0.3333 is 33.33 %).
SHARE_PLACES = Decimal("0.0001")


def share_paid(paid: Decimal, cofinancing: Decimal) -> Decimal | None:
    """The external share actually paid in a programme year: the matching-grant tranches paid in it ÷ (those +
    the co-financing verified dated in it), to four places (rounded half-up, for display); None for a year
    with no money."""
    total = Decimal(paid) + Decimal(cofinancing)
    if total == 0:
        return None
    with localcontext() as ctx:
        ctx.prec = 40
        return (Decimal(paid) / total).quantize(SHARE_PLACES, rounding=ROUND_HALF_UP)


def over_cap(share: Decimal | None, cap: Decimal) -> bool:
    """Whether the external share paid (``share_paid``) is over the year's cap; a year with no money is not."""
    return share is not None and share > cap


def at_floor(year: int, schedule_length: int) -> bool:
    """Whether a programme year is past the call's external-share schedule, where the cap is the floor."""
    return year > schedule_length


@dataclass(frozen=True)
class YearShare:
    """One programme year: the schedule's cap, the matching-grant money paid in the year, the verified
    co-financing dated in it, and the external share actually paid (``share_paid``), None for a year with no
    money; ``at_floor`` when the year is past the schedule (its cap is the floor)."""

    year: int
    cap: Decimal
    paid: Decimal
    cofinancing: Decimal
    share: Decimal | None
    at_floor: bool = False

    @property
    def over(self) -> bool:
        """The share paid is over the year's cap (``over_cap``)."""
        return over_cap(self.share, self.cap)


def year_share(year: int, *, cap: Decimal, schedule_length: int, paid: Decimal, cofinancing: Decimal) -> YearShare:
    """Programme ``year``'s external share: ``paid`` (matching-grant tranches paid with a value date in the year)
    and ``cofinancing`` (verified, dated in the year) against ``cap``, the schedule's cap of the year."""
    paid, cofinancing = Decimal(paid), Decimal(cofinancing)
    return YearShare(year, Decimal(cap), paid, cofinancing, share_paid(paid, cofinancing),
                     at_floor(year, schedule_length))


def external_share_by_year(
    *, current_year: int, schedule_length: int, cap_for_year: Callable[[int], Decimal],
    paid_by_year: Mapping[int, Decimal], cofinancing_by_year: Mapping[int, Decimal],
) -> list[YearShare]:
    """The chart's data: per programme year 1..N, N = the larger of the current year, the schedule's length
    and the last year with money, the schedule's cap and the external share actually paid (``year_share``)."""
    last = max([current_year, schedule_length, *paid_by_year, *cofinancing_by_year])
    return [year_share(year, cap=cap_for_year(year), schedule_length=schedule_length,
                       paid=paid_by_year.get(year, ZERO), cofinancing=cofinancing_by_year.get(year, ZERO))
            for year in range(1, last + 1)]
