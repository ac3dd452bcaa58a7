"""The ranking page (the funding line and its chart, deciding as ranked; auditors read it and its export) and the
Excel exports of the scores and the ranking."""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Callable

from flask import flash, redirect, url_for
from flask_login import login_required

from programme.calls.models import Call
from programme.core.forms import ActionForm
from programme.core.web import actor, attempt, now, send_workbook
from programme.reviews import services
from programme.reviews.export import write_ranking_workbook, write_score_matrix
from programme.reviews.models import Outcome
from programme.reviews.views import bp
from programme.reviews.views._common import (
    RANKED_AS,
    manage_page,
    managed_call,
    on_page,
    page_arg,
    page_count,
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
    results = services.call_results(call, actor=actor())
    ranked = results.ranking.ranked
    page, other = page_arg(), page_arg("other")
    line_after = results.ranking.line_after
    not_fundable = results.ranking.not_fundable
    return manage_page(
        "ranking.html", call, results=results, ranking=results.ranking,
        shown=on_page(ranked, page), page=page, pages=page_count(len(ranked)),
        line_after=line_after, line_page=max(1, math.ceil(line_after / page_size())),
        others=on_page(not_fundable, other), other=other,
        other_pages=page_count(len(not_fundable)), chart=services.ranking_chart(results),
        placed_by=lambda place: _placed_by(place.decided_by, results.ranking.tie_break),
        ranked_words=RANKED_AS,
        against=sum(1 for d in results.decisions.values() if d.against_ranking),
        undecided=sum(1 for pid, row in results.rows.items()
                      if row.status in services.IN_REVIEW and pid not in results.decisions),
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
