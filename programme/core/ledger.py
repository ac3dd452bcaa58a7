"""The double-entry ledger: accounts, journal entries and their lines (DESIGN section 4).

Every movement of money is one balanced journal entry: the sum of its debits equals the sum of its
credits, every line is a positive amount on exactly one side, in one currency. Entries and lines are
never edited or deleted (the ORM refuses it); a mistake is corrected by a reversing entry that names
the one it reverses, and an entry is reversed at most once (a unique constraint).

Every posting carries an **idempotency key** (a request id, a bank reference...). Posting the same key
again returns the entry already posted and writes nothing; the same key with other lines is a bug and
is refused. Two sessions posting the same key at once: the unique constraint decides, the loser's
insert is rolled back to a savepoint and it returns the winner's entry (READ COMMITTED, the default of
PostgreSQL and SQLAlchemy, lets it see the winner's committed row).

The posting functions flush and never commit: the caller commits, once, with its other changes.

**Signs.** An account has a normal side given by its kind. ``balance`` is signed by it: debits minus
credits for a debit-normal account (assets, expenses), credits minus debits for a credit-normal one
(sources of funds, income, liabilities), so a balance is positive in the usual case.

**Chart of accounts** (kind, normal side, owner), and the entries the services are meant to post::

    programme_funds        credit  programme   the money the programme puts in (the source)
    programme_budget       debit   call        a call's budget not yet spent
    grants_paid            debit   initiative  grants paid to the initiative
    revolving_fund_cash    debit   fund        the revolving fund's cash
    loans_receivable       debit   loan        principal outstanding
    loans_rescheduled      debit   loan        principal outstanding of a rescheduled loan (moved from
                                               loans_receivable when it is rescheduled, so the restructured
                                               portfolio shows in the ledger)
    interest_income        credit  fund        interest earned by a revolving fund
    penalty_income         credit  fund        penalties earned by a revolving fund
    borrower_credit        credit  loan        an overpayment held for the borrower (owed back to them)
    write_offs             debit   loan        principal written off
    recoveries             credit  loan        money recovered after a write-off
    cofinancing_received   debit   initiative  verified co-financing (cash or in kind at its value)
    member_contributions   credit  initiative  its counterpart: what the members contributed

    budget a call            Dr programme_budget:call       Cr programme_funds:programme
    pay a grant tranche      Dr grants_paid:initiative      Cr programme_budget:call
    capitalise a fund        Dr revolving_fund_cash         Cr programme_budget:call
    lend                     Dr loans_receivable:loan       Cr revolving_fund_cash:fund
    a repayment              Dr revolving_fund_cash         Cr loans_receivable, interest_income, penalty_income,
                                                            borrower_credit (the overpayment)
    reschedule               Dr loans_rescheduled:loan      Cr loans_receivable:loan (the principal outstanding)
    write off                Dr write_offs:loan             Cr loans_receivable or loans_rescheduled:loan
    recover after write-off  Dr revolving_fund_cash         Cr recoveries:loan
    refund a borrower credit Dr borrower_credit:loan        Cr revolving_fund_cash:fund
    verified co-financing    Dr cofinancing_received        Cr member_contributions

The loan entries' idempotency keys (``programme.loans.services``): ``capitalisation:<bank reference>``,
``loan:<id>:disbursed``, ``repayment:<bank reference>`` (a recovery too), ``loan:<id>:rescheduled`` (the
first reschedule only: later ones move nothing), ``loan:<id>:written_off`` and
``credit_refund:<bank reference>``. Repayments are cash-basis: interest and penalties are income when paid,
never accrued as a receivable.
"""

from __future__ import annotations

import enum
import re
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    Date,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    cast,
    event,
    func,
    select,
)
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Mapped, Session, mapped_column, relationship

from programme.core.access import Actor
from programme.core.db import Base, Money, state_enum, utcnow
from programme.core.money import minor_unit
from programme.extensions import db

ZERO = Decimal("0.00")
CENT = Decimal("0.01")
#: Numeric(14, 2): twelve digits before the point.
MAX_AMOUNT = Decimal("999999999999.99")
#: The column holds two decimal places; a currency with fewer minor units allows fewer.
COLUMN_PLACES = 2


class LedgerError(Exception):
    """A posting that would break the ledger's rules; the message says which."""


class Side(enum.StrEnum):
    DEBIT = "debit"
    CREDIT = "credit"


