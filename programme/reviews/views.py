"""The review pages.

- The programme manager's pages, under ``/calls/<call_id>/review/...``: the reviewer pool, the start of the
  review with its deadline, assignment (by hand and automatic), the scores with disagreement and consensus,
  the calibration of reviewers, the ranking with its funding line, decisions and their publication, and the
  Excel exports.
- The reviewer's pages, under ``/reviewing/...`` and ``/reviews/<review_id>``: its calls, its expertise and
  conflicts of interest, its assigned proposals (the frozen version) and the scoring form.

Each view loads, checks access through the services, validates its form, calls one service and commits once.
"""

from __future__ import annotations

import math
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from fractions import Fraction
from typing import Any

from flask import Blueprint, current_app, flash, redirect, render_template, request, send_file, url_for
from flask_login import login_required
from sqlalchemy import func, select
from sqlalchemy.orm import lazyload, selectinload

from programme.accounts.models import Organisation, User
from programme.calls import services as calls
from programme.calls.models import Call, CallStatus
from programme.core.access import AccessDenied, NotFound, Role, RuleViolation, require_role
from programme.core.files import stored_path
from programme.core.forms import ActionForm, choices
from programme.core.money import format_money
from programme.core.timezone import format_local, local_to_utc, to_local
from programme.core.web import actor, commit, form_error, now, send_workbook
from programme.extensions import db
from programme.proposals import services as proposal_services
from programme.proposals.domain import COST_TYPES, SECTIONS, ActivityKind, snapshot_figures
from programme.proposals.models import Proposal, ProposalStatus
from programme.reviews import services
from programme.reviews.domain import display
from programme.reviews.export import write_ranking_workbook, write_score_matrix
from programme.reviews.forms import (
    AddReviewerForm,
    AssignForm,
    ConsensusForm,
    DeadlineForm,
    DecisionForm,
    DeclareConflictForm,
    ExpertiseForm,
    MoveForm,
    ReopenForm,
    ReviewForm,
    conflict_choices,
    criterion_choices,
    review_data,
    review_form,
    score_choices,
)
from programme.reviews.models import CallReviewer, ConflictOfInterest, Outcome, Review
from programme.rulebook import ORGANISATION_TYPES

bp = Blueprint("reviews", __name__)


# The programme manager's pages ------------------------------------------------------------------------

REVIEW_PAGE_SIZE = 100
#: Sort orders of the scores page; the first is the default.
SCORE_SORTS = ("disagreement", "total", "reference")
#: Up to this many reviewers in the pool, each not-started review on the assignments page carries its own move
#: form; above, a link to the review's move page (a select of the whole pool on every row would be too heavy).
INLINE_MOVE_POOL = 40
#: The ranking chart draws at most this many bars; with more proposals, neighbours share a bar.
CHART_BARS = 250
#: A reviewer whose mean offset is at least this share of a scale step per criterion reads as lenient or harsh.
CALIBRATION_NOTICE = Fraction(1, 2)


def _call(call_id: int) -> Call:
    """The call of a manager's review page: 403 for anyone but a programme manager, 404 for an unknown id."""
    return calls.get_call_for_management(call_id, actor=actor())


def _proposal_in_review(call: Call, proposal_id: int) -> Proposal:
    """A proposal taking part in this call's review; 404 for any other id (another call's, a draft...)."""
    proposal = db.session.get(Proposal, proposal_id)
    if proposal is None or proposal.call_id != call.id or proposal.status not in services.IN_REVIEW + services.DECIDED:
        raise NotFound("no such proposal in the review of this call")
    return proposal


def _managed_review(review_id: int) -> Review:
    """A review, for the manager's actions on it: 403 for anyone but a programme manager, 404 for an unknown id."""
    require_role(actor(), Role.PROGRAMME_MANAGER)
    return services.get_review(review_id, actor=actor())


def _page_arg(name: str = "page") -> int:
    return min(max(1, request.args.get(name, 1, type=int) or 1), 1_000_000)


def _page_count(count: int) -> int:
    return max(1, math.ceil(count / REVIEW_PAGE_SIZE))


def _on_page(items: Sequence[Any], page: int) -> Sequence[Any]:
    return items[(page - 1) * REVIEW_PAGE_SIZE:page * REVIEW_PAGE_SIZE]


def _programme_zone() -> str:
    return current_app.config["PROGRAMME_TIMEZONE"]


def _refused(form: Any, exc: RuleViolation) -> None:
    """A service refused: forget what it changed, show its message beside the field (typed values stay)."""
    db.session.rollback()
    form_error(form, exc)


def _manage(template: str, call: Call, **context: Any) -> str:
    """A page of the call's review: what every one of them needs besides its own content."""
    return render_template(f"reviews/manage/{template}", call=call, scoring=services.scoring_of(call),
                           action_form=ActionForm(), now=now(), display=display, **context)


def _reviewer_label(user: Any) -> str:
    return f"{user.name} ({user.organisation.name})" if user.organisation is not None else user.name


def _load_organisations(users: Iterable[Any]) -> None:
    """Load the users' organisations in one query, so that ``user.organisation`` costs none per row."""
    ids = {u.organisation_id for u in users if u.organisation_id is not None}
    if ids:
        db.session.scalars(select(Organisation).where(Organisation.id.in_(ids))).all()


