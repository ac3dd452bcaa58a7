"""Mutual guarantees on revolving-fund loans (seed 004, para. 42): the guarantees member organisations give, the
call of a defaulted loan's guarantees (four eyes), each guarantor's obligation, and what is collected on it.

Money moves only through the ledger; the amounts on these rows are caches written in the same transaction as the
journal entry and checked against it by ``programme.ledger.checks`` (``check_guarantees``). Ledger accounts (owner
type "obligation", the obligation's id): ``guarantee_receivable`` (what the guarantor still owes),
``guarantor_credit`` (an overpayment held for the guarantor, never lost) and ``guarantee_write_offs`` (what a
guarantor could not pay, written off with four eyes). A guarantor's credit is paid back with four eyes
(``GuarantorCreditRefund``).
"""

from __future__ import annotations

import enum
from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import CheckConstraint, Date, ForeignKey, Index, Numeric, String, Text, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from programme.accounts.models import Organisation, User
from programme.core.db import Base, Money, state_enum, utcnow
from programme.core.texts import lazy_gettext as _l
from programme.core.texts import lazy_pgettext
from programme.loans.models import Loan

ZERO = Decimal("0.00")

#: What a person reads for each state (``label``), in the language of the request.
GUARANTEE_STATUS_LABELS = {"active": lazy_pgettext("guarantee status", "Active"),
                           "released": lazy_pgettext("guarantee status", "Released"),
                           "called": lazy_pgettext("guarantee status", "Called")}
CALL_STATUS_LABELS = {"requested": _l("Waiting for a second person"), "called": lazy_pgettext("call status", "Called"),
                      "rejected": lazy_pgettext("call status", "Rejected")}
REFUND_STATUS_LABELS = {"requested": _l("Waiting for a second person"),
                        "refunded": lazy_pgettext("refund status", "Refunded"),
                        "rejected": lazy_pgettext("refund status", "Rejected")}


class GuaranteeStatus(enum.StrEnum):
    ACTIVE = "active"
    RELEASED = "released"
    CALLED = "called"

    @property
    def label(self) -> str:
        return str(GUARANTEE_STATUS_LABELS[self.value])


class LoanGuarantee(Base):
    """A member organisation's guarantee of a loan: a share of what is owed, or an amount (exactly one)."""

    __tablename__ = "loan_guarantees"

    id: Mapped[int] = mapped_column(primary_key=True)
    loan_id: Mapped[int] = mapped_column(ForeignKey("loans.id"), index=True)
    guarantor_id: Mapped[int] = mapped_column(ForeignKey("organisations.id"), index=True)
    share: Mapped[Decimal | None] = mapped_column(Numeric(7, 6))
    amount: Mapped[Money | None]
    status: Mapped[GuaranteeStatus] = mapped_column(state_enum(GuaranteeStatus, "status"),
                                                    default=GuaranteeStatus.ACTIVE, index=True)
    added_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    added_at: Mapped[datetime] = mapped_column(default=utcnow)
    released_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    released_at: Mapped[datetime | None]
    release_reason: Mapped[str] = mapped_column(Text, default="")

    loan: Mapped[Loan] = relationship()
    guarantor: Mapped[Organisation] = relationship(lazy="joined")

    __table_args__ = (
        CheckConstraint("(share IS NULL) <> (amount IS NULL)", name="share_or_amount"),
        CheckConstraint("share IS NULL OR (share > 0 AND share <= 1)", name="share_within_one"),
        CheckConstraint("amount IS NULL OR amount > 0", name="amount_positive"),
        CheckConstraint("status <> 'released' OR (released_at IS NOT NULL AND length(trim(release_reason)) > 0)",
                        name="released_has_reason"),
        # One live guarantee per guarantor and loan.
        Index("uq_loan_guarantee_active", "loan_id", "guarantor_id", unique=True,
              sqlite_where=text("status = 'active'"), postgresql_where=text("status = 'active'")),
    )


class CallStatus(enum.StrEnum):
    REQUESTED = "requested"
    CALLED = "called"
    REJECTED = "rejected"

    @property
    def label(self) -> str:
        return str(CALL_STATUS_LABELS[self.value])


