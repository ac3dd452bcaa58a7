"""The programme dashboard for managers, its public version without personal data, and its Excel export.

The figures come from ``dashboard.figures.programme_figures`` (read-only, a fixed number of queries); the charts
are inline SVG bars drawn on the server (no script), always beside a table with the same figures."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from flask import Blueprint, Response, render_template, request, session
from flask_login import current_user, login_required
from markupsafe import Markup

from programme.core.access import Role, require_role
from programme.core.charts import Scale, pixels
from programme.core.i18n import current_language
from programme.core.money import format_money, symbols_in_use
from programme.core.texts import gettext as _
from programme.core.timezone import now, programme_today
from programme.core.web import actor, programme_zone, send_workbook
from programme.dashboard.cache import data_version, figures_at, figures_html_at, page_at
from programme.dashboard.export import write_dashboard
from programme.dashboard.figures import ProgrammeFigures
from programme.dashboard.money_figures import INSTRUMENTS
from programme.dashboard.targets_page import rules_key, targets_html
from programme.dashboard.validity import decided_calls
from programme.funding.models import InitiativeStatus
from programme.loans.services.foresight import early_warnings

bp = Blueprint("figures", __name__)

BAR_COLOURS = {"committed": "#1d4f91", "paid": "#2f6f4f", "count": "#1d4f91", "share": "#2f6f4f",
               "over": "#b3261e"}


# ------------------------------------------------------------------------------------------------ charts


@dataclass(frozen=True)
class Bar:
    x: int
    y: int
    width: int
    height: int
    colour: str
    css: str
    title: str
    #: What the bar shows, written at its end (rows of several bars: each says its own figure), and where.
    text: str = ""
    text_x: int = 0


@dataclass(frozen=True)
class BarRow:
    label: str
    label_y: int
    bars: list[Bar]
    marker_x: int | None
    value_text: str
    value_x: int


@dataclass(frozen=True)
class BarChart:
    """A horizontal bar chart: one row per label, one or more bars per row, an optional marker per row."""

    width: int
    height: int
    left: int
    rows: list[BarRow]
    description: str


def bar_chart(rows: list[tuple[str, list[tuple[Decimal, str, str, str]], Decimal | None, str]], *,
              width: int = 720, left: int = 200, bar_height: int = 18, top: Decimal | None = None) -> BarChart:
    """``rows``: (label, [(value, css class, title, text written at the bar's end)], marker or None, text shown
    after the row's bars when its bars write none). The bars of a row are drawn one under the other, scaled to the
    largest value (or ``top``); the text is as large as the page's (the chart is drawn at its own size and scrolls
    on a narrow screen rather than shrink)."""
    right = 170
    span = width - left - right
    largest = top if top is not None else max(
        [bar[0] for row in rows for bar in row[1]] + [row[2] for row in rows if row[2] is not None] + [Decimal(0)])
    scale = Scale(0, largest if largest > 0 else 0, 0, span)
    drawn, y = [], 8
    descriptions = []
    for label, bars, marker, text in rows:
        row_bars = []
        marker_x = left + pixels(scale.at(marker)) if marker is not None else None
        for index, (value, css, title, bar_text) in enumerate(bars):
            length = pixels(scale.at(value)) if value > 0 else 0
            length = max(length, 1 if value > 0 else 0)
            row_bars.append(Bar(left, y + index * (bar_height + 2), length, bar_height,
                                BAR_COLOURS.get(css, "#1d4f91"), css, title, bar_text,
                                left + max(length, (marker_x or left) - left) + 6))
        height = len(bars) * (bar_height + 2)
        longest = max((bar.width for bar in row_bars), default=0)
        drawn.append(BarRow(label, y + height // 2, row_bars, marker_x, text,
                            left + max(longest, (marker_x or left) - left) + 6))
        descriptions.append(_("%(label)s: %(figures)s", label=label,
                              figures=text or ", ".join(b.title for b in row_bars)))
        y += height + 12
    return BarChart(width, y + 4, left, drawn, "; ".join(descriptions))


def _count_chart(counts: list[tuple[str, int]]) -> BarChart:
    return bar_chart([(label, [(Decimal(n), "count", _("%(label)s: %(figures)s", label=label, figures=n), "")], None,
                       str(n)) for label, n in counts])


def _percent(share: Decimal) -> str:
    """A share as a percentage written in the language being answered (12.5 %, 12,5 %)."""
    return f"{(share * 100).normalize():f} %".replace(".", symbols_in_use()[0])


def charts(figures: ProgrammeFigures, *, public: bool) -> dict[str, BarChart | list[tuple[str, BarChart]]]:
    """The dashboard's charts: money per instrument (one chart per currency), initiatives by status and by
    programme year, and (not on the public page) each running initiative's external share against its cap."""
    money = []
    for currency in sorted({m.currency for m in figures.money_totals}):
        rows = []
        for m in figures.money_totals:
            if m.currency != currency:
                continue
            committed_amount, paid_amount = format_money(m.committed, currency), format_money(m.paid, currency)
            committed = _("%(instrument)s committed: %(amount)s", instrument=m.label, amount=committed_amount)
            paid = _("%(instrument)s paid: %(amount)s", instrument=m.label, amount=paid_amount)
            rows.append((m.label, [
                (m.committed, "committed", committed, _("committed %(amount)s", amount=committed_amount)),
                (m.paid, "paid", paid, _("paid %(amount)s", amount=paid_amount)),
            ], None, ""))
        money.append((currency, bar_chart(rows)))
    result: dict[str, BarChart | list[tuple[str, BarChart]]] = {
        "money": money,
        "status": _count_chart([(s.label, figures.by_status.get(s.value, 0)) for s in InitiativeStatus]),
        "year": _count_chart([(_("Year %(year)s", year=year), n) for year, n in figures.by_year.items()]),
    }
    if not public and figures.shares:
        rows = []
        for s in figures.shares:
            share = s.share if s.share is not None else Decimal(0)
            shown = _("no money") if s.share is None else _percent(s.share)
            title = _("%(reference)s, year %(year)s: %(share)s paid, cap %(cap)s", reference=s.reference, year=s.year,
                      share=shown, cap=_percent(s.cap))
            rows.append((s.reference, [(share, "over" if s.over else "share", title, "")], s.cap, shown))
        result["shares"] = bar_chart(rows, top=Decimal(1))
    return result


# ------------------------------------------------------------------------------------------------ pages


def _today() -> tuple[date, str]:
    zone = programme_zone()
    return programme_today(zone), zone


def _may_see_dashboard() -> None:
    require_role(actor(), Role.PROGRAMME_MANAGER, Role.FUND_ADMINISTRATOR, Role.AUDITOR)


@bp.route("/dashboard")
@login_required
def dashboard():
    _may_see_dashboard()
    today, zone = _today()
    version = data_version(today=today)
    return render_template("dashboard/dashboard.html",
                           figures_html=_figures_html(version, today=today, zone=zone, public=False),
                           targets_html=targets_html(version, today=today, zone=zone, public=False),
                           validity_calls=decided_calls(actor=actor()),
                           fund_warnings=early_warnings(actor=actor(), as_of=today, moment=now()))


@bp.route("/programme-figures")
def public():
    """The public figures, for anyone. The figures are kept per data version (``dashboard.cache``); for an
    anonymous visitor (the same page for all) the page too, with the version as its ``ETag`` and ``public,
    no-cache``: a browser or a proxy revalidates each time and gets a 304 while nothing changed."""
    today, zone = _today()
    version = data_version(today=today)
    if current_user.is_authenticated or session.get("_flashes"):
        response = Response(_render_public(version, today=today, zone=zone), mimetype="text/html")
        response.headers["Cache-Control"] = "private, no-cache"
        return response
    kept_as = f"{version}-{rules_key()}"  # the programme's targets file changes the page too
    etag = f"figures-{kept_as}-{current_language()}"  # page_at keeps one per language
    if etag in request.if_none_match:
        response = Response(status=304)
    else:
        body = page_at(kept_as, lambda: _render_public(version, today=today, zone=zone))
        response = Response(body, mimetype="text/html")
    response.set_etag(etag)
    response.vary.add("Accept-Language")  # a shared cache keeps one page per language asked for
    response.headers["Cache-Control"] = "public, no-cache"
    return response


def _figures_html(version: str, *, today: date, zone: str, public: bool) -> Markup:
    """The figures' tables and charts, rendered once per data version (the same for every reader)."""
    def render() -> str:
        figures = figures_at(version, today=today, timezone=zone)
        return render_template("dashboard/_figures.html", figures=figures, charts=charts(figures, public=public),
                               instruments=INSTRUMENTS, public=public)

    return Markup(figures_html_at(version, public=public, timezone=zone, render=render))


def _render_public(version: str, *, today: date, zone: str) -> str:
    return render_template("dashboard/public.html",
                           figures_html=_figures_html(version, today=today, zone=zone, public=True),
                           targets_html=targets_html(version, today=today, zone=zone, public=True))


@bp.route("/dashboard.xlsx")
@login_required
def export():
    _may_see_dashboard()
    today, zone = _today()
    figures = figures_at(data_version(today=today), today=today, timezone=zone)
    return send_workbook(lambda handle: write_dashboard(handle, figures),
                         f"programme-dashboard-{today.isoformat()}.xlsx")
