"""Initiatives (funded proposals), the grants committed to them and the disbursements that pay them."""

from __future__ import annotations

import enum
from datetime import date, datetime
from decimal import Decimal

from flask_babel import force_locale
from sqlalchemy import CheckConstraint, Date, ForeignKey, Index, Numeric, String, Text, UniqueConstraint, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from programme.accounts.models import ApplicantGroup
from programme.calls.models import Call
from programme.core.access import Role
from programme.core.db import Base, Money, state_enum, utcnow
from programme.core.texts import lazy_pgettext
from programme.ledger.models import JournalEntry
from programme.proposals.models import Proposal
from programme.rulebook.facilitation import FACILITATION_COST_KINDS

#: What a person reads for each stage, kind and state (``label``), in the language of the request. A context names
#: what the word describes (a Spanish or Portuguese adjective agrees with it).
INITIATIVE_STATUS_LABELS = {
    "start_up": lazy_pgettext("initiative stage", "Start-up"),
    "implementation": lazy_pgettext("initiative stage", "Implementation"),
    "self_sustaining": lazy_pgettext("initiative stage", "Self sustaining"),
    "terminated": lazy_pgettext("initiative stage", "Terminated"),
    "completed": lazy_pgettext("initiative stage", "Completed"),
}
GRANT_KIND_LABELS = {
    "startup": lazy_pgettext("grant kind", "Start-up grant"),
    "matching": lazy_pgettext("grant kind", "Matching grant"),
    "facilitation": lazy_pgettext("grant kind", "Facilitation fund"),
}
DISBURSEMENT_STATUS_LABELS = {
    "requested": lazy_pgettext("disbursement status", "Requested"),
    "approved": lazy_pgettext("disbursement status", "Approved"),
    "paid": lazy_pgettext("disbursement status", "Paid"),
    "rejected": lazy_pgettext("disbursement status", "Rejected"),
}
INSTRUMENT_LABELS = {
    "matching_grant": lazy_pgettext("instrument", "Matching grant"),
    "loan": lazy_pgettext("instrument", "Loan"),
    "both": lazy_pgettext("instrument", "Matching grant and loan"),
}
FUNDING_REQUEST_STATUS_LABELS = {
    "submitted": lazy_pgettext("funding request status", "Submitted"),
    "approved": lazy_pgettext("funding request status", "Approved"),
    "rejected": lazy_pgettext("funding request status", "Rejected"),
}
CONTRIBUTION_KIND_LABELS = {
    "cash": lazy_pgettext("contribution kind", "Cash"),
    "in_kind": lazy_pgettext("contribution kind", "In kind"),
}
CONTRIBUTION_STATUS_LABELS = {
    "recorded": lazy_pgettext("contribution status", "Recorded"),
    "verified": lazy_pgettext("contribution status", "Verified"),
    "rejected": lazy_pgettext("contribution status", "Rejected"),
}
CLAIM_STATUS_LABELS = {
    "submitted": lazy_pgettext("claim status", "Submitted"),
    "verified": lazy_pgettext("claim status", "Verified"),
    "refused": lazy_pgettext("claim status", "Refused"),
}

def cost_kind_label(kind: str) -> str:
    """A kind of facilitation cost as a person reads it, in the language of the request (the key itself when it is
    not one of the known kinds)."""
    label = FACILITATION_COST_KINDS.get(kind)
    return str(label) if label is not None else kind


def in_english(label: object) -> str:
    """A label as the records keep it (a journal entry's description): in English, whatever the language of the
    request."""
    with force_locale("en"):
        return str(label)


class InitiativeStatus(enum.StrEnum):
    START_UP = "start_up"
    IMPLEMENTATION = "implementation"
    SELF_SUSTAINING = "self_sustaining"
    TERMINATED = "terminated"
    COMPLETED = "completed"

    @property
    def label(self) -> str:
        return str(INITIATIVE_STATUS_LABELS[self.value])


