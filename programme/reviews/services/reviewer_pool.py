"""The reviewer pool of a call and conflicts of interest: adding and removing reviewers, a reviewer's
place in the pool and its sectors of expertise, who is in conflict with which proposal (declared or by
membership of the applicant group), and a reviewer declaring or withdrawing a conflict."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import func, or_, select
from sqlalchemy.orm import joinedload

from programme.accounts.models import GroupOrganisation, GroupUser, Organisation, User, UserRole
from programme.calls.models import Call, CallStatus
from programme.core import audit
from programme.core.access import Actor, NotFound, Role, RuleViolation, require_role
from programme.core.i18n import speaking_to
from programme.core.notifications import notify
from programme.core.texts import gettext as _
from programme.extensions import db
from programme.proposals.models import Proposal
from programme.reviews.models import CallReviewer, ConflictOfInterest, Review, ReviewStatus, split_sectors
from programme.reviews.services._common import brief_proposals, drop_review, require_manager


def pool(call: Call) -> list[CallReviewer]:
    return list(db.session.scalars(
        select(CallReviewer).join(User, User.id == CallReviewer.user_id)
        .where(CallReviewer.call_id == call.id).order_by(User.name, User.id)
    ))


def reviewer_candidates(call: Call, *, actor: Actor) -> list[User]:
    """Users with the reviewer role not yet in the call's pool."""
    require_manager(actor)
    in_pool = select(CallReviewer.user_id).where(CallReviewer.call_id == call.id)
    return list(db.session.scalars(
        select(User).join(UserRole, UserRole.user_id == User.id)
        .where(UserRole.role == Role.REVIEWER, User.id.not_in(in_pool)).order_by(User.name, User.id)
    ))


def add_reviewer(call: Call, user: User, *, actor: Actor, now: datetime) -> CallReviewer:
    require_manager(actor)
    if call.status in (CallStatus.DRAFT, CallStatus.DECIDED):
        raise RuleViolation(_("The call is %(status)s; reviewers join a published call before its decision.",
                              status=call.status.label.lower()))
    if not user.has_role(Role.REVIEWER):
        raise RuleViolation(_("%(name)s does not hold the reviewer role.", name=user.name), field="user")
    if db.session.scalar(select(CallReviewer.id).where(CallReviewer.call_id == call.id,
                                                       CallReviewer.user_id == user.id)):
        raise RuleViolation(_("%(name)s is already a reviewer of this call.", name=user.name), field="user")
    entry = CallReviewer(call_id=call.id, user_id=user.id, added_at=now, added_by_id=actor.id)
    entry.user = user
    db.session.add(entry)
    db.session.flush()
    audit.record(db.session, actor, "review.reviewer_added", call, reviewer=user.email)
    with speaking_to(user):
        subject = _("You are a reviewer of %(reference)s", reference=call.reference)
        body = _("You have joined the reviewer pool of %(name)s (%(reference)s). Declare your conflicts of interest "
                 "and your sectors of expertise before proposals are assigned.", name=call.name,
                 reference=call.reference)
    notify(db.session, email=user.email, user_id=user.id, subject=subject, body=body,
           link=f"/reviewing/calls/{call.id}")
    return entry


def remove_reviewer(call: Call, user_id: int, *, actor: Actor, now: datetime) -> None:
    """Take a reviewer out of the pool; only while none of its reviews has been started."""
    require_manager(actor)
    if call.status == CallStatus.DECIDED:
        raise RuleViolation(_("The call is decided; its reviewer pool is kept as it was."))
    entry = db.session.scalar(select(CallReviewer).where(CallReviewer.call_id == call.id,
                                                         CallReviewer.user_id == user_id))
    if entry is None:
        raise NotFound("no such reviewer in this call")
    started = db.session.scalar(
        select(func.count()).select_from(Review).where(
            Review.call_id == call.id, Review.reviewer_id == user_id, Review.status != ReviewStatus.ASSIGNED)
    )
    if started:
        raise RuleViolation(_("%(name)s has started or submitted %(count)s review(s); move or reopen them first, a "
                              "reviewer with work on record stays in the pool.", name=entry.user.name, count=started))
    reviews = list(db.session.scalars(select(Review).where(Review.call_id == call.id, Review.reviewer_id == user_id)))
    for review in reviews:
        drop_review(review)
    db.session.delete(entry)
    call.touch_results()
    audit.record(db.session, actor, "review.reviewer_removed", call, reviewer=entry.user.email,
                 assignments_removed=len(reviews))


