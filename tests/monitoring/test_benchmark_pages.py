"""A KPI's benchmark is shown a page at a time (issue 15): the ranking keeps its order and its anonymous letters
over the whole ranking, each page shows its positions, and the reader is told where its own initiatives are."""

from __future__ import annotations

from decimal import Decimal

from programme.monitoring.models import Direction
from programme.monitoring.services.benchmarking import Benchmark, BenchmarkRow, letters
from programme.monitoring.views.benchmarking import PER_PAGE, _chart, _page_of


def _mark(count: int, own_at: int) -> Benchmark:
    rows = []
    for index in range(count):
        own = index == own_at
        rows.append(BenchmarkRow(
            "INI-1 · Ours" if own else f"Initiative {letters(index)}", 1 if own else None, "INI-1" if own else None,
            "Ours" if own else None, Decimal(index), None, Decimal(0), Decimal(count),
            Decimal(count - index) / count, index + 1, own))
    return Benchmark("k", "A KPI", "firms", next(iter(Direction)), False, False, rows)


def test_a_page_holds_its_share_of_the_ranking_in_order():
    mark = _mark(2 * PER_PAGE + 7, own_at=PER_PAGE + 3)
    first, second, last = (_page_of(mark, n) for n in (1, 2, 3))
    assert [r.rank for r in first.rows] == list(range(1, PER_PAGE + 1))
    assert [r.rank for r in second.rows] == list(range(PER_PAGE + 1, 2 * PER_PAGE + 1))
    assert len(last.rows) == 7 and last.first == 2 * PER_PAGE + 1 and last.pages == 3
    assert second.rows[0].label == mark.rows[PER_PAGE].label  # the letters are the whole ranking's
    assert [(o.label, o.rank, o.page) for o in first.own] == [("INI-1 · Ours", PER_PAGE + 4, 2)]
    assert _page_of(mark, 99).page == 3 and _page_of(mark, 0).page == 1
    chart = _chart(second.rows)
    assert chart is not None and len(chart.bars) == PER_PAGE  # the chart draws the page's rows only


def test_the_page_shows_the_pager_and_where_ones_own_initiative_is(app, monkeypatch):
    from programme.monitoring.views import benchmarking as views

    mark = _mark(PER_PAGE + 1, own_at=PER_PAGE)
    shown = views._page_of(mark, 1)
    with app.test_request_context("/benchmarking/k"):
        from flask import render_template
        from flask_login import AnonymousUserMixin

        monkeypatch.setattr("flask_login.utils._get_user", lambda: AnonymousUserMixin())
        html = render_template("monitoring/benchmark_kpi.html", mark=mark, shown=shown, chart=_chart(shown.rows),
                               manager=False, publish_form=None, withdraw_form=None)
    assert "page 1 of 2" in html and "positions 1–50 of 51" in html
    assert 'href="/benchmarking/k?page=2">INI-1 · Ours</a>, rank 51 (page 2)' in html
    assert html.count('<tr class="own"') == 0 and "Initiative A" in html
