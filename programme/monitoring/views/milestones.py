"""Milestone reviews of an initiative: the history (date, decision, reason, conditions, stage before and after,
by whom) that the group, fund administrators and managers read, and the manager's decision form."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, flash, redirect, render_template, url_for
from flask_login import login_required
from sqlalchemy import select

from programme.accounts.models import User
from programme.core.access import AccessDenied
from programme.core.texts import gettext as _
from programme.core.timezone import programme_today
from programme.core.web import actor, attempt, now, programme_zone
from programme.extensions import db
from programme.funding.models import Initiative, InitiativeStatus
from programme.funding.services import CLOSED, later_stages
from programme.monitoring.forms.milestones import MilestoneReviewForm, stage_choices
from programme.monitoring.services import milestones
from programme.monitoring.services.scorecards import get_initiative

bp = Blueprint("milestones", __name__)


def _form(initiative: Initiative, form: MilestoneReviewForm | None = None) -> MilestoneReviewForm:
    today = programme_today(programme_zone())
    form = form or MilestoneReviewForm(formdata=None, data={"decided_on": today})
    form.next_status.choices = stage_choices(later_stages(initiative.status))
    return form


def _page(initiative: Initiative, form: MilestoneReviewForm | None = None, status: int = 200):
    user = actor()
    reviews = milestones.reviews_of(initiative, actor=user)
    ids = {r.decided_by_id for r in reviews if r.decided_by_id is not None}
    names = {u.id: u.name for u in db.session.scalars(select(User).where(User.id.in_(ids)))} if ids else {}
    recorder = milestones.may_record(user)
    closed = initiative.status in CLOSED
    context: dict[str, Any] = {
        "initiative": initiative, "reviews": reviews, "names": names, "recorder": recorder, "closed": closed,
        "terminated": initiative.status == InitiativeStatus.TERMINATED,
        "form": _form(initiative, form) if recorder and not closed else None,
    }
    return render_template("monitoring/milestones.html", **context), status


@bp.route("/initiatives/<int:initiative_id>/milestone-reviews")
@login_required
def reviews(initiative_id: int):
    return _page(get_initiative(initiative_id, actor=actor()))


@bp.route("/initiatives/<int:initiative_id>/milestone-reviews", methods=["POST"])
@login_required
def record(initiative_id: int):
    initiative = get_initiative(initiative_id, actor=actor())
    if not milestones.may_record(actor()):
        raise AccessDenied(_("only programme managers record milestone reviews"))
    form = _form(initiative, MilestoneReviewForm())
    if form.validate_on_submit():
        with attempt(form) as done:
            review = milestones.record_milestone_review(
                initiative, decision=form.decision.data, reason=form.reason.data, conditions=form.conditions.data,
                next_status=form.next_status.data or None, decided_on=form.decided_on.data, actor=actor(),
                now=now(), timezone=programme_zone())
            label, after = review.decision.label, review.status_after.label
        if done.ok:
            flash(_("The milestone review was recorded: %(decision)s; %(reference)s is %(status)s.",
                    decision=label.lower(), reference=initiative.reference, status=after.lower()), "success")
            return redirect(url_for("milestones.reviews", initiative_id=initiative_id))
    return _page(initiative, form, status=422)