def pool_entry(call: Call, *, actor: Actor) -> CallReviewer:
    """The actor's own place in the pool of the call (404 for anyone else, so a call's pool stays private)."""
    require_role(actor, Role.REVIEWER)
    entry = db.session.scalar(select(CallReviewer).where(CallReviewer.call_id == call.id,
                                                         CallReviewer.user_id == actor.id))
    if entry is None:
        raise NotFound("you are not a reviewer of this call")
    return entry


def set_expertise(call: Call, *, expertise: str, actor: Actor, now: datetime) -> CallReviewer:
    entry = pool_entry(call, actor=actor)
    entry.expertise = "; ".join(split_sectors(expertise))
    audit.record(db.session, actor, "review.expertise_set", call, expertise=entry.expertise)
    return entry


def known_sectors(call: Call) -> list[str]:
    """Sectors written in the call's proposals: suggestions for the expertise field (one index-only read; the
    member organisations' own sectors are left out, they would cost a join over every membership of the call)."""
    found: set[str] = set()
    for text in db.session.scalars(select(Proposal.sector).where(Proposal.call_id == call.id).distinct()):
        found.update(split_sectors(text or ""))
    return sorted(found)


# ---------------------------------------------------------------------------------------------
# Conflicts of interest


@dataclass(frozen=True)
class ConflictMap:
    """Who is in conflict with what in one call, and why: (reviewer id, proposal id) -> reasons."""

    reasons: dict[tuple[int, int], list[str]]

    @property
    def pairs(self) -> set[tuple[int, int]]:
        return set(self.reasons)

    def of_reviewer(self, reviewer_id: int) -> dict[int, list[str]]:
        return {p: why for (r, p), why in self.reasons.items() if r == reviewer_id}

    def of_proposal(self, proposal_id: int) -> dict[int, list[str]]:
        return {r: why for (r, p), why in self.reasons.items() if p == proposal_id}

    def __contains__(self, pair: object) -> bool:
        return pair in self.reasons


def _ids_filter(column: Any, ids: list[int] | None) -> Any:
    """``column IN ids`` for a short list (None: no filter); long lists are filtered in Python instead."""
    return column.in_(ids) if ids is not None and len(ids) <= 500 else None


