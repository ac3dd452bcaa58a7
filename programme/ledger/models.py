"""The double-entry ledger's models: accounts, journal entries and their lines (DESIGN section 4).

Every movement of money is one balanced journal entry: the sum of its debits equals the sum of its
credits, every line is a positive amount on exactly one side, in one currency. Entries and lines are
never edited or deleted (the ORM refuses it); a mistake is corrected by a reversing entry that names
the one it reverses, and an entry is reversed at most once (a unique constraint). Posting is in
``programme.ledger.posting``, balances in ``programme.ledger.balances``, checks in ``programme.ledger.checks``.

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
    guarantee_receivable   debit   obligation  what a guarantor owes after a loan's guarantees were called
    guarantor_credit       credit  obligation  a guarantor's overpayment, held for it
    guarantee_write_offs   debit   obligation  what a guarantor could not pay, written off

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
    call a loan's guarantees Dr guarantee_receivable:obl.   Cr loans_receivable or loans_rescheduled:loan
    collect from a guarantor Dr revolving_fund_cash         Cr guarantee_receivable, guarantor_credit:obligation
    write off an obligation  Dr guarantee_write_offs:obl.   Cr guarantee_receivable:obligation

The loan entries' idempotency keys (``programme.loans.services``): ``capitalisation:<bank reference>``,
``loan:<id>:disbursed``, ``repayment:<bank reference>`` (a recovery too), ``loan:<id>:rescheduled`` (the
first reschedule only: later ones move nothing), ``loan:<id>:written_off`` and
``credit_refund:<bank reference>``. Repayments are cash-basis: interest and penalties are income when paid,
never accrued as a receivable.
"""

from __future__ import annotations

import enum
import json
from datetime import date, datetime
from typing import Any

from sqlalchemy import CheckConstraint, Date, ForeignKey, Index, Integer, String, Text, event
from sqlalchemy.orm import Mapped, Session, mapped_column, relationship

from programme.core.db import Base, Money, state_enum, utcnow
from programme.core.texts import lazy_gettext as _l
from programme.core.texts import lazy_pgettext
from programme.ledger.domain import ZERO, LedgerError, Line, check_balanced

__all__ = ["NORMAL_SIDE", "Account", "AccountKind", "JournalEntry", "JournalLine", "LedgerError", "Side"]


class Side(enum.StrEnum):
    DEBIT = "debit"
    CREDIT = "credit"

    @property
    def label(self) -> str:
        """"debit" or "credit", in the language being answered in (the value stays the code)."""
        return str(_SIDE_LABELS[self.value])


_SIDE_LABELS = {"debit": lazy_pgettext("normal side", "debit"), "credit": lazy_pgettext("normal side", "credit")}


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
    GUARANTEE_RECEIVABLE = "guarantee_receivable"
    GUARANTOR_CREDIT = "guarantor_credit"
    GUARANTEE_WRITE_OFFS = "guarantee_write_offs"

    @property
    def normal_side(self) -> Side:
        return NORMAL_SIDE[self]

    @property
    def label(self) -> str:
        """The kind's name for people ("Loans receivable"), in the language being answered in."""
        return str(_KIND_LABELS[self.value])


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
    AccountKind.GUARANTEE_RECEIVABLE: Side.DEBIT,
    AccountKind.GUARANTOR_CREDIT: Side.CREDIT,
    AccountKind.GUARANTEE_WRITE_OFFS: Side.DEBIT,
}

_KIND_LABELS = {
    "programme_funds": _l("Programme funds"),
    "programme_budget": _l("Programme budget"),
    "grants_paid": _l("Grants paid"),
    "revolving_fund_cash": _l("Revolving fund cash"),
    "loans_receivable": _l("Loans receivable"),
    "loans_rescheduled": _l("Loans rescheduled"),
    "interest_income": _l("Interest income"),
    "penalty_income": _l("Penalty income"),
    "borrower_credit": _l("Borrower credit"),
    "write_offs": _l("Write offs"),
    "recoveries": _l("Recoveries"),
    "cofinancing_received": _l("Co-financing received"),
    "member_contributions": _l("Member contributions"),
    "guarantee_receivable": _l("Guarantee receivable"),
    "guarantor_credit": _l("Guarantor credit"),
    "guarantee_write_offs": _l("Guarantee write offs"),
}

_DEBIT_KINDS = ", ".join(f"'{kind.value}'" for kind in AccountKind if NORMAL_SIDE[kind] is Side.DEBIT)


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


class LedgerCheckRun(Base):
    """One run of every ledger check (``ledger.checks.run_checks``): by the daily job, or on demand from the
    ledger page. The page shows the latest run instead of checking the whole ledger on each request; it says how
    many entries were posted after the run (``last_entry_id``) so a reader knows what the verdict covers."""

    __tablename__ = "ledger_check_runs"

    id: Mapped[int] = mapped_column(primary_key=True)
    started_at: Mapped[datetime] = mapped_column(index=True)
    finished_at: Mapped[datetime]
    ran_by: Mapped[str] = mapped_column(String(255))  # the person's e-mail, or "system: scheduler"
    #: The last journal entry the checks saw (None: the ledger was empty).
    last_entry_id: Mapped[int | None] = mapped_column(Integer)
    ledger_problems: Mapped[str] = mapped_column(Text, default="[]")  # JSON list of texts
    loan_problems: Mapped[str] = mapped_column(Text, default="[]")

    @property
    def ledger_faults(self) -> list[str]:
        return json.loads(self.ledger_problems or "[]")

    @property
    def loan_faults(self) -> list[str]:
        return json.loads(self.loan_problems or "[]")
