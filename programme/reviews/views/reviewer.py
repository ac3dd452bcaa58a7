"""The reviewer's pages, under ``/reviewing/...`` and ``/reviews/<review_id>``: its calls, its expertise and
conflicts of interest, its assigned proposals (the frozen version), the scoring form and the attachments of
the version under review."""

from __future__ import annotations

import math
from collections import defaultdict
from typing import Any

from flask import current_app, flash, redirect, render_template, request, send_file, url_for
from flask_login import login_required

from programme.calls.models import Call, CallStatus
from programme.core.access import AccessDenied, NotFound, Role, RuleViolation, require_role
from programme.core.files import stored_path
from programme.core.forms import ActionForm
from programme.core.money import symbols_in_use
from programme.core.texts import gettext as _
from programme.core.web import actor, attempt, form_error, now, page_arg
from programme.extensions import db
from programme.proposals import services as proposal_services
from programme.proposals.domain import COST_TYPES, SECTIONS, ActivityKind, snapshot_figures
from programme.reviews import services
from programme.reviews.domain import plain_number
from programme.reviews.forms import (
    JUSTIFICATION_MAX,
    ConfirmForm,
    DeclareConflictForm,
    ExpertiseForm,
    ReviewForm,
    review_data,
    review_form,
    running_total,
)
from programme.reviews.models import CallReviewer, Review
from programme.reviews.views import bp
from programme.rulebook import ORGANISATION_TYPES

#: How many of the proposals a reviewer is in conflict with, and of its declarations, the call's page shows.
CONFLICTS_SHOWN = 10
#: A page of either list in full.
CONFLICTS_PER_PAGE = 50


def _reviewer_call(call_id: int) -> tuple[Call, CallReviewer]:
    """A call of the reviewer's pages and the reviewer's place in its pool: 403 for anyone without the reviewer
    role, 404 for a call whose pool the reviewer is not in (or an unknown id)."""
    require_role(actor(), Role.REVIEWER)
    call = db.session.get(Call, call_id)
    if call is None:
        raise NotFound("no such call")
    return call, services.pool_entry(call, actor=actor())


@bp.route("/reviewing")
@login_required
def my_calls():
    me = actor()
    moment = now()
    by_call: dict[int, list[Review]] = defaultdict(list)
    assigned = services.reviews_of(me, with_proposals=True)
    for item in assigned:
        by_call[item.call_id].append(item)
    return render_template("reviews/reviewer/calls.html", calls=services.calls_of_reviewer(me), reviews=by_call,
                           now=moment)


def _reviewer_call_page(call: Call, entry: CallReviewer, *, expertise_form: ExpertiseForm | None = None,
                        conflict_form: DeclareConflictForm | None = None):
    """The reviewer's page of one call; the form that was posted comes back with its values and errors."""
    me = actor()
    reviews = services.reviews_of(me, call=call, with_proposals=True)
    return render_template(
        "reviews/reviewer/call.html", call=call, entry=entry, reviews=reviews,
        conflicted=services.conflicted_proposals(call, actor=me, limit=CONFLICTS_SHOWN),
        declarations=services.declarations_page(call, actor=me, limit=CONFLICTS_SHOWN),
        expertise_form=expertise_form or ExpertiseForm(formdata=None, data={"expertise": entry.expertise}),
        conflict_form=conflict_form or DeclareConflictForm(formdata=None),
        known_sectors=services.known_sectors(call), action_form=ActionForm(), now=now(),
    )


@bp.route("/reviewing/calls/<int:call_id>")
@login_required
def reviewer_call(call_id: int):
    return _reviewer_call_page(*_reviewer_call(call_id))


