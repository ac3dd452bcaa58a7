"""The foresight workbooks (core.spreadsheets): a fund's or the programme's projection month by month under the
scenario asked for, the scenarios' assumptions and floor months, and (the programme's) every fund's figures."""

from __future__ import annotations

from typing import IO

from programme.core.spreadsheets import Money, StreamingWorkbook
from programme.loans.foresight import COLUMN_TITLES, COLUMNS, Projection, Scenario, empty_projection
from programme.loans.services.foresight import FundForesight, ProgrammeForesight, scenario_of

_SCENARIO_HEADERS = ["Scenario", "Default rate per year", "Loss given default", "Prepayment rate per year",
                     "New lending per year", "Administrative costs (share of interest)", "Cash floor",
                     "Month the cash falls below the floor"]


def _month_rows(book: StreamingWorkbook, title: str, projection: Projection, currency: str) -> None:
    book.add_sheet(title, ["Month", "First day", "Currency", *(COLUMN_TITLES[c] for c in COLUMNS),
                           "Capital utilisation"], [8, 12, 9] + [16] * (len(COLUMNS) + 1))
    for month in projection.months:
        book.append(title, [month.number, month.first_day, currency,
                            *(Money(month.values[c]) for c in COLUMNS), month.utilisation])


def _scenario_row(name: str, scenario: Scenario | None, projection: Projection) -> list[object]:
    if scenario is None:
        assumptions: list[object] = ["each fund's own"] * 5
    else:
        assumptions = [scenario.annual_default_rate, scenario.loss_given_default, scenario.prepayment_rate,
                       Money(scenario.new_lending_per_year), scenario.admin_cost_share]
    return [name, *assumptions, Money(projection.money("floor")),
            projection.floor_month if projection.floor_month is not None else "none in 60 months"]


def write_fund_foresight(target: IO[bytes] | str, shown: FundForesight, scenario: Scenario) -> None:
    book = StreamingWorkbook()
    _month_rows(book, "Projection", shown.scenario, shown.currency)
    book.add_sheet("Scenarios", _SCENARIO_HEADERS, [22, 14, 14, 14, 16, 16, 16, 16])
    for name, chosen, projection in (("Base (the rules')", scenario_of(shown.rules.base), shown.base),
                                     ("This scenario", scenario, shown.scenario),
                                     ("Stress (the rules')", scenario_of(shown.rules.stress), shown.stress)):
        book.append("Scenarios", _scenario_row(name, chosen, projection))
    book.add_sheet("Risk", ["Fund", "PAR30", "Capital utilisation", "Standard", "Risk score", "Warning signs"],
                   [16, 10, 12, 10, 10, 80])
    book.append("Risk", [shown.fund.reference, shown.risk.par30, shown.risk.utilisation,
                         shown.rules.capital_utilisation_standard, shown.risk.score, "; ".join(shown.risk.signs)])
    book.save(target)


def write_programme_foresight(target: IO[bytes] | str, shown: ProgrammeForesight, scenario: Scenario | None) -> None:
    book = StreamingWorkbook()
    for currency, projections in sorted(shown.totals.items()):
        _month_rows(book, f"Programme {currency}", projections["scenario"], currency)
    book.add_sheet("Funds", ["Fund", "Initiative", "Currency", "Cash", "Loans outstanding", "Approved, not lent",
                             "Capital utilisation", "Standard", "PAR30", "Floor", "Below the floor (base)",
                             "Below the floor (this scenario)", "Below the floor (stress)", "Risk score",
                             "Warning signs"], [12, 30, 9, 14, 14, 14, 12, 10, 10, 14, 12, 12, 12, 10, 80])
    for f in shown.funds:
        book.append("Funds", [f.fund.reference, f.fund.name, f.currency, Money(f.base.money("cash")),
                              Money(f.base.money("outstanding")), Money(f.base.money("pipeline")),
                              f.risk.utilisation, f.rules.capital_utilisation_standard, f.risk.par30,
                              Money(f.base.money("floor")), f.base.floor_month, f.scenario.floor_month,
                              f.stress.floor_month, f.risk.score, "; ".join(f.risk.signs)])
    book.add_sheet("Scenario", _SCENARIO_HEADERS[:6], [22, 14, 14, 14, 16, 16])
    book.append("Scenario", _scenario_row("This scenario", scenario, empty_projection(shown.start))[:6])
    book.save(target)
