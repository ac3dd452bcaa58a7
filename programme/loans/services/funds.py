"""Revolving funds: finding or opening an initiative's fund, the funds an actor may see, a fund's cash,
and capitalising a fund from the call's budget (Dr revolving_fund_cash:fund, Cr programme_budget:call)."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from programme.accounts.models import GroupUser
from programme.calls.models import Call
from programme.core import audit
from programme.core.access import Actor, NotFound, Role, RuleViolation, require_role
from programme.core.texts import gettext as _
from programme.core.timezone import format_day, local_date
from programme.extensions import db
from programme.funding import services as funding
from programme.funding.models import Initiative, InitiativeStatus
from programme.ledger.balances import balance
from programme.ledger.models import AccountKind
from programme.ledger.posting import credit, debit, get_account
from programme.loans.models import Capitalisation, RevolvingFund
from programme.loans.services._common import (
    HANDLERS,
    VIEWERS,
    ZERO,
    _a_date,
    _account,
    _money,
    _money_of,
    _post,
    _reference,
)


def existing_fund(initiative: Initiative) -> RevolvingFund | None:
    """The initiative's revolving fund, or None if it has none yet (nothing is created)."""
    return db.session.scalar(select(RevolvingFund).where(RevolvingFund.initiative_id == initiative.id))


def fund_of(initiative: Initiative) -> RevolvingFund:
    """The initiative's revolving fund, created (and flushed) if it has none yet."""
    fund = existing_fund(initiative)
    if fund is not None:
        return fund
    try:
        with db.session.begin_nested():
            fund = RevolvingFund(initiative_id=initiative.id, currency=initiative.currency)
            db.session.add(fund)
    except IntegrityError:  # made by another session at the same moment
        fund = db.session.scalar(select(RevolvingFund).where(RevolvingFund.initiative_id == initiative.id))
        if fund is None:
            raise
    return fund


def open_fund(initiative: Initiative, *, actor: Actor) -> RevolvingFund:
    """A fund administrator opens the initiative's revolving fund (empty until capitalised); audited. Opening a
    fund that exists returns it."""
    require_role(actor, Role.FUND_ADMINISTRATOR)
    existing = existing_fund(initiative)
    if existing is not None:
        return existing
    fund = fund_of(initiative)
    db.session.flush()
    audit.record(db.session, actor, "loans.fund_opened", fund, initiative=initiative.reference,
                 currency=fund.currency)
    return fund


def get_fund(fund_id: int, *, actor: Actor) -> RevolvingFund:
    """One fund; NotFound for an unknown id and for one the actor may not see."""
    fund = db.session.get(RevolvingFund, fund_id)
    if fund is None or not fund.can_view(actor):
        raise NotFound("no such revolving fund")
    return fund


def funds_for(actor: Actor) -> list[RevolvingFund]:
    """The funds the actor may see: all for managers and fund administrators, its groups' for an applicant;
    AccessDenied for anyone else (a reviewer sees none)."""
    require_role(actor, *VIEWERS)
    query = select(RevolvingFund).join(Initiative, Initiative.id == RevolvingFund.initiative_id)
    if not any(actor.has_role(role) for role in (Role.PROGRAMME_MANAGER, Role.FUND_ADMINISTRATOR, Role.AUDITOR)):
        query = query.join(GroupUser, GroupUser.group_id == Initiative.group_id).where(GroupUser.user_id == actor.id)
    return list(db.session.scalars(query.order_by(Initiative.reference)).unique())


def fund_cash(fund: RevolvingFund, as_of: date | None = None) -> Decimal:
    """The fund's cash: the balance of revolving_fund_cash:fund (on ``as_of`` if given)."""
    account = get_account(AccountKind.REVOLVING_FUND_CASH, "fund", fund.id)
    return ZERO if account is None else balance(account, as_of)


def capitalisations_of(fund: RevolvingFund) -> list[Capitalisation]:
    return list(db.session.scalars(
        select(Capitalisation).where(Capitalisation.fund_id == fund.id).order_by(Capitalisation.value_date,
                                                                                  Capitalisation.id)))


def capitalise_fund(fund: RevolvingFund, *, amount: object, value_date: date, bank_reference: str, note: str = "",
                    actor: Actor, now: datetime, timezone: str) -> Capitalisation:
    """Put programme money into the fund (Dr revolving_fund_cash:fund, Cr programme_budget:call), never more
    than is left of the call's budget, and never past the call's cap per initiative, which counts the
    initiative's grant tranches (requested, approved or paid) and every capitalisation of its fund
    (``funding.refuse_over_initiative_cap``, under the initiative's lock). The same bank reference again, for
    the same fund, amount and date, returns the capitalisation already recorded and changes nothing; used
    otherwise, it is refused."""
    require_role(actor, *HANDLERS)
    currency = fund.currency
    value = _money(amount, currency)
    reference = _reference(bank_reference)
    value_date = _a_date(value_date, "value_date", _("Give the value date of the transfer."))
    if value_date > local_date(now, timezone):
        raise RuleViolation(_("The value date %(day)s is in the future.", day=format_day(value_date)),
                            field="value_date")
    initiative = fund.initiative
    call = initiative.call
    if initiative.status == InitiativeStatus.TERMINATED:
        raise RuleViolation(_("%(initiative)s is terminated; nothing more is paid to it.",
                              initiative=initiative.reference))
    # The initiative's row first (the lock every cap check takes first), then the call's.
    funding.lock_initiative(initiative)
    db.session.execute(select(Call.id).where(Call.id == call.id).with_for_update())
    existing = db.session.scalar(select(Capitalisation).where(Capitalisation.bank_reference == reference))
    if existing is not None:
        if existing.fund_id == fund.id and existing.amount == value and existing.value_date == value_date:
            return existing
        raise RuleViolation(_("The bank reference %(reference)s is already used for a capitalisation of %(amount)s "
                              "on %(day)s.", reference=reference, amount=_money_of(existing.amount, currency),
                              day=format_day(existing.value_date)), field="bank_reference")
    funding.budget_call(call, actor=actor, now=now)
    budget = _account(AccountKind.PROGRAMME_BUDGET, "call", call.id, currency)
    left = balance(budget)
    if value > left:
        raise RuleViolation(_("%(amount)s is more than is left of the budget of %(call)s: %(left)s.",
                              amount=_money_of(value, currency), call=call.reference,
                              left=_money_of(max(left, ZERO), currency)), field="amount")
    # All programme money counts against the call's cap per initiative: its grants and its fund's capital.
    funding.refuse_over_initiative_cap(initiative, value, what=_("a capitalisation of the revolving fund"))
    cash = _account(AccountKind.REVOLVING_FUND_CASH, "fund", fund.id, currency)
    entry = _post([debit(cash, value), credit(budget, value)],
                  description=f"Capitalisation of the revolving fund of {initiative.reference} (bank {reference})",
                  value_date=value_date, idempotency_key=f"capitalisation:{reference}", actor=actor,
                  source=fund, now=now)
    made = Capitalisation(fund_id=fund.id, amount=value, value_date=value_date, bank_reference=reference,
                          note=(note or "").strip(), recorded_by_id=actor.id, recorded_at=now,
                          journal_entry_id=entry.id)
    db.session.add(made)
    db.session.flush()
    audit.record(db.session, actor, "loans.fund_capitalised", made, initiative=initiative.reference,
                 amount=str(value), value_date=value_date.isoformat(), bank_reference=reference,
                 journal_entry=entry.id, budget_left=str(left - value))
    return made
