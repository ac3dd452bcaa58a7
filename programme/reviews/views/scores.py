"""The programme manager's pages on the scores of a call's review: the scores with their disagreement, one
proposal's reviews with the consensus, reopening and decision forms, and the calibration of the reviewers."""

from __future__ import annotations

from fractions import Fraction
from typing import Any

from flask import flash, get_template_attribute, redirect, request, url_for
from flask_login import login_required
from markupsafe import Markup

from programme.calls.models import Call, CallStatus
from programme.core.forms import ActionForm
from programme.core.money import format_money
from programme.core.texts import gettext as _
from programme.core.web import actor, attempt, now
from programme.proposals.models import Proposal
from programme.reviews import services
from programme.reviews.domain import display
from programme.reviews.forms import ConsensusForm, DecisionForm, ReopenForm, criterion_choices, score_choices
from programme.reviews.models import Outcome
from programme.reviews.views import bp
from programme.reviews.views._common import (
    RANKED_AS,
    manage_page,
    managed_call,
    managed_review,
    on_page,
    page_arg,
    page_count,
)

#: A reviewer whose mean offset is at least this share of a scale step per criterion reads as lenient or harsh.
CALIBRATION_NOTICE = Fraction(1, 2)


@bp.route("/calls/<int:call_id>/review/scores")
@login_required
def scores(call_id: int):
    call = managed_call(call_id)
    row = get_template_attribute("reviews/manage/_score_row.html", "score_row")
    link = url_for("reviews.proposal", call_id=call.id, proposal_id=0)[:-1]  # a proposal's address, less its id
    shown = services.score_page(call, sort=request.args.get("sort", ""), search=request.args.get("q", "")[:200],
                                page=page_arg(), actor=actor(), draw=lambda line: Markup(row(line, link)))
    return manage_page("scores.html", call, table=shown, sort=shown.sort, page=shown.page, pages=shown.pages,
                       count=shown.count, flagged=shown.flagged)


def _consensus_form(call: Call, *, formdata: Any = True) -> ConsensusForm:
    form = ConsensusForm() if formdata is True else ConsensusForm(formdata=None)
    form.criterion_key.choices = criterion_choices(call.criteria)
    form.score.choices = score_choices(services.scoring_of(call).scale.points)
    return form


def _proposal_page(call: Call, proposal: Proposal, *, consensus_form: ConsensusForm | None = None,
                   decision_form: DecisionForm | None = None, reopen_form: ReopenForm | None = None,
                   reopen_id: int | None = None):
    results = services.call_results(call, actor=actor())
    reviews = services.proposal_reviews(proposal, actor=actor())
    ranked_as, rank = results.ranked_as(proposal.id)
    decision = results.decisions.get(proposal.id)
    if decision_form is None:
        suggested = decision.outcome.value if decision else {"funded": "funded", "reserve": "reserve"}.get(
            ranked_as, "rejected")
        decision_form = DecisionForm(formdata=None, data={"outcome": suggested,
                                                          "reason": decision.reason if decision else ""})
    return manage_page(
        "proposal.html", call, proposal=proposal, results=results, score=results.scores.get(proposal.id),
        row=results.rows.get(proposal.id), reviews=reviews, consensus=services.consensus_of(proposal),
        ranked_as=ranked_as, rank=rank, place=results.ranking.place(proposal.id), decision=decision,
        consensus_form=consensus_form or _consensus_form(call, formdata=None), decision_form=decision_form,
        reopen_form=reopen_form or ReopenForm(formdata=None), reopen_id=reopen_id,
        reviewing=call.status == CallStatus.REVIEWING,
    )


@bp.route("/calls/<int:call_id>/review/proposals/<int:proposal_id>")
@login_required
def proposal(call_id: int, proposal_id: int):
    call = managed_call(call_id)
    return _proposal_page(call, services.proposal_in_review(call, proposal_id))


@bp.route("/calls/<int:call_id>/review/proposals/<int:proposal_id>/consensus", methods=["POST"])
@login_required
def consensus(call_id: int, proposal_id: int):
    call = managed_call(call_id)
    proposal = services.proposal_in_review(call, proposal_id)
    form = _consensus_form(call)
    if form.validate_on_submit():
        with attempt(form) as done:
            row = services.record_consensus(proposal, criterion_key=form.criterion_key.data, score=form.score.data,
                                            reason=form.reason.data, actor=actor(), now=now())
            key, value = row.criterion_key, row.score
        if done.ok:
            score = services.call_results(call, actor=actor()).scores[proposal.id]
            title = next(c.title for c in call.criteria if c.key == key)
            flash(_("Consensus recorded on '%(criterion)s': %(score)s replaces the mean of %(mean)s; the total of "
                    "%(reference)s is now %(total)s.", criterion=title, score=display(value),
                    mean=display(score.criterion(key).mean), reference=proposal.reference,
                    total=display(score.total)), "success")
            return redirect(url_for("reviews.proposal", call_id=call.id, proposal_id=proposal.id, _anchor="criteria"))
    return _proposal_page(call, proposal, consensus_form=form)


