"""Who reads the ledger, and the reads that programs make of it page by page (the API): the trial balance on a day
and the journal entries of a period in the order they were posted."""

from __future__ import annotations

from datetime import date

from sqlalchemy import select
from sqlalchemy.orm import selectinload

from programme.core.access import Actor, Role, require_role
from programme.extensions import db
from programme.ledger.balances import TrialBalance, trial_balance
from programme.ledger.models import JournalEntry, JournalLine

#: Managers, fund administrators and auditors read the ledger.
READERS = (Role.PROGRAMME_MANAGER, Role.FUND_ADMINISTRATOR, Role.AUDITOR)


def require_ledger_reader(user: Actor) -> None:
    """Managers, fund administrators and auditors read the ledger; AccessDenied for anyone else."""
    require_role(user, *READERS)


def trial_balance_for(*, actor: Actor, as_of: date | None = None) -> TrialBalance:
    require_ledger_reader(actor)
    return trial_balance(as_of)


def entries_after(*, actor: Actor, after_id: int | None, limit: int, date_from: date | None = None,
                  date_to: date | None = None) -> list[JournalEntry]:
    """Journal entries in the order they were posted (their ids), from the one after ``after_id``, with their lines
    and accounts: ``limit`` of them, their value dates within the period if one is given."""
    require_ledger_reader(actor)
    query = select(JournalEntry).options(selectinload(JournalEntry.lines).joinedload(JournalLine.account))
    if after_id is not None:
        query = query.where(JournalEntry.id > after_id)
    if date_from is not None:
        query = query.where(JournalEntry.value_date >= date_from)
    if date_to is not None:
        query = query.where(JournalEntry.value_date <= date_to)
    return list(db.session.scalars(query.order_by(JournalEntry.id).limit(limit)))
