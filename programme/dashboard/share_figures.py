"""The dashboard's external share: every running initiative's share paid in its current programme year against
its schedule's cap. The figures and the rule (the share paid, over the cap, at the floor) are funding's
(``funding.services.shares.current_year_shares``, ``funding.domain.year_share``): the dashboard only names
the initiatives. Read-only, two queries however many initiatives."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any

from programme.calls.models import Call
from programme.funding.domain import YearShare
from programme.funding.models import InitiativeStatus
from programme.funding.services.shares import current_year_shares

#: The statuses of an initiative that still runs.
RUNNING = (InitiativeStatus.START_UP, InitiativeStatus.IMPLEMENTATION, InitiativeStatus.SELF_SUSTAINING)


@dataclass(frozen=True)
class InitiativeShare:
    """A running initiative's external share in its current programme year against its schedule's cap
    (``figures``: funding's ``YearShare``)."""

    initiative_id: int
    reference: str
    name: str
    call_id: int
    status: InitiativeStatus
    currency: str
    figures: YearShare

    @property
    def year(self) -> int:
        return self.figures.year

    @property
    def cap(self) -> Decimal:
        return self.figures.cap

    @property
    def at_floor(self) -> bool:
        return self.figures.at_floor

    @property
    def paid(self) -> Decimal:
        return self.figures.paid

    @property
    def cofinancing(self) -> Decimal:
        return self.figures.cofinancing

    @property
    def share(self) -> Decimal | None:
        return self.figures.share

    @property
    def over(self) -> bool:
        return self.figures.over


def initiative_shares(initiatives: list[Any], calls: Mapping[int, Call], starts: Mapping[int, date], *,
                      today: date) -> list[InitiativeShare]:
    """The external share of every running initiative among ``initiatives`` (rows with id, reference, name,
    call_id, status and currency; ``starts``: their start dates in the programme's time zone), in their
    order."""
    running = [row for row in initiatives if InitiativeStatus(row.status) in RUNNING]
    figures = current_year_shares(
        {row.id: (starts[row.id], calls[row.call_id].rules.funding.external_share) for row in running}, today=today)
    return [InitiativeShare(initiative_id=row.id, reference=row.reference, name=row.name, call_id=row.call_id,
                            status=InitiativeStatus(row.status), currency=row.currency, figures=figures[row.id])
            for row in running]