# The review at a glance: start, deadline, figures, publication --------------------------------------------


@dataclass(frozen=True)
class Figures:
    """The review's counts on the overview page."""

    proposals: int
    waiting: int
    assigned: int
    submitted: int
    outstanding: int
    late: int
    reviewers: int
    decisions: int
    against: int
    needs_consensus: int
    scored: int


def _figures(call: Call, moment: datetime) -> Figures:
    results = services.call_results(call, actor=actor())
    in_review = [row for row in results.rows.values() if row.status in services.IN_REVIEW]
    assigned = sum(row.assigned for row in results.rows.values())
    submitted = sum(row.submitted for row in results.rows.values())
    overdue = call.review_deadline is not None and moment > call.review_deadline
    waiting = 0
    if call.status == CallStatus.CLOSED:
        _, waiting = proposal_services.list_submissions(call, proposal_services.SubmissionFilter(status="submitted"),
                                                        page=1, per_page=1, actor=actor())
    return Figures(
        proposals=len(results.rows), waiting=waiting, assigned=assigned, submitted=submitted,
        outstanding=assigned - submitted, late=assigned - submitted if overdue else 0,
        reviewers=len(services.pool(call)), decisions=len(results.decisions),
        against=sum(1 for d in results.decisions.values() if d.against_ranking),
        needs_consensus=sum(1 for pid, s in results.scores.items() if s.needs_consensus
                            and results.rows[pid].status in services.IN_REVIEW),
        scored=sum(1 for row in in_review if results.scores[row.id].scored),
    )


def _overview(call: Call, *, deadline_form: DeadlineForm | None = None):
    moment = now()
    form = deadline_form
    if form is None and call.status in (CallStatus.CLOSED, CallStatus.REVIEWING):
        suggested = call.review_deadline or (moment + timedelta(days=21))
        local = to_local(suggested, _programme_zone()).replace(tzinfo=None)
        if call.review_deadline is None:
            local = local.replace(hour=17, minute=0)
        form = DeadlineForm(formdata=None, data={"deadline": local.replace(second=0, microsecond=0)})
    return _manage("overview.html", call, figures=_figures(call, moment), deadline_form=form)


@bp.route("/calls/<int:call_id>/review")
@login_required
def overview(call_id: int):
    return _overview(_call(call_id))


@bp.route("/calls/<int:call_id>/review/start", methods=["POST"])
@login_required
def start(call_id: int):
    call = _call(call_id)
    form = DeadlineForm()
    if form.validate_on_submit():
        deadline = local_to_utc(form.deadline.data, _programme_zone())
        try:
            eligible = services.start_review(call, deadline=deadline, actor=actor(), now=now())
        except RuleViolation as exc:
            _refused(form, exc)
        else:
            commit()
            flash(f"The review of {call.reference} has started with {eligible} eligible proposal(s); reviewers "
                  f"have until {format_local(deadline, _programme_zone())}. Next: build the pool and assign the "
                  "proposals.", "success")
            return redirect(url_for("reviews.overview", call_id=call.id))
    return _overview(call, deadline_form=form)


@bp.route("/calls/<int:call_id>/review/deadline", methods=["POST"])
@login_required
def change_deadline(call_id: int):
    call = _call(call_id)
    form = DeadlineForm()
    if form.validate_on_submit():
        previous = call.review_deadline
        deadline = local_to_utc(form.deadline.data, _programme_zone())
        try:
            services.change_deadline(call, deadline=deadline, actor=actor(), now=now())
        except RuleViolation as exc:
            _refused(form, exc)
        else:
            commit()
            zone = _programme_zone()
            flash(f"The review deadline is now {format_local(deadline, zone)} (it was {format_local(previous, zone)}). "
                  "Reviews not yet submitted will be reminded and flagged against the new deadline.", "success")
            return redirect(url_for("reviews.overview", call_id=call.id))
    return _overview(call, deadline_form=form)


@bp.route("/calls/<int:call_id>/review/publish", methods=["POST"])
@login_required
def publish(call_id: int):
    call = _call(call_id)
    if ActionForm().validate_on_submit():
        try:
            initiatives = services.publish_decisions(
                call, actor=actor(), now=now(), link_for=lambda p: url_for("proposals.overview", proposal_id=p.id))
        except RuleViolation as exc:
            db.session.rollback()
            flash(exc.message, "error")
        else:
            committed = sum((i.startup_grant.committed for i in initiatives if i.startup_grant), Decimal(0))
            commit()
            flash(f"The decisions of {call.reference} are published: {len(initiatives)} initiative(s) created with "
                  f"start-up grants of {format_money(committed, call.currency)} in all; every group has been told "
                  "its decision, its scores and the reviewers' justifications.", "success")
    return redirect(url_for("reviews.overview", call_id=call_id))


# The reviewer pool -----------------------------------------------------------------------------------------