@bp.route("/reviewing/calls/<int:call_id>/conflicts/<any(proposals, declarations):which>")
@login_required
def reviewer_conflicts(call_id: int, which: str):
    """Every proposal the reviewer is in conflict with, or every declaration it made, a page at a time (the call's
    page shows the first few of each)."""
    call, _entry = _reviewer_call(call_id)
    page = page_arg()
    offset = (page - 1) * CONFLICTS_PER_PAGE
    found = (services.conflicted_proposals(call, actor=actor(), limit=CONFLICTS_PER_PAGE, offset=offset)
             if which == "proposals" else
             services.declarations_page(call, actor=actor(), limit=CONFLICTS_PER_PAGE, offset=offset))
    return render_template("reviews/reviewer/conflicts.html", call=call, which=which, found=found, page=page,
                           pages=max(1, math.ceil(found.count / CONFLICTS_PER_PAGE)), action_form=ActionForm())


@bp.route("/reviewing/calls/<int:call_id>/expertise", methods=["POST"])
@login_required
def expertise(call_id: int):
    call, entry = _reviewer_call(call_id)
    form = ExpertiseForm()
    if form.validate_on_submit():
        with attempt(form) as done:
            saved = services.set_expertise(call, expertise=form.expertise.data or "", actor=actor(), now=now())
            sectors = saved.expertise
        if done.ok:
            flash(_("Your sectors of expertise are saved: %(sectors)s.", sectors=sectors) if sectors
                  else _("Your sectors of expertise are cleared."), "success")
            return redirect(url_for("reviews.reviewer_call", call_id=call.id, _anchor="expertise"))
    return _reviewer_call_page(call, entry, expertise_form=form)


@bp.route("/reviewing/calls/<int:call_id>/conflicts", methods=["POST"])
@login_required
def declare_conflict(call_id: int):
    call, entry = _reviewer_call(call_id)
    form = DeclareConflictForm()
    if form.validate_on_submit():
        me = actor()
        before = {r.id for r in services.reviews_of(me, call=call)}
        with attempt(form) as done:
            chosen = services.conflict_subject(call, form.subject.data or "", actor=me)
            conflict = services.declare_conflict(call, organisation_id=chosen.organisation_id,
                                                 proposal_id=chosen.proposal_id, note=form.note.data or "",
                                                 actor=me, now=now())
            subject = (conflict.organisation.name if conflict.organisation is not None
                       else _("proposal %(reference)s", reference=conflict.proposal.reference))
            removed = len(before - {r.id for r in services.reviews_of(me, call=call)})
        if done.ok:
            flash(_("Conflict of interest declared with %(subject)s. %(count)s assignment(s) it conflicts with were "
                    "removed; the programme manager gives them to other reviewers.", subject=subject, count=removed)
                  if removed else _("Conflict of interest declared with %(subject)s.", subject=subject), "success")
            return redirect(url_for("reviews.reviewer_call", call_id=call.id, _anchor="conflicts"))
    return _reviewer_call_page(call, entry, conflict_form=form)


@bp.route("/reviewing/calls/<int:call_id>/conflicts/<int:conflict_id>/withdraw", methods=["POST"])
@login_required
def withdraw_conflict(call_id: int, conflict_id: int):
    call, _entry = _reviewer_call(call_id)
    if ActionForm().validate_on_submit():
        with attempt() as done:
            services.withdraw_conflict(call, conflict_id, actor=actor(), now=now())
        if done.ok:
            flash(_("Declaration withdrawn. Assignments it removed are not given back by themselves; the programme "
                    "manager may assign you again."), "success")
    return redirect(url_for("reviews.reviewer_call", call_id=call.id, _anchor="conflicts"))


# The scoring page ------------------------------------------------------------------------------------------


def _scoring_form(review: Review, **kwargs: Any) -> ReviewForm:
    call = review.call
    return review_form(call.criteria, services.scoring_of(call).scale, call.rules.scoring.justification_min_length,
                       **kwargs)


def _locked(review: Review) -> str:
    """Why the review's reviewer cannot change it now."""
    if review.call.status != CallStatus.REVIEWING:
        return _("The call is %(status)s: reviews are scored only while its review is under way. Nothing was "
                 "changed.", status=review.call.status.label.lower())
    return _("This review is submitted and locked: nothing was changed. A programme manager can reopen it if a change "
             "is needed.")


