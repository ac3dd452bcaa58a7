"""Revolving funds, their loans, the loans' schedules (instalments), repayments, the events that change a loan
(reschedule, write-off, recovery), bank-statement imports and the daily portfolio figures.

Money moves only through the ledger (``programme.ledger``); the amounts kept on these rows (what an
instalment has been paid, a loan's outstanding principal) are a cache of it, written in the same
transaction as the journal entry and proved equal to the ledger by ``programme ledger check``.

Ledger accounts used here (owner type, owner id): ``revolving_fund_cash``, ``interest_income`` and
``penalty_income`` of the fund ("fund", fund id); ``loans_receivable``, ``borrower_credit``, ``write_offs``
and ``recoveries`` of the loan ("loan", loan id).
"""

from __future__ import annotations

import enum
from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import (
    JSON,
    Boolean,
    CheckConstraint,
    Date,
    ForeignKey,
    Index,
    Integer,
    Numeric,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from programme.accounts.models import Organisation, User
from programme.core.db import Base, Money, state_enum, utcnow
from programme.core.texts import lazy_gettext as _l
from programme.core.texts import lazy_pgettext
from programme.funding.models import FundingRequest, Initiative
from programme.ledger.models import JournalEntry

ZERO = Decimal("0.00")

#: What a person reads for each state and kind (``label``), in the language of the request.
LOAN_STATUS_LABELS = {"active": lazy_pgettext("loan status", "Active"),
                      "closed": lazy_pgettext("loan status", "Closed"),
                      "written_off": lazy_pgettext("loan status", "Written off")}
REPAYMENT_SOURCE_LABELS = {"manual": _l("Recorded by hand"), "bank_statement": _l("Bank statement")}
LOAN_EVENT_LABELS = {"disbursed": lazy_pgettext("loan event", "Disbursed"),
                     "rescheduled": lazy_pgettext("loan event", "Rescheduled"),
                     "written_off": lazy_pgettext("loan event", "Written off"),
                     "closed": lazy_pgettext("loan event", "Closed"),
                     "credit_refunded": lazy_pgettext("loan event", "Credit refunded")}
STATEMENT_STATUS_LABELS = {"checked": _l("Checked, waiting for a second person"),
                           "applied": lazy_pgettext("statement status", "Applied"),
                           "rejected": lazy_pgettext("statement status", "Rejected")}
APPROVAL_KIND_LABELS = {"new_loan": _l("New loan"), "write_off": _l("Write-off"), "credit_refund": _l("Credit refund")}
LOAN_METHOD_LABELS = {"annuity": lazy_pgettext("loan method", "annuity"),
                      "equal_principal": lazy_pgettext("loan method", "equal principal")}
LOAN_ROUNDING_LABELS = {"half_up": lazy_pgettext("loan rounding", "half up"),
                        "half_even": lazy_pgettext("loan rounding", "half even")}
APPROVAL_STATUS_LABELS = {"pending": lazy_pgettext("approval status", "Pending"),
                          "approved": lazy_pgettext("approval status", "Approved"),
                          "rejected": lazy_pgettext("approval status", "Rejected")}


class RevolvingFund(Base):
    """An initiative's own fund: capitalised by the programme, it lends, is repaid and lends again."""

    __tablename__ = "revolving_funds"

    id: Mapped[int] = mapped_column(primary_key=True)
    initiative_id: Mapped[int] = mapped_column(ForeignKey("initiatives.id"), unique=True)
    currency: Mapped[str] = mapped_column(String(3))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    initiative: Mapped[Initiative] = relationship(lazy="joined")
    loans: Mapped[list[Loan]] = relationship(back_populates="fund", order_by="Loan.id", viewonly=True)

    __table_args__ = (CheckConstraint("length(currency) = 3", name="currency_code"),)

    def can_view(self, user: object) -> bool:
        return self.initiative.can_view(user)


class Capitalisation(Base):
    """Money the programme puts into a fund from a call's budget (Dr revolving_fund_cash, Cr programme_budget)."""

    __tablename__ = "fund_capitalisations"

    id: Mapped[int] = mapped_column(primary_key=True)
    fund_id: Mapped[int] = mapped_column(ForeignKey("revolving_funds.id"), index=True)
    amount: Mapped[Money]
    value_date: Mapped[date] = mapped_column(Date)
    bank_reference: Mapped[str] = mapped_column(String(100), unique=True)
    note: Mapped[str] = mapped_column(Text, default="")
    recorded_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    recorded_at: Mapped[datetime] = mapped_column(default=utcnow)
    journal_entry_id: Mapped[int] = mapped_column(ForeignKey("journal_entries.id"), unique=True)

    fund: Mapped[RevolvingFund] = relationship()
    journal_entry: Mapped[JournalEntry] = relationship()

    __table_args__ = (CheckConstraint("amount > 0", name="amount_positive"),)


class LoanStatus(enum.StrEnum):
    ACTIVE = "active"
    CLOSED = "closed"
    WRITTEN_OFF = "written_off"

    @property
    def label(self) -> str:
        return str(LOAN_STATUS_LABELS[self.value])


class Loan(Base):
    """A loan from a revolving fund to a member organisation or to the cluster organisation.

    Its terms are those of ``loans.schedule.LoanTerms``; its instalments are the schedule, and a reschedule
    supersedes the unpaid ones with a new set. ``principal_outstanding``, ``credit``, ``days_late`` and
    ``arrears_bucket`` are caches: the first two of the ledger (written with each entry), the last two of the
    instalments (written by the daily job).
    """

    __tablename__ = "loans"

    id: Mapped[int] = mapped_column(primary_key=True)
    number: Mapped[str] = mapped_column(String(30), unique=True)
    fund_id: Mapped[int] = mapped_column(ForeignKey("revolving_funds.id"), index=True)
    borrower_id: Mapped[int] = mapped_column(ForeignKey("organisations.id"), index=True)
    funding_request_id: Mapped[int | None] = mapped_column(ForeignKey("funding_requests.id"), index=True)
    purpose: Mapped[str] = mapped_column(Text)
    currency: Mapped[str] = mapped_column(String(3))
    principal: Mapped[Money]
    annual_rate: Mapped[Decimal] = mapped_column(Numeric(7, 6))
    term_periods: Mapped[int] = mapped_column(Integer)
    grace_periods: Mapped[int] = mapped_column(Integer, default=0)
    grace: Mapped[str] = mapped_column(String(20), default="none")
    frequency: Mapped[str] = mapped_column(String(20), default="monthly")
    method: Mapped[str] = mapped_column(String(20), default="annuity")
    rounding: Mapped[str] = mapped_column(String(20), default="half_up")
    first_due: Mapped[date] = mapped_column(Date)
    disbursed_on: Mapped[date] = mapped_column(Date)
    bank_reference: Mapped[str] = mapped_column(String(100), unique=True)
    status: Mapped[LoanStatus] = mapped_column(state_enum(LoanStatus, "status"), default=LoanStatus.ACTIVE, index=True)
    principal_outstanding: Mapped[Money]
    credit: Mapped[Money] = mapped_column(default=ZERO)
    days_late: Mapped[int] = mapped_column(Integer, default=0)
    arrears_bucket: Mapped[str | None] = mapped_column(String(10))
    rescheduled: Mapped[bool] = mapped_column(Boolean, default=False)
    written_off: Mapped[Money] = mapped_column(default=ZERO)
    recovered: Mapped[Money] = mapped_column(default=ZERO)
    #: Principal moved to the guarantors when its guarantees were called (``loans.guarantee_models``).
    guarantees_called: Mapped[Money] = mapped_column(default=ZERO, server_default="0")
    closed_on: Mapped[date | None] = mapped_column(Date)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    journal_entry_id: Mapped[int] = mapped_column(ForeignKey("journal_entries.id"), unique=True)

    fund: Mapped[RevolvingFund] = relationship(back_populates="loans")
    borrower: Mapped[Organisation] = relationship(lazy="joined")
    funding_request: Mapped[FundingRequest | None] = relationship()
    instalments: Mapped[list[LoanInstalment]] = relationship(
        back_populates="loan", order_by="LoanInstalment.number", viewonly=True
    )

    __table_args__ = (
        CheckConstraint("principal > 0", name="principal_positive"),
        CheckConstraint("annual_rate >= 0 AND annual_rate <= 1", name="rate_within_one"),
        CheckConstraint("term_periods >= 1 AND grace_periods >= 0", name="periods_valid"),
        CheckConstraint("grace IN ('none', 'interest_only')", name="grace_known"),
        CheckConstraint("grace = 'interest_only' OR grace_periods = 0", name="no_grace_without_kind"),
        CheckConstraint("frequency IN ('monthly', 'quarterly')", name="frequency_known"),
        CheckConstraint("method IN ('annuity', 'equal_principal')", name="method_known"),
        CheckConstraint("rounding IN ('half_up', 'half_even')", name="rounding_known"),
        CheckConstraint("principal_outstanding >= 0 AND principal_outstanding <= principal",
                        name="outstanding_within_principal"),
        CheckConstraint("credit >= 0", name="credit_not_negative"),
        CheckConstraint("days_late >= 0", name="days_late_not_negative"),
        CheckConstraint("written_off >= 0 AND recovered >= 0 AND recovered <= written_off",
                        name="recovered_within_written_off"),
        CheckConstraint("status <> 'closed' OR (closed_on IS NOT NULL AND principal_outstanding = 0)",
                        name="closed_is_repaid"),
        CheckConstraint("status <> 'written_off' OR (written_off > 0 AND principal_outstanding = 0)",
                        name="written_off_has_amount"),
        CheckConstraint("length(trim(purpose)) > 0", name="purpose_given"),
        Index("ix_loans_status_days_late", "status", "days_late"),
    )

    def can_view(self, user: object) -> bool:
        return self.fund.initiative.can_view(user)

    @property
    def settled_by_guarantees(self) -> bool:
        """Closed because its guarantees were called for all its principal outstanding (a loan whose guarantees
        were called takes no repayment from its borrower while it is active, so a closed one was not repaid)."""
        return self.status == LoanStatus.CLOSED and self.guarantees_called > 0

    @property
    def method_label(self) -> str:
        """The method as the loan page names it ("annuity"), in the language of the request."""
        label = LOAN_METHOD_LABELS.get(self.method)
        return self.method.replace("_", " ") if label is None else str(label)

    @property
    def rounding_label(self) -> str:
        """The rounding as the loan page names it ("half up"), in the language of the request."""
        label = LOAN_ROUNDING_LABELS.get(self.rounding)
        return self.rounding.replace("_", " ") if label is None else str(label)


class LoanInstalment(Base):
    """One instalment of a loan's schedule and what has been paid on it.

    ``superseded`` instalments are those a reschedule replaced (kept, never deleted, for the history);
    ``interest_cancelled`` is the scheduled interest no longer owed (an early full repayment).
    """

    __tablename__ = "loan_instalments"

    id: Mapped[int] = mapped_column(primary_key=True)
    loan_id: Mapped[int] = mapped_column(ForeignKey("loans.id"), index=True)
    number: Mapped[int] = mapped_column(Integer)
    due_date: Mapped[date] = mapped_column(Date)
    principal: Mapped[Money]
    interest: Mapped[Money]
    principal_paid: Mapped[Money] = mapped_column(default=ZERO)
    interest_paid: Mapped[Money] = mapped_column(default=ZERO)
    interest_cancelled: Mapped[Money] = mapped_column(default=ZERO)
    penalty_assessed: Mapped[Money] = mapped_column(default=ZERO)
    penalty_paid: Mapped[Money] = mapped_column(default=ZERO)
    superseded: Mapped[bool] = mapped_column(Boolean, default=False)
    # Written by the daily job: late since (the day after the due date) while anything is unpaid.
    overdue: Mapped[bool] = mapped_column(Boolean, default=False)
    days_late: Mapped[int] = mapped_column(Integer, default=0)
    arrears_bucket: Mapped[str | None] = mapped_column(String(10))
    reminded_on: Mapped[date | None] = mapped_column(Date)

    loan: Mapped[Loan] = relationship(back_populates="instalments")

    __table_args__ = (
        UniqueConstraint("loan_id", "number", name="uq_instalment_loan_number"),
        Index("ix_loan_instalments_open", "superseded", "due_date"),
        CheckConstraint("principal >= 0 AND interest >= 0", name="amounts_not_negative"),
        CheckConstraint("principal_paid >= 0 AND principal_paid <= principal", name="principal_paid_within"),
        CheckConstraint("interest_cancelled >= 0 AND interest_paid >= 0 AND round((interest_paid + interest_cancelled) "
                        "* 100) <= round(interest * 100)", name="interest_paid_within"),
        CheckConstraint("penalty_paid >= 0 AND penalty_paid <= penalty_assessed", name="penalty_paid_within"),
        CheckConstraint("days_late >= 0", name="days_late_not_negative"),
    )

    @property
    def unpaid(self) -> Decimal:
        return (self.principal - self.principal_paid) + (self.interest - self.interest_paid - self.interest_cancelled)


class RepaymentSource(enum.StrEnum):
    MANUAL = "manual"
    BANK_STATEMENT = "bank_statement"

    @property
    def label(self) -> str:
        return str(REPAYMENT_SOURCE_LABELS[self.value])


class Repayment(Base):
    """Money a borrower paid on a loan, allocated penalties -> interest -> principal, oldest first; what is left
    is a credit. The bank reference is unique: the same transfer applied twice changes nothing the second time.
    ``recovery`` marks money received on a written-off loan (Cr recoveries, never more than written off)."""

    __tablename__ = "loan_repayments"

    id: Mapped[int] = mapped_column(primary_key=True)
    loan_id: Mapped[int] = mapped_column(ForeignKey("loans.id"), index=True)
    amount: Mapped[Money]
    value_date: Mapped[date] = mapped_column(Date)
    bank_reference: Mapped[str] = mapped_column(String(100), unique=True)
    source: Mapped[RepaymentSource] = mapped_column(state_enum(RepaymentSource, "source"))
    import_id: Mapped[int | None] = mapped_column(ForeignKey("bank_statement_imports.id"), index=True)
    penalty: Mapped[Money] = mapped_column(default=ZERO)
    interest: Mapped[Money] = mapped_column(default=ZERO)
    principal: Mapped[Money] = mapped_column(default=ZERO)
    credit: Mapped[Money] = mapped_column(default=ZERO)
    recovery: Mapped[Money] = mapped_column(default=ZERO)
    recorded_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    recorded_at: Mapped[datetime] = mapped_column(default=utcnow)
    journal_entry_id: Mapped[int] = mapped_column(ForeignKey("journal_entries.id"), unique=True)

    loan: Mapped[Loan] = relationship()
    parts: Mapped[list[RepaymentPart]] = relationship(
        back_populates="repayment", order_by="RepaymentPart.id", viewonly=True
    )

    __table_args__ = (
        Index("ix_loan_repayments_loan_date", "loan_id", "value_date"),
        CheckConstraint("amount > 0", name="amount_positive"),
        CheckConstraint("penalty >= 0 AND interest >= 0 AND principal >= 0 AND credit >= 0 AND recovery >= 0",
                        name="parts_not_negative"),
        CheckConstraint("round((penalty + interest + principal + credit + recovery) * 100) = round(amount * 100)",
                        name="parts_add_up"),
    )


class RepaymentPart(Base):
    """What one repayment paid on one instalment."""

    __tablename__ = "loan_repayment_parts"

    id: Mapped[int] = mapped_column(primary_key=True)
    repayment_id: Mapped[int] = mapped_column(ForeignKey("loan_repayments.id"), index=True)
    instalment_id: Mapped[int] = mapped_column(ForeignKey("loan_instalments.id"), index=True)
    penalty: Mapped[Money] = mapped_column(default=ZERO)
    interest: Mapped[Money] = mapped_column(default=ZERO)
    principal: Mapped[Money] = mapped_column(default=ZERO)

    repayment: Mapped[Repayment] = relationship(back_populates="parts")
    instalment: Mapped[LoanInstalment] = relationship()

    __table_args__ = (
        UniqueConstraint("repayment_id", "instalment_id", name="uq_part_repayment_instalment"),
        CheckConstraint("penalty >= 0 AND interest >= 0 AND principal >= 0 AND penalty + interest + principal > 0",
                        name="part_positive"),
    )


class LoanEventKind(enum.StrEnum):
    DISBURSED = "disbursed"
    RESCHEDULED = "rescheduled"
    WRITTEN_OFF = "written_off"
    CLOSED = "closed"
    CREDIT_REFUNDED = "credit_refunded"

    @property
    def label(self) -> str:
        return str(LOAN_EVENT_LABELS[self.value])


class LoanEvent(Base):
    """Something an administrator did to a loan, with the reason and the journal entry it posted (if any)."""

    __tablename__ = "loan_events"

    id: Mapped[int] = mapped_column(primary_key=True)
    loan_id: Mapped[int] = mapped_column(ForeignKey("loans.id"), index=True)
    kind: Mapped[LoanEventKind] = mapped_column(state_enum(LoanEventKind, "kind"))
    reason: Mapped[str] = mapped_column(Text, default="")
    amount: Mapped[Money | None]
    on_date: Mapped[date] = mapped_column(Date)
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    actor_label: Mapped[str] = mapped_column(String(255))
    at: Mapped[datetime] = mapped_column(default=utcnow)
    journal_entry_id: Mapped[int | None] = mapped_column(ForeignKey("journal_entries.id"), unique=True)

    loan: Mapped[Loan] = relationship()

    __table_args__ = (
        CheckConstraint("kind NOT IN ('rescheduled', 'written_off') OR length(trim(reason)) > 0",
                        name="change_has_reason"),
    )


class StatementStatus(enum.StrEnum):
    CHECKED = "checked"
    APPLIED = "applied"
    REJECTED = "rejected"

    @property
    def label(self) -> str:
        return str(STATEMENT_STATUS_LABELS[self.value])


class BankStatementImport(Base):
    """One bank statement: checked whole and stored by one fund administrator (``imported_by``), then applied as a
    whole, in one transaction, by a second person (``decided_by``), or rejected with a reason. Its good rows are
    kept as ``BankStatementLine``s, so what is applied is exactly what was checked. The file's sha256 is unique
    among imports not rejected: the same file is never waiting twice nor applied twice."""

    __tablename__ = "bank_statement_imports"

    id: Mapped[int] = mapped_column(primary_key=True)
    filename: Mapped[str] = mapped_column(String(255))
    sha256: Mapped[str] = mapped_column(String(64), index=True)
    status: Mapped[StatementStatus] = mapped_column(state_enum(StatementStatus, "status"),
                                                    default=StatementStatus.APPLIED, server_default="applied")
    rows: Mapped[int] = mapped_column(Integer)
    applied: Mapped[int] = mapped_column(Integer)
    already_applied: Mapped[int] = mapped_column(Integer)
    total: Mapped[Money]
    imported_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    imported_at: Mapped[datetime] = mapped_column(default=utcnow)
    decided_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    decided_at: Mapped[datetime | None]
    rejection_reason: Mapped[str] = mapped_column(Text, default="", server_default="")

    lines: Mapped[list[BankStatementLine]] = relationship(order_by="BankStatementLine.row", viewonly=True)

    __table_args__ = (
        CheckConstraint("rows >= 0 AND applied >= 0 AND already_applied >= 0", name="counts_valid"),
        CheckConstraint("status = 'checked' OR decided_at IS NOT NULL", name="decided_has_time"),
        CheckConstraint("status <> 'rejected' OR length(trim(rejection_reason)) > 0", name="rejected_has_reason"),
        Index("uq_statement_file_once", "sha256", unique=True, sqlite_where=text("status <> 'rejected'"),
              postgresql_where=text("status <> 'rejected'")),
    )


class BankStatementLine(Base):
    """One good row of a checked statement: what is applied when a second person applies the statement."""

    __tablename__ = "bank_statement_lines"

    id: Mapped[int] = mapped_column(primary_key=True)
    import_id: Mapped[int] = mapped_column(ForeignKey("bank_statement_imports.id"), index=True)
    row: Mapped[int] = mapped_column(Integer)
    value_date: Mapped[date] = mapped_column(Date)
    amount: Mapped[Money]
    reference: Mapped[str] = mapped_column(String(100))
    loan_id: Mapped[int] = mapped_column(ForeignKey("loans.id"), index=True)
    loan_number: Mapped[str] = mapped_column(String(30))
    already_applied: Mapped[bool] = mapped_column(Boolean, default=False)

    __table_args__ = (
        UniqueConstraint("import_id", "row", name="uq_statement_line_row"),
        CheckConstraint("amount > 0", name="amount_positive"),
    )


class ApprovalKind(enum.StrEnum):
    NEW_LOAN = "new_loan"
    WRITE_OFF = "write_off"
    CREDIT_REFUND = "credit_refund"

    @property
    def label(self) -> str:
        return str(APPROVAL_KIND_LABELS[self.value])


class ApprovalStatus(enum.StrEnum):
    PENDING = "pending"
    APPROVED = "approved"
    REJECTED = "rejected"

    @property
    def label(self) -> str:
        return str(APPROVAL_STATUS_LABELS[self.value])


class LoanApproval(Base):
    """A money decision on a fund that one person asks for and a second person approves or rejects (four eyes):
    a new loan (above the rules' ``loans.second_approval_above``), a write-off, a credit refund. Only the approval
    posts the money, under the same locks as the posting always takes. ``amount`` is the principal, or the
    outstanding principal or credit when it was asked (the approval posts what is outstanding then). A new loan's
    terms are kept in ``terms`` (amounts and rates as text, never floats); ``loan_id`` names the loan written off
    or refunded, and the loan made once a new loan is approved."""

    __tablename__ = "loan_approvals"

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[ApprovalKind] = mapped_column(state_enum(ApprovalKind, "kind"))
    status: Mapped[ApprovalStatus] = mapped_column(state_enum(ApprovalStatus, "status"),
                                                   default=ApprovalStatus.PENDING, index=True)
    fund_id: Mapped[int] = mapped_column(ForeignKey("revolving_funds.id"), index=True)
    loan_id: Mapped[int | None] = mapped_column(ForeignKey("loans.id"), index=True)
    funding_request_id: Mapped[int | None] = mapped_column(ForeignKey("funding_requests.id"), index=True)
    amount: Mapped[Money]
    on_date: Mapped[date] = mapped_column(Date)
    bank_reference: Mapped[str | None] = mapped_column(String(100))
    reason: Mapped[str] = mapped_column(Text)
    terms: Mapped[dict | None] = mapped_column(JSON)
    requested_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    requested_at: Mapped[datetime] = mapped_column(default=utcnow)
    decided_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    decided_at: Mapped[datetime | None]
    decision_note: Mapped[str] = mapped_column(Text, default="")
    journal_entry_id: Mapped[int | None] = mapped_column(ForeignKey("journal_entries.id"))

    fund: Mapped[RevolvingFund] = relationship()
    loan: Mapped[Loan | None] = relationship()
    requested_by: Mapped[User | None] = relationship(foreign_keys=[requested_by_id])

    @property
    def requested_by_name(self) -> str:
        return self.requested_by.name if self.requested_by is not None else ""

    __table_args__ = (
        CheckConstraint("amount > 0", name="amount_positive"),
        CheckConstraint("length(trim(reason)) > 0", name="reason_given"),
        CheckConstraint("kind = 'new_loan' OR loan_id IS NOT NULL", name="names_its_loan"),
        CheckConstraint("kind <> 'new_loan' OR terms IS NOT NULL", name="new_loan_has_terms"),
        CheckConstraint("status = 'pending' OR (decided_by_id IS NOT NULL AND decided_at IS NOT NULL)",
                        name="decided_by_someone"),
        CheckConstraint("status <> 'rejected' OR length(trim(decision_note)) > 0", name="rejected_has_reason"),
        CheckConstraint("status <> 'approved' OR kind <> 'new_loan' OR loan_id IS NOT NULL",
                        name="approved_loan_is_made"),
        # One pending write-off or refund per loan at a time (a new loan has no loan yet: NULLs never clash).
        Index("uq_loan_approval_pending", "loan_id", "kind", unique=True,
              sqlite_where=text("status = 'pending'"), postgresql_where=text("status = 'pending'")),
    )

    @property
    def pending(self) -> bool:
        return self.status == ApprovalStatus.PENDING


class PortfolioFigures(Base):
    """The daily job's figures for one day, per fund (``fund_id``) and for the whole programme (``fund_id`` NULL,
    one row per currency): outstanding principal, principal at risk over 30 days, PAR30, and arrears by bucket."""

    __tablename__ = "portfolio_figures"

    id: Mapped[int] = mapped_column(primary_key=True)
    as_of: Mapped[date] = mapped_column(Date, index=True)
    fund_id: Mapped[int | None] = mapped_column(ForeignKey("revolving_funds.id"), index=True)
    currency: Mapped[str] = mapped_column(String(3))
    loans_active: Mapped[int] = mapped_column(Integer)
    loans_late: Mapped[int] = mapped_column(Integer)
    outstanding: Mapped[Money]
    at_risk_30: Mapped[Money]
    par30: Mapped[Decimal] = mapped_column(Numeric(9, 6))
    arrears_1_30: Mapped[Money]
    arrears_31_60: Mapped[Money]
    arrears_61_90: Mapped[Money]
    arrears_over_90: Mapped[Money]
    # The repayment rate's parts: principal + interest due on the instalments due by ``as_of`` (current schedules;
    # interest cancelled by an early repayment left out) and what was paid on them.
    due_to_date: Mapped[Money] = mapped_column(default=Decimal("0.00"), server_default="0")
    repaid_to_date: Mapped[Money] = mapped_column(default=Decimal("0.00"), server_default="0")
    computed_at: Mapped[datetime] = mapped_column(default=utcnow)

    __table_args__ = (
        # One row per day and fund, and one programme row per day and currency (NULL fund: a partial index).
        Index("uq_portfolio_day_fund", "as_of", "fund_id", unique=True),
        Index("uq_portfolio_day_programme", "as_of", "currency", unique=True,
              sqlite_where=text("fund_id IS NULL"), postgresql_where=text("fund_id IS NULL")),
        CheckConstraint("par30 >= 0 AND par30 <= 1", name="par30_share"),
        CheckConstraint("at_risk_30 >= 0 AND at_risk_30 <= outstanding", name="at_risk_within_outstanding"),
        CheckConstraint("due_to_date >= 0 AND repaid_to_date >= 0", name="repayment_parts_not_negative"),
    )
