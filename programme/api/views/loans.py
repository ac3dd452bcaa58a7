"""Revolving funds and their loans: the funds and loans the caller may see (the loan book's rule), a loan with its
schedule and repayments, and recording a repayment as a bank integration does (idempotent by the bank's reference,
as on the loan's page)."""

from __future__ import annotations

from flask import request
from spectree import Response
from sqlalchemy.exc import IntegrityError

from programme.accounts.models import TokenScope
from programme.api import auth
from programme.api.pagination import page_from, page_of, read_cursor
from programme.api.schemas import (
    FundOut,
    InstalmentOut,
    ListQuery,
    LoanDetail,
    LoanOut,
    LoanQuery,
    Page,
    Problem,
    RepaymentIn,
    RepaymentOut,
)
from programme.api.spec import NEEDS_TOKEN, api_spec
from programme.api.views._common import bp
from programme.core.timezone import now
from programme.core.web import commit, programme_zone
from programme.extensions import db
from programme.loans import services as loans
from programme.loans.models import Loan, RevolvingFund
from programme.loans.services.loan_search import LoanBookFilter, loans_after

REFUSED = {"HTTP_401": Problem, "HTTP_403": Problem, "HTTP_404": Problem, "HTTP_422": Problem}


def _fund(fund: RevolvingFund) -> FundOut:
    return FundOut(id=fund.id, initiative_id=fund.initiative_id, initiative=fund.initiative.name,
                   currency=fund.currency, cash=loans.fund_cash(fund))


def _loan_fields(loan: Loan) -> dict:
    return dict(id=loan.id, number=loan.number, fund_id=loan.fund_id, borrower=loan.borrower.name,
                purpose=loan.purpose, currency=loan.currency, principal=loan.principal, annual_rate=loan.annual_rate,
                term_periods=loan.term_periods, frequency=loan.frequency, method=loan.method,
                disbursed_on=loan.disbursed_on, status=loan.status.value,
                principal_outstanding=loan.principal_outstanding, credit=loan.credit, days_late=loan.days_late,
                arrears_bucket=loan.arrears_bucket)


def _repayment(repayment) -> RepaymentOut:  # type: ignore[no-untyped-def]
    return RepaymentOut(id=repayment.id, loan_id=repayment.loan_id, amount=repayment.amount,
                        value_date=repayment.value_date, bank_reference=repayment.bank_reference,
                        source=repayment.source.value, recorded_at=repayment.recorded_at)


@bp.get("/funds")
@api_spec.validate(query=ListQuery, resp=Response(HTTP_200=Page[FundOut], **REFUSED), tags=["loans"],
                   security=NEEDS_TOKEN)
def fund_list(query: ListQuery):
    """The revolving funds the caller may see, with their cash from the ledger, by id, page by page: every fund
    for programme managers, fund administrators and auditors; their own groups' for an applicant."""
    shown, cursor = page_from(loans.funds_for(auth.acting()), query.cursor, query.limit, key=lambda fund: fund.id)
    return Page[FundOut](items=[_fund(f) for f in shown], next_cursor=cursor)


@bp.get("/funds/<int:fund_id>")
@api_spec.validate(resp=Response(HTTP_200=FundOut, **REFUSED), tags=["loans"], security=NEEDS_TOKEN)
def fund_detail(fund_id: int):
    """One revolving fund (not found if the caller may not see it)."""
    return _fund(loans.get_fund(fund_id, actor=auth.acting()))


@bp.get("/loans")
@api_spec.validate(query=LoanQuery, resp=Response(HTTP_200=Page[LoanOut], **REFUSED), tags=["loans"],
                   security=NEEDS_TOKEN)
def loan_list(query: LoanQuery):
    """The loans the caller may see, by id, page by page, filtered like the loan book (fund, status)."""
    rows = loans_after(LoanBookFilter(fund_id=query.fund_id, status=query.status), actor=auth.acting(),
                       after_id=read_cursor(query.cursor), limit=query.limit + 1)
    shown, cursor = page_of(rows, query.limit, key=lambda loan: loan.id)
    return Page[LoanOut](items=[LoanOut(**_loan_fields(loan)) for loan in shown], next_cursor=cursor)


@bp.get("/loans/<int:loan_id>")
@api_spec.validate(resp=Response(HTTP_200=LoanDetail, **REFUSED), tags=["loans"], security=NEEDS_TOKEN)
def loan_detail(loan_id: int):
    """A loan with its current schedule (what was paid on each instalment, its state) and its repayments."""
    loan = loans.get_loan(loan_id, actor=auth.acting())
    schedule = [InstalmentOut(number=row.number, due_date=row.due_date, principal=row.principal,
                              interest=row.interest - row.interest_cancelled, principal_paid=row.principal_paid,
                              interest_paid=row.interest_paid, state=row.status)
                for row in loans.schedule_with_payments(loan) if not row.superseded]
    return LoanDetail(**_loan_fields(loan), schedule=schedule,
                      repayments=[_repayment(r) for r in loans.repayments_of(loan)])


@bp.post("/loans/<int:loan_id>/repayments")
@api_spec.validate(json=RepaymentIn, resp=Response(HTTP_200=RepaymentOut, HTTP_201=RepaymentOut, HTTP_409=Problem,
                                                   **REFUSED), tags=["loans"], security=NEEDS_TOKEN)
def record_repayment(loan_id: int, json: RepaymentIn):
    """Record money a borrower paid (fund administrators, with a token that may write). It is allocated as on the
    loan's page: penalties, interest, principal, oldest instalment first, the rest a credit. 201 when recorded; the
    same bank reference sent again with the same loan, amount and date answers 200 with the repayment already
    recorded, and changes nothing, however often and however close together it is sent."""
    me = auth.acting(TokenScope.WRITE)
    moment = now()

    def record():  # type: ignore[no-untyped-def]
        loan = loans.get_loan(loan_id, actor=me)
        return loans.record_repayment_once(loan, amount=json.amount, value_date=json.value_date,
                                      bank_reference=json.bank_reference, actor=me, now=moment,
                                      timezone=programme_zone())

    try:
        recorded = record()
        commit()
    except IntegrityError:
        # The same reference recorded at the same moment by another request: that one did the work; read it.
        db.session.rollback()
        recorded = record()
        commit()
    return (_repayment(recorded.repayment), 201 if recorded.new else 200,
            {"Location": request.base_url.rsplit("/", 1)[0]})
