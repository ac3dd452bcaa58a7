"""The shapes of what the API takes and gives, as pydantic models: SpecTree validates requests against them and
writes the OpenAPI description from them.

Money is a decimal string with the currency's minor unit ("1500.00"), never a JSON number, so that no client parses
it into a binary float; a rate or a share is a decimal string too. Dates and times are ISO 8601 (times in UTC with
their offset).
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Annotated, Generic, Literal, TypeVar

from pydantic import BaseModel, ConfigDict, Field, PlainSerializer, WithJsonSchema

from programme.api.pagination import DEFAULT_LIMIT, MAX_LIMIT

#: An amount as the API writes it: a string, two decimals (the programme's currencies have a minor unit of 1/100).
MONEY_PATTERN = r"^-?[0-9]+\.[0-9]{2}$"
Money = Annotated[
    Decimal,
    PlainSerializer(lambda value: f"{value:.2f}", return_type=str),
    WithJsonSchema({"type": "string", "pattern": MONEY_PATTERN, "examples": ["1500.00"],
                    "description": "an amount in the currency's units, as a decimal string with two decimals"}),
]
#: A rate or a share as a decimal string ("0.04" is 4 %).
Decimal_ = Annotated[
    Decimal,
    PlainSerializer(lambda value: format(value.normalize(), "f"), return_type=str),
    WithJsonSchema({"type": "string", "pattern": r"^-?[0-9]+(\.[0-9]+)?$", "examples": ["0.04"],
                    "description": "a decimal number as a string"}),
]

T = TypeVar("T")


class Shape(BaseModel):
    model_config = ConfigDict(extra="forbid", from_attributes=True)


class Page(Shape, Generic[T]):
    """One page of a list; ``next_cursor`` is given to the next request (null on the last page)."""

    items: list[T]
    next_cursor: str | None = Field(description="pass as ?cursor= for the next page; null on the last page")


class ListQuery(Shape):
    cursor: str | None = Field(default=None, max_length=64, description="the next_cursor of the page before")
    limit: int = Field(default=DEFAULT_LIMIT, ge=1, le=MAX_LIMIT, description="rows per page")


class ProblemField(Shape):
    field: str = Field(description="the field the message is about: a JSON member, a query parameter or a path "
                                   "part, dotted for nested ones")
    message: str


class Problem(Shape):
    """An error, as RFC 9457 writes one (application/problem+json)."""

    type: str = "about:blank"
    title: str
    status: int
    detail: str
    errors: list[ProblemField] = Field(default_factory=list)


# Calls --------------------------------------------------------------------------------------------------------------

class CriterionOut(Shape):
    key: str
    title: str
    guidance: str
    weight: Decimal_
    threshold: Decimal_


class CallOut(Shape):
    id: int
    reference: str
    name: str
    description: str
    status: str
    phase: str = Field(description="where the call stands for an applicant: upcoming, open, closed, ...")
    currency: str
    budget: Money
    per_initiative_cap: Money
    opens_at: datetime | None
    closes_at: datetime | None


class CallDetail(CallOut):
    criteria: list[CriterionOut]
    overall_threshold: Decimal_
    min_members: int
    min_firms: int
    min_support_institutions: int


# Funds and loans ----------------------------------------------------------------------------------------------------

class FundOut(Shape):
    id: int
    initiative_id: int
    initiative: str
    currency: str
    cash: Money = Field(description="the fund's cash, from the ledger")


class LoanOut(Shape):
    id: int
    number: str
    fund_id: int
    borrower: str
    purpose: str
    currency: str
    principal: Money
    annual_rate: Decimal_
    term_periods: int
    frequency: str
    method: str
    disbursed_on: date
    status: str
    principal_outstanding: Money
    credit: Money
    days_late: int
    arrears_bucket: str | None


class InstalmentOut(Shape):
    number: int
    due_date: date
    principal: Money
    interest: Money
    principal_paid: Money
    interest_paid: Money
    state: str


class RepaymentOut(Shape):
    id: int
    loan_id: int
    amount: Money
    value_date: date
    bank_reference: str
    source: str
    recorded_at: datetime


class LoanDetail(LoanOut):
    schedule: list[InstalmentOut]
    repayments: list[RepaymentOut]


class LoanQuery(ListQuery):
    fund_id: int | None = Field(default=None, ge=1, le=2**31 - 1, description="only this fund's loans")
    status: Literal["active", "in_arrears", "closed", "written_off"] | None = None


class RepaymentIn(Shape):
    """A repayment as the bank reported it. The same bank reference sent again with the same loan, amount and date
    answers the repayment already recorded (200) and changes nothing; with anything else it is refused (422)."""

    amount: Annotated[str, Field(pattern=r"^[0-9]{1,12}(\.[0-9]{1,2})?$", examples=["1250.00"],
                                 description="the amount received, a decimal string")]
    value_date: date = Field(description="the day the money arrived (ISO 8601)")
    bank_reference: str = Field(min_length=1, max_length=100, description="the bank's reference of the transfer")


# Ledger -------------------------------------------------------------------------------------------------------------

class TrialBalanceRow(Shape):
    code: str
    kind: str
    currency: str
    debits: Money
    credits: Money
    balance: Money = Field(description="signed by the account's normal side")


class TrialBalanceOut(Shape):
    as_of: date | None
    balanced: bool
    rows: list[TrialBalanceRow]


class JournalLineOut(Shape):
    account: str = Field(description="the account's code")
    currency: str
    debit: Money
    credit: Money


class JournalEntryOut(Shape):
    id: int
    value_date: date
    posted_at: datetime
    description: str
    reverses_id: int | None = Field(description="the entry this one reverses, if it is a reversal")
    lines: list[JournalLineOut]


class AsOfQuery(Shape):
    as_of: date | None = Field(default=None, description="the balances at the end of this day (default: today)")


class EntryQuery(ListQuery):
    date_from: date | None = None
    date_to: date | None = None


# The programme's figures ------------------------------------------------------------------------------------------

class InstrumentMoneyOut(Shape):
    instrument: str = Field(description="startup_grant, matching_grant, fund_capitalisation, loan, ...")
    currency: str
    committed: Money
    paid: Money


class LeverageOut(Shape):
    currency: str
    grants_paid: Money
    capitalisation_paid: Money
    cofinancing: Money = Field(description="the members' own verified co-financing")


class ProgrammeFiguresOut(Shape):
    """The programme's own figures, as its public page shows them (programme-wide totals; no initiative named)."""

    as_of: date
    money: list[InstrumentMoneyOut]
    leverage: list[LeverageOut]
    initiatives: int
    initiatives_by_status: dict[str, int]
    terminated: int
    reached_external_floor: int = Field(description="initiatives past the end of the external-funding schedule")
    still_running_after_floor: int = Field(description="of those, how many still run (self-funding)")
    reports_submitted: int
    reports_overdue: int