def _declared_conflicts(call: Call) -> dict[int, int]:
    """Per reviewer of the call: how many conflicts of interest it declared."""
    return dict(db.session.execute(
        select(ConflictOfInterest.reviewer_id, func.count()).where(ConflictOfInterest.call_id == call.id)
        .group_by(ConflictOfInterest.reviewer_id)
    ).all())


@bp.route("/calls/<int:call_id>/review/reviewers", methods=["GET", "POST"])
@login_required
def pool(call_id: int):
    call = _call(call_id)
    candidates = services.reviewer_candidates(call, actor=actor())
    _load_organisations(candidates)
    form = AddReviewerForm()
    form.user_id.choices = choices([(0, "— choose a reviewer —"), *((u.id, _reviewer_label(u)) for u in candidates)])
    if form.validate_on_submit():
        user = next(u for u in candidates if u.id == form.user_id.data)
        try:
            services.add_reviewer(call, user, actor=actor(), now=now())
        except RuleViolation as exc:
            _refused(form, exc)
        else:
            commit()
            size = len(services.pool(call))
            flash(f"{user.name} joined the reviewer pool of {call.reference}, which now has {size} reviewer(s). "
                  "They were notified and asked to declare their conflicts and expertise.", "success")
            return redirect(url_for("reviews.pool", call_id=call.id))
    entries = services.pool(call)
    _load_organisations(e.user for e in entries)
    return _manage("pool.html", call, entries=entries, loads=services.reviewer_loads(call),
                   declared=_declared_conflicts(call), form=form, candidates=len(candidates))


@bp.route("/calls/<int:call_id>/review/reviewers/<int:user_id>/remove", methods=["POST"])
@login_required
def remove_reviewer(call_id: int, user_id: int):
    call = _call(call_id)
    if ActionForm().validate_on_submit():
        user = db.session.get(User, user_id)
        assigned = services.reviewer_loads(call).get(user_id, (0, 0))[0]
        try:
            services.remove_reviewer(call, user_id, actor=actor(), now=now())
        except RuleViolation as exc:
            db.session.rollback()
            flash(exc.message, "error")
        else:
            commit()
            dropped = f" and its {assigned} assignment(s) were removed" if assigned else ""
            flash(f"{user.name if user else 'The reviewer'} left the pool of {call.reference}{dropped}.", "success")
    return redirect(url_for("reviews.pool", call_id=call_id))


# Assignments -------------------------------------------------------------------------------------------------


def _assignment_page(call: Call, page: int) -> tuple[list[services.AssignmentRow], int]:
    """One page of the proposals in review, in reference order, each with its reviews: three queries whatever
    the page size (the reviews come without their scores, which this page does not show)."""
    in_review = select(Proposal).where(Proposal.call_id == call.id,
                                       Proposal.status.in_(services.IN_REVIEW + services.DECIDED))
    count = db.session.scalar(select(func.count()).select_from(in_review.subquery())) or 0
    proposals = db.session.scalars(in_review.order_by(Proposal.reference, Proposal.id)
                                   .limit(REVIEW_PAGE_SIZE).offset((page - 1) * REVIEW_PAGE_SIZE)).all()
    reviews: dict[int, list[Review]] = defaultdict(list)
    if proposals:
        for review in db.session.scalars(
            select(Review).where(Review.proposal_id.in_([p.id for p in proposals]))
            .options(lazyload(Review.scores)).order_by(Review.id)
        ):
            reviews[review.proposal_id].append(review)
    rows = [services.AssignmentRow(p.id, p.reference or "", p.title, p.group.name, p.sector, p.status, reviews[p.id])
            for p in proposals]
    return rows, count


def _short_of_reviewers(call: Call, wanted: int) -> int:
    """How many proposals in review have fewer reviewers than the rules ask for (one query)."""
    assigned = (select(Review.proposal_id, func.count().label("reviews")).where(Review.call_id == call.id)
                .group_by(Review.proposal_id).subquery())
    return db.session.scalar(
        select(func.count()).select_from(Proposal).outerjoin(assigned, assigned.c.proposal_id == Proposal.id)
        .where(Proposal.call_id == call.id, Proposal.status.in_(services.IN_REVIEW),
               func.coalesce(assigned.c.reviews, 0) < wanted)
    ) or 0


def _assign_form(rows: list[services.AssignmentRow], entries: list[CallReviewer],
                 loads: dict[int, tuple[int, int]]) -> AssignForm:
    """The hand-assignment form: a proposal of the page shown (the page keeps the select short at any size)
    and a reviewer of the pool, with its load."""
    form = AssignForm()
    form.proposal_id.choices = choices([(0, "— choose a proposal on this page —"), *(
        (row.proposal_id, f"{row.reference} · {_shortened(row.title)} ({len(row.reviews)} assigned)")
        for row in rows if row.status in services.IN_REVIEW)])
    form.reviewer_id.choices = choices([(0, "— choose a reviewer —"), *(
        (e.user_id, f"{e.user.name} ({loads.get(e.user_id, (0, 0))[0]} assigned)") for e in entries)])
    return form


def _shortened(text: str, size: int = 50) -> str:
    return text if len(text) <= size else text[:size - 1].rstrip() + "…"