class Initiative(Base):
    """A cluster initiative: what a funded proposal becomes when its call is decided."""

    __tablename__ = "initiatives"

    id: Mapped[int] = mapped_column(primary_key=True)
    reference: Mapped[str] = mapped_column(String(60), unique=True)
    name: Mapped[str] = mapped_column(String(300))
    call_id: Mapped[int] = mapped_column(ForeignKey("calls.id"), index=True)
    proposal_id: Mapped[int] = mapped_column(ForeignKey("proposals.id"), unique=True)
    group_id: Mapped[int] = mapped_column(ForeignKey("applicant_groups.id"), index=True)
    status: Mapped[InitiativeStatus] = mapped_column(
        state_enum(InitiativeStatus, "status"), default=InitiativeStatus.START_UP, index=True
    )
    currency: Mapped[str] = mapped_column(String(3))
    started_at: Mapped[datetime] = mapped_column(default=utcnow)
    #: The day the programme decided to end the initiative (set by funding's terminate, with the status).
    terminated_on: Mapped[date | None] = mapped_column(Date, default=None)

    call: Mapped[Call] = relationship(lazy="joined")
    proposal: Mapped[Proposal] = relationship()
    group: Mapped[ApplicantGroup] = relationship(lazy="joined")
    grants: Mapped[list[Grant]] = relationship(back_populates="initiative", order_by="Grant.id")

    @property
    def startup_grant(self) -> Grant | None:
        return next((g for g in self.grants if g.kind == GrantKind.STARTUP), None)

    # Permission rules.
    def can_view(self, user: object) -> bool:
        has_role = getattr(user, "has_role", None)
        if not (has_role and getattr(user, "is_authenticated", False)):
            return False
        if has_role(Role.PROGRAMME_MANAGER) or has_role(Role.FUND_ADMINISTRATOR) or has_role(Role.AUDITOR):
            return True
        return self.group.role_of(user) is not None


class GrantKind(enum.StrEnum):
    STARTUP = "startup"
    MATCHING = "matching"
    #: The facilitation fund's matching grant (seed 003, section 8): paid against verified facilitation claims.
    FACILITATION = "facilitation"

    @property
    def label(self) -> str:
        return str(GRANT_KIND_LABELS[self.value])

    @property
    def english_label(self) -> str:
        """The label as the records keep it (journal entries)."""
        return in_english(GRANT_KIND_LABELS[self.value])


#: The grants whose tranches are external money under the declining schedule (the start-up grant is not: the rules
#: allow it at 100 %).
EXTERNAL_SHARE_KINDS = (GrantKind.MATCHING, GrantKind.FACILITATION)


class Grant(Base):
    """A grant committed to an initiative; it is paid in tranches (disbursements) up to the committed amount."""

    __tablename__ = "grants"

    id: Mapped[int] = mapped_column(primary_key=True)
    initiative_id: Mapped[int] = mapped_column(ForeignKey("initiatives.id"), index=True)
    kind: Mapped[GrantKind] = mapped_column(state_enum(GrantKind, "kind"))
    committed: Mapped[Money]
    currency: Mapped[str] = mapped_column(String(3))
    # The share of the costs the programme pays (1 for the start-up grant, as the rules allow).
    external_share: Mapped[Decimal] = mapped_column(Numeric(5, 4), default=Decimal(1))
    basis: Mapped[str] = mapped_column(Text, default="")
    committed_at: Mapped[datetime] = mapped_column(default=utcnow)
    committed_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))

    initiative: Mapped[Initiative] = relationship(back_populates="grants")
    disbursements: Mapped[list[Disbursement]] = relationship(order_by="Disbursement.id", viewonly=True)

    __table_args__ = (
        CheckConstraint("committed > 0", name="committed_positive"),
        CheckConstraint("external_share > 0 AND external_share <= 1", name="share_within_one"),
        # One start-up grant per initiative.
        Index(
            "uq_grants_one_startup", "initiative_id", unique=True,
            sqlite_where=text("kind = 'startup'"), postgresql_where=text("kind = 'startup'"),
        ),
        # One facilitation fund per initiative.
        Index(
            "uq_grants_one_facilitation", "initiative_id", unique=True,
            sqlite_where=text("kind = 'facilitation'"), postgresql_where=text("kind = 'facilitation'"),
        ),
    )


class DisbursementStatus(enum.StrEnum):
    REQUESTED = "requested"
    APPROVED = "approved"
    PAID = "paid"
    REJECTED = "rejected"

    @property
    def label(self) -> str:
        return str(DISBURSEMENT_STATUS_LABELS[self.value])


