"""The dashboard in Spanish and Portuguese (issue 19): its charts' texts, its figures' names, the targets' and the
validity's sentences and its workbooks' sheets and headings are written in the reader's language, and what is kept
per data version is kept per language too (an English reader never gets a Spanish chart, nor the other way round)."""

from __future__ import annotations

import io
from datetime import date
from decimal import Decimal

import pytest
from flask_babel import refresh
from openpyxl import load_workbook

from programme.dashboard.rank_correlation import spearman, strength
from programme.dashboard.targets import TrendPoint, figure_label, trend_chart
from programme.rulebook import parse_programme_rules
from tests.dashboard.test_targets import ALL_TARGETS
from tests.dashboard.world import TODAY, DashboardWorld
from tests.languages import ENGLISH, PORTUGUESE, SPANISH

D = Decimal
pytestmark = pytest.mark.usefixtures("on_the_worlds_day")


def test_the_charts_are_drawn_in_the_readers_language_and_kept_apart(client, login, world: DashboardWorld):
    login(world.manager)
    english = client.get("/dashboard", headers=ENGLISH).get_data(as_text=True)
    spanish = client.get("/dashboard", headers=SPANISH).get_data(as_text=True)
    again = client.get("/dashboard", headers=ENGLISH).get_data(as_text=True)
    assert "Start-up grants committed: EUR" in english and "Year 1: " in english
    assert "Subvenciones iniciales, comprometido: EUR" in spanish and "Año 1: " in spanish
    assert ">Subvenciones iniciales</text>" in spanish
    assert "Start-up grants committed" not in spanish and "Subvenciones iniciales" not in again
    assert again.count("<svg") == english.count("<svg")


def test_the_dashboard_workbook_is_written_in_the_language_of_whoever_asks(client, login, world: DashboardWorld):
    login(world.admin)
    response = client.get("/dashboard.xlsx", headers=PORTUGUESE)
    assert response.status_code == 200
    book = load_workbook(io.BytesIO(response.data))
    assert book.sheetnames == ["Dinheiro", "Cofinanciamento alavancado", "Participação externa", "Fundos rotativos",
                               "Garantias mútuas", "Iniciativas", "Autofinanciamento, encerradas"]
    money = list(book["Dinheiro"].iter_rows(values_only=True))
    assert money[0] == ("Chamada", "Nome da chamada", "Instrumento", "Moeda", "Comprometido", "Pago")
    assert any(row[0] == "Todas as chamadas" and row[2] == "Subvenções iniciais" for row in money[1:])
    outcomes = list(book["Autofinanciamento, encerradas"].iter_rows(values_only=True))
    assert outcomes[0] == ("Número", "Valor") and outcomes[4][0] == "Iniciativas encerradas"
    shares = list(book["Participação externa"].iter_rows(values_only=True))
    assert {row[6] for row in shares[1:]} <= {"sim", "não"}


def test_the_targets_workbook_in_spanish(app, client, login, world: DashboardWorld, tmp_path):
    path = tmp_path / "programme.toml"
    path.write_text(ALL_TARGETS, encoding="utf-8")
    app.config["PROGRAMME_RULES_FILE"] = str(path)
    login(world.admin)
    response = client.get("/dashboard/targets.xlsx", headers=SPANISH)
    book = load_workbook(io.BytesIO(response.data))
    assert book.sheetnames == ["Metas", "Tendencias"]
    rows = list(book["Metas"].iter_rows(values_only=True))
    assert rows[0][:4] == ("Cifra", "Clave", "Sentido", "Meta de este año")
    leverage = next(r for r in rows if r[1] == "co_financing_leveraged")
    assert leverage[0] == "Cofinanciamiento apalancado por unidad de dinero del programa pagado"
    assert leverage[2] == "como mínimo" and leverage[6] == "cumplida"


def test_a_trend_chart_says_its_periods_and_verdicts_in_spanish(app):
    (target,) = parse_programme_rules('[programme]\nname = "Programme"\n[[targets]]\nfigure = "par30"\n'
                                      'direction = "at_most"\nvalue = 0.05\n', "programme.toml").targets
    points = [TrendPoint(date(2027, 9, 30), None, D("0.05"), None),
              TrendPoint(date(2027, 12, 31), D("0.085"), D("0.05"), False),
              TrendPoint(TODAY, D("0.04"), D("0.05"), True, today=True)]
    with app.test_request_context("/", headers=SPANISH):
        refresh()
        chart = trend_chart(points, target, "EUR", "quarter")
        assert figure_label(target) == "Cartera en riesgo a más de 30 días (PAR30)"
    assert chart.description.startswith("Cartera en riesgo a más de 30 días (PAR30) (EUR) al cierre de cada período")
    assert "T3 2027: sin cifra" in chart.description and "T4 2027: 8,5 % (no cumplida)" in chart.description
    assert "hoy: 4 % (cumplida)" in chart.description
    assert ("T3 2027" in [label for _, label in chart.x_labels]) and chart.x_labels[-1][1] == "hoy"
    with app.test_request_context("/", headers=ENGLISH):
        refresh()
        assert "Q4 2027: 8.5 % (not met)" in trend_chart(points, target, "EUR", "quarter").description


def test_the_validity_words_are_in_the_readers_language(app):
    with app.test_request_context("/", headers=PORTUGUESE):
        refresh()
        assert strength(D("0.2")) == "positiva fraca" and strength(D("-0.8")) == "negativa forte"
        assert spearman([1, 2], [2, 1]).reason == "menos de 3 pares"
        assert spearman([1, 1, 1], [1, 2, 3]).reason == "todas as pontuações são iguais"
    with app.test_request_context("/", headers=ENGLISH):
        refresh()
        assert strength(D("0.05")) == "no visible relation" and strength(D("0.2")) == "weak positive"
