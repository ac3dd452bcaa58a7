"""Posting to the ledger: finding or opening accounts, posting balanced entries and reversing them.

Every posting carries an **idempotency key** (a request id, a bank reference...). Posting the same key
again returns the entry already posted and writes nothing; the same key with other lines is a bug and
is refused. Two sessions posting the same key at once: the unique constraint decides, the loser's
insert is rolled back to a savepoint and it returns the winner's entry (READ COMMITTED, the default of
PostgreSQL and SQLAlchemy, lets it see the winner's committed row).

The posting functions flush and never commit: the caller commits, once, with its other changes. The lines
(``debit``, ``credit``, ``Line``) and the check that they balance are pure (``programme.ledger.domain``).
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable, Sequence
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from programme.core.access import Actor
from programme.core.db import utcnow
from programme.extensions import db
from programme.ledger.domain import CENT, LedgerError, Line, check_balanced, credit, debit
from programme.ledger.models import Account, AccountKind, JournalEntry, JournalLine

__all__ = [
    "Line", "account_code", "check_balanced", "credit", "debit", "get_account", "get_or_create_account",
    "post_entry", "reversal_of", "reverse_entry",
]

_OWNER_TYPE = re.compile(r"^[a-z][a-z0-9_]{0,39}$")
_CURRENCY = re.compile(r"^[A-Z]{3}$")


# ------------------------------------------------------------------------------------------- accounts


def account_code(kind: AccountKind, owner_type: str, owner_id: int | None) -> str:
    kind = AccountKind(kind)
    if not _OWNER_TYPE.match(owner_type or ""):
        raise LedgerError(f"owner type {owner_type!r}: lower-case letters, digits and underscores")
    if owner_id is not None and (isinstance(owner_id, bool) or not isinstance(owner_id, int)):
        raise LedgerError(f"owner id {owner_id!r} must be an integer")
    return f"{kind.value}:{owner_type}" if owner_id is None else f"{kind.value}:{owner_type}:{owner_id}"


def _account_by_code(code: str) -> Account | None:
    return db.session.scalar(select(Account).where(Account.code == code))


def get_account(kind: AccountKind, owner_type: str, owner_id: int | None) -> Account | None:
    return _account_by_code(account_code(kind, owner_type, owner_id))


def get_or_create_account(kind: AccountKind, owner_type: str, owner_id: int | None, currency: str) -> Account:
    """The account of that kind for that owner, created (and flushed) if it does not exist yet.

    Safe when two sessions create it at once: the unique code decides, and the loser reads the winner's.
    An existing account in another currency is refused.
    """
    kind = AccountKind(kind)
    code = account_code(kind, owner_type, owner_id)
    if not _CURRENCY.match(currency or ""):
        raise LedgerError(f"currency {currency!r}: three capital letters (ISO 4217)")
    account = _account_by_code(code)
    if account is None:
        try:
            with db.session.begin_nested():
                account = Account(
                    code=code, kind=kind, normal_side=kind.normal_side, owner_type=owner_type,
                    owner_id=owner_id, currency=currency,
                )
                db.session.add(account)
        except IntegrityError:
            account = _account_by_code(code)
            if account is None:
                raise
    if account.currency != currency:
        raise LedgerError(f"account {code} is in {account.currency}, not {currency}")
    return account


# -------------------------------------------------------------------------------------------- posting


def _signature(lines: Iterable[Line]) -> Counter[tuple[int, Decimal, Decimal]]:
    return Counter((line.account.id, Decimal(line.debit).quantize(CENT), Decimal(line.credit).quantize(CENT))
                   for line in lines)


def _source(source: Any) -> tuple[str | None, int | None]:
    if source is None:
        return None, None
    if isinstance(source, tuple):
        source_type, source_id = source
        return source_type, source_id
    return type(source).__name__, source.id


def _by_key(key: str) -> JournalEntry | None:
    return db.session.scalar(select(JournalEntry).where(JournalEntry.idempotency_key == key))


def _existing(entry: JournalEntry, lines: list[Line], reverses_id: int | None) -> JournalEntry:
    """A retry of a posting already made: the same entry if it is the same, else LedgerError."""
    if entry.reverses_id != reverses_id or _signature(entry.lines) != _signature(lines):
        raise LedgerError(
            f"idempotency key {entry.idempotency_key!r} was already used by entry {entry.id} with other lines"
        )
    return entry


def _post(
    lines: Iterable[Line | Sequence[Any]],
    *,
    description: str,
    value_date: date,
    idempotency_key: str,
    actor: Actor,
    source: Any,
    now: datetime | None,
    reverses: JournalEntry | None = None,
) -> JournalEntry:
    checked = check_balanced(lines)
    if not isinstance(value_date, date) or isinstance(value_date, datetime):
        raise LedgerError(f"the value date must be a date, not {value_date!r}")
    if not idempotency_key or not isinstance(idempotency_key, str):
        raise LedgerError("every posting needs an idempotency key")
    if len(idempotency_key) > 200:
        raise LedgerError("the idempotency key is longer than 200 characters")
    for line in checked:
        if not isinstance(line.account, Account):
            raise LedgerError(f"{line.account!r} is not a ledger account")
        if line.account.id is None:
            db.session.flush()
    reverses_id = reverses.id if reverses is not None else None

    found = _by_key(idempotency_key)
    if found is not None:
        return _existing(found, checked, reverses_id)
    if reverses is not None:
        _refuse_second_reversal(reverses)

    source_type, source_id = _source(source)
    try:
        with db.session.begin_nested():
            entry = JournalEntry(
                posted_at=now or utcnow(),
                value_date=value_date,
                description=description,
                idempotency_key=idempotency_key,
                reverses_id=reverses_id,
                actor_id=actor.id,
                actor_label=actor.actor_label,
                source_type=source_type,
                source_id=source_id,
                lines=[JournalLine(account=line.account, debit=line.debit, credit=line.credit) for line in checked],
            )
            db.session.add(entry)
    except IntegrityError:
        # Another session posted the same key (or reversed the same entry) first and committed.
        found = _by_key(idempotency_key)
        if found is not None:
            return _existing(found, checked, reverses_id)
        if reverses is not None:
            _refuse_second_reversal(reverses)
        raise
    return entry


def post_entry(
    *,
    lines: Iterable[Line | Sequence[Any]],
    description: str,
    value_date: date,
    idempotency_key: str,
    actor: Actor,
    source: Any = None,
    now: datetime | None = None,
) -> JournalEntry:
    """Post a balanced entry (flushed, not committed) and return it.

    ``lines``: ``Line``s (or ``debit(account, amount)`` / ``credit(account, amount)``) or
    ``(account, debit, credit)`` tuples. ``source``: what caused it, a model instance (its class name
    and id are stored) or a ``(type, id)`` pair. If the idempotency key was used already, the entry
    posted then is returned and nothing is written; LedgerError if its lines differ from these.
    """
    return _post(
        lines, description=description, value_date=value_date, idempotency_key=idempotency_key,
        actor=actor, source=source, now=now,
    )


def reversal_of(entry: JournalEntry) -> JournalEntry | None:
    return db.session.scalar(select(JournalEntry).where(JournalEntry.reverses_id == entry.id))


def _refuse_second_reversal(entry: JournalEntry) -> None:
    existing = reversal_of(entry)
    if existing is not None:
        raise LedgerError(f"entry {entry.id} was already reversed by entry {existing.id}")


def reverse_entry(
    entry: JournalEntry,
    *,
    reason: str,
    idempotency_key: str,
    actor: Actor,
    now: datetime | None = None,
    value_date: date | None = None,
) -> JournalEntry:
    """Post the mirror of ``entry`` (each debit becomes a credit and back), linked to it by ``reverses_id``.

    The value date defaults to the original's, so the mistake vanishes from every balance as of any
    date; pass another to date the correction itself. An entry is reversed at most once (LedgerError);
    a retry with the same idempotency key returns the reversal already posted.
    """
    if entry.id is None:
        raise LedgerError("only a posted entry can be reversed")
    if not reason or not reason.strip():
        raise LedgerError("a reversal needs a reason")
    mirrored = [Line(line.account, line.credit, line.debit) for line in entry.lines]
    return _post(
        mirrored,
        description=f"Reversal of entry {entry.id}: {reason.strip()}",
        value_date=value_date or entry.value_date,
        idempotency_key=idempotency_key,
        actor=actor,
        source=(entry.source_type, entry.source_id) if entry.source_type else None,
        now=now,
        reverses=entry,
    )
