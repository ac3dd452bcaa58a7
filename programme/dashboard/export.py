"""The programme dashboard's Excel export (``dashboard.figures``), one sheet per group of figures, written in
streaming mode, amounts as Decimal cells with the money format: never a float. The ledger's exports are in
``programme.ledger.export``."""

from __future__ import annotations

from decimal import Decimal
from typing import Any, BinaryIO

from programme.core.spreadsheets import Money, StreamingWorkbook
from programme.core.texts import gettext as _
from programme.core.texts import pgettext
from programme.dashboard.money_figures import INSTRUMENTS

#: The sheets' titles in English (tests and other readers name them so); a workbook is written in the language of
#: whoever asks for it, its sheets' titles too (``sheet_titles``).
MONEY_SHEET = "Money"
LEVERAGE_SHEET = "Co-financing leveraged"
SHARES_SHEET = "External share"
FUNDS_SHEET = "Revolving funds"
GUARANTEES_SHEET = "Mutual guarantees"
STAGES_SHEET = "Initiatives"
OUTCOMES_SHEET = "Self-funding, terminations"


def sheet_titles() -> dict[str, str]:
    """Each sheet's title (by its English one) in the language being answered."""
    return {MONEY_SHEET: _("Money"), LEVERAGE_SHEET: _("Co-financing leveraged"), SHARES_SHEET: _("External share"),
            FUNDS_SHEET: _("Revolving funds"), GUARANTEES_SHEET: _("Mutual guarantees"), STAGES_SHEET: _("Initiatives"),
            OUTCOMES_SHEET: _("Self-funding, terminations")}


def _yes(value: bool) -> str:
    return _("yes") if value else _("no")


def _share_cell(value: Decimal | None) -> Decimal | None:
    return None if value is None else Decimal(value)