def _review_page(review: Review, *, form: ReviewForm | None = None):
    """The scoring page: the review (a form while its reviewer may change it, else read only), the other
    reviewers' submitted scores once the reviewer's own is submitted, and the frozen version it scores."""
    me = actor()
    moment = now()
    call = review.call
    editable = review.can_edit(me)
    if form is None and editable:
        form = _scoring_form(review, formdata=None, data=review_data(review.scores))
    version = services.reviewed_version(review)
    snapshot = version.snapshot
    scoring = services.scoring_of(call)
    # The total of the scores the page shows: the form's (as saved, or as typed when refused), else those saved.
    shown = form.scores() if form is not None and editable else {
        s.criterion_key: "" if s.score is None else str(s.score) for s in review.scores}
    return render_template(
        "reviews/reviewer/review.html", review=review, call=call, proposal=review.proposal,
        form=form if editable else None, scoring=scoring, total=running_total(shown, scoring),
        weights={c.key: c.weight for c in scoring.criteria}, justification_max=JUSTIFICATION_MAX,
        min_length=call.rules.scoring.justification_min_length,
        saved={s.criterion_key: s for s in review.scores}, is_reviewer=review.is_reviewer(me),
        others=services.co_reviews(review, actor=me) if review.is_reviewer(me) and review.submitted else [],
        late=review.is_late(moment), now=moment,
        version=version, snapshot=snapshot, verdict=proposal_services.recorded_verdict(review.proposal, version),
        figures=snapshot_figures(snapshot),
        organisation_types=ORGANISATION_TYPES, sections=SECTIONS, cost_types=COST_TYPES,
        kinds={kind.value: kind.label for kind in ActivityKind},
        download_url=lambda a: url_for("reviews.review_attachment", review_id=review.id, attachment_id=a["id"]),
    )


@bp.route("/reviews/<int:review_id>", methods=["GET", "POST"])
@login_required
def review(review_id: int):
    me = actor()
    item = services.get_review(review_id, actor=me)
    if request.method == "GET":
        return _review_page(item)
    if not item.is_reviewer(me):
        raise AccessDenied(_("only its reviewer scores a review"))
    if not item.can_edit(me):
        flash(_locked(item), "error")
        return redirect(url_for("reviews.review", review_id=item.id))
    form = _scoring_form(item)
    if form.validate_on_submit():
        # "Submit review" submits only once confirmed (the script's dialog); else it saves the draft and asks first.
        submit = form.submitting and form.confirmation_given
        asking = form.submitting and not submit
        # A refusal is shown below: an incomplete review's problems per criterion, any other beside its field.
        with attempt(flash_unplaced=False) as done:
            services.save_review(item, scores=form.scores(), justifications=form.justifications(), submit=submit,
                                 actor=me, now=now())
            reference, late = item.proposal.reference, item.is_late(now())
        if done.ok:
            if submit:
                flash(_submitted(reference, late), "success")
            elif asking:
                flash(_("Draft saved. Nothing is submitted yet: read what submitting does and confirm it."), "info")
                return redirect(url_for("reviews.submit_review", review_id=item.id))
            else:
                flash(_("Draft saved. Nothing is submitted yet: submit the review once every criterion has its "
                        "score and justification."), "success")
            return redirect(url_for("reviews.review", review_id=item.id))
        if isinstance(done.refused, services.ReviewIncomplete):
            form.add_problems(done.refused.problems)
        elif isinstance(done.refused, RuleViolation):
            form_error(form, done.refused)
    return _review_page(item, form=form)


def _submitted(reference: str, late: bool) -> str:
    if late:
        return _("Your review of %(reference)s is submitted after the deadline. It is locked now; the other reviewers' "
                 "submitted scores are shown below yours.", reference=reference)
    return _("Your review of %(reference)s is submitted. It is locked now; the other reviewers' submitted scores are "
             "shown below yours.", reference=reference)


