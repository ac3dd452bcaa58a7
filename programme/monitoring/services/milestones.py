"""Milestone reviews: a programme manager's decision, for an initiative, to continue, continue with conditions
or terminate it, always with a reason; a review may also move the initiative on to a later stage
(start-up → implementation → self-sustaining → completed, never backwards).

A terminated initiative receives no more grants and asks for no more funding (the funding services refuse it);
its loans keep being collected and its data stays. A terminated or completed initiative gets no more reviews.

Who sees the reviews: programme managers, fund administrators and the initiative's group; anybody else is told
the initiative does not exist (NotFound). Only programme managers record one.
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import select

from programme.core import audit
from programme.core.access import AccessDenied, Actor, NotFound, Role, RuleViolation
from programme.core.i18n import speaking_to
from programme.core.money import format_number
from programme.core.notifications import notify
from programme.core.texts import gettext as _
from programme.core.timezone import format_day, local_date
from programme.extensions import db
from programme.funding.models import Initiative, InitiativeStatus
from programme.funding.services import change_initiative_stage
from programme.monitoring.models import MilestoneDecision, MilestoneReview

REASON_MAX = 10000


def _visible(initiative: Initiative, actor: Actor) -> None:
    if not initiative.can_view(actor):
        raise NotFound("no such initiative")


def may_record(actor: Actor) -> bool:
    return bool(getattr(actor, "is_authenticated", False)) and actor.has_role(Role.PROGRAMME_MANAGER)


def reviews_of(initiative: Initiative, *, actor: Actor) -> list[MilestoneReview]:
    """The initiative's milestone reviews, oldest first."""
    _visible(initiative, actor)
    return list(db.session.scalars(
        select(MilestoneReview).where(MilestoneReview.initiative_id == initiative.id)
        .order_by(MilestoneReview.decided_on, MilestoneReview.id)))


def _text(value: str | None, field: str, message: str) -> str:
    text = (value or "").strip()
    if not text:
        raise RuleViolation(message, field=field)
    if len(text) > REASON_MAX:
        raise RuleViolation(_("Write at most %(count)s characters.", count=format_number(REASON_MAX, 0)), field=field)
    return text


def record_milestone_review(
    initiative: Initiative, *, decision: MilestoneDecision | str, reason: str, conditions: str = "",
    next_status: InitiativeStatus | str | None = None, decided_on: date, actor: Actor, now: datetime,
    timezone: str,
) -> MilestoneReview:
    """Record a manager's decision at a milestone. ``terminate`` ends the initiative; ``continue`` (with or
    without conditions) keeps it running and may move it on to ``next_status``, a later stage. ``decided_on``
    may not be after today in ``timezone`` (the programme's)."""
    _visible(initiative, actor)
    if not may_record(actor):
        raise AccessDenied(_("only programme managers record milestone reviews"))
    try:
        chosen = MilestoneDecision(decision)
    except ValueError:
        raise RuleViolation(_("Choose continue, continue with conditions or terminate."), field="decision") from None
    reason = _text(reason, "reason", _("Give the reason for the decision."))
    conditions = (conditions or "").strip()
    if chosen is MilestoneDecision.CONDITIONS:
        conditions = _text(conditions, "conditions", _("State the conditions the initiative continues under."))
    elif len(conditions) > REASON_MAX:
        raise RuleViolation(_("Write at most %(count)s characters.", count=format_number(REASON_MAX, 0)),
                            field="conditions")
    if not isinstance(decided_on, date) or isinstance(decided_on, datetime):
        raise RuleViolation(_("Give the day of the decision."), field="decided_on")
    today = local_date(now, timezone)
    if decided_on > today:
        raise RuleViolation(_("The decision date %(day)s is in the future.", day=format_day(decided_on)),
                            field="decided_on")
    wanted: InitiativeStatus | None = None
    if next_status not in (None, ""):
        try:
            wanted = InitiativeStatus(next_status)
        except ValueError:
            raise RuleViolation(_("Choose a stage of the initiative."), field="next_status") from None
    # The initiative's life is funding's: it checks the stage change and makes it.
    before, after = change_initiative_stage(initiative, terminate=chosen is MilestoneDecision.TERMINATE, to=wanted,
                                            on=decided_on, actor=actor)
    review = MilestoneReview(
        initiative_id=initiative.id, decision=chosen, reason=reason, conditions=conditions, status_before=before,
        status_after=after, decided_on=decided_on, decided_by_id=actor.id, recorded_at=now,
    )
    db.session.add(review)
    db.session.flush()
    audit.record(db.session, actor, "milestone.reviewed", review, initiative=initiative.reference,
                 decision=chosen.value, reason=reason, conditions=conditions, status_before=before.value,
                 status_after=after.value, decided_on=decided_on.isoformat())
    _notify(initiative, review)
    return review


def _message(initiative: Initiative, review: MilestoneReview) -> tuple[str, str]:
    """The subject and body telling the group of a review, in the language being written in."""
    decision = review.decision.label.lower()
    subject = _("Milestone review of %(reference)s: %(decision)s", reference=initiative.reference, decision=decision)
    body = _("The programme reviewed %(reference)s (%(name)s) on %(day)s: %(decision)s.",
             reference=initiative.reference, name=initiative.name, day=format_day(review.decided_on),
             decision=decision)
    body += "\n\n" + _("Reason: %(reason)s", reason=review.reason)
    if review.conditions:
        body += "\n\n" + _("Conditions: %(conditions)s", conditions=review.conditions)
    if review.status_after != review.status_before:
        body += "\n\n" + _("The initiative is now %(status)s.", status=review.status_after.label.lower())
    if review.decision is MilestoneDecision.TERMINATE:
        body += " " + _("It receives no more grants and can no longer ask for funding; its loans are still "
                        "collected.")
    return subject, body


def _notify(initiative: Initiative, review: MilestoneReview) -> None:
    for member in initiative.group.users:
        with speaking_to(member.user):
            subject, body = _message(initiative, review)
        notify(db.session, email=member.user.email, user_id=member.user_id, subject=subject, body=body,
               link=f"/initiatives/{initiative.id}/milestone-reviews")