def write_dashboard(target: str | BinaryIO, figures: Any) -> int:
    """Write the dashboard's figures (a ``dashboard.figures.ProgrammeFigures``) to an .xlsx, one sheet per group
    of figures, money as exact Decimal cells, shares as decimals (0.25 is 25 %); returns the rows written. The
    external shares and "over the cap" are written as funding works them out (``share_figures``)."""
    book = StreamingWorkbook()
    rows = 0
    titles = sheet_titles()
    all_calls = _("All calls")

    def add_sheet(sheet: str, headings: list[str], widths: list[int] | None = None) -> None:
        book.add_sheet(titles[sheet], headings, widths=widths)

    def put(sheet: str, values: list[Any]) -> None:
        nonlocal rows
        book.append(titles[sheet], values)
        rows += 1

    calls = {call.id: call for call in figures.calls}
    add_sheet(MONEY_SHEET, [_("Call"), _("Call name"), _("Instrument"), _("Currency"), _("Committed"), _("Paid")],
              widths=[16, 40, 28, 9, 16, 16])
    for m in figures.money:
        call = calls.get(m.call_id)
        put(MONEY_SHEET, [call.reference if call else m.call_id, call.name if call else "",
                          str(INSTRUMENTS[m.instrument]), m.currency, Money(m.committed), Money(m.paid)])
    for m in figures.money_totals:
        put(MONEY_SHEET, [all_calls, None, str(INSTRUMENTS[m.instrument]), m.currency, Money(m.committed),
                          Money(m.paid)])

    add_sheet(LEVERAGE_SHEET, [_("Call"), _("Currency"), _("Grants paid"), _("Fund capitalisation paid"),
                               _("Programme money paid"), _("Co-financing verified"),
                               _("Leverage (co-financing ÷ paid)")], widths=[16, 9, 16, 16, 16, 16, 14])
    for lev in [*figures.leverage, *figures.leverage_totals]:
        call = calls.get(lev.call_id) if lev.call_id is not None else None
        put(LEVERAGE_SHEET, [call.reference if call else all_calls, lev.currency, Money(lev.grants_paid),
                             Money(lev.capitalisation_paid), Money(lev.programme_paid), Money(lev.cofinancing),
                             _share_cell(lev.ratio)])

    add_sheet(SHARES_SHEET, [_("Initiative"), _("Name"), _("Call"), _("Status"), _("Programme year"), _("Cap"),
                             _("At floor"), _("Currency"), _("Matching grants paid in year"),
                             _("Co-financing verified in year"), _("External share"), _("Over the cap")],
              widths=[16, 40, 16, 16, 9, 9, 9, 9, 16, 16, 10, 9])
    for s in figures.shares:
        call = calls.get(s.call_id)
        put(SHARES_SHEET, [s.reference, s.name, call.reference if call else s.call_id,
                           s.status.label, s.year, Decimal(s.cap), _yes(s.at_floor), s.currency,
                           Money(s.paid), Money(s.cofinancing), _share_cell(s.share), _yes(s.over)])

    add_sheet(FUNDS_SHEET, [_("Currency"), _("Funds"), _("Cash"), _("Loans active"), _("Loans outstanding"),
                            _("Principal + interest due to date"), _("Repaid of it"),
                            _("Recovery rate (repaid ÷ due)"), _("Arrears"), _("Principal repaid"), _("Written off"),
                            _("Recovered"), _("Write-off recovery (recovered ÷ written off)"), _("PAR30"),
                            _("Daily figures of")],
              widths=[9, 8, 16, 9, 16, 16, 16, 12, 16, 16, 16, 16, 12, 10, 12])

    def money_or_none(value: Decimal | None) -> Money | None:
        return None if value is None else Money(value)

    for f in figures.funds:
        put(FUNDS_SHEET, [f.currency, f.funds, Money(f.cash), f.loans_active, Money(f.outstanding),
                          money_or_none(f.due), money_or_none(f.repaid), _share_cell(f.recovery_rate),
                          money_or_none(f.arrears), Money(f.principal_repaid), Money(f.written_off),
                          Money(f.recovered), _share_cell(f.write_off_recovery), Decimal(f.par30), f.par30_as_of])

    # The mutual guarantees on the funds' loans, per currency, as the dashboard's page shows them
    # (``loans.services.guarantee_figures``): covered now, calls, called, collected, written off, still owed.
    add_sheet(GUARANTEES_SHEET, [_("Currency"), _("Covered now"), pgettext("guarantee", "Calls"), _("Called"),
                                 _("Collected"), _("Written off"), _("Still owed")],
              widths=[9, 16, 8, 16, 16, 16, 16])
    for g in figures.guarantees:
        put(GUARANTEES_SHEET, [g.currency, Money(g.guaranteed), g.calls, Money(g.called), Money(g.collected),
                               Money(g.written_off), Money(g.owed)])

    add_sheet(STAGES_SHEET, [_("Programme year"), _("Status"), _("Initiatives")], widths=[14, 18, 12])
    for (year, status), count in sorted(figures.by_year_status.items()):
        put(STAGES_SHEET, [year, status, count])
    for status, count in figures.by_status.items():
        put(STAGES_SHEET, [_("All years"), status, count])

    add_sheet(OUTCOMES_SHEET, [_("Figure"), _("Value")], widths=[60, 12])
    sf = figures.self_funding
    put(OUTCOMES_SHEET, [_("Initiatives past their schedule (at the floor)"), sf.reached_floor])
    put(OUTCOMES_SHEET, [_("Of them not terminated (self-funding)"), sf.still_running])
    put(OUTCOMES_SHEET, [_("Share self-funding"), _share_cell(sf.share)])
    put(OUTCOMES_SHEET, [_("Initiatives terminated"), figures.terminated])
    put(OUTCOMES_SHEET, [_("Milestone reviews that decided to terminate"), figures.termination_reviews])
    put(OUTCOMES_SHEET, [_("Scorecards started"), figures.reports.scorecards])
    put(OUTCOMES_SHEET, [_("Self-evaluation reports submitted"), figures.reports.submitted])
    put(OUTCOMES_SHEET, [_("Self-evaluation reports being drafted, not yet due"), figures.reports.open])
    put(OUTCOMES_SHEET, [_("Self-evaluation reports overdue"), figures.reports.overdue])
    put(OUTCOMES_SHEET, [_("Figures as of"), figures.today])
    book.save(target)
    return rows