def _assignments(call: Call, *, page: int, rows: list[services.AssignmentRow], count: int,
                 entries: list[CallReviewer], loads: dict[int, tuple[int, int]], form: AssignForm):
    conflict_map = services.conflicts(call, proposal_ids=[row.proposal_id for row in rows])
    wanted = services.scoring_of(call).reviewers_per_proposal
    counts = [loads.get(e.user_id, (0, 0))[0] for e in entries]
    return _manage(
        "assignments.html", call, rows=rows, count=count, page=page, pages=_page_count(count), entries=entries,
        loads=loads, form=form, conflict_map=conflict_map, short=_short_of_reviewers(call, wanted), k=wanted,
        load_range=(min(counts), max(counts)) if counts else None, inline_move=len(entries) <= INLINE_MOVE_POOL,
        move_form=MoveForm(formdata=None),
    )


@bp.route("/calls/<int:call_id>/review/assignments")
@login_required
def assignments(call_id: int):
    call = _call(call_id)
    page = _page_arg()
    rows, count = _assignment_page(call, page)
    entries, loads = services.pool(call), services.reviewer_loads(call)
    return _assignments(call, page=page, rows=rows, count=count, entries=entries, loads=loads,
                        form=_assign_form(rows, entries, loads))


@bp.route("/calls/<int:call_id>/review/assignments/auto", methods=["POST"])
@login_required
def auto_assign(call_id: int):
    call = _call(call_id)
    if ActionForm().validate_on_submit():
        try:
            summary = services.auto_assign(call, actor=actor(), now=now())
        except RuleViolation as exc:
            db.session.rollback()
            flash(exc.message, "error")
        else:
            commit()
            loads = summary.loads.values()
            flash(f"Automatic assignment done: {summary.created} review(s) created and {summary.kept} kept for "
                  f"{summary.proposals} proposal(s); loads from {min(loads, default=0)} to {max(loads, default=0)} "
                  f"per reviewer; {summary.matches} assignment(s) match a reviewer's stated expertise.", "success")
    return redirect(url_for("reviews.assignments", call_id=call_id))


@bp.route("/calls/<int:call_id>/review/assignments/add", methods=["POST"])
@login_required
def add_assignment(call_id: int):
    """Assign by hand; the form offers the proposals of the page it was on (``?page=``), where it comes back."""
    call = _call(call_id)
    page = _page_arg()
    rows, count = _assignment_page(call, page)
    entries, loads = services.pool(call), services.reviewer_loads(call)
    form = _assign_form(rows, entries, loads)
    if form.validate_on_submit():
        proposal = _proposal_in_review(call, form.proposal_id.data)
        try:
            review = services.assign_reviewer(call, proposal, form.reviewer_id.data, actor=actor(), now=now())
        except RuleViolation as exc:
            _refused(form, exc)
        else:
            name, reference = review.reviewer.name, proposal.reference
            commit()
            flash(f"{name} now reviews {reference}.", "success")
            return redirect(url_for("reviews.assignments", call_id=call.id, page=page if page > 1 else None))
    rows, count = _assignment_page(call, page)  # afresh: a refusal rolled the session back
    entries, loads = services.pool(call), services.reviewer_loads(call)
    return _assignments(call, page=page, rows=rows, count=count, entries=entries, loads=loads, form=form)


@bp.route("/reviews/<int:review_id>/move", methods=["GET", "POST"])
@login_required
def move(review_id: int):
    review = _managed_review(review_id)
    call, proposal = review.call, review.proposal
    entries = services.pool(call)
    loads = services.reviewer_loads(call)
    form = MoveForm()
    form.reviewer_id.choices = choices([(0, "— choose a reviewer —"), *(
        (e.user_id, f"{e.user.name} ({loads.get(e.user_id, (0, 0))[0]} assigned)")
        for e in entries if e.user_id != review.reviewer_id)])
    back = url_for("reviews.assignments", call_id=call.id, page=request.args.get("page", type=int))
    if form.validate_on_submit():
        previous = review.reviewer.name
        try:
            services.move_assignment(review, form.reviewer_id.data, actor=actor(), now=now())
        except RuleViolation as exc:
            _refused(form, exc)
        else:
            name, reference = review.reviewer.name, proposal.reference
            commit()
            flash(f"The review of {reference} moved from {previous} to {name}.", "success")
            return redirect(back)
    others = {r.reviewer_id for r in services.proposal_reviews(proposal, actor=actor())}
    conflicted = services.conflicts(call, proposal_ids=[proposal.id]).of_proposal(proposal.id)
    return _manage("move.html", call, review=review, proposal=proposal, form=form, entries=entries, loads=loads,
                   others=others, conflicted=conflicted, back=back)


@bp.route("/reviews/<int:review_id>/unassign", methods=["POST"])
@login_required
def unassign(review_id: int):
    review = _managed_review(review_id)
    call_id = review.call_id
    if ActionForm().validate_on_submit():
        name, reference = review.reviewer.name, review.proposal.reference
        try:
            services.remove_assignment(review, actor=actor(), now=now())
        except RuleViolation as exc:
            db.session.rollback()
            flash(exc.message, "error")
        else:
            commit()
            flash(f"{name} no longer reviews {reference}.", "success")
    return redirect(url_for("reviews.assignments", call_id=call_id, page=request.args.get("page", type=int)))