class GuaranteeCall(Base):
    """Calling a defaulted loan's guarantees: asked for by one fund administrator, posted only when a second person
    approves it. One call per loan that is not rejected (a unique index: two at once make one)."""

    __tablename__ = "guarantee_calls"

    id: Mapped[int] = mapped_column(primary_key=True)
    loan_id: Mapped[int] = mapped_column(ForeignKey("loans.id"), index=True)
    status: Mapped[CallStatus] = mapped_column(state_enum(CallStatus, "status"), default=CallStatus.REQUESTED)
    on_date: Mapped[date] = mapped_column(Date)
    owed_when_asked: Mapped[Money]
    reason: Mapped[str] = mapped_column(Text)
    requested_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    requested_at: Mapped[datetime] = mapped_column(default=utcnow)
    decided_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    decided_at: Mapped[datetime | None]
    decision_note: Mapped[str] = mapped_column(Text, default="")
    owed: Mapped[Money | None]  # the principal outstanding when called
    called: Mapped[Money | None]  # what the guarantors owe together (at most ``owed``)
    journal_entry_id: Mapped[int | None] = mapped_column(ForeignKey("journal_entries.id"), unique=True)

    loan: Mapped[Loan] = relationship()
    requested_by: Mapped[User | None] = relationship(foreign_keys=[requested_by_id])
    obligations: Mapped[list[GuaranteeObligation]] = relationship(
        back_populates="call", order_by="GuaranteeObligation.id", viewonly=True)

    __table_args__ = (
        CheckConstraint("owed_when_asked > 0", name="owed_positive"),
        CheckConstraint("length(trim(reason)) > 0", name="reason_given"),
        CheckConstraint("status = 'requested' OR (decided_by_id IS NOT NULL AND decided_at IS NOT NULL)",
                        name="decided_by_someone"),
        CheckConstraint("status <> 'rejected' OR length(trim(decision_note)) > 0", name="rejected_has_reason"),
        CheckConstraint("status <> 'called' OR (journal_entry_id IS NOT NULL AND owed IS NOT NULL AND called > 0 "
                        "AND called <= owed)", name="called_is_posted"),
        Index("uq_guarantee_call_live", "loan_id", unique=True,
              sqlite_where=text("status <> 'rejected'"), postgresql_where=text("status <> 'rejected'")),
    )


class GuaranteeObligation(Base):
    """What one guarantor owes after a call, and what was collected on it, written off, or paid over (a credit).
    A write-off of what a guarantor cannot pay is asked for by one person (``write_off_asked_by``) and posted when
    a second approves it (``written_off_by``)."""

    __tablename__ = "guarantee_obligations"

    id: Mapped[int] = mapped_column(primary_key=True)
    call_id: Mapped[int] = mapped_column(ForeignKey("guarantee_calls.id"), index=True)
    guarantee_id: Mapped[int] = mapped_column(ForeignKey("loan_guarantees.id"), unique=True)
    loan_id: Mapped[int] = mapped_column(ForeignKey("loans.id"), index=True)
    guarantor_id: Mapped[int] = mapped_column(ForeignKey("organisations.id"), index=True)
    amount: Mapped[Money]
    collected: Mapped[Money] = mapped_column(default=ZERO)
    credit: Mapped[Money] = mapped_column(default=ZERO)
    written_off: Mapped[Money] = mapped_column(default=ZERO)
    write_off_reason: Mapped[str] = mapped_column(Text, default="")
    write_off_on: Mapped[date | None] = mapped_column(Date)
    write_off_asked_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    write_off_asked_at: Mapped[datetime | None]
    written_off_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))

    call: Mapped[GuaranteeCall] = relationship(back_populates="obligations")
    guarantee: Mapped[LoanGuarantee] = relationship()
    guarantor: Mapped[Organisation] = relationship(lazy="joined")
    write_off_asked_by: Mapped[User | None] = relationship(foreign_keys=[write_off_asked_by_id])

    __table_args__ = (
        CheckConstraint("amount > 0", name="amount_positive"),
        CheckConstraint("collected >= 0 AND credit >= 0 AND written_off >= 0", name="parts_not_negative"),
        CheckConstraint("round((collected + written_off) * 100) <= round(amount * 100)", name="within_amount"),
        CheckConstraint("write_off_asked_by_id IS NULL OR (length(trim(write_off_reason)) > 0 AND write_off_on "
                        "IS NOT NULL)", name="write_off_has_reason"),
    )

    @property
    def owed(self) -> Decimal:
        return self.amount - self.collected - self.written_off

    @property
    def write_off_pending(self) -> bool:
        return self.write_off_asked_by_id is not None and self.written_off_by_id is None


