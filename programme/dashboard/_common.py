"""What the dashboard's figure modules share: the places figures are rounded to and ``ratio``. Private to
``programme.dashboard``."""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal, localcontext

ZERO = Decimal("0.00")
CENT = Decimal("0.01")
SHARE_PLACES = Decimal("0.0001")
PAR_PLACES = Decimal("0.000001")


def ratio(part: Decimal, whole: Decimal, places: Decimal) -> Decimal | None:
    """part ÷ whole rounded half-up to ``places``; None when the whole is zero."""
    if whole == 0:
        return None
    with localcontext() as ctx:
        ctx.prec = 40
        return (Decimal(part) / Decimal(whole)).quantize(places, ROUND_HALF_UP)
