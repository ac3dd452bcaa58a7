"""Pure rules of the facilitation fund (seed 003, section 8): the window in which a facilitation cost counts, the
limits of a claim's payment and the refusal of one over a limit, and the fund's figures on the initiative's page.
No database.

A claim's payment A is allowed only if ALL hold (exactly at a limit is accepted, one cent over is refused):

- the share: A <= the rules' share x the claim's costs, rounded down to the cent;
- the ceiling: the fund's tranches requested, approved or paid (other claims) + A <= the rules' ceiling;
- the year's external-share cap (``domain.year_cap_room``): the external money of the programme year (matching and
  facilitation tranches) with A stays within the year's cap of the external money and the members' own money
  (verified co-financing and the part of verified facilitation costs the fund does not pay);
- the overall cap (``domain.TrancheLimits.overall_room``): all programme money to the initiative + A <= the call's
  cap per initiative.

The year and overall rooms are ``funding.domain``'s own arithmetic: this module only gathers them. The refusals are
written in the language being answered in (Flask-Babel's ``gettext``, English outside a request)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from fractions import Fraction

from dateutil.relativedelta import relativedelta

from programme.core.money import format_money
from programme.core.texts import gettext as _
from programme.funding.domain import ZERO, floor_money, percent, year_cap_room


def window_ends(start: date, months: int) -> date:
    """The first day on which a facilitation cost no longer counts: ``months`` after the initiative's start."""
    return start + relativedelta(months=months)


def cost_day_refusal(day: date, *, start: date, months: int, today: date) -> str | None:
    """Why a facilitation cost dated ``day`` does not count, or None: it must fall in the fund's window (from the
    initiative's start, for ``months`` months) and not after ``today``."""
    ends = window_ends(start, months)
    if day < start:
        return _("%(day)s is before the initiative started on %(start)s: the facilitation fund pays costs from the "
                 "start for %(months)s months.", day=day.isoformat(), start=start.isoformat(), months=months)
    if day >= ends:
        return _("%(day)s is after the facilitation fund's window ended on %(end)s: it pays costs of the first "
                 "%(months)s months only.", day=day.isoformat(), end=(ends - relativedelta(days=1)).isoformat(),
                 months=months)
    if day > today:
        return _("%(day)s is in the future: claim a cost once it is incurred.", day=day.isoformat())
    return None


def months_left(start: date, months: int, today: date) -> int:
    """Whole and begun months left in the fund's window on ``today`` (0 once it has ended; ``months`` before the
    start)."""
    ends = window_ends(start, months)
    if today >= ends:
        return 0
    if today < start:
        return months
    delta = relativedelta(ends, today)
    return delta.years * 12 + delta.months + (1 if delta.days else 0)


def share_of(costs: Decimal, share: Decimal, currency: str = "EUR") -> Decimal:
    """The most the share allows for costs of ``costs``: share x costs, rounded down to the cent."""
    return floor_money(Fraction(share) * Fraction(costs), currency)