class AccountKind(enum.StrEnum):
    PROGRAMME_FUNDS = "programme_funds"
    PROGRAMME_BUDGET = "programme_budget"
    GRANTS_PAID = "grants_paid"
    REVOLVING_FUND_CASH = "revolving_fund_cash"
    LOANS_RECEIVABLE = "loans_receivable"
    LOANS_RESCHEDULED = "loans_rescheduled"
    INTEREST_INCOME = "interest_income"
    PENALTY_INCOME = "penalty_income"
    BORROWER_CREDIT = "borrower_credit"
    WRITE_OFFS = "write_offs"
    RECOVERIES = "recoveries"
    COFINANCING_RECEIVED = "cofinancing_received"
    MEMBER_CONTRIBUTIONS = "member_contributions"

    @property
    def normal_side(self) -> Side:
        return NORMAL_SIDE[self]

    @property
    def label(self) -> str:
        return self.value.replace("_", " ").capitalize()


NORMAL_SIDE: dict[AccountKind, Side] = {
    AccountKind.PROGRAMME_FUNDS: Side.CREDIT,
    AccountKind.PROGRAMME_BUDGET: Side.DEBIT,
    AccountKind.GRANTS_PAID: Side.DEBIT,
    AccountKind.REVOLVING_FUND_CASH: Side.DEBIT,
    AccountKind.LOANS_RECEIVABLE: Side.DEBIT,
    AccountKind.LOANS_RESCHEDULED: Side.DEBIT,
    AccountKind.INTEREST_INCOME: Side.CREDIT,
    AccountKind.PENALTY_INCOME: Side.CREDIT,
    AccountKind.BORROWER_CREDIT: Side.CREDIT,
    AccountKind.WRITE_OFFS: Side.DEBIT,
    AccountKind.RECOVERIES: Side.CREDIT,
    AccountKind.COFINANCING_RECEIVED: Side.DEBIT,
    AccountKind.MEMBER_CONTRIBUTIONS: Side.CREDIT,
}

_DEBIT_KINDS = ", ".join(f"'{kind.value}'" for kind in AccountKind if NORMAL_SIDE[kind] is Side.DEBIT)
_OWNER_TYPE = re.compile(r"^[a-z][a-z0-9_]{0,39}$")
_CURRENCY = re.compile(r"^[A-Z]{3}$")


# --------------------------------------------------------------------------------------------- models


class Account(Base):
    """One account of the ledger, belonging to one thing (a call, an initiative, a loan, a fund...)."""

    __tablename__ = "ledger_accounts"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(120), unique=True)
    kind: Mapped[AccountKind] = mapped_column(state_enum(AccountKind, "kind"))
    normal_side: Mapped[Side] = mapped_column(state_enum(Side, "normal_side"))
    owner_type: Mapped[str] = mapped_column(String(40))
    owner_id: Mapped[int | None] = mapped_column(Integer)
    currency: Mapped[str] = mapped_column(String(3))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    __table_args__ = (
        Index("ix_ledger_accounts_owner", "owner_type", "owner_id"),
        CheckConstraint(f"(kind IN ({_DEBIT_KINDS})) = (normal_side = 'debit')", name="side_of_kind"),
        CheckConstraint("length(currency) = 3", name="currency_code"),
    )

    def __repr__(self) -> str:
        return f"<Account {self.code} {self.currency}>"


class JournalEntry(Base):
    """A balanced set of lines posted at once. Never changed; corrected by a reversing entry."""

    __tablename__ = "journal_entries"

    id: Mapped[int] = mapped_column(primary_key=True)
    posted_at: Mapped[datetime] = mapped_column(default=utcnow)
    value_date: Mapped[date] = mapped_column(Date, index=True)
    description: Mapped[str] = mapped_column(Text)
    idempotency_key: Mapped[str] = mapped_column(String(200), unique=True)
    reverses_id: Mapped[int | None] = mapped_column(ForeignKey("journal_entries.id"), unique=True)
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    actor_label: Mapped[str] = mapped_column(String(255))
    source_type: Mapped[str | None] = mapped_column(String(40))
    source_id: Mapped[int | None] = mapped_column(Integer)

    lines: Mapped[list[JournalLine]] = relationship(
        back_populates="entry", order_by="JournalLine.id", cascade="save-update, merge"
    )
    reverses: Mapped[JournalEntry | None] = relationship(remote_side=[id], foreign_keys=[reverses_id])

    __table_args__ = (
        Index("ix_journal_entries_source", "source_type", "source_id"),
        CheckConstraint("reverses_id IS NULL OR reverses_id <> id", name="not_self_reversing"),
        CheckConstraint("length(idempotency_key) > 0", name="key_not_empty"),
    )

    def __repr__(self) -> str:
        return f"<JournalEntry {self.id} {self.value_date} {self.idempotency_key!r}>"