@bp.route("/calls/<int:call_id>/review/proposals/<int:proposal_id>/consensus/<key>/clear", methods=["POST"])
@login_required
def clear_consensus(call_id: int, proposal_id: int, key: str):
    call = managed_call(call_id)
    proposal = services.proposal_in_review(call, proposal_id)
    if ActionForm().validate_on_submit():
        with attempt() as done:
            services.clear_consensus(proposal, criterion_key=key, actor=actor(), now=now())
        if done.ok:
            title = next((c.title for c in call.criteria if c.key == key), key)
            flash(_("Consensus on '%(criterion)s' cleared: the mean of the reviews counts again.", criterion=title),
                  "success")
    return redirect(url_for("reviews.proposal", call_id=call_id, proposal_id=proposal_id, _anchor="criteria"))


@bp.route("/reviews/<int:review_id>/reopen", methods=["POST"])
@login_required
def reopen(review_id: int):
    review = managed_review(review_id)
    call, proposal = review.call, review.proposal
    form = ReopenForm()
    if form.validate_on_submit():
        name = review.reviewer.name
        with attempt(form) as done:
            services.reopen_review(review, reason=form.reason.data, actor=actor(), now=now())
        if done.ok:
            flash(_("%(name)s's review of %(reference)s is reopened: its scores stay as a draft, it no longer counts "
                    "until submitted again, and the reviewer has been told why.", name=name,
                    reference=proposal.reference), "success")
            return redirect(url_for("reviews.proposal", call_id=call.id, proposal_id=proposal.id, _anchor="reviews"))
    return _proposal_page(call, proposal, reopen_form=form, reopen_id=review.id)


@bp.route("/calls/<int:call_id>/review/proposals/<int:proposal_id>/decision", methods=["POST"])
@login_required
def decide(call_id: int, proposal_id: int):
    call = managed_call(call_id)
    proposal = services.proposal_in_review(call, proposal_id)
    form = DecisionForm()
    if form.validate_on_submit():
        with attempt(form) as done:
            decision = services.record_decision(proposal, outcome=Outcome(form.outcome.data), reason=form.reason.data,
                                                actor=actor(), now=now())
            outcome, against, ranked_as = decision.outcome, decision.against_ranking, decision.ranked_as
            amount = decision.amount
        if done.ok:
            words = {"reference": proposal.reference, "outcome": outcome.label.lower()}
            if amount is not None:
                said = _("Decision recorded: %(reference)s %(outcome)s with a start-up grant of %(amount)s.",
                         amount=format_money(amount, call.currency), **words)
            else:
                said = _("Decision recorded: %(reference)s %(outcome)s.", **words)
            if against:
                said += _(" It departs from the ranking (%(ranked)s) and is marked so on the ranking page.",
                          ranked=str(RANKED_AS.get(ranked_as, ranked_as)))
            flash(said, "success")
            return redirect(url_for("reviews.proposal", call_id=call.id, proposal_id=proposal.id, _anchor="decision"))
    return _proposal_page(call, proposal, decision_form=form)


# Calibration ---------------------------------------------------------------------------------------------------


@bp.route("/calls/<int:call_id>/review/calibration")
@login_required
def calibration(call_id: int):
    call = managed_call(call_id)
    found = services.calibration(call, actor=actor())
    scoring = services.scoring_of(call)
    notice = CALIBRATION_NOTICE * Fraction(scoring.scale.step) * Fraction(scoring.total_weight)
    reviewers = sorted(found.report.reviewers.values(),
                       key=lambda r: (r.offset is None, -(r.offset or 0), found.names.get(r.reviewer_id, "")))
    plain = {r.proposal_id: r for r in found.report.plain.ranked}
    calibrated = {r.proposal_id: r for r in found.report.calibrated.ranked}
    changes = found.report.rank_changes()
    order = sorted(changes, key=lambda pid: (changes[pid][0] is None, changes[pid][0] or 0,
                                             changes[pid][1] is None, changes[pid][1] or 0, pid))
    crossing = sum(1 for pid in changes if (pid in plain and plain[pid].funded)
                   != (pid in calibrated and calibrated[pid].funded))
    moved = sum(1 for a, b in changes.values() if a != b)
    page = page_arg()
    results = services.results_of(call)
    return manage_page("calibration.html", call, found=found, reviewers=reviewers, notice=notice, plain=plain,
                       calibrated=calibrated, changes=changes, ids=on_page(order, page),
                       page=page, pages=page_count(len(order)), count=len(order), crossing=crossing, moved=moved,
                       rows=results.rows)
