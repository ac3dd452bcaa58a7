"""What the pages show of guarantees: a loan's guarantees with their coverage and its call (``loan_guarantees``),
a fund's guaranteed loans (``fund_guarantees``), and the programme's guarantees called and collected per currency
(``guarantee_figures``, which the dashboard reads). Read-only."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from sqlalchemy import func, select

from programme.core.db import from_cents, sum_cents
from programme.extensions import db
from programme.loans import guarantees as arithmetic
from programme.loans.guarantee_models import (
    CallStatus,
    GuaranteeCall,
    GuaranteeObligation,
    GuaranteeStatus,
    LoanGuarantee,
)
from programme.loans.models import Loan, LoanStatus
from programme.loans.services._common import ZERO
from programme.loans.services.guarantees import (
    guarantee_rules,
    guarantees_of,
    in_default,
    live_call,
    loan_days_late,
    pledge,
)
from programme.rulebook.guarantees import Guarantees


@dataclass(frozen=True)
class GuaranteeRow:
    guarantee: LoanGuarantee
    covers: Decimal  # what it covers of the principal outstanding now (0 once released or called)
    obligation: GuaranteeObligation | None


@dataclass(frozen=True)
class LoanGuarantees:
    """What the loan page shows: the guarantees, the coverage of the principal outstanding, the call."""

    rules: Guarantees | None
    rows: list[GuaranteeRow]
    coverage: arithmetic.Coverage
    days_late: int
    in_default: bool
    call: GuaranteeCall | None
    obligations: list[GuaranteeObligation]

    @property
    def may_add(self) -> bool:
        return self.rules is not None and not self.in_default and self.call is None

    @property
    def may_call(self) -> bool:
        return self.in_default and self.call is None and any(
            r.guarantee.status == GuaranteeStatus.ACTIVE for r in self.rows)

    @property
    def called(self) -> Decimal:
        return sum((o.amount for o in self.obligations), ZERO)

    @property
    def collected(self) -> Decimal:
        return sum((o.collected for o in self.obligations), ZERO)

    @property
    def written_off(self) -> Decimal:
        return sum((o.written_off for o in self.obligations), ZERO)

    @property
    def owed(self) -> Decimal:
        return sum((o.owed for o in self.obligations), ZERO)


def loan_guarantees(loan: Loan, today: date) -> LoanGuarantees:
    rows: list[GuaranteeRow] = []
    obligations = list(db.session.scalars(select(GuaranteeObligation).where(GuaranteeObligation.loan_id == loan.id)
                                          .order_by(GuaranteeObligation.id)))
    by_guarantee = {o.guarantee_id: o for o in obligations}
    active: list[arithmetic.Pledge] = []
    for guarantee in guarantees_of(loan):
        covers = ZERO
        if guarantee.status == GuaranteeStatus.ACTIVE:
            active.append(pledge(guarantee))
            covers = arithmetic.cap_now(pledge(guarantee), loan.principal_outstanding, loan.currency)
        rows.append(GuaranteeRow(guarantee, covers, by_guarantee.get(guarantee.id)))
    call = live_call(loan)
    return LoanGuarantees(
        rules=guarantee_rules(loan), rows=rows,
        coverage=arithmetic.coverage(active, loan.principal_outstanding, loan.currency),
        days_late=loan_days_late(loan, today), in_default=in_default(loan, today), call=call,
        obligations=obligations)


@dataclass(frozen=True)
class FundGuaranteeRow:
    loan: Loan
    covered: Decimal  # what the active guarantees cover of the principal outstanding now
    share: Decimal | None  # covered over outstanding
    called: Decimal
    collected: Decimal
    written_off: Decimal
    owed: Decimal  # what the guarantors still owe


def fund_guarantees(fund_id: int) -> list[FundGuaranteeRow]:
    """The fund's loans that were ever guaranteed, with their coverage now and what was called and collected (the
    fund page's table), in loan order."""
    loans = list(db.session.scalars(select(Loan).where(Loan.fund_id == fund_id, Loan.id.in_(
        select(LoanGuarantee.loan_id))).order_by(Loan.id)))
    if not loans:
        return []
    ids = [loan.id for loan in loans]
    active: dict[int, list[arithmetic.Pledge]] = {}
    for guarantee in db.session.scalars(select(LoanGuarantee).where(LoanGuarantee.loan_id.in_(ids),
                                                                    LoanGuarantee.status == GuaranteeStatus.ACTIVE)):
        active.setdefault(guarantee.loan_id, []).append(pledge(guarantee))
    owed: dict[int, list[GuaranteeObligation]] = {}
    for obligation in db.session.scalars(select(GuaranteeObligation).where(GuaranteeObligation.loan_id.in_(ids))):
        owed.setdefault(obligation.loan_id, []).append(obligation)
    rows = []
    for loan in loans:
        cover = arithmetic.coverage(active.get(loan.id, []), loan.principal_outstanding, loan.currency)
        obligations = owed.get(loan.id, [])
        rows.append(FundGuaranteeRow(
            loan=loan, covered=cover.covered, share=cover.share,
            called=sum((o.amount for o in obligations), ZERO), collected=sum((o.collected for o in obligations), ZERO),
            written_off=sum((o.written_off for o in obligations), ZERO),
            owed=sum((o.owed for o in obligations), ZERO)))
    return rows


