"""The benchmarking pages: shared KPIs, one KPI's ranking with its chart, publication of names, the KPI-matrix
export."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from flask import Blueprint, flash, redirect, render_template, url_for
from flask_login import login_required

from programme.core.access import Role, require_role
from programme.core.charts import Scale, rounded
from programme.core.money import symbols_in_use
from programme.core.texts import gettext as _
from programme.core.timezone import programme_today
from programme.core.web import actor, commit, now, page_arg, programme_zone, send_workbook
from programme.dashboard.cache import data_version
from programme.monitoring.export import write_kpi_matrix
from programme.monitoring.forms.benchmarking import PublishForm, WithdrawForm
from programme.monitoring.services import benchmarking
from programme.monitoring.services.benchmarking import Benchmark, BenchmarkRow

bp = Blueprint("benchmarking", __name__)


@dataclass(frozen=True)
class Bar:
    label: str
    y: int
    x: Decimal
    width: Decimal
    own: bool
    text: str
    title: str


@dataclass(frozen=True)
class Chart:
    width: int
    height: int
    left: int
    zero_x: Decimal
    target_x: Decimal
    bars: list[Bar]
    description: str


def _percent(value: Decimal) -> str:
    """A percentage as written in the language being answered (12.5 %, 12,5 %)."""
    return f"{value} %".replace(".", symbols_in_use()[0])


def _chart(rows: list[BenchmarkRow], width: int = 720, left: int = 220, row: int = 26) -> Chart | None:
    """Horizontal bars of progress (0 at the baseline, 100 % at the target), clipped to −50 %…150 %."""
    ranked = [r for r in rows if r.progress is not None]
    if not ranked:
        return None
    scale = Scale(Decimal("-0.5"), Decimal("1.5"), left, width - 20, clip=True)

    def at(value: Decimal) -> Decimal:  # an x coordinate in the SVG, to a tenth of a pixel
        return rounded(scale.at(value))

    zero = at(Decimal(0))
    bars = []
    for index, r in enumerate(ranked):
        end = at(r.progress)  # type: ignore[arg-type]
        text = _percent((r.progress * 100).quantize(Decimal("0.1")))  # type: ignore[operator]
        bars.append(Bar(r.label, 20 + index * row, min(zero, end), abs(end - zero), r.own, text,
                        _("%(initiative)s: rank %(rank)s, progress %(progress)s", initiative=r.label, rank=r.rank,
                          progress=text)))
    height = 30 + len(ranked) * row
    description = "; ".join(b.title for b in bars)
    return Chart(width, height, left, zero, at(Decimal(1)), bars, description)


def _version() -> str:
    """The data version the benchmarking pages keep what they read by."""
    return data_version(today=programme_today(programme_zone()))


@bp.route("/benchmarking")
@login_required
def index():
    user = actor()
    kpis = benchmarking.shared_kpis(actor=user, version=_version())
    manager = user.has_role(Role.PROGRAMME_MANAGER)
    exporter = manager or user.has_role(Role.FUND_ADMINISTRATOR)
    return render_template("monitoring/benchmarking.html", kpis=kpis, exporter=exporter,
                           names_shown=exporter)


@bp.route("/benchmarking/<kpi_key>")
@login_required
def kpi(kpi_key: str):
    user = actor()
    mark = benchmarking.benchmark(kpi_key, actor=user, version=_version())
    manager = user.has_role(Role.PROGRAMME_MANAGER)
    shown = _page_of(mark, page_arg())
    return render_template("monitoring/benchmark_kpi.html", mark=mark, shown=shown, chart=_chart(shown.rows),
                           manager=manager, publish_form=PublishForm(), withdraw_form=WithdrawForm())


#: Initiatives per page of a KPI's benchmark (its table and its chart).
PER_PAGE = 50


@dataclass(frozen=True)
class OwnRow:
    """One of the reader's own initiatives on the benchmark: its rank and the page it is on."""

    label: str
    rank: int | None
    page: int


@dataclass(frozen=True)
class BenchmarkPage:
    """A page of the ranking (best progress first; anonymous letters as over the whole ranking), and where the
    reader's own initiatives are."""

    rows: list[BenchmarkRow]
    page: int
    pages: int
    first: int  # the position (from 1) of the page's first row in the whole ranking
    count: int
    own: list[OwnRow]


def _page_of(mark: Benchmark, asked: int) -> BenchmarkPage:
    count = len(mark.rows)
    pages = max(1, -(-count // PER_PAGE))
    page = min(max(asked, 1), pages)
    start = (page - 1) * PER_PAGE
    own = [OwnRow(r.label, r.rank, index // PER_PAGE + 1) for index, r in enumerate(mark.rows) if r.own]
    return BenchmarkPage(mark.rows[start:start + PER_PAGE], page, pages, start + 1, count, own)


@bp.route("/benchmarking/<kpi_key>/publication", methods=["POST"])
@login_required
def publish(kpi_key: str):
    require_role(actor(), Role.PROGRAMME_MANAGER)
    form = PublishForm()
    if form.validate_on_submit():
        benchmarking.publish(kpi_key, actor=actor(), now=now())
        commit()
        flash(_("The initiatives' names on this benchmark are now shown to the groups."), "success")
    return redirect(url_for("benchmarking.kpi", kpi_key=kpi_key))


@bp.route("/benchmarking/<kpi_key>/publication/withdraw", methods=["POST"])
@login_required
def withdraw(kpi_key: str):
    require_role(actor(), Role.PROGRAMME_MANAGER)
    form = WithdrawForm()
    if form.validate_on_submit():
        benchmarking.withdraw(kpi_key, actor=actor(), now=now())
        commit()
        flash(_("The publication was withdrawn: each group sees the others without their names again."), "success")
    return redirect(url_for("benchmarking.kpi", kpi_key=kpi_key))


@bp.route("/kpi-matrix.xlsx")
@login_required
def kpi_matrix():
    user = actor()
    require_role(user, Role.PROGRAMME_MANAGER, Role.FUND_ADMINISTRATOR)
    return send_workbook(lambda handle: write_kpi_matrix(handle, actor=user), "kpi-matrix.xlsx")
