"""The programme's targets (rules/programme.toml) against the dashboard's own figures, their trends worked out from
dated records, and the targets on the dashboard and the public figures, on the generated data of
tests/dashboard/world.py (today 1 Mar 2028)."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path

import pytest

from programme.config import PROJECT_ROOT
from programme.dashboard.figures import programme_figures
from programme.dashboard.target_trends import HISTORIES, PROGRAMME, period_ends
from programme.dashboard.targets import ACTUALS, target_results
from programme.extensions import db
from programme.loans.models import PortfolioFigures
from programme.monitoring.models import ReportStatus, SelfEvaluationReport
from programme.monitoring.services import scorecards as monitoring
from programme.rulebook import PROGRAMME_FIGURES, load_rules_file, parse_programme_rules
from tests.dashboard.world import NOW, TODAY, ZONE, DashboardWorld

D = Decimal
pytestmark = pytest.mark.usefixtures("on_the_worlds_day")

ALL_TARGETS = """
[programme]
name = "Test programme"

[[targets]]
figure = "co_financing_leveraged"
direction = "at_least"
value = 1.0
by_year = { 2028 = 0.3 }

[[targets]]
figure = "self_funding_share"
direction = "at_least"
value = 0.6

[[targets]]
figure = "par30"
direction = "at_most"
value = 0.05

[[targets]]
figure = "reports_on_time"
direction = "at_least"
value = 0.9

[[targets]]
figure = "recovery_rate"
direction = "at_least"
value = 0.5

[[targets]]
figure = "write_off_recovery"
direction = "at_least"
value = 0.5