def conflicts(call: Call, *, reviewer_ids: Iterable[int] | None = None,
              proposal_ids: Iterable[int] | None = None) -> ConflictMap:
    """Every conflict of the call's reviewers with its submitted proposals (or those named).

    A reviewer is in conflict with a proposal when it declared the proposal; when it declared an
    organisation that is a member of the proposal's group; when its own organisation is such a member;
    and when it acts for the group itself. Plain rows only, a handful of queries whatever the size.
    """
    reviewer_list = None if reviewer_ids is None else list(reviewer_ids)
    proposal_list = None if proposal_ids is None else list(proposal_ids)
    reviewers_q = select(CallReviewer.user_id, User.organisation_id, Organisation.name).join(
        User, User.id == CallReviewer.user_id).outerjoin(Organisation, Organisation.id == User.organisation_id
    ).where(CallReviewer.call_id == call.id)
    if (condition := _ids_filter(CallReviewer.user_id, reviewer_list)) is not None:
        reviewers_q = reviewers_q.where(condition)
    reviewers = db.session.execute(reviewers_q).all()
    if reviewer_list is not None:
        chosen = set(reviewer_list)
        reviewers = [r for r in reviewers if r[0] in chosen]
    wanted = {r for r, _, _ in reviewers}
    proposals_q = select(Proposal.id, Proposal.group_id).where(Proposal.call_id == call.id,
                                                              Proposal.submitted_at.is_not(None))
    if (condition := _ids_filter(Proposal.id, proposal_list)) is not None:
        proposals_q = proposals_q.where(condition)
    proposals = db.session.execute(proposals_q).all()
    if proposal_list is not None:
        named = set(proposal_list)
        proposals = [(p, g) for p, g in proposals if p in named]
    group_of = {p: g for p, g in proposals}
    by_group: dict[int, list[int]] = defaultdict(list)
    for p, g in proposals:
        by_group[g].append(p)
    reasons: dict[tuple[int, int], list[str]] = defaultdict(list)
    if not wanted or not proposals:
        return ConflictMap({})

    # The member organisations of the groups concerned.
    members_q = select(GroupOrganisation.organisation_id, GroupOrganisation.group_id)
    group_list = list(by_group)
    if (condition := _ids_filter(GroupOrganisation.group_id, group_list)) is not None:
        members_q = members_q.where(condition)
    else:
        members_q = members_q.where(
            GroupOrganisation.group_id.in_(select(Proposal.group_id).where(Proposal.call_id == call.id)))
    groups_of_org: dict[int, list[int]] = defaultdict(list)
    for org, group in db.session.execute(members_q):
        if group in by_group:
            groups_of_org[org].append(group)

    def org_conflict(reviewer: int, org: int, why: str) -> None:
        for group in groups_of_org.get(org, ()):
            for proposal in by_group[group]:
                reasons[(reviewer, proposal)].append(why)

    for reviewer, own_org, own_name in reviewers:
        if own_org is not None:
            org_conflict(reviewer, own_org, _("works for %(organisation)s, a member of the group",
                                              organisation=own_name))
    for group_id, user_id in db.session.execute(
        select(GroupUser.group_id, GroupUser.user_id).where(GroupUser.user_id.in_(wanted))
    ):
        for proposal in by_group.get(group_id, ()):
            reasons[(user_id, proposal)].append(_("acts for the applicant group"))
    declared_q = (
        select(ConflictOfInterest.reviewer_id, ConflictOfInterest.organisation_id, ConflictOfInterest.proposal_id,
               Organisation.name)
        .outerjoin(Organisation, Organisation.id == ConflictOfInterest.organisation_id)
        .where(ConflictOfInterest.call_id == call.id)
    )
    if (condition := _ids_filter(ConflictOfInterest.reviewer_id, reviewer_list)) is not None:
        declared_q = declared_q.where(condition)
    for reviewer, org, proposal, org_name in db.session.execute(declared_q):
        if reviewer not in wanted:
            continue
        if proposal is not None:
            if proposal in group_of:
                reasons[(reviewer, proposal)].append(_("declared a conflict with the proposal"))
        elif org is not None:
            org_conflict(reviewer, org, _("declared a conflict with %(organisation)s, a member of the group",
                                          organisation=org_name))
    return ConflictMap(dict(reasons))


def reviewer_conflicts(call: Call, reviewer_id: int) -> dict[int, list[str]]:
    """The submitted proposals of the call one reviewer of its pool is in conflict with, and why: what
    ``conflicts(call, reviewer_ids=[reviewer_id]).of_reviewer(reviewer_id)`` says, read from the reviewer's side
    (its organisation, its groups, its declarations), so a few small queries whatever the size of the call."""
    me = db.session.execute(
        select(User.organisation_id, Organisation.name).join(CallReviewer, CallReviewer.user_id == User.id)
        .outerjoin(Organisation, Organisation.id == User.organisation_id)
        .where(CallReviewer.call_id == call.id, CallReviewer.user_id == reviewer_id)
    ).first()
    if me is None:
        return {}
    declared = db.session.execute(
        select(ConflictOfInterest.organisation_id, ConflictOfInterest.proposal_id, Organisation.name)
        .outerjoin(Organisation, Organisation.id == ConflictOfInterest.organisation_id)
        .where(ConflictOfInterest.call_id == call.id, ConflictOfInterest.reviewer_id == reviewer_id)
        .order_by(ConflictOfInterest.id)
    ).all()
    # Why each organisation puts the reviewer in conflict with the groups it is a member of, in the order given.
    through: list[tuple[int, str]] = []
    if me.organisation_id is not None:
        through.append((me.organisation_id, _("works for %(organisation)s, a member of the group",
                                              organisation=me.name)))
    acting = set(db.session.scalars(select(GroupUser.group_id).where(GroupUser.user_id == reviewer_id)))
    groups_of_org: dict[int, list[int]] = defaultdict(list)
    organisation_ids = {org for org, _ in through} | {org for org, _, _ in declared if org is not None}
    if organisation_ids:
        for org, group in db.session.execute(
            select(GroupOrganisation.organisation_id, GroupOrganisation.group_id)
            .where(GroupOrganisation.organisation_id.in_(organisation_ids))
        ):
            groups_of_org[org].append(group)
    group_ids = acting | {group for groups in groups_of_org.values() for group in groups}
    proposal_ids = {proposal for _, proposal, _ in declared if proposal is not None}
    if not group_ids and not proposal_ids:
        return {}
    by_group: dict[int, list[int]] = defaultdict(list)
    found: set[int] = set()
    for proposal_id, group_id in db.session.execute(
        select(Proposal.id, Proposal.group_id).where(
            Proposal.call_id == call.id, Proposal.submitted_at.is_not(None),
            or_(Proposal.group_id.in_(group_ids), Proposal.id.in_(proposal_ids)))
        .order_by(Proposal.id)
    ):
        by_group[group_id].append(proposal_id)
        found.add(proposal_id)
    reasons: dict[int, list[str]] = defaultdict(list)

    def through_organisation(org: int, why: str) -> None:
        for group in groups_of_org.get(org, ()):
            for proposal in by_group.get(group, ()):
                reasons[proposal].append(why)

    for org, why in through:
        through_organisation(org, why)
    for group in acting:
        for proposal in by_group.get(group, ()):
            reasons[proposal].append(_("acts for the applicant group"))
    for org, proposal, name in declared:
        if proposal is not None:
            if proposal in found:
                reasons[proposal].append(_("declared a conflict with the proposal"))
        elif org is not None:
            through_organisation(org, _("declared a conflict with %(organisation)s, a member of the group",
                                        organisation=name))
    return dict(reasons)