@dataclass(frozen=True)
class GuaranteeFigures:
    currency: str
    guaranteed: Decimal  # what active guarantees cover of active loans now
    called: Decimal
    collected: Decimal
    written_off: Decimal
    owed: Decimal
    calls: int


def guarantee_figures() -> list[GuaranteeFigures]:
    """Guarantees called and collected over the programme, one row per currency (the dashboard's money figures)."""
    rows: dict[str, dict[str, Decimal | int]] = {}

    def row(cur: str) -> dict[str, Decimal | int]:
        return rows.setdefault(cur, {"guaranteed": ZERO, "called": ZERO, "collected": ZERO, "written_off": ZERO,
                                     "calls": 0})

    for cur, amount, collected, written_off in db.session.execute(
            select(Loan.currency, sum_cents(GuaranteeObligation.amount), sum_cents(GuaranteeObligation.collected),
                   sum_cents(GuaranteeObligation.written_off))
            .join(Loan, Loan.id == GuaranteeObligation.loan_id).group_by(Loan.currency)):
        r = row(cur)
        r["called"], r["collected"], r["written_off"] = from_cents(amount), from_cents(collected), from_cents(
            written_off)
    for cur, count in db.session.execute(
            select(Loan.currency, func.count(GuaranteeCall.id)).join(Loan, Loan.id == GuaranteeCall.loan_id)
            .where(GuaranteeCall.status == CallStatus.CALLED).group_by(Loan.currency)):
        row(cur)["calls"] = int(count)
    for guarantee, loan in db.session.execute(
            select(LoanGuarantee, Loan).join(Loan, Loan.id == LoanGuarantee.loan_id)
            .where(LoanGuarantee.status == GuaranteeStatus.ACTIVE, Loan.status == LoanStatus.ACTIVE)).all():
        r = row(loan.currency)
        r["guaranteed"] += arithmetic.cap_now(pledge(guarantee), loan.principal_outstanding, loan.currency)  # type: ignore[operator]
    return [GuaranteeFigures(currency=cur, guaranteed=r["guaranteed"], called=r["called"],  # type: ignore[arg-type]
                             collected=r["collected"], written_off=r["written_off"],  # type: ignore[arg-type]
                             owed=r["called"] - r["collected"] - r["written_off"],  # type: ignore[operator]
                             calls=r["calls"])  # type: ignore[arg-type]
            for cur, r in sorted(rows.items())]


def format_share(share: Decimal | None) -> str:
    return "–" if share is None else f"{(share * 100).normalize():f} %"
