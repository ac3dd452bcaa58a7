"""Funding requests: an initiative asks for a matching grant, a loan or both for a major activity, and a
programme manager judges the request against the rules' request criteria; an approved grant part becomes a
matching grant (within the call's cap per initiative), and the group is notified of the decision."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from decimal import ROUND_HALF_UP, Decimal

from sqlalchemy import func, select

from programme.core import audit
from programme.core.access import AccessDenied, Actor, NotFound, Role, RuleViolation, require_role
from programme.core.i18n import speaking_to
from programme.core.money import format_money
from programme.core.notifications import notify
from programme.core.texts import gettext as _
from programme.extensions import db
from programme.funding.domain import (
    ZERO,
)
from programme.funding.models import (
    FundingRequest,
    FundingRequestAssessment,
    FundingRequestStatus,
    Grant,
    GrantKind,
    Initiative,
    Instrument,
)
from programme.funding.services._common import (
    _acts_for_group,
    _amount,
    _lock_initiative,
    _money_sum,
    _refuse_if_closed,
    _text,
    _visible,
)
from programme.funding.services.caps import capitalised


def funding_requests_awaiting(*, actor: Actor) -> list[FundingRequest]:
    """Funding requests submitted and not yet judged, oldest first (for the programme managers)."""
    require_role(actor, Role.PROGRAMME_MANAGER)
    return list(db.session.scalars(
        select(FundingRequest).where(FundingRequest.status == FundingRequestStatus.SUBMITTED)
        .order_by(FundingRequest.submitted_at, FundingRequest.id)))


def funding_requests_of(initiative: Initiative, *, actor: Actor) -> list[FundingRequest]:
    _visible(initiative, actor)
    return list(db.session.scalars(select(FundingRequest).where(FundingRequest.initiative_id == initiative.id)
                                   .order_by(FundingRequest.id)))


def get_funding_request(request_id: int, *, actor: Actor) -> FundingRequest:
    """One funding request; NotFound when missing or of an initiative the actor may not see."""
    found = db.session.get(FundingRequest, request_id)
    if found is None or not found.can_view(actor):
        raise NotFound("no such funding request")
    return found


def may_submit_requests(initiative: Initiative, actor: Actor) -> bool:
    return _acts_for_group(initiative, actor) or actor.has_role(Role.PROGRAMME_MANAGER)


def submit_funding_request(
    initiative: Initiative, *, title: str, description: str, cost: object, instrument: str, grant_asked: object,
    loan_asked: object, actor: Actor, now: datetime,
) -> FundingRequest:
    """An initiative asks for a matching grant, a loan or both for a major activity. An applicant of the
    initiative's group or a manager submits it; a terminated (or completed) initiative cannot.

    The amounts follow the instrument: a matching grant asks a grant and no loan, a loan a loan and no grant,
    both asks both; together they are at most the activity's cost."""
    _visible(initiative, actor)
    if not may_submit_requests(initiative, actor):
        raise AccessDenied(_("only the initiative's group or a programme manager submits its funding requests"))
    _refuse_if_closed(initiative, "ask for funding")
    currency = initiative.currency
    title = _text(title, "title", _("Give the activity a title."), 200)
    description = _text(description, "description", _("Describe the activity."), 10000)
    try:
        chosen = Instrument(instrument)
    except ValueError:
        raise RuleViolation(_("Choose a matching grant, a loan or both."), field="instrument") from None
    cost_value = _amount(cost, currency, "cost", what=_("The cost"))
    grant_value = _amount(grant_asked, currency, "grant_asked", zero=True, what=_("The grant asked"))
    loan_value = _amount(loan_asked, currency, "loan_asked", zero=True, what=_("The loan asked"))
    if chosen in (Instrument.MATCHING_GRANT, Instrument.BOTH) and grant_value == 0:
        raise RuleViolation(_("Give the matching grant asked."), field="grant_asked")
    if chosen in (Instrument.LOAN, Instrument.BOTH) and loan_value == 0:
        raise RuleViolation(_("Give the loan asked."), field="loan_asked")
    if chosen == Instrument.MATCHING_GRANT and loan_value != 0:
        raise RuleViolation(_("A request for a matching grant asks no loan: choose both, or leave the loan at 0."),
                            field="loan_asked")
    if chosen == Instrument.LOAN and grant_value != 0:
        raise RuleViolation(_("A request for a loan asks no grant: choose both, or leave the grant at 0."),
                            field="grant_asked")
    if grant_value + loan_value > cost_value:
        raise RuleViolation(_("The grant and the loan asked (%(asked)s) are more than the cost of %(cost)s.",
                              asked=format_money(grant_value + loan_value, currency),
                              cost=format_money(cost_value, currency)),
                            field="grant_asked" if grant_value else "loan_asked")
    made = FundingRequest(
        initiative_id=initiative.id, title=title, description=description, cost=cost_value, currency=currency,
        instrument=chosen, grant_asked=grant_value, loan_asked=loan_value, status=FundingRequestStatus.SUBMITTED,
        submitted_by_id=actor.id, submitted_at=now,
    )
    db.session.add(made)
    db.session.flush()
    audit.record(db.session, actor, "funding.request_submitted", made, initiative=initiative.reference,
                 title=title, cost=str(cost_value), instrument=chosen.value, grant_asked=str(grant_value),
                 loan_asked=str(loan_value))
    return made