#: How many organisations a conflict declaration names when what the reviewer typed matches several.
CANDIDATES_SHOWN = 8


@dataclass(frozen=True)
class ConflictSubject:
    """What a conflict is declared with: one organisation or one proposal (the other is None)."""

    organisation_id: int | None
    proposal_id: int | None


def _contains(text: str) -> str:
    """A LIKE pattern (escape ``\\``) of the strings containing ``text``."""
    return "%" + text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"


def conflict_subject(call: Call, typed: str, *, actor: Actor) -> ConflictSubject:
    """What a reviewer of the call's pool typed to declare a conflict with: the exact reference of a proposal
    submitted to the call, else the one organisation of the call's applicant groups whose name is the text or,
    failing that, contains it (any case). Several matches, or none, are refused with what was found."""
    pool_entry(call, actor=actor)
    text = " ".join((typed or "").split())
    if not text:
        raise RuleViolation(_("Type a proposal's reference or an organisation's name."), field="subject")
    proposal_id = db.session.scalar(select(Proposal.id).where(
        Proposal.call_id == call.id, Proposal.submitted_at.is_not(None),
        Proposal.reference.in_({text, text.upper()})))
    if proposal_id is not None:
        return ConflictSubject(None, proposal_id)
    of_call = (select(GroupOrganisation.organisation_id)
               .join(Proposal, Proposal.group_id == GroupOrganisation.group_id)
               .where(Proposal.call_id == call.id, Proposal.submitted_at.is_not(None)))
    name = func.lower(Organisation.name)
    matching = select(Organisation.id, Organisation.name, Organisation.locality).where(Organisation.id.in_(of_call))
    exact = db.session.execute(matching.where(name == text.lower()).limit(2)).all()
    if len(exact) == 1:
        return ConflictSubject(exact[0].id, None)
    found = exact or db.session.execute(
        matching.where(name.like(_contains(text.lower()), escape="\\"))
        .order_by(Organisation.name, Organisation.id).limit(CANDIDATES_SHOWN + 1)).all()
    if not found:
        raise RuleViolation(_("No proposal of this call has the reference “%(text)s” and no organisation of its "
                              "applicant groups has it in its name. Check the spelling, or type a shorter part of the "
                              "name.", text=text), field="subject")
    if len(found) == 1:
        return ConflictSubject(found[0].id, None)
    shown = found[:CANDIDATES_SHOWN]
    repeated = {row.name for row in shown if sum(1 for other in shown if other.name == row.name) > 1}
    names = ", ".join(f"{row.name} ({row.locality})" if row.name in repeated else row.name for row in shown)
    if len(found) > CANDIDATES_SHOWN:
        raise RuleViolation(_("Several organisations of this call's groups match “%(text)s”: %(names)s and more. "
                              "Type more of the name (or the whole name) of the one you mean.", text=text,
                              names=names), field="subject")
    raise RuleViolation(_("Several organisations of this call's groups match “%(text)s”: %(names)s. Type more of the "
                          "name (or the whole name) of the one you mean.", text=text, names=names), field="subject")