#: The statuses whose amounts hold part of a grant (everything but rejected).
HOLDING = (DisbursementStatus.REQUESTED, DisbursementStatus.APPROVED, DisbursementStatus.PAID)


class Disbursement(Base):
    """A tranche of a grant: requested -> approved -> paid, or rejected (from requested or approved) with a reason.

    The person who requested it never approves it. A paid disbursement names its value date, the bank's
    reference of the transfer and the journal entry that moved the money.

    The bank reference is unique over the whole table, not per currency: it names one transfer out of the
    programme's bank account(s), and a transfer pays one tranche; a per-currency key would let one transfer
    be recorded against two tranches in two currencies. Only paid disbursements carry one (a check below),
    so the unique constraint is on the references of paid disbursements.
    """

    __tablename__ = "disbursements"

    id: Mapped[int] = mapped_column(primary_key=True)
    initiative_id: Mapped[int] = mapped_column(ForeignKey("initiatives.id"), index=True)
    grant_id: Mapped[int] = mapped_column(ForeignKey("grants.id"), index=True)
    amount: Mapped[Money]
    currency: Mapped[str] = mapped_column(String(3))
    purpose: Mapped[str] = mapped_column(Text)
    status: Mapped[DisbursementStatus] = mapped_column(
        state_enum(DisbursementStatus, "status"), default=DisbursementStatus.REQUESTED, index=True
    )
    requested_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    requested_at: Mapped[datetime] = mapped_column(default=utcnow)
    approved_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    approved_at: Mapped[datetime | None]
    rejected_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    rejected_at: Mapped[datetime | None]
    rejection_reason: Mapped[str | None] = mapped_column(Text)
    paid_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    paid_at: Mapped[datetime | None]
    value_date: Mapped[date | None] = mapped_column(Date)
    bank_reference: Mapped[str | None] = mapped_column(String(100))
    journal_entry_id: Mapped[int | None] = mapped_column(ForeignKey("journal_entries.id"), unique=True)

    initiative: Mapped[Initiative] = relationship()
    grant: Mapped[Grant] = relationship()
    journal_entry: Mapped[JournalEntry | None] = relationship()

    __table_args__ = (
        UniqueConstraint("bank_reference", name="uq_disbursements_bank_reference"),
        CheckConstraint("amount > 0", name="amount_positive"),
        CheckConstraint("length(currency) = 3", name="currency_code"),
        CheckConstraint("length(trim(purpose)) > 0", name="purpose_given"),
        CheckConstraint(
            "approved_by_id IS NULL OR requested_by_id IS NULL OR approved_by_id <> requested_by_id",
            name="approver_not_requester",
        ),
        CheckConstraint(
            "status NOT IN ('approved', 'paid') OR (approved_by_id IS NOT NULL AND approved_at IS NOT NULL)",
            name="approved_has_approver",
        ),
        CheckConstraint(
            "status <> 'paid' OR (paid_at IS NOT NULL AND value_date IS NOT NULL AND bank_reference IS NOT NULL "
            "AND length(trim(bank_reference)) > 0 AND journal_entry_id IS NOT NULL)",
            name="paid_has_payment",
        ),
        CheckConstraint(
            "status = 'paid' OR (paid_at IS NULL AND paid_by_id IS NULL AND value_date IS NULL "
            "AND bank_reference IS NULL AND journal_entry_id IS NULL)",
            name="only_paid_has_payment",
        ),
        CheckConstraint(
            "status <> 'rejected' OR (rejected_at IS NOT NULL AND length(trim(coalesce(rejection_reason, ''))) > 0)",
            name="rejected_has_reason",
        ),
        CheckConstraint(
            "status = 'rejected' OR (rejected_at IS NULL AND rejected_by_id IS NULL AND rejection_reason IS NULL)",
            name="only_rejected_has_reason",
        ),
    )

    @property
    def holds_grant(self) -> bool:
        return self.status in HOLDING

    # Permission rules.
    def can_view(self, user: object) -> bool:
        return self.initiative.can_view(user)


# ---------------------------------------------------------------------------------------------
# Funding requests: an initiative asks for a matching grant, a loan or both for a major activity.


class Instrument(enum.StrEnum):
    MATCHING_GRANT = "matching_grant"
    LOAN = "loan"
    BOTH = "both"

    @property
    def label(self) -> str:
        return str(INSTRUMENT_LABELS[self.value])


