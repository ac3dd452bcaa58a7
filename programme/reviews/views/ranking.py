"""The ranking page (the funding line and its chart, deciding as ranked; auditors read it and its export) and the
Excel exports of the scores and the ranking."""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Callable
from decimal import Decimal
from typing import Any

from flask import flash, get_template_attribute, redirect, render_template, request, url_for
from flask_login import login_required
from markupsafe import Markup

from programme.calls.models import Call, CallStatus
from programme.core.money import format_money
from programme.core.texts import gettext as _
from programme.core.texts import pgettext
from programme.core.web import actor, attempt, now, send_workbook
from programme.reviews import services
from programme.reviews.domain import Scoring, display
from programme.reviews.export import write_ranking_workbook, write_score_matrix
from programme.reviews.forms import ConfirmForm
from programme.reviews.models import Outcome
from programme.reviews.views import bp
from programme.reviews.views._common import (
    manage_page,
    managed_call,
    manages,
    page_arg,
    page_size,
    programme_zone,
    ranked_words,
    read_call,
)


def _placed_by(decided_by: str | None, scoring: Scoring) -> str:
    """What put a proposal after the one above it, in words: 'tie on total, decided by Quality of co-operation'
    (the criteria by their titles)."""
    if decided_by is None:
        return _("first place")
    if decided_by == "total":
        return _("total")
    words = {"requested": _("the smaller amount"), "submitted_at": _("the earlier submission"),
             "proposal_id": _("the proposal number")}
    criteria = list(scoring.tie_break)
    if decided_by in criteria:
        tied = [_("total"), *(scoring.name_of(k) for k in criteria[:criteria.index(decided_by)])]
        return _("tie on %(tied)s, decided by %(criterion)s", tied=", ".join(tied),
                 criterion=scoring.name_of(decided_by))
    if not criteria:
        return _("tie on total, decided by %(what)s", what=words.get(decided_by, decided_by))
    return _("tie on total and every tie-break criterion, decided by %(what)s", what=words.get(decided_by, decided_by))


@bp.route("/calls/<int:call_id>/review/ranking")
@login_required
def ranking(call_id: int):
    call = read_call(call_id)
    view = services.ranking_view(call, actor=actor())
    results, size, manager = view.results, page_size(), manages()
    scoring = services.scoring_of(call)
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
                           _placed_by(place.decided_by, scoring), link, display))

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
        ranked_words=ranked_words(), against=view.against, undecided=view.undecided,
    )


@bp.route("/calls/<int:call_id>/review/decide-as-ranked", methods=["GET", "POST"])
@login_required
def decide_as_ranked(call_id: int):
    """Deciding the rest as ranked: the confirmation page (GET, or a POST without the confirmation), then the
    decisions (a POST with ``confirmed``)."""
    call = managed_call(call_id)
    back = url_for("reviews.ranking", call_id=call.id)
    if call.status != CallStatus.REVIEWING:
        flash(_("The call is %(status)s: decisions are recorded only while its review is under way. Nothing was "
                "changed.", status=call.status.label.lower()), "error")
        return redirect(back)
    form = ConfirmForm()
    if request.method == "POST" and form.validate_on_submit():
        if not form.given:
            flash(_("Nothing was decided: deciding the rest as ranked needs your confirmation below."), "error")
            return redirect(url_for("reviews.decide_as_ranked", call_id=call.id))
        with attempt() as done:
            count = services.decide_as_ranked(call, actor=actor(), now=now())
        if done.ok:
            outcomes = Counter(d.outcome for d in services.call_results(call, actor=actor()).decisions.values())
            flash(_("%(count)s decision(s) recorded as the ranking says; decisions recorded before were kept. In all: "
                    "%(funded)s funded, %(reserve)s reserve, %(rejected)s rejected. Publish them from the overview "
                    "when ready.", count=count, funded=outcomes[Outcome.FUNDED], reserve=outcomes[Outcome.RESERVE],
                    rejected=outcomes[Outcome.REJECTED]), "success")
        return redirect(back)
    return render_template("confirm.html", form=form, confirm=_rest_confirmation(call, back))


def _rest_confirmation(call: Call, back: str) -> dict[str, Any]:
    results = services.call_results(call, actor=actor())
    decided, rows = results.decisions, results.rows
    above = [p for p in results.ranking.ranked if p.proposal_id not in decided and p.funded]
    below = [p for p in results.ranking.ranked if p.proposal_id not in decided and not p.funded]
    rejected = [e for e in results.ranking.not_fundable if e.proposal_id not in decided]
    unscored = sum(1 for pid, row in rows.items() if pid not in decided and row.status in services.IN_REVIEW
                   and not results.scores[pid].scored)
    amount = sum((rows[p.proposal_id].amount for p in above), Decimal(0))
    return {
        "title": _("Decide the rest of %(reference)s as ranked?", reference=call.reference),
        "lead": [_("Every proposal without a decision gets the ranking's outcome: funded above the funding line, "
                   "reserve below it, rejected when not fundable (with the reasons). The %(count)s decision(s) "
                   "recorded before stay as they are.", count=len(decided)),
                 _("The groups are not told yet: they learn their results when the decisions are published.")],
        "figures": [(pgettext("decided proposals", "Funded"),
                     _("%(count)s proposal(s), %(amount)s of start-up grants (those the budget left no longer covers "
                       "go to the reserve list)", count=len(above), amount=format_money(amount, call.currency))),
                    (_("Reserve list"), _("%(count)s proposal(s)", count=len(below))),
                    (_("Rejected as not fundable"), _("%(count)s proposal(s)", count=len(rejected))),
                    (_("Already decided, kept"), _("%(count)s proposal(s)", count=len(decided)))],
        "warning": _("%(count)s proposal(s) have no submitted review yet: deciding the rest as ranked is refused "
                     "until they are scored, or decided one by one.", count=unscored) if unscored else None,
        "final": _("Each decision is recorded at once; a decision can be changed one proposal at a time until the "
                   "decisions are published, but not all at once."),
        "action": url_for("reviews.decide_as_ranked", call_id=call.id), "yes": _("Yes, decide the rest as ranked"),
        "cancel": back,
    }


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
