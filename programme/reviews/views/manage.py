"""The programme manager's pages of a call's review, under ``/calls/<call_id>/review/...``: the overview
(the start of the review with its deadline, the figures, the publication of the decisions), the reviewer pool,
and the assignments (by hand, automatic, moved, removed)."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal
from typing import Any

from flask import flash, redirect, render_template, request, url_for
from flask_login import login_required

from programme.accounts.models import User
from programme.calls.models import Call, CallStatus
from programme.core.forms import ActionForm, choices
from programme.core.money import format_money
from programme.core.security import bounded_int
from programme.core.texts import gettext as _
from programme.core.texts import pgettext
from programme.core.timezone import format_local, local_to_utc, to_local
from programme.core.web import actor, attempt, now
from programme.extensions import db
from programme.reviews import services
from programme.reviews.forms import AddReviewerForm, AssignForm, ConfirmForm, DeadlineForm, MoveForm
from programme.reviews.models import CallReviewer, Outcome
from programme.reviews.views import bp
from programme.reviews.views._common import (
    manage_page,
    managed_call,
    managed_review,
    page_arg,
    page_count,
    page_size,
    programme_zone,
)

#: Up to this many reviewers in the pool, each not-started review on the assignments page carries its own move
#: form; above, a link to the review's move page (a select of the whole pool on every row would be too heavy).
INLINE_MOVE_POOL = 40


def _overview(call: Call, *, deadline_form: DeadlineForm | None = None):
    moment = now()
    form = deadline_form
    if form is None and call.status in (CallStatus.CLOSED, CallStatus.REVIEWING):
        suggested = call.review_deadline or (moment + timedelta(days=21))
        local = to_local(suggested, programme_zone()).replace(tzinfo=None)
        if call.review_deadline is None:
            local = local.replace(hour=17, minute=0)
        form = DeadlineForm(formdata=None, data={"deadline": local.replace(second=0, microsecond=0)})
    figures = services.review_figures(call, actor=actor(), now=moment)
    return manage_page("overview.html", call, figures=figures, deadline_form=form)


@bp.route("/calls/<int:call_id>/review")
@login_required
def overview(call_id: int):
    return _overview(managed_call(call_id))


@bp.route("/calls/<int:call_id>/review/start", methods=["POST"])
@login_required
def start(call_id: int):
    call = managed_call(call_id)
    form = DeadlineForm()
    if form.validate_on_submit():
        deadline = local_to_utc(form.deadline.data, programme_zone())
        with attempt(form) as done:
            eligible = services.start_review(call, deadline=deadline, actor=actor(), now=now())
        if done.ok:
            flash(_("The review of %(reference)s has started with %(count)s eligible proposal(s); reviewers have "
                    "until %(deadline)s. Next: build the pool and assign the proposals.", reference=call.reference,
                    count=eligible, deadline=format_local(deadline, programme_zone())), "success")
            return redirect(url_for("reviews.overview", call_id=call.id))
    return _overview(call, deadline_form=form)


@bp.route("/calls/<int:call_id>/review/deadline", methods=["POST"])
@login_required
def change_deadline(call_id: int):
    call = managed_call(call_id)
    form = DeadlineForm()
    if form.validate_on_submit():
        previous = call.review_deadline
        deadline = local_to_utc(form.deadline.data, programme_zone())
        with attempt(form) as done:
            services.change_deadline(call, deadline=deadline, actor=actor(), now=now())
        if done.ok:
            zone = programme_zone()
            flash(_("The review deadline is now %(deadline)s (it was %(previous)s). Reviews not yet submitted will be "
                    "reminded and flagged against the new deadline.", deadline=format_local(deadline, zone),
                    previous=format_local(previous, zone)), "success")
            return redirect(url_for("reviews.overview", call_id=call.id))
    return _overview(call, deadline_form=form)


@bp.route("/calls/<int:call_id>/review/publish", methods=["GET", "POST"])
@login_required
def publish(call_id: int):
    """Publishing the decisions: the confirmation page (GET, or a POST without the confirmation), then the
    publication itself (a POST with ``confirmed``)."""
    call = managed_call(call_id)
    back = url_for("reviews.overview", call_id=call.id)
    if call.status != CallStatus.REVIEWING:
        flash(_("The call is %(status)s: decisions are published only while its review is under way. Nothing was "
                "changed.", status=call.status.label.lower()), "error")
        return redirect(back)
    form = ConfirmForm()
    if request.method == "POST" and form.validate_on_submit():
        if not form.given:
            flash(_("Nothing was published: publishing the decisions needs your confirmation below."), "error")
            return redirect(url_for("reviews.publish", call_id=call.id))
        with attempt() as done:
            initiatives = services.publish_decisions(
                call, actor=actor(), now=now(), link_for=lambda p: url_for("proposals.overview", proposal_id=p.id))
            committed = sum((i.startup_grant.committed for i in initiatives if i.startup_grant), Decimal(0))
        if done.ok:
            flash(_("The decisions of %(reference)s are published: %(count)s initiative(s) created with start-up "
                    "grants of %(amount)s in all; every group has been told its decision, its scores and the "
                    "reviewers' justifications.", reference=call.reference, count=len(initiatives),
                    amount=format_money(committed, call.currency)), "success")
        return redirect(back)
    return render_template("confirm.html", form=form, confirm=_publish_confirmation(call, back))


def _publish_confirmation(call: Call, back: str) -> dict[str, Any]:
    results = services.call_results(call, actor=actor())
    decisions = [d for pid, d in results.decisions.items()
                 if pid in results.rows and results.rows[pid].status in services.IN_REVIEW]
    in_review = sum(1 for row in results.rows.values() if row.status in services.IN_REVIEW)
    funded = [d for d in decisions if d.outcome == Outcome.FUNDED]
    amount = sum((d.amount or Decimal(0) for d in funded), Decimal(0))
    count = {outcome: sum(1 for d in decisions if d.outcome == outcome) for outcome in Outcome}
    missing = in_review - len(decisions)
    return {
        "title": _("Publish the decisions of %(reference)s?", reference=call.reference),
        "lead": [_("Publishing ends the review of %(name)s: every proposal in review takes its recorded decision and "
                   "each group is told its result, its scores per criterion and the reviewers' justifications (never "
                   "their names).", name=call.name),
                 _("Each funded proposal becomes an initiative with its start-up grant commitment, and the funded "
                   "initiatives open: %(count)s proposal(s), %(amount)s in all.", count=len(funded),
                   amount=format_money(amount, call.currency))],
        "figures": [(pgettext("decided proposals", "Funded"),
                     _("%(count)s proposal(s), %(amount)s of start-up grants", count=count[Outcome.FUNDED],
                       amount=format_money(amount, call.currency))),
                    (_("Reserve list"), _("%(count)s proposal(s)", count=count[Outcome.RESERVE])),
                    (pgettext("decided proposals", "Rejected"),
                     _("%(count)s proposal(s)", count=count[Outcome.REJECTED])),
                    (_("Budget of the call"), format_money(call.budget, call.currency))],
        "warning": _("%(missing)s of %(count)s proposals have no decision yet: publishing is refused until each has "
                     "one (record them on the ranking page).", missing=missing, count=in_review)
        if missing > 0 else None,
        "final": _("Publishing cannot be undone: the groups are told at once and the initiatives are opened."),
        "action": url_for("reviews.publish", call_id=call.id), "yes": _("Yes, publish the decisions"), "cancel": back,
    }


# The reviewer pool -----------------------------------------------------------------------------------------


def _reviewer_label(user: Any) -> str:
    return f"{user.name} ({user.organisation.name})" if user.organisation is not None else user.name


@bp.route("/calls/<int:call_id>/review/reviewers", methods=["GET", "POST"])
@login_required
def pool(call_id: int):
    call = managed_call(call_id)
    candidates = services.reviewer_candidates(call, actor=actor())
    services.load_organisations(candidates)
    form = AddReviewerForm()
    form.user_id.choices = choices([(0, _("— choose a reviewer —")),
                                    *((u.id, _reviewer_label(u)) for u in candidates)])
    if form.validate_on_submit():
        user = next(u for u in candidates if u.id == form.user_id.data)
        with attempt(form) as done:
            services.add_reviewer(call, user, actor=actor(), now=now())
        if done.ok:
            size = len(services.pool(call))
            flash(_("%(name)s joined the reviewer pool of %(reference)s, which now has %(size)s reviewer(s). They were "
                    "notified and asked to declare their conflicts and expertise.", name=user.name,
                    reference=call.reference, size=size), "success")
            return redirect(url_for("reviews.pool", call_id=call.id))
    entries = services.pool(call)
    services.load_organisations(e.user for e in entries)
    declared = services.declared_conflicts(call, actor=actor())
    return manage_page("pool.html", call, entries=entries, loads=services.reviewer_loads(call), declared=declared,
                       form=form, candidates=len(candidates))


@bp.route("/calls/<int:call_id>/review/reviewers/<int:user_id>/remove", methods=["POST"])
@login_required
def remove_reviewer(call_id: int, user_id: int):
    call = managed_call(call_id)
    if ActionForm().validate_on_submit():
        user = db.session.get(User, user_id)
        assigned = services.reviewer_loads(call).get(user_id, (0, 0))[0]
        with attempt() as done:
            services.remove_reviewer(call, user_id, actor=actor(), now=now())
        if done.ok:
            name = user.name if user else _("The reviewer")
            flash(_("%(name)s left the pool of %(reference)s and its %(count)s assignment(s) were removed.", name=name,
                    reference=call.reference, count=assigned) if assigned else
                  _("%(name)s left the pool of %(reference)s.", name=name, reference=call.reference), "success")
    return redirect(url_for("reviews.pool", call_id=call_id))


# Assignments -------------------------------------------------------------------------------------------------


def _assignment_page(call: Call, page: int) -> tuple[list[services.AssignmentRow], int]:
    """One page of the proposals in review with their reviews, and how many there are."""
    return services.assignment_page(call, page=page, per_page=page_size(), actor=actor())


def _assign_form(rows: list[services.AssignmentRow], entries: list[CallReviewer],
                 loads: dict[int, tuple[int, int]]) -> AssignForm:
    """The hand-assignment form: a proposal of the page shown (the page keeps the select short at any size)
    and a reviewer of the pool, with its load."""
    form = AssignForm()
    form.proposal_id.choices = choices([(0, _("— choose a proposal on this page —")), *(
        (row.proposal_id, _("%(reference)s · %(title)s (%(count)s assigned)", reference=row.reference,
                            title=_shortened(row.title), count=len(row.reviews)))
        for row in rows if row.status in services.IN_REVIEW)])
    form.reviewer_id.choices = choices([(0, _("— choose a reviewer —")), *(
        (e.user_id, _("%(name)s (%(count)s assigned)", name=e.user.name, count=loads.get(e.user_id, (0, 0))[0]))
        for e in entries)])
    return form


def _shortened(text: str, size: int = 50) -> str:
    return text if len(text) <= size else text[:size - 1].rstrip() + "…"


def _assignments(call: Call, *, page: int, rows: list[services.AssignmentRow], count: int,
                 entries: list[CallReviewer], loads: dict[int, tuple[int, int]], form: AssignForm):
    conflict_map = services.conflicts(call, proposal_ids=[row.proposal_id for row in rows])
    wanted = services.scoring_of(call).reviewers_per_proposal
    counts = [loads.get(e.user_id, (0, 0))[0] for e in entries]
    return manage_page(
        "assignments.html", call, rows=rows, count=count, page=page, pages=page_count(count), entries=entries,
        loads=loads, form=form, conflict_map=conflict_map, short=services.short_of_reviewers(call), k=wanted,
        load_range=(min(counts), max(counts)) if counts else None, inline_move=len(entries) <= INLINE_MOVE_POOL,
        move_form=MoveForm(formdata=None),
    )


@bp.route("/calls/<int:call_id>/review/assignments")
@login_required
def assignments(call_id: int):
    call = managed_call(call_id)
    page = page_arg()
    rows, count = _assignment_page(call, page)
    entries, loads = services.pool(call), services.reviewer_loads(call)
    return _assignments(call, page=page, rows=rows, count=count, entries=entries, loads=loads,
                        form=_assign_form(rows, entries, loads))


@bp.route("/calls/<int:call_id>/review/assignments/auto", methods=["POST"])
@login_required
def auto_assign(call_id: int):
    call = managed_call(call_id)
    if ActionForm().validate_on_submit():
        with attempt() as done:
            summary = services.auto_assign(call, actor=actor(), now=now())
        if done.ok:
            loads = summary.loads.values()
            flash(_("Automatic assignment done: %(created)s review(s) created and %(kept)s kept for %(proposals)s "
                    "proposal(s); loads from %(low)s to %(high)s per reviewer; %(matches)s assignment(s) match a "
                    "reviewer's stated expertise.", created=summary.created, kept=summary.kept,
                    proposals=summary.proposals, low=min(loads, default=0), high=max(loads, default=0),
                    matches=summary.matches), "success")
    return redirect(url_for("reviews.assignments", call_id=call_id))


@bp.route("/calls/<int:call_id>/review/assignments/add", methods=["POST"])
@login_required
def add_assignment(call_id: int):
    """Assign by hand; the form offers the proposals of the page it was on (``?page=``), where it comes back."""
    call = managed_call(call_id)
    page = page_arg()
    rows, count = _assignment_page(call, page)
    entries, loads = services.pool(call), services.reviewer_loads(call)
    form = _assign_form(rows, entries, loads)
    if form.validate_on_submit():
        proposal = services.proposal_in_review(call, form.proposal_id.data)
        with attempt(form) as done:
            review = services.assign_reviewer(call, proposal, form.reviewer_id.data, actor=actor(), now=now())
            name, reference = review.reviewer.name, proposal.reference
        if done.ok:
            flash(_("%(name)s now reviews %(reference)s.", name=name, reference=reference), "success")
            return redirect(url_for("reviews.assignments", call_id=call.id, page=page if page > 1 else None))
    rows, count = _assignment_page(call, page)  # afresh: a refusal rolled the session back
    entries, loads = services.pool(call), services.reviewer_loads(call)
    return _assignments(call, page=page, rows=rows, count=count, entries=entries, loads=loads, form=form)


@bp.route("/reviews/<int:review_id>/move", methods=["GET", "POST"])
@login_required
def move(review_id: int):
    review = managed_review(review_id)
    call, proposal = review.call, review.proposal
    entries = services.pool(call)
    loads = services.reviewer_loads(call)
    form = MoveForm()
    form.reviewer_id.choices = choices([(0, _("— choose a reviewer —")), *(
        (e.user_id, _("%(name)s (%(count)s assigned)", name=e.user.name, count=loads.get(e.user_id, (0, 0))[0]))
        for e in entries if e.user_id != review.reviewer_id)])
    back = url_for("reviews.assignments", call_id=call.id, page=request.args.get("page", type=bounded_int))
    if form.validate_on_submit():
        previous = review.reviewer.name
        with attempt(form) as done:
            services.move_assignment(review, form.reviewer_id.data, actor=actor(), now=now())
            name, reference = review.reviewer.name, proposal.reference
        if done.ok:
            flash(_("The review of %(reference)s moved from %(previous)s to %(name)s.", reference=reference,
                    previous=previous, name=name), "success")
            return redirect(back)
    others = {r.reviewer_id for r in services.proposal_reviews(proposal, actor=actor())}
    conflicted = services.conflicts(call, proposal_ids=[proposal.id]).of_proposal(proposal.id)
    return manage_page("move.html", call, review=review, proposal=proposal, form=form, entries=entries, loads=loads,
                       others=others, conflicted=conflicted, back=back)


@bp.route("/reviews/<int:review_id>/unassign", methods=["POST"])
@login_required
def unassign(review_id: int):
    review = managed_review(review_id)
    call_id = review.call_id
    if ActionForm().validate_on_submit():
        name, reference = review.reviewer.name, review.proposal.reference
        with attempt() as done:
            services.remove_assignment(review, actor=actor(), now=now())
        if done.ok:
            flash(_("%(name)s no longer reviews %(reference)s.", name=name, reference=reference), "success")
    return redirect(url_for("reviews.assignments", call_id=call_id, page=request.args.get("page", type=bounded_int)))