class FundingRequestStatus(enum.StrEnum):
    SUBMITTED = "submitted"
    APPROVED = "approved"
    REJECTED = "rejected"

    @property
    def label(self) -> str:
        return str(FUNDING_REQUEST_STATUS_LABELS[self.value])


class FundingRequest(Base):
    """An initiative's request for a major activity, judged by a manager against the rules' request criteria.

    The manager approves it (as asked, or changed: the approved amounts then differ from the asked ones)
    or rejects it, always with a reason. An approved grant part becomes a matching grant commitment.
    """

    __tablename__ = "funding_requests"

    id: Mapped[int] = mapped_column(primary_key=True)
    initiative_id: Mapped[int] = mapped_column(ForeignKey("initiatives.id"), index=True)
    title: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(Text)
    cost: Mapped[Money]
    currency: Mapped[str] = mapped_column(String(3))
    instrument: Mapped[Instrument] = mapped_column(state_enum(Instrument, "instrument"))
    grant_asked: Mapped[Money] = mapped_column(default=Decimal("0.00"))
    loan_asked: Mapped[Money] = mapped_column(default=Decimal("0.00"))
    status: Mapped[FundingRequestStatus] = mapped_column(
        state_enum(FundingRequestStatus, "status"), default=FundingRequestStatus.SUBMITTED, index=True
    )
    submitted_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    submitted_at: Mapped[datetime] = mapped_column(default=utcnow)
    grant_approved: Mapped[Money | None]
    loan_approved: Mapped[Money | None]
    decision_reason: Mapped[str | None] = mapped_column(Text)
    decided_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    decided_at: Mapped[datetime | None]
    grant_id: Mapped[int | None] = mapped_column(ForeignKey("grants.id"), unique=True)

    initiative: Mapped[Initiative] = relationship()
    grant: Mapped[Grant | None] = relationship()
    assessments: Mapped[list[FundingRequestAssessment]] = relationship(
        back_populates="request", order_by="FundingRequestAssessment.id", cascade="all, delete-orphan"
    )

    __table_args__ = (
        CheckConstraint("cost > 0", name="cost_positive"),
        CheckConstraint("grant_asked >= 0 AND loan_asked >= 0", name="asked_not_negative"),
        CheckConstraint("grant_asked + loan_asked > 0 AND round((grant_asked + loan_asked) * 100) <= round(cost * 100)",
                        name="asked_within_cost"),
        CheckConstraint(
            "(instrument = 'matching_grant' AND loan_asked = 0) OR (instrument = 'loan' AND grant_asked = 0)"
            " OR (instrument = 'both' AND grant_asked > 0 AND loan_asked > 0)",
            name="asked_fits_instrument",
        ),
        CheckConstraint(
            "status = 'submitted' OR (decided_at IS NOT NULL AND length(trim(coalesce(decision_reason, ''))) > 0)",
            name="decided_has_reason",
        ),
        CheckConstraint(
            "status = 'approved' OR (grant_approved IS NULL AND loan_approved IS NULL AND grant_id IS NULL)",
            name="only_approved_has_amounts",
        ),
        CheckConstraint(
            "status <> 'approved' OR (grant_approved IS NOT NULL AND loan_approved IS NOT NULL"
            " AND grant_approved >= 0 AND loan_approved >= 0 AND grant_approved + loan_approved > 0)",
            name="approved_has_amounts",
        ),
    )

    @property
    def changed(self) -> bool:
        """Approved with other amounts than were asked."""
        return self.status == FundingRequestStatus.APPROVED and (
            self.grant_approved != self.grant_asked or self.loan_approved != self.loan_asked
        )

    def can_view(self, user: object) -> bool:
        return self.initiative.can_view(user)


class FundingRequestAssessment(Base):
    """The manager's judgement of a funding request on one of the rules' request criteria."""

    __tablename__ = "funding_request_assessments"

    id: Mapped[int] = mapped_column(primary_key=True)
    request_id: Mapped[int] = mapped_column(ForeignKey("funding_requests.id", ondelete="CASCADE"), index=True)
    criterion_key: Mapped[str] = mapped_column(String(60))
    met: Mapped[bool]
    note: Mapped[str] = mapped_column(Text, default="")

    request: Mapped[FundingRequest] = relationship(back_populates="assessments")

    __table_args__ = (UniqueConstraint("request_id", "criterion_key", name="uq_assessment_request_criterion"),)