@dataclass(frozen=True)
class ClaimLimits:
    """Everything that limits the payment of one facilitation claim (amounts in the call's currency).

    ``costs``: the claim's costs; ``share``: the rules' share; ``ceiling``: the fund's ceiling; ``fund_held``: the
    fund's tranches requested, approved or paid (other claims); ``year``: the programme year of the payment;
    ``year_cap``: that year's external-share cap; ``year_programme``: P, the external money of the year (matching
    and facilitation tranches, other claims); ``year_own``: C, the members' own money of the year;
    ``initiative_held``: all programme money to the initiative (other claims); ``overall_cap``: the call's cap per
    initiative; ``costs_in_year``: whether the claim's costs are dated in the payment's programme year (the members'
    own part of them is their money of that year only: a claim paid in a later year meets that year's cap with
    that year's money)."""

    currency: str
    costs: Decimal
    share: Decimal
    ceiling: Decimal
    fund_held: Decimal
    year: int
    year_cap: Decimal
    year_programme: Decimal
    year_own: Decimal
    initiative_held: Decimal
    overall_cap: Decimal
    costs_in_year: bool = True

    @property
    def share_room(self) -> Decimal:
        return share_of(self.costs, self.share, self.currency)

    @property
    def ceiling_room(self) -> Decimal:
        return max(self.ceiling - self.fund_held, ZERO)

    def year_room(self, amount: Decimal) -> Decimal | None:
        """The year's room for a payment of ``amount``: the members' own part of THIS claim's costs (costs -
        amount) counts as their money of the year when the costs are dated in it, as it will once the claim is
        verified. None when the cap is 100 %."""
        own = self.year_own + (max(self.costs - amount, ZERO) if self.costs_in_year else ZERO)
        return year_cap_room(self.year_cap, self.year_programme, own, self.currency)

    @property
    def overall_room(self) -> Decimal:
        return max(self.overall_cap - self.initiative_held, ZERO)

    @property
    def most(self) -> Decimal:
        """The largest payment every limit allows (the year's room shrinks as the payment grows: the most is
        found exactly from the cap's formula)."""
        best = min(self.share_room, self.ceiling_room, self.overall_room)
        cap = Fraction(self.year_cap)
        if cap < 1:
            # A <= cap x (P + A + C + costs - A) - P  <=>  A <= cap x (P + C + costs) - P (the claim's costs
            # are paid by the fund or the members either way)
            if self.costs_in_year:
                total = Fraction(self.year_programme) + Fraction(self.year_own) + Fraction(self.costs)
                room = max(floor_money(cap * total - Fraction(self.year_programme), self.currency), ZERO)
            else:
                room = year_cap_room(self.year_cap, self.year_programme, self.year_own, self.currency) or ZERO
            best = min(best, room)
        return best


def claim_refusal(amount: Decimal, limits: ClaimLimits) -> str | None:
    """Why a facilitation payment of ``amount`` is refused, or None when every limit allows it. The message names
    the blocking figure and the most that is allowed."""
    cur = limits.currency
    shown = format_money(amount, cur)
    if amount <= 0:
        return _("The amount of the claim must be above zero.")
    if amount > limits.share_room:
        return _("The facilitation fund pays %(share)s of the costs: at most %(room)s of %(costs)s; %(amount)s is "
                 "too much.", share=percent(limits.share), room=format_money(limits.share_room, cur),
                 costs=format_money(limits.costs, cur), amount=shown)
    if amount > limits.ceiling_room:
        return _("The facilitation fund's ceiling of %(ceiling)s allows at most %(room)s more (%(held)s is "
                 "requested, approved or paid already): %(amount)s is too much.",
                 ceiling=format_money(limits.ceiling, cur), room=format_money(limits.ceiling_room, cur),
                 held=format_money(limits.fund_held, cur), amount=shown)
    room = limits.year_room(amount)
    if room is not None and amount > room:
        figures = {"year": limits.year, "cap": percent(limits.year_cap), "most": format_money(limits.most, cur),
                   "programme": format_money(limits.year_programme, cur), "own": format_money(limits.year_own, cur),
                   "amount": shown}
        if limits.costs_in_year:
            return _("The year-%(year)s external-share cap of %(cap)s allows at most %(most)s for this claim "
                     "(external money paid or held %(programme)s, the members' own money %(own)s and this claim's "
                     "costs %(costs)s): %(amount)s is too much.", costs=format_money(limits.costs, cur), **figures)
        return _("The year-%(year)s external-share cap of %(cap)s allows at most %(most)s for this claim (external "
                 "money paid or held %(programme)s, the members' own money %(own)s; this claim's costs are dated in "
                 "an earlier year): %(amount)s is too much.", **figures)
    if amount > limits.overall_room:
        return _("The overall cap of %(cap)s per initiative allows at most %(room)s more (%(held)s is requested, "
                 "approved or paid on the initiative's grants or put into its revolving fund): %(amount)s is too "
                 "much.", cap=format_money(limits.overall_cap, cur), room=format_money(limits.overall_room, cur),
                 held=format_money(limits.initiative_held, cur), amount=shown)
    return None


@dataclass(frozen=True)
class FundPosition:
    """The facilitation fund of one initiative, as its page shows it: the ceiling, the costs and payments claimed
    (claims not refused), what was paid, what is left of the ceiling (ceiling - requested, approved or paid) and the
    months left in the window."""

    ceiling: Decimal
    share: Decimal
    costs_claimed: Decimal
    claimed: Decimal
    paid: Decimal
    held: Decimal
    window_ends: date
    months_left: int

    @property
    def remaining(self) -> Decimal:
        return max(self.ceiling - self.held, ZERO)
