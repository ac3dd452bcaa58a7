"""The programme's own figures, public, as its public page shows them."""

from __future__ import annotations

from spectree import Response

from programme.api.schemas import InstrumentMoneyOut, LeverageOut, ProgrammeFiguresOut
from programme.api.spec import api_spec
from programme.api.views._common import bp
from programme.core.timezone import programme_today
from programme.core.web import programme_zone
from programme.dashboard.figures import programme_figures


@bp.get("/programme-figures")
@api_spec.validate(resp=Response(HTTP_200=ProgrammeFiguresOut), tags=["programme"])
def figures():
    """The programme's figures today: money committed and paid per instrument, co-financing leveraged,
    initiatives by status, how many still run after external money reached its floor, reports. Public."""
    zone = programme_zone()
    shown = programme_figures(today=programme_today(zone), timezone=zone)
    return ProgrammeFiguresOut(
        as_of=shown.today,
        money=[InstrumentMoneyOut(instrument=m.instrument, currency=m.currency, committed=m.committed, paid=m.paid)
               for m in shown.money_totals],
        leverage=[LeverageOut(currency=row.currency, grants_paid=row.grants_paid,
                              capitalisation_paid=row.capitalisation_paid, cofinancing=row.cofinancing)
                  for row in shown.leverage_totals],
        initiatives=shown.initiatives, initiatives_by_status=dict(shown.by_status), terminated=shown.terminated,
        reached_external_floor=shown.self_funding.reached_floor,
        still_running_after_floor=shown.self_funding.still_running,
        reports_submitted=shown.reports.submitted, reports_overdue=shown.reports.overdue)