# ---------------------------------------------------------------------------------------------
# Co-financing: what the members put in, verified before a matching grant is paid against it.


class ContributionKind(enum.StrEnum):
    CASH = "cash"
    IN_KIND = "in_kind"

    @property
    def label(self) -> str:
        return str(CONTRIBUTION_KIND_LABELS[self.value])

    @property
    def english_label(self) -> str:
        """The label as the records keep it (journal entries)."""
        return in_english(CONTRIBUTION_KIND_LABELS[self.value])


class ContributionStatus(enum.StrEnum):
    RECORDED = "recorded"
    VERIFIED = "verified"
    REJECTED = "rejected"

    @property
    def label(self) -> str:
        return str(CONTRIBUTION_STATUS_LABELS[self.value])


class CoFinancingContribution(Base):
    """A contribution by the members to one matching grant: cash, or in kind at a documented value, with
    evidence. It counts once, for that grant only (``grant_id`` is a single column), and only once verified;
    verification posts Dr cofinancing_received:initiative, Cr member_contributions:initiative."""

    __tablename__ = "cofinancing_contributions"

    id: Mapped[int] = mapped_column(primary_key=True)
    initiative_id: Mapped[int] = mapped_column(ForeignKey("initiatives.id"), index=True)
    grant_id: Mapped[int] = mapped_column(ForeignKey("grants.id"), index=True)
    kind: Mapped[ContributionKind] = mapped_column(state_enum(ContributionKind, "kind"))
    amount: Mapped[Money]
    currency: Mapped[str] = mapped_column(String(3))
    description: Mapped[str] = mapped_column(Text)
    contributor_id: Mapped[int | None] = mapped_column(ForeignKey("organisations.id"))
    contributed_on: Mapped[date] = mapped_column(Date)
    status: Mapped[ContributionStatus] = mapped_column(
        state_enum(ContributionStatus, "status"), default=ContributionStatus.RECORDED, index=True
    )
    # Evidence: a file stored under a name the user does not choose.
    evidence_name: Mapped[str] = mapped_column(String(255))
    evidence_stored_name: Mapped[str] = mapped_column(String(80), unique=True)
    evidence_content_type: Mapped[str] = mapped_column(String(120))
    evidence_size_bytes: Mapped[int]
    evidence_sha256: Mapped[str] = mapped_column(String(64))
    recorded_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    recorded_at: Mapped[datetime] = mapped_column(default=utcnow)
    verified_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    verified_at: Mapped[datetime | None]
    rejected_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    rejected_at: Mapped[datetime | None]
    rejection_reason: Mapped[str | None] = mapped_column(Text)
    journal_entry_id: Mapped[int | None] = mapped_column(ForeignKey("journal_entries.id"), unique=True)

    initiative: Mapped[Initiative] = relationship()
    grant: Mapped[Grant] = relationship()

    __table_args__ = (
        CheckConstraint("amount > 0", name="amount_positive"),
        CheckConstraint("length(trim(description)) > 0", name="description_given"),
        CheckConstraint(
            "(status = 'verified') = (verified_at IS NOT NULL AND journal_entry_id IS NOT NULL)",
            name="verified_has_entry",
        ),
        CheckConstraint(
            "(status = 'rejected') = (rejected_at IS NOT NULL AND length(trim(coalesce(rejection_reason, ''))) > 0)",
            name="rejected_has_reason",
        ),
        CheckConstraint(
            "verified_by_id IS NULL OR recorded_by_id IS NULL OR verified_by_id <> recorded_by_id",
            name="verifier_not_recorder",
        ),
    )

    def can_view(self, user: object) -> bool:
        return self.initiative.can_view(user)


# ---------------------------------------------------------------------------------------------
# The facilitation fund (seed 003, section 8): the group's lead claims facilitation costs of the first year with
# evidence; a fund administrator who did not submit the claim verifies it, which requests a tranche of the
# initiative's facilitation grant (then approved by another person and paid through the disbursement flow).


class ClaimStatus(enum.StrEnum):
    SUBMITTED = "submitted"
    VERIFIED = "verified"
    REFUSED = "refused"

    @property
    def label(self) -> str:
        return str(CLAIM_STATUS_LABELS[self.value])