class JournalLine(Base):
    """One debit or one credit of an entry: exactly one side positive, the other zero."""

    __tablename__ = "journal_lines"

    id: Mapped[int] = mapped_column(primary_key=True)
    entry_id: Mapped[int] = mapped_column(ForeignKey("journal_entries.id"), index=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("ledger_accounts.id"), index=True)
    debit: Mapped[Money] = mapped_column(default=ZERO)
    credit: Mapped[Money] = mapped_column(default=ZERO)

    entry: Mapped[JournalEntry] = relationship(back_populates="lines")
    account: Mapped[Account] = relationship(lazy="joined")

    __table_args__ = (
        CheckConstraint("(debit > 0 AND credit = 0) OR (debit = 0 AND credit > 0)", name="one_side"),
    )


# Append-only: the ORM refuses to change or delete an entry, a line or an account.


def _refuse(kind: str, what: str):
    def listener(mapper: Any, connection: Any, target: Any) -> None:
        raise LedgerError(f"the ledger is append-only: a {what} cannot be {kind}d (post a reversing entry)")

    return listener


for _model, _what in ((JournalEntry, "journal entry"), (JournalLine, "journal line"), (Account, "ledger account")):
    event.listen(_model, "before_update", _refuse("update", _what))
    event.listen(_model, "before_delete", _refuse("delete", _what))

_LEDGER_TABLES = frozenset({"journal_entries", "journal_lines", "ledger_accounts"})


@event.listens_for(Session, "do_orm_execute")
def _refuse_bulk_changes(state: Any) -> None:
    """ORM bulk update(JournalLine)... / delete(JournalEntry)... skip the mapper events: refuse them too.

    Core statements on the tables (the test fixture emptying them, raw SQL) are not ORM-enabled and pass.
    """
    mapper = state.bind_mapper
    if (state.is_update or state.is_delete) and mapper is not None and mapper.local_table.name in _LEDGER_TABLES:
        raise LedgerError("the ledger is append-only: bulk updates and deletes are refused")


@event.listens_for(Session, "before_flush")
def _only_balanced_entries(session: Session, flush_context: Any, instances: Any) -> None:
    """Whatever way lines reach the session, a new entry must balance and an old one cannot gain lines."""
    new = set(session.new)
    for obj in new:
        if isinstance(obj, JournalLine) and (obj.entry is None or obj.entry not in new):
            raise LedgerError("the ledger is append-only: a line cannot be added to an entry already posted")
        if isinstance(obj, JournalEntry):  # a column default (zero) is not set before the insert
            check_balanced([Line(line.account, ZERO if line.debit is None else line.debit,
                                 ZERO if line.credit is None else line.credit) for line in obj.lines])


# ----------------------------------------------------------------------------------------- pure checks


@dataclass(frozen=True)
class Line:
    """A line to post: an account and an amount on one side (the other side zero)."""

    account: Any
    debit: Decimal = ZERO
    credit: Decimal = ZERO


def debit(account: Any, amount: Decimal) -> Line:
    return Line(account, amount, ZERO)


def credit(account: Any, amount: Decimal) -> Line:
    return Line(account, ZERO, amount)


def _as_line(item: Line | Sequence[Any]) -> Line:
    if isinstance(item, Line):
        return item
    try:
        account, debit_amount, credit_amount = item
    except (TypeError, ValueError):
        raise LedgerError(f"a line is (account, debit, credit), not {item!r}") from None
    return Line(account, debit_amount, credit_amount)


def _amount(value: Any, places: int, where: str) -> Decimal:
    if isinstance(value, bool | float) or not isinstance(value, Decimal | int):
        raise LedgerError(f"{where}: an amount must be a Decimal, not {type(value).__name__} ({value!r})")
    amount = Decimal(value)
    if not amount.is_finite():
        raise LedgerError(f"{where}: {value!r} is not a finite amount")
    if amount < 0:
        raise LedgerError(f"{where}: amounts are never negative (got {amount}); use the other side")
    if amount != amount.quantize(Decimal(1).scaleb(-places)):
        raise LedgerError(f"{where}: {amount} has more than {places} decimal places")
    if amount > MAX_AMOUNT:
        raise LedgerError(f"{where}: {amount} is too large")
    return amount.quantize(CENT)


