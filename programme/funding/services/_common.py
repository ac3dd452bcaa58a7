"""What the funding flow modules share: who handles disbursements (``HANDLERS``), the row locks taken
in the same order by every operation that checks a cap (the initiative's, then the grant's), the checks every
operation makes (the initiative visible, an applicant acting for its group, a closed initiative refused), the
parsing of typed amounts and texts, money sums in SQL, and the users named on a list. Private to
``programme.funding.services``: the public names here are re-exported by the package."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from sqlalchemy import select

from programme.accounts.models import User
from programme.core.access import Actor, NotFound, Role, RuleViolation
from programme.core.db import from_cents, sum_cents
from programme.core.money import MAX_AMOUNT, MoneyError, format_number, parse_amount
from programme.core.texts import gettext as _
from programme.extensions import db
from programme.funding.domain import (
    ZERO,
    GrantPosition,
)
from programme.funding.models import (
    Disbursement,
    DisbursementStatus,
    Grant,
    GrantKind,
    Initiative,
    InitiativeStatus,
)

#: Who handles disbursements (request, approve, reject).
HANDLERS = (Role.FUND_ADMINISTRATOR, Role.PROGRAMME_MANAGER)


def _lock_initiative(initiative: Initiative) -> Initiative:
    """Lock the initiative's row: every operation that checks a cap over the initiative's grants (a tranche
    requested, approved or paid; a matching grant committed) takes this lock first, then the grant's, then the
    disbursement's, so two of them never judge a cap on the same figures at once."""
    db.session.execute(select(Initiative.id).where(Initiative.id == initiative.id).with_for_update())
    return initiative


def _lock_grant(grant: Grant) -> Grant:
    db.session.execute(select(Grant.id).where(Grant.id == grant.id).with_for_update())
    return grant


def _acts_for_group(initiative: Initiative, actor: Actor) -> bool:
    """An applicant who acts for the initiative's group."""
    return actor.has_role(Role.APPLICANT) and initiative.group.role_of(actor) is not None


def _visible(initiative: Initiative, actor: Actor) -> None:
    if not initiative.can_view(actor):
        raise NotFound("no such initiative")


def _closed_messages() -> dict[str, str]:
    """What a closed initiative can no longer do, as whole sentences (``_refuse_if_closed``'s ``what``)."""
    return {
        "record co-financing": _("%(reference)s is %(status)s; it can no longer record co-financing."),
        "claim on the facilitation fund": _("%(reference)s is %(status)s; it can no longer claim on the "
                                            "facilitation fund."),
        "be paid from the facilitation fund": _("%(reference)s is %(status)s; it can no longer be paid from the "
                                                "facilitation fund."),
        "ask for funding": _("%(reference)s is %(status)s; it can no longer ask for funding."),
    }


def _refuse_if_closed(initiative: Initiative, what: str) -> None:
    """Refuse an action (``what``: one of ``_closed_messages``) on a terminated or completed initiative."""
    if initiative.status in (InitiativeStatus.TERMINATED, InitiativeStatus.COMPLETED):
        raise RuleViolation(_closed_messages()[what] % {"reference": initiative.reference,
                                                        "status": initiative.status.label.lower()})


def _amount(value: object, currency: str, field: str, *, zero: bool = False, what: str | None = None,
            maximum: Decimal | None = MAX_AMOUNT) -> Decimal:
    """An amount typed for ``field`` (core.money.parse_amount): above zero, or zero when ``zero`` (then nothing
    typed means zero), at most ``maximum``; a refusal is a RuleViolation on ``field``. ``what`` names the amount in
    the refusal, already translated ("The amount" when not given)."""
    if zero and (value is None or (isinstance(value, str) and not value.strip())):
        return ZERO
    try:
        return parse_amount(value, currency, what=what, zero=zero, maximum=maximum)
    except MoneyError as error:
        raise RuleViolation(str(error), field=field) from None


def _text(value: str | None, field: str, message: str, limit: int) -> str:
    text = (value or "").strip()
    if not text:
        raise RuleViolation(message, field=field)
    if len(text) > limit:
        raise RuleViolation(_("Write at most %(limit)s characters.", limit=format_number(Decimal(limit), 0)),
                            field=field)
    return text


def _money_sum(query: Any) -> Decimal:
    return Decimal(db.session.scalar(query) or 0).quantize(Decimal("0.01"))


def people_named(ids: set[int | None]) -> dict[int, User]:
    wanted = {i for i in ids if i is not None}
    if not wanted:
        return {}
    return {u.id: u for u in db.session.scalars(select(User).where(User.id.in_(wanted)))}


def positions_of_ids(initiative_ids: list[int]) -> dict[int, GrantPosition]:
    """The start-up grant position of each of these initiatives that has one, by initiative id, in one query (the
    grants and their tranches summed by status together; no query per initiative)."""
    if not initiative_ids:
        return {}
    committed: dict[int, Decimal] = {}
    sums: dict[int, dict[str, Decimal]] = {}
    for initiative_id, amount, status, total in db.session.execute(
            select(Grant.initiative_id, Grant.committed, Disbursement.status, sum_cents(Disbursement.amount))
            .outerjoin(Disbursement, Disbursement.grant_id == Grant.id)
            .where(Grant.kind == GrantKind.STARTUP, Grant.initiative_id.in_(initiative_ids))
            .group_by(Grant.initiative_id, Grant.committed, Disbursement.status)):
        committed[initiative_id] = Decimal(amount)
        by_status = sums.setdefault(initiative_id, {})
        if status is not None:
            by_status[DisbursementStatus(status).value] = from_cents(total)
    return {initiative_id: GrantPosition.of(amount, sums[initiative_id])
            for initiative_id, amount in committed.items()}