[[targets]]
figure = "initiatives_over_cap"
direction = "at_most"
value = 0
"""


def _rules(text: str = ALL_TARGETS):
    return parse_programme_rules(text)


def _result(report, figure: str):
    return next(r for r in report.results if r.target.figure == figure)


def test_every_known_figure_has_an_actual_and_a_history():
    assert set(ACTUALS) == set(PROGRAMME_FIGURES) == set(HISTORIES)


def test_period_ends_are_quarter_or_year_ends_then_today():
    assert period_ends(date(2027, 5, 10), date(2028, 3, 1), "quarter") == [
        date(2027, 6, 30), date(2027, 9, 30), date(2027, 12, 31), date(2028, 3, 1)]
    assert period_ends(date(2026, 5, 10), date(2028, 3, 1), "year") == [
        date(2026, 12, 31), date(2027, 12, 31), date(2028, 3, 1)]
    assert period_ends(date(2028, 2, 1), date(2028, 3, 31), "quarter") == [date(2028, 3, 31)]


def test_each_targets_actual_is_the_dashboards_own_figure(world: DashboardWorld):
    figures = programme_figures(today=TODAY, timezone=ZONE)
    report = target_results(_rules(), figures, zone=ZONE)
    actual = {r.target.figure: [(a.scope, a.value) for a in r.actuals] for r in report.results}
    assert actual["co_financing_leveraged"] == [(row.currency, row.ratio) for row in figures.leverage_totals]
    assert actual["co_financing_leveraged"] == [("EUR", D("0.3810"))]  # 40,000 verified ÷ 105,000 paid
    assert actual["self_funding_share"] == [(PROGRAMME, figures.self_funding.share)] == [(PROGRAMME, D("0.5"))]
    assert actual["par30"] == [(f.currency, f.par30) for f in figures.funds]
    assert actual["reports_on_time"] == [(PROGRAMME, figures.reports.on_time_share)]
    assert actual["recovery_rate"] == [(f.currency, f.recovery_rate) for f in figures.funds]
    assert actual["write_off_recovery"] == [(f.currency, f.write_off_recovery) for f in figures.funds]
    assert actual["initiatives_over_cap"] == [(PROGRAMME, D(sum(1 for s in figures.shares if s.over)))]
    # Each trend ends on today's figure itself.
    for result in report.results:
        if not result.reconstructed:
            assert result.trends == [] and result.target.figure == "initiatives_over_cap"
            continue
        for trend, figure in zip(result.trends, result.actuals, strict=True):
            assert trend.points[-1].today and trend.points[-1].value == figure.value


def test_met_and_not_met_in_both_directions(world: DashboardWorld):
    figures = programme_figures(today=TODAY, timezone=ZONE)
    (par30,) = figures.funds
    assert par30.par30 > 0
    met_at_most = ('[programme]\nname = "Programme"\n[[targets]]\nfigure = "par30"\ndirection = "at_most"\n'
                   f'value = {par30.par30}\n')
    missed_at_most = met_at_most.replace(f"value = {par30.par30}", "value = 0.0")
    met_at_least = ('[programme]\nname = "Programme"\n[[targets]]\nfigure = "co_financing_leveraged"\n'
                    'direction = "at_least"\nvalue = 0.381\n')
    missed_at_least = met_at_least.replace("0.381", "0.3811")
    for text, status in ((met_at_most, "met"), (missed_at_most, "not_met"), (met_at_least, "met"),
                         (missed_at_least, "not_met")):
        (result,) = target_results(_rules(text), figures, zone=ZONE, with_trends=False).results
        assert result.status == status, text


def test_a_by_year_target_is_judged_against_this_years_value(world: DashboardWorld):
    figures = programme_figures(today=TODAY, timezone=ZONE)
    report = target_results(_rules(), figures, zone=ZONE)
    leverage = _result(report, "co_financing_leveraged")
    assert leverage.year == 2028 and leverage.year_target == D("0.3")  # by_year 2028, not the 1.0 of other years
    assert leverage.status == "met"
    points = {p.day: p for p in leverage.trends[0].points}
    assert points[date(2027, 12, 31)].target == D("1.0") and points[date(2027, 12, 31)].met is False


def test_a_figure_that_does_not_exist_yet_is_neither_met_nor_missed(world: DashboardWorld):
    figures = programme_figures(today=TODAY, timezone=ZONE)
    result = _result(target_results(_rules(), figures, zone=ZONE), "reports_on_time")
    assert figures.reports.on_time_share is None
    assert result.status == "no_figure" and result.actuals[0].met is None


def test_the_history_recomputed_for_today_equals_the_dashboards_figure(world: DashboardWorld):
    figures = programme_figures(today=TODAY, timezone=ZONE)
    report = target_results(_rules(), figures, zone=ZONE, with_trends=False)
    for result in report.results:
        history = HISTORIES[result.target.figure]([date(2027, 12, 31), TODAY], ZONE)
        if not history.reconstructed:
            assert result.target.figure == "initiatives_over_cap" and history.values == {}
            continue
        for actual in result.actuals:
            assert history.values.get(actual.scope, [None, None])[-1] == actual.value, result.target.figure


def test_co_financing_leveraged_by_quarter_from_dated_payments(world: DashboardWorld):
    # Paid: start-up 10,000 (1 Jul 2027) and 5,000 (2 Jul), capitalisation 50,000 (1 Jul), matching 20,000
    # (15 Sep), capitalisation 20,000 (1 Feb 2028); co-financing 40,000 verified on 1 Sep 2027.
    ends = [date(2027, 6, 30), date(2027, 9, 30), date(2027, 12, 31), TODAY]
    history = HISTORIES["co_financing_leveraged"](ends, ZONE)
    assert history.values == {"EUR": [None, D("0.4706"), D("0.4706"), D("0.3810")]}


def test_self_funding_by_quarter_from_start_dates_and_terminations(world: DashboardWorld):
    # Four-year schedule: I3 (started 1 Jan 2021, terminated, no day recorded: terminated throughout) reaches the
    # floor on 1 Jan 2025, I2 (1 Jan 2022, running) on 1 Jan 2026.
    ends = [date(2024, 12, 31), date(2025, 3, 31), date(2025, 12, 31), date(2026, 3, 31), TODAY]
    history = HISTORIES["self_funding_share"](ends, ZONE)
    assert history.values == {PROGRAMME: [None, D("0"), D("0"), D("0.5"), D("0.5")]}


def test_par30_by_quarter_is_the_daily_jobs_last_figure_in_each_period(world: DashboardWorld):
    def row(day: date, par30: str) -> PortfolioFigures:
        return PortfolioFigures(as_of=day, fund_id=None, currency="EUR", loans_active=1, loans_late=1,
                                outstanding=D("1000.00"), at_risk_30=D("1000.00") * D(par30), par30=D(par30),
                                arrears_1_30=0, arrears_31_60=0, arrears_61_90=0, arrears_over_90=0,
                                due_to_date=D("100.00"), repaid_to_date=D("80.00"))
    db.session.add_all([row(date(2027, 8, 15), "0.1"), row(date(2027, 9, 30), "0.2"), row(date(2027, 6, 1), "0.3")])
    db.session.flush()
    ends = [date(2027, 6, 30), date(2027, 9, 30), date(2027, 12, 31), TODAY]
    par30 = HISTORIES["par30"](ends, ZONE).values["EUR"]
    today_par30 = programme_figures(today=TODAY, timezone=ZONE).funds[0].par30
    assert par30 == [D("0.300000"), D("0.200000"), None, today_par30]  # no run in Q4 2027: no figure
    recovery = HISTORIES["recovery_rate"](ends, ZONE).values["EUR"]
    assert recovery[:3] == [D("0.8000"), D("0.8000"), None]


def test_reports_on_time_by_quarter_from_due_days_and_submissions(world: DashboardWorld):
    initiative = world.initiatives[0]
    card = monitoring.start_scorecard(initiative, template_key=None,
                                      rules_folder=str(Path(__file__).resolve().parents[2] / "rules"),
                                      actor=world.applicant, now=NOW)

    def report(number: int, due: date, submitted: date | None) -> SelfEvaluationReport:
        return SelfEvaluationReport(
            initiative_id=initiative.id, scorecard_id=card.id, number=number, period_start=date(2027, 1, 1),
            period_end=due, due_on=due, narrative="Done." if submitted else "",
            status=ReportStatus.SUBMITTED if submitted else ReportStatus.DRAFT,
            submitted_at=datetime.combine(submitted, datetime.min.time(), tzinfo=UTC) if submitted else None)
    db.session.add_all([
        report(1, date(2027, 7, 15), date(2027, 7, 10)),   # on time
        report(2, date(2027, 8, 15), date(2027, 10, 20)),  # overdue at the end of Q3, in by the end of Q4
        report(3, date(2027, 11, 15), None),               # overdue from Q4 on
    ])
    db.session.flush()
    ends = [date(2027, 6, 30), date(2027, 9, 30), date(2027, 12, 31), TODAY]
    # Q2: nothing due -> none; Q3: 1 in, 1 overdue -> 0.5; Q4: 2 in, 1 overdue -> 2/3; today the same.
    history = HISTORIES["reports_on_time"](ends, ZONE)
    assert history.values == {PROGRAMME: [None, D("0.5"), D("0.6667"), D("0.6667")]}
    assert programme_figures(today=TODAY, timezone=ZONE).reports.on_time_share == D("0.6667")


# --- the pages ----------------------------------------------------------------------------------


def _main(response) -> str:
    html = response.get_data(as_text=True)
    return html[html.index("<main"):html.index("</main>")]


def test_the_dashboard_shows_each_target_against_its_figure_with_words(app, client, login, world, tmp_path):
    path = tmp_path / "programme.toml"
    path.write_text(ALL_TARGETS, encoding="utf-8")
    app.config["PROGRAMME_RULES_FILE"] = str(path)
    login(world.manager)
    html = _main(client.get("/dashboard"))
    section = html[html.index('id="targets"'):]
    assert "The programme's own targets" in section
    leverage = re.search(r'<tr class="target-row target-co_financing_leveraged met">.*?</tr>', section, re.S).group(0)
    assert "0.381 ×" in leverage and "✓ Met" in leverage and "at least 0.3 ×" in leverage
    assert "✗ Not met" in section or "✓ Met" in section
    assert section.count('class="target-row') == 7
    assert "Not reconstructed" in section  # initiatives over the cap: said, not invented
    assert "<svg" in section and "trend against the target" in section
    assert str(path) in section


def test_without_a_rules_file_the_dashboard_has_no_targets(app, client, login, world, tmp_path):
    app.config["PROGRAMME_RULES_FILE"] = str(tmp_path / "absent.toml")
    login(world.manager)
    response = client.get("/dashboard")
    assert response.status_code == 200
    assert 'id="targets"' not in response.get_data(as_text=True)


def test_an_invalid_rules_file_is_named_on_the_dashboard_not_on_the_public_page(app, client, login, world, tmp_path):
    path = tmp_path / "programme.toml"
    path.write_text(ALL_TARGETS.replace('"par30"', '"par_30"'), encoding="utf-8")
    app.config["PROGRAMME_RULES_FILE"] = str(path)
    public = _main(client.get("/programme-figures"))
    assert "The programme's targets cannot be shown at the moment." in public and str(path) not in public
    login(world.manager)
    html = _main(client.get("/dashboard"))
    assert f"{path}: targets[2].figure: expected one of" in html.replace("&#39;", "'")


def test_the_public_page_holds_the_programme_to_its_targets(app, client, world, tmp_path):
    path = tmp_path / "programme.toml"
    path.write_text(ALL_TARGETS, encoding="utf-8")
    app.config["PROGRAMME_RULES_FILE"] = str(path)
    html = _main(client.get("/programme-figures"))
    assert "The programme's own targets" in html and "0.381 ×" in html
    assert str(path) not in html
    for initiative in world.initiatives:
        assert initiative.reference not in html


def test_the_shipped_rules_file_is_read_by_default(client, login, world):
    login(world.manager)
    html = _main(client.get("/dashboard"))
    assert "Cluster Development Programme" in html and 'id="target-par30"' in html


def test_the_targets_export_matches_the_page(app, client, login, world, tmp_path):
    import io

    from openpyxl import load_workbook

    path = tmp_path / "programme.toml"
    path.write_text(ALL_TARGETS, encoding="utf-8")
    app.config["PROGRAMME_RULES_FILE"] = str(path)
    login(world.admin)
    response = client.get("/dashboard/targets.xlsx")
    assert response.status_code == 200
    book = load_workbook(io.BytesIO(response.data))
    rows = list(book["Targets"].iter_rows(values_only=True))
    assert rows[0][:7] == ("Figure", "Key", "Direction", "Target this year", "Scope", "Actual", "Verdict")
    leverage = next(r for r in rows if r[1] == "co_financing_leveraged")
    assert leverage[2:5] == ("at least", 0.3, "EUR") and Decimal(str(leverage[5])) == D("0.381")
    assert leverage[6] == "met"
    assert len(rows) == 1 + 7
    trends = list(book["Trends"].iter_rows(values_only=True))
    assert any(r[0].startswith("Co-financing") and r[2].date() == date(2027, 9, 30)
               and Decimal(str(r[3])) == D("0.4706") for r in trends[1:])
    app.config["PROGRAMME_RULES_FILE"] = str(tmp_path / "absent.toml")
    assert client.get("/dashboard/targets.xlsx").status_code == 404


def test_the_trend_chart_marks_met_and_missed_points_by_shape_and_skips_missing_ones():
    from programme.dashboard.targets import TrendPoint, trend_chart

    (target,) = _rules('[programme]\nname = "Programme"\n[[targets]]\nfigure = "par30"\ndirection = "at_most"\n'
                       'value = 0.05\n').targets
    points = [TrendPoint(date(2027, 6, 30), D("0.02"), D("0.05"), True),
              TrendPoint(date(2027, 9, 30), None, D("0.05"), None),
              TrendPoint(date(2027, 12, 31), D("0.08"), D("0.05"), False),
              TrendPoint(TODAY, D("0.04"), D("0.05"), True, today=True)]
    chart = trend_chart(points, target, "EUR", "quarter")
    assert [met for _, _, met in chart.marks] == [True, False, True]
    assert chart.figure_path.count("M") == 2  # the line breaks where the figure is missing
    assert "Q3 2027: no figure" in chart.description and "Q4 2027: 8 % (not met)" in chart.description
    assert "today: 4 % (met)" in chart.description
    assert trend_chart([TrendPoint(TODAY, None, D("0.05"), None, today=True)], target, "", "quarter") is None


def test_the_targets_notes_read_in_the_readers_language(app, client, login, world):
    """The shipped programme rules give each target's note in Spanish and Portuguese (issue 19): the dashboard shows
    the reader's; a language left out of a note reads in English."""
    from programme.rulebook.texts import TEXT_LANGUAGES

    shipped = PROJECT_ROOT / "rules" / "programme.toml"
    rules = load_rules_file(shipped)
    for target in rules.targets:
        assert all(target.note_in(language) != target.note for language in TEXT_LANGUAGES), target.figure
    app.config["PROGRAMME_RULES_FILE"] = str(shipped)
    login(world.manager)
    first = rules.targets[0]
    spanish = _main(client.get("/dashboard", headers={"Accept-Language": "es"}))
    assert first.note_in("es") in spanish and first.note not in spanish
    english = _main(client.get("/dashboard", headers={"Accept-Language": "en"}))
    assert first.note in english
    untranslated = first.model_copy(update={"translations": {}})
    assert untranslated.note_in("pt") == first.note