# Scores, one proposal's reviews, consensus, reopening, decisions -------------------------------------------


@bp.route("/calls/<int:call_id>/review/scores")
@login_required
def scores(call_id: int):
    call = _call(call_id)
    results = services.call_results(call, actor=actor())
    sort = request.args.get("sort", SCORE_SORTS[0])
    sort = sort if sort in SCORE_SORTS else SCORE_SORTS[0]
    if sort == "disagreement":
        ordered = results.by_disagreement()
    elif sort == "total":
        ordered = sorted(results.rows, key=lambda pid: (results.scores[pid].total is None,
                                                        -(results.scores[pid].total or 0), results.rows[pid].reference))
    else:
        ordered = sorted(results.rows, key=lambda pid: results.rows[pid].reference)
    page = _page_arg()
    shown = _on_page(ordered, page)
    flagged = sum(1 for pid in results.rows if results.scores[pid].needs_consensus)
    return _manage("scores.html", call, results=results, ids=shown, sort=sort, page=page,
                   pages=_page_count(len(ordered)), count=len(ordered), flagged=flagged)


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
    return _manage(
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
    call = _call(call_id)
    return _proposal_page(call, _proposal_in_review(call, proposal_id))


@bp.route("/calls/<int:call_id>/review/proposals/<int:proposal_id>/consensus", methods=["POST"])
@login_required
def consensus(call_id: int, proposal_id: int):
    call = _call(call_id)
    proposal = _proposal_in_review(call, proposal_id)
    form = _consensus_form(call)
    if form.validate_on_submit():
        try:
            row = services.record_consensus(proposal, criterion_key=form.criterion_key.data, score=form.score.data,
                                            reason=form.reason.data, actor=actor(), now=now())
        except RuleViolation as exc:
            _refused(form, exc)
        else:
            key, value = row.criterion_key, row.score
            commit()
            score = services.call_results(call, actor=actor()).scores[proposal.id]
            title = next(c.title for c in call.criteria if c.key == key)
            flash(f"Consensus recorded on '{title}': {display(value)} replaces the mean of "
                  f"{display(score.criterion(key).mean)}; the total of {proposal.reference} is now "
                  f"{display(score.total)}.", "success")
            return redirect(url_for("reviews.proposal", call_id=call.id, proposal_id=proposal.id, _anchor="criteria"))
    return _proposal_page(call, proposal, consensus_form=form)


@bp.route("/calls/<int:call_id>/review/proposals/<int:proposal_id>/consensus/<key>/clear", methods=["POST"])
@login_required
def clear_consensus(call_id: int, proposal_id: int, key: str):
    call = _call(call_id)
    proposal = _proposal_in_review(call, proposal_id)
    if ActionForm().validate_on_submit():
        try:
            services.clear_consensus(proposal, criterion_key=key, actor=actor(), now=now())
        except RuleViolation as exc:
            db.session.rollback()
            flash(exc.message, "error")
        else:
            commit()
            title = next((c.title for c in call.criteria if c.key == key), key)
            flash(f"Consensus on '{title}' cleared: the mean of the reviews counts again.", "success")
    return redirect(url_for("reviews.proposal", call_id=call_id, proposal_id=proposal_id, _anchor="criteria"))


@bp.route("/reviews/<int:review_id>/reopen", methods=["POST"])
@login_required
def reopen(review_id: int):
    review = _managed_review(review_id)
    call, proposal = review.call, review.proposal
    form = ReopenForm()
    if form.validate_on_submit():
        name = review.reviewer.name
        try:
            services.reopen_review(review, reason=form.reason.data, actor=actor(), now=now())
        except RuleViolation as exc:
            _refused(form, exc)
        else:
            commit()
            flash(f"{name}'s review of {proposal.reference} is reopened: its scores stay as a draft, it no longer "
                  "counts until submitted again, and the reviewer has been told why.", "success")
            return redirect(url_for("reviews.proposal", call_id=call.id, proposal_id=proposal.id, _anchor="reviews"))
    return _proposal_page(call, proposal, reopen_form=form, reopen_id=review.id)


@bp.route("/calls/<int:call_id>/review/proposals/<int:proposal_id>/decision", methods=["POST"])
@login_required
def decide(call_id: int, proposal_id: int):
    call = _call(call_id)
    proposal = _proposal_in_review(call, proposal_id)
    form = DecisionForm()
    if form.validate_on_submit():
        try:
            decision = services.record_decision(proposal, outcome=Outcome(form.outcome.data), reason=form.reason.data,
                                                actor=actor(), now=now())
        except RuleViolation as exc:
            _refused(form, exc)
        else:
            outcome, against, ranked_as = decision.outcome, decision.against_ranking, decision.ranked_as
            amount = decision.amount
            commit()
            grant = f" with a start-up grant of {format_money(amount, call.currency)}" if amount is not None else ""
            note = (f" It departs from the ranking ({RANKED_AS.get(ranked_as, ranked_as)}) and is marked so on the "
                    "ranking page." if against else "")
            flash(f"Decision recorded: {proposal.reference} {outcome.label.lower()}{grant}.{note}", "success")
            return redirect(url_for("reviews.proposal", call_id=call.id, proposal_id=proposal.id, _anchor="decision"))
    return _proposal_page(call, proposal, decision_form=form)


# Calibration ---------------------------------------------------------------------------------------------------


@bp.route("/calls/<int:call_id>/review/calibration")
@login_required
def calibration(call_id: int):
    call = _call(call_id)
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
    page = _page_arg()
    results = services.results_of(call)
    return _manage("calibration.html", call, found=found, reviewers=reviewers, notice=notice, plain=plain,
                   calibrated=calibrated, changes=changes, ids=_on_page(order, page),
                   page=page, pages=_page_count(len(order)), count=len(order), crossing=crossing, moved=moved,
                   rows=results.rows)


# The ranking, its funding line and chart; decisions as ranked ---------------------------------------------------


RANKED_AS = {"funded": "ranked above the funding line", "reserve": "ranked on the reserve list",
             "not_fundable": "not fundable", "not_scored": "not scored"}


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


@dataclass(frozen=True)
class Bar:
    x: str
    y: str
    width: str
    height: str
    css: str
    label: str


@dataclass(frozen=True)
class Chart:
    """The ranking chart, as coordinates of an inline SVG (drawn by the template)."""

    width: int
    height: int
    top: int
    left: int
    bottom: int
    bars: list[Bar]
    ticks: list[tuple[str, str]]
    threshold_y: str
    threshold: str
    line_x: str | None
    per_bar: int
    count: int
    description: str


def _coordinate(value: Fraction) -> str:
    shown = display(value, 1)
    return "0" if shown is None else f"{shown.normalize():f}"


def _chart(results: services.CallResults, scoring: Any) -> Chart:
    """Bars of the totals, fundable proposals in rank order then the scored ones that are not fundable, with the
    overall threshold and the funding line. With more proposals than ``CHART_BARS`` neighbours share a bar, drawn
    at the highest total among them (the order is by total, so a bar spans a narrow band)."""
    ranking = results.ranking
    items: list[tuple[Fraction, str, str]] = []
    for place in ranking.ranked:
        items.append((place.entry.total, place.status, f"{place.rank}. {results.rows[place.proposal_id].reference}"))
    for entry in ranking.not_fundable:
        if entry.total is not None:
            items.append((entry.total, "not_fundable", results.rows[entry.proposal_id].reference))
    width, height, left, top, bottom = 720, 260, 44, 12, 28
    plot_w, plot_h = width - left - 8, height - top - bottom
    top_score = Fraction(scoring.scale.maximum) * Fraction(scoring.total_weight)
    per_bar = max(1, math.ceil(len(items) / CHART_BARS))
    groups = [items[i:i + per_bar] for i in range(0, len(items), per_bar)]
    slot = Fraction(plot_w, max(1, len(groups)))

    def y_of(value: Fraction) -> Fraction:
        return top + plot_h - Fraction(plot_h) * min(max(value, Fraction(0)), top_score) / top_score

    bars = []
    for index, group in enumerate(groups):
        high = max(total for total, _, _ in group)
        statuses = {status for _, status, _ in group}
        css = next((s for s in ("funded", "reserve", "not_fundable") if s in statuses), "reserve")
        if len(statuses) > 1:
            css = "mixed"
        label = (f"{group[0][2]}: total {display(high)}" if len(group) == 1
                 else f"{group[0][2]} to {group[-1][2]}: totals {display(group[-1][0])} to {display(high)}")
        y = y_of(high)
        bars.append(Bar(_coordinate(left + slot * index + slot / 10), _coordinate(y), _coordinate(slot * 8 / 10),
                        _coordinate(top + plot_h - y), css, label))
    funded = ranking.line_after
    line_x = _coordinate(left + slot * Fraction(funded, per_bar)) if ranking.ranked else None
    ticks = []
    step = max(Fraction(1), top_score / 5)
    value = Fraction(0)
    while value <= top_score:
        ticks.append((_coordinate(y_of(value)), f"{display(value, 0).normalize():f}"))
        value += step
    threshold = Fraction(scoring.overall_threshold)
    funded_count = len(ranking.funded)
    description = (f"{len(items)} scored proposals by total, highest first: {funded_count} funded, "
                   f"{len(ranking.reserve)} on the reserve list, {len(items) - len(ranking.ranked)} not fundable. "
                   f"The horizontal line is the overall threshold of {display(threshold)}; the vertical line is the "
                   f"funding line after rank {funded}.")
    return Chart(width, height, top, left, bottom, bars, ticks, _coordinate(y_of(threshold)),
                 f"{display(threshold).normalize():f}", line_x, per_bar, len(items), description)


@bp.route("/calls/<int:call_id>/review/ranking")
@login_required
def ranking(call_id: int):
    call = _call(call_id)
    results = services.call_results(call, actor=actor())
    ranked = results.ranking.ranked
    page, other = _page_arg(), _page_arg("other")
    line_after = results.ranking.line_after
    not_fundable = results.ranking.not_fundable
    return _manage(
        "ranking.html", call, results=results, ranking=results.ranking,
        shown=_on_page(ranked, page), page=page, pages=_page_count(len(ranked)),
        line_after=line_after, line_page=max(1, math.ceil(line_after / REVIEW_PAGE_SIZE)),
        others=_on_page(not_fundable, other), other=other,
        other_pages=_page_count(len(not_fundable)), chart=_chart(results, results.scoring),
        placed_by=lambda place: _placed_by(place.decided_by, results.ranking.tie_break),
        ranked_words=RANKED_AS,
        against=sum(1 for d in results.decisions.values() if d.against_ranking),
        undecided=sum(1 for pid, row in results.rows.items()
                      if row.status in services.IN_REVIEW and pid not in results.decisions),
    )


@bp.route("/calls/<int:call_id>/review/decide-as-ranked", methods=["POST"])
@login_required
def decide_as_ranked(call_id: int):
    call = _call(call_id)
    if ActionForm().validate_on_submit():
        try:
            count = services.decide_as_ranked(call, actor=actor(), now=now())
        except RuleViolation as exc:
            db.session.rollback()
            flash(exc.message, "error")
        else:
            commit()
            outcomes = Counter(d.outcome for d in services.call_results(call, actor=actor()).decisions.values())
            flash(f"{count} decision(s) recorded as the ranking says; decisions recorded before were kept. "
                  f"In all: {outcomes[Outcome.FUNDED]} funded, {outcomes[Outcome.RESERVE]} reserve, "
                  f"{outcomes[Outcome.REJECTED]} rejected. Publish them from the overview when ready.", "success")
    return redirect(url_for("reviews.ranking", call_id=call_id))


# Exports ---------------------------------------------------------------------------------------------------


def _workbook(call: Call, write: Callable[..., int], name: str):
    stamp = now().strftime("%Y%m%d-%H%M")
    return send_workbook(lambda handle: write(call, handle, actor=actor(), timezone=_programme_zone()),
                         f"{call.reference}-{name}-{stamp}.xlsx")


@bp.route("/calls/<int:call_id>/review/scores.xlsx")
@login_required
def export_scores(call_id: int):
    return _workbook(_call(call_id), write_score_matrix, "scores")


@bp.route("/calls/<int:call_id>/review/ranking.xlsx")
@login_required
def export_ranking(call_id: int):
    return _workbook(_call(call_id), write_ranking_workbook, "ranking")



# The reviewer's pages ---------------------------------------------------------------------------------


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
    assigned = services.reviews_of(me)
    _load_proposals(assigned)
    for item in assigned:
        by_call[item.call_id].append(item)
    return render_template("reviews/reviewer/calls.html", calls=services.calls_of_reviewer(me), reviews=by_call,
                           now=moment)


def _load_proposals(reviews: Iterable[Review]) -> None:
    """Load the reviews' proposals and their groups in two queries, so that a list of reviews costs none per row."""
    ids = {r.proposal_id for r in reviews}
    if ids:
        db.session.scalars(select(Proposal).where(Proposal.id.in_(ids)).options(selectinload(Proposal.group))).all()


def _submitted_proposals(call: Call) -> list[Proposal]:
    """The call's submitted proposals (withdrawn ones aside): what a reviewer may declare a conflict with."""
    return list(db.session.scalars(
        select(Proposal).where(Proposal.call_id == call.id, Proposal.submitted_at.is_not(None),
                               Proposal.status != ProposalStatus.WITHDRAWN)
        .options(selectinload(Proposal.group)).order_by(Proposal.reference)
    ))


def _conflict_form(call: Call, proposals: list[Proposal], **kwargs: Any) -> DeclareConflictForm:
    form = DeclareConflictForm(**kwargs)
    form.organisation_id.choices, form.proposal_id.choices = conflict_choices(services.organisations_of_call(call),
                                                                              proposals)
    return form


def _reviewer_call_page(call: Call, entry: CallReviewer, *, expertise_form: ExpertiseForm | None = None,
                        conflict_form: DeclareConflictForm | None = None, proposals: list[Proposal] | None = None):
    """The reviewer's page of one call; the form that was posted comes back with its values and errors."""
    me = actor()
    proposals = _submitted_proposals(call) if proposals is None else proposals
    by_id = {p.id: p for p in proposals}
    in_conflict = services.conflicts(call, reviewer_ids=[me.id]).of_reviewer(me.id)
    conflicted = sorted(((by_id[pid], reasons) for pid, reasons in in_conflict.items() if pid in by_id),
                        key=lambda pair: pair[0].reference or "")
    return render_template(
        "reviews/reviewer/call.html", call=call, entry=entry, reviews=services.reviews_of(me, call=call),
        conflicted=conflicted, declarations=services.declarations_of(call, me.id),
        expertise_form=expertise_form or ExpertiseForm(formdata=None, data={"expertise": entry.expertise}),
        conflict_form=conflict_form or _conflict_form(call, proposals, formdata=None),
        known_sectors=services.known_sectors(call), action_form=ActionForm(), now=now(),
    )


@bp.route("/reviewing/calls/<int:call_id>")
@login_required
def reviewer_call(call_id: int):
    return _reviewer_call_page(*_reviewer_call(call_id))


@bp.route("/reviewing/calls/<int:call_id>/expertise", methods=["POST"])
@login_required
def expertise(call_id: int):
    call, entry = _reviewer_call(call_id)
    form = ExpertiseForm()
    if form.validate_on_submit():
        try:
            saved = services.set_expertise(call, expertise=form.expertise.data or "", actor=actor(), now=now())
        except RuleViolation as exc:
            _refused(form, exc)
        else:
            sectors = saved.expertise
            commit()
            flash(f"Your sectors of expertise are saved: {sectors}." if sectors
                  else "Your sectors of expertise are cleared.", "success")
            return redirect(url_for("reviews.reviewer_call", call_id=call.id, _anchor="expertise"))
    return _reviewer_call_page(call, entry, expertise_form=form)


@bp.route("/reviewing/calls/<int:call_id>/conflicts", methods=["POST"])
@login_required
def declare_conflict(call_id: int):
    call, entry = _reviewer_call(call_id)
    proposals = _submitted_proposals(call)
    form = _conflict_form(call, proposals)
    if form.validate_on_submit():
        before = {r.id for r in services.reviews_of(actor(), call=call)}
        try:
            conflict = services.declare_conflict(call, organisation_id=form.organisation_id.data or None,
                                                 proposal_id=form.proposal_id.data or None,
                                                 note=form.note.data or "", actor=actor(), now=now())
        except RuleViolation as exc:
            _refused(form, exc)
        else:
            subject = (conflict.organisation.name if conflict.organisation is not None
                       else f"proposal {conflict.proposal.reference}")
            removed = len(before - {r.id for r in services.reviews_of(actor(), call=call)})
            commit()
            note = (f" {removed} assignment(s) it conflicts with were removed; the programme manager gives them to "
                    "other reviewers." if removed else "")
            flash(f"Conflict of interest declared with {subject}.{note}", "success")
            return redirect(url_for("reviews.reviewer_call", call_id=call.id, _anchor="conflicts"))
    return _reviewer_call_page(call, entry, conflict_form=form, proposals=proposals)


@bp.route("/reviewing/calls/<int:call_id>/conflicts/<int:conflict_id>/withdraw", methods=["POST"])
@login_required
def withdraw_conflict(call_id: int, conflict_id: int):
    call, _entry = _reviewer_call(call_id)
    if ActionForm().validate_on_submit():
        try:
            services.withdraw_conflict(call, conflict_id, actor=actor(), now=now())
        except RuleViolation as exc:
            db.session.rollback()
            flash(exc.message, "error")
        else:
            commit()
            flash("Declaration withdrawn. Assignments it removed are not given back by themselves; the programme "
                  "manager may assign you again.", "success")
    return redirect(url_for("reviews.reviewer_call", call_id=call.id, _anchor="conflicts"))


# The scoring page ------------------------------------------------------------------------------------------


def _scoring_form(review: Review, **kwargs: Any) -> ReviewForm:
    call = review.call
    return review_form(call.criteria, services.scoring_of(call).scale, call.rules.scoring.justification_min_length,
                       **kwargs)


def _locked(review: Review) -> str:
    """Why the review's reviewer cannot change it now."""
    if review.call.status != CallStatus.REVIEWING:
        return (f"The call is {review.call.status.label.lower()}: reviews are scored only while its review is under "
                "way. Nothing was changed.")
    return ("This review is submitted and locked: nothing was changed. A programme manager can reopen it if a "
            "change is needed.")


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
    return render_template(
        "reviews/reviewer/review.html", review=review, call=call, proposal=review.proposal,
        form=form if editable else None, scoring=services.scoring_of(call),
        min_length=call.rules.scoring.justification_min_length,
        saved={s.criterion_key: s for s in review.scores}, is_reviewer=review.is_reviewer(me),
        others=services.co_reviews(review, actor=me) if review.is_reviewer(me) and review.submitted else [],
        late=review.is_late(moment), now=moment,
        version=version, snapshot=snapshot, verdict=version.verdict, figures=snapshot_figures(snapshot),
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
        raise AccessDenied("only its reviewer scores a review")
    if not item.can_edit(me):
        flash(_locked(item), "error")
        return redirect(url_for("reviews.review", review_id=item.id))
    form = _scoring_form(item)
    if form.validate_on_submit():
        submit = form.submitting
        try:
            services.save_review(item, scores=form.scores(), justifications=form.justifications(), submit=submit,
                                 actor=me, now=now())
        except services.ReviewIncomplete as exc:
            db.session.rollback()
            form.add_problems(exc.problems)
        except RuleViolation as exc:
            _refused(form, exc)
        else:
            reference, late = item.proposal.reference, item.is_late(now())
            commit()
            if submit:
                flash(f"Your review of {reference} is submitted{' after the deadline' if late else ''}. It is locked "
                      "now; the other reviewers' submitted scores are shown below yours.", "success")
            else:
                flash("Draft saved. Nothing is submitted yet: submit the review once every criterion has its score "
                      "and justification.", "success")
            return redirect(url_for("reviews.review", review_id=item.id))
    return _review_page(item, form=form)


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