def check_balanced(lines: Iterable[Line | Sequence[Any]]) -> list[Line]:
    """Check lines about to be posted (pure: no database); return them normalised, or raise LedgerError.

    At least two lines; every amount a Decimal (or int), never a float or a bool, with no more decimal
    places than the currency's minor unit (and at most 2), not negative; on each line exactly one side
    positive; one currency (the accounts' ``currency``); the sum of debits equal to the sum of credits.
    """
    checked: list[Line] = []
    items = list(lines)
    if len(items) < 2:
        raise LedgerError(f"an entry needs at least two lines (got {len(items)})")
    currencies = {getattr(_as_line(item).account, "currency", None) for item in items}
    if None in currencies:
        raise LedgerError("every line needs an account with a currency")
    if len(currencies) != 1:
        raise LedgerError(f"an entry is in one currency (got {', '.join(sorted(currencies))})")
    currency = currencies.pop()
    places = min(COLUMN_PLACES, minor_unit(currency))
    for number, item in enumerate(items, start=1):
        line = _as_line(item)
        where = f"line {number}"
        debit_amount = _amount(line.debit, places, f"{where} debit")
        credit_amount = _amount(line.credit, places, f"{where} credit")
        if (debit_amount > 0) == (credit_amount > 0):
            raise LedgerError(f"{where}: exactly one of debit and credit must be positive")
        checked.append(Line(line.account, debit_amount, credit_amount))
    debits = sum((line.debit for line in checked), ZERO)
    credits = sum((line.credit for line in checked), ZERO)
    if debits != credits:
        raise LedgerError(f"debits ({debits}) do not equal credits ({credits})")
    return checked


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


# ------------------------------------------------------------------------------------------- balances

# Summed in whole cents as integers: exact on SQLite too, which would otherwise add binary floats.
_DEBIT_CENTS = cast(func.round(JournalLine.debit * 100), BigInteger)
_CREDIT_CENTS = cast(func.round(JournalLine.credit * 100), BigInteger)


def _money(cents: Any) -> Decimal:
    return (Decimal(int(cents or 0)) / 100).quantize(CENT)


def _signed(account: Account, debits: Decimal, credits: Decimal) -> Decimal:
    return debits - credits if account.normal_side is Side.DEBIT else credits - debits


def _sums_by_account(account_ids: Sequence[int] | None, as_of: date | None) -> dict[int, tuple[Decimal, Decimal]]:
    query = select(
        JournalLine.account_id,
        func.coalesce(func.sum(_DEBIT_CENTS), 0),
        func.coalesce(func.sum(_CREDIT_CENTS), 0),
    ).group_by(JournalLine.account_id)
    if account_ids is not None:
        query = query.where(JournalLine.account_id.in_(account_ids))
    if as_of is not None:
        query = query.join(JournalEntry, JournalEntry.id == JournalLine.entry_id).where(
            JournalEntry.value_date <= as_of
        )
    return {account_id: (_money(d), _money(c)) for account_id, d, c in db.session.execute(query)}


def balance(account: Account, as_of: date | None = None) -> Decimal:
    """The account's balance from its lines (value date on or before ``as_of``), signed by its normal side."""
    debits, credits = _sums_by_account([account.id], as_of).get(account.id, (ZERO, ZERO))
    return _signed(account, debits, credits)


def balances(accounts: Iterable[Account], as_of: date | None = None) -> dict[Account, Decimal]:
    """The balances of several accounts in one query, by account."""
    accounts = list(accounts)
    sums = _sums_by_account([account.id for account in accounts], as_of) if accounts else {}
    return {account: _signed(account, *sums.get(account.id, (ZERO, ZERO))) for account in accounts}


@dataclass(frozen=True)
class TrialBalanceRow:
    account: Account
    debits: Decimal
    credits: Decimal
    balance: Decimal  # signed by the account's normal side


@dataclass(frozen=True)
class TrialBalance:
    rows: list[TrialBalanceRow]
    total_debits: Decimal
    total_credits: Decimal

    @property
    def balanced(self) -> bool:
        return self.total_debits == self.total_credits


def trial_balance(as_of: date | None = None) -> TrialBalance:
    """Every account with its debits, credits and balance, by code; the totals of debits and credits."""
    sums = _sums_by_account(None, as_of)
    rows = []
    for account in db.session.scalars(select(Account).order_by(Account.code)):
        debits, credits = sums.get(account.id, (ZERO, ZERO))
        rows.append(TrialBalanceRow(account, debits, credits, _signed(account, debits, credits)))
    return TrialBalance(
        rows=rows,
        total_debits=sum((row.debits for row in rows), ZERO),
        total_credits=sum((row.credits for row in rows), ZERO),
    )