def is_conflicted(call: Call, reviewer_id: int, proposal_id: int) -> bool:
    return (reviewer_id, proposal_id) in conflicts(call, reviewer_ids=[reviewer_id], proposal_ids=[proposal_id])


def declarations_of(call: Call, reviewer_id: int) -> list[ConflictOfInterest]:
    return list(db.session.scalars(
        select(ConflictOfInterest).where(ConflictOfInterest.call_id == call.id,
                                         ConflictOfInterest.reviewer_id == reviewer_id)
        .options(*brief_proposals(joinedload(ConflictOfInterest.proposal)))
        .order_by(ConflictOfInterest.declared_at, ConflictOfInterest.id)
    ))


def organisations_of_call(call: Call) -> list[Organisation]:
    """The organisations in the groups that submitted to the call: what a reviewer may declare a conflict with."""
    return list(db.session.scalars(
        select(Organisation).join(GroupOrganisation, GroupOrganisation.organisation_id == Organisation.id)
        .join(Proposal, Proposal.group_id == GroupOrganisation.group_id)
        .where(Proposal.call_id == call.id, Proposal.submitted_at.is_not(None))
        .distinct().order_by(Organisation.name)
    ))


def declare_conflict(call: Call, *, organisation_id: int | None = None, proposal_id: int | None = None,
                     note: str = "", actor: Actor, now: datetime) -> ConflictOfInterest:
    """A reviewer declares a conflict with an organisation or a proposal of the call. Its assignments that
    the conflict now forbids are removed at once (a submitted review too: a conflicted score never counts)."""
    pool_entry(call, actor=actor)
    if call.status == CallStatus.DECIDED:
        raise RuleViolation(_("The call is decided; its review is over."))
    if (organisation_id is None) == (proposal_id is None):
        raise RuleViolation(_("Choose either an organisation or a proposal."), field="organisation_id")
    if proposal_id is not None:
        proposal = db.session.get(Proposal, proposal_id)
        if proposal is None or proposal.call_id != call.id or proposal.submitted_at is None:
            raise RuleViolation(_("Choose a proposal submitted to this call."), field="proposal_id")
        existing = ConflictOfInterest.proposal_id == proposal_id
    else:
        if db.session.get(Organisation, organisation_id) is None:
            raise RuleViolation(_("Choose an organisation from the list."), field="organisation_id")
        existing = ConflictOfInterest.organisation_id == organisation_id
    if db.session.scalar(select(ConflictOfInterest.id).where(
            ConflictOfInterest.call_id == call.id, ConflictOfInterest.reviewer_id == actor.id, existing)):
        raise RuleViolation(_("You have declared this conflict already."),
                            field="proposal_id" if proposal_id is not None else "organisation_id")
    conflict = ConflictOfInterest(call_id=call.id, reviewer_id=actor.id, organisation_id=organisation_id,
                                  proposal_id=proposal_id, note=note.strip(), declared_at=now)
    db.session.add(conflict)
    db.session.flush()
    forbidden = reviewer_conflicts(call, actor.id)
    dropped = list(db.session.scalars(
        select(Review).where(Review.call_id == call.id, Review.reviewer_id == actor.id,
                             Review.proposal_id.in_(list(forbidden)))
    ))
    for review in dropped:
        drop_review(review)
    if dropped:
        call.touch_results()
    audit.record(db.session, actor, "review.conflict_declared", call, organisation_id=organisation_id,
                 proposal_id=proposal_id, note=conflict.note,
                 reviews_removed=[{"proposal_id": r.proposal_id, "status": r.status.value} for r in dropped])
    return conflict


def withdraw_conflict(call: Call, conflict_id: int, *, actor: Actor, now: datetime) -> None:
    """A reviewer withdraws a conflict it declared in error (before the call is decided)."""
    pool_entry(call, actor=actor)
    conflict = db.session.get(ConflictOfInterest, conflict_id)
    if conflict is None or conflict.call_id != call.id or conflict.reviewer_id != actor.id:
        raise NotFound("no such declaration")
    if call.status == CallStatus.DECIDED:
        raise RuleViolation(_("The call is decided; its review is over."))
    db.session.delete(conflict)
    audit.record(db.session, actor, "review.conflict_withdrawn", call, organisation_id=conflict.organisation_id,
                 proposal_id=conflict.proposal_id)
