"""The programme dashboard's Excel export (``dashboard.figures``), one sheet per group of figures, written in
streaming mode, amounts as Decimal cells with the money format: never a float. The ledger's exports are in
``programme.ledger.export``."""

from __future__ import annotations

from decimal import Decimal
from typing import Any, BinaryIO

from programme.core.spreadsheets import Money, StreamingWorkbook
from programme.dashboard.money_figures import INSTRUMENTS

MONEY_SHEET = "Money"
LEVERAGE_SHEET = "Co-financing leveraged"
SHARES_SHEET = "External share"
FUNDS_SHEET = "Revolving funds"
STAGES_SHEET = "Initiatives"
OUTCOMES_SHEET = "Self-funding, terminations"


def _share_cell(value: Decimal | None) -> Decimal | None:
    return None if value is None else Decimal(value)


def write_dashboard(target: str | BinaryIO, figures: Any) -> int:
    """Write the dashboard's figures (a ``dashboard.figures.ProgrammeFigures``) to an .xlsx, one sheet per group
    of figures, money as exact Decimal cells, shares as decimals (0.25 is 25 %); returns the rows written. The
    external shares and "over the cap" are written as funding works them out (``share_figures``)."""
    book = StreamingWorkbook()
    rows = 0

    def put(sheet: str, values: list[Any]) -> None:
        nonlocal rows
        book.append(sheet, values)
        rows += 1

    calls = {call.id: call for call in figures.calls}
    book.add_sheet(MONEY_SHEET, ["Call", "Call name", "Instrument", "Currency", "Committed", "Paid"],
                   widths=[16, 40, 28, 9, 16, 16])
    for m in figures.money:
        call = calls.get(m.call_id)
        put(MONEY_SHEET, [call.reference if call else m.call_id, call.name if call else "",
                          INSTRUMENTS[m.instrument], m.currency, Money(m.committed), Money(m.paid)])
    for m in figures.money_totals:
        put(MONEY_SHEET, ["All calls", None, INSTRUMENTS[m.instrument], m.currency, Money(m.committed), Money(m.paid)])

    book.add_sheet(LEVERAGE_SHEET, ["Call", "Currency", "Grants paid", "Fund capitalisation paid",
                                    "Programme money paid", "Co-financing verified", "Leverage (co-financing ÷ paid)"],
                   widths=[16, 9, 16, 16, 16, 16, 14])
    for lev in [*figures.leverage, *figures.leverage_totals]:
        call = calls.get(lev.call_id) if lev.call_id is not None else None
        put(LEVERAGE_SHEET, [call.reference if call else "All calls", lev.currency, Money(lev.grants_paid),
                             Money(lev.capitalisation_paid), Money(lev.programme_paid), Money(lev.cofinancing),
                             _share_cell(lev.ratio)])

    book.add_sheet(SHARES_SHEET, ["Initiative", "Name", "Call", "Status", "Programme year", "Cap", "At floor",
                                  "Currency", "Matching grants paid in year", "Co-financing verified in year",
                                  "External share", "Over the cap"],
                   widths=[16, 40, 16, 16, 9, 9, 9, 9, 16, 16, 10, 9])
    for s in figures.shares:
        call = calls.get(s.call_id)
        put(SHARES_SHEET, [s.reference, s.name, call.reference if call else s.call_id,
                           s.status.label, s.year, Decimal(s.cap), "yes" if s.at_floor else "no", s.currency,
                           Money(s.paid), Money(s.cofinancing), _share_cell(s.share), "yes" if s.over else "no"])

    book.add_sheet(FUNDS_SHEET, ["Currency", "Funds", "Cash", "Loans active", "Loans outstanding",
                                 "Principal + interest due to date", "Repaid of it", "Recovery rate (repaid ÷ due)",
                                 "Arrears", "Principal repaid", "Written off", "Recovered",
                                 "Write-off recovery (recovered ÷ written off)", "PAR30", "Daily figures of"],
                   widths=[9, 8, 16, 9, 16, 16, 16, 12, 16, 16, 16, 16, 12, 10, 12])

    def money_or_none(value: Decimal | None) -> Money | None:
        return None if value is None else Money(value)

    for f in figures.funds:
        put(FUNDS_SHEET, [f.currency, f.funds, Money(f.cash), f.loans_active, Money(f.outstanding),
                          money_or_none(f.due), money_or_none(f.repaid), _share_cell(f.recovery_rate),
                          money_or_none(f.arrears), Money(f.principal_repaid), Money(f.written_off),
                          Money(f.recovered), _share_cell(f.write_off_recovery), Decimal(f.par30), f.par30_as_of])

    book.add_sheet(STAGES_SHEET, ["Programme year", "Status", "Initiatives"], widths=[14, 18, 12])
    for (year, status), count in sorted(figures.by_year_status.items()):
        put(STAGES_SHEET, [year, status, count])
    for status, count in figures.by_status.items():
        put(STAGES_SHEET, ["All years", status, count])

    book.add_sheet(OUTCOMES_SHEET, ["Figure", "Value"], widths=[60, 12])
    sf = figures.self_funding
    put(OUTCOMES_SHEET, ["Initiatives past their schedule (at the floor)", sf.reached_floor])
    put(OUTCOMES_SHEET, ["Of them not terminated (self-funding)", sf.still_running])
    put(OUTCOMES_SHEET, ["Share self-funding", _share_cell(sf.share)])
    put(OUTCOMES_SHEET, ["Initiatives terminated", figures.terminated])
    put(OUTCOMES_SHEET, ["Milestone reviews that decided to terminate", figures.termination_reviews])
    put(OUTCOMES_SHEET, ["Scorecards started", figures.reports.scorecards])
    put(OUTCOMES_SHEET, ["Self-evaluation reports submitted", figures.reports.submitted])
    put(OUTCOMES_SHEET, ["Self-evaluation reports being drafted, not yet due", figures.reports.open])
    put(OUTCOMES_SHEET, ["Self-evaluation reports overdue", figures.reports.overdue])
    put(OUTCOMES_SHEET, ["Figures as of", figures.today])
    book.save(target)
    return rows