class GuaranteeCollection(Base):
    """Money a guarantor paid on its obligation: applied to what it owes, the rest held as its credit. The bank
    reference is unique: the same transfer applied twice changes nothing the second time."""

    __tablename__ = "guarantee_collections"

    id: Mapped[int] = mapped_column(primary_key=True)
    obligation_id: Mapped[int] = mapped_column(ForeignKey("guarantee_obligations.id"), index=True)
    amount: Mapped[Money]
    applied: Mapped[Money] = mapped_column(default=ZERO)
    credit: Mapped[Money] = mapped_column(default=ZERO)
    value_date: Mapped[date] = mapped_column(Date)
    bank_reference: Mapped[str] = mapped_column(String(100), unique=True)
    recorded_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    recorded_at: Mapped[datetime] = mapped_column(default=utcnow)
    journal_entry_id: Mapped[int] = mapped_column(ForeignKey("journal_entries.id"), unique=True)

    obligation: Mapped[GuaranteeObligation] = relationship()

    __table_args__ = (
        CheckConstraint("amount > 0 AND applied >= 0 AND credit >= 0", name="amounts_valid"),
        CheckConstraint("round((applied + credit) * 100) = round(amount * 100)", name="parts_add_up"),
    )


class RefundStatus(enum.StrEnum):
    REQUESTED = "requested"
    REFUNDED = "refunded"
    REJECTED = "rejected"

    @property
    def label(self) -> str:
        return str(REFUND_STATUS_LABELS[self.value])


class GuarantorCreditRefund(Base):
    """Paying a guarantor back the credit held for it on an obligation (what it paid over what it owed): asked for
    by one fund administrator, posted only when a second person approves it (``journal_entry_id``). The bank
    reference of the transfer is unique among the refunds not rejected, and one refund at a time waits per
    obligation (unique indexes: two at once make one)."""

    __tablename__ = "guarantor_credit_refunds"

    id: Mapped[int] = mapped_column(primary_key=True)
    obligation_id: Mapped[int] = mapped_column(ForeignKey("guarantee_obligations.id"), index=True)
    status: Mapped[RefundStatus] = mapped_column(state_enum(RefundStatus, "status"), default=RefundStatus.REQUESTED)
    amount: Mapped[Money]  # the credit held when asked: what is paid back
    value_date: Mapped[date] = mapped_column(Date)
    bank_reference: Mapped[str] = mapped_column(String(100))
    reason: Mapped[str] = mapped_column(Text)
    requested_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    requested_at: Mapped[datetime] = mapped_column(default=utcnow)
    decided_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    decided_at: Mapped[datetime | None]
    decision_note: Mapped[str] = mapped_column(Text, default="")
    journal_entry_id: Mapped[int | None] = mapped_column(ForeignKey("journal_entries.id"), unique=True)

    obligation: Mapped[GuaranteeObligation] = relationship()
    requested_by: Mapped[User | None] = relationship(foreign_keys=[requested_by_id])

    __table_args__ = (
        CheckConstraint("amount > 0", name="amount_positive"),
        CheckConstraint("length(trim(reason)) > 0", name="reason_given"),
        CheckConstraint("status = 'requested' OR (decided_by_id IS NOT NULL AND decided_at IS NOT NULL)",
                        name="decided_by_someone"),
        CheckConstraint("status <> 'rejected' OR length(trim(decision_note)) > 0", name="rejected_has_reason"),
        CheckConstraint("(status = 'refunded') = (journal_entry_id IS NOT NULL)", name="refunded_is_posted"),
        Index("uq_guarantor_credit_refund_reference", "bank_reference", unique=True,
              sqlite_where=text("status <> 'rejected'"), postgresql_where=text("status <> 'rejected'")),
        Index("uq_guarantor_credit_refund_waiting", "obligation_id", unique=True,
              sqlite_where=text("status = 'requested'"), postgresql_where=text("status = 'requested'")),
    )