# Proposals ----------------------------------------------------------------------------------------------------------

class ProposalOut(Shape):
    id: int
    call_id: int
    group_id: int
    reference: str | None
    title: str
    status: str
    requested_amount: Money | None
    latest_version: int | None = Field(description="the number of the latest submitted version, if any")
    submitted_at: datetime | None
    updated_at: datetime


class ProposalVersionOut(Shape):
    """A submitted version, frozen: exactly what the reviewers scored."""

    proposal_id: int
    number: int
    submitted_at: datetime
    content_sha256: str
    eligible: bool
    requested_amount: Money
    budget_total: Money
    cofinancing_cash: Money
    cofinancing_in_kind: Money
    content: dict = Field(description="the proposal's sections as submitted")


class ProposalDetail(ProposalOut):
    versions: list[int] = Field(description="the numbers of its submitted versions")


# Initiatives, grants and tranches ---------------------------------------------------------------------------------

class DisbursementOut(Shape):
    id: int
    grant_id: int
    amount: Money
    purpose: str
    status: str
    requested_at: datetime
    approved_at: datetime | None
    paid_at: datetime | None
    value_date: date | None


class GrantOut(Shape):
    id: int
    kind: str
    currency: str
    committed: Money
    external_share: Decimal_
    committed_at: datetime
    disbursements: list[DisbursementOut]


class InitiativeOut(Shape):
    id: int
    reference: str
    name: str
    call_id: int
    group_id: int
    status: str
    currency: str
    started_at: datetime
    terminated_on: date | None


class InitiativeDetail(InitiativeOut):
    grants: list[GrantOut]


class InitiativeQuery(ListQuery):
    status: Literal["start_up", "implementation", "self_sustaining", "terminated", "completed"] | None = None
    call_id: int | None = Field(default=None, ge=1, le=2**31 - 1)


class DisbursementIn(Shape):
    """A tranche of a grant asked for (a fund administrator); a second person approves it on the pages."""

    amount: Annotated[str, Field(pattern=r"^[0-9]{1,12}(\.[0-9]{1,2})?$", examples=["5000.00"])]
    purpose: str = Field(min_length=1, max_length=2000)


# Reports and KPI values -------------------------------------------------------------------------------------------

class KpiValueOut(Shape):
    kpi: str = Field(description="the KPI's key on the scorecard")
    name: str
    unit: str
    value: Decimal_ | None
    note: str
    previous: Decimal_ | None = Field(description="its value in the report before")


class ReportOut(Shape):
    id: int
    initiative_id: int
    number: int
    period_start: date
    period_end: date
    due_on: date
    status: str
    submitted_at: datetime | None


class ReportDetail(ReportOut):
    narrative: str
    learned: str
    will_change: str
    values: list[KpiValueOut]


class KpiValueIn(Shape):
    kpi: str = Field(min_length=1, max_length=60, description="the KPI's key on the scorecard")
    value: Annotated[str, Field(pattern=r"^-?[0-9]{1,14}(\.[0-9]{1,4})?$")] | None = Field(
        default=None, description="a decimal string, at most four decimals; null for none (give a note then)")
    note: str = Field(default="", max_length=2000)


class ReportValuesIn(Shape):
    """KPI values (and, if given, the report's texts) saved on a draft report; with ``submit`` true the report is
    then submitted, in the same transaction (refused whole if anything is missing)."""

    values: list[KpiValueIn] = Field(max_length=200)
    narrative: str | None = Field(default=None, max_length=10000)
    learned: str | None = Field(default=None, max_length=10000)
    will_change: str | None = Field(default=None, max_length=10000)
    submit: bool = False