class FacilitationClaim(Base):
    """A claim on the facilitation fund: its cost items (``costs`` is their sum, ``costs_from`` and ``costs_until``
    their first and last dates) and the payment asked (``amount``, at most the rules' share of the costs).
    Verified, it holds the tranche (``disbursement_id``) that pays it."""

    __tablename__ = "facilitation_claims"

    id: Mapped[int] = mapped_column(primary_key=True)
    initiative_id: Mapped[int] = mapped_column(ForeignKey("initiatives.id"), index=True)
    currency: Mapped[str] = mapped_column(String(3))
    costs: Mapped[Money]
    amount: Mapped[Money]
    costs_from: Mapped[date] = mapped_column(Date)
    costs_until: Mapped[date] = mapped_column(Date)
    note: Mapped[str] = mapped_column(Text, default="")
    status: Mapped[ClaimStatus] = mapped_column(
        state_enum(ClaimStatus, "status"), default=ClaimStatus.SUBMITTED, index=True
    )
    submitted_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    submitted_at: Mapped[datetime] = mapped_column(default=utcnow)
    verified_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    verified_at: Mapped[datetime | None]
    refused_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    refused_at: Mapped[datetime | None]
    refusal_reason: Mapped[str | None] = mapped_column(Text)
    grant_id: Mapped[int | None] = mapped_column(ForeignKey("grants.id"), index=True)
    disbursement_id: Mapped[int | None] = mapped_column(ForeignKey("disbursements.id"), unique=True)

    initiative: Mapped[Initiative] = relationship()
    disbursement: Mapped[Disbursement | None] = relationship()
    items: Mapped[list[FacilitationCostItem]] = relationship(
        back_populates="claim", order_by="FacilitationCostItem.position", cascade="all, delete-orphan")

    __table_args__ = (
        CheckConstraint("amount > 0 AND round(amount * 100) <= round(costs * 100)", name="amount_within_costs"),
        CheckConstraint("costs_from <= costs_until", name="costs_dated"),
        CheckConstraint(
            "(status = 'verified') = (verified_at IS NOT NULL AND verified_by_id IS NOT NULL"
            " AND disbursement_id IS NOT NULL AND grant_id IS NOT NULL)", name="verified_has_tranche"),
        CheckConstraint(
            "(status = 'refused') = (refused_at IS NOT NULL AND length(trim(coalesce(refusal_reason, ''))) > 0)",
            name="refused_has_reason"),
        CheckConstraint(
            "verified_by_id IS NULL OR submitted_by_id IS NULL OR verified_by_id <> submitted_by_id",
            name="verifier_not_submitter"),
        CheckConstraint(
            "refused_by_id IS NULL OR submitted_by_id IS NULL OR refused_by_id <> submitted_by_id",
            name="refuser_not_submitter"),
    )

    def can_view(self, user: object) -> bool:
        return self.initiative.can_view(user)


class FacilitationCostItem(Base):
    """One cost of a facilitation claim: its kind (among the rules' eligible kinds), what it was, its date and
    amount, and its evidence, stored under a name the user does not choose."""

    __tablename__ = "facilitation_cost_items"

    id: Mapped[int] = mapped_column(primary_key=True)
    claim_id: Mapped[int] = mapped_column(ForeignKey("facilitation_claims.id", ondelete="CASCADE"), index=True)
    position: Mapped[int]
    kind: Mapped[str] = mapped_column(String(40))
    description: Mapped[str] = mapped_column(Text)
    incurred_on: Mapped[date] = mapped_column(Date)
    amount: Mapped[Money]
    evidence_name: Mapped[str] = mapped_column(String(255))
    evidence_stored_name: Mapped[str] = mapped_column(String(80), unique=True)
    evidence_content_type: Mapped[str] = mapped_column(String(120))
    evidence_size_bytes: Mapped[int]
    evidence_sha256: Mapped[str] = mapped_column(String(64))

    claim: Mapped[FacilitationClaim] = relationship(back_populates="items")

    __table_args__ = (
        UniqueConstraint("claim_id", "position", name="uq_facilitation_item_position"),
        CheckConstraint("amount > 0", name="amount_positive"),
        CheckConstraint("length(trim(description)) > 0", name="description_given"),
    )