def check_ledger() -> list[str]:
    """What is wrong with the ledger as stored, found by SQL (an empty list when all is right):
    entries whose debits and credits differ, entries with fewer than two lines or more than one
    currency, lines with both sides or neither positive (or a negative side), totals that differ, and
    reversals that are not the mirror of the entry they reverse."""
    problems: list[str] = []
    unbalanced = db.session.execute(
        select(JournalLine.entry_id, func.sum(_DEBIT_CENTS), func.sum(_CREDIT_CENTS))
        .group_by(JournalLine.entry_id)
        .having(func.sum(_DEBIT_CENTS) != func.sum(_CREDIT_CENTS))
        .order_by(JournalLine.entry_id)
    )
    for entry_id, debit_cents, credit_cents in unbalanced:
        problems.append(
            f"entry {entry_id} is unbalanced: debits {_money(debit_cents)}, credits {_money(credit_cents)}"
        )
    line_count = func.count(JournalLine.id)
    too_few = db.session.execute(
        select(JournalEntry.id, line_count)
        .outerjoin(JournalLine, JournalLine.entry_id == JournalEntry.id)
        .group_by(JournalEntry.id)
        .having(line_count < 2)
        .order_by(JournalEntry.id)
    )
    for entry_id, count in too_few:
        problems.append(f"entry {entry_id} has {count} line(s); an entry needs at least two")
    mixed = db.session.execute(
        select(JournalLine.entry_id)
        .join(Account, Account.id == JournalLine.account_id)
        .group_by(JournalLine.entry_id)
        .having(func.count(func.distinct(Account.currency)) > 1)
        .order_by(JournalLine.entry_id)
    )
    for (entry_id,) in mixed:
        problems.append(f"entry {entry_id} mixes currencies")
    one_sided = ((JournalLine.debit > 0) & (JournalLine.credit == 0)) | (
        (JournalLine.debit == 0) & (JournalLine.credit > 0)
    )
    bad_lines = db.session.execute(
        select(JournalLine.id, JournalLine.entry_id, JournalLine.debit, JournalLine.credit)
        .where(~one_sided)
        .order_by(JournalLine.id)
    )
    for line_id, entry_id, debit_amount, credit_amount in bad_lines:
        problems.append(
            f"line {line_id} of entry {entry_id} has debit {debit_amount} and credit {credit_amount}: "
            "exactly one side must be positive"
        )
    totals = db.session.execute(
        select(func.coalesce(func.sum(_DEBIT_CENTS), 0), func.coalesce(func.sum(_CREDIT_CENTS), 0))
    ).one()
    if totals[0] != totals[1]:
        problems.append(f"total debits {_money(totals[0])} differ from total credits {_money(totals[1])}")
    problems.extend(_reversals_that_do_not_mirror())
    return problems


def _reversals_that_do_not_mirror() -> list[str]:
    """Each reversal's net amount per account must be the opposite of its original's."""
    net = func.sum(_DEBIT_CENTS - _CREDIT_CENTS)
    reversals = db.session.execute(
        select(JournalEntry.id, JournalEntry.reverses_id, JournalLine.account_id, net)
        .join(JournalLine, JournalLine.entry_id == JournalEntry.id)
        .where(JournalEntry.reverses_id.is_not(None))
        .group_by(JournalEntry.id, JournalEntry.reverses_id, JournalLine.account_id)
    ).all()
    if not reversals:
        return []
    mirror: dict[int, dict[int, int]] = {}
    original_of: dict[int, int] = {}
    for entry_id, original_id, account_id, cents in reversals:
        original_of[entry_id] = original_id
        mirror.setdefault(entry_id, {})[account_id] = int(cents)
    originals: dict[int, dict[int, int]] = {}
    for entry_id, account_id, cents in db.session.execute(
        select(JournalLine.entry_id, JournalLine.account_id, net)
        .where(JournalLine.entry_id.in_(set(original_of.values())))
        .group_by(JournalLine.entry_id, JournalLine.account_id)
    ):
        originals.setdefault(entry_id, {})[account_id] = int(cents)
    problems = []
    for entry_id in sorted(mirror):
        original_id = original_of[entry_id]
        expected = {account_id: -cents for account_id, cents in originals.get(original_id, {}).items()}
        if {k: v for k, v in mirror[entry_id].items() if v} != {k: v for k, v in expected.items() if v}:
            problems.append(f"entry {entry_id} does not mirror entry {original_id}, which it reverses")
    return problems
