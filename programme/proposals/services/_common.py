"""What the proposal flow modules share: the check before a draft changes, the stamp and audit entry of every
change, the check of a typed amount, and one item of a proposal by id. Private to
``programme.proposals.services``."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any

from programme.core import audit
from programme.core.access import AccessDenied, Actor, NotFound, RuleViolation
from programme.core.money import is_exact_amount
from programme.core.texts import gettext as _
from programme.extensions import db
from programme.proposals.models import Proposal


def _require_edit(proposal: Proposal, actor: Actor, now: datetime | None = None) -> None:
    """Refuse before anything changes; with `now`, also once the call no longer takes proposals."""
    if not proposal.is_group_user(actor):
        raise AccessDenied(_("only the people acting for the group change its proposal"))
    if not proposal.can_edit(actor):
        raise RuleViolation(_("This proposal is %(status)s: it can no longer be changed.",
                              status=proposal.status.label.lower()))
    if now is not None and not proposal.call.is_accepting(now):
        raise RuleViolation(_("The call is not open for proposals: the draft can no longer be changed."))


def _touch(proposal: Proposal, actor: Actor, now: datetime, what: str, **details: Any) -> None:
    """Every change of the draft: only while the call takes proposals; stamped and audited."""
    if not proposal.call.is_accepting(now):
        raise RuleViolation(_("The call is not open for proposals: the draft can no longer be changed."))
    proposal.updated_at = now
    audit.record(db.session, actor, f"proposal.{what}", proposal, **details)


def _check_amount(value: Decimal, currency: str, field: str, *, allow_zero: bool = False) -> None:
    if value < 0 or (value == 0 and not allow_zero):
        raise RuleViolation(_("Give an amount above zero."), field=field)
    if not is_exact_amount(value, currency):
        raise RuleViolation(_("Give the amount in whole minor units of %(currency)s.", currency=currency), field=field)


def _child(items: list[Any], item_id: int) -> Any:
    item = next((i for i in items if i.id == item_id), None)
    if item is None:
        raise NotFound()
    return item