def judge_funding_request(
    request: FundingRequest, *, assessments: Mapping[str, tuple[bool | None, str]], approve: bool, reason: str,
    actor: Actor, now: datetime, grant_approved: object = None, loan_approved: object = None,
) -> FundingRequest:
    """A programme manager judges a submitted request: met yes/no and a note on EVERY one of the rules'
    ``funding.request_criteria`` (``assessments`` by criterion key), then approves it (as asked, or changed:
    other amounts, none above what was asked) or rejects it, always with a reason. The group's users are
    notified.

    An approved grant part becomes a matching grant (committed = the grant approved, basis = the request's
    title) linked to the request, refused if the commitments of all the initiative's grants would then pass
    the call's cap per initiative (checked under a lock on the initiative's row). An approved loan part is a
    ceiling for the fund administrators, who make the loan."""
    require_role(actor, Role.PROGRAMME_MANAGER)
    _visible(request.initiative, actor)
    initiative = request.initiative
    currency = request.currency
    reason = _text(reason, "reason", _("Give the reason for the decision."), 5000)
    criteria = initiative.call.rules.funding.request_criteria
    judged: list[tuple[str, bool, str]] = []
    for criterion in criteria:
        met, note = assessments.get(criterion.key, (None, ""))
        if met is None:
            raise RuleViolation(_("Say whether the request meets '%(criterion)s'.", criterion=criterion.title),
                                field=f"met_{criterion.key}")
        note = _text(note, f"note_{criterion.key}", _("Write a note on '%(criterion)s'.", criterion=criterion.title),
                     2000)
        judged.append((criterion.key, bool(met), note))
    unknown = set(assessments) - {c.key for c in criteria}
    if unknown:
        raise RuleViolation(_("Not a criterion of the rules: %(keys)s.", keys=", ".join(sorted(unknown))))
    grant_value = loan_value = None
    if approve:
        grant_value = (Decimal(request.grant_asked) if grant_approved is None
                       else _amount(grant_approved, currency, "grant_approved", zero=True,
                                    what=_("The grant approved")))
        loan_value = (Decimal(request.loan_asked) if loan_approved is None
                      else _amount(loan_approved, currency, "loan_approved", zero=True,
                                   what=_("The loan approved")))
        if grant_value > request.grant_asked:
            asked = format_money(request.grant_asked, currency)
            raise RuleViolation(_("The grant approved may not be more than the %(asked)s asked.", asked=asked),
                                field="grant_approved")
        if loan_value > request.loan_asked:
            asked = format_money(request.loan_asked, currency)
            raise RuleViolation(_("The loan approved may not be more than the %(asked)s asked.", asked=asked),
                                field="loan_approved")
        if grant_value + loan_value == 0:
            raise RuleViolation(_("An approval gives a grant or a loan: approve an amount, or reject the request."),
                                field="grant_approved" if request.grant_asked else "loan_approved")
    _lock_initiative(initiative)
    locked = db.session.execute(select(FundingRequest).where(FundingRequest.id == request.id).with_for_update()
                                .execution_options(populate_existing=True)).scalar_one()
    if locked.status != FundingRequestStatus.SUBMITTED:
        raise RuleViolation(_("The request '%(title)s' is %(status)s already.", title=locked.title,
                              status=locked.status.label.lower()))
    if approve and grant_value:
        # The grants committed, and the capital the programme put into the initiative's revolving fund.
        committed = _money_sum(select(func.coalesce(func.sum(Grant.committed), 0))
                               .where(Grant.initiative_id == initiative.id)) + capitalised(initiative)
        cap = Decimal(initiative.call.per_initiative_cap)
        if committed + grant_value > cap:
            raise RuleViolation(_(
                "A matching grant of %(grant)s would bring the commitments of %(reference)s to %(committed)s, above "
                "the overall cap of %(cap)s per initiative: at most %(room)s more can be committed.",
                grant=format_money(grant_value, currency), reference=initiative.reference,
                committed=format_money(committed + grant_value, currency), cap=format_money(cap, currency),
                room=format_money(max(cap - committed, ZERO), currency)), field="grant_approved")
    for key, met, note in judged:
        locked.assessments.append(FundingRequestAssessment(criterion_key=key, met=met, note=note))
    locked.decided_by_id = actor.id
    locked.decided_at = now
    locked.decision_reason = reason
    if approve:
        locked.status = FundingRequestStatus.APPROVED
        locked.grant_approved = grant_value
        locked.loan_approved = loan_value
        if grant_value:
            share = max((grant_value / Decimal(locked.cost)).quantize(Decimal("0.0001"), rounding=ROUND_HALF_UP),
                        Decimal("0.0001"))
            grant = Grant(initiative_id=initiative.id, kind=GrantKind.MATCHING, committed=grant_value,
                          currency=currency, external_share=min(share, Decimal(1)), basis=locked.title,
                          committed_at=now, committed_by_id=actor.id)
            db.session.add(grant)
            db.session.flush()
            locked.grant_id = grant.id
            db.session.expire(initiative, ["grants"])
    else:
        locked.status = FundingRequestStatus.REJECTED
    db.session.flush()
    audit.record(db.session, actor, f"funding.request_{locked.status.value}", locked, initiative=initiative.reference,
                 reason=reason, grant_approved=str(grant_value), loan_approved=str(loan_value),
                 criteria={key: met for key, met, _ in judged}, grant=locked.grant_id)
    _notify_decision(locked)
    return locked


