"""The foresight workbooks (core.spreadsheets): a fund's or the programme's projection month by month under the
scenario asked for, the scenarios' assumptions and floor months, and (the programme's) every fund's figures."""

from __future__ import annotations

from typing import IO

from programme.core.spreadsheets import Money, StreamingWorkbook
from programme.core.texts import gettext as _
from programme.loans.foresight import COLUMN_TITLES, COLUMNS, Projection, Scenario, empty_projection
from programme.loans.services.foresight import FundForesight, ProgrammeForesight, scenario_of


def _scenario_headers() -> list[str]:
    return [_("Scenario"), _("Default rate per year"), _("Loss given default"), _("Prepayment rate per year"),
            _("New lending per year"), _("Administrative costs (share of interest)"), _("Cash floor"),
            _("Month the cash falls below the floor")]


def _month_rows(book: StreamingWorkbook, title: str, projection: Projection, currency: str) -> None:
    book.add_sheet(title, [_("Month"), _("First day"), _("Currency"), *(str(COLUMN_TITLES[c]) for c in COLUMNS),
                           _("Capital utilisation")], [8, 12, 9] + [16] * (len(COLUMNS) + 1))
    for month in projection.months:
        book.append(title, [month.number, month.first_day, currency,
                            *(Money(month.values[c]) for c in COLUMNS), month.utilisation])


def _scenario_row(name: str, scenario: Scenario | None, projection: Projection) -> list[object]:
    if scenario is None:
        assumptions: list[object] = [_("each fund's own")] * 5
    else:
        assumptions = [scenario.annual_default_rate, scenario.loss_given_default, scenario.prepayment_rate,
                       Money(scenario.new_lending_per_year), scenario.admin_cost_share]
    return [name, *assumptions, Money(projection.money("floor")),
            projection.floor_month if projection.floor_month is not None else _("none in 60 months")]


def write_fund_foresight(target: IO[bytes] | str, shown: FundForesight, scenario: Scenario) -> None:
    book = StreamingWorkbook()
    _month_rows(book, _("Projection"), shown.scenario, shown.currency)
    scenarios, risk = _("Scenarios"), _("Risk")
    book.add_sheet(scenarios, _scenario_headers(), [22, 14, 14, 14, 16, 16, 16, 16])
    for name, chosen, projection in ((_("Base (the rules')"), scenario_of(shown.rules.base), shown.base),
                                     (_("This scenario"), scenario, shown.scenario),
                                     (_("Stress (the rules')"), scenario_of(shown.rules.stress), shown.stress)):
        book.append(scenarios, _scenario_row(name, chosen, projection))
    book.add_sheet(risk, [_("Fund"), _("PAR30"), _("Capital utilisation"), _("Standard"), _("Risk score"),
                          _("Warning signs")], [16, 10, 12, 10, 10, 80])
    book.append(risk, [shown.fund.reference, shown.risk.par30, shown.risk.utilisation,
                       shown.rules.capital_utilisation_standard, shown.risk.score, "; ".join(shown.risk.signs)])
    book.save(target)


def write_programme_foresight(target: IO[bytes] | str, shown: ProgrammeForesight, scenario: Scenario | None) -> None:
    book = StreamingWorkbook()
    for currency, projections in sorted(shown.totals.items()):
        _month_rows(book, _("Programme %(currency)s", currency=currency), projections["scenario"], currency)
    funds, chosen = _("Funds"), _("Scenario")
    book.add_sheet(funds, [_("Fund"), _("Initiative"), _("Currency"), _("Cash"), _("Loans outstanding"),
                           _("Approved, not lent"), _("Capital utilisation"), _("Standard"), _("PAR30"), _("Floor"),
                           _("Below the floor (base)"), _("Below the floor (this scenario)"),
                           _("Below the floor (stress)"), _("Risk score"), _("Warning signs")],
                   [12, 30, 9, 14, 14, 14, 12, 10, 10, 14, 12, 12, 12, 10, 80])
    for f in shown.funds:
        book.append(funds, [f.fund.reference, f.fund.name, f.currency, Money(f.base.money("cash")),
                            Money(f.base.money("outstanding")), Money(f.base.money("pipeline")),
                            f.risk.utilisation, f.rules.capital_utilisation_standard, f.risk.par30,
                            Money(f.base.money("floor")), f.base.floor_month, f.scenario.floor_month,
                            f.stress.floor_month, f.risk.score, "; ".join(f.risk.signs)])
    book.add_sheet(chosen, _scenario_headers()[:6], [22, 14, 14, 14, 16, 16])
    book.append(chosen, _scenario_row(_("This scenario"), scenario, empty_projection(shown.start))[:6])
    book.save(target)