@bp.route("/reviews/<int:review_id>/submit", methods=["GET", "POST"])
@login_required
def submit_review(review_id: int):
    """The confirmation of a review's submission (its draft as saved): what submitting does, the scores it
    freezes; the POST submits only with the confirmation given."""
    me = actor()
    item = services.get_review(review_id, actor=me)
    if not item.is_reviewer(me):
        raise AccessDenied(_("only its reviewer submits a review"))
    back = url_for("reviews.review", review_id=item.id, _anchor="scoring")
    if not item.can_edit(me):
        flash(_locked(item), "error")
        return redirect(back)
    form = ConfirmForm()
    saved = review_data(item.scores)
    if request.method == "POST" and form.validate_on_submit():
        if not form.given:
            flash(_("Nothing was submitted: submitting a review needs your confirmation below."), "error")
            return redirect(url_for("reviews.submit_review", review_id=item.id))
        keys = [c.key for c in item.call.criteria]
        with attempt() as done:
            services.save_review(item, scores={k: saved.get(f"score_{k}", "") for k in keys},
                                 justifications={k: saved.get(f"justification_{k}", "") for k in keys},
                                 submit=True, actor=me, now=now())
            reference, late = item.proposal.reference, item.is_late(now())
        if done.ok:
            flash(_submitted(reference, late), "success")
        return redirect(back)
    return render_template("confirm.html", form=form, confirm=_review_confirmation(item, saved, back))


def _review_confirmation(item: Review, saved: dict[str, str], back: str) -> dict[str, Any]:
    figures: list[tuple[str, str]] = []
    for criterion in item.call.criteria:
        score = saved.get(f"score_{criterion.key}", "")
        written = len(saved.get(f"justification_{criterion.key}", "").strip())
        figures.append((criterion.title, _("%(score)s · justification of %(count)s characters",
                                            score=score or _("no score"), count=written)))
    scoring = services.scoring_of(item.call)
    total = running_total({key: saved.get(f"score_{key}", "") for key in scoring.keys}, scoring)
    complete = total.complete
    if complete:
        mark = symbols_in_use()[0]
        figures.append((_("Weighted total"), _("%(total)s of %(maximum)s", total=total.shown.replace(".", mark),
                                               maximum=plain_number(total.maximum).replace(".", mark))))
    return {
        "title": _("Submit your review of %(reference)s?", reference=item.proposal.reference),
        "lead": [_("Submitting sends your scores and justifications as saved in your draft to the programme manager "
                   "of %(reference)s, and shows you the other reviewers' submitted scores.",
                   reference=item.call.reference),
                 _("Your draft is saved: cancelling keeps everything you wrote.")],
        "figures": figures,
        "warning": None if complete else _("Some criteria have no score yet: the review cannot be submitted until "
                                           "every criterion has its score and justification."),
        "final": _("Submitting freezes your scores: you cannot change them afterwards; only the programme manager can "
                   "reopen the review."),
        "action": url_for("reviews.submit_review", review_id=item.id), "yes": _("Yes, submit the review"),
        "cancel": back,
    }


@bp.route("/reviews/<int:review_id>/attachments/<int:attachment_id>")
@login_required
def review_attachment(review_id: int, attachment_id: int):
    """An attachment of the version under review, for its reviewer (or a manager)."""
    item = services.get_review(review_id, actor=actor())
    if attachment_id not in {a["id"] for a in services.reviewed_version(item).snapshot["attachments"]}:
        raise NotFound("no such attachment in the reviewed version")
    proposal = item.proposal
    attachment = proposal_services.get_attachment(proposal, attachment_id)
    folder = proposal_services.attachments_folder(current_app.config["UPLOAD_FOLDER"], proposal)
    response = send_file(stored_path(folder, attachment.stored_name), as_attachment=True,
                         download_name=attachment.original_name, mimetype=attachment.content_type)
    response.headers["X-Content-Type-Options"] = "nosniff"
    return response