def _decision_message(request: FundingRequest) -> tuple[str, str]:
    """The subject and body of the notification of a decision, in the language being written in."""
    initiative = request.initiative
    cur = request.currency
    if request.status == FundingRequestStatus.APPROVED:
        grant = loan = None
        if request.grant_approved:
            grant = _("a matching grant of %(approved)s (asked %(asked)s)",
                      approved=format_money(request.grant_approved, cur), asked=format_money(request.grant_asked, cur))
        if request.loan_approved:
            loan = _("a loan of up to %(approved)s (asked %(asked)s)",
                     approved=format_money(request.loan_approved, cur), asked=format_money(request.loan_asked, cur))
        if grant and loan:
            given = _("%(grant)s and %(loan)s", grant=grant, loan=loan)
        else:
            given = grant or loan or ""
        subject = (_("Funding request approved with changes: %(title)s", title=request.title) if request.changed
                   else _("Funding request approved: %(title)s", title=request.title))
        body = _("Your request '%(title)s' for %(reference)s is approved: %(given)s.", title=request.title,
                 reference=initiative.reference, given=given)
    else:
        subject = _("Funding request rejected: %(title)s", title=request.title)
        body = _("Your request '%(title)s' for %(reference)s is rejected.", title=request.title,
                 reference=initiative.reference)
    body += "\n\n" + _("Reason: %(reason)s", reason=request.decision_reason)
    return subject, body


def _notify_decision(request: FundingRequest) -> None:
    """Each of the group's users is told of the decision, in their own language (``speaking_to``)."""
    initiative = request.initiative
    for member in initiative.group.users:
        with speaking_to(member.user):
            subject, body = _decision_message(request)
        notify(db.session, email=member.user.email, user_id=member.user_id, subject=subject, body=body,
               link=f"/initiatives/{initiative.id}#funding-request-{request.id}")
