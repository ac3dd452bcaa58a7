"""The ranking page (the funding line and its chart, deciding as ranked; auditors read it and its export) and the
Excel exports of the scores and the ranking."""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Callable
from typing import Any

from flask import flash, get_template_attribute, redirect, render_template, url_for
from flask_login import login_required
from markupsafe import Markup

from programme.calls.models import Call
from programme.core.forms import ActionForm
from programme.core.web import actor, attempt, now, send_workbook
from programme.reviews import services
from programme.reviews.domain import display
from programme.reviews.export import write_ranking_workbook, write_score_matrix
from programme.reviews.models import Outcome
from programme.reviews.views import bp
from programme.reviews.views._common import (
    RANKED_AS,
    manage_page,
    managed_call,
    manages,
    page_arg,
    page_size,
    programme_zone,
    read_call,
)


def _placed_by(decided_by: str | None, tie_break: tuple[str, ...]) -> str:
    """What put a proposal after the one above it, in words: 'tie on total, decided by cooperation'."""
    if decided_by is None:
        return "first place"
    if decided_by == "total":
        return "total"
    words = {"requested": "the smaller amount", "submitted_at": "the earlier submission",
             "proposal_id": "the proposal number"}
    criteria = list(tie_break)
    if decided_by in criteria:
        tied = ["total", *(k.replace("_", " ") for k in criteria[:criteria.index(decided_by)])]
        return f"tie on {', '.join(tied)}, decided by {decided_by.replace('_', ' ')}"
    tied = "total" if not criteria else "total and every tie-break criterion"
    return f"tie on {tied}, decided by {words.get(decided_by, decided_by)}"


@bp.route("/calls/<int:call_id>/review/ranking")
@login_required
def ranking(call_id: int):
    call = read_call(call_id)
    view = services.ranking_view(call, actor=actor())
    results, size, manager = view.results, page_size(), manages()
    ranking = results.ranking
    page, other = page_arg(), page_arg("other")
    pages, other_pages = view.pages(len(ranking.ranked), size), view.pages(len(ranking.not_fundable), size)
    page, other = min(page, pages), min(other, other_pages)
    rows = get_template_attribute("reviews/manage/_ranking_rows.html", "ranked_row")
    other_row = get_template_attribute("reviews/manage/_ranking_rows.html", "other_row")
    link = url_for("reviews.proposal", call_id=call.id, proposal_id=0)[:-1]  # a proposal's address, less its id
    decisions = results.decisions

    def ranked(place: Any) -> Markup:
        return Markup(rows(place, results.rows[place.proposal_id], decisions.get(place.proposal_id), manager,
                           _placed_by(place.decided_by, ranking.tie_break), link, display))

    def not_fundable(entry: Any) -> Markup:
        return Markup(other_row(entry, results.rows[entry.proposal_id], decisions.get(entry.proposal_id),
                                results.scores[entry.proposal_id].reasons, manager, link, display))

    def chart(drawn: Any) -> Markup:
        return Markup(render_template("reviews/manage/_chart.html", call=call, chart=drawn))

    line_after = view.line_after
    return manage_page(
        "ranking.html", call, results=results, ranking=ranking,
        shown=view.ranked_rows(page, size, readers=manager, draw=ranked), page=page, pages=pages,
        line_after=line_after, line_page=max(1, math.ceil(line_after / size)),
        others=view.other_rows(other, size, readers=manager, draw=not_fundable), other=other,
        other_pages=other_pages, chart=view.chart, chart_drawn=view.drawn_chart(chart) if view.chart.count else "",
        ranked_words=RANKED_AS, against=view.against, undecided=view.undecided,
    )


@bp.route("/calls/<int:call_id>/review/decide-as-ranked", methods=["POST"])
@login_required
def decide_as_ranked(call_id: int):
    call = managed_call(call_id)
    if ActionForm().validate_on_submit():
        with attempt() as done:
            count = services.decide_as_ranked(call, actor=actor(), now=now())
        if done.ok:
            outcomes = Counter(d.outcome for d in services.call_results(call, actor=actor()).decisions.values())
            flash(f"{count} decision(s) recorded as the ranking says; decisions recorded before were kept. "
                  f"In all: {outcomes[Outcome.FUNDED]} funded, {outcomes[Outcome.RESERVE]} reserve, "
                  f"{outcomes[Outcome.REJECTED]} rejected. Publish them from the overview when ready.", "success")
    return redirect(url_for("reviews.ranking", call_id=call_id))


# Exports ---------------------------------------------------------------------------------------------------


def _workbook(call: Call, write: Callable[..., int], name: str):
    stamp = now().strftime("%Y%m%d-%H%M")
    return send_workbook(lambda handle: write(call, handle, actor=actor(), timezone=programme_zone()),
                         f"{call.reference}-{name}-{stamp}.xlsx")


@bp.route("/calls/<int:call_id>/review/scores.xlsx")
@login_required
def export_scores(call_id: int):
    return _workbook(managed_call(call_id), write_score_matrix, "scores")


@bp.route("/calls/<int:call_id>/review/ranking.xlsx")
@login_required
def export_ranking(call_id: int):
    return _workbook(read_call(call_id), write_ranking_workbook, "ranking")
